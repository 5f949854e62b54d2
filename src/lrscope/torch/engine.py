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
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import torch
from torch import nn

from lrscope.analysis.stop import (
    DEFAULT_DIVERGE_THRESHOLD,
    STOP_COMPLETED,
    STOP_EXHAUSTED,
    STOP_INTERRUPTED,
    StopRule,
)
from lrscope.result import RangeTestResult
from lrscope.torch.state import preserve_state

__all__ = ["range_test", "accuracy"]

log = logging.getLogger(__name__)

SweepMode = Literal["exp", "linear"]
MetricOn = Literal["auto", "train", "val"]
_TARGET_KEYS = ("target", "targets", "label", "labels", "y")
_END = object()  # sentinel: the data ran out


class _DataExhausted(Exception):
    """Raised by the sweep loop (only) when the training batches ran out: never a user's StopIteration."""


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


# ----------------------------------------------------------------------------- validation


def _fail(name: str, rule: str, value: Any) -> ValueError:
    return ValueError(f"Argument `{name}` {rule}. Received: {name}={value!r}")


def _is_real(x: Any) -> bool:
    return isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, bool) and math.isfinite(float(x))


def _check_int(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise _fail(name, f"must be an integer >= {minimum}", value)
    return int(value)


def _sweep_lrs(start_lr: float, end_lr: float, num_steps: int, mode: SweepMode) -> list[float]:
    """The sweep's LRs, from the shared schedule (``lrscope.schedules.sweep``)."""
    from lrscope.schedules.sweeps import sweep

    _, lrs = sweep(start_lr, end_lr, num_steps, mode).preview(num_steps)
    return [float(v) for v in lrs]


def _model_device(model: nn.Module) -> torch.device | None:
    for p in model.parameters():
        return p.device
    for b in model.buffers():
        return b.device
    return None


@dataclass
class _Settings:
    start_lr: float
    end_lr: float
    num_steps: int
    mode: SweepMode
    steps_per_lr: int
    accumulation_steps: int
    device: torch.device
    amp_dtype: torch.dtype | None
    scaler: Any
    scaler_is_users: bool
    max_grad_norm: float | None
    rule: StopRule
    diverge_threshold: float | None
    smooth_beta: float
    chunk_size: int
    val_batches: int
    val_every: int
    metric_fn: Callable[[Any, Any], Any] | None
    metric_name: str | None
    metric_on: Literal["train", "val"] | None
    progress: bool
    ratios: list[float]
    target_key: str | None
    notes: list[str] = field(default_factory=list)


def _validate(
    model: Any,
    optimizer: Any,
    train_data: Any,
    loss_fn: Any,
    step_fn: Any,
    *,
    start_lr: Any,
    end_lr: Any,
    num_steps: Any,
    mode: Any,
    steps_per_lr: Any,
    accumulation_steps: Any,
    val_data: Any,
    val_batches: Any,
    val_every: Any,
    metric: Any,
    metric_name: Any,
    metric_on: Any,
    diverge_threshold: Any,
    smooth_beta: Any,
    device: Any,
    amp: Any,
    grad_scaler: Any,
    max_grad_norm: Any,
    snapshot: Any,
    snapshot_dir: Any,
    target_key: Any,
    chunk_size: Any,
    progress: Any,
    on_interrupt: Any,
) -> _Settings:
    """Check every argument before anything is touched; ValueError names argument, rule and value."""
    if not isinstance(model, nn.Module):
        raise _fail("model", "must be a torch.nn.Module", type(model).__name__)
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise _fail("optimizer", "must be a torch.optim.Optimizer", type(optimizer).__name__)
    model_params = {id(p) for p in model.parameters()}
    if model_params and not any(id(t) in model_params for g in optimizer.param_groups for t in g["params"]):
        # e.g. an optimizer built over a *copy* of the model: the sweep would change nothing it reads
        raise ValueError(
            "Argument `optimizer` must update the model's parameters, but it holds none of them "
            f"(was it built for another model instance?). Received: optimizer over "
            f"{sum(len(g['params']) for g in optimizer.param_groups)} tensor(s), none of model={type(model).__name__}'s"
        )
    if not isinstance(train_data, Iterable):
        raise _fail("train_data", "must be an iterable of batches (a DataLoader, a list, a generator)", type(train_data).__name__)
    if (loss_fn is None) == (step_fn is None):
        raise ValueError(
            "Exactly one of the arguments `loss_fn` and `step_fn` must be given: `loss_fn(outputs, targets)` "
            "for (inputs, targets) batches, or `step_fn(model, batch) -> loss` for models that compute their "
            f"own loss. Received: loss_fn={loss_fn!r}, step_fn={step_fn!r}"
        )
    if loss_fn is not None and not callable(loss_fn):
        raise _fail("loss_fn", "must be callable as loss_fn(outputs, targets)", loss_fn)
    if step_fn is not None and not callable(step_fn):
        raise _fail("step_fn", "must be callable as step_fn(model, batch)", step_fn)
    if mode not in ("exp", "linear"):
        raise _fail("mode", "must be 'exp' or 'linear'", mode)
    if not _is_real(start_lr) or start_lr <= 0:
        raise _fail("start_lr", "must be a finite number > 0", start_lr)
    if not _is_real(end_lr) or end_lr <= 0:
        raise _fail("end_lr", "must be a finite number > 0", end_lr)
    if end_lr <= start_lr:
        raise ValueError(
            f"Argument `end_lr` must be greater than `start_lr`. Received: start_lr={start_lr!r}, end_lr={end_lr!r}"
        )
    steps_per_lr = _check_int("steps_per_lr", steps_per_lr, 1)
    accumulation_steps = _check_int("accumulation_steps", accumulation_steps, 1)
    if num_steps is None:
        try:
            n_batches = len(train_data)
        except TypeError:
            raise ValueError(
                "Argument `num_steps` is required when `train_data` has no length (a generator or an "
                f"iterable dataset). Received: num_steps=None, train_data={type(train_data).__name__}"
            ) from None
        num_steps = n_batches // (accumulation_steps * steps_per_lr)
        if num_steps < 2:
            raise ValueError(
                "Argument `num_steps` defaults to one epoch of `train_data`, which is too short here: "
                f"{n_batches} batches / (accumulation_steps={accumulation_steps} x steps_per_lr={steps_per_lr}) "
                f"= {num_steps} steps, and a sweep needs >= 2. Pass num_steps explicitly. Received: num_steps=None"
            )
    else:
        num_steps = _check_int("num_steps", num_steps, 2)
    chunk_size = _check_int("chunk_size", chunk_size, 1)
    if val_data is not None and not isinstance(val_data, Iterable):
        raise _fail("val_data", "must be an iterable of batches or None", type(val_data).__name__)
    val_batches = _check_int("val_batches", val_batches, 1)
    val_every = _check_int("val_every", val_every, 1)
    # metric
    metric_fn = None
    if metric is not None:
        if step_fn is not None:
            raise ValueError(
                "Argument `metric` needs the model's outputs and the targets, which only the `loss_fn` form "
                f"provides; with `step_fn` record no metric. Received: metric={metric!r} with step_fn"
            )
        if metric == "accuracy":
            metric_fn, default_name = accuracy, "accuracy"
        elif callable(metric) and not isinstance(metric, str):
            metric_fn, default_name = metric, getattr(metric, "__name__", "metric")
        else:
            raise _fail("metric", "must be 'accuracy', a callable metric(outputs, targets), or None", metric)
        metric_name = default_name if metric_name is None else metric_name
        if not isinstance(metric_name, str) or not metric_name:
            raise _fail("metric_name", "must be a non-empty string", metric_name)
    if metric_on not in ("auto", "train", "val"):
        raise _fail("metric_on", "must be 'auto', 'train' or 'val'", metric_on)
    if metric_on == "val" and val_data is None:
        raise ValueError("Argument `metric_on` is 'val' but no `val_data` was given. Received: metric_on='val', val_data=None")
    resolved_on: Literal["train", "val"] | None = None
    if metric_fn is not None:
        resolved_on = ("val" if val_data is not None else "train") if metric_on == "auto" else metric_on
    # stop rule
    if diverge_threshold is not None and not (_is_real(diverge_threshold) and diverge_threshold > 1):
        raise _fail("diverge_threshold", "must be a finite number > 1, or None (stop only on a non-finite loss)", diverge_threshold)
    if not (_is_real(smooth_beta) and 0 <= smooth_beta < 1):
        raise _fail("smooth_beta", "must be in [0, 1)", smooth_beta)
    # None: a threshold no finite loss ratio reaches, so only NaN/inf stops the sweep.
    rule = StopRule(diverge_threshold=float(diverge_threshold) if diverge_threshold is not None else 1e300, beta=float(smooth_beta))
    # device
    model_device = _model_device(model)
    if model_device is None:
        raise ValueError("Argument `model` has no parameters or buffers: there is nothing to train. Received: model with no parameters")
    if device is None:
        dev = model_device
    else:
        try:
            dev = torch.device(device)
        except (TypeError, RuntimeError) as exc:
            raise _fail("device", f"must be a torch device or a device string ({exc})", device) from None
        if dev.type != model_device.type or (dev.index is not None and model_device.index is not None and dev.index != model_device.index):
            raise ValueError(
                f"Argument `device` must be where the model lives (move the model first: model.to({str(dev)!r})). "
                f"Received: device={str(dev)!r}, model on {str(model_device)!r}"
            )
    # AMP
    if amp is True:
        amp_dtype: torch.dtype | None = torch.float16 if dev.type == "cuda" else torch.bfloat16
    elif amp is False or amp is None:
        amp_dtype = None
    elif amp in (torch.float16, torch.bfloat16):
        amp_dtype = amp
    else:
        raise _fail("amp", "must be True, False, torch.float16 or torch.bfloat16", amp)
    scaler: Any = None
    scaler_is_users = False
    if grad_scaler is True:
        scaler = torch.amp.GradScaler(dev.type)
    elif grad_scaler is False or grad_scaler is None:
        scaler = None
    elif hasattr(grad_scaler, "scale") and hasattr(grad_scaler, "step") and hasattr(grad_scaler, "update"):
        scaler, scaler_is_users = grad_scaler, True
    else:
        raise _fail("grad_scaler", "must be a torch.amp.GradScaler, True (make one) or False", grad_scaler)
    if max_grad_norm is not None and not (_is_real(max_grad_norm) and max_grad_norm > 0):
        raise _fail("max_grad_norm", "must be a finite number > 0 or None", max_grad_norm)
    if snapshot not in ("memory", "disk"):
        raise _fail("snapshot", "must be 'memory' or 'disk'", snapshot)
    if snapshot_dir is not None and not os.path.isdir(snapshot_dir):
        raise _fail("snapshot_dir", "must be an existing directory or None", snapshot_dir)
    if target_key is not None and not isinstance(target_key, str):
        raise _fail("target_key", "must be a string (the key of the targets in dict batches) or None", target_key)
    if progress not in (None, True, False):
        raise _fail("progress", "must be True, False or None (automatic)", progress)
    if on_interrupt not in ("raise", "return"):
        raise _fail("on_interrupt", "must be 'raise' or 'return'", on_interrupt)
    # param groups: every group keeps its ratio to group 0
    lrs0 = [float(g["lr"]) for g in optimizer.param_groups]
    if not lrs0:
        raise _fail("optimizer", "must have at least one param group", optimizer)
    if len(lrs0) > 1 and not (math.isfinite(lrs0[0]) and lrs0[0] > 0):
        raise ValueError(
            "Argument `optimizer` has several param groups and group 0's lr is not > 0, so the groups' LR "
            f"ratios cannot be kept. Give group 0 a positive lr. Received: group lrs={lrs0}"
        )
    ratios = [1.0] + [lr / lrs0[0] for lr in lrs0[1:]]
    show = _auto_progress() if progress is None else progress
    return _Settings(
        start_lr=float(start_lr),
        end_lr=float(end_lr),
        num_steps=num_steps,
        mode=mode,
        steps_per_lr=steps_per_lr,
        accumulation_steps=accumulation_steps,
        device=dev,
        amp_dtype=amp_dtype,
        scaler=scaler,
        scaler_is_users=scaler_is_users,
        max_grad_norm=None if max_grad_norm is None else float(max_grad_norm),
        rule=rule,
        diverge_threshold=None if diverge_threshold is None else float(diverge_threshold),
        smooth_beta=float(smooth_beta),
        chunk_size=chunk_size,
        val_batches=val_batches,
        val_every=val_every,
        metric_fn=metric_fn,
        metric_name=metric_name,
        metric_on=resolved_on,
        progress=bool(show),
        ratios=ratios,
        target_key=target_key,
    )


def _auto_progress() -> bool:
    """Show a bar when a person watches: stderr is a terminal (or a Jupyter kernel runs us), and not in CI."""
    if os.environ.get("CI"):
        return False
    try:
        if sys.stderr.isatty():
            return True
    except (AttributeError, ValueError):
        pass
    return "ipykernel" in sys.modules  # notebooks: stderr is no TTY, but tqdm.auto draws a widget there


# ----------------------------------------------------------------------------- batches


class _BatchStream:
    """Next batch from any iterable; cycles a re-iterable one, reports a one-shot one running dry."""

    __slots__ = ("data", "it", "reiterable", "passes", "in_pass", "total", "first")

    def __init__(self, data: Iterable[Any]) -> None:
        self.data = data
        self.it: Any = None  # iter(data) is called at the first next(), inside the sweep's try
        self.reiterable = False
        self.passes = 0  # passes that yielded at least one batch
        self.in_pass = 0
        self.total = 0
        self.first: Any = None

    def next(self) -> Any:
        if self.it is None:
            self.it = iter(self.data)
            self.reiterable = self.it is not self.data  # a generator/iterator returns itself
        try:
            b = next(self.it)
        except StopIteration:
            if not self.reiterable or self.in_pass == 0:
                return _END
            self.it = iter(self.data)
            self.in_pass = 0
            try:
                b = next(self.it)
            except StopIteration:  # nothing new (e.g. __iter__ handed back the same spent iterator)
                return _END
        if self.in_pass == 0:
            self.passes += 1  # a new pass counts only once it yields a batch
        if self.total == 0:
            self.first = b
        self.in_pass += 1
        self.total += 1
        return b


def _to_device(obj: Any, device: torch.device) -> Any:
    if isinstance(obj, torch.Tensor):
        return obj.to(device, non_blocking=True)
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):  # namedtuple
        return type(obj)(*(_to_device(v, device) for v in obj))
    if isinstance(obj, (list, tuple)):
        return type(obj)(_to_device(v, device) for v in obj)
    if isinstance(obj, Mapping):
        return {k: _to_device(v, device) for k, v in obj.items()}
    return obj


