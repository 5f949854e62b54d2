"""The sweep driver: what a range test does that is not a framework's (numpy only).

An engine (PyTorch, Keras, distributed PyTorch) runs the steps; this driver owns the rest:

* the LR plan (:attr:`Sweep.lrs`) and the point count;
* the values the engine records while it steps (losses, metric values, validation losses, skipped
  steps), kept *pending* in the engine's own form (device tensors, backend arrays) until a chunk of
  ``chunk_size`` points is complete; then **one** read-back per kind through the engine's
  ``to_host`` (the only host-device synchronisation of the sweep), the shared
  :class:`~lrscope.analysis.StopRule` fed in one call, and the progress bar moved;
* the end of the sweep: a stop decision, the data running out, Ctrl-C, a ``StopIteration`` from
  user code (:meth:`Sweep.running`); steps run past a stop point are discarded;
* the notes and the :class:`~lrscope.result.RangeTestResult`.

An engine's loop reads, in outline::

    sweep = Sweep(spec, to_host=..., micro_steps=k)
    with sweep.running():
        for i, lr in enumerate(sweep.lrs):
            set_lr(lr)
            ... forward/backward/step; sweep.record_loss(loss) per micro-batch ...
            if sweep.point_done():
                break
    result = sweep.result(engine_config, notes, batches=..., passes=...)
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from lrscope.analysis.stop import STOP_COMPLETED, STOP_EXHAUSTED, STOP_INTERRUPTED
from lrscope.result import RangeTestResult
from lrscope.sweep.checks import SweepSpec

__all__ = ["Sweep", "DataExhausted"]

log = logging.getLogger(__name__)

ToHost = Callable[[Sequence[Any]], np.ndarray]


class DataExhausted(Exception):
    """Raised by an engine (only) when the training batches ran out: never a user's StopIteration."""


def progress_bar(enabled: bool, total: int) -> Any:
    """A tqdm bar on stderr, or None (tqdm is an extra: no bar without it)."""
    if not enabled:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:
        log.debug("tqdm is not installed: no progress bar (pip install 'lrscope[torch]')")
        return None
    return tqdm(total=total, desc="LR range test", unit="step", file=sys.stderr, leave=False, dynamic_ncols=True)


class _Running:
    """The context of :meth:`Sweep.running` (a class: contextlib's generator form would turn the
    RuntimeError raised from a user's StopIteration back into the StopIteration)."""

    def __init__(self, sweep: Sweep, batches: Callable[[], int]) -> None:
        self.sweep, self.batches = sweep, batches

    def __enter__(self) -> Sweep:
        self.sweep.bar = progress_bar(self.sweep.spec.progress, self.sweep.spec.num_steps)
        return self.sweep

    def __exit__(self, typ: Any, exc: BaseException | None, tb: Any) -> bool:
        try:
            return exc is not None and self.sweep._end_early(exc, self.batches())
        finally:
            if self.sweep.bar is not None:
                self.sweep.bar.close()


