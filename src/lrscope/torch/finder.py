"""The notebook facade: construct, run, plot, save — built on :func:`lrscope.torch.range_test`."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Literal

import torch
from torch import nn

from lrscope.analysis.types import Suggestion
from lrscope.result import RangeTestResult
from lrscope.sweep.checks import is_real as _is_real
from lrscope.torch.engine import range_test

__all__ = ["LRFinder"]


class LRFinder:
    """The classic LR-finder shape on top of :func:`~lrscope.torch.range_test` (no second engine).

    Args:
        model: the module (restored after each run).
        train_data: training batches (see :func:`~lrscope.torch.range_test`).
        loss_fn: ``loss_fn(outputs, targets)``; or None with ``step_fn=`` in ``**options``.
        optimizer: the optimizer to sweep; default ``SGD(trainable params, lr=start_lr, momentum=0.9)``
            (Smith's setting) — pass yours to find the LR for *your* optimizer.
        **options: defaults for every :meth:`run` (any :func:`~lrscope.torch.range_test` keyword:
            ``device``, ``val_data``, ``metric``, ``amp`` ...). ``on_interrupt`` defaults to ``"return"``
            here, so stopping a notebook cell keeps the curve so far.

    Example:
        >>> finder = LRFinder(model, train_loader, nn.CrossEntropyLoss())   # doctest: +SKIP
        >>> finder.run(end_lr=1.0, num_steps=100)                           # doctest: +SKIP
        >>> finder.plot("lr_finder.png")                                    # doctest: +SKIP
        >>> finder.suggest().lr                                             # doctest: +SKIP
    """

    def __init__(
        self,
        model: nn.Module,
        train_data: Iterable[Any],
        loss_fn: Callable[[Any, Any], torch.Tensor] | None = None,
        optimizer: torch.optim.Optimizer | None = None,
        **options: Any,
    ) -> None:
        if not isinstance(model, nn.Module):
            raise ValueError(f"Argument `model` must be a torch.nn.Module. Received: model={type(model).__name__!r}")
        if optimizer is not None and not isinstance(optimizer, torch.optim.Optimizer):
            raise ValueError(
                f"Argument `optimizer` must be a torch.optim.Optimizer or None. Received: optimizer={type(optimizer).__name__!r}"
            )
        self.model = model
        self.train_data = train_data
        self.loss_fn = loss_fn
        self.optimizer = optimizer
        self.options = {"on_interrupt": "return", **options}
        self.result: RangeTestResult | None = None

    def run(
        self,
        start_lr: float = 1e-7,
        end_lr: float = 10.0,
        num_steps: int | None = None,
        mode: Literal["exp", "linear"] = "exp",
        **options: Any,
    ) -> RangeTestResult:
        """Run the range test (arguments as :func:`~lrscope.torch.range_test`); keeps and returns the result.

        Raises:
            ValueError: on bad arguments (nothing is changed).
        """
        opt = self.optimizer
        if opt is None:
            params = [p for p in self.model.parameters() if p.requires_grad]
            if not params:
                raise ValueError("Argument `model` has no trainable parameters (all requires_grad=False). Received: a frozen model")
            # a placeholder LR (the sweep overwrites it): range_test validates start_lr itself, so a bad
            # value is its ValueError naming `start_lr`, not a TypeError from comparing it here
            ok = _is_real(start_lr) and start_lr > 0
            opt = torch.optim.SGD(params, lr=float(start_lr) if ok else 1e-7, momentum=0.9)
        kwargs = {**self.options, **options}
        self.result = range_test(
            self.model, opt, self.train_data, self.loss_fn,
            start_lr=start_lr, end_lr=end_lr, num_steps=num_steps, mode=mode, **kwargs,
        )  # fmt: skip
        return self.result

    def _need_result(self) -> RangeTestResult:
        if self.result is None:
            raise RuntimeError("LRFinder has no result yet: call run() first")
        return self.result

    def suggest(self, method: str | None = None, **options: Any) -> Suggestion:
        """``result.suggest(method, ...)`` of the last run.

        Raises:
            RuntimeError: before :meth:`run`.
        """
        return self._need_result().suggest(method, **options)

    def plot(self, path: str | os.PathLike[str] | None = None, *, ax: Any = None, **kwargs: Any) -> Any:
        """Plot the last run (``result.plot``); save the figure to ``path`` when given.

        Args:
            path: file to save the figure to (format from the extension), or None.
            ax: matplotlib Axes to draw into (default: a new figure).
            **kwargs: passed to :func:`lrscope.plot.plot_result`.

        Returns:
            The matplotlib Axes.

        Raises:
            RuntimeError: before :meth:`run`.
            ValueError: for an extension other than .png, .jpg/.jpeg, .svg, .pdf (checked first).
            ImportError: without matplotlib.
        """
        result = self._need_result()
        if path is not None:
            from lrscope.plot import image_format

            image_format(path)  # an unsupported extension fails before anything is drawn
        ax = result.plot(ax=ax, **kwargs)
        if path is not None:
            from lrscope.plot import save_figure

            Path(path).parent.mkdir(parents=True, exist_ok=True)
            save_figure(ax, path)  # temp file + rename: no partial file on failure
        return ax

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Save the last run's result as JSON (``result.save``)."""
        return self._need_result().save(path)

    def __repr__(self) -> str:
        return f"<LRFinder model={type(self.model).__name__} result={self.result!r}>"
