"""Exact values from independent formulas, composition, the factory, and argument validation."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from lrscope.schedules import (
    SGDR,
    Constant,
    Cosine,
    Cyclic,
    ExponentialDecay,
    ExponentialSweep,
    LinearSweep,
    LinearWarmup,
    OneCycle,
    Schedule,
    Sequence,
    StepDecay,
    exp_range,
    from_bounds,
    hann,
    join,
    sequence,
    sweep,
    triangular,
    triangular2,
    warmup,
    welch,
)

# --- sweeps ----------------------------------------------------------------------------------------


def test_exponential_sweep_is_geometric_from_start_to_end():
    s = ExponentialSweep(1e-7, 10.0, num_steps=100)
    expected = [1e-7 * (10.0 / 1e-7) ** (i / 99) for i in range(100)]
    np.testing.assert_allclose(s(np.arange(100)), expected, rtol=1e-13)
    assert s(0) == 1e-7
    assert s(99) == 10.0
    assert s(10**6) == s(99)  # holds its end
    assert s.total_steps == 100


def test_linear_sweep_values():
    s = LinearSweep(0.0, 2.0, num_steps=5)
    assert s([0, 1, 2, 3, 4, 9]).tolist() == [0.0, 0.5, 1.0, 1.5, 2.0, 2.0]


def test_sweep_factory_picks_the_mode():
    assert isinstance(sweep(1e-5, 1.0, 10), ExponentialSweep)
    lin = sweep(1e-5, 1.0, 10, mode="linear")
    assert isinstance(lin, LinearSweep)
    assert lin(9) == 1.0


# --- cyclic: exact values, windows -----------------------------------------------------------------


def test_triangular_first_cycle_by_hand():
    s = triangular(1.0, 3.0, step_size_up=2, step_size_down=4)
    # up: 1 -> 3 in 2 steps; down: 3 -> 1 in 4 steps; then again.
    expected = [1.0, 2.0, 3.0, 2.5, 2.0, 1.5, 1.0, 2.0, 3.0, 2.5, 2.0, 1.5, 1.0]
    np.testing.assert_allclose(s(np.arange(13)), expected, rtol=1e-14)


def test_triangular2_halves_and_exp_range_decays():
    t2 = triangular2(0.0, 8.0, step_size_up=2)
    # peaks at steps 2, 6, 10: 8, 4, 2
    assert [t2(2), t2(6), t2(10)] == [8.0, 4.0, 2.0]
    er = exp_range(1.0, 2.0, step_size_up=2, gamma=0.5)
    assert er(2) == pytest.approx(1.0 + 1.0 * 0.5**2)
    assert er(6) == pytest.approx(1.0 + 1.0 * 0.5**6)


def _position(step: int, up: int, down: int) -> tuple[float, int]:
    """Independent: (fraction of the way up within the half-cycle, 1-based cycle), by integer arithmetic."""
    n, total = step % (up + down), up + down
    u = n / up if n <= up else (total - n) / down
    return u, step // total + 1


def test_welch_symmetric_matches_the_welch_window():
    base, top, half = 0.01, 0.11, 10
    s = welch(base, top, step_size_up=half)
    steps = np.arange(6 * half + 3)
    big_n = 2 * half
    n = steps % big_n
    window = 1.0 - ((n - big_n / 2) / (big_n / 2)) ** 2  # Welch window over one cycle of N steps
    np.testing.assert_allclose(s(steps), base + (top - base) * window, rtol=1e-13)


def test_hann_symmetric_matches_the_hann_window():
    base, top, half = 0.01, 0.11, 10
    s = hann(base, top, step_size_up=half)
    steps = np.arange(6 * half + 3)
    big_n = 2 * half
    window = np.sin(np.pi * (steps % big_n) / big_n) ** 2  # Hann window over one cycle of N steps
    np.testing.assert_allclose(s(steps), base + (top - base) * window, rtol=1e-13)


@pytest.mark.parametrize("window", ["welch", "hann"])
@pytest.mark.parametrize("mode", ["triangular", "triangular2", "exp_range"])
def test_windows_asymmetric_with_every_mode(window, mode):
    base, top, up, down, gamma = 0.5, 2.5, 3, 7, 0.95
    s = Cyclic(base, top, step_size_up=up, step_size_down=down, mode=mode, gamma=gamma, window=window)
    for step in range(4 * (up + down)):
        u, cycle = _position(step, up, down)
        w = 1 - (1 - u) ** 2 if window == "welch" else (1 - math.cos(math.pi * u)) / 2
        scale = {"triangular": 1.0, "triangular2": 0.5 ** (cycle - 1), "exp_range": gamma**step}[mode]
        assert s(step) == pytest.approx(base + (top - base) * w * scale, rel=1e-12), step


def test_windows_share_ends_and_peak_with_the_triangle():
    shapes = [Cyclic(1.0, 2.0, 5, 3, window=w) for w in ("triangular", "welch", "hann")]
    for s in shapes:
        assert s([0, 5, 8, 13, 16]).tolist() == [1.0, 2.0, 1.0, 2.0, 1.0]
    tri, wel, han = (s(2) for s in shapes)
    assert han < tri < wel  # sine is slow off the bottom, the parabola fast


def test_cyclic_momentum_is_inverse():
    s = Cyclic(0.1, 0.5, step_size_up=4)
    m = s.momentum_schedule(base_momentum=0.8, max_momentum=0.9)
    steps = np.arange(20)
    frac = (s(steps) - 0.1) / 0.4
    np.testing.assert_allclose(m(steps), 0.9 - 0.1 * frac, rtol=1e-12)


# --- one cycle, cosine, sgdr, decays ---------------------------------------------------------------


def test_one_cycle_two_phase_values_by_formula():
    s = OneCycle(1.0, total_steps=10, pct_start=0.2, div_factor=10.0, final_div_factor=5.0, anneal_strategy="linear")
    # phase 1 ends at 0.2 * 10 - 1 = 1: 0.1 -> 1.0; phase 2 runs from step 1 to 9: 1.0 -> 0.02
    expected = [0.1, 1.0] + [1.0 + (0.02 - 1.0) * (t - 1) / 8 for t in range(2, 10)]
    np.testing.assert_allclose(s(np.arange(10)), expected, rtol=1e-13)
    assert s.lr_range() == (pytest.approx(0.02), 1.0)
    assert s.momentum(0) == 0.95 and s.momentum(1) == 0.85 and s.momentum(9) == pytest.approx(0.95)


def test_one_cycle_three_phase_returns_to_initial_lr():
    s = OneCycle(1.0, total_steps=100, pct_start=0.3, three_phase=True)
    assert s(0) == pytest.approx(0.04)
    assert s(29) == 1.0
    assert s(58) == pytest.approx(0.04, rel=1e-12)
    assert s(99) == pytest.approx(0.04 / 1e4, rel=1e-12)
    assert s.momentum(75) == 0.95  # flat in the last phase


def test_cosine_values_and_hold():
    s = Cosine(2.0, T_max=4, eta_min=1.0)
    expected = [1.0 + (1 + math.cos(math.pi * t / 4)) / 2 for t in range(5)]
    np.testing.assert_allclose(s(np.arange(5)), expected, rtol=1e-15)
    assert s.total_steps == 5
    assert s(100) == 1.0


def test_sgdr_restarts_at_the_period_starts():
    s = SGDR(1.0, T_0=3, T_mult=2, eta_min=0.1)
    starts = [0, 3, 9, 21, 45, 93, 3 * (2**30 - 1)]
    assert s(starts).tolist() == [1.0] * len(starts)
    # one step before each restart: the end of a period of length T_i
    for start, t_i in [(3, 3), (9, 6), (21, 12), (45, 24)]:
        assert s(start - 1) == pytest.approx(0.1 + 0.9 * (1 + math.cos(math.pi * (t_i - 1) / t_i)) / 2, rel=1e-12)


@pytest.mark.parametrize("T_mult", [2, 3, 4, 5, 6])
@pytest.mark.parametrize("T_0", [1, 2, 3, 7, 10])
def test_sgdr_finds_the_period_exactly_around_every_restart(T_0, T_mult):  # noqa: N803
    # Independent: period starts by integer arithmetic; float log(.., T_mult) lands off by one at
    # some of them (e.g. T_0=1, T_mult=3, step 121).
    lr, eta_min = 1.0, 0.25
    s = SGDR(lr, T_0, T_mult, eta_min)
    start, t_i = 0, T_0
    while start < 2**50:
        for step, t_cur, period in [(start, 0, t_i), (start + t_i - 1, t_i - 1, t_i)]:
            expected = eta_min + (lr - eta_min) * (1 + math.cos(math.pi * t_cur / period)) / 2
            assert s(step) == pytest.approx(expected, rel=1e-12, abs=0), (step, t_cur, period)
        start, t_i = start + t_i, t_i * T_mult


def test_decays_and_constant():
    e = ExponentialDecay(1.0, gamma=0.97, steps_per_epoch=3)
    assert e([0, 2, 3, 5, 6]).tolist() == [1.0, 1.0, 0.97, 0.97, 0.97**2]
    c = ExponentialDecay(1.0, gamma=0.5, steps_per_epoch=2, staircase=False)
    assert c(1) == pytest.approx(0.5**0.5)
    assert StepDecay(2.0, step_size=10, gamma=0.5)([9, 10, 20]).tolist() == [2.0, 1.0, 0.5]
    assert Constant(0.3)([0, 10**12]).tolist() == [0.3, 0.3]


def test_linear_warmup_reaches_end_at_warmup_steps():
    s = LinearWarmup(0.0, 1.0, warmup_steps=4)
    assert s([0, 1, 2, 3, 4, 5]).tolist() == [0.0, 0.25, 0.5, 0.75, 1.0, 1.0]
    assert s.total_steps == 5


# --- composition ------------------------------------------------------------------------------------


def test_join_restarts_each_schedule_at_its_boundary():
    cos = Cosine(1.0, T_max=10)
    s = join([Constant(0.5), cos, Constant(0.01)], boundaries=[3, 13])
    steps = np.arange(20)
    expected = [0.5] * 3 + [cos(t - 3) for t in range(3, 13)] + [0.01] * 7
    assert s(steps).tolist() == expected
    assert s.total_steps is None
    assert s.lr_range() == (0.0, 1.0)


def test_join_total_steps_and_hold_when_last_is_finite():
    s = join([Constant(1.0), LinearWarmup(0.0, 2.0, 4)], boundaries=[10])
    assert s.total_steps == 15
    assert s(14) == 2.0 and s(10**9) == 2.0
    assert s(10) == 0.0  # discontinuous: the caller's choice


def test_sequence_concatenates_finite_schedules():
    a, b = LinearSweep(1.0, 2.0, 3), Cosine(2.0, T_max=2)
    s = sequence([a, b, Constant(0.5)])
    assert s.boundaries == (3, 6)
    assert s(np.arange(8)).tolist() == [1.0, 1.5, 2.0, 2.0, pytest.approx(1.0), 0.0, 0.5, 0.5]


def test_warmup_is_continuous_into_the_schedule():
    inner = OneCycle(0.1, total_steps=50)
    s = warmup(inner, warmup_steps=10, start_lr=1e-5)
    assert s(0) == 1e-5
    assert s(10) == inner(0)
    assert s(9) == pytest.approx(1e-5 + (inner(0) - 1e-5) * 0.9)
    assert s.total_steps == 60


# --- from_bounds ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "kwargs", "cls", "attrs"),
    [
        ("triangular", {"step_size_up": 10}, Cyclic, {"mode": "triangular", "window": "triangular", "step_size_up": 10}),
        ("triangular2", {}, Cyclic, {"mode": "triangular2"}),
        ("exp_range", {"gamma": 0.99}, Cyclic, {"mode": "exp_range", "gamma": 0.99}),
        ("welch", {}, Cyclic, {"window": "welch", "mode": "triangular"}),
        ("hann", {"mode": "triangular2"}, Cyclic, {"window": "hann", "mode": "triangular2"}),
        ("one_cycle", {"total_steps": 100}, OneCycle, {"max_lr": 0.01, "div_factor": 10.0}),
        ("one_cycle", {"total_steps": 100, "div_factor": 25.0}, OneCycle, {"div_factor": 25.0}),
        ("cosine", {"T_max": 100}, Cosine, {"lr": 0.01, "eta_min": 0.001}),
        ("sgdr", {"T_0": 10}, SGDR, {"lr": 0.01, "eta_min": 0.001}),
        ("exponential_decay", {"gamma": 0.97}, ExponentialDecay, {"lr": 0.01, "gamma": 0.97}),
        ("step_decay", {"step_size": 5}, StepDecay, {"lr": 0.01}),
        ("constant", {}, Constant, {"lr": 0.01}),
    ],
)
def test_from_bounds_builds_the_kind(kind, kwargs, cls, attrs):
    s = from_bounds(kind, base_lr=0.001, max_lr=0.01, **kwargs)
    assert type(s) is cls
    for name, value in attrs.items():
        assert getattr(s, name) == pytest.approx(value) if isinstance(value, float) else getattr(s, name) == value
    if cls is Cyclic:
        assert (s.base_lr, s.max_lr) == (0.001, 0.01)


def test_from_bounds_one_cycle_starts_at_base_lr():
    s = from_bounds("one_cycle", base_lr=0.002, max_lr=0.05, total_steps=200)
    assert s(0) == pytest.approx(0.002, rel=1e-12)
    assert from_bounds("one_cycle", base_lr=None, max_lr=0.05, total_steps=200).div_factor == 25.0


# --- validation ------------------------------------------------------------------------------------

BAD = [
    (lambda: ExponentialSweep(0.1, 0.01, 10), "Argument `end_lr` must be greater than `start_lr`. Received: start_lr=0.1, end_lr=0.01"),
    (lambda: LinearSweep(0.1, 0.1, 10), "Argument `end_lr` must be greater than `start_lr`. Received: start_lr=0.1, end_lr=0.1"),
    (lambda: ExponentialSweep(0.0, 1.0, 10), "Argument `start_lr` must be a finite number > 0. Received: start_lr=0.0"),
    (lambda: ExponentialSweep(1e-5, 1.0, 1), "Argument `num_steps` must be an integer >= 2. Received: num_steps=1"),
    (lambda: sweep(1e-5, 1.0, 10, mode="log"), "Argument `mode` must be one of 'exp', 'linear'. Received: mode='log'"),
    (lambda: Cyclic(0.1, 0.01), "Argument `max_lr` must be greater than or equal to `base_lr`. Received: base_lr=0.1, max_lr=0.01"),
    (lambda: Cyclic(float("nan"), 0.01), "Argument `base_lr` must be a finite number >= 0. Received: base_lr=nan"),
    (lambda: Cyclic(0.001, float("inf")), "Argument `max_lr` must be a finite number > 0. Received: max_lr=inf"),
    (lambda: Cyclic(True, 0.01), "Argument `base_lr` must be a finite number >= 0. Received: base_lr=True"),
    (lambda: Cyclic(0.001, 0.01, step_size_up=0), "Argument `step_size_up` must be an integer >= 1. Received: step_size_up=0"),
    (lambda: Cyclic(0.001, 0.01, step_size_up=True), "Argument `step_size_up` must be an integer >= 1. Received: step_size_up=True"),
    (lambda: Cyclic(0.001, 0.01, step_size_down=-3), "Argument `step_size_down` must be an integer >= 1. Received: step_size_down=-3"),
    (lambda: Cyclic(0.001, 0.01, step_size_up=2.5), "Argument `step_size_up` must be an integer >= 1. Received: step_size_up=2.5"),
    (
        lambda: Cyclic(0.001, 0.01, mode="triangle"),
        "Argument `mode` must be one of 'triangular', 'triangular2', 'exp_range'. Received: mode='triangle'",
    ),
    (lambda: Cyclic(0.001, 0.01, window="hamming"), "Argument `window` must be one of 'triangular', 'welch', 'hann'. Received: window='hamming'"),
    (lambda: Cyclic(0.001, 0.01, mode="exp_range", gamma=0.0), "Argument `gamma` must be in (0, 1]. Received: gamma=0.0"),
    (lambda: Cyclic(0.001, 0.01, mode="exp_range", gamma=1.5), "Argument `gamma` must be in (0, 1]. Received: gamma=1.5"),
    (lambda: Cyclic(0.001, 0.01, scale_mode="iterations"), "Argument `scale_mode` only applies with a custom `scale_fn`"),
    (lambda: Cyclic(0.001, 0.01, scale_fn=lambda x: 1.0, scale_mode="steps"), "Argument `scale_mode` must be one of 'cycle', 'iterations'. Received: scale_mode='steps'"),
    (lambda: Cyclic(0.001, 0.01, scale_fn=0.5), "Argument `scale_fn` must be callable or None. Received: scale_fn=0.5"),
    (lambda: Cyclic(0.1, 0.2).momentum_schedule(0.95, 0.9), "Argument `max_momentum` must be greater than or equal to `base_momentum`. Received: base_momentum=0.95, max_momentum=0.9"),
    (lambda: OneCycle(0.1, 1), "Argument `total_steps` must be an integer >= 2. Received: total_steps=1"),
    (lambda: OneCycle(-0.1, 100), "Argument `max_lr` must be a finite number > 0. Received: max_lr=-0.1"),
    (lambda: OneCycle(0.1, 100, pct_start=0.0), "Argument `pct_start` must be in (0, 1). Received: pct_start=0.0"),
    (lambda: OneCycle(0.1, 100, pct_start=1), "Argument `pct_start` must be in (0, 1). Received: pct_start=1"),
    (lambda: OneCycle(0.1, 5, pct_start=0.2), "Argument `pct_start` leaves no warm-up: pct_start * total_steps must be > 1. Received: pct_start=0.2, total_steps=5"),
    (lambda: OneCycle(0.1, 100, pct_start=0.6, three_phase=True), "Argument `pct_start` leaves no final phase with three_phase=True"),
    (lambda: OneCycle(0.1, 100, anneal_strategy="cosine"), "Argument `anneal_strategy` must be one of 'cos', 'linear'. Received: anneal_strategy='cosine'"),
    (lambda: OneCycle(0.1, 100, div_factor=0.5), "Argument `div_factor` must be >= 1. Received: div_factor=0.5"),
    (lambda: OneCycle(0.1, 100, final_div_factor=float("nan")), "Argument `final_div_factor` must be a finite number > 0. Received: final_div_factor=nan"),
    (lambda: OneCycle(0.1, 100, three_phase="yes"), "Argument `three_phase` must be a bool. Received: three_phase='yes'"),
    (lambda: OneCycle(0.1, 100, max_momentum=1.2), "Argument `max_momentum` must be in [0, 1]. Received: max_momentum=1.2"),
    (lambda: Cosine(0.1, T_max=0), "Argument `T_max` must be an integer >= 1. Received: T_max=0"),
    (lambda: Cosine(0.1, T_max=10, eta_min=0.2), "Argument `lr` must be greater than or equal to `eta_min`. Received: eta_min=0.2, lr=0.1"),
    (lambda: SGDR(0.1, T_0=0), "Argument `T_0` must be an integer >= 1. Received: T_0=0"),
    (lambda: SGDR(0.1, T_0=10, T_mult=1.5), "Argument `T_mult` must be an integer >= 1. Received: T_mult=1.5"),
    (lambda: SGDR(0.1, T_0=10, eta_min=-1e-3), "Argument `eta_min` must be a finite number >= 0. Received: eta_min=-0.001"),
    (lambda: ExponentialDecay(0.1, gamma=1.01), "Argument `gamma` must be in (0, 1]. Received: gamma=1.01"),
    (lambda: ExponentialDecay(0.1, gamma=0.9, steps_per_epoch=0), "Argument `steps_per_epoch` must be an integer >= 1. Received: steps_per_epoch=0"),
    (lambda: ExponentialDecay(0.1, gamma=0.9, staircase=1), "Argument `staircase` must be a bool. Received: staircase=1"),
    (lambda: StepDecay(0.1, step_size=-1), "Argument `step_size` must be an integer >= 1. Received: step_size=-1"),
    (lambda: Constant(0), "Argument `lr` must be a finite number > 0. Received: lr=0"),
    (lambda: LinearWarmup(0.0, 1.0, warmup_steps=0), "Argument `warmup_steps` must be an integer >= 1. Received: warmup_steps=0"),
    (lambda: LinearWarmup(0.5, 0.1, warmup_steps=5), "Argument `end_lr` must be greater than `start_lr`. Received: start_lr=0.5, end_lr=0.1"),
    (lambda: join([Constant(1.0), Constant(2.0)], [5, 6]), "Argument `boundaries` must have one entry fewer than `schedules`"),
    (lambda: join([Constant(1.0), Constant(2.0), Constant(3.0)], [5, 5]), "Argument `boundaries` must be strictly increasing integers >= 1. Received: boundaries=[5, 5]"),
    (lambda: join([Constant(1.0), Constant(2.0)], [0]), "Argument `boundaries` must be strictly increasing integers >= 1. Received: boundaries=[0]"),
    (lambda: join([Constant(1.0), 0.5], [3]), "Argument `schedules` must hold Schedule objects. Received: schedules[1]=0.5"),
    (lambda: sequence([Constant(1.0), Constant(2.0)]), "Argument `schedules` must be finite (total_steps set) except for the last one. Received: schedules[0]=Constant(lr=1.0)"),
    (lambda: warmup(Constant(0.1), 10, start_lr=0.2), "Argument `start_lr` must be below the schedule's first value schedule(0)=0.1. Received: start_lr=0.2"),
    (lambda: from_bounds("cyclic", 0.001, 0.01), "Argument `kind` must be one of 'triangular', "),
    (lambda: from_bounds("welch", None, 0.01), "Argument `base_lr` is required for kind='welch'. Received: base_lr=None"),
]


@pytest.mark.parametrize(("make", "message"), BAD, ids=[m[:60] for _, m in BAD])
def test_bad_arguments_name_the_argument_and_value(make, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        make()


@pytest.mark.parametrize("step", [-1, -0.5, float("nan"), float("inf")])
def test_bad_steps_are_refused(step):
    s = Cosine(0.1, T_max=10)
    with pytest.raises(ValueError, match=re.escape(f"Argument `step` must be a finite number >= 0. Received: step={float(step)!r}")):
        s(step)
    with pytest.raises(ValueError, match=re.escape(f"Received: step={float(step)!r}")):
        s(np.array([0, 3, step]))


def test_schedules_are_immutable():
    s = Cyclic(0.001, 0.01)
    with pytest.raises(AttributeError, match="immutable"):
        s.max_lr = 1.0  # type: ignore[misc]
    assert s.max_lr == 0.01


def test_every_public_schedule_is_a_schedule_with_a_readable_repr():
    s = OneCycle(0.1, 100)
    assert isinstance(s, Schedule) and isinstance(join([s, Constant(1e-6)], [100]), Sequence)
    assert repr(Cosine(0.1, T_max=3)) == "Cosine(lr=0.1, T_max=3, eta_min=0.0, total_steps=4)"


@pytest.mark.parametrize("value", [5.0, -0.1, float("nan")])
def test_a_custom_scale_fn_must_stay_in_0_1(value):
    s = Cyclic(0.01, 0.1, step_size_up=10, scale_fn=lambda x: value)
    with pytest.raises(ValueError, match=r"Argument `scale_fn` must return a value in \[0, 1\].*Received: scale_fn\(1.0\)="):
        s(10)


@pytest.mark.parametrize(
    "kind, base, peak, kw, match",
    [
        ("one_cycle", 0.0, 0.1, {"total_steps": 100}, r"Argument `base_lr` must be a finite number > 0. Received: base_lr=0.0"),
        ("one_cycle", 0.2, 0.1, {"total_steps": 100}, r"`max_lr` must be greater than or equal to `base_lr`. Received: base_lr=0.2, max_lr=0.1"),
        ("cosine", 0.2, 0.1, {"T_max": 100}, r"`max_lr` must be greater than or equal to `base_lr`"),
        ("triangular", float("nan"), 0.1, {"step_size_up": 3}, r"Argument `base_lr`.*base_lr=nan"),
        ("constant", None, -1.0, {}, r"Argument `max_lr` must be a finite number > 0. Received: max_lr=-1.0"),
    ],
)
def test_from_bounds_names_the_bounds_the_user_passed(kind, base, peak, kw, match):
    from lrscope.schedules import from_bounds

    with pytest.raises(ValueError, match=match):
        from_bounds(kind, base, peak, **kw)


@pytest.mark.parametrize("kind", ["triangular", "triangular2", "exp_range", "welch", "hann"])
def test_from_bounds_cyclic_accepts_base_lr_zero_like_cyclic(kind):
    from lrscope.schedules import from_bounds

    assert Cyclic(0.0, 0.01, step_size_up=4)(4) == 0.01
    assert from_bounds(kind, 0.0, 0.01, step_size_up=4)(0) == 0.0


def test_from_bounds_one_cycle_names_base_lr_when_its_ratio_overflows():
    from lrscope.schedules import from_bounds

    with pytest.raises(ValueError, match=r"Argument `base_lr` is too small for one_cycle.*base_lr=1e-310"):
        from_bounds("one_cycle", base_lr=1e-310, max_lr=0.1, total_steps=100)
