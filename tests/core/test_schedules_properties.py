"""Hypothesis properties of every schedule: bounds, finiteness, vectorisation, holding, joins;
and the bad-argument rule (every size/rate argument of every constructor) checked exhaustively."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

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

lrs = st.floats(1e-8, 10.0)
sizes = st.integers(1, 500)
# whole and fractional steps (a schedule is a function of any real step >= 0), small and astronomical
steps = st.one_of(
    st.integers(0, 2000),
    st.integers(0, 50_000),
    st.integers(0, 10**18),
    st.floats(0.0, 2000.0),
    st.floats(0.0, 1e18),
)
unit = st.floats(0.0, 1.0)


@st.composite
def lr_pair(draw: st.DrawFn, strict: bool = True) -> tuple[float, float]:
    lo, hi = draw(lrs), draw(lrs)
    lo, hi = min(lo, hi), max(lo, hi)
    assume(lo < hi if strict else lo <= hi)
    return lo, hi


def _cyclic_args(draw: st.DrawFn) -> dict:
    """The arguments every Cyclic strategy draws, in one order (base, top, sizes, mode, gamma)."""
    base, top = draw(lr_pair(strict=False))
    return dict(
        base_lr=base,
        max_lr=top,
        step_size_up=draw(sizes),
        step_size_down=draw(st.none() | sizes),
        mode=draw(st.sampled_from(["triangular", "triangular2", "exp_range"])),  # ignored with scale_fn
        gamma=draw(st.floats(1e-3, 1.0)),
    )


@st.composite
def cyclics(draw: st.DrawFn) -> Cyclic:
    return Cyclic(**_cyclic_args(draw), window=draw(st.sampled_from(["triangular", "welch", "hann"])))


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


WINDOWS = ["triangular", "welch", "hann"]


@st.composite
def scale_fns(draw: st.DrawFn) -> Callable[[float], float]:
    """A custom CLR amplitude mapping any argument >= 0 into [0, 1] (as documented for ``scale_fn``)."""
    kind = draw(st.sampled_from(["const", "power", "harmonic", "sine", "saw", "arbitrary"]))
    if kind == "const":
        c = draw(unit)
        return lambda x: c
    if kind == "power":
        g = draw(st.floats(1e-3, 1.0))
        return lambda x: g**x  # underflows quietly to 0.0 for huge x
    if kind == "harmonic":
        return lambda x: 1.0 / (1.0 + x)
    if kind == "sine":
        a = draw(st.floats(1e-3, 10.0))
        return lambda x: abs(math.sin(a * x))
    if kind == "saw":
        k = draw(st.integers(1, 7))
        return lambda x: (x % k) / k
    # any pure function into [0, 1]: a fresh value for every distinct argument
    return draw(st.functions(like=lambda x: 0.0, returns=unit, pure=True))


@st.composite
def custom_cyclics(draw: st.DrawFn) -> Cyclic:
    args = _cyclic_args(draw)
    return Cyclic(**args, scale_fn=draw(scale_fns()), scale_mode=draw(st.sampled_from([None, "cycle", "iterations"])),
                  window=draw(st.sampled_from(WINDOWS)))


@st.composite
def cyclic_momenta(draw: st.DrawFn) -> Schedule:
    lo_m, hi_m = sorted((draw(unit), draw(unit)))
    return draw(cyclics() | custom_cyclics()).momentum_schedule(lo_m, hi_m)


@st.composite
def finite_leaves(draw: st.DrawFn) -> Schedule:
    lo, hi = draw(lr_pair())
    return draw(
        st.sampled_from(
            [
                ExponentialSweep(lo, hi, draw(st.integers(2, 3000))),
                LinearSweep(lo, hi, draw(st.integers(2, 3000))),
                LinearWarmup(draw(st.sampled_from([0.0, lo])), hi, draw(sizes)),
                Cosine(hi, T_max=draw(sizes), eta_min=draw(st.sampled_from([0.0, lo]))),
            ]
        )
        | one_cycles()
    )


leaves = st.one_of(cyclics(), custom_cyclics(), cyclic_momenta(), one_cycles(), cosines(), simple())


@st.composite
def joins(draw: st.DrawFn, pieces: st.SearchStrategy[Schedule]) -> Sequence:
    scheds = draw(st.lists(pieces, min_size=2, max_size=3))
    gaps = draw(st.lists(st.integers(1, 3000), min_size=len(scheds) - 1, max_size=len(scheds) - 1))
    return join(scheds, [int(b) for b in np.cumsum(gaps)])


@st.composite
def sequences(draw: st.DrawFn, pieces: st.SearchStrategy[Schedule]) -> Sequence:
    head = draw(st.lists(finite_leaves(), min_size=1, max_size=2))
    return sequence([*head, draw(pieces)])


def _compose(children: st.SearchStrategy[Schedule]) -> st.SearchStrategy[Schedule]:
    return joins(children) | sequences(children)


# joins and sequences of anything, including of joins (nested) up to a few leaves
compositions = _compose(st.recursive(leaves, _compose, max_leaves=3))

any_schedule = st.one_of(leaves, compositions)


@st.composite
def _ending_finite(draw: st.DrawFn) -> Sequence:
    head = draw(st.lists(any_schedule, min_size=1, max_size=2))
    gaps = draw(st.lists(st.integers(1, 3000), min_size=len(head), max_size=len(head)))
    return join([*head, draw(finite_leaves())], [int(b) for b in np.cumsum(gaps)])


# most of any_schedule never ends; tests about the end draw from these as well
finite_schedules = finite_leaves() | _ending_finite()


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


@given(any_schedule | finite_schedules, st.integers(0, 10**12))
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
    assume(start < schedule(0))  # x 0.999 rounds back to a subnormal peak (e.g. 5e-324)
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


# --- compositions, Cyclic's momentum and custom amplitudes, against their definitions -------------


def _piecewise(s: Sequence, t: float) -> float:
    """Sequence's documented definition, written out: the piece owning t, at t minus its boundary."""
    if s.total_steps is not None:
        t = min(t, s.total_steps - 1)  # a finite join holds its final value
    offsets = (0, *s.boundaries)
    k = max(i for i, b in enumerate(offsets) if b <= t)
    return s.schedules[k](t - offsets[k])