class Sweep:
    """One range test's bookkeeping: the plan, pending values, chunked read-back, stop, result.

    Args:
        spec: the checked sweep settings.
        to_host: turns a list of the engine's scalar values (0-d tensors, arrays, floats) into a 1-D
            float64 numpy array, in one transfer. A distributed engine reduces across ranks here.
        micro_steps: loss values recorded per optimizer step (gradient accumulation); a point's loss
            is the mean of its ``steps_per_lr * micro_steps`` values.
        has_val: validation losses will be recorded.
        metric_name: the metric recorded per point (or None).
        limit: for engines whose processes draw their own data (torch.distributed): called at each
            chunk boundary with the number of complete pending points, returns how many of them
            *every* process completed (the others ran on filler batches after their data ran out).
            Fewer ends the sweep there with stop reason ``"data exhausted"`` on every process.
    """

    def __init__(
        self,
        spec: SweepSpec,
        *,
        to_host: ToHost,
        micro_steps: int = 1,
        has_val: bool = False,
        metric_name: str | None = None,
        data_name: str = "train_data",
        limit: Callable[[int], int] | None = None,
    ) -> None:
        self.spec = spec
        self.lrs = spec.lrs()
        self.to_host = to_host
        self.per_point = spec.steps_per_lr * micro_steps
        self.has_val = has_val
        self.metric_name = metric_name
        self.data_name = data_name
        self.limit = limit
        self.rule = spec.stop_rule()
        n = spec.num_steps
        # recorded (host) arrays
        self.losses: list[float] = []
        self.val = np.full(n, np.nan)
        self.metric = np.full(n, np.nan)
        self.skipped: list[int] = []
        # the engine's pending values of the current chunk
        self._loss: list[Any] = []
        self._metric: list[Any] = []
        self._val: list[tuple[int, Any, Any]] = []
        self._skip: list[Any] = []
        self._done = 0  # complete points waiting in the pending lists
        self.stop_reason = STOP_COMPLETED
        self.stop_detail = ""
        self.stop_at: int | None = None  # index of the last kept point
        self.interrupt: BaseException | None = None
        self.bar: Any = None

    # ------------------------------------------------------------------ recording (engine, per step)

    def record_loss(self, value: Any) -> None:
        """One micro-batch's loss, in the engine's form (kept until the chunk is read back)."""
        self._loss.append(value)

    def record_metric(self, value: Any) -> None:
        """One micro-batch's training metric."""
        self._metric.append(value)

    def record_skip(self, flag: Any) -> None:
        """One optimizer step's 'the scaler skipped it' flag (a boolean scalar)."""
        self._skip.append(flag)

    def val_due(self, i: int) -> bool:
        """Whether point ``i`` is one where the validation subset is evaluated."""
        return self.has_val and i % self.spec.val_every == 0

    def record_val(self, i: int, loss: Any, metric: Any = None) -> None:
        """Point ``i``'s validation loss (and metric) over the fixed subset."""
        self._val.append((i, loss, metric))

    def point_done(self) -> bool:
        """A point's steps are done; read back at a chunk's end. True: stop the sweep."""
        self._done += 1
        if self._done == self.spec.chunk_size or len(self.losses) + self._done == self.spec.num_steps:
            return self._flush()
        return False

    # ------------------------------------------------------------------ read-back

    def _flush(self) -> bool:
        """Read back the complete pending points; feed the stop rule. True = stop."""
        points, self._done = self._done, 0
        short = False
        if self.limit is not None and points:
            agreed = self.limit(points)
            short, points = agreed < points, min(points, agreed)
        base = len(self.losses)
        pp = self.per_point
        if points:
            vals = self.to_host(self._loss[: points * pp])
            vals = vals.reshape(points, pp).mean(axis=1) if pp > 1 else vals
            self.losses.extend(vals.tolist())
            if self._metric:
                mv = self.to_host(self._metric[: points * pp])
                self.metric[base : base + points] = mv.reshape(points, pp).mean(axis=1)
            if self._skip:
                spl = self.spec.steps_per_lr
                sk = self.to_host(self._skip[: points * spl]).reshape(points, spl)
                self.skipped.extend((base + np.nonzero(sk.any(axis=1))[0]).tolist())
        kept_val = [(i, v, m) for i, v, m in self._val if i < base + points]
        if kept_val:
            vv = self.to_host([v for _, v, _ in kept_val])
            idx = [i for i, _, _ in kept_val]
            self.val[idx] = np.where(np.isfinite(vv), vv, np.inf)
            if kept_val[0][2] is not None:
                self.metric[idx] = self.to_host([m for _, _, m in kept_val])
        self._loss.clear()
        self._metric.clear()
        self._val.clear()
        self._skip.clear()
        if not points:
            return self._ran_out(short)
        decision = self.rule.update_many(np.asarray(self.losses[base:], dtype=np.float64))
        if self.bar is not None:
            # the postfix first, so the redraw update() triggers shows this chunk's last recorded point
            # (after a stop, the stop point: the steps run past it are discarded, and not counted)
            last = base + points - 1 if decision is None else decision.index
            self.bar.set_postfix_str(f"lr={self.lrs[last]:.3g} loss={self.rule.smoothed:.4g}", refresh=False)
            self.bar.update(last + 1 - base)
        if decision is not None:
            self.stop_reason, self.stop_detail, self.stop_at = decision.reason, decision.detail, decision.index
            return True
        return self._ran_out(short)

    def _ran_out(self, short: bool) -> bool:
        """After a chunk cut short by :attr:`limit`: end the sweep, 'data exhausted' (True = stop)."""
        if not short:
            return False
        self.stop_reason = STOP_EXHAUSTED
        self.stop_detail = (
            f"the data ran out on at least one process at step {len(self.losses)} of {self.spec.num_steps}"
        )
        self.stop_at = len(self.losses) - 1 if self.losses else None
        return True

    # ------------------------------------------------------------------ the run

    def running(self, batches: Callable[[], int] = lambda: 0) -> _Running:
        """Around the engine's loop: the progress bar, and every way a sweep ends early.

        :class:`DataExhausted` ends the sweep with stop reason ``"data exhausted"``;
        ``KeyboardInterrupt`` with ``"interrupted"`` (kept in :attr:`interrupt` to re-raise after
        restoring when ``on_interrupt="raise"``); a ``StopIteration`` from user code becomes a
        ``RuntimeError``. ``batches()`` tells how many batches the engine has drawn (for the notes).
        """
        return _Running(self, batches)

    def _end_early(self, exc: BaseException, batches: int) -> bool:
        """Handle an exception that ended the loop; True when it is consumed (the sweep just ends)."""
        n = self.spec.num_steps
        if isinstance(exc, DataExhausted):
            self._flush()
            if self.stop_at is None:
                self.stop_reason = STOP_EXHAUSTED
                self.stop_detail = f"the data ran out after {batches} batches, at step {len(self.losses)} of {n}"
            return True
        if isinstance(exc, KeyboardInterrupt):
            self._flush()
            if self.stop_at is None:
                self.stop_reason = STOP_INTERRUPTED
                self.stop_detail = f"interrupted (KeyboardInterrupt) at step {len(self.losses)} of {n}"
            if self.spec.on_interrupt == "raise":
                self.interrupt = exc
            return True
        if isinstance(exc, StopIteration):
            # Only DataExhausted means the data ran out; a StopIteration from the model, loss, step or
            # metric function is a bug there. Let it out as an error (as PEP 479 does for generators),
            # never as a silent "data exhausted" - nor bare, where a caller's loop could swallow it.
            raise RuntimeError(
                "StopIteration was raised during the range test by the model, loss_fn, step_fn or metric (not by "
                f"{self.data_name} running out; that ends the test normally). Received: StopIteration"
                f"({', '.join(map(repr, exc.args))})"
            ) from exc
        return False

    @property
    def kept(self) -> int:
        """Points in the result: up to the stop point."""
        return len(self.losses) if self.stop_at is None else self.stop_at + 1

    def check_ran(self, batches: int, per_step: int) -> None:
        """Raise for data that yielded no batch, or too few for one step (after the state is restored)."""
        if batches == 0 and self.stop_reason != STOP_INTERRUPTED:
            raise ValueError(f"Argument `{self.data_name}` yielded no batches. Received: an empty {self.data_name}")
        if self.kept == 0 and self.interrupt is None and self.stop_reason == STOP_EXHAUSTED:
            raise ValueError(
                f"Argument `{self.data_name}` ran out after {batches} batches, before one sweep step "
                f"({per_step} batches) was complete. Received: too few batches"
            )

    def result(
        self,
        config: dict[str, Any],
        notes: Sequence[str] = (),
        *,
        batches: int,
        passes: int,
        restored: bool,
    ) -> RangeTestResult:
        """The :class:`RangeTestResult`: the kept points, the shared config and notes plus the engine's."""
        kept = self.kept
        all_notes: list[str] = []
        if passes > 1:
            all_notes.append(
                f"{self.data_name} was cycled: the sweep used {batches} batches, {passes} passes over data "
                "shorter than the sweep (the model saw batches again)."
            )
        all_notes.extend(notes)
        if self.skipped:
            sk = [j for j in self.skipped if j < kept]
            if sk:
                all_notes.append(
                    f"The GradScaler skipped the optimizer step (inf/NaN gradients) at {len(sk)} point(s): "
                    f"{sk[:20]}{' ...' if len(sk) > 20 else ''}; the weights did not move there."
                )
        if self.stop_reason != STOP_COMPLETED and kept < self.spec.num_steps:
            log.info("range test stopped after %d of %d steps: %s", kept, self.spec.num_steps, self.stop_detail)
        full = dict(config)
        full.update(self.spec.config())
        full.update(
            {
                "val_batches": self.spec.val_batches if self.has_val else None,
                "val_every": self.spec.val_every if self.has_val else None,
                "restored": bool(restored),
                "batches_used": batches,
                "skipped_steps": [j for j in self.skipped if j < kept],
            }
        )
        return RangeTestResult(
            lrs=np.asarray(self.lrs[:kept], dtype=np.float64),
            losses=np.asarray(self.losses[:kept], dtype=np.float64),
            val_losses=self.val[:kept] if self.has_val else None,
            metrics={self.metric_name: self.metric[:kept]} if self.metric_name is not None else {},
            steps=np.arange(kept, dtype=np.int64) * self.spec.steps_per_lr,
            sweep=self.spec.mode,
            stop_reason=self.stop_reason,
            stop_detail=self.stop_detail,
            config=full,
            notes=all_notes,
        )
