"""Smoothers: exact values from independent formulas, and the NaN / spike / lag behaviour."""

import math
import statistics

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lrscope.analysis import ema, hampel, local_linear, median_filter, noise_sigma, robust_ema, smooth_log_lr
from lrscope.analysis.smoothing import default_bandwidth


def _ema_reference(x, beta):
    """Bias-corrected EMA as a normalised weighted mean of the finite values seen so far."""
    out = []
    seen = []
    for v in x:
        if not math.isfinite(v):
            out.append(math.nan)
            continue
        seen.append(v)
        w = [beta ** (len(seen) - 1 - k) for k in range(len(seen))]
        out.append(sum(wi * vi for wi, vi in zip(w, seen)) / sum(w))
    return out


class TestEma:
    def test_constant_input_gives_constant_output(self):
        np.testing.assert_allclose(ema(np.full(50, 3.5)), 3.5, rtol=1e-12)

    def test_first_value_is_first_loss(self):
        assert ema([2.7, 1.0, 0.5])[0] == 2.7

    def test_three_point_hand_example(self):
        # beta=0.5: avg = 0.5, 1.25, 2.125; corrections 0.5, 0.75, 0.875
        np.testing.assert_allclose(ema([1.0, 2.0, 3.0], beta=0.5), [1.0, 1.25 / 0.75, 2.125 / 0.875], rtol=1e-12)

    def test_matches_normalised_weighted_mean(self):
        rng = np.random.default_rng(3)
        x = rng.normal(size=40)
        x[[5, 17]] = [np.nan, np.inf]
        np.testing.assert_allclose(ema(x, 0.9), _ema_reference(x.tolist(), 0.9), rtol=1e-10)

    def test_nan_is_skipped_not_spread(self):
        out = ema([1.0, np.nan, 3.0], beta=0.5)
        assert math.isnan(out[1])
        assert out[2] == pytest.approx((0.5 * 1.0 + 3.0) / 1.5)

    @pytest.mark.parametrize("beta", [-0.1, 1.0, 2.0, "0.9"])
    def test_bad_beta(self, beta):
        with pytest.raises(ValueError, match="beta"):
            ema([1.0], beta)


class TestRobust:
    def test_median_filter_example(self):
        assert median_filter([1.0, 9.0, 1.0, 1.0], window=3).tolist() == [5.0, 1.0, 1.0, 1.0]

    def test_median_filter_all_nan_window_is_nan_without_warning(self):
        out = median_filter([np.nan, np.nan, np.nan, 1.0], window=3)
        assert math.isnan(out[0]) and out[3] == 1.0

    def test_hampel_replaces_spike_by_local_median(self):
        x = np.array([1.0, 1.1, 0.9, 50.0, 1.0, 1.1, 0.9])
        out = hampel(x)
        assert out[3] == pytest.approx(1.0)
        np.testing.assert_array_equal(np.delete(out, 3), np.delete(x, 3))

    def test_hampel_keeps_smooth_curve_and_nan(self):
        x = np.linspace(3, 1, 30)
        x[10] = np.nan
        out = hampel(x)
        np.testing.assert_array_equal(np.isnan(out), np.isnan(x))
        np.testing.assert_array_equal(out[~np.isnan(x)], x[~np.isnan(x)])

    def test_causal_hampel_ignores_the_future(self):
        x = np.ones(10)
        y = x.copy()
        y[8:] = 100.0  # changes later points only
        np.testing.assert_array_equal(hampel(x, causal=True)[:8], hampel(y, causal=True)[:8])

    def test_robust_ema_ignores_single_spike(self):
        x = np.ones(20)
        x[12] = 1000.0
        np.testing.assert_allclose(robust_ema(x), 1.0, rtol=1e-12)
        assert ema(x)[12] > 10  # the plain EMA is dragged

    @pytest.mark.parametrize("kw", [{"window": 0}, {"window": 2.5}, {"n_sigmas": 0}])
    def test_bad_arguments(self, kw):
        with pytest.raises(ValueError, match=next(iter(kw))):
            hampel([1.0, 2.0], **kw)


def _hampel_causal_reference(x, window=7, n_sigmas=3.0):
    """The documented Hampel rule with trailing windows, by explicit loops over the finite values."""
    out = []
    for i, v in enumerate(x):
        win = [u for u in x[max(0, i - window + 1) : i + 1] if math.isfinite(u)]
        if not math.isfinite(v) or not win:
            out.append(v)
            continue
        m = statistics.median(win)
        mad = statistics.median([abs(u - m) for u in win])
        out.append(m if abs(v - m) > n_sigmas * 1.4826 * mad else v)
    return out


BAD = [math.nan, math.inf, -math.inf]


