"""The embedded default task of ``lrscope demo``: a small CNN with SGD + Nesterov momentum.

Data: Fashion-MNIST from the local IDX files (Debian package ``dataset-fashion-mnist``, or
``$LRSCOPE_FASHION_MNIST``); when they are absent or damaged, scikit-learn's bundled digits, with a note saying
how to install Fashion-MNIST. Nothing is downloaded. Needs torch (``pip install 'lrscope[cli]'``).

The task is deliberately small so the whole range test runs in well under a minute on two CPU cores:
a subset of the training images, batches of 128, about 150 steps, 1024 held-out images read after each.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lrscope.cli._task import Task
from lrscope.datasets import DatasetNotFoundError, load_digits, load_fashion_mnist

__all__ = ["DemoTask", "build_task", "make_cnn"]


@dataclass
class DemoTask:
    """The demo's :class:`~lrscope.cli.Task` and what a person should know about it."""

    task: Task
    dataset: str
    description: str
    steps_per_epoch: int
    notes: list[str] = field(default_factory=list)


def _torch() -> Any:
    try:
        import torch
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("the demo needs torch: pip install 'lrscope[cli]'") from exc
    return torch


def make_cnn(image_size: int, num_classes: int = 10, width: int = 16) -> Any:
    """Two conv blocks (conv 3x3 -> ReLU -> max-pool 2) and a linear classifier.

    Args:
        image_size: side of the square grayscale input (28 for Fashion-MNIST, 8 for digits).
        num_classes: number of output classes.
        width: channels of the first conv (the second has twice as many).
    """
    torch = _torch()
    nn = torch.nn
    side = image_size // 4
    return nn.Sequential(
        nn.Conv2d(1, width, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(width, 2 * width, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(2 * width * side * side, num_classes),
    )


def build_task(
    *,
    batch_size: int = 128,
    train_size: int = 19200,
    val_size: int = 1024,
    val_batch_size: int = 128,
    start_lr: float = 1e-5,
    seed: int = 0,
    dataset: str = "auto",
) -> DemoTask:
    """Build the demo task (model, optimizer, loss, batches) on Fashion-MNIST or, failing that, digits.

    Args:
        batch_size: training batch size.
        train_size: training images used (a subset keeps the demo fast; batches cycle through it).
        val_size: held-out images for the validation loss / accuracy, read after every step; a data set
            smaller than ``train_size + val_size`` (digits) holds out at most a fifth of itself. 1024 keeps
            the validation curve smooth (256 made it visibly wiggly on Fashion-MNIST) and the demo fast.
        val_batch_size: the held-out images are evaluated in batches of at most this many; small batches
            stay in the CPU caches (1024 images in batches of 128 evaluate about twice as fast as in one
            batch). The loss and accuracy are means over near-equal batches.
        start_lr: the optimizer's initial learning rate (the sweep overwrites it).
        seed: seed of the model's initialisation and of the batch order.
        dataset: ``"auto"`` (Fashion-MNIST, else digits), ``"fashion-mnist"`` or ``"digits"``.

    Returns:
        A :class:`DemoTask`; its ``notes`` say when the digits fallback was taken and why.

    Raises:
        DatasetNotFoundError: when ``dataset="fashion-mnist"`` and the files are missing, or present but
            unreadable (:class:`~lrscope.datasets.DatasetCorruptError`, a subclass; its message names the
            file). With ``dataset="auto"`` either case falls back to digits with a note.
        ValueError: for an unknown ``dataset`` or a ``val_size`` / ``val_batch_size`` below 1.
    """
    if dataset not in ("auto", "fashion-mnist", "digits"):
        raise ValueError(f"Argument `dataset` must be 'auto', 'fashion-mnist' or 'digits'. Received: dataset={dataset!r}")
    for arg, value in (("val_size", val_size), ("val_batch_size", val_batch_size)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"Argument `{arg}` must be a positive integer. Received: {arg}={value!r}")
    torch = _torch()
    notes: list[str] = []
    x = y = None
    name = "digits"
    if dataset in ("auto", "fashion-mnist"):
        try:
            x, y = load_fashion_mnist("train", limit=train_size + val_size)
            name = "fashion-mnist"
        except DatasetNotFoundError as exc:
            if dataset == "fashion-mnist":
                raise
            notes.append(f"{exc} Running on scikit-learn's digits instead.")
    if x is None:
        x, y = load_digits()
    assert y is not None
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(x))
    # the full held-out set when the data has room for it (Fashion-MNIST); else a fifth of it (digits)
    n_val = val_size if len(x) >= train_size + val_size else min(val_size, len(x) // 5)
    val_idx, train_idx = order[:n_val], order[n_val : n_val + train_size]
    mean, std = float(x[train_idx].mean()), float(x[train_idx].std()) or 1.0
    xt = torch.from_numpy((x - mean) / std).float().unsqueeze(1)  # N, 1, H, W
    yt = torch.from_numpy(y).long()
    g = torch.Generator().manual_seed(seed)
    train_loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(xt[train_idx], yt[train_idx]),
        batch_size=batch_size,
        shuffle=True,
        drop_last=True,
        generator=g,
    )
    n_chunks = -(-n_val // val_batch_size)
    val_batches = [(xt[i], yt[i]) for i in np.array_split(val_idx, n_chunks)]  # fixed, near-equal batches
    torch.manual_seed(seed)
    model = make_cnn(x.shape[-1])
    optimizer = torch.optim.SGD(model.parameters(), lr=start_lr, momentum=0.9, nesterov=True)
    loss_fn = torch.nn.CrossEntropyLoss()
    side = x.shape[-1]
    desc = (f"{'Fashion-MNIST' if name == 'fashion-mnist' else 'scikit-learn digits'} "
            f"({len(train_idx)} training images {side}x{side}, {n_val} held out), small CNN, "
            f"SGD(momentum=0.9, nesterov=True), batch {batch_size}")
    return DemoTask(
        task=Task(model, optimizer, loss_fn, train_loader, val_batches, "accuracy"),
        dataset=name,
        description=desc,
        steps_per_epoch=len(train_loader),
        notes=notes,
    )