def _batch_size(batch: Any) -> int | None:
    if isinstance(batch, torch.Tensor):
        return int(batch.shape[0]) if batch.dim() else None
    if isinstance(batch, (list, tuple)):
        for v in batch:
            n = _batch_size(v)
            if n is not None:
                return n
    if isinstance(batch, Mapping):
        for v in batch.values():
            n = _batch_size(v)
            if n is not None:
                return n
    return None


def _make_forward(model: nn.Module, loss_fn: Any, step_fn: Any, target_key: str | None) -> Callable[[Any], tuple[Any, Any, Any]]:
    """``batch -> (loss, outputs, targets)`` for the loss_fn form, ``(loss, None, None)`` for step_fn."""
    if step_fn is not None:

        def forward_step(batch: Any) -> tuple[Any, Any, Any]:
            res = step_fn(model, batch)
            if isinstance(res, torch.Tensor):
                return res, None, None
            if isinstance(res, Mapping) and "loss" in res:
                return res["loss"], None, None
            loss = getattr(res, "loss", None)
            if loss is None:
                raise TypeError(
                    "`step_fn(model, batch)` must return the loss: a scalar tensor, a mapping with a 'loss' "
                    f"entry, or an object with a `.loss` attribute. Received: {type(res).__name__}"
                )
            return loss, None, None

        return forward_step

    def forward_loss(batch: Any) -> tuple[Any, Any, Any]:
        if isinstance(batch, (tuple, list)):
            if len(batch) < 2:
                raise ValueError(
                    "batches for `loss_fn` must be (inputs, targets) pairs (extra items are ignored). "
                    f"Received: a {type(batch).__name__} of length {len(batch)}"
                )
            inputs, targets = batch[0], batch[1]
        elif isinstance(batch, Mapping):
            key = target_key
            if key is None:
                key = next((k for k in _TARGET_KEYS if k in batch), None)
                if key is None:
                    raise ValueError(
                        f"dict batches need a targets entry: one of {_TARGET_KEYS}, or pass `target_key`. "
                        f"Received: keys {sorted(map(str, batch))}"
                    )
            elif key not in batch:
                raise ValueError(f"Argument `target_key` names no entry of the batch. Received: target_key={key!r}, keys {sorted(map(str, batch))}")
            targets = batch[key]
            inputs = {k: v for k, v in batch.items() if k != key}
            outputs = model(**inputs)
            return loss_fn(outputs, targets), outputs, targets
        else:
            raise ValueError(
                "batches for `loss_fn` must be (inputs, targets) tuples/lists or dicts with a targets entry; "
                f"use `step_fn` for anything else. Received: {type(batch).__name__}"
            )
        outputs = model(**inputs) if isinstance(inputs, Mapping) else model(inputs)
        return loss_fn(outputs, targets), outputs, targets

    return forward_loss


