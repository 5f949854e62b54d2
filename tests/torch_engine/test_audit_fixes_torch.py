"""Issue 10's torch defects: a GradScaler left mid-step, RNGs advanced by verify_suggestion, a
scheduler's wrapper left on the optimizer, and ``verify_suggestion(total_steps=N)`` alone.

Each test here failed on main before the fix (see the issue for the reproductions).
"""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402
from torch_helpers import FullState, bits_equal, scaler_internals, scaler_internals_diff  # noqa: E402

from lrscope.torch import range_test  # noqa: E402
from lrscope.torch.verify import verify_suggestion  # noqa: E402

# ----------------------------------------------------------------------------- 1. GradScaler mid-step


def _amp_task(growth_interval: int = 3) -> tuple[nn.Module, torch.optim.Optimizer, Any, list]:
    """A tiny model, SGD with momentum and a CPU GradScaler; the same every call (so a twin is identical)."""
    g = torch.Generator().manual_seed(0)
    x = torch.randn(96, 6, generator=g)
    y = (x @ torch.randn(6, 3, generator=g)).argmax(1)
    batches = [(x[i : i + 16], y[i : i + 16]) for i in range(0, 96, 16)]
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 3))
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    # a small growth interval: the scale grows within the five steps compared below
    scaler = torch.amp.GradScaler("cpu", growth_interval=growth_interval)
    return model, opt, scaler, batches


def _user_steps(model: nn.Module, opt: Any, scaler: Any, batches: list, dtype: torch.dtype,
                clip: float | None, n: int = 5) -> None:
    """The user's own AMP training loop (the one in PyTorch's AMP recipe)."""
    for i in range(n):
        xb, yb = batches[i % len(batches)]
        opt.zero_grad(set_to_none=True)
        with torch.autocast("cpu", dtype=dtype):
            loss = nn.functional.cross_entropy(model(xb), yb)
        scaler.scale(loss).backward()
        if clip is not None:
            scaler.unscale_(opt)
            nn.utils.clip_grad_norm_(model.parameters(), clip)
        scaler.step(opt)
        scaler.update()


def _fault(opt: torch.optim.Optimizer, kind: str, at_call: int = 3) -> Any:
    """Make the optimizer's ``at_call``-th step raise: before it (stage UNSCALED) or after it (STEPPED)."""
    calls = [0]
    exc = KeyboardInterrupt if kind.endswith("ctrl_c") else RuntimeError

    def hook(*_: Any) -> None:
        calls[0] += 1
        if calls[0] == at_call:
            raise exc("fault injected by the test")

    if kind.startswith("pre"):
        return opt.register_step_pre_hook(hook)
    return opt.register_step_post_hook(hook)


FAULTS = ["pre_hook_error", "pre_hook_ctrl_c", "post_hook_error", "none"]


@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize("clip", [None, 1.0])
@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16], ids=["bf16", "fp16"])
def test_range_test_leaves_the_grad_scaler_exactly_as_found(dtype: torch.dtype, clip: float | None, fault: str) -> None:
    model, opt, scaler, batches = _amp_task()
    twin_model, twin_opt, twin_scaler, _ = _amp_task()
    # mid-training: both have taken the same two AMP steps (the scale and growth tracker exist)
    _user_steps(model, opt, scaler, batches, dtype, clip, n=2)
    _user_steps(twin_model, twin_opt, twin_scaler, batches, dtype, clip, n=2)
    before = FullState(model, opt, scaler)
    internals = scaler_internals(scaler)

    handle = _fault(opt, fault) if fault != "none" else None
    expected = {"pre_hook_error": RuntimeError, "post_hook_error": RuntimeError, "pre_hook_ctrl_c": KeyboardInterrupt}
    try:
        if fault == "none":
            range_test(model, opt, batches, nn.functional.cross_entropy, num_steps=8, amp=dtype,
                       grad_scaler=scaler, max_grad_norm=clip, progress=False)
        else:
            with pytest.raises(expected[fault], match="fault injected"):
                range_test(model, opt, batches, nn.functional.cross_entropy, num_steps=8, amp=dtype,
                           grad_scaler=scaler, max_grad_norm=clip, progress=False)
    finally:
        if handle is not None:
            handle.remove()

    scaler_diff, state_diff = scaler_internals_diff(internals, scaler), before.diff()
    # the user's next five AMP steps are the twin's, bit for bit (no "unscale_() has already been
    # called", no step on gradients that were never unscaled)
    _user_steps(model, opt, scaler, batches, dtype, clip)
    _user_steps(twin_model, twin_opt, twin_scaler, batches, dtype, clip)
    for p, q in zip(model.parameters(), twin_model.parameters()):
        assert bits_equal(p, q)
    # after update() no per-optimizer entries are left, so the twin's (other optimizer) compare equal
    assert scaler_internals_diff(scaler_internals(twin_scaler), scaler) == []
    # and right after the test, before those steps: every attribute as the user left it
    assert scaler_diff == []
    assert state_diff == []


