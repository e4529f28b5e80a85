"""What training costs, by synthesizer and epochs (docs/synthesis.md, "Pricing").

An estimate is made from the params alone, before any data is read (the engine prices a job at
submit and charges the same formula on success), so training is priced per run and per epoch,
not per row; ``max_rows`` caps the rows a run may read. Generated rows are priced by the engine:
1 row = 1 micro-credit.

| synthesizer     | tier  | per run      | per epoch     | default (300 epochs) |
|-----------------|-------|--------------|---------------|----------------------|
| gaussian_copula | CPU   | 0.01 credit  | —             | 0.01 credit          |
| ctgan           | GPU-S | 0.01 credit  | 0.001 credit  | 0.31 credit          |
| copulagan       | GPU-S | 0.01 credit  | 0.001 credit  | 0.31 credit          |
| tvae            | GPU-S | 0.01 credit  | 0.0005 credit | 0.16 credit          |
| hma             | CPU   | 0.01 credit  | —             | 0.01 credit          |

hma (multi-table) is priced per run like gaussian_copula, whatever the number of tables. Its
sampled rows are priced by the root rows asked for (``params.rows``), in the estimate and in the
charge alike: the child rows that come with them are drawn per parent, so their number is known
only after sampling and could not be quoted before (kinds/synth/multitable.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from appliance.services.synth.interface import DEFAULT_EPOCHS, NEURAL

MICRO = 1_000_000
BASE_MICRO = 10_000
PER_EPOCH_MICRO = {"ctgan": 1_000, "copulagan": 1_000, "tvae": 500}
SECONDS_BASE = 5.0
SECONDS_PER_EPOCH = 0.5


@dataclass(frozen=True)
class TrainingPrice:
    tier: str
    micro: int
    seconds: float


def training_price(synthesizer: str, epochs: int | None) -> TrainingPrice:
    if synthesizer not in NEURAL:
        return TrainingPrice("CPU", BASE_MICRO, SECONDS_BASE)
    runs = epochs or DEFAULT_EPOCHS
    return TrainingPrice(
        "GPU-S", BASE_MICRO + PER_EPOCH_MICRO[synthesizer] * runs, SECONDS_BASE + SECONDS_PER_EPOCH * runs
    )