@given(compositions, st.lists(steps, max_size=10))
def test_a_join_is_its_piecewise_definition(s, step_list):
    # around every boundary (just before, at, just after, fractional) and at drawn steps
    probe = [float(b + d) for b in (0, *s.boundaries) for d in (-1, -0.5, 0, 0.5, 1) if b + d >= 0]
    probe += [float(t) for t in step_list]
    expected = [_piecewise(s, t) for t in probe]
    assert [s(t) for t in probe] == expected
    assert s(np.array(probe)).tolist() == expected


@given(sequences(any_schedule))
def test_sequence_boundaries_are_the_running_lengths(s):
    rebuilt = sequence(s.schedules)
    assert list(rebuilt.boundaries) == [int(b) for b in np.cumsum([p.total_steps for p in s.schedules[:-1]])]
    # each finite piece plays every one of its values, from its own step 0 to its end
    for piece, start in zip(s.schedules[:-1], (0, *rebuilt.boundaries)):
        ends = [0, piece.total_steps - 1]
        assert rebuilt(np.array(ends) + start).tolist() == piece(np.array(ends)).tolist()


@given(cyclics() | custom_cyclics(), unit, unit, st.lists(steps, min_size=1, max_size=20))
def test_cyclic_momentum_mirrors_the_learning_rate(lr, m1, m2, step_list):
    # CyclicLR(cycle_momentum=True): the momentum is at max_momentum where the LR is at base_lr and
    # at base_momentum at the peak, by the same fraction w(h) * scale of the way.
    lo_m, hi_m = sorted((m1, m2))
    assume(hi_m - lo_m > 1e-6 and lr.max_lr - lr.base_lr > 1e-6 * lr.max_lr)
    m = lr.momentum_schedule(lo_m, hi_m)
    t = np.array(step_list, dtype=np.float64)
    lr_frac = (lr(t) - lr.base_lr) / (lr.max_lr - lr.base_lr)
    m_frac = (hi_m - m(t)) / (hi_m - lo_m)
    np.testing.assert_allclose(m_frac, lr_frac, rtol=0, atol=1e-9)
    assert m.lr_range() == (lo_m, hi_m)


