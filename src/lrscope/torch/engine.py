"""The PyTorch LR range test engine: :func:`range_test`.

What one step does (the hot path), and nothing else that costs:

1. set the step's LR in every param group (plain Python floats; ``Tensor`` LRs are ``fill_``-ed),
2. for each of ``accumulation_steps`` micro-batches: forward, loss, ``backward`` of ``loss / k``,
   and ``losses.append(loss.detach())`` — the loss stays on the device,
3. optional gradient clipping, the optimizer step (through the ``GradScaler`` under AMP),
   ``zero_grad(set_to_none=True)``.

Every ``chunk_size`` points the recorded losses are stacked and copied to the host in **one**
transfer, fed to the shared :class:`~lrscope.analysis.StopRule` (``update_many``) and the progress
bar. No ``.item()`` or other host-device synchronisation happens per step, so on an accelerator the
host keeps queueing work. The price: the divergence check lags by at most one chunk — up to
``chunk_size - 1`` extra steps may run after the step that diverged. Those steps are discarded, so
the returned curve ends exactly at the stop point whatever the chunk size (the model is restored
anyway). On the CPU the read-back is a no-op copy and the same code path runs.

(Under AMP the ``GradScaler`` itself synchronises once per step — PyTorch's ``scaler.step`` reads
its found-inf flag — which is a cost of AMP training, not of the range test.)
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Literal

import numpy as np
import torch
from torch import nn

from lrscope.analysis.stop import DEFAULT_DIVERGE_THRESHOLD
from lrscope.result import RangeTestResult
from lrscope.sweep import END, BatchStream, DataExhausted, Sweep, SweepSpec, check_sweep
from lrscope.sweep.checks import DEFAULT_NUM_STEPS
from lrscope.torch.batches import batch_size, check_loss, data_generators, make_forward, to_device
from lrscope.torch.checks import TorchSettings, check_objects, check_torch
from lrscope.torch.integrations.schedulefree import eval_mode as sf_eval_mode
from lrscope.torch.integrations.schedulefree import schedule_free_notes
from lrscope.torch.state import preserve_state

__all__ = ["range_test", "accuracy"]

log = logging.getLogger(__name__)

SweepMode = Literal["exp", "linear"]
MetricOn = Literal["auto", "train", "val"]


# ----------------------------------------------------------------------------- small public helpers


def accuracy(outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Classification accuracy of a batch, as a 0-d tensor on the outputs' device (no sync).

    * ``outputs`` ``(N, C)`` logits (C >= 2) with class-index targets ``(N,)`` or one-hot /
      probability targets ``(N, C)``: ``mean(argmax(outputs) == target class)``;
    * a single logit per sample (``(N,)`` or ``(N, 1)``) with 0/1 targets:
      ``mean((outputs > 0) == (targets > 0.5))``.

    Args:
        outputs: the model's outputs (logits).
        targets: class indices, one-hot rows, or 0/1 labels.

    Returns:
        A 0-d float tensor in [0, 1].

    Raises:
        ValueError: when the shapes fit none of the cases above.

    Example:
        >>> float(accuracy(torch.tensor([[2.0, 0.0], [0.0, 1.0]]), torch.tensor([0, 0])))
        0.5
    """
    if outputs.dim() >= 2 and outputs.shape[-1] >= 2:
        pred = outputs.argmax(dim=-1)
        if targets.shape == outputs.shape:
            targets = targets.argmax(dim=-1)
        if pred.shape != targets.shape:
            raise ValueError(
                f"accuracy: outputs of shape {tuple(outputs.shape)} need class-index targets of shape "
                f"{tuple(pred.shape)} or one-hot targets of the outputs' shape. Received: targets of shape "
                f"{tuple(targets.shape)}"
            )
        return (pred == targets).float().mean()
    out = outputs.reshape(-1)
    tgt = targets.reshape(-1)
    if out.shape != tgt.shape:
        raise ValueError(
            f"accuracy: binary outputs of shape {tuple(outputs.shape)} need one 0/1 target per sample. "
            f"Received: targets of shape {tuple(targets.shape)}"
        )
    return ((out > 0) == (tgt > 0.5)).float().mean()


# ----------------------------------------------------------------------------- the engine


def to_host(values: Any) -> np.ndarray:
    """Stack 0-d device tensors and copy them to the host as float64: the sweep's only device-to-host
    read-back (and so its only host-device synchronisation), called by the driver once per value kind
    at each chunk boundary."""
    return torch.stack(list(values)).to("cpu", torch.float64).numpy()