def _check_loss(loss: Any) -> None:
    if not isinstance(loss, torch.Tensor) or loss.numel() != 1:
        what = f"a tensor of shape {tuple(loss.shape)}" if isinstance(loss, torch.Tensor) else type(loss).__name__
        raise ValueError(
            "the loss must be a scalar tensor (use reduction='mean' or 'sum' in the loss function). "
            f"Received: {what}"
        )
    if not loss.requires_grad:
        raise ValueError(
            "the loss does not require grad: no parameter it depends on is trainable (all frozen?) or it was "
            "computed under torch.no_grad(). Received: a loss with requires_grad=False"
        )


def _to_host(values: list[torch.Tensor]) -> np.ndarray:
    """Stack 0-d device tensors and copy them to the host as float64: the sweep's only device-to-host
    read-back (and so its only host-device synchronisation), called once per value kind at each chunk
    boundary by ``flush``."""
    return torch.stack(values).to("cpu", torch.float64).numpy()


def _progress_bar(enabled: bool, total: int) -> Any:
    if not enabled:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:  # tqdm is an extra: no bar without it
        log.debug("tqdm is not installed: no progress bar (pip install 'lrscope[torch]')")
        return None
    return tqdm(total=total, desc="LR range test", unit="step", file=sys.stderr, leave=False, dynamic_ncols=True)


