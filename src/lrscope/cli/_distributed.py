"""``torchrun --nproc_per_node=N -m lrscope find SPEC``: the find command on every rank of a process group.

When ``torchrun`` (or any launcher that sets ``WORLD_SIZE`` > 1, ``RANK`` and ``MASTER_ADDR``/``MASTER_PORT``)
starts the command, the process group is initialised *before* the factory is called, so the factory can
wrap its model in ``DistributedDataParallel`` and give each rank its shard (a ``DistributedSampler``).
The backend is NCCL for ``--device cuda`` (each rank on ``cuda:LOCAL_RANK``) and gloo otherwise. Every
rank runs the range test (:mod:`lrscope.torch.distributed`: one curve, the global mean); only rank 0
prints and writes the files; errors are printed on every rank. The group is closed at the end
(``barrier()`` then ``destroy_process_group()``) unless it was already initialised by the caller.
"""

from __future__ import annotations

import argparse
import contextlib
import os
from collections.abc import Callable

__all__ = ["launched_world_size", "run_on_every_rank"]


def launched_world_size() -> int:
    """``WORLD_SIZE`` from the environment (1 when unset or not a number)."""
    try:
        return int(os.environ.get("WORLD_SIZE", "1"))
    except ValueError:
        return 1


def run_on_every_rank(command: Callable[[argparse.Namespace], int], args: argparse.Namespace) -> int:
    """Initialise the process group from the environment, run ``command`` on this rank, close the group."""
    import torch
    import torch.distributed as dist

    own = not dist.is_initialized()
    if own:
        local = int(os.environ.get("LOCAL_RANK", "0"))
        cuda = isinstance(args.device, str) and args.device.startswith("cuda")
        if cuda:
            if args.device == "cuda":
                args.device = f"cuda:{local}"
            torch.cuda.set_device(torch.device(args.device))
        dist.init_process_group("nccl" if cuda else "gloo")
    rank = dist.get_rank()
    args.distributed_rank = rank
    try:
        if rank == 0:
            return command(args)
        with open(os.devnull, "w") as null, contextlib.redirect_stdout(null), contextlib.redirect_stderr(null):
            return command(args)  # an error still reaches main(), which prints it on stderr
    finally:
        if own and dist.is_initialized():  # not after a fault: the range test aborted the group
            dist.barrier()
            dist.destroy_process_group()
