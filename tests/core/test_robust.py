"""The robust rules (drop, one_cycle): analytic curves, interval, confidence flag, properties."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lrscope.analysis import rules
from lrscope.analysis.curve import prepare_curve
from lrscope.analysis.robust import drop, drop_point, monotone_fall, one_cycle


def sigmoid_curve(center: float = -3.0, width: float = 0.5, n: int = 121, lo: float = -6, hi: float = 0):
    lrs = np.logspace(lo, hi, n)
    return lrs, 2 - np.tanh((np.log10(lrs) - center) / width)


def test_registered_and_reachable_by_name() -> None:
    assert "drop" in rules.available_rules() and "one_cycle" in rules.available_rules()
    lrs, y = sigmoid_curve()
    assert rules.suggest(lrs, y, "drop").lr == drop(lrs, y).lr


@pytest.mark.parametrize("center", [-4.0, -3.0, -2.0])
def test_drop_reads_the_half_fall_point(center: float) -> None:
    lrs, y = sigmoid_curve(center, width=0.4)
    s = drop(lrs, y, fraction=0.5, min_gap=0.0)
    assert abs(math.log10(s.lr) - center) <= 0.06
    assert s.confidence == "high"


def test_default_reads_a_quarter_of_the_fall() -> None:
    # 2 - tanh(u) falls from ~3 to ~1: a quarter of the fall is done at tanh(u) = -0.5
    lrs, y = sigmoid_curve(-3.0, width=0.5)
    s = drop(lrs, y)
    assert s.details["fraction"] == 0.25
    assert math.log10(s.lr) == pytest.approx(-3.0 + 0.5 * math.atanh(-0.5), abs=0.06)


def test_interval_brackets_the_suggestion_and_spans_the_steep_part() -> None:
    lrs, y = sigmoid_curve(-3.0, width=0.5)
    s = drop(lrs, y, fraction=0.5, min_gap=0.0)
    lo, hi = s.interval
    assert lo <= s.lr <= hi
    # the 25 % and 75 % crossings of a tanh of width 0.5 lie ~0.27 decades either side
    assert math.log10(lo) == pytest.approx(-3.27, abs=0.08)
    assert math.log10(hi) == pytest.approx(-2.73, abs=0.08)


def test_fraction_orders_suggestions() -> None:
    lrs, y = sigmoid_curve()
    got = [drop(lrs, y, fraction=f, min_gap=0.0).lr for f in (0.25, 0.5, 0.75)]
    assert got == sorted(got) and got[0] < got[-1]


def test_cap_keeps_away_from_the_blow_up() -> None:
    # flat, then a fall right before divergence (SGD without normalisation, FINDINGS 3)
    lrs = np.logspace(-6, 0, 121)
    u = np.log10(lrs)
    y = 2.3 - 1.5 / (1 + np.exp(-(u + 1.3) / 0.1)) + np.where(u > -1.0, 50 * (u + 1.0) ** 2, 0.0)
    s = drop(lrs, y, fraction=0.5, min_gap=1.0)
    lr_min = s.details["lr_at_min"]
    assert s.details["capped"] and s.lr == pytest.approx(lr_min / 10)
    assert "capped" in s.reason
    assert s.confidence in ("medium", "low")


def test_flat_curve_abstains_with_a_reason() -> None:
    lrs = np.logspace(-6, 0, 100)
    s = drop(lrs, np.full(100, 2.0))
    assert not s.found and "flat" in s.reason or "never fell" in s.reason


def test_confidence_low_for_a_noisy_curve() -> None:
    rng = np.random.default_rng(0)
    lrs, y = sigmoid_curve(-3.0, width=0.5, n=60)
    # a fall of 2 buried in noise of std 2.5: significant at only a few standard errors
    noisy = y + rng.normal(0, 2.5, y.size)
    s = drop(lrs, noisy, min_z=0.0)
    assert s.found
    assert s.confidence == "low"
    clean = drop(lrs, y)
    assert clean.confidence == "high"


def test_min_z_makes_it_abstain_on_noise() -> None:
    rng = np.random.default_rng(1)
    lrs = np.logspace(-6, 0, 80)
    s = drop(lrs, 2 + rng.normal(0, 1.0, 80), min_z=4.0)
    assert not s.found


def test_one_cycle_suggests_higher_than_drop() -> None:
    lrs = np.logspace(-6, 0, 121)
    u = np.log10(lrs)
    y = 2 - np.tanh((u + 3) / 0.5) + np.exp(3 * (u + 0.8))
    a, b = drop(lrs, y), one_cycle(lrs, y)
    assert b.lr > a.lr
    assert b.interval[0] <= b.lr <= b.interval[1]


@pytest.mark.parametrize(("arg", "value"), [("fraction", 0.0), ("fraction", 1.0), ("min_gap", -1.0), ("min_z", float("nan"))])
def test_bad_options_raise_naming_the_argument(arg: str, value: float) -> None:
    lrs, y = sigmoid_curve()
    with pytest.raises(ValueError, match=arg):
        drop(lrs, y, **{arg: value})


def test_drop_point_is_monotone_in_fraction() -> None:
    lrs, y = sigmoid_curve()
    c = prepare_curve(lrs, y)
    idx = [drop_point(c, f) for f in np.linspace(0.05, 0.95, 10)]
    assert idx == sorted(idx)


def test_an_early_dip_does_not_capture_the_reading() -> None:
    # a fall of 2 (3 -> 1) centred at 1e-3, and a dip of 1, 0.2 decades wide, at 10^-4.8: the dip
    # crosses the 35 % level (2.3) but the loss climbs back above it. The reading is on the real fall,
    # 2 - tanh(u) = 2.3 at u = atanh(-0.3): 10^(-3 - 0.155) (a first crossing read 10^-4.87).
    lrs, y = sigmoid_curve(-3.0, width=0.5, n=181)
    u = np.log10(lrs)
    dipped = y - 1.0 * np.exp(-(((u + 4.8) / 0.2) ** 2))
    s = drop(lrs, dipped, fraction=0.35, min_gap=0.0)
    assert math.log10(s.lr) == pytest.approx(-3.0 + 0.5 * math.atanh(-0.3), abs=0.05)
    # the interval too (17.5 % and 67.5 % of the fall) lies on the real fall, not in the dip
    assert math.log10(s.interval[0]) > -4.0
    assert s.lr == pytest.approx(drop(lrs, y, fraction=0.35, min_gap=0.0).lr, rel=0.05)


@given(st.lists(st.floats(min_value=-1e3, max_value=1e3, allow_nan=False), min_size=1, max_size=80))
def test_monotone_fall_is_the_least_squares_non_increasing_fit(ys: list) -> None:
    from sklearn.isotonic import IsotonicRegression

    y = np.array(ys)
    fit = monotone_fall(y)
    assert fit.shape == y.shape and np.all(np.diff(fit) <= 1e-9 * (1 + np.abs(fit[:-1])))
    ref = IsotonicRegression(increasing=False).fit_transform(np.arange(y.size), y)
    np.testing.assert_allclose(fit, ref, rtol=1e-9, atol=1e-9)
    # an L2 projection keeps the mean
    assert fit.sum() == pytest.approx(y.sum(), rel=1e-9, abs=1e-6)


@given(
    st.integers(0, 2**32 - 1),
    st.integers(20, 150),
    st.floats(min_value=-5.0, max_value=-1.0),
    st.floats(min_value=0.0, max_value=2.0),
    st.floats(min_value=0.05, max_value=0.95),
)
def test_drop_point_is_the_one_crossing_of_the_monotone_fall(
    seed: int, n: int, center: float, noise: float, fraction: float
) -> None:
    # a fall of 2 plus noise up to as large as the fall (a small-batch curve): noise dips are common
    lrs, y = sigmoid_curve(center, width=0.5, n=n)
    ys = y + np.random.default_rng(seed).normal(0.0, noise, n)
    c = prepare_curve(lrs, ys, min_z=0.0)
    if not c.ok:
        return
    i = drop_point(c, fraction)
    assert c.start <= i <= c.i_min and np.isfinite(c.smoothed[i])
    idx = [j for j in range(c.start, c.i_min + 1) if np.isfinite(c.smoothed[j])]
    fit = dict(zip(idx, monotone_fall(c.smoothed[idx])))
    target = fit[idx[0]] - fraction * (fit[idx[0]] - fit[idx[-1]])
    assert fit[i] <= target
    assert all(fit[j] > target for j in idx if j < i)
    # more of the fall is further along the curve
    assert drop_point(c, min(0.99, fraction + 0.2)) >= i


@given(
    st.lists(st.floats(min_value=-1e3, max_value=1e3, allow_nan=False), min_size=5, max_size=60),
    st.floats(min_value=0.05, max_value=0.95),
)
def test_any_finite_curve_gives_a_suggestion_in_range_or_a_reason(ys: list, fraction: float) -> None:
    lrs = np.logspace(-5, 0, len(ys))
    for fn in (drop, one_cycle):
        s = fn(lrs, np.array(ys), fraction=fraction, min_z=0.0)
        if s.found:
            assert lrs[0] * (1 - 1e-12) <= s.lr <= lrs[-1] * (1 + 1e-12)
            assert s.interval[0] <= s.lr <= s.interval[1]
            assert s.confidence in ("high", "medium", "low")
        else:
            assert s.reason


def long_fall_curve():
    """A slow fall over 4.5 decades (Adam on a language model, FINDINGS 6), then a blow-up."""
    lrs = np.logspace(-6, 0, 121)
    u = np.log10(lrs)
    return lrs, 3 - 0.3 * (u + 6) + np.where(u > -1.5, 50 * (u + 1.5) ** 2, 0.0)


def test_floor_raises_a_long_slow_fall_to_a_decade_below_the_turn() -> None:
    lrs, y = long_fall_curve()
    s = drop(lrs, y)  # default: fraction 0.35, floor a decade below where the bottom starts
    lr_min, lr_bottom = s.details["lr_at_min"], s.details["lr_at_bottom"]
    assert -1.8 < math.log10(lr_min) < -1.4  # the turn of the analytic curve
    assert lr_bottom <= lr_min and math.log10(lr_min / lr_bottom) < 0.25  # a sharp turn: bottom ~ argmin
    assert s.details["floored"] and s.lr == pytest.approx(lr_bottom / 10)
    assert "raised to 1 decade" in s.reason and s.confidence == "medium"
    lo, hi = s.interval
    assert lo == pytest.approx(lr_bottom / 10) and hi == pytest.approx(lr_min / 10**0.5)
    # without the floor the 35 % crossing lies ~1.5 decades lower (0.35 x 4.5 decades into the fall)
    plain = drop(lrs, y, max_gap=None)
    assert not plain.details["floored"] and math.log10(s.lr / plain.lr) > 1.2
    assert drop(lrs, y, max_gap=math.inf).lr == plain.lr


@pytest.mark.parametrize("max_gap", [1.0, 1.5, 2.0])
def test_suggestion_stays_in_the_window_below_the_turn(max_gap: float) -> None:
    for lrs, y in (long_fall_curve(), (np.logspace(-6, 0, 121), None)):
        if y is None:  # cliff before divergence (FINDINGS 3): the cap decides
            u = np.log10(lrs)
            y = 2.3 - 1.5 / (1 + np.exp(-(u + 1.3) / 0.1)) + np.where(u > -1.0, 50 * (u + 1.0) ** 2, 0.0)
        for f in (0.25, 0.5, 0.75):
            s = drop(lrs, y, fraction=f, max_gap=max_gap)
            gap = math.log10(s.details["lr_at_min"] / s.lr)
            assert 0.5 - 1e-9 <= gap <= max_gap + 1e-9


def test_no_floor_without_a_turn() -> None:
    # still falling / flat at the end of the sweep: the lowest point is not a turn, nothing to floor from
    lrs, y = sigmoid_curve(-3.0, width=0.5)
    s = drop(lrs, y)
    assert not s.details["floored"] and s.lr == drop(lrs, y, max_gap=None).lr
    assert abs(math.log10(s.lr) + 3.0) < 0.5  # on the fall, not 2 decades up the plateau


def test_max_gap_below_min_gap_raises() -> None:
    lrs, y = sigmoid_curve()
    with pytest.raises(ValueError, match="max_gap"):
        drop(lrs, y, min_gap=1.0, max_gap=0.5)


def test_floor_is_measured_from_where_a_flat_noisy_bottom_starts() -> None:
    # fall to a flat bottom from 1e-3 to the blow-up near 0.06: the argmin wanders along the bottom
    # with the noise, the start of the bottom (within 2 standard errors of the lowest) does not
    lrs = np.logspace(-6, 0, 121)
    u = np.log10(lrs)
    base = np.where(u < -3.0, 3 - 0.5 * (u + 6), 1.5) + np.where(u > -1.2, 50 * (u + 1.2) ** 2, 0.0)
    got, mins = [], []
    for seed in range(5):
        s = drop(lrs, base + 0.02 * np.random.default_rng(seed).standard_normal(len(u)))
        assert s.details["floored"] and abs(math.log10(s.details["lr_at_bottom"]) + 3.0) <= 0.35
        assert s.lr == pytest.approx(s.details["lr_at_bottom"] / 10)
        got.append(math.log10(s.lr))
        mins.append(math.log10(s.details["lr_at_min"]))
    assert max(mins) - min(mins) >= 0.8  # a floor from the argmin would move by as much
    assert max(got) - min(got) <= 0.3
