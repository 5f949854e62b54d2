"""The range-test engine: inputs, sweep arithmetic, accumulation, AMP, validation loss, metrics."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402
from torch_helpers import FullState, Net, make_data, pretrain  # noqa: E402

from lrscope.result import RangeTestResult  # noqa: E402
from lrscope.schedules.sweeps import sweep  # noqa: E402
from lrscope.torch import accuracy, range_test  # noqa: E402

CE = nn.functional.cross_entropy


def linear_model(seed: int = 0, d_in: int = 16, d_out: int = 3) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(d_in, 8), nn.Tanh(), nn.Linear(8, d_out))


def lr_recorder(opt: torch.optim.Optimizer) -> tuple[list[list[float]], object]:
    """Record every group's LR at each real optimizer step (via a step pre-hook)."""
    seen: list[list[float]] = []
    handle = opt.register_step_pre_hook(lambda o, args, kwargs: seen.append([float(g["lr"]) for g in o.param_groups]))
    return seen, handle


# ----------------------------------------------------------------------------- bad input


def _gen(data):
    yield from data


BAD = [
    (dict(start_lr=0.0), "`start_lr` must be a finite number > 0. Received: start_lr=0.0"),
    (dict(start_lr=-1e-3), "`start_lr`.*Received: start_lr=-0.001"),
    (dict(start_lr=float("nan")), "`start_lr`"),
    (dict(start_lr=0.1, end_lr=0.01), r"`end_lr` must be greater than `start_lr`. Received: start_lr=0.1, end_lr=0.01"),
    (dict(start_lr=0.1, end_lr=0.1), "`end_lr` must be greater"),
    (dict(num_steps=1), "`num_steps` must be an integer >= 2. Received: num_steps=1"),
    (dict(num_steps=2.5), "`num_steps`"),
    (dict(accumulation_steps=0), "`accumulation_steps` must be an integer >= 1. Received: accumulation_steps=0"),
    (dict(steps_per_lr=0), "`steps_per_lr`.*Received: steps_per_lr=0"),
    (dict(mode="cosine"), "`mode` must be 'exp' or 'linear'. Received: mode='cosine'"),
    (dict(val_every=0, val_data=[]), "`val_every`"),
    (dict(val_batches=0, val_data=[]), "`val_batches`"),
    (dict(metric="f1"), "`metric`.*Received: metric='f1'"),
    (dict(metric_on="val"), "`metric_on` is 'val' but no `val_data`"),
    (dict(diverge_threshold=1.0), "`diverge_threshold`.*Received: diverge_threshold=1.0"),
    (dict(smooth_beta=1.0), "`smooth_beta`"),
    (dict(max_grad_norm=-1.0), "`max_grad_norm`"),
    (dict(snapshot="cloud"), "`snapshot` must be 'memory' or 'disk'. Received: snapshot='cloud'"),
    (dict(snapshot_dir="/no/such/dir"), "`snapshot_dir`"),
    (dict(device="cuda:0"), "`device` must be where the model lives"),
    (dict(chunk_size=0), "`chunk_size`"),
    (dict(amp="yes"), "`amp`"),
    (dict(grad_scaler="yes"), "`grad_scaler`"),
    (dict(progress="loud"), "`progress`"),
    (dict(on_interrupt="ignore"), "`on_interrupt`"),
]


@pytest.mark.parametrize("kwargs, match", BAD, ids=[m.split("`")[1] + f"-{i}" for i, (_, m) in enumerate(BAD)])
def test_bad_input_is_a_value_error_naming_it_and_nothing_changes(trained, data, kwargs, match):
    model, opt = trained
    before = FullState(model, opt)
    kwargs = {"num_steps": 10, **kwargs}
    with pytest.raises(ValueError, match=match):
        range_test(model, opt, data, CE, **kwargs)
    assert before.diff() == []


