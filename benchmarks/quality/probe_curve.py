"""Side experiment: read the range test on a *probe* curve instead of the training loss.

Every point of a classic range test is the loss of one fresh mini-batch, so the curve carries the
batch-to-batch noise (on a small-batch regression it is as large as the whole fall, and every
rule abstains or wanders). The engine's validation mode can instead evaluate the current weights
on the same few fixed batches at every step (eval mode, no_grad): the curve then moves only
because the weights moved. Here those probe batches are *training* data in another order (the
held-out set stays for the ground truth).

``python -m benchmarks.quality.probe_curve [--batches 4]`` (after every constant-LR task's
``--task`` run) runs the engine's sweep (1e-7 -> 10, 100 steps) with the probe, reads it with
``drop`` at every configuration of the shipped default's family, trains the suggestions on the
ground truth's seeds, and prints in-band counts (in-sample and leave-one-task-out) beside the same
family on the training-loss curve. Cached under ``cache/<task>/probe*_o*.json`` (git-ignored).
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
from benchmarks.quality.report import _key, evaluate
from benchmarks.quality.score import DEFAULT_FAMILY, SWEEP
from benchmarks.quality.tasks import CONSTANT_TASKS, ONE_CYCLE_TASKS, TASKS
from benchmarks.quality.train import CACHE, RunCache, ground_truth, regret, snap, tolerance


def probe_result(task, order: int, n_batches: int):
    from lrscope.result import RangeTestResult

    path = CACHE / task.name / f"probe{n_batches}_o{order}.json"
    if path.is_file():
        return RangeTestResult.load(path)
    import torch

    from lrscope.torch import range_test

    torch.set_num_threads(1)
    it = task.batches(1000 + order)  # the same sweep batches as the training-loss curve
    batches = [next(it) for _ in range(SWEEP["num_steps"])]
    pit = task.batches(3000 + order)  # probe: training data, another order
    probe = [next(pit) for _ in range(n_batches)]
    model = task.model(0)
    opt = task.make_optimizer(model.parameters(), SWEEP["start_lr"])
    t0 = time.perf_counter()
    res = range_test(model, opt, batches, task.loss_fn, start_lr=SWEEP["start_lr"], end_lr=SWEEP["end_lr"],
                     num_steps=SWEEP["num_steps"], val_data=probe, val_batches=n_batches, val_every=1, progress=False)
    res.config["seconds"] = time.perf_counter() - t0
    res.save(path)
    return res


def main(argv=None) -> int:
    from lrscope.analysis import suggest

    ap = argparse.ArgumentParser()
    ap.add_argument("--batches", type=int, default=4)
    ap.add_argument("--one-cycle", action="store_true", help="score on the one-cycle tasks (suggestion = max_lr)")
    a = ap.parse_args(argv)
    names = ONE_CYCLE_TASKS if a.one_cycle else CONSTANT_TASKS
    ev, grids = evaluate(names)
    tasks = [t for t in names if t in grids]
    cells: dict[str, dict[str, list]] = {}
    cost = {}
    for t in tasks:
        task, cache = TASKS[t], RunCache(t)
        best = grids[t]["best_metric"]
        for o in range(3):
            res = probe_result(task, o, a.batches)
            cost.setdefault(t, []).append(res.config["seconds"])
            lrs, vl = res.curve("val_loss")
            for name, kw in DEFAULT_FAMILY.items():
                s = suggest(lrs, vl, "drop", sweep="exp", **kw)
                lr = s.lr if s.found else task.default_lr
                m = ground_truth(task, snap(lr), cache)["metric"]
                r = regret(task, m, best)
                cells.setdefault(name, {}).setdefault(t, []).append(
                    {"regret": r, "in_band": r <= tolerance(task) + 1e-12, "lr": lr, "abstained": not s.found})
        print(f"{t}: probe sweeps done ({np.median(cost[t]):.1f} s median)", file=sys.stderr)

    def pick(ts, table):
        return max(table, key=lambda n: _key([x for u in ts for x in table[n][u]]))

    def report(label, table):
        held = [x for t in tasks for x in table[pick([u for u in tasks if u != t], table)][t]]
        ins = pick(tasks, table)
        per = " ".join(f"{t}:{sum(x['in_band'] for x in table[ins][t])}" for t in tasks)
        print(f"| {label} | {sum(x['in_band'] for u in tasks for x in table[ins][u])}/{len(held)} ({ins}; {per}) | "
              f"{sum(x['in_band'] for x in held)}/{len(held)} | {100 * max(x['regret'] for x in held):.1f}% | "
              f"{sum(x['abstained'] for x in held)} |")

    base = {n: {t: ev[t][n] for t in tasks} for n in DEFAULT_FAMILY}
    for n in base:
        for t in tasks:
            base[n][t] = [dict(c, abstained=c.get("abstained", False)) for c in base[n][t]]
    print("| curve read by drop (default family, LOTO) | in band, in-sample (choice; per task) | in band, LOTO | worst regret, LOTO | abstained |")
    print("|---|---|---|---|---|")
    report("training loss (the classic curve)", base)
    report(f"probe: {a.batches} fixed training batches, every step", cells)
    fixed = "drop(f=0.35,gap=0.5,z=2,floor=1)"
    per = " ".join(f"{t}:{sum(x['in_band'] for x in cells[fixed][t])}" for t in tasks)
    print(f"\nshipped constants on the probe curve: {sum(x['in_band'] for t in tasks for x in cells[fixed][t])}/"
          f"{3 * len(tasks)} ({per})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