class TestRobustEmaNonFinite:
    """robust_ema = ema(causal hampel(losses)): a NaN/inf loss is skipped (NaN out, not counted) and
    never reaches a later point, neither through the Hampel windows nor through the average."""

    @pytest.mark.parametrize("bad", BAD)
    def test_non_finite_is_nan_there_and_spikes_after_it_are_still_removed(self, bad):
        x = np.ones(20)
        x[[5, 6]] = bad  # inside the trailing windows of the spike below
        x[9] = 1000.0
        out = robust_ema(x)
        assert np.isnan(out[[5, 6]]).all()
        np.testing.assert_allclose(np.delete(out, [5, 6]), 1.0, rtol=1e-12)  # the spike at 9 is gone

    @pytest.mark.parametrize("bad", BAD)
    def test_leading_non_finite_then_the_first_finite_loss_exactly(self, bad):
        out = robust_ema([bad, bad, 2.0, 3.0], beta=0.5)
        assert np.isnan(out[:2]).all()
        assert out[2] == 2.0  # n counts finite losses only: the first one is returned exactly
        assert out[3] == pytest.approx((0.5 * 2.0 + 3.0) / 1.5, rel=1e-15)

    @pytest.mark.parametrize("bad", BAD)
    def test_a_gap_longer_than_the_window_keeps_the_average_going(self, bad):
        # the average neither restarts nor decays over the gap: it is the finite losses' EMA
        x = [1.0, 2.0, 3.0] + [bad] * 10 + [4.0, 5.0]
        out = robust_ema(x, beta=0.5)
        assert np.isnan(out[3:13]).all()
        expected = _ema_reference([1.0, 2.0, 3.0, 4.0, 5.0], 0.5)
        np.testing.assert_allclose(np.r_[out[:3], out[13:]], expected, rtol=1e-14)

    def test_plain_ema_is_not_poisoned_by_inf_either(self):
        out = ema([1.0, np.inf, -np.inf, 3.0], beta=0.5)
        assert np.isnan(out[1:3]).all()
        assert out[3] == pytest.approx((0.5 * 1.0 + 3.0) / 1.5, rel=1e-15)

    @given(
        st.lists(
            st.floats(-1e3, 1e3) | st.integers(-3, 3).map(float) | st.sampled_from(BAD),  # small ints: ties, MAD = 0
            max_size=60,
        ),
        st.sampled_from([0.0, 0.5, 0.9, 0.98]),
        st.integers(1, 9),
    )
    def test_matches_the_documented_composition_exactly(self, x, beta, window):
        out = robust_ema(x, beta=beta, window=window)
        bad = ~np.isfinite(np.asarray(x, dtype=np.float64))
        np.testing.assert_array_equal(np.isnan(out), bad)  # NaN exactly at the non-finite losses
        expected = np.array(_ema_reference(_hampel_causal_reference(x, window), beta))
        np.testing.assert_allclose(out, expected, rtol=1e-9, atol=1e-9)

    @given(
        st.lists(st.floats(-1e3, 1e3) | st.sampled_from(BAD), min_size=1, max_size=60),
        st.lists(st.sampled_from(BAD), min_size=60, max_size=60),
        st.integers(0, 60),
    )
    def test_which_non_finite_value_it_was_does_not_matter_and_the_future_does_not_either(self, x, other, k):
        out = robust_ema(x)
        swapped = [o if not math.isfinite(v) else v for v, o in zip(x, other)]
        np.testing.assert_array_equal(robust_ema(swapped), out)
        np.testing.assert_array_equal(robust_ema(x[:k]), out[:k])  # causal


class TestLocalLinear:
    def test_reproduces_straight_lines_exactly(self):
        x = np.sort(np.random.default_rng(0).uniform(-5, 0, 80))
        y = 3.0 - 2.0 * x
        for h in (0.05, 0.3, 10.0):
            np.testing.assert_allclose(local_linear(x, y, h)[0], y, atol=1e-9)

    def test_huge_bandwidth_is_ols_with_leverage(self):
        rng = np.random.default_rng(1)
        x = np.linspace(0, 1, 25)
        y = rng.normal(size=25)
        f, g = local_linear(x, y, 1e6)
        slope, icpt = np.polyfit(x, y, 1)
        np.testing.assert_allclose(f, icpt + slope * x, atol=1e-7)
        lev = 1 / 25 + (x - x.mean()) ** 2 / ((x - x.mean()) ** 2).sum()
        np.testing.assert_allclose(g, np.sqrt(lev), rtol=1e-6)

    def test_zero_bandwidth_is_identity(self):
        f, g = local_linear([1.0, 2.0, 3.0], [3.0, np.nan, 1.0], 0.0)
        assert f[0] == 3.0 and math.isnan(f[1]) and f[2] == 1.0

    def test_nan_does_not_poison_neighbours(self):
        x = np.linspace(-4, 0, 41)
        y = np.cos(x)
        y[20] = np.nan
        f, _ = local_linear(x, y, 0.2)
        assert math.isnan(f[20]) and np.isfinite(np.delete(f, 20)).all()
        filled, _ = local_linear(x, y, 0.2, fill_missing=True)
        assert filled[20] == pytest.approx(np.cos(x[20]), abs=0.02)

    def test_symmetric_smoother_does_not_lag_but_ema_does(self):
        x = np.linspace(-6, 0, 241)
        y = -np.exp(-(((x + 3) / 0.3) ** 2))  # dip centred at -3
        f = smooth_log_lr(10**x, y + np.random.default_rng(2).normal(0, 0.02, x.size))
        assert abs(x[np.argmin(f)] - (-3)) <= 0.05
        assert x[np.argmin(ema(y))] > -3 + 0.2  # the causal EMA shifts it to higher LRs

    def test_default_bandwidth(self):
        assert default_bandwidth(np.logspace(-7, 1, 1000), "exp") == pytest.approx(0.1)
        assert default_bandwidth(np.logspace(-7, 1, 9), "exp") == pytest.approx(2.0)
        assert default_bandwidth(np.linspace(0.1, 1.1, 1001), "linear") == pytest.approx(0.02)

    def test_bad_bandwidth(self):
        with pytest.raises(ValueError, match="bandwidth"):
            local_linear([1.0], [1.0], -1.0)
        with pytest.raises(ValueError, match="sweep"):
            smooth_log_lr([1.0], [1.0], sweep="log")


def test_noise_sigma_on_trend_plus_noise():
    rng = np.random.default_rng(4)
    x = np.linspace(0, 1, 4000)
    assert noise_sigma(5 - 3 * x + rng.normal(0, 0.2, x.size)) == pytest.approx(0.2, rel=0.1)
    assert noise_sigma(5 - 3 * x) == pytest.approx(0.0, abs=1e-12)
    assert noise_sigma([1.0, np.nan]) == 0.0
