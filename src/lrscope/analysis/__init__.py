"""Curve analysis: smoothing, the shared stop rule, curve preparation, suggestion rules and
cyclical bounds (numpy only).

Every slope in lrscope is ``d(loss)/d(log10 lr)`` (loss per decade) for exponential sweeps and
``d(loss)/d(lr)`` for linear ones; see :mod:`lrscope.analysis.curve` for the conventions.
"""

from lrscope.analysis.bounds import loss_bounds, metric_bounds
from lrscope.analysis.curve import Curve, Sweep, infer_sweep, prepare_curve, slope, validate_curve
from lrscope.analysis.rules import (
    DEFAULT_METHOD,
    RULES,
    RuleFn,
    available_rules,
    candidates,
    minimum,
    register_rule,
    slide,
    steepest,
    suggest,
    suggest_all,
    valley,
)
from lrscope.analysis.smoothing import (
    ema,
    hampel,
    local_linear,
    median_filter,
    noise_sigma,
    robust_ema,
    smooth_log_lr,
)
from lrscope.analysis.stop import StopDecision, StopRule
from lrscope.analysis.types import Bounds, Suggestion, nice_lr

__all__ = [
    "DEFAULT_METHOD",
    "RULES",
    "Bounds",
    "Curve",
    "RuleFn",
    "StopDecision",
    "StopRule",
    "Suggestion",
    "Sweep",
    "available_rules",
    "candidates",
    "ema",
    "hampel",
    "infer_sweep",
    "local_linear",
    "loss_bounds",
    "median_filter",
    "metric_bounds",
    "minimum",
    "nice_lr",
    "noise_sigma",
    "prepare_curve",
    "register_rule",
    "robust_ema",
    "slide",
    "slope",
    "smooth_log_lr",
    "steepest",
    "suggest",
    "suggest_all",
    "valley",
    "validate_curve",
]

# issue 5: the benchmark-chosen rules ("drop", the default, and "one_cycle") register themselves on import
from lrscope.analysis import robust as _robust  # noqa: E402,F401
