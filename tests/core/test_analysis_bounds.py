"""Cyclical bounds from a loss curve and from an accuracy curve, against the analytic answer."""

import math

import numpy as np
import pytest

from lrscope.analysis import Bounds, loss_bounds, metric_bounds

LRS = np.logspace(-6, 0, 301)  # 0.02 decades per step
U = np.log10(LRS)
START = int(0.1 * LRS.size)  # default skip_start


def _first(u, f, below):
    """First u (on a fine grid) where f(u) <= below."""
    return u[np.flatnonzero(f <= below)[0]]


def test_loss_bounds_on_tanh_with_divergence():
    def f(u):
        return 2.0 - np.tanh((u + 3) / 0.5) + np.where(u > -1.0, 30 * (u + 1.0) ** 2, 0.0)

    fine = np.linspace(U[START], 0, 200001)
    level, low = f(U[START]), f(fine).min()
    drop = level - low
    b = loss_bounds(LRS, f(U))
    assert b.found and b.method == "loss"
    assert abs(math.log10(b.base_lr) - _first(fine, f(fine), level - 0.1 * drop)) <= 0.05
    assert abs(math.log10(b.max_lr) - _first(fine, f(fine), level - 0.9 * drop)) <= 0.05
    assert b.base_lr < b.max_lr < 10 ** fine[np.argmin(f(fine))]
    assert "base_lr" in b.reason and "max_lr" in b.reason


def test_loss_bounds_fractions():
    y = 2.0 - np.tanh((U + 3) / 0.5)
    a = loss_bounds(LRS, y)
    b = loss_bounds(LRS, y, base_fraction=0.3, max_fraction=0.6)
    assert a.base_lr < b.base_lr < b.max_lr < a.max_lr


def _acc(u):
    """Accuracy: sigmoid rise centred at 1e-3, then falls above 10**-1.5."""
    a = 0.1 + 0.8 / (1.0 + np.exp(-(u + 3) / 0.3))
    return a - np.where(u > -1.5, 2.0 * (u + 1.5) ** 2, 0.0)


def test_metric_bounds_on_sigmoid_then_fall():
    fine = np.linspace(U[START], 0, 200001)
    a0, peak = _acc(U[START]), _acc(fine).max()
    rise = peak - a0
    b = metric_bounds(LRS, _acc(U))
    assert b.found and b.method == "metric"
    assert abs(math.log10(b.base_lr) - _first(fine, -_acc(fine), -(a0 + 0.1 * rise))) <= 0.05
    assert abs(math.log10(b.max_lr) - _first(fine, -_acc(fine), -(a0 + 0.9 * rise))) <= 0.05
    assert "rises" in b.reason


def test_metric_bounds_lower_is_better_is_the_mirror():
    a = metric_bounds(LRS, _acc(U))
    b = metric_bounds(LRS, 1.0 - _acc(U), higher_is_better=False)
    assert (a.base_lr, a.max_lr) == pytest.approx((b.base_lr, b.max_lr))


def test_metric_bounds_stop_where_the_curve_turns_ragged():
    rng = np.random.default_rng(0)
    noise = np.where(U > -2.8, 0.08, 0.002) * rng.normal(size=U.size)
    smooth = metric_bounds(LRS, _acc(U) + np.where(U > -2.8, 0, 1) * noise)
    ragged = metric_bounds(LRS, _acc(U) + noise)
    assert math.log10(smooth.max_lr) > -2.45
    assert -2.85 <= math.log10(ragged.max_lr) <= -2.6
    assert "ragged" in ragged.reason
    assert math.log10(metric_bounds(LRS, _acc(U) + noise, ragged_factor=None).max_lr) > -2.6


def test_flat_metric_abstains():
    b = metric_bounds(LRS, np.full(LRS.size, 0.1))
    assert isinstance(b, Bounds) and not b.found and "flat" in b.reason


def test_loss_bounds_abstain_on_nan_curve():
    b = loss_bounds(LRS, np.full(LRS.size, np.nan))
    assert not b.found and "non-finite" in b.reason


def test_step_curve_has_no_range():
    y = np.where(U < -3, 2.0, 1.0)
    b = loss_bounds(LRS, y, bandwidth=0, robust=False)
    assert not b.found and "within one step" in b.reason


