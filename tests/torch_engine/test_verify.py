"""Verified suggestion: trials around a curve's suggestion, picked from the trial losses, and the
model/optimizer left bit-identical."""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402
from torch_helpers import FullState  # noqa: E402

from lrscope.analysis.types import Suggestion  # noqa: E402
from lrscope.torch.verify import fit_vertex, pick_from_trials, verify_suggestion  # noqa: E402


def _task(seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(256, 8, generator=g)
    w = torch.randn(8, 1, generator=g)
    y = x @ w + 0.1 * torch.randn(256, 1, generator=g)
    batches = [(x[i : i + 16], y[i : i + 16]) for i in range(0, 256, 16)]
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(8, 16), nn.Tanh(), nn.Linear(16, 1))
    return model, batches


@pytest.mark.parametrize("opt_name", ["sgd", "adam"])
def test_verify_leaves_model_and_optimizer_bit_identical(opt_name: str) -> None:
    model, batches = _task()
    opt = (torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9) if opt_name == "sgd"
           else torch.optim.Adam(model.parameters(), lr=1e-3))
    # give the optimizer some state first, as mid-training
    for xb, yb in batches[:3]:
        opt.zero_grad()
        nn.functional.mse_loss(model(xb), yb).backward()
        opt.step()
    before = FullState(model, opt)
    s = verify_suggestion(model, opt, batches, nn.functional.mse_loss, center=0.01, trial_steps=12)
    assert before.diff() == []
    assert s.found and s.method == "verified"
    assert s.details["steps"] == 12 * len(s.details["candidates"])


def test_verify_picks_a_good_lr_on_a_tiny_regression() -> None:
    model, batches = _task()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    # a centre far too small: the trials say so and the pick moves up (one extension allowed)
    s = verify_suggestion(model, opt, batches, nn.functional.mse_loss, center=1e-4, trial_steps=16)
    assert s.lr > 1e-4
    assert s.interval is not None and s.interval[0] <= s.lr <= s.interval[1]
    assert s.confidence in ("high", "medium", "low")
    assert len(s.details["candidates"]) == 4  # 3 + one extension upwards
    assert s.details["candidates"][-1] > s.details["candidates"][0]


def test_verify_accepts_a_suggestion_and_rejects_an_abstention() -> None:
    model, batches = _task()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    s = verify_suggestion(model, opt, batches, nn.functional.mse_loss,
                          center=Suggestion("drop", 0.01, 3, "x"), trial_steps=6, extend=0)
    assert s.details["center_method"] == "drop" and len(s.details["candidates"]) == 3
    with pytest.raises(ValueError, match="abstained"):
        verify_suggestion(model, opt, batches, nn.functional.mse_loss,
                          center=Suggestion.abstain("drop", "flat"), trial_steps=6)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"trial_steps": 2}, "trial_steps"),
        ({"trial_steps": 5, "num_candidates": 4}, "num_candidates"),
        ({"trial_steps": 5, "spacing": 0.0}, "spacing"),
        ({"trial_steps": 5, "extend": -1}, "extend"),
        ({"trial_steps": 5, "center": -1.0}, "center"),
    ],
)
def test_verify_validates_arguments(kwargs: dict, match: str) -> None:
    model, batches = _task()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    kw = {"center": 0.01, **kwargs}
    with pytest.raises(ValueError, match=match):
        verify_suggestion(model, opt, batches, nn.functional.mse_loss, **kw)


def test_verify_restores_state_when_a_trial_diverges() -> None:
    model, batches = _task()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    before = FullState(model, opt)
    s = verify_suggestion(model, opt, batches, nn.functional.mse_loss, center=1e3, trial_steps=8)
    assert before.diff() == []
    # every trial at 1e2..1e4 blows up: the answer is below them, flagged
    assert s.lr < 1e3 and s.confidence in ("low", "medium")


def test_pick_from_trials_vertex_end_and_shrink() -> None:
    s = pick_from_trials([1e-3, 1e-2, 1e-1], [2.0, 1.0, 2.0])
    assert s.lr == pytest.approx(1e-2) and s.confidence == "high"
    s = pick_from_trials([1e-3, 1e-2, 1e-1], [3.0, 1.0, 2.0])  # vertex pulled towards the better side
    assert 1e-2 < s.lr < 10**-1.75
    s = pick_from_trials([1e-3, 1e-2, 1e-1], [3.0, 2.0, 1.0])  # best at the end: medium
    assert s.lr == pytest.approx(0.1) and s.confidence == "medium"
    s = pick_from_trials([1e-3, 1e-2, 1e-1], [2.0, 1.0, 2.0], shrink=0.5)
    assert s.lr == pytest.approx(10**-2.5)
    s = pick_from_trials([1e-3, 1e-2, 1e-1], [None, float("nan"), math.inf])
    assert s.confidence == "low" and s.lr < 1e-3
    s = pick_from_trials([1e-3, 1e-2, 1e-1], [1.0, 1.001, 1.002])  # cannot tell apart
    assert s.confidence == "low"


