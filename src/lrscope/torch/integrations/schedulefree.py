"""Schedule-Free optimizers (Defazio et al. 2024, "The Road Less Scheduled"; ``pip install schedulefree``).

A Schedule-Free optimizer keeps two points: ``y``, where gradients are taken (the parameters in *train*
mode), and the average ``x`` (the parameters in *eval* mode). It must be told which one the parameters
hold: ``optimizer.train()`` before training steps (``step()`` raises otherwise) and ``optimizer.eval()``
before evaluation or saving. Its LR still needs tuning (its README says so), which is what a range test
is for.

:func:`lrscope.torch.range_test` detects such an optimizer by duck typing — callable ``train`` and
``eval`` and a ``train_mode`` entry in every param group, as ``AdamWScheduleFree``, ``SGDScheduleFree``
and ``RAdamScheduleFree`` have — so this module imports nothing from ``schedulefree``. It then:

* calls ``optimizer.train()`` after the snapshot, before the first step (a no-op if it is in train mode);
* evaluates the validation subset at ``x``: ``optimizer.eval()`` before, ``optimizer.train()`` after;
* restores the parameters and the optimizer (``train_mode``, ``k``, ``weight_sum``, ``lr_max``, ``z``
  ...) bit for bit, so the optimizer is back in the mode it was in;
* adds notes to the result: what it did, the warmup (the LR a step applies is ``lr * (k+1)/warmup_steps``
  during ``warmup_steps``) and, for a model with BatchNorm and validation data, that the running
  statistics were gathered at ``y`` while the validation loss is taken at ``x`` (the README asks to
  recompute them after ``eval()``; the range test does not).

Not supported: the ``*Closure`` variants (their ``step`` needs a closure) and ``ScheduleFreeWrapper``
(not a ``torch.optim.Optimizer``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from torch import nn

__all__ = ["eval_mode", "is_schedule_free", "schedule_free_notes"]


def is_schedule_free(optimizer: Any) -> bool:
    """True for an optimizer with callable ``train``/``eval`` and ``train_mode`` in every param group."""
    groups = getattr(optimizer, "param_groups", None)
    if not groups or not callable(getattr(optimizer, "train", None)) or not callable(getattr(optimizer, "eval", None)):
        return False
    return all(isinstance(g, dict) and "train_mode" in g for g in groups)


@contextlib.contextmanager
def eval_mode(optimizer: Any) -> Iterator[None]:
    """``optimizer.eval()`` (parameters at the average ``x``) inside the block, ``optimizer.train()`` after."""
    optimizer.eval()
    try:
        yield
    finally:
        optimizer.train()


def schedule_free_notes(optimizer: Any, model: nn.Module, *, has_val: bool) -> list[str]:
    """The result's notes for a Schedule-Free optimizer (see the module docstring)."""
    notes = [
        f"Schedule-Free optimizer ({type(optimizer).__name__}): optimizer.train() for the sweep (training losses "
        "at y), optimizer.eval() around each validation evaluation (losses at the average x); its train/eval "
        "mode and state restored after."
    ]
    warmup = max((int(g.get("warmup_steps", 0) or 0) for g in optimizer.param_groups), default=0)
    if warmup > 0:
        notes.append(
            f"warmup_steps={warmup}: in the first {warmup} steps the optimizer applied the swept LR times "
            f"(k+1)/{warmup}; the recorded LRs are the swept ones. Use warmup_steps=0 for the range test."
        )
    if has_val and any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules()):
        notes.append(
            "BatchNorm with a Schedule-Free optimizer: the running statistics were gathered at y, while the "
            "validation loss was evaluated at x; Schedule-Free's README recommends recomputing them after "
            "optimizer.eval() (a few training batches in train mode under no_grad), which the range test does "
            "not do, so the validation curve may read higher than at the real x."
        )
    return notes
