"""A learned reader of the range-test curve that also knows the run (issue 14; ``docs/population.md``).

``drop`` reads the curve alone. Where the good LR lies relative to it depends on things the user
knows before the sweep: the optimizer family, the batch size, the planned budget, the schedule. The
reader predicts ``log10(best LR / drop's LR)`` from features of the curve and those settings with a
ridge regression fitted on a population of small tasks (``benchmarks/population/``), and moves
``drop``'s reading by that many decades, clipped to the swept range. The model ships as data
(``reader.json``: feature names, means, scales, coefficients, the interval from its
leave-one-family-out errors and the held-out verdict); this module needs numpy only.

Curve features (all in decades relative to ``drop``'s LR unless said otherwise): ``log10_z`` (the
fall in noise units), ``to_min`` (lowest smoothed loss), ``to_bottom`` (where the bottom starts),
``to_steep`` (steepest fall), ``to_end`` (the divergence point or the end of the readable curve),
``diverged``, ``bottom_width`` (decades the bottom spans), ``capped`` / ``floored`` (what ``drop``
did), ``log10_lr`` (drop's LR itself). Settings: optimizer (one-hot: momentum, Nesterov, Adam,
AdamW, RMSprop, the three together, Adagrad; plain SGD the reference), schedule (constant, one-cycle, cosine with warm-up),
``log10(budget / 100)``, ``log2(batch / 32)``. A setting not given contributes nothing (its feature
sits at the population's mean).

Whether the reader is used when settings are given depends on ``passed_stop_rule`` in the JSON: the
issue's stop rule, applied on the declared held-out families. When it did not pass, the settings
are ignored by the default path and ``drop`` is returned, saying so; ``method="reader"`` still
gives the reader's answer (opt-in).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from lrscope.analysis.curve import Sweep, prepare_curve
from lrscope.analysis.robust import BOTTOM_SE, DEFAULT_MIN_Z, drop
from lrscope.analysis.types import Suggestion

__all__ = ["Reader", "load_reader", "curve_features", "settings_features", "read", "SETTINGS", "normalise_optimizer"]

#: the run settings the reader reads
SETTINGS = ("budget", "schedule", "optimizer", "batch_size")
SCHEDULES = ("constant", "one_cycle", "cosine_warmup")
#: optimizer names (lower case, also torch / Keras class names) -> family
OPTIMIZER_FAMILY = {
    "sgd": "sgd", "sgd_momentum": "momentum", "sgd_nesterov": "nesterov", "momentum": "momentum", "nesterov": "nesterov",
    "adam": "adam", "adamw": "adamw", "rmsprop": "rmsprop", "nadam": "adam", "radam": "adam",
    "adamax": "adam", "adagrad": "adagrad",
    # a torch class name recorded by the engine says SGD but not whether it had momentum
    "sgd_any": "sgd_any",
}
#: one-hot optimizer features (plain SGD is the reference); "adaptive" groups the Adam family and RMSprop
OPTIMIZER_FEATURES = {
    "opt_momentum": ("momentum", "nesterov"), "opt_nesterov": ("nesterov",), "opt_adaptive": ("adam", "adamw", "rmsprop"),
    "opt_adam": ("adam",), "opt_adamw": ("adamw",), "opt_rmsprop": ("rmsprop",), "opt_adagrad": ("adagrad",),
}
CLIP = 4.0


def normalise_optimizer(name: str) -> str:
    """An optimizer family (``sgd``, ``momentum``, ``nesterov``, ``adam``, ``adamw``, ``rmsprop``, ``adagrad``, or
    ``sgd_any``: SGD whose momentum is not known) from a name or class name.

    Raises:
        ValueError: for a name the reader does not know.
    """
    key = str(name).lower().replace("-", "_").replace(" ", "_")
    if key not in OPTIMIZER_FAMILY:
        raise ValueError(
            f"Argument `optimizer` must be one of {', '.join(sorted(OPTIMIZER_FAMILY))} (or a torch/Keras class name). "
            f"Received: optimizer={name!r}"
        )
    return OPTIMIZER_FAMILY[key]


def _clip(v: float) -> float:
    return float(min(CLIP, max(-CLIP, v))) if math.isfinite(v) else (CLIP if v > 0 else -CLIP)


def curve_features(lrs: ArrayLike, losses: ArrayLike, *, sweep: Sweep | None = None) -> tuple[Suggestion, dict[str, float]]:
    """``drop``'s suggestion and the curve features relative to it (empty when ``drop`` abstains)."""
    s = drop(lrs, losses, sweep=sweep)
    if not s.found or s.lr is None:
        return s, {}
    curve = prepare_curve(lrs, losses, sweep=sweep, min_z=DEFAULT_MIN_Z)
    lr0 = s.lr
    x = np.log10(curve.lrs)
    lx0 = math.log10(lr0)
    i_min = curve.i_min
    y, se = curve.smoothed, curve.se
    level = y[i_min] + BOTTOM_SE * (se[i_min] if np.isfinite(se[i_min]) else 0.0)
    below = [j for j in range(curve.start, curve.stop) if np.isfinite(y[j]) and y[j] <= level]
    i_bottom, i_bottom_end = (below[0], below[-1]) if below else (i_min, i_min)
    seg = curve.slope[curve.start : i_min + 1]
    i_steep = curve.start + int(np.nanargmin(seg)) if np.isfinite(seg).any() else i_min
    z = curve.z
    feats = {
        "log10_z": _clip(math.log10(max(z, 1.0))) if math.isfinite(z) else CLIP,
        "to_min": _clip(x[i_min] - lx0),
        "to_bottom": _clip(x[i_bottom] - lx0),
        "to_steep": _clip(x[i_steep] - lx0),
        "to_end": _clip(x[curve.stop - 1] - lx0),
        "diverged": float(curve.stop < len(curve.lrs)),
        "bottom_width": _clip(x[i_bottom_end] - x[i_bottom]),
        "capped": float(bool(s.details.get("capped"))),
        "floored": float(bool(s.details.get("floored"))),
        "log10_lr": _clip(lx0 + 3.0),
    }
    return s, feats


