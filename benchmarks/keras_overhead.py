"""What lrscope.keras.range_test costs over plain ``model.fit`` for the same batches.

Interleaved repeats in one process (range test, plain fit, range test, ...), each on the same
compiled model and data; the table gives each side's median seconds and the median of the per-pair
ratios. The range test's figure includes its snapshot and restore of every variable.

    KERAS_BACKEND=torch python benchmarks/keras_overhead.py
    KERAS_BACKEND=jax   python benchmarks/keras_overhead.py --repeats 7

Threads: torch is set to 1 thread (``torch.set_num_threads(1)``) and XLA to one CPU device, so two
busy cores do not oversubscribe; set ``--threads`` to change torch's.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("KERAS_BACKEND", "torch")
os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()

    import keras
    import numpy as np

    if keras.backend.backend() == "torch":
        import torch

        torch.set_num_threads(args.threads)
    import lrscope.keras as lk
    from lrscope.datasets import load_digits

    x, y = load_digits()
    x = x.reshape(-1, 8, 8, 1).astype("float32")
    y = y.astype("int32")
    keras.utils.set_random_seed(0)
    model = keras.Sequential([
        keras.Input((8, 8, 1)), keras.layers.Conv2D(32, 3, activation="relu"), keras.layers.BatchNormalization(),
        keras.layers.Conv2D(32, 3, activation="relu"), keras.layers.Flatten(), keras.layers.Dense(64, activation="relu"),
        keras.layers.Dense(10),
    ])  # fmt: skip
    model.compile(keras.optimizers.SGD(0.01, momentum=0.9), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    n = args.steps * args.batch_size
    xs, ys = np.resize(x, (n, 8, 8, 1)), np.resize(y, (n,))  # exactly `steps` batches, one epoch

    def finder() -> float:
        t = time.perf_counter()
        lk.range_test(model, xs, ys, batch_size=args.batch_size, num_steps=args.steps, start_lr=1e-6, end_lr=1e-2,
                      shuffle=False, progress=False)  # fmt: skip
        return time.perf_counter() - t

    def plain() -> float:
        t = time.perf_counter()
        model.fit(xs, ys, batch_size=args.batch_size, epochs=1, shuffle=False, verbose=0)
        return time.perf_counter() - t

    finder(), plain()  # warm-up: compile both paths once
    f, p = [], []
    for _ in range(args.repeats):
        f.append(finder())
        p.append(plain())
    ratios = [a / b for a, b in zip(f, p)]
    print(f"backend={keras.backend.backend()} keras={keras.__version__} steps={args.steps} batch={args.batch_size} "
          f"repeats={args.repeats} torch threads={args.threads}")  # fmt: skip
    print(f"{'':22}{'median s':>10}{'min s':>10}{'max s':>10}")
    print(f"{'range test':22}{statistics.median(f):10.3f}{min(f):10.3f}{max(f):10.3f}")
    print(f"{'plain model.fit':22}{statistics.median(p):10.3f}{min(p):10.3f}{max(p):10.3f}")
    print(f"median ratio (range test / plain, per pair): {statistics.median(ratios):.3f}  "
          f"(pairs: {', '.join(f'{r:.2f}' for r in ratios)})")


if __name__ == "__main__":
    main()
