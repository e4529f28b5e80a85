"""Operating modes of the feeder: what a distribution operator's day adds to the load curve.

The daily load profiles (`core.profiles.daily_profile`) already make the feeder's day; these add
the utility's routines, each a switch:

* `avr_schedule`: night-time voltage reduction: AVR.SP is lowered by `avr_night_reduction` from
  23:00 to 06:00 (light load: the feeder end does not need the head voltage), so the tap changer
  steps down at night and back up in the morning.
* `cap_schedule`: the capacitor bank runs on a time clock for the day peak: at 07:00 CAP.SW is set
  and CAP.AUTO cleared (bank in, whatever the voltage), at 22:00 CAP.AUTO is set again (the voltage
  controller takes it out overnight).
* `operator_actions` per day: the dispatcher trims AVR.SP by up to +/-0.1 kV on day shift, at Poisson
  times.
* `maintenance_rate` per day: the tap changer is inspected for one to three hours on day shift:
  AVR.AUTO is cleared (the tap holds) and set again afterwards.

With every mode off (`avr_schedule` 0, `cap_schedule` 0, `operator_actions` 0, `maintenance_rate`
0) the feeder behaves as before the modes.
"""

from __future__ import annotations

import numpy as np

from simulators.core.params import ParamSpec
from simulators.plants.schedule import DAY_SHIFT, DailySchedule, Event, in_window

NIGHT = (23.0, 6.0)  # hours of the night-time voltage reduction
CAP_DAY = (7.0, 22.0)  # hours the capacitor bank's time clock holds it in
MAINTENANCE_SHIFT = (8.0, 16.0)

PARAMS = (
    ParamSpec("avr_schedule", 1.0, "", 0.0, 1.0,
              "Lower AVR.SP by avr_night_reduction from 23:00 to 06:00 (night-time voltage reduction).", "bool"),
    ParamSpec("avr_night_reduction", 0.15, "kV", 0.0, 1.0, "How far AVR.SP is lowered at night."),
    ParamSpec("cap_schedule", 1.0, "", 0.0, 1.0,
              "Capacitor bank on a time clock: in (CAP.AUTO off) from 07:00 to 22:00, voltage control overnight.",
              "bool"),
    ParamSpec("operator_actions", 2.0, "1/d", 0.0, 200.0, "Mean number of AVR.SP trims per day (day shift)."),
    ParamSpec("maintenance_rate", 0.1, "1/d", 0.0, 10.0,
              "Mean number of tap changer inspections per day (AVR.AUTO off for 1-3 h)."),
)


def night_setpoint(p: dict[str, float], hour: float) -> float | None:
    """AVR.SP the schedule asks for at `hour`, if it lowers it then (else None)."""
    if p["avr_schedule"] > 0.5 and in_window(hour, *NIGHT):
        return round(p["avr_sp"] - p["avr_night_reduction"], 3)
    return None


class PowerSchedule(DailySchedule):
    """The feeder's voltage schedule, capacitor time clock, dispatcher trims and inspections."""

    @property
    def active(self) -> bool:
        p = self.p
        return (p["avr_schedule"] > 0.5 or p["cap_schedule"] > 0.5 or p["operator_actions"] > 0
                or p["maintenance_rate"] > 0)

    def day(self, day: int, rng: np.random.Generator, hour0: float | None) -> list[Event]:
        p = self.p
        n_maint = int(rng.poisson(p["maintenance_rate"]))
        inspections = [(rng.uniform(*MAINTENANCE_SHIFT), rng.uniform(1.0, 3.0)) for _ in range(n_maint)]
        n_ops = int(rng.poisson(p["operator_actions"]))
        actions = [(rng.uniform(*DAY_SHIFT), rng.uniform(-1.0, 1.0)) for _ in range(n_ops)]
        events: list[Event] = []
        sp, night_sp = p["avr_sp"], round(p["avr_sp"] - p["avr_night_reduction"], 3)
        if hour0 is not None and p["cap_schedule"] > 0.5 and in_window(hour0, *CAP_DAY):
            events += [(hour0, "CAP.SW", 1.0), (hour0, "CAP.AUTO", 0.0)]
        if p["avr_schedule"] > 0.5:
            events += [(NIGHT[1], "AVR.SP", sp), (NIGHT[0], "AVR.SP", night_sp)]
        if p["cap_schedule"] > 0.5:
            events += [(CAP_DAY[0], "CAP.SW", 1.0), (CAP_DAY[0], "CAP.AUTO", 0.0),
                       (CAP_DAY[1], "CAP.AUTO", 1.0), (CAP_DAY[1], "CAP.SW", 0.0)]
        for hour, step in actions:
            events.append((hour, "AVR.SP", round(sp + 0.1 * step, 3)))
        for start, length in inspections:
            events += [(start, "AVR.AUTO", 0.0), (min(start + length, 23.99), "AVR.AUTO", 1.0)]
        events.sort(key=lambda e: e[0])  # a later write of a tag in the same scan wins
        return events
