"""Seeding every generator a sample touches, so one model and one seed give the same rows anywhere.

SDV on its own reseeds the model with a fixed constant (73251) the first time it samples and rdt's
transformers with constants hashed from their column names; the job's seed would change nothing.
``seed_sampler`` therefore resets SDV's sampling state and then seeds, from one ``SeedSequence``:
the model (copulas' or ctgan's generator pair), every rdt transformer's ``reverse_transform``
state (missing values, rounding noise), and the global ``random``, NumPy and torch generators for
any code that reaches for those.
"""

from __future__ import annotations

import random
import sys
from typing import Any

import numpy as np

STREAMS = 64


def seed_states(seed: int, count: int = STREAMS) -> list[int]:
    """``count`` independent 32-bit seeds derived from a job seed of up to 63 bits."""
    return [int(s) for s in np.random.SeedSequence(int(seed)).generate_state(count)]


def seed_globals(seed: int) -> None:
    state = seed_states(seed, 1)[0]
    random.seed(state)
    np.random.seed(state)
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.manual_seed(state)


def _transformers(synthesizer: Any) -> list[Any]:
    found: list[Any] = []
    for holder in (
        getattr(getattr(synthesizer, "_data_processor", None), "_hyper_transformer", None),
        getattr(synthesizer, "_gaussian_normalizer_hyper_transformer", None),
    ):
        fields = getattr(holder, "field_transformers", None) or {}
        found.extend(t for _, t in sorted(fields.items(), key=lambda kv: str(kv[0])) if t is not None)
    return found


def seed_sampler(synthesizer: Any, seed: int) -> None:
    """Reset an SDV single-table synthesizer's sampling state and seed it from ``seed``."""
    seed_globals(seed)
    synthesizer.reset_sampling()
    transformers = _transformers(synthesizer)
    states = seed_states(seed, len(transformers) + 2)
    if getattr(synthesizer, "_model", None) is not None:
        synthesizer._set_random_state(states[1])
    for transformer, state in zip(transformers, states[2:], strict=False):
        if getattr(transformer, "random_states", None) is not None and hasattr(transformer, "set_random_state"):
            transformer.set_random_state(np.random.RandomState(state), "reverse_transform")
