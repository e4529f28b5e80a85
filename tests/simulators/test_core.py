"""Integrator order, PID, PLC blocks, sensor options, profiles and the two math back-ends."""

from __future__ import annotations

import math

import numpy as np
import pytest

from simulators.core.integrator import rk4
from simulators.core.ops import ArrayOps, ScalarOps, make_ops
from simulators.core.pid import PID, PIDTuning
from simulators.core.plc import Alarm, Interlock, OnDelay
from simulators.core.profiles import SMALL_CHANNELS, OUProcess, daily_profile, first_order
from simulators.core.sensors import SensorOptions
from simulators.errors import SimulationParamError

from .helpers import make


def decay(x, u, w):
    return [-x[0] + u, x[0]]


@pytest.mark.parametrize("ops", [ScalarOps(), ArrayOps(3)])
def test_rk4_is_fourth_order(ops) -> None:
    errors = []
    for steps in (10, 20, 40):
        h = 2.0 / steps
        x = rk4(decay, [ops.full(1.0), ops.full(0.0)], 0.0, None, h, steps)
        errors.append(float(np.max(np.abs(x[0] - math.exp(-2.0)))))
    assert errors[0] / errors[1] == pytest.approx(16, rel=0.1)
    assert errors[1] / errors[2] == pytest.approx(16, rel=0.1)
    assert errors[2] < 1e-7


def test_rk4_vectorised_matches_scalar() -> None:
    a = rk4(decay, [1.0, 0.0], 0.5, None, 0.1, 30)
    b = rk4(decay, [np.full(4, 1.0), np.zeros(4)], 0.5, None, 0.1, 30)
    assert np.allclose(b[0], a[0], rtol=0, atol=1e-15) and np.allclose(b[1], a[1], rtol=0, atol=1e-15)


def test_make_ops_picks_backend() -> None:
    assert not make_ops(1).vector
    assert make_ops(5).vector
    assert make_ops(1, vectorised=True).vector
    with pytest.raises(ValueError):
        make_ops(2, vectorised=False)


def first_order_loop(tuning: PIDTuning, seconds: int, sp: float, ops=None, limit_sp_at: int | None = None):
    """PI on dy/dt = (u/100 - y)/60 with Euler; returns y, u and the integral trace."""
    ops = ops or ScalarOps()
    pid = PID(tuning, 1.0, ops, 0.0)
    y, ys, us, integ = 0.0, [], [], []
    for t in range(seconds):
        target = sp if limit_sp_at is None or t < limit_sp_at else 0.5
        u = pid.update(target, y, True, 0.0)
        y += ((u / 100.0) - y) / 60.0
        ys.append(y)
        us.append(u)
        integ.append(pid.integral)
    return np.array(ys), np.array(us), np.array(integ)


def test_pid_reaches_setpoint() -> None:
    y, _, _ = first_order_loop(PIDTuning(kp=200.0, ti=60.0), 900, sp=0.5)
    settle = np.nonzero(np.abs(y - 0.5) > 0.01)[0].max()
    assert settle < 300
    assert y[-1] == pytest.approx(0.5, abs=1e-4)


def test_pid_anti_windup_bounds_integral() -> None:
    # SP 2.0 is unreachable (max y = 1): the output saturates for 20 min.
    _, u, integ = first_order_loop(PIDTuning(kp=200.0, ti=60.0), 2400, sp=2.0, limit_sp_at=1200)
    assert u[:1200].max() == 100.0
    assert integ[:1200].max() < 200.0  # stays near the limit instead of growing for 20 min
    # No windup: after the SP becomes reachable the output leaves saturation within a minute.
    assert np.nonzero(u[1200:] < 100.0)[0][0] < 60
    windup = PIDTuning(kp=200.0, ti=60.0, tt=1e9)
    _, _, integ2 = first_order_loop(windup, 1200, sp=2.0)
    assert integ2.max() > 10 * integ[:1200].max()


def test_pid_manual_is_bumpless() -> None:
    pid = PID(PIDTuning(kp=2.0, ti=30.0), 1.0, ScalarOps(), 40.0)
    for _ in range(50):
        assert pid.update(10.0, 8.0, False, 40.0) == 40.0
    assert pid.update(10.0, 8.0, True, 40.0) == pytest.approx(40.0, abs=1e-12)  # no jump on the switch
    assert pid.update(10.0, 8.0, True, 40.0) == pytest.approx(40.0 + 2.0 * 2.0 / 30.0, abs=1e-9)


def test_pid_vectorised_matches_scalar() -> None:
    tuning = PIDTuning(kp=3.0, ti=50.0, td=5.0, direct=True)
    a = PID(tuning, 0.5, ScalarOps(), 20.0)
    b = PID(tuning, 0.5, ArrayOps(2), np.full(2, 20.0))
    for k in range(100):
        pv = 50.0 + math.sin(k / 10.0)
        ua = a.update(50.0, pv, True, 0.0)
        ub = b.update(50.0, np.full(2, pv), np.array([True, True]), np.zeros(2))
        assert np.allclose(ub, ua, atol=1e-12)