class TorchEngine:
    """What one sweep step is in PyTorch: set the LR, forward/backward/step (AMP, clipping, accumulation).

    The driver (:class:`lrscope.sweep.Sweep`) keeps everything else. A distributed engine subclasses
    this one and changes only what it records and how it reads back.
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
    ) -> None:
        self.s, self.spec, self.model, self.optimizer, self.forward = s, spec, model, optimizer, forward
        self.stream = BatchStream(train_data)
        self.val_data = val_data
        self.val_cache: list[Any] = []
        self.move = s.device.type != "cpu"
        groups = optimizer.param_groups
        self.group_setters = list(zip(groups, s.ratios, [isinstance(g["lr"], torch.Tensor) for g in groups]))
        self.single = len(groups) == 1 and not self.group_setters[0][2]
        self.clip_params = [p for g in groups for p in g["params"]]
        scaler = s.scaler
        self.scaler = scaler if scaler is not None and scaler.is_enabled() else None
        self.track_skip = self.scaler is not None and isinstance(getattr(self.scaler, "_scale", None), (torch.Tensor, type(None)))
        self.first = True
        #: the driver's read-back of pending values (a distributed engine reduces across processes)
        self.to_host: Callable[[Any], np.ndarray] = to_host
        #: the chunk-boundary agreement on complete points (None: one process, nothing to agree)
        self.limit: Callable[[int], int] | None = None

    def autocast(self) -> Any:
        dtype = self.s.amp_dtype
        return torch.autocast(self.s.device.type, dtype=dtype) if dtype is not None else contextlib.nullcontext()

    def set_lr(self, lr: float) -> None:
        if self.single:
            self.optimizer.param_groups[0]["lr"] = lr
            return
        for g, r, is_tensor in self.group_setters:
            if is_tensor:
                g["lr"].fill_(lr * r)
            else:
                g["lr"] = lr * r

    def next_batch(self) -> Any:
        batch = self.stream.next()
        if batch is END:
            raise DataExhausted
        return to_device(batch, self.s.device) if self.move else batch

    def loss_value(self, loss: torch.Tensor, batch: Any) -> torch.Tensor:
        """What the driver records for one micro-batch (the distributed engine records [sum, n])."""
        return loss.detach().reshape(())  # any 1-element loss, (1,) included

    def micro_step(self, sweep: Sweep) -> None:
        """One micro-batch: forward, record the loss (and metric), backward."""
        batch = self.next_batch()
        with self.autocast():
            loss, outputs, targets = self.forward(batch)
        if self.first:
            check_loss(loss)
            self.first = False
        sweep.record_loss(self.loss_value(loss, batch))
        if self.s.metric_fn is not None and self.s.metric_on == "train":
            sweep.record_metric(self.metric_value(outputs.detach(), targets))
        k = self.s.accumulation_steps
        if k > 1:
            loss = loss / k
        if self.s.backward is not None:
            self.s.backward(loss)  # e.g. accelerator.backward (it scales the loss itself)
        else:
            (loss if self.scaler is None else self.scaler.scale(loss)).backward()

    def metric_value(self, outputs: Any, targets: Any) -> torch.Tensor:
        assert self.s.metric_fn is not None
        return torch.as_tensor(self.s.metric_fn(outputs, targets)).float()

    def optimizer_step(self, sweep: Sweep) -> None:
        """Clip, step (through the scaler under AMP), record a skipped step, zero the gradients."""
        clip, scaler, opt = self.s.max_grad_norm, self.scaler, self.optimizer
        if scaler is None:
            if clip is not None:
                torch.nn.utils.clip_grad_norm_(self.clip_params, clip)
            opt.step()
        else:
            if clip is not None:
                scaler.unscale_(opt)
                torch.nn.utils.clip_grad_norm_(self.clip_params, clip)
            prev = scaler._scale.clone() if self.track_skip and scaler._scale is not None else None
            scaler.step(opt)
            scaler.update()
            if self.track_skip:
                # a skipped step (inf/NaN gradients) is exactly one where update() backed the scale off
                sweep.record_skip(scaler._scale < prev if prev is not None else torch.zeros((), dtype=torch.bool))
        opt.zero_grad(set_to_none=True)

    def fetch_val_subset(self) -> None:
        """The fixed validation subset, taken once inside the sweep (after the snapshot: a shuffled
        loader draws RNG; and a Ctrl-C while it is fetched honours on_interrupt)."""
        assert self.val_data is not None
        for b in self.val_data:
            self.val_cache.append(to_device(b, self.s.device) if self.move else b)
            if len(self.val_cache) >= self.spec.val_batches:
                break
        if not self.val_cache:
            raise ValueError("Argument `val_data` yielded no batches. Received: an empty val_data")

    def evaluate(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Mean loss (and metric) over the validation subset, in eval mode, flags restored after."""
        modules = list(self.model.modules())
        flags = [m.training for m in modules]
        metric_val = self.s.metric_fn is not None and self.s.metric_on == "val"
        tot: torch.Tensor | None = None
        mtot: torch.Tensor | None = None
        self.model.eval()
        try:
            with torch.no_grad(), self.autocast(), (sf_eval_mode(self.optimizer) if self.s.schedule_free else contextlib.nullcontext()):
                for vb in self.val_cache:
                    vloss, vout, vtgt = self.forward(vb)
                    v = self.loss_value(vloss.float(), vb)
                    tot = v if tot is None else tot + v
                    if metric_val:
                        mv = self.metric_value(vout, vtgt).to(v.device)
                        mtot = mv if mtot is None else mtot + mv
        finally:
            for m, f in zip(modules, flags):
                m.training = f
        assert tot is not None
        return tot / len(self.val_cache), (None if mtot is None else mtot / len(self.val_cache))

    def start(self) -> None:
        """Inside the sweep, before its first step: take the validation subset."""
        if self.val_data is not None:
            self.fetch_val_subset()

    def data_counts(self) -> tuple[int, int]:
        """Batches drawn and passes over the data (for the notes and ``config["batches_used"]``)."""
        return self.stream.total, self.stream.passes

    def extra_config(self) -> dict[str, Any]:
        """Entries the engine adds to ``result.config`` (the distributed engine's world size ...)."""
        return {}

    def run(self, sweep: Sweep) -> None:
        """The sweep's loop: per point, set the LR, the steps, maybe an evaluation; the driver decides."""
        self.optimizer.zero_grad(set_to_none=True)
        if self.s.schedule_free:
            self.optimizer.train()  # type: ignore[attr-defined]  # after the snapshot; restored with it
        try:
            with sweep.running(lambda: self.stream.total):
                self.start()
                for i, lr in enumerate(sweep.lrs):
                    self.set_lr(lr)
                    for _ in range(self.spec.steps_per_lr):
                        for _ in range(self.s.accumulation_steps):
                            self.micro_step(sweep)
                        self.optimizer_step(sweep)
                    if sweep.val_due(i) and self.val_cache:
                        sweep.record_val(i, *self.evaluate())
                    if sweep.point_done():
                        break
        finally:
            self.optimizer.zero_grad(set_to_none=True)


