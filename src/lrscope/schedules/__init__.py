"""Pure ``step -> lr`` schedules (numpy only).

Every schedule is a :class:`Schedule`: call it with a step (or an array of steps) to get the
learning rate. Nothing here keeps a counter or imports a framework; ``lrscope.torch`` adapts a
schedule to an ``LRScheduler``.
"""

from lrscope.schedules.base import Schedule
from lrscope.schedules.compose import Sequence, join, sequence, warmup
from lrscope.schedules.cosine import SGDR, Cosine
from lrscope.schedules.cyclic import Cyclic, exp_range, hann, triangular, triangular2, welch
from lrscope.schedules.decay import Constant, ExponentialDecay, LinearWarmup, StepDecay
from lrscope.schedules.factory import ScheduleKind, from_bounds
from lrscope.schedules.one_cycle import OneCycle
from lrscope.schedules.sweeps import ExponentialSweep, LinearSweep, sweep

__all__ = [
    "SGDR",
    "Constant",
    "Cosine",
    "Cyclic",
    "ExponentialDecay",
    "ExponentialSweep",
    "LinearSweep",
    "LinearWarmup",
    "OneCycle",
    "Schedule",
    "ScheduleKind",
    "Sequence",
    "StepDecay",
    "exp_range",
    "from_bounds",
    "hann",
    "join",
    "sequence",
    "sweep",
    "triangular",
    "triangular2",
    "warmup",
    "welch",
]