def test_pick_treats_a_blowing_up_trial_as_diverged() -> None:
    s = pick_from_trials([1e-3, 1e-2, 1e-1], [1.0, 0.5, 50.0])
    assert s.lr == pytest.approx(1e-2) and s.confidence == "medium"


def test_fit_vertex() -> None:
    assert fit_vertex([0.0, 1.0, 2.0], [1.0, 0.0, 1.0]) == pytest.approx(1.0)
    assert fit_vertex([0.0, 1.0, 2.0], [0.0, 1.0, 0.0]) is None  # opens downwards
    assert fit_vertex([0.0, 1.0, 2.0], [0.0, np.inf, 0.0]) is None


def test_verify_restores_rngs_and_buffers_with_dropout_and_batchnorm() -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Dropout(0.3), nn.Linear(16, 1))
    _, batches = _task()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01)
    model.eval()  # a user-set flag must survive too
    before = FullState(model, opt)
    verify_suggestion(model, opt, batches, nn.functional.mse_loss, center=1e-3, trial_steps=5)
    assert before.diff() == []


def test_verify_reads_the_centre_from_a_range_test_result() -> None:
    from lrscope.result import RangeTestResult
    from lrscope.torch.verify import CENTER_OPTIONS

    lrs = np.logspace(-6, 0, 100)
    res = RangeTestResult(lrs=lrs, losses=2 - np.tanh((np.log10(lrs) + 3) / 0.5) + np.exp(3 * (np.log10(lrs) + 0.3)))
    expected = res.suggest("drop", **CENTER_OPTIONS).lr
    model, batches = _task()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    s = verify_suggestion(model, opt, batches, nn.functional.mse_loss, center=res, trial_steps=4, extend=0)
    assert s.details["center"] == pytest.approx(expected)
    assert s.details["center_method"] == "drop"


def test_verify_centre_is_the_unfloored_reading_it_was_validated_with() -> None:
    # the default rule floors a long, slow fall at a decade below the turn; the verified path's
    # centre (chosen leave-one-task-out) is the 50 % crossing, capped a decade below the turn, with
    # no floor
    from lrscope.result import RangeTestResult
    from lrscope.torch.verify import CENTER_OPTIONS

    lrs = np.logspace(-6, 0, 121)
    u = np.log10(lrs)
    res = RangeTestResult(lrs=lrs, losses=3 - 0.3 * (u + 6) + np.where(u > -1.5, 50 * (u + 1.5) ** 2, 0.0))
    default = res.suggest("drop")
    centre = res.suggest("drop", **CENTER_OPTIONS)
    assert default.details["floored"] and not centre.details["floored"]
    assert centre.details["fraction"] == 0.5 and centre.details["min_gap"] == 1.0
    # the fall is straight in log10(lr) from the first readable point to the turn: its 50 % level is
    # crossed half-way between them (to the grid's 0.05 decade), below the floor the default applies
    start = math.log10(lrs[centre.details["window"][0]])
    turn = math.log10(centre.details["lr_at_min"])
    assert math.log10(centre.lr) == pytest.approx((start + turn) / 2, abs=0.05)
    assert math.log10(centre.lr) < math.log10(default.lr) - 0.5
    model, batches = _task()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    s = verify_suggestion(model, opt, batches, nn.functional.mse_loss, center=res, trial_steps=4, extend=0)
    assert s.details["center"] == pytest.approx(centre.lr)


def test_shrink_follows_the_horizon_ratio() -> None:
    model, batches = _task()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    kw = dict(center=0.01, trial_steps=5, extend=0)
    a = verify_suggestion(model, opt, batches, nn.functional.mse_loss, shrink=0.0, **kw)
    b = verify_suggestion(model, opt, batches, nn.functional.mse_loss, total_steps=500, **kw)  # 100x: 1 decade
    c = verify_suggestion(model, opt, batches, nn.functional.mse_loss, **kw)  # default: half a decade
    assert math.log10(a.lr) - math.log10(b.lr) == pytest.approx(1.0)
    assert math.log10(a.lr) - math.log10(c.lr) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="total_steps"):
        verify_suggestion(model, opt, batches, nn.functional.mse_loss, total_steps=2, **kw)