def test_no_length_and_no_num_steps_runs_the_default_100_steps_until_the_data_runs_dry(trained, data):
    # audit item 5: the default is 100 steps, not one epoch (so it no longer needs a length); a one-shot
    # generator of 8 batches ends the test cleanly after its 8 points
    model, opt = trained
    before = FullState(model, opt)
    res = range_test(model, opt, _gen(data), CE)
    assert len(res) == len(data) == 8 and res.stop_reason == "data exhausted" and res.config["num_steps"] == 100
    assert before.diff() == []


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(loss_fn=None), "Exactly one of the arguments `loss_fn` and `step_fn`"),
        (dict(step_fn=lambda m, b: m(b[0]).sum()), "Exactly one of"),
        (dict(loss_fn=None, step_fn=lambda m, b: CE(m(b[0]), b[1]), metric="accuracy"), "`metric` needs the model's outputs"),
    ],
)
def test_loss_fn_xor_step_fn(trained, data, kwargs, match):
    model, opt = trained
    kwargs = {"loss_fn": CE, **kwargs}
    with pytest.raises(ValueError, match=match):
        range_test(model, opt, data, num_steps=5, **kwargs)


def test_wrong_types_are_named(data):
    model = Net()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="`model` must be a torch.nn.Module"):
        range_test(object(), opt, data, CE, num_steps=5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="`optimizer` must be a torch.optim.Optimizer"):
        range_test(model, "sgd", data, CE, num_steps=5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="`train_data` must be an iterable"):
        range_test(model, opt, 3, CE, num_steps=5)  # type: ignore[arg-type]


def test_non_scalar_loss_and_empty_data_restore_and_explain(trained, data):
    model, opt = trained
    before = FullState(model, opt)
    with pytest.raises(ValueError, match="scalar tensor.*reduction"):
        range_test(model, opt, data, nn.CrossEntropyLoss(reduction="none"), num_steps=5)
    with pytest.raises(ValueError, match="`train_data` yielded no batches"):
        range_test(model, opt, [], CE, num_steps=5)
    assert before.diff() == []


# ----------------------------------------------------------------------------- batches and loss forms


def test_batches_as_tuple_list_dict_give_the_same_curve(data):
    results = []
    variants = [
        [(x, y) for x, y in data],
        [[x, y] for x, y in data],
        [{"x": x, "target": y} for x, y in data],
        [{"x": x, "lbl": y} for x, y in data],
        [({"x": x}, y) for x, y in data],
    ]
    for i, batches in enumerate(variants):
        model = linear_model()

        class Wrap(nn.Module):
            def __init__(self, inner):
                super().__init__()
                self.inner = inner

            def forward(self, x):
                return self.inner(x)

        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        res = range_test(Wrap(model), opt, batches, CE, num_steps=12, end_lr=1.0, target_key="lbl" if i == 3 else None)
        results.append(res.losses)
    for r in results[1:]:
        np.testing.assert_array_equal(r, results[0])


def test_dict_batch_without_targets_is_explained(data):
    model = linear_model()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="targets entry"):
        range_test(model, opt, [{"x": x, "answer": y} for x, y in data], CE, num_steps=4)


def test_step_fn_for_a_model_that_computes_its_own_loss(data):
    class SelfLoss(nn.Module):
        def __init__(self):
            super().__init__()
            self.net = linear_model()

        def forward(self, x, labels):
            return SimpleNamespace(loss=CE(self.net(x), labels), logits=None)

    m1 = SelfLoss()
    o1 = torch.optim.SGD(m1.parameters(), lr=0.1)
    r1 = range_test(m1, o1, data, step_fn=lambda model, batch: model(*batch), num_steps=10, end_lr=1.0)
    m2 = linear_model()
    o2 = torch.optim.SGD(m2.parameters(), lr=0.1)
    r2 = range_test(m2, o2, data, CE, num_steps=10, end_lr=1.0)
    np.testing.assert_array_equal(r1.losses, r2.losses)
    # a mapping with "loss" works too
    r3 = range_test(m1, o1, data, step_fn=lambda model, batch: {"loss": model(*batch).loss}, num_steps=10, end_lr=1.0)
    np.testing.assert_array_equal(r3.losses, r2.losses)


