"""Side experiment: where the good band lies relative to each feature of the range-test curve, and
what that caps a single-sweep reading at (``docs/quality.md``).

``python -m benchmarks.quality.anchor_offsets`` (after every constant-LR task's ``--task`` run)
reads each cached range test (the engine's 1e-7 -> 10, 100 steps, 3 data orders) once, with no
abstention (``min_z=0``), and takes a set of *anchors* — the LR of the lowest smoothed loss, the
start of the curve's bottom, the steepest point, the last readable point (where it diverged), the
points where the loss has done 25/50/75/90 % of its fall. A reading of the form "anchor shifted by a
constant number of decades" is the shape of every published rule (``minimum / 10``, steepest,
valley) and of ``drop``. For each anchor it prints:

* the band, in decades from the anchor, per task and data order (how far the truth moves);
* the best constant shift chosen on all six tasks (in-sample: an upper bound for that anchor);
* the leave-one-task-out figure (the shift chosen on five tasks, scored on the sixth).

Shifts run over the 1/8-decade lattice from -4 to +1 decades. A lattice point within a quarter
decade of the band that is not trained yet is trained on the ground truth's seeds (cached); one
further out that was never trained counts as out of band when the trained points on either side of
it are both out of band (the metric is not re-measured between two grid points that both miss).
Nothing here changes a shipped default.
"""

from __future__ import annotations

import math

import numpy as np
from benchmarks.quality.report import _key, evaluate
from benchmarks.quality.tasks import CONSTANT_TASKS, TASKS
from benchmarks.quality.train import CACHE, LATTICE, RunCache, ground_truth, regret, tolerance

SHIFTS = range(-4 * LATTICE, LATTICE + 1)  # in lattice steps (1/8 decade)


def anchors_of(lrs, losses) -> dict[str, float]:
    """log10 LR of each anchor of one curve."""
    from lrscope.analysis.curve import prepare_curve
    from lrscope.analysis.robust import BOTTOM_SE, drop_point

    c = prepare_curve(lrs, losses, sweep="exp", min_z=0.0)
    x = np.log10(c.lrs)
    steep = c.start + int(np.nanargmin(c.slope[c.start : c.i_min + 1]))
    level = c.smoothed[c.i_min] + BOTTOM_SE * c.se[c.i_min]
    bottom = next(j for j in range(c.start, c.i_min + 1) if c.smoothed[j] <= level)
    out = {"lowest loss": x[c.i_min], "bottom starts": x[bottom], "steepest": x[steep], "last readable (divergence)": x[c.stop - 1]}
    for f in (0.25, 0.5, 0.75, 0.9):
        out[f"{f:.0%} of the fall"] = x[drop_point(c, f)]
    return {k: float(v) for k, v in out.items()}


def main() -> int:
    from lrscope.result import RangeTestResult

    _, grids = evaluate(CONSTANT_TASKS)
    tasks = [t for t in CONSTANT_TASKS if t in grids]
    anchors = {}
    for t in tasks:
        for o in range(3):
            res = RangeTestResult.load(CACHE / t / f"lrscope_100_o{o}.json")
            anchors[(t, o)] = anchors_of(*res.curve("loss"))
    names = list(anchors[(tasks[0], 0)])
    caches = {t: RunCache(t) for t in tasks}

    def cell(t, k):
        task = TASKS[t]
        band = [round(LATTICE * math.log10(v)) for v in grids[t]["band"]]
        trained = sorted({int(key.split("|")[0]) for key in caches[t].data})
        if k not in trained and not band[0] - 2 <= k <= band[1] + 2:
            below, above = [j for j in trained if j < k], [j for j in trained if j > k]
            sides = ([below[-1]] if below else []) + ([above[0]] if above else [])
            if all(not cell(t, j)["in_band"] for j in sides):
                return {"regret": math.inf, "in_band": False}
        m = ground_truth(task, k, caches[t])["metric"]
        r = regret(task, m, grids[t]["best_metric"])
        return {"regret": r, "in_band": r <= tolerance(task) + 1e-12}

    print("| anchor | band, decades from the anchor (per task: the three data orders' [low, high]) |")
    print("|---|---|")
    for n in names:
        parts = []
        for t in tasks:
            lo, hi = (math.log10(v) for v in grids[t]["band"])
            spans = [f"[{lo - anchors[(t, o)][n]:+.1f}, {hi - anchors[(t, o)][n]:+.1f}]" for o in range(3)]
            parts.append(f"{t} " + " ".join(spans))
        print(f"| {n} | " + "; ".join(parts) + " |")
    print()
    print("| anchor | best shift on all tasks (decades) | in band, in-sample | in band, leave-one-task-out | LOTO folds' shifts |")
    print("|---|---|---|---|---|")
    every = {}
    groups = {"any level crossing (chosen with its shift)": [n for n in names if n.endswith("of the fall")],
              "any anchor (chosen with its shift)": names}
    for n in names + list(groups):
        if n in names:
            cells = {s: {t: [cell(t, int(round(LATTICE * anchors[(t, o)][n])) + s) for o in range(3)] for t in tasks}
                     for s in SHIFTS}
            every.update({(n, s): c for s, c in cells.items()})
        else:
            cells = {key: c for key, c in every.items() if key[0] in groups[n]}

        def choose(ts):
            return max(cells, key=lambda s: _key([c for t in ts for c in cells[s][t]]))

        def fmt(s):
            return f"{n_of(s)}{(s[1] if isinstance(s, tuple) else s) / LATTICE:+.3g}"

        def n_of(s):
            return f"{s[0]} " if isinstance(s, tuple) else ""

        best = choose(tasks)
        n_in = sum(c["in_band"] for t in tasks for c in cells[best][t])
        folds = {t: choose([u for u in tasks if u != t]) for t in tasks}
        n_lo = sum(c["in_band"] for t in tasks for c in cells[folds[t]][t])
        print(f"| {n} | {fmt(best)} | {n_in}/{3 * len(tasks)} | {n_lo}/{3 * len(tasks)} | "
              + ", ".join(fmt(folds[t]) for t in tasks) + " |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
