"""The LR range test under ``torch.distributed``: every rank of a process group sweeps together.

:func:`lrscope.torch.range_test` uses :class:`DistributedEngine` by itself when it is called on
every rank of an initialised process group of more than one process (a ``DistributedDataParallel``
model, or a plain model fed by a ``DistributedSampler``). What changes from one process:

* **Each point's loss is the exact global mean.** A rank records ``[loss * n, n]`` per micro-batch
  (``n`` its batch size; the loss is taken to be a mean over the batch, as PyTorch's losses are by
  default); at each chunk boundary the driver's one read-back stacks them, all-reduces them with
  ``SUM`` (``AVG`` is not portable: gloo has an open correctness report on it) and divides. Uneven
  batches count by their size; validation loss and metric are reduced the same way. The reduction
  rides on the chunked read-back: one all-reduce per value kind per ``chunk_size`` points, on top of
  DDP's own per-step gradient all-reduce, and nothing per step.
* **Every rank takes the same decision at the same step.** Stop decisions are made only from
  reduced values: a NaN on one rank makes the sum NaN on every rank, so all stop at that step.
  Data running out on one rank never leaves another waiting in a collective: that rank replays its
  last batch with zero weight (and zero gradient) until the chunk boundary, where the ranks agree
  (a ``MIN`` all-reduce) on the points every rank completed, and all stop there with stop reason
  ``"data exhausted"``.
* The LR comes from the step counter, the same on every rank. Snapshots stay per rank (host memory,
  or a temporary folder of the rank's own: no shared filesystem is needed). Only rank 0 shows the
  progress bar. The result (curve, stop, notes, config) is the same on every rank; its config says
  ``world_size`` and ``backend``, and ``batch_size`` is the global batch (``batch_size_per_rank``
  lists the ranks').
* **Faults.** A rank whose own code raises (the model, the loss, its data) writes
  ``"rank k: <exception>"`` into the process group's store, aborts its process group (it can no
  longer be used: the ranks stopped at different collectives) and re-raises its exception after
  restoring its state. The other ranks' next collective then fails — at once when that process
  ends (the usual case: the exception ends the script, and ``torchrun`` stops the others), at the
  latest after the group's timeout (``init_process_group(timeout=...)``). They read the store,
  restore their state, abort their group and raise :class:`RankFailedError` naming rank ``k``.
  Under ``torchrun``, Ctrl-C counts as a fault (``on_interrupt="return"`` cannot be honoured the
  same way on every rank): the interrupted ranks re-raise ``KeyboardInterrupt``.

``benchmarks/distributed_overhead.py`` measures the cost against plain DDP steps (``docs/distributed.md``).
"""

from __future__ import annotations

import contextlib
import itertools
import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from torch import nn

from lrscope.sweep import END, SweepSpec
from lrscope.torch.batches import batch_size
from lrscope.torch.checks import TorchSettings
from lrscope.torch.engine import TorchEngine

__all__ = ["DistributedEngine", "RankFailedError", "all_means", "any_rank", "comm_device", "fault_guard", "min_over_ranks",
           "rank_fault"]

log = logging.getLogger(__name__)

#: runs on this process: every rank counts the same sequence, so a run's keys in the store match
_runs = itertools.count()
_CPU = torch.device("cpu")
#: the longest exception text written to the store
_MAX_FAULT_TEXT = 2000


class RankFailedError(RuntimeError):
    """Another rank of the process group failed during the range test or verify_suggestion (the message names it).

    Attributes:
        rank: the rank that failed (None when no rank reported; e.g. a process killed from outside).
    """

    def __init__(self, message: str, rank: int | None) -> None:
        super().__init__(message)
        self.rank = rank


class _Interrupted(BaseException):
    """A KeyboardInterrupt inside the distributed engine: a fault, never the driver's 'interrupted' stop
    (which would read back, a collective that the other ranks are not in)."""


class _Agreed(Exception):
    """An error every rank raises at the same point (decided from gathered values): no fault protocol."""

    def __init__(self, error: Exception) -> None:
        super().__init__(str(error))
        self.error = error


# ----------------------------------------------------------------------------- collectives


def comm_device(group: Any, device: torch.device) -> torch.device:
    """Where tensors for a collective go: the CUDA device under NCCL, else the CPU (gloo)."""
    if device.type == "cuda" and "nccl" in str(dist.get_backend(group)).lower():
        return device
    return torch.device("cpu")


