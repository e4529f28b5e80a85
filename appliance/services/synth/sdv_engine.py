"""The SDV engine: GaussianCopula, CTGAN, TVAE and CopulaGAN behind the ``Synthesizer`` interface.

SDV (BUSL-1.1, see docs/synthesis.md) is imported inside the methods, never at module import, so
the API process starts without it. The model file is SDV's own (cloudpickle of the fitted
synthesizer); the appliance only ever loads files its own ``train`` jobs wrote, found by BLAKE3.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from appliance.services.synth import attribute_watchers, marginals, seeding
from appliance.services.synth.interface import (
    DEFAULT_EPOCHS,
    NEURAL,
    CancelCallback,
    FitSummary,
    ProgressCallback,
    SynthesisError,
    Synthesizer,
    TrainingCanceled,
)
from appliance.services.synth.metadata import TABLE, TableMetadata
from appliance.services.synth.offline import import_sdv

if TYPE_CHECKING:
    import pandas as pd

SDV_CLASSES = {
    "gaussian_copula": "GaussianCopulaSynthesizer",
    "ctgan": "CTGANSynthesizer",
    "tvae": "TVAESynthesizer",
    "copulagan": "CopulaGANSynthesizer",
}
NAMES_BY_CLASS = {cls: name for name, cls in SDV_CLASSES.items()}
MAX_TRIES_PER_BATCH = 100


class SDVSynthesizer(Synthesizer):
    engine = "sdv"

    def __init__(self, synthesizer: str, device: str = "cpu", model: Any = None) -> None:
        if synthesizer not in SDV_CLASSES:
            raise SynthesisError("synthesizer", f"one of {', '.join(SDV_CLASSES)}")
        self.synthesizer = synthesizer
        self.device = device
        self.model = model

    @property
    def zero_inflated(self) -> list[str]:
        """Columns fitted with the zero mixture marginal (kept on SDV's object, so in its file)."""
        return list(getattr(self.model, "_sf_zero_inflated", []) or [])

    def _new_model(self, metadata: TableMetadata, epochs: int | None, data: pd.DataFrame | None = None) -> Any:
        import_sdv()
        from sdv import single_table

        cls = getattr(single_table, SDV_CLASSES[self.synthesizer])
        kwargs: dict[str, Any] = {}
        if self.synthesizer == "gaussian_copula" and data is not None:
            kwargs["numerical_distributions"] = marginals.choose(data, metadata)
        if self.synthesizer in NEURAL:
            kwargs.update(epochs=epochs or DEFAULT_EPOCHS, enable_gpu=self.device == "cuda", verbose=False)
        return cls(metadata.to_sdv(), **kwargs)

    def fit(
        self,
        data: pd.DataFrame,
        metadata: TableMetadata,
        epochs: int | None = None,
        progress_cb: ProgressCallback | None = None,
        cancel_cb: CancelCallback | None = None,
    ) -> FitSummary:
        """Fit on ``data``; neural synthesizers report each epoch and stop between batches on cancel."""
        started = time.perf_counter()
        mixture: list[str] = []
        if self.synthesizer == "gaussian_copula":
            mixture = marginals.zero_inflated(data, metadata)
            data = marginals.split_zeros(data, mixture)
            metadata = marginals.mixture_metadata(metadata, mixture, data)
        model = self._new_model(metadata, epochs, data)
        model._sf_zero_inflated = mixture
        curve: list[dict[str, float]] = []
        if self.synthesizer in NEURAL:
            run_epochs = epochs or DEFAULT_EPOCHS
            with attribute_watchers.instrumented(model, run_epochs, progress_cb, cancel_cb) as curve:
                model.fit({TABLE: data})
            curve = list(curve)
        else:
            if cancel_cb is not None and cancel_cb():
                raise TrainingCanceled()
            model.fit({TABLE: data})
        self.model = model
        return FitSummary(
            synthesizer=self.synthesizer,
            device=self.device,
            rows=len(data),
            epochs=(epochs or DEFAULT_EPOCHS) if self.synthesizer in NEURAL else None,
            seconds=round(time.perf_counter() - started, 3),
            loss=curve,
        )

    def _sample_once(self, rows: int, conditions: dict[str, Any] | None) -> pd.DataFrame:
        mixture = self.zero_inflated
        return marginals.join_zeros(self._sample_model(rows, marginals.zero_conditions(conditions, mixture)), mixture)

    def _sample_model(self, rows: int, conditions: dict[str, Any] | None) -> pd.DataFrame:
        if not conditions:
            out = self.model.sample(rows)
            return out[TABLE] if isinstance(out, dict) else out
        from sdv.sampling import Condition

        try:
            out = self.model.sample_from_conditions(
                [Condition(num_rows=rows, column_values=conditions)], max_tries_per_batch=MAX_TRIES_PER_BATCH
            )
        except (ValueError, KeyError) as exc:
            raise SynthesisError("conditions", str(exc).strip().splitlines()[0]) from exc
        return out[TABLE] if isinstance(out, dict) else out

    def sample_chunks(
        self, rows: int, seed: int, chunk_rows: int, conditions: dict[str, Any] | None = None
    ) -> Iterator[pd.DataFrame]:
        if self.model is None:
            raise SynthesisError("model_id", "the model is not fitted")
        seeding.seed_sampler(self.model, seed)
        done = 0
        while done < rows:
            count = min(chunk_rows, rows - done)
            chunk = self._sample_once(count, conditions)
            done += count
            yield chunk.reset_index(drop=True)

    def save(self, path: Path) -> None:
        self.model.save(str(path))

    @classmethod
    def load(cls, path: Path, device: str | None = None) -> SDVSynthesizer:
        import_sdv()
        from sdv.utils import load_synthesizer

        model = load_synthesizer(str(path))
        name = NAMES_BY_CLASS.get(type(model).__name__)
        if name is None:
            raise SynthesisError("model_id", f"not a model this appliance trains ({type(model).__name__})")
        chosen = "cpu"
        if name in NEURAL:
            from appliance.services.synth.device import pick_device

            chosen = device or pick_device(name)
            model._model.set_device(chosen)
        return cls(name, chosen, model)
