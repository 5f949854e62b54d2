"""Peak extra RAM (RSS) of the range test's state snapshot, against the size of the state.

Usage::

    python benchmarks/memory.py               # ~270 MB of state (an MLP with Adam)
    python benchmarks/memory.py --width 1024  # smaller/faster

Each mode runs in its own fresh subprocess (clean RSS numbers), with ``MALLOC_MMAP_THRESHOLD_``
pinned so glibc returns freed tensors to the OS instead of keeping them in the heap:

1. build an MLP and an Adam optimizer, train 2 steps (parameters, gradients and Adam state all exist);
2. run ``range_test(..., num_steps=3)`` once with ``restore=False`` to warm up every allocation the
   training steps themselves need; read ``VmRSS``;
3. reset the peak (``echo 5 > /proc/self/clear_refs`` resets ``VmHWM``), run
   ``range_test(..., num_steps=3)`` with the mode's snapshot, read ``VmHWM``.

``peak extra = VmHWM - VmRSS before``; the ``restore=False`` mode measures what the 3 training steps
alone add, and ``net = peak extra - that`` for the two range-test rows. The ``-bare`` rows take and
restore a snapshot with no training in between (the snapshot's own cost; nothing to subtract).
The state is measured when the snapshot is taken (after the warm-up sweep, ``.grad`` is None). ``state`` = parameters + gradients + buffers + optimizer
state (:func:`lrscope.torch.state_nbytes`). Targets: ``net / state <= 1.1`` for ``"memory"``, ~0 for
``"disk"``. Linux only (reads /proc). Prints a markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

CHILD = r"""
import gc, json, os, sys, tempfile
import torch
from torch import nn
from lrscope.torch import preserve_state, range_test, state_nbytes

mode, width, depth = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
torch.set_num_threads(1)

def status(key):
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(key)

def reset_peak():
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")

torch.manual_seed(0)
layers = []
for _ in range(depth):
    layers += [nn.Linear(width, width), nn.ReLU()]
model = nn.Sequential(*layers, nn.Linear(width, 10))
opt = torch.optim.Adam(model.parameters(), lr=1e-4)
batches = [(torch.randn(8, width), torch.randint(0, 10, (8,))) for _ in range(4)]
CE = nn.functional.cross_entropy
for x, y in batches[:2]:
    opt.zero_grad()
    CE(model(x), y).backward()
    opt.step()
kw = dict(start_lr=1e-6, end_lr=1e-4, num_steps=3, progress=False, diverge_threshold=None)
range_test(model, opt, batches, CE, restore=False, **kw)   # warm-up: the training steps' own memory
gc.collect()
state = state_nbytes(model, opt)  # what a snapshot taken now copies (the sweep leaves .grad None)
before = status("VmRSS")
reset_peak()
ok = status("VmHWM") <= before + (4 << 20)
if mode == "none":
    range_test(model, opt, batches, CE, restore=False, **kw)
elif mode.endswith("-bare"):
    with tempfile.TemporaryDirectory() as tmp:
        with preserve_state(model, opt, storage=mode[:-5], directory=tmp):
            pass
else:
    with tempfile.TemporaryDirectory() as tmp:
        range_test(model, opt, batches, CE, snapshot=mode, snapshot_dir=tmp, **kw)
peak = status("VmHWM")
print(json.dumps({"mode": mode, "state": state, "before": before, "peak": peak, "reset_ok": ok}))
"""


def run_mode(mode: str, width: int, depth: int) -> dict:
    env = dict(os.environ, MALLOC_MMAP_THRESHOLD_="131072", OMP_NUM_THREADS="1", CI="1")
    out = subprocess.run(
        [sys.executable, "-c", CHILD, mode, str(width), str(depth)], capture_output=True, text=True, env=env, check=False
    )
    if out.returncode != 0:
        raise SystemExit(f"mode {mode} failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--width", type=int, default=2048)
    ap.add_argument("--depth", type=int, default=4)
    ap.add_argument("--repeats", type=int, default=3, help="subprocesses per mode (median)")
    args = ap.parse_args(argv)
    if not os.path.exists("/proc/self/clear_refs"):
        raise SystemExit("memory.py needs Linux /proc (VmHWM and clear_refs)")
    rows = {}
    for mode in ("none", "memory", "disk", "memory-bare", "disk-bare"):
        runs = [run_mode(mode, args.width, args.depth) for _ in range(args.repeats)]
        extras = sorted(r["peak"] - r["before"] for r in runs)
        rows[mode] = {"extra": extras[len(extras) // 2], "state": runs[0]["state"], "reset_ok": all(r["reset_ok"] for r in runs)}
    mb = 1 / 2**20
    state = rows["memory"]["state"]
    base = rows["none"]["extra"]
    print(
        f"\nSnapshot memory — MLP {args.depth}x Linear({args.width},{args.width}) + Adam, state (params + Adam "
        f"moments; the sweep leaves .grad None) = {state * mb:.1f} MiB, median of {args.repeats} subprocesses per mode\n"
    )
    print("| mode | peak extra RSS (MiB) | net (MiB) | net / state |")
    print("|---|---:|---:|---:|")
    labels = (
        ("none", "range_test, restore=False (no snapshot)", False),
        ("memory", 'range_test, snapshot="memory"', True),
        ("disk", 'range_test, snapshot="disk"', True),
        ("memory-bare", 'preserve_state(storage="memory") alone, no steps', False),
        ("disk-bare", 'preserve_state(storage="disk") alone, no steps', False),
    )
    for mode, label, subtract in labels:
        extra = rows[mode]["extra"]
        if mode == "none":
            print(f"| {label} | {extra * mb:.1f} | (the baseline) | — |")
            continue
        net = extra - base if subtract else extra
        print(f"| {label} | {extra * mb:.1f} | {net * mb:.1f} | {net / state:.3f} |")
    if not all(r["reset_ok"] for r in rows.values()):
        print("\nwarning: resetting VmHWM via /proc/self/clear_refs did not work here; peaks include earlier history")
    print("\ntargets: memory <= 1.1 x state, disk ~0")


if __name__ == "__main__":
    main()
