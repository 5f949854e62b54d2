"""The PyTorch engine's own argument checks (the sweep's shared ones are in :mod:`lrscope.sweep.checks`).

Each raises ``ValueError`` naming the argument, the rule and the value received, before anything
the user owns is touched.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal

import torch
from torch import nn

from lrscope.sweep.checks import check_int, fail, is_real
from lrscope.torch.integrations.schedulefree import is_schedule_free

__all__ = ["TorchSettings", "check_torch"]


@dataclass(frozen=True)
class TorchSettings:
    """What the torch engine does per step, checked."""

    accumulation_steps: int
    device: torch.device
    amp_dtype: torch.dtype | None
    scaler: Any
    scaler_is_users: bool
    max_grad_norm: float | None
    metric_fn: Callable[[Any, Any], Any] | None
    metric_name: str | None
    metric_on: Literal["train", "val"] | None
    ratios: list[float]
    target_key: str | None
    #: replaces ``loss.backward()`` (e.g. ``accelerator.backward``); None: the tensor's own
    backward: Callable[[Any], Any] | None = None
    #: a Schedule-Free optimizer (``optimizer.train()``/``eval()``, ``train_mode`` in its groups)
    schedule_free: bool = False


def check_objects(model: Any, optimizer: Any, train_data: Any, loss_fn: Any, step_fn: Any) -> None:
    """The model, the optimizer over it, the data and exactly one of ``loss_fn``/``step_fn``."""
    if not isinstance(model, nn.Module):
        raise fail("model", "must be a torch.nn.Module", type(model).__name__)
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise fail("optimizer", "must be a torch.optim.Optimizer", type(optimizer).__name__)
    model_params = {id(p) for p in model.parameters()}
    if model_params and not any(id(t) in model_params for g in optimizer.param_groups for t in g["params"]):
        # e.g. an optimizer built over a *copy* of the model: the sweep would change nothing it reads
        raise ValueError(
            "Argument `optimizer` must update the model's parameters, but it holds none of them "
            f"(was it built for another model instance?). Received: optimizer over "
            f"{sum(len(g['params']) for g in optimizer.param_groups)} tensor(s), none of model={type(model).__name__}'s"
        )
    if not isinstance(train_data, Iterable):
        raise fail("train_data", "must be an iterable of batches (a DataLoader, a list, a generator)", type(train_data).__name__)
    if (loss_fn is None) == (step_fn is None):
        raise ValueError(
            "Exactly one of the arguments `loss_fn` and `step_fn` must be given: `loss_fn(outputs, targets)` "
            "for (inputs, targets) batches, or `step_fn(model, batch) -> loss` for models that compute their "
            f"own loss. Received: loss_fn={loss_fn!r}, step_fn={step_fn!r}"
        )
    if loss_fn is not None and not callable(loss_fn):
        raise fail("loss_fn", "must be callable as loss_fn(outputs, targets)", loss_fn)
    if step_fn is not None and not callable(step_fn):
        raise fail("step_fn", "must be callable as step_fn(model, batch)", step_fn)


def _check_metric(
    metric: Any, metric_name: Any, metric_on: Any, step_fn: Any, val_data: Any
) -> tuple[Callable[[Any, Any], Any] | None, str | None, Literal["train", "val"] | None]:
    from lrscope.torch.engine import accuracy

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
            raise fail("metric", "must be 'accuracy', a callable metric(outputs, targets), or None", metric)
        metric_name = default_name if metric_name is None else metric_name
        if not isinstance(metric_name, str) or not metric_name:
            raise fail("metric_name", "must be a non-empty string", metric_name)
    if metric_on not in ("auto", "train", "val"):
        raise fail("metric_on", "must be 'auto', 'train' or 'val'", metric_on)
    if metric_on == "val" and val_data is None:
        raise ValueError("Argument `metric_on` is 'val' but no `val_data` was given. Received: metric_on='val', val_data=None")
    if metric_fn is None:
        return None, None, None
    on: Literal["train", "val"] = ("val" if val_data is not None else "train") if metric_on == "auto" else metric_on
    return metric_fn, metric_name, on


def model_device(model: nn.Module) -> torch.device | None:
    for p in model.parameters():
        return p.device
    for b in model.buffers():
        return b.device
    return None


def _check_device(model: nn.Module, device: Any) -> torch.device:
    mdev = model_device(model)
    if mdev is None:
        raise ValueError("Argument `model` has no parameters or buffers: there is nothing to train. Received: model with no parameters")
    if device is None:
        return mdev
    try:
        dev = torch.device(device)
    except (TypeError, RuntimeError) as exc:
        raise fail("device", f"must be a torch device or a device string ({exc})", device) from None
    if dev.type != mdev.type or (dev.index is not None and mdev.index is not None and dev.index != mdev.index):
        raise ValueError(
            f"Argument `device` must be where the model lives (move the model first: model.to({str(dev)!r})). "
            f"Received: device={str(dev)!r}, model on {str(mdev)!r}"
        )
    return dev


def _check_amp(amp: Any, grad_scaler: Any, dev: torch.device) -> tuple[torch.dtype | None, Any, bool]:
    if amp is True:
        amp_dtype: torch.dtype | None = torch.float16 if dev.type == "cuda" else torch.bfloat16
    elif amp is False or amp is None:
        amp_dtype = None
    elif amp in (torch.float16, torch.bfloat16):
        amp_dtype = amp
    else:
        raise fail("amp", "must be True, False, torch.float16 or torch.bfloat16", amp)
    if grad_scaler is True:
        return amp_dtype, torch.amp.GradScaler(dev.type), False
    if grad_scaler is False or grad_scaler is None:
        return amp_dtype, None, False
    if hasattr(grad_scaler, "scale") and hasattr(grad_scaler, "step") and hasattr(grad_scaler, "update"):
        return amp_dtype, grad_scaler, True
    raise fail("grad_scaler", "must be a torch.amp.GradScaler, True (make one) or False", grad_scaler)


def _group_ratios(optimizer: torch.optim.Optimizer) -> list[float]:
    """Every param group keeps its LR ratio to group 0."""
    lrs0 = [float(g["lr"]) for g in optimizer.param_groups]
    if not lrs0:
        raise fail("optimizer", "must have at least one param group", optimizer)
    if len(lrs0) > 1 and not (math.isfinite(lrs0[0]) and lrs0[0] > 0):
        raise ValueError(
            "Argument `optimizer` has several param groups and group 0's lr is not > 0, so the groups' LR "
            f"ratios cannot be kept. Give group 0 a positive lr. Received: group lrs={lrs0}"
        )
    return [1.0] + [lr / lrs0[0] for lr in lrs0[1:]]


def check_torch(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    step_fn: Any,
    *,
    accumulation_steps: Any,
    val_data: Any,
    metric: Any,
    metric_name: Any,
    metric_on: Any,
    device: Any,
    amp: Any,
    grad_scaler: Any,
    max_grad_norm: Any,
    snapshot: Any,
    snapshot_dir: Any,
    target_key: Any,
    backward: Any = None,
) -> TorchSettings:
    """The torch engine's settings, after :func:`check_objects` and the shared sweep checks."""
    accumulation_steps = check_int("accumulation_steps", accumulation_steps, 1)
    if val_data is not None and not isinstance(val_data, Iterable):
        raise fail("val_data", "must be an iterable of batches or None", type(val_data).__name__)
    metric_fn, metric_name, on = _check_metric(metric, metric_name, metric_on, step_fn, val_data)
    dev = _check_device(model, device)
    amp_dtype, scaler, scaler_is_users = _check_amp(amp, grad_scaler, dev)
    if max_grad_norm is not None and not (is_real(max_grad_norm) and max_grad_norm > 0):
        raise fail("max_grad_norm", "must be a finite number > 0 or None", max_grad_norm)
    if snapshot not in ("memory", "disk"):
        raise fail("snapshot", "must be 'memory' or 'disk'", snapshot)
    if snapshot_dir is not None and not os.path.isdir(snapshot_dir):
        raise fail("snapshot_dir", "must be an existing directory or None", snapshot_dir)
    if target_key is not None and not isinstance(target_key, str):
        raise fail("target_key", "must be a string (the key of the targets in dict batches) or None", target_key)
    if backward is not None and not callable(backward):
        raise fail("backward", "must be callable as backward(loss) (e.g. accelerator.backward) or None", backward)
    if backward is not None and scaler is not None:
        raise fail("backward", "cannot be combined with `grad_scaler` (let backward scale the loss itself)", backward)
    return TorchSettings(
        accumulation_steps=accumulation_steps,
        device=dev,
        amp_dtype=amp_dtype,
        scaler=scaler,
        scaler_is_users=scaler_is_users,
        max_grad_norm=None if max_grad_norm is None else float(max_grad_norm),
        metric_fn=metric_fn,
        metric_name=metric_name,
        metric_on=on,
        ratios=_group_ratios(optimizer),
        target_key=target_key,
        backward=backward,
        schedule_free=is_schedule_free(optimizer),
    )
