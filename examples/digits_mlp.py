"""A complete `lrscope find` factory: an MLP on scikit-learn's digits (offline, runs in seconds on a CPU).

    lrscope find examples/digits_mlp.py:make --num-steps 100 --metric accuracy
    lrscope suggest lrscope-out/range_test.json

The contract: a factory takes no arguments and returns everything one range test needs, as

* ``lrscope.cli.Task(model, optimizer, loss_fn, train_batches, val_batches=None, metric=None)`` (below), or
* a plain tuple in that order, 4 to 6 items: ``return model, optimizer, loss_fn, train_loader``, or
* a dict with those keys, the first four required:
  ``return {"model": model, "optimizer": opt, "loss_fn": loss_fn, "train_batches": train_loader}``.

``train_batches`` is any iterable of ``(inputs, targets)`` — a DataLoader is typical; it is cycled
when shorter than the sweep. ``val_batches`` (same shape) is read for ``--val-loss`` and for the
metric; ``metric(outputs, targets) -> float`` is higher-is-better, or the string ``"accuracy"``.
The model's weights and the optimizer's state are restored after the sweep.
"""

from __future__ import annotations

import torch
from sklearn.datasets import load_digits
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from lrscope.cli import Task


def accuracy(outputs: torch.Tensor, targets: torch.Tensor) -> float:
    """Top-1 accuracy of a batch of logits."""
    return float((outputs.argmax(dim=1) == targets).float().mean())


def make(batch_size: int = 64, seed: int = 0) -> Task:
    """An MLP, SGD with Nesterov momentum, cross-entropy, and digits split 1500 / 297."""
    digits = load_digits()
    x = torch.tensor(digits.data / 16.0, dtype=torch.float32)
    y = torch.tensor(digits.target, dtype=torch.long)
    g = torch.Generator().manual_seed(seed)
    order = torch.randperm(len(x), generator=g)
    train, val = order[:1500], order[1500:]

    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10))
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9, nesterov=True)
    train_batches = DataLoader(TensorDataset(x[train], y[train]), batch_size=batch_size, shuffle=True, generator=g)
    val_batches = [(x[val], y[val])]  # one batch: the whole validation split
    return Task(
        model=model,
        optimizer=optimizer,
        loss_fn=nn.CrossEntropyLoss(),
        train_batches=train_batches,
        val_batches=val_batches,
        metric=accuracy,
    )


def make_tuple():
    """The same setup returned as a plain tuple (model, optimizer, loss_fn, train_batches)."""
    task = make()
    return task.model, task.optimizer, task.loss_fn, task.train_batches
