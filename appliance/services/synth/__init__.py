"""Synthetic data from models trained on uploaded data: training, sampling, reports, evaluations.

One module per job: ``interface`` (the Synthesizer contract), ``sdv_engine`` (SDV behind it),
``attribute_watchers`` (epoch progress and cancel for the neural synthesizers), ``metadata`` (detection and
overrides), ``seeding``, ``device``, ``offline`` (no network, no $HOME), ``split`` (holdout),
``training``, ``sampling`` (chunked writing), ``quality`` and ``privacy`` (the report), ``tstr``
and ``evaluations``, ``records`` and ``leaderboard``, ``pricing``. SDV and torch are imported only
inside functions, so importing this package costs nothing. See docs/synthesis.md.
"""
