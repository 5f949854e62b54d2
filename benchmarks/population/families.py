"""The task population (issue 14): declared families, drawn deterministically from a seed.

A task is a plain dict (its *spec*): data set, model family and size, optimizer, batch size, budget
(optimizer steps) and schedule, plus the LR range its ground-truth grid starts from. ``draw(i)`` gives
task ``i`` of the population; the same ``i`` gives the same task on every machine (no timing is read).
``build(spec)`` turns a spec into a :class:`benchmarks.quality.tasks.Task`, so the quality benchmark's
band rule (``benchmarks.quality.train.grid_summary``) applies unchanged.

Each task is sized to about a minute on one core in total (grid + range tests) by an analytic cost
estimate: the budget is capped, and the model halved, until ``steps x cost-per-step`` fits.
"""

from __future__ import annotations

import math
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import torch
from benchmarks.population.holdout import is_held_out
from benchmarks.quality.tasks import Task
from torch import nn

torch.set_num_threads(1)

POPULATION_SEED = 14
DATA = ("digits", "wine", "breast_cancer", "diabetes", "synth_cls", "synth_reg", "fmnist", "text")
IMAGE_DATA = ("digits", "fmnist")
TABULAR_DATA = ("wine", "breast_cancer", "diabetes", "synth_cls", "synth_reg")
MODELS_FOR = {
    **{d: ("mlp", "cnn", "cnn_bn", "gru", "transformer") for d in IMAGE_DATA},
    **{d: ("mlp",) for d in TABULAR_DATA},
    "text": ("gru", "transformer"),
}
OPTIMIZERS = ("sgd", "sgd_momentum", "sgd_nesterov", "adam", "adamw", "rmsprop", "adagrad")
SCHEDULES = ("constant", "one_cycle", "cosine_warmup")
BATCHES = (8, 16, 32, 64, 128, 256)
BUDGET_RANGE = (100, 3000)
#: half-decade grid's starting range (log10 LR), per optimizer; it is extended when the best is at an edge
GRID_LOG10 = {
    "sgd": (-3.0, 1.0), "sgd_momentum": (-4.0, 0.5), "sgd_nesterov": (-4.0, 0.5),
    "adam": (-5.0, 0.0), "adamw": (-5.0, 0.0), "rmsprop": (-5.5, -0.5), "adagrad": (-4.0, 1.0),
}
DEFAULT_LR = {"sgd": 0.01, "sgd_momentum": 0.01, "sgd_nesterov": 0.01, "adam": 1e-3, "adamw": 1e-3,
              "rmsprop": 1e-3, "adagrad": 1e-2}
#: seconds the whole task (~45 training runs of the budget + 3 sweeps + baselines) should take on one core
TARGET_SECONDS = 60.0
RUNS_PER_TASK = 45
SEQ_LEN = 24


# ----------------------------------------------------------------------------- the draw


