"""The Keras tests on every installed backend other than the one this process imported.

``KERAS_BACKEND`` is read once, at ``import keras``, so each backend needs its own process: this
test runs ``tests/keras_engine`` again under JAX (and TensorFlow when installed) in a subprocess.
"""

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("backend", ["jax", "tensorflow"])
def test_keras_tests_pass_on_backend(backend):
    if importlib.util.find_spec("keras") is None:
        pytest.skip("keras is not installed")
    if backend == os.environ.get("KERAS_BACKEND", "torch"):
        pytest.skip(f"{backend} is this process' backend: tests/keras_engine ran here")
    if importlib.util.find_spec(backend) is None:
        if backend == "jax" and os.environ.get("CI"):
            pytest.fail("CI installs jax (the [test] extra): the JAX backend must be tested")
        pytest.skip(f"{backend} is not installed")
    env = {**os.environ, "KERAS_BACKEND": backend}
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "tests/keras_engine", "-q", "-p", "no:cacheprovider"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-30:])
    assert proc.returncode == 0, f"tests/keras_engine failed under KERAS_BACKEND={backend}:\n{tail}"
    assert " passed" in tail
