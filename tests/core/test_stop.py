"""The shared stop rule: agrees with ema, fires at the documented threshold, never on step 1."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lrscope.analysis import StopRule, ema
from lrscope.analysis.stop import STOP_DIVERGED, STOP_NONFINITE


@given(st.lists(st.floats(0.1, 10.0), min_size=1, max_size=50))
def test_smoothed_value_equals_ema(xs):
    rule = StopRule(diverge_threshold=1e9)
    assert rule.update_many(xs) is None
    assert rule.smoothed == pytest.approx(ema(xs)[-1], rel=1e-12)
    assert rule.best == pytest.approx(float(np.min(ema(xs))), rel=1e-12)


def test_fires_at_threshold_times_best_with_beta_zero():
    rule = StopRule(diverge_threshold=4.0, beta=0.0)
    assert rule.update_many([1.0, 0.5, 2.0]) is None  # 2.0 == 4 x 0.5: not above
    d = rule.update(2.01)
    assert d is not None and d.reason == STOP_DIVERGED and d.index == 3


def test_first_step_never_fires_and_nonfinite_stops():
    rule = StopRule()
    assert rule.update(100.0) is None
    d = rule.update_many([1.0, math.nan, 2.0])
    assert d.reason == STOP_NONFINITE and d.index == 2


def test_negative_losses_use_absolute_best():
    rule = StopRule(diverge_threshold=2.0, beta=0.0)
    assert rule.update_many([-1.0, -2.0, -0.01]) is None  # rise 1.99 <= (2-1) * |-2|
    assert rule.update(0.01).reason == STOP_DIVERGED


@pytest.mark.parametrize("thr", [1.0, 0.5, math.inf, math.nan, "4"])
def test_bad_threshold(thr):
    with pytest.raises(ValueError, match="diverge_threshold"):
        StopRule(diverge_threshold=thr)
