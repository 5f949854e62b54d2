"""Time cost of the PyTorch range test against the same number of plain training steps.

Usage::

    python benchmarks/overhead.py                 # full run (a few minutes on 2 CPU cores)
    python benchmarks/overhead.py --quick         # smoke run
    python benchmarks/overhead.py --threads 2 --repeats 9 --steps 300

For each model (a small MLP and a small CNN on Fashion-MNIST batches; scikit-learn digits with a
message when the IDX files are absent) and each arm, in one process, interleaved, ``--repeats``
times in a shuffled order per repeat:

* ``plain``: ``zero_grad; loss = loss_fn(model(x), y); backward; step`` for N steps, nothing else;
* ``lrscope``: ``lrscope.torch.range_test`` for N steps (snapshot + sweep + restore, progress off,
  ``diverge_threshold=None`` and a gentle LR range so it never stops early), default ``chunk_size``;
* ``lrscope chunk=1``: the same, reading every loss back at once (the per-step read-back cost);
* ``torch-lr-finder``: ``LRFinder(...).range_test(..., num_iter=N)`` + ``reset()``, if installed
  (``pip install --no-deps torch-lr-finder``; it must not upgrade torch).

Every arm starts from a copy of the same initial weights and its own SGD(momentum=0.9) optimizer
(built outside the timed region) and reads the same pre-built batches through the same
``DataLoader(batch_size=None)`` (torch-lr-finder accepts only a ``DataLoader``). The figure is the
median over repeats of ``time(arm) / time(plain)`` in the same repeat, which cancels slow drifts of
a shared machine. Prints a markdown table.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import io
import os
import platform
import random
import statistics
import sys
import time
import warnings

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from lrscope.torch import range_test

CE = nn.functional.cross_entropy


# ----------------------------------------------------------------------------- data


def load_images(limit: int) -> tuple[torch.Tensor, torch.Tensor, str]:
    """Fashion-MNIST (N, 1, 28, 28) from the local IDX gz files, or digits (N, 1, 8, 8) as a fallback."""
    from lrscope.datasets import DatasetNotFoundError, load_digits, load_fashion_mnist

    try:
        x, y = load_fashion_mnist("train", limit=limit)
        name = "Fashion-MNIST"
    except DatasetNotFoundError as exc:
        print(f"note: {exc}\nnote: falling back to scikit-learn digits (8x8)", file=sys.stderr)
        x, y = load_digits()
        name = "digits (fallback)"
    return torch.from_numpy(x).unsqueeze(1), torch.from_numpy(y), name


class Batches(Dataset):
    """Pre-built batches; ``DataLoader(Batches(...), batch_size=None)`` yields them as they are."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor, batch_size: int, steps: int) -> None:
        n = len(x) // batch_size
        self.items = [
            (x[(i % n) * batch_size : (i % n + 1) * batch_size].contiguous(), y[(i % n) * batch_size : (i % n + 1) * batch_size].contiguous())
            for i in range(steps)
        ]

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int):
        return self.items[i]


# ----------------------------------------------------------------------------- models


def make_mlp(side: int) -> nn.Module:
    return nn.Sequential(nn.Flatten(), nn.Linear(side * side, 128), nn.ReLU(), nn.Linear(128, 10))


