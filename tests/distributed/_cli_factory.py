"""A ``lrscope find`` factory for torchrun: a DDP model on digits, each rank its DistributedSampler shard."""

from __future__ import annotations

import torch
import torch.distributed as dist
from torch import nn
from torch.utils.data import DataLoader, DistributedSampler, TensorDataset


def make():  # type: ignore[no-untyped-def]
    from lrscope.datasets import load_digits

    torch.set_num_threads(1)
    x, y = load_digits()
    data = TensorDataset(torch.from_numpy(x.reshape(len(x), 64)), torch.from_numpy(y))
    sampler = DistributedSampler(data, shuffle=True, seed=0)  # rank and world size from the process group
    loader = DataLoader(data, batch_size=32, sampler=sampler)
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))
    ddp = nn.parallel.DistributedDataParallel(model) if dist.is_initialized() else model
    return ddp, torch.optim.SGD(ddp.parameters(), lr=0.1, momentum=0.9), nn.CrossEntropyLoss(), loader
