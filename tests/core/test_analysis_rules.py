"""Suggestion rules on analytic curves with a known answer, abstentions, and the registry."""

import math

import numpy as np
import pytest

from lrscope.analysis import (
    DEFAULT_METHOD,
    RULES,
    Suggestion,
    available_rules,
    candidates,
    loss_bounds,
    metric_bounds,
    minimum,
    register_rule,
    slide,
    steepest,
    suggest,
    suggest_all,
    valley,
)

LRS = np.logspace(-6, 0, 241)  # 0.025 decades per step
U = np.log10(LRS)
EXACT = {"bandwidth": 0, "robust": False, "skip_start": 0, "diverge_threshold": None}


def tanh_curve(c=-3.0, w=0.5, tail=True):
    """Loss falling fastest at lr = 10**c, then blowing up above 10**-1.5."""
    y = 2.0 - np.tanh((U - c) / w)
    if tail:
        y = y + np.where(U > -1.5, 20.0 * (U + 1.5) ** 2, 0.0)
    return y


def noisy(y, sigma, seed):
    return y + np.random.default_rng(seed).normal(0.0, sigma, y.size)


# ------------------------------------------------------------------------------------ steepest


def test_steepest_finds_the_inflection_of_a_noiseless_tanh():
    s = steepest(LRS, tanh_curve())
    assert s.found and s.method == "steepest"
    assert abs(math.log10(s.lr) - (-3.0)) <= 0.03
    assert s.index is not None and LRS[s.index] == s.lr
    lo, hi = s.interval
    assert lo < s.lr < hi
    assert "per decade" in s.reason and s.confidence == "high"


@pytest.mark.parametrize("seed", range(5))
def test_steepest_on_a_noisy_tanh(seed):
    s = steepest(LRS, noisy(tanh_curve(), 0.05, seed))
    assert abs(math.log10(s.lr) - (-3.0)) <= 0.2


def test_steepest_uses_log_lr_slope_on_exponential_sweeps():
    # against raw LR the slope is weighted by 1/lr and the pick falls decades low
    s = steepest(LRS, tanh_curve(c=-2.0, w=1.0, tail=False))
    assert abs(math.log10(s.lr) - (-2.0)) <= 0.05


def test_steepest_uses_lr_slope_on_linear_sweeps():
    lrs = np.linspace(0.01, 1.0, 199)
    y = 2.0 - np.tanh((lrs - 0.4) / 0.2)  # against log10(lr) the steepest point would be ~0.445
    s = steepest(lrs, y)
    assert s.details["sweep"] == "linear"
    assert abs(s.lr - 0.4) <= 0.015


def test_steepest_ignores_a_noise_dip_in_the_first_steps():
    y = tanh_curve()
    y[4:12] -= 1.5  # a batch-noise dip in the first iterations (too long for the spike filter)
    assert steepest(LRS, y, skip_start=0).lr < 1e-5  # control: untrimmed, the dip wins
    assert abs(math.log10(steepest(LRS, y).lr) - (-3.0)) <= 0.03


def test_steepest_ignores_a_single_bad_batch():
    y = tanh_curve()
    y[80] = 40.0  # lr 1e-4: a spike just before a huge fall would fake the steepest point
    assert abs(math.log10(steepest(LRS, y).lr) - (-3.0)) <= 0.03


def test_steepest_next_to_the_blow_up_is_low_confidence():
    # flat until the loss falls just before it diverges (SGD CNN without normalisation)
    y = 2.3 - 0.4 * (1 + np.tanh((U + 1.1) / 0.05)) + np.where(U > -0.95, 50 * (U + 0.95) ** 2, 0.0)
    s = steepest(LRS, y)
    assert s.found and s.confidence == "low"
    assert "diverge" in s.reason


# ------------------------------------------------------------------------------------- minimum