@contextlib.contextmanager
def _restoring(
    model: nn.Module, optimizer: torch.optim.Optimizer, s: TorchSettings, data: list[Any], *, restore: bool,
    snapshot: Any, snapshot_dir: Any,
) -> Iterator[None]:
    """Model, optimizer, the user's scaler, the RNGs and the data loaders' own generators, put back."""
    generators = [g for d in data if d is not None for g in data_generators(d)]
    gen_states = [g.get_state() for g in generators] if restore else []
    try:
        with preserve_state(
            model, optimizer, s.scaler if s.scaler_is_users else None, storage=snapshot, directory=snapshot_dir, restore=restore
        ):
            yield
    finally:
        for g, st in zip(generators, gen_states):
            g.set_state(st)


def _notes(s: TorchSettings, was_training: bool, engine: TorchEngine | None = None) -> list[str]:
    notes = []
    if s.schedule_free and engine is not None:
        notes.extend(schedule_free_notes(engine.optimizer, engine.model, has_val=engine.val_data is not None))
    if not was_training:
        notes.append(
            "The model was in eval mode: dropout and BatchNorm ran in inference mode during the sweep "
            "(call model.train() first unless that was intended)."
        )
    if len(s.ratios) > 1:
        notes.append(
            f"{len(s.ratios)} param groups: every group's LR followed the sweep times its ratio to group 0 "
            f"({', '.join(f'{r:.3g}' for r in s.ratios)}); the recorded LRs are group 0's."
        )
    return notes


def _plain_number(v: Any) -> float | None:
    """A JSON-ready float from an optimizer hyper-parameter (a float, or a 0-d tensor), else None."""
    try:
        f = float(v)
    except (TypeError, ValueError, RuntimeError):
        return None
    return f if math.isfinite(f) else None


