"""Fit the learned reader on the population and judge it (issue 14). No training: reads results/ only.

    python -m benchmarks.population.analyze            # tables (markdown) to stdout
    python -m benchmarks.population.analyze --write    # ... and src/lrscope/analysis/reader.json

A *cell* is one (task, data order): one range test, read by every rule. A suggestion is snapped to
the 1/8-decade lattice and judged against the task's trained grid points *without training at it*:
its metric is interpolated linearly in log LR between the nearest trained points on either side
(the nearer one's when either diverged; the end point's beyond the grid). In band = within the
quality benchmark's tolerance of the grid's best (1 % accuracy, 2 % loss); regret = the relative
shortfall. An abstention falls back to the conventional LR (SGD 0.01, Adam 1e-3), as a user would.

Every choice (the ridge penalty) is made by leave-one-family-out on the tasks outside the declared
hold-out (``holdout.py``): a fold leaves out every task sharing one data set or one model family.
The held-out tasks were read once, by the final model, for the stop rule (look 1 in
``HELD_OUT_LOOKS``); a later ``--held-out`` run is reported as the look it is and does not change the
verdict written to ``reader.json``.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
from benchmarks.population.families import DEFAULT_LR, _n_classes
from benchmarks.population.holdout import HOLDOUT_DATA, HOLDOUT_MODELS
from benchmarks.population.trees import Boosted, fit_boosted
from benchmarks.quality import published
from benchmarks.quality.train import LATTICE, lattice_lr

from lrscope.analysis import reader as rd
from lrscope.result import RangeTestResult

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
READER_JSON = HERE.parents[1] / "src" / "lrscope" / "analysis" / "reader.json"
ALPHAS = (0.3, 3.0, 30.0, 300.0)
#: the second model class, compared with the ridge leave-one-family-out (development families only)
TREE_CONFIGS = ({"n_trees": 50, "depth": 2}, {"n_trees": 200, "depth": 2}, {"n_trees": 100, "depth": 3}, {"n_trees": 300, "depth": 3})
TARGETS = ("y_best", "y_band_centre")
#: every time the held-out families were read, in order. The first look decided the stop rule; a later
#: look (a larger population, a refitted model) is reported as what it is and cannot change the verdict.
HELD_OUT_LOOKS: tuple[dict[str, Any], ...] = (
    {"look": 1, "commit": "20aff73", "tasks_run": 220, "tasks": 211, "held_out_cells": 141, "reader_in_band": 72, "drop_in_band": 50,
     "reader_worst": 0.669, "drop_worst": 0.834, "passed": False},
)
#: the held-out evaluation is judged only with at least this many tasks and cells (else: too small)
MIN_HELD_TASKS, MIN_HELD_CELLS = 15, 45
RULES = ("reader", "lrscope drop", "lrscope one_cycle", "fastai valley (reimpl.)", "fastai steep (reimpl.)",
         "fastai slide (reimpl.)", "fastai minimum/10 (reimpl.)", "torch-lr-finder steepest (reimpl.)",
         "Lightning (reimpl., earlier 2.x rule)", "no finder (conventional LR)")


def _f(v: Any) -> float:
    return float(v)  # "inf" / "nan" strings included


def load() -> list[dict[str, Any]]:
    return [json.loads(p.read_text()) for p in sorted(RESULTS.glob("p*.json"))]


def judge(task: dict[str, Any], lr: float) -> tuple[float, bool]:
    """(regret, in band) of training at ``lr`` on the task, interpolated from its trained points."""
    spec = task["spec"]
    hib = spec["metric"] == "accuracy"
    tol = 0.01 if hib else 0.02
    pts = sorted((int(k), _f(v["metric"])) for k, v in task["grid"].items())
    best = _f(task["best_metric"])
    k = round(LATTICE * math.log10(lr))
    lower = [p for p in pts if p[0] <= k]
    upper = [p for p in pts if p[0] >= k]
    if not lower:
        m = upper[0][1]
    elif not upper:
        m = lower[-1][1]
    else:
        (k0, m0), (k1, m1) = lower[-1], upper[0]
        if k0 == k1:
            m = m0
        elif math.isfinite(m0) and math.isfinite(m1):
            m = m0 + (m1 - m0) * (k - k0) / (k1 - k0)
        else:
            m = m0 if k - k0 < k1 - k else m1 if k1 - k < k - k0 else (m0 if not math.isfinite(m0) else m1)
    if not math.isfinite(m) or (hib and m == 0.0):
        return math.inf, False
    r = max(0.0, (best - m) / abs(best) if hib else (m - best) / abs(best))
    return r, r <= tol


def informative(task: dict[str, Any]) -> bool:
    """Whether the task's best grid point beats a trivial predictor by a margin (declared after seeing
    3 development tasks, one of which, a 4-channel CNN with plain SGD for 200 steps, never left chance):
    accuracy >= 1.5 x chance (1 / classes); standardised regression loss <= 0.9; character-LM loss
    <= 0.9 x ln(vocabulary). Tasks that fail have no good LR to find and are left out of every table."""
    spec, best = task["spec"], _f(task["best_metric"])
    if not math.isfinite(best):
        return False
    if spec["data"] == "text":
        return best <= 0.9 * math.log(_n_classes(spec))
    if spec["metric"] == "loss":
        return best <= 0.9
    return best >= 1.5 / _n_classes(spec)


def cells(tasks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per (task, data order): features, target, every published rule's LR."""
    out = []
    for t in tasks:
        spec = t["spec"]
        settings = rd.settings_features(budget=spec["budget"], schedule=spec["schedule"], optimizer=spec["optimizer"],
                                        batch_size=spec["batch_size"])
        best_lr = lattice_lr(int(t["best_k"]))
        centre_lr = 10 ** ((min(t["band_ks"]) + max(t["band_ks"])) / 2 / LATTICE)
        for o, sw in enumerate(t["sweeps"]):
            res = RangeTestResult.from_dict({**sw, "steps": None, "val_losses": None, "metrics": {}})
            lrs, losses = res.lrs, res.losses
            base, feats = rd.curve_features(lrs, losses, sweep=res.sweep)
            raw = {"lrs": [float(v) for v in lrs], "losses": [float(v) for v in losses]}
            lrs_by: dict[str, float | None] = {
                "lrscope drop": base.lr,
                "lrscope one_cycle": res.suggest("one_cycle").lr,
                **published.fastai_all(raw),
                "torch-lr-finder steepest (reimpl.)": published.tlf_steepest_reimpl(raw),
                "Lightning (reimpl., earlier 2.x rule)": published.lightning_suggestion(raw)[0],
                "no finder (conventional LR)": DEFAULT_LR[spec["optimizer"]],
            }
            out.append({"task": spec["id"], "order": o, "data": spec["data"], "model": spec["model"],
                        "optimizer": spec["optimizer"], "schedule": spec["schedule"], "held_out": spec["held_out"],
                        "features": {**feats, **settings}, "found": base.found,
                        "y_best": math.log10(best_lr / base.lr) if base.lr else None,
                        "y_band_centre": math.log10(centre_lr / base.lr) if base.lr else None, "lrs": lrs_by,
                        "sweep_range": (float(lrs[0]), float(lrs[-1])), "t": t})
    return out


