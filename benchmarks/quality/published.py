"""Other finders' published suggestion rules, each on its own library defaults.

* torch-lr-finder (``pip install --no-deps torch-lr-finder``): the **real package** runs its own
  ``range_test`` (start 1e-7 as its docs set on the optimizer, ``end_lr=10``, ``num_iter=100``,
  ``smooth_f=0.05``, ``diverge_th=5``) and its own ``plot(suggest_lr=True)`` picks the LR
  (``argmin(np.gradient(losses))`` against the step index, after ``skip_start=10``, ``skip_end=5``).
  If the package is missing, :func:`tlf_steepest_reimpl` reads the same rule off our sweep and is
  labelled "(reimpl.)".
* fastai ``lr_find`` (not installable here without its dependency tree): **reimplemented** from
  fastai ``callback/schedule.py`` v2.7 on our sweep with fastai's defaults (1e-7 -> 10 in 100 steps,
  loss smoothed by the bias-corrected EMA beta=0.98, stop when it exceeds 4x its best, then
  ``lrs[num_it//10:-5]``); rules ``valley`` (its default), ``steep``, ``slide``, ``minimum`` (/10).
* Lightning ``Tuner.lr_find`` (``pip install pytorch-lightning``): the **real package**
  (:func:`lightning_real`, its defaults: 1e-8 -> 1, 100 steps, early stop at 4x best) and its own
  ``suggestion()``. Its current releases (2.5.6, 2.6.6) take the steepest point of the smoothed
  loss against the *LR* (``torch.gradient(losses, spacing=[lrs])``), which on an exponential sweep
  puts the suggestion among the noise of the smallest LRs. Earlier 2.x releases took the gradient
  against the step index; :func:`lightning_suggestion` **reimplements** that rule on our 1e-8 -> 1,
  100-step sweep (EMA beta=0.98 whose bias correction uses ``global_step + 1`` after the step — one
  too many: the first smoothed loss is about half the first loss — early stop at 4x best after
  step 1, ``argmin(np.gradient(loss))`` against the index over ``[10:-1]``), labelled "(reimpl.,
  earlier 2.x rule)".
"""

from __future__ import annotations

import contextlib
import io
import math

import numpy as np
import torch

BETA = 0.98


