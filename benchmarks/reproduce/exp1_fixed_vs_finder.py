"""Experiment 1 (issue 13): fixed LR vs the finder's LR vs the finder's LR x 0.97 per epoch.

Reported (a Keras article, CIFAR-10, a 450k-parameter CNN, SGD + Nesterov): fixed lr = 0.01 reached
86.7 % in ~60 epochs; the finder's LR 86.4 % in ~40 epochs; the finder's LR x 0.97 after every epoch
88.4 %. Here: Fashion-MNIST (the Debian package; CIFAR-10 cannot be downloaded here) subsets, a
106k-parameter CNN, SGD momentum 0.9 Nesterov, batch 64, the same epochs for every arm, several
seeds. The finder reads the *validation* loss (a fixed 4-batch held-out subset at every step), as the
article does. One CPU thread (torch.set_num_threads(1)).

    nice -n 15 python benchmarks/reproduce/exp1_fixed_vs_finder.py            # torch, 3 seeds x 12 epochs
    nice -n 15 python benchmarks/reproduce/exp1_fixed_vs_finder.py --keras    # then the Keras 3 arm
    python benchmarks/reproduce/exp1_fixed_vs_finder.py --quick               # < 1 minute smoke run

Per-arm, per-seed results are cached in out/cache/exp1[_keras]/ (a rerun resumes; --fresh redoes them).
Writes out/exp1[_keras].json and docs/img/exp1_*.png.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402

DOCS_IMG = C.HERE.parents[1] / "docs" / "img"
FIXED_LR = 0.01
DECAY = 0.97


def make_torch_cnn(seed: int) -> Any:
    import torch
    from torch import nn

    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(32 * 7 * 7, 64), nn.ReLU(), nn.Linear(64, 10),
    )


def sgd(params: Any, lr: float) -> Any:
    import torch

    return torch.optim.SGD(params, lr=lr, momentum=0.9, nesterov=True)


def torch_finder(d: dict[str, Any], seed: int, a: argparse.Namespace) -> dict[str, Any]:
    import lrscope.torch

    model = make_torch_cnn(seed)
    opt = sgd(model.parameters(), FIXED_LR)
    import torch.nn.functional as F

    train = C.batches(d["x_train"], d["y_train"], a.batch_size, 10_000 + seed)
    val = C.batches(d["x_val"], d["y_val"], a.batch_size, 20_000)
    t0 = time.perf_counter()
    res = lrscope.torch.range_test(model, opt, train, F.cross_entropy, start_lr=1e-5, end_lr=10.0,
                                   num_steps=a.sweep_steps, val_data=val, val_batches=4, progress=False)
    secs = time.perf_counter() - t0
    s = res.suggest()
    res.save(C.CACHE / a.tag / f"range_test_seed{seed}.json")
    return {"lr": float(s.lr) if s.found else FIXED_LR, "found": bool(s.found), "nice": float(s.nice) if s.found else None,
            "reason": s.reason, "source": res.loss_source("auto"), "points": len(res.lrs),
            "stop": res.stop_reason, "sweep_seconds": secs,
            "all": {k: (float(v.lr) if v.found else None) for k, v in res.suggestions().items()}}


def torch_arm(d: dict[str, Any], lr: float, decay: float | None, seed: int, a: argparse.Namespace) -> dict[str, Any]:
    import torch

    model = make_torch_cnn(seed)
    opt = sgd(model.parameters(), lr)
    sched = torch.optim.lr_scheduler.ExponentialLR(opt, decay) if decay else None
    acc, loss, lrs = [], [], []
    t0 = time.perf_counter()
    for e in range(a.epochs):
        lrs.append(opt.param_groups[0]["lr"])
        C.train_epoch(model, opt, d["x_train"], d["y_train"], a.batch_size, 1000 * seed + e)
        if sched is not None:
            sched.step()  # x0.97 after every epoch, as in the article
        ac, lo = C.evaluate(model, d["x_test"], d["y_test"])
        acc.append(ac)
        loss.append(lo)
    return {"lr": lr, "decay": decay, "test_acc": acc, "test_loss": loss, "epoch_lrs": lrs,
            "train_seconds": time.perf_counter() - t0}


# ----------------------------------------------------------------------------------------- Keras
def make_keras_cnn(seed: int) -> Any:
    import keras

    keras.utils.set_random_seed(seed)
    m = keras.Sequential([
        keras.Input((28, 28, 1)),
        keras.layers.Conv2D(16, 3, padding="same", activation="relu"), keras.layers.MaxPooling2D(),
        keras.layers.Conv2D(32, 3, padding="same", activation="relu"), keras.layers.MaxPooling2D(),
        keras.layers.Flatten(), keras.layers.Dense(64, activation="relu"), keras.layers.Dense(10),
    ])
    return m


def keras_compile(m: Any, lr: float) -> None:
    import keras

    m.compile(optimizer=keras.optimizers.SGD(lr, momentum=0.9, nesterov=True),
              loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])


def nhwc(x: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(x.transpose(0, 2, 3, 1))


def keras_finder(d: dict[str, Any], seed: int, a: argparse.Namespace) -> dict[str, Any]:
    import lrscope.keras

    m = make_keras_cnn(seed)
    keras_compile(m, FIXED_LR)
    t0 = time.perf_counter()
    res = lrscope.keras.range_test(m, nhwc(d["x_train"]), d["y_train"], batch_size=a.batch_size,
                                   validation_data=(nhwc(d["x_val"]), d["y_val"]), start_lr=1e-5, end_lr=10.0,
                                   num_steps=a.sweep_steps, val_batches=4, progress=False)
    secs = time.perf_counter() - t0
    s = res.suggest()
    res.save(C.CACHE / a.tag / f"range_test_seed{seed}.json")
    return {"lr": float(s.lr) if s.found else FIXED_LR, "found": bool(s.found), "reason": s.reason,
            "source": res.loss_source("auto"), "points": len(res.lrs), "stop": res.stop_reason, "sweep_seconds": secs}


def keras_arm(d: dict[str, Any], lr: float, decay: float | None, seed: int, a: argparse.Namespace) -> dict[str, Any]:
    import keras

    import lrscope.keras

    m = make_keras_cnn(seed)
    keras_compile(m, lr)
    cbs = [lrscope.keras.ExponentialDecayLR(decay)] if decay else []
    acc: list[float] = []

    class Eval(keras.callbacks.Callback):
        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            acc.append(float(self.model.evaluate(nhwc(d["x_test"]), d["y_test"], batch_size=1000, verbose=0,
                                                 return_dict=True)["accuracy"]))

    t0 = time.perf_counter()
    m.fit(nhwc(d["x_train"]), d["y_train"], batch_size=a.batch_size, epochs=a.epochs, shuffle=True,
          callbacks=[*cbs, Eval()], verbose=0)
    return {"lr": lr, "decay": decay, "test_acc": acc, "train_seconds": time.perf_counter() - t0}


# ------------------------------------------------------------------------------------------ main
def epochs_to_reach(curve: list[float], target: float) -> int | None:
    for i, v in enumerate(curve):
        if v >= target:
            return i + 1
    return None


def summarise(runs: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    fixed_final = float(np.mean([r["test_acc"][-1] for r in runs["fixed"]]))
    out: dict[str, Any] = {}
    for arm, rs in runs.items():
        curves = np.array([r["test_acc"] for r in rs])
        finals = list(curves[:, -1])
        m, sd = C.mean_sd(finals)
        out[arm] = {
            "lr_per_seed": [r["lr"] for r in rs],
            "final_acc_mean": m, "final_acc_sd": sd, "final_acc_per_seed": finals,
            "best_acc_mean": float(curves.max(1).mean()),
            "epochs_to_fixed_final_mean_curve": epochs_to_reach(list(curves.mean(0)), fixed_final),
            "epochs_to_fixed_final_per_seed": [epochs_to_reach(list(c), fixed_final) for c in curves],
            "mean_curve": list(curves.mean(0)), "sd_curve": list(curves.std(0, ddof=1)) if len(rs) > 1 else [0.0] * curves.shape[1],
            "train_seconds_mean": float(np.mean([r["train_seconds"] for r in rs])),
        }
    out["fixed_final_target"] = fixed_final
    return out


def plot(summary: dict[str, Any], title: str, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.2))
    labels = {"fixed": f"fixed lr = {FIXED_LR}", "finder": "finder's LR", "finder_decay": f"finder's LR x {DECAY}/epoch"}
    for arm, lab in labels.items():
        s = summary[arm]
        mu, sd = np.array(s["mean_curve"]), np.array(s["sd_curve"])
        ep = np.arange(1, len(mu) + 1)
        lrs = s["lr_per_seed"]
        ax.plot(ep, 100 * mu, marker="o", ms=3, label=f"{lab} ({min(lrs):.3g}-{max(lrs):.3g})" if arm != "fixed" else lab)
        ax.fill_between(ep, 100 * (mu - sd), 100 * (mu + sd), alpha=0.2)
    ax.axhline(100 * summary["fixed_final_target"], color="grey", lw=0.8, ls="--", label="fixed arm's final accuracy")
    ax.set_xlabel("epoch")
    ax.set_ylabel("test accuracy (%)  mean ± sd over seeds")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8, loc="lower right")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--epochs", type=int, default=12)
    p.add_argument("--n-train", type=int, default=6000)
    p.add_argument("--n-val", type=int, default=1000)
    p.add_argument("--n-test", type=int, default=3000)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--sweep-steps", type=int, default=100)
    p.add_argument("--keras", action="store_true", help="run the Keras 3 front end (lrscope.keras) instead of torch")
    p.add_argument("--quick", action="store_true", help="tiny smoke run (< 1 minute), written to out/quick/")
    p.add_argument("--fresh", action="store_true", help="ignore cached per-arm results")
    a = p.parse_args(argv)
    if a.quick:
        a.seeds, a.epochs, a.n_train, a.n_val, a.n_test, a.sweep_steps = 1, 2, 512, 256, 512, 30
    C.set_threads()
    name = "exp1_keras" if a.keras else "exp1"
    tag = a.tag = f"{name}_quick" if a.quick else name
    d = C.load_data(a.n_train, a.n_val, a.n_test)
    finder_fn, arm_fn = (keras_finder, keras_arm) if a.keras else (torch_finder, torch_arm)
    runs: dict[str, list[dict[str, Any]]] = {"fixed": [], "finder": [], "finder_decay": []}
    finders = []
    t_all = time.perf_counter()
    for seed in range(a.seeds):
        cfg = f"e{a.epochs}_n{a.n_train}_s{seed}"
        f = C.cached(tag, f"finder_{cfg}", lambda: finder_fn(d, seed, a), fresh=a.fresh or a.quick)
        finders.append(f)
        runs["fixed"].append(C.cached(tag, f"fixed_{cfg}", lambda: arm_fn(d, FIXED_LR, None, seed, a), fresh=a.fresh or a.quick))
        runs["finder"].append(C.cached(tag, f"finder_arm_{cfg}", lambda: arm_fn(d, f["lr"], None, seed, a), fresh=a.fresh or a.quick))
        runs["finder_decay"].append(C.cached(tag, f"decay_{cfg}", lambda: arm_fn(d, f["lr"], DECAY, seed, a), fresh=a.fresh or a.quick))
    summary = summarise(runs)
    result = {
        "experiment": "exp1 fixed LR vs finder LR vs finder LR x 0.97/epoch",
        "front_end": "lrscope.keras (Keras %s, backend %s)" % _keras_info() if a.keras else "lrscope.torch",
        "data": d["name"], "n_train": len(d["x_train"]), "n_val": len(d["x_val"]), "n_test": len(d["x_test"]),
        "args": vars(a), "machine": C.machine(), "finders": finders, "summary": summary, "runs": runs,
        "reported": {"fixed": {"acc": 86.7, "epochs": "~60"}, "finder": {"acc": 86.4, "epochs": "~40"},
                     "finder_decay": {"acc": 88.4}, "data": "CIFAR-10, 450k-param CNN, Keras, SGD+Nesterov"},
        "wall_seconds_this_run": time.perf_counter() - t_all,
        "compute_seconds_total": sum(r["seconds"] for rs in runs.values() for r in rs) + sum(f["seconds"] for f in finders),
    }
    out_json = C.OUT / ("quick" if a.quick else "") / f"{name}.json"
    C.write_json(out_json, result)
    img = (C.OUT / "quick" if a.quick else DOCS_IMG) / f"{name}_accuracy.png"
    plot(summary, f"{'Keras' if a.keras else 'torch'}: {d['name']} {len(d['x_train'])} train, small CNN, SGD Nesterov, "
                  f"{a.seeds} seeds", img)
    if not a.quick:
        _plot_range_tests(name, a.seeds)
    for arm in runs:
        s = summary[arm]
        print(f"{arm:13s} lr={np.mean(s['lr_per_seed']):.4g}  final acc {100*s['final_acc_mean']:.2f} ± {100*s['final_acc_sd']:.2f} %  "
              f"epochs to fixed's final: {s['epochs_to_fixed_final_mean_curve']}")
    print(f"wrote {out_json} and {img}")
    return result


def _keras_info() -> tuple[str, str]:
    import keras

    return keras.__version__, keras.backend.backend()


def _plot_range_tests(name: str, seeds: int) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from lrscope.result import RangeTestResult

    fig, axes = plt.subplots(seeds, 1, figsize=(8, 4.2 * seeds), squeeze=False)
    for s in range(seeds):
        path = C.CACHE / name / f"range_test_seed{s}.json"
        if path.is_file():
            RangeTestResult.load(path).plot(ax=axes[s, 0], methods=["drop", "valley", "minimum", "steepest"], show_candidates=False)
            axes[s, 0].set_title(f"{name}: validation-loss range test, seed {s}", fontsize=9)
    fig.tight_layout()
    fig.savefig(DOCS_IMG / f"{name}_range_tests.png", dpi=100)
    plt.close(fig)


if __name__ == "__main__":
    os.environ.setdefault("KERAS_BACKEND", "torch")
    main()
