"""Per-epoch progress and prompt cancel for CTGAN, TVAE and CopulaGAN, which have no callbacks.

ctgan 0.12's ``fit`` loops over epochs and batches with no hook, but it assigns a few attributes at
known points: the data transformer and the network before training (``_transformer`` and
``_generator`` for CTGAN, ``transformer`` and ``decoder`` for TVAE), and ``loss_values`` at the end
of every epoch. SDV creates that model inside its own ``_fit`` (``self._model = CTGAN(...)``).

So, for the length of one ``fit``, the SDV synthesizer and then the ctgan model are switched to a
subclass of their own class whose ``__setattr__`` watches those names (instance-local: a second fit
in another thread is untouched). On ``loss_values`` it reports the epoch and its losses; on the
network it registers a forward pre-hook, so the cancel flag is checked before every batch; on the
transformer it checks it between columns. Everything is undone before the model is saved, so the
pickled model holds no trace of the hooks.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from appliance.services.synth.interface import CancelCallback, EpochEvent, ProgressCallback, TrainingCanceled

_WATCHED_CLASSES: dict[type, type] = {}
NETWORK_ATTRS = ("_generator", "decoder")
TRANSFORMER_ATTRS = ("_transformer", "transformer")
COLUMN_FIT_METHODS = ("_fit_continuous", "_fit_discrete")


def _watched(cls: type) -> type:
    """A subclass of ``cls`` that reports attribute writes to the instance's ``_sf_watch``."""
    if cls not in _WATCHED_CLASSES:

        def __setattr__(self: Any, name: str, value: Any) -> None:
            setter: Callable[[Any, str, Any], None] = getattr(cls, "__setattr__")  # noqa: B009
            setter(self, name, value)
            watch = self.__dict__.get("_sf_watch")
            if watch is not None:
                watch(name, value)

        namespace = {"__setattr__": __setattr__, "__module__": cls.__module__}
        _WATCHED_CLASSES[cls] = type(cls)(cls.__name__, (cls,), namespace)
    return _WATCHED_CLASSES[cls]


class _Trainer:
    """The state of one instrumented fit; ``undo`` restores every object it touched."""

    def __init__(self, epochs: int, progress_cb: ProgressCallback | None, cancel_cb: CancelCallback | None) -> None:
        self.epochs = epochs
        self.progress_cb = progress_cb
        self.cancel_cb = cancel_cb
        self.undo_steps: list[Callable[[], None]] = []
        self.curve: list[dict[str, float]] = []

    def check(self) -> None:
        if self.cancel_cb is not None and self.cancel_cb():
            raise TrainingCanceled()

    def watch(self, obj: Any, on_set: Callable[[str, Any], None]) -> None:
        original = type(obj)
        obj.__class__ = _watched(original)
        object.__setattr__(obj, "_sf_watch", on_set)

        def undo() -> None:
            obj.__dict__.pop("_sf_watch", None)
            obj.__class__ = original

        self.undo_steps.append(undo)

    def on_synthesizer_attr(self, name: str, value: Any) -> None:
        if name == "_model" and value is not None and hasattr(value, "fit"):
            self.watch(value, self.on_model_attr)

    def on_model_attr(self, name: str, value: Any) -> None:
        if name == "loss_values":
            self.on_losses(value)
        elif name in NETWORK_ATTRS and hasattr(value, "register_forward_pre_hook"):
            handle = value.register_forward_pre_hook(lambda _module, _args: self.check())
            self.undo_steps.append(handle.remove)
        elif name in TRANSFORMER_ATTRS:
            self.hook_columns(value)

    def hook_columns(self, transformer: Any) -> None:
        for method in COLUMN_FIT_METHODS:
            bound = getattr(transformer, method, None)
            if bound is None:
                continue

            def checked(*args: Any, _bound: Any = bound, **kwargs: Any) -> Any:
                self.check()
                return _bound(*args, **kwargs)

            transformer.__dict__[method] = checked
            self.undo_steps.append(_remover(transformer, method))

    def on_losses(self, frame: Any) -> None:
        if frame is None or len(frame) == 0:
            return
        epoch = int(frame["Epoch"].iloc[-1])
        last = frame[frame["Epoch"] == epoch]
        losses = {}
        for column in last.columns:
            if column not in ("Epoch", "Batch"):
                value = float(last[column].astype(float).mean())
                losses[_loss_name(column)] = value if math.isfinite(value) else float("nan")
        self.curve.append({"epoch": epoch + 1, **losses})
        if self.progress_cb is not None:
            self.progress_cb(EpochEvent(epoch + 1, self.epochs, losses))
        self.check()

    def undo(self) -> None:
        for step in reversed(self.undo_steps):
            step()
        self.undo_steps.clear()


def _remover(obj: Any, name: str) -> Callable[[], None]:
    def remove() -> None:
        obj.__dict__.pop(name, None)

    return remove


def _loss_name(column: str) -> str:
    """'Generator Loss' -> 'generator'; ctgan spells one of its columns 'Distriminator' at start."""
    name = column.lower().replace(" loss", "").replace("distriminator", "discriminator").strip()
    return name.replace(" ", "_") or "loss"


@contextmanager
def instrumented(
    synthesizer: Any, epochs: int, progress_cb: ProgressCallback | None, cancel_cb: CancelCallback | None
) -> Iterator[list[dict[str, float]]]:
    """Instrument one SDV neural synthesizer's ``fit``; yields the loss curve as it fills."""
    trainer = _Trainer(epochs, progress_cb, cancel_cb)
    trainer.watch(synthesizer, trainer.on_synthesizer_attr)
    try:
        trainer.check()
        yield trainer.curve
    finally:
        trainer.undo()