def _fastai_curve(lrs, raw, num_it=100):
    """fastai's recorded (lrs, smoothed losses) after its stop rule and its trim."""
    lrs_out, sm = [], []
    avg, best = 0.0, math.inf
    for i, (lr, v) in enumerate(zip(lrs, raw)):
        if not math.isfinite(v):
            break  # fastai drops from the first NaN on
        avg = BETA * avg + (1 - BETA) * v  # torch.lerp(loss, val, beta)
        s = avg / (1 - BETA ** (i + 1))
        lrs_out.append(lr)
        sm.append(s)
        if s < best:
            best = s
        if s > 4 * best:
            break
    lrs_out = np.array(lrs_out[num_it // 10 : -5])
    sm = np.array(sm[num_it // 10 : -5])
    return lrs_out, sm


def fastai_valley(lrs, losses):
    n = len(losses)
    if n < 2:
        return None
    max_start, max_end = 0, 0
    lds = [1] * n
    for i in range(1, n):
        for j in range(0, i):
            if losses[i] < losses[j] and lds[i] < lds[j] + 1:
                lds[i] = lds[j] + 1
            if lds[max_end] < lds[i]:
                max_end = i
                max_start = max_end - lds[max_end]
    sections = (max_end - max_start) / 3
    idx = max_start + int(sections) + int(sections / 2)
    return float(lrs[idx])


def fastai_slide(lrs, losses, lr_diff=15, thresh=0.005, adjust_value=1.0):
    if len(losses) <= lr_diff:
        return None
    loss_grad = np.gradient(losses)
    r_idx = -1
    l_idx = r_idx - lr_diff
    local_min_lr = lrs[l_idx]
    while (l_idx >= -len(losses)) and (abs(loss_grad[r_idx] - loss_grad[l_idx]) > thresh):
        local_min_lr = lrs[l_idx]
        r_idx -= 1
        l_idx -= 1
    return float(local_min_lr) * adjust_value


def fastai_steep(lrs, losses):
    if len(losses) < 2:
        return None
    grads = (losses[1:] - losses[:-1]) / (np.log(lrs[1:]) - np.log(lrs[:-1]))
    return float(lrs[int(np.argmin(grads))])


def fastai_minimum(lrs, losses):
    if len(losses) < 1:
        return None
    return float(lrs[int(np.argmin(losses))]) / 10


def fastai_all(sweep: dict) -> dict[str, float | None]:
    lrs, sm = _fastai_curve(sweep["lrs"], sweep["losses"])
    return {
        "fastai valley (reimpl.)": fastai_valley(lrs, sm),
        "fastai steep (reimpl.)": fastai_steep(lrs, sm),
        "fastai slide (reimpl.)": fastai_slide(lrs, sm),
        "fastai minimum/10 (reimpl.)": fastai_minimum(lrs, sm),
    }


def lightning_suggestion(sweep: dict, skip_begin=10, skip_end=1, early_stop_threshold=4.0) -> tuple[float | None, int]:
    """(suggested LR or None, steps Lightning would have run)."""
    lrs, raw = sweep["lrs"], sweep["losses"]
    rec_lr, rec_loss = [], []
    avg, best = 0.0, math.inf
    for t, (lr, v) in enumerate(zip(lrs, raw)):
        step = t + 1  # trainer.global_step after this batch's optimizer step
        avg = BETA * avg + (1 - BETA) * v
        s = avg / (1 - BETA ** (step + 1))
        stop = early_stop_threshold is not None and step > 1 and s > early_stop_threshold * best
        if s < best or step == 1:
            best = s
        rec_lr.append(lr)
        rec_loss.append(s)
        if stop or not math.isfinite(v):
            break
    loss = np.array(rec_loss[skip_begin:-skip_end])
    loss = loss[np.isfinite(loss)]
    if len(loss) < 2:
        return None, len(rec_lr)
    idx = int(np.gradient(loss).argmin()) + skip_begin
    return float(rec_lr[idx]), len(rec_lr)


def tlf_steepest_reimpl(sweep: dict, skip_start=10, skip_end=5, smooth_f=0.05, diverge_th=5) -> float | None:
    lrs, raw = sweep["lrs"], sweep["losses"]
    hist_lr, hist = [], []
    best = None
    for lr, v in zip(lrs, raw):
        if hist:
            v = smooth_f * v + (1 - smooth_f) * hist[-1]
        if best is None or v < best:
            best = v
        hist_lr.append(lr)
        hist.append(v)
        if v > diverge_th * best or not math.isfinite(v):
            break
    if len(hist) < skip_start + skip_end + 2:
        return None
    l = np.array(hist[skip_start:-skip_end])
    return float(hist_lr[skip_start:-skip_end][int(np.gradient(l).argmin())])


def have_torch_lr_finder() -> bool:
    try:
        import torch_lr_finder  # noqa: F401
    except ImportError:
        return False
    return True


def tlf_real(task, order: int, init_seed: int = 0, num_iter: int = 100, end_lr: float = 10.0) -> dict:
    """Run the real torch-lr-finder on the task (same init and data order as our sweeps)."""
    import time

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from torch_lr_finder import LRFinder

    it = task.batches(1000 + order)
    batches = [next(it) for _ in range(num_iter)]
    loader = torch.utils.data.DataLoader(batches, batch_size=None, shuffle=False)
    model = task.model(init_seed)
    opt = task.make_optimizer(model.parameters(), 1e-7)
    t0 = time.perf_counter()
    finder = LRFinder(model, opt, task.loss_fn, device="cpu")
    with contextlib.redirect_stdout(io.StringIO()):
        finder.range_test(loader, end_lr=end_lr, num_iter=num_iter)
        secs = time.perf_counter() - t0
        fig, ax = plt.subplots()
        try:
            _, lr = finder.plot(suggest_lr=True, ax=ax)
        except RuntimeError:  # fewer than skip_start + skip_end + 2 points: no suggestion
            lr = None
        plt.close(fig)
    finder.reset()
    n = len(finder.history["lr"])
    return {"lr": None if lr is None else float(lr), "steps": n, "seconds": secs}


def have_lightning() -> bool:
    try:
        import pytorch_lightning  # noqa: F401
    except ImportError:
        return False
    return True


def lightning_real(task, order: int, init_seed: int = 0, num_training: int = 100) -> dict:
    """Run the real Lightning ``Tuner.lr_find`` on its defaults (1e-8 -> 1, 100 steps, early stop
    at 4x) and take ``suggestion()``; same init and data order as our sweeps
    (``pip install pytorch-lightning``)."""
    import logging
    import tempfile
    import time
    import warnings

    import pytorch_lightning as pl
    from pytorch_lightning.tuner import Tuner

    class Module(pl.LightningModule):
        def __init__(self):
            super().__init__()
            self.net = task.model(init_seed)
            self.lr = 1e-3  # lr_find sweeps and then sets this attribute

        def forward(self, x):
            return self.net(x)

        def training_step(self, batch, batch_idx):
            x, y = batch
            return task.loss_fn(self.net(x), y)

        def configure_optimizers(self):
            return task.make_optimizer(self.net.parameters(), self.lr)

    it = task.batches(1000 + order)
    batches = [next(it) for _ in range(num_training)]
    loader = torch.utils.data.DataLoader(batches, batch_size=None, shuffle=False)
    module = Module()
    for name in ("pytorch_lightning", "lightning", "lightning.pytorch", "lightning_fabric"):
        logging.getLogger(name).setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):
        warnings.simplefilter("ignore")
        trainer = pl.Trainer(accelerator="cpu", devices=1, logger=False, enable_checkpointing=False,
                             enable_progress_bar=False, enable_model_summary=False, default_root_dir=tmp,
                             max_epochs=1, num_sanity_val_steps=0)
        t0 = time.perf_counter()
        finder = Tuner(trainer).lr_find(module, train_dataloaders=loader, min_lr=1e-8, max_lr=1.0,
                                        num_training=num_training, early_stop_threshold=4.0, update_attr=False)
        secs = time.perf_counter() - t0
    lr = finder.suggestion()
    return {"lr": None if lr is None else float(lr), "steps": len(finder.results["lr"]), "seconds": secs,
            "version": pl.__version__, "lrs": [float(v) for v in finder.results["lr"]],
            "smoothed_losses": [float(v) for v in finder.results["loss"]]}
