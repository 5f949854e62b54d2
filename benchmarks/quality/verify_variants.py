"""Side experiment: other ways to spend the verified path's trial budget (``docs/quality.md``).

``python -m benchmarks.quality.verify_variants`` (after every constant-LR task's ``--task`` run)
runs :func:`lrscope.torch.verify.verify_suggestion` with each setting in ``VARIANTS`` around two
centres (``CENTRES``: the verified path's default centre and the shipped default rule), trains
the picks (shrink 0, 0.25, 0.5, 0.75 decades) on the ground truth's seeds, and prints per variant:
mean / max trial cost in full training runs, in-band cells leave-one-task-out over the 8
(centre, shrink) pairs, the worst LOTO regret, and the best in-sample pair. Cached under
``cache/<task>/vvar_*.json`` (git-ignored). Nothing here changes the shipped defaults; the table
it prints is quoted in ``docs/quality.md``.
"""

from __future__ import annotations

import json
import sys

import numpy as np
from benchmarks.quality.report import _key, evaluate
from benchmarks.quality.tasks import CONSTANT_TASKS, TASKS
from benchmarks.quality.train import CACHE, RunCache, _atomic_json, ground_truth, lattice_lr, regret, snap, tolerance

#: trial fraction of the budget, candidates, spacing (decades), extensions; cost <= 0.5 runs each
VARIANTS = {
    "default (3 x 10 %, 0.5 dec, +1)": dict(frac=0.10, num_candidates=3, spacing=0.5, extend=1),
    "one more extension (3 x 10 %, +2)": dict(frac=0.10, num_candidates=3, spacing=0.5, extend=2),
    "longer trials (3 x 15 %, +0)": dict(frac=0.15, num_candidates=3, spacing=0.5, extend=0),
    "more candidates (5 x 8 %, 0.5 dec, +1)": dict(frac=0.08, num_candidates=5, spacing=0.5, extend=1),
    "finer (5 x 8 %, 0.25 dec, +1)": dict(frac=0.08, num_candidates=5, spacing=0.25, extend=1),
    # score each trial's final weights on a fixed set of training batches (the same for every
    # candidate: paired, no minibatch noise, the end-point iterate the full run is judged by)
    "fixed-batch score, 8 batches (3 x 10 %, +1)": dict(frac=0.10, num_candidates=3, spacing=0.5, extend=1, score_batches=8),
    "fixed-batch score, 16 batches (3 x 10 %, +1)": dict(frac=0.10, num_candidates=3, spacing=0.5, extend=1, score_batches=16),
    # hold 15 % of the training set out of the trials and score each trial's final weights on it
    # (what a user with a validation split would do; the test set stays for the ground truth)
    "validation split 15 % (3 x 10 %, +1)": dict(frac=0.10, num_candidates=3, spacing=0.5, extend=1, val_split=0.15),
}


def _split_batches(task, order: int, frac: float):
    """Endless training batches without a held-out ``frac`` of the training set, and that part as
    validation batches (at most 1024 samples)."""
    import torch

    Xtr, ytr, _, _ = task.data()
    perm = np.random.RandomState(77).permutation(len(Xtr))
    nv = max(task.batch_size, int(frac * len(Xtr)))
    vi, ti = perm[:nv], perm[nv:]
    val = [(Xtr[vi[i : i + 256]], ytr[vi[i : i + 256]]) for i in range(0, min(nv, 1024), 256)]

    def gen():
        rng = np.random.RandomState(10_000 + order)
        while True:
            p = ti[rng.permutation(len(ti))]
            for i in range(0, len(p) - task.batch_size + 1, task.batch_size):
                idx = torch.from_numpy(p[i : i + task.batch_size])
                yield Xtr[idx], ytr[idx]

    return gen(), val
CENTRES = ("drop(f=0.35,gap=1,z=2)", "drop(f=0.35,gap=0.5,z=2,floor=1)")
SHRINKS = (0.0, 0.25, 0.5, 0.75)


def trials(task, order: int, k: int, tag: str, v: dict) -> dict:
    path = CACHE / task.name / f"vvar_{tag}_o{order}_k{k}.json"
    if path.is_file():
        return json.loads(path.read_text())
    import torch

    from lrscope.torch.verify import verify_suggestion

    torch.set_num_threads(1)
    model = task.model(0)
    opt = task.make_optimizer(model.parameters(), lattice_lr(k))
    ts = max(3, int(round(v["frac"] * task.budget)))
    val, train_it = None, task.batches(2000 + order)
    if v.get("score_batches"):
        it = task.batches(3000 + order)  # training data, another order: not the held-out set
        val = [next(it) for _ in range(v["score_batches"])]
    if v.get("val_split"):
        train_it, val = _split_batches(task, 2000 + order, v["val_split"])
    s = verify_suggestion(model, opt, train_it, task.loss_fn, center=lattice_lr(k), trial_steps=ts,
                          shrink=0.0, num_candidates=v["num_candidates"], spacing=v["spacing"], extend=v["extend"],
                          val_data=val)
    out = {"candidates": s.details["candidates"], "scores": s.details["scores"], "steps": s.details["steps"]}
    _atomic_json(path, out)
    return out


def main() -> int:
    from lrscope.torch.verify import pick_from_trials

    _, grids = evaluate(CONSTANT_TASKS)
    tasks = [t for t in CONSTANT_TASKS if t in grids]
    print("| variant | trial cost, mean (max), full runs | in band, LOTO over centre x shrink | worst regret (LOTO) | best in-sample pair |")
    print("|---|---|---|---|---|")
    only = sys.argv[1:]
    for label, v in VARIANTS.items():
        if only and not any(o in label for o in only):
            continue
        tag = "".join(c for c in label.split(" (")[0] if c.isalnum())
        cells = {}  # (centre, shrink) -> task -> [(regret, in_band)]
        cost = []
        for t in tasks:
            task, cache = TASKS[t], RunCache(t)
            best = grids[t]["best_metric"]
            scores = json.loads((CACHE / t / "scores.json").read_text())
            for o in range(3):
                for c in CENTRES:
                    k = snap(scores[str(o)][c]["lr"] or task.default_lr)
                    d = trials(task, o, k, tag, v)
                    if c == CENTRES[0]:
                        cost.append(d["steps"] / task.budget)
                    for sh in SHRINKS:
                        p = pick_from_trials(d["candidates"], d["scores"], shrink=sh)
                        m = ground_truth(task, snap(p.lr), cache)["metric"]
                        r = regret(task, m, best)
                        cells.setdefault((c, sh), {}).setdefault(t, []).append(
                            {"regret": r, "in_band": r <= tolerance(task) + 1e-12})
        def pick(ts):
            return max(cells, key=lambda n: _key([x for u in ts for x in cells[n][u]]))
        held = [x for t in tasks for x in cells[pick([u for u in tasks if u != t])][t]]
        ins = pick(tasks)
        n_in = sum(x["in_band"] for u in tasks for x in cells[ins][u])
        print(f"| {label} | {np.mean(cost):.2f} ({np.max(cost):.2f}) | {sum(x['in_band'] for x in held)}/{len(held)} | "
              f"{100 * max(x['regret'] for x in held):.1f}% | {ins[0]} shrink {ins[1]:g}: {n_in}/{len(held)} |")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
