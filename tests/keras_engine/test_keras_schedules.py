"""lrscope.keras schedules: keras.ops formulas equal the core numpy schedules, validate, serialize."""

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from lrscope import schedules as core  # noqa: E402
from lrscope.keras import schedules as ks  # noqa: E402

STEPS = np.arange(0, 2500)


def _values(schedule, steps=STEPS):
    return keras.ops.convert_to_numpy(schedule(keras.ops.convert_to_tensor(steps, dtype="int32")))


def _close(got, want):
    # float32 arithmetic against the core's float64: relative 1e-5, absolute 1e-6 of the peak
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6 * float(np.max(np.abs(want))))


CASES = [
    ks.Cyclic(1e-3, 6e-3, step_size_up=7),
    ks.Cyclic(0.0, 1.0, step_size_up=4, step_size_down=9, mode="triangular2"),
    ks.Cyclic(1e-3, 6e-3, step_size_up=7, step_size_down=5, mode="exp_range", gamma=0.999),
    ks.Cyclic(1e-4, 1e-2, step_size_up=11, window="welch"),
    ks.Cyclic(1e-4, 1e-2, step_size_up=6, step_size_down=13, mode="triangular2", window="hann"),
    ks.OneCycle(0.1, total_steps=1000),
    ks.OneCycle(0.1, total_steps=997, pct_start=0.25, anneal_strategy="linear", div_factor=10, final_div_factor=100),
    ks.OneCycle(0.5, total_steps=2000, three_phase=True),
    ks.Cosine(0.1, T_max=700, eta_min=1e-4),
    ks.SGDR(0.1, T_0=7),
    ks.SGDR(1.0, T_0=3, T_mult=2, eta_min=0.01),
    ks.SGDR(1.0, T_0=5, T_mult=3),
    ks.ExponentialDecay(0.1, gamma=0.97, steps_per_epoch=13),
    ks.ExponentialDecay(0.1, gamma=0.97, steps_per_epoch=13, staircase=False),
    ks.StepDecay(0.1, step_size=300, gamma=0.5),
    ks.Constant(3e-4),
    ks.LinearWarmup(0.0, 0.1, warmup_steps=100),
    ks.ExponentialSweep(1e-7, 10.0, num_steps=500),
    ks.LinearSweep(1e-4, 1.0, num_steps=500),
    ks.warmup(ks.Cosine(0.1, T_max=1000), warmup_steps=50),
    ks.Join([ks.Constant(0.1), ks.OneCycle(0.2, total_steps=300), ks.SGDR(0.05, T_0=40)], boundaries=[100, 400]),
]


@pytest.mark.parametrize("schedule", CASES, ids=repr)
def test_equals_core_schedule_at_every_step(schedule):
    got = _values(schedule)
    assert got.dtype == np.float32
    _close(got, schedule.core(STEPS))


@pytest.mark.parametrize("schedule", CASES, ids=repr)
def test_scalar_step_and_config_round_trip(schedule):
    step = keras.ops.convert_to_tensor(123, dtype="int32")
    again = type(schedule).from_config(schedule.get_config())
    assert repr(again) == repr(schedule)
    _close(keras.ops.convert_to_numpy(again(step)), schedule.core(123))


