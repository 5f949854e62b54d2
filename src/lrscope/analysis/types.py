"""Value types every suggestion rule returns: :class:`Suggestion` and :class:`Bounds`.

Both are plain frozen dataclasses over Python floats, so they print, compare and
serialise without numpy or a framework.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Confidence = Literal["high", "medium", "low"]


def nice_lr(lr: float) -> float:
    """Round a learning rate to the nearest "nice" value of the form {1, 2, 3, 5} x 10^k.

    Nearest is measured in log space, because a finder's answer is only known to a factor.

    Args:
        lr: a positive, finite learning rate.

    Returns:
        The nice value, e.g. ``nice_lr(0.012) == 0.01``, ``nice_lr(0.0042) == 0.005``.

    Raises:
        ValueError: if ``lr`` is not positive and finite.

    Example:
        >>> nice_lr(0.0027)
        0.003
    """
    if isinstance(lr, bool) or not isinstance(lr, numbers.Real) or not (math.isfinite(lr) and lr > 0):
        raise ValueError(f"Argument `lr` must be a positive finite number. Received: lr={lr!r}")
    lr = float(lr)
    exp = math.floor(math.log10(lr))
    best = None
    for e in (exp - 1, exp, exp + 1):
        for m in (1.0, 2.0, 3.0, 5.0):
            cand = m * 10.0**e
            dist = abs(math.log(cand) - math.log(lr))
            if best is None or dist < best[0] - 1e-12:
                best = (dist, cand)
    assert best is not None
    # round away float noise such as 0.30000000000000004
    return float(f"{best[1]:.1g}")


@dataclass(frozen=True)
class Suggestion:
    """A suggested learning rate, or an abstention, with the reason either way.

    Attributes:
        method: name of the rule that produced it (e.g. ``"valley"``).
        lr: the suggested learning rate, or ``None`` when the rule abstains.
        index: index into the curve's arrays of the point the suggestion is read from
            (``None`` when abstaining or when the LR is not a point of the curve, e.g. ``minimum``'s ÷10).
        reason: one sentence a person can read: why this LR, or why no suggestion.
        interval: optional ``(low, high)`` LR range the rule considers equally good.
        confidence: optional ``"high" | "medium" | "low"`` flag (low when the curve is noisy or flat).
        details: free-form numbers backing the reason (slopes, losses), JSON-serialisable.
    """

    method: str
    lr: float | None
    index: int | None
    reason: str
    interval: tuple[float, float] | None = None
    confidence: Confidence | None = None
    details: dict[str, Any] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        # The fields are (method, lr, index, reason): catch a positional call in another order
        # (a custom rule's) instead of building a wrong suggestion that prints fine.
        if not isinstance(self.method, str) or not self.method:
            raise ValueError(
                "Argument `method` must be the rule's name, a non-empty str (fields: method, lr, index, reason). "
                f"Received: method={self.method!r}"
            )
        if self.lr is not None and (
            isinstance(self.lr, bool) or not isinstance(self.lr, numbers.Real) or not (math.isfinite(self.lr) and self.lr > 0)
        ):
            raise ValueError(f"Argument `lr` must be a positive finite number or None. Received: lr={self.lr!r}")
        if self.index is not None and (isinstance(self.index, bool) or not isinstance(self.index, numbers.Integral) or self.index < 0):
            raise ValueError(f"Argument `index` must be an integer >= 0 or None. Received: index={self.index!r}")
        if not isinstance(self.reason, str):
            raise ValueError(f"Argument `reason` must be a str. Received: reason={self.reason!r}")

    @property
    def found(self) -> bool:
        """True when the rule made a suggestion, False when it abstained."""
        return self.lr is not None

    @property
    def nice(self) -> float | None:
        """The suggestion rounded to {1, 2, 3, 5} x 10^k (see :func:`nice_lr`), or None."""
        return None if self.lr is None else nice_lr(self.lr)

    @classmethod
    def abstain(cls, method: str, reason: str, **details: Any) -> Suggestion:
        """An abstention: no LR, with the reason the curve gave none."""
        return cls(method=method, lr=None, index=None, reason=reason, details=dict(details))

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["nice"] = self.nice
        if self.interval is not None:
            d["interval"] = list(self.interval)
        return d

    def __str__(self) -> str:
        if self.lr is None:
            return f"{self.method}: no suggestion ({self.reason})"
        return f"{self.method}: {self.lr:.3g} (nice {self.nice:g}) - {self.reason}"


@dataclass(frozen=True)
class Bounds:
    """(base_lr, max_lr) for a cyclical schedule, or an abstention with its reason.

    Attributes:
        method: the rule that produced them (``"loss"`` or ``"metric"``).
        base_lr: lower bound of the cycle (None when abstaining).
        max_lr: upper bound of the cycle (None when abstaining).
        reason: why these bounds, or why none.
        details: numbers backing the reason.
    """

    method: str
    base_lr: float | None
    max_lr: float | None
    reason: str
    details: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def found(self) -> bool:
        return self.base_lr is not None and self.max_lr is not None

    @classmethod
    def abstain(cls, method: str, reason: str, **details: Any) -> Bounds:
        return cls(method=method, base_lr=None, max_lr=None, reason=reason, details=dict(details))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def __str__(self) -> str:
        if not self.found:
            return f"bounds ({self.method}): none ({self.reason})"
        return f"bounds ({self.method}): base_lr={self.base_lr:.3g}, max_lr={self.max_lr:.3g} - {self.reason}"