def names_of(rows: list[dict[str, Any]]) -> list[str]:
    keys: set[str] = set()
    for r in rows:
        keys |= set(r["features"])
    return sorted(keys)


def fit(rows: list[dict[str, Any]], alpha: float, names: list[str], target: str) -> dict[str, Any]:
    rows = [r for r in rows if r["found"]]
    X = np.array([[r["features"].get(n, 0.0) for n in names] for r in rows])
    y = np.array([r[target] for r in rows])
    mu, sd = X.mean(0), X.std(0)
    sd[sd < 1e-9] = 1.0
    Z = (X - mu) / sd
    b0 = float(y.mean())
    coef = np.linalg.solve(Z.T @ Z + alpha * np.eye(len(names)), Z.T @ (y - b0))
    return {"names": names, "mean": mu.tolist(), "scale": sd.tolist(), "coef": coef.tolist(), "intercept": b0}


def reader_lr(model: rd.Reader | Boosted, r: dict[str, Any]) -> float | None:
    if not r["found"]:
        return None
    lo, hi = r["sweep_range"]
    lr0 = r["lrs"]["lrscope drop"]
    return float(min(hi, max(lo, lr0 * 10 ** model.offset(r["features"]))))


def _model(d: dict[str, Any]) -> rd.Reader:
    return rd.Reader.from_dict({**d, "interval": (0.0, 0.0), "passed_stop_rule": False})


