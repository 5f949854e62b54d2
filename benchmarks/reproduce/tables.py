"""Print the Markdown tables of docs/experiments.md from the committed JSONs in out/ (no training).

    python benchmarks/reproduce/tables.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parent / "out"


def _load(name: str) -> dict[str, Any] | None:
    p = OUT / f"{name}.json"
    return json.loads(p.read_text()) if p.is_file() else None


def exp1(name: str) -> None:
    d = _load(name)
    if d is None:
        print(f"({name}: not run)\n")
        return
    s = d["summary"]
    a = d["args"]
    print(f"{d['front_end']}; {d['data']}, {d['n_train']} train / {d['n_val']} val / {d['n_test']} test, "
          f"{a['epochs']} epochs, {a['seeds']} seeds, batch {a['batch_size']}; compute {d.get('compute_seconds_total', d['wall_seconds_this_run']):.0f} s (sum over arms, each timed when it ran)\n")
    print("| arm | LR (per seed) | final test acc. (mean ± sd) | best epoch acc. | epochs to reach fixed's final (mean curve) | per seed | reported |")
    print("|---|---|---|---|---|---|---|")
    rep = {"fixed": "86.7 %, ~60 epochs", "finder": "86.4 %, ~40 epochs", "finder_decay": "88.4 %"}
    for arm in ("fixed", "finder", "finder_decay"):
        r = s[arm]
        lrs = ", ".join(f"{x:.3g}" for x in r["lr_per_seed"])
        print(f"| {arm} | {lrs} | {100*r['final_acc_mean']:.2f} ± {100*r['final_acc_sd']:.2f} % | {100*r['best_acc_mean']:.2f} % | "
              f"{r['epochs_to_fixed_final_mean_curve']} | {r['epochs_to_fixed_final_per_seed']} | {rep[arm]} |")
    print()
    for f in d["finders"]:
        print(f"- finder seed: lr {f['lr']:.4g} read from `{f['source']}` ({f['points']} points, stop: {f['stop']}); {f['reason']}")
    print()


def exp2() -> None:
    d = _load("exp2")
    if d is None:
        print("(exp2: not run)\n")
        return
    a = d["args"]
    print(f"{d['data']}, {d['n_train']} train / {d['n_test']} test, {a['epochs']} epochs per stage, {a['seeds']} seeds; "
          f"compute {d.get('compute_seconds_total', d['wall_seconds_this_run']):.0f} s (sum over arms, each timed when it ran)\n")
    print("| protocol / arm | test error (mean ± sd) | training seconds (mean) | CLR bounds per seed | range test s |")
    print("|---|---|---|---|---|")
    for k, v in d["summary"].items():
        b = "; ".join(f"{lo:.3g}-{hi:.3g}" for lo, hi in v.get("bounds_per_seed", [])) or ""
        rt = f"{v['range_test_seconds_mean']:.1f}" if "range_test_seconds_mean" in v else ""
        print(f"| {k} | {100*v['error_mean']:.2f} ± {100*v['error_sd']:.2f} % | {v['seconds_mean']:.1f} | {b} | {rt} |")
    print()
    for b in d["published_bounds"]:
        print(f"- published-protocol bounds (range test on the Adam-trained model): {b['base_lr']:.3g}-{b['max_lr']:.3g} from {b['bounds_from']}")
    print()


def exp3(name: str = "exp3") -> None:
    d = _load(name)
    if d is None:
        print(f"({name}: not run)\n")
        return
    a = d["args"]
    print(f"{d['data']}; pretrained on classes 0-4 ({d['pretrain']['n']} examples, {d['pretrain']['epochs']} epochs, "
          f"test acc. {d['pretrain']['test_acc']}); fine-tuned on classes 5-9, {d['finetune']['n_train']} examples, "
          f"{a['freeze_epochs']} head-only + {a['epochs']} unfrozen epochs, {a['seeds']} seeds; compute {d.get('compute_seconds_total', d['wall_seconds_this_run']):.0f} s (sum over arms, each timed when it ran)\n")
    print("| arm | stage-1 LR (head only) | stage-2 LRs, first group → head (seed 0) | after head-only epoch | final test acc. (mean ± sd) | per seed |")
    print("|---|---|---|---|---|---|")
    for arm, v in d["summary"].items():
        s1 = ", ".join("0.1" if x is None and arm.startswith("lr_0.1") else ("2e-3" if x is None else f"{x:.3g}") for x in v["stage1_lr"])
        s2 = " → ".join(f"{x:.3g}" for x in v["stage2_lrs"][0])
        per = ", ".join(f"{100*x:.1f}" for x in v["acc_per_seed"])
        print(f"| {arm} | {s1} | {s2} | {100*v['acc_after_head_mean']:.1f} ± {100*v['acc_after_head_sd']:.1f} % | "
              f"{100*v['acc_mean']:.2f} ± {100*v['acc_sd']:.2f} % | {per} |")
    print()


def exp4(name: str = "exp4") -> None:
    d = _load(name)
    if d is None:
        print(f"({name}: not run)\n")
        return
    c, w = d["cost"], d["suggestions"]
    import statistics as st

    print(f"{c['params']} parameters, {c['points']} points, stop: {c['stop_reason']}; {d['args']['repeats']} repeats, "
          f"each in a fresh process, alternating\n")
    print("| | CPU seconds (each repeat) | median | wall seconds (each) | peak RSS MB (each) | RSS growth during the run, MB |")
    print("|---|---|---|---|---|---|")
    for k, lab in (("range_test", "range test (100 steps, snapshot + restore)"), ("plain", "100 plain SGD steps")):
        ts = c[f"{k}_seconds"]
        cs = c.get(f"{k}_cpu_seconds", [float("nan")] * len(ts))
        print(f"| {lab} | {', '.join(f'{t:.1f}' for t in cs)} | {st.median(cs):.1f} | {', '.join(f'{t:.1f}' for t in ts)} | "
              f"{', '.join(f'{m:.0f}' for m in c[f'{k}_peak_rss_mb'])} | {', '.join(f'{m:.0f}' for m in c[f'{k}_rss_growth_mb'])} |")
    pairs = ", ".join(f"{r / q:.2f}" for r, q in zip(c["range_test_seconds"], c["plain_seconds"]))
    print(f"\nwall-time ratio per repeat (range test / plain, same repeat): {pairs}")
    if "cpu_ratio_median" in c:
        print(f"\nCPU-time ratio (medians): {c['cpu_ratio_median']:.2f}")
    print(f"\nwall-time ratio (medians): {c['time_ratio_median']:.2f}; snapshot size: "
          f"{c['snapshot_mb']:.2f} MB\n" if c.get("snapshot_mb") else f"\nwall-time ratio (medians): {c['time_ratio_median']:.2f}\n")
    print(f"lowest smoothed loss {w['min_smoothed_loss']:.3f} at lr {w['lr_at_min_smoothed_loss']:.3g} (start {w['start_loss']:.3f})\n")
    print("| rule | suggestion | decades below the minimum | smoothed loss there | share of the fall done |")
    print("|---|---|---|---|---|")
    for k, v in w["rules"].items():
        if v["lr"] is None:
            print(f"| {k} | abstains: {v['reason']} | | | |")
        else:
            fr = "" if v["fraction_of_fall_done"] is None else f"{100*v['fraction_of_fall_done']:.0f} %"
            print(f"| {k} | {v['lr']:.3g} | {v['decades_below_min']:.2f} | {v['smoothed_loss_there']:.3f} | {fr} |")
    print()


if __name__ == "__main__":
    which = sys.argv[1:] or ["exp1", "exp1_keras", "exp2", "exp3", "exp3_n3000", "exp4", "exp4_bn"]
    for name in which:
        print(f"### {name}\n")
        if name.startswith("exp1"):
            exp1(name)
        elif name.startswith("exp3"):
            exp3(name)
        elif name.startswith("exp4"):
            exp4(name)
        else:
            globals()[name]()
