"""lrscope: learning-rate range tests you can trust, and the schedules that train with them.

``import lrscope`` loads numpy and nothing heavier. It gives the framework-free core: the
:class:`RangeTestResult`, the suggestion rules (:func:`suggest`), and the schedules (``lrscope.schedules``).
Framework front ends live in ``lrscope.torch``; plotting in ``lrscope.plot`` (matplotlib, an extra).

Example:
    >>> import lrscope
    >>> result = lrscope.RangeTestResult.load("lrscope-out/result.json")  # doctest: +SKIP
    >>> result.suggest()  # doctest: +SKIP
"""

from lrscope import schedules
from lrscope._version import __version__
from lrscope.analysis import (
    Bounds,
    StopRule,
    Suggestion,
    available_rules,
    candidates,
    ema,
    loss_bounds,
    metric_bounds,
    nice_lr,
    suggest,
)
from lrscope.result import RangeTestResult, ResultFileError

__all__ = [
    "Bounds",
    "RangeTestResult",
    "ResultFileError",
    "StopRule",
    "Suggestion",
    "__version__",
    "available_rules",
    "candidates",
    "ema",
    "loss_bounds",
    "metric_bounds",
    "nice_lr",
    "schedules",
    "suggest",
]