def test_verify_records_every_trial_loss_and_scores_the_last_third() -> None:
    model, batches = _task()
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    s = verify_suggestion(model, opt, batches, nn.functional.mse_loss, center=0.01, trial_steps=12, extend=0)
    curves = s.details["trial_losses"]
    assert len(curves) == len(s.details["candidates"]) == 3
    for lr, curve, score in zip(s.details["candidates"], curves, s.details["scores"]):
        assert len(curve) == 12
        # replay the trial by hand from the same state: the recorded losses are those steps' losses
        m2, b2 = _task()
        o2 = torch.optim.SGD(m2.parameters(), lr=lr)
        expect = []
        for xb, yb in b2[:12]:
            o2.zero_grad()
            loss = nn.functional.mse_loss(m2(xb), yb)
            loss.backward()
            o2.step()
            expect.append(float(loss.detach()))
        np.testing.assert_allclose(curve, expect, rtol=1e-6)
        assert score == pytest.approx(float(np.mean(expect[-4:])), rel=1e-6)


def test_default_shrink_exponent_follows_the_range_test_noise() -> None:
    from lrscope.torch.verify import NOISY_Z, default_shrink

    # a * log10(total / trial): a = 1/2 for a clean curve (or none), 1 below NOISY_Z standard errors
    assert default_shrink(30, 300)[0] == pytest.approx(0.5)
    assert default_shrink(30, 300, z=NOISY_Z + 1)[0] == pytest.approx(0.5)
    assert default_shrink(30, 300, z=NOISY_Z)[0] == pytest.approx(0.5)  # the threshold itself is clean
    assert default_shrink(30, 300, z=12.0)[0] == pytest.approx(1.0)
    assert default_shrink(30, 300, z=math.inf)[0] == pytest.approx(0.5)
    assert default_shrink(10, 10_000, z=3.0)[0] == pytest.approx(3.0)
    assert default_shrink(10, 10_000)[0] == pytest.approx(1.5)
    assert default_shrink(7)[0] == pytest.approx(0.5) and default_shrink(7, z=3.0)[0] == pytest.approx(1.0)
    assert "noise dominates" in default_shrink(30, 300, z=12.0)[1]
    assert "no range test" in default_shrink(30, 300)[1]


def _curve_result(noise: float, seed: int = 0):
    from lrscope.result import RangeTestResult

    lrs = np.logspace(-6, 0, 100)
    clean = 2 - np.tanh((np.log10(lrs) + 3) / 0.5) + np.exp(3 * (np.log10(lrs) + 0.3))
    return RangeTestResult(lrs=lrs, losses=clean + noise * np.random.default_rng(seed).standard_normal(lrs.size))


@pytest.mark.parametrize("noise, noisy", [(0.0, False), (0.15, True)])
def test_verify_shrinks_a_decade_when_the_range_test_is_noise_dominated(noise: float, noisy: bool) -> None:
    from lrscope.torch.verify import CENTER_OPTIONS, NOISY_Z

    res = _curve_result(noise)
    z = res.suggest("drop", **CENTER_OPTIONS).details["z"]
    z = math.inf if z == "inf" else z
    assert (z < NOISY_Z) == noisy  # the fixture is on the intended side of the threshold
    model, batches = _task()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    s = verify_suggestion(model, opt, batches, nn.functional.mse_loss, center=res, trial_steps=4, extend=0)
    want = 1.0 if noisy else 0.5
    assert s.details["shrink"] == pytest.approx(want)
    assert math.log10(s.details["pick_before_shrink"]) - math.log10(s.lr) == pytest.approx(want)
    assert s.details["range_test_z"] == pytest.approx(z)
    assert ("noise dominates" in s.reason) == noisy
    # an explicit shrink wins; a bare LR has no range test to read, so it counts as clean
    t = verify_suggestion(model, opt, batches, nn.functional.mse_loss, center=res, trial_steps=4, extend=0, shrink=0.25)
    assert t.details["shrink"] == 0.25 and t.details["shrink_reason"] == "given by the caller"
    u = verify_suggestion(model, opt, batches, nn.functional.mse_loss, center=s.details["center"], trial_steps=4, extend=0)
    assert u.details["shrink"] == pytest.approx(0.5) and u.details["range_test_z"] is None


def _noisy_result(seed: int):
    from lrscope.result import RangeTestResult

    lrs = np.logspace(-6, 0, 100)
    clean = 2 - np.tanh((np.log10(lrs) + 3) / 0.5) + np.exp(3 * (np.log10(lrs) + 0.3))
    return RangeTestResult(lrs=lrs, losses=clean + 2.0 * np.random.default_rng(seed).standard_normal(lrs.size))