# ----------------------------------------------------------------------------- the sweep


@pytest.mark.parametrize("mode", ["exp", "linear"])
def test_lrs_are_the_shared_sweep_exactly_and_are_what_the_optimizer_used(data, mode):
    model = linear_model()
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    seen, h = lr_recorder(opt)
    res = range_test(model, opt, data, CE, start_lr=1e-3, end_lr=0.5, num_steps=17, mode=mode, diverge_threshold=None)
    h.remove()
    expected = sweep(1e-3, 0.5, 17, mode).preview()[1]
    np.testing.assert_array_equal(res.lrs, expected)
    np.testing.assert_array_equal(np.array(seen)[:, 0], expected)
    assert res.sweep == mode and res.config["mode"] == mode
    if mode == "linear":
        np.testing.assert_allclose(res.lrs, np.linspace(1e-3, 0.5, 17), rtol=0, atol=1e-15)
        assert res.lrs[0] == 1e-3 and res.lrs[-1] == 0.5


def test_multi_group_ratio_is_kept_and_group_0_is_recorded(data):
    model = linear_model()
    opt = torch.optim.SGD(
        [{"params": model[0].parameters(), "lr": 0.01}, {"params": model[2].parameters(), "lr": 0.1}], lr=0.05
    )
    seen, h = lr_recorder(opt)
    res = range_test(model, opt, data, CE, start_lr=1e-4, end_lr=1.0, num_steps=15, diverge_threshold=None)
    h.remove()
    seen_a = np.array(seen)
    np.testing.assert_array_equal(seen_a[:, 0], res.lrs)
    np.testing.assert_allclose(seen_a[:, 1] / seen_a[:, 0], 10.0, rtol=1e-12)
    assert res.config["param_groups"] == 2 and res.config["lr_ratios"] == [1.0, 10.0]
    assert any("group 0" in n for n in res.notes)
    assert [g["lr"] for g in opt.param_groups] == [0.01, 0.1]


def test_steps_per_lr_holds_each_lr_and_records_the_mean(data):
    model = linear_model()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    seen, h = lr_recorder(opt)
    raw: list[float] = []

    def loss_fn(out, y):
        loss = CE(out, y)
        raw.append(float(loss.detach()))
        return loss

    res = range_test(model, opt, data, loss_fn, start_lr=1e-3, end_lr=1e-1, num_steps=5, steps_per_lr=2)
    h.remove()
    assert len(res) == 5 and len(seen) == 10
    lrs_used = np.array(seen)[:, 0]
    np.testing.assert_array_equal(lrs_used[0::2], lrs_used[1::2])
    np.testing.assert_array_equal(lrs_used[0::2], res.lrs)
    np.testing.assert_array_equal(res.losses, [(raw[2 * i] + raw[2 * i + 1]) / 2 for i in range(5)])
    np.testing.assert_array_equal(res.steps, [0, 2, 4, 6, 8])


def test_gradient_accumulation_mean_loss_and_weights_exact_against_a_hand_loop(data):
    k, n = 3, 4
    start, end = 1e-2, 1.0
    lrs = sweep(start, end, n, "exp").preview()[1]
    # by hand
    ref = linear_model(seed=5)
    ref_opt = torch.optim.SGD(ref.parameters(), lr=0.1, momentum=0.9)
    hand_losses = []
    b = 0
    for i in range(n):
        ref_opt.param_groups[0]["lr"] = float(lrs[i])
        micro = []
        for _ in range(k):
            x, y = data[b % len(data)]
            b += 1
            loss = CE(ref(x), y)
            micro.append(float(loss.detach()))
            (loss / k).backward()
        ref_opt.step()
        ref_opt.zero_grad()
        hand_losses.append(sum(micro) / k)
    # engine
    model = linear_model(seed=5)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    seen, h = lr_recorder(opt)
    res = range_test(model, opt, data, CE, start_lr=start, end_lr=end, num_steps=n, accumulation_steps=k, restore=False)
    h.remove()
    assert len(seen) == n  # the sweep advanced only on real optimizer steps
    np.testing.assert_array_equal(res.losses, hand_losses)
    for p, q in zip(model.parameters(), ref.parameters()):
        assert torch.equal(p, q)
    assert res.config["accumulation_steps"] == k and res.config["batches_used"] == k * n


