"""Nothing the user owns is changed: bit-exact restore after a run, an exception, NaN, Ctrl-C, on disk."""

from __future__ import annotations

import math
import os

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402
from torch_helpers import FullState, Net, make_data, pretrain  # noqa: E402

from lrscope.torch import StateSnapshot, preserve_state, range_test, state_nbytes  # noqa: E402

CE = nn.functional.cross_entropy


def test_state_bit_identical_after_a_completed_run(trained, data):
    model, opt = trained
    before = FullState(model, opt)
    res = range_test(model, opt, data, CE, start_lr=1e-5, end_lr=1e-2, num_steps=20)
    assert res.stop_reason == "completed" and len(res) == 20
    assert before.diff() == []


def test_state_bit_identical_after_divergence(trained, data):
    model, opt = trained
    before = FullState(model, opt)
    res = range_test(model, opt, data, CE, start_lr=1e-3, end_lr=1e4, num_steps=60)
    assert res.stop_reason in ("diverged", "non-finite loss")
    assert before.diff() == []


def test_state_restored_after_exception_in_loss_fn_at_step_7(trained, data):
    model, opt = trained
    before = FullState(model, opt)
    calls = {"n": 0}

    def loss_fn(out, y):
        calls["n"] += 1
        if calls["n"] == 8:  # the 8th call is step 7 (0-based)
            raise RuntimeError("boom at step 7")
        return CE(out, y)

    with pytest.raises(RuntimeError, match="boom at step 7"):
        range_test(model, opt, data, loss_fn, start_lr=1e-4, end_lr=1.0, num_steps=20)
    assert before.diff() == []


def test_nan_loss_is_a_result_and_state_is_restored(trained, data):
    model, opt = trained
    before = FullState(model, opt)
    calls = {"n": 0}

    def loss_fn(out, y):
        calls["n"] += 1
        loss = CE(out, y)
        return loss * float("nan") if calls["n"] == 6 else loss

    res = range_test(model, opt, data, loss_fn, start_lr=1e-5, end_lr=1e-3, num_steps=30, chunk_size=4)
    assert res.stop_reason == "non-finite loss"
    assert len(res) == 6 and math.isnan(res.losses[-1])  # the curve ends at the NaN, whatever the chunk lag
    assert np.all(np.isfinite(res.losses[:-1]))
    assert before.diff() == []


@pytest.mark.parametrize("on_interrupt", ["raise", "return"])
def test_keyboard_interrupt_restores(trained, data, on_interrupt):
    model, opt = trained
    before = FullState(model, opt)
    calls = {"n": 0}

    def loss_fn(out, y):
        calls["n"] += 1
        if calls["n"] == 10:
            raise KeyboardInterrupt
        return CE(out, y)

    kwargs = dict(start_lr=1e-4, end_lr=1.0, num_steps=30, chunk_size=4, on_interrupt=on_interrupt)
    if on_interrupt == "raise":
        with pytest.raises(KeyboardInterrupt):
            range_test(model, opt, data, loss_fn, **kwargs)
    else:
        res = range_test(model, opt, data, loss_fn, **kwargs)
        assert res.stop_reason == "interrupted" and len(res) == 9
    assert before.diff() == []


def test_disk_snapshot_restores_and_cleans_up(trained, data, tmp_path):
    model, opt = trained
    before = FullState(model, opt)
    res = range_test(model, opt, data, CE, start_lr=1e-3, end_lr=1e3, num_steps=40, snapshot="disk", snapshot_dir=tmp_path)
    assert res.config["snapshot"] == "disk"
    assert before.diff() == []
    assert os.listdir(tmp_path) == []  # the temporary directory is gone


def test_disk_snapshot_restores_after_exception(trained, data, tmp_path):
    model, opt = trained
    before = FullState(model, opt)

    def loss_fn(out, y):
        raise ValueError("user bug")

    with pytest.raises(ValueError, match="user bug"):
        range_test(model, opt, data, loss_fn, num_steps=5, snapshot="disk", snapshot_dir=tmp_path)
    assert before.diff() == [] and os.listdir(tmp_path) == []


def test_restore_false_leaves_the_trained_weights(trained, data):
    model, opt = trained
    before = FullState(model, opt)
    range_test(model, opt, data, CE, start_lr=1e-4, end_lr=1e-2, num_steps=10, restore=False)
    diff = before.diff()
    assert any(d.startswith("param ") for d in diff)
    assert opt.param_groups[0]["lr"] == pytest.approx(1e-2)  # the sweep's last LR stays


def test_scaler_and_groups_and_eval_flags_are_restored(data):
    torch.manual_seed(1)
    model = Net()
    model.bn.eval()  # a frozen-BN fine-tuning setup: the flag must survive
    opt = torch.optim.SGD(
        [{"params": model.fc1.parameters(), "lr": 0.01}, {"params": model.fc2.parameters(), "lr": 0.1, "momentum": 0.5}],
        lr=0.05, momentum=0.9, nesterov=False,
    )  # fmt: skip
    pretrain(model, opt, data, steps=3)
    model.bn.eval()
    scaler = torch.amp.GradScaler("cpu", init_scale=2.0**10)
    before = FullState(model, opt, scaler)
    range_test(model, opt, data, CE, start_lr=1e-4, end_lr=1e2, num_steps=30, grad_scaler=scaler, amp=True)
    assert before.diff() == []


