"""The LR range test inside PyTorch Lightning (``pip install 'lrscope[lightning]'``).

Two ways in, both on the one torch engine (:func:`lrscope.torch.range_test`, ``step_fn`` form: the
module's own ``training_step`` computes the loss, the optimizer comes from ``configure_optimizers``):

* :func:`lr_find` — a tuner helper with no ``Trainer``: the module, its data (a loader, or a
  ``LightningDataModule``) in; the :class:`~lrscope.result.RangeTestResult` out, and the module's LR
  attribute (``lr``, ``learning_rate``, or that key of ``hparams``) set to the suggestion.
* :class:`LRScopeFinder` — a callback that runs the range test at ``on_fit_start``, under the Trainer's
  own strategy (single device, or DDP on every rank: the forward goes through the strategy's
  ``training_step``, so gradients are all-reduced by DDP, and the range test all-reduces the losses, so
  every rank records the same curve and sets the same LR), then sets the LR attribute and rebuilds the
  optimizers from ``configure_optimizers`` so a scheduler built from ``self.lr`` (``OneCycleLR(max_lr=self.lr)``)
  follows the suggestion.

What the callback does not do (the complaints about Lightning's own finder): it runs no fit loop and no
hook, so ``EarlyStopping``, ``ModelCheckpoint`` and every other callback see nothing (their state is as
before); it writes no checkpoint or any other file (the snapshot is in memory, or in a temporary folder
deleted after with ``snapshot="disk"``); ``global_step``, ``current_epoch`` and ``callback_metrics`` stay as
they were; ``self.log`` calls inside ``training_step`` during the sweep are dropped (they would otherwise
reach the metrics those callbacks monitor). The one change ahead of time: the train data loader is set
up at ``on_fit_start`` (``trainer.fit_loop.setup_data()``, what Lightning's own finder also calls) instead
of just after it; the fit loop then reuses it.

:func:`scheduler_config` turns a result into the ``lr_scheduler`` dict ``configure_optimizers`` returns
(one-cycle, triangular ... from the run's bounds, stepped every batch).

Not supported (refused by name): several optimizers, manual optimization.
"""

from __future__ import annotations

import contextlib
import importlib
import itertools
import logging
import sys
import warnings
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import torch

from lrscope.result import RangeTestResult
from lrscope.torch.engine import range_test
from lrscope.torch.schedulers import ScheduleLR


def _import_lightning() -> Any:
    """``lightning.pytorch``; ``pytorch_lightning`` when the user's code imported only that (its Trainer
    accepts only its own ``Callback``) or when ``lightning`` is not installed."""
    names = ["lightning.pytorch", "pytorch_lightning"]
    if "pytorch_lightning" in sys.modules and "lightning" not in sys.modules:
        names.reverse()
    for name in names:
        try:
            return importlib.import_module(name)
        except ImportError:
            continue
    raise ImportError("lrscope.torch.integrations.lightning needs Lightning: pip install 'lrscope[lightning]'")


pl: Any = _import_lightning()


__all__ = ["LRScopeFinder", "lr_find", "scheduler_config"]

log = logging.getLogger(__name__)

_LR_ATTRS = ("lr", "learning_rate")
# what LightningModule.log warns when it drops a call (no Trainer attached / barebones mode)
_LOG_DROPPED = r"You are trying to `self\.log\(\)` but"


# ----------------------------------------------------------------------------- helpers


def _single_optimizer(configured: Any) -> torch.optim.Optimizer:
    """The one optimizer of what ``configure_optimizers`` returned (any of Lightning's forms)."""
    found: list[Any] = []

    def walk(obj: Any) -> None:
        if isinstance(obj, torch.optim.Optimizer):
            found.append(obj)
        elif isinstance(obj, Mapping):
            if "optimizer" in obj:
                walk(obj["optimizer"])
        elif isinstance(obj, Sequence) and not isinstance(obj, str):
            if len(obj) == 2 and all(isinstance(o, (list, tuple)) for o in obj):
                walk(obj[0])  # ([optimizers], [schedulers])
            else:
                for o in obj:
                    walk(o)

    walk(configured)
    if len(found) != 1:
        raise ValueError(
            "the range test needs exactly one optimizer from `configure_optimizers()`. "
            f"Received: {len(found)} optimizer(s) from {type(configured).__name__}"
        )
    opt: torch.optim.Optimizer = found[0]
    return opt


