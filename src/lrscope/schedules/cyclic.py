"""Cyclical learning rates (Smith, 2017, "Cyclical Learning Rates for Training Neural Networks").

The learning rate cycles between ``base_lr`` and ``max_lr``: ``step_size_up`` steps up, then
``step_size_down`` steps down. The three amplitude policies of the paper (``triangular``,
``triangular2``, ``exp_range``) and the arithmetic are those of ``torch.optim.lr_scheduler.CyclicLR``,
value for value. The paper's section 3.1 also names a parabolic (Welch window) and a sinusoidal
(Hann window) shape for the cycle; ``window=`` selects them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from lrscope.schedules.base import (
    Schedule,
    check_choice,
    check_fraction,
    check_int,
    check_order,
    check_positive,
)

__all__ = ["Cyclic", "exp_range", "hann", "triangular", "triangular2", "welch"]

CyclicMode = Literal["triangular", "triangular2", "exp_range"]
Window = Literal["triangular", "welch", "hann"]
ScaleMode = Literal["cycle", "iterations"]

_MODES = ("triangular", "triangular2", "exp_range")
_WINDOWS = ("triangular", "welch", "hann")


class Cyclic(Schedule):
    r"""Cyclical learning rate between ``base_lr`` and ``max_lr`` (CLR, Smith 2017).

    With ``total = step_size_up + step_size_down`` and ``r = step_size_up / total`` (PyTorch's
    ``CyclicLR`` arithmetic)::

        cycle = floor(1 + step / total)            # 1, 2, 3, ...
        x     = 1 + step / total - cycle           # position in the cycle, in [0, 1)
        h     = x / r            if x <= r         # triangular height, 0 at the ends, 1 at the peak
                (x - 1) / (r - 1) otherwise
        lr    = base_lr + (max_lr - base_lr) * w(h) * scale

    The window ``w`` shapes each half-cycle (CLR paper, section 3.1):

    - ``"triangular"``: ``w(h) = h`` (the linear ramps of the paper and of PyTorch).
    - ``"welch"`` (parabolic): ``w(h) = 1 - (1 - h)**2``; over a symmetric cycle this is the Welch
      window ``1 - ((n - N/2) / (N/2))**2`` of the position ``n`` in a cycle of length ``N``.
    - ``"hann"`` (sinusoidal): ``w(h) = sin(pi * h / 2)**2 = (1 - cos(pi * h)) / 2``; over a
      symmetric cycle this is the Hann window ``sin(pi * n / N)**2``.

    All three are 0 at the cycle's ends and 1 at its peak; with asymmetric step sizes each half is
    stretched on its own, as for the triangle. The amplitude ``scale`` comes from ``mode``:

    - ``"triangular"``: ``1``.
    - ``"triangular2"``: ``1 / 2**(cycle - 1)`` (halves every cycle).
    - ``"exp_range"``: ``gamma**step``.

    or from ``scale_fn(cycle)`` / ``scale_fn(step)`` when ``scale_fn`` is given (then ``mode`` and
    ``gamma`` are ignored, as in PyTorch).

    The schedule never ends (``total_steps is None``). Range: ``[base_lr, max_lr]`` (for a custom
    ``scale_fn``, provided it maps into ``[0, 1]``).

    Args:
        base_lr: lower bound of the cycle, >= 0.
        max_lr: upper bound of the cycle, >= ``base_lr``.
        step_size_up: steps from the bottom to the top of a cycle, >= 1.
        step_size_down: steps from the top back to the bottom, >= 1; defaults to ``step_size_up``.
        mode: amplitude policy, see above.
        gamma: decay per step for ``"exp_range"``, in ``(0, 1]``.
        scale_fn: custom amplitude, a function of one float returning a value in ``[0, 1]``.
            Called with Python floats, once per distinct argument.
        scale_mode: what ``scale_fn`` receives, ``"cycle"`` (the 1-based cycle number, the default)
            or ``"iterations"`` (the step). Only allowed with ``scale_fn``: the built-in modes fix it
            (``"cycle"`` for the triangular ones, ``"iterations"`` for ``exp_range``).
        window: shape of the cycle, see above.

    Raises:
        ValueError: on a bad rate, step size, ``gamma``, mode, window, a non-callable ``scale_fn``
            or ``scale_mode`` without ``scale_fn``; when evaluated, if ``scale_fn`` returns a value
            outside ``[0, 1]`` or NaN.

    Example:
        >>> s = Cyclic(0.001, 0.006, step_size_up=4)
        >>> s([0, 2, 4, 6, 8]).round(6).tolist()
        [0.001, 0.0035, 0.006, 0.0035, 0.001]
    """

    def __init__(
        self,
        base_lr: float,
        max_lr: float,
        step_size_up: int = 2000,
        step_size_down: int | None = None,
        mode: CyclicMode = "triangular",
        gamma: float = 1.0,
        scale_fn: Callable[[float], float] | None = None,
        scale_mode: ScaleMode | None = None,
        window: Window = "triangular",
    ) -> None:
        self.base_lr = check_positive("base_lr", base_lr, allow_zero=True)
        self.max_lr = check_positive("max_lr", max_lr)
        check_order("base_lr", self.base_lr, "max_lr", self.max_lr)
        self.step_size_up = check_int("step_size_up", step_size_up, minimum=1)
        self.step_size_down = (
            self.step_size_up if step_size_down is None else check_int("step_size_down", step_size_down, minimum=1)
        )
        self.mode = check_choice("mode", mode, _MODES)
        self.gamma = check_fraction("gamma", gamma, closed="high")
        if scale_fn is not None and not callable(scale_fn):
            raise ValueError(f"Argument `scale_fn` must be callable or None. Received: scale_fn={scale_fn!r}")
        if scale_fn is None and scale_mode is not None:
            raise ValueError(
                "Argument `scale_mode` only applies with a custom `scale_fn` (the built-in modes fix it). "
                f"Received: scale_mode={scale_mode!r}, scale_fn=None"
            )
        self.scale_fn = scale_fn
        if scale_fn is not None:
            mode_arg = "cycle" if scale_mode is None else scale_mode
            self.scale_mode: str = check_choice("scale_mode", mode_arg, ("cycle", "iterations"))
        else:
            self.scale_mode = "iterations" if self.mode == "exp_range" else "cycle"
        self.window = check_choice("window", window, _WINDOWS)
        self._total_size = float(self.step_size_up + self.step_size_down)
        self._step_ratio = self.step_size_up / self._total_size
        self._freeze()

    def _window_and_scale(self, steps: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """``(w(h), scale)`` at ``steps``, both in [0, 1]."""
        cycle = np.floor(1.0 + steps / self._total_size)
        x = 1.0 + steps / self._total_size - cycle
        r = self._step_ratio
        h = np.where(x <= r, x / r, (x - 1.0) / (r - 1.0))  # 0 < r < 1: both step sizes are >= 1
        if self.window == "welch":
            h = 1.0 - (1.0 - h) ** 2
        elif self.window == "hann":
            h = np.sin(np.pi / 2.0 * h) ** 2
        return h, self._scale(cycle, steps)

    def _scale(self, cycle: NDArray[np.float64], steps: NDArray[np.float64]) -> NDArray[np.float64]:
        if self.scale_fn is not None:
            arg = cycle if self.scale_mode == "cycle" else steps
            uniq, inverse = np.unique(arg, return_inverse=True)
            fn = self.scale_fn
            vals = np.array([float(fn(float(u))) for u in uniq], dtype=np.float64)
            bad = np.flatnonzero(~((vals >= 0.0) & (vals <= 1.0)))  # NaN fails both
            if bad.size:
                i = int(bad[0])
                raise ValueError(
                    f"Argument `scale_fn` must return a value in [0, 1] (the amplitude's fraction; the LR would "
                    f"leave [base_lr, max_lr]). Received: scale_fn({float(uniq[i])!r})={float(vals[i])!r}"
                )
            return vals[inverse.reshape(arg.shape)]
        if self.mode == "triangular2":
            return np.exp2(-(cycle - 1.0))  # = 1 / 2**(cycle - 1), underflowing quietly to 0
        if self.mode == "exp_range":
            return self.gamma**steps
        return np.ones_like(steps)

    def _values(self, steps: NDArray[np.float64]) -> NDArray[np.float64]:
        w, scale = self._window_and_scale(steps)
        # Same association as PyTorch: base + ((max - base) * scale_factor) * scale.
        return self.base_lr + (self.max_lr - self.base_lr) * w * scale

    def lr_range(self) -> tuple[float, float]:
        return self.base_lr, self.max_lr

    def momentum_schedule(self, base_momentum: float = 0.8, max_momentum: float = 0.9) -> Schedule:
        """The momentum that cycles inversely to this learning rate (``CyclicLR(cycle_momentum=True)``).

        ``momentum = max_momentum - (max_momentum - base_momentum) * w(h) * scale``: it is at
        ``max_momentum`` where the learning rate is at ``base_lr`` and at ``base_momentum`` at the peak.

        Args:
            base_momentum: lowest momentum, in ``[0, 1]``.
            max_momentum: highest momentum, in ``[base_momentum, 1]``.

        Raises:
            ValueError: when a momentum is outside ``[0, 1]`` or ``base_momentum > max_momentum``.
        """
        return _CyclicMomentum(self, base_momentum, max_momentum)


class _CyclicMomentum(Schedule):
    def __init__(self, lr: Cyclic, base_momentum: float, max_momentum: float) -> None:
        self.base_momentum = check_fraction("base_momentum", base_momentum, closed=True)
        self.max_momentum = check_fraction("max_momentum", max_momentum, closed=True)
        check_order("base_momentum", self.base_momentum, "max_momentum", self.max_momentum)
        self.lr = lr
        self._freeze()

    def _values(self, steps: NDArray[np.float64]) -> NDArray[np.float64]:
        w, scale = self.lr._window_and_scale(steps)
        return self.max_momentum - (self.max_momentum - self.base_momentum) * w * scale

    def lr_range(self) -> tuple[float, float]:
        return self.base_momentum, self.max_momentum


def triangular(
    base_lr: float,
    max_lr: float,
    step_size_up: int = 2000,
    step_size_down: int | None = None,
    window: Window = "triangular",
) -> Cyclic:
    """:class:`Cyclic` with ``mode="triangular"``: constant amplitude."""
    return Cyclic(base_lr, max_lr, step_size_up, step_size_down, mode="triangular", window=window)


def triangular2(
    base_lr: float,
    max_lr: float,
    step_size_up: int = 2000,
    step_size_down: int | None = None,
    window: Window = "triangular",
) -> Cyclic:
    """:class:`Cyclic` with ``mode="triangular2"``: the amplitude halves every cycle."""
    return Cyclic(base_lr, max_lr, step_size_up, step_size_down, mode="triangular2", window=window)


def exp_range(
    base_lr: float,
    max_lr: float,
    step_size_up: int = 2000,
    step_size_down: int | None = None,
    gamma: float = 1.0,
    window: Window = "triangular",
) -> Cyclic:
    """:class:`Cyclic` with ``mode="exp_range"``: the amplitude is scaled by ``gamma**step``."""
    return Cyclic(base_lr, max_lr, step_size_up, step_size_down, mode="exp_range", gamma=gamma, window=window)


def welch(
    base_lr: float,
    max_lr: float,
    step_size_up: int = 2000,
    step_size_down: int | None = None,
    mode: CyclicMode = "triangular",
    gamma: float = 1.0,
) -> Cyclic:
    """:class:`Cyclic` with the parabolic (Welch window) shape ``w(h) = 1 - (1 - h)**2``."""
    return Cyclic(base_lr, max_lr, step_size_up, step_size_down, mode=mode, gamma=gamma, window="welch")


def hann(
    base_lr: float,
    max_lr: float,
    step_size_up: int = 2000,
    step_size_down: int | None = None,
    mode: CyclicMode = "triangular",
    gamma: float = 1.0,
) -> Cyclic:
    """:class:`Cyclic` with the sinusoidal (Hann window) shape ``w(h) = sin(pi * h / 2)**2``."""
    return Cyclic(base_lr, max_lr, step_size_up, step_size_down, mode=mode, gamma=gamma, window="hann")