@given(lr_pair(strict=False), sizes, st.none() | sizes, st.sampled_from(WINDOWS), st.floats(1e-3, 1.0),
       st.lists(steps, min_size=1, max_size=20))
def test_a_custom_scale_fn_equal_to_a_builtin_mode_gives_that_mode(pair, up, down, window, gamma, step_list):
    # scale_mode decides what scale_fn receives: the 1-based cycle ("cycle") or the step ("iterations")
    base, top = pair
    t = np.array(step_list, dtype=np.float64)
    kw = {"step_size_up": up, "step_size_down": down, "window": window}
    pairs = [
        (Cyclic(base, top, mode="triangular2", **kw), Cyclic(base, top, scale_fn=lambda c: 0.5 ** (c - 1), **kw)),
        (
            Cyclic(base, top, mode="exp_range", gamma=gamma, **kw),
            Cyclic(base, top, scale_fn=lambda i: gamma**i, scale_mode="iterations", **kw),
        ),
        (Cyclic(base, top, **kw), Cyclic(base, top, scale_fn=lambda c: 1.0, scale_mode="cycle", **kw)),
    ]
    for builtin, custom in pairs:
        np.testing.assert_allclose(custom(t), builtin(t), rtol=1e-14, atol=0)


# --- bad arguments: every size/rate argument of every constructor ---------------------------------
#
# A domain says which values an argument accepts (from the constructor's docstring):
#   ("pos",)               finite number > 0            ("nonneg",)  finite number >= 0
#   ("int", k)             integer >= k                 ("ge1",)     finite number >= 1
#   ("frac", lo, hi, cl)   in (lo, hi), with cl = True (both ends closed), "low", "high" or False
# plus whether None is accepted. A bool is never a number here and a string never is either.

NAN, INF = float("nan"), float("inf")
POS, NONNEG, GE1 = ("pos",), ("nonneg",), ("ge1",)
INT1, INT2 = ("int", 1), ("int", 2)
GAMMA = ("frac", 0.0, 1.0, "high")  # (0, 1]
OPEN01 = ("frac", 0.0, 1.0, False)  # (0, 1)
CLOSED01 = ("frac", 0.0, 1.0, True)  # [0, 1]


def bad_values(domain: tuple, none_ok: bool = False) -> list[Any]:
    """The listed bad kinds that are outside ``domain``: 0 where not allowed, negative, NaN, +-inf,
    bools, a string that would parse to a legal value, None (unless allowed), and the domain's edges."""
    kind = domain[0]
    out: list[Any] = [NAN, INF, -INF, True, False]
    if not none_ok:
        out.append(None)
    if kind == "int":
        k = domain[1]
        out += [k - 1, -1, 0, 2.5, float(k) + 0.5, "10"]
    else:
        out += [-1, -0.5, -1e-300, "0.5"]
        if kind in ("pos", "ge1"):
            out.append(0.0)
            out.append(0)
        if kind == "ge1":
            out.append(0.5)
        if kind == "frac":
            _, lo, hi, closed = domain
            if not (closed is True or closed == "low"):
                out.append(lo)
            out += [hi + 0.5, 2]
            if not (closed is True or closed == "high"):
                out.append(hi)
    # drop repeats (0 and False compare equal but are different inputs: compare by type and repr)
    unique: list[Any] = []
    for v in out:
        if not any(type(v) is type(u) and repr(v) == repr(u) for u in unique):
            unique.append(v)
    return unique


