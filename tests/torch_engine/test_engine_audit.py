"""Gaps an audit found in the range-test engine and the LRFinder facade, one test (or two) each."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402
from torch_helpers import FullState, Net, make_data  # noqa: E402

from lrscope.torch import LRFinder, range_test  # noqa: E402

CE = nn.functional.cross_entropy


def linear_model(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(16, 8), nn.Tanh(), nn.Linear(8, 3))


@pytest.fixture
def every_update_bar(monkeypatch):
    """Make tqdm draw on every update (no time- or count-based throttling), so each render can be checked."""
    tqdm_auto = pytest.importorskip("tqdm.auto")

    class EveryUpdate(tqdm_auto.tqdm):  # type: ignore[misc, name-defined]
        def __init__(self, *args, **kwargs):
            kwargs.update(mininterval=0, miniters=1)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(tqdm_auto, "tqdm", EveryUpdate)


def nan_on_call(k: int):
    """A cross-entropy loss that turns NaN on its k-th call, and the dict counting its calls."""
    calls = {"n": 0}

    def loss_fn(out, y):
        calls["n"] += 1
        return CE(out, y) * (math.nan if calls["n"] == k else 1.0)

    return loss_fn, calls


def renders(err: str) -> list[str]:
    """The bar's successive renders in captured stderr (tqdm redraws after a carriage return)."""
    return [r for r in re.split(r"[\r\n]", err) if "LR range test" in r]


# ----------------------------------------------------------------------------- 2. a loss of shape (1,)


@pytest.mark.parametrize(
    "kwargs",
    [dict(), dict(accumulation_steps=2), dict(steps_per_lr=2), dict(accumulation_steps=2, steps_per_lr=3), dict(chunk_size=1)],
)
def test_a_one_element_loss_of_shape_1_works_in_every_mode(data, kwargs):
    val = make_data(n=64, seed=5)

    def run(loss_fn):
        model = linear_model()
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        return range_test(model, opt, data, loss_fn, num_steps=6, start_lr=1e-4, end_lr=1e-2, val_data=val, val_batches=2, **kwargs)

    ref = run(CE)
    res = run(lambda out, y: CE(out, y).reshape(1))
    assert res.losses.shape == (6,) and res.stop_reason == "completed"
    np.testing.assert_array_equal(res.losses, ref.losses)
    np.testing.assert_array_equal(res.val_losses, ref.val_losses)


# ----------------------------------------------------------------------------- 3a. validation under no_grad


def test_validation_forwards_run_under_no_grad_in_eval_mode(data):
    model = Net()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    seen: list[tuple[bool, bool]] = []  # (module in train mode, grad enabled) at each forward
    h = model.register_forward_hook(lambda mod, args, out: seen.append((mod.training, torch.is_grad_enabled())))
    try:
        range_test(model, opt, data, CE, num_steps=6, start_lr=1e-4, end_lr=1e-2, val_data=make_data(n=64, seed=3), val_batches=2, val_every=2)
    finally:
        h.remove()
    val_calls = [grad for training, grad in seen if not training]
    train_calls = [grad for training, grad in seen if training]
    assert len(val_calls) == 3 * 2 and len(train_calls) == 6  # evaluated at points 0, 2, 4; two batches each
    assert not any(val_calls), "a validation forward ran with grad enabled"
    assert all(train_calls)
    assert torch.is_grad_enabled()


# ----------------------------------------------------------------------------- 5. StopIteration from user code


@pytest.mark.parametrize("where", ["loss_fn", "step_fn", "validation"])
def test_stop_iteration_from_user_code_is_an_error_not_the_end_of_the_data(trained, data, where):
    model, opt = trained
    before = FullState(model, opt)
    calls = {"n": 0}

    def loss_fn(out, y):
        calls["n"] += 1
        if where == "loss_fn" and calls["n"] == 4:
            next(iter([]))  # a bug in the user's code, not the data running out
        return CE(out, y)

    def step_fn(m, batch):
        if m.training:
            calls["n"] += 1
        if (where == "step_fn" and calls["n"] == 4) or (where == "validation" and not m.training and calls["n"] == 3):
            next(iter([]))
        return CE(m(batch[0]), batch[1])

    kwargs = dict(num_steps=10, start_lr=1e-4, end_lr=1e-2)
    with pytest.raises(RuntimeError, match="StopIteration") as info:
        if where == "loss_fn":
            range_test(model, opt, data, loss_fn, **kwargs)
        else:
            range_test(model, opt, data, step_fn=step_fn, val_data=data[:1], **kwargs)
    assert isinstance(info.value.__cause__, StopIteration)
    assert before.diff() == []


def test_the_data_running_out_still_ends_the_test_cleanly(data):
    model = linear_model()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    res = range_test(model, opt, iter(data[:5]), CE, num_steps=10, start_lr=1e-4, end_lr=1e-2)
    assert res.stop_reason == "data exhausted" and len(res) == 5


# ----------------------------------------------------------------------------- 6. Ctrl-C while the val subset is fetched


@pytest.mark.parametrize("on_interrupt", ["return", "raise"])
def test_ctrl_c_while_fetching_the_validation_subset_honours_on_interrupt(trained, data, on_interrupt):
    model, opt = trained
    before = FullState(model, opt)

    def val_batches():
        yield data[0]
        raise KeyboardInterrupt

    kwargs = dict(num_steps=10, start_lr=1e-4, end_lr=1e-2, val_data=val_batches(), on_interrupt=on_interrupt)
    if on_interrupt == "raise":
        with pytest.raises(KeyboardInterrupt):
            range_test(model, opt, data, CE, **kwargs)
    else:
        res = range_test(model, opt, data, CE, **kwargs)
        assert res.stop_reason == "interrupted" and len(res) == 0
    assert before.diff() == []


