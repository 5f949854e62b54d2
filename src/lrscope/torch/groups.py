"""Discriminative (per-layer-group) learning rates, fastai's ``slice(lo, hi)`` convention.

Fine-tuning a pretrained network usually trains its early layers more gently than its head
(Howard & Ruder 2018, "Universal Language Model Fine-tuning for Text Classification", §3.2,
"discriminative fine-tuning"). fastai spells this ``lr_max=slice(lo, hi)``: the first layer group
gets ``lo``, the last ``hi`` and the groups between are spaced geometrically (fastai's
``even_mults``); ``slice(hi)`` gives the last group ``hi`` and every other group ``hi / 10``.

:func:`discriminative_groups` builds exactly those param groups, as plain dicts any
``torch.optim.Optimizer`` takes. :func:`lrscope.torch.range_test` keeps the ratios between groups
(each step sets every group's LR to the sweep's LR times its ratio to group 0), so the same groups
can be swept; the LRs it records are **group 0's** (the earliest, lowest-LR group).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from torch import nn

__all__ = ["discriminative_groups", "discriminative_lrs"]


def discriminative_lrs(n_groups: int, lr_max: float, lr_min: float | None = None) -> list[float]:
    """The learning rate of each of ``n_groups`` layer groups, first (earliest) to last (the head).

    ``lr_min`` given: ``lr_i = lr_min * (lr_max / lr_min) ** (i / (n_groups - 1))`` (fastai's
    ``even_mults(lr_min, lr_max, n)``); one group gets ``lr_max``. ``lr_min`` None: the last group
    gets ``lr_max`` and every other group ``lr_max / 10`` (fastai's ``slice(lr_max)``).

    Raises:
        ValueError: ``n_groups`` < 1, a non-finite or non-positive LR, or ``lr_min > lr_max``.
    """
    if isinstance(n_groups, bool) or not isinstance(n_groups, int) or n_groups < 1:
        raise ValueError(f"Argument `n_groups` must be an integer >= 1. Received: n_groups={n_groups!r}")
    _check_lr("lr_max", lr_max)
    if lr_min is None:
        return [lr_max / 10.0] * (n_groups - 1) + [float(lr_max)]
    _check_lr("lr_min", lr_min)
    if lr_min > lr_max:
        raise ValueError(
            f"Argument `lr_min` must be at most `lr_max` (the first layer group trains slowest). "
            f"Received: lr_min={lr_min!r}, lr_max={lr_max!r}"
        )
    if n_groups == 1:
        return [float(lr_max)]
    step = (lr_max / lr_min) ** (1.0 / (n_groups - 1))
    lrs = [lr_min * step**i for i in range(n_groups)]
    lrs[-1] = float(lr_max)  # exact at the head despite rounding
    return [float(x) for x in lrs]


def _check_lr(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise ValueError(f"Argument `{name}` must be a finite number > 0. Received: {name}={value!r}")


def _params_of(group: Any, index: int) -> list[nn.Parameter]:
    if isinstance(group, nn.Module):
        return list(group.parameters())
    if isinstance(group, nn.Parameter):
        return [group]
    if isinstance(group, Mapping):
        if "params" not in group:
            raise ValueError(
                f"Argument `model_or_groups` has a dict at index {index} without a 'params' entry. "
                f"Received keys: {sorted(map(str, group))}"
            )
        return _params_of(group["params"], index)
    if isinstance(group, Iterable) and not isinstance(group, (str, bytes)):
        params = list(group)
        for p in params:
            if not isinstance(p, nn.Parameter):
                raise TypeError(
                    f"Argument `model_or_groups` has a group at index {index} holding a "
                    f"{type(p).__name__}; a group is an nn.Module, an iterable of parameters or a dict "
                    f"with 'params'."
                )
        return params
    raise TypeError(
        f"Argument `model_or_groups` has a {type(group).__name__} at index {index}; a group is an "
        f"nn.Module, an iterable of parameters or a dict with 'params'."
    )


def discriminative_groups(
    model_or_groups: nn.Module | Sequence[Any],
    lr_max: float,
    lr_min: float | None = None,
) -> list[dict[str, Any]]:
    """Param groups with geometrically spaced LRs, earliest layer group slowest (fastai's ``slice``).

    Args:
        model_or_groups: an ``nn.Module``, whose direct children that hold parameters are the layer
            groups in order (for an ``nn.Sequential`` body+head, pass ``[body, head]`` or the
            finer split you want); or a sequence of layer groups, first to last, each an
            ``nn.Module``, an iterable of parameters or a dict with ``'params'`` (its other entries,
            e.g. ``weight_decay``, are kept; its ``'lr'`` is replaced).
        lr_max: the last group's (the head's) LR — fastai's ``slice(..., hi)``.
        lr_min: the first group's LR — fastai's ``slice(lo, ...)``. None: every group but the last
            gets ``lr_max / 10`` (fastai's ``slice(hi)``).

    Returns:
        One dict per layer group, ``{"params": [...], "lr": lr_i, ...}``, ready for
        ``torch.optim.SGD(groups, lr=...)`` or any optimizer, and for
        :func:`lrscope.torch.range_test` (which sweeps group 0's LR and keeps the ratios).
        Groups without parameters are dropped from a module's children; frozen parameters
        (``requires_grad=False``) are kept, so that unfreezing later needs no new optimizer.

    Raises:
        ValueError: no layer group with parameters, a parameter in two groups, a bad LR (named).
        TypeError: a group of the wrong type.

    Example:
        >>> body = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 8))
        >>> head = nn.Linear(8, 2)
        >>> groups = discriminative_groups([body[0], body[2], head], lr_max=1e-2, lr_min=1e-4)
        >>> [round(g["lr"], 6) for g in groups]
        [0.0001, 0.001, 0.01]
    """
    if isinstance(model_or_groups, nn.Module):
        raw: list[Any] = [c for c in model_or_groups.children() if any(True for _ in c.parameters())]
        if not raw:
            raw = [model_or_groups] if any(True for _ in model_or_groups.parameters()) else []
    elif isinstance(model_or_groups, Sequence) and not isinstance(model_or_groups, (str, bytes)):
        raw = list(model_or_groups)
    else:
        raise TypeError(
            "Argument `model_or_groups` must be an nn.Module or a sequence of layer groups. "
            f"Received: {type(model_or_groups).__name__}"
        )
    if not raw:
        raise ValueError("Argument `model_or_groups` has no layer group with parameters. Received: an empty model or list")
    lrs = discriminative_lrs(len(raw), lr_max, lr_min)
    seen: dict[int, int] = {}
    groups: list[dict[str, Any]] = []
    for i, (group, lr) in enumerate(zip(raw, lrs)):
        params = _params_of(group, i)
        if not params:
            raise ValueError(f"Argument `model_or_groups` has an empty layer group at index {i}.")
        for p in params:
            if id(p) in seen:
                raise ValueError(
                    f"Argument `model_or_groups` puts one parameter in layer groups {seen[id(p)]} and {i}; "
                    "each parameter must be in one group only."
                )
            seen[id(p)] = i
        extra = {k: v for k, v in group.items() if k not in ("params", "lr")} if isinstance(group, Mapping) else {}
        groups.append({"params": params, "lr": lr, **extra})
    return groups
