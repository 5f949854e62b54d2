"""Curve preparation: validation, sweep inference, slopes, trimming, the noise test."""

import math

import numpy as np
import pytest

from lrscope.analysis import infer_sweep, prepare_curve, slope, validate_curve

LRS = np.logspace(-6, 0, 241)
U = np.log10(LRS)


class TestValidate:
    def test_returns_float64_copies_and_keeps_nan_losses(self):
        lrs, losses = validate_curve([1e-3, 1e-2, 1e-1], [1, np.nan, np.inf])
        assert lrs.dtype == losses.dtype == np.float64
        assert math.isnan(losses[1]) and math.isinf(losses[2])

    @pytest.mark.parametrize(
        ("lrs", "losses", "match"),
        [
            ([1e-3, 1e-2], [1.0], r"same length.*len\(lrs\)=2, len\(losses\)=1"),
            ([[1e-3, 1e-2]], [[1.0, 2.0]], r"`lrs` must be 1-D.*\(1, 2\)"),
            ([1e-3, 1e-2], [[1.0, 2.0]], r"`losses` must be 1-D"),
            ([], [], "at least one point"),
            ([1e-3, 0.0], [1.0, 2.0], r"positive finite.*lrs\[1\]=0.0"),
            ([1e-3, -1.0], [1.0, 2.0], r"positive finite.*lrs\[1\]=-1.0"),
            ([1e-3, np.nan], [1.0, 2.0], r"positive finite.*lrs\[1\]=nan"),
            ([1e-3, np.inf], [1.0, 2.0], r"positive finite.*lrs\[1\]=inf"),
            ([1e-2, 1e-3], [1.0, 2.0], r"strictly increasing.*lrs\[1\]=0.001 after lrs\[0\]=0.01"),
            ([1e-2, 1e-2], [1.0, 2.0], r"strictly increasing"),
            (["a", "b"], [1.0, 2.0], r"`lrs` must be an array of real numbers"),
            ([1e-2, 1e-1], ["x", 2.0], r"`losses` must be an array of real numbers"),
        ],
    )
    def test_malformed(self, lrs, losses, match):
        with pytest.raises(ValueError, match=match):
            validate_curve(lrs, losses)


def test_infer_sweep():
    assert infer_sweep(np.logspace(-7, 1, 100)) == "exp"
    assert infer_sweep(1e-7 * (10.0 ** (8 / 99)) ** np.arange(60, dtype=np.float32)) == "exp"  # stopped early, float32
    assert infer_sweep(np.linspace(1e-4, 1, 100)) == "linear"
    assert infer_sweep([0.1, 1.0]) == "exp"


def test_slope_is_per_decade():
    y = 3.0 - 2.0 * U  # falls 2 per decade
    np.testing.assert_allclose(slope(U, y), -2.0)
    c = prepare_curve(LRS, y, bandwidth=0.2)
    np.testing.assert_allclose(c.slope[c.window], -2.0, atol=1e-9)


def test_slope_linear_sweep_is_per_unit_lr():
    lrs = np.linspace(0.01, 1, 100)
    c = prepare_curve(lrs, 5 - 3 * lrs)
    assert c.sweep == "linear"
    np.testing.assert_allclose(c.slope[c.window], -3.0, atol=1e-9)


def test_skip_start_fraction_and_steps():
    y = 2 - np.tanh(U + 3)
    assert prepare_curve(LRS, y).start == 24
    assert prepare_curve(LRS, y, skip_start=0.25).start == 60
    assert prepare_curve(LRS, y, skip_start=7).start == 7


def test_diverged_end_at_threshold_times_minimum():
    y = 2 - np.tanh((U + 3) / 0.5)  # min ~1.0
    y = np.where(U > -1, 1.0 + 100 * (U + 1) ** 2, y)  # crosses 4x at U = -1 + sqrt(0.03) ~ -0.827
    c = prepare_curve(LRS, y)
    assert U[c.stop] == pytest.approx(-1 + math.sqrt(0.03), abs=0.03)
    assert "diverged at step" in c.end_reason
    assert np.isnan(c.smoothed[c.stop :]).all() and np.isfinite(c.smoothed[: c.stop]).all()
    assert prepare_curve(LRS, y, diverge_threshold=None).stop == LRS.size


def test_diverged_end_ignores_a_single_spike():
    y = 2 - np.tanh((U + 3) / 0.5)
    y[150] = 1e6
    assert prepare_curve(LRS, y).stop == LRS.size


def test_small_rise_near_zero_loss_is_not_divergence():
    y = 0.01 + 2.3 * (1 - np.tanh((U + 3) / 0.5)) / 2 + np.where(U > -1, 0.04 * (U + 1), 0)
    assert prepare_curve(LRS, y).stop == LRS.size  # 0.01 -> 0.05 is 5x but a tiny part of the fall


def test_nonfinite_tail_ends_the_curve_but_gaps_do_not():
    y = 2 - np.tanh(U + 3)
    y[100] = np.nan
    y[150:153] = np.nan  # a run of 3 > max_gap
    c = prepare_curve(LRS, y)
    assert c.stop == 150 and "non-finite" in c.end_reason
    assert np.isfinite(c.smoothed[100])
    assert prepare_curve(LRS, y, max_gap=3).stop == LRS.size


def test_noise_and_z():
    clean = prepare_curve(LRS, 2 - np.tanh(U + 3))
    assert clean.ok and clean.confidence == "high" and clean.z > 1e3
    rng = np.random.default_rng(0)
    c = prepare_curve(LRS, 2 - np.tanh(U + 3) + rng.normal(0, 0.1, LRS.size))
    assert c.noise == pytest.approx(0.1, rel=0.3)
    assert c.ok and c.z < clean.z


def test_min_z_zero_turns_the_noise_test_off():
    rng = np.random.default_rng(5)
    y = 2 + rng.normal(0, 0.1, LRS.size)
    assert prepare_curve(LRS, y, min_z=0).ok or "never fell" in prepare_curve(LRS, y, min_z=0).problem


@pytest.mark.parametrize(
    ("kw", "name"),
    [
        ({"skip_start": 1.0}, "skip_start"),
        ({"skip_start": -1}, "skip_start"),
        ({"skip_start": True}, "skip_start"),
        ({"diverge_threshold": 1.0}, "diverge_threshold"),
        ({"bandwidth": -0.1}, "bandwidth"),
        ({"max_gap": -1}, "max_gap"),
        ({"min_z": math.nan}, "min_z"),
        ({"sweep": "log"}, "sweep"),
    ],
)
def test_bad_options(kw, name):
    with pytest.raises(ValueError, match=f"`{name}`"):
        prepare_curve(LRS, U, **kw)


def test_summary_is_json_friendly():
    import json

    json.dumps(prepare_curve(LRS, 2 - np.tanh(U + 3)).summary())
