"""PyTorch front end: the LR range test engine, state snapshot/restore, and scheduler adapters.

Importing this module imports torch (``import lrscope`` alone never does).

* :func:`range_test` — the engine: the user's model, optimizer, loss (or ``step_fn``) and batches in,
  a :class:`lrscope.result.RangeTestResult` out; everything the user owns is restored bit for bit.
* :class:`LRFinder` — the notebook facade (construct, ``run``, ``plot(path)``), on the same engine.
* :func:`preserve_state` / :class:`StateSnapshot` — the snapshot-and-restore context manager it uses.
* :class:`ScheduleLR` (alias :data:`LambdaScheduler`) — any ``lrscope.schedules.Schedule`` as a
  ``torch.optim.lr_scheduler.LRScheduler``; :class:`SweepLR` — the sweep as a scheduler.
* :func:`accuracy` — the default metric of the accuracy-vs-LR test.
"""

from __future__ import annotations

try:
    import torch  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError("lrscope.torch needs PyTorch: pip install 'lrscope[torch]'") from exc

from lrscope.torch.engine import accuracy, range_test
from lrscope.torch.finder import LRFinder
from lrscope.torch.groups import discriminative_groups
from lrscope.torch.schedulers import LambdaScheduler, ScheduleLR, SweepLR
from lrscope.torch.state import StateSnapshot, preserve_state, state_nbytes

__all__ = [
    "LRFinder",
    "LambdaScheduler",
    "ScheduleLR",
    "StateSnapshot",
    "SweepLR",
    "accuracy",
    "discriminative_groups",
    "preserve_state",
    "range_test",
    "state_nbytes",
]

# issue 5: verified suggestion (train briefly around the suggestion, restore bit for bit)
from lrscope.torch.verify import pick_from_trials, verify_suggestion  # noqa: E402,F401
