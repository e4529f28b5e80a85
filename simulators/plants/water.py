"""Water treatment and distribution: intake pump, two tanks, chlorination, distribution pump.

Process (all SI inside, engineering units on tags):

    river --P101 (VFD)--> T101 --FCV102 (gravity, Torricelli)--> T102 --P201--> town demand
                                             chlorine dosing DP201 --^

* T101 and T102 obey mass balance `A dh/dt = sum(in) - sum(out)`; the T101 outlet is a
  Torricelli orifice `q12 = CdA * a * sqrt(2 g h1)` throttled by FCV102 (opening `a`).
* P101 follows the affinity laws on a quadratic curve, `H = H0 s^2 - k q^2`, against the intake
  system `H = Hs + r q^2`, so `q1 = sqrt(max(H0 s^2 - Hs, 0) / (k + r))`.
* P201 delivers the town demand (a daily profile with slow random variation) while it runs and
  T102 is not empty; its discharge pressure is read off its curve at that flow.
* Chlorine in T102: `V dc/dt = m_dose - q12 c - kd V c` (dosing into the inflow, first-order
  bulk decay, outflows leave at the tank concentration).
* Overflow weirs spill above the tank height; three totalisers (intake, delivered, spilled)
  integrate with the levels so the water balance can be checked exactly.

PLC: LIC101 (T101 level -> intake pumps), LIC102 (T102 level -> FCV102), either on/off between
bands (default) or continuous PI (`water_modes`); AIC201 (chlorine -> dosing pump, flow-paced in
on/off mode, stopped without transfer flow); level alarms; two latching interlocks (RESET once the
cause has cleared): T101 high-high stops the intake (overflow protection), T102 low-low stops P201
(dry-run protection). Duty/standby intake pumps P101/P102 share one speed reference; AIT201 is a
sampling analyser (sample interval and dead time).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from simulators.core.integrator import State
from simulators.core.ops import Ops
from simulators.core.params import ParamSpec
from simulators.core.pid import PID, PIDTuning
from simulators.core.plc import Alarm, Interlock, OperatorReset
from simulators.core.profiles import OUProcess, daily_profile
from simulators.core.tags import TagSpec
from simulators.plants.base import PlantModel
from simulators.plants.water_modes import PARAMS as MODE_PARAMS
from simulators.plants.water_modes import WaterSchedule

G = 9.81
BAR_PER_M = 1000.0 * G / 1e5  # bar per metre of water column
WEIR = 1.8 * 2.0  # weir coefficient x crest length, m^0.5/s

PARAMS = (
    ParamSpec("tank1_area", 20.0, "m2", 1.0, 1000.0, "Cross-section of T101."),
    ParamSpec("tank1_height", 5.0, "m", 1.0, 50.0, "Height of T101 (overflow weir crest)."),
    ParamSpec("tank2_area", 60.0, "m2", 1.0, 5000.0, "Cross-section of T102 (clearwell)."),
    ParamSpec("tank2_height", 6.0, "m", 1.0, 50.0, "Height of T102 (overflow weir crest)."),
    ParamSpec("pump1_head", 40.0, "m", 1.0, 300.0, "P101 shut-off head at full speed, H0."),
    ParamSpec("pump1_k", 500.0, "s2/m5", 0.0, 1e6, "P101 curve coefficient k in H = H0 s^2 - k q^2."),
    ParamSpec("intake_static_head", 12.0, "m", 0.0, 200.0, "Static lift from the river to T101, Hs."),
    ParamSpec("intake_pipe_r", 300.0, "s2/m5", 0.0, 1e6, "Intake pipe friction r in H = Hs + r q^2."),
    ParamSpec("outlet_cda", 0.03, "m2", 1e-4, 10.0, "Discharge coefficient x area of the T101 outlet."),
    ParamSpec("demand_base", 288.0, "m3/h", 0.0, 5000.0, "Mean town demand."),
    ParamSpec("demand_amplitude", 1.0, "1", 0.0, 1.0, "Strength of the daily demand shape (0 = flat)."),
    ParamSpec("demand_variability", 0.03, "1", 0.0, 0.5, "Relative std of the random demand variation."),
    ParamSpec("demand_tau", 900.0, "s", 1.0, 86400.0, "Correlation time of the demand variation."),
    ParamSpec("pump2_head", 60.0, "m", 1.0, 300.0, "P201 shut-off head."),
    ParamSpec("pump2_k", 1000.0, "s2/m5", 0.0, 1e6, "P201 curve coefficient."),
    ParamSpec("network_static_pressure", 0.3, "bar", 0.0, 5.0, "Network pressure with P201 stopped."),
    ParamSpec("chlorine_decay", 5e-5, "1/s", 0.0, 0.01, "First-order bulk decay rate of free chlorine."),
    ParamSpec("dose_max", 0.5, "g/s", 0.0, 100.0, "Chlorine mass rate of DP201 at 100 % speed."),
    ParamSpec("level1_init", 3.0, "m", 0.0, 50.0, "Initial T101 level."),
    ParamSpec("level2_init", 4.0, "m", 0.0, 50.0, "Initial T102 level."),
    ParamSpec("chlorine_init", 1.0, "mg/L", 0.0, 10.0, "Initial T102 chlorine residual."),
    ParamSpec("level1_sp", 3.0, "m", 0.0, 50.0, "Initial LIC101 setpoint."),
    ParamSpec("level2_sp", 4.0, "m", 0.0, 50.0, "Initial LIC102 setpoint."),
    ParamSpec("chlorine_sp", 1.0, "mg/L", 0.0, 5.0, "Initial AIC201 setpoint."),
    ParamSpec("lic101_kp", 150.0, "%/m", 0.0, 1e4, "LIC101 proportional gain."),
    ParamSpec("lic101_ti", 600.0, "s", 20.0, 1e5, "LIC101 integral time."),
    ParamSpec("lic102_kp", 80.0, "%/m", 0.0, 1e4, "LIC102 proportional gain."),
    ParamSpec("lic102_ti", 1200.0, "s", 20.0, 1e5, "LIC102 integral time."),
    ParamSpec("aic201_kp", 60.0, "%/(mg/L)", 0.0, 1e4, "AIC201 proportional gain."),
    ParamSpec("aic201_ti", 1800.0, "s", 20.0, 1e5, "AIC201 integral time."),
    ParamSpec("lic101_filter", 20.0, "s", 0.0, 3600.0, "LIC101 PV filter time constant (0 = unfiltered)."),
    ParamSpec("lic102_filter", 20.0, "s", 0.0, 3600.0, "LIC102 PV filter time constant."),
    ParamSpec("aic201_filter", 30.0, "s", 0.0, 3600.0, "AIC201 PV filter time constant."),
    ParamSpec("p101_ramp", 5.0, "%/s", 0.0, 100.0, "P101 VFD speed ramp rate in automatic (0 = unlimited)."),
    ParamSpec("fcv102_stroke", 60.0, "s", 0.0, 3600.0, "FCV102 full-stroke time (0 = instantaneous)."),
    ParamSpec("dp201_ramp", 5.0, "%/s", 0.0, 100.0, "DP201 dosing pump speed ramp rate (0 = unlimited)."),
    ParamSpec("output_deadband", 0.2, "%", 0.0, 5.0,
              "Smallest output change a positioner or VFD reference passes on (0 = off)."),
    ParamSpec("level1_high", 4.0, "m", 0.0, 50.0, "LIT101 high alarm."),
    ParamSpec("level1_low", 2.0, "m", 0.0, 50.0, "LIT101 low alarm."),
    ParamSpec("level1_trip", 4.6, "m", 0.0, 50.0, "Initial LIT101.HH (P101 trip)."),
    ParamSpec("level2_high", 5.2, "m", 0.0, 50.0, "LIT102 high alarm."),
    ParamSpec("level2_low", 2.5, "m", 0.0, 50.0, "LIT102 low alarm."),
    ParamSpec("level2_trip", 0.5, "m", 0.0, 50.0, "Initial LIT102.LL (P201 trip)."),
    ParamSpec("chlorine_high", 2.0, "mg/L", 0.0, 10.0, "AIT201 high alarm."),
    ParamSpec("chlorine_low", 0.5, "mg/L", 0.0, 10.0, "AIT201 low alarm."),
    ParamSpec("pressure_low", 3.5, "bar", 0.0, 20.0, "PIT201 low alarm."),
    ParamSpec("interlock_enabled", 1.0, "", 0.0, 1.0, "Whether the PLC interlocks act.", "bool"),
    ParamSpec("interlock_auto_reset", 0.0, "s", 0.0, 86400.0,
              "Release a trip once its condition has been clear this long (0 = only RESET, latching)."),
    ParamSpec("ait201_interval", 60.0, "s", 0.0, 3600.0, "AIT201 analyser sample interval (0 = continuous)."),
    ParamSpec("ait201_dead_time", 60.0, "s", 0.0, 3600.0,
              "AIT201 dead time: sample transport and analysis before a result shows."),
    ParamSpec("dose_permissive", 10.0, "m3/h", 0.0, 1000.0,
              "DP201 runs only while FIT102 reads above this (no dosing into a stopped line)."),
    *MODE_PARAMS,
)

TAGS = (
    TagSpec("LIT101", "m", "sensor", "T101 level", 0.0, 5.5, normal=(2.0, 4.0), noise=0.005, drift=0.01,
            init_param="level1_init"),
    TagSpec("LIT102", "m", "sensor", "T102 level", 0.0, 6.5, normal=(3.0, 5.2), noise=0.005, drift=0.01,
            init_param="level2_init"),
    TagSpec("FIT101", "m3/h", "sensor", "Intake flow (P101 or P102)", 0.0, 600.0, normal=(0.0, 600.0), noise=1.0,
            drift=0.5),
    TagSpec("FIT102", "m3/h", "sensor", "Transfer flow T101 to T102", 0.0, 1000.0, normal=(0.0, 650.0),
            noise=1.0, drift=0.5),
    TagSpec("FIT201", "m3/h", "sensor", "Distribution flow (P201)", 0.0, 800.0, normal=(100.0, 500.0),
            noise=1.0, drift=0.5),
    TagSpec("PIT201", "bar", "sensor", "Distribution pressure", 0.0, 8.0, normal=(4.0, 6.5), noise=0.01,
            drift=0.01),
    TagSpec("AIT201", "mg/L", "sensor", "Free chlorine residual in T102", 0.0, 5.0, normal=(0.8, 1.2),
            noise=0.005, drift=0.02, init_param="chlorine_init"),
    TagSpec("FQ101", "m3", "sensor", "Intake volume totaliser", 0.0, 1e8),
    TagSpec("FQ201", "m3", "sensor", "Delivered volume totaliser", 0.0, 1e8),
    TagSpec("FQ901", "m3", "sensor", "Overflow (spilled) volume totaliser", 0.0, 1e8),
    TagSpec("LIC101.SP", "m", "setpoint", "T101 level setpoint", 0.5, 5.0, normal=(2.5, 3.5),
            init_param="level1_sp"),
    TagSpec("LIC102.SP", "m", "setpoint", "T102 level setpoint", 0.5, 6.0, normal=(3.0, 5.0),
            init_param="level2_sp"),
    TagSpec("AIC201.SP", "mg/L", "setpoint", "Chlorine residual setpoint", 0.0, 4.0, normal=(0.8, 1.2),
            init_param="chlorine_sp"),
    TagSpec("LIT101.HH", "m", "parameter", "T101 high-high trip limit (stops P101)", 0.0, 5.5,
            normal=(4.0, 5.0), init_param="level1_trip"),
    TagSpec("LIT102.LL", "m", "parameter", "T102 low-low trip limit (stops P201)", 0.0, 6.5,
            normal=(0.2, 1.0), init_param="level2_trip"),
    TagSpec("LIC101.AUTO", "", "mode", "LIC101 in automatic", kind="bool", default=1.0),
    TagSpec("LIC102.AUTO", "", "mode", "LIC102 in automatic", kind="bool", default=1.0),
    TagSpec("AIC201.AUTO", "", "mode", "AIC201 in automatic", kind="bool", default=1.0),
    TagSpec("P101.RUN", "", "command", "Run command of intake pump P101", kind="bool", default=1.0),
    TagSpec("P201.RUN", "", "command", "Run command of distribution pump P201", kind="bool", default=1.0),
    TagSpec("RESET", "", "command", "Interlock reset (momentary)", kind="bool", momentary=True),
    TagSpec("P101.DUTY", "", "mode", "P101 is the duty intake pump (else P102)", kind="bool", default=1.0),
    TagSpec("P101.SPEED", "%", "actuator", "P101 VFD speed", 0.0, 100.0, normal=(40.0, 100.0),
            writable_actuator=True),
    TagSpec("FCV102.POS", "%", "actuator", "Transfer valve FCV102 opening", 0.0, 100.0, normal=(10.0, 80.0),
            writable_actuator=True),
    TagSpec("DP201.SPEED", "%", "actuator", "Chlorine dosing pump speed", 0.0, 100.0, normal=(0.0, 60.0),
            writable_actuator=True),
    TagSpec("P101", "", "actuator", "P101 running (run command and not tripped)", kind="bool", default=1.0),
    TagSpec("P201", "", "actuator", "P201 running (run command and not tripped)", kind="bool", default=1.0),
    TagSpec("P102", "", "actuator", "P102 running (standby intake pump, when it has duty)", kind="bool"),
    TagSpec("LIT101.HI", "", "status", "T101 high level alarm", kind="bool"),
    TagSpec("LIT101.LO", "", "status", "T101 low level alarm", kind="bool"),
    TagSpec("LIT102.HI", "", "status", "T102 high level alarm", kind="bool"),
    TagSpec("LIT102.LO", "", "status", "T102 low level alarm", kind="bool"),
    TagSpec("AIT201.HI", "", "status", "Chlorine high alarm", kind="bool"),
    TagSpec("AIT201.LO", "", "status", "Chlorine low alarm", kind="bool"),
    TagSpec("PIT201.LO", "", "status", "Distribution pressure low alarm", kind="bool"),
    TagSpec("P101.TRIP", "", "status", "Interlock: T101 high-high, P101 stopped", kind="bool"),
    TagSpec("P201.TRIP", "", "status", "Interlock: T102 low-low, P201 stopped", kind="bool"),
)


class WaterPlant(PlantModel):
    name = "water"
    title = "Water treatment and distribution"
    summary = "Intake pump, two tanks with Torricelli transfer, chlorination with decay, distribution pump."
    dt_max = 1.0
    TAGS = TAGS
    PARAMS = PARAMS
    EXOGENOUS = (("demand", "m3/s"),)
    ANALYSERS = (("AIT201", "ait201_interval", "ait201_dead_time"),)
    CONTROL_SENSORS = ("LIT101", "LIT102")  # AIC201 is too slow to show within an attack
    PROCESS_VARIABLES = ("LIT101", "LIT102", "AIT201", "PIT201")
    operator: OperatorReset  # RESET once a trip's cause has been clear `operator_reset` s

    def __init__(
        self,
        params: Mapping[str, float],
        ops: Ops,
        rngs: Sequence[np.random.Generator],
        scan_period: float,
        start_hour: float,
    ) -> None:
        super().__init__(params, ops, rngs, scan_period, start_hour)
        p = self.p
        self.demand_noise = OUProcess(self.substreams(), 1, p["demand_variability"], p["demand_tau"], scan_period)
        self.inv_kr = 1.0 / max(p["pump1_k"] + p["intake_pipe_r"], 1e-9)
        enabled = p["interlock_enabled"] > 0.5
        self.il1 = Interlock(ops, scan_period, p["interlock_auto_reset"], enabled)
        self.il2 = Interlock(ops, scan_period, p["interlock_auto_reset"], enabled)
        self.schedule = WaterSchedule(p, self.substreams(), scan_period, start_hour)
        self.operator = OperatorReset(ops, scan_period, p["operator_reset"], 2)
        self.onoff = p["level_control"] > 0.5
        self.inv_q_mean = 1.0 / max(p["demand_base"], 1e-9)
        self._q1_for: list[Any] | None = None  # the actuator list `_q1` was computed for (identity)
        self._q1: Any = 0.0
        self.pace_alpha = scan_period / (p["aic201_filter"] + scan_period)
        self.q12_f: Any = None
        self.dose_out: Any = None
        self.alarms = [Alarm(ops, high, db) for high, db in (
            (True, 0.05), (False, 0.05), (True, 0.05), (False, 0.05), (True, 0.05), (False, 0.05), (False, 0.1))]
        self.limits = [p["level1_high"], p["level1_low"], p["level2_high"], p["level2_low"],
                       p["chlorine_high"], p["chlorine_low"], p["pressure_low"]]

    # -- physics ---------------------------------------------------------------------------------
    def flows(self, h1: Any, h2: Any, app: list[Any], w: Any) -> tuple[Any, Any, Any]:
        """Intake, transfer and delivered flows (m3/s)."""
        ops, p = self.ops, self.p
        if app is self._q1_for:  # the intake depends on the held actuators only: once per scan
            q1 = self._q1
        else:
            s = app[0] * 0.01
            # P101 and P102 are identical and in parallel: n running pumps deliver n q each at q / n,
            # n q = n sqrt((H0 s^2 - Hs) / (k + n^2 r)).
            n = app[3] + app[5]
            lift = ops.maximum(p["pump1_head"] * s * s - p["intake_static_head"], 0.0)
            q1 = n * ops.sqrt(lift / ops.maximum(p["pump1_k"] + n * n * p["intake_pipe_r"], 1e-9))
            self._q1_for, self._q1 = app, q1
        q12 = p["outlet_cda"] * (app[1] * 0.01) * ops.sqrt((2.0 * G) * ops.maximum(h1, 0.0))
        qd = app[4] * w[0] * ops.clip(h2 * 5.0, 0.0, 1.0)  # suction lost below 0.2 m
        return q1, q12, qd

    def spill(self, level: Any, crest: float) -> Any:
        """Weir overflow, m3/s; skipped (exactly 0) while no instance is above the crest."""
        ops = self.ops
        if not (ops.any(level > crest) if ops.vector else level > crest):  # eight times a scan: no call for one
            return 0.0
        return WEIR * ops.maximum(level - crest, 0.0) ** 1.5

    def rhs(self, x: State, app: list[Any], w: Any) -> State:
        ops, p = self.ops, self.p
        h1, h2, c2 = x[0], x[1], x[2]
        q1, q12, qd = self.flows(h1, h2, app, w)
        spill1 = self.spill(h1, p["tank1_height"])
        spill2 = self.spill(h2, p["tank2_height"])
        dose = p["dose_max"] * (app[2] * 0.01)
        volume2 = p["tank2_area"] * ops.maximum(h2, 0.05)
        return [
            (q1 - q12 - spill1) / p["tank1_area"],
            (q12 - qd - spill2) / p["tank2_area"],
            (dose - q12 * c2) / volume2 - p["chlorine_decay"] * c2,
            q1,
            qd,
            spill1 + spill2,
        ]

    def measure(self, x: State, app: list[Any], w: Any) -> list[Any]:
        ops, p = self.ops, self.p
        h1, h2 = x[0], x[1]
        q1, q12, qd = self.flows(h1, h2, app, w)
        head = app[4] * ops.maximum(p["pump2_head"] - p["pump2_k"] * qd * qd, 0.0)
        pressure = BAR_PER_M * head + p["network_static_pressure"]
        return [h1, h2, q1 * 3600.0, q12 * 3600.0, qd * 3600.0, pressure, x[2], x[3], x[4], x[5]]

    def exogenous(self, first_scan: int, count: int) -> np.ndarray:
        p = self.p
        shape = daily_profile(self.hours(first_scan, count), "residential", p["demand_amplitude"])
        variation = np.maximum(1.0 + self.demand_noise.block(count)[0], 0.0)  # (count, n)
        demand = (p["demand_base"] / 3600.0) * shape[:, None] * variation
        return demand[:, None, :]

    def start(self, w0: Any) -> tuple[State, list[Any], list[Any]]:
        ops, p = self.ops, self.p
        q = w0[0]
        h1, h2, c2 = ops.full(p["level1_init"]), ops.full(p["level2_init"]), ops.full(p["chlorine_init"])
        # Actuator positions that balance the flows at t = 0, so runs start near steady state.
        speed = ops.clip(100.0 * ops.sqrt((q * q / self.inv_kr + p["intake_static_head"]) / p["pump1_head"]),
                         0.0, 100.0)
        fcv = ops.clip(100.0 * q / (p["outlet_cda"] * ops.sqrt(2.0 * G * ops.maximum(h1, 0.05))), 0.0, 100.0)
        need = q * c2 + p["chlorine_decay"] * p["tank2_area"] * h2 * c2
        dose = ops.clip(100.0 * need / max(p["dose_max"], 1e-12), 0.0, 100.0)
        dt = self.scan
        db = p["output_deadband"]
        stroke = 100.0 / p["fcv102_stroke"] if p["fcv102_stroke"] > 0 else 0.0
        self.pid1 = PID(PIDTuning(p["lic101_kp"], p["lic101_ti"], pv_filter=p["lic101_filter"],
                                  rate=p["p101_ramp"], deadband=db), dt, ops, speed)
        self.pid2 = PID(PIDTuning(p["lic102_kp"], p["lic102_ti"], pv_filter=p["lic102_filter"], rate=stroke,
                                  deadband=db), dt, ops, fcv)
        self.pid3 = PID(PIDTuning(p["aic201_kp"], p["aic201_ti"], pv_filter=p["aic201_filter"],
                                  rate=p["dp201_ramp"], deadband=db), dt, ops, dose)
        self.held_speed = speed
        on = ops.full_bool(True)
        zero = ops.full(0.0)
        if self.onoff:  # start mid-band, filling both tanks
            speed = ops.full(p["p101_onoff_speed"])
            fcv = ops.full(p["fcv102_onoff_pos"])
        self.fill1, self.fill2 = on, on
        self.fcv_step = 100.0 * dt / p["fcv102_stroke"] if p["fcv102_stroke"] > 0 else 100.0
        self.fcv = fcv
        app = [speed, fcv, dose, on, on, ops.full_bool(False)]
        return [h1, h2, c2, zero, zero, zero], list(app), app

    # -- PLC ---------------------------------------------------------------------------------------
    def control(self, rd: list[Any], inp: list[Any], man: list[Any], w: Any) -> tuple[list[Any], list[Any]]:
        ops = self.ops
        h1, h2, pressure, c2 = rd[0], rd[1], rd[5], rd[6]
        reset = inp[10]
        clear1, clear2 = h1 < inp[3] - 0.3, h2 > inp[4] + 0.5
        trip1 = self.il1.update(h1 >= inp[3], clear1, reset)
        trip2 = self.il2.update(h2 <= inp[4], clear2, reset)
        self.operator.watch(0, trip1 & clear1)  # the operator's eye on a trip whose cause has cleared
        self.operator.watch(1, trip2 & clear2)
        run1 = inp[8] & ops.not_(trip1)
        run2 = inp[9] & ops.not_(trip2)
        auto1 = inp[5]
        if self.onoff:
            run1, speed, fcv = self.onoff_control(h1, h2, run1, inp, man)
        else:
            # A stopped pump holds its speed reference instead of winding the loop up.
            speed = self.pid1.update(inp[0], h1, auto1 & run1, ops.where(auto1, self.held_speed, man[0]))
            self.held_speed = speed
            fcv = self.pid2.update(inp[1], h2, inp[6], man[1])
        dose = self.pid3.update(inp[2], c2, inp[7], man[2])
        q12 = rd[3]
        if self.onoff:
            dose = self.paced(dose, q12, inp[7])
        dose = ops.where(q12 > self.p["dose_permissive"], dose, 0.0)
        duty = inp[11]
        a, lim = self.alarms, self.limits
        statuses = [
            a[0].update(h1, lim[0]),
            a[1].update(h1, lim[1]),
            a[2].update(h2, lim[2]),
            a[3].update(h2, lim[3]),
            a[4].update(c2, lim[4]),
            a[5].update(c2, lim[5]),
            a[6].update(pressure, lim[6]),
            trip1,
            trip2,
        ]
        return [speed, fcv, dose, run1 & duty, run2, run1 & ops.not_(duty)], statuses

    def onoff_control(self, h1: Any, h2: Any, run1: Any, inp: list[Any], man: list[Any]) -> tuple[Any, Any, Any]:
        """On/off level control between bands (`water_modes`): (intake run, VFD speed, FCV102)."""
        ops, p = self.ops, self.p
        h1f, h2f = self.pid1.filtered(h1), self.pid2.filtered(h2)
        half1, half2 = 0.5 * p["level1_band"], 0.5 * p["level2_band"]
        self.fill1 = (h1f <= inp[0] - half1) | (self.fill1 & (h1f < inp[0] + half1))
        self.fill2 = (h2f <= inp[1] - half2) | (self.fill2 & (h2f < inp[1] + half2))
        auto1, auto2 = inp[5], inp[6]
        # In manual the pump runs on its run command alone, at the operator's speed.
        run1 = run1 & (self.fill1 | ops.not_(auto1))
        speed = ops.where(auto1, p["p101_onoff_speed"], man[0])
        target = ops.where(self.fill2, p["fcv102_onoff_pos"], 0.0)
        stroked = self.fcv + ops.clip(target - self.fcv, -self.fcv_step, self.fcv_step)
        self.fcv = ops.where(auto2, stroked, man[1])
        return run1, speed, self.fcv

    def paced(self, trim: Any, q12: Any, auto: Any) -> Any:
        """Flow-paced dosing: the AIC201 output is the dose at the mean flow, scaled by the filtered
        transfer flow; the positioner deadband keeps the pump from following the meter's noise."""
        ops = self.ops
        self.q12_f = q12 if self.q12_f is None else self.q12_f + self.pace_alpha * (q12 - self.q12_f)
        dose = ops.clip(trim * self.q12_f * self.inv_q_mean, 0.0, 100.0)
        if self.p["output_deadband"] > 0 and self.dose_out is not None:
            dose = ops.where(abs(dose - self.dose_out) < self.p["output_deadband"], self.dose_out, dose)
        self.dose_out = dose
        return ops.where(auto, dose, trim)

    def events(self, first_scan: int, count: int) -> list[tuple[int, int, str, float]]:
        return self.schedule.events(first_scan, count)
