"""Where torch runs: the GPU when this worker has CUDA, the CPU otherwise.

The ``gpu`` queue's consumer is the one meant to run on a box with a GPU; the same code runs on
CPU elsewhere (as in the test suite). The choice is recorded in the model row and the job result,
since it changes training time and, in the last float bits, the rows.
"""

from __future__ import annotations

from appliance.services.synth.interface import NEURAL


def cuda_available() -> bool:
    import torch

    return bool(torch.cuda.is_available())


def pick_device(synthesizer: str) -> str:
    """``cuda`` or ``cpu``; GaussianCopula never touches torch, so it is always ``cpu``."""
    if synthesizer not in NEURAL:
        return "cpu"
    return "cuda" if cuda_available() else "cpu"