def test_grad_scaler_skipped_step_is_recorded(data):
    model = linear_model()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    calls = {"n": 0}

    def loss_fn(out, y):
        calls["n"] += 1
        loss = CE(out, y)
        if calls["n"] == 4:  # step 3: a finite loss whose gradient is NaN (d sqrt(z)/dz at z=0 is inf)
            loss = loss + 0.0 * torch.sqrt((out * 0).sum())
        return loss

    before = FullState(model, opt)
    res = range_test(model, opt, data, loss_fn, start_lr=1e-4, end_lr=1e-2, num_steps=8, grad_scaler=True)
    assert res.config["grad_scaler"] is True and res.config["skipped_steps"] == [3]
    assert np.all(np.isfinite(res.losses)) and res.stop_reason == "completed"
    assert any("skipped the optimizer step" in n and "[3]" in n for n in res.notes)
    assert before.diff() == []


def test_user_grad_scaler_and_autocast_bf16(data):
    model = linear_model()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    scaler = torch.amp.GradScaler("cpu", init_scale=256.0)
    before = FullState(model, opt, scaler)
    res = range_test(model, opt, data, CE, num_steps=10, end_lr=1.0, amp=torch.bfloat16, grad_scaler=scaler)
    assert res.config["amp"] == "bfloat16" and len(res) == 10 and np.all(np.isfinite(res.losses))
    assert before.diff() == []


def test_gradient_clipping_bounds_the_norm(data):
    model = linear_model()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    norms: list[float] = []

    def hook(o, args, kwargs):
        norms.append(float(torch.linalg.vector_norm(torch.stack([p.grad.norm() for p in model.parameters()]))))

    h = opt.register_step_pre_hook(hook)
    range_test(model, opt, data, lambda o, y: 100.0 * CE(o, y), num_steps=10, end_lr=1e-2, max_grad_norm=0.5)
    h.remove()
    assert len(norms) == 10 and max(norms) <= 0.5 * (1 + 1e-5)


# ----------------------------------------------------------------------------- data length, cycling, exhaustion


def test_a_short_loader_is_cycled_with_a_note(data):
    model = linear_model()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    res = range_test(model, opt, data, CE, num_steps=20, start_lr=1e-4, end_lr=1e-2)  # 8 batches, 20 steps
    assert len(res) == 20 and res.stop_reason == "completed"
    assert any("cycled" in n for n in res.notes)


def test_num_steps_defaults_to_100_and_short_data_is_cycled(data):
    # audit item 5: 8 batches of data, the default 100 points: cycled ceil(100 / 8) = 13 times,
    # with accumulation 200 batches in ceil(200 / 8) = 25 passes; the note says so
    model = linear_model()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    res = range_test(model, opt, data, CE, start_lr=1e-4, end_lr=1e-2)
    assert len(res) == 100 and res.config["batches_used"] == 100
    assert [n for n in res.notes if "cycled" in n] == [
        "train_data was cycled: the sweep used 100 batches, 13 passes over data shorter than the sweep "
        "(the model saw batches again)."
    ]
    res2 = range_test(model, opt, data, CE, start_lr=1e-4, end_lr=1e-2, accumulation_steps=2)
    assert len(res2) == 100 and res2.config["batches_used"] == 200 and any("25 passes" in n for n in res2.notes)


@pytest.mark.parametrize("accumulation_steps, expected", [(1, 7), (2, 3)])
def test_a_generator_running_dry_ends_the_test_cleanly(data, accumulation_steps, expected):
    model = linear_model()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    before = FullState(model, opt)
    res = range_test(
        model, opt, _gen(data[:7]), CE, num_steps=20, start_lr=1e-4, end_lr=1e-2, accumulation_steps=accumulation_steps
    )
    assert res.stop_reason == "data exhausted" and len(res) == expected
    assert "ran out after 7 batches" in res.stop_detail
    assert before.diff() == []