# ----------------------------------------------------------------------------- the run


class _Interrupted(Exception):
    pass


def _run(
    s: _Settings,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    train_data: Iterable[Any],
    forward: Callable[[Any], tuple[Any, Any, Any]],
    val_data: Iterable[Any] | None,
    on_interrupt: str,
) -> tuple[dict[str, Any], BaseException | None]:
    """The sweep itself, inside the state snapshot. Returns the recorded arrays and a pending interrupt."""
    lrs = _sweep_lrs(s.start_lr, s.end_lr, s.num_steps, s.mode)
    n = s.num_steps
    k_acc = s.accumulation_steps
    per_point = s.steps_per_lr * k_acc  # loss values averaged into one recorded point
    groups = optimizer.param_groups
    group_setters = list(zip(groups, s.ratios, [isinstance(g["lr"], torch.Tensor) for g in groups]))
    single = len(groups) == 1 and not group_setters[0][2]
    group0 = groups[0]
    dev = s.device
    move = dev.type != "cpu"
    amp_dtype = s.amp_dtype
    scaler = s.scaler
    if scaler is not None and not scaler.is_enabled():
        scaler = None
    track_skip = scaler is not None and isinstance(getattr(scaler, "_scale", None), (torch.Tensor, type(None)))
    clip = s.max_grad_norm
    clip_params = [p for g in groups for p in g["params"]]
    metric_fn = s.metric_fn
    metric_train = metric_fn is not None and s.metric_on == "train"
    metric_val = metric_fn is not None and s.metric_on == "val"
    rule = s.rule
    chunk = s.chunk_size

    def autocast() -> Any:
        return torch.autocast(dev.type, dtype=amp_dtype) if amp_dtype is not None else contextlib.nullcontext()

    # the fixed validation subset, taken once inside the sweep's try (after the snapshot: a shuffled
    # loader draws RNG; and a Ctrl-C while it is fetched honours on_interrupt)
    val_cache: list[Any] = []

    def fetch_val_subset() -> None:
        for b in val_data:  # type: ignore[union-attr]
            val_cache.append(_to_device(b, dev) if move else b)
            if len(val_cache) >= s.val_batches:
                break
        if not val_cache:
            raise ValueError("Argument `val_data` yielded no batches. Received: an empty val_data")

    modules = list(model.modules())

    def evaluate() -> tuple[torch.Tensor, torch.Tensor | None]:
        flags = [m.training for m in modules]
        model.eval()
        try:
            with torch.no_grad(), autocast():
                tot = None
                mtot = None
                for vb in val_cache:
                    vloss, vout, vtgt = forward(vb)
                    v = vloss.detach().float().reshape(())
                    tot = v if tot is None else tot + v
                    if metric_val:
                        mv = torch.as_tensor(metric_fn(vout, vtgt), device=v.device).float()  # type: ignore[misc]
                        mtot = mv if mtot is None else mtot + mv
        finally:
            for m, f in zip(modules, flags):
                m.training = f
        return tot / len(val_cache), (None if mtot is None else mtot / len(val_cache))  # type: ignore[operator]

    # recorded (host) arrays
    out_losses: list[float] = []
    out_val = np.full(n, np.nan)
    out_metric = np.full(n, np.nan)
    skipped: list[int] = []
    # device-side pending values of the current chunk
    pending: list[torch.Tensor] = []
    pending_metric: list[torch.Tensor] = []
    pending_val: list[tuple[int, torch.Tensor, torch.Tensor | None]] = []
    pending_skip: list[torch.Tensor] = []
    stop_reason, stop_detail = STOP_COMPLETED, ""
    stop_at: int | None = None  # index of the last kept point
    stream = _BatchStream(train_data)
    bar = _progress_bar(s.progress, n)
    interrupt: BaseException | None = None
    first = True

    def flush(points: int) -> bool:
        """Read back the first ``points`` pending points; feed the stop rule. True = stop."""
        nonlocal stop_reason, stop_detail, stop_at
        base = len(out_losses)
        if points:
            vals = _to_host(pending[: points * per_point])
            vals = vals.reshape(points, per_point).mean(axis=1) if per_point > 1 else vals
            out_losses.extend(vals.tolist())
            if pending_metric:
                mv = _to_host(pending_metric[: points * per_point])
                out_metric[base : base + points] = mv.reshape(points, per_point).mean(axis=1)
            if pending_skip:
                sk = _to_host(pending_skip[: points * s.steps_per_lr]).reshape(points, s.steps_per_lr)
                skipped.extend((base + np.nonzero(sk.any(axis=1))[0]).tolist())
        if pending_val:
            kept = [(i, v, m) for i, v, m in pending_val if i < base + points]
            if kept:
                vv = _to_host([v for _, v, _ in kept])
                idx = [i for i, _, _ in kept]
                out_val[idx] = np.where(np.isfinite(vv), vv, np.inf)
                if metric_val:
                    out_metric[idx] = _to_host([m for _, _, m in kept])  # type: ignore[misc]
        pending.clear()
        pending_metric.clear()
        pending_val.clear()
        pending_skip.clear()
        decision = rule.update_many(np.asarray(out_losses[base:], dtype=np.float64)) if points else None
        if bar is not None and points:
            # the postfix first, so the redraw update() triggers shows this chunk's last recorded point
            # (after a stop, the stop point: the steps run past it are discarded, and not counted)
            last = base + points - 1 if decision is None else decision.index
            bar.set_postfix_str(f"lr={lrs[last]:.3g} loss={rule.smoothed:.4g}", refresh=False)
            bar.update(last + 1 - base)
        if decision is not None:
            stop_reason, stop_detail, stop_at = decision.reason, decision.detail, decision.index
            return True
        return False

    optimizer.zero_grad(set_to_none=True)
    done_in_chunk = 0  # complete points waiting in the pending lists
    try:
        if val_data is not None:
            fetch_val_subset()
        for i in range(n):
            lr = lrs[i]
            if single:
                group0["lr"] = lr
            else:
                for g, r, is_tensor in group_setters:
                    if is_tensor:
                        g["lr"].fill_(lr * r)
                    else:
                        g["lr"] = lr * r
            for _ in range(s.steps_per_lr):
                for _ in range(k_acc):
                    batch = stream.next()
                    if batch is _END:
                        raise _DataExhausted
                    if move:
                        batch = _to_device(batch, dev)
                    if amp_dtype is None:
                        loss, outputs, targets = forward(batch)
                    else:
                        with autocast():
                            loss, outputs, targets = forward(batch)
                    if first:
                        _check_loss(loss)
                        first = False
                    pending.append(loss.detach().reshape(()))  # any 1-element loss, (1,) included
                    if metric_train:
                        pending_metric.append(torch.as_tensor(metric_fn(outputs.detach(), targets)).float())  # type: ignore[misc]
                    if k_acc > 1:
                        loss = loss / k_acc
                    if scaler is None:
                        loss.backward()
                    else:
                        scaler.scale(loss).backward()
                if scaler is None:
                    if clip is not None:
                        torch.nn.utils.clip_grad_norm_(clip_params, clip)
                    optimizer.step()
                else:
                    if clip is not None:
                        scaler.unscale_(optimizer)
                        torch.nn.utils.clip_grad_norm_(clip_params, clip)
                    prev = scaler._scale.clone() if track_skip and scaler._scale is not None else None
                    scaler.step(optimizer)
                    scaler.update()
                    if track_skip:
                        # a skipped step (inf/NaN gradients) is exactly one where update() backed the scale off
                        pending_skip.append(scaler._scale < prev if prev is not None else torch.zeros((), dtype=torch.bool))
                optimizer.zero_grad(set_to_none=True)
            if val_cache and i % s.val_every == 0:
                v, m = evaluate()
                pending_val.append((i, v, m))
            done_in_chunk += 1
            if done_in_chunk == chunk or i == n - 1:
                stop = flush(done_in_chunk)
                done_in_chunk = 0
                if stop:
                    break
    except _DataExhausted:
        flush(done_in_chunk)
        if stop_at is None:
            stop_reason = STOP_EXHAUSTED
            stop_detail = f"the data ran out after {stream.total} batches, at step {len(out_losses)} of {n}"
    except KeyboardInterrupt as exc:
        flush(done_in_chunk)
        if stop_at is None:
            stop_reason = STOP_INTERRUPTED
            stop_detail = f"interrupted (KeyboardInterrupt) at step {len(out_losses)} of {n}"
        if on_interrupt == "raise":
            interrupt = exc
    except StopIteration as exc:
        # Only _DataExhausted means the data ran out; a StopIteration from the model, loss_fn, step_fn
        # or metric is a bug there. Let it out as an error (as PEP 479 does for generators), never as a
        # silent "data exhausted" — nor bare, where a caller's loop could swallow it.
        raise RuntimeError(
            "StopIteration was raised during the range test by the model, loss_fn, step_fn or metric (not by "
            "train_data running out; that ends the test normally). Received: StopIteration"
            f"({', '.join(map(repr, exc.args))})"
        ) from exc
    finally:
        if bar is not None:
            bar.close()
        optimizer.zero_grad(set_to_none=True)
    kept = len(out_losses) if stop_at is None else stop_at + 1
    if stream.total == 0 and stop_reason != STOP_INTERRUPTED:
        raise ValueError("Argument `train_data` yielded no batches. Received: an empty train_data")
    if kept == 0 and interrupt is None and stop_reason == STOP_EXHAUSTED:
        raise ValueError(
            f"Argument `train_data` ran out after {stream.total} batches, before one sweep step "
            f"(accumulation_steps={k_acc} x steps_per_lr={s.steps_per_lr} batches) was complete. "
            "Received: too few batches"
        )
    rec: dict[str, Any] = {
        "lrs": np.asarray(lrs[:kept], dtype=np.float64),
        "losses": np.asarray(out_losses[:kept], dtype=np.float64),
        "val_losses": out_val[:kept] if val_data is not None else None,
        "metrics": {s.metric_name: out_metric[:kept]} if metric_fn is not None else {},
        "stop_reason": stop_reason,
        "stop_detail": stop_detail,
        "skipped": [j for j in skipped if j < kept],
        "passes": stream.passes,
        "batches": stream.total,
        "batch_size": getattr(train_data, "batch_size", None) or _batch_size(stream.first),
    }
    return rec, interrupt