def fit_trees(rows: list[dict[str, Any]], names: list[str], target: str, **kw: Any) -> Boosted:
    rows = [r for r in rows if r["found"]]
    X = np.array([[r["features"].get(n, 0.0) for n in names] for r in rows])
    return fit_boosted(X, np.array([r[target] for r in rows]), names, **kw)


def lofo(rows: list[dict[str, Any]], alpha: float, target: str, only: str | None = None,
         trees: dict[str, Any] | None = None) -> tuple[dict[tuple[str, int], float | None], list[float]]:
    """Leave-one-family-out: each row predicted by a model fitted without its data set's tasks, and
    again without its model family's; a row takes the fold of whichever family is left out (both folds'
    predictions are scored: a row appears once per family it belongs to). The model is the ridge
    regression (penalty ``alpha``), or with ``trees`` (``fit_boosted``'s options) a boosted tree ensemble."""
    names = names_of(rows)
    if only == "intercept":  # an ablation: drop moved by one constant learned from the other families
        names = []
    elif only is not None:  # an ablation: the curve's features only, or the settings only
        names = [n for n in names if (n.startswith(("opt_", "sched_")) or n in ("log10_budget", "log2_batch")) == (only == "settings")]
    fams = sorted({("data", r["data"]) for r in rows} | {("model", r["model"]) for r in rows})
    pred: dict[tuple[str, int], float | None] = {}
    resid: list[float] = []
    for kind, f in fams:
        test = [r for r in rows if r[kind] == f]
        train = [r for r in rows if r["data"] != f and r["model"] != f]
        if not train or not any(r["found"] for r in train):
            continue
        m: Any = fit_trees(train, names, target, **trees) if trees is not None else _model(fit(train, alpha, names, target))
        for r in test:
            key = (r["task"], r["order"]) if kind == "data" else (r["task"] + "#m", r["order"])
            pred[key] = reader_lr(m, r)
            if r["found"]:
                resid.append(r[target] - m.offset(r["features"]))
    return pred, resid


def in_band(r: dict[str, Any], regret: float) -> bool:
    return regret <= (0.01 if r["t"]["spec"]["metric"] == "accuracy" else 0.02)


def table(rows: list[dict[str, Any]], reader_lrs: dict[tuple[str, int], float | None] | None, title: str, lofo_mode: bool = False) -> tuple[str, dict[str, Any]]:
    lines = [f"**{title}**", "", "| rule | cells | in band | median regret | 90th pct regret | worst regret |", "|---|---|---|---|---|---|"]
    stats: dict[str, Any] = {}
    for n in RULES:
        ins, regs = [], []
        for r in rows:
            keys = [(r["task"], r["order"])] + ([(r["task"] + "#m", r["order"])] if lofo_mode else [])
            if n == "reader":
                if reader_lrs is None:
                    continue
                lrs = [reader_lrs[k] for k in keys if k in reader_lrs]
            else:
                lrs = [r["lrs"][n]] * (sum(k in reader_lrs for k in keys) if (lofo_mode and reader_lrs) else 1)
            for lr in lrs:
                reg = judge(r["t"], lr if lr else DEFAULT_LR[r["optimizer"]])[0]
                regs.append(reg)
                ins.append(in_band(r, reg))
        if not regs:
            continue
        a = np.array(regs)
        fin = a[np.isfinite(a)]

        def q(p: float, a: np.ndarray = a) -> str:
            with np.errstate(invalid="ignore"):  # inf (diverged) among the regrets: the percentile may be inf or nan
                v = float(np.percentile(a, p))
            return f"{v:.3f}" if math.isfinite(v) else "diverged"

        worst = "diverged" if not np.all(np.isfinite(a)) else f"{fin.max():.3f}"
        lines.append(f"| {n} | {len(regs)} | {sum(ins)} ({100 * sum(ins) / len(regs):.0f} %) | {q(50)} | {q(90)} | {worst} |")
        stats[n] = {"n": len(regs), "in_band": sum(ins), "worst": float(a.max()), "regrets": regs}
    return "\n".join(lines), stats