# ----------------------------------------------------------------------------- stop rule, chunking


def test_chunk_size_does_not_change_the_result(trained, data):
    model, opt = trained
    runs = [range_test(model, opt, data, CE, start_lr=1e-4, end_lr=1e3, num_steps=50, chunk_size=c) for c in (1, 7, 16, 64)]
    for r in runs[1:]:
        np.testing.assert_array_equal(r.losses, runs[0].losses)
        assert (r.stop_reason, r.stop_detail) == (runs[0].stop_reason, runs[0].stop_detail)
    assert runs[0].stop_reason in ("diverged", "non-finite loss") and len(runs[0]) < 50


def test_mid_training_no_stale_best_loss_and_runs_are_repeatable(data):
    torch.manual_seed(3)
    model = Net(dropout=0.0)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    pretrain(model, opt, data, steps=200)  # a model that has already trained: low loss
    r1 = range_test(model, opt, data, CE, start_lr=1e-6, end_lr=1e-3, num_steps=30)
    r2 = range_test(model, opt, data, CE, start_lr=1e-6, end_lr=1e-3, num_steps=30)
    assert r1.stop_reason == "completed" and len(r1) == 30  # no divergence on step 1 from an old best
    np.testing.assert_array_equal(r1.losses, r2.losses)  # the first run left no trace


def test_frozen_layers_fine_tuning(data):
    torch.manual_seed(4)
    model = Net()
    for p in model.fc1.parameters():
        p.requires_grad_(False)
    frozen = model.fc1.weight.detach().clone()
    opt = torch.optim.SGD(
        [{"params": model.bn.parameters(), "lr": 1e-3}, {"params": model.fc2.parameters(), "lr": 1e-2}], momentum=0.9
    )
    before = FullState(model, opt)
    res = range_test(model, opt, data, CE, start_lr=1e-5, end_lr=10.0, num_steps=40, restore=True)
    assert len(res) >= 10 and res.lrs[0] == 1e-5
    assert before.diff() == [] and torch.equal(model.fc1.weight, frozen)
    res2 = range_test(model, opt, data, CE, start_lr=1e-5, end_lr=1e-3, num_steps=5, restore=False)
    assert torch.equal(model.fc1.weight, frozen) and len(res2) == 5


def test_all_frozen_is_explained(data):
    model = linear_model()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    for p in model.parameters():
        p.requires_grad_(False)
    with pytest.raises(ValueError, match="does not require grad"):
        range_test(model, opt, data, CE, num_steps=4)


def test_diverge_threshold_none_stops_only_on_nan(data):
    model = linear_model()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    res = range_test(model, opt, data, CE, start_lr=1e-2, end_lr=1e3, num_steps=40, diverge_threshold=None)
    assert res.stop_reason in ("completed", "non-finite loss")
    assert res.config["diverge_threshold"] is None


# ----------------------------------------------------------------------------- validation loss and metrics


class CountingIterable:
    """A re-iterable that counts how many batches were drawn from it."""

    def __init__(self, batches):
        self.batches, self.drawn = batches, 0

    def __iter__(self):
        for b in self.batches:
            self.drawn += 1
            yield b


def test_val_loss_uses_a_fixed_subset_every_k_steps_in_eval_mode(data):
    model = Net()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    val = CountingIterable(make_data(n=320, seed=9))  # 10 batches
    modes: list[bool] = []
    h = model.register_forward_pre_hook(lambda m, args: modes.append(m.training))
    res = range_test(model, opt, data, CE, num_steps=10, start_lr=1e-4, end_lr=1e-2, val_data=val, val_batches=2, val_every=3)
    h.remove()
    assert val.drawn == 2  # a fixed subset, drawn once
    evaluated = ~np.isnan(res.val_losses)
    np.testing.assert_array_equal(np.nonzero(evaluated)[0], [0, 3, 6, 9])
    assert np.all(np.isfinite(res.val_losses[evaluated]))
    # forward calls: 10 train (train mode) + 4 evaluations x 2 batches (eval mode)
    assert modes.count(False) == 8 and modes.count(True) == 10 and model.training
    assert res.config["val_batches"] == 2 and res.config["val_every"] == 3
    lrs, losses = res.curve("val_loss")
    assert len(lrs) == 4