def draw(i: int, seed: int = POPULATION_SEED) -> dict[str, Any]:
    """Task ``i`` of the population drawn from ``seed`` (deterministic)."""
    rng = np.random.default_rng([seed, i])
    data = str(rng.choice(DATA))
    model = str(rng.choice(MODELS_FOR[data]))
    opt = str(rng.choice(OPTIMIZERS))
    sched = str(rng.choice(SCHEDULES))
    n_train = {"digits": 1200, "wine": 118, "breast_cancer": 369, "diabetes": 300,
               "synth_cls": int(rng.choice([500, 1000, 2000])), "synth_reg": int(rng.choice([300, 1000, 2000])),
               "fmnist": int(rng.choice([2000, 4000])), "text": 3000}[data]
    batch = int(rng.choice([b for b in BATCHES if b <= max(8, n_train // 4)]))
    budget = int(round(math.exp(rng.uniform(math.log(BUDGET_RANGE[0]), math.log(BUDGET_RANGE[1]))), -1))
    arch: dict[str, Any] = {}
    if model == "mlp":
        arch = {"depth": int(rng.integers(1, 4)), "width": int(rng.choice([32, 64, 128, 256]))}
    elif model in ("cnn", "cnn_bn"):
        arch = {"channels": int(rng.choice([4, 8, 16]))}
    elif model == "gru":
        arch = {"hidden": int(rng.choice([32, 64, 96]))}
    else:
        arch = {"d_model": int(rng.choice([32, 64])), "layers": int(rng.integers(1, 3)), "heads": 2}
    synth: dict[str, Any] = {}
    if data == "synth_cls":
        synth = {"n_features": int(rng.choice([10, 20, 40])), "n_classes": int(rng.integers(2, 6)),
                 "class_sep": float(round(rng.uniform(0.5, 1.5), 2)), "flip_y": float(round(rng.uniform(0, 0.1), 3)),
                 "random_state": int(rng.integers(1 << 30))}
    elif data == "synth_reg":
        synth = {"n_features": int(rng.choice([5, 10, 30])), "noise": float(round(rng.uniform(1, 30), 1)),
                 "nonlinear": bool(rng.integers(2)), "random_state": int(rng.integers(1 << 30))}
    spec = {"id": f"p{i:04d}", "index": i, "seed": seed, "data": data, "model": model, "arch": arch,
            "optimizer": opt, "schedule": sched, "batch_size": batch, "budget_drawn": budget,
            "n_train": n_train, "synth": synth}
    _fit_cost(spec)
    spec["held_out"] = is_held_out(data, model)
    spec["metric"] = "loss" if data in ("diabetes", "synth_reg", "text") else "accuracy"
    spec["grid_log10"] = list(GRID_LOG10[opt])
    return spec


def _n_inputs(spec: dict[str, Any]) -> int:
    return {"digits": 64, "fmnist": 196, "wine": 13, "breast_cancer": 30, "diabetes": 10,
            "synth_cls": spec["synth"].get("n_features", 0), "synth_reg": spec["synth"].get("n_features", 0),
            "text": 0}[spec["data"]]


def step_cost(spec: dict[str, Any]) -> float:
    """Estimated seconds of one training step on one CPU core (an analytic guess: a fixed overhead
    per layer plus multiply-adds at ~1 GFLOP/s, forward + backward = 3x forward)."""
    a, b, m = spec["arch"], spec["batch_size"], spec["model"]
    if m == "mlp":
        n_in, w, d = _n_inputs(spec), a["width"], a["depth"]
        macs, layers = n_in * w + (d - 1) * w * w + w * 10, d + 1
    elif m in ("cnn", "cnn_bn"):
        side = 8 if spec["data"] == "digits" else 14
        c = a["channels"]
        macs = side * side * 9 * c + (side // 2) ** 2 * 9 * c * 2 * c + (side // 4) ** 2 * 2 * c * 10
        layers = 8 if m == "cnn_bn" else 6
    elif m == "gru":
        h, t = a["hidden"], (SEQ_LEN if spec["data"] == "text" else (8 if spec["data"] == "digits" else 14))
        macs, layers = t * 3 * (h * h + 32 * h) + (t if spec["data"] == "text" else 1) * h * 64, 3 + t
    else:
        dm, L = a["d_model"], a["layers"]
        t = SEQ_LEN if spec["data"] == "text" else (8 if spec["data"] == "digits" else 14)
        macs, layers = t * L * (4 * dm * dm + 4 * dm * dm * 2 + 2 * t * dm) + t * dm * 64, 4 + 8 * L
    return 120e-6 * layers + 3 * b * macs / 1.0e9


def _fit_cost(spec: dict[str, Any]) -> None:
    """Cap the budget (and halve the model while even 100 steps do not fit) so the task fits TARGET_SECONDS."""
    for _ in range(6):
        cap = int(TARGET_SECONDS / (RUNS_PER_TASK * step_cost(spec)) // 10 * 10)
        if cap >= BUDGET_RANGE[0]:
            spec["budget"] = max(BUDGET_RANGE[0], min(spec["budget_drawn"], cap))
            return
        a = spec["arch"]
        key = {"mlp": "width", "cnn": "channels", "cnn_bn": "channels", "gru": "hidden", "transformer": "d_model"}[spec["model"]]
        if a[key] > 4:
            a[key] //= 2
        elif spec["batch_size"] > 8:
            spec["batch_size"] //= 2
        else:
            break
    spec["budget"] = BUDGET_RANGE[0]


def population(n: int, seed: int = POPULATION_SEED) -> list[dict[str, Any]]:
    return [draw(i, seed) for i in range(n)]


# ----------------------------------------------------------------------------- data


def _split(X: Any, y: Any, n_test: int, seed: int = 0) -> tuple[Any, Any, Any, Any]:
    perm = np.random.RandomState(seed).permutation(len(X))
    te, tr = perm[:n_test], perm[n_test:]
    return X[tr], y[tr], X[te], y[te]


def _std(Xtr: Any, Xte: Any) -> tuple[Any, Any]:
    mu, sd = Xtr.mean(0), Xtr.std(0) + 1e-8
    return (Xtr - mu) / sd, (Xte - mu) / sd


def _t(*arrays: Any) -> tuple[torch.Tensor, ...]:
    out = []
    for a in arrays:
        a = np.asarray(a)
        out.append(torch.from_numpy(a.astype(np.int64) if a.dtype.kind in "iu" else a.astype(np.float32)))
    return tuple(out)


@cache
def _text_ids() -> tuple[Any, int]:
    root = Path("/usr/share/common-licenses")
    files = ("GPL-3", "Apache-2.0", "LGPL-3", "MPL-2.0", "Artistic")
    text = "".join((root / f).read_text(errors="replace") for f in files if (root / f).is_file())
    vocab = sorted(set(text))
    ids = np.array([vocab.index(c) for c in text], dtype=np.int64)
    return ids, len(vocab)


@cache
def _load(data: str, n_train: int, synth_key: tuple[tuple[str, Any], ...]) -> tuple[torch.Tensor, ...]:
    synth = dict(synth_key)
    if data == "digits":
        from lrscope.datasets import load_digits

        X, y = load_digits()
        X = np.asarray(X, dtype=np.float32).reshape(len(X), 8, 8) / 16.0
        return _t(*_split(X, np.asarray(y), 597))
    if data == "fmnist":
        from lrscope.datasets import load_fashion_mnist

        Xtr, ytr = load_fashion_mnist("train", limit=n_train)
        Xte, yte = load_fashion_mnist("test", limit=1000)
        pool = lambda X: np.asarray(X, dtype=np.float32).reshape(len(X), 14, 2, 14, 2).mean((2, 4))  # noqa: E731
        return _t(pool(Xtr), np.asarray(ytr), pool(Xte), np.asarray(yte))
    if data in ("wine", "breast_cancer", "diabetes"):
        import sklearn.datasets as ds

        d = {"wine": ds.load_wine, "breast_cancer": ds.load_breast_cancer, "diabetes": ds.load_diabetes}[data]()
        n_test = {"wine": 60, "breast_cancer": 200, "diabetes": 142}[data]
        Xtr, ytr, Xte, yte = _split(d.data, d.target, n_test)
        Xtr, Xte = _std(Xtr, Xte)
        if data == "diabetes":
            mu, sd = ytr.mean(), ytr.std()
            return _t(Xtr, ((ytr - mu) / sd)[:, None], Xte, ((yte - mu) / sd)[:, None])
        return _t(Xtr, ytr, Xte, yte)
    if data == "synth_cls":
        from sklearn.datasets import make_classification

        f = synth["n_features"]
        X, y = make_classification(n_samples=n_train + 500, n_features=f, n_informative=max(2, f // 2),
                                   n_redundant=f // 4, n_classes=synth["n_classes"], n_clusters_per_class=2,
                                   class_sep=synth["class_sep"], flip_y=synth["flip_y"], random_state=synth["random_state"])
        Xtr, ytr, Xte, yte = _split(X, y, 500)
        return _t(*_std(Xtr, Xte)[:1], ytr, _std(Xtr, Xte)[1], yte)
    if data == "synth_reg":
        from sklearn.datasets import make_regression

        X, y = make_regression(n_samples=n_train + 500, n_features=synth["n_features"], n_informative=max(2, synth["n_features"] // 2),
                               noise=synth["noise"], random_state=synth["random_state"])
        y = y / y.std()
        if synth["nonlinear"]:
            y = np.sin(y) + 0.5 * y
        Xtr, ytr, Xte, yte = _split(X, y, 500)
        Xtr, Xte = _std(Xtr, Xte)
        mu, sd = ytr.mean(), ytr.std()
        return _t(Xtr, ((ytr - mu) / sd)[:, None], Xte, ((yte - mu) / sd)[:, None])
    if data == "text":
        ids, _ = _text_ids()
        n_seq = len(ids) // (SEQ_LEN + 1)
        seqs = ids[: n_seq * (SEQ_LEN + 1)].reshape(n_seq, SEQ_LEN + 1)
        seqs = seqs[np.random.RandomState(0).permutation(n_seq)]
        te, tr = seqs[:400], seqs[400 : 400 + n_train]
        return _t(tr[:, :-1], tr[:, 1:], te[:, :-1], te[:, 1:])
    raise ValueError(f"unknown data set {data!r}")


def _n_classes(spec: dict[str, Any]) -> int:
    return {"digits": 10, "fmnist": 10, "wine": 3, "breast_cancer": 2, "diabetes": 1, "synth_reg": 1,
            "synth_cls": spec["synth"].get("n_classes", 0), "text": _text_ids()[1]}[spec["data"]]


# ----------------------------------------------------------------------------- models


class SeqGRU(nn.Module):
    def __init__(self, n_in: int, hidden: int, n_out: int, vocab: int | None):
        super().__init__()
        self.emb = nn.Embedding(vocab, 32) if vocab else None
        self.rnn = nn.GRU(32 if vocab else n_in, hidden, batch_first=True)
        self.out = nn.Linear(hidden, n_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, _ = self.rnn(self.emb(x) if self.emb is not None else x)
        return self.out(h) if self.emb is not None else self.out(h[:, -1])


class TinyTransformer(nn.Module):
    def __init__(self, n_in: int, d_model: int, layers: int, heads: int, n_out: int, vocab: int | None, t: int):
        super().__init__()
        self.inp = nn.Embedding(vocab, d_model) if vocab else nn.Linear(n_in, d_model)
        self.pos = nn.Parameter(torch.randn(1, t, d_model) * 0.02)
        layer = nn.TransformerEncoderLayer(d_model, heads, 2 * d_model, dropout=0.0, batch_first=True)
        self.enc = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.out = nn.Linear(d_model, n_out)
        self.causal = bool(vocab)
        self.register_buffer("mask", nn.Transformer.generate_square_subsequent_mask(t), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.inp(x) + self.pos[:, : x.shape[1]]
        if self.causal:
            return self.out(self.enc(h, mask=self.mask[: x.shape[1], : x.shape[1]], is_causal=True))
        return self.out(self.enc(h).mean(1))


def _cnn(bn: bool, c: int, side: int, n_out: int) -> nn.Module:
    def block(cin: int, cout: int) -> list[nn.Module]:
        layers: list[nn.Module] = [nn.Conv2d(cin, cout, 3, padding=1)]
        if bn:
            layers.append(nn.BatchNorm2d(cout))
        return layers + [nn.ReLU(), nn.MaxPool2d(2)]

    return nn.Sequential(nn.Unflatten(1, (1, side)), *block(1, c), *block(c, 2 * c), nn.Flatten(),
                         nn.Linear(2 * c * (side // 4) ** 2, n_out))


def _mlp(n_in: int, depth: int, width: int, n_out: int) -> nn.Module:
    layers: list[nn.Module] = [nn.Flatten()]
    d = n_in
    for _ in range(depth):
        layers += [nn.Linear(d, width), nn.ReLU()]
        d = width
    return nn.Sequential(*layers, nn.Linear(d, n_out))


def make_model(spec: dict[str, Any]) -> nn.Module:
    m, a, n_out = spec["model"], spec["arch"], _n_classes(spec)
    text = spec["data"] == "text"
    side = 8 if spec["data"] == "digits" else 14
    if m == "mlp":
        n_in = side * side if spec["data"] in IMAGE_DATA else _n_inputs(spec)
        return _mlp(n_in, a["depth"], a["width"], n_out)
    if m in ("cnn", "cnn_bn"):
        return _cnn(m == "cnn_bn", a["channels"], side, n_out)
    if m == "gru":
        return SeqGRU(side, a["hidden"], n_out, n_out if text else None)
    t = SEQ_LEN if text else side
    return TinyTransformer(side, a["d_model"], a["layers"], a["heads"], n_out, n_out if text else None, t)


def make_optimizer(name: str, params: Any, lr: float) -> torch.optim.Optimizer:
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr)
    if name == "sgd_momentum":
        return torch.optim.SGD(params, lr=lr, momentum=0.9)
    if name == "sgd_nesterov":
        return torch.optim.SGD(params, lr=lr, momentum=0.9, nesterov=True)
    if name == "adam":
        return torch.optim.Adam(params, lr=lr)
    if name == "adamw":
        return torch.optim.AdamW(params, lr=lr, weight_decay=0.01)
    if name == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr)
    if name == "adagrad":
        return torch.optim.Adagrad(params, lr=lr)
    raise ValueError(f"unknown optimizer {name!r}")


def _lm_loss(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return nn.functional.cross_entropy(out.reshape(-1, out.shape[-1]), y.reshape(-1))


class PopulationTask(Task):
    """A quality-benchmark Task whose data come from the population's loaders."""

    spec: dict[str, Any]

    def data(self) -> tuple[torch.Tensor, ...]:
        s = self.spec
        return _load(s["data"], s["n_train"], tuple(sorted(s["synth"].items())))


def build(spec: dict[str, Any]) -> PopulationTask:
    loss: Any = {"accuracy": nn.functional.cross_entropy, "loss": nn.functional.mse_loss}[spec["metric"]]
    if spec["data"] == "text":
        loss = _lm_loss
    lo, hi = spec["grid_log10"]
    task = PopulationTask(
        name=spec["id"], description=f"{spec['data']} {spec['model']} {spec['optimizer']} {spec['schedule']}",
        load=lambda: (), build_model=lambda: make_model(spec),
        make_optimizer=lambda params, lr: make_optimizer(spec["optimizer"], params, lr),
        loss_fn=loss, batch_size=spec["batch_size"], budget=spec["budget"], grid=(10**lo, 10**hi),
        metric=spec["metric"], default_lr=DEFAULT_LR[spec["optimizer"]], optimizer_name=spec["optimizer"],
        schedule=spec["schedule"], eval_batch=500,
    )
    task.spec = spec
    return task
