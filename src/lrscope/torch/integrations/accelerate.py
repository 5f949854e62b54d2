"""The LR range test on Hugging Face Accelerate objects (``pip install 'lrscope[accelerate]'``).

:func:`range_test` takes the model, optimizer and data loader ``accelerator.prepare`` returned and runs
:func:`lrscope.torch.range_test` on them with every backward pass through ``accelerator.backward`` (so
mixed precision's loss scaling and DeepSpeed-free gradient handling are Accelerate's own). Under
``accelerate launch`` with several processes the prepared model is a ``DistributedDataParallel`` and
``torch.distributed`` is initialised, so the range test all-reduces each step's loss across the processes
and every process records the same curve and stops at the same step.

What is restored, besides what :func:`lrscope.torch.range_test` restores (parameters, buffers, optimizer,
RNGs): the prepared data loaders' own counters (``iteration``, which seeds the next epoch's shuffle,
``end_of_dataloader``, ``remainder``) and Accelerate's record of the active data loaders, which a sweep
that stops mid-epoch would otherwise leave behind; and the accelerator's ``GradScaler`` (fp16).

Refused, by name: an ``Accelerator(gradient_accumulation_steps=k > 1)`` (its ``backward`` divides the
loss by ``k`` and its optimizer skips steps outside ``accelerator.accumulate``: pass
``accumulation_steps=k`` to the range test instead) and ``max_grad_norm`` under fp16 loss scaling (the
gradients would be clipped before unscaling).
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Callable, Iterable, Iterator
from typing import Any

try:
    import accelerate  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError("lrscope.torch.integrations.accelerate needs Accelerate: pip install 'lrscope[accelerate]'") from exc

import torch
from torch import nn

from lrscope.result import RangeTestResult
from lrscope.torch.engine import range_test as _range_test

__all__ = ["range_test"]

_LOADER_ATTRS = ("iteration", "end_of_dataloader", "remainder")


@contextlib.contextmanager
def _preserve_accelerate_state(accelerator: Any, loaders: Iterable[Any]) -> Iterator[None]:
    """The prepared loaders' counters, the active-loader record and the scaler, put back on exit."""
    loaders = [d for d in loaders if d is not None]
    saved = [(d, {a: getattr(d, a) for a in _LOADER_ATTRS if hasattr(d, a)}) for d in loaders]
    gradient_state = getattr(accelerator, "gradient_state", None)
    refs = list(getattr(gradient_state, "dataloader_references", []) or []) if gradient_state is not None else None
    scaler = getattr(accelerator, "scaler", None)
    scaler_state = copy.deepcopy(scaler.state_dict()) if scaler is not None else None
    try:
        yield
    finally:
        for d, attrs in saved:
            for a, v in attrs.items():
                setattr(d, a, v)
        if refs is not None and gradient_state is not None:
            gradient_state.dataloader_references = refs  # assignment: Accelerate's setter keeps its flags right
        if scaler is not None and scaler_state is not None:
            scaler.load_state_dict(scaler_state)


def range_test(
    accelerator: Any,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    train_data: Iterable[Any],
    loss_fn: Callable[[Any, Any], torch.Tensor] | None = None,
    **kwargs: Any,
) -> RangeTestResult:
    """:func:`lrscope.torch.range_test` on ``accelerator.prepare``-d objects, backward through the accelerator.

    Call it on every process (under ``accelerate launch``), with the objects ``prepare`` returned; the
    batches are already on the accelerator's device. Every process gets the same result.

    Args:
        accelerator: the ``accelerate.Accelerator`` that prepared the objects.
        model: the prepared model (a ``DistributedDataParallel`` under several processes).
        optimizer: the prepared optimizer (an ``AcceleratedOptimizer``).
        train_data: the prepared data loader (sharded across processes).
        loss_fn: ``loss_fn(outputs, targets)``; or pass ``step_fn=`` as for :func:`lrscope.torch.range_test`.
        **kwargs: any other argument of :func:`lrscope.torch.range_test` (``start_lr``, ``end_lr``,
            ``num_steps``, ``val_data``, ``accumulation_steps`` ...) except ``backward``, ``amp``,
            ``grad_scaler`` and ``device`` (Accelerate owns those).

    Returns:
        The :class:`~lrscope.result.RangeTestResult`, ``config["integration"] == "accelerate"``.

    Raises:
        ValueError: for an accelerator with ``gradient_accumulation_steps > 1``, for an argument
            Accelerate owns, or for ``max_grad_norm`` under fp16 loss scaling.

    Example:
        >>> model, optimizer, loader = accelerator.prepare(model, optimizer, loader)   # doctest: +SKIP
        >>> result = range_test(accelerator, model, optimizer, loader, F.cross_entropy,
        ...                     start_lr=1e-6, end_lr=1.0, num_steps=100)              # doctest: +SKIP
        >>> if accelerator.is_main_process:
        ...     result.save("lr.json")                                                  # doctest: +SKIP
    """
    if not callable(getattr(accelerator, "backward", None)):
        raise ValueError(
            "Argument `accelerator` must be an accelerate.Accelerator (with a `backward` method). "
            f"Received: accelerator={type(accelerator).__name__}"
        )
    owned = sorted(k for k in ("backward", "amp", "grad_scaler", "device") if k in kwargs)
    if owned:
        raise ValueError(
            f"Arguments {owned} are the accelerator's to decide (mixed precision, loss scaling, device placement): "
            "configure them on the Accelerator. Received: " + ", ".join(f"{k}={kwargs[k]!r}" for k in owned)
        )
    k = int(getattr(accelerator, "gradient_accumulation_steps", 1) or 1)
    if k > 1:
        raise ValueError(
            "Argument `accelerator` has gradient_accumulation_steps > 1: its backward divides the loss by it and its "
            "optimizer skips steps outside `accelerator.accumulate`. Build the Accelerator with "
            "gradient_accumulation_steps=1 for the range test and pass accumulation_steps=k to it instead. "
            f"Received: gradient_accumulation_steps={k}"
        )
    if kwargs.get("max_grad_norm") is not None and getattr(accelerator, "scaler", None) is not None:
        raise ValueError(
            "Argument `max_grad_norm` cannot be used under fp16 loss scaling here (the gradients would be clipped "
            f"before they are unscaled). Received: max_grad_norm={kwargs['max_grad_norm']!r} with mixed_precision='fp16'"
        )
    with _preserve_accelerate_state(accelerator, [train_data, kwargs.get("val_data")]):
        result = _range_test(model, optimizer, train_data, loss_fn, backward=accelerator.backward, **kwargs)
    result.config["integration"] = "accelerate"
    result.config["num_processes"] = int(getattr(accelerator, "num_processes", 1))
    result.config["mixed_precision"] = str(getattr(accelerator, "mixed_precision", "no"))
    return result
