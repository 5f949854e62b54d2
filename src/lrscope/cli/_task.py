"""What a ``lrscope find`` factory returns: :class:`Task` (or a tuple / dict of the same fields)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, NamedTuple

__all__ = ["Task", "KerasTask", "TaskShapeError", "as_task"]


class Task(NamedTuple):
    """Everything one range test needs; what a ``lrscope find`` factory returns.

    A factory may return a :class:`Task`, a plain tuple in this field order
    ``(model, optimizer, loss_fn, train_batches[, val_batches[, metric]])``, or a dict with these keys
    (the first four required, unknown keys rejected).

    Attributes:
        model: the ``torch.nn.Module`` to probe (its state is restored after the sweep).
        optimizer: a ``torch.optim.Optimizer`` over the model's parameters (its LR is overwritten by the sweep).
        loss_fn: ``loss_fn(outputs, targets) -> scalar tensor`` (e.g. ``torch.nn.CrossEntropyLoss()``).
        train_batches: an iterable of ``(inputs, targets)`` batches, e.g. a ``DataLoader`` (cycled if shorter
            than the sweep).
        val_batches: optional iterable of ``(inputs, targets)`` for validation-loss mode and metrics.
        metric: optional ``metric(outputs, targets) -> float`` evaluated on ``val_batches`` (higher is better),
            or ``"accuracy"`` for top-1 accuracy.
    """

    model: Any
    optimizer: Any
    loss_fn: Callable[..., Any]
    train_batches: Iterable[Any]
    val_batches: Iterable[Any] | None = None
    metric: Callable[..., Any] | str | None = None


class KerasTask(NamedTuple):
    """What a ``lrscope find`` factory returns for a Keras 3 model: the compiled model and what
    ``model.fit`` takes. A factory may return a :class:`KerasTask`, a tuple ``(model, x[, y[,
    validation_data[, batch_size]]])`` whose first item is a compiled ``keras.Model``, or a dict of
    these keys.

    Attributes:
        model: a compiled ``keras.Model`` (optimizer, loss, and metrics for ``--metric``).
        x: training data: arrays, a ``tf.data.Dataset``, a ``PyDataset``, a generator ...
        y: targets when ``x`` is an array.
        validation_data: ``(x_val, y_val)`` or batches, for ``--val-loss``.
        batch_size: for arrays (``fit``'s default 32 otherwise).
    """

    model: Any
    x: Any
    y: Any = None
    validation_data: Any = None
    batch_size: int | None = None

    @property
    def train_batches(self) -> Any:
        return self.x

    @property
    def val_batches(self) -> Any:
        return self.validation_data

    @property
    def metric(self) -> None:
        return None

    def steps_per_epoch(self) -> int | None:
        """Batches in one pass over ``x`` (None when it has no length)."""
        try:
            n = len(self.x)
        except TypeError:
            return None
        if hasattr(self.x, "shape"):  # arrays: samples, in batches of batch_size
            return -(-n // (self.batch_size or 32))
        return n


def is_keras_model(obj: Any) -> bool:
    """A ``keras.Model`` (checked by class, without importing keras)."""
    return any(c.__name__ == "Model" and c.__module__.split(".")[0] == "keras" for c in type(obj).__mro__)


def _as_keras_task(value: Any, origin: str) -> KerasTask | None:
    if isinstance(value, KerasTask):
        return value
    if isinstance(value, Mapping) and is_keras_model(value.get("model")):
        unknown = sorted(set(map(str, value)) - set(KerasTask._fields))
        if unknown or "x" not in value:
            raise TaskShapeError(f"{origin} returned a Keras model in a dict with "
                                 f"{'unknown key(s) ' + ', '.join(map(repr, unknown)) if unknown else 'no key x'}; "
                                 f"the keys are {', '.join(KerasTask._fields)} (model and x required)")
        return KerasTask(**value)
    if isinstance(value, tuple | list) and value and is_keras_model(value[0]):
        if not 2 <= len(value) <= 5:
            raise TaskShapeError(f"{origin} returned a Keras model in a {type(value).__name__} of {len(value)} "
                                 "item(s); expected (model, x[, y[, validation_data[, batch_size]]])")
        return KerasTask(*value)
    if is_keras_model(value):
        raise TaskShapeError(f"{origin} returned only a Keras model; return (model, x[, y[, validation_data"
                             "[, batch_size]]]) so the range test has data")
    return None


class TaskShapeError(TypeError):
    """A factory returned something that is not a Task, a tuple of 4 to 6 items, or a dict of its fields."""


_REQUIRED = Task._fields[:4]


def as_task(value: Any, *, origin: str = "the factory") -> Task:
    """Normalise a factory's return value to a :class:`Task` (or a :class:`KerasTask` for a Keras
    model); :class:`TaskShapeError` names what is wrong."""
    keras_task = _as_keras_task(value, origin)
    if keras_task is not None:
        return keras_task  # type: ignore[return-value]
    if isinstance(value, Task):
        task = value
    elif isinstance(value, Mapping):
        unknown = sorted(set(map(str, value)) - set(Task._fields))
        missing = [k for k in _REQUIRED if k not in value]
        if unknown or missing:
            what = []
            if missing:
                what.append(f"missing key(s) {', '.join(map(repr, missing))}")
            if unknown:
                what.append(f"unknown key(s) {', '.join(map(repr, unknown))}")
            raise TaskShapeError(f"{origin} returned a dict with {' and '.join(what)}; the keys are "
                                 f"{', '.join(Task._fields)} (the first four required)")
        task = Task(**value)
    elif isinstance(value, tuple | list):
        if not 4 <= len(value) <= 6:
            raise TaskShapeError(f"{origin} returned a {type(value).__name__} of {len(value)} item(s); expected "
                                 "(model, optimizer, loss_fn, train_batches[, val_batches[, metric]])")
        task = Task(*value)
    else:
        raise TaskShapeError(f"{origin} returned {type(value).__name__}; expected lrscope.cli.Task, a tuple "
                             "(model, optimizer, loss_fn, train_batches[, val_batches[, metric]]) or a dict of those keys")
    for name in _REQUIRED:
        if getattr(task, name) is None:
            raise TaskShapeError(f"{origin} returned {name}=None; {name} is required")
    if not callable(task.loss_fn):
        raise TaskShapeError(f"{origin} returned a loss_fn that is not callable ({type(task.loss_fn).__name__})")
    if task.metric is not None and not (callable(task.metric) or task.metric == "accuracy"):
        raise TaskShapeError(f"{origin} returned metric={task.metric!r}; expected a callable or 'accuracy'")
    for name in ("model", "optimizer"):
        obj = getattr(task, name)
        expected = "parameters" if name == "model" else "param_groups"
        if not hasattr(obj, expected):
            raise TaskShapeError(f"{origin} returned a {name} of type {type(obj).__name__} without `.{expected}`; "
                                 f"expected a torch {'nn.Module' if name == 'model' else 'optim.Optimizer'}")
    if not isinstance(task.train_batches, Iterable):
        raise TaskShapeError(f"{origin} returned train_batches of type {type(task.train_batches).__name__}, "
                             "which is not iterable")
    return task
