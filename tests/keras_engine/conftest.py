"""Keras tests: the backend is read once, at ``import keras``; default to torch (run each backend in
its own process: ``KERAS_BACKEND=jax python -m pytest tests/keras_engine``)."""

import os

os.environ.setdefault("KERAS_BACKEND", "torch")


def pytest_configure(config):
    # Keras' torch backend turns tensors into numpy with np.array(tensor); with numpy >= 2 and a torch
    # whose Tensor.__array__ lacks the `copy` keyword numpy warns on every such call (inside
    # model.fit and keras.ops.convert_to_numpy). Not ours to fix; ignore exactly that message.
    config.addinivalue_line(
        "filterwarnings",
        "ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning",
    )