def all_means(pairs: Sequence[torch.Tensor], group: Any) -> np.ndarray:
    """Global means from per-rank ``[value * n, n]`` pairs: one ``SUM`` all-reduce, then divide.

    Args:
        pairs: 1-element-per-kind pairs ``torch.stack([v * n, n])`` (one per recorded value).
        group: the process group.

    Returns:
        ``sum over ranks of v * n / sum over ranks of n`` per entry, float64 on the host (NaN where
        no rank had a sample).
    """
    t = torch.stack(list(pairs))
    t = t.to(comm_device(group, t.device), torch.float64)
    dist.all_reduce(t, op=dist.ReduceOp.SUM, group=group)
    t = t.cpu()
    with np.errstate(invalid="ignore", divide="ignore"):
        out: np.ndarray = (t[:, 0] / t[:, 1]).numpy()
    return out


def any_rank(flags: Sequence[Any], group: Any, device: torch.device = _CPU) -> np.ndarray:
    """Element-wise 'true on any rank' of boolean scalars (a ``MAX`` all-reduce), as float64 0/1."""
    t = torch.stack([torch.as_tensor(f) for f in flags]).to(comm_device(group, device), torch.float64)
    dist.all_reduce(t, op=dist.ReduceOp.MAX, group=group)
    out: np.ndarray = t.cpu().numpy()
    return out


def min_over_ranks(value: int, group: Any, device: torch.device = _CPU) -> int:
    """The smallest of every rank's ``value`` (a ``MIN`` all-reduce)."""
    t = torch.tensor([value], dtype=torch.int64, device=comm_device(group, device))
    dist.all_reduce(t, op=dist.ReduceOp.MIN, group=group)
    return int(t.item())


def gather_rows(row: Sequence[float], group: Any, device: torch.device = _CPU) -> list[list[float]]:
    """Every rank's ``row`` (same length everywhere), in rank order (an all-gather)."""
    dev = comm_device(group, device)
    t = torch.tensor(list(row), dtype=torch.float64, device=dev)
    out = [torch.empty_like(t) for _ in range(dist.get_world_size(group))]
    dist.all_gather(out, t, group=group)
    return [o.cpu().tolist() for o in out]


# ----------------------------------------------------------------------------- faults


def _store(group: Any) -> Any:
    """The process group's key-value store (None when it cannot be had)."""
    try:
        return dist.distributed_c10d._get_default_store()
    except Exception:  # pragma: no cover - torch without it, or the group was torn down
        getter = getattr(group, "get_group_store", None)
        try:
            return getter() if getter is not None else None
        except Exception:
            return None


def _abort(group: Any) -> None:
    """Abort the process group: after a fault the ranks stand at different collectives, and any later
    collective would pair the wrong operations or wait for ever. ``dist.is_initialized()`` is then False."""
    try:
        if group is None or group is dist.group.WORLD:
            dist.distributed_c10d._abort_process_group()
        else:  # pragma: no cover - range_test runs on the default group
            dist.distributed_c10d._abort_process_group(group)
    except Exception as exc:  # pragma: no cover - depends on the torch version and backend
        log.debug("could not abort the process group: %s", exc)
        with contextlib.suppress(Exception):
            group.abort()


class FaultChannel:
    """Where a rank says it failed (the process group's store), and where the others read it."""

    def __init__(self, group: Any, run: int, what: str = "range_test") -> None:
        self.group = group
        self.rank = dist.get_rank(group)
        self.world = dist.get_world_size(group)
        self.prefix = f"lrscope/{what}/{run}/fault/"
        self.store = _store(group)

    def report(self, text: str) -> None:
        if self.store is None:
            return
        try:
            self.store.set(f"{self.prefix}{self.rank}", text[:_MAX_FAULT_TEXT])
        except Exception as exc:  # pragma: no cover - the store went away with its host
            log.debug("could not write the fault to the store: %s", exc)

    def peer(self) -> tuple[int, str] | None:
        """The lowest other rank that reported a fault in this run, and its text."""
        if self.store is None:
            return None
        for r in range(self.world):
            if r == self.rank:
                continue
            key = f"{self.prefix}{r}"
            try:
                if self.store.check([key]):
                    return r, bytes(self.store.get(key)).decode("utf-8", "replace")
            except Exception:  # the store's host (often rank 0's process) is gone
                return None
        return None


def _fault_text(exc: BaseException) -> str:
    if isinstance(exc, (_Interrupted, KeyboardInterrupt)):
        return "KeyboardInterrupt"
    return f"{type(exc).__name__}: {exc}"