@pytest.mark.parametrize(
    "kind, kwargs",
    [
        ("triangular", {"step_size_up": 5}),
        ("triangular2", {"step_size_up": 5}),
        ("exp_range", {"step_size_up": 5, "gamma": 0.99}),
        ("welch", {"step_size_up": 5}),
        ("hann", {"step_size_up": 5, "mode": "triangular2"}),
        ("one_cycle", {"total_steps": 200}),
        ("cosine", {"T_max": 150}),
        ("sgdr", {"T_0": 10, "T_mult": 2}),
        ("exponential_decay", {"gamma": 0.97, "steps_per_epoch": 10}),
        ("step_decay", {"step_size": 30}),
        ("constant", {}),
    ],
)
def test_schedule_from_matches_from_bounds(kind, kwargs):
    ks_schedule = ks.schedule_from(kind, 1e-4, 1e-2, **kwargs)
    want = core.from_bounds(kind, 1e-4, 1e-2, **kwargs)(STEPS[:400])
    _close(_values(ks_schedule, STEPS[:400]), want)


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda: ks.Cyclic(0.01, 0.001), "Argument `max_lr` must be greater than or equal to `base_lr`"),
        (lambda: ks.Cyclic(1e-3, 1e-2, step_size_up=0), "Argument `step_size_up` must be an integer >= 1. Received: step_size_up=0"),
        (lambda: ks.Cyclic(1e-3, 1e-2, mode="sine"), "Argument `mode` must be one of"),
        (lambda: ks.OneCycle(0.1, total_steps=100, pct_start=1.5), "Argument `pct_start` must be in (0, 1). Received: pct_start=1.5"),
        (lambda: ks.OneCycle(0.1, total_steps=100, div_factor=0.5), "Argument `div_factor` must be >= 1"),
        (lambda: ks.ExponentialDecay(0.1, gamma=1.5), "Argument `gamma` must be in (0, 1]"),
        (lambda: ks.LinearWarmup(0.0, 0.1, warmup_steps=0), "Argument `warmup_steps` must be an integer >= 1"),
        (lambda: ks.Join([ks.Constant(0.1), 0.2], boundaries=[3]), "Argument `schedules` must hold lrscope.keras schedules"),
        (lambda: ks.schedule_from("triangular", 1e-3, 1e-2, scale_fn=lambda c: 1.0), "Argument `scale_fn` has no keras.ops form"),
        (lambda: ks.from_schedule(core.Cyclic(1e-3, 1e-2, scale_fn=lambda c: 1.0)), "custom `scale_fn`"),
        (lambda: ks.from_schedule(core.OneCycle(0.1, 100).momentum), "Argument `schedule` must be one of lrscope's built-in"),
    ],
)
def test_constructor_validates_by_name(build, message):
    with pytest.raises(ValueError) as err:
        build()
    assert message in str(err.value)


def _model(optimizer):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2), keras.layers.Dense(1)])
    model.compile(optimizer=optimizer, loss="mse")
    return model


def _lr_at(optimizer, iteration):
    optimizer.iterations.assign(iteration)
    return float(keras.ops.convert_to_numpy(optimizer.learning_rate))


@pytest.mark.parametrize(
    "schedule",
    [
        ks.Cyclic(1e-3, 6e-3, step_size_up=4, mode="exp_range", gamma=0.99, window="hann"),
        ks.OneCycle(0.1, total_steps=50, three_phase=True),
        ks.warmup(ks.SGDR(0.1, T_0=3, T_mult=2, eta_min=1e-3), warmup_steps=5),  # nested config
    ],
    ids=lambda s: type(s).__name__,
)
def test_model_with_schedule_round_trips_through_keras_file(schedule, tmp_path):
    model = _model(keras.optimizers.Adam(learning_rate=schedule))
    x = np.linspace(0, 1, 24, dtype=np.float32).reshape(8, 3)
    model.fit(x, x[:, :1], batch_size=4, verbose=0)  # two steps: the optimizer is built and has state
    path = tmp_path / "m.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    assert int(keras.ops.convert_to_numpy(loaded.optimizer.iterations)) == 2
    restored = loaded.optimizer._learning_rate
    assert type(restored) is type(schedule) and restored.get_config() == schedule.get_config()
    for it in (0, 1, 3, 7, 20, 49, 60):
        assert _lr_at(loaded.optimizer, it) == pytest.approx(schedule.core(it), rel=1e-5, abs=1e-9)


def test_schedule_runs_inside_the_compiled_train_step():
    schedule = ks.Cyclic(1e-3, 6e-3, step_size_up=3, mode="triangular2")
    seen = []

    class Probe(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            # the schedule at the optimizer's step count after the update just made
            seen.append(float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate)))

    model = _model(keras.optimizers.SGD(learning_rate=schedule))
    x = np.random.default_rng(0).random((40, 3), dtype=np.float32)
    model.fit(x, x[:, :1], batch_size=4, epochs=2, verbose=0, callbacks=[Probe()])
    assert int(keras.ops.convert_to_numpy(model.optimizer.iterations)) == 20
    _close(np.array(seen), schedule.core(np.arange(1, 21)))
