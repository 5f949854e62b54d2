"""Would running the verified path's trials in parallel pay? A measurement, not a feature.

``python benchmarks/verify_parallel.py`` times, on the quality benchmark's tasks, 4 trials of 30
steps at LRs half a decade apart run two ways, from the same initial state:

* one after the other, as :func:`lrscope.torch.verify_suggestion` does;
* at once, as one ``torch.func.vmap`` over 4 stacked copies of the parameters
  (``functional_call``), with one optimizer over the stacked tensors stepping at lr=1 and each
  copy's update scaled by its own LR. That is exact for SGD, Adam and AdamW, whose step is linear in
  the LR.

It prints the median time ratio (sequential / parallel, > 1 = parallel faster) over 3 warm
repeats, and the largest relative difference between the two ways' per-step losses. Timings are
CPU-only here, and the tasks use one thread as in the benchmark.
"""

from __future__ import annotations

import copy
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.quality.tasks import TASKS  # noqa: E402

CASES = [
    ("digits_mlp", torch.optim.SGD, {"momentum": 0.9}),
    ("cancer_adamw", torch.optim.AdamW, {"weight_decay": 0.01}),
    ("fmnist_cnn_sgd", torch.optim.SGD, {"momentum": 0.9, "nesterov": True}),
    ("fmnist_mlp_adam", torch.optim.Adam, {}),
    ("charlm_gru", torch.optim.Adam, {}),
]
STEPS, REPEATS = 30, 3


def sequential(model, opt_cls, kw, batches, loss_fn, lrs):
    out = []
    for lr in lrs:
        m = copy.deepcopy(model)
        o = opt_cls(m.parameters(), lr=lr, **kw)
        losses = []
        for x, y in batches:
            o.zero_grad(set_to_none=True)
            loss = loss_fn(m(x), y)
            loss.backward()
            o.step()
            losses.append(loss.detach())
        out.append(torch.stack(losses))
    return torch.stack(out)


def parallel(model, opt_cls, kw, batches, loss_fn, lrs):
    from torch.func import functional_call, vmap

    k = len(lrs)
    stacked = {n: p.detach().unsqueeze(0).repeat(k, *([1] * p.dim())).clone().requires_grad_(True)
               for n, p in model.named_parameters()}
    buffers = dict(model.named_buffers())
    opt = opt_cls(list(stacked.values()), lr=1.0, **kw)
    lr_t = torch.tensor(lrs, dtype=torch.float32)

    def one(params, x, y):
        return loss_fn(functional_call(model, (params, buffers), (x,)), y)

    f = vmap(one, in_dims=(0, None, None))
    out = []
    for x, y in batches:
        opt.zero_grad(set_to_none=True)
        losses = f(stacked, x, y)
        losses.sum().backward()
        old = {n: p.detach().clone() for n, p in stacked.items()}
        opt.step()
        with torch.no_grad():
            for n, p in stacked.items():
                p.copy_(old[n] + lr_t.view(k, *([1] * (p.dim() - 1))) * (p - old[n]))
        out.append(losses.detach())
    return torch.stack(out).T


def main() -> int:
    torch.set_num_threads(1)
    print("| task | optimizer | sequential / parallel time (median of 3; > 1 = parallel faster) | largest relative loss difference |")
    print("|---|---|---|---|")
    for name, cls, kw in CASES:
        task = TASKS[name]
        it = task.batches(0)
        batches = [next(it) for _ in range(STEPS)]
        model = task.model(0)
        lrs = [task.default_lr * 10 ** (j * 0.5) for j in (-1, 0, 1, 2)]
        ratios, diff = [], float("nan")
        try:
            for _ in range(REPEATS):
                t0 = time.perf_counter()
                a = sequential(model, cls, kw, batches, task.loss_fn, lrs)
                ts = time.perf_counter() - t0
                t0 = time.perf_counter()
                b = parallel(model, cls, kw, batches, task.loss_fn, lrs)
                ratios.append(ts / (time.perf_counter() - t0))
            diff = float(((a - b).abs() / a.abs()).max())
            cell = f"{statistics.median(ratios):.2f} ({', '.join(f'{r:.2f}' for r in ratios)})"
        except RuntimeError as exc:  # e.g. no vmap batching rule for the model's layers
            cell = f"fails: {str(exc).splitlines()[0][:80]}"
        print(f"| {name} | {cls.__name__} | {cell} | {diff:.1e} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
