"""Anomaly detection on simulated telemetry: baseline detectors, time-series-aware metrics and the
`ics_benchmark` evaluation that trains the detectors on a normal run and scores them on an attack run.

`metrics` depends on NumPy only; `detectors` brings scikit-learn, imported when a benchmark runs.
"""
