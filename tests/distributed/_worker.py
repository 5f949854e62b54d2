"""One process of the distributed tests: ``python _worker.py CASE RANK WORLD PORT OUT``.

WORLD == 1 runs the same sweep on one process over the same global batches (no process group).
Each process writes ``OUT/rank{RANK}.json``: its result, whether its weights were restored, and what
it raised. Run by tests/distributed/test_distributed.py, which joins the processes with a timeout.
"""

from __future__ import annotations

import datetime
import json
import os
import sys
import time
import traceback
from pathlib import Path

import torch
import torch.distributed as dist
from torch import nn

GLOBAL_BATCH = 64
NUM_STEPS = 30


def digits() -> tuple[torch.Tensor, torch.Tensor]:
    from lrscope.datasets import load_digits

    x, y = load_digits()
    return torch.from_numpy(x.reshape(len(x), 64)), torch.from_numpy(y)


def batches(x: torch.Tensor, y: torch.Tensor, rank: int, world: int, count: int, offset: int = 0) -> list:
    """Global batch b holds samples [b*64, (b+1)*64); rank r of `world` takes its r-th contiguous share."""
    per = GLOBAL_BATCH // world
    out = []
    for b in range(count):
        lo = offset + b * GLOBAL_BATCH + rank * per
        out.append((x[lo : lo + per], y[lo : lo + per]))
    return out


def make_model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))


def main() -> None:
    case, rank, world, port, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], Path(sys.argv[5])
    torch.set_num_threads(1)
    timeout = datetime.timedelta(seconds=4 if case.endswith("linger") else 60)
    if world > 1:
        dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world,
                                timeout=timeout)
    from lrscope.torch import range_test
    from lrscope.torch.distributed import RankFailedError
    from lrscope.torch.verify import verify_suggestion

    x, y = digits()
    model = make_model()
    wrapped: nn.Module = nn.parallel.DistributedDataParallel(model) if world > 1 else model
    opt = torch.optim.SGD(wrapped.parameters(), lr=0.05, momentum=0.9)
    train = batches(x, y, rank, world, 20)  # cycled: 30 steps over 20 batches
    val = batches(x, y, rank, world, 2, offset=1400)
    before = [p.detach().clone() for p in model.state_dict().values()]
    calls = [0]

    def loss_fn(out_: torch.Tensor, tgt: torch.Tensor) -> torch.Tensor:
        calls[0] += 1
        loss = nn.functional.cross_entropy(out_, tgt)
        if case == "nan" and rank == 1 and calls[0] >= 12:
            return loss * float("nan")
        if case.startswith("raise") and rank == 1 and calls[0] == 7:
            raise ValueError("boom on purpose")
        if case.startswith("verify_raise") and rank == 1 and calls[0] == 9:  # in verify's second trial
            raise ValueError("boom in a trial")
        return loss

    data = train
    if case == "exhaust":
        data = iter(train[:11]) if rank == 1 else train  # rank 1's one-shot data runs dry at step 11
    report: dict = {"rank": rank}
    t0 = time.perf_counter()
    kwargs = dict(start_lr=1e-4, end_lr=10.0, num_steps=NUM_STEPS, chunk_size=8, progress=False,
                  diverge_threshold=None)
    if case == "basic":
        kwargs.update(val_data=val, metric="accuracy")
    if case.startswith("raise"):
        kwargs.update(snapshot="disk", snapshot_dir=str(out / f"snap{rank}"))
        (out / f"snap{rank}").mkdir()
    try:
        if case.startswith("verify_raise"):
            v = verify_suggestion(wrapped, opt, train, loss_fn, center=3e-2, trial_steps=6)
            raise AssertionError(f"verify_suggestion returned {v} although rank 1 raised")
        result = range_test(wrapped, opt, data, loss_fn, **kwargs)
        report["result"] = result.to_dict() if hasattr(result, "to_dict") else json.loads(result.to_json())
        if case == "basic":
            v = verify_suggestion(wrapped, opt, train, loss_fn, center=3e-2, trial_steps=6)
            report["verify"] = {"lr": v.lr, "scores": v.details["scores"], "trial_losses": v.details["trial_losses"]}
    except RankFailedError as exc:
        report["error"] = {"type": "RankFailedError", "message": str(exc), "rank": exc.rank}
    except Exception as exc:
        report["error"] = {"type": type(exc).__name__, "message": str(exc), "trace": traceback.format_exc()}
    report["seconds"] = time.perf_counter() - t0
    report["restored"] = all(torch.equal(a, b) for a, b in zip(before, model.state_dict().values()))
    report["initialized_after"] = dist.is_initialized()
    if case.startswith("raise"):
        report["left_behind"] = sorted(os.listdir(out / f"snap{rank}"))
    (out / f"rank{rank}.json").write_text(json.dumps(report, default=str))
    if case.endswith("linger") and rank == 1:
        time.sleep(10)  # the failing process lives on: the others must fail on the group's timeout
    if dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


if __name__ == "__main__":
    main()
