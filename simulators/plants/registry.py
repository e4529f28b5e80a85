"""Plant names -> model classes; the only place that lists the plants."""

from __future__ import annotations

from typing import Any

from simulators.errors import SimulationParamError
from simulators.plants.base import PlantModel
from simulators.plants.chemical import ChemicalPlant
from simulators.plants.power import PowerPlant
from simulators.plants.water import WaterPlant

PLANTS: dict[str, type[PlantModel]] = {cls.name: cls for cls in (WaterPlant, ChemicalPlant, PowerPlant)}
ALIASES = {"cstr": "chemical", "reactor": "chemical", "feeder": "power", "grid": "power", "swat": "water"}


def get_plant(name: Any, field: str = "plant") -> type[PlantModel]:
    key = name.strip().lower() if isinstance(name, str) else None
    key = ALIASES.get(key, key) if key is not None else None
    if key not in PLANTS:
        raise SimulationParamError(field, f"unknown plant {name!r}; known: {', '.join(PLANTS)}")
    return PLANTS[key]


def list_plants() -> list[dict[str, Any]]:
    """Short description of every plant (name, title, summary, tag and parameter counts)."""
    return [
        {
            "name": cls.name,
            "title": cls.title,
            "summary": cls.summary,
            "tags": len(cls.TAGS),
            "params": len(cls.PARAMS),
            "internal_step_s": cls.dt_max,
        }
        for cls in PLANTS.values()
    ]


def describe_plant(name: str) -> dict[str, Any]:
    """Everything about one plant: tags (units, ranges, writable, kind), parameters, exogenous inputs."""
    return get_plant(name).describe()
