"""lrscope.keras callbacks: the LR (and momentum) read back from the optimizer every batch equals the core schedule."""

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from lrscope import schedules as core  # noqa: E402
from lrscope.keras import Cyclic, CyclicLR, ExponentialDecayLR, OneCycleLR  # noqa: E402

X = np.linspace(-1, 1, 32 * 3, dtype=np.float32).reshape(32, 3)
Y = X.sum(axis=1, keepdims=True)


def _read(value):
    return float(keras.ops.convert_to_numpy(value))


class Probe(keras.callbacks.Callback):
    """Reads the optimizer's LR and momentum/beta_1 before every batch (after the callbacks ahead of it)."""

    def __init__(self):
        super().__init__()
        self.lrs, self.momenta = [], []

    def on_train_batch_begin(self, batch, logs=None):
        opt = self.model.optimizer
        self.lrs.append(_read(opt.learning_rate))
        name = "beta_1" if hasattr(opt, "beta_1") else "momentum"
        self.momenta.append(_read(getattr(opt, name)))


def _fit(optimizer, callbacks, epochs=2, batch_size=4, **compile_kwargs):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, activation="relu"), keras.layers.Dense(1)])
    model.compile(optimizer=optimizer, loss="mse", **compile_kwargs)
    probe = Probe()
    model.fit(X, Y, batch_size=batch_size, epochs=epochs, verbose=0, callbacks=[*callbacks, probe])
    return model, probe


@pytest.mark.parametrize(
    "kwargs",
    [
        {"mode": "triangular", "step_size_up": 3},
        {"mode": "triangular2", "step_size_up": 2, "step_size_down": 3},
        {"mode": "exp_range", "step_size_up": 3, "gamma": 0.95},
        {"mode": "triangular", "step_size_up": 3, "window": "hann"},
    ],
)
def test_cyclic_lr_read_back_every_batch_equals_core(kwargs):
    clr = CyclicLR(base_lr=1e-3, max_lr=6e-3, **kwargs)
    _, probe = _fit(keras.optimizers.SGD(0.1), [clr])
    want = core.Cyclic(1e-3, 6e-3, **kwargs)(np.arange(16))
    np.testing.assert_allclose(probe.lrs, want, rtol=1e-6)  # float32 LR variable
    np.testing.assert_allclose(clr.history["lr"], want, rtol=1e-12)
    assert clr.history["iterations"] == list(range(16))
    assert len(clr.history["loss"]) == 16 and clr.iterations == 16


def test_cyclic_lr_continues_across_fit_calls_and_resets():
    clr = CyclicLR(1e-3, 6e-3, step_size=3.0)  # the original callback's name, as a float
    model, _ = _fit(keras.optimizers.SGD(0.1), [clr], epochs=1)
    probe = Probe()
    model.fit(X, Y, batch_size=4, epochs=1, verbose=0, callbacks=[clr, probe])
    np.testing.assert_allclose(probe.lrs, core.Cyclic(1e-3, 6e-3, 3)(np.arange(8, 16)), rtol=1e-6)
    clr.reset(max_lr=1e-2)
    assert clr.iterations == 0 and clr.history == {} and clr.max_lr == 1e-2


