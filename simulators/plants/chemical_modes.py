"""Operating modes of the CSTR: a production plan, coolant pump rotation, analyser calibration and
operator setpoint changes, so a normal day has the steps and routines of a plant's, each a switch.

* `production_schedule`: the feed (FV101, i.e. the production rate) runs at `feed_valve_init`
  overnight and at `feed_day` from 07:00 to 19:00 (a day-shift production campaign), ramped by the
  operator 1 % every `feed_ramp_s` seconds rather than stepped. Off: FV101 stays where it is set.
* `coolant_rotation` hours: duty/standby coolant pumps P102/P103 (`P102.DUTY`) change over on the
  clock; the incoming pump starts `pump_overlap` s before the outgoing one stops, and P103 delivers
  `standby_capacity` of P102's flow, so TIC101 opens TCV102 a little further while it runs. 0 keeps
  P102 on duty.
* `at101_calibration`: the AT101 analyser is calibrated daily at `at101_cal_hour`: it analyses the
  zero standard, then the span standard (`at101_span`), for `at101_cal_duration` / 2 each; the
  results come through its sample/hold and dead time like any sample, and `AT101.CAL` is set from
  the start until the last standard's result has been replaced by a process sample.
* `operator_actions` per day: TIC101.SP changes of up to +/-1.5 K on day shift at Poisson times.

With every mode off (`production_schedule` 0, `coolant_rotation` 0, `at101_calibration` 0,
`operator_actions` 0) the plant behaves as before the modes.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from simulators.core.params import ParamSpec
from simulators.plants.schedule import DAY_SHIFT, DailySchedule, Event, in_window, ramp

PRODUCTION_DAY = (7.0, 19.0)  # hours of the day-shift production rate
FEED_STEP = 1.0  # % per operator ramp step

PARAMS = (
    ParamSpec("production_schedule", 1.0, "", 0.0, 1.0,
              "Run the feed at feed_day from 07:00 to 19:00 and at feed_valve_init overnight, ramped.", "bool"),
    ParamSpec("feed_day", 56.0, "%", 0.0, 100.0, "FV101 opening during the day-shift production campaign."),
    ParamSpec("feed_ramp_s", 120.0, "s", 1.0, 3600.0, "The operator moves FV101 1 % every this many seconds."),
    ParamSpec("coolant_rotation", 12.0, "h", 0.0, 720.0,
              "Duty coolant pump changeover period, P102/P103 (0 = P102 always duty)."),
    ParamSpec("standby_capacity", 0.9, "1", 0.1, 1.0, "P103's coolant flow relative to P102's at the same valve."),
    ParamSpec("pump_overlap", 30.0, "s", 0.0, 600.0, "Both coolant pumps run this long at a changeover."),
    ParamSpec("at101_calibration", 1.0, "", 0.0, 1.0,
              "Calibrate the AT101 analyser daily (zero, then span standard).", "bool"),
    ParamSpec("at101_cal_hour", 10.0, "h", 0.0, 23.9, "Hour of day (UTC) the AT101 calibration starts."),
    ParamSpec("at101_cal_duration", 600.0, "s", 60.0, 7200.0, "Length of the calibration (half zero, half span)."),
    ParamSpec("at101_span", 2000.0, "mol/m3", 0.0, 3000.0, "Concentration of the AT101 span standard."),
    ParamSpec("operator_actions", 3.0, "1/d", 0.0, 200.0, "Mean number of TIC101.SP changes per day (day shift)."),
)

CAL_NONE, CAL_ZERO, CAL_SPAN = 0.0, 1.0, 2.0


def calibration(p: Mapping[str, float], hours: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(standard being analysed: 0 none, 1 zero, 2 span; AT101.CAL flag) at each hour of a block.
    The flag lasts until the last standard's result is out of the analyser (interval + dead time)."""
    if p["at101_calibration"] < 0.5:
        zero = np.zeros_like(hours)
        return zero, zero
    # seconds since today's calibration started, rounded so a scan on the hour is on it
    since = np.mod(np.round((hours - p["at101_cal_hour"]) * 3600.0, 6), 86400.0)
    length = p["at101_cal_duration"]
    code = np.where(since < 0.5 * length, CAL_ZERO, np.where(since < length, CAL_SPAN, CAL_NONE))
    flag = since < length + p["at101_interval"] + p["at101_dead_time"]
    return code, flag.astype(float)


class ChemicalSchedule(DailySchedule):
    """The production plan, pump rotation and operator changes of the CSTR, a day at a time."""

    @property
    def active(self) -> bool:
        p = self.p
        return p["production_schedule"] > 0.5 or p["coolant_rotation"] > 0 or p["operator_actions"] > 0

    def duty(self, day: int, hour: float) -> float:
        """1.0 while P102 is the scheduled duty coolant pump at that time, else 0.0."""
        period = self.p["coolant_rotation"]
        if period <= 0:
            return 1.0
        return 1.0 if int((day * 24.0 + hour) // period) % 2 == 0 else 0.0

    def day(self, day: int, rng: np.random.Generator, hour0: float | None) -> list[Event]:
        p = self.p
        n_ops = int(rng.poisson(p["operator_actions"]))
        actions = [(rng.uniform(*DAY_SHIFT), rng.uniform(-1.0, 1.0)) for _ in range(n_ops)]
        events: list[Event] = []
        base, high, every = p["feed_valve_init"], p["feed_day"], p["feed_ramp_s"]
        if hour0 is not None:
            events.append((hour0, "P102.DUTY", self.duty(day, hour0)))
            if p["production_schedule"] > 0.5 and in_window(hour0, *PRODUCTION_DAY):
                events += ramp(hour0, "FV101.POS", base, high, FEED_STEP, every)
        if p["production_schedule"] > 0.5:
            events += ramp(PRODUCTION_DAY[0], "FV101.POS", base, high, FEED_STEP, every)
            events += ramp(PRODUCTION_DAY[1], "FV101.POS", high, base, FEED_STEP, every)
        period = p["coolant_rotation"]
        if period > 0:
            hour = -((day * 24.0) % period) % period
            while hour < 24.0:
                events.append((hour, "P102.DUTY", self.duty(day, hour)))
                hour += period
        for hour, step in actions:
            events.append((hour, "TIC101.SP", round(p["temp_sp"] + 1.5 * step, 1)))
        return events

