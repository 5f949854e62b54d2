"""How the PyTorch engine reads a batch: moving it to the device, calling the model, the loss.

``forward(batch) -> (loss, outputs, targets)`` for the ``loss_fn`` form (``(inputs, targets, ...)``
tuples or dicts with a targets entry) and ``(loss, None, None)`` for the ``step_fn`` form.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch import nn

__all__ = ["to_device", "batch_size", "make_forward", "check_loss", "data_generators"]

_TARGET_KEYS = ("target", "targets", "label", "labels", "y")


def to_device(obj: Any, device: torch.device) -> Any:
    if isinstance(obj, torch.Tensor):
        return obj.to(device, non_blocking=True)
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):  # namedtuple
        return type(obj)(*(to_device(v, device) for v in obj))
    if isinstance(obj, (list, tuple)):
        return type(obj)(to_device(v, device) for v in obj)
    if isinstance(obj, Mapping):
        return {k: to_device(v, device) for k, v in obj.items()}
    return obj


def batch_size(batch: Any) -> int | None:
    if isinstance(batch, torch.Tensor):
        return int(batch.shape[0]) if batch.dim() else None
    if isinstance(batch, (list, tuple)):
        for v in batch:
            n = batch_size(v)
            if n is not None:
                return n
    if isinstance(batch, Mapping):
        for v in batch.values():
            n = batch_size(v)
            if n is not None:
                return n
    return None


def make_forward(model: nn.Module, loss_fn: Any, step_fn: Any, target_key: str | None) -> Callable[[Any], tuple[Any, Any, Any]]:
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
            try:
                outputs = model(**inputs)
            except TypeError as exc:
                if not _keys_do_not_fit(model, inputs):
                    raise  # a TypeError from inside the model: not about the batch's keys
                raise TypeError(
                    f"{exc}\n  (lrscope passed the dict batch's entries {sorted(map(str, inputs))} to the model as "
                    f"keyword arguments, model(**batch), and took the targets from key {key!r}. Rename the batch's keys "
                    "to forward()'s parameters, pass `target_key=` if the targets sit under another key, or pass "
                    "`step_fn=lambda model, batch: ...` to call the model yourself.)"
                ) from exc
            return loss_fn(outputs, targets), outputs, targets
        else:
            raise ValueError(
                "batches for `loss_fn` must be (inputs, targets) tuples/lists or dicts with a targets entry; "
                f"use `step_fn` for anything else. Received: {type(batch).__name__}"
            )
        outputs = model(**inputs) if isinstance(inputs, Mapping) else model(inputs)
        return loss_fn(outputs, targets), outputs, targets

    return forward_loss


def _keys_do_not_fit(model: nn.Module, inputs: Mapping[str, Any]) -> bool:
    """True when ``model.forward`` cannot take ``inputs`` as keyword arguments (or its signature is unknown)."""
    try:
        inspect.signature(model.forward).bind(**inputs)
    except (TypeError, ValueError):  # ValueError: no signature to read; the hint may still help
        return True
    return False


def check_loss(loss: Any) -> None:
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


def data_generators(data: Any) -> list[torch.Generator]:
    """torch.Generators a DataLoader owns (its own ``generator=``, its sampler's): restored after the test."""
    found: list[torch.Generator] = []
    for obj in (data, getattr(data, "sampler", None), getattr(getattr(data, "batch_sampler", None), "sampler", None)):
        g = getattr(obj, "generator", None)
        if isinstance(g, torch.Generator) and all(g is not f for f in found):
            found.append(g)
    return found
