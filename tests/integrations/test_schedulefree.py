"""The range test with a Schedule-Free optimizer (issue 12): train()/eval() handled, restore bit-exact."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
schedulefree = pytest.importorskip("schedulefree")

from torch import nn  # noqa: E402

from lrscope.torch import range_test  # noqa: E402
from lrscope.torch.integrations.schedulefree import is_schedule_free  # noqa: E402

from .conftest import digits_arrays  # noqa: E402


def _data(bn: bool = False):
    x, y = digits_arrays(256)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    batches = [(xt[i : i + 32], yt[i : i + 32]) for i in range(0, 256, 32)]
    layers: list[nn.Module] = [nn.Linear(64, 32)]
    if bn:
        layers.append(nn.BatchNorm1d(32))
    layers += [nn.ReLU(), nn.Linear(32, 10)]
    torch.manual_seed(0)
    return nn.Sequential(*layers), batches


def _warm(model, opt, batches, steps=3):
    """A few real steps, so the optimizer has state (z, exp_avg_sq, k, weight_sum) to restore."""
    opt.train()
    for xb, yb in batches[:steps]:
        nn.functional.cross_entropy(model(xb), yb).backward()
        opt.step()
        opt.zero_grad()


def _state(model, opt):
    params = {k: v.detach().clone() for k, v in model.state_dict().items()}
    groups = [{k: v for k, v in g.items() if k != "params"} for g in opt.param_groups]
    state = {i: {k: v.clone() for k, v in st.items()} for i, st in enumerate(opt.state.values())}
    return params, groups, state


def _assert_same(a, b):
    pa, ga, sa = a
    pb, gb, sb = b
    assert pa.keys() == pb.keys()
    for k in pa:
        assert torch.equal(pa[k], pb[k]), k
    assert ga == gb
    assert sa.keys() == sb.keys()
    for i in sa:
        assert sa[i].keys() == sb[i].keys()
        for k in sa[i]:
            assert torch.equal(sa[i][k], sb[i][k]), (i, k)


def test_detected_by_duck_typing():
    model, _ = _data()
    assert is_schedule_free(schedulefree.AdamWScheduleFree(model.parameters(), lr=1e-3))
    assert is_schedule_free(schedulefree.SGDScheduleFree(model.parameters(), lr=1e-3))
    assert not is_schedule_free(torch.optim.AdamW(model.parameters(), lr=1e-3))


@pytest.mark.parametrize("mode", ["eval", "train"])
def test_adamw_schedulefree_sweeps_and_restores_bit_exact(mode):
    """In eval mode (as after a checkpoint) step() would raise; the sweep calls train() itself and puts the
    optimizer back in the mode it found, parameters (x or y) and state bit for bit."""
    model, batches = _data()
    opt = schedulefree.AdamWScheduleFree(model.parameters(), lr=1e-3, warmup_steps=0)
    _warm(model, opt, batches)
    getattr(opt, mode)()
    before = _state(model, opt)
    result = range_test(
        model, opt, batches, nn.functional.cross_entropy, start_lr=1e-5, end_lr=1.0, num_steps=30,
        val_data=batches[-2:], val_batches=2, val_every=5, progress=False,
    )  # fmt: skip
    assert len(result.lrs) >= 10
    assert opt.param_groups[0]["train_mode"] is (mode == "train")
    _assert_same(before, _state(model, opt))
    assert any("Schedule-Free" in n for n in result.notes)
    assert result.suggest().lr is not None or result.suggest().reason
    # the optimizer still trains normally afterwards
    opt.train()
    nn.functional.cross_entropy(model(batches[0][0]), batches[0][1]).backward()
    opt.step()


def test_validation_loss_is_taken_at_x():
    """eval() around each evaluation: the validation loss equals the loss at x computed by hand after a
    sweep of one point (restore=False keeps the swept state to compare)."""
    model, batches = _data()
    opt = schedulefree.AdamWScheduleFree(model.parameters(), lr=1e-3)
    _warm(model, opt, batches)
    opt.eval()
    result = range_test(
        model, opt, batches, nn.functional.cross_entropy, start_lr=1e-3, end_lr=1e-2, num_steps=2,
        val_data=batches[-1:], val_batches=1, progress=False, restore=False, chunk_size=1,
    )  # fmt: skip
    # the sweep left the optimizer in train mode (restore=False): x is what eval() gives
    assert opt.param_groups[0]["train_mode"] is True
    opt.eval()
    model.eval()
    with torch.no_grad():
        at_x = float(nn.functional.cross_entropy(model(batches[-1][0]), batches[-1][1]))
    assert result.val_losses[-1] == pytest.approx(at_x, rel=1e-5)


def test_notes_warmup_and_batchnorm():
    model, batches = _data(bn=True)
    opt = schedulefree.SGDScheduleFree(model.parameters(), lr=1e-2, warmup_steps=5)
    result = range_test(
        model, opt, batches, nn.functional.cross_entropy, start_lr=1e-4, end_lr=1.0, num_steps=12,
        val_data=batches[-1:], val_batches=1, val_every=4, progress=False,
    )  # fmt: skip
    text = " ".join(result.notes)
    assert "warmup_steps=5" in text
    assert "BatchNorm" in text and "recomput" in text
    assert opt.param_groups[0]["train_mode"] is False
