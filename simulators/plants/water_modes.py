"""Operating modes of the water plant: what makes a normal day look like a plant's, not a loop's.

Public testbed data (SWaT, HAI) show levels in on/off sawtooth between bands, equipment rotation,
setpoint changes and operator actions. Each of these is a plant parameter so the old smooth
behaviour (PI level loops, one pump, fixed setpoints) stays one switch away:

* `level_control` 1 (on/off, the default): P101 starts at the bottom of the LIC101 band and stops at
  its top, at a fixed VFD speed; FCV102 opens to a fixed position at the bottom of the LIC102 band
  and closes at its top (its stroke time still applies). 0: the PI loops of before.
* `duty_rotation` hours: the duty intake pump alternates between P101 and P102 on the clock
  (`P101.DUTY`); 0 keeps P101 on duty.
* `setpoint_schedule`: the clearwell is filled higher overnight (22:00-05:00, LIC102.SP raised by
  `level2_night_boost`) for the morning peak.
* `operator_actions` per day: small setpoint changes an operator makes on day shift (LIC101.SP,
  AIC201.SP), at Poisson-distributed times.
* `operator_reset` seconds: the trips latch in the PLC; an operator presses RESET once a trip's
  cause has been clear that long (the trip tag drops on the next scan). 0 leaves a trip latched.
* `maintenance_rate` per day: the duty intake pump is taken out for one to four hours on day
  shift and the other pump runs meanwhile.

The scheduled writes are drawn day by day from a generator per instance, in a fixed order, so they
are the same whatever block size the engine asks for and whichever process runs them.
"""

from __future__ import annotations

import math

import numpy as np

from simulators.core.params import ParamSpec
from simulators.plants.schedule import DAY_SHIFT, DailySchedule, Event

NIGHT_START, NIGHT_END = 22.0, 5.0  # hours: the clearwell's night fill
MAINTENANCE_SHIFT = (8.0, 16.0)  # hours in which maintenance starts

PARAMS = (
    ParamSpec("level_control", 1.0, "", 0.0, 1.0,
              "Level control mode: 1 on/off between bands (as SWaT), 0 continuous PI.", "int"),
    ParamSpec("level1_band", 1.0, "m", 0.05, 10.0, "On/off band of T101 around LIC101.SP (P101 start to stop)."),
    ParamSpec("level2_band", 1.0, "m", 0.05, 10.0, "On/off band of T102 around LIC102.SP (FCV102 open to shut)."),
    ParamSpec("p101_onoff_speed", 90.0, "%", 0.0, 100.0, "P101/P102 VFD speed in on/off mode."),
    ParamSpec("fcv102_onoff_pos", 65.0, "%", 0.0, 100.0, "FCV102 opening in on/off mode."),
    ParamSpec("duty_rotation", 12.0, "h", 0.0, 720.0, "Duty intake pump rotation period (0 = P101 always duty)."),
    ParamSpec("setpoint_schedule", 1.0, "", 0.0, 1.0,
              "Raise LIC102.SP overnight (22:00-05:00) by level2_night_boost.", "bool"),
    ParamSpec("level2_night_boost", 0.5, "m", 0.0, 5.0, "Night raise of LIC102.SP."),
    ParamSpec("operator_actions", 4.0, "1/d", 0.0, 200.0,
              "Mean number of operator setpoint changes per day (LIC101.SP, AIC201.SP)."),
    ParamSpec("operator_reset", 600.0, "s", 0.0, 86400.0,
              "The operator presses RESET once a trip's cause has been clear this long (0 = nobody does)."),
    ParamSpec("maintenance_rate", 0.25, "1/d", 0.0, 10.0,
              "Mean number of duty pump maintenance outages per day (the other pump runs)."),
)


def _in_night(hour: float) -> bool:
    h = hour % 24.0
    return h >= NIGHT_START or h < NIGHT_END


class WaterSchedule(DailySchedule):
    """The scheduled operator writes of the water plant, generated a day at a time per instance."""

    @property
    def active(self) -> bool:
        p = self.p
        return (p["duty_rotation"] > 0 or p["setpoint_schedule"] > 0.5 or p["operator_actions"] > 0
                or p["maintenance_rate"] > 0)

    def duty(self, day: int, hour: float) -> float:
        """1.0 while P101 is the scheduled duty pump at that time, else 0.0."""
        period = self.p["duty_rotation"]
        if period <= 0:
            return 1.0
        return 1.0 if math.floor((day * 24.0 + hour) / period) % 2 == 0 else 0.0

    def day(self, day: int, rng: np.random.Generator, hour0: float | None) -> list[Event]:
        p = self.p
        events: list[Event] = []
        # Draws first, always in the same order and number per day, so switching one mode off does
        # not reshuffle the others.
        n_maint = int(rng.poisson(p["maintenance_rate"]))
        outages = [(rng.uniform(*MAINTENANCE_SHIFT), rng.uniform(1.0, 4.0)) for _ in range(n_maint)]
        n_ops = int(rng.poisson(p["operator_actions"]))
        actions = [(rng.uniform(*DAY_SHIFT), rng.random(), rng.uniform(-1.0, 1.0)) for _ in range(n_ops)]
        if hour0 is not None:  # the state the schedule asks for when the run starts
            events.append((hour0, "P101.DUTY", self.duty(day, hour0)))
            if p["setpoint_schedule"] > 0.5 and _in_night(hour0):
                events.append((hour0, "LIC102.SP", p["level2_sp"] + p["level2_night_boost"]))
        if p["setpoint_schedule"] > 0.5:
            events.append((NIGHT_END, "LIC102.SP", p["level2_sp"]))
            events.append((NIGHT_START, "LIC102.SP", p["level2_sp"] + p["level2_night_boost"]))
        windows = [(start, min(start + length, 24.0)) for start, length in outages]
        if p["duty_rotation"] > 0:
            period = p["duty_rotation"]
            hour = math.ceil(day * 24.0 / period) * period - day * 24.0
            while hour < 24.0:
                if not any(a <= hour < b for a, b in windows):
                    events.append((hour, "P101.DUTY", self.duty(day, hour)))
                hour += period
        for a, b in windows:  # the other pump runs while the duty one is out, then the schedule resumes
            events.append((a, "P101.DUTY", 1.0 - self.duty(day, a)))
            events.append((b, "P101.DUTY", self.duty(day, b)))
        for hour, which, step in actions:
            if which < 0.5:
                events.append((hour, "LIC101.SP", round(p["level1_sp"] + 0.3 * step, 2)))
            else:
                events.append((hour, "AIC201.SP", round(p["chlorine_sp"] + 0.15 * step, 2)))
        return events
