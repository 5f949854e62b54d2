"""lrscope.keras.range_test on the backend KERAS_BACKEND names (torch by default; CI runs jax too):
per-batch losses, bit-exact restore on every exit, the data fit takes, the article's LRFinder calls."""

import math

import numpy as np
import pytest

keras = pytest.importorskip("keras")

import lrscope.keras as lk  # noqa: E402
from lrscope.datasets import has_fashion_mnist, load_digits, load_fashion_mnist  # noqa: E402

CE = keras.losses.SparseCategoricalCrossentropy(from_logits=True)


def digits(n=None):
    x, y = load_digits()
    x = x.reshape(-1, 8, 8, 1).astype("float32")
    y = y.astype("int32")
    return (x, y) if n is None else (x[:n], y[:n])


def cnn(shape=(8, 8, 1), seed=0, metrics=("accuracy",), optimizer=None):
    keras.utils.set_random_seed(seed)
    m = keras.Sequential([
        keras.Input(shape), keras.layers.Conv2D(8, 3, activation="relu"), keras.layers.BatchNormalization(),
        keras.layers.Flatten(), keras.layers.Dense(10),
    ])  # fmt: skip
    m.compile(optimizer or keras.optimizers.SGD(0.01, momentum=0.9), CE, metrics=list(metrics))
    return m


class state:
    """Host copies of the variables a model has now (compiled metrics built by the first fit are new
    objects after it, reset to zero: the ones that existed before are compared)."""

    def __init__(self, m):
        self.vs = list(m.variables) + list(m.optimizer.variables) + list(m.metrics_variables)
        self.values = [np.array(keras.ops.convert_to_numpy(v.value), copy=True) for v in self.vs]

    def now(self):
        return [np.array(keras.ops.convert_to_numpy(v.value), copy=True) for v in self.vs]


def unchanged(before):
    return same(before.values, before.now())


def same(a, b):
    return len(a) == len(b) and all(x.dtype == y.dtype and x.tobytes() == y.tobytes() for x, y in zip(a, b))


def rngs():
    import random

    return random.getstate(), np.random.get_state()[1].tobytes()


def test_digits_cnn_range_test_restores_bit_for_bit_and_suggests_a_sane_lr():
    x, y = digits()
    m = cnn()
    m.optimizer.build(m.trainable_variables)
    before, rng = state(m), rngs()
    r = lk.range_test(m, x[:1400], y[:1400], batch_size=32, validation_data=(x[1400:], y[1400:]),
                      start_lr=1e-5, end_lr=10.0, metric="accuracy", progress=False)  # fmt: skip
    assert unchanged(before) and rngs() == rng
    assert r.config["engine"] == "keras" and r.config["backend"] == keras.backend.backend()
    assert r.stop_reason == "diverged" and 40 < len(r) < 100
    assert np.all(np.isfinite(r.val_losses)) and np.all((r.metrics["accuracy"] >= 0) & (r.metrics["accuracy"] <= 1))
    s = r.suggest()
    assert s.found and 1e-3 <= s.lr <= 0.5, s
    assert any("cycled" in n for n in r.notes)  # 1400 / 32 = 44 batches a pass, 100 points


def _replay(twin, x, y, lrs):
    """Each of the first len(lrs) batches of 32 on ``twin``: its own loss and accuracy before the step
    (one forward in training mode, as fit's), then a step at that batch's LR."""
    losses, accs = [], []
    for i, lr in enumerate(lrs):
        xb, yb = x[32 * i : 32 * (i + 1)], y[32 * i : 32 * (i + 1)]
        out = twin(xb, training=True)
        losses.append(float(keras.ops.convert_to_numpy(CE(yb, out))))
        accs.append(float(np.mean(np.argmax(keras.ops.convert_to_numpy(out), axis=1) == yb)))
        twin.optimizer.learning_rate.assign(lr)
        twin.train_on_batch(xb, yb)
    return np.array(losses), np.array(accs)


def test_recorded_losses_are_each_batch_own_loss_not_the_running_mean():
    x, y = digits(320)
    m, twin = cnn(seed=1, metrics=()), cnn(seed=1, metrics=())
    r = lk.range_test(m, x, y, batch_size=32, start_lr=1e-3, end_lr=0.1, num_steps=10, shuffle=False,
                      diverge_threshold=None, progress=False)  # fmt: skip
    direct, _ = _replay(twin, x, y, r.lrs)
    np.testing.assert_allclose(r.losses, direct, rtol=2e-5)
    running = np.cumsum(direct) / np.arange(1, 11)  # what Keras' logs hold: not what we record
    assert np.max(np.abs(r.losses - running)) > 1e-3