def _plain_bool(v: Any) -> bool | None:
    return v if isinstance(v, bool) else None


def _config(s: TorchSettings, optimizer: torch.optim.Optimizer, engine: TorchEngine, train_data: Any) -> dict[str, Any]:
    return {
        "engine": "torch",
        "torch_version": torch.__version__,
        "accumulation_steps": s.accumulation_steps,
        "optimizer": type(optimizer).__name__,
        # SGD's momentum and Nesterov flag (first group): the learned reader's optimizer family needs them
        "momentum": _plain_number(optimizer.param_groups[0].get("momentum")),
        "nesterov": _plain_bool(optimizer.param_groups[0].get("nesterov")),
        "param_groups": len(s.ratios),
        "lr_ratios": s.ratios,
        "batch_size": getattr(train_data, "batch_size", None) or batch_size(engine.stream.first),
        "device": str(s.device),
        "amp": None if s.amp_dtype is None else str(s.amp_dtype).replace("torch.", ""),
        "grad_scaler": s.scaler is not None,
        "max_grad_norm": s.max_grad_norm,
        "metric": s.metric_name,
        "metric_on": s.metric_on,
    }


def range_test(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    train_data: Iterable[Any],
    loss_fn: Callable[[Any, Any], torch.Tensor] | None = None,
    *,
    step_fn: Callable[[nn.Module, Any], Any] | None = None,
    backward: Callable[[torch.Tensor], Any] | None = None,
    start_lr: float = 1e-7,
    end_lr: float = 10.0,
    num_steps: int | None = DEFAULT_NUM_STEPS,
    mode: SweepMode = "exp",
    steps_per_lr: int = 1,
    accumulation_steps: int = 1,
    val_data: Iterable[Any] | None = None,
    val_batches: int = 4,
    val_every: int = 1,
    metric: Literal["accuracy"] | Callable[[Any, Any], Any] | None = None,
    metric_name: str | None = None,
    metric_on: MetricOn = "auto",
    diverge_threshold: float | None = DEFAULT_DIVERGE_THRESHOLD,
    smooth_beta: float = 0.98,
    device: str | torch.device | None = None,
    amp: bool | torch.dtype = False,
    grad_scaler: Any = False,
    max_grad_norm: float | None = None,
    restore: bool = True,
    snapshot: Literal["memory", "disk"] = "memory",
    snapshot_dir: str | os.PathLike[str] | None = None,
    target_key: str | None = None,
    chunk_size: int = 16,
    progress: bool | None = None,
    on_interrupt: Literal["raise", "return"] = "raise",
) -> RangeTestResult:
    """Run an LR range test (Smith 2017, "Cyclical Learning Rates for Training Neural Networks", §3.3).

    The learning rate grows from ``start_lr`` to ``end_lr`` over ``num_steps`` optimizer steps —
    geometrically (``mode="exp"``: ``lr_i = start_lr * (end_lr/start_lr) ** (i/(num_steps-1))``) or
    linearly — while the model trains on ``train_data`` with the user's own optimizer; the raw loss of
    every step is recorded. The sweep stops early when the shared
    :class:`~lrscope.analysis.StopRule` sees divergence (smoothed loss > ``diverge_threshold`` x the
    best smoothed loss *of this sweep*, so a model that has already trained does not stop on step 1)
    or a NaN/inf loss — a result, never a crash. Afterwards the model's parameters, buffers and
    gradients, the optimizer (state and hyperparameters), the user's ``GradScaler`` and the RNGs
    (Python, NumPy, torch CPU/CUDA, and a ``DataLoader``'s own generator) are restored bit for bit
    — also when the user's code raises or on ``KeyboardInterrupt`` (see
    :func:`lrscope.torch.preserve_state`).

    Multiple param groups: each step, every group's LR is the sweep's LR times the group's ratio to
    group 0 at the start (the user's ratios are kept); the recorded ``lrs`` are group 0's.

    Args:
        model: the user's module, on ``device``.
        optimizer: the user's optimizer over the model's (trainable) parameters; its LRs are
            overwritten by the sweep and restored after.
        train_data: batches — a ``DataLoader``, a list, a generator ... A re-iterable shorter than the
            sweep is cycled (with a note in the result); a one-shot iterator that runs dry ends the test
            with stop reason ``"data exhausted"``. With ``loss_fn``, a batch is ``(inputs, targets, ...)``
            (a tuple or list; extra items ignored; ``inputs`` may be a dict of keyword arguments) or a dict
            whose targets entry is ``target_key`` (default: the first of ``target``, ``targets``, ``label``,
            ``labels``, ``y``) and whose other entries are the model's keyword arguments.
        loss_fn: ``loss_fn(model(inputs), targets) -> scalar tensor`` (any one-element tensor, e.g. of
            shape ``(1,)``, counts as a scalar). Exactly one of ``loss_fn`` and ``step_fn``.
        step_fn: ``step_fn(model, batch) -> loss`` for models that compute their own loss: return a scalar
            tensor, a mapping with ``"loss"``, or an object with ``.loss`` (e.g. Hugging Face outputs). It
            must not call ``backward`` or step the optimizer.
        backward: optional ``backward(loss)`` called instead of ``loss.backward()`` — e.g.
            ``accelerator.backward`` (see :mod:`lrscope.torch.integrations.accelerate`). It receives the
            loss already divided by ``accumulation_steps``; not with ``grad_scaler`` (it scales itself).
        start_lr: first LR (> 0).
        end_lr: last LR (> ``start_lr``).
        num_steps: points of the sweep (>= 2). Default 100, what torch-lr-finder, fastai and the usual
            PyTorch ``FindLR`` write-up use; shorter data is cycled, with a note in the result.
        mode: ``"exp"`` (geometric, default) or ``"linear"`` spacing, as ``lrscope.schedules.sweep``.
        steps_per_lr: optimizer steps each LR is held for; the point's loss is their mean.
        accumulation_steps: micro-batches per optimizer step (gradient accumulation): each one's loss is
            back-propagated divided by ``k``; the sweep advances only on real optimizer steps and the
            recorded loss is the mean of the ``k`` micro-batch losses.
        val_data: optional validation batches. Only the first ``val_batches`` are used — a fixed subset
            taken once — evaluated in ``eval()`` mode under ``no_grad`` after the optimizer step of every
            ``val_every``-th point (points ``0, k, 2k ...``); the modules' train/eval flags are restored after
            each evaluation. Recorded in ``result.val_losses`` (the mean over the subset's batches; NaN where
            not evaluated, +inf where it evaluated to NaN/inf). ``result.suggest(source=...)`` picks the curve.
        val_batches: size of the fixed validation subset, in batches.
        val_every: evaluate every this many points.
        metric: ``"accuracy"`` (see :func:`accuracy`) or ``metric(outputs, targets) -> scalar`` recorded per
            point in ``result.metrics[metric_name]`` (for the accuracy-vs-LR test that bounds a cyclical
            schedule). Needs ``loss_fn``.
        metric_name: the key in ``result.metrics`` (default ``"accuracy"`` or the function's name).
        metric_on: ``"train"`` (the training batches, each point), ``"val"`` (the validation subset, at
            evaluated points) or ``"auto"`` (``"val"`` when ``val_data`` is given).
        diverge_threshold: stop when the smoothed loss exceeds this x its best; None stops only on NaN/inf.
        smooth_beta: EMA factor of the stop rule's smoothing (and of the progress bar's loss).
        device: where batches are moved (non-blocking); must be the model's device (default: it).
        amp: autocast the forward pass: True (float16 on CUDA, bfloat16 elsewhere) or a dtype.
        grad_scaler: a ``torch.amp.GradScaler`` to use (snapshotted and restored), True to make one, False.
            A step the scaler skipped (inf/NaN gradients) is listed in ``result.config["skipped_steps"]``
            and in ``result.notes``.
        max_grad_norm: clip the global gradient norm to this (after unscaling under AMP).
        restore: False leaves the model and optimizer as the sweep left them (no snapshot taken). The
            divergence check runs once per ``chunk_size`` steps, so they are left trained up to
            ``chunk_size - 1`` steps past the stop point (after a NaN/inf loss the weights are then likely
            NaN too); pass ``chunk_size=1`` to stop right after the step that diverged (whose own update is
            still applied).
        snapshot: ``"memory"`` (host RAM, ~1x the state) or ``"disk"`` (a temporary directory, ~0 extra RAM).
        snapshot_dir: parent folder of the disk snapshot (default: the system temp dir).
        target_key: the targets' key in dict batches.
        chunk_size: points per device-to-host read-back; the divergence check lags by at most this many
            steps (the extra steps are discarded from the result, and undone unless ``restore=False``).
        progress: tqdm bar on stderr with the LR and smoothed loss; None (default) shows it only when stderr
            is a terminal (or in a Jupyter kernel) and ``$CI`` is unset; False turns it off. Needs tqdm
            (imported only here; without it, no bar).
        on_interrupt: on ``KeyboardInterrupt``, ``"raise"`` (default: restore, then re-raise) or ``"return"``
            (restore, then return the points so far with stop reason ``"interrupted"``).

    Returns:
        A :class:`~lrscope.result.RangeTestResult` (``sweep=mode``, ``config["engine"] == "torch"``) whose
        ``suggest()``, ``plot()`` and ``save()`` work at once.

    Raises:
        ValueError: on a bad argument — naming the argument, the rule and the value — before anything is
            touched; also for data that yields no batch, or a loss that is not a scalar tensor requiring grad
            (the state is restored first).
        KeyboardInterrupt: re-raised after restoring, unless ``on_interrupt="return"``.
        RuntimeError: a ``StopIteration`` raised by the model, ``loss_fn``, ``step_fn`` or ``metric``
            (chained as its cause), after restoring — only ``train_data`` running out ends the test quietly.
        Exception: anything the user's model, loss or data raises, after restoring.

    Example:
        >>> result = range_test(model, torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9),
        ...                     train_loader, torch.nn.functional.cross_entropy,
        ...                     start_lr=1e-6, end_lr=1.0, num_steps=100)   # doctest: +SKIP
        >>> result.suggest().lr                                            # doctest: +SKIP
    """
    check_objects(model, optimizer, train_data, loss_fn, step_fn)
    group = _distributed_world()
    if group is not None and group.rank() != 0:
        progress = False  # one progress bar: rank 0's
    spec = check_sweep(
        start_lr=start_lr, end_lr=end_lr, num_steps=num_steps, mode=mode, steps_per_lr=steps_per_lr,
        diverge_threshold=diverge_threshold, smooth_beta=smooth_beta, chunk_size=chunk_size,
        val_batches=val_batches, val_every=val_every, progress=progress, on_interrupt=on_interrupt,
    )  # fmt: skip
    s = check_torch(
        model, optimizer, step_fn, accumulation_steps=accumulation_steps, val_data=val_data, metric=metric,
        metric_name=metric_name, metric_on=metric_on, device=device, amp=amp, grad_scaler=grad_scaler,
        max_grad_norm=max_grad_norm, snapshot=snapshot, snapshot_dir=snapshot_dir, target_key=target_key,
        backward=backward,
    )  # fmt: skip
    forward = make_forward(model, loss_fn, step_fn, s.target_key)
    if group is not None:  # every rank of an initialised process group: the distributed engine
        from lrscope.torch.distributed import DistributedEngine

        engine: TorchEngine = DistributedEngine(s, spec, model, optimizer, forward, train_data, val_data, group=group)
    else:
        engine = TorchEngine(s, spec, model, optimizer, forward, train_data, val_data)
    return run_engine(engine, restore=restore, snapshot=snapshot, snapshot_dir=snapshot_dir)


