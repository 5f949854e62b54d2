"""What a run costs with each choice the population compares, on one model: the task's own optimizer
(Adam, SGD with momentum), Prodigy and Schedule-Free AdamW per step, and lrscope's 100-step range test.

    python -m benchmarks.population.optimizer_cost [--steps 300] [--rounds 7]

One MLP (the population's most common model: 3 hidden layers of 256 on 64 inputs, batch 64), torch on
one thread (``torch.set_num_threads(1)``; two busy cores oversubscribe otherwise). Each round times
``--steps`` optimizer steps with every optimizer, in an order rotated per round, and the range test
once; the table gives the median time per step over the rounds and its ratio to Adam's measured in
the same round. Times are CPU wall clock on whatever machine runs this; compare the ratios.
"""

from __future__ import annotations

import torch

torch.set_num_threads(1)

import argparse  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

import lrscope.torch as lt  # noqa: E402


def _model() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(64, 256), torch.nn.ReLU(), torch.nn.Linear(256, 256), torch.nn.ReLU(),
                               torch.nn.Linear(256, 256), torch.nn.ReLU(), torch.nn.Linear(256, 10))


def _optimizers() -> dict[str, Callable[[Any], torch.optim.Optimizer]]:
    out: dict[str, Callable[[Any], torch.optim.Optimizer]] = {
        "Adam": lambda p: torch.optim.Adam(p, lr=1e-3),
        "SGD momentum": lambda p: torch.optim.SGD(p, lr=0.01, momentum=0.9),
    }
    try:
        from prodigyopt import Prodigy

        out["Prodigy"] = lambda p: Prodigy(p, lr=1.0)
    except ImportError:
        print("prodigyopt not installed: Prodigy left out")
    try:
        import schedulefree

        out["Schedule-Free AdamW"] = lambda p: schedulefree.AdamWScheduleFree(p, lr=0.0025, warmup_steps=10)
    except ImportError:
        print("schedulefree not installed: Schedule-Free left out")
    return out


def _batches(n: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    g = torch.Generator().manual_seed(1)
    return [(torch.randn(64, 64, generator=g), torch.randint(0, 10, (64,), generator=g)) for _ in range(n)]


def _train(make: Callable[[Any], torch.optim.Optimizer], data: list[tuple[torch.Tensor, torch.Tensor]]) -> float:
    model = _model()
    opt = make(model.parameters())
    if hasattr(opt, "train"):
        opt.train()  # Schedule-Free's mode switch
    loss_fn = torch.nn.CrossEntropyLoss()
    t0 = time.perf_counter()
    for x, y in data:
        opt.zero_grad(set_to_none=True)
        loss_fn(model(x), y).backward()
        opt.step()
    return time.perf_counter() - t0


def _range_test(data: list[tuple[torch.Tensor, torch.Tensor]]) -> float:
    model = _model()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    t0 = time.perf_counter()
    lt.range_test(model, opt, data, torch.nn.CrossEntropyLoss(), start_lr=1e-7, end_lr=10.0, num_steps=100,
                  progress=False, diverge_threshold=None)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--rounds", type=int, default=7)
    a = ap.parse_args()
    opts = _optimizers()
    data = _batches(a.steps)
    sweep_data = data[:100]
    _train(opts["Adam"], data[:20])  # warm-up
    per_step: dict[str, list[float]] = {n: [] for n in opts}
    ratio: dict[str, list[float]] = {n: [] for n in opts}
    sweep: list[float] = []
    names = list(opts)
    for r in range(a.rounds):
        order = names[r % len(names):] + names[: r % len(names)]
        t = {n: _train(opts[n], data) / a.steps for n in order}
        sweep.append(_range_test(sweep_data))
        for n in names:
            per_step[n].append(t[n])
            ratio[n].append(t[n] / t["Adam"])
    print(f"{a.steps} steps per run, {a.rounds} rounds, torch {torch.__version__}, 1 thread\n")
    print("| optimizer | ms per step (median) | vs Adam, same round (median) |")
    print("|---|---|---|")
    for n in names:
        print(f"| {n} | {1e3 * np.median(per_step[n]):.2f} | {np.median(ratio[n]):.2f} |")
    adam = np.array(per_step["Adam"])
    print(f"\nlrscope range test, 100 steps (stop rule off): {np.median(sweep):.2f} s, the time of "
          f"{np.median(np.array(sweep) / adam):.0f} Adam steps")


if __name__ == "__main__":
    main()
