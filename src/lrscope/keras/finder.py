"""The classic Keras LR-finder shape on :func:`lrscope.keras.range_test` (no second engine).

The calls of the well-known Keras LR-finder article, working on Keras 3 and every backend::

    lrf = LRFinder(model)
    lrf.find_generator(generator, 0.0001, 10.0, test_generator, epochs=1, steps_per_epoch=None)
    lrf.plot_loss()
    lrf.candidates()            # local minima of the validation loss near the lowest, >= 20 % apart
"""

from __future__ import annotations

import dataclasses
import math
import os
from typing import Any

from lrscope.analysis.types import Suggestion
from lrscope.keras.engine import range_test
from lrscope.result import RangeTestResult
from lrscope.sweep.checks import check_int, fail

__all__ = ["LRFinder"]


class LRFinder:
    """Range tests on a compiled Keras model, the article's way; every run returns a
    :class:`~lrscope.result.RangeTestResult` (kept in :attr:`result`), so suggestions, plots, JSON,
    the report and the CLI are shared with the PyTorch front end.

    Args:
        model: a compiled ``keras.Model`` (restored after each run).
        **options: defaults for every run (any :func:`lrscope.keras.range_test` keyword).

    Example:
        >>> lrf = LRFinder(model)                                                     # doctest: +SKIP
        >>> lrf.find(x_train, y_train, 1e-4, 10.0, batch_size=64, epochs=1)           # doctest: +SKIP
        >>> lrf.plot_loss()                                                          # doctest: +SKIP
    """

    def __init__(self, model: Any, **options: Any) -> None:
        self.model = model
        self.options = options
        self.result: RangeTestResult | None = None

    def find(
        self, x: Any, y: Any, start_lr: float, end_lr: float, batch_size: int = 64, epochs: int = 1, **options: Any
    ) -> RangeTestResult:
        """Sweep over ``epochs`` passes of the arrays ``(x, y)`` in batches of ``batch_size``: one
        point per batch, ``epochs * ceil(len(x) / batch_size)`` points."""
        batch_size = check_int("batch_size", batch_size, 1)
        epochs = check_int("epochs", epochs, 1)
        steps = epochs * math.ceil(len(x) / batch_size)
        return self._run(x, y, start_lr=start_lr, end_lr=end_lr, num_steps=max(steps, 2), batch_size=batch_size, **options)

    def find_generator(
        self,
        generator: Any,
        start_lr: float,
        end_lr: float,
        validation_generator: Any = None,
        epochs: int = 1,
        steps_per_epoch: int | None = None,
        **options: Any,
    ) -> RangeTestResult:
        """Sweep over batches from a generator, a ``PyDataset``, a ``tf.data.Dataset`` or a
        ``DataLoader``: ``epochs * steps_per_epoch`` points (``steps_per_epoch`` defaults to
        ``len(generator)``). With ``validation_generator`` the validation loss of a fixed subset of its
        batches is recorded too, and :meth:`candidates` and :meth:`suggest` read it."""
        epochs = check_int("epochs", epochs, 1)
        if steps_per_epoch is None:
            try:
                steps_per_epoch = len(generator)
            except TypeError:
                raise ValueError(
                    "Argument `steps_per_epoch` is required when `generator` has no length (a Python generator "
                    f"can run forever). Received: steps_per_epoch=None, generator={type(generator).__name__}"
                ) from None
        steps_per_epoch = check_int("steps_per_epoch", steps_per_epoch, 1)
        if validation_generator is not None:
            options.setdefault("validation_data", validation_generator)
        return self._run(generator, None, start_lr=start_lr, end_lr=end_lr, num_steps=max(epochs * steps_per_epoch, 2), **options)

    def _run(self, x: Any, y: Any, **kwargs: Any) -> RangeTestResult:
        merged = {"on_interrupt": "return", **self.options, **kwargs}
        self.result = range_test(self.model, x, y, **merged)
        return self.result

    def _need_result(self) -> RangeTestResult:
        if self.result is None:
            raise RuntimeError("LRFinder has no result yet: call find(...) or find_generator(...) first")
        return self.result

    @property
    def lrs(self) -> list[float]:
        """The swept LRs, one per point (the article's ``lrf.lrs``)."""
        return self._need_result().lrs.tolist()

    @property
    def losses(self) -> list[float]:
        """The recorded losses: the validation loss where it was recorded, else the training loss."""
        r = self._need_result()
        return r.curve("auto")[1].tolist()

    def suggest(self, method: str | None = None, **options: Any) -> Suggestion:
        """The default reading (``drop``) or a named rule, of the validation loss when recorded."""
        return self._need_result().suggest(method, **options)

    def candidates(self, **options: Any) -> list[Suggestion]:
        """Distinct local minima near the lowest loss, each >= 20 % apart (the article's candidates)."""
        return self._need_result().candidates(**options)

    def plot_loss(self, n_skip_beginning: int = 0, n_skip_end: int = 0, *, path: str | os.PathLike[str] | None = None,
                  ax: Any = None, **kwargs: Any) -> Any:  # fmt: skip
        """Loss vs LR, annotated (needs matplotlib); ``n_skip_*`` drop points at either end as the
        article's ``plot_loss`` did; ``path`` saves the figure. Returns the Axes."""
        r = self._need_result()
        n_skip_beginning = check_int("n_skip_beginning", n_skip_beginning, 0)
        n_skip_end = check_int("n_skip_end", n_skip_end, 0)
        if n_skip_beginning + n_skip_end >= len(r):
            raise fail("n_skip_end", f"leaves no point of the {len(r)} recorded with n_skip_beginning={n_skip_beginning}", n_skip_end)
        if n_skip_beginning or n_skip_end:
            r = _trimmed(r, n_skip_beginning, len(r) - n_skip_end)
        ax = r.plot(ax=ax, **kwargs)
        if path is not None:
            ax.figure.savefig(path, bbox_inches="tight")
        return ax

    def __repr__(self) -> str:
        return f"LRFinder({type(self.model).__name__}, result={self.result!r})"


def _trimmed(r: RangeTestResult, start: int, stop: int) -> RangeTestResult:
    """The result's points ``start:stop`` (for a plot that skips the ends; the result is unchanged)."""
    sl = slice(start, stop)
    return dataclasses.replace(
        r,
        lrs=r.lrs[sl],
        losses=r.losses[sl],
        val_losses=None if r.val_losses is None else r.val_losses[sl],
        metrics={k: v[sl] for k, v in r.metrics.items()},
        steps=None if r.steps is None else r.steps[sl],
        notes=[*r.notes, f"plotted points {start}..{stop - 1} of {len(r)}"],
    )