def test_minimum_is_a_tenth_of_the_lr_at_the_lowest_loss_exactly():
    lrs = 10.0 ** np.linspace(-5, 0, 101)
    y = (np.log10(lrs) + 2.0) ** 2 + 1.0
    s = minimum(lrs, y)
    assert s.lr == lrs[np.argmin(y)] / 10
    assert s.index is None and s.details["min_index"] == int(np.argmin(y))


def test_minimum_of_tanh_with_divergence_tail():
    y = tanh_curve()
    fine = np.linspace(-6, 0, 600001)
    true = fine[np.argmin(2 - np.tanh((fine + 3) / 0.5) + np.where(fine > -1.5, 20 * (fine + 1.5) ** 2, 0))]
    s = minimum(LRS, y)
    # the wall is a kink: smoothing (h = 0.1 decade) moves the argmin down the flat side, never up
    assert -0.25 <= math.log10(s.lr) - (true - 1) <= 0.0
    i = s.details["min_index"]
    assert y[i] - y.min() <= 0.01 * (y[24] - y.min())  # a point as low as the minimum, to 1 % of the fall


def test_minimum_abstains_when_a_tenth_was_not_swept():
    lrs = np.logspace(-3, -1, 81)
    y = (np.log10(lrs) - math.log10(5e-3)) ** 2
    s = minimum(lrs, y, skip_start=0)
    assert not s.found and "not swept" in s.reason


def test_minimum_still_falling_at_end_is_low_confidence():
    y = tanh_curve(c=-0.5, tail=False)
    s = minimum(LRS, y)
    assert s.found and s.confidence == "low" and "still falling" in s.reason


# -------------------------------------------------------------------------------------- valley


def test_valley_contiguous_hand_example():
    # lds[5] = 6, begin = 5 - 6 = -1, s = 2, pick = -1 + 2 + 1 = 2
    lrs = [1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0]
    s = valley(lrs, [5, 4, 3, 2, 1, 0, 1], **EXACT)
    assert s.index == 2 and s.lr == 1e-3


def test_valley_longest_decreasing_subsequence_hand_example():
    # lds = [1,1,2,2,3,1,4,1]; end = 6, begin = 2, s = 4/3 -> pick = 2 + 1 + 0 = 3
    lrs = np.logspace(-4, 0, 8)
    s = valley(lrs, [3, 5, 2, 4, 1, 6, 0.5, 7], min_z=0, **EXACT)
    assert s.index == 3 and s.lr == lrs[3]
    assert s.interval == (lrs[2], lrs[6])


def _valley_reference(y):
    """The definition, written out with explicit loops."""
    n = len(y)
    lds = [1] * n
    for i in range(n):
        for j in range(i):
            if y[j] > y[i]:
                lds[i] = max(lds[i], lds[j] + 1)
    end = lds.index(max(lds))
    begin = end - lds[end]
    sec = (end - begin) / 3
    return min(max(begin + int(sec) + int(sec / 2), 0), n - 1)


@pytest.mark.parametrize("seed", range(10))
def test_valley_matches_the_definition_on_random_sequences(seed):
    rng = np.random.default_rng(seed)
    y = np.cumsum(rng.normal(-0.1, 1.0, 40)) + 100.0
    lrs = np.logspace(-5, 0, 40)
    s = valley(lrs, y, min_z=0, flat_tol=0, **EXACT)
    if s.found:
        assert s.index == _valley_reference(y.tolist())


def test_valley_on_tanh_lies_inside_the_descent():
    s = valley(LRS, tanh_curve())
    assert -4.0 <= math.log10(s.lr) <= -2.0
    lo, hi = s.interval
    assert lo <= s.lr <= hi


# --------------------------------------------------------------------------------------- slide


SLIDE_Y = [10, 8, 6, 4, 3, 2.5, 2.4, 3, 5, 9]
# np.gradient: [-2, -2, -2, -1.5, -0.75, -0.3, 0.25, 1.3, 3, 4]