def _lr_attr(module: Any, attr_name: str | None) -> str:
    parsing = importlib.import_module(f"{pl.__name__}.utilities.parsing")
    names = (attr_name,) if attr_name else _LR_ATTRS
    for name in names:
        if parsing.lightning_hasattr(module, name):
            return name
    raise AttributeError(
        f"the LightningModule has no LR attribute to set: looked for {list(names)} on the module, its hparams and "
        f"its datamodule. Add `self.lr = ...` (or pass `attr_name=`, or `update_attr=False`). Received: attr_name={attr_name!r}"
    )


def _set_attr(module: Any, name: str, value: float) -> None:
    importlib.import_module(f"{pl.__name__}.utilities.parsing").lightning_setattr(module, name, value)


@contextlib.contextmanager
def _logging_dropped(module: Any) -> Iterator[None]:
    """``self.log`` inside ``training_step`` does nothing during the sweep.

    With a Trainer attached its ``barebones`` flag is on for the block (``LightningModule.log`` returns
    at once in barebones mode, before touching the Trainer's result collection); without one, ``log``
    already returns. Either way the warning it gives is silenced, only inside the block.
    """
    trainer = getattr(module, "_trainer", None)
    had = getattr(trainer, "barebones", None) if trainer is not None else None
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=_LOG_DROPPED)
        if trainer is not None:
            trainer.barebones = True
        try:
            yield
        finally:
            if trainer is not None:
                trainer.barebones = had


def _step_fn(module: Any, strategy: Any = None) -> Any:
    """``step_fn(model, batch)``: the module's ``training_step(batch, batch_idx)``, through the strategy
    when there is one and gradients are on (DDP's forward, the precision plugin's context)."""
    counter = itertools.count()

    def step(model: Any, batch: Any) -> Any:
        i = next(counter)
        if strategy is not None and torch.is_grad_enabled():
            out = strategy.training_step(batch, i)
        else:
            out = module.training_step(batch, i)
        if out is None:
            raise ValueError(
                "`training_step` returned None during the range test (a skipped batch): it must return the loss "
                "(a tensor or a dict with 'loss'). Received: None"
            )
        return out

    return step


def _check_module(module: Any) -> None:
    if not isinstance(module, pl.LightningModule):
        raise ValueError(f"Argument `module` must be a LightningModule. Received: {type(module).__name__}")
    if not module.automatic_optimization:
        raise ValueError(
            "the range test needs automatic optimization (it calls training_step and steps the optimizer itself). "
            "Received: a module with automatic_optimization=False"
        )


def _apply(result: RangeTestResult, module: Any, *, method: str | None, attr_name: str | None, update_attr: bool) -> float | None:
    suggestion = result.suggest(method) if method else result.suggest()
    result.config["integration"] = "lightning"
    if not suggestion.found or suggestion.lr is None:
        log.info("lrscope: no LR suggested (%s); the module's LR is unchanged", suggestion.reason)
        return None
    if update_attr:
        name = _lr_attr(module, attr_name)
        _set_attr(module, name, float(suggestion.lr))
        result.config["lr_attr"] = name
    return float(suggestion.lr)


# ----------------------------------------------------------------------------- tuner helper


