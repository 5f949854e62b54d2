"""`lrscope find` with a factory that returns a compiled Keras model and its data."""

import pytest

keras = pytest.importorskip("keras")

from lrscope.cli import main  # noqa: E402
from lrscope.result import RangeTestResult  # noqa: E402

FACTORY = '''
import keras
from lrscope.datasets import load_digits

def make():
    x, y = load_digits()
    x = x.reshape(len(x), -1)
    keras.utils.set_random_seed(0)
    m = keras.Sequential([keras.Input((64,)), keras.layers.Dense(16, activation="relu"), keras.layers.Dense(10)])
    m.compile(keras.optimizers.SGD(0.01), keras.losses.SparseCategoricalCrossentropy(from_logits=True),
              metrics=["accuracy"])
    return m, x[:640], y[:640].astype("int32"), (x[1400:], y[1400:].astype("int32")), 32
'''


def test_find_runs_the_keras_engine_on_a_keras_factory(tmp_path, capsys):
    spec = tmp_path / "kf.py"
    spec.write_text(FACTORY)
    code = main(["find", f"{spec}:make", "--num-steps", "25", "--val-loss", "--metric", "accuracy",
                 "-o", str(tmp_path / "out"), "--no-progress"])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    r = RangeTestResult.load(tmp_path / "out" / "range_test.json")
    assert r.config["engine"] == "keras" and len(r) == 25 and r.val_losses is not None
    assert r.config["steps_per_epoch"] == 20 and "accuracy" in r.metrics  # 640 samples / 32


def test_torch_only_options_are_refused_for_a_keras_factory(tmp_path, capsys):
    spec = tmp_path / "kf.py"
    spec.write_text(FACTORY)
    code = main(["find", f"{spec}:make", "--verify", "300", "-o", str(tmp_path / "out"), "--no-progress"])
    assert code == 2 and "--verify are for PyTorch factories" in capsys.readouterr().err