def distribution(stats: dict[str, Any], title: str) -> str:
    """Share of cells per regret bracket, per rule (from ``table``'s stats)."""
    edges = (0.01, 0.02, 0.05, 0.2, 1.0)
    head = " | ".join(f"<= {e:g}" for e in edges)
    lines = [f"**{title}**", "", f"| rule | {head} | > 1 | diverged |", "|---|" + "---|" * (len(edges) + 2)]
    for n, st in stats.items():
        a = np.array(st["regrets"])
        cuts = [float(np.mean(a <= e)) for e in edges]
        over = float(np.mean(np.isfinite(a) & (a > 1.0)))
        lines.append(f"| {n} | " + " | ".join(f"{100 * c:.0f} %" for c in cuts) + f" | {100 * over:.0f} % | {100 * float(np.mean(~np.isfinite(a))):.0f} % |")
    return "\n".join(lines)


def _baseline_regret(t: dict[str, Any], name: str) -> float:
    hib = t["spec"]["metric"] == "accuracy"
    return _regret(hib, _f(t["best_metric"]), _f(t["baselines"][name]["metric"]))


def _drop_regret(t: dict[str, Any], rows: list[dict[str, Any]]) -> float:
    regs = [judge(t, r["lrs"]["lrscope drop"] or DEFAULT_LR[r["optimizer"]])[0] for r in rows if r["task"] == t["spec"]["id"]]
    return float(np.median(regs)) if regs else math.inf


def _budget_bin(b: int) -> str:
    return "budget < 300" if b < 300 else "budget 300-999" if b < 1000 else "budget >= 1000"


def baselines_by_setting(tasks: list[dict[str, Any]], rows: list[dict[str, Any]], title: str) -> str:
    """Where the task's own optimizer at drop's LR wins or loses against Prodigy and Schedule-Free: by
    the task's optimizer, model and budget; with what the sweep cost (its steps as a share of the budget)."""
    lines = [f"**{title}**", "", "| tasks with | tasks | own at drop vs Prodigy: better / worse / tie | "
             "own at drop vs Schedule-Free: better / worse / tie | sweep steps / budget (median) |", "|---|---|---|---|---|"]
    groups: dict[str, list[dict[str, Any]]] = {}
    for t in tasks:
        sp = t["spec"]
        for g in (f"optimizer={sp['optimizer']}", f"model={sp['model']}", _budget_bin(int(sp["budget"]))):
            groups.setdefault(g, []).append(t)
    bins = ("budget < 300", "budget 300-999", "budget >= 1000")
    for g in sorted(groups, key=lambda k: (2, str(bins.index(k))) if k in bins else (("optimizer", "model").index(k.split("=")[0]), k)):
        ts = groups[g]
        cols = []
        for name in ("prodigy", "schedulefree"):
            w = [0, 0, 0]
            for t in ts:
                tol = 0.01 if t["spec"]["metric"] == "accuracy" else 0.02
                d, b = _drop_regret(t, rows), _baseline_regret(t, name)
                w[0 if d + tol / 2 < b else 1 if b + tol / 2 < d else 2] += 1
            cols.append(" / ".join(map(str, w)))
        cost = np.median([np.mean([len(sw["lrs"]) for sw in t["sweeps"]]) / t["spec"]["budget"] for t in ts])
        lines.append(f"| {g} | {len(ts)} | {cols[0]} | {cols[1]} | {100 * cost:.0f} % |")
    return "\n".join(lines)