def settings_features(
    *, budget: int | None = None, schedule: str | None = None, optimizer: str | None = None, batch_size: int | None = None
) -> dict[str, float]:
    """The settings' features; a setting left None is left out (it then sits at the population mean)."""
    out: dict[str, float] = {}
    if optimizer is not None:
        fam = normalise_optimizer(optimizer)
        for name, fams in OPTIMIZER_FEATURES.items():
            if fam == "sgd_any" and name in ("opt_momentum", "opt_nesterov"):
                continue  # unknown: left at the population's mean
            out[name] = float(fam in fams)
    if schedule is not None:
        if schedule not in SCHEDULES:
            raise ValueError(f"Argument `schedule` must be one of {', '.join(SCHEDULES)}. Received: schedule={schedule!r}")
        out["sched_one_cycle"] = float(schedule == "one_cycle")
        out["sched_cosine_warmup"] = float(schedule == "cosine_warmup")
    if budget is not None:
        if isinstance(budget, bool) or not isinstance(budget, (int, np.integer)) or budget < 1:
            raise ValueError(f"Argument `budget` must be a positive number of optimizer steps. Received: budget={budget!r}")
        out["log10_budget"] = math.log10(budget / 100)
    if batch_size is not None:
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ValueError(f"Argument `batch_size` must be a positive integer. Received: batch_size={batch_size!r}")
        out["log2_batch"] = math.log2(batch_size / 32)
    return out


