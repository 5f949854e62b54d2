"""End to end on real data (scikit-learn digits): the curve, the suggestions, and exact restore."""

from __future__ import annotations

import random

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("sklearn")
from torch import nn  # noqa: E402
from torch.utils.data import DataLoader, Dataset  # noqa: E402
from torch_helpers import FullState  # noqa: E402

from lrscope.analysis.smoothing import ema  # noqa: E402
from lrscope.datasets import load_digits  # noqa: E402
from lrscope.torch import LRFinder, range_test  # noqa: E402

CE = nn.functional.cross_entropy


@pytest.fixture(scope="module")
def digits():
    x, y = load_digits()
    return torch.tensor(x.reshape(len(x), -1)), torch.tensor(y)


def mlp(seed: int, dropout: float = 0.0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Dropout(dropout), nn.Linear(64, 10))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_digits_mlp_sgd_curve_falls_then_diverges_and_rules_land_in_band(digits, seed):
    x, y = digits
    perm = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))
    batches = [(x[perm[i : i + 32]], y[perm[i : i + 32]]) for i in range(0, len(x) - 31, 32)]
    model = mlp(seed)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    before = FullState(model, opt)
    res = range_test(model, opt, batches, CE, start_lr=1e-5, end_lr=10.0, num_steps=100)
    assert res.stop_reason == "diverged" and len(res) < 100
    smooth = ema(res.losses, beta=0.8)  # lighter than the stop rule's 0.98, to see the real minimum
    lo = int(np.nanargmin(smooth))
    assert smooth[lo] < 0.5 * smooth[0]  # it falls ...
    assert smooth[-1] > 2 * smooth[lo] and lo < len(res) - 1  # ... then diverges
    assert res.config["batch_size"] == 32 and any("cycled" in n for n in res.notes)
    for method in ("steepest", "valley"):
        s = res.suggest(method)
        assert s.found, s.reason
        assert 1e-3 <= s.lr <= 1.0, str(s)
    assert before.diff() == []


class NoisyDigits(Dataset):
    """Digits with augmentation noise from numpy's and Python's global RNGs (as many pipelines do)."""

    def __init__(self, x, y):
        self.x, self.y = x, y

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        noise = torch.from_numpy(np.random.randn(64).astype(np.float32)) * 0.05
        return self.x[i] + noise * random.random(), self.y[i]


def _train(model, opt, loader, steps):
    model.train()
    it = iter(loader)
    for _ in range(steps):
        xb, yb = next(it)
        opt.zero_grad()
        CE(model(xb), yb).backward()
        opt.step()


def _setup(digits, seed=7):
    random.seed(seed)
    np.random.seed(seed)
    model = mlp(seed, dropout=0.3)  # seeds torch too: dropout draws from it
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    loader = DataLoader(NoisyDigits(*digits), batch_size=64, shuffle=True)  # the shuffle draws from torch's RNG
    return model, opt, loader


@pytest.mark.parametrize("snapshot", ["memory", "disk"])
def test_range_test_then_training_equals_training_alone(digits, snapshot, tmp_path):
    steps = 15
    model_a, opt_a, loader_a = _setup(digits)
    res = range_test(model_a, opt_a, loader_a, CE, start_lr=1e-4, end_lr=10.0, num_steps=40, snapshot=snapshot, snapshot_dir=tmp_path)
    assert len(res) > 5
    _train(model_a, opt_a, loader_a, steps)

    model_b, opt_b, loader_b = _setup(digits)
    _train(model_b, opt_b, loader_b, steps)
    for (name, p), q in zip(model_a.named_parameters(), model_b.parameters()):
        assert torch.equal(p, q), name

    # the test bites: one extra random draw before training changes the weights
    model_c, opt_c, loader_c = _setup(digits)
    torch.rand(1)
    _train(model_c, opt_c, loader_c, steps)
    assert not all(torch.equal(p, q) for p, q in zip(model_c.parameters(), model_b.parameters()))


def test_lr_finder_facade_runs_plots_and_saves(digits, tmp_path):
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x, y = digits
    batches = [(x[i : i + 32], y[i : i + 32]) for i in range(0, 32 * 40, 32)]
    model = mlp(0)
    before = FullState(model)
    finder = LRFinder(model, batches, nn.CrossEntropyLoss())
    with pytest.raises(RuntimeError, match="run"):
        finder.plot()
    res = finder.run(start_lr=1e-5, end_lr=10.0, num_steps=60)
    assert res is finder.result and res.config["optimizer"] == "SGD"
    assert finder.suggest("valley").found
    n_figs = len(plt.get_fignums())
    with pytest.raises(ValueError, match=r"finder\.bmp.*\.png"):
        finder.plot(tmp_path / "finder.bmp")
    assert not (tmp_path / "finder.bmp").exists() and len(plt.get_fignums()) == n_figs  # nothing drawn
    ax = finder.plot(tmp_path / "sub" / "finder.png")
    assert (tmp_path / "sub" / "finder.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(p.name for p in (tmp_path / "sub").iterdir()) == ["finder.png"]  # no temp file left
    plt.close(ax.figure)
    assert finder.save(tmp_path / "finder.json").is_file()
    assert before.diff() == []