def baselines_table(tasks: list[dict[str, Any]], title: str, rows: list[dict[str, Any]]) -> str:
    """Prodigy and Schedule-Free per task (mean of the grid's seeds), and how often the task's own
    optimizer at ``drop``'s LR (its median regret over the data orders) does better or worse."""
    drop_reg: dict[str, float] = {}
    for t in tasks:
        regs = [judge(t, r["lrs"]["lrscope drop"] or DEFAULT_LR[r["optimizer"]])[0] for r in rows if r["task"] == t["spec"]["id"]]
        drop_reg[t["spec"]["id"]] = float(np.median(regs)) if regs else math.inf
    lines = [f"**{title}**", "", "| optimizer on package defaults, no sweep | tasks | in band | median regret | worst regret "
             "| own optimizer at drop's LR better / worse / tie |", "|---|---|---|---|---|---|"]
    for name, label in (("prodigy", "Prodigy (prodigyopt 1.1.2, lr=1)"), ("schedulefree", "Schedule-Free AdamW (lr=0.0025, 5 % warm-up)")):
        regs, ins, wins = [], [], [0, 0, 0]
        for t in tasks:
            hib = t["spec"]["metric"] == "accuracy"
            best, m = _f(t["best_metric"]), _f(t["baselines"][name]["metric"])
            reg = math.inf if not math.isfinite(m) else max(0.0, (best - m) / abs(best) if hib else (m - best) / abs(best))
            regs.append(reg)
            ins.append(reg <= (0.01 if hib else 0.02))
            d = drop_reg[t["spec"]["id"]]
            tol = 0.01 if hib else 0.02
            wins[0 if d + tol / 2 < reg else 1 if reg + tol / 2 < d else 2] += 1
        if regs:
            a = np.array(regs)
            lines.append(f"| {label} | {len(regs)} | {sum(ins)} ({100 * sum(ins) / len(regs):.0f} %) | "
                         f"{np.median(a):.3f} | {'diverged' if not np.all(np.isfinite(a)) else f'{a.max():.3f}'} | "
                         f"{wins[0]} / {wins[1]} / {wins[2]} |")
    return "\n".join(lines)


def breakdown(rows: list[dict[str, Any]], reader_lrs: dict[tuple[str, int], float | None], title: str,
              rules: tuple[str, ...] = ("reader", "lrscope drop", "fastai minimum/10 (reimpl.)", "fastai valley (reimpl.)")) -> str:
    """In-band share per optimizer, schedule and model family, for a few rules (leave-one-family-out
    for the reader: each cell scored once per family it belongs to, as in the main table)."""
    lines = [f"**{title}**", "", "| tasks with | cells | " + " | ".join(rules) + " |", "|---|---|" + "---|" * len(rules)]
    for key in ("optimizer", "schedule", "model"):
        for v in sorted({r[key] for r in rows}):
            sub = [r for r in rows if r[key] == v]
            _, st = table(sub, reader_lrs, "", lofo_mode=True)
            n = st["lrscope drop"]["n"]
            lines.append(f"| {key}={v} | {n} | " + " | ".join(f"{100 * st[k]['in_band'] / st[k]['n']:.0f} %" for k in rules) + " |")
    return "\n".join(lines)


def where_drop_sits(rows: list[dict[str, Any]], title: str) -> str:
    """Per model family and optimizer: how far the band's centre sits above ``drop``'s LR, how often
    ``drop`` was raised to a decade below the bottom (floored) or capped, and where the band's centre
    sits relative to the curve's lowest smoothed loss (decades)."""
    lines = [f"**{title}**", "", "| tasks with | cells | band centre - drop: median (25th-75th pct) | drop floored | drop capped "
             "| band centre - lowest loss: median |", "|---|---|---|---|---|---|"]
    found = [r for r in rows if r["found"]]
    for key in ("model", "optimizer"):
        for v in sorted({r[key] for r in found}):
            sub = [r for r in found if r[key] == v]
            y = np.array([r["y_band_centre"] for r in sub])
            to_min = np.array([r["y_band_centre"] - r["features"]["to_min"] for r in sub])
            lines.append(f"| {key}={v} | {len(sub)} | {np.median(y):+.2f} ({np.percentile(y, 25):+.2f} .. {np.percentile(y, 75):+.2f}) | "
                         f"{100 * np.mean([r['features']['floored'] for r in sub]):.0f} % | "
                         f"{100 * np.mean([r['features']['capped'] for r in sub]):.0f} % | {np.median(to_min):+.2f} |")
    return "\n".join(lines)


def _regret(hib: bool, best: float, m: float) -> float:
    if not math.isfinite(m) or (hib and m == 0.0):
        return math.inf
    return max(0.0, (best - m) / abs(best) if hib else (m - best) / abs(best))