class Spec:
    """One constructor: how to build it from keywords, legal defaults, and the argument domains."""

    def __init__(self, label: str, build: Callable[..., Any], base: dict[str, Any], args: dict[str, tuple]) -> None:
        self.label, self.build, self.base, self.args = label, build, base, args

    def __repr__(self) -> str:
        return self.label


def _arg(domain: tuple, *legal: Any, none_ok: bool = False) -> tuple:
    return (domain, none_ok, legal)


CYCLIC_ARGS = {
    "base_lr": _arg(NONNEG, 0, 0.0, np.float64(1e-3)),
    "max_lr": _arg(POS, 1e-3, np.float32(0.5)),  # max_lr == base_lr is allowed
    "step_size_up": _arg(INT1, 1, np.int64(7)),
    "step_size_down": _arg(INT1, 1, np.int32(3), None, none_ok=True),
    "gamma": _arg(GAMMA, 1, 1.0, 1e-9, np.float64(0.5)),
}

SPECS: list[Spec] = []
SPECS += [
    Spec("ExponentialSweep", ExponentialSweep, {"start_lr": 1e-5, "end_lr": 1.0, "num_steps": 10},
         {"start_lr": _arg(POS, 1e-300, 0.5), "end_lr": _arg(POS, 2e-5, 1e300), "num_steps": _arg(INT2, 2, np.int64(3))}),
    Spec("LinearSweep", LinearSweep, {"start_lr": 1e-5, "end_lr": 1.0, "num_steps": 10},
         {"start_lr": _arg(NONNEG, 0, 0.0), "end_lr": _arg(POS, 2e-5), "num_steps": _arg(INT2, 2)}),
    Spec("sweep(exp)", lambda **kw: sweep(**kw, mode="exp"), {"start_lr": 1e-5, "end_lr": 1.0, "num_steps": 10},
         {"start_lr": _arg(POS, 0.5), "end_lr": _arg(POS, 2.0), "num_steps": _arg(INT2, 2)}),
    Spec("sweep(linear)", lambda **kw: sweep(**kw, mode="linear"), {"start_lr": 1e-5, "end_lr": 1.0, "num_steps": 10},
         {"start_lr": _arg(NONNEG, 0.0), "end_lr": _arg(POS, 2.0), "num_steps": _arg(INT2, 2)}),
]
CYCLIC_BASE = {"base_lr": 1e-4, "max_lr": 1e-2, "step_size_up": 5, "step_size_down": None, "gamma": 0.9}
for _mode in ("triangular", "triangular2", "exp_range"):
    for _window in WINDOWS:
        SPECS.append(Spec(f"Cyclic({_mode}, {_window})",
                          lambda _m=_mode, _w=_window, **kw: Cyclic(**kw, mode=_m, window=_w), CYCLIC_BASE, CYCLIC_ARGS))
for _sm in ("cycle", "iterations"):
    SPECS.append(Spec(f"Cyclic(scale_fn, {_sm})",
                      lambda _s=_sm, **kw: Cyclic(**kw, scale_fn=lambda x: 0.5, scale_mode=_s), CYCLIC_BASE, CYCLIC_ARGS))
_NO_GAMMA = {k: v for k, v in CYCLIC_ARGS.items() if k != "gamma"}
_NO_GAMMA_BASE = {k: v for k, v in CYCLIC_BASE.items() if k != "gamma"}
SPECS += [
    Spec("triangular", triangular, _NO_GAMMA_BASE, _NO_GAMMA),
    Spec("triangular2", triangular2, _NO_GAMMA_BASE, _NO_GAMMA),
    Spec("exp_range", exp_range, CYCLIC_BASE, CYCLIC_ARGS),
    Spec("welch", welch, CYCLIC_BASE, CYCLIC_ARGS),
    Spec("hann", hann, CYCLIC_BASE, CYCLIC_ARGS),
    Spec("Cyclic.momentum_schedule", lambda **kw: Cyclic(0.1, 0.5, 4).momentum_schedule(**kw),
         {"base_momentum": 0.8, "max_momentum": 0.9},
         {"base_momentum": _arg(CLOSED01, 0, 0.0, 0.9), "max_momentum": _arg(CLOSED01, 1, 1.0, 0.8)}),
]
ONE_CYCLE_BASE = {"max_lr": 0.1, "total_steps": 100, "pct_start": 0.3, "div_factor": 25.0, "final_div_factor": 1e4,
                  "base_momentum": 0.85, "max_momentum": 0.95}