@pytest.mark.parametrize(("thresh", "index"), [(1.5, 2), (1.0, 1), (100.0, 6), (0.1, 0)])
def test_slide_hand_examples(thresh, index):
    lrs = np.logspace(-4, 0, 10)
    s = slide(lrs, SLIDE_Y, lr_diff=3, thresh=thresh, **EXACT)
    assert s.index == index and s.lr == pytest.approx(lrs[index], rel=1e-12)


def test_slide_adjust_value_and_clamp():
    lrs = np.logspace(-4, 0, 10)
    s = slide(lrs, SLIDE_Y, lr_diff=3, thresh=1.5, adjust_value=2.0, **EXACT)
    assert s.lr == pytest.approx(2 * lrs[2])
    s = slide(lrs, SLIDE_Y, lr_diff=3, thresh=100.0, adjust_value=1e6, **EXACT)
    assert s.lr == lrs[-1] and "clamped" in s.reason


def test_slide_abstains_when_shorter_than_lr_diff():
    s = slide(np.logspace(-4, 0, 10), SLIDE_Y, **EXACT)  # default lr_diff=15
    assert not s.found and "lr_diff" in s.reason


@pytest.mark.parametrize("kw", [{"lr_diff": 0}, {"thresh": -1.0}, {"adjust_value": 0.0}])
def test_slide_bad_options(kw):
    with pytest.raises(ValueError, match=next(iter(kw))):
        slide(LRS, tanh_curve(), **kw)


def test_slide_on_tanh_is_inside_the_descent():
    s = slide(LRS, tanh_curve())
    assert s.found and -4.5 <= math.log10(s.lr) <= -1.0


# -------------------------------------------------------------------------------- abstentions


@pytest.mark.parametrize("rule", sorted(RULES))
def test_flat_curve_abstains(rule):
    s = suggest(LRS, np.full(LRS.size, 2.3), rule)
    assert not s.found and s.lr is None and "flat" in s.reason


@pytest.mark.parametrize("rule", sorted(RULES))
def test_nearly_flat_curve_abstains(rule):
    s = suggest(LRS, 2.3 - 1e-5 * np.tanh(U + 3), rule)
    assert not s.found and "flat" in s.reason


@pytest.mark.parametrize("rule", sorted(RULES))
def test_rising_curve_abstains_and_says_start_lower(rule):
    s = suggest(LRS, 1.0 + np.exp(U), rule)
    assert not s.found and "start the sweep at a lower LR" in s.reason


@pytest.mark.parametrize("rule", sorted(RULES))
def test_diverging_at_step_3_abstains_with_reason(rule):
    lrs = np.logspace(-3, 0, 7)
    s = suggest(lrs, [1.0, 0.9, 0.8, 50.0, 500.0, np.nan, np.nan], rule)
    assert not s.found and "diverged at step 3" in s.reason


@pytest.mark.parametrize("rule", sorted(RULES))
def test_nan_from_step_3_abstains_with_reason(rule):
    lrs = np.logspace(-3, 0, 8)
    s = suggest(lrs, [1.0, 0.9, 0.8] + [np.nan] * 5, rule)
    assert not s.found and "non-finite" in s.reason and "step 3" in s.reason


@pytest.mark.parametrize("rule", sorted(RULES))
def test_all_nan_abstains(rule):
    s = suggest(LRS, np.full(LRS.size, np.nan), rule)
    assert not s.found and "non-finite" in s.reason


@pytest.mark.parametrize("rule", sorted(RULES))
@pytest.mark.parametrize("n", [1, 2, 4])
def test_too_short_abstains(rule, n):
    s = suggest(np.logspace(-3, -1, n), np.linspace(2, 1, n), rule)
    assert not s.found and "point" in s.reason


@pytest.mark.parametrize("rule", sorted(RULES))
@pytest.mark.parametrize("seed", range(8))
def test_pure_noise_abstains_or_is_low_confidence(rule, seed):
    y = noisy(np.full(LRS.size, 2.0), 0.1, seed)
    s = suggest(LRS, y, rule)
    assert (not s.found and "noise" in s.reason) or s.confidence == "low"