def test_val_loss_value_matches_a_hand_evaluation_after_the_first_step(data):
    val = make_data(n=64, seed=11)
    model = linear_model(seed=2)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    res = range_test(model, opt, data, CE, start_lr=0.05, end_lr=0.5, num_steps=3, val_data=val, val_batches=2, restore=False)
    # redo by hand: one step at 0.05, then evaluate on the two validation batches
    ref = linear_model(seed=2)
    ref_opt = torch.optim.SGD(ref.parameters(), lr=0.05)
    x, y = data[0]
    CE(ref(x), y).backward()
    ref_opt.step()
    with torch.no_grad():
        v = (CE(ref(val[0][0]), val[0][1]) + CE(ref(val[1][0]), val[1][1])) / 2
    assert res.val_losses[0] == pytest.approx(float(v), rel=1e-6)


def test_non_finite_val_loss_is_plus_inf_and_does_not_stop(data):
    model = linear_model()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)

    def step_fn(m, batch):
        loss = CE(m(batch[0]), batch[1])
        return loss if m.training else loss * float("nan")

    res = range_test(model, opt, data, step_fn=step_fn, num_steps=6, val_data=data[:1], start_lr=1e-4, end_lr=1e-3)
    assert len(res) == 6 and np.all(res.val_losses == np.inf)


def test_accuracy_metric_on_training_batches(data):
    model = linear_model()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    x0, y0 = data[0]
    with torch.no_grad():
        acc0 = float(accuracy(model(x0), y0))
    res = range_test(model, opt, data, CE, num_steps=8, start_lr=1e-4, end_lr=1e-2, metric="accuracy")
    acc = res.metrics["accuracy"]
    assert len(acc) == 8 and np.all((acc >= 0) & (acc <= 1))
    assert acc[0] == acc0 and res.config["metric_on"] == "train"


def test_metric_on_validation_subset_and_custom_metric(data):
    model = linear_model()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)

    def top1_error(out, y):
        return 1.0 - accuracy(out, y)

    res = range_test(
        model, opt, data, CE, num_steps=6, start_lr=1e-4, end_lr=1e-2, val_data=data[:2], val_every=2, metric=top1_error
    )
    err = res.metrics["top1_error"]
    assert np.all(np.isnan(err[1::2])) and np.all((err[0::2] >= 0) & (err[0::2] <= 1))
    assert res.config["metric"] == "top1_error" and res.config["metric_on"] == "val"


def test_accuracy_shapes():
    assert float(accuracy(torch.tensor([[1.0, 0.0], [0.0, 1.0]]), torch.tensor([[1.0, 0.0], [1.0, 0.0]]))) == 0.5
    assert float(accuracy(torch.tensor([2.0, -1.0, 3.0]), torch.tensor([1.0, 0.0, 0.0]))) == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="targets of shape"):
        accuracy(torch.zeros(4, 3), torch.zeros(5, dtype=torch.long))


# ----------------------------------------------------------------------------- result, config, progress


def test_result_config_and_roundtrip(tmp_path):
    from torch.utils.data import DataLoader, TensorDataset

    x = torch.randn(96, 16)
    y = torch.randint(0, 3, (96,))
    loader = DataLoader(TensorDataset(x, y), batch_size=12)
    model = Net()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    res = range_test(model, opt, loader, CE, start_lr=1e-5, end_lr=1.0, num_steps=8)
    assert isinstance(res, RangeTestResult) and len(res) == 8
    c = res.config
    assert c["engine"] == "torch" and c["optimizer"] == "AdamW" and c["param_groups"] == 1
    assert c["batch_size"] == 12 and c["device"] == "cpu" and c["num_steps"] == 8 and c["start_lr"] == 1e-5
    back = RangeTestResult.load(res.save(tmp_path / "run.json"))
    np.testing.assert_array_equal(back.losses, res.losses)
    assert back.config == res.config


