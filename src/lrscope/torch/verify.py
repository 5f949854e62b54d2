"""Verified suggestion: check a curve's suggestion by training briefly at a few LRs around it.

A range test reads the loss while the LR changes every step; what a user wants is the constant LR
that trains best. :func:`verify_suggestion` closes that gap at a small, stated cost:

1. take ``center`` (an LR, a :class:`~lrscope.Suggestion`, or a :class:`~lrscope.result.RangeTestResult`
   whose suggestion is read with ``method``);
2. train from the *same* initial state, one after the other, at ``num_candidates`` LRs spaced
   ``spacing`` decades apart around it (default 3 candidates half a decade apart), each for
   ``trial_steps`` optimizer steps on the *same* batches (so their losses are paired, not noisy
   against each other), restoring the model, optimizer and RNGs bit for bit after each trial with
   :func:`lrscope.torch.preserve_state`;
3. score each trial by its mean training loss over the last third of its steps (or by the mean
   loss on ``val_data`` when given); a trial whose loss turns non-finite or blows up scores +inf;
4. when the best candidate is at an end of the bracket, try ``extend`` more LRs beyond it (one by
   default), so the pick is bracketed;
5. fit a parabola to the best trial and its two neighbours in ``log10(lr)`` and take its vertex,
   clamped to half a spacing around the best candidate (the best candidate itself when the three
   do not curve upwards);
6. lower the pick for the full run: a trial a tenth of a run long favours large LRs, which have not
   yet reached the noise floor they settle on later. The best constant LR over a horizon ``T``
   scales as ``T ** -a``, so a trial ``N`` times shorter than the run (``N = total_steps /
   trial_steps``, 10 when ``total_steps`` is not given) overshoots by ``a * log10(N)`` decades
   (:func:`default_shrink`). ``a = 1/2`` (the ``1 / sqrt(T)`` of SGD when progress and noise
   balance) unless the range test says the gradient noise dominates: its fall is fewer than
   ``NOISY_Z`` (50) standard errors of its noise. Then ``a = 1`` (the ``1 / T`` of noise-dominated
   SGD), a whole decade for ``N = 10``. The range test's significance is known when ``center`` is a
   ``RangeTestResult`` or one of its suggestions; for a bare LR the pick assumes ``a = 1/2``.

The defaults were chosen on the quality benchmark (``docs/quality.md``): the centre is read by
``drop`` at half its fall, capped a decade below the lowest loss, and chosen leave-one-task-out
with the pick. The noise threshold was read off that suite, where the two tasks whose trials
overshoot by a decade are the two whose curves fall by fewer than 50 standard errors. It was then
checked on three rounds of fresh tasks that were never used to choose anything, and it did not
carry over: there the verified pick is in band on 22 of 51 cells, no more often than the curve's
own reading, because how far short trials overshoot differs from task to task in ways the range
test's noise does not predict. Use the trials as a check of the reading (a candidate that
diverges, or a clear winner), not as a better answer.

The trials run one after the other. Running them at once, as a ``torch.func.vmap`` over stacked
copies, measured 0.6-1.3x the speed on CPU and does not support recurrent layers
(``benchmarks/verify_parallel.py``).

Cost: ``trial_steps x (num_candidates + extensions)`` optimizer steps, reported in the
suggestion's ``details`` with the seconds it took. With ``trial_steps`` = 10 % of a training
run, the default costs 0.3-0.4 training runs.

No other finder verifies its answer; the quality benchmark (``docs/quality.md``) measures what
it buys.
"""

from __future__ import annotations

import contextlib
import itertools
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import Any

import numpy as np
import torch
from torch import nn

from lrscope.analysis.types import Suggestion
from lrscope.torch.batches import batch_size, data_generators
from lrscope.torch.state import preserve_rngs, preserve_state

__all__ = ["default_shrink", "fit_vertex", "pick_from_trials", "verify_suggestion"]