@pytest.mark.parametrize("rule", sorted(RULES))
def test_nan_in_the_middle_does_not_poison(rule):
    y = tanh_curve()
    y_gap = y.copy()
    y_gap[[60, 120, 121]] = [np.nan, np.inf, np.nan]
    a, b = suggest(LRS, y, rule), suggest(LRS, y_gap, rule)
    assert a.found and b.found
    assert abs(math.log10(a.lr) - math.log10(b.lr)) <= 0.05


def test_confidence_drops_with_noise():
    assert steepest(LRS, tanh_curve()).confidence == "high"
    s = steepest(LRS, noisy(tanh_curve(), 0.4, 0))
    assert s.confidence in ("low", "medium")


# --------------------------------------------------------------------------------- candidates


def two_valleys(depth2=0.95):
    return 3.0 - np.exp(-(((U + 4) / 0.2) ** 2)) - depth2 * np.exp(-(((U + 2) / 0.2) ** 2))


def test_two_valleys_give_two_candidates_in_lr_order():
    cands = candidates(LRS, two_valleys())
    assert [round(math.log10(c.lr), 1) for c in cands] == [-4.0, -2.0]
    assert all(c.found and c.method == "candidates" for c in cands)
    assert "1 of 2" in cands[0].reason and "2 of 2" in cands[1].reason


def test_shallow_second_valley_is_not_a_candidate():
    cands = candidates(LRS, two_valleys(depth2=0.5))
    assert [round(math.log10(c.lr), 1) for c in cands] == [-4.0]
    assert len(candidates(LRS, two_valleys(depth2=0.5), closeness=0.6)) == 2


def test_candidates_closer_than_min_ratio_are_one():
    lrs = np.logspace(-3, -1, 201)  # 0.01 decades per step
    y = np.full(lrs.size, 2.0)
    y[:50] = np.linspace(3.0, 2.0, 50)
    y[100], y[103] = 1.0, 1.05  # 7 % apart in LR
    opts = {"prominence": 0.0, "min_z": 0.0, "bandwidth": 0, "robust": False, "skip_start": 0}
    assert [c.index for c in candidates(lrs, y, **opts)] == [100]
    assert [c.index for c in candidates(lrs, y, min_ratio=1.05, **opts)] == [100, 103]


@pytest.mark.parametrize("seed", range(3))
def test_noise_wiggles_on_a_flat_bottom_are_not_candidates(seed):
    y = noisy(tanh_curve(tail=False), 0.05, seed)  # two decades of flat, noisy bottom
    assert len(candidates(LRS, y)) == 1


def test_candidates_of_a_flat_curve_is_one_abstention():
    (c,) = candidates(LRS, np.full(LRS.size, 1.0))
    assert not c.found and "flat" in c.reason


# ------------------------------------------- the same synthetic curves through candidates and bounds
#
# candidates, loss_bounds and metric_bounds read the curve through the same preparation as the rules
# (lrscope.analysis.curve.prepare_curve): where the curve says nothing they abstain with the very
# reason a rule gives; where it says something, what they find lies inside the swept range.


def _acc(u):
    """An accuracy: sigmoid rise centred at 1e-3, falling again above 10**-1.5."""
    return 0.1 + 0.8 / (1.0 + np.exp(-(u + 3) / 0.3)) - np.where(u > -1.5, 2.0 * (u + 1.5) ** 2, 0.0)


def _read(reader, lrs, y, **kw):
    """(found, [LRs found], reason) from a candidates list or a Bounds, checking the shape of either."""
    if reader == "candidates":
        cands = candidates(lrs, y, **kw)
        assert cands and all(c.method == "candidates" for c in cands)
        if not cands[0].found:
            assert len(cands) == 1 and cands[0].lr is None and cands[0].index is None
            return False, [], cands[0].reason
        assert all(c.found for c in cands)
        return True, [c.lr for c in cands], "; ".join(c.reason for c in cands)
    if reader == "loss_bounds":
        b = loss_bounds(lrs, y, **kw)
    elif reader == "metric_bounds":  # a metric whose lower values are better: a validation loss
        b = metric_bounds(lrs, y, higher_is_better=False, **kw)
    else:  # "metric_bounds(accuracy)": the same curve as an accuracy, mirrored
        b = metric_bounds(lrs, -np.asarray(y, dtype=np.float64), **kw)
    assert b.method == ("loss" if reader == "loss_bounds" else "metric")
    if not b.found:
        assert b.base_lr is None and b.max_lr is None
        return False, [], b.reason
    assert b.base_lr < b.max_lr
    return True, [b.base_lr, b.max_lr], b.reason