def _distributed_world() -> Any:
    """The default process group when torch.distributed is initialised with more than one process, else None."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
        return dist.group.WORLD
    return None


def run_engine(engine: TorchEngine, *, restore: bool, snapshot: Any, snapshot_dir: Any) -> RangeTestResult:
    """Run a checked torch engine inside the state snapshot and build the result.

    The engine supplies the read-back (``engine.to_host``) and, for a distributed one, the
    chunk-boundary agreement on complete points (``engine.limit``).
    """
    s, spec, model, optimizer = engine.s, engine.spec, engine.model, engine.optimizer
    sweep = Sweep(
        spec, to_host=engine.to_host, micro_steps=s.accumulation_steps, has_val=engine.val_data is not None,
        metric_name=s.metric_name, limit=engine.limit,
    )  # fmt: skip
    was_training = model.training
    with _restoring(model, optimizer, s, [engine.stream.data, engine.val_data], restore=restore, snapshot=snapshot, snapshot_dir=snapshot_dir):
        engine.run(sweep)
    if sweep.interrupt is not None:
        raise sweep.interrupt
    batches, passes = engine.data_counts()
    sweep.check_ran(batches, s.accumulation_steps * spec.steps_per_lr)
    config = _config(s, optimizer, engine, engine.stream.data)
    config["snapshot"] = snapshot if restore else None
    config.update(engine.extra_config())
    return sweep.result(config, _notes(s, was_training, engine), batches=batches, passes=passes, restored=restore)