@pytest.mark.parametrize(("make", "momentum", "nesterov", "family"), [
    (lambda p: torch.optim.SGD(p, lr=0.1), 0.0, False, "sgd"),
    (lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9), 0.9, False, "sgd_momentum"),
    (lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True), 0.9, True, "sgd_nesterov"),
    (lambda p: torch.optim.Adam(p, lr=1e-3), None, None, "Adam"),
])
def test_the_record_says_sgds_momentum_and_nesterov_for_the_learned_reader(make, momentum, nesterov, family):
    x, y = torch.randn(96, 16), torch.randint(0, 3, (96,))
    model = Net()
    res = range_test(model, make(model.parameters()), [(x[i:i + 12], y[i:i + 12]) for i in range(0, 96, 12)], CE,
                     start_lr=1e-5, end_lr=1.0, num_steps=8, progress=False)
    assert res.config["momentum"] == momentum and res.config["nesterov"] is nesterov
    # the reader reads the record with any curve: a clean one, so that it does not abstain
    lrs = np.logspace(-7, 1, 100)
    curve = RangeTestResult(lrs, 2 - np.tanh((np.log10(lrs) + 3) / 0.7) + np.where(lrs > 0.3, (np.log10(lrs) + 0.5) ** 2, 0),
                            config=res.config)
    assert f"optimizer={family!r} (recorded)" in curve.suggest("reader", budget=1000).reason


def test_progress_bar_on_stderr_and_off_in_ci(data, capsys, monkeypatch):
    import sys

    from lrscope.analysis.stop import StopRule

    tqdm_auto = pytest.importorskip("tqdm.auto")

    class EveryUpdate(tqdm_auto.tqdm):  # draw on every update: the postfix reaches stderr however fast the sweep
        def __init__(self, *args, **kwargs):
            kwargs.update(mininterval=0, miniters=1)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(tqdm_auto, "tqdm", EveryUpdate)
    model = linear_model()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    kwargs = dict(num_steps=5, start_lr=1e-4, end_lr=1e-2)
    # progress=None decides by itself: on when a person watches (stderr is a terminal) and $CI is unset.
    # Under capsys stderr is no terminal, so make it claim to be one — else "off in CI" could not fail.
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    monkeypatch.delenv("CI", raising=False)
    res = range_test(model, opt, data, CE, **kwargs)
    err = capsys.readouterr()
    rule = StopRule(beta=0.98)
    rule.update_many(res.losses)
    assert "LR range test" in err.err and err.out == ""
    assert f"lr={res.lrs[-1]:.3g}" in err.err and f"loss={rule.smoothed:.4g}" in err.err, err.err
    monkeypatch.setenv("CI", "1")
    range_test(model, opt, data, CE, **kwargs)
    err = capsys.readouterr()
    assert err.err == "" and err.out == ""
    range_test(model, opt, data, CE, progress=True, **kwargs)  # asked for explicitly: shown in CI too
    assert "LR range test" in capsys.readouterr().err


def test_eval_mode_model_gets_a_note(data):
    model = Net().eval()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    res = range_test(model, opt, data, CE, num_steps=4, start_lr=1e-4, end_lr=1e-2)
    assert any("eval mode" in n for n in res.notes) and not model.training


def test_nan_loss_on_step_zero(data):
    model = linear_model()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    res = range_test(model, opt, data, lambda o, y: CE(o, y) * math.inf, num_steps=10)
    assert res.stop_reason == "non-finite loss" and len(res) == 1


def test_importing_lrscope_torch_does_not_import_tqdm_or_matplotlib():
    import subprocess
    import sys

    code = (
        "import sys, torch; before = set(sys.modules); import lrscope.torch; new = set(sys.modules) - before; "
        "print(','.join(m for m in new if m.split('.')[0] in ('tqdm', 'matplotlib')))"
    )  # (torch itself imports tqdm through torch.hub; lrscope.torch must add neither)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
