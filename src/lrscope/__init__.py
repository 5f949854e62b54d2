"""lrscope: learning-rate range tests you can trust, and the schedules that train with them.

``import lrscope`` loads numpy and nothing heavier. Framework front ends live in
``lrscope.torch`` (and ``lrscope.keras``); plotting in ``lrscope.plot`` (matplotlib, an extra).
"""

from lrscope._version import __version__
from lrscope.analysis import Bounds, StopRule, Suggestion, ema, nice_lr

__all__ = ["Bounds", "StopRule", "Suggestion", "__version__", "ema", "nice_lr"]
