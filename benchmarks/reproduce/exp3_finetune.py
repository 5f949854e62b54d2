"""Experiment 3 (issue 13): fine-tuning at a too-high LR vs lrscope's suggestion vs discriminative LRs.

Reported (fastai, Oxford Pets, a pretrained ResNet): ``learn.fine_tune(base_lr=0.1)`` hurt; the
``lr_find`` suggestion helped; discriminative LRs (``slice(lo, hi)``) are the next step. Pretrained
ImageNet weights cannot be downloaded here, so: pretrain a small CNN (conv-conv-fc-head, 106k
parameters) on Fashion-MNIST classes 0-4, then fine-tune a new 5-way head on classes 5-9 with
fastai's ``fine_tune`` protocol (Adam, betas (0.9, 0.99); 1 epoch head-only with the body frozen,
one-cycle pct_start 0.99; then unfreeze and ``epochs`` of one-cycle at base_lr / 2; torch's
OneCycleLR, div_factor 25). Arms:

* ``lr_0.1``: base_lr = 0.1, the same LR for every layer (the reported bad choice);
* ``lr_0.1_discr``: exactly fastai's ``fine_tune(base_lr=0.1)``: stage 2 at ``slice(0.05 / 100, 0.05)``;
* ``fastai_default``: fastai's default base_lr = 2e-3 with its lr_mult = 100 slice (a reference);
* ``suggest``: lrscope's default suggestion, one range test with the body frozen (stage 1) and one
  after unfreezing (stage 2), the same LR for every layer;
* ``suggest_discr``: stage 2 at ``discriminative_groups(model, lr_max=suggestion, lr_min=suggestion/100)``;
* ``suggest_discr_sweep``: the range test itself run over those discriminative groups (ratios kept;
  the sweep records group 0's LR), its suggestion x 100 as the head's LR.

One CPU thread. ``--quick`` is a < 1 minute smoke run. Writes out/exp3.json and docs/img/exp3_*.png.
"""

from __future__ import annotations

import argparse
import copy
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402

DOCS_IMG = C.HERE.parents[1] / "docs" / "img"
LR_MULT = 100


def make_cnn(n_out: int, seed: int) -> Any:
    import torch
    from torch import nn

    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)),
        nn.Sequential(nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)),
        nn.Sequential(nn.Flatten(), nn.Linear(32 * 7 * 7, 64), nn.ReLU()),
        nn.Linear(64, n_out),
    )


def adam(params: Any, lr: float = 1e-3) -> Any:
    import torch

    return torch.optim.Adam(params, lr=lr, betas=(0.9, 0.99))


def pretrain(a: argparse.Namespace, tag: str) -> Any:
    import torch

    path = C.CACHE / tag / f"pretrained_n{a.n_pretrain}_e{a.pretrain_epochs}.pt"
    model = make_cnn(5, 0)
    if path.is_file():
        model.load_state_dict(torch.load(path))
        return model
    d = C.load_data(a.n_pretrain, 500, 2000, classes=(0, 1, 2, 3, 4))
    opt = adam(model.parameters())
    for e in range(a.pretrain_epochs):
        C.train_epoch(model, opt, d["x_train"], d["y_train"], 64, e)
    acc, _ = C.evaluate(model, d["x_test"], d["y_test"])
    print(f"pretrained on classes 0-4: test accuracy {acc:.4f}", file=sys.stderr)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), path)
    (path.with_suffix(".acc")).write_text(f"{acc}\n")
    return model


def new_head_model(pre: Any, seed: int) -> Any:
    import torch
    from torch import nn

    m = copy.deepcopy(pre)
    torch.manual_seed(seed)
    m[3] = nn.Linear(64, 5)
    return m


def set_body_trainable(m: Any, on: bool) -> None:
    for g in list(m)[:3]:
        for p in g.parameters():
            p.requires_grad_(on)


def find_lr(m: Any, opt: Any, d: dict[str, Any], seed: int, a: argparse.Namespace) -> dict[str, Any]:
    import torch.nn.functional as F

    import lrscope.torch

    train = C.batches(d["x_train"], d["y_train"], a.batch_size, 50_000 + seed)
    res = lrscope.torch.range_test(m, opt, train, F.cross_entropy, start_lr=1e-7, end_lr=10.0, num_steps=a.sweep_steps, progress=False)
    s = res.suggest()
    return {"lr": float(s.lr) if s.found else 1e-3, "found": bool(s.found), "reason": s.reason, "result": res.to_dict()}