ONE_CYCLE_ARGS = {
    "max_lr": _arg(POS, 1e-300, 1e300),
    "total_steps": _arg(INT2, 4, np.int64(1000)),  # 4: pct_start * total_steps must exceed 1
    "pct_start": _arg(OPEN01, 0.1, 0.45),
    "div_factor": _arg(GE1, 1, 1.0, 1e6),
    "final_div_factor": _arg(GE1, 1, 1.0, 1e12),
    "base_momentum": _arg(CLOSED01, 0, 0.0, 0.95),
    "max_momentum": _arg(CLOSED01, 1, 1.0, 0.85),
}
for _three in (False, True):
    SPECS.append(Spec(f"OneCycle(three_phase={_three})", lambda _t=_three, **kw: OneCycle(**kw, three_phase=_t),
                      ONE_CYCLE_BASE, ONE_CYCLE_ARGS))
SPECS += [
    Spec("Cosine", Cosine, {"lr": 0.1, "T_max": 10, "eta_min": 0.0},
         {"lr": _arg(POS, 1e-300), "T_max": _arg(INT1, 1), "eta_min": _arg(NONNEG, 0, 0.0, 0.1)}),
    Spec("SGDR", SGDR, {"lr": 0.1, "T_0": 10, "T_mult": 2, "eta_min": 0.0},
         {"lr": _arg(POS, 1e-300), "T_0": _arg(INT1, 1), "T_mult": _arg(INT1, 1, np.int64(3)), "eta_min": _arg(NONNEG, 0, 0.1)}),
    Spec("ExponentialDecay", ExponentialDecay, {"lr": 0.1, "gamma": 0.9, "steps_per_epoch": 3},
         {"lr": _arg(POS, 1e-300), "gamma": _arg(GAMMA, 1, 1.0, 1e-9), "steps_per_epoch": _arg(INT1, 1)}),
    Spec("StepDecay", StepDecay, {"lr": 0.1, "step_size": 3, "gamma": 0.5},
         {"lr": _arg(POS, 1e-300), "step_size": _arg(INT1, 1), "gamma": _arg(GAMMA, 1, 1.0, 1e-9)}),
    Spec("Constant", Constant, {"lr": 0.1}, {"lr": _arg(POS, 1e-300, 1e300, 1)}),
    Spec("LinearWarmup", LinearWarmup, {"start_lr": 0.0, "end_lr": 0.1, "warmup_steps": 5},
         {"start_lr": _arg(NONNEG, 0, 0.05), "end_lr": _arg(POS, 1e-300, 1e300), "warmup_steps": _arg(INT1, 1)}),
    Spec("warmup", lambda **kw: warmup(Cosine(1.0, T_max=10), **kw), {"warmup_steps": 5, "start_lr": 0.0},
         {"warmup_steps": _arg(INT1, 1), "start_lr": _arg(NONNEG, 0, 0.5)}),
    Spec("join(boundaries)", lambda boundaries: join([Constant(1.0), Constant(2.0)], [boundaries]), {"boundaries": 5},
         {"boundaries": _arg(INT1, 1, np.int64(10**12))}),
]

# from_bounds: the bounds are checked under their own names, the schedule's own keywords pass through
_FB_CYCLIC = {"base_lr": _arg(NONNEG, 1e-3, 1e-2), "max_lr": _arg(POS, 1e-2), "step_size_up": CYCLIC_ARGS["step_size_up"],
              "step_size_down": CYCLIC_ARGS["step_size_down"], "gamma": CYCLIC_ARGS["gamma"]}