def one_seed_grid_search(tasks: list[dict[str, Any]]) -> float:
    """Share of (task, seed) pairs where the best grid point of one seed's training is in the good band
    of the other two seeds' mean: a full grid search run once, judged on fresh seeds. No reader of
    one range test is expected to beat it; it measures how stable the band itself is."""
    hits = []
    for t in tasks:
        hib = t["spec"]["metric"] == "accuracy"
        tol = 0.01 if hib else 0.02
        g = {int(k): [_f(m) for m in v["metrics"]] for k, v in t["grid"].items()}
        ks = [int(k) for k in t["grid_ks"]]
        worst = -math.inf if hib else math.inf
        for s in _seeds(t):
            own = {k: (g[k][s] if math.isfinite(g[k][s]) else worst) for k in ks}
            pick = (max if hib else min)(own, key=lambda k: own[k])
            others = {k: float(np.mean([g[k][o] for o in range(len(g[k])) if o != s])) for k in ks}
            others = {k: (v if math.isfinite(v) else worst) for k, v in others.items()}
            best = (max if hib else min)(others.values())
            hits.append(_regret(hib, best, others[pick]) <= tol)
    return float(np.mean(hits)) if hits else math.nan


def _seeds(t: dict[str, Any]) -> range:
    return range(min(len(v["metrics"]) for v in t["grid"].values()))


def error_ceiling(tasks: list[dict[str, Any]], sigmas: tuple[float, ...] = (0.1, 0.2, 0.3, 0.5, 0.75, 1.0),
                  draws: int = 40) -> dict[float, float]:
    """In-band share of a suggestion at the band's centre moved by a normal error of ``sigma``
    decades (judged as every rule is): how small a reader's error must be for a given in-band rate."""
    rng = np.random.default_rng(0)
    out = {}
    for sig in sigmas:
        hits = []
        for t in tasks:
            c = (min(t["band_ks"]) + max(t["band_ks"])) / 2 / LATTICE
            hits += [judge(t, 10 ** (c + e))[1] for e in rng.normal(0.0, sig, draws)]
        out[sig] = float(np.mean(hits))
    return out