#: the shortest run ``total_steps`` may give when ``trial_steps`` is not given: trials are then a tenth
#: of it, and a trial needs at least 3 steps (the same bound as ``lrscope find --verify``)
MIN_TOTAL_STEPS = 30
#: a trial whose scored loss exceeds this multiple of the best trial's counts as diverging
BLOWUP_FACTOR = 4.0
#: how many trials long the run is taken to be when ``total_steps`` is not given
DEFAULT_HORIZON_RATIO = 10.0
#: a range test whose fall is fewer standard errors of its noise than this reads as noise-dominated
NOISY_Z = 50.0
#: exponent ``a`` of the best constant LR's horizon scaling ``T ** -a``: clean and noise-dominated
HORIZON_EXPONENT = {"clean": 0.5, "noisy": 1.0}
#: how a RangeTestResult is read for the centre when no method is named: the default rule ``drop``
#: at half its fall, capped a full decade below the lowest loss, no floor (chosen leave-one-task-out)
CENTER_OPTIONS: dict[str, Any] = {"fraction": 0.5, "min_gap": 1.0, "max_gap": None}
#: a curve whose fall is below the rules' 2 standard errors but at least this many still places the
#: trials (the trials then decide); below it the curve says nothing and verifying it is an error
CENTER_MIN_Z = 1.0


#: decades a scheduled trial's pick is lowered by: annealing removes most of the noise floor behind the
#: constant-LR shrink. 0.25 is the in-sample choice on the quality benchmark's three one-cycle tasks
#: (7/9 in band); leave-one-task-out it is 4/9, below the published rules' 6/9 (docs/quality.md)
SCHEDULED_SHRINK = 0.25


def _schedule_name(schedule: Any) -> str:
    return schedule if isinstance(schedule, str) else getattr(schedule, "__name__", type(schedule).__name__)


def _one_cycle(optimizer: torch.optim.Optimizer, peak_lr: float, steps: int) -> Any:
    ratios = [g["lr"] / peak_lr for g in optimizer.param_groups]  # the groups' LR ratios, kept
    # torch's default cycles the momentum too; an optimizer without one (Adagrad) just cycles the LR
    cycle = "momentum" in optimizer.defaults or "betas" in optimizer.defaults
    return torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=[peak_lr * r for r in ratios], total_steps=steps,
                                               cycle_momentum=cycle)


def _scheduler_factory(schedule: Any) -> Callable[[torch.optim.Optimizer, float, int], Any] | None:
    if schedule == "constant":
        return None
    if schedule == "one_cycle":
        return _one_cycle
    if callable(schedule) and not isinstance(schedule, str):
        return schedule  # type: ignore[no-any-return]
    raise ValueError(
        "Argument `schedule` must be 'constant', 'one_cycle' or a factory schedule(optimizer, peak_lr, steps) -> "
        f"LRScheduler. Received: schedule={schedule!r:.80}"
    )


def _z_of(suggestion: Suggestion | None) -> float | None:
    """The range test's significance carried in a suggestion's details (None when unknown)."""
    if suggestion is None:
        return None
    z = suggestion.details.get("z")
    if z == "inf":
        return math.inf
    if isinstance(z, (int, float)) and not isinstance(z, bool) and not math.isnan(z):
        return float(z)
    return None


def default_shrink(trial_steps: int, total_steps: int | None = None, z: float | None = None) -> tuple[float, str]:
    """Decades to lower the best trial's LR by for the full run, and why.

    ``a * log10(N)`` with ``N = total_steps / trial_steps`` (``DEFAULT_HORIZON_RATIO`` when
    ``total_steps`` is None) and ``a`` = 1 when the range test's fall is below ``NOISY_Z``
    standard errors (``z``: noise dominates), else 1/2; ``z=None`` (no range test) counts as clean.

    Example:
        >>> default_shrink(30, 300)[0], default_shrink(30, 300, z=12.0)[0]
        (0.5, 1.0)
    """
    ratio = DEFAULT_HORIZON_RATIO if total_steps is None else total_steps / trial_steps
    noisy = z is not None and z < NOISY_Z
    shrink = HORIZON_EXPONENT["noisy" if noisy else "clean"] * math.log10(ratio)
    horizon = f"the run is {ratio:.3g}x a trial" + ("" if total_steps is not None else " (assumed: total_steps not given)")
    if noisy:
        why = (f"the range test's fall is {z:.1f} standard errors of its noise (< {NOISY_Z:g}): noise dominates, "
               f"so the best constant LR scales as 1/T; {horizon}")
    elif z is None:
        why = f"no range test to read the noise from: the best constant LR is taken to scale as 1/sqrt(T); {horizon}"
    else:
        why = f"the range test's fall is {z:.3g} standard errors of its noise: the best constant LR scales as 1/sqrt(T); {horizon}"
    return shrink, why


