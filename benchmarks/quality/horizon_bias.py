"""Side experiment: how far the short trials' best LR sits from the full run's, and how much the
verified pick depends on where its trials are centred (``docs/quality.md``).

``python -m benchmarks.quality.horizon_bias`` (after every constant-LR task's ``--task`` run and
``python -m benchmarks.quality.verify_variants``) prints two tables from the cached trials:

1. per task, the vertex of every *bracketed* set of trials (the best trial has a worse one on each
   side; trials of 10 % of the budget, shrink 0) against the ground truth's best LR and band —
   the shift a verified pick would need;
2. the verified pick (shrink 0.5, nothing chosen per task) around each of several centres, trained
   on the ground truth's seeds: in-band cells per task.
"""

from __future__ import annotations

import glob
import json
import math

import numpy as np
from benchmarks.quality.report import evaluate
from benchmarks.quality.score import _verified
from benchmarks.quality.tasks import CONSTANT_TASKS, TASKS
from benchmarks.quality.train import CACHE, RunCache, ground_truth, regret, snap, tolerance

CENTRES = (
    "drop(f=0.35,gap=1,z=2)",  # the verified path's default centre
    "drop(f=0.35,gap=0.5,z=2,floor=1)",  # the shipped single-sweep default
    "lrscope minimum",
    "lrscope steepest",
    "fastai minimum/10 (reimpl.)",
    "no finder (conventional LR)",
)


def main() -> int:
    from lrscope.torch.verify import pick_from_trials

    _, grids = evaluate(CONSTANT_TASKS)
    print("| task | full-run best LR (log10) | good band (log10) | bracketed trial vertices (log10): median [min, max], n | shift needed (median) |")
    print("|---|---|---|---|---|")
    for t in CONSTANT_TASKS:
        g = grids[t]
        xs = []
        for f in glob.glob(str(CACHE / t / "verify_o*_k*.json")) + glob.glob(str(CACHE / t / "vvar_*_o*_k*.json")):
            d = json.loads(open(f).read())
            if "fixedbatch" in f or "longer" in f or "morecand" in f or "finer" in f:
                continue  # other trial designs: only 3-4 trials of 10 %, scored on training loss
            sc = [x if x is not None else math.inf for x in d["scores"]]
            b = int(np.argmin(sc))
            if 0 < b < len(sc) - 1 and math.isfinite(sc[b]):
                p = pick_from_trials(d["candidates"], sc, shrink=0.0)
                xs.append(math.log10(p.details["pick_before_shrink"]))
        lo, hi = (math.log10(v) for v in g["band"])
        best = math.log10(g["best_lr"])
        med = float(np.median(xs))
        print(f"| {t} | {best:.2f} | {lo:.2f} – {hi:.2f} | {med:.2f} [{min(xs):.2f}, {max(xs):.2f}], {len(xs)} | {med - best:.2f} |")
    print()
    print("| centre of the trials (shrink 0.5 for all) | in band | per task (" + ", ".join(CONSTANT_TASKS) + ") | worst regret |")
    print("|---|---|---|---|")
    for c in CENTRES:
        per, worst = [], 0.0
        for t in CONSTANT_TASKS:
            task, cache, best = TASKS[t], RunCache(t), grids[t]["best_metric"]
            sc = json.loads((CACHE / t / "scores.json").read_text())
            n = 0
            for o in range(3):
                v = _verified(task, o, sc[str(o)][c]["lr"] or task.default_lr)
                p = pick_from_trials(v["candidates"], v["scores"], shrink=0.5)
                r = regret(task, ground_truth(task, snap(p.lr), cache)["metric"], best)
                n += r <= tolerance(task) + 1e-12
                worst = max(worst, r)
            per.append(n)
        print(f"| {c} | {sum(per)}/{3 * len(per)} | {' '.join(map(str, per))} | {100 * worst:.1f}% |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
