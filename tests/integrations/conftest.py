"""Shared helpers of the integration tests (Lightning, Accelerate, Schedule-Free), and the warnings they
need let through: pyproject turns every warning into an error, and these frameworks warn about the tiny
CPU set-ups the tests use, not about anything lrscope does. Each filter names one message and category.
"""

from __future__ import annotations

import numpy as np
import pytest

# Lightning, about the test set-up (tiny CPU runs):
LIGHTNING_WARNINGS = [
    # "The 'train_dataloader' does not have many workers which may be a bottleneck" (num_workers=0 on purpose)
    "ignore:The '.*dataloader' does not have many workers:UserWarning",
    # GPU/TPU availability banners and "Consider setting `persistent_workers=True`"
    "ignore:.*persistent_workers=True.*:UserWarning",
    # "The number of training batches (N) is smaller than the logging interval Trainer(log_every_n_steps=50)"
    "ignore:The number of training batches .* is smaller than the logging interval:UserWarning",
    # "`isinstance(treespec, LeafSpec)` is deprecated" (lightning's pytree use with recent torch)
    "ignore:.*LeafSpec.*is deprecated:FutureWarning",
    # tensorboard / logger absence: "Starting from v1.9.0, `tensorboardX` has been removed as a dependency"
    "ignore:Starting from v1.9.0, `tensorboardX` has been removed:UserWarning",
]


def pytest_configure(config: pytest.Config) -> None:
    for line in LIGHTNING_WARNINGS:
        config.addinivalue_line("filterwarnings", line)


def digits_arrays(n: int = 512) -> tuple[np.ndarray, np.ndarray]:
    """The first ``n`` scikit-learn digits, flattened to 64 features."""
    from lrscope.datasets import load_digits

    x, y = load_digits()
    return x[:n].reshape(n, 64), y[:n]