def range_test(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    train_data: Iterable[Any],
    loss_fn: Callable[[Any, Any], torch.Tensor] | None = None,
    *,
    step_fn: Callable[[nn.Module, Any], Any] | None = None,
    start_lr: float = 1e-7,
    end_lr: float = 10.0,
    num_steps: int | None = None,
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
        start_lr: first LR (> 0).
        end_lr: last LR (> ``start_lr``).
        num_steps: points of the sweep (>= 2). Default: one epoch of ``train_data`` (``len(train_data) //
            (accumulation_steps * steps_per_lr)``); required when the data has no length.
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
    s = _validate(
        model, optimizer, train_data, loss_fn, step_fn,
        start_lr=start_lr, end_lr=end_lr, num_steps=num_steps, mode=mode, steps_per_lr=steps_per_lr,
        accumulation_steps=accumulation_steps, val_data=val_data, val_batches=val_batches, val_every=val_every,
        metric=metric, metric_name=metric_name, metric_on=metric_on, diverge_threshold=diverge_threshold,
        smooth_beta=smooth_beta, device=device, amp=amp, grad_scaler=grad_scaler, max_grad_norm=max_grad_norm,
        snapshot=snapshot, snapshot_dir=snapshot_dir, target_key=target_key, chunk_size=chunk_size,
        progress=progress, on_interrupt=on_interrupt,
    )  # fmt: skip
    forward = _make_forward(model, loss_fn, step_fn, s.target_key)
    was_training = model.training
    generators = _data_generators(train_data) + (_data_generators(val_data) if val_data is not None else [])
    gen_states = [g.get_state() for g in generators] if restore else []
    try:
        with preserve_state(
            model, optimizer, s.scaler if s.scaler_is_users else None, storage=snapshot, directory=snapshot_dir, restore=restore
        ):
            rec, interrupt = _run(s, model, optimizer, train_data, forward, val_data, on_interrupt)
    finally:
        for g, st in zip(generators, gen_states):
            g.set_state(st)
    if interrupt is not None:
        raise interrupt

    notes = list(s.notes)
    if rec["passes"] > 1:
        notes.append(
            f"train_data was cycled: the sweep used {rec['batches']} batches, {rec['passes']} passes over data "
            "shorter than the sweep (the model saw batches again)."
        )
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
    if rec["skipped"]:
        notes.append(
            f"The GradScaler skipped the optimizer step (inf/NaN gradients) at {len(rec['skipped'])} point(s): "
            f"{rec['skipped'][:20]}{' ...' if len(rec['skipped']) > 20 else ''}; the weights did not move there."
        )
    n_kept = len(rec["lrs"])
    if rec["stop_reason"] != STOP_COMPLETED and n_kept < s.num_steps:
        log.info("range test stopped after %d of %d steps: %s", n_kept, s.num_steps, rec["stop_detail"])
    config: dict[str, Any] = {
        "engine": "torch",
        "torch_version": torch.__version__,
        "start_lr": s.start_lr,
        "end_lr": s.end_lr,
        "num_steps": s.num_steps,
        "mode": s.mode,
        "steps_per_lr": s.steps_per_lr,
        "accumulation_steps": s.accumulation_steps,
        "optimizer": type(optimizer).__name__,
        "param_groups": len(s.ratios),
        "lr_ratios": s.ratios,
        "batch_size": rec["batch_size"],
        "device": str(s.device),
        "amp": None if s.amp_dtype is None else str(s.amp_dtype).replace("torch.", ""),
        "grad_scaler": s.scaler is not None,
        "max_grad_norm": s.max_grad_norm,
        "diverge_threshold": s.diverge_threshold,
        "smooth_beta": s.smooth_beta,
        "chunk_size": s.chunk_size,
        "val_batches": s.val_batches if val_data is not None else None,
        "val_every": s.val_every if val_data is not None else None,
        "metric": s.metric_name,
        "metric_on": s.metric_on,
        "restored": bool(restore),
        "snapshot": snapshot if restore else None,
        "batches_used": rec["batches"],
        "skipped_steps": rec["skipped"],
    }
    return RangeTestResult(
        lrs=rec["lrs"],
        losses=rec["losses"],
        val_losses=rec["val_losses"],
        metrics=rec["metrics"],
        steps=np.arange(n_kept, dtype=np.int64) * s.steps_per_lr,
        sweep=s.mode,
        stop_reason=rec["stop_reason"],
        stop_detail=rec["stop_detail"],
        config=config,
        notes=notes,
    )


def _data_generators(data: Any) -> list[torch.Generator]:
    """torch.Generators a DataLoader owns (its own ``generator=``, its sampler's): restored after the test."""
    found: list[torch.Generator] = []
    for obj in (data, getattr(data, "sampler", None), getattr(getattr(data, "batch_sampler", None), "sampler", None)):
        g = getattr(obj, "generator", None)
        if isinstance(g, torch.Generator) and all(g is not f for f in found):
            found.append(g)
    return found
