import os
import signal

# Keras reads its backend once, at its first import: torch here (the JAX run is its own process,
# tests/test_keras_backends.py). Set before any test module can import keras.
os.environ.setdefault("KERAS_BACKEND", "torch")

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci", max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)
settings.register_profile("dev", max_examples=100, deadline=None)
# `HYPOTHESIS_PROFILE=stress` hunts for counterexamples before a push (CI's derandomized examples
# change with the Hypothesis version, so a property must hold for far more than CI tries).
settings.register_profile("stress", max_examples=5000, deadline=None, suppress_health_check=list(HealthCheck))
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "dev"))

# In CI every optional part is installed (.ci/run installs the [test] extra), so a test that would
# skip for a missing import must fail instead: a green run must mean the golden torch tests ran.
if os.environ.get("CI"):
    import importlib

    for _module in ("torch", "matplotlib", "sklearn", "tqdm", "keras", "jax"):
        importlib.import_module(_module)



@pytest.fixture
def python_sigint():
    """Python's own Ctrl-C handler for the test: a process started in the background by a shell
    inherits SIGINT as ignored, and then no KeyboardInterrupt can be raised by a signal at all."""
    previous = signal.getsignal(signal.SIGINT)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
