"""What the range test costs under DDP: its time over the same number of plain DDP training steps.

Two CPU processes (gloo) on scikit-learn digits, a 64-256-256-10 MLP wrapped in
DistributedDataParallel, 32 samples per rank per step. Each round times, on every rank and side by
side in the same processes, interleaved (plain, finder, plain, finder ...):

* plain: ``steps`` DDP training steps (zero_grad, forward, loss, backward, step) over the same batches;
* finder: ``lrscope.torch.range_test`` for ``steps`` points (LR 1e-5 -> 0.1, so it runs to the end):
  the same DDP steps plus its snapshot, per-step LR setting, the chunked SUM all-reduce of
  ``[loss * n, n]``, the chunk-boundary agreement, and the restore.

torch runs on 1 thread per process (``torch.set_num_threads(1)``), so the 2 processes do not fight for
the cores. Prints each round's ratio finder / plain (rank 0's clock, after a barrier) and the median.

Usage: ``python benchmarks/distributed_overhead.py [--steps 100] [--rounds 7]``
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import time

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch import nn


def _worker(rank: int, port: int, steps: int, rounds: int) -> None:
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=2)
    from lrscope.datasets import load_digits
    from lrscope.torch import range_test

    x, y = load_digits()
    xt, yt = torch.from_numpy(x.reshape(len(x), 64)), torch.from_numpy(y)
    batches = [(xt[i + 32 * rank : i + 32 * rank + 32], yt[i + 32 * rank : i + 32 * rank + 32]) for i in range(0, 1728, 64)]
    torch.manual_seed(0)
    model = nn.parallel.DistributedDataParallel(
        nn.Sequential(nn.Linear(64, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 10))
    )
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()

    def plain() -> None:
        for i in range(steps):
            xb, yb = batches[i % len(batches)]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(xb), yb)
            loss.backward()
            opt.step()

    def finder() -> None:
        res = range_test(model, opt, batches, loss_fn, start_lr=1e-5, end_lr=0.1, num_steps=steps, progress=False,
                         diverge_threshold=None)
        assert len(res.losses) == steps, res.stop_detail

    def timed(fn) -> float:  # type: ignore[no-untyped-def]
        dist.barrier()
        t0 = time.perf_counter()
        fn()
        dist.barrier()
        return time.perf_counter() - t0

    plain(), finder()  # warm-up
    ratios, plains, finders = [], [], []
    for r in range(rounds):
        tp = timed(plain)
        tf = timed(finder)
        ratios.append(tf / tp)
        plains.append(tp)
        finders.append(tf)
        if rank == 0:
            print(f"round {r + 1}: plain {tp:.3f} s, finder {tf:.3f} s, ratio {tf / tp:.3f}", flush=True)
    if rank == 0:
        print(f"median ratio finder / plain DDP steps over {rounds} rounds of {steps} steps: "
              f"{statistics.median(ratios):.3f}; fastest finder / fastest plain: {min(finders) / min(plains):.3f}",
              flush=True)
    dist.barrier()
    dist.destroy_process_group()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=100)
    p.add_argument("--rounds", type=int, default=7)
    a = p.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    print(f"2 processes (gloo, CPU), torch {torch.__version__}, torch.set_num_threads(1) in each; "
          f"{os.cpu_count()} CPU cores", flush=True)
    mp.start_processes(_worker, args=(port, a.steps, a.rounds), nprocs=2, start_method="spawn", join=True)


if __name__ == "__main__":
    main()
