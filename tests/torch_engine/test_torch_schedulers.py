"""ScheduleLR / SweepLR: real torch LRSchedulers whose values are the lrscope schedule's."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

from lrscope.schedules import OneCycle, sweep, triangular  # noqa: E402
from lrscope.torch import LambdaScheduler, ScheduleLR, SweepLR  # noqa: E402


def drive(opt, sched, n):
    """LRs (every group) and momenta seen by n optimizer steps, then scheduler steps."""
    lrs, moms = [], []
    for _ in range(n):
        lrs.append([g["lr"] for g in opt.param_groups])
        g0 = opt.param_groups[0]
        moms.append(g0["betas"][0] if "betas" in g0 else g0.get("momentum"))
        opt.step()
        sched.step()
    return np.array(lrs), np.array(moms, dtype=float)


def two_group_sgd(lr0=0.1, lr1=0.01, momentum=0.9):
    a, b = nn.Linear(2, 2), nn.Linear(2, 1)
    return torch.optim.SGD([{"params": a.parameters(), "lr": lr0}, {"params": b.parameters(), "lr": lr1}], momentum=momentum)


def test_schedule_lr_follows_the_schedule_exactly():
    sched_fn = triangular(1e-3, 1e-1, step_size_up=7)
    opt = torch.optim.SGD(nn.Linear(2, 2).parameters(), lr=0.5)
    sched = ScheduleLR(opt, sched_fn)
    assert isinstance(sched, torch.optim.lr_scheduler.LRScheduler)
    lrs, _ = drive(opt, sched, 40)
    np.testing.assert_array_equal(lrs[:, 0], sched_fn(np.arange(40)))
    assert sched.get_last_lr() == [sched_fn(40)]


def test_other_groups_keep_their_ratio_to_group_0():
    sched_fn = triangular(1e-3, 1e-1, step_size_up=5)
    opt = two_group_sgd(0.1, 0.01)
    lrs, _ = drive(opt, ScheduleLR(opt, sched_fn), 20)
    np.testing.assert_array_equal(lrs[:, 0], sched_fn(np.arange(20)))
    np.testing.assert_allclose(lrs[:, 1], sched_fn(np.arange(20)) * 0.1, rtol=1e-15)


def test_one_cycle_with_momentum_matches_torch_onecycle():
    n = 50
    cycle = OneCycle(max_lr=0.2, total_steps=n)
    opt = torch.optim.SGD(nn.Linear(2, 2).parameters(), lr=0.01, momentum=0.9)
    lrs, moms = drive(opt, ScheduleLR(opt, cycle, momentum=cycle.momentum), n)
    np.testing.assert_array_equal(lrs[:, 0], cycle(np.arange(n)))
    np.testing.assert_array_equal(moms, cycle.momentum(np.arange(n)))
    ref_opt = torch.optim.SGD(nn.Linear(2, 2).parameters(), lr=0.01, momentum=0.9)
    ref = torch.optim.lr_scheduler.OneCycleLR(ref_opt, max_lr=0.2, total_steps=n)
    ref_lrs, ref_moms = drive(ref_opt, ref, n - 1)  # OneCycleLR raises on stepping past its end
    np.testing.assert_allclose(lrs[: n - 1, 0], ref_lrs[:, 0], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(moms[: n - 1], ref_moms, rtol=1e-12)


def test_momentum_schedule_sets_adam_beta1():
    cycle = OneCycle(max_lr=1e-3, total_steps=10)
    opt = torch.optim.Adam(nn.Linear(2, 2).parameters(), lr=1e-3, betas=(0.9, 0.99))
    _, moms = drive(opt, ScheduleLR(opt, cycle, momentum=cycle.momentum), 10)
    np.testing.assert_array_equal(moms, cycle.momentum(np.arange(10)))
    assert opt.param_groups[0]["betas"][1] == 0.99


def test_sweep_lr_is_the_classic_find_lr():
    opt = torch.optim.SGD(nn.Linear(2, 2).parameters(), lr=1e-5)
    sched = SweepLR(opt, end_lr=1.0, num_steps=30)
    lrs, _ = drive(opt, sched, 30)
    np.testing.assert_array_equal(lrs[:, 0], sweep(1e-5, 1.0, 30, "exp").preview()[1])
    lin_opt = two_group_sgd(0.1, 0.05)
    lin, _ = drive(lin_opt, SweepLR(lin_opt, end_lr=1.0, num_steps=10, start_lr=0.01, mode="linear"), 10)
    np.testing.assert_array_equal(lin[:, 0], sweep(0.01, 1.0, 10, "linear").preview()[1])
    np.testing.assert_allclose(lin[:, 1], lin[:, 0] * 0.5, rtol=1e-15)


def test_scheduler_state_dict_roundtrip_resumes():
    sched_fn = triangular(1e-3, 1e-1, step_size_up=4)
    opt = torch.optim.SGD(nn.Linear(2, 2).parameters(), lr=0.5)
    sched = ScheduleLR(opt, sched_fn)
    drive(opt, sched, 6)
    state = sched.state_dict()
    opt2 = torch.optim.SGD(nn.Linear(2, 2).parameters(), lr=0.5)
    sched2 = ScheduleLR(opt2, sched_fn)
    sched2.load_state_dict(state)
    opt2.step()
    sched2.step()
    assert opt2.param_groups[0]["lr"] == sched_fn(7)


def test_alias_and_bad_arguments():
    assert LambdaScheduler is ScheduleLR
    opt = torch.optim.SGD(nn.Linear(2, 2).parameters(), lr=0.1)
    with pytest.raises(ValueError, match="`schedule`"):
        ScheduleLR(opt, 0.1)  # type: ignore[arg-type]
    rms = torch.optim.Adagrad(nn.Linear(2, 2).parameters(), lr=0.1)
    with pytest.raises(ValueError, match="`momentum` needs an optimizer with a `momentum` or `betas`"):
        ScheduleLR(rms, triangular(0.01, 0.1, 4), momentum=lambda t: 0.9)
    with pytest.raises(ValueError, match="`end_lr`"):
        SweepLR(opt, end_lr=0.01, num_steps=10)  # below the start (0.1)
    zero = two_group_sgd(0.0, 0.1)
    with pytest.raises(ValueError, match="ratios are undefined"):
        ScheduleLR(zero, triangular(0.01, 0.1, 4))