def test_recorded_training_metric_is_each_batch_own_not_the_running_mean():
    x, y = digits(320)
    m, twin = cnn(seed=2), cnn(seed=2)
    r = lk.range_test(m, x, y, batch_size=32, start_lr=1e-3, end_lr=0.3, num_steps=10, shuffle=False,
                      diverge_threshold=None, metric="accuracy", metric_on="train", progress=False)  # fmt: skip
    _, direct = _replay(twin, x, y, r.lrs)
    np.testing.assert_allclose(r.metrics["accuracy"], direct, atol=1e-6)
    running = np.cumsum(direct) / np.arange(1, 11)
    assert np.max(np.abs(r.metrics["accuracy"] - running)) > 0.02


def test_on_jax_a_state_laid_out_otherwise_goes_through_the_variables(monkeypatch):
    """JAX: the sweep puts each batch's LR and metric reset into the state fit's compiled step is given;
    where the state is not laid out as expected, it goes through the variables instead. That path alone
    gives the same per-batch losses, and restores bit for bit."""
    if keras.backend.backend() != "jax":
        pytest.skip("the JAX trainer's state")
    from lrscope.keras.engine import _SweepCallback

    x, y = digits(320)
    runs = []
    for fallback in (False, True):
        if fallback:
            monkeypatch.setattr(_SweepCallback, "_known_layout", lambda self, state: False)
        m = cnn(seed=1)
        m.optimizer.build(m.trainable_variables)
        before = state(m)
        runs.append(lk.range_test(m, x, y, batch_size=32, start_lr=1e-3, end_lr=0.1, num_steps=10, shuffle=False,
                                  diverge_threshold=None, metric="accuracy", progress=False))
        assert unchanged(before)
    np.testing.assert_allclose(runs[1].losses, runs[0].losses, rtol=1e-6)
    np.testing.assert_allclose(runs[1].metrics["accuracy"], runs[0].metrics["accuracy"], rtol=1e-6)


class _Boom(keras.utils.PyDataset):
    def __init__(self, x, y, at, exc):
        super().__init__()
        self.x, self.y, self.at, self.exc = x, y, at, exc

    def __len__(self):
        return len(self.x) // 32

    def __getitem__(self, i):
        if i == self.at:
            raise self.exc
        return self.x[32 * i : 32 * (i + 1)], self.y[32 * i : 32 * (i + 1)]


def _interrupt_after(monkeypatch, batches):
    """Ctrl-C in the main thread right after the sweep's ``batches``-th batch (a KeyboardInterrupt from
    inside the input pipeline would reach TensorFlow's fit as its own UnknownError instead)."""
    from lrscope.keras.engine import _SweepCallback

    original = _SweepCallback.on_train_batch_end

    def end(self, batch, logs=None):
        original(self, batch, logs)
        if self.batches == batches:
            raise KeyboardInterrupt

    monkeypatch.setattr(_SweepCallback, "on_train_batch_end", end)


def test_an_exception_from_the_data_mid_sweep_restores_everything():
    x, y = digits(640)
    m = cnn(seed=2)
    m.optimizer.build(m.trainable_variables)
    before = state(m)
    # (TensorFlow runs the data in its own pipeline and re-raises the error as its own type)
    with pytest.raises(Exception, match="data broke"):
        lk.range_test(m, _Boom(x, y, 7, RuntimeError("data broke")), num_steps=20, shuffle=False, progress=False)
    assert unchanged(before)
    # the model trains normally afterwards (no stale backend state written back)
    m.fit(x[:64], y[:64], batch_size=32, epochs=1, verbose=0)
    assert not unchanged(before)


def test_ctrl_c_mid_sweep_restores_everything_and_is_raised(monkeypatch):
    x, y = digits(640)
    m = cnn(seed=2)
    m.optimizer.build(m.trainable_variables)
    before = state(m)
    _interrupt_after(monkeypatch, 7)
    with pytest.raises(KeyboardInterrupt):
        lk.range_test(m, x, y, batch_size=32, num_steps=20, shuffle=False, progress=False)
    assert unchanged(before)
    m.fit(x[:64], y[:64], batch_size=32, epochs=1, verbose=0)
    assert not unchanged(before)


def test_ctrl_c_with_on_interrupt_return_keeps_the_points_so_far(monkeypatch):
    x, y = digits(640)
    m = cnn(seed=2)
    m.optimizer.build(m.trainable_variables)
    before = state(m)
    _interrupt_after(monkeypatch, 7)
    r = lk.range_test(m, x, y, batch_size=32, num_steps=20, on_interrupt="return", shuffle=False, progress=False)
    assert unchanged(before) and r.stop_reason == "interrupted" and len(r) == 7


