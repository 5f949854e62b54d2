"""The framework-free sweep core that every engine (PyTorch, Keras, distributed) runs on.

* :mod:`~lrscope.sweep.checks` — the shared argument checks and the LR plan (:class:`SweepSpec`);
* :mod:`~lrscope.sweep.driver` — :class:`Sweep`: pending values, chunked read-back, the stop rule,
  the progress bar, the end of a sweep and the :class:`~lrscope.result.RangeTestResult`;
* :mod:`~lrscope.sweep.data` — :class:`BatchStream`, cycling re-iterable data.
"""

from lrscope.sweep.checks import DEFAULT_NUM_STEPS, SweepSpec, check_sweep
from lrscope.sweep.data import END, BatchStream
from lrscope.sweep.driver import DataExhausted, Sweep

__all__ = ["DEFAULT_NUM_STEPS", "SweepSpec", "check_sweep", "Sweep", "DataExhausted", "BatchStream", "END"]