def test_cyclic_lr_with_gradient_accumulation_counts_updates():
    clr = CyclicLR(1e-3, 6e-3, step_size_up=2)
    _, probe = _fit(keras.optimizers.SGD(0.1, gradient_accumulation_steps=2), [clr], epochs=1)
    np.testing.assert_allclose(probe.lrs, core.Cyclic(1e-3, 6e-3, 2)(np.arange(8) // 2), rtol=1e-6)
    assert clr.iterations == 4


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_one_cycle_cycles_lr_and_momentum(optimizer):
    opt = keras.optimizers.SGD(0.1, momentum=0.9) if optimizer == "sgd" else keras.optimizers.Adam(0.1)
    n_vars = None
    callback = OneCycleLR(max_lr=0.05)  # total_steps from fit: 2 epochs x 8 batches
    model, probe = _fit(opt, [callback])
    cycle = core.OneCycle(0.05, total_steps=16)
    np.testing.assert_allclose(probe.lrs, cycle(np.arange(16)), rtol=1e-6)
    np.testing.assert_allclose(probe.momenta, cycle.momentum(np.arange(16)), rtol=1e-6)
    # afterwards the hyperparameter is a float again and the optimizer holds only its own variables
    name = "momentum" if optimizer == "sgd" else "beta_1"
    assert isinstance(getattr(opt, name), float)
    n_vars = len(opt.variables)
    assert not any("lrscope" in v.name for v in opt.variables), n_vars
    model.fit(X, Y, batch_size=4, epochs=1, verbose=0)  # still trains without the callback


def test_one_cycle_refuses_sgd_without_momentum_and_unknown_length():
    with pytest.raises(ValueError, match="built with momentum=0.0"):
        _fit(keras.optimizers.SGD(0.1), [OneCycleLR(0.05)])
    _fit(keras.optimizers.SGD(0.1), [OneCycleLR(0.05, total_steps=16, cycle_momentum=False)])
    with pytest.raises(ValueError, match="Argument `pct_start` must be in"):
        OneCycleLR(0.05, pct_start=0.0)


def test_exponential_decay_per_epoch():
    callback = ExponentialDecayLR(gamma=0.97)
    _, probe = _fit(keras.optimizers.SGD(0.1), [callback], epochs=3, batch_size=16)
    np.testing.assert_allclose(probe.lrs, [0.1, 0.1, 0.097, 0.097, 0.09409, 0.09409], rtol=1e-6)
    assert len(callback.history["lr"]) == 3


def test_refuses_an_optimizer_built_with_a_schedule():
    with pytest.raises(ValueError, match="built with a LearningRateSchedule .*lrscope.keras schedule"):
        _fit(keras.optimizers.SGD(Cyclic(1e-3, 6e-3, step_size_up=3)), [CyclicLR(1e-3, 6e-3, step_size_up=3)])


@pytest.mark.skipif(keras.backend.backend() == "torch", reason="the torch backend refuses steps_per_execution > 1 itself")
def test_refuses_steps_per_execution():
    with pytest.raises(ValueError, match="steps_per_execution=4"):
        _fit(keras.optimizers.SGD(0.1), [CyclicLR(1e-3, 6e-3, step_size_up=3)], steps_per_execution=4)


def test_argument_errors_name_the_argument():
    with pytest.raises(ValueError, match="Argument `max_lr` must be greater than or equal to `base_lr`"):
        CyclicLR(base_lr=0.1, max_lr=0.01)
    with pytest.raises(ValueError, match="Arguments `step_size` .* and `step_size_up` mean the same"):
        CyclicLR(step_size=10, step_size_up=10)
    with pytest.raises(ValueError, match="Argument `step_size` must be an integer >= 1. Received: step_size=2.5"):
        CyclicLR(step_size=2.5)
    with pytest.raises(ValueError, match="Argument `gamma` must be in"):
        ExponentialDecayLR(gamma=0.0)


def test_cycled_momentum_reaches_the_compiled_step():
    # momentum driven to 0 by the callback must train exactly as an SGD built without momentum
    from lrscope.keras import ScheduleCallback

    driven, _ = _fit(keras.optimizers.SGD(0.05, momentum=0.9), [ScheduleCallback(lambda s: 0.05, momentum=lambda s: 0.0)])
    plain, _ = _fit(keras.optimizers.SGD(0.05), [])
    kept, _ = _fit(keras.optimizers.SGD(0.05, momentum=0.9), [])
    for a, b in zip(driven.get_weights(), plain.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert not all(np.allclose(a, b) for a, b in zip(driven.get_weights(), kept.get_weights()))