def test_a_one_shot_generator_that_runs_dry_ends_the_test():
    x, y = digits(320)

    def gen():
        for i in range(6):
            yield x[32 * i : 32 * (i + 1)], y[32 * i : 32 * (i + 1)]

    r = lk.range_test(cnn(), gen(), num_steps=20, progress=False)
    assert r.stop_reason == "data exhausted" and len(r) == 6


def test_a_torch_dataloader_is_data_too():
    if keras.backend.backend() != "torch":
        pytest.skip("a torch DataLoader feeds the torch backend")
    import torch
    from torch.utils.data import DataLoader, TensorDataset

    x, y = digits(320)
    loader = DataLoader(TensorDataset(torch.from_numpy(x), torch.from_numpy(y).long()), batch_size=32)
    r = lk.range_test(cnn(), loader, num_steps=15, progress=False)
    assert len(r) == 15 and any("10 passes" not in n and "cycled" in n for n in r.notes)


def test_the_record_says_sgds_momentum_and_nesterov_for_the_learned_reader():
    x, y = digits(320)
    r = lk.range_test(cnn(optimizer=keras.optimizers.SGD(0.01, momentum=0.9, nesterov=True)), x, y, batch_size=32,
                      num_steps=10, progress=False)
    assert r.config["optimizer"] == "SGD" and r.config["momentum"] == pytest.approx(0.9) and r.config["nesterov"] is True
    from lrscope.result import RangeTestResult

    lrs = np.logspace(-7, 1, 100)  # the reader reads the record with any curve: a clean one, so it does not abstain
    curve = RangeTestResult(lrs, 2 - np.tanh((np.log10(lrs) + 3) / 0.7) + np.where(lrs > 0.3, (np.log10(lrs) + 0.5) ** 2, 0),
                            config=r.config)
    assert "optimizer='sgd_nesterov' (recorded)" in curve.suggest("reader", budget=1000).reason
    r = lk.range_test(cnn(optimizer=keras.optimizers.Adam(1e-3)), x, y, batch_size=32, num_steps=10, progress=False)
    assert r.config["optimizer"] == "Adam" and r.config["momentum"] is None and r.config["nesterov"] is None


def test_the_articles_find_generator_call_runs_as_written():
    x, y = digits()

    class Seq(keras.utils.PyDataset):
        def __init__(self, a, b):
            super().__init__()
            self.a, self.b = a, b

        def __len__(self):
            return math.ceil(len(self.a) / 32)

        def __getitem__(self, i):
            return self.a[32 * i : 32 * (i + 1)], self.b[32 * i : 32 * (i + 1)]

    generator, test_generator = Seq(x[:1400], y[:1400]), Seq(x[1400:], y[1400:])
    model = cnn(metrics=())
    before = state(model)
    lrf = lk.LRFinder(model)
    lrf.find_generator(generator, 0.0001, 10.0, test_generator, epochs=1, steps_per_epoch=None)
    assert unchanged(before)
    assert len(lrf.lrs) == len(lrf.losses) <= 44 and lrf.result.val_losses is not None
    assert lrf.result.config["num_steps"] == 44  # epochs x len(generator)
    cands = lrf.candidates()
    assert cands and all(b.lr >= 1.2 * a.lr for a, b in zip(cands, cands[1:]))
    pytest.importorskip("matplotlib")
    ax = lrf.plot_loss()
    assert ax.get_xscale() == "log"


def test_find_on_arrays_is_one_point_per_batch():
    x, y = digits(640)
    lrf = lk.LRFinder(cnn())
    r = lrf.find(x, y, 1e-4, 1.0, batch_size=64, epochs=2)
    assert r.config["num_steps"] == 20 and r.config["batch_size"] == 64


@pytest.mark.parametrize(
    "build, match",
    [
        (lambda: cnn(optimizer=keras.optimizers.SGD(keras.optimizers.schedules.ExponentialDecay(0.1, 10, 0.9))),
         "LearningRateSchedule"),
        (lambda: _compiled(steps_per_execution=4), "steps_per_execution"),
        (lambda: cnn(optimizer=keras.optimizers.SGD(0.01, gradient_accumulation_steps=2)), "gradient_accumulation_steps"),
        (lambda: keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Flatten(), keras.layers.Dense(10)]), "compiled"),
    ],
)
def test_what_the_engine_cannot_honour_is_refused_by_name(build, match):
    x, y = digits(64)
    m = build()
    with pytest.raises(ValueError, match=match):
        lk.range_test(m, x, y, num_steps=5, progress=False)


def _compiled(**kw):
    m = cnn()
    m.compile(keras.optimizers.SGD(0.01), CE, **kw)
    return m