def fit_vertex(xs: Any, ys: Any) -> float | None:
    """Vertex of the parabola through three points ``(x, y)``, or None when it does not open upwards.

    Example:
        >>> abs(fit_vertex([-1.0, 0.0, 1.0], [2.0, 1.0, 2.0])) < 1e-12
        True
    """
    x = np.asarray(xs, dtype=np.float64)
    y = np.asarray(ys, dtype=np.float64)
    if x.size != 3 or not np.all(np.isfinite(y)):
        return None
    a, b, _ = np.polyfit(x, y, 2)
    if not (np.isfinite(a) and a > 0):
        return None
    return float(-b / (2 * a))


def _center_of(center: Any, method: str | None) -> tuple[float, Suggestion | None]:
    from lrscope.result import RangeTestResult

    if isinstance(center, RangeTestResult):
        if method is not None:
            center = center.suggest(method)
        else:
            read = center.suggest("drop", **CENTER_OPTIONS)
            if read.lr is None:
                # too noisy for the curve alone to answer (a flat, rising or too short curve still
                # abstains): its reading is still a place to start the trials, which then decide
                again = center.suggest("drop", **CENTER_OPTIONS, min_z=CENTER_MIN_Z)
                if again.lr is not None:
                    read = replace(again, details={**again.details, "abstained_alone": read.reason})
            center = read
    if isinstance(center, Suggestion):
        if center.lr is None:
            raise ValueError(f"Argument `center` is a suggestion that abstained, so there is nothing to verify: {center.reason}")
        return float(center.lr), center
    if isinstance(center, (int, float)) and not isinstance(center, bool) and math.isfinite(center) and center > 0:
        return float(center), None
    raise ValueError(
        "Argument `center` must be a positive learning rate, a Suggestion or a RangeTestResult. "
        f"Received: center={center!r:.80}"
    )


def _world() -> Any:
    from lrscope.torch.engine import _distributed_world

    return _distributed_world()


def _diverged(loss: torch.Tensor, group: Any) -> bool:
    """A non-finite loss (on any rank, under torch.distributed: every rank takes the same decision)."""
    bad = not bool(torch.isfinite(loss))
    if group is None:
        return bad
    from lrscope.torch.distributed import any_rank

    return bool(any_rank([torch.tensor(bad)], group, loss.device)[0])


def _means(values: list[torch.Tensor], sizes: list[float], group: Any, *, total: bool = False) -> list[float]:
    """The losses on the host: as they are on one process; under torch.distributed the global mean of
    each step over every rank's samples (one SUM all-reduce of ``[loss * n, n]``), or with ``total``
    the one global mean of all of them."""
    if not values:
        return []
    if group is None:
        return list(torch.stack(values).double().cpu().tolist())
    from lrscope.torch.distributed import all_means

    pairs = [torch.stack([v.reshape(()).double() * n, torch.full((), n, dtype=torch.float64, device=v.device)])
             for v, n in zip(values, sizes)]
    if total:
        pairs = [torch.stack(pairs).sum(dim=0)]
    return all_means(pairs, group).tolist()  # type: ignore[no-any-return]


