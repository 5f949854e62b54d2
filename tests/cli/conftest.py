"""Fixtures for the command-line tests: headless matplotlib, saved runs, a clean torch thread count."""

from __future__ import annotations

import os

os.environ["MPLBACKEND"] = "Agg"

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from lrscope.result import RangeTestResult  # noqa: E402


def synthetic_run(n: int = 120, *, seed: int = 0, diverge: bool = True, metric: bool = True,
                  steps_per_epoch: int | None = 50) -> RangeTestResult:
    """A realistic loss-vs-LR curve: plateau, fall, minimum, blow-up (and an accuracy that mirrors it)."""
    rng = np.random.default_rng(seed)
    lrs = np.geomspace(1e-5, 10.0, n)
    x = np.log10(lrs)
    loss = 2.3 - 1.6 / (1 + np.exp(-(x + 2.5) * 3)) + 0.3 * np.exp((x + 0.3) * 2.5) + rng.normal(0, 0.03, n)
    stop = "completed"
    if diverge:
        k = int(np.argmax(loss > 4 * loss.min()))
        if k:
            lrs, loss, x = lrs[: k + 1], loss[: k + 1], x[: k + 1]
            stop = "diverged"
    metrics = {}
    if metric:
        acc = 0.1 + 0.8 / (1 + np.exp(-(x + 2.5) * 3)) - 0.2 * np.exp((x + 0.3) * 2.5)
        metrics["accuracy"] = np.clip(acc + rng.normal(0, 0.01, len(x)), 0, 1)
    config = {"start_lr": 1e-5, "end_lr": 10.0}
    if steps_per_epoch:
        config["steps_per_epoch"] = steps_per_epoch
    return RangeTestResult(lrs=lrs, losses=loss, metrics=metrics, stop_reason=stop, config=config)


@pytest.fixture
def make_run():
    """The synthetic_run factory (a fixture: test modules must not import conftest by name)."""
    return synthetic_run


@pytest.fixture
def run_json(tmp_path):
    """A saved run (with an accuracy metric and steps_per_epoch in its config)."""
    return str(synthetic_run().save(tmp_path / "run_a.json"))


@pytest.fixture
def run_json_b(tmp_path):
    return str(synthetic_run(seed=1, diverge=False, metric=False).save(tmp_path / "run_b.json"))


@pytest.fixture(autouse=True)
def _keep_torch_threads():
    """demo/find set torch's thread count; put it back so other tests are not affected."""
    try:
        import torch
    except ImportError:  # pragma: no cover
        yield
        return
    n = torch.get_num_threads()
    yield
    torch.set_num_threads(n)
