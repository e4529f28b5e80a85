"""Jacketed continuous stirred-tank reactor (CSTR) with an exothermic first-order reaction A -> B.

The classic runaway-capable model (constant volume, perfectly mixed, Arrhenius kinetics):

    k(T)    = k_ref * exp(-(E/R) * (1/T - 1/T_ref))
    dCA/dt  = F/V (CAf - CA) - k(T) CA
    dT/dt   = F/V (Tf - T) + (-dH)/(rho cp) k(T) CA - UA/(rho cp V) (T - Tj)
    dTj/dt  = Fc/Vj (Tc - Tj) + UA/(rho_j cp_j Vj) (T - Tj)

F = feed valve FV101 x F_max; Fc = coolant valve TCV102 x Fc_max (+ the emergency cooling valve
XV103 when open). The headspace pressure is a nitrogen blanket plus the vapour pressure of the
(water-like) contents, Clausius-Clapeyron through 1.01325 bar at 373.15 K.

At the default point (T = 350 K, half conversion, 10 min residence) the reactor is barely stable
open-loop: losing the coolant lets the heat of reaction raise T, which raises k(T), which
releases heat faster: a thermal runaway towards the adiabatic temperature (~120 K above the feed).
TIC101 holds T with the coolant valve; the safety interlock, on its own transmitters TT111 and
PT111, trips on high-high and latches until RESET:
it shuts the feed (starving the reaction) and opens the emergency cooling valve.

The coolant comes from duty/standby pumps P102/P103; a normal day has a production plan, pump
changeovers, a daily AT101 calibration and operator setpoint changes (`chemical_modes`).
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
from simulators.core.profiles import OUProcess, sinusoid
from simulators.core.tags import TagSpec
from simulators.plants.base import PlantModel
from simulators.plants.chemical_modes import CAL_NONE, CAL_ZERO, ChemicalSchedule, calibration
from simulators.plants.chemical_modes import PARAMS as MODE_PARAMS

VAPOUR_B = 4890.0  # K, latent heat / R of the solvent (water-like)

PARAMS = (
    ParamSpec("volume", 1.0, "m3", 0.001, 100.0, "Reactor liquid volume V."),
    ParamSpec("feed_flow_max", 3.3333e-3, "m3/s", 0.0, 10.0, "Feed flow F at FV101 = 100 %."),
    ParamSpec("feed_conc", 2000.0, "mol/m3", 0.0, 1e5, "Feed concentration CAf (mean)."),
    ParamSpec("feed_temp", 350.0, "K", 250.0, 500.0, "Feed temperature Tf (mean)."),
    ParamSpec("rate_ref", 1.0 / 600.0, "1/s", 0.0, 100.0, "Rate constant k at T_ref = 350 K."),
    ParamSpec("activation_temp", 6000.0, "K", 0.0, 50000.0, "Activation energy over R, E/R."),
    ParamSpec("heat_of_reaction", -2.4e5, "J/mol", -1e7, 0.0, "Reaction enthalpy dH (negative: exothermic)."),
    ParamSpec("rho_cp", 4.0e6, "J/(m3 K)", 1e3, 1e8, "Volumetric heat capacity of the contents."),
    ParamSpec("ua", 13333.0, "W/K", 0.0, 1e8, "Jacket heat-transfer coefficient x area, UA."),
    ParamSpec("jacket_volume", 0.02, "m3", 1e-4, 100.0, "Jacket volume Vj."),
    ParamSpec("coolant_rho_cp", 4.18e6, "J/(m3 K)", 1e3, 1e8, "Volumetric heat capacity of the coolant."),
    ParamSpec("coolant_flow_max", 9e-3, "m3/s", 0.0, 10.0, "Coolant flow Fc at TCV102 = 100 %."),
    ParamSpec("emergency_flow", 6e-3, "m3/s", 0.0, 10.0, "Extra coolant flow through XV103 when open."),
    ParamSpec("coolant_temp", 295.0, "K", 250.0, 400.0, "Coolant supply temperature Tc (daily mean)."),
    ParamSpec("coolant_temp_amplitude", 2.0, "K", 0.0, 30.0, "Daily swing of Tc (peak 15:00 UTC)."),
    ParamSpec("feed_variability", 0.01, "1", 0.0, 0.5, "Relative std of the random CAf variation."),
    ParamSpec("feed_temp_variability", 0.5, "K", 0.0, 20.0, "Std of the random Tf variation."),
    ParamSpec("disturbance_tau", 600.0, "s", 1.0, 86400.0, "Correlation time of the feed variations."),
    ParamSpec("blanket_pressure", 1.0, "bar", 0.0, 50.0, "Nitrogen blanket pressure."),
    ParamSpec("feed_valve_init", 50.0, "%", 0.0, 100.0, "FV101 opening (operator setting)."),
    ParamSpec("temp_init", 350.0, "K", 250.0, 600.0, "Initial reactor temperature."),
    ParamSpec("conc_init", 1000.0, "mol/m3", 0.0, 1e5, "Initial reactor concentration."),
    ParamSpec("temp_sp", 350.0, "K", 250.0, 600.0, "Initial TIC101 setpoint."),
    ParamSpec("tic101_kp", 12.0, "%/K", 0.0, 1e4, "TIC101 proportional gain."),
    ParamSpec("tic101_ti", 400.0, "s", 20.0, 1e5, "TIC101 integral time."),
    ParamSpec("tic101_filter", 10.0, "s", 0.0, 3600.0, "TIC101 PV filter time constant (0 = unfiltered)."),
    ParamSpec("tcv102_stroke", 30.0, "s", 0.0, 3600.0, "TCV102 full-stroke time in automatic (0 = instantaneous)."),
    ParamSpec("output_deadband", 0.2, "%", 0.0, 5.0, "Smallest TIC101 output change the positioner passes on."),
    ParamSpec("temp_high", 358.0, "K", 250.0, 600.0, "TT101 high alarm."),
    ParamSpec("temp_low", 342.0, "K", 250.0, 600.0, "TT101 low alarm."),
    ParamSpec("temp_trip", 380.0, "K", 250.0, 700.0, "Initial TT101.HH (interlock trip)."),
    ParamSpec("pressure_high", 2.0, "bar", 0.0, 100.0, "PT101 high alarm."),
    ParamSpec("pressure_trip", 3.0, "bar", 0.0, 100.0, "Initial PT101.HH (interlock trip)."),
    ParamSpec("coolant_low_flow", 5.0, "m3/h", 0.0, 100.0, "FT102 low-flow alarm."),
    ParamSpec("interlock_enabled", 1.0, "", 0.0, 1.0, "Whether the safety interlock acts.", "bool"),
    ParamSpec("interlock_reset_margin", 15.0, "K", 0.0, 200.0, "TT101 must fall this far below TT101.HH "
              "(and PT101 below PT101.HH) before the trip can be released."),
    ParamSpec("interlock_auto_reset", 0.0, "s", 0.0, 86400.0,
              "Release the trip once clear this long (0 = only RESET, as a safety trip should)."),
    ParamSpec("operator_reset", 600.0, "s", 0.0, 86400.0,
              "The operator presses RESET once the trip's cause has been clear this long (0 = nobody does)."),
    ParamSpec("at101_interval", 120.0, "s", 0.0, 3600.0,
              "AT101 analyser sample interval (an on-line analyser's cycle; 0 = continuous)."),
    ParamSpec("at101_dead_time", 180.0, "s", 0.0, 3600.0,
              "AT101 dead time: sample line transport and analysis before a result shows."),
    ParamSpec("vessel_rating", 10.0, "bar", 1.0, 200.0, "Reactor design pressure (absolute), for reference."),
    ParamSpec("relief_set", 8.0, "bar", 1.0, 200.0, "PSV101 set pressure (absolute); full lift 10 % above."),
    ParamSpec("relief_capacity", 1.0e7, "W", 0.0, 1e9,
              "Heat PSV101 carries away as vented vapour at full lift (0 = no relief valve)."),
    *MODE_PARAMS,
)

TAGS = (
    TagSpec("TT101", "K", "sensor", "Reactor temperature", 250.0, 600.0, normal=(345.0, 355.0), noise=0.1,
            drift=0.2, init_param="temp_init"),
    TagSpec("TT102", "K", "sensor", "Jacket temperature", 250.0, 600.0, normal=(305.0, 335.0), noise=0.1,
            drift=0.2),
    TagSpec("TT103", "K", "sensor", "Coolant supply temperature", 250.0, 400.0, normal=(290.0, 300.0),
            noise=0.1, drift=0.1),
    TagSpec("TT100", "K", "sensor", "Feed temperature", 250.0, 500.0, normal=(347.0, 353.0), noise=0.1,
            drift=0.1),
    TagSpec("AT101", "mol/m3", "sensor", "Reactor concentration of A (analyser)", 0.0, 3000.0,
            normal=(800.0, 1200.0), noise=5.0, drift=5.0, init_param="conc_init"),
    TagSpec("FT101", "m3/h", "sensor", "Feed flow", 0.0, 15.0, normal=(5.0, 7.0), noise=0.03, drift=0.02),
    TagSpec("FT102", "m3/h", "sensor", "Coolant flow to the jacket", 0.0, 60.0, normal=(8.0, 25.0), noise=0.1,
            drift=0.05),
    TagSpec("PT101", "bar", "sensor", "Reactor pressure (absolute)", 0.0, 20.0, normal=(1.35, 1.55),
            noise=0.003, drift=0.005),
    TagSpec("TT111", "K", "sensor", "Reactor temperature, safety transmitter (SIS only)", 250.0, 600.0,
            normal=(345.0, 355.0), noise=0.1, drift=0.2),
    TagSpec("PT111", "bar", "sensor", "Reactor pressure, safety transmitter (SIS only)", 0.0, 20.0,
            normal=(1.35, 1.55), noise=0.003, drift=0.005),
    TagSpec("PSV101", "%", "sensor", "Relief valve PSV101 lift (position transmitter)", 0.0, 100.0,
            normal=(0.0, 1.0)),
    TagSpec("TIC101.SP", "K", "setpoint", "Reactor temperature setpoint", 300.0, 420.0, normal=(345.0, 355.0),
            init_param="temp_sp"),
    TagSpec("TT101.HH", "K", "parameter", "High-high temperature trip limit", 300.0, 700.0,
            normal=(370.0, 390.0), init_param="temp_trip"),
    TagSpec("PT101.HH", "bar", "parameter", "High-high pressure trip limit", 0.0, 20.0, normal=(2.5, 3.5),
            init_param="pressure_trip"),
    TagSpec("TIC101.AUTO", "", "mode", "TIC101 in automatic", kind="bool", default=1.0),
    TagSpec("XV103.CMD", "", "command", "Open the emergency cooling valve manually", kind="bool"),
    TagSpec("RESET", "", "command", "Interlock reset (momentary)", kind="bool", momentary=True),
    TagSpec("P102.DUTY", "", "mode", "P102 is the duty coolant pump (else P103)", kind="bool", default=1.0),
    TagSpec("FV101.POS", "%", "actuator", "Feed valve opening (operator set; closed on trip)", 0.0, 100.0,
            normal=(40.0, 60.0), writable_actuator=True, init_param="feed_valve_init"),
    TagSpec("TCV102.POS", "%", "actuator", "Coolant valve opening (TIC101 output)", 0.0, 100.0,
            normal=(25.0, 70.0), writable_actuator=True),
    TagSpec("XV103", "", "actuator", "Emergency cooling valve open (command or trip)", kind="bool"),
    TagSpec("P102", "", "actuator", "Coolant pump P102 running (duty pump, by P102.DUTY)", kind="bool", default=1.0),
    TagSpec("P103", "", "actuator", "Coolant pump P103 running (standby pump)", kind="bool"),
    TagSpec("TT101.HI", "", "status", "Reactor temperature high alarm", kind="bool"),
    TagSpec("TT101.LO", "", "status", "Reactor temperature low alarm", kind="bool"),
    TagSpec("PT101.HI", "", "status", "Reactor pressure high alarm", kind="bool"),
    TagSpec("FT102.LO", "", "status", "Coolant low-flow alarm", kind="bool"),
    TagSpec("SIS.TRIP", "", "status", "Safety interlock tripped (feed shut, emergency cooling)", kind="bool"),
    TagSpec("AT101.CAL", "", "status", "AT101 analyser in calibration (its readings are the standards)",
            kind="bool"),
)

T_REF = 350.0


class ChemicalPlant(PlantModel):
    name = "chemical"
    title = "Exothermic CSTR with jacket cooling"
    summary = "First-order exothermic reaction, Arrhenius kinetics, coolant jacket, runaway and trip."
    dt_max = 1.0
    TAGS = TAGS
    PARAMS = PARAMS
    EXOGENOUS = (("feed_temp", "K"), ("feed_conc", "mol/m3"), ("coolant_temp", "K"), ("at101_cal", "code"),
                 ("at101_cal_flag", "1"))
    INSTRUMENTS = True  # AT101 analyses its calibration standards once a day
    ANALYSERS = (("AT101", "at101_interval", "at101_dead_time"),)
    CONTROL_SENSORS = ("TT101", "TT111", "PT111")
    PROCESS_VARIABLES = ("TT101", "AT101", "PT101", "TT102")
    operator: OperatorReset  # RESET once the SIS trip's cause has been clear `operator_reset` s

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
        self.feed_noise = OUProcess(self.substreams(), 2, 1.0, p["disturbance_tau"], scan_period)
        self.c_feed = p["feed_flow_max"] * 0.01 / p["volume"]  # F/V per % of FV101
        self.c_cool = p["coolant_flow_max"] * 0.01  # Fc per % of TCV102
        self.c_rx = -p["heat_of_reaction"] / p["rho_cp"]
        self.c_ua = p["ua"] / (p["rho_cp"] * p["volume"])
        self.c_uaj = p["ua"] / (p["coolant_rho_cp"] * p["jacket_volume"])
        self.inv_vj = 1.0 / p["jacket_volume"]
        self.c_relief = p["relief_capacity"] / (p["rho_cp"] * p["volume"])  # K/s at full lift
        self.sis = Interlock(ops, scan_period, p["interlock_auto_reset"], p["interlock_enabled"] > 0.5)
        self.operator = OperatorReset(ops, scan_period, p["operator_reset"], 1)
        self.alarms = [Alarm(ops, True, 1.0), Alarm(ops, False, 1.0), Alarm(ops, True, 0.05),
                       Alarm(ops, False, 0.5)]
        self.schedule = ChemicalSchedule(p, self.substreams(), scan_period, start_hour)
        self.duty_prev: Any = ops.full_bool(True)
        self.overlap_left: Any = ops.full(0.0)  # s both coolant pumps still run at a changeover
        self.at101 = self.tags.sensor("AT101")

    def rate(self, temp: Any) -> Any:
        p = self.p
        return p["rate_ref"] * self.ops.exp(-p["activation_temp"] * (1.0 / temp - 1.0 / T_REF))

    def coolant_flow(self, app: list[Any]) -> Any:
        """Jacket coolant flow, m3/s: TCV102's share of what the running pump delivers (P102 full,
        P103 `standby_capacity`, none with both stopped), plus the emergency valve's own supply."""
        pumps = self.ops.where(app[3], 1.0, self.ops.where(app[4], self.p["standby_capacity"], 0.0))
        return self.c_cool * app[1] * pumps + self.p["emergency_flow"] * app[2]

    def relief_lift(self, pressure: Any) -> Any:
        """PSV101 lift, 0..1: closed below the set pressure, full lift at 10 % overpressure
        (a spring-loaded relief valve's accumulation), proportional between."""
        p_set = self.p["relief_set"]
        return self.ops.clip((pressure - p_set) / (0.1 * p_set), 0.0, 1.0)

    def rhs(self, x: State, app: list[Any], w: Any) -> State:
        ca, temp, tj = x[0], x[1], x[2]
        dilution = self.c_feed * app[0]
        r = self.rate(temp) * ca
        exchange = temp - tj
        # Vapour vented through PSV101 carries its latent heat away, which is what caps the pressure.
        relief = self.c_relief * self.relief_lift(self.pressure(temp)) if self.c_relief else 0.0
        return [
            dilution * (w[1] - ca) - r,
            dilution * (w[0] - temp) + self.c_rx * r - self.c_ua * exchange - relief,
            self.coolant_flow(app) * self.inv_vj * (w[2] - tj) + self.c_uaj * exchange,
        ]

    def pressure(self, temp: Any) -> Any:
        return self.p["blanket_pressure"] + 1.01325 * self.ops.exp(VAPOUR_B * (1.0 / 373.15 - 1.0 / temp))

    def measure(self, x: State, app: list[Any], w: Any) -> list[Any]:
        p = self.p
        feed = p["feed_flow_max"] * 0.01 * app[0] * 3600.0
        pressure = self.pressure(x[1])
        lift = 100.0 * self.relief_lift(pressure) if self.c_relief else 0.0
        return [x[1], x[2], w[2], w[0], x[0], feed, self.coolant_flow(app) * 3600.0, pressure, x[1], pressure,
                lift]

    def exogenous(self, first_scan: int, count: int) -> np.ndarray:
        p = self.p
        noise = self.feed_noise.block(count)  # (2, count, n), unit std
        tf = p["feed_temp"] + p["feed_temp_variability"] * noise[0]
        caf = p["feed_conc"] * np.maximum(1.0 + p["feed_variability"] * noise[1], 0.0)
        tc = sinusoid(self.hours(first_scan, count), p["coolant_temp"], p["coolant_temp_amplitude"], 15.0)
        tc = np.broadcast_to(tc[:, None], tf.shape)
        code, flag = calibration(p, np.asarray(self.hours(first_scan, count)))
        code, flag = np.broadcast_to(code[:, None], tf.shape), np.broadcast_to(flag[:, None], tf.shape)
        return np.stack([tf, caf, tc, code, flag], axis=1)

    def instrument(self, readings: list[Any], true: Sequence[Any], w: Any) -> list[Any]:
        """AT101 analyses the zero, then the span standard while it is calibrated (with its own
        noise and drift on them); its sample/hold delays those results like any sample."""
        j, code, ops = self.at101, w[3], self.ops
        if not ops.vector and code == CAL_NONE:
            return readings
        error = readings[j] - true[j]
        standard = ops.where(code == CAL_ZERO, 0.0, self.p["at101_span"])
        readings[j] = ops.where(code == CAL_NONE, readings[j], standard + error)
        return readings

    def events(self, first_scan: int, count: int) -> list[tuple[int, int, str, float]]:
        return self.schedule.events(first_scan, count)

    def start(self, w0: Any) -> tuple[State, list[Any], list[Any]]:
        ops, p = self.ops, self.p
        temp = ops.full(p["temp_init"])
        ca = ops.full(p["conc_init"])
        fv = ops.full(p["feed_valve_init"])
        # Coolant that removes the heat released at t = 0 (jacket in quasi-steady state).
        heat = (self.c_rx * self.rate(temp) * ca + self.c_feed * fv * (w0[0] - temp)) / self.c_ua
        tj = temp - heat
        denom = ops.maximum(tj - w0[2], 1.0)
        fc = self.c_uaj * (temp - tj) / (self.inv_vj * denom)
        tcv = ops.clip(fc / self.c_cool, 0.0, 100.0)
        stroke = 100.0 / p["tcv102_stroke"] if p["tcv102_stroke"] > 0 else 0.0
        tuning = PIDTuning(p["tic101_kp"], p["tic101_ti"], direct=True, pv_filter=p["tic101_filter"], rate=stroke,
                           deadband=p["output_deadband"])
        self.tic = PID(tuning, self.scan, ops, tcv)
        closed = ops.full_bool(False)
        app = [fv, tcv, closed, ops.full_bool(True), ops.full_bool(False)]
        return [ca, temp, tj], list(app), app

    def control(self, rd: list[Any], inp: list[Any], man: list[Any], w: Any) -> tuple[list[Any], list[Any]]:
        ops, p = self.ops, self.p
        temp, pressure, coolant = rd[0], rd[7], rd[6]
        # The SIS has its own transmitters (TT111, PT111): spoofing the control loop's TT101 does
        # not blind it. The HH limits are shared settings.
        t_safe, p_safe = rd[8], rd[9]
        t_hh, p_hh = inp[1], inp[2]
        margin = p["interlock_reset_margin"]
        clear = (t_safe < t_hh - margin) & (p_safe < p_hh - 0.3)
        trip = self.sis.update((t_safe >= t_hh) | (p_safe >= p_hh), clear, inp[5])
        self.operator.watch(0, trip & clear)  # the operator's eye on a trip whose cause has cleared
        feed = ops.where(trip, 0.0, man[0])
        tcv = self.tic.update(inp[0], temp, inp[3], man[1])
        tcv = ops.where(trip, 100.0, tcv)
        xv = inp[4] | trip
        # Duty/standby coolant pumps: at a changeover the incoming pump starts and the outgoing one
        # stops `pump_overlap` s later, so the jacket never goes without coolant.
        duty = inp[6]
        self.overlap_left = ops.where(duty != self.duty_prev, p["pump_overlap"],
                                      ops.maximum(self.overlap_left - self.scan, 0.0))
        self.duty_prev = duty
        both = self.overlap_left > 0.0
        a = self.alarms
        statuses = [
            a[0].update(temp, p["temp_high"]),
            a[1].update(temp, p["temp_low"]),
            a[2].update(pressure, p["pressure_high"]),
            a[3].update(coolant, p["coolant_low_flow"]),
            trip,
            w[4] > 0.5,
        ]
        return [feed, tcv, xv, duty | both, ops.not_(duty) | both], statuses
