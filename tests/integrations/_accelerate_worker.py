"""Run by tests/integrations/test_accelerate.py under `accelerate launch` (one process per rank, or one alone).

Writes ``OUT/rank{r}.json``: the range test's losses and LRs, and whether every parameter and the
optimizer state were restored bit for bit on this rank.
"""

from __future__ import annotations

import json
import sys

import torch
import torch.distributed as dist
from accelerate import Accelerator
from torch import nn

from lrscope.datasets import load_digits
from lrscope.torch.integrations.accelerate import range_test


def main(out: str, num_steps: int) -> None:
    accelerator = Accelerator(cpu=True)
    torch.manual_seed(0)
    x, y = load_digits()
    ds = torch.utils.data.TensorDataset(torch.from_numpy(x[:512].reshape(512, 64)), torch.from_numpy(y[:512]))
    loader = torch.utils.data.DataLoader(ds, batch_size=32, shuffle=True)
    model = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    model, optimizer, loader = accelerator.prepare(model, optimizer, loader)
    before = {k: v.detach().clone() for k, v in model.state_dict().items()}
    iteration = loader.iteration
    result = range_test(
        accelerator, model, optimizer, loader, nn.functional.cross_entropy,
        start_lr=1e-4, end_lr=10.0, num_steps=num_steps, progress=False,
    )  # fmt: skip
    after = model.state_dict()
    restored = all(torch.equal(before[k], after[k]) for k in before)
    state_empty = len(optimizer.state) == 0
    rank = accelerator.process_index
    with open(f"{out}/rank{rank}.json", "w") as f:
        json.dump(
            {
                "rank": rank,
                "world": accelerator.num_processes,
                "losses": result.losses.tolist(),
                "lrs": result.lrs.tolist(),
                "stop_reason": result.stop_reason,
                "config": {k: result.config[k] for k in ("integration", "num_processes")},
                "restored": restored,
                "optimizer_state_empty": state_empty,
                "loader_iteration_kept": loader.iteration == iteration,
                "active_loaders": len(accelerator.gradient_state.dataloader_references or []),
                "notes": list(result.notes),
            },
            f,
        )
    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
