"""Run the population: per task a ground-truth grid and lrscope range tests, cached as one JSON.

    nohup nice -n 19 python -m benchmarks.population.run --n 300 > /tmp/population.log 2>&1 &

Per task (``families.draw(i)``):

* the ground truth: half-decade LR points over the optimizer's range (extended while the best sits at
  an edge), then quarter-decade points around the best, each trained for the task's budget with its
  schedule (the LR is the constant LR, or ``max_lr`` of one-cycle / the peak of cosine-with-warm-up) on
  ``SEEDS``; the good band is the quality benchmark's (``benchmarks.quality.train.grid_summary``: within
  1 % of the best accuracy, 2 % of the best loss). Going down from the best, the grid stops after two
  points in a row more than 25 % (relative) worse than the best: such points are never in band.
* range tests: ``lrscope.torch.range_test`` (1e-7 -> 10, 100 steps, its defaults) on ``ORDERS`` data
  orders, model init seed 0, with the task's own optimizer;
* baselines a user might pick instead of a finder: Prodigy and Schedule-Free AdamW on their package
  defaults (Schedule-Free with 5 % warm-up), constant, one run per seed, no sweep.

Finished tasks are written to ``results/<id>.json`` (committed); training runs of a task in progress
are cached under ``cache/`` (ignored), so a killed run resumes where it stopped.
"""

from __future__ import annotations

import torch

torch.set_num_threads(1)

import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
from benchmarks.population.families import PopulationTask, build, draw  # noqa: E402
from benchmarks.quality.train import LATTICE, _atomic_json, _best_k, grid_summary, lattice_lr, regret, run_steps, snap  # noqa: E402

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
CACHE = HERE / "cache"
SEEDS = (0, 1, 2)
ORDERS = (0, 1, 2)
SWEEP = {"start_lr": 1e-7, "end_lr": 10.0, "num_steps": 100}
MAX_EXTEND = 3  # half-decade points the grid may grow by at each end


def make_scheduler(task: PopulationTask, opt: torch.optim.Optimizer, lr: float) -> Any:
    if task.schedule == "one_cycle":
        # momentum cycles where the optimizer has one (SGD, RMSprop, the Adam family); Adagrad has none
        cycle = "momentum" in opt.defaults or "betas" in opt.defaults
        return torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=task.budget, cycle_momentum=cycle)
    if task.schedule == "cosine_warmup":
        warm = max(1, int(0.05 * task.budget))
        T = task.budget

        def f(step: int) -> float:
            if step < warm:
                return (step + 1) / warm
            return 0.5 * (1 + math.cos(math.pi * (step - warm) / max(1, T - warm)))

        return torch.optim.lr_scheduler.LambdaLR(opt, f)
    return None


def train(task: PopulationTask, lr: float, seed: int, optimizer: str | None = None) -> dict[str, Any]:
    """Train from seed ``seed`` (model init and data order) at ``lr`` with the task's schedule; or, with
    ``optimizer`` = "prodigy" / "schedulefree", that optimizer on its defaults (constant, ``lr`` unused)."""
    t0 = time.perf_counter()
    model = task.model(seed)
    sf = None
    sched = None
    if optimizer == "prodigy":
        from prodigyopt import Prodigy

        opt: torch.optim.Optimizer = Prodigy(model.parameters())
    elif optimizer == "schedulefree":
        import schedulefree

        sf = schedulefree.AdamWScheduleFree(model.parameters(), warmup_steps=max(1, int(0.05 * task.budget)))
        sf.train()
        opt = sf
    else:
        opt = task.make_optimizer(model.parameters(), lr)
        sched = make_scheduler(task, opt, lr)
    metric, diverged = run_steps(task, model, opt, sched, seed, task.budget, before_eval=sf.eval if sf is not None else None)
    return {"metric": metric, "diverged": diverged, "seconds": time.perf_counter() - t0}


class Runs:
    """Training runs of one task in progress: (key, seed) -> run, on disk under cache/<id>.json."""

    def __init__(self, task_id: str):
        self.path = CACHE / f"{task_id}.json"
        self.data: dict[str, Any] = json.loads(self.path.read_text()) if self.path.is_file() else {}

    def get(self, task: PopulationTask, key: str, seed: int, lr: float, optimizer: str | None = None) -> dict[str, Any]:
        k = f"{key}|{seed}"
        if k not in self.data:
            self.data[k] = train(task, lr, seed, optimizer)
            _atomic_json(self.path, self.data)
        return dict(self.data[k])


