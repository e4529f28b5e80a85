"""The synthesis kinds: ``train`` (fit a synthesizer to datasets and keep the model) and
``synthesize`` (sample rows from a kept model), and ``multitable``, the multi-table side both share
(``synthesizer: hma``). The engine behind them is ``appliance/services/synth``."""
