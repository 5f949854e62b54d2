"""Shared helpers of the integration tests (Lightning, Accelerate, Schedule-Free), and the warnings they
need let through: pyproject turns every warning into an error; a filter here names one message and
category of a framework's own deprecation noise, never anything lrscope does.
"""

from __future__ import annotations

import numpy as np
import pytest

# Lightning 2.6 with torch 2.13: its pytree helper calls `isinstance(treespec, LeafSpec)`, which torch
# deprecates ("`isinstance(treespec, LeafSpec)` is deprecated, use `isinstance(treespec, TreeSpec) and
# treespec.is_leaf()` instead", FutureWarning raised from typing_extensions). The only warning these tests
# needed let through (checked by running them with no filter).
LIGHTNING_WARNINGS = [
    r"ignore:`isinstance\(treespec, LeafSpec\)` is deprecated:FutureWarning",
]


def pytest_configure(config: pytest.Config) -> None:
    for line in LIGHTNING_WARNINGS:
        config.addinivalue_line("filterwarnings", line)


def digits_arrays(n: int = 512) -> tuple[np.ndarray, np.ndarray]:
    """The first ``n`` scikit-learn digits, flattened to 64 features."""
    from lrscope.datasets import load_digits

    x, y = load_digits()
    return x[:n].reshape(n, 64), y[:n]