def _split_batch(batch: Any) -> tuple[Any, Any]:
    if isinstance(batch, (tuple, list)) and len(batch) >= 2:
        return batch[0], batch[1]
    raise ValueError(
        "verify_suggestion with loss_fn needs batches of (inputs, targets, ...); pass step_fn for other "
        f"batch layouts. Received: a batch of type {type(batch).__name__}"
    )


def verify_suggestion(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    train_data: Iterable[Any],
    loss_fn: Callable[[Any, Any], torch.Tensor] | None = None,
    *,
    center: Any,
    method: str | None = None,
    trial_steps: int | None = None,
    num_candidates: int = 3,
    spacing: float = 0.5,
    extend: int = 1,
    shrink: float | None = None,
    total_steps: int | None = None,
    val_data: Iterable[Any] | None = None,
    step_fn: Callable[[nn.Module, Any], torch.Tensor] | None = None,
    storage: str = "memory",
    schedule: str | Callable[[torch.optim.Optimizer, float, int], Any] = "constant",
) -> Suggestion:
    """Train briefly at a few LRs around ``center`` and return the one that trained best.

    Args:
        model: the user's model (left bit-identical afterwards).
        optimizer: the user's optimizer (state and hyperparameters left bit-identical).
        train_data: batches; the first ``trial_steps`` are taken once and replayed for every
            candidate (a loader shorter than that is cycled). They are drawn inside the saved RNG
            state: a shuffled DataLoader or a random augmentation leaves Python's, NumPy's and
            torch's generators (the loader's own included) where they were.
        loss_fn: ``loss_fn(model(inputs), targets)``; or give ``step_fn``.
        center: an LR, a :class:`~lrscope.Suggestion`, or a ``RangeTestResult`` (read with ``method``).
        method: the rule read from a ``RangeTestResult`` (None: ``drop`` at half its fall, capped
            a decade below the lowest loss, the centre the quality benchmark chose for this path).
            With None, a curve too noisy for ``drop`` to answer on its own (a fall of 1-2 standard
            errors, ``CENTER_MIN_Z``) is still read for the centre: the trials decide, the reason
            says so and the confidence is at most "medium". A flat, rising, too short or noisier
            curve has nothing to read and is an error.
        trial_steps: optimizer steps per candidate (e.g. 10 % of the planned training run). None
            (default): ``total_steps // 10``, which then needs ``total_steps`` >= 30.
        num_candidates: odd number of LRs tried around ``center`` (>= 3).
        spacing: decades between neighbouring candidates (> 0).
        extend: how many more candidates may be tried beyond an end of the bracket when the best
            trial lies there (>= 0).
        shrink: decades the pick is lowered by, for the full run (see :func:`pick_from_trials`).
            None: :func:`default_shrink` — half a decade for trials a tenth of the run, a whole
            decade when the range test behind ``center`` is noise-dominated.
        total_steps: the length of the training run the LR is for (optional; sets the horizon
            ratio of ``shrink``; without it the trials are taken to be a tenth of the run). Alone,
            without ``trial_steps``, it also sets the trials' length: a tenth of it.
        val_data: optional batches to score each trial on (mean loss) instead of its training loss.
        step_fn: ``step_fn(model, batch) -> loss tensor`` (forward only; backward and the optimizer
            step are done here) for batch layouts ``loss_fn`` cannot take.
        storage: snapshot storage, ``"memory"`` or ``"disk"`` (see :func:`preserve_state`).
        schedule: the schedule the LR is for, which each trial then follows over its own steps
            with the candidate as its peak. ``"constant"`` (default); ``"one_cycle"`` (PyTorch's
            ``OneCycleLR`` on its defaults, momentum cycle included); or a factory
            ``schedule(optimizer, peak_lr, steps) -> LRScheduler`` for any other. For a scheduled
            trial the pick is the peak LR to give that schedule (``max_lr`` for one-cycle), and
            ``shrink`` defaults to ``SCHEDULED_SHRINK`` (a quarter decade): annealing removes most of
            the noise floor that makes short constant-LR trials favour large LRs. On the quality
            benchmark's one-cycle tasks this is a check, not a better answer: 7/9 cells in band
            in-sample, 4/9 leave-one-task-out, worst regret 2 % (``docs/quality.md``).

    Returns:
        A :class:`~lrscope.Suggestion` (method ``"verified"``) with ``interval`` = the candidates'
        range whose score is within 2 % (relative) of the best, ``confidence`` ("high" when the pick
        is bracketed by worse trials on both sides, "medium" when it lies at an end after
        extending, "low" when every trial diverged or all scores tie), and ``details`` holding
        every candidate's LR and score, every trial's per-step training losses
        (``trial_losses``, in candidate order, for plotting the trials), the steps and seconds spent,
        the range test's significance (``range_test_z``, None for a bare LR) and why the pick was
        lowered as it was (``shrink``, ``shrink_reason``).

    Raises:
        ValueError: for bad arguments (named, with the value received).

    Example:
        >>> res = range_test(model, opt, loader, loss_fn, num_steps=100)          # doctest: +SKIP
        >>> s = verify_suggestion(model, opt, loader, loss_fn, center=res,        # doctest: +SKIP
        ...                       total_steps=total_steps)  # trials of total_steps // 10
        >>> s.lr, s.details["steps"]                                             # doctest: +SKIP
    """
    lr0, base = _center_of(center, method)
    if trial_steps is None:
        if total_steps is None:
            raise ValueError(
                "Give `trial_steps` or `total_steps` (trials are then total_steps // 10 steps long). "
                "Received: trial_steps=None, total_steps=None"
            )
        if isinstance(total_steps, bool) or not isinstance(total_steps, int) or total_steps < MIN_TOTAL_STEPS:
            raise ValueError(
                f"Argument `total_steps` must be an integer >= {MIN_TOTAL_STEPS} when `trial_steps` is not given "
                f"(trials are total_steps // 10 steps, and a trial needs at least 3). Received: total_steps={total_steps!r}"
            )
        trial_steps = total_steps // 10
    if isinstance(trial_steps, bool) or not isinstance(trial_steps, int) or trial_steps < 3:
        raise ValueError(f"Argument `trial_steps` must be an integer >= 3. Received: trial_steps={trial_steps!r}")
    if isinstance(num_candidates, bool) or not isinstance(num_candidates, int) or num_candidates < 3 or num_candidates % 2 == 0:
        raise ValueError(f"Argument `num_candidates` must be an odd integer >= 3. Received: num_candidates={num_candidates!r}")
    if not (isinstance(spacing, (int, float)) and math.isfinite(spacing) and spacing > 0):
        raise ValueError(f"Argument `spacing` must be a finite number > 0. Received: spacing={spacing!r}")
    if total_steps is not None and (isinstance(total_steps, bool) or not isinstance(total_steps, int) or total_steps < trial_steps):
        raise ValueError(
            f"Argument `total_steps` must be an integer >= trial_steps ({trial_steps}). Received: total_steps={total_steps!r}"
        )
    shrink_why = None
    make_scheduler = _scheduler_factory(schedule)
    if shrink is None and make_scheduler is not None:
        shrink, shrink_why = SCHEDULED_SHRINK, f"the trials follow the {_schedule_name(schedule)} schedule the LR is for"
    if shrink is None:
        shrink, shrink_why = default_shrink(trial_steps, total_steps, _z_of(base))
    if not (isinstance(shrink, (int, float)) and math.isfinite(shrink)):
        raise ValueError(f"Argument `shrink` must be a finite number of decades. Received: shrink={shrink!r}")
    if isinstance(extend, bool) or not isinstance(extend, int) or extend < 0:
        raise ValueError(f"Argument `extend` must be an integer >= 0. Received: extend={extend!r}")
    if (loss_fn is None) == (step_fn is None):
        raise ValueError("Give exactly one of `loss_fn` and `step_fn`. Received: " + ("neither" if loss_fn is None else "both"))

    # The batches are drawn inside the RNG state that is put back: a shuffled DataLoader or a random
    # augmentation draws from the global generators and the loader's own (as range_test restores them).
    generators = data_generators(train_data) + (data_generators(val_data) if val_data is not None else [])
    group = _world()
    if group is not None:  # a rank that fails is named on the others, as in the range test
        from lrscope.torch.distributed import fault_guard

        guard: Any = fault_guard(group, "verify_suggestion")
    else:
        guard = contextlib.nullcontext()
    with preserve_rngs(generators), guard:
        return _verify(
            model, optimizer, train_data, loss_fn, step_fn, lr0=lr0, base=base, trial_steps=trial_steps,
            num_candidates=num_candidates, spacing=spacing, extend=extend, shrink=shrink, shrink_why=shrink_why,
            val_data=val_data, storage=storage, schedule=schedule, make_scheduler=make_scheduler,
        )