for _kind in ("triangular", "triangular2", "exp_range", "welch", "hann"):
    # base_lr=0 is left out here: Cyclic accepts it, from_bounds refuses it (reported separately)
    SPECS.append(Spec(f"from_bounds({_kind})", lambda _k=_kind, **kw: from_bounds(_k, **kw),
                      {"base_lr": 1e-4, "max_lr": 1e-2, "step_size_up": 5, "step_size_down": None, "gamma": 0.9}, _FB_CYCLIC))
SPECS += [
    Spec("from_bounds(one_cycle)", lambda **kw: from_bounds("one_cycle", **kw),
         {"base_lr": 1e-3, "max_lr": 0.1, "total_steps": 100, "pct_start": 0.3, "final_div_factor": 1e4},
         {"base_lr": _arg(POS, None, 0.1, 1e-300, none_ok=True), "max_lr": _arg(POS, 1e-3), "total_steps": ONE_CYCLE_ARGS["total_steps"],
          "pct_start": ONE_CYCLE_ARGS["pct_start"], "final_div_factor": ONE_CYCLE_ARGS["final_div_factor"]}),
    Spec("from_bounds(one_cycle, div_factor)", lambda **kw: from_bounds("one_cycle", None, 0.1, total_steps=100, **kw),
         {"div_factor": 25.0}, {"div_factor": ONE_CYCLE_ARGS["div_factor"]}),
    Spec("from_bounds(cosine)", lambda **kw: from_bounds("cosine", **kw), {"base_lr": 1e-3, "max_lr": 0.1, "T_max": 10},
         {"base_lr": _arg(NONNEG, 0, 0.0, None, 0.1, none_ok=True), "max_lr": _arg(POS, 1e-3), "T_max": _arg(INT1, 1)}),
    Spec("from_bounds(cosine, eta_min)", lambda **kw: from_bounds("cosine", None, 0.1, T_max=10, **kw), {"eta_min": 0.0},
         {"eta_min": _arg(NONNEG, 0, 0.1)}),
    Spec("from_bounds(sgdr)", lambda **kw: from_bounds("sgdr", **kw), {"base_lr": 1e-3, "max_lr": 0.1, "T_0": 10, "T_mult": 2},
         {"base_lr": _arg(NONNEG, 0, None, none_ok=True), "max_lr": _arg(POS, 1e-3), "T_0": _arg(INT1, 1), "T_mult": _arg(INT1, 1)}),
    Spec("from_bounds(exponential_decay)", lambda **kw: from_bounds("exponential_decay", **kw),
         {"base_lr": None, "max_lr": 0.1, "gamma": 0.9, "steps_per_epoch": 2},
         {"base_lr": _arg(POS, None, 0.1, none_ok=True), "max_lr": _arg(POS, 1e-300), "gamma": _arg(GAMMA, 1),
          "steps_per_epoch": _arg(INT1, 1)}),
    Spec("from_bounds(step_decay)", lambda **kw: from_bounds("step_decay", **kw),
         {"base_lr": None, "max_lr": 0.1, "step_size": 3, "gamma": 0.5},
         {"base_lr": _arg(POS, None, 0.1, none_ok=True), "max_lr": _arg(POS, 1e-300), "step_size": _arg(INT1, 1),
          "gamma": _arg(GAMMA, 1)}),
    Spec("from_bounds(constant)", lambda **kw: from_bounds("constant", **kw), {"base_lr": None, "max_lr": 0.1},
         {"base_lr": _arg(POS, None, 0.1, none_ok=True), "max_lr": _arg(POS, 1e-300, 1)}),
]
# an unused base_lr of 0 for the decays and constant is neither documented as legal nor as bad: not tested
_ZERO_UNDOCUMENTED = {("from_bounds(exponential_decay)", "base_lr"), ("from_bounds(step_decay)", "base_lr"),
                      ("from_bounds(constant)", "base_lr")}