def make_cnn(side: int) -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(16 * (side // 4) ** 2, 10),
    )  # fmt: skip


# ----------------------------------------------------------------------------- arms


def arm_plain(model: nn.Module, opt: torch.optim.Optimizer, loader: DataLoader, steps: int) -> None:
    for x, y in loader:
        opt.zero_grad()
        loss = CE(model(x), y)
        loss.backward()
        opt.step()


def arm_lrscope(model: nn.Module, opt: torch.optim.Optimizer, loader: DataLoader, steps: int, chunk_size: int = 16) -> None:
    range_test(
        model, opt, loader, CE, start_lr=1e-5, end_lr=1e-2, num_steps=steps,
        diverge_threshold=None, progress=False, chunk_size=chunk_size,
    )  # fmt: skip


def arm_torch_lr_finder(model: nn.Module, opt: torch.optim.Optimizer, loader: DataLoader, steps: int) -> None:
    from torch_lr_finder import LRFinder

    sink = io.StringIO()
    with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # it calls scheduler.get_lr(), which torch 2 warns about
        finder = LRFinder(model, opt, CE, device="cpu")
        finder.range_test(loader, start_lr=1e-5, end_lr=1e-2, num_iter=steps, diverge_th=1e12)
        finder.reset()


def torch_lr_finder_version() -> str | None:
    try:
        import torch_lr_finder  # noqa: F401
    except ImportError:
        return None
    from importlib.metadata import version

    return version("torch-lr-finder")


# ----------------------------------------------------------------------------- driver


def bench_model(name: str, factory, side: int, x, y, batch_size: int, steps: int, repeats: int, arms: dict) -> dict:
    torch.manual_seed(0)
    template = factory(side)
    params = sum(p.numel() for p in template.parameters())
    loader = DataLoader(Batches(x, y, batch_size, steps), batch_size=None, shuffle=False)
    cpu: dict[str, list[float]] = {a: [] for a in arms}
    wall: dict[str, list[float]] = {a: [] for a in arms}

    def run(arm: str) -> tuple[float, float]:
        model = copy.deepcopy(template)
        opt = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
        c0, w0 = time.process_time(), time.perf_counter()
        arms[arm](model, opt, loader, steps)
        return time.process_time() - c0, time.perf_counter() - w0

    for arm in arms:  # warm-up, untimed
        run(arm)
    order = list(arms)
    rng = random.Random(0)
    for _ in range(repeats):
        rng.shuffle(order)
        for arm in order:
            c, w = run(arm)
            cpu[arm].append(c)
            wall[arm].append(w)

    def ratio(t: dict[str, list[float]], a: str) -> float:
        return statistics.median(x / p for x, p in zip(t[a], t["plain"]))

    return {
        "name": name,
        "params": params,
        "steps": steps,
        "cpu_ratio": {a: ratio(cpu, a) for a in arms},
        "wall_ratio": {a: ratio(wall, a) for a in arms},
        "cpu_ms": {a: 1000 * statistics.median(cpu[a]) / steps for a in arms},
        "min_ratio": {a: min(cpu[a]) / min(cpu["plain"]) for a in arms},
    }


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=300, help="optimizer steps per timed run (MLP)")
    ap.add_argument("--cnn-steps", type=int, default=100, help="optimizer steps per timed run (CNN)")
    ap.add_argument("--repeats", type=int, default=11, help="timed repeats per arm (median), >= 5 for a quotable figure")
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--threads", type=int, default=1, help="torch.set_num_threads for every arm")
    ap.add_argument("--quick", action="store_true", help="steps=40, repeats=3: a smoke run")
    ap.add_argument("--no-torch-lr-finder", action="store_true")
    args = ap.parse_args(argv)
    if args.quick:
        args.steps, args.cnn_steps, args.repeats = 40, 20, 3
    torch.set_num_threads(args.threads)
    x, y, data_name = load_images(limit=args.batch_size * max(args.steps, args.cnn_steps))
    side = x.shape[-1]
    arms = {
        "plain": arm_plain,
        "lrscope": arm_lrscope,
        "lrscope chunk=1": lambda m, o, loader, s: arm_lrscope(m, o, loader, s, chunk_size=1),
    }
    tlf = None if args.no_torch_lr_finder else torch_lr_finder_version()
    if tlf:
        arms["torch-lr-finder"] = arm_torch_lr_finder
    rows = [
        bench_model(name, f, side, x, y, args.batch_size, steps, args.repeats, arms)
        for name, f, steps in (
            ("MLP 784-128-10" if side == 28 else "MLP", make_mlp, args.steps),
            ("CNN conv8-conv16", make_cnn, args.cnn_steps),
        )
    ]
    print(
        f"\nLR range test overhead vs plain training steps — {data_name}, batch {args.batch_size}, "
        f"median of {args.repeats} interleaved repeats, torch {torch.__version__}, "
        f"{args.threads} thread(s), {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs"
        + (f", torch-lr-finder {tlf}" if tlf else ", torch-lr-finder not installed")
        + "\n"
    )
    cols = [a for a in arms if a != "plain"]
    print("| model | params | steps | plain CPU ms/step | " + " | ".join(f"{a}: CPU ratio (wall; min)" for a in cols) + " |")
    print("|---|---:|---:|---:|" + "---:|" * len(cols))
    for r in rows:
        print(
            f"| {r['name']} | {r['params']:,} | {r['steps']} | {r['cpu_ms']['plain']:.3f} | "
            + " | ".join(f"{r['cpu_ratio'][a]:.3f} ({r['wall_ratio'][a]:.3f}; {r['min_ratio'][a]:.3f})" for a in cols)
            + " |"
        )
    print(
        "\nratio = time(arm) / time(plain) in the same repeat, median over repeats; CPU = process CPU time "
        "(robust on a shared machine), then wall-clock, then min(CPU arm) / min(CPU plain). Target for lrscope: <= 1.03"
    )


if __name__ == "__main__":
    np.random.seed(0)
    main()