def lr_find(
    module: Any,
    train_dataloaders: Any = None,
    *,
    datamodule: Any = None,
    val_dataloaders: Any = None,
    method: str | None = None,
    attr_name: str | None = None,
    update_attr: bool = True,
    **kwargs: Any,
) -> RangeTestResult:
    """Range test of a ``LightningModule`` without a Trainer; sets its LR attribute to the suggestion.

    The loss is the module's ``training_step(batch, batch_idx)`` (its ``self.log`` calls are dropped); the
    optimizer is the one ``configure_optimizers()`` returns (built for the test and discarded; schedulers it
    returns are not stepped). Parameters, buffers, RNGs are restored bit for bit.

    Args:
        module: the ``LightningModule``, on the device to test on.
        train_dataloaders: the training batches (a DataLoader or any iterable). Default: ``datamodule``'s
            (after its ``prepare_data()`` and ``setup("fit")``) or the module's ``train_dataloader()``.
        datamodule: a ``LightningDataModule`` to take the batches from.
        val_dataloaders: optional validation batches (the loss is ``training_step``'s, under ``no_grad``
            in eval mode).
        method: the suggestion rule (default: the result's default).
        attr_name: the attribute to set (default: the first of ``lr``, ``learning_rate`` found on the module,
            its ``hparams`` or its datamodule, as Lightning's own finder looks).
        update_attr: False leaves the module's attribute alone.
        **kwargs: any argument of :func:`lrscope.torch.range_test` (``start_lr``, ``end_lr``, ``num_steps`` ...).

    Returns:
        The :class:`~lrscope.result.RangeTestResult` (``config["integration"] == "lightning"``).

    Raises:
        ValueError: for several optimizers, manual optimization, or no data.
        AttributeError: when ``update_attr`` and the module has no LR attribute.

    Example:
        >>> result = lr_find(model, datamodule=dm, start_lr=1e-6, end_lr=1.0)   # doctest: +SKIP
        >>> model.lr                                                            # doctest: +SKIP
    """
    _check_module(module)
    if update_attr:
        _lr_attr(module, attr_name)  # fail before the sweep, not after
    data = train_dataloaders
    if data is None and datamodule is not None:
        datamodule.prepare_data()
        datamodule.setup("fit")
        data = datamodule.train_dataloader()
        if val_dataloaders is None and kwargs.get("val_data") is None and _overrides(datamodule, "val_dataloader"):
            val_dataloaders = datamodule.val_dataloader()
    if data is None:
        data = module.train_dataloader()
    optimizer = _single_optimizer(module.configure_optimizers())
    if val_dataloaders is not None:
        kwargs["val_data"] = val_dataloaders
    with _logging_dropped(module):
        result = range_test(module, optimizer, data, step_fn=_step_fn(module), **kwargs)
    _apply(result, module, method=method, attr_name=attr_name, update_attr=update_attr)
    return result


def _overrides(obj: Any, name: str) -> bool:
    return getattr(type(obj), name, None) is not getattr(pl.LightningDataModule, name, None)


# ----------------------------------------------------------------------------- the callback