SPEC_ARGS = [(spec, name) for spec in SPECS for name in spec.args]
_IDS = [f"{spec.label}-{name}" for spec, name in SPEC_ARGS]


def _refusal(spec: Spec, name: str, value: Any) -> str | None:
    """None when ``spec`` built with ``name=value`` raises the ValueError the rule asks for, else what went wrong."""
    try:
        made = spec.build(**{**spec.base, name: value})
    except ValueError as exc:
        msg = str(exc)
        problems = []
        if f"`{name}`" not in msg:
            problems.append(f"does not name `{name}`")
        if "Received" not in msg or repr(value) not in msg.split("Received", 1)[1]:
            problems.append(f"does not say 'Received: ...{value!r}...'")
        return f"{name}={value!r}: message {msg!r} " + ", ".join(problems) if problems else None
    except Exception as exc:  # noqa: BLE001 - any other exception type is the failure being reported
        return f"{name}={value!r}: raised {type(exc).__name__}({exc}) instead of ValueError"
    return f"{name}={value!r}: accepted, built {made!r}"


@pytest.mark.parametrize(("spec", "name"), SPEC_ARGS, ids=_IDS)
def test_every_bad_size_or_rate_is_refused_naming_the_argument(spec, name):
    domain, none_ok, _legal = spec.args[name]
    values = bad_values(domain, none_ok)
    if (spec.label, name) in _ZERO_UNDOCUMENTED:
        values = [v for v in values if not (type(v) in (int, float) and v == 0)]
    failures = [f for f in (_refusal(spec, name, v) for v in values) if f is not None]
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize(("spec", "name"), SPEC_ARGS, ids=_IDS)
def test_legal_edge_values_are_accepted(spec, name):
    # the other side of the domain table: the defaults build, and so do the edges the docstrings allow
    # (eta_min = 0, gamma = 1, momenta 0 and 1, div_factor = 1, numpy scalars, ...), so the refusals
    # above are refusals of the bad value and not of the base configuration
    spec.build(**spec.base)
    for value in spec.args[name][2]:
        spec.build(**{**spec.base, name: value})


def _bad_strategy(domain: tuple, none_ok: bool) -> st.SearchStrategy[Any]:
    """Any value outside ``domain`` (not only the fixed table above)."""
    kind = domain[0]
    junk = st.booleans() | st.text(max_size=4) | st.just(NAN) | st.sampled_from([INF, -INF])
    if not none_ok:
        junk = junk | st.none()
    if kind == "int":
        k = domain[1]
        return junk | st.integers(max_value=k - 1) | st.floats(allow_nan=False).filter(lambda v: not v.is_integer())
    neg = st.floats(max_value=-5e-324) | st.integers(max_value=-1)  # -0.0 is 0, legal where 0 is
    if kind == "nonneg":
        return junk | neg
    if kind == "pos":
        return junk | neg | st.sampled_from([0, 0.0, -0.0])
    if kind == "ge1":
        return junk | st.floats(max_value=1.0, exclude_max=True) | st.integers(max_value=0)
    _, lo, hi, closed = domain
    lo_closed, hi_closed = closed is True or closed == "low", closed is True or closed == "high"
    below = st.floats(max_value=-5e-324) if lo_closed else st.floats(max_value=lo)
    above = st.floats(min_value=hi, exclude_min=hi_closed, allow_infinity=False)
    return junk | below | above | st.integers(min_value=int(hi) + 1) | st.integers(max_value=int(lo) - (0 if not lo_closed else 1))


@given(st.data())
def test_any_out_of_domain_size_or_rate_is_refused_naming_the_argument(data):
    spec, name = data.draw(st.sampled_from(SPEC_ARGS), label="spec, argument")
    domain, none_ok, _legal = spec.args[name]
    value = data.draw(_bad_strategy(domain, none_ok), label="value")
    if (spec.label, name) in _ZERO_UNDOCUMENTED:
        assume(not (type(value) in (int, float) and value == 0))
    failure = _refusal(spec, name, value)
    assert failure is None, f"{spec.label}: {failure}"
