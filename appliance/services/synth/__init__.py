"""Synthetic data from models trained on uploaded data: training, sampling, reports, evaluations.

One module per job: ``interface`` (the Synthesizer contract), ``sdv_engine`` (SDV behind it),
``attribute_watchers`` (epoch progress and cancel for the neural synthesizers), ``metadata`` (detection and
overrides), ``seeding``, ``device``, ``offline`` (no network, no $HOME), ``split`` (holdout),
``datetimes`` (datetime columns in and out in their source form), ``rules`` (rules between columns),
``stratified`` (a model per class), ``training``, ``sampling`` (chunked writing), ``quality``,
``privacy`` and ``reading`` (the report and its verdicts), ``tstr``
and ``evaluations``, ``records`` and ``leaderboard``, ``pricing``. SDV and torch are imported only
inside functions, so importing this package costs nothing. See docs/synthesis.md.
"""
