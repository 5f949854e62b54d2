"""The range-test result: raw arrays + the config that made them, independent of any framework.

A :class:`RangeTestResult` is what every engine (PyTorch, Keras, distributed) returns and what the
CLI reads back from JSON without importing a framework. It stores *raw* per-step values; smoothing
and suggestions are computed from them on demand, so a saved run can be re-read with newer rules.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from lrscope._format import format_lr
from lrscope._io import atomic_write
from lrscope._version import __version__
from lrscope.analysis import bounds as _bounds
from lrscope.analysis import rules as _rules
from lrscope.analysis.stop import STOP_COMPLETED
from lrscope.analysis.types import Bounds, Suggestion

#: Version of the JSON layout written by :meth:`RangeTestResult.save`. Bump on breaking changes.
SCHEMA_VERSION = 1
FORMAT_NAME = "lrscope.range_test"

Source = Literal["auto", "loss", "val_loss"]


class ResultFileError(ValueError):
    """A result file that cannot be read: corrupt, foreign, or from a newer lrscope."""


def _as_1d(name: str, values: ArrayLike) -> NDArray[np.float64]:
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"Argument `{name}` must be a 1-D array of numbers. Received: {values!r:.80}") from exc
    if arr.ndim != 1:
        raise ValueError(f"Argument `{name}` must be 1-D. Received: {name} with shape {arr.shape}")
    return arr


def _json_float(x: float) -> float | str:
    """JSON has no NaN/inf; store them as strings so files stay standard JSON."""
    if math.isfinite(x):
        return float(x)
    return "nan" if math.isnan(x) else ("inf" if x > 0 else "-inf")


def _from_json_float(x: Any) -> float:
    if isinstance(x, str):
        return float(x)  # "nan", "inf", "-inf"
    if isinstance(x, (int, float)) and not isinstance(x, bool):
        return float(x)
    raise TypeError(f"expected a number, got {x!r:.40}")


_SPACING_RTOL = 0.02  # as lrscope.analysis.curve.infer_sweep: float32 LRs stay within it


def _infer_sweep_of_file(lrs: NDArray[np.float64] | None) -> tuple[Literal["exp", "linear"] | None, str]:
    """How a file's LRs were spaced: ``("exp", why)`` for a constant ratio, ``("linear", why)`` for a
    constant step, ``(None, why)`` when neither fits. Fewer than 3 LRs fit both: ``"exp"``, the default of
    every engine (no rule reads fewer than 5 points, so the choice cannot change a reading)."""
    lr = np.asarray([] if lrs is None else lrs, dtype=np.float64)
    if lr.size < 3:
        return "exp", f"{lr.size} learning rate(s) fit either spacing; the engines' default"
    if not (np.all(np.isfinite(lr)) and np.all(lr > 0)):
        return None, "they are not all finite and positive"

    def constant(d: NDArray[np.float64]) -> bool:
        med = float(np.median(d))
        return med > 0 and bool(np.all(np.abs(d - med) <= _SPACING_RTOL * med))

    with np.errstate(all="ignore"):
        if constant(np.diff(np.log(lr))):
            return "exp", f"a constant ratio of {float(lr[1] / lr[0]):.4g} between steps"
        if constant(np.diff(lr)):
            return "linear", f"a constant step of {float(lr[1] - lr[0]):.4g}"
    return None, "steps vary by more than 2 %"


def _optimizer_family(name: str, momentum: Any, nesterov: Any) -> str:
    """The learned reader's optimizer name for a recorded class name: SGD is told apart by its recorded
    momentum and Nesterov flag (``sgd_any`` when they were not recorded, as in files from before them)."""
    if name.lower() != "sgd":
        return name
    if not isinstance(momentum, (int, float)) or isinstance(momentum, bool):
        return "sgd_any"
    if momentum == 0:
        return "sgd"
    return "sgd_nesterov" if nesterov is True else "sgd_momentum"


@dataclass
class RangeTestResult:
    """Arrays recorded by one LR range test, and what is needed to read them.

    Attributes:
        lrs: learning rate of each recorded step (the first param group's, for multi-group optimizers).
        losses: raw training loss of each step (NaN/inf kept: they are the divergence).
        val_losses: optional validation loss per step (NaN where not evaluated that step; engines
            record an evaluated but non-finite validation loss as +inf so it is not mistaken for a gap).
        metrics: optional named per-step metrics (e.g. ``{"accuracy": ...}``), NaN where not evaluated.
        steps: optimizer step index of each record (defaults to ``0..n-1``).
        sweep: ``"exp"`` or ``"linear"`` — how LRs were spaced; slopes are read against log10(lr)
            for ``"exp"``.
        stop_reason: why the sweep ended (``"completed"``, ``"diverged"``, ``"non-finite loss"``,
            ``"data exhausted"``, ``"interrupted"``).
        stop_detail: one sentence with the numbers behind ``stop_reason``.
        config: the settings that produced the run (engine, start/end LR, optimizer name ...).
        notes: things a user should know (e.g. "the loader was cycled 3 times").
        version: lrscope version that recorded it.
    """

    lrs: NDArray[np.float64]
    losses: NDArray[np.float64]
    val_losses: NDArray[np.float64] | None = None
    metrics: dict[str, NDArray[np.float64]] = field(default_factory=dict)
    steps: NDArray[np.int64] | None = None
    sweep: Literal["exp", "linear"] = "exp"
    stop_reason: str = STOP_COMPLETED
    stop_detail: str = ""
    config: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    version: str = __version__

    def __post_init__(self) -> None:
        self.lrs = _as_1d("lrs", self.lrs)
        self.losses = _as_1d("losses", self.losses)
        n = len(self.lrs)
        if len(self.losses) != n:
            raise ValueError(
                "Arguments `lrs` and `losses` must have the same length. "
                f"Received: len(lrs)={n}, len(losses)={len(self.losses)}"
            )
        bad = np.flatnonzero(~(np.isfinite(self.lrs) & (self.lrs > 0)))
        if bad.size:
            i = int(bad[0])
            raise ValueError(f"Argument `lrs` must hold finite positive learning rates. Received: lrs[{i}]={float(self.lrs[i])!r}")
        down = np.flatnonzero(np.diff(self.lrs) <= 0)
        if down.size:  # every engine sweeps upwards, and every rule reads the curve that way
            i = int(down[0]) + 1
            raise ValueError(
                "Argument `lrs` must be strictly increasing (one point per LR of the sweep). "
                f"Received: lrs[{i}]={float(self.lrs[i])!r} after lrs[{i - 1}]={float(self.lrs[i - 1])!r}"
            )
        if self.val_losses is not None:
            self.val_losses = _as_1d("val_losses", self.val_losses)
            if len(self.val_losses) != n:
                raise ValueError(
                    "Argument `val_losses` must have one entry per step (NaN where not evaluated). "
                    f"Received: len(val_losses)={len(self.val_losses)}, steps={n}"
                )
        metrics = {}
        for name, values in dict(self.metrics or {}).items():
            arr = _as_1d(f"metrics[{name!r}]", values)
            if len(arr) != n:
                raise ValueError(
                    f"Argument `metrics[{name!r}]` must have one entry per step. Received: length {len(arr)}, steps={n}"
                )
            metrics[str(name)] = arr
        self.metrics = metrics
        self.steps = np.arange(n, dtype=np.int64) if self.steps is None else np.asarray(self.steps, dtype=np.int64)
        if self.steps.shape != (n,):
            raise ValueError(f"Argument `steps` must have one entry per step. Received: shape {self.steps.shape}, steps={n}")
        if self.sweep not in ("exp", "linear"):
            raise ValueError(f"Argument `sweep` must be 'exp' or 'linear'. Received: sweep={self.sweep!r}")
        self.notes = list(self.notes)
        self.config = dict(self.config)

    # ------------------------------------------------------------------ reading the curve

    def __len__(self) -> int:
        return len(self.lrs)

    def loss_source(self, source: Source = "auto") -> Literal["loss", "val_loss"]:
        """Which loss curve ``source`` names: ``"auto"`` is the validation loss when it was recorded at
        two steps or more, else the training loss.

        Raises:
            ValueError: for a ``source`` other than ``"auto"``, ``"loss"`` or ``"val_loss"``.
        """
        if source == "auto":
            v = self.val_losses
            return "val_loss" if v is not None and np.count_nonzero(~np.isnan(v)) >= 2 else "loss"
        if source in ("loss", "val_loss"):
            return source
        raise ValueError(f"Argument `source` must be 'auto', 'loss' or 'val_loss'. Received: source={source!r}")

    def curve(self, source: Source = "auto") -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """``(lrs, losses)`` of the curve suggestions read.

        Args:
            source: ``"loss"`` (training), ``"val_loss"``, or ``"auto"`` — the validation loss when
                it was recorded at every step, else the training loss. Steps where the validation loss
                was not evaluated are dropped.
        """
        if self.loss_source(source) == "loss":
            return self.lrs, self.losses
        if self.val_losses is None:
            raise ValueError("Argument `source` is 'val_loss' but this run recorded no validation loss. Received: source='val_loss'")
        keep = ~np.isnan(self.val_losses)  # NaN = not evaluated; engines record a diverged one as +inf
        return self.lrs[keep], self.val_losses[keep]

    def _no_points_reason(self, what: str) -> str:
        """Why a curve of ``what`` has no points: the run recorded none, or never recorded ``what``."""
        if len(self) == 0:
            stop = self.stop_reason + (f": {self.stop_detail}" if self.stop_detail else "")
            return f"the run recorded no points (it stopped before its first step: {stop}); there is no curve to read"
        return f"{what} has no points: it was never recorded in this run's {len(self)} steps"

    def _no_points(self, source: Source) -> str | None:
        """The reason every rule abstains when the curve ``source`` names is empty, else None."""
        lrs, _ = self.curve(source)
        if len(lrs):
            return None
        which = "the validation loss" if self.loss_source(source) == "val_loss" else "the training loss"
        return self._no_points_reason(which)

    def suggest(
        self,
        method: str | None = None,
        *,
        source: Source = "auto",
        budget: int | None = None,
        schedule: str | None = None,
        optimizer: str | None = None,
        batch_size: int | None = None,
        **options: Any,
    ) -> Suggestion:
        """One suggestion by a named rule (default: the library's evidence-based default).

        Args:
            method: a rule name from :func:`lrscope.analysis.available_rules`; None for the default;
                ``"reader"`` for the learned reader (:mod:`lrscope.analysis.reader`, opt-in).
            source: which curve to read (see :meth:`curve`).
            budget: planned training steps; schedule: ``"constant"``, ``"one_cycle"`` or
                ``"cosine_warmup"``; optimizer: its name (``"adamw"``, ``"sgd_momentum"`` ...);
                batch_size: the training batch. The run's settings, read by the learned reader only;
                ``optimizer`` and ``batch_size`` are taken from the record (``config``) when not given.
                With none of them (and no ``method="reader"``) the answer is the default rule's,
                exactly. With some, the default path uses the reader only where it passed its
                held-out stop rule (``docs/population.md``); otherwise it returns the default rule's
                answer and says so.
            **options: passed to the rule.

        Returns:
            A :class:`~lrscope.Suggestion` (``.found`` is False with a reason when the curve says nothing).

        Raises:
            ValueError: for settings given with a rule that does not read them, or bad settings.
        """
        settings = {"budget": budget, "schedule": schedule, "optimizer": optimizer, "batch_size": batch_size}
        given = any(v is not None for v in settings.values())
        if method == "reader" or (method is None and given):
            return self._suggest_reader(method, source, settings, options)
        if given:
            raise ValueError(
                "Arguments `budget`, `schedule`, `optimizer` and `batch_size` are read by the learned reader only "
                f"(method=None or method='reader'). Received: method={method!r}"
            )
        name = method or _rules.DEFAULT_METHOD
        lrs, losses = self.curve(source)
        empty = self._no_points(source)
        if empty is not None:
            if not isinstance(name, str) or name not in _rules.RULES:
                return _rules.suggest(lrs, losses, name)  # raises, naming the known rules
            return Suggestion.abstain(name, empty)
        return _rules.suggest(lrs, losses, name, sweep=self.sweep, **options)

    def _suggest_reader(self, method: str | None, source: Source, settings: dict[str, Any], options: dict[str, Any]) -> Suggestion:
        from dataclasses import replace

        from lrscope.analysis import reader as _reader

        if options:
            raise ValueError(f"The learned reader takes no rule options. Received: {', '.join(sorted(options))}")
        filled = []
        for key in ("optimizer", "batch_size"):
            recorded = self.config.get(key)
            if settings[key] is None and recorded is not None:
                if key == "optimizer":
                    recorded = _optimizer_family(str(recorded), self.config.get("momentum"), self.config.get("nesterov"))
                    try:
                        _reader.normalise_optimizer(recorded)
                    except ValueError:
                        continue
                settings[key] = recorded if key == "optimizer" else int(recorded)
                filled.append(key)
        model = _reader.load_reader()
        if method is None and not model.passed_stop_rule:
            base = self.suggest(source=source)
            note = ("; the run's settings were not used: the learned reader did not pass its held-out stop rule "
                    "(docs/population.md), so this is the default rule's reading (method='reader' gives the reader's)")
            return replace(base, reason=base.reason + note)
        lrs, losses = self.curve(source)
        empty = self._no_points(source)
        if empty is not None:
            return Suggestion.abstain("reader", empty)
        return _reader.read(lrs, losses, sweep=self.sweep, filled=tuple(filled), reader=model, **settings)

    def suggestions(self, *, source: Source = "auto") -> dict[str, Suggestion]:
        """Every registered rule's suggestion, by name."""
        lrs, losses = self.curve(source)
        empty = self._no_points(source)
        if empty is not None:
            return {name: Suggestion.abstain(name, empty) for name in _rules.available_rules()}
        return _rules.suggest_all(lrs, losses, sweep=self.sweep)

    def candidates(self, *, source: Source = "auto", **options: Any) -> list[Suggestion]:
        """Distinct good LRs (local minima near the lowest loss), in increasing LR order."""
        lrs, losses = self.curve(source)
        empty = self._no_points(source)
        if empty is not None:
            return [Suggestion.abstain("candidates", empty)]
        return _rules.candidates(lrs, losses, sweep=self.sweep, **options)

    def bounds(self, source: Literal["loss", "val_loss", "metric"] = "loss", *, metric: str | None = None, **options: Any) -> Bounds:
        """(base_lr, max_lr) for cyclical schedules, from the loss curve or a metric-vs-LR curve.

        Args:
            source: ``"loss"``/``"val_loss"`` for the loss curve, ``"metric"`` for a recorded metric.
            metric: which metric (default: the only one recorded, or ``"accuracy"``).
        """
        if source == "metric":
            if not self.metrics:
                raise ValueError("Argument `source` is 'metric' but this run recorded no metric. Received: source='metric'")
            name = metric or ("accuracy" if "accuracy" in self.metrics else next(iter(self.metrics)))
            if name not in self.metrics:
                raise ValueError(f"Argument `metric` must be one of {sorted(self.metrics)}. Received: metric={name!r}")
            values = self.metrics[name]
            keep = ~np.isnan(values)
            if not keep.any():
                return Bounds.abstain("metric", self._no_points_reason(f"the metric {name!r}"))
            higher = options.pop("higher_is_better", "loss" not in name.lower())
            return _bounds.metric_bounds(self.lrs[keep], values[keep], higher_is_better=higher, sweep=self.sweep, **options)
        lrs, losses = self.curve(source)
        empty = self._no_points(source)
        if empty is not None:
            return Bounds.abstain("loss", empty)
        return _bounds.loss_bounds(lrs, losses, sweep=self.sweep, **options)

    def schedule(self, kind: str = "triangular", *, bounds: Bounds | None = None, **kwargs: Any) -> Any:  # a lrscope.schedules.Schedule
        """A schedule built from this run's bounds (see :func:`lrscope.schedules.from_bounds`).

        Args:
            kind: ``"triangular"``, ``"triangular2"``, ``"exp_range"``, ``"welch"``, ``"hann"``,
                ``"one_cycle"``, ``"cosine"``, ``"sgdr"``, ...
            bounds: bounds to use (default: :meth:`bounds` of the loss curve).
            **kwargs: the schedule's own arguments (``step_size_up``, ``total_steps`` ...).

        Raises:
            ValueError: when the curve gives no bounds (the reason is in the message).
        """
        from lrscope.schedules import from_bounds

        b = bounds if bounds is not None else self.bounds()
        if not b.found:
            raise ValueError(f"This run gives no bounds for a schedule: {b.reason}")
        assert b.base_lr is not None and b.max_lr is not None  # found bounds carry both
        return from_bounds(kind, base_lr=b.base_lr, max_lr=b.max_lr, **kwargs)  # type: ignore[arg-type]

    def keras_schedule(self, kind: str = "triangular", *, bounds: Bounds | None = None, **kwargs: Any) -> Any:
        """A Keras ``LearningRateSchedule`` built from this run's bounds (see :meth:`schedule`).

        Same kinds, arguments and errors as :meth:`schedule`; the returned
        :class:`lrscope.keras.KerasSchedule` evaluates the same values with ``keras.ops`` inside a
        compiled train step, on every backend, and survives ``model.save``/``load_model``.

        Raises:
            ValueError: when the curve gives no bounds, or the schedule has no ``keras.ops`` form.
            ImportError: without Keras 3 (``pip install 'lrscope[keras]'``).
        """
        from lrscope.keras.schedules import from_schedule

        return from_schedule(self.schedule(kind, bounds=bounds, **kwargs))

    def plot(self, ax: Any = None, **kwargs: Any) -> Any:
        """Loss vs LR with suggestions (see :func:`lrscope.plot.plot_result`). Needs matplotlib."""
        from lrscope import plot as _plot

        return _plot.plot_result(self, ax=ax, **kwargs)

    def _repr_html_(self) -> str:
        """Jupyter: the loss-vs-LR plot (an embedded PNG) and the suggestion table."""
        from lrscope.report import result_html

        return result_html(self)

    def _repr_png_(self) -> bytes | None:
        """Jupyter front ends without HTML: the loss-vs-LR plot (None without matplotlib)."""
        from lrscope.report import result_png

        return result_png(self)

    # ------------------------------------------------------------------ persistence

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (NaN/inf stored as strings)."""

        def arr(a: NDArray[np.float64] | None) -> list[float | str] | None:
            return None if a is None else [_json_float(float(v)) for v in a]

        return {
            "format": FORMAT_NAME,
            "schema_version": SCHEMA_VERSION,
            "lrscope_version": self.version,
            "sweep": self.sweep,
            "stop_reason": self.stop_reason,
            "stop_detail": self.stop_detail,
            "config": self.config,
            "notes": self.notes,
            "steps": [int(s) for s in self.steps],  # type: ignore[union-attr]
            "lrs": arr(self.lrs),
            "losses": arr(self.losses),
            "val_losses": arr(self.val_losses),
            "metrics": {k: arr(v) for k, v in self.metrics.items()},
        }

    @classmethod
    def from_dict(cls, data: Any, *, origin: str = "<dict>") -> RangeTestResult:
        """Inverse of :meth:`to_dict`; raises :class:`ResultFileError` naming ``origin`` on bad data."""

        def fail(what: str) -> ResultFileError:
            return ResultFileError(f"{origin}: {what}")

        if not isinstance(data, dict) or data.get("format") != FORMAT_NAME:
            fmt = data.get("format") if isinstance(data, dict) else type(data).__name__
            raise fail(f"not an lrscope range-test result (format={fmt!r}, expected {FORMAT_NAME!r})")
        ver = data.get("schema_version")
        if not isinstance(ver, int) or isinstance(ver, bool) or ver < 1:
            raise fail(f"schema_version must be an integer >= 1, found {ver!r}")
        if ver > SCHEMA_VERSION:
            raise fail(
                f"written with schema version {ver} by lrscope {data.get('lrscope_version')}, newer than this "
                f"lrscope ({__version__}, schema {SCHEMA_VERSION}) can read: upgrade lrscope"
            )
        try:
            def arr(key: str, value: Any) -> NDArray[np.float64] | None:
                if value is None:
                    return None
                if not isinstance(value, list):
                    raise TypeError(f"{key} must be a list, found {type(value).__name__}")
                return np.array([_from_json_float(v) for v in value], dtype=np.float64)

            def steps_of(value: Any) -> NDArray[np.int64] | None:
                if value is None:
                    return None
                if not isinstance(value, list) or not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
                    raise TypeError("steps must be a list of integers")
                return np.asarray(value, dtype=np.int64)

            metrics_raw = data.get("metrics") or {}
            if not isinstance(metrics_raw, dict):
                raise TypeError("metrics must be an object")
            notes = data.get("notes") or []
            if not isinstance(notes, list) or not all(isinstance(n, str) for n in notes):
                raise TypeError("notes must be a list of strings")
            config = data.get("config") or {}
            if not isinstance(config, dict):
                raise TypeError("config must be an object")
            lrs = arr("lrs", data["lrs"])
            if "sweep" in data:
                sweep = data["sweep"]
            else:
                sweep, how = _infer_sweep_of_file(lrs)
                if sweep is None:
                    raise fail(
                        f'no "sweep" field, and its learning rates grow neither by a constant ratio nor by a constant '
                        f"step ({how}), so how they were spaced cannot be told; add \"sweep\": 'exp' or 'linear' "
                        "to the file (slopes are read per decade for 'exp', per unit LR for 'linear')"
                    )
                notes = [*notes, f"The file recorded no sweep; inferred {sweep!r} from its learning rates ({how})."]
            return cls(
                lrs=lrs,  # type: ignore[arg-type]
                losses=arr("losses", data["losses"]),  # type: ignore[arg-type]
                val_losses=arr("val_losses", data.get("val_losses")),
                metrics={k: arr(f"metrics.{k}", v) for k, v in metrics_raw.items()},  # type: ignore[misc]
                steps=steps_of(data.get("steps")),
                sweep=sweep,
                stop_reason=str(data.get("stop_reason", STOP_COMPLETED)),
                stop_detail=str(data.get("stop_detail", "")),
                config=dict(config),
                notes=list(notes),
                version=str(data.get("lrscope_version", "unknown")),
            )
        except ResultFileError:
            raise
        except KeyError as exc:
            raise fail(f"missing field {exc.args[0]!r}") from None
        except (TypeError, ValueError, OverflowError) as exc:
            raise fail(f"invalid content: {exc}") from None

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write versioned JSON atomically (a temp file renamed into place: no partial file on failure)."""
        path = Path(path)
        text = json.dumps(self.to_dict(), indent=1)
        atomic_write(path, text)
        return path

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> RangeTestResult:
        """Read a file written by :meth:`save`.

        Raises:
            ResultFileError: the file is missing, not JSON, not an lrscope result, or newer than this lrscope.
        """
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ResultFileError(f"{path}: no such file") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ResultFileError(f"{path}: cannot be read ({exc})") from None
        try:
            data = json.loads(text)
        except RecursionError:
            raise ResultFileError(f"{path}: not valid JSON (nested too deeply to read)") from None
        except json.JSONDecodeError as exc:
            raise ResultFileError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from None
        return cls.from_dict(data, origin=str(path))

    def to_csv(self, path: str | os.PathLike[str] | None = None) -> str:
        """The per-step arrays as CSV (step, lr, loss, val_loss?, metrics...). Writes ``path`` if given."""
        cols: list[tuple[str, Any]] = [("step", self.steps), ("lr", self.lrs), ("loss", self.losses)]
        if self.val_losses is not None:
            cols.append(("val_loss", self.val_losses))
        cols += list(self.metrics.items())
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow([c for c, _ in cols])
        for i in range(len(self)):
            w.writerow([int(v[i]) if c == "step" else repr(float(v[i])) for c, v in cols])
        text = buf.getvalue()
        if path is not None:
            atomic_write(path, text)
        return text

    def __repr__(self) -> str:
        span = f"lr {format_lr(self.lrs.min())}..{format_lr(self.lrs.max())}" if len(self) else "no points"
        extra = " +val_loss" if self.val_losses is not None else ""
        extra += "".join(f" +{m}" for m in self.metrics)
        return f"<RangeTestResult {len(self)} steps, {span} ({self.sweep}){extra}, stop: {self.stop_reason}>"