def rank_fault(exc: BaseException, channel: FaultChannel, group: Any, what: str) -> BaseException:
    """What this rank raises after ``exc`` ended ``what`` (e.g. "the range test") on it, once it has
    told the others or learnt which rank failed first; the group is aborted either way.

    An exception of this rank's own (anything but a collective's error, or Ctrl-C) is written to the
    store under this rank and raised as it is. A collective's error (a peer aborted, or the group's
    timeout) raises :class:`RankFailedError` naming the rank that reported, if one did.
    """
    own = isinstance(exc, (_Interrupted, KeyboardInterrupt)) or not isinstance(exc, (RuntimeError, dist.DistError))
    peer = None if own else channel.peer()
    if peer is None:
        channel.report(f"rank {channel.rank}: {_fault_text(exc)}")
        _abort(group)
        return KeyboardInterrupt() if isinstance(exc, _Interrupted) else exc
    rank, text = peer
    _abort(group)
    return RankFailedError(
        f"{what} failed on another process: {text}. This rank ({channel.rank}) stopped at its next "
        "collective operation; its model and optimizer are restored, and the process group was aborted "
        "(the ranks stopped at different collectives, so it cannot be used again): end the processes",
        rank,
    )


@contextlib.contextmanager
def fault_guard(group: Any, what: str) -> Iterator[None]:
    """Run a block (``what``, e.g. "verify_suggestion") on every rank of ``group``; when it fails on one
    rank, the others raise :class:`RankFailedError` naming it (see :func:`rank_fault`) instead of a
    bare collective error."""
    channel = FaultChannel(group, next(_runs), what.replace(" ", "_"))
    try:
        yield
    except BaseException as exc:
        fault = rank_fault(exc, channel, group, what)
        if fault is exc:
            raise
        raise fault from exc


# ----------------------------------------------------------------------------- the engine