def test_alarm_hysteresis() -> None:
    alarm = Alarm(ScalarOps(), high=True, deadband=0.5)
    seq = [alarm.update(x, 10.0) for x in (9.0, 10.0, 9.8, 9.5, 9.4, 10.1)]
    assert seq == [False, True, True, False, False, True]
    low = Alarm(ScalarOps(), high=False, deadband=1.0)
    assert [low.update(x, 2.0) for x in (3.0, 2.0, 2.9, 3.0)] == [False, True, True, False]


def test_on_delay_and_interlock() -> None:
    ops = ScalarOps()
    timer = OnDelay(ops, 1.0, 3.0)
    seq = (True, True, True, True, False, True)
    assert [timer.update(c) for c in seq] == [False, False, False, True, False, False]
    il = Interlock(ops, 1.0, auto_reset=0.0)
    assert il.update(True, False, False)
    assert il.update(False, True, False)  # latched until reset
    assert not il.update(False, True, True)
    auto = Interlock(ops, 1.0, auto_reset=2.0)
    seq2 = ((True, False), (False, False), (False, True), (False, True), (False, True))
    assert [auto.update(t, c, False) for t, c in seq2] == [True, True, True, True, False]
    off = Interlock(ops, 1.0, auto_reset=0.0, enabled=False)
    assert not off.update(True, False, False)


def test_sensor_options_parse() -> None:
    assert SensorOptions.parse(None) == SensorOptions()
    assert SensorOptions.parse({"noise": False, "drift": 2, "quantization_bits": 12}) == SensorOptions(0.0, 2.0, 12)
    for bad, field in (({"noise": "x"}, "sensors.noise"), ({"bits": 1}, "sensors.bits"),
                       ({"quantization_bits": 2}, "sensors.quantization_bits"), ([], "sensors")):
        with pytest.raises(SimulationParamError) as err:
            SensorOptions.parse(bad)
        assert err.value.field == field


def test_quantisation_and_noise() -> None:
    sim = make("water", sensors=SensorOptions(noise=1.0, quantization_bits=10))
    rows = np.array([sim.scan() for _ in range(50)])
    j = sim.columns.index("LIT101")
    step = 5.5 / 2**10
    assert np.allclose(rows[:, j] / step, np.round(rows[:, j] / step), atol=1e-6)
    truth = rows[:, sim.columns.index("truth:LIT101")]
    assert 0 < np.std(rows[:, j] - truth) < 0.02


def test_drift_grows_linearly() -> None:
    # A continuous analyser: sampling would hold the reading while the truth moves on.
    sim = make("water", {"ait201_interval": 0, "ait201_dead_time": 0}, sensors=SensorOptions(noise=0.0, drift=50.0))
    rows = np.array([sim.scan() for _ in range(600)])
    j, k = sim.columns.index("AIT201"), sim.columns.index("truth:AIT201")
    err = rows[:, j] - rows[:, k]
    assert err[0] == 0.0
    assert np.allclose(np.diff(err), err[1] - err[0], atol=1e-9) and abs(err[-1]) > 0


def test_daily_profile_and_ou_process() -> None:
    hours = np.arange(0, 24, 0.01)
    for kind in ("residential", "commercial", "industrial"):
        assert daily_profile(hours, kind).mean() == pytest.approx(1.0, abs=0.01)
        assert np.all(daily_profile(hours, kind, 0.0) == 1.0)
    rngs = [np.random.default_rng(1)]
    a = OUProcess(rngs, 1, 0.5, 20.0, 1.0)
    one = a.block(40000)
    assert np.std(one) == pytest.approx(0.5, rel=0.1)
    b1, b2 = OUProcess([np.random.default_rng(2)], 2, 0.1, 5.0, 1.0), OUProcess([np.random.default_rng(2)], 2, 0.1,
                                                                                5.0, 1.0)
    whole = b1.block(100)
    joined = np.concatenate([b2.block(60), b2.block(40)], axis=1)
    assert np.allclose(whole, joined)


@pytest.mark.parametrize("k,n", [(1, 1), (4, 1), (2, 3), (1, SMALL_CHANNELS + 1), (4, 100)])
def test_first_order_filter_gives_lfilter_values(k: int, n: int) -> None:
    """The OU recursion written out (floats for a few channels, arrays for many) gives the values
    scipy.signal.lfilter gave, bit for bit: datasets made before it came in stay the same."""
    from scipy.signal import lfilter

    rng = np.random.default_rng(k * 1000 + n)
    x = rng.standard_normal((k, 700, n))
    a = math.exp(-1.0 / 900.0)
    b = 0.03 * math.sqrt(1.0 - a * a)
    z = a * 0.03 * rng.standard_normal((k, n))
    expected, _ = lfilter([b], [1.0, -a], x, axis=1, zi=z[:, None, :])
    assert np.array_equal(first_order(x, a, b, z), expected)
    # The initial state enters: another one gives other values from the first step.
    assert not np.array_equal(first_order(x, a, b, z + 1.0)[:, 0], expected[:, 0])