def _point(task: PopulationTask, runs: Runs, k: int) -> dict[str, Any]:
    rs = [runs.get(task, str(k), s, lattice_lr(k)) for s in SEEDS]
    vals = [r["metric"] for r in rs]
    m = float(np.mean(vals)) if all(math.isfinite(v) for v in vals) else math.inf
    return {"k": k, "metric": m, "metrics": vals, "diverged": sum(bool(r["diverged"]) for r in rs),
            "seconds": float(np.mean([r["seconds"] for r in rs]))}


def run_grid(task: PopulationTask, runs: Runs) -> dict[int, dict[str, Any]]:
    lo, hi = snap(task.grid[0]), snap(task.grid[1])
    half = LATTICE // 2
    res: dict[int, dict[str, Any]] = {}
    # top down: high LRs diverge quickly (cheap); stop once two points in a row are far out of band
    k, worse = hi, 0
    while k >= lo:
        res[k] = _point(task, runs, k)
        best = res[_best_k(task, res)]["metric"]
        far = best != 0 and math.isfinite(best) and k < _best_k(task, res) and regret(task, res[k]["metric"], best) > 0.25
        worse = worse + 1 if far else 0
        if worse >= 2:
            break
        k -= half
    for _ in range(MAX_EXTEND):  # extend while the best is at an edge of the grid
        b, ks = _best_k(task, res), sorted(res)
        if b == ks[-1]:
            res[b + half] = _point(task, runs, b + half)
        elif b == ks[0]:
            res[b - half] = _point(task, runs, b - half)
        else:
            break
    task.grid = (lattice_lr(min(res)), lattice_lr(max(res)))  # the grid proper, as grid_summary reads it
    best = _best_k(task, res)
    for k in (best - 6, best - 2, best + 2, best + 6):
        if k not in res:
            res[k] = _point(task, runs, k)
    return res


def _sweep(task: PopulationTask, order: int) -> dict[str, Any]:
    from lrscope.torch import range_test

    it = task.batches(1000 + order)
    batches = [next(it) for _ in range(SWEEP["num_steps"])]
    model = task.model(0)
    opt = task.make_optimizer(model.parameters(), SWEEP["start_lr"])
    t0 = time.perf_counter()
    res = range_test(model, opt, batches, task.loss_fn, progress=False, **SWEEP)  # type: ignore[arg-type]
    d = res.to_dict()
    d["seconds"] = time.perf_counter() - t0
    d["losses"] = [v if isinstance(v, str) else float(f"{v:.6g}") for v in d["losses"]]
    d["lrs"] = [float(f"{v:.8g}") for v in d["lrs"]]
    for key in ("val_losses", "metrics", "steps"):
        d.pop(key, None)
    return d


def run_task(i: int) -> Path:
    spec = draw(i)
    path = RESULTS / f"{spec['id']}.json"
    if path.is_file():
        return path
    t0 = time.perf_counter()
    task = build(spec)
    runs = Runs(spec["id"])
    res = run_grid(task, runs)
    summ = grid_summary(task, res)
    sweeps = [_sweep(task, o) for o in ORDERS]
    baselines = {}
    for name in ("prodigy", "schedulefree"):
        rs = [runs.get(task, name, s, 0.0, name) for s in SEEDS]
        vals = [r["metric"] for r in rs]
        baselines[name] = {"metrics": vals, "metric": float(np.mean(vals)) if all(math.isfinite(v) for v in vals) else "inf"}
    out = {
        "spec": spec,
        "grid": {str(k): {"metric": v["metric"] if math.isfinite(v["metric"]) else "inf", "metrics": v["metrics"],
                          "diverged": v["diverged"], "seconds": round(v["seconds"], 3)} for k, v in sorted(res.items())},
        "best_k": summ["best_k"], "best_metric": summ["best_metric"],
        "band_ks": sorted(snap(x) for x in summ["band_lrs"]),
        "grid_ks": sorted(snap(p[0]) for p in summ["points"]),
        "sweeps": sweeps, "baselines": baselines,
        "seconds": round(time.perf_counter() - t0, 1),
    }
    out = json.loads(json.dumps(out, allow_nan=True).replace("Infinity", '"inf"').replace("NaN", '"nan"'))
    _atomic_json(path, out)
    runs.path.unlink(missing_ok=True)
    return path


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--start", type=int, default=0)
    ap.add_argument("--shard", type=str, default="0/1", help="i/m: run only task indices = i mod m")
    a = ap.parse_args()
    si, sm = (int(x) for x in a.shard.split("/"))
    for i in range(a.start, a.n):
        if i % sm != si:
            continue
        t0 = time.perf_counter()
        try:
            p = run_task(i)
        except Exception as e:  # a broken task is reported and skipped, never silently dropped
            print(f"p{i:04d} FAILED: {type(e).__name__}: {e}", flush=True)
            continue
        print(f"{p.name} {time.perf_counter() - t0:.1f}s", flush=True)


if __name__ == "__main__":
    main()