def what_the_errors_say(tasks: list[dict[str, Any]], rows: list[dict[str, Any]], resid: list[float] | None, title: str) -> str:
    """How wide the good band is, how stable it is across seeds, how noisy one range test is across
    data orders, and how small a reader's error would have to be for the stop rule's 70 %."""
    widths = np.array([(max(t["band_ks"]) - min(t["band_ks"])) / LATTICE for t in tasks])
    found = [r for r in rows if r["found"]]
    y = np.array([r["y_band_centre"] for r in found])
    by: dict[str, list[float]] = {}
    for r in found:
        by.setdefault(r["task"], []).append(math.log10(r["lrs"]["lrscope drop"]))
    within = [float(np.var(v, ddof=1)) for v in by.values() if len(v) >= 2]
    med3 = []
    for tid, v in by.items():
        t = next(r["t"] for r in found if r["task"] == tid)
        med3.append(judge(t, 10 ** float(np.median(v)))[1])
    ceil = error_ceiling(tasks)
    lines = [f"**{title}**", "",
             f"- good band width (decades between its lowest and highest grid point): median {np.median(widths):.2f}, "
             f"25th-75th pct {np.percentile(widths, 25):.2f}-{np.percentile(widths, 75):.2f}; a single grid point on "
             f"{100 * np.mean(widths == 0):.0f} % of tasks",
             f"- a grid search on one seed, judged on the other two seeds' band: in band {100 * one_seed_grid_search(tasks):.0f} %",
             f"- drop's LR minus the band centre: mean {-y.mean():+.2f}, sd {y.std():.2f} decades; across the 3 data orders "
             f"of one task drop's LR moves by {math.sqrt(np.mean(within)):.2f} decades (root mean within-task sd; median sd "
             f"{np.median(np.sqrt(within)):.2f})",
             f"- drop read on each task's 3 range tests and the median LR taken: in band {100 * np.mean(med3):.0f} % of tasks",
             ]
    if resid:
        lines.append(f"- the reader's leave-one-family-out error: sd {np.std(resid):.2f} decades")
    lines.append("- a suggestion at the band centre moved by a normal error of sd s decades is in band: "
                 + ", ".join(f"s={s:g}: {100 * v:.0f} %" for s, v in ceil.items()))
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--write", action="store_true", help="write src/lrscope/analysis/reader.json")
    ap.add_argument("--held-out", action="store_true", help="read the held-out families (once, at the end: the stop rule)")
    a = ap.parse_args()
    everything = load()
    tasks = [t for t in everything if informative(t)]
    print(f"left out as uninformative (best no better than a trivial predictor): "
          f"{', '.join(t['spec']['id'] for t in everything if not informative(t)) or 'none'}")
    rows = cells(tasks)
    dev = [r for r in rows if not r["held_out"]]
    held = [r for r in rows if r["held_out"]]
    n_dev_tasks, n_held_tasks = len({r["task"] for r in dev}), len({r["task"] for r in held})
    print(f"population: {len(tasks)} tasks, {len(rows)} cells; development {n_dev_tasks} tasks / {len(dev)} cells; "
          f"held out ({', '.join(HOLDOUT_DATA + HOLDOUT_MODELS)}) {n_held_tasks} tasks / {len(held)} cells\n")
    for key in ("data", "model", "optimizer", "schedule"):
        counts: dict[str, int] = {}
        for t in tasks:
            counts[t["spec"][key]] = counts.get(t["spec"][key], 0) + 1
        print(f"- {key}: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    print()
    # descriptive: where the best LR sat relative to drop, by setting (development families)
    print("| setting | cells | median log10(best LR / drop) | 25th-75th pct | drop in band |")
    print("|---|---|---|---|---|")
    for key in ("optimizer", "schedule"):
        for v in sorted({r[key] for r in dev}):
            sub = [r for r in dev if r[key] == v and r["found"]]
            if not sub:
                continue
            ys = np.array([r["y_best"] for r in sub])
            inb = sum(in_band(r, judge(r["t"], r["lrs"]["lrscope drop"])[0]) for r in sub)
            print(f"| {key}={v} | {len(sub)} | {np.median(ys):+.2f} | {np.percentile(ys, 25):+.2f} .. {np.percentile(ys, 75):+.2f} | {inb} |")
    print()
    # the choices: the ridge penalty and the target (the grid's best LR, or the centre of its good
    # band), by leave-one-family-out in-band count (ties: the first in this order)
    best_choice, best_in, best_pred, best_resid = (ALPHAS[0], TARGETS[0]), -1, {}, []
    for target in TARGETS:
        for alpha in ALPHAS:
            pred, resid = lofo(dev, alpha, target)
            _, st = table(dev, pred, "", lofo_mode=True)
            n_in = st.get("reader", {}).get("in_band", 0)
            print(f"target={target} alpha={alpha:g}: leave-one-family-out reader in band {n_in}/{st.get('reader', {}).get('n', 0)}")
            if n_in > best_in:
                best_choice, best_in, best_pred, best_resid = (alpha, target), n_in, pred, resid
    best_alpha, best_target = best_choice
    print()
    text, dev_stats = table(dev, best_pred, f"Leave-one-family-out, development families (target={best_target}, alpha={best_alpha:g}; "
                    "each cell scored once per family it belongs to)", lofo_mode=True)
    print(text + "\n")
    for only in ("curve", "settings", "intercept"):
        pred, _ = lofo(dev, best_alpha, best_target, only)
        _, st_ab = table(dev, pred, "", lofo_mode=True)
        label = "no features (drop moved by one constant)" if only == "intercept" else f"{only} features only"
        print(f"ablation, {label} (same target and penalty): leave-one-family-out reader in band "
              f"{st_ab.get('reader', {}).get('in_band', 0)}/{st_ab.get('reader', {}).get('n', 0)}")
    print()
    for cfg in TREE_CONFIGS:  # the second model class, same target, shrink 0.05, leaves of >= 20 cells
        pred, resid_t = lofo(dev, best_alpha, best_target, trees=cfg)
        _, st_t = table(dev, pred, "", lofo_mode=True)
        print(f"boosted trees {cfg} (target={best_target}): leave-one-family-out in band "
              f"{st_t.get('reader', {}).get('in_band', 0)}/{st_t.get('reader', {}).get('n', 0)}, error sd {np.std(resid_t):.2f} decades")
    print()
    print(distribution(dev_stats, "Regret distribution, development families (leave-one-family-out; share of cells with regret at most ...)") + "\n")
    print(breakdown(dev, best_pred, "In band by setting, development families (leave-one-family-out)") + "\n")
    print(where_drop_sits(dev, "Where drop sits, development families") + "\n")
    print(what_the_errors_say([t for t in tasks if not t["spec"]["held_out"]], dev, best_resid,
                              "What the errors say, development families") + "\n")
    q_lo, q_hi = (np.percentile(best_resid, [10, 90]).tolist() if best_resid else [0.0, 0.0])
    final = fit(dev, best_alpha, names_of(dev), best_target)
    model = _model(final)
    if not a.held_out:
        held = []
        print("held-out families not read (pass --held-out, once, at the end)\n")
    held_pred = {(r["task"], r["order"]): reader_lr(model, r) for r in held}
    look = len(HELD_OUT_LOOKS) + 1
    first = HELD_OUT_LOOKS[0]
    text, st = table(held, held_pred, f"Held-out families, look {look}: the stop rule was decided by look 1 (commit {first['commit']}, "
                     f"{first['tasks_run']} tasks run: {'PASSED' if first['passed'] else 'NOT PASSED'}); this look cannot change it")
    print(text + "\n")
    if held:
        print(distribution(st, "Regret distribution, held-out families") + "\n")
        print(what_the_errors_say([t for t in tasks if t["spec"]["held_out"]], held, None, "What the errors say, held-out families") + "\n")
    judged = n_held_tasks >= MIN_HELD_TASKS and len(held) >= MIN_HELD_CELLS
    passed = False
    if "reader" in st and "lrscope drop" in st:
        rr, dd = st["reader"], st["lrscope drop"]
        c1 = rr["in_band"] >= 0.7 * rr["n"]
        c2 = rr["in_band"] - dd["in_band"] >= 0.10 * rr["n"]
        c3 = rr["worst"] <= dd["worst"]
        passed = judged and c1 and c2 and c3
        print(f"stop rule on the held-out families: in band >= 70 %: {c1}; >= 10 points above drop: {c2}; "
              f"worst regret no worse than drop's: {c3}; enough to judge ({n_held_tasks} >= {MIN_HELD_TASKS} tasks, "
              f"{len(held)} >= {MIN_HELD_CELLS} cells): {judged} -> {'passed' if passed else 'not passed'} on this look; "
              f"the verdict stays look 1's: {'PASSED' if first['passed'] else 'NOT PASSED'}\n")
    print(baselines_table([t for t in tasks if not t["spec"]["held_out"]], "Development tasks: optimizers without a finder", dev) + "\n")
    print(baselines_by_setting([t for t in tasks if not t["spec"]["held_out"]], dev,
                               "Development tasks: where the task's own optimizer at drop's LR wins or loses") + "\n")
    if a.held_out:
        print(baselines_table([t for t in tasks if t["spec"]["held_out"]], "Held-out tasks: optimizers without a finder", held) + "\n")
    print("coefficients (decades per standard deviation of the feature):")
    for n, c in sorted(zip(final["names"], final["coef"]), key=lambda p: -abs(p[1])):
        print(f"  {n:22s} {c:+.3f}")
    print(f"  intercept {final['intercept']:+.3f}; interval (10th, 90th pct of LOFO errors): {q_lo:+.2f}, {q_hi:+.2f} decades")
    if a.write and not a.held_out:
        print("not writing reader.json: its stop-rule verdict needs --held-out")
    elif a.write:
        this_look = {"look": look, "tasks_run": len(everything), "tasks": len(tasks), "held_out_cells": len(held), "passed": bool(passed),
                     **({"reader_in_band": st["reader"]["in_band"], "drop_in_band": st["lrscope drop"]["in_band"],
                         "reader_worst": st["reader"]["worst"], "drop_worst": st["lrscope drop"]["worst"]} if "reader" in st else {})}
        out = {**final, "interval": [q_lo, q_hi], "passed_stop_rule": bool(first["passed"]),
               "meta": {"alpha": best_alpha, "tasks_run": len(everything), "tasks": len(tasks), "development_tasks": n_dev_tasks, "held_out_tasks": n_held_tasks,
                        "held_out_cells": len(held), "judged": judged,
                        "target": f"log10({best_target} LR / drop's LR)", "source": "benchmarks/population (issue 14)",
                        "held_out_looks": [*HELD_OUT_LOOKS, this_look]}}
        READER_JSON.write_text(json.dumps(out, indent=1) + "\n")
        print(f"wrote {READER_JSON}")


if __name__ == "__main__":
    main()