def test_bad_sweep_arguments_name_the_argument():
    x, y = digits(64)
    with pytest.raises(ValueError, match=r"Argument `end_lr` must be greater than `start_lr`"):
        lk.range_test(cnn(), x, y, start_lr=1.0, end_lr=0.1)
    with pytest.raises(ValueError, match=r"Argument `metric` must name a metric the model was compiled with"):
        lk.range_test(cnn(metrics=()), x, y, num_steps=3, metric="accuracy", progress=False)


@pytest.mark.skipif(not has_fashion_mnist(), reason="Fashion-MNIST not installed (apt-get install dataset-fashion-mnist)")
def test_fashion_mnist_cnn_range_test():
    x, y = load_fashion_mnist("train", limit=3200)
    x, y = x.reshape(-1, 28, 28, 1), y.astype("int32")
    m = cnn(shape=(28, 28, 1))
    m.optimizer.build(m.trainable_variables)
    before = state(m)
    r = lk.range_test(m, x, y, batch_size=32, start_lr=1e-5, end_lr=10.0, progress=False)
    assert unchanged(before)
    s = r.suggest()
    assert s.found and 1e-4 <= s.lr <= 1.0, s


def test_result_keras_schedule_equals_the_core_schedule_and_trains():
    x, y = digits(640)
    m = cnn(seed=3, metrics=())
    r = lk.range_test(m, x, y, batch_size=32, start_lr=1e-4, end_lr=10.0, progress=False)
    core = r.schedule("triangular2", step_size_up=10)
    ks = r.keras_schedule("triangular2", step_size_up=10)
    steps = np.arange(60)
    got = keras.ops.convert_to_numpy(ks(keras.ops.convert_to_tensor(steps, dtype="int32")))
    _, want = core.preview(60)
    np.testing.assert_allclose(got, want, rtol=1e-5)
    m.compile(keras.optimizers.SGD(ks, momentum=0.9), CE)
    m.fit(x, y, batch_size=32, epochs=1, verbose=0)
    assert int(keras.ops.convert_to_numpy(m.optimizer.iterations)) == 20


def test_the_users_next_fit_equals_a_twins_that_never_ran_the_test():
    # restores weights, optimizer and metric state, RNGs and the compiled train function: training on
    # afterwards is bit-identical to a twin's (shuffled fit, dropout, BatchNorm)
    x, y = digits(640)

    def build():
        keras.utils.set_random_seed(5)
        m = keras.Sequential([
            keras.Input((8, 8, 1)), keras.layers.Conv2D(8, 3, activation="relu"), keras.layers.BatchNormalization(),
            keras.layers.Flatten(), keras.layers.Dropout(0.3), keras.layers.Dense(10),
        ])  # fmt: skip
        m.compile(keras.optimizers.Adam(1e-3), CE, metrics=["accuracy"])
        m.fit(x[:128], y[:128], batch_size=32, epochs=1, verbose=0)  # compiled and trained a little
        return m

    m = build()
    twin = build()
    lk.range_test(m, x, y, batch_size=32, num_steps=30, end_lr=1.0, metric="accuracy", progress=False)
    keras.utils.set_random_seed(9)
    h1 = m.fit(x, y, batch_size=32, epochs=2, verbose=0).history
    keras.utils.set_random_seed(9)
    h2 = twin.fit(x, y, batch_size=32, epochs=2, verbose=0).history
    assert h1 == h2
    assert same(state(m).values, state(twin).values)


def test_steps_per_lr_holds_each_lr_and_averages_its_batches():
    x, y = digits(320)
    m, twin = cnn(seed=4, metrics=()), cnn(seed=4, metrics=())
    r = lk.range_test(m, x, y, batch_size=32, start_lr=1e-3, end_lr=0.1, num_steps=5, steps_per_lr=2, mode="linear",
                      shuffle=False, diverge_threshold=None, progress=False)  # fmt: skip
    assert len(r) == 5 and r.config["batches_used"] == 10 and r.sweep == "linear"
    np.testing.assert_allclose(r.lrs, np.linspace(1e-3, 0.1, 5))
    direct = []
    for i in range(10):
        xb, yb = x[32 * i : 32 * (i + 1)], y[32 * i : 32 * (i + 1)]
        direct.append(float(keras.ops.convert_to_numpy(CE(yb, twin(xb, training=True)))))
        twin.optimizer.learning_rate.assign(r.lrs[i // 2])
        twin.train_on_batch(xb, yb)
    np.testing.assert_allclose(r.losses, np.asarray(direct).reshape(5, 2).mean(axis=1), rtol=2e-5)
