"""Shared plumbing for the reproduction scripts (issue 13): data, a tiny training loop, caching, machine info.

Every script runs on one CPU thread (``torch.set_num_threads(1)``): our machine has 2 cores shared
with other jobs, and one thread makes wall times comparable between arms run one after another.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
OUT = Path(os.environ.get("LRSCOPE_REPRO_OUT", HERE / "out"))  # the quick-mode test points it at a temp dir
CACHE = OUT / "cache"


def set_threads() -> None:
    import torch

    torch.set_num_threads(1)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:  # already set in this process
        pass


def machine() -> dict[str, Any]:
    import torch

    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "processor": platform.processor() or platform.machine(),
    }


def load_data(n_train: int, n_val: int, n_test: int, seed: int = 0, classes: tuple[int, ...] | None = None) -> dict[str, Any]:
    """Fashion-MNIST subsets (N, 1, 28, 28) float32, labels int64; digits (8x8) when it is not installed.

    The subsets are drawn once with ``seed`` (the same for every arm and every training seed) from the
    60k training split (train and validation, disjoint) and the 10k test split.
    """
    from lrscope.datasets import DatasetNotFoundError, load_digits, load_fashion_mnist

    rng = np.random.default_rng(seed)
    try:
        xtr, ytr = load_fashion_mnist("train")
        xte, yte = load_fashion_mnist("test")
        name = "fashion-mnist"
    except DatasetNotFoundError:
        x, y = load_digits()
        x = x.reshape(-1, 8, 8)
        idx = rng.permutation(len(x))
        cut = int(0.75 * len(x))
        xtr, ytr, xte, yte = x[idx[:cut]], y[idx[:cut]], x[idx[cut:]], y[idx[cut:]]
        name = "sklearn-digits (stand-in: Fashion-MNIST not installed)"
    if classes is not None:
        keep = np.isin(ytr, classes)
        xtr, ytr = xtr[keep], ytr[keep]
        keep = np.isin(yte, classes)
        xte, yte = xte[keep], yte[keep]
        remap = {c: i for i, c in enumerate(classes)}
        ytr = np.array([remap[int(v)] for v in ytr], dtype=np.int64)
        yte = np.array([remap[int(v)] for v in yte], dtype=np.int64)
    perm = rng.permutation(len(xtr))
    n_train = min(n_train, len(xtr) - n_val)
    tr, va = perm[:n_train], perm[n_train : n_train + n_val]
    te = rng.permutation(len(xte))[: min(n_test, len(xte))]
    mean, std = float(xtr[tr].mean()), float(xtr[tr].std())

    def prep(a: np.ndarray) -> np.ndarray:
        return ((a - mean) / std).astype(np.float32)[:, None]

    return {
        "name": name,
        "x_train": prep(xtr[tr]), "y_train": ytr[tr],
        "x_val": prep(xtr[va]), "y_val": ytr[va],
        "x_test": prep(xte[te]), "y_test": yte[te],
    }


def batches(x: np.ndarray, y: np.ndarray, batch_size: int, seed: int | None) -> list[tuple[Any, Any]]:
    """One epoch of torch batches (shuffled with ``seed``; in order when None)."""
    import torch

    idx = np.arange(len(x)) if seed is None else np.random.default_rng(seed).permutation(len(x))
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    return [(xt[idx[i : i + batch_size]], yt[idx[i : i + batch_size]]) for i in range(0, len(x), batch_size)]


def evaluate(model: Any, x: np.ndarray, y: np.ndarray, batch_size: int = 1000) -> tuple[float, float]:
    """(accuracy, mean cross-entropy) of a torch classifier."""
    import torch
    import torch.nn.functional as F

    model.eval()
    correct, loss = 0, 0.0
    with torch.no_grad():
        for xb, yb in batches(x, y, batch_size, None):
            out = model(xb)
            loss += float(F.cross_entropy(out, yb, reduction="sum"))
            correct += int((out.argmax(1) == yb).sum())
    model.train()
    return correct / len(x), loss / len(x)


def train_epoch(model: Any, optimizer: Any, x: np.ndarray, y: np.ndarray, batch_size: int, seed: int, scheduler: Any = None) -> float:
    """One epoch; ``scheduler.step()`` after every batch when given. Returns the mean training loss."""
    import torch.nn.functional as F

    model.train()
    total, n = 0.0, 0
    for xb, yb in batches(x, y, batch_size, seed):
        optimizer.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(xb), yb)
        loss.backward()
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        total += float(loss.detach()) * len(yb)
        n += len(yb)
    return total / n


def cached(script: str, key: str, fn: Any, *, fresh: bool = False) -> dict[str, Any]:
    """Run ``fn()`` (returning a JSON-able dict) once; later runs read ``out/cache/<script>/<key>.json``."""
    path = CACHE / script / f"{key}.json"
    if path.is_file() and not fresh:
        return json.loads(path.read_text())
    t0 = time.perf_counter()
    value = fn()
    value.setdefault("seconds", time.perf_counter() - t0)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(value, indent=1))
    tmp.replace(path)
    print(f"[{script}] {key}: done in {value['seconds']:.1f}s", file=sys.stderr, flush=True)
    return value


def write_json(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1, default=float) + "\n")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def mean_sd(values: list[float]) -> tuple[float, float]:
    a = np.asarray(values, dtype=float)
    return float(a.mean()), float(a.std(ddof=1)) if len(a) > 1 else 0.0
