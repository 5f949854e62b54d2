"""Golden tests: our schedules against PyTorch's LR schedulers, stepped one step at a time."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from lrscope.schedules import SGDR, Cosine, Cyclic, ExponentialDecay, OneCycle, StepDecay

torch = pytest.importorskip("torch")
lr_scheduler = torch.optim.lr_scheduler

RTOL = 1e-10


def drive(make: Callable[[Any], Any], num_steps: int, *, lr: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """LR and momentum torch applies at optimizer steps 0 .. num_steps - 1 (float64, from param_groups)."""
    param = torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))
    opt = torch.optim.SGD([param], lr=lr, momentum=0.9)
    sched = make(opt)
    lrs, moms = [], []
    for _ in range(num_steps):
        group = opt.param_groups[0]
        lrs.append(float(group["lr"]))
        moms.append(float(group["momentum"]))
        opt.step()
        sched.step()
    return np.array(lrs), np.array(moms)


def test_drive_reads_a_changing_lr():
    # Guard against a vacuous golden test: torch's values do move, and not trivially.
    lrs, _ = drive(lambda o: lr_scheduler.CyclicLR(o, 0.1, 1.0, step_size_up=2), 5)
    np.testing.assert_allclose(lrs, [0.1, 0.55, 1.0, 0.55, 0.1], rtol=1e-12)


@pytest.mark.parametrize(
    ("mode", "up", "down", "gamma"),
    [
        ("triangular", 5, None, 1.0),
        ("triangular", 3, 8, 1.0),
        ("triangular2", 4, None, 1.0),
        ("triangular2", 6, 2, 1.0),
        ("exp_range", 5, None, 0.97),
        ("exp_range", 2, 9, 0.9),
        ("triangular", 1, 1, 1.0),
    ],
)
def test_cyclic_matches_torch_cycliclr(mode, up, down, gamma):
    base_lr, max_lr = 1e-3, 6e-3
    n = 4 * (up + (down or up)) + 1  # more than three full cycles
    torch_lr, torch_mom = drive(
        lambda o: lr_scheduler.CyclicLR(
            o, base_lr, max_lr, step_size_up=up, step_size_down=down, mode=mode, gamma=gamma,
            base_momentum=0.8, max_momentum=0.9,
        ),
        n,
    )
    ours = Cyclic(base_lr, max_lr, step_size_up=up, step_size_down=down, mode=mode, gamma=gamma)
    steps = np.arange(n)
    np.testing.assert_allclose(ours(steps), torch_lr, rtol=RTOL, atol=0)
    np.testing.assert_allclose(ours.momentum_schedule(0.8, 0.9)(steps), torch_mom, rtol=RTOL, atol=0)


@pytest.mark.parametrize("scale_mode", ["cycle", "iterations"])
def test_cyclic_custom_scale_fn_matches_torch(scale_mode):
    def fn(x: float) -> float:
        return 1.0 / (1.0 + 0.1 * x)

    n = 3 * 10 + 4
    torch_lr, _ = drive(
        lambda o: lr_scheduler.CyclicLR(o, 0.01, 0.1, step_size_up=4, step_size_down=6, scale_fn=fn, scale_mode=scale_mode),
        n,
    )
    ours = Cyclic(0.01, 0.1, step_size_up=4, step_size_down=6, scale_fn=fn, scale_mode=scale_mode)
    np.testing.assert_allclose(ours(np.arange(n)), torch_lr, rtol=RTOL, atol=0)


@pytest.mark.parametrize("anneal_strategy", ["cos", "linear"])
@pytest.mark.parametrize("three_phase", [False, True])
@pytest.mark.parametrize(
    ("total_steps", "pct_start", "div_factor", "final_div_factor"),
    [(100, 0.3, 25.0, 1e4), (37, 0.25, 10.0, 100.0), (11, 0.15, 4.0, 3.0)],
)
def test_one_cycle_matches_torch_onecyclelr(anneal_strategy, three_phase, total_steps, pct_start, div_factor, final_div_factor):
    max_lr = 0.4
    torch_lr, torch_mom = drive(
        lambda o: lr_scheduler.OneCycleLR(
            o, max_lr, total_steps=total_steps, pct_start=pct_start, anneal_strategy=anneal_strategy,
            div_factor=div_factor, final_div_factor=final_div_factor, three_phase=three_phase,
            base_momentum=0.8, max_momentum=0.93,
        ),
        total_steps,
    )
    ours = OneCycle(
        max_lr, total_steps, pct_start=pct_start, anneal_strategy=anneal_strategy, div_factor=div_factor,
        final_div_factor=final_div_factor, three_phase=three_phase, base_momentum=0.8, max_momentum=0.93,
    )
    steps = np.arange(total_steps)
    np.testing.assert_allclose(ours(steps), torch_lr, rtol=RTOL, atol=0)
    np.testing.assert_allclose(ours.momentum(steps), torch_mom, rtol=RTOL, atol=0)
    # Past the end ours holds the final value, min_lr (torch would raise).
    assert ours(total_steps + 10) == ours(total_steps - 1) == pytest.approx(max_lr / div_factor / final_div_factor, rel=1e-12)


@pytest.mark.parametrize(("T_0", "T_mult", "periods"), [(5, 1, 4), (3, 1, 4), (5, 2, 4), (2, 3, 4), (1, 2, 8), (1, 3, 6)])
def test_sgdr_matches_torch_cosine_annealing_warm_restarts(T_0, T_mult, periods):  # noqa: N803
    # (1, 3) passes step 121, where a plain floating-point log puts the restart one period early.
    lr, eta_min = 0.2, 1e-3
    n = sum(T_0 * T_mult**i for i in range(periods)) + 2
    torch_lr, _ = drive(lambda o: lr_scheduler.CosineAnnealingWarmRestarts(o, T_0=T_0, T_mult=T_mult, eta_min=eta_min), n, lr=lr)
    np.testing.assert_allclose(SGDR(lr, T_0, T_mult, eta_min)(np.arange(n)), torch_lr, rtol=RTOL, atol=0)


def test_cosine_matches_torch_cosine_annealing_lr_up_to_t_max():
    lr, T_max, eta_min = 0.1, 50, 1e-4
    torch_lr, _ = drive(lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=T_max, eta_min=eta_min), T_max + 1, lr=lr)
    np.testing.assert_allclose(Cosine(lr, T_max, eta_min)(np.arange(T_max + 1)), torch_lr, rtol=RTOL, atol=0)


@pytest.mark.parametrize("steps_per_epoch", [1, 7])
def test_exponential_decay_matches_torch_exponentiallr_per_epoch(steps_per_epoch):
    lr, gamma, epochs = 0.1, 0.97, 60
    torch_lr, _ = drive(lambda o: lr_scheduler.ExponentialLR(o, gamma=gamma), epochs, lr=lr)
    staircase = ExponentialDecay(lr, gamma, steps_per_epoch=steps_per_epoch)
    steps = np.arange(epochs * steps_per_epoch)
    # Every step of epoch e uses torch's epoch-e value.
    np.testing.assert_allclose(staircase(steps), np.repeat(torch_lr, steps_per_epoch), rtol=RTOL, atol=0)
    smooth = ExponentialDecay(lr, gamma, steps_per_epoch=steps_per_epoch, staircase=False)
    np.testing.assert_allclose(smooth(steps[::steps_per_epoch]), torch_lr, rtol=RTOL, atol=0)


def test_step_decay_matches_torch_steplr():
    torch_lr, _ = drive(lambda o: lr_scheduler.StepLR(o, step_size=4, gamma=0.5), 30, lr=0.3)
    np.testing.assert_allclose(StepDecay(0.3, step_size=4, gamma=0.5)(np.arange(30)), torch_lr, rtol=RTOL, atol=0)