def fit_one_cycle(m: Any, opt: Any, max_lrs: list[float], epochs: int, pct: float, d: dict[str, Any], seed: int, a: argparse.Namespace) -> None:
    import torch

    steps = epochs * int(np.ceil(len(d["x_train"]) / a.batch_size))
    pct = min(max(pct, 2.0 / steps), 1.0 - 1.0 / steps)  # torch needs >= 2 warm-up steps and >= 1 after (tiny --quick runs)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=max_lrs, total_steps=steps, pct_start=pct,
                                                cycle_momentum=False, div_factor=25.0)
    for e in range(epochs):
        C.train_epoch(m, opt, d["x_train"], d["y_train"], a.batch_size, 100 * seed + e, scheduler=sched)


def run_arm(arm: str, pre: Any, d: dict[str, Any], seed: int, a: argparse.Namespace) -> dict[str, Any]:
    import lrscope.torch

    m = new_head_model(pre, seed)
    info: dict[str, Any] = {"arm": arm}
    # stage 1: body frozen, head only, one epoch, one-cycle pct_start 0.99 (fastai's fine_tune)
    set_body_trainable(m, False)
    opt = adam(m[3].parameters())
    if arm in ("lr_0.1", "lr_0.1_discr"):
        lr1 = 0.1
    elif arm == "fastai_default":
        lr1 = 2e-3
    else:
        f = find_lr(m, opt, d, seed, a)
        lr1 = f["lr"]
        info["stage1_find"] = {k: v for k, v in f.items() if k != "result"}
        info["stage1_curve"] = f["result"]
    fit_one_cycle(m, opt, [lr1], a.freeze_epochs, 0.99, d, seed, a)
    info["acc_after_head"] = C.evaluate(m, d["x_test"], d["y_test"])[0]
    # stage 2: everything, `epochs` of one-cycle at base_lr / 2
    set_body_trainable(m, True)
    if arm == "lr_0.1":
        groups = [{"params": list(m.parameters()), "lr": 0.05}]
    elif arm == "lr_0.1_discr":  # exactly fastai's fine_tune(base_lr=0.1): slice(0.05 / 100, 0.05)
        groups = lrscope.torch.discriminative_groups(m, lr_max=0.05, lr_min=0.05 / LR_MULT)
    elif arm == "fastai_default":
        groups = lrscope.torch.discriminative_groups(m, lr_max=1e-3, lr_min=1e-3 / LR_MULT)
    elif arm == "suggest":
        opt = adam(m.parameters())
        f = find_lr(m, opt, d, seed, a)
        info["stage2_find"] = {k: v for k, v in f.items() if k != "result"}
        groups = [{"params": list(m.parameters()), "lr": f["lr"] / 2}]
    elif arm == "suggest_discr":
        opt = adam(m.parameters())
        f = find_lr(m, opt, d, seed, a)
        info["stage2_find"] = {k: v for k, v in f.items() if k != "result"}
        groups = lrscope.torch.discriminative_groups(m, lr_max=f["lr"] / 2, lr_min=f["lr"] / 2 / LR_MULT)
    elif arm == "suggest_discr_sweep":
        sweep_groups = lrscope.torch.discriminative_groups(m, lr_max=1e-3, lr_min=1e-3 / LR_MULT)
        opt = adam(sweep_groups)
        f = find_lr(m, opt, d, seed, a)  # records group 0's (the first conv block's) LR
        info["stage2_find"] = {k: v for k, v in f.items() if k != "result"}
        head = f["lr"] * LR_MULT / 2
        groups = lrscope.torch.discriminative_groups(m, lr_max=head, lr_min=head / LR_MULT)
    else:
        raise ValueError(arm)
    info["stage2_lrs"] = [g["lr"] for g in groups]
    opt = adam(groups)
    fit_one_cycle(m, opt, [g["lr"] for g in groups], a.epochs, 0.25, d, seed, a)
    info["test_acc"] = C.evaluate(m, d["x_test"], d["y_test"])[0]
    return info


