"""Hypothesis: every rule on any curve gives an LR inside the swept range or a reasoned abstention."""

import math

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from lrscope.analysis import RULES, candidates, loss_bounds, metric_bounds, suggest, validate_curve

losses_any = st.floats(allow_nan=True, allow_infinity=True, width=64)


@st.composite
def curves(draw):
    n = draw(st.integers(1, 80))
    kind = draw(st.sampled_from(["exp", "linear", "random"]))
    start = draw(st.floats(1e-9, 1.0))
    if kind == "exp":
        ratio = draw(st.floats(1.001, 3.0))
        lrs = start * ratio ** np.arange(n)
    elif kind == "linear":
        step = draw(st.floats(1e-6, 1.0))
        lrs = start + step * np.arange(n)
    else:
        steps = draw(arrays(np.float64, n, elements=st.floats(1e-3, 2.0)))
        lrs = start * np.exp(np.cumsum(steps))
    elements = draw(st.sampled_from([losses_any, st.floats(-1e3, 1e3), st.floats(0.0, 10.0, allow_nan=False) | st.just(math.nan)]))
    losses = draw(arrays(np.float64, n, elements=elements))
    if draw(st.booleans()):  # a plausible falling curve underneath
        losses = losses * 0.01 + np.linspace(3, 1, n)
    return lrs, losses


def _inside(lr, lrs):
    return lrs[0] <= lr <= lrs[-1]


@given(curves())
def test_every_rule_suggests_inside_the_range_or_abstains(curve):
    lrs, losses = curve
    for name in RULES:
        s = suggest(lrs, losses, name)
        assert s.method == name
        if s.found:
            assert math.isfinite(s.lr) and _inside(s.lr, lrs), (name, s)
            if s.index is not None:
                assert 0 <= s.index < lrs.size
            if s.interval is not None:
                assert _inside(s.interval[0], lrs) and _inside(s.interval[1], lrs)
        else:
            assert s.reason, (name, s)
        assert s.confidence in (None, "low", "medium", "high")
        str(s)


_HUGE = -(2.0**1023)  # CI found these: arithmetic on such losses overflowed (a warning, so an error)


@given(curves())
@example((3.0 ** np.arange(12), np.r_[0.0, np.full(11, _HUGE)]))
@example((2.0 ** np.arange(7), np.r_[np.full(6, _HUGE), 0.0]))
@example((2.0 ** np.arange(7), np.r_[np.full(6, -_HUGE), 0.0]))
@example((2.0 ** np.arange(30), np.r_[np.zeros(26), -1e150, -1e150, 0.0, 1.0]))
@example((2.0 ** np.arange(30), np.r_[np.zeros(26), -1e100, -1e100, 0.0, 1.0]))
@example((2.0 ** np.arange(30), np.r_[np.zeros(26), 1e100, -1e100, 0.0, 1.0]))
def test_candidates_and_bounds_never_raise(curve):
    lrs, losses = curve
    cands = candidates(lrs, losses)
    assert cands
    found = [c for c in cands if c.found]
    if found:
        assert all(_inside(c.lr, lrs) for c in found)
        got = [c.lr for c in found]
        assert got == sorted(got)
        assert all(b / a >= 1.2 - 1e-12 for a, b in zip(got, got[1:]))
    else:
        assert len(cands) == 1 and cands[0].reason
    for b in (loss_bounds(lrs, losses), metric_bounds(lrs, losses)):
        if b.found:
            assert _inside(b.base_lr, lrs) and _inside(b.max_lr, lrs) and b.base_lr < b.max_lr
        else:
            assert b.reason


@given(curves(), st.data())
def test_malformed_lrs_raise_value_error_naming_the_argument(curve, data):
    lrs, losses = curve
    bad = lrs.copy()
    i = data.draw(st.integers(0, lrs.size - 1))
    bad[i] = data.draw(st.sampled_from([0.0, -1.0, math.nan, math.inf, -math.inf]))
    with pytest.raises(ValueError, match="`lrs`"):
        validate_curve(bad, losses)
    for name in RULES:
        with pytest.raises(ValueError, match="`lrs`"):
            suggest(bad, losses, name)
    with pytest.raises(ValueError, match="same length"):
        suggest(lrs, np.append(losses, 1.0), "valley")
    if lrs.size >= 2:
        with pytest.raises(ValueError, match="strictly increasing"):
            suggest(lrs[::-1], losses, "valley")


@given(curves())
def test_loss_bounds_max_lr_keeps_its_distance_from_the_turn(curve):
    lrs, losses = curve
    b = loss_bounds(lrs, losses)
    if b.found:  # max_lr is never within half a decade of the lowest smoothed loss
        assert b.max_lr <= float(np.asarray(lrs, dtype=float)[b.details["peak_index"]]) / 10**0.5 * (1 + 1e-12)