@pytest.mark.parametrize(
    ("kw", "name"),
    [({"base_fraction": 0.0}, "base_fraction"), ({"max_fraction": 1.0}, "max_fraction"), ({"base_fraction": 0.95}, "max_fraction")],
)
def test_bad_fractions(kw, name):
    with pytest.raises(ValueError, match=name):
        loss_bounds(LRS, U, **kw)


def test_bad_metric_options():
    with pytest.raises(ValueError, match="ragged_factor"):
        metric_bounds(LRS, U, ragged_factor=0.5)
    with pytest.raises(ValueError, match="higher_is_better"):
        metric_bounds(LRS, U, higher_is_better="yes")


def test_metric_bounds_quantised_accuracy_is_not_ragged_at_the_first_wiggle():
    # accuracy measured on 256 samples: exactly flat before it rises (quantised), mildly noisy during
    # the rise, wildly ragged after lr=0.02. max_lr must sit at the raggedness, not at the first wiggle.
    rng = np.random.default_rng(0)
    lrs = np.geomspace(1e-5, 0.5, 120)
    x = np.log10(lrs)
    acc = 0.11 + 0.6 / (1 + np.exp(-(x + 2.5) / 0.35))
    acc += np.where(lrs > 1e-3, rng.normal(0, 0.01, lrs.size), 0.0)
    acc += np.where(lrs > 0.02, rng.normal(0, 0.08, lrs.size), 0.0)
    acc = np.round(acc * 256) / 256
    b = metric_bounds(lrs, acc)
    assert b.found
    assert 10**-4.0 < b.base_lr < 10**-3.0
    assert 0.004 < b.max_lr <= 0.03, b


def test_max_lr_keeps_half_a_decade_below_a_blow_up_right_after_the_fall():
    # the fall ends right at the blow-up: 90 % of it lies within a tenth of a decade of the lowest loss
    def f(u):
        return 2.0 - np.tanh((u + 1.3) / 0.4) + np.where(u > -0.5, 60 * (u + 0.5) ** 2, 0.0)

    fine = np.linspace(U[START], 0, 200001)
    level, low = f(U[START]), f(fine).min()
    u_min = fine[np.argmin(f(fine))]
    u90 = _first(fine, f(fine), level - 0.9 * (level - low))
    assert u_min - u90 < 0.5  # the fixture: the uncapped max_lr would sit inside the cap
    free = loss_bounds(LRS, f(U), min_gap=None)
    assert abs(math.log10(free.max_lr) - u90) <= 0.05
    b = loss_bounds(LRS, f(U))
    # the cap hangs from the lowest *smoothed* loss (the smoother blends in the blow-up, so it sits a
    # little before the analytic minimum)
    lr_min = LRS[b.details["peak_index"]]
    assert abs(math.log10(lr_min) - u_min) <= 0.2
    assert b.found and b.max_lr <= lr_min / 10**0.5 * (1 + 1e-9)
    assert math.log10(b.max_lr) >= math.log10(lr_min) - 0.5 - 0.021  # the largest grid point under the cap
    assert "capped 0.5 decade(s) below the lowest loss" in b.reason
    assert b.base_lr == free.base_lr
    wide = loss_bounds(LRS, f(U), min_gap=1.0)
    assert wide.max_lr <= lr_min / 10 * (1 + 1e-9)


def test_a_cap_that_leaves_no_range_abstains_and_bad_min_gap_is_named():
    def f(u):  # a sharp fall right before the blow-up: 10 % and 90 % of it both inside the cap
        return 2.0 - np.tanh((u + 0.8) / 0.05) + np.where(u > -0.7, 60 * (u + 0.7) ** 2, 0.0)

    b = loss_bounds(LRS, f(U))
    assert not b.found and "no range to cycle over" in b.reason and "0.5 decade" in b.reason
    assert loss_bounds(LRS, f(U), min_gap=None).found
    for bad in (-0.1, math.nan, "half", True):
        with pytest.raises(ValueError, match="Argument `min_gap` must be a finite number of decades >= 0, or None"):
            loss_bounds(LRS, f(U), min_gap=bad)