@dataclass(frozen=True)
class Reader:
    """The fitted model: ``offset = intercept + sum(coef * (f - mean) / scale)`` decades from drop."""

    names: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    coef: tuple[float, ...]
    intercept: float
    interval: tuple[float, float]  # quantiles of the leave-one-family-out errors, decades
    passed_stop_rule: bool
    meta: dict[str, Any]

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Reader:
        names = tuple(str(n) for n in d["names"])
        mean, scale, coef = (tuple(float(v) for v in d[k]) for k in ("mean", "scale", "coef"))
        if not (len(names) == len(mean) == len(scale) == len(coef)):
            raise ValueError("reader.json: names, mean, scale and coef must have the same length")
        lo, hi = (float(v) for v in d["interval"])
        return cls(names, mean, scale, coef, float(d["intercept"]), (lo, hi), bool(d["passed_stop_rule"]), dict(d.get("meta", {})))

    def offset(self, features: dict[str, float]) -> float:
        """Predicted log10(best LR / drop's LR); features missing from ``features`` sit at their mean."""
        v = self.intercept
        for n, m, s, c in zip(self.names, self.mean, self.scale, self.coef):
            if n in features:
                v += c * (features[n] - m) / s
        return float(v)


@cache
def load_reader() -> Reader:
    """The reader shipped with the package (``lrscope/analysis/reader.json``)."""
    text = resources.files("lrscope.analysis").joinpath("reader.json").read_text(encoding="utf-8")
    return Reader.from_dict(json.loads(text))


def read(
    lrs: ArrayLike,
    losses: ArrayLike,
    *,
    sweep: Sweep | None = None,
    budget: int | None = None,
    schedule: str | None = None,
    optimizer: str | None = None,
    batch_size: int | None = None,
    filled: tuple[str, ...] = (),
    reader: Reader | None = None,
) -> Suggestion:
    """The reader's suggestion: ``drop`` moved by the predicted offset, clipped to the swept range.

    Args:
        lrs, losses, sweep: the curve (as for every rule).
        budget, schedule, optimizer, batch_size: the run's settings (None: unknown).
        filled: names of settings taken from the result's record (named in the reason).
        reader: a model (default: the shipped one).

    Returns:
        A :class:`Suggestion` named ``"reader"``; it abstains, with ``drop``'s reason, when ``drop`` does.
    """
    rd = reader or load_reader()
    settings = settings_features(budget=budget, schedule=schedule, optimizer=optimizer, batch_size=batch_size)
    base, feats = curve_features(lrs, losses, sweep=sweep)
    if not base.found or base.lr is None:
        return Suggestion.abstain("reader", base.reason, **base.details)
    off = rd.offset({**feats, **settings})
    lr_arr = np.asarray(lrs, dtype=np.float64)
    lo_lr, hi_lr = float(np.nanmin(lr_arr)), float(np.nanmax(lr_arr))
    lr = float(min(hi_lr, max(lo_lr, base.lr * 10**off)))
    used = {"budget": budget, "schedule": schedule, "optimizer": optimizer, "batch_size": batch_size}
    said = ", ".join(f"{k}={v!r}" + (" (recorded)" if k in filled else "") for k, v in used.items() if v is not None)
    unknown = [k for k, v in used.items() if v is None]
    reason = (f"learned reader: drop read lr={base.lr:.3g}; with {said or 'no settings'}"
              f"{' (unknown: ' + ', '.join(unknown) + ')' if unknown else ''} the population puts the best LR "
              f"{off:+.2f} decades from it: lr={lr:.3g}")
    if lr != base.lr * 10**off:
        reason += " (clipped to the swept range)"
    a, b = rd.interval
    interval = (float(min(lr, max(lo_lr, lr * 10**a))), float(max(lr, min(hi_lr, lr * 10**b))))
    details = {"drop_lr": base.lr, "offset_decades": off, "features": {**feats, **settings}, "passed_stop_rule": rd.passed_stop_rule}
    return Suggestion("reader", lr, None, reason, interval=interval, confidence="low" if b - a > 1.5 else "medium", details=details)