def _verify(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    train_data: Iterable[Any],
    loss_fn: Callable[[Any, Any], torch.Tensor] | None,
    step_fn: Callable[[nn.Module, Any], torch.Tensor] | None,
    *,
    lr0: float,
    base: Suggestion | None,
    trial_steps: int,
    num_candidates: int,
    spacing: float,
    extend: int,
    shrink: float,
    shrink_why: str | None,
    val_data: Iterable[Any] | None,
    storage: str,
    schedule: Any,
    make_scheduler: Callable[[torch.optim.Optimizer, float, int], Any] | None,
) -> Suggestion:
    """The trials of :func:`verify_suggestion`, its arguments checked (inside its RNG snapshot)."""
    batches = list(itertools.islice(itertools.cycle(train_data) if hasattr(train_data, "__len__") else train_data, trial_steps))
    if len(batches) < trial_steps:
        # a one-shot iterator shorter than a trial: replay what it gave
        if not batches:
            raise ValueError("Argument `train_data` gave no batches")
        batches = list(itertools.islice(itertools.cycle(batches), trial_steps))
    val_batches = list(val_data) if val_data is not None else None
    group = _world()
    if group is not None and val_batches is not None:
        from lrscope.torch.distributed import min_over_ranks

        del val_batches[min_over_ranks(len(val_batches), group) :]  # every rank runs as many forwards
    ratios = [g["lr"] / optimizer.param_groups[0]["lr"] if optimizer.param_groups[0]["lr"] else 1.0 for g in optimizer.param_groups]

    def forward_loss(batch: Any) -> torch.Tensor:
        if step_fn is not None:
            return step_fn(model, batch)
        x, y = _split_batch(batch)
        return loss_fn(model(x), y)  # type: ignore[misc]

    scores: dict[float, float] = {}
    trial_losses: dict[float, list[float]] = {}
    t0 = time.perf_counter()
    steps = 0

    def trial(lr: float) -> float:
        nonlocal steps
        tail = max(1, trial_steps // 3)
        every: list[torch.Tensor] = []
        sizes: list[float] = []
        with preserve_state(model, optimizer, storage=storage):  # type: ignore[arg-type]
            for g, r in zip(optimizer.param_groups, ratios):
                g["lr"] = lr * r
            scheduler = make_scheduler(optimizer, lr, trial_steps) if make_scheduler is not None else None
            model.train()
            for i, batch in enumerate(batches):
                optimizer.zero_grad(set_to_none=True)
                loss = forward_loss(batch)
                loss.backward()  # type: ignore[no-untyped-call]
                optimizer.step()
                if scheduler is not None and i < trial_steps - 1:
                    scheduler.step()
                steps += 1
                every.append(loss.detach())
                sizes.append(float(batch_size(batch) or 1))
                if i % 16 == 15 and _diverged(every[-1], group):
                    break  # diverged: no point in going on (under DDP: on any rank, decided on every rank)
            # one host transfer per trial, not per step; the score reads the last third of it
            trial_losses[lr] = _means(every, sizes, group)
            scored = trial_losses[lr][trial_steps - tail :]
            if val_batches is not None and all(math.isfinite(v) for v in scored[-1:]):
                model.eval()
                with torch.no_grad():
                    vals = [forward_loss(b).detach() for b in val_batches]
                if group is None:
                    scored = [float(v.double()) for v in vals]
                else:  # the global mean over every rank's validation samples
                    scored = _means(vals, [float(batch_size(b) or 1) for b in val_batches], group, total=True)
            value = sum(scored) / len(scored) if scored else math.inf
        return value if math.isfinite(value) else math.inf

    half = num_candidates // 2
    ks = list(range(-half, half + 1))
    for k in ks:
        scores[k] = trial(lr0 * 10 ** (k * spacing))
    extensions = 0
    while extensions < extend:
        finite = {k: v for k, v in scores.items() if math.isfinite(v)}
        if not finite:
            nxt = min(scores) - 1  # everything diverged: go lower
        else:
            kb = min(finite, key=finite.get)  # type: ignore[arg-type]
            if kb == max(scores):
                nxt = kb + 1
            elif kb == min(scores):
                nxt = kb - 1
            else:
                break
        scores[nxt] = trial(lr0 * 10 ** (nxt * spacing))
        extensions += 1

    seconds = time.perf_counter() - t0
    if group is not None:  # the slowest rank's time: the same details on every rank
        from lrscope.torch.distributed import gather_rows

        seconds = max(r[0] for r in gather_rows([seconds], group))
    lrs_tried = [float(lr0 * 10 ** (k * spacing)) for k in sorted(scores)]
    vals = [scores[k] for k in sorted(scores)]
    details: dict[str, Any] = {
        "candidates": lrs_tried,
        "scores": [v if math.isfinite(v) else None for v in vals],
        "trial_losses": [trial_losses[lr] for lr in sorted(trial_losses)],
        "trial_steps": trial_steps,
        "steps": steps,
        "seconds": seconds,
        "center": lr0,
        "center_method": None if base is None else base.method,
        "scored_on": "validation loss" if val_batches is not None else "training loss, last third of each trial",
        "range_test_z": _z_of(base),
        "schedule": _schedule_name(schedule),
        "shrink_reason": shrink_why or "given by the caller",
    }
    pick = pick_from_trials(lrs_tried, vals, shrink=shrink, trial_steps=trial_steps, details=details)
    alone = None if base is None else base.details.get("abstained_alone")
    if alone is not None and pick.lr is not None:
        note = (f"the range test alone says nothing ({alone}); its reading at lr={lr0:.3g} only placed the trials. ")
        pick = replace(pick, reason=note + pick.reason, details={**pick.details, "range_test_abstained": alone},
                       confidence="low" if pick.confidence == "low" else "medium")
    return pick


def pick_from_trials(
    lrs: Any,
    scores: Any,
    *,
    shrink: float = 0.0,
    tolerance: float = 0.0,
    trial_steps: int | None = None,
    details: dict[str, Any] | None = None,
) -> Suggestion:
    """The verified pick from trial results (pure function; :func:`verify_suggestion` calls it).

    Args:
        lrs: the tried LRs, increasing and evenly spaced in ``log10``.
        scores: each trial's loss (lower is better; None/NaN/inf = diverged).
        shrink: decades subtracted from the pick (short trials favour large LRs: a trial of a
            tenth of the run does not see the noise floor a large LR settles on later).
        tolerance: when > 0, pick the *lowest* LR whose fitted trial loss is within this fraction
            of the fitted minimum (the parabola's left crossing of ``min * (1 + tolerance)``, at most
            one spacing below the vertex): a smaller LR nearly as good after a short trial is the
            better one for the full run — the one-standard-error rule applied to LRs.
        trial_steps: steps per trial (for the reason).
        details: extra numbers to attach.

    Returns:
        The ``"verified"`` :class:`~lrscope.Suggestion` (see :func:`verify_suggestion`).

    Example:
        >>> s = pick_from_trials([1e-3, 1e-2, 1e-1], [2.0, 1.0, 2.0])
        >>> round(s.lr, 6), s.confidence
        (0.01, 'high')
    """
    x = np.log10(np.asarray(lrs, dtype=np.float64))
    v = np.array([math.inf if (s is None or not math.isfinite(float(s))) else float(s) for s in scores])
    if x.size < 2 or x.size != v.size:
        raise ValueError(f"Arguments `lrs` and `scores` must hold the same number (>= 2) of trials. Received: {x.size} and {v.size}")
    spacing = float(np.median(np.diff(x)))
    details = dict(details or {})
    details.setdefault("candidates", [float(a) for a in 10**x])
    details.setdefault("scores", [float(a) if math.isfinite(a) else None for a in v])
    details["shrink"] = shrink
    details["tolerance"] = tolerance
    steps_txt = f" of {trial_steps} steps" if trial_steps else ""
    finite = np.isfinite(v)
    if finite.any():  # a trial far worse than the best is blowing up: it would diverge when trained longer
        lowest = float(v[finite].min())
        finite &= v - lowest <= (BLOWUP_FACTOR - 1) * abs(lowest)
    if not finite.any():
        lr = float(10 ** (x[0] - spacing))
        return Suggestion(
            "verified", lr, None,
            f"every trial diverged (LRs {10**x[0]:.3g} to {10**x[-1]:.3g}); suggesting {lr:.3g}, a step below the "
            "lowest tried, untested: run a range test from a lower start",
            interval=(lr, lr), confidence="low", details=details,
        )
    idx = np.flatnonzero(finite)
    b = int(idx[np.argmin(v[idx])])
    best = float(v[b])
    xb = float(x[b])
    xp = xb
    conf = "high"
    tol_note = ""
    if 0 < b < x.size - 1 and finite[b - 1] and finite[b + 1]:
        vx = fit_vertex(x[b - 1 : b + 2], v[b - 1 : b + 2])
        if vx is not None:
            xp = min(max(vx, xb - spacing / 2), xb + spacing / 2)
            if tolerance > 0:
                a2, b2, c2 = np.polyfit(x[b - 1 : b + 2], v[b - 1 : b + 2], 2)
                ymin = a2 * vx * vx + b2 * vx + c2
                xt = vx - math.sqrt(tolerance * abs(ymin) / a2)
                xp = max(min(xt, xp), xp - spacing)
                tol_note = f"; the lowest LR within {tolerance:.0%} of the fitted minimum: {10**xp:.3g}"
    else:
        conf = "medium"  # best at an end of what was tried (or next to a diverging trial)
        if tolerance > 0:
            ok = [i for i in idx if v[i] <= best + tolerance * abs(best)]
            xp = float(x[min(ok)])
            if xp != xb:
                tol_note = f"; the lowest tried LR within {tolerance:.0%} of the best: {10**xp:.3g}"
    near = [i for i in idx if v[i] <= best + 0.02 * abs(best)]
    if len(near) == x.size:
        conf = "low"  # the trials cannot tell the LRs apart
    lr = float(10 ** (xp - shrink))
    lo, hi = float(10 ** (x[min(near)] - shrink)), float(10 ** (x[max(near)] - shrink))
    lo, hi = min(lo, lr), max(hi, lr)
    reason = (
        f"{x.size} trials{steps_txt} from {10**x[0]:.3g} to {10**x[-1]:.3g}: lowest loss {best:.4g} at {10**xb:.3g}"
        + (f"; the parabola through it and its neighbours bottoms out at {10**xp:.3g}" if xp != xb and not tol_note else "")
        + tol_note
        + (f"; {shrink:g} decade(s) lower for the full run (short trials favour large LRs"
           + (f": {details['shrink_reason']}" if details.get("shrink_reason", "given by the caller") != "given by the caller" else "")
           + f"): {lr:.3g}" if shrink else "")
    )
    if conf == "medium":
        reason += " (best at the end of the tried range)"
    if conf == "low":
        reason += " (the trials' losses are within 2% of each other: they cannot tell the LRs apart)"
    details["pick_before_shrink"] = float(10**xp)
    return Suggestion("verified", lr, None, reason, interval=(lo, hi), confidence=conf, details=details)  # type: ignore[arg-type]
