"""Experiment 4 (issue 13): the range test on a larger model, its cost beside plain training steps.

Reported (a Keras LR-finder README): VGG16 on CIFAR-100, LR 1e-7 -> 10 over 100 iterations, the plot
saved to a file. Here (no CIFAR-100 or ImageNet-size compute on 2 CPU cores): a VGG-style net (three
blocks of two 3x3 convs + max-pool, 16/32/64 channels, then 256-unit dense and the classifier; no
BatchNorm, as VGG16) on Fashion-MNIST, SGD momentum 0.9, batch 64, the same sweep (1e-7 -> 10, 100
iterations). Reports where every suggestion rule falls on the curve, and the wall time and peak
memory (RSS) of the range test beside 100 plain training steps on the same model and batches: each
measurement runs in its own fresh process, range test and plain steps alternating, ``--repeats``
times. One CPU thread. ``--quick`` is a < 1 minute smoke run.

Writes out/exp4.json, out/exp4_range_test.json and docs/img/exp4_vgg_range_test.png.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402

DOCS_IMG = C.HERE.parents[1] / "docs" / "img"


def vgg(seed: int, bn: bool = False) -> Any:
    import torch
    from torch import nn

    torch.manual_seed(seed)

    def block(cin: int, cout: int) -> list[Any]:
        norm = (lambda c: [nn.BatchNorm2d(c)]) if bn else (lambda c: [])
        return [nn.Conv2d(cin, cout, 3, padding=1), *norm(cout), nn.ReLU(),
                nn.Conv2d(cout, cout, 3, padding=1), *norm(cout), nn.ReLU(), nn.MaxPool2d(2)]

    return nn.Sequential(*block(1, 16), *block(16, 32), *block(32, 64), nn.Flatten(),
                         nn.Linear(64 * 3 * 3, 256), nn.ReLU(), nn.Linear(256, 10))


def worker(kind: str, a: argparse.Namespace) -> dict[str, Any]:
    """One measurement in this (fresh) process: range test or ``steps`` plain SGD steps."""
    import torch
    import torch.nn.functional as F

    C.set_threads()
    from lrscope.datasets import load_fashion_mnist

    n = a.steps * a.batch_size  # only what the steps use, so that the data does not set the peak RSS
    x, y = load_fashion_mnist("train", limit=n)
    x = ((x - 0.2860) / 0.3530).astype(np.float32)[:, None]  # Fashion-MNIST's mean and sd
    data = C.batches(x, y, a.batch_size, 0)
    del x
    model = vgg(0, a.bn)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    rss0 = C.peak_rss_mb()
    c0 = time.process_time()  # CPU time of this process: far less disturbed by other jobs than wall time
    t0 = time.perf_counter()
    out: dict[str, Any] = {"kind": kind, "params": sum(p.numel() for p in model.parameters())}
    if kind == "range_test":
        import lrscope.torch

        res = lrscope.torch.range_test(model, opt, data, F.cross_entropy, start_lr=1e-7, end_lr=10.0,
                                       num_steps=a.steps, progress=False)
        out["points"] = len(res.lrs)
        out["stop_reason"] = res.stop_reason
        out["snapshot_mb"] = lrscope.torch.state_nbytes(model, opt) / 2**20 if _takes_two() else None
        if a.save:
            res.save(a.save)
    else:
        for xb, yb in data[: a.steps]:
            opt.zero_grad(set_to_none=True)
            loss = F.cross_entropy(model(xb), yb)
            loss.backward()
            opt.step()
        float(loss)
    out["seconds"] = time.perf_counter() - t0
    out["cpu_seconds"] = time.process_time() - c0
    out["rss_before_mb"] = rss0
    out["peak_rss_mb"] = C.peak_rss_mb()
    return out


def _takes_two() -> bool:
    import inspect

    import lrscope.torch

    try:
        return len(inspect.signature(lrscope.torch.state_nbytes).parameters) >= 2
    except (TypeError, ValueError):
        return False


def measure(kind: str, rep: int, a: argparse.Namespace, tag: str) -> dict[str, Any]:
    def run() -> dict[str, Any]:
        cmd = [sys.executable, __file__, "--worker", kind, "--steps", str(a.steps), "--batch-size", str(a.batch_size)]
        cmd += ["--bn"] if a.bn else []
        if kind == "range_test" and rep == 0:
            cmd += ["--save", str(C.OUT / ("quick" if a.quick else "") / f"{a.name}_range_test.json")]
        p = subprocess.run(cmd, capture_output=True, text=True, check=True)
        return json.loads(p.stdout.strip().splitlines()[-1])

    return C.cached(tag, f"{kind}_steps{a.steps}_b{a.batch_size}{'_bn' if a.bn else ''}_r{rep}", run, fresh=a.fresh or a.quick)


def where(res: Any) -> dict[str, Any]:
    """Every rule's suggestion and where it falls: decades below the lowest smoothed loss, the loss there."""
    from lrscope.analysis import ema

    lrs, losses = res.curve("loss")
    sm = np.asarray(ema(losses, 0.9))  # bias-corrected EMA; 0.9 lags less than 0.98 on a 100-point curve
    i_min = int(np.nanargmin(sm))
    out: dict[str, Any] = {"lr_at_min_smoothed_loss": float(lrs[i_min]), "min_smoothed_loss": float(sm[i_min]),
                           "start_loss": float(sm[0]), "rules": {}}
    for name, s in res.suggestions().items():
        if not s.found:
            out["rules"][name] = {"lr": None, "reason": s.reason}
            continue
        j = int(np.argmin(np.abs(np.log10(lrs) - np.log10(s.lr))))
        out["rules"][name] = {"lr": float(s.lr), "nice": float(s.nice), "confidence": str(s.confidence),
                              "decades_below_min": float(np.log10(lrs[i_min] / s.lr)),
                              "smoothed_loss_there": float(sm[j]),
                              "fraction_of_fall_done": float((sm[0] - sm[j]) / (sm[0] - sm[i_min])) if sm[0] > sm[i_min] else None,
                              "reason": s.reason}
    return out


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--steps", type=int, default=100)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--fresh", action="store_true")
    p.add_argument("--bn", action="store_true", help="BatchNorm after every conv (VGG16-BN style)")
    p.add_argument("--name", default=None, help="output name (default exp4, or exp4_bn with --bn)")
    p.add_argument("--worker", choices=["range_test", "plain"], help=argparse.SUPPRESS)
    p.add_argument("--save", help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.worker:
        print(json.dumps(worker(a.worker, a)))
        return {}
    a.name = a.name or ("exp4_bn" if a.bn else "exp4")
    if a.quick:
        a.repeats, a.steps, a.batch_size = 1, 20, 16
    tag = "exp4_quick" if a.quick else "exp4"
    t0 = time.perf_counter()
    rows: dict[str, list[dict[str, Any]]] = {"range_test": [], "plain": []}
    for rep in range(a.repeats):
        for kind in ("range_test", "plain") if rep % 2 == 0 else ("plain", "range_test"):
            rows[kind].append(measure(kind, rep, a, tag))
    from lrscope.result import RangeTestResult

    rt_path = C.OUT / ("quick" if a.quick else "") / f"{a.name}_range_test.json"
    res = RangeTestResult.load(rt_path)
    w = where(res)
    t_rt = [r["seconds"] for r in rows["range_test"]]
    t_pl = [r["seconds"] for r in rows["plain"]]
    mem_rt = [r["peak_rss_mb"] - r["rss_before_mb"] for r in rows["range_test"]]
    mem_pl = [r["peak_rss_mb"] - r["rss_before_mb"] for r in rows["plain"]]
    cpu_rt = [r["cpu_seconds"] for r in rows["range_test"]]
    cpu_pl = [r["cpu_seconds"] for r in rows["plain"]]
    cost = {"range_test_seconds": t_rt, "plain_seconds": t_pl,
            "range_test_cpu_seconds": cpu_rt, "plain_cpu_seconds": cpu_pl,
            "cpu_ratio_median": float(np.median(cpu_rt) / np.median(cpu_pl)),
            "time_ratio_median": float(np.median(t_rt) / np.median(t_pl)),
            "range_test_peak_rss_mb": [r["peak_rss_mb"] for r in rows["range_test"]],
            "plain_peak_rss_mb": [r["peak_rss_mb"] for r in rows["plain"]],
            "range_test_rss_growth_mb": mem_rt, "plain_rss_growth_mb": mem_pl,
            "snapshot_mb": rows["range_test"][0].get("snapshot_mb"), "params": rows["plain"][0]["params"],
            "points": rows["range_test"][0]["points"], "stop_reason": rows["range_test"][0]["stop_reason"]}
    result = {"experiment": "exp4 range test on a VGG-style net" + (" with BatchNorm" if a.bn else ""), "bn": a.bn, "data": "fashion-mnist (or digits if absent)",
              "args": vars(a), "machine": C.machine(), "cost": cost, "suggestions": w,
              "reported": "VGG16, CIFAR-100, 1e-7 -> 10 over 100 iterations, plot saved (no numbers reported)",
              "wall_seconds_this_run": time.perf_counter() - t0}
    out = C.OUT / ("quick" if a.quick else "") / f"{a.name}.json"
    C.write_json(out, result)
    img = (C.OUT / "quick" if a.quick else DOCS_IMG) / f"{a.name}_vgg_range_test.png"
    plot(res, w, img, cost, a.bn)
    print(f"CPU time: range test {np.median(cpu_rt):.1f} s vs plain {np.median(cpu_pl):.1f} s (x{cost['cpu_ratio_median']:.2f})")
    print(f"range test {np.median(t_rt):.1f} s vs plain {np.median(t_pl):.1f} s (x{cost['time_ratio_median']:.2f}); "
          f"peak RSS {np.median(cost['range_test_peak_rss_mb']):.0f} vs {np.median(cost['plain_peak_rss_mb']):.0f} MB")
    for k, v in w["rules"].items():
        print(f"  {k:12s} {v['lr'] if v['lr'] is None else format(v['lr'], '.3g')}  "
              f"{'' if v['lr'] is None else format(v['decades_below_min'], '.2f') + ' decades below the minimum'}")
    print(f"wrote {out} and {img}")
    return result


def plot(res: Any, w: dict[str, Any], path: Path, cost: dict[str, Any], bn: bool = False) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.6))
    res.plot(ax=ax)
    ax.set_title(f"VGG-style net{' with BatchNorm' if bn else ''} ({cost['params']/1e3:.0f}k params), Fashion-MNIST, SGD m=0.9, 1e-7 -> 10 in "
                 f"{cost['points']} steps", fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    main()
