"""Keras 3 front end: the range test (:func:`range_test`, :class:`LRFinder`), ``LearningRateSchedule``
classes over the core schedules, and LR callbacks.

``import lrscope.keras`` imports keras (and through it the backend chosen by ``KERAS_BACKEND``);
``import lrscope`` never does. Install with ``pip install 'lrscope[keras]'``.
"""

try:
    import keras  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError("lrscope.keras needs Keras 3: pip install 'lrscope[keras]'") from exc

from lrscope.keras.callbacks import CyclicLR, ExponentialDecayLR, OneCycleLR, ScheduleCallback
from lrscope.keras.engine import preserve_state, range_test
from lrscope.keras.finder import LRFinder
from lrscope.keras.schedules import (
    SGDR,
    Constant,
    Cosine,
    Cyclic,
    ExponentialDecay,
    ExponentialSweep,
    Join,
    KerasSchedule,
    LinearSweep,
    LinearWarmup,
    OneCycle,
    StepDecay,
    from_schedule,
    schedule_from,
    warmup,
)

__all__ = [
    "range_test",
    "LRFinder",
    "preserve_state",
    "SGDR",
    "Constant",
    "Cosine",
    "Cyclic",
    "CyclicLR",
    "ExponentialDecay",
    "ExponentialDecayLR",
    "ExponentialSweep",
    "Join",
    "KerasSchedule",
    "LinearSweep",
    "LinearWarmup",
    "OneCycle",
    "OneCycleLR",
    "ScheduleCallback",
    "StepDecay",
    "from_schedule",
    "schedule_from",
    "warmup",
]
