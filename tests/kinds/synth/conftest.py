"""The synthesis tests' data and SDV home (shared with the other synthesis tests, in tests/synth_data.py)."""

from tests.synth_data import sdv_home

__all__ = ["sdv_home"]
