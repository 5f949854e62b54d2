"""Hypothesis properties of every schedule: bounds, finiteness, vectorisation, holding, joins."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

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
    StepDecay,
    join,
    warmup,
)

lrs = st.floats(1e-8, 10.0)
sizes = st.integers(1, 500)
steps = st.one_of(st.integers(0, 2000), st.integers(0, 10**18))
unit = st.floats(0.0, 1.0)


@st.composite
def lr_pair(draw: st.DrawFn, strict: bool = True) -> tuple[float, float]:
    lo, hi = draw(lrs), draw(lrs)
    lo, hi = min(lo, hi), max(lo, hi)
    assume(lo < hi if strict else lo <= hi)
    return lo, hi


@st.composite
def cyclics(draw: st.DrawFn) -> Cyclic:
    base, top = draw(lr_pair(strict=False))
    return Cyclic(
        base,
        top,
        step_size_up=draw(sizes),
        step_size_down=draw(st.none() | sizes),
        mode=draw(st.sampled_from(["triangular", "triangular2", "exp_range"])),
        gamma=draw(st.floats(1e-3, 1.0)),
        window=draw(st.sampled_from(["triangular", "welch", "hann"])),
    )


@st.composite
def one_cycles(draw: st.DrawFn) -> OneCycle:
    total = draw(st.integers(2, 10_000))
    three_phase = draw(st.booleans())
    pct = draw(st.floats(1e-3, 0.999))
    assume(float(pct * total) - 1 > 0)
    assume(not three_phase or float(2 * pct * total) - 2 < total - 1)
    lo_m, hi_m = sorted((draw(unit), draw(unit)))
    return OneCycle(
        draw(lrs), total, pct_start=pct, anneal_strategy=draw(st.sampled_from(["cos", "linear"])),
        div_factor=draw(st.floats(1.0, 1e4)), final_div_factor=draw(st.floats(1.0, 1e5)),
        three_phase=three_phase, base_momentum=lo_m, max_momentum=hi_m,
    )


@st.composite
def cosines(draw: st.DrawFn) -> Cosine | SGDR:
    eta, lr = draw(lr_pair(strict=False))
    eta = draw(st.sampled_from([0.0, eta]))
    if draw(st.booleans()):
        return Cosine(lr, T_max=draw(sizes), eta_min=eta)
    return SGDR(lr, T_0=draw(sizes), T_mult=draw(st.integers(1, 5)), eta_min=eta)


@st.composite
def simple(draw: st.DrawFn) -> Schedule:
    lo, hi = draw(lr_pair())
    gamma = draw(st.floats(1e-3, 1.0))
    return draw(
        st.sampled_from(
            [
                ExponentialSweep(lo, hi, draw(st.integers(2, 10_000))),
                LinearSweep(lo, hi, draw(st.integers(2, 10_000))),
                LinearWarmup(draw(st.sampled_from([0.0, lo])), hi, draw(sizes)),
                ExponentialDecay(hi, gamma, draw(sizes), staircase=draw(st.booleans())),
                StepDecay(hi, draw(sizes), gamma),
                Constant(hi),
            ]
        )
    )


any_schedule = st.one_of(cyclics(), one_cycles(), cosines(), simple())


def assert_within(values: np.ndarray, bounds: tuple[float, float]) -> None:
    lo, hi = bounds
    values = np.atleast_1d(values)
    assert np.all(np.isfinite(values)), values
    slack = 1e-12 * hi  # rounding only
    assert np.all(values >= lo - slack), (values.min(), lo)
    assert np.all(values <= hi + slack), (values.max(), hi)


@given(any_schedule, st.lists(steps, min_size=1, max_size=20))
def test_values_are_finite_and_within_the_documented_range(schedule, step_list):
    assert_within(schedule(np.array(step_list)), schedule.lr_range())


@given(one_cycles(), st.lists(steps, min_size=1, max_size=20))
def test_one_cycle_momentum_within_its_range(schedule, step_list):
    assert_within(schedule.momentum(np.array(step_list)), (schedule.base_momentum, schedule.max_momentum))


@given(any_schedule, st.lists(steps, min_size=1, max_size=30))
def test_vectorised_call_equals_scalar_calls(schedule, step_list):
    vector = schedule(np.array(step_list))
    scalars = [schedule(s) for s in step_list]
    assert all(isinstance(v, float) for v in scalars)
    np.testing.assert_allclose(vector, scalars, rtol=1e-15, atol=0)
    grid = schedule(np.array(step_list).reshape(-1, 1))
    assert grid.shape == (len(step_list), 1)


@given(any_schedule, st.integers(0, 10**12))
def test_finite_schedules_hold_their_final_value(schedule, extra):
    assume(schedule.total_steps is not None)
    last = schedule.total_steps - 1
    assert schedule(last + 1 + extra) == schedule(last)


@given(cyclics(), st.integers(0, 10**4))
def test_triangular_cycles_are_periodic(schedule, step):
    # PyTorch's arithmetic (x = 1 + step/total - cycle) loses ~cycle * eps of the position, divided by
    # the step ratio; 1e-8 covers 10**4 steps at the most lopsided ratio drawn (1/501).
    assume(schedule.mode == "triangular")
    period = schedule.step_size_up + schedule.step_size_down
    np.testing.assert_allclose(schedule(step + period), schedule(step), rtol=1e-8)
    assert schedule(period * step) == schedule.base_lr
    np.testing.assert_allclose(schedule(period * step + schedule.step_size_up), schedule.max_lr, rtol=1e-8)


@given(any_schedule, st.integers(1, 1000), unit, st.lists(st.integers(0, 2**40), min_size=1, max_size=10))
def test_warmup_is_continuous_and_then_follows_the_schedule(schedule, warmup_steps, frac, step_list):
    assume(schedule(0) > 0)  # a warm-up needs somewhere to go
    start = frac * schedule(0) * 0.999
    joined = warmup(schedule, warmup_steps, start_lr=start)
    assert joined(warmup_steps) == schedule(0)
    # the ramp's own value at the boundary is where the schedule picks up: continuous
    ramp = LinearWarmup(start, schedule(0), warmup_steps)
    assert ramp(warmup_steps) == schedule(0)
    after = np.array(step_list) + warmup_steps
    np.testing.assert_array_equal(joined(after), schedule(after - warmup_steps))
    assert_within(joined(np.array(step_list)), (min(start, schedule.lr_range()[0]), schedule.lr_range()[1]))


@given(lr_pair(), sizes, sizes, st.integers(1, 5), st.lists(st.integers(0, 10**5), min_size=1, max_size=20))
def test_join_of_pieces_chosen_continuous_is_continuous(pair, ramp, t0, t_mult, step_list):
    eta, peak = pair
    pieces = [LinearWarmup(eta, peak, ramp), SGDR(peak, t0, t_mult, eta_min=eta)]
    s = join(pieces, boundaries=[ramp])
    # left limit at the boundary (the ramp carried on to step `ramp`) equals the value there, up to
    # SGDR's rounding at a restart (eta_min + (lr - eta_min) is lr within an ulp)
    assert pieces[0](ramp) == peak
    assert s(ramp) == pytest.approx(peak, rel=1e-15, abs=0)
    # and the join is the piecewise definition everywhere
    for t in step_list:
        expected = pieces[0](t) if t < ramp else pieces[1](t - ramp)
        assert s(t) == expected


@given(one_cycles())
def test_one_cycle_into_constant_join_is_continuous(cycle):
    # OneCycle ends at min_lr up to rounding of order eps * max_lr (PyTorch's interpolation).
    tail = Constant(cycle.min_lr)
    b = cycle.total_steps - 1
    s = join([cycle, tail], boundaries=[b])
    tol = {"rtol": 0, "atol": 1e-14 * cycle.max_lr}
    np.testing.assert_allclose(s(b), cycle(b), **tol)
    np.testing.assert_allclose(s([b - 1, b, b + 1, b + 10**9]), [cycle(b - 1), *[cycle.min_lr] * 3], **tol)
