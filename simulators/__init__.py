"""Physics-based plant simulators with an ICS attack library, producing labelled datasets.

Needs nothing from `appliance/`. The appliance's job kinds call:

* `prepare_simulate(params)` / `prepare_scenario_fabricate(params)` -> `SimulationRequest`
  (validation; raises `SimulationParamError(field, message)`);
* `write_dataset(request, path, fmt, progress, cancel)` -> manifest dict (streams Parquet/CSV),
  or `generate(request, ...)` -> `Dataset(table, manifest)` in memory;
* `simulate(params)` / `scenario_fabricate(params)`: the two steps above, in memory;
* `lift(table)` -> world-state dict for raw historian telemetry;
* `LivePlant(plant, params, seed=...)` for step-by-step real-time runs with tag read/write.
"""

from simulators.attacks.techniques import catalogue
from simulators.dataset import (
    Dataset,
    generate,
    iter_batches,
    scenario_fabricate,
    simulate,
    write_dataset,
    write_manifest,
)
from simulators.errors import (
    ReadOnlyTagError,
    SimulationCancelled,
    SimulationError,
    SimulationParamError,
    TagValueError,
    UnknownTagError,
)
from simulators.lift import lift
from simulators.live import LivePlant
from simulators.manifest import canonical_json
from simulators.plants.registry import describe_plant, list_plants
from simulators.validation import SimulationRequest, prepare_scenario_fabricate, prepare_simulate

__all__ = [
    "Dataset",
    "LivePlant",
    "ReadOnlyTagError",
    "SimulationCancelled",
    "SimulationError",
    "SimulationParamError",
    "SimulationRequest",
    "TagValueError",
    "UnknownTagError",
    "canonical_json",
    "catalogue",
    "describe_plant",
    "generate",
    "iter_batches",
    "lift",
    "list_plants",
    "prepare_scenario_fabricate",
    "prepare_simulate",
    "scenario_fabricate",
    "simulate",
    "write_dataset",
    "write_manifest",
]