# metric_bounds does not cut at a multiple of the best value unless asked (its docstring); asked for the
# stop rule's cut it reads a curve exactly as the rules do
READERS = ["candidates", "loss_bounds", "metric_bounds", "metric_bounds(accuracy)"]
SAME_AS_RULES = {"diverge_threshold": 4.0}


def _same_reason(reader, reason, rule_reason):
    if reader == "metric_bounds(accuracy)":  # the abstention speaks of the metric's shortfall, not a loss
        rule_reason = rule_reason.replace("the loss", "the metric's shortfall")
    assert reason == rule_reason


@pytest.mark.parametrize("reader", READERS)
def test_diverging_at_step_3_candidates_and_bounds_abstain_with_the_rules_reason(reader):
    lrs = np.logspace(-3, 0, 7)
    y = [1.0, 0.9, 0.8, 50.0, 500.0, np.nan, np.nan]
    kw = SAME_AS_RULES if reader.startswith("metric") else {}
    found, _, reason = _read(reader, lrs, y, **kw)
    assert not found and "diverged at step 3" in reason
    _same_reason(reader, reason, valley(lrs, y).reason)


def test_metric_bounds_do_not_cut_a_diverging_metric_unless_asked():
    # by default a metric is not cut at 4x its best, so "diverged" is not the reason; it still abstains
    # (five points, the last two far off the others, say nothing)
    lrs = np.logspace(-3, 0, 7)
    b = metric_bounds(lrs, [1.0, 0.9, 0.8, 50.0, 500.0, np.nan, np.nan], higher_is_better=False)
    assert not b.found and b.reason and "diverged" not in b.reason


@pytest.mark.parametrize("reader", READERS)
def test_nan_from_step_3_candidates_and_bounds_abstain_with_the_rules_reason(reader):
    lrs = np.logspace(-3, 0, 8)
    y = [1.0, 0.9, 0.8] + [np.nan] * 5
    found, _, reason = _read(reader, lrs, y)
    assert not found and "non-finite" in reason and "step 3" in reason
    _same_reason(reader, reason, valley(lrs, y).reason)


@pytest.mark.parametrize("reader", READERS)
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_all_non_finite_candidates_and_bounds_abstain(reader, bad):
    y = np.full(LRS.size, bad)
    found, _, reason = _read(reader, LRS, y)
    assert not found and "non-finite" in reason
    _same_reason(reader, reason, valley(LRS, y).reason)


@pytest.mark.parametrize("reader", READERS)
@pytest.mark.parametrize("seed", range(8))
def test_pure_noise_candidates_and_bounds_abstain(reader, seed):
    # the rules' noise test (default min_z=4) applies to these too: none of these noise curves passes it
    y = noisy(np.full(LRS.size, 2.0), 0.1, seed)
    found, lr_found, reason = _read(reader, LRS, y)
    assert not found, (lr_found, reason)
    assert "indistinguishable from noise" in reason
    _same_reason(reader, reason, valley(LRS, y).reason)