def test_ctrl_c_before_the_first_batch_is_not_reported_as_empty_data(trained, data):
    class Interrupting:
        def __iter__(self):
            raise KeyboardInterrupt
            yield  # pragma: no cover

    model, opt = trained
    before = FullState(model, opt)
    res = range_test(model, opt, Interrupting(), CE, num_steps=10, on_interrupt="return")
    assert res.stop_reason == "interrupted" and len(res) == 0
    with pytest.raises(KeyboardInterrupt):
        range_test(model, opt, Interrupting(), CE, num_steps=10)
    assert before.diff() == []


# ----------------------------------------------------------------------------- 7. the bar shows the current chunk


@pytest.mark.parametrize("chunk_size", [1, 2])
def test_progress_bar_shows_the_lr_and_loss_of_the_points_it_counts(data, capsys, every_update_bar, chunk_size):
    from lrscope.analysis.stop import StopRule

    model = linear_model()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    res = range_test(model, opt, data, CE, num_steps=5, start_lr=1e-4, end_lr=1e-2, chunk_size=chunk_size, progress=True)
    err = capsys.readouterr().err
    counted = {}
    for r in renders(err):
        m = re.search(r"(\d+)/5", r)
        if m and int(m.group(1)) > 0:
            counted[int(m.group(1))] = r
    expect_counts = list(range(chunk_size, 5, chunk_size)) + [5]
    assert sorted(counted) == expect_counts, err
    for k, r in counted.items():
        rule = StopRule(beta=0.98)
        rule.update_many(res.losses[:k])
        assert f"lr={res.lrs[k - 1]:.3g}" in r and f"loss={rule.smoothed:.4g}" in r, (k, r)
    assert f"lr={res.lrs[-1]:.3g}" in counted[5]


def test_progress_bar_after_a_divergence_stop_shows_the_last_recorded_lr(data, capsys, every_update_bar):
    model = linear_model()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    loss_fn, calls = nan_on_call(3)

    res = range_test(model, opt, data, loss_fn, num_steps=12, start_lr=1e-4, end_lr=1e-2, chunk_size=8, progress=True)
    assert res.stop_reason == "non-finite loss" and len(res) == 3
    last = renders(capsys.readouterr().err)[-1]
    assert f"lr={res.lrs[-1]:.3g}" in last, last


# ----------------------------------------------------------------------------- 9. LRFinder validates start_lr


@pytest.mark.parametrize("bad", ["a", None, [1e-3]])
def test_lrfinder_run_with_a_bad_start_lr_is_a_value_error_naming_it(data, bad):
    model = Net()
    before = FullState(model)
    with pytest.raises(ValueError, match=re.escape(f"`start_lr` must be a finite number > 0. Received: start_lr={bad!r}")):
        LRFinder(model, data, CE).run(start_lr=bad, num_steps=4)
    assert before.diff() == []


# ----------------------------------------------------------------------------- 10. no false "cycled" note


def test_an_iterable_returning_the_same_exhausted_iterator_is_not_reported_as_cycled(data):
    class SameIterator:
        def __init__(self, batches):
            self.it = iter(batches)

        def __iter__(self):
            return self.it

    model = linear_model()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    res = range_test(model, opt, SameIterator(data[:5]), CE, num_steps=10, start_lr=1e-4, end_lr=1e-2)
    assert res.stop_reason == "data exhausted" and len(res) == 5
    assert res.config["batches_used"] == 5
    assert not any("cycled" in n for n in res.notes), res.notes


def test_a_really_cycled_loader_still_counts_its_passes(data):
    model = linear_model()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    res = range_test(model, opt, data[:4], CE, num_steps=10, start_lr=1e-4, end_lr=1e-2)
    assert len(res) == 10 and any("3 passes" in n for n in res.notes), res.notes


# ----------------------------------------------------------------------------- 11. restore=False after a NaN


@pytest.mark.parametrize("chunk_size", [1, 4])
def test_restore_false_keeps_training_at_most_to_the_chunk_boundary_after_a_nan(data, chunk_size):
    """The documented contract: without restore, the steps up to the end of the NaN's chunk have run."""
    model = linear_model()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    loss_fn, calls = nan_on_call(3)

    res = range_test(model, opt, data, loss_fn, num_steps=20, restore=False, chunk_size=chunk_size)
    assert res.stop_reason == "non-finite loss" and len(res) == 3
    assert calls["n"] == math.ceil(3 / chunk_size) * chunk_size  # chunk_size=1: the sweep stops at the NaN step


def test_docstring_explains_restore_false_and_the_chunk_lag():
    doc = " ".join((range_test.__doc__ or "").split())
    i = doc.index("restore: ")
    restore_doc = doc[i : doc.index("snapshot: ", i)]
    assert "chunk_size" in restore_doc and "chunk_size=1" in restore_doc



def test_an_optimizer_over_another_models_parameters_is_refused():
    import torch
    from torch import nn

    from lrscope.torch import range_test

    model, other = nn.Linear(4, 2), nn.Linear(4, 2)
    opt = torch.optim.SGD(other.parameters(), lr=0.1)
    batches = [(torch.randn(8, 4), torch.randint(0, 2, (8,)))] * 5
    with pytest.raises(ValueError, match=r"Argument `optimizer` must update the model's parameters.*none of model=Linear's"):
        range_test(model, opt, batches, nn.functional.cross_entropy, num_steps=5)
