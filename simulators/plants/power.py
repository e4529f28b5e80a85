"""Radial 11 kV distribution feeder behind a 33/11 kV on-load tap-changing transformer.

    grid 33 kV --[OLTC T1, z_t]-- B1 --line 1-- B2 --line 2-- B3 --line 3-- B4
                         breaker CB1 at the feeder head        capacitor bank at B3

* Per-unit on the transformer rating (10 MVA) and 11 kV. The secondary source voltage is
  `Vs = Vgrid * (1 + tap_step * tap)`; CB1 open de-energises the whole feeder.
* Loads follow daily profiles (commercial, residential, industrial, residential) times slow random
  variation, and depend on voltage: `P = P0 |V|^ap`, `Q = Q0 |V|^aq`.
* Voltages and currents come from a backward/forward sweep power flow solved each scan to
  1e-8 pu (warm-started from the previous scan), so `P_source = sum(P_load) + sum(I^2 R)`.
* Transformer top-oil temperature follows the IEEE C57.91 first-order model,
  `tau dT/dt = dT_r ((K^2 R + 1)/(R + 1))^n + T_amb - T`, hot spot `T + dT_h K^(2m)`, with
  K the loading in per unit; source, load and loss energies are integrated with it (MWh).

PLC: the AVR steps the tap after its delay when V_B1 leaves the deadband around AVR.SP; the
capacitor controller switches the bank on low/off high V_B4 after its delay; definite-time
over-current protection opens CB1 and recloses after the reclose delay (0 = manual reset). A simulated
operator presses RESET once a lockout's cause has been clear for `operator_reset` s (0 = nobody does).

A normal day also has the utility's routines: night-time voltage reduction, a capacitor time clock,
dispatcher setpoint trims and tap changer inspections (`power_modes`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from simulators.core.integrator import State, rk4
from simulators.core.ops import Ops, ScalarOps
from simulators.core.params import ParamSpec
from simulators.core.plc import Alarm, OnDelay, OperatorReset
from simulators.core.profiles import OUProcess, daily_profile, sinusoid
from simulators.core.tags import TagSpec
from simulators.plants.base import PlantModel
from simulators.plants.power_modes import PARAMS as MODE_PARAMS
from simulators.plants.power_modes import PowerSchedule, night_setpoint

KV_GRID, KV_FEEDER = 33.0, 11.0
TAP_MAX = 8
PF_TOL = 1e-8
PF_MAX_ITER = 50
LOAD_KINDS = ("commercial", "residential", "industrial", "residential")

PARAMS = (
    ParamSpec("rating_mva", 10.0, "MVA", 0.1, 1000.0, "Transformer rating, also the per-unit base."),
    ParamSpec("grid_voltage", 1.0, "pu", 0.8, 1.2, "Mean grid (33 kV side) voltage."),
    ParamSpec("grid_voltage_amplitude", 0.01, "pu", 0.0, 0.1, "Daily swing of the grid voltage."),
    ParamSpec("grid_variability", 0.003, "pu", 0.0, 0.05, "Std of the random grid voltage variation."),
    ParamSpec("transformer_r", 0.005, "pu", 0.0, 0.2, "Transformer resistance."),
    ParamSpec("transformer_x", 0.08, "pu", 0.001, 0.5, "Transformer leakage reactance."),
    ParamSpec("tap_step", 0.0125, "pu", 0.001, 0.05, "Voltage change per tap step (+/-8 steps)."),
    ParamSpec("line_r", 0.25, "ohm/km", 0.0, 5.0, "Line resistance per km."),
    ParamSpec("line_x", 0.35, "ohm/km", 0.0, 5.0, "Line reactance per km."),
    ParamSpec("line1_km", 3.0, "km", 0.01, 100.0, "Length B1-B2."),
    ParamSpec("line2_km", 2.5, "km", 0.01, 100.0, "Length B2-B3."),
    ParamSpec("line3_km", 2.0, "km", 0.01, 100.0, "Length B3-B4."),
    ParamSpec("load1_mw", 1.5, "MW", 0.0, 100.0, "Mean load at B1 (commercial)."),
    ParamSpec("load2_mw", 2.0, "MW", 0.0, 100.0, "Mean load at B2 (residential)."),
    ParamSpec("load3_mw", 1.5, "MW", 0.0, 100.0, "Mean load at B3 (industrial)."),
    ParamSpec("load4_mw", 1.2, "MW", 0.0, 100.0, "Mean load at B4 (residential)."),
    ParamSpec("load1_pf", 0.95, "1", 0.5, 1.0, "Power factor (lagging) of load 1."),
    ParamSpec("load2_pf", 0.97, "1", 0.5, 1.0, "Power factor of load 2."),
    ParamSpec("load3_pf", 0.9, "1", 0.5, 1.0, "Power factor of load 3."),
    ParamSpec("load4_pf", 0.97, "1", 0.5, 1.0, "Power factor of load 4."),
    ParamSpec("load_amplitude", 1.0, "1", 0.0, 1.0, "Strength of the daily load shapes (0 = flat)."),
    ParamSpec("load_variability", 0.03, "1", 0.0, 0.5, "Relative std of the random load variation."),
    ParamSpec("load_tau", 900.0, "s", 1.0, 86400.0, "Correlation time of the load variation."),
    ParamSpec("load_exp_p", 1.0, "1", 0.0, 2.0, "Voltage exponent of active load (0 const P, 2 const Z)."),
    ParamSpec("load_exp_q", 2.0, "1", 0.0, 2.0, "Voltage exponent of reactive load."),
    ParamSpec("cap_mvar", 1.5, "Mvar", 0.0, 100.0, "Capacitor bank rating at 1 pu (at B3)."),
    ParamSpec("avr_sp", 11.33, "kV", 9.0, 13.0, "Initial AVR.SP (B1 voltage target)."),
    ParamSpec("avr_deadband", 2.0, "%", 0.1, 10.0, "Total AVR deadband, % of AVR.SP (keep > tap step)."),
    ParamSpec("avr_delay", 30.0, "s", 0.0, 600.0, "Time outside the band before a tap change."),
    ParamSpec("cap_v_on", 10.6, "kV", 8.0, 13.0, "Switch the bank in when V_B4 is below this ..."),
    ParamSpec("cap_v_off", 11.5, "kV", 8.0, 13.0, "... and out when V_B4 is above this."),
    ParamSpec("cap_delay", 60.0, "s", 0.0, 3600.0, "Capacitor switching delay."),
    ParamSpec("oc_pickup", 600.0, "A", 10.0, 5000.0, "Initial OC.PICKUP (over-current setting)."),
    ParamSpec("oc_delay", 2.0, "s", 0.0, 60.0, "Definite-time over-current delay."),
    ParamSpec("reclose_delay", 60.0, "s", 0.0, 86400.0, "Auto-reclose after a trip (0 = only RESET)."),
    ParamSpec("reclose_shots", 3.0, "1", 0.0, 10.0,
              "Auto-reclosures before the recloser locks out on the next trip (then RESET only)."),
    ParamSpec("reclaim_time", 300.0, "s", 1.0, 86400.0,
              "Time closed without a trip after which the shot counter starts again."),
    ParamSpec("tap_delay", 10.0, "s", 0.0, 600.0, "Tap-changer mechanism time: at most one step per this."),
    ParamSpec("tap_max_ops", 20.0, "1", 1.0, 1000.0,
              "Tap operations allowed per tap_ops_window before the mechanism locks out (RESET clears)."),
    ParamSpec("tap_ops_window", 3600.0, "s", 60.0, 86400.0, "Window over which tap_max_ops is counted."),
    ParamSpec("operator_reset", 600.0, "s", 0.0, 86400.0,
              "The operator presses RESET once a lockout's cause has been clear this long (0 = nobody does)."),
    ParamSpec("oil_rise_rated", 55.0, "K", 1.0, 120.0, "Top-oil rise over ambient at rated load."),
    ParamSpec("hotspot_rise_rated", 23.0, "K", 1.0, 120.0, "Hot-spot rise over top oil at rated load."),
    ParamSpec("loss_ratio", 5.0, "1", 0.1, 50.0, "Load loss / no-load loss at rated load, R."),
    ParamSpec("oil_exponent", 0.9, "1", 0.5, 1.5, "Top-oil exponent n."),
    ParamSpec("winding_exponent", 0.8, "1", 0.5, 1.5, "Winding exponent m."),
    ParamSpec("oil_tau", 10800.0, "s", 60.0, 86400.0, "Top-oil time constant."),
    ParamSpec("ambient_mean", 15.0, "degC", -40.0, 50.0, "Mean ambient temperature."),
    ParamSpec("ambient_amplitude", 7.0, "K", 0.0, 30.0, "Daily ambient swing (peak 15:00 UTC)."),
    ParamSpec("v_high", 11.55, "kV", 8.0, 14.0, "High-voltage alarm (B1, B4)."),
    ParamSpec("v_low", 10.45, "kV", 8.0, 14.0, "Low-voltage alarm (B1, B4)."),
    ParamSpec("i_high", 480.0, "A", 10.0, 5000.0, "Feeder current high alarm."),
    ParamSpec("oil_high", 85.0, "degC", 0.0, 200.0, "Top-oil temperature alarm."),
    *MODE_PARAMS,
)

_V = dict(low=0.0, high=13.0, normal=(10.45, 11.55), noise=0.01, drift=0.01)
_I = dict(low=0.0, high=1200.0, noise=0.5, drift=0.5)
_P = dict(low=0.0, high=5.0, normal=(0.3, 3.0), noise=0.003, drift=0.002)

TAGS = (
    TagSpec("V_GRID", "kV", "sensor", "Grid voltage (33 kV side)", 0.0, 40.0, normal=(32.3, 33.7), noise=0.02,
            drift=0.02),
    TagSpec("V_B1", "kV", "sensor", "Bus B1 voltage (transformer LV)", **_V),  # type: ignore[arg-type]
    TagSpec("V_B2", "kV", "sensor", "Bus B2 voltage", **_V),  # type: ignore[arg-type]
    TagSpec("V_B3", "kV", "sensor", "Bus B3 voltage (capacitor bank)", **_V),  # type: ignore[arg-type]
    TagSpec("V_B4", "kV", "sensor", "Bus B4 voltage (feeder end)", **_V),  # type: ignore[arg-type]
    TagSpec("I_FDR", "A", "sensor", "Feeder-head current", normal=(100.0, 450.0), **_I),  # type: ignore[arg-type]
    TagSpec("I_L12", "A", "sensor", "Line B1-B2 current", normal=(60.0, 350.0), **_I),  # type: ignore[arg-type]
    TagSpec("I_L23", "A", "sensor", "Line B2-B3 current", normal=(40.0, 250.0), **_I),  # type: ignore[arg-type]
    TagSpec("I_L34", "A", "sensor", "Line B3-B4 current", normal=(10.0, 120.0), **_I),  # type: ignore[arg-type]
    TagSpec("P_SRC", "MW", "sensor", "Active power from the grid", -5.0, 20.0, normal=(2.0, 9.0), noise=0.005,
            drift=0.005),
    TagSpec("Q_SRC", "Mvar", "sensor", "Reactive power from the grid", -10.0, 10.0, normal=(-1.0, 3.5),
            noise=0.005, drift=0.005),
    TagSpec("P_LD1", "MW", "sensor", "Load 1 (B1, commercial)", **_P),  # type: ignore[arg-type]
    TagSpec("P_LD2", "MW", "sensor", "Load 2 (B2, residential)", **_P),  # type: ignore[arg-type]
    TagSpec("P_LD3", "MW", "sensor", "Load 3 (B3, industrial)", **_P),  # type: ignore[arg-type]
    TagSpec("P_LD4", "MW", "sensor", "Load 4 (B4, residential)", **_P),  # type: ignore[arg-type]
    TagSpec("Q_CAP", "Mvar", "sensor", "Reactive power of the capacitor bank", 0.0, 5.0, noise=0.002),
    TagSpec("TT_OIL", "degC", "sensor", "Transformer top-oil temperature", -40.0, 150.0, normal=(15.0, 70.0),
            noise=0.1, drift=0.1),
    TagSpec("TT_HS", "degC", "sensor", "Transformer hot-spot temperature (calculated)", -40.0, 200.0,
            normal=(15.0, 90.0), noise=0.1),
    TagSpec("TT_AMB", "degC", "sensor", "Ambient temperature", -40.0, 60.0, normal=(0.0, 30.0), noise=0.1),
    TagSpec("E_SRC", "MWh", "sensor", "Energy from the grid (meter)", 0.0, 1e8),
    TagSpec("E_LOAD", "MWh", "sensor", "Energy delivered to the loads (sum of meters)", 0.0, 1e8),
    TagSpec("E_LOSS", "MWh", "sensor", "Energy lost in transformer and lines (calculated)", 0.0, 1e8),
    TagSpec("AVR.SP", "kV", "setpoint", "B1 voltage target of the tap-changer AVR", 10.0, 12.5,
            normal=(11.0, 11.5), init_param="avr_sp"),
    TagSpec("OC.PICKUP", "A", "parameter", "Over-current pickup of CB1 protection", 10.0, 1200.0,
            normal=(500.0, 700.0), init_param="oc_pickup"),
    TagSpec("AVR.AUTO", "", "mode", "Tap changer under AVR control", kind="bool", default=1.0),
    TagSpec("CAP.AUTO", "", "mode", "Capacitor bank under automatic control", kind="bool", default=1.0),
    TagSpec("CB1.CMD", "", "command", "Breaker CB1 close command", kind="bool", default=1.0),
    TagSpec("RESET", "", "command", "Protection reset (momentary)", kind="bool", momentary=True),
    TagSpec("OLTC.TAP", "step", "actuator", "Tap position (-8..+8)", -8.0, 8.0, normal=(-4.0, 8.0),
            writable_actuator=True),
    TagSpec("CAP.SW", "", "actuator", "Capacitor bank switched in", kind="bool", writable_actuator=True),
    TagSpec("CB1", "", "actuator", "Breaker CB1 closed", kind="bool", default=1.0),
    TagSpec("V_B1.HI", "", "status", "B1 over-voltage alarm", kind="bool"),
    TagSpec("V_B1.LO", "", "status", "B1 under-voltage alarm", kind="bool"),
    TagSpec("V_B4.HI", "", "status", "B4 over-voltage alarm", kind="bool"),
    TagSpec("V_B4.LO", "", "status", "B4 under-voltage alarm", kind="bool"),
    TagSpec("I_FDR.HI", "", "status", "Feeder current high alarm", kind="bool"),
    TagSpec("TT_OIL.HI", "", "status", "Top-oil temperature alarm", kind="bool"),
    TagSpec("OC.TRIP", "", "status", "Over-current trip (CB1 opened)", kind="bool"),
    TagSpec("CB1.LOCKOUT", "", "status", "Recloser locked out after its shots (RESET to close)", kind="bool"),
    TagSpec("OLTC.LOCKOUT", "", "status", "Tap changer locked out on excess operations (RESET clears)",
            kind="bool"),
)


class PowerPlant(PlantModel):
    name = "power"
    title = "Distribution feeder with OLTC, breaker and capacitor bank"
    summary = "4-bus radial 11 kV feeder, daily load profiles, AVR tap changer, capacitor control, protection."
    dt_max = 1.0
    TAGS = TAGS
    PARAMS = PARAMS
    EXOGENOUS = (("grid_voltage", "pu"), ("ambient", "degC"), *((f"load{k}_scale", "1") for k in range(1, 5)))
    CONTROL_SENSORS = ("V_B1", "V_B4", "I_FDR")
    PROCESS_VARIABLES = ("V_B1", "V_B4", "I_FDR", "TT_OIL")
    operator: OperatorReset  # RESET once CB1.LOCKOUT's or OLTC.LOCKOUT's cause has been clear `operator_reset` s

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
        scheduled = dict(p)  # the schedule's own copy: it knows the day-time AVR.SP
        night = night_setpoint(p, start_hour)
        if night is not None:  # a run that starts at night starts at the night setpoint, in its steady state
            p["avr_sp"] = night
        s_base = p["rating_mva"]
        z_base = KV_FEEDER**2 / s_base
        self.i_base = s_base * 1e3 / (math.sqrt(3.0) * KV_FEEDER)  # A
        self.s_base = s_base
        zl = complex(p["line_r"], p["line_x"]) / z_base
        self.z = [complex(p["transformer_r"], p["transformer_x"]), zl * p["line1_km"], zl * p["line2_km"],
                  zl * p["line3_km"]]
        self.r = [z.real for z in self.z]
        self.p_nom = [p[f"load{k}_mw"] / s_base for k in range(1, 5)]
        self.q_nom = [pn * math.tan(math.acos(p[f"load{k}_pf"])) for k, pn in zip(range(1, 5), self.p_nom,
                                                                               strict=True)]
        self.b_cap = p["cap_mvar"] / s_base
        self.grid_noise = OUProcess(self.substreams(), 1, p["grid_variability"], 600.0, scan_period)
        self.load_noise = OUProcess(self.substreams(), 4, p["load_variability"], p["load_tau"], scan_period)
        self.schedule = PowerSchedule(scheduled, self.substreams(), scan_period, start_hour)
        self.v_guess: list[Any] | None = None
        self._cache: tuple[Any, list[Any], dict[str, Any]] | None = None
        dt = scan_period
        self.t_up, self.t_down = OnDelay(ops, dt, p["avr_delay"]), OnDelay(ops, dt, p["avr_delay"])
        self.t_on, self.t_off = OnDelay(ops, dt, p["cap_delay"]), OnDelay(ops, dt, p["cap_delay"])
        self.t_oc = OnDelay(ops, dt, p["oc_delay"])
        self.t_reclose = OnDelay(ops, dt, p["reclose_delay"]) if p["reclose_delay"] > 0 else None
        self.t_reclaim = OnDelay(ops, dt, p["reclaim_time"])
        self.oc_trip: Any = ops.full_bool(False)
        self.cb_lockout: Any = ops.full_bool(False)
        self.shots: Any = ops.full(0.0)
        self.tap_since: Any = ops.full(np.inf)  # PLC: seconds since its last tap command step
        self.reset_now: Any = ops.full_bool(False)
        self.operator = OperatorReset(ops, dt, p["operator_reset"], 2)
        self.alarms = [Alarm(ops, True, 0.05), Alarm(ops, False, 0.05), Alarm(ops, True, 0.05),
                       Alarm(ops, False, 0.05), Alarm(ops, True, 10.0), Alarm(ops, True, 2.0)]

    def events(self, first_scan: int, count: int) -> list[tuple[int, int, str, float]]:
        return self.schedule.events(first_scan, count)

    # -- power flow --------------------------------------------------------------------------------
    def solve(self, app: list[Any], w: Any, guess: list[Any] | None = None) -> dict[str, Any]:
        """Backward/forward sweep for the radial feeder (unrolled: the topology is fixed); per unit."""
        ops, p = self.ops, self.p
        if not ops.vector:
            return self._solve_scalar(app, w, guess)
        on = app[2] * 1.0
        vs = w[0] * (1.0 + p["tap_step"] * app[0]) * on + 0j
        if not ops.vector and not on:
            zero = 0.0 * vs
            return self._result(vs, [zero] * 4, [zero] * 4, [0.0] * 4, app)
        s0, s1, s2, s3 = (
            (pn * w[2 + k] * on, qn * w[2 + k] * on) for k, (pn, qn) in enumerate(zip(self.p_nom, self.q_nom,
                                                                                       strict=True))
        )
        jb = 1j * self.b_cap * app[1]
        ep, eq = p["load_exp_p"], p["load_exp_q"]
        z0, z1, z2, z3 = self.z
        guard = ops.vector  # de-energised instances have V = 0: divide by 1 instead
        where = ops.where
        v0, v1, v2, v3 = guess if guess is not None else (vs, vs, vs, vs)
        i0 = i1 = i2 = i3 = 0.0 * vs
        for _ in range(PF_MAX_ITER):
            a0, a1, a2, a3 = abs(v0), abs(v1), abs(v2), abs(v3)
            if guard:
                d0, d1, d2, d3 = (where(a > 1e-6, v, 1.0) for a, v in ((a0, v0), (a1, v1), (a2, v2), (a3, v3)))
            else:
                d0, d1, d2, d3 = v0, v1, v2, v3
            # Load current = conj(S / V); the capacitor draws j B V (it generates vars).
            i3 = ((s3[0] * a3**ep + 1j * s3[1] * a3**eq) / d3).conjugate()
            i2 = i3 + ((s2[0] * a2**ep + 1j * s2[1] * a2**eq) / d2).conjugate() + jb * v2
            i1 = i2 + ((s1[0] * a1**ep + 1j * s1[1] * a1**eq) / d1).conjugate()
            i0 = i1 + ((s0[0] * a0**ep + 1j * s0[1] * a0**eq) / d0).conjugate()
            n0 = vs - z0 * i0
            n1 = n0 - z1 * i1
            n2 = n1 - z2 * i2
            n3 = n2 - z3 * i3
            if guard:
                err = ops.max_abs([n0 - v0, n1 - v1, n2 - v2, n3 - v3])
            else:
                err = max(abs(n0 - v0), abs(n1 - v1), abs(n2 - v2), abs(n3 - v3))
            v0, v1, v2, v3 = n0, n1, n2, n3
            if err < PF_TOL:
                break
        mags = [abs(v0), abs(v1), abs(v2), abs(v3)]
        loads = [s[0] * m**ep for s, m in zip((s0, s1, s2, s3), mags, strict=True)]
        return self._result(vs, [v0, v1, v2, v3], [i0, i1, i2, i3], loads, app)

    def _solve_scalar(self, app: list[Any], w: Any, guess: list[Any] | None) -> dict[str, Any]:
        """`solve` for one instance on Python floats and complexes: the same operations in the same
        order (so the same bits), without the array guards, generators and tuples the shared code
        needs. One scan's power flow is a third of a single-instance scan, so this is where it pays."""
        p = self.p
        on = app[2] * 1.0
        vs = w[0] * (1.0 + p["tap_step"] * app[0]) * on + 0j
        if not on:
            zero = 0.0 * vs
            return self._result(vs, [zero] * 4, [zero] * 4, [0.0] * 4, app)
        (pn0, pn1, pn2, pn3), (qn0, qn1, qn2, qn3) = self.p_nom, self.q_nom
        w2, w3, w4, w5 = w[2], w[3], w[4], w[5]
        p0, p1, p2, p3 = pn0 * w2 * on, pn1 * w3 * on, pn2 * w4 * on, pn3 * w5 * on
        # `1j * q * a**eq` is `(1j * q) * a**eq`: the first product is the same every iteration.
        jq0, jq1, jq2, jq3 = 1j * (qn0 * w2 * on), 1j * (qn1 * w3 * on), 1j * (qn2 * w4 * on), 1j * (qn3 * w5 * on)
        jb = 1j * self.b_cap * app[1]
        ep, eq = p["load_exp_p"], p["load_exp_q"]
        z0, z1, z2, z3 = self.z
        v0, v1, v2, v3 = guess if guess is not None else (vs, vs, vs, vs)
        i0 = i1 = i2 = i3 = 0.0 * vs
        for _ in range(PF_MAX_ITER):
            a0, a1, a2, a3 = abs(v0), abs(v1), abs(v2), abs(v3)
            i3 = ((p3 * a3**ep + jq3 * a3**eq) / v3).conjugate()
            i2 = i3 + ((p2 * a2**ep + jq2 * a2**eq) / v2).conjugate() + jb * v2
            i1 = i2 + ((p1 * a1**ep + jq1 * a1**eq) / v1).conjugate()
            i0 = i1 + ((p0 * a0**ep + jq0 * a0**eq) / v0).conjugate()
            n0 = vs - z0 * i0
            n1 = n0 - z1 * i1
            n2 = n1 - z2 * i2
            n3 = n2 - z3 * i3
            err = max(abs(n0 - v0), abs(n1 - v1), abs(n2 - v2), abs(n3 - v3))
            v0, v1, v2, v3 = n0, n1, n2, n3
            if err < PF_TOL:
                break
        m0, m1, m2, m3 = abs(v0), abs(v1), abs(v2), abs(v3)
        loads = [p0 * m0**ep, p1 * m1**ep, p2 * m2**ep, p3 * m3**ep]
        s_src = vs * i0.conjugate()
        r0, r1, r2, r3 = self.r
        return {
            "volts": [v0, v1, v2, v3],
            "mags": [m0, m1, m2, m3],
            "branch": [i0, i1, i2, i3],
            "p_src": s_src.real,
            "q_src": s_src.imag,
            "s_src": abs(s_src),
            "loads": loads,
            "p_load": loads[0] + loads[1] + loads[2] + loads[3],
            "q_cap": self.b_cap * app[1] * m2 ** 2,
            # sum() from 0, left to right, as `_result` adds them
            "loss": 0 + abs(i0) ** 2 * r0 + abs(i1) ** 2 * r1 + abs(i2) ** 2 * r2 + abs(i3) ** 2 * r3,
        }

    def _result(self, vs: Any, volts: list[Any], branch: list[Any], loads: list[Any], app: list[Any]) -> dict[str, Any]:
        mags = [abs(v) for v in volts]
        s_src = vs * branch[0].conjugate()
        return {
            "volts": volts,
            "mags": mags,
            "branch": branch,
            "p_src": s_src.real,
            "q_src": s_src.imag,
            "s_src": abs(s_src),
            "loads": loads,
            "p_load": loads[0] + loads[1] + loads[2] + loads[3],
            "q_cap": self.b_cap * app[1] * mags[2] ** 2,
            "loss": sum(abs(i) ** 2 * r for i, r in zip(branch, self.r, strict=True)),
        }

    def flow(self, app: list[Any], w: Any) -> dict[str, Any]:
        """Power flow for (actuators, exogenous row), reused while neither changes within a scan."""
        cache = self._cache
        if cache is not None and cache[0] is w:
            held = cache[1]
            if self.ops.vector:
                if self._same(held, app):
                    return cache[2]
            elif held[0] == app[0] and held[1] == app[1] and held[2] == app[2]:  # `_same`, unrolled
                return cache[2]
        warm = cache is not None and self._same(cache[1][2:], app[2:3])  # breaker unchanged
        result = self.solve(app, w, self.v_guess if warm else None)
        self.v_guess = result["volts"]
        self._cache = (w, list(app[:3]), result)
        return result

    def _same(self, a: list[Any], b: list[Any]) -> bool:
        if self.ops.vector:
            return all(np.array_equal(x, y) for x, y in zip(a, b, strict=False))
        return all(x == y for x, y in zip(a, b, strict=False))

    # -- physics -------------------------------------------------------------------------------------
    def oil_rise(self, k: Any) -> Any:
        p = self.p
        ratio = (k * k * p["loss_ratio"] + 1.0) / (p["loss_ratio"] + 1.0)
        return p["oil_rise_rated"] * ratio ** p["oil_exponent"]

    def rhs(self, x: State, app: list[Any], w: Any) -> State:
        return self._derivatives(x, w, self.flow(app, w))

    def _derivatives(self, x: State, w: Any, f: dict[str, Any]) -> State:
        to_mwh = self.s_base / 3600.0
        return [
            (w[1] + self.oil_rise(f["s_src"]) - x[0]) / self.p["oil_tau"],
            f["p_src"] * to_mwh,
            f["p_load"] * to_mwh,
            f["loss"] * to_mwh,
        ]

    def integrate(self, x: State, app: list[Any], w: Any, h: float, steps: int) -> State:
        f = self.flow(app, w)  # the network is algebraic: one solution holds for the whole scan
        if self.ops.vector:
            return rk4(lambda xs, _u, ws: self._derivatives(xs, ws, f), x, app, w, h, steps)
        return self._rk4_scalar(x, w, f, h, steps)

    def _rk4_scalar(self, x: State, w: Any, f: dict[str, Any], h: float, steps: int) -> State:
        """`rk4` over `_derivatives` for one instance, written out: with the flow fixed for the scan,
        the three energy rates are the same at every stage and the oil's forcing term is too, so each
        is computed once; every sum and product `rk4` makes is still made, in its order (same bits)."""
        to_mwh = self.s_base / 3600.0
        forcing = w[1] + self.oil_rise(f["s_src"])
        tau = self.p["oil_tau"]
        rates = (f["p_src"] * to_mwh, f["p_load"] * to_mwh, f["loss"] * to_mwh)
        half = 0.5 * h
        sixth = h / 6.0
        oil, e1, e2, e3 = x
        for _ in range(steps):
            k1 = (forcing - oil) / tau
            k2 = (forcing - (oil + half * k1)) / tau
            k3 = (forcing - (oil + half * k2)) / tau
            k4 = (forcing - (oil + h * k3)) / tau
            oil = oil + sixth * (k1 + 2.0 * (k2 + k3) + k4)
            e1, e2, e3 = (e + sixth * (r + 2.0 * (r + r) + r) for e, r in zip((e1, e2, e3), rates, strict=True))
        return [oil, e1, e2, e3]

    def measure(self, x: State, app: list[Any], w: Any) -> list[Any]:
        f = self.flow(app, w)
        m, br, sb, ib = f["mags"], f["branch"], self.s_base, self.i_base
        hotspot = x[0] + self.p["hotspot_rise_rated"] * f["s_src"] ** (2.0 * self.p["winding_exponent"])
        return [
            w[0] * KV_GRID, m[0] * KV_FEEDER, m[1] * KV_FEEDER, m[2] * KV_FEEDER, m[3] * KV_FEEDER,
            abs(br[0]) * ib, abs(br[1]) * ib, abs(br[2]) * ib, abs(br[3]) * ib,
            f["p_src"] * sb, f["q_src"] * sb,
            f["loads"][0] * sb, f["loads"][1] * sb, f["loads"][2] * sb, f["loads"][3] * sb,
            f["q_cap"] * sb, x[0], hotspot, w[1], x[1], x[2], x[3],
        ]

    def exogenous(self, first_scan: int, count: int) -> np.ndarray:
        p = self.p
        hours = self.hours(first_scan, count)
        grid = sinusoid(hours, p["grid_voltage"], p["grid_voltage_amplitude"], 4.0)[:, None] + \
            self.grid_noise.block(count)[0]
        ambient = np.broadcast_to(sinusoid(hours, p["ambient_mean"], p["ambient_amplitude"], 15.0)[:, None],
                                  grid.shape)
        noise = np.maximum(1.0 + self.load_noise.block(count), 0.0)  # (4, count, n)
        scales = [daily_profile(hours, kind, p["load_amplitude"])[:, None] * noise[k]
                  for k, kind in enumerate(LOAD_KINDS)]
        return np.stack([grid, ambient, *scales], axis=1)

    def start(self, w0: Any) -> tuple[State, list[Any], list[Any]]:
        ops, p = self.ops, self.p
        closed, open_ = ops.full_bool(True), ops.full_bool(False)
        target = p["avr_sp"] / KV_FEEDER
        best_tap, best_err = ops.full(0.0), ops.full(np.inf)
        for tap in range(-TAP_MAX, TAP_MAX + 1):
            f = self.solve([ops.full(float(tap)), open_, closed], w0)
            err = abs(f["mags"][0] - target)
            better = err < best_err
            best_tap = ops.where(better, float(tap), best_tap)
            best_err = ops.where(better, err, best_err)
        f = self.solve([best_tap, open_, closed], w0)
        cap = f["mags"][3] * KV_FEEDER < p["cap_v_on"]
        app = [best_tap, cap, closed]
        f = self.solve(app, w0)
        self.tap, self.cap = best_tap, cap
        self.man_target = best_tap
        self.man_tap = best_tap  # last operator tap value seen: only a new write moves the tap in manual
        # The mechanism itself (device stage): position, time since its last step, operation bucket.
        self.mech_tap, self.mech_since = best_tap, ops.full(np.inf)
        self.mech_ops, self.tap_lockout = ops.full(0.0), ops.full_bool(False)
        oil = w0[1] + self.oil_rise(f["s_src"])
        zero = ops.full(0.0)
        return [oil, zero, zero, zero], list(app), app

    # -- PLC -------------------------------------------------------------------------------------------
    def control(self, rd: list[Any], inp: list[Any], man: list[Any], w: Any) -> tuple[list[Any], list[Any]]:
        ops, p = self.ops, self.p
        v1, v4, current = rd[1], rd[4], rd[5]
        sp, pickup, avr_auto, cap_auto, cb_cmd, reset = inp
        band = sp * (p["avr_deadband"] * 0.005)
        live = v1 > 0.5 * sp
        up = self.t_up.update(avr_auto & live & (v1 < sp - band))
        down = self.t_down.update(avr_auto & live & (v1 > sp + band))
        self.t_up.restart(up)
        self.t_down.restart(down)
        stepped = ops.clip(self.tap + up * 1.0 - down * 1.0, -TAP_MAX, TAP_MAX)
        # Manual: the tap holds where it is until the operator writes a new position (so switching
        # the AVR to manual moves nothing), then moves towards it one step per mechanism delay.
        written = man[0] != self.man_tap
        self.man_tap = man[0]
        self.man_target = ops.where(avr_auto, self.tap,
                                    ops.where(written, ops.clip(ops.round(man[0]), -TAP_MAX, TAP_MAX),
                                              self.man_target))
        target = ops.where(avr_auto, stepped, self.man_target)
        tap, self.tap_since = self._one_step(self.tap, target, self.tap_since, ops.full_bool(False))
        self.tap = tap
        on = self.t_on.update(cap_auto & live & (v4 < p["cap_v_on"]))
        off = self.t_off.update(cap_auto & live & (v4 > p["cap_v_off"]))
        self.t_on.restart(on)
        self.t_off.restart(off)
        cap = ops.where(cap_auto, (self.cap | on) & ops.not_(off), man[1])
        self.cap = cap
        trip, lockout = self._recloser(self.t_oc.update(current > pickup), current < pickup, reset)
        self.operator.watch(0, lockout & (current < pickup))  # the operator's eye on a cleared lockout
        self.reset_now = reset
        cb = cb_cmd & ops.not_(trip)
        a = self.alarms
        statuses = [
            a[0].update(v1, p["v_high"]),
            a[1].update(v1, p["v_low"]) & live,
            a[2].update(v4, p["v_high"]),
            a[3].update(v4, p["v_low"]) & live,
            a[4].update(current, p["i_high"]),
            a[5].update(rd[16], p["oil_high"]),
            trip,
            lockout,
            self.tap_lockout,
        ]
        return [tap, cap, cb], statuses

    def _one_step(self, tap: Any, target: Any, since: Any, blocked: Any) -> tuple[Any, Any]:
        """Move `tap` at most one step towards `target` once `tap_delay` s have passed since the last step."""
        ops, dt = self.ops, self.scan
        if not ops.vector:  # twice a scan: the branch `ops.where` takes for one instance
            if (target != tap) & (since >= self.p["tap_delay"] - 1e-9) & (not blocked):
                return tap + ScalarOps.clip(target - tap, -1.0, 1.0), dt
            return tap, since + dt
        move = (target != tap) & (since >= self.p["tap_delay"] - 1e-9) & ops.not_(blocked)
        new = ops.where(move, tap + ops.clip(target - tap, -1.0, 1.0), tap)
        return new, ops.where(move, dt, since + dt)

    def _recloser(self, over: Any, clear: Any, reset: Any) -> tuple[Any, Any]:
        """Definite-time trip with auto-reclose and lockout: after `reclose_shots` reclosures a further
        trip locks the breaker open until RESET (with the over-current gone); `reclaim_time` s closed
        without a trip forgives the shots."""
        ops, p = self.ops, self.p
        tripped = self.oc_trip | over
        lockout = self.cb_lockout | (over & ops.not_(self.oc_trip) & (self.shots >= p["reclose_shots"]))
        waiting = tripped & clear & ops.not_(lockout)
        reclose = self.t_reclose.update(waiting) if self.t_reclose is not None else ops.full_bool(False)
        if self.t_reclose is not None:
            self.t_reclose.restart(reclose)
        manual = reset & clear
        self.shots = ops.where(manual, 0.0, self.shots + reclose * 1.0)
        forgive = self.t_reclaim.update(ops.not_(tripped))
        self.shots = ops.where(forgive, 0.0, self.shots)
        self.oc_trip = tripped & ops.not_(reclose | manual)
        self.cb_lockout = lockout & ops.not_(manual)
        return self.oc_trip, self.cb_lockout

    def devices(self, commands: list[Any]) -> list[Any]:
        """The tap-changer mechanism: one step per `tap_delay` s whatever it is told (a forced -8 walks
        there step by step), and a lockout once it has made more than `tap_max_ops` operations in
        `tap_ops_window` s (a leaky bucket), held until RESET."""
        ops, p = self.ops, self.p
        target = ops.clip(ops.round(commands[0]), -TAP_MAX, TAP_MAX)
        self.tap_lockout = self.tap_lockout & ops.not_(self.reset_now)
        if ops.vector:
            self.mech_ops = ops.where(self.reset_now, 0.0, self.mech_ops)  # the reset empties the counter too
        elif self.reset_now:
            self.mech_ops = 0.0
        old = self.mech_tap
        self.mech_tap, self.mech_since = self._one_step(old, target, self.mech_since, self.tap_lockout)
        leak = self.scan * p["tap_max_ops"] / p["tap_ops_window"]
        self.mech_ops = ops.maximum(self.mech_ops + (self.mech_tap != old) * 1.0 - leak, 0.0)
        self.tap_lockout = self.tap_lockout | (self.mech_ops > p["tap_max_ops"])
        # The tap lockout's cause is the excess of operations: clear once the count is back at half its limit.
        self.operator.watch(1, self.tap_lockout & (self.mech_ops <= 0.5 * p["tap_max_ops"]))
        if not ops.vector and self.mech_tap == commands[0]:
            return commands
        return [self.mech_tap, *commands[1:]]
