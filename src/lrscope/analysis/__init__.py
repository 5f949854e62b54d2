"""Curve analysis: smoothing, the shared stop rule, and the suggestion rules (numpy only)."""

from lrscope.analysis.smoothing import ema
from lrscope.analysis.stop import StopDecision, StopRule
from lrscope.analysis.types import Bounds, Suggestion, nice_lr

__all__ = ["Bounds", "StopDecision", "StopRule", "Suggestion", "ema", "nice_lr"]