@pytest.mark.parametrize(
    ("reader", "curve"),
    [
        ("candidates", tanh_curve()),
        ("candidates", two_valleys()),
        ("loss_bounds", tanh_curve()),
        ("metric_bounds", tanh_curve()),
        ("metric_bounds(accuracy)", -_acc(U)),  # _read mirrors it back: the accuracy itself is read
    ],
    ids=["candidates-tanh", "candidates-two-valleys", "loss_bounds", "metric_bounds-val-loss", "metric_bounds-accuracy"],
)
@pytest.mark.parametrize("gap", [[60], [120, 121], [60, 120, 121]], ids=["one", "two-in-a-row", "three"])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_in_the_middle_does_not_poison_candidates_or_bounds(reader, curve, gap, bad):
    # runs of non-finite values no longer than max_gap (2) are missing points: the answer barely moves
    y_gap = curve.copy()
    y_gap[gap] = bad
    found, lrs_clean, _ = _read(reader, LRS, curve)
    found_gap, lrs_gap, reason = _read(reader, LRS, y_gap)
    assert found and found_gap, reason
    assert all(LRS[0] <= lr <= LRS[-1] for lr in lrs_gap)
    assert len(lrs_gap) == len(lrs_clean)
    np.testing.assert_allclose(np.log10(lrs_gap), np.log10(lrs_clean), rtol=0, atol=0.05)


def test_candidates_stop_at_the_divergence():
    # a deeper basin beyond a blow-up is not read: the curve ends where it diverged
    y = two_valleys(depth2=1.5)
    y[(U > -3.2) & (U < -2.8)] = 50.0
    assert -2.0 in [round(math.log10(c.lr), 1) for c in candidates(LRS, y, diverge_threshold=None)]  # control: uncut
    cands = candidates(LRS, y)
    assert [round(math.log10(c.lr), 1) for c in cands] == [-4.0]
    assert "diverged" in cands[0].details["end_reason"]


# ----------------------------------------------------------------------------------- registry


def test_registry_names():
    assert {"minimum", "steepest", "valley", "slide"} <= set(available_rules())
    assert available_rules() == sorted(RULES)
    assert DEFAULT_METHOD in RULES


def test_suggest_dispatches_and_defaults():
    y = tanh_curve()
    assert suggest(LRS, y) == RULES[DEFAULT_METHOD](LRS, y)  # the default is whatever DEFAULT_METHOD names (issue 5: "drop")
    assert suggest(LRS, y, "steepest") == steepest(LRS, y)
    assert set(suggest_all(LRS, y)) == set(RULES)


def test_unknown_method_lists_available():
    with pytest.raises(ValueError, match=r"Argument `method` must be one of the registered rules: .*minimum.*valley.*Received: method='steep'"):
        suggest(LRS, tanh_curve(), "steep")


def test_register_rule_makes_it_suggestible():
    @register_rule("test-first")
    def first(lrs, losses, *, sweep=None, **options):
        return Suggestion("test-first", float(lrs[0]), 0, "first")

    try:
        assert suggest(LRS, tanh_curve(), "test-first").lr == LRS[0]
        assert "test-first" in available_rules()
    finally:
        del RULES["test-first"]


def test_bad_sweep_option():
    with pytest.raises(ValueError, match="sweep"):
        suggest(LRS, tanh_curve(), "valley", sweep="log")


def test_reasons_carry_numbers():
    for s in suggest_all(LRS, tanh_curve()).values():
        assert s.found and any(ch.isdigit() for ch in s.reason), s


@pytest.mark.parametrize("rule", sorted(RULES))
@pytest.mark.parametrize("seed", range(5))
def test_fall_buried_in_noise_abstains_or_says_low_confidence(rule, seed):
    # a 0.02 fall under 0.2 noise: a rule either abstains, or (rules that answer down to a lower z,
    # like `drop`) answers with confidence "low" — never a confident pick
    y = noisy(2.0 - 0.01 * np.tanh(U + 3), 0.2, seed)
    s = suggest(LRS, y, rule)
    if s.found:
        assert s.confidence == "low", s
    else:
        assert "indistinguishable from noise" in s.reason, s


def test_pure_noise_mostly_abstains():
    found = [suggest(LRS, noisy(np.full(LRS.size, 2.0), 0.1, seed), "valley").found for seed in range(20)]
    assert sum(found) <= 3