def test_verify_places_its_trials_on_a_curve_too_noisy_to_answer_alone() -> None:
    from lrscope.torch.verify import CENTER_MIN_Z, CENTER_OPTIONS

    res = _noisy_result(3)
    alone = res.suggest("drop", **CENTER_OPTIONS)
    again = res.suggest("drop", **CENTER_OPTIONS, min_z=CENTER_MIN_Z)
    assert alone.lr is None and again.lr is not None  # the fixture: a fall of 1-2 standard errors
    assert CENTER_MIN_Z <= again.details["z"] < 2
    model, batches = _task()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    before = FullState(model, opt)
    s = verify_suggestion(model, opt, batches, nn.functional.mse_loss, center=res, trial_steps=4, extend=0)
    assert before.diff() == []
    assert s.details["center"] == pytest.approx(again.lr)
    assert s.reason.startswith("the range test alone says nothing")
    assert s.details["range_test_abstained"] == alone.reason
    assert s.confidence in ("medium", "low")
    # that noisy a curve is noise-dominated: the pick is lowered a whole decade
    assert s.details["shrink"] == pytest.approx(1.0)


def test_verify_refuses_a_curve_that_says_nothing_at_all() -> None:
    from lrscope.result import RangeTestResult

    model, batches = _task()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    flat = RangeTestResult(lrs=np.logspace(-6, 0, 100), losses=np.ones(100))
    for res in (flat, _noisy_result(4)):  # flat; a fall below one standard error
        with pytest.raises(ValueError, match="abstained"):
            verify_suggestion(model, opt, batches, nn.functional.mse_loss, center=res, trial_steps=4)


class _RecordingSGD(torch.optim.SGD):
    """SGD that records the learning rate and momentum each step ran with."""

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.seen: list[tuple[float, float]] = []

    def step(self, closure=None):
        self.seen.append((self.param_groups[0]["lr"], self.param_groups[0]["momentum"]))
        return super().step(closure)


def test_one_cycle_trials_follow_the_schedule_and_restore_everything() -> None:
    from lrscope.schedules import OneCycle
    from lrscope.torch.verify import SCHEDULED_SHRINK

    model, batches = _task()
    opt = _RecordingSGD(model.parameters(), lr=0.05, momentum=0.9)
    before = FullState(model, opt)
    keys = [set(g) for g in opt.param_groups]
    s = verify_suggestion(model, opt, batches, nn.functional.mse_loss, center=0.01, trial_steps=10, extend=0,
                          schedule="one_cycle")
    assert before.diff() == [] and [set(g) for g in opt.param_groups] == keys  # OneCycleLR's keys are gone too
    assert s.details["schedule"] == "one_cycle" and s.details["shrink"] == SCHEDULED_SHRINK
    # each trial ran PyTorch's one-cycle over its 10 steps with the candidate as max_lr (our OneCycle is
    # documented and tested to equal it), and cycled the momentum the other way
    assert len(opt.seen) == 10 * len(s.details["candidates"])
    for j, peak in enumerate(s.details["candidates"]):
        lrs = [lr for lr, _ in opt.seen[10 * j : 10 * (j + 1)]]
        assert lrs == pytest.approx(list(OneCycle(max_lr=peak, total_steps=10)(np.arange(10))), rel=1e-9)
        moms = [m for _, m in opt.seen[10 * j : 10 * (j + 1)]]
        assert moms[0] == pytest.approx(0.95) and min(moms) == pytest.approx(0.85)


def test_a_schedule_factory_is_called_per_trial_and_a_bad_schedule_is_named() -> None:
    model, batches = _task()
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    calls = []

    def halve_then_hold(optimizer, peak_lr, steps):
        calls.append((peak_lr, steps, optimizer.param_groups[0]["lr"]))
        return torch.optim.lr_scheduler.StepLR(optimizer, step_size=steps // 2, gamma=0.5)

    s = verify_suggestion(model, opt, batches, nn.functional.mse_loss, center=0.01, trial_steps=8, extend=0,
                          schedule=halve_then_hold, shrink=0.0)
    assert [c[0] for c in calls] == pytest.approx(s.details["candidates"])
    assert all(steps == 8 and lr == pytest.approx(peak) for peak, steps, lr in calls)
    assert s.details["schedule"] == "halve_then_hold"
    assert opt.param_groups[0]["lr"] == 0.05
    with pytest.raises(ValueError, match="Argument `schedule` must be 'constant', 'one_cycle' or a factory"):
        verify_suggestion(model, opt, batches, nn.functional.mse_loss, center=0.01, trial_steps=8, schedule="cosine")


def test_one_cycle_trials_work_with_an_optimizer_without_momentum() -> None:
    model, batches = _task()
    opt = torch.optim.Adagrad(model.parameters(), lr=0.05)
    before = FullState(model, opt)
    s = verify_suggestion(model, opt, batches, nn.functional.mse_loss, center=0.01, trial_steps=6, extend=0,
                          schedule="one_cycle")
    assert s.lr is not None and before.diff() == []
