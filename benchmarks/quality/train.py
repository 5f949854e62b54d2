"""Plain training loop, the raw LR sweep, and the on-disk cache the whole benchmark shares.

LRs live on a lattice of 1/8 decade (``lr = 10 ** (k / 8)``): the ground-truth grid (half- and
quarter-decade points) sits on it, and every suggestion is snapped to its nearest lattice point
(at most 1/16 decade = 15 % away) before it is trained, so runs are shared between rules, data
orders and tasks' re-runs. Nothing here reads a suggestion rule.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from benchmarks.quality.tasks import Task

torch.set_num_threads(1)

CACHE = Path(__file__).resolve().parent / "cache"
LATTICE = 8  # points per decade
SWEEP_ORDERS = (0, 1, 2)  # data orders of the finders' sweeps (model init: seed 0)


def snap(lr: float) -> int:
    """Index k of the lattice point 10**(k/8) nearest to ``lr`` in log space."""
    return int(round(LATTICE * math.log10(lr)))


def lattice_lr(k: int) -> float:
    return float(10.0 ** (k / LATTICE))


# ----------------------------------------------------------------------------- cache


def _atomic_json(path: Path, data) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    with os.fdopen(fd, "w") as fh:
        json.dump(data, fh)
    os.replace(tmp, path)


class RunCache:
    """metric of (task, lattice k, seed), persisted as cache/<task>/runs.json."""

    def __init__(self, task: str):
        self.path = CACHE / task / "runs.json"
        self.data = json.loads(self.path.read_text()) if self.path.is_file() else {}

    def get(self, k: int, seed: int):
        return self.data.get(f"{k}|{seed}")

    def put(self, k: int, seed: int, value: dict) -> None:
        self.data[f"{k}|{seed}"] = value
        _atomic_json(self.path, self.data)


# ----------------------------------------------------------------------------- training


#: a triangular task's cycle: step_size_up = budget / TRIANGULAR_HALF_CYCLES (two full cycles)
TRIANGULAR_HALF_CYCLES = 4


def make_scheduler(task: Task, opt: torch.optim.Optimizer, lr: float, base_lr: float | None = None):
    if task.schedule == "one_cycle":
        return torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=task.budget)
    if task.schedule == "triangular":  # torch's CyclicLR on its defaults (momentum cycles too)
        base = lr / task.extra["ratio"] if base_lr is None else base_lr
        return torch.optim.lr_scheduler.CyclicLR(opt, base_lr=base, max_lr=lr, mode="triangular",
                                                 step_size_up=task.budget // TRIANGULAR_HALF_CYCLES)
    return None


def train(task: Task, lr: float, seed: int, steps: int | None = None, base_lr: float | None = None) -> dict:
    """Train ``task`` from seed ``seed`` at ``lr`` (constant, or max_lr of one-cycle / a triangular
    cycle whose base is ``base_lr``, default ``lr / task.extra["ratio"]``) for ``steps`` (default: the
    task's budget); return the held-out metric and what it cost."""
    steps = task.budget if steps is None else steps
    t0 = time.perf_counter()
    model = task.model(seed)
    opt = task.make_optimizer(model.parameters(), lr)
    metric, diverged = run_steps(task, model, opt, make_scheduler(task, opt, lr, base_lr), seed, steps)
    return {"metric": metric, "diverged": diverged, "seconds": time.perf_counter() - t0}


def run_steps(task: Any, model: torch.nn.Module, opt: torch.optim.Optimizer, sched: Any, seed: int, steps: int,
              before_eval: Any = None) -> tuple[float, bool]:
    """``steps`` training steps on ``task.batches(seed)`` (stopping at a non-finite loss), then the
    held-out metric (``before_eval()`` first, e.g. Schedule-Free's ``eval()``); (metric, diverged)."""
    it = task.batches(seed)
    diverged = False
    for _ in range(steps):
        x, y = next(it)
        opt.zero_grad(set_to_none=True)
        loss = task.loss_fn(model(x), y)
        if not torch.isfinite(loss):
            diverged = True
            break
        loss.backward()
        opt.step()
        if sched is not None:
            sched.step()
    if before_eval is not None:
        before_eval()
    metric = task.evaluate(model) if not diverged else (0.0 if task.higher_is_better else math.inf)
    return metric, diverged or (not task.higher_is_better and not math.isfinite(metric))


def ground_truth(task: Task, k: int, cache: RunCache | None = None, seeds=None, k_base: int | None = None) -> dict:
    """Mean held-out metric over ``seeds`` of training at lattice point k (cached); with ``k_base``, a
    triangular cycle from lattice point k_base up to k (cached under ``"k:k_base"``)."""
    cache = cache or RunCache(task.name)
    seeds = tuple(range(task.n_seeds)) if seeds is None else seeds
    key = k if k_base is None else f"{k}:{k_base}"
    base_lr = None if k_base is None else lattice_lr(k_base)
    vals, secs, div = [], [], 0
    for s in seeds:
        r = cache.get(key, s)  # type: ignore[arg-type]
        if r is None:
            r = train(task, lattice_lr(k), s, base_lr=base_lr)
            cache.put(key, s, r)  # type: ignore[arg-type]
        vals.append(r["metric"])
        secs.append(r["seconds"])
        div += bool(r["diverged"])
    m = float(np.mean(vals)) if all(math.isfinite(v) for v in vals) else math.inf
    return {"k": k, "lr": lattice_lr(k), "metric": m, "metrics": vals, "diverged": div, "seconds": float(np.mean(secs))}


def run_grid(task: Task, log=print) -> dict:
    """Half-decade grid over task.grid, then quarter-decade points within one decade of the best."""
    cache = RunCache(task.name)
    k_lo, k_hi = snap(task.grid[0]), snap(task.grid[1])
    ks = list(range(k_lo, k_hi + 1, LATTICE // 2))
    res = {}
    for k in ks:
        res[k] = ground_truth(task, k, cache)
        log(f"{task.name} lr={lattice_lr(k):.3g} metric={res[k]['metric']:.4g} diverged={res[k]['diverged']}")
    best = _best_k(task, res)
    for k in (best - 6, best - 2, best + 2, best + 6):
        if k not in res:
            res[k] = ground_truth(task, k, cache)
            log(f"{task.name} lr={lattice_lr(k):.3g} metric={res[k]['metric']:.4g} (quarter-decade)")
    return res


def grid_ks(task: Task, res: dict) -> list[int]:
    """The lattice points of the grid proper (half-decade points, then the quarter-decade points
    around their best), out of every point trained for the task."""
    k_lo, k_hi = snap(task.grid[0]), snap(task.grid[1])
    ks = [k for k in range(k_lo, k_hi + 1, LATTICE // 2) if k in res]
    best = _best_k(task, {k: res[k] for k in ks})
    return sorted(set(ks) | {k for k in (best - 6, best - 2, best + 2, best + 6) if k in res})


def _best_k(task: Task, res: dict) -> int:
    sign = 1 if task.higher_is_better else -1
    return max(res, key=lambda k: sign * res[k]["metric"] if math.isfinite(res[k]["metric"]) else -math.inf)


def tolerance(task: Task) -> float:
    """Relative tolerance of the good band: 1 % of the best accuracy, 2 % of the best loss."""
    return 0.01 if task.higher_is_better else 0.02


def regret(task: Task, metric: float, best: float) -> float:
    """Relative shortfall vs the grid's best (0 = as good; inf = diverged)."""
    if not math.isfinite(metric):
        return math.inf
    r = (best - metric) / abs(best) if task.higher_is_better else (metric - best) / abs(best)
    return max(0.0, float(r))


def grid_summary(task: Task, res: dict) -> dict:
    """Best LR and good band of the grid proper; ``points`` also lists every other LR trained."""
    gks = grid_ks(task, res)
    ks = sorted(res)
    best_k = _best_k(task, {k: res[k] for k in gks})
    best = res[best_k]["metric"]
    band = [k for k in gks if regret(task, res[k]["metric"], best) <= tolerance(task)]
    return {
        "task": task.name,
        "best_k": best_k,
        "best_lr": lattice_lr(best_k),
        "best_metric": best,
        "band_lrs": [lattice_lr(k) for k in band],
        "band": (lattice_lr(min(band)), lattice_lr(max(band))),
        "points": [(lattice_lr(k), res[k]["metric"], res[k]["diverged"]) for k in gks],
        "all_points": [(lattice_lr(k), res[k]["metric"], res[k]["diverged"]) for k in ks],
        "seconds_per_run": float(np.mean([res[k]["seconds"] for k in gks])),
    }


# ----------------------------------------------------------------------------- sweeps


def raw_sweep(task: Task, order: int, start_lr: float = 1e-7, end_lr: float = 10.0, num_steps: int = 100,
              init_seed: int = 0) -> dict:
    """An exponential LR sweep from ``start_lr`` to ``end_lr`` recording raw losses, run to the end
    (or to the first non-finite loss): every finder's stop rule is applied afterwards to a prefix,
    which equals what that finder would have recorded (training is deterministic). Cached."""
    path = CACHE / task.name / f"sweep_{start_lr:g}_{end_lr:g}_{num_steps}_o{order}_s{init_seed}.json"
    if path.is_file():
        return json.loads(path.read_text())
    t0 = time.perf_counter()
    model = task.model(init_seed)
    opt = task.make_optimizer(model.parameters(), start_lr)
    it = task.batches(1000 + order)
    lrs, losses = [], []
    for i in range(num_steps):
        lr = start_lr * (end_lr / start_lr) ** (i / (num_steps - 1))
        for g in opt.param_groups:
            g["lr"] = lr
        x, y = next(it)
        opt.zero_grad(set_to_none=True)
        loss = task.loss_fn(model(x), y)
        lrs.append(lr)
        losses.append(float(loss.detach()))
        if not math.isfinite(losses[-1]):
            break
        loss.backward()
        opt.step()
    out = {"lrs": lrs, "losses": losses, "seconds": time.perf_counter() - t0, "num_steps": num_steps}
    _atomic_json(path, out)
    return out
