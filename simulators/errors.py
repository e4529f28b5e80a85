"""Exceptions raised by the simulators package.

The appliance maps these onto its own error envelope: a `SimulationParamError` becomes a 400 that
names the offending field, a `SimulationCancelled` ends a job as `canceled`. Keeping them here (and
not in `appliance/`) lets the simulators run on their own.
"""

from __future__ import annotations


class SimulationError(Exception):
    """Base class of every error this package raises on purpose."""


class SimulationParamError(SimulationError, ValueError):
    """A request parameter is invalid. `field` is a dotted path into the request, e.g. `params.tank1_area`."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message

    def to_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message}


class UnknownTagError(SimulationParamError):
    """A tag name that the plant does not have (a Modbus/OPC UA adapter maps it to 'illegal address')."""


class ReadOnlyTagError(SimulationParamError):
    """A write to a tag that is not writable (a sensor, a status or a PLC-owned output)."""


class TagValueError(SimulationParamError):
    """A written value that is not a number, not 0/1 for a boolean tag, or outside the tag's range."""


class PlantPausedError(SimulationParamError):
    """A write to a paused plant: a frozen process takes no input until it resumes (Modbus answers
    exception 6, Server Device Busy; OPC UA BadInvalidState; the appliance's API 409)."""


class SimulationCancelled(SimulationError):
    """The caller's cancel check returned True; the run stopped and wrote nothing final."""
