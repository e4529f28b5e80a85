"""The engines the appliance can train with, by name; the model row records which one made a model.

Plugging in another engine: implement ``interface.Synthesizer`` in a module of this package and
add its class here under a new name. Nothing else changes: kinds, reports and routes go through
``create`` and ``load``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from appliance.services.synth.interface import SEQUENCE_SYNTHESIZERS, SynthesisError, Synthesizer

DEFAULT_ENGINE = "sdv"


def _classes() -> dict[str, type[Synthesizer]]:
    from appliance.services.synth.regime_var import ENGINE as VAR_ENGINE
    from appliance.services.synth.regime_var import RegimeVARSynthesizer
    from appliance.services.synth.sdv_engine import SDVSynthesizer
    from appliance.services.synth.sequential import ENGINE as SEQUENTIAL_ENGINE
    from appliance.services.synth.sequential import SequentialSynthesizer
    from appliance.services.synth.stratified import ENGINE, StratifiedSynthesizer

    return {"sdv": SDVSynthesizer, ENGINE: StratifiedSynthesizer, SEQUENTIAL_ENGINE: SequentialSynthesizer,
            VAR_ENGINE: RegimeVARSynthesizer}


def create(
    synthesizer: str, device: str, engine: str = DEFAULT_ENGINE, class_column: str | None = None,
    sequence: dict[str, Any] | None = None,
) -> Synthesizer:
    """A new model; with ``class_column``, one SDV model per class of that column (``stratified``);
    ``par`` and ``regime_var`` model sequences, configured by ``sequence``."""
    if synthesizer in SEQUENCE_SYNTHESIZERS:
        if class_column is not None:
            raise SynthesisError("class_column",
                                 f"{synthesizer} models sequences; class_column applies to single-table models")
        from appliance.services.synth.sequential import create_sequential

        return create_sequential(synthesizer, sequence)
    if class_column is not None:
        from appliance.services.synth.sdv_engine import SDVSynthesizer
        from appliance.services.synth.stratified import StratifiedSynthesizer

        SDVSynthesizer(synthesizer, device)  # the synthesizer name is checked here
        return StratifiedSynthesizer(synthesizer, device, class_column)
    classes = _classes()
    if engine not in classes:
        raise SynthesisError("engine", f"one of {', '.join(classes)}")
    return classes[engine](synthesizer, device)  # type: ignore[call-arg]


def load(path: Path, engine: str = DEFAULT_ENGINE, device: str | None = None) -> Synthesizer:
    classes = _classes()
    if engine not in classes:
        raise SynthesisError("model_id", f"the model was made by engine {engine!r}, which is not installed")
    return classes[engine].load(path, device)