ARMS = ["lr_0.1", "lr_0.1_discr", "fastai_default", "suggest", "suggest_discr", "suggest_discr_sweep"]


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--epochs", type=int, default=3, help="unfrozen epochs (fastai fine_tune's `epochs`)")
    p.add_argument("--freeze-epochs", type=int, default=1)
    p.add_argument("--n-pretrain", type=int, default=6000)
    p.add_argument("--pretrain-epochs", type=int, default=3)
    p.add_argument("--n-train", type=int, default=1000, help="fine-tuning examples (classes 5-9)")
    p.add_argument("--n-test", type=int, default=3000)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--sweep-steps", type=int, default=100)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--fresh", action="store_true")
    p.add_argument("--name", default="exp3", help="output name: out/<name>.json, docs/img/<name>_finetune.png")
    a = p.parse_args(argv)
    if a.quick:
        a.seeds, a.epochs, a.n_pretrain, a.pretrain_epochs, a.n_train, a.n_test, a.sweep_steps = 1, 1, 512, 1, 512, 512, 30
    C.set_threads()
    tag = "exp3_quick" if a.quick else "exp3"
    t0 = time.perf_counter()
    pre = pretrain(a, tag)
    d = C.load_data(a.n_train, 200, a.n_test, seed=1, classes=(5, 6, 7, 8, 9))
    runs: dict[str, list[dict[str, Any]]] = {arm: [] for arm in ARMS}
    for seed in range(a.seeds):
        for arm in ARMS:
            key = f"{arm}_e{a.epochs}_n{a.n_train}_s{seed}"
            runs[arm].append(C.cached(tag, key, lambda: run_arm(arm, pre, d, seed, a), fresh=a.fresh or a.quick))
    summary = {}
    for arm, rs in runs.items():
        m, sd = C.mean_sd([r["test_acc"] for r in rs])
        mh, sdh = C.mean_sd([r["acc_after_head"] for r in rs])
        summary[arm] = {"acc_mean": m, "acc_sd": sd, "acc_per_seed": [r["test_acc"] for r in rs],
                        "acc_after_head_mean": mh, "acc_after_head_sd": sdh,
                        "stage1_lr": [r.get("stage1_find", {}).get("lr") for r in rs],
                        "stage2_lrs": [r["stage2_lrs"] for r in rs]}
    pre_acc_file = C.CACHE / tag / f"pretrained_n{a.n_pretrain}_e{a.pretrain_epochs}.acc"
    result = {"experiment": "exp3 fine-tuning: 0.1 vs suggestion vs discriminative groups", "data": d["name"],
              "pretrain": {"classes": [0, 1, 2, 3, 4], "n": a.n_pretrain, "epochs": a.pretrain_epochs,
                           "test_acc": float(pre_acc_file.read_text()) if pre_acc_file.is_file() else None},
              "finetune": {"classes": [5, 6, 7, 8, 9], "n_train": len(d["x_train"]), "n_test": len(d["x_test"])},
              "args": vars(a), "machine": C.machine(), "summary": summary,
              "runs": {k: [{kk: vv for kk, vv in r.items() if kk != "stage1_curve"} for r in v] for k, v in runs.items()},
              "reported": "fastai: fine_tune(base_lr=0.1) hurt accuracy; the lr_find suggestion helped (Oxford Pets, ResNet)",
              "wall_seconds_this_run": time.perf_counter() - t0,
              "compute_seconds_total": sum(r["seconds"] for rs in runs.values() for r in rs)}
    out = C.OUT / ("quick" if a.quick else "") / f"{a.name}.json"
    C.write_json(out, result)
    if not a.quick:
        plot(summary, runs, a)
    for arm in ARMS:
        s = summary[arm]
        print(f"{arm:20s} head-only {100*s['acc_after_head_mean']:.2f} %  final {100*s['acc_mean']:.2f} ± {100*s['acc_sd']:.2f} %  "
              f"stage-2 LRs (seed 0) {[f'{x:.3g}' for x in s['stage2_lrs'][0]]}")
    print(f"wrote {out}")
    return result


def plot(summary: dict[str, Any], runs: dict[str, Any], a: argparse.Namespace) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from lrscope.result import RangeTestResult

    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(11, 4))
    xs = np.arange(len(ARMS))
    for i, arm in enumerate(ARMS):
        s = summary[arm]
        ax.bar(i - 0.18, 100 * s["acc_after_head_mean"], 0.36, yerr=100 * s["acc_after_head_sd"], color="#9ecae1",
               label="after head-only epoch" if i == 0 else None)
        ax.bar(i + 0.18, 100 * s["acc_mean"], 0.36, yerr=100 * s["acc_sd"], color="#3182bd", label="final" if i == 0 else None)
        for v in s["acc_per_seed"]:
            ax.plot(i + 0.18, 100 * v, "k.", ms=4)
    ax.set_xticks(xs, [a.replace("_", "\n") for a in ARMS], fontsize=8)
    ax.set_ylabel("test accuracy on classes 5-9 (%)")
    ax.set_title(f"fine-tuning on {a.n_train} examples, {a.seeds} seeds (mean ± sd, dots = seeds)", fontsize=10)
    ax.legend(fontsize=8, loc="lower right")
    ax.grid(axis="y", alpha=0.3)
    curve = runs["suggest"][0].get("stage1_curve")
    if curve:
        res = RangeTestResult.from_dict(curve)
        res.plot(ax=ax2)
        ax2.axvline(0.1, color="red", ls=":", label="lr = 0.1 (arm a)")
        ax2.legend(fontsize=7)
        ax2.set_title("range test, body frozen (seed 0)", fontsize=10)
    fig.tight_layout()
    fig.savefig(DOCS_IMG / f"{a.name}_finetune.png", dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    main()
