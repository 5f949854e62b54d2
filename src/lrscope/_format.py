"""The words and numbers the plots, the HTML report and the terminal share (numpy only).

One learning-rate format (:func:`format_lr`), one way to name a metric (:func:`metric_label`) and one
sentence for how a run ended (:func:`stop_text`, :func:`curve_end`), so a figure never says
"diverged at 0.32" where the table says "completed", or 0.029 where the title says 0.0295.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from lrscope.result import RangeTestResult

__all__ = ["CurveEnd", "curve_end", "format_lr", "metric_label", "stop_text"]

#: stop reasons meaning the sweep itself stopped because the loss blew up
_SWEEP_DIVERGED = ("diverged", "non-finite loss")


def format_lr(lr: float) -> str:
    """A learning rate as every lrscope output prints it: three significant digits (``0.0295``, ``1e-05``).

    Example:
        >>> format_lr(0.029512), format_lr(10.0)
        ('0.0295', '10')
    """
    return f"{float(lr):.3g}"


def metric_label(result: RangeTestResult, name: str) -> str:
    """A recorded metric's name with the data it was measured on: ``"validation accuracy"`` when the
    run's ``config["metric_on"]`` is ``"val"``, ``"training accuracy"`` for ``"train"``, else ``name``."""
    on = result.config.get("metric_on")
    prefix = {"val": "validation", "train": "training"}.get(on) if isinstance(on, str) else None
    if prefix is None or name.lower().startswith(("val", "train")):
        return name
    return f"{prefix} {name}"


@dataclass(frozen=True)
class CurveEnd:
    """Where the loss blew up: ``lr`` (a point of the curve), ``short`` (a one-word label for the
    figure) and ``phrase`` (the words every output uses for it)."""

    lr: float
    short: str
    phrase: str
    by_sweep: bool


def curve_end(result: RangeTestResult, source: Any = "auto", curve: Any = None) -> CurveEnd | None:
    """Where the loss blew up, or None when it did not.

    The sweep's own stop when its stop rule fired (``stop_reason`` diverged / non-finite loss: the last
    recorded LR); otherwise the point where the analysis (:func:`lrscope.analysis.curve.prepare_curve`)
    cuts a curve that blew up although the sweep ran on — the rules read nothing past it.

    Args:
        result: the run.
        source: which loss curve (see :meth:`RangeTestResult.curve`).
        curve: that curve already prepared (saves preparing it again), or None.
    """
    if result.stop_reason in _SWEEP_DIVERGED and len(result):
        lr = float(result.lrs[-1])
        short = "diverged" if result.stop_reason == "diverged" else "non-finite"
        return CurveEnd(lr, short, f"{result.stop_reason} at lr {format_lr(lr)}", by_sweep=True)
    try:
        lrs, losses = result.curve(source)
    except ValueError:
        return None
    if curve is None:
        if len(lrs) == 0:
            return None
        from lrscope.analysis.curve import prepare_curve

        try:
            curve = prepare_curve(lrs, losses, sweep=result.sweep)
        except ValueError:
            return None
    i = int(curve.stop)
    if not 0 <= i < len(lrs):
        return None
    lr = float(lrs[i])
    what = "diverged" if math.isfinite(float(losses[i])) else "turned non-finite"
    short = "diverged" if what == "diverged" else "non-finite"
    loss = "validation loss" if result.loss_source(source) == "val_loss" else "loss"
    return CurveEnd(lr, short, f"the {loss} {what} from lr {format_lr(lr)} on, where the rules stop reading", by_sweep=False)


def stop_text(result: RangeTestResult, source: Any = "auto") -> str:
    """How the run ended, in the words the terminal, the report and the figures share.

    ``"completed"``; ``"completed; the (validation) loss diverged from lr 0.32 on, where the rules stop reading"`` when
    the analysis cuts a curve the sweep ran past; ``"diverged at lr 0.32: <the stop rule's numbers>"``
    when the sweep stopped itself; ``"interrupted: ..."``, ``"data exhausted: ..."``.
    """
    end = curve_end(result, source)
    if end is not None and end.by_sweep:
        return end.phrase + (f": {result.stop_detail}" if result.stop_detail else "")
    detail = result.stop_detail
    if detail.startswith(result.stop_reason):  # "interrupted (KeyboardInterrupt) at step 0 of 100"
        text = detail
    else:
        text = result.stop_reason + (f": {detail}" if detail else "")
    if end is not None:
        text += f"; {end.phrase}"
    return text