class LRScopeFinder(pl.Callback):  # type: ignore[misc]
    """Run lrscope's range test at ``on_fit_start`` and train with the suggested LR.

    Works under any single-optimizer, automatic-optimization module and the Trainer's own strategy
    (single device, DDP: every rank runs the sweep, losses all-reduced, identical suggestion). See the
    module docstring for what it leaves untouched.

    Args:
        method: the suggestion rule (default: the result's default).
        attr_name: the LR attribute to set (default ``lr`` or ``learning_rate``, as :func:`lr_find`).
        update_attr: False: only record ``self.result``, train with the LR as configured.
        reconfigure_optimizers: after setting the attribute, rebuild the optimizers (and schedulers) from
            ``configure_optimizers`` so they use it (default True); False sets the new LR in the existing
            optimizers' param groups instead.
        **kwargs: any argument of :func:`lrscope.torch.range_test` (``start_lr``, ``end_lr``, ``num_steps``,
            ``progress`` ...); ``progress`` defaults to False.

    Attributes:
        result: the :class:`~lrscope.result.RangeTestResult` of the last fit (None before).
        lr: the suggested LR (None when the rule abstained); set on the module only with ``update_attr``.

    Example:
        >>> finder = LRScopeFinder(start_lr=1e-6, end_lr=1.0, num_steps=100)         # doctest: +SKIP
        >>> trainer = Trainer(callbacks=[finder, EarlyStopping("val_loss")])         # doctest: +SKIP
        >>> trainer.fit(model, datamodule=dm); finder.result.suggest()              # doctest: +SKIP
    """

    def __init__(
        self,
        *,
        method: str | None = None,
        attr_name: str | None = None,
        update_attr: bool = True,
        reconfigure_optimizers: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__()
        for bad in ("step_fn", "loss_fn", "restore"):
            if bad in kwargs:
                raise ValueError(
                    f"Argument `{bad}` is the callback's to set (the loss is training_step's; the state is always "
                    f"restored). Received: {bad}={kwargs[bad]!r}"
                )
        kwargs.setdefault("progress", False)
        self.method, self.attr_name, self.update_attr = method, attr_name, update_attr
        self.reconfigure_optimizers = reconfigure_optimizers
        self.kwargs = kwargs
        self.result: RangeTestResult | None = None
        self.lr: float | None = None

    def on_fit_start(self, trainer: Any, pl_module: Any) -> None:
        _check_module(pl_module)
        if self.update_attr:
            _lr_attr(pl_module, self.attr_name)
        if len(trainer.optimizers) != 1:
            raise ValueError(
                "LRScopeFinder needs exactly one optimizer from `configure_optimizers()`. "
                f"Received: {len(trainer.optimizers)} optimizer(s)"
            )
        trainer.fit_loop.setup_data()  # what the fit loop would do next; it reuses the loader
        data = trainer.train_dataloader
        if data is None:
            raise ValueError("LRScopeFinder found no training data loader (limit_train_batches=0?). Received: None")
        strategy = trainer.strategy
        with _logging_dropped(pl_module):
            result = range_test(strategy.model, trainer.optimizers[0], data, step_fn=_step_fn(pl_module, strategy), **self.kwargs)
        self.result = result
        self.lr = _apply(result, pl_module, method=self.method, attr_name=self.attr_name, update_attr=self.update_attr)
        if self.lr is None or not self.update_attr:
            return
        if self.reconfigure_optimizers:
            strategy.setup_optimizers(trainer)
        else:
            for opt in trainer.optimizers:
                for group in opt.param_groups:
                    group["lr"] = self.lr
        if trainer.is_global_zero:
            log.info("lrscope: learning rate set to %.4g (%s)", self.lr, result.suggest(self.method).reason if self.method else "")


# ----------------------------------------------------------------------------- schedules


def scheduler_config(
    optimizer: torch.optim.Optimizer,
    result: RangeTestResult,
    kind: str = "one_cycle",
    *,
    interval: str = "step",
    **kwargs: Any,
) -> dict[str, Any]:
    """The ``lr_scheduler`` entry for ``configure_optimizers``: a schedule from the run's bounds.

    Args:
        optimizer: the optimizer ``configure_optimizers`` builds.
        result: a range test result (e.g. ``LRScopeFinder.result`` or :func:`lr_find`'s).
        kind: ``"one_cycle"``, ``"triangular"``, ``"cosine"`` ... (see :meth:`RangeTestResult.schedule`).
        interval: ``"step"`` (default: the schedules count optimizer steps) or ``"epoch"``.
        **kwargs: the schedule's own arguments (``total_steps`` for one-cycle — e.g.
            ``self.trainer.estimated_stepping_batches`` —, ``step_size_up`` for the cyclical ones ...).

    Returns:
        ``{"scheduler": ScheduleLR(...), "interval": interval, "frequency": 1}``; a one-cycle schedule also
        drives the momentum (``momentum`` or ``betas[0]``) when the optimizer has one.

    Raises:
        ValueError: when the result gives no bounds (the reason is in the message).

    Example:
        >>> def configure_optimizers(self):                                                  # doctest: +SKIP
        ...     opt = torch.optim.SGD(self.parameters(), lr=0.1, momentum=0.9)
        ...     cfg = scheduler_config(opt, self.range_result, "one_cycle",
        ...                            total_steps=int(self.trainer.estimated_stepping_batches))
        ...     return {"optimizer": opt, "lr_scheduler": cfg}
    """
    schedule = result.schedule(kind, **kwargs)
    momentum = getattr(schedule, "momentum", None)
    groups = optimizer.param_groups
    if momentum is not None and not all("momentum" in g or "betas" in g for g in groups):
        momentum = None
    return {"scheduler": ScheduleLR(optimizer, schedule, momentum=momentum if callable(momentum) else None), "interval": interval, "frequency": 1}