class DistributedEngine(TorchEngine):
    """The torch engine on one rank of a process group: records ``[loss * n, n]`` pairs, reduces them
    across ranks at each chunk boundary, agrees on data running out, and reports faults by rank.

    Built by :func:`lrscope.torch.range_test` when ``torch.distributed`` is initialised with a world
    size above one; see the module's documentation.
    """

    def __init__(
        self,
        s: TorchSettings,
        spec: SweepSpec,
        model: nn.Module,
        optimizer: torch.optim.Optimizer,
        forward: Callable[[Any], tuple[Any, Any, Any]],
        train_data: Iterable[Any],
        val_data: Iterable[Any] | None,
        *,
        group: Any,
    ) -> None:
        self.filler = False  # the current micro-batch replays the last one: this rank's data ran out

        def weighted_forward(batch: Any) -> tuple[Any, Any, Any]:
            loss, outputs, targets = forward(batch)
            if self.filler:
                loss = loss * 0.0  # keeps DDP's collectives in step, moves nothing
            return loss, outputs, targets

        super().__init__(s, spec, model, optimizer, weighted_forward, train_data, val_data)
        self.group = group
        self.rank = dist.get_rank(group)
        self.world = dist.get_world_size(group)
        self.backend = str(dist.get_backend(group))
        self.comm = comm_device(group, s.device)
        self.faults = FaultChannel(group, next(_runs))
        self.to_host = self._to_host
        self.limit = self._limit
        self.ddp = isinstance(model, nn.parallel.DistributedDataParallel)
        self.prefetched: Any = None
        self.last: Any = None
        self.micro = 0  # micro-batches drawn (fillers included)
        self.ran_out_at: int | None = None  # the first filler micro-batch
        self.points_agreed = 0
        self.counts: list[list[float]] = []

    # -------------------------------------------------------------- what is recorded

    def _pair(self, value: torch.Tensor, batch: Any, *, filler: bool) -> torch.Tensor:
        v = value.detach().reshape(()).float()
        n = 0.0 if filler else float(batch_size(batch) or 1)
        return torch.stack([v * n, torch.full_like(v, n)])

    def loss_value(self, loss: torch.Tensor, batch: Any) -> torch.Tensor:
        """``[loss * n, n]``: the global mean is their sum over ranks, divided (weight 0 for a filler)."""
        return self._pair(loss, batch, filler=self.filler)

    def metric_value(self, outputs: Any, targets: Any) -> torch.Tensor:
        m = super().metric_value(outputs, targets)
        return self._pair(m, targets if batch_size(targets) is not None else outputs, filler=self.filler)

    def evaluate(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        filler, self.filler = self.filler, False  # the validation batches are real ones
        try:
            out: tuple[torch.Tensor, torch.Tensor | None] = self._guard(super().evaluate)
            return out
        finally:
            self.filler = filler

    # -------------------------------------------------------------- read-back and agreement (collectives)

    def _to_host(self, values: Any) -> np.ndarray:
        """The driver's read-back: pairs become global means (SUM), flags 'any rank' (MAX)."""
        vals = list(values)
        try:
            if vals and vals[0].dim() == 1:
                return all_means(vals, self.group)
            return any_rank(vals, self.group, self.s.device)
        except KeyboardInterrupt as exc:
            raise _Interrupted() from exc

    def _limit(self, points: int) -> int:
        """How many of the chunk's ``points`` every rank completed on real batches (a MIN all-reduce)."""
        local = points
        if self.ran_out_at is not None:
            per_point = self.spec.steps_per_lr * self.s.accumulation_steps
            local = max(0, min(points, self.ran_out_at // per_point - self.points_agreed))
        try:
            agreed = min_over_ranks(local, self.group, self.s.device)
        except KeyboardInterrupt as exc:
            raise _Interrupted() from exc
        self.points_agreed += agreed
        return agreed

    # -------------------------------------------------------------- the steps

    def _guard(self, fn: Callable[[], Any]) -> Any:
        try:
            return fn()
        except KeyboardInterrupt as exc:
            raise _Interrupted() from exc

    def next_batch(self) -> Any:
        if self.prefetched is not None:
            batch, self.prefetched = self.prefetched, None
            self.micro += 1
            return batch
        raw = self.stream.next()
        self.micro += 1
        if raw is END:
            if self.ran_out_at is None:
                self.ran_out_at = self.micro - 1
            self.filler = True
            return self.last
        self.filler = False
        self.last = self._move(raw)
        return self.last

    def _move(self, raw: Any) -> Any:
        from lrscope.torch.batches import to_device

        return to_device(raw, self.s.device) if self.move else raw

    def micro_step(self, sweep: Any) -> None:
        k = self.s.accumulation_steps
        last = (self.micro + 1) % k == 0 or k == 1
        sync = contextlib.nullcontext() if last or not self.ddp else self.model.no_sync()  # type: ignore[operator]
        with sync:
            self._guard(lambda: TorchEngine.micro_step(self, sweep))

    def optimizer_step(self, sweep: Any) -> None:
        self._guard(lambda: TorchEngine.optimizer_step(self, sweep))

    def start(self) -> None:
        """Take the validation subset and the first batch, and agree on them across ranks (one
        all-gather): every rank must have a training batch, and all evaluate the same number of
        validation batches (the shortest rank's; a DDP forward may broadcast buffers)."""

        def local() -> Exception | None:
            try:
                super(DistributedEngine, self).start()
            except ValueError as exc:
                if self.val_cache:
                    raise
                return exc
            return None

        val_error = self._guard(local)
        raw = self._guard(self.stream.next)
        if raw is not END:
            self.prefetched = self.last = self._move(raw)
        has_val = self.val_data is not None
        row = [0.0 if raw is END else 1.0, float(len(self.val_cache)) if has_val else 0.0]
        rows = self._guard(lambda: gather_rows(row, self.group, self.s.device))
        empty = [r for r, got in enumerate(rows) if got[0] == 0]
        if empty:
            raise _Agreed(ValueError(
                f"Argument `train_data` yielded no batches on rank(s) {empty} of {self.world}. "
                "Received: an empty train_data there (each rank needs its own shard, e.g. a DistributedSampler)"
            ))
        if has_val:
            no_val = [r for r, got in enumerate(rows) if got[1] == 0]
            if no_val:
                raise _Agreed(ValueError(
                    f"Argument `val_data` yielded no batches on rank(s) {no_val} of {self.world}. "
                    f"Received: an empty val_data there ({val_error or 'every rank needs validation batches'})"
                ))
            shortest = int(min(got[1] for got in rows))
            del self.val_cache[shortest:]

    def run(self, sweep: Any) -> None:
        try:
            super().run(sweep)
            first = batch_size(self.stream.first) or 0
            self.counts = self._guard(
                lambda: gather_rows([self.stream.total, self.stream.passes, first], self.group, self.s.device)
            )
        except _Agreed as agreed:
            raise agreed.error from None
        except BaseException as exc:
            raise self._fault(exc) from (exc if not isinstance(exc, _Interrupted) else None)

    def _fault(self, exc: BaseException) -> BaseException:
        """What this rank raises after a fault, once it has told the others (or learnt who failed)."""
        return rank_fault(exc, self.faults, self.group, "the range test")

    # -------------------------------------------------------------- result

    def data_counts(self) -> tuple[int, int]:
        if not self.counts:
            return super().data_counts()
        return int(sum(c[0] for c in self.counts)), int(max(c[1] for c in self.counts))

    def extra_config(self) -> dict[str, Any]:
        per_rank = [int(c[2]) for c in self.counts] if self.counts else None
        return {
            "distributed": "torch.distributed",
            "world_size": self.world,
            "backend": self.backend,
            "device": self.s.device.type,  # cuda:0, cuda:1 ... per rank: the type is the same on every one
            "batch_size": sum(per_rank) if per_rank else None,
            "batch_size_per_rank": per_rank,
        }