def test_tensor_lr_groups_restore(data):
    torch.manual_seed(2)
    model = Net()
    opt = torch.optim.Adam(model.parameters(), lr=torch.tensor(1e-3))
    pretrain(model, opt, data, steps=2)
    before = FullState(model, opt)
    lr_tensor = opt.param_groups[0]["lr"]
    res = range_test(model, opt, data, CE, start_lr=1e-5, end_lr=1e-1, num_steps=12)
    assert len(res) == 12
    assert before.diff() == [] and opt.param_groups[0]["lr"] is lr_tensor


def test_dataloader_own_generator_is_restored():
    from torch.utils.data import DataLoader, TensorDataset

    x = torch.randn(64, 16)
    y = torch.randint(0, 3, (64,))
    gen = torch.Generator().manual_seed(123)
    loader = DataLoader(TensorDataset(x, y), batch_size=8, shuffle=True, generator=gen)
    state0 = gen.get_state()
    model = Net()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    range_test(model, opt, loader, CE, num_steps=20, end_lr=1.0)
    assert torch.equal(gen.get_state(), state0)


def test_preserve_state_context_manager_directly(trained, data):
    model, opt = trained
    before = FullState(model, opt)
    p = next(model.parameters())
    with preserve_state(model, opt) as snap:
        assert isinstance(snap, StateSnapshot) and snap.nbytes >= state_nbytes(model, opt) - 64
        pretrain(model, opt, data, steps=3)
        np.random.rand(3)
        torch.rand(3)
    assert before.diff() == [] and next(model.parameters()) is p


def test_snapshot_restore_twice_and_replaced_parameter(trained, data):
    model, opt = trained
    before = FullState(model, opt)
    snap = StateSnapshot(model, opt)
    try:
        for _ in range(2):
            pretrain(model, opt, data, steps=2)
            original = model.fc2.weight
            model.fc2.weight = nn.Parameter(torch.zeros_like(original))  # a module that swaps a tensor
            snap.restore()
            assert model.fc2.weight is original
            assert before.diff() == []
    finally:
        snap.close()
    with pytest.raises(RuntimeError):
        snap.restore()


def test_bad_storage_is_a_value_error():
    with pytest.raises(ValueError, match="storage"):
        StateSnapshot(Net(), storage="cloud")  # type: ignore[arg-type]


def test_state_nbytes_counts_params_grads_buffers_and_optimizer():
    model = nn.Linear(10, 10)  # 110 params
    opt = torch.optim.Adam(model.parameters())
    assert state_nbytes(model, opt) == 110 * 4
    x = make_data(n=8, d_in=10, classes=10, batch=8)[0][0]
    model(x).sum().backward()
    opt.step()
    # params + grads + exp_avg + exp_avg_sq (+ two 'step' scalars)
    assert state_nbytes(model, opt) == 4 * 110 * 4 + 2 * 4


def test_a_second_ctrl_c_during_the_restore_waits_for_it(trained, data, monkeypatch, python_sigint):
    """Ctrl-C pressed again while the state is being put back: the restore finishes first, then
    the KeyboardInterrupt arrives."""
    import signal

    model, opt = trained
    before = FullState(model, opt)
    original = StateSnapshot._restore
    fired = {"n": 0}

    def restore_with_ctrl_c(self, **kw):
        fired["n"] += 1
        os.kill(os.getpid(), signal.SIGINT)  # delivered at the next bytecode boundary
        for _ in range(1000):  # give the handler its chance before the restore starts
            pass
        return original(self, **kw)

    monkeypatch.setattr(StateSnapshot, "_restore", restore_with_ctrl_c)
    with pytest.raises(KeyboardInterrupt):
        range_test(model, opt, data, CE, start_lr=1e-3, end_lr=1e3, num_steps=20)
    assert fired["n"] == 1
    assert before.diff() == []
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_parameters_the_optimizer_updates_outside_the_model_are_restored(trained, data):
    """A loss with learnable weights (or a head kept outside the model) is swept too: put it back."""
    import torch

    model, _ = trained
    temperature = nn.Parameter(torch.tensor(1.0))
    opt = torch.optim.Adam([{"params": model.parameters()}, {"params": [temperature], "lr": 1e-2}], lr=1e-3)

    def loss_fn(out, y):
        return CE(out / temperature, y)

    for x, y in data[:2]:  # some optimizer state and a gradient on the outside parameter first
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        opt.step()
    t_before = temperature.detach().clone()
    g_before = temperature.grad.detach().clone()
    before = FullState(model, opt)
    range_test(model, opt, data, loss_fn, start_lr=1e-4, end_lr=1.0, num_steps=20)
    assert before.diff() == []
    assert torch.equal(temperature.detach(), t_before) and torch.equal(temperature.grad, g_before)