@pytest.mark.parametrize("on_interrupt", ["raise", "return"])
def test_a_fresh_scaler_stays_fresh_after_an_interrupted_range_test(on_interrupt: str) -> None:
    """A scaler that never scaled (``_scale`` None) is left so: its first real step uses init_scale."""
    model, opt, scaler, batches = _amp_task()
    twin_model, twin_opt, twin_scaler, _ = _amp_task()
    internals = scaler_internals(scaler)
    assert internals["_scale"] is None
    handle = _fault(opt, "pre_hook_ctrl_c")
    try:
        if on_interrupt == "raise":
            with pytest.raises(KeyboardInterrupt):
                range_test(model, opt, batches, nn.functional.cross_entropy, num_steps=8, amp=torch.bfloat16,
                           grad_scaler=scaler, progress=False)
        else:
            res = range_test(model, opt, batches, nn.functional.cross_entropy, num_steps=8, amp=torch.bfloat16,
                             grad_scaler=scaler, progress=False, on_interrupt="return")
            assert res.stop_reason == "interrupted"
    finally:
        handle.remove()
    assert scaler_internals_diff(internals, scaler) == []
    _user_steps(model, opt, scaler, batches, torch.bfloat16, 1.0)
    _user_steps(twin_model, twin_opt, twin_scaler, batches, torch.bfloat16, 1.0)
    for p, q in zip(model.parameters(), twin_model.parameters()):
        assert bits_equal(p, q)


def test_a_snapshot_keeps_no_reference_the_sweep_mutates() -> None:
    """The scaler's own tensors and per-optimizer dicts are copied, not referenced, by the snapshot."""
    from lrscope.torch import preserve_state

    model, opt, scaler, batches = _amp_task()
    _user_steps(model, opt, scaler, batches, torch.bfloat16, None, n=2)
    scale_obj, tracker_obj = scaler._scale, scaler._growth_tracker
    internals = scaler_internals(scaler)
    with preserve_state(model, opt, scaler):
        xb, yb = batches[0]
        with torch.autocast("cpu", dtype=torch.bfloat16):
            loss = nn.functional.cross_entropy(model(xb), yb)
        scaler.scale(loss).backward()
        scaler.unscale_(opt)  # stage UNSCALED, a found-inf tensor recorded, left so
        scaler._scale.mul_(4.0)  # in place, as update() does
        scaler._growth_tracker.add_(7)
    assert scaler_internals_diff(internals, scaler) == []
    # the tensors stay the user's objects (restored in place)
    assert scaler._scale is scale_obj and scaler._growth_tracker is tracker_obj


@pytest.mark.parametrize("fault", ["pre_hook_error", "pre_hook_ctrl_c", "none"])
def test_verify_suggestion_leaves_the_users_amp_training_as_a_twin_s(fault: str) -> None:
    """verify_suggestion takes no scaler (its trials run in full precision): the user's AMP loop after it
    — a fault in a trial included — matches a twin that never ran it."""
    model, opt, scaler, batches = _amp_task()
    twin_model, twin_opt, twin_scaler, _ = _amp_task()
    _user_steps(model, opt, scaler, batches, torch.float16, 1.0, n=2)
    _user_steps(twin_model, twin_opt, twin_scaler, batches, torch.float16, 1.0, n=2)
    internals = scaler_internals(scaler)
    before = FullState(model, opt, scaler)
    handle = _fault(opt, fault) if fault != "none" else None
    try:
        if fault == "none":
            verify_suggestion(model, opt, batches, nn.functional.cross_entropy, center=0.05, trial_steps=4, extend=0)
        else:
            with pytest.raises((RuntimeError, KeyboardInterrupt), match="fault injected"):
                verify_suggestion(model, opt, batches, nn.functional.cross_entropy, center=0.05, trial_steps=4)
    finally:
        if handle is not None:
            handle.remove()
    assert before.diff() == []
    assert scaler_internals_diff(internals, scaler) == []
    _user_steps(model, opt, scaler, batches, torch.float16, 1.0)
    _user_steps(twin_model, twin_opt, twin_scaler, batches, torch.float16, 1.0)
    for p, q in zip(model.parameters(), twin_model.parameters()):
        assert bits_equal(p, q)


# ----------------------------------------------------------------------------- 2. verify and the RNGs


class _Augmented(torch.utils.data.Dataset):  # type: ignore[type-arg]
    """Random augmentation from all three generators, as user datasets do."""

    def __init__(self) -> None:
        g = torch.Generator().manual_seed(1)
        self.x = torch.randn(64, 8, generator=g)
        self.y = self.x @ torch.randn(8, 1, generator=g)

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        jitter = 0.01 * (random.random() + float(np.random.rand())) + 0.01 * torch.randn(8)
        return self.x[i] + jitter, self.y[i]


def _rng_now(*generators: torch.Generator) -> tuple[Any, ...]:
    return (random.getstate(), np.random.get_state(), torch.get_rng_state().clone(),
            *[g.get_state().clone() for g in generators])


def _rng_equal(a: tuple[Any, ...], b: tuple[Any, ...]) -> list[str]:
    out = []
    if a[0] != b[0]:
        out.append("python")
    if not (a[1][0] == b[1][0] and np.array_equal(a[1][1], b[1][1]) and a[1][2:] == b[1][2:]):
        out.append("numpy")
    out += [f"torch generator {i}" for i, (x, y) in enumerate(zip(a[2:], b[2:])) if not torch.equal(x, y)]
    return out


@pytest.mark.parametrize("own_generator", [False, True], ids=["global_rng", "loader_generator"])
def test_verify_suggestion_leaves_every_rng_where_it_was(own_generator: bool) -> None:
    ds = _Augmented()
    gen = torch.Generator().manual_seed(3) if own_generator else None
    loader = torch.utils.data.DataLoader(ds, batch_size=8, shuffle=True, generator=gen)
    val_loader = torch.utils.data.DataLoader(ds, batch_size=16, shuffle=True, generator=gen)
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 8), nn.Tanh(), nn.Linear(8, 1))
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    random.seed(5)
    np.random.seed(5)
    gens = (gen,) if gen is not None else ()
    before = _rng_now(*gens)
    verify_suggestion(model, opt, loader, nn.functional.mse_loss, center=0.01, trial_steps=4, extend=0,
                      val_data=val_loader)
    assert _rng_equal(before, _rng_now(*gens)) == []


def test_verify_suggestion_leaves_the_rngs_on_an_error_too() -> None:
    ds = _Augmented()
    loader = torch.utils.data.DataLoader(ds, batch_size=8, shuffle=True)
    model = nn.Sequential(nn.Linear(8, 1))
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    before = _rng_now()

    def bad_loss(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        raise RuntimeError("the user's loss failed")

    with pytest.raises(RuntimeError, match="loss failed"):
        verify_suggestion(model, opt, loader, bad_loss, center=0.01, trial_steps=4)
    assert _rng_equal(before, _rng_now()) == []


# ----------------------------------------------------------------------------- 3. the optimizer object


def _attrs(opt: torch.optim.Optimizer) -> dict[str, int]:
    return {k: id(v) for k, v in vars(opt).items()}


def test_one_cycle_trials_leave_an_optimizer_without_a_scheduler_as_found() -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 8), nn.Tanh(), nn.Linear(8, 1))
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    batches = [(torch.randn(8, 8), torch.randn(8, 1)) for _ in range(4)]
    attrs, step = _attrs(opt), opt.step
    groups, state = opt.param_groups, opt.state
    verify_suggestion(model, opt, batches, nn.functional.mse_loss, center=0.01, trial_steps=4, extend=0,
                      schedule="one_cycle")
    assert set(vars(opt)) == set(attrs)  # no "step" wrapper, no "_opt_called"
    assert "step" not in vars(opt) and not hasattr(opt, "_opt_called")
    assert opt.step == step and opt.step.__func__ is type(opt).step  # the class's step, unwrapped
    assert _attrs(opt) == attrs  # every attribute the same object (param_groups, state ... included)
    assert opt.param_groups is groups and opt.state is state
    assert all("initial_lr" not in g and "max_lr" not in g for g in opt.param_groups)


def test_one_cycle_trials_leave_the_users_own_scheduler_wrapper_alone() -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 1))
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=2)
    batches = [(torch.randn(8, 8), torch.randn(8, 1)) for _ in range(4)]
    wrapper = vars(opt)["step"]
    attrs = _attrs(opt)
    had_called = "_opt_called" in vars(opt)
    verify_suggestion(model, opt, batches, nn.functional.mse_loss, center=0.01, trial_steps=4, extend=0,
                      schedule="one_cycle")
    assert vars(opt)["step"] is wrapper and ("_opt_called" in vars(opt)) == had_called
    assert _attrs(opt) == attrs
    # the user's loop goes on: optimizer then scheduler (warnings are errors here)
    for xb, yb in batches:
        opt.zero_grad()
        nn.functional.mse_loss(model(xb), yb).backward()
        opt.step()
        sched.step()
    assert opt.param_groups[0]["lr"] == pytest.approx(0.01 * 0.1**2)


# ----------------------------------------------------------------------------- 5. total_steps alone


def _small() -> tuple[nn.Module, torch.optim.Optimizer, list]:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 1))
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    g = torch.Generator().manual_seed(0)
    batches = [(torch.randn(8, 4, generator=g), torch.randn(8, 1, generator=g)) for _ in range(4)]
    return model, opt, batches


@pytest.mark.parametrize(("total_steps", "trial_steps"), [(40, 4), (59, 5)])
def test_verify_with_total_steps_alone_runs_trials_a_tenth_as_long(total_steps: int, trial_steps: int) -> None:
    model, opt, batches = _small()
    s = verify_suggestion(model, opt, batches, nn.functional.mse_loss, center=0.01, total_steps=total_steps, extend=0)
    assert s.details["trial_steps"] == trial_steps
    assert s.details["steps"] == 3 * trial_steps
    # the horizon ratio is the one given, not the assumed 10
    assert "assumed" not in s.details["shrink_reason"]


def test_verify_with_both_steps_keeps_the_given_trial_length() -> None:
    model, opt, batches = _small()
    s = verify_suggestion(model, opt, batches, nn.functional.mse_loss, center=0.01, total_steps=40, trial_steps=6,
                          extend=0)
    assert s.details["trial_steps"] == 6


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({}, r"`trial_steps` or `total_steps`.*Received: trial_steps=None, total_steps=None"),
        ({"total_steps": 29}, r"Argument `total_steps` must be an integer >= 30 .*Received: total_steps=29"),
        ({"total_steps": 40.0}, r"Argument `total_steps` must be an integer >= 30 .*Received: total_steps=40.0"),
        ({"total_steps": True}, r"Argument `total_steps` .*Received: total_steps=True"),
        ({"total_steps": 10, "trial_steps": 12}, r"Argument `total_steps` must be an integer >= trial_steps \(12\)"),
    ],
)
def test_verify_step_arguments_are_named_with_the_value(kwargs: dict, match: str) -> None:
    model, opt, batches = _small()
    with pytest.raises(ValueError, match=match):
        verify_suggestion(model, opt, batches, nn.functional.mse_loss, center=0.01, **kwargs)
