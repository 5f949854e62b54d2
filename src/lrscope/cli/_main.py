"""The ``lrscope`` command: demo, find, plot, suggest, schedule.

Every command validates its arguments before doing any work; bad input ends with exit code 2 and one
line ``lrscope <command>: error: <what is wrong>`` on stderr, never a Python traceback (``--traceback``
shows one). Files are written to a temporary name and renamed into place, so a failure leaves no
partial file behind; the files of a demo/find run are written as one set (a new folder swapped in for
``--out``), and replacing an earlier run there is said on stderr.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import stat
import sys
import time
from collections.abc import Callable, Sequence, Sized
from pathlib import Path
from typing import Any, NoReturn, TypeVar, cast

from lrscope._format import format_lr
from lrscope._version import __version__

PROG = "lrscope"
DEFAULT_OUT = "lrscope-out"
RESULT_JSON = "range_test.json"
LOSS_PNG = "loss_vs_lr.png"
STEPS_PNG = "lr_vs_step.png"
METRIC_PNG = "metric_vs_lr.png"
REPORT_HTML = "report.html"

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
#: the longest schedule ``lrscope schedule`` prints and plots (its LRs are held in memory)
MAX_SCHEDULE_STEPS = 10_000_000


class UsageError(Exception):
    """Bad input from the user: printed as one line, exit code 2."""


class RunError(Exception):
    """The work itself failed (e.g. the user's model raised during the sweep): exit code 1."""


# ------------------------------------------------------------------------------------- arg types


def _positive_float(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not (math.isfinite(v) and v > 0):
        raise argparse.ArgumentTypeError(f"must be a finite number > 0, got {text!r}")
    return v


def _greater_than_one(text: str) -> float:
    v = _positive_float(text)
    if not v > 1.0:
        raise argparse.ArgumentTypeError(f"must be a number > 1 (a multiple of the best loss), got {text!r}")
    return v


def _fraction(text: str) -> float:
    v = _positive_float(text)
    if not v < 1:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {text!r}")
    return v


def _int_at_least(minimum: int):  # type: ignore[no-untyped-def]
    def parse(text: str) -> int:
        try:
            v = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if v < minimum:
            raise argparse.ArgumentTypeError(f"must be an integer >= {minimum}, got {text!r}")
        return v

    parse.__name__ = f"integer >= {minimum}"
    return parse


def _int_between(minimum: int, maximum: int, why: str = "") -> Callable[[str], int]:
    """An integer from ``minimum`` to ``maximum``; argparse names the option, and the message the rule and
    the value received."""

    def parse(text: str) -> int:
        try:
            v = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if not minimum <= v <= maximum:
            raise argparse.ArgumentTypeError(f"must be an integer from {minimum} to {maximum}{why}, got {text!r}")
        return v

    parse.__name__ = f"integer from {minimum} to {maximum}"
    return parse


#: the highest ``--dpi`` of ``plot``/``schedule``: a 7.5 x 4.8 inch figure is then 9000 x 5760 pixels
#: (about 200 MB while drawn); ``--dpi 100000`` would ask matplotlib for terabytes
MAX_DPI = 1200


class _Parser(argparse.ArgumentParser):
    """argparse, but errors raise (so ``main(argv)`` can return 2 instead of exiting the process)."""

    def error(self, message: str) -> NoReturn:
        raise _ArgError(self, message)


class _ArgError(Exception):
    def __init__(self, parser: argparse.ArgumentParser, message: str) -> None:
        super().__init__(message)
        self.parser = parser


# ------------------------------------------------------------------------------------- helpers


def _rules() -> Any:
    from lrscope.analysis import rules

    return rules


def _load(path: str) -> Any:
    from lrscope.result import RangeTestResult, ResultFileError

    try:
        return RangeTestResult.load(path)
    except ResultFileError as exc:
        raise UsageError(str(exc)) from None


def _check_methods(methods: Sequence[str] | None, extra: Sequence[str] = ()) -> None:
    if not methods:
        return
    available = [*_rules().available_rules(), *extra]
    bad = [m for m in methods if m not in available]
    if bad:
        raise UsageError(f"unknown --method {', '.join(map(repr, bad))}; choose from {', '.join(available)}")


def _check_image_path(path: str) -> None:
    """``--output`` of plot/schedule, before any work: a known image format, in a folder that exists or
    can be created (the same message as ``--out`` of demo/find)."""
    from lrscope.plot import image_format

    try:
        image_format(path)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    _check_folder_creatable("--output", path, Path(path).parent)


_OUT_FILES = (RESULT_JSON, LOSS_PNG, STEPS_PNG, METRIC_PNG, REPORT_HTML)


def _check_folder_creatable(option: str, value: str, folder: Path) -> None:
    """Before any work: ``folder`` (where ``option value`` writes) exists or can be created, and we may
    write there. One message for every command's output option (``--out`` of demo/find, ``--output``
    of plot/schedule)."""
    parent = folder
    while not parent.exists():  # the nearest existing ancestor must be a writable folder
        parent = parent.parent
    if not parent.is_dir():
        raise UsageError(f"{option} {value!r}: {str(parent)!r} is a file, so the folder cannot be created")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise UsageError(f"{option} {value!r}: no permission to write in {str(parent)!r}")


def _check_out_dir(out: str) -> Path:
    """``--out`` as a Path, checked before any work: a folder (or creatable as one) we may write into,
    whose output file names are not taken by folders, and not the current folder or one holding it
    (the run's files replace the folder as a whole, see :func:`_replace_folder`)."""
    p = Path(out)
    if p.exists() and not p.is_dir():
        raise UsageError(f"--out {out!r} exists and is not a folder")
    _check_folder_creatable("--out", out, p.parent)  # the new set is built beside the folder, then swapped in
    real, cwd = Path(os.path.realpath(p)), Path(os.path.realpath(os.getcwd()))
    if real == cwd or real in cwd.parents:
        raise UsageError(f"--out {out!r} is the current folder or holds it; a run's files replace their folder as a "
                         f"whole, so give them a folder of their own (e.g. the default {DEFAULT_OUT})")
    for name in _OUT_FILES:
        if (p / name).is_dir():
            raise UsageError(f"--out {out!r}: {name} there is a folder; remove it or choose another --out")
    return p


def _earlier_run(out: Path) -> str | None:
    """What ``out`` holds of an earlier run (``None`` when nothing), for the note that it is replaced."""
    found = [name for name in _OUT_FILES if (out / name).is_file()]
    if not found:
        return None
    what = []
    try:
        task = json.loads((out / RESULT_JSON).read_text(encoding="utf-8"))["config"]["task"]
        what.append(str(task))
    except (OSError, ValueError, KeyError, TypeError):
        pass
    try:
        mtime = max((out / n).stat().st_mtime for n in found)
        what.append("written " + time.strftime("%Y-%m-%d %H:%M", time.localtime(mtime)))
    except OSError:
        pass
    return ", ".join(what) or ", ".join(found)


def _announce_replacement(prog: str, out: Path) -> bool:
    """Say on stderr, before the work, that ``out`` holds an earlier run which this run replaces."""
    earlier = _earlier_run(out)
    if earlier is not None:
        _say(f"{prog}: note: {out}{os.sep} holds an earlier run ({earlier}); this run replaces it once its files "
             "are written (a failure or Ctrl-C before then keeps it)", err=True)
    return earlier is not None


def _plot_modules() -> Any:
    try:
        from lrscope import plot
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise UsageError(str(exc)) from None
    try:
        plot._mpl()
    except ImportError as exc:
        raise UsageError(str(exc)) from None
    return plot


def _atomic_text(path: Path, text: str) -> None:
    from lrscope._io import atomic_write

    atomic_write(path, text)


def _say(*parts: Any, err: bool = False) -> None:
    print(*parts, file=sys.stderr if err else sys.stdout, flush=True)


def _width() -> int:
    return shutil.get_terminal_size((120, 24)).columns


def _print_suggestions(result: Any, *, methods: Sequence[str] | None = None, source: str = "auto") -> list[dict[str, Any]]:
    from lrscope.report import format_table, suggestion_rows

    rows = suggestion_rows(result, source=source, methods=methods)
    _say(format_table(rows, width=_width()))
    return rows


def _answer_line(rows: Sequence[dict[str, Any]]) -> str:
    best = next((r for r in rows if r.get("default") and r["found"]), None) or next((r for r in rows if r["found"]), None)
    if best is None:
        return "No rule found a learning rate in this curve (reasons above)."
    return f"Suggested learning rate: {best['nice']:g}  ({best['method']}: {format_lr(best['lr'])})"


def _bounds_line(result: Any) -> str:
    """The cyclical bounds from the loss curve (what ``lrscope schedule`` uses by default), and from
    the recorded metric when there is one (what the metric plot shades)."""
    from lrscope.report import bounds_rows

    lines = []
    for r in bounds_rows(result):
        head = (f"Bounds from the {r['curve']} curve (--bounds metric)" if r["source"] == "metric"
                else f"Bounds for cyclical schedules ({r['curve']} curve)")
        lines.append(f"{head}: " + (f"base_lr={format_lr(r['base_lr'])}, max_lr={format_lr(r['max_lr'])}" if r["found"]
                                    else f"none ({r['reason']})"))
    return "\n".join(lines) or "Bounds for cyclical schedules: none (fewer than 2 steps recorded)"


def _run_summary(result: Any) -> str:
    n = len(result)
    if n == 0:
        return f"range test: no steps recorded ({result.stop_reason})"
    from lrscope._format import stop_text

    return f"range test: {n} steps, lr {format_lr(result.lrs[0])} -> {format_lr(result.lrs[-1])} ({stop_text(result)})"


def _write_outputs(result: Any, out: Path, *, title: str, notes: Sequence[str] = ()) -> dict[str, Path]:
    """The JSON, the pictures and the HTML report into ``out``, as one set; returns what was written.

    Everything is rendered in memory first, then written into a new folder beside ``out`` that replaces
    it (:func:`_replace_folder`): a failure or Ctrl-C at any point leaves ``out`` as it was (an earlier
    run's files whole, never mixed with this run's), and no temporary folder behind.
    """
    plot = _plot_modules()
    from lrscope.report import html_report

    pngs: dict[str, tuple[str, bytes]] = {}  # file name -> (caption, bytes)

    fig, ax = plot.new_figure()
    plot.plot_result(result, ax=ax)
    pngs[LOSS_PNG] = ("Loss vs learning rate: raw (faint) and smoothed (bold), every rule's suggestion marked",
                      plot.to_png(fig, dpi=130))
    fig, ax = plot.new_figure(figsize=(7.5, 3.6))
    plot.plot_lr_steps(result, ax=ax)
    pngs[STEPS_PNG] = ("Learning rate vs step of the sweep", plot.to_png(fig, dpi=130))
    if result.metrics and len(result) >= 2:
        fig, ax = plot.new_figure()
        plot.plot_metric(result, ax=ax)
        pngs[METRIC_PNG] = ("Metric vs learning rate, the cyclical bounds shaded", plot.to_png(fig, dpi=130))
    files = {"result (JSON)": RESULT_JSON, **{caption.split(":")[0].split(",")[0]: name for name, (caption, _) in pngs.items()}}
    html = html_report(result, {caption: png for caption, png in pngs.values()}, title=title, notes=notes, files=files)

    def fill(folder: Path) -> list[str]:
        names = [result.save(folder / RESULT_JSON).name]
        for name, (_, png) in pngs.items():
            _atomic_bytes(folder / name, png)
            names.append(name)
        _atomic_text(folder / REPORT_HTML, html)
        return names + [REPORT_HTML]

    try:
        names = _replace_folder(out, fill, own=_OUT_FILES)
    except OSError as exc:
        raise UsageError(f"cannot write the outputs into {str(out)!r}: {exc.strerror or exc}") from None
    return {("result" if n == RESULT_JSON else "report" if n == REPORT_HTML else n): out / n for n in names}


_T = TypeVar("_T")


def _replace_folder(target: Path, fill: Callable[[Path], _T], *, own: Sequence[str]) -> _T:
    """Write a set of files as one: ``fill`` writes them into a new temporary folder beside ``target``
    (the same file system), which then takes ``target``'s place by two renames (the old folder aside,
    the new one in), and the old folder is deleted. Returns what ``fill`` returned.

    Entries of the old folder not named in ``own`` (files of the user's, ``lrscope schedule``'s
    pictures) are carried into the new folder first, as hard links where the file system allows, else
    as copies; the old folder's files named in ``own`` are not, so no file of an earlier run is left
    beside the new set. On any exception, Ctrl-C included, ``target`` is left as it was (a Ctrl-C
    during the renames is held back until they are done) and no temporary folder remains, nor any
    parent folder this call created.
    """
    real = Path(os.path.realpath(target))  # a symlinked --out: replace the folder it points to, keep the link
    made = _make_parents(real.parent)
    tmp: Path | None = None
    try:
        import tempfile

        tmp = Path(tempfile.mkdtemp(prefix=f".{real.name}.", suffix=".new", dir=real.parent))
        value = fill(tmp)
        if real.is_dir():
            _carry_over(real, tmp, skip=set(own))
            os.chmod(tmp, stat.S_IMODE(real.stat().st_mode))  # the old folder's permissions
        else:
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o777 & ~umask)  # mkdtemp's 0o700 -> what mkdir would give
        with _sigint_held():
            _swap(tmp, real)
        tmp = None
    except BaseException:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
        for folder in reversed(made):
            try:
                folder.rmdir()
            except OSError:
                break
        raise
    return value


def _make_parents(folder: Path) -> list[Path]:
    """``mkdir -p folder``; returns the folders it created, outermost first (to remove on a failure)."""
    missing = []
    p = folder
    while not p.exists():
        missing.append(p)
        p = p.parent
    made = []
    for p in reversed(missing):
        p.mkdir()
        made.append(p)
    return made


def _carry_over(old: Path, new: Path, *, skip: set[str]) -> None:
    """Hard-link (else copy) every entry of ``old`` except ``skip`` into ``new``; symlinks stay symlinks."""

    def link_or_copy(src: str, dst: str) -> None:
        try:
            os.link(src, dst, follow_symlinks=False)
        except OSError:
            shutil.copy2(src, dst, follow_symlinks=False)

    with os.scandir(old) as entries:
        for e in entries:
            if e.name in skip:
                continue
            dst = new / e.name
            if e.is_symlink():
                os.symlink(os.readlink(e.path), dst)
            elif e.is_dir():
                shutil.copytree(e.path, dst, symlinks=True, copy_function=link_or_copy)
            else:
                link_or_copy(e.path, str(dst))


def _swap(new: Path, target: Path) -> None:
    """Put folder ``new`` in ``target``'s place: the old one renamed aside, the new one in, the old one
    deleted. A failure between the renames puts the old folder back."""
    if not target.exists():
        os.rename(new, target)
        return
    import secrets

    aside = target.parent / f".{target.name}.{secrets.token_hex(4)}.old"
    os.rename(target, aside)
    try:
        os.rename(new, target)
    except BaseException:
        os.rename(aside, target)
        raise
    shutil.rmtree(aside, ignore_errors=True)


class _sigint_held:
    """Hold back Ctrl-C (SIGINT) for the few milliseconds of a folder swap, then raise it: an interrupt
    between the two renames would otherwise leave no folder under the target's name. A no-op outside
    the main thread or when SIGINT is not Python's default handler."""

    def __enter__(self) -> None:
        import signal
        import threading

        self._old: Any = None
        self._got = False
        if threading.current_thread() is threading.main_thread() and \
                signal.getsignal(signal.SIGINT) is signal.default_int_handler:
            self._old = signal.signal(signal.SIGINT, self._note)

    def _note(self, signum: int, frame: Any) -> None:
        self._got = True

    def __exit__(self, *exc: object) -> None:
        import signal

        if self._old is not None:
            signal.signal(signal.SIGINT, self._old)
            if self._got and exc[0] is None:
                raise KeyboardInterrupt


def _atomic_bytes(path: Path, data: bytes) -> None:
    from lrscope._io import atomic_write

    atomic_write(path, data)


def _print_written(out: Path, written: dict[str, Path], *, replaced: bool = False) -> None:
    _say(f"Wrote {out}{os.sep}: " + ", ".join(p.name for p in written.values())
         + (" (they replace the earlier run there)" if replaced else ""))


def _print_notes(result: Any, *, skip: Sequence[str] = ()) -> None:
    """The result's notes (e.g. "train_data was cycled ..."), in the terminal as in the report."""
    for note in result.notes:
        if note not in skip:
            _say(f"note: {note}")


def _torch_device(name: str | None) -> Any:
    if name is None:
        return None
    import torch

    try:
        dev = torch.device(name)
    except (RuntimeError, ValueError) as exc:
        raise UsageError(f"--device {name!r} is not a torch device ({exc})") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise UsageError(f"--device {name!r}: CUDA is not available on this machine (torch {torch.__version__})")
    if dev.type == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise UsageError(f"--device {name!r}: MPS is not available on this machine")
    return dev


def _keras_range_test(task: Any, *, start_lr: float, end_lr: float, num_steps: int, mode: str, val: bool,
                      metric: Any, progress: bool, diverge_threshold: float | None) -> Any:
    """Run the Keras engine (:func:`lrscope.keras.range_test`) on a :class:`~lrscope.cli.KerasTask`."""
    try:
        from lrscope.keras import range_test
    except ImportError as exc:
        raise UsageError(f"the factory returned a Keras model, but lrscope.keras cannot load: {exc}") from None
    if metric is not None and not isinstance(metric, str):
        raise UsageError("--metric for a Keras model is the name of a metric it was compiled with (e.g. accuracy)")
    kwargs: dict[str, Any] = dict(start_lr=start_lr, end_lr=end_lr, num_steps=num_steps, mode=mode,
                                  batch_size=task.batch_size, metric=metric, progress=None if progress else False)
    if diverge_threshold is not None:
        kwargs["diverge_threshold"] = diverge_threshold
    if val:
        kwargs["validation_data"] = task.validation_data
        if metric is not None:
            kwargs["metric_on"] = "val"
    try:
        return range_test(task.model, task.x, task.y, **kwargs)
    except ValueError as exc:
        raise UsageError(f"{exc}") from exc
    except Exception as exc:  # the user's model or data raised (the model's state is restored)
        raise RunError(f"the range test failed: {type(exc).__name__}: {exc}") from exc


def _range_test(task: Any, *, start_lr: float, end_lr: float, num_steps: int, mode: str, val: bool,
                metric: Any, device: Any, progress: bool, diverge_threshold: float | None,
                val_batches: int | None = None) -> Any:
    """Run the torch engine (:func:`lrscope.torch.range_test`) on a :class:`~lrscope.cli.Task`.

    ``val``: evaluate the validation batches after every step (the suggestions then read the validation
    loss, and the metric is measured there); otherwise the metric, if any, is measured on the training batches.
    """
    if hasattr(task, "steps_per_epoch"):  # a KerasTask
        return _keras_range_test(task, start_lr=start_lr, end_lr=end_lr, num_steps=num_steps, mode=mode, val=val,
                                 metric=metric, progress=progress, diverge_threshold=diverge_threshold)
    try:
        from lrscope.torch import range_test
    except ImportError as exc:
        raise UsageError(f"the range test needs torch: pip install 'lrscope[cli]' ({exc})") from None
    kwargs: dict[str, Any] = dict(start_lr=start_lr, end_lr=end_lr, num_steps=num_steps, mode=mode,
                                  progress=None if progress else False)
    if device is not None:
        kwargs["device"] = device
    if diverge_threshold is not None:
        kwargs["diverge_threshold"] = diverge_threshold
    if val:
        kwargs["val_data"] = task.val_batches
        if val_batches is not None:
            kwargs["val_batches"] = val_batches
    if metric is not None:
        kwargs["metric"] = metric
        kwargs["metric_on"] = "val" if val else "train"
    try:
        return range_test(task.model, task.optimizer, task.train_batches, task.loss_fn, **kwargs)
    except ValueError as exc:
        raise UsageError(f"{exc}") from exc
    except Exception as exc:  # the user's model, loss or data raised (their state is restored)
        raise RunError(f"the range test failed: {type(exc).__name__}: {exc}") from exc


def _set_threads(n: int | None) -> int:
    """Set torch's CPU threads: ``n``, else the idle cores (CPU count minus the load average), 1 to 4.

    Small models gain little from more threads, and oversubscribed cores make OpenMP threads wait on
    each other (10x slower steps on a busy 2-core machine), so the default never asks for busy cores.
    """
    import torch

    if n is None:
        cpus = os.cpu_count() or 1
        try:
            load = os.getloadavg()[0]
        except (AttributeError, OSError):  # Windows
            load = 0.0
        n = max(1, min(4, cpus - int(round(load))))
    torch.set_num_threads(n)
    return n


# ------------------------------------------------------------------------------------- commands


def cmd_demo(args: argparse.Namespace) -> int:
    if args.end_lr <= args.start_lr:
        raise UsageError(f"--end-lr must be greater than --start-lr. Received: --start-lr {args.start_lr:g}, "
                         f"--end-lr {args.end_lr:g}")
    out = _check_out_dir(args.out)
    _plot_modules()
    try:
        import torch  # noqa: F401
    except ImportError:
        raise UsageError("the demo needs torch: pip install 'lrscope[cli]'") from None
    from lrscope.datasets import DatasetNotFoundError
    from lrscope.demo import build_task

    steps = args.steps if args.steps is not None else (60 if args.quick else 150)
    _set_threads(args.threads)
    t0 = time.perf_counter()
    try:
        demo = build_task(batch_size=args.batch_size, train_size=steps * args.batch_size,
                          seed=args.seed, dataset=args.dataset, start_lr=args.start_lr)
    except DatasetNotFoundError as exc:
        raise UsageError(str(exc)) from None
    if not demo.task.train_batches or not demo.task.val_batches:
        raise UsageError(f"--batch-size {args.batch_size} is larger than the demo's data set ({demo.description}); "
                         "choose a smaller one")
    for note in demo.notes:
        _say(f"note: {note}", err=True)
    replaces = _announce_replacement("lrscope demo", out)
    _say(f"lrscope demo: {demo.description}")
    _say(f"sweeping lr {args.start_lr:g} -> {args.end_lr:g} over {steps} steps (exp)...")
    result = _range_test(demo.task, start_lr=args.start_lr, end_lr=args.end_lr, num_steps=steps, mode="exp",
                         val=True, metric=demo.task.metric, device=None, progress=not args.no_progress,
                         diverge_threshold=None, val_batches=len(cast(Sized, demo.task.val_batches)))
    elapsed = time.perf_counter() - t0
    result.config.update({"task": f"lrscope demo ({demo.dataset})", "data": demo.description,
                          "steps_per_epoch": demo.steps_per_epoch, "elapsed_s": round(elapsed, 2)})
    result.notes.extend(n for n in demo.notes if n not in result.notes)
    _say(_run_summary(result))
    _print_notes(result, skip=demo.notes)  # the demo's own notes are on stderr already
    _say("")
    rows = _print_suggestions(result)
    _say("")
    _say(_answer_line(rows))
    _say(_bounds_line(result))
    written = _write_outputs(result, out, title=f"lrscope demo: {demo.dataset}", notes=demo.notes)
    _print_written(out, written, replaced=replaces)
    _say(f"({elapsed:.1f} s for the range test; open {out / REPORT_HTML} for the report)")
    return EXIT_OK


def cmd_find(args: argparse.Namespace) -> int:
    from lrscope.cli._distributed import launched_world_size, run_on_every_rank
    from lrscope.cli._spec import SpecError, load_task

    if launched_world_size() > 1 and not hasattr(args, "distributed_rank"):  # torchrun -m lrscope find
        return run_on_every_rank(cmd_find, args)
    if args.end_lr <= args.start_lr:
        raise UsageError(f"--end-lr must be greater than --start-lr. Received: --start-lr {args.start_lr:g}, "
                         f"--end-lr {args.end_lr:g}")
    out = _check_out_dir(args.out)
    _plot_modules()
    if args.threads:
        _set_threads(args.threads)
    try:
        task, where = load_task(args.spec)
    except SpecError as exc:
        raise UsageError(str(exc)) from None
    keras_task = hasattr(task, "steps_per_epoch")
    if keras_task and (args.device is not None or args.verify):
        raise UsageError("--device and --verify are for PyTorch factories; the factory returned a Keras model "
                         "(place it with the backend's own device settings)")
    if not keras_task:
        try:
            import torch  # noqa: F401
        except ImportError:
            raise UsageError("lrscope find needs torch: pip install 'lrscope[cli]'") from None
    device = None if keras_task else _torch_device(args.device)
    if device is not None:
        try:  # module.to keeps the Parameter objects, so the factory's optimizer still holds them
            task.model.to(device)
        except (RuntimeError, ValueError) as exc:
            raise UsageError(f"--device {args.device!r}: cannot move the model there ({exc})") from None
    metric = task.metric if args.metric is None else args.metric
    if args.val_loss and task.val_batches is None:
        raise UsageError(f"--val-loss needs validation batches, but the factory {where}() returned val_batches=None")
    replaces = _announce_replacement("lrscope find", out)
    _say(f"lrscope find: {where}: sweeping lr {args.start_lr:g} -> {args.end_lr:g} over {args.num_steps} "
         f"steps ({args.mode})" + (", validation loss each step" if args.val_loss else ""))
    t0 = time.perf_counter()
    result = _range_test(task, start_lr=args.start_lr, end_lr=args.end_lr, num_steps=args.num_steps, mode=args.mode,
                         val=args.val_loss, metric=metric, device=device, progress=not args.no_progress,
                         diverge_threshold=args.diverge_threshold)
    result.config.setdefault("task", where)
    try:  # for `lrscope schedule --from`: an epoch is one pass over the factory's batches
        spe = task.steps_per_epoch() if keras_task else len(cast(Sized, task.train_batches))  # type: ignore[attr-defined]
        if spe is not None:
            result.config.setdefault("steps_per_epoch", spe)
    except TypeError:
        pass  # a generator: the user passes --steps-per-epoch
    result.config["elapsed_s"] = round(time.perf_counter() - t0, 2)
    _say(_run_summary(result))
    _print_notes(result)
    _say("")
    rows = _print_suggestions(result)
    _say("")
    _say(_answer_line(rows))
    _say(_bounds_line(result))
    verified = _verify(task, result, args.verify, device) if args.verify else True
    if getattr(args, "distributed_rank", 0) != 0:
        return EXIT_OK if verified else EXIT_FAILED  # under torchrun only rank 0 writes the files
    written = _write_outputs(result, out, title=f"lrscope find: {where}")
    _print_written(out, written, replaced=replaces)
    return EXIT_OK if verified else EXIT_FAILED


def _verify(task: Any, result: Any, total_steps: int, device: Any) -> bool:
    """``find --verify``: train briefly around the range test's reading (``verify_suggestion``), print
    the verified LR and keep it in ``result.config["verified"]``. False when the user's code raised
    during the trials (the range test's files are still written; the exit code is then 1)."""
    from lrscope.torch.verify import verify_suggestion

    trial_steps = max(3, total_steps // 10)
    if iter(task.train_batches) is task.train_batches:  # a generator: the range test used it up
        msg = ("--verify needs train_batches it can iterate again (a list or a DataLoader); the factory returned a "
               "one-shot iterator, which the range test has consumed")
        _say("")
        _say(f"Not verified: {msg}")
        result.config["verified"] = {"lr": None, "reason": msg}
        return True
    kwargs: dict[str, Any] = {"loss_fn": task.loss_fn}
    if device is not None:  # the model was moved; the batches go where it is, as in the range test
        from lrscope.torch.batches import to_device as _to_device

        def step_fn(model: Any, batch: Any) -> Any:
            x, y = _to_device(batch[0], device), _to_device(batch[1], device)
            return task.loss_fn(model(x), y)

        kwargs = {"step_fn": step_fn}
    _say("")
    _say(f"Verifying: trials of {trial_steps} steps ({total_steps} / 10) around the curve's reading, "
         "the model and optimizer restored after each")
    try:
        v = verify_suggestion(task.model, task.optimizer, task.train_batches, center=result, trial_steps=trial_steps,
                              total_steps=total_steps, **kwargs)
    except ValueError as exc:  # the curve says nothing to verify: say so, keep the range test
        _say(f"Not verified: {exc}")
        result.config["verified"] = {"lr": None, "reason": str(exc)}
        return True
    except Exception as exc:  # the user's code raised in a trial (their state is restored)
        msg = f"the verification failed: {type(exc).__name__}: {exc}"
        _say(f"lrscope find: error: {msg}", err=True)
        result.config["verified"] = {"lr": None, "reason": msg}
        return False
    tried = ", ".join(f"{format_lr(lr)}: {'diverged' if sc is None else f'{sc:.4g}'}"
                      for lr, sc in zip(v.details["candidates"], v.details["scores"]))
    _say(f"Trial losses (lr: loss) {tried}")
    _say(f"Verified learning rate: {v.nice:g} ({format_lr(v.lr) if v.lr is not None else 'none'}; confidence {v.confidence}; "
         f"{v.details['steps']} steps, {v.details['seconds']:.2f} s)")
    _say(f"  why: {v.reason}")
    result.config["verified"] = {
        "lr": v.lr, "nice": v.nice, "interval": list(v.interval) if v.interval else None, "confidence": v.confidence,
        "reason": v.reason, "candidates": v.details["candidates"], "scores": v.details["scores"],
        "trial_steps": trial_steps, "total_steps": total_steps, "steps": v.details["steps"],
        "seconds": round(v.details["seconds"], 2), "shrink": v.details["shrink"],
    }
    return True


def cmd_plot(args: argparse.Namespace) -> int:
    if args.label and len(args.label) != len(args.runs):
        raise UsageError(f"give one --label per run: {len(args.label)} label(s) for {len(args.runs)} run(s)")
    output = args.output or (str(Path(args.runs[0]).with_suffix("")) + ("_metric" if args.metric else "") + ".png"
                             if len(args.runs) == 1 else "lrscope-runs.png")
    _check_image_path(output)
    _check_methods([args.method] if args.method else None)
    plot = _plot_modules()
    results = [_load(p) for p in args.runs]
    labels = args.label or [Path(p).stem if Path(p).stem != Path(RESULT_JSON).stem else Path(p).parent.name or Path(p).stem
                            for p in args.runs]
    if len(set(labels)) < len(labels):  # same stem in different folders: use the paths
        labels = [str(Path(p).with_suffix("")) for p in args.runs]
    for p, r in zip(args.runs, results):
        if len(r) < 2:
            raise UsageError(f"{p}: the run has {len(r)} step(s); at least 2 are needed to plot")
    if args.source == "val_loss" and not args.metric:
        for p, r in zip(args.runs, results):
            if r.loss_source() != "val_loss":  # fewer than 2 validation points recorded
                raise UsageError(f"{p}: --source val_loss, but this run recorded no validation loss "
                                 "(run `lrscope find ... --val-loss`, or use --source loss)")
    fig, ax = plot.new_figure()
    if args.metric:
        name = None if args.metric is True else args.metric
        for p, r in zip(args.runs, results):
            if not r.metrics:
                raise UsageError(f"{p}: this run recorded no metric (run `lrscope find ... --metric accuracy`)")
            if name is not None and name not in r.metrics:
                raise UsageError(f"{p}: no metric {name!r}; it recorded {', '.join(sorted(r.metrics))}")
        if len(results) == 1:
            plot.plot_metric(results[0], name, ax=ax)
        else:  # each run's metric bounds shaded in its colour
            plot.plot_metric_runs(results, labels, name, ax=ax)
    elif len(results) == 1:
        plot.plot_result(results[0], ax=ax, source=args.source, methods=[args.method] if args.method else None)
    else:
        plot.plot_runs(results, labels, ax=ax, source=args.source, method=args.method)
    try:
        plot.save_figure(fig, output, dpi=args.dpi)
    except OSError as exc:
        raise UsageError(f"cannot write {output}: {exc.strerror or exc}") from None
    _say(f"Wrote {output}")
    return EXIT_OK


def cmd_suggest(args: argparse.Namespace) -> int:
    _check_methods(args.method, extra=("reader",))
    settings = {k: getattr(args, k) for k in ("budget", "schedule", "optimizer", "batch_size")}
    settings = {k: v for k, v in settings.items() if v is not None}
    default = _rules().DEFAULT_METHOD
    other = [m for m in (args.method or ()) if m not in (default, "reader")]
    if settings and other:
        flags = ", ".join("--" + k.replace("_", "-") for k in settings)
        raise UsageError(f"{flags}: the run's settings are read by the learned reader only (--method reader, or the "
                         f"default rule); not by --method {', '.join(other)}")
    if "optimizer" in settings:
        from lrscope.analysis.reader import normalise_optimizer

        try:
            normalise_optimizer(settings["optimizer"])
        except ValueError as exc:
            raise UsageError(f"--optimizer: {exc}") from None
    result = _load(args.run)
    from lrscope.report import suggestion_rows

    try:
        rows = suggestion_rows(result, source=args.source, methods=args.method or None, settings=settings)
    except ValueError as exc:
        raise UsageError(f"{args.run}: {exc}") from None
    if args.json:
        try:
            b = result.bounds(result.loss_source(args.source))
            bounds = b.to_dict()
        except ValueError as exc:
            bounds = {"method": "loss", "base_lr": None, "max_lr": None, "reason": str(exc)}
        payload = {"file": args.run, "default_method": _rules().DEFAULT_METHOD, "suggestions": rows, "bounds": bounds,
                   "stop_reason": result.stop_reason, "steps": len(result),
                   "non_finite": {k: n for k, (n, _) in _non_finite(result).items()},
                   "verified": result.config.get("verified")}
        _say(json.dumps(payload, indent=2, default=_json_default))
        return EXIT_OK
    from lrscope.report import format_table

    _say(f"{args.run}: {_run_summary(result)}")
    for curve, (n, of) in _non_finite(result).items():
        what = "loss points" if curve == "loss" else "validation losses evaluated"
        _say(f"note: {n} of {of} {what} are non-finite ({'NaN or inf' if curve == 'loss' else 'inf'})")
    _say("")
    _say(format_table(rows, width=_width()))
    _say("")
    _say(_answer_line(rows))
    _say(_bounds_line(result))
    from lrscope.report import verified_line

    line = verified_line(result)
    if line:
        _say(line)
    return EXIT_OK


def _non_finite(result: Any) -> dict[str, tuple[int, int]]:
    """``{curve: (non-finite points, points)}`` for the loss curves of a run that hold NaN/inf: the
    training loss, and the validation loss where evaluated (NaN there means "not evaluated")."""
    import numpy as np

    found: dict[str, tuple[int, int]] = {}
    losses = np.asarray(result.losses, dtype=float)
    n = int(np.count_nonzero(~np.isfinite(losses)))
    if n:
        found["loss"] = (n, losses.size)
    if result.val_losses is not None:
        val = np.asarray(result.val_losses, dtype=float)
        evaluated = val[~np.isnan(val)]
        n = int(np.count_nonzero(np.isinf(evaluated)))
        if n:
            found["val_loss"] = (n, evaluated.size)
    return found


def _json_default(o: Any) -> Any:
    if hasattr(o, "tolist"):
        return o.tolist()
    if hasattr(o, "item"):
        return o.item()
    return str(o)


_CYCLIC = ("triangular", "triangular2", "exp_range", "welch", "hann")


def _schedule_kinds() -> tuple[str, ...]:
    from lrscope.schedules.factory import ScheduleKind

    return tuple(ScheduleKind.__args__)  # type: ignore[attr-defined]


def cmd_schedule(args: argparse.Namespace) -> int:
    output = args.output or str(Path(DEFAULT_OUT) / f"schedule_{args.kind}.png")
    _check_image_path(output)
    json_out = Path(output).with_suffix(".json")
    for target in (Path(output), json_out if args.json else None):
        if target is not None and target.resolve() == Path(args.from_).resolve():
            raise UsageError(f"{target} is the --from run itself; choose another --output so it is not overwritten")
    result = _load(args.from_)
    spe = args.steps_per_epoch or result.config.get("steps_per_epoch")
    if not isinstance(spe, int) or isinstance(spe, bool) or spe < 1:
        raise UsageError(f"--steps-per-epoch is required: {args.from_} does not record how many steps an epoch has")
    total = args.epochs * spe
    if total > MAX_SCHEDULE_STEPS:
        raise UsageError(f"--epochs {args.epochs} x {spe} steps per epoch = {total} steps; at most "
                         f"{MAX_SCHEDULE_STEPS} can be planned here")
    if args.base_lr is not None and args.max_lr is not None:
        base, peak = args.base_lr, args.max_lr
        why = "given on the command line"
    else:
        try:
            b = result.bounds(result.loss_source() if args.bounds == "auto" else args.bounds)
        except ValueError as exc:
            raise UsageError(f"{args.from_}: {exc}") from None
        if not b.found:
            raise UsageError(f"{args.from_} gives no {args.bounds} bounds for a schedule: {b.reason} "
                             "(pass --base-lr and --max-lr to choose them yourself)")
        base = args.base_lr if args.base_lr is not None else b.base_lr
        peak = args.max_lr if args.max_lr is not None else b.max_lr
        why = f"{b.method} bounds of {args.from_}: {b.reason}"
    if base >= peak:
        raise UsageError(f"base_lr must be below max_lr. Received: base_lr={base:.3g}, max_lr={peak:.3g}")
    kw: dict[str, Any] = {}
    kind = args.kind
    if kind in _CYCLIC:
        kw["step_size_up"] = args.step_size_up or 2 * spe
        if args.step_size_down is not None:
            kw["step_size_down"] = args.step_size_down
        if args.gamma is not None:
            kw["gamma"] = args.gamma
    elif kind == "one_cycle":
        kw["total_steps"] = total
        for k in ("pct_start", "div_factor", "final_div_factor"):
            if getattr(args, k) is not None:
                kw[k] = getattr(args, k)
    elif kind == "cosine":
        kw["T_max"] = total
    elif kind == "sgdr":
        kw["T_0"] = args.t0 or spe
        if args.t_mult is not None:
            kw["T_mult"] = args.t_mult
    elif kind == "exponential_decay":
        kw["gamma"] = args.gamma if args.gamma is not None else 0.9
        kw["steps_per_epoch"] = spe
    elif kind == "step_decay":
        kw["step_size"] = args.step_size_up or 3 * spe
        if args.gamma is not None:
            kw["gamma"] = args.gamma
    from lrscope.schedules import from_bounds

    try:
        schedule = from_bounds(kind, base_lr=base, max_lr=peak, **kw)
    except (ValueError, TypeError) as exc:
        raise UsageError(f"{kind}: {exc}") from None
    import numpy as np

    steps, lrs = schedule.preview(total)
    _say(f"{kind} schedule, lr {format_lr(base)} .. {format_lr(peak)} ({why})")
    _say(f"{args.epochs} epochs x {spe} steps = {total} steps; {schedule!r}")
    every = args.every or max(1, spe if total // spe <= 30 else total // 20)
    _say("")
    _say(f"{'step':>8}  {'epoch':>7}  lr")
    for s in list(range(0, total, every)) + ([total - 1] if (total - 1) % every else []):
        _say(f"{s:>8}  {s / spe:>7.2f}  {lrs[s]:.4g}")
    _say(f"min {float(np.min(lrs)):.4g}, max {float(np.max(lrs)):.4g}")
    plot = _plot_modules()
    fig, ax = plot.new_figure(figsize=(7.5, 3.8))
    plot.plot_schedule(schedule, total, ax=ax, steps_per_epoch=spe, label=kind, log_y=args.log)
    for y, name in ((base, "base_lr"), (peak, "max_lr")):
        ax.axhline(y, color="0.5", lw=0.8, ls=":")
        ax.annotate(f"{name} {format_lr(y)}", xy=(1.0, y), xycoords=ax.get_yaxis_transform(), ha="right",
                    va="bottom", fontsize=8, color="0.3")
    try:
        plot.save_figure(fig, output, dpi=args.dpi)
    except OSError as exc:
        raise UsageError(f"cannot write {output}: {exc.strerror or exc}") from None
    if args.json:
        _atomic_text(json_out, json.dumps({"kind": kind, "base_lr": base, "max_lr": peak, "steps_per_epoch": spe,
                                           "epochs": args.epochs, "lrs": [float(v) for v in lrs]}, indent=1))
    _say(f"Wrote {output}" + (f" and {json_out}" if args.json else ""))
    return EXIT_OK


# ------------------------------------------------------------------------------------- parser


EPILOG = """\
examples:
  lrscope demo                                   range test on the built-in task, files in lrscope-out/
  lrscope find examples/digits_mlp.py:make       range test on your own model (see examples/)
  lrscope suggest lrscope-out/range_test.json    the suggestions again, --json for machines
  lrscope plot a.json b.json -o both.png         several runs on one figure
  lrscope schedule triangular2 --from lrscope-out/range_test.json --epochs 10
"""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``lrscope`` command (exposed for docs and tests)."""
    p = _Parser(prog=PROG, description="Learning-rate range tests you can trust, and the schedules that train with them.",
                epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--version", action="version", version=f"lrscope {__version__}")
    p.add_argument("--traceback", action="store_true", help="show Python tracebacks of errors (for bug reports)")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    def common_out(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("-o", "--out", default=DEFAULT_OUT, metavar="DIR",
                        help=f"folder for the result JSON, the plots and report.html (default: {DEFAULT_OUT}/); "
                        "an earlier run's files there are replaced as one set, other files kept")
        sp.add_argument("--no-progress", action="store_true", help="no progress bar (it is off anyway when stderr "
                        "is not a terminal or CI is set)")

    # demo
    d = sub.add_parser("demo", help="range test on the built-in task (Fashion-MNIST CNN, or digits)",
                       description="Run an LR range test on the embedded default task: a small CNN with SGD + Nesterov "
                       "momentum on Fashion-MNIST (local IDX files; `apt-get install dataset-fashion-mnist` or "
                       "LRSCOPE_FASHION_MNIST=<folder>), or on scikit-learn's digits when those files are absent. "
                       "Prints every rule's suggestion and writes the result JSON, the plots and an HTML report.")
    common_out(d)
    d.add_argument("--steps", type=_int_at_least(10), default=None, help="sweep steps (default 150; 60 with --quick)")
    d.add_argument("--quick", action="store_true", help="a shorter sweep on less data (for smoke tests)")
    d.add_argument("--dataset", choices=("auto", "fashion-mnist", "digits"), default="auto",
                   help="auto: Fashion-MNIST when installed, else digits (default)")
    d.add_argument("--batch-size", type=_int_at_least(1), default=128, help="batch size (default 128)")
    d.add_argument("--start-lr", type=_positive_float, default=1e-5, help="first LR of the sweep (default 1e-5)")
    d.add_argument("--end-lr", type=_positive_float, default=10.0, help="last LR of the sweep (default 10)")
    d.add_argument("--threads", type=_int_at_least(1), default=None,
                   help="torch CPU threads (default: the idle cores, 1 to 4)")
    d.add_argument("--seed", type=int, default=0, help="seed of the model and the batch order (default 0)")
    d.set_defaults(func=cmd_demo)

    # find
    f = sub.add_parser("find", help="range test on your own model: SPEC = file.py:factory or module:factory",
                       formatter_class=argparse.RawDescriptionHelpFormatter,
                       description="Run an LR range test on your own training setup.\n\n"
                       "SPEC names a factory, `path/to/file.py:factory` or `package.module:factory`, called with no\n"
                       "arguments. It returns lrscope.cli.Task(model, optimizer, loss_fn, train_batches,\n"
                       "val_batches=None, metric=None), or a plain tuple in that order (4 to 6 items), or a dict\n"
                       "with those keys (the first four required):\n"
                       "  model          torch.nn.Module (its weights and the optimizer state are restored after)\n"
                       "  optimizer      torch.optim.Optimizer over the model's parameters\n"
                       "  loss_fn        loss_fn(outputs, targets) -> scalar tensor\n"
                       "  train_batches  iterable of (inputs, targets), e.g. a DataLoader (cycled when short)\n"
                       "  val_batches    optional iterable of (inputs, targets) for --val-loss and --metric\n"
                       "  metric         optional metric(outputs, targets) -> float (higher is better) or 'accuracy'\n"
                       "See examples/digits_mlp.py for a complete factory.",
                       epilog="example:\n  lrscope find examples/digits_mlp.py:make --num-steps 100 --metric accuracy")
    f.add_argument("spec", metavar="SPEC", help="path/to/file.py:factory or package.module:factory")
    common_out(f)
    f.add_argument("--start-lr", type=_positive_float, default=1e-7, help="first LR of the sweep (default 1e-7)")
    f.add_argument("--end-lr", type=_positive_float, default=10.0, help="last LR of the sweep (default 10)")
    f.add_argument("--num-steps", type=_int_at_least(2), default=100, help="steps of the sweep (default 100)")
    f.add_argument("--mode", choices=("exp", "linear"), default="exp", help="LR spacing (default exp)")
    f.add_argument("--val-loss", action="store_true", help="read the validation loss (on val_batches) at each step "
                   "instead of the training loss (slower, less noisy; Smith 2017)")
    f.add_argument("--metric", nargs="?", const="accuracy", choices=("accuracy",), default=None,
                   help="record accuracy at each step (on val_batches with --val-loss, else on the training batch); "
                   "a metric the factory returns is recorded without this flag")
    f.add_argument("--device", default=None, help="torch device, e.g. cpu, cuda, cuda:1, mps (default: the model's)")
    f.add_argument("--diverge-threshold", type=_greater_than_one, default=None,
                   help="stop when the smoothed loss exceeds this multiple of the best (default 4)")
    f.add_argument("--threads", type=_int_at_least(1), default=None, help="torch CPU threads")
    f.add_argument("--verify", type=_int_at_least(30), default=None, metavar="TOTAL_STEPS",
                   help="then check the suggestion by training: 3-4 trials of TOTAL_STEPS/10 steps around it, "
                   "from the same start (TOTAL_STEPS = the optimizer steps of your training run; about 0.4 of "
                   "its cost). Prints the verified LR and keeps it in range_test.json's config")
    f.set_defaults(func=cmd_find)

    # plot
    pl = sub.add_parser("plot", help="loss (or --metric) vs LR of one or several runs",
                        description="Plot loss vs learning rate of one or several saved runs on one figure, "
                        "suggestions annotated; --metric plots a recorded metric with the chosen bounds shaded.")
    pl.add_argument("runs", nargs="+", metavar="RUN.json", help="result files written by demo/find or result.save()")
    pl.add_argument("-o", "--output", default=None, metavar="FILE",
                    help="image file; .png .jpg .svg or .pdf (default: RUN.png, or lrscope-runs.png for several runs)")
    pl.add_argument("--label", action="append", default=None, help="legend label, once per run (default: file names)")
    pl.add_argument("--metric", nargs="?", const=True, default=None, metavar="NAME",
                    help="plot a recorded metric (default: accuracy, or the only one) instead of the loss")
    pl.add_argument("--source", choices=("auto", "loss", "val_loss"), default="auto",
                    help="which loss curve (default auto: validation loss when recorded every step)")
    pl.add_argument("--method", default=None, help="mark only this rule's suggestion (default: every rule, or the "
                    "default rule when comparing runs)")
    pl.add_argument("--dpi", type=_int_between(20, MAX_DPI, " dots per inch"), default=130,
                    help=f"resolution of PNG/JPG (default 130, at most {MAX_DPI})")
    pl.set_defaults(func=cmd_plot)

    # suggest
    sg = sub.add_parser("suggest", help="the suggestions of a saved run, as a table or JSON",
                        description="Print every suggestion rule's learning rate and reason for a saved run.")
    sg.add_argument("run", metavar="RUN.json")
    sg.add_argument("--method", action="append", default=None, help="only this rule (repeatable)")
    sg.add_argument("--source", choices=("auto", "loss", "val_loss"), default="auto", help="which loss curve")
    sg.add_argument("--json", action="store_true", help="print JSON instead of a table")
    rs = sg.add_argument_group(
        "the run's settings", "read by the learned reader (--method reader), an experimental rule that did not pass "
        "its held-out stop rule (docs/population.md): the default rule's answer does not change with them, and says so. "
        "The optimizer and batch size recorded in the run are used when not given.")
    rs.add_argument("--budget", type=_int_at_least(1), default=None, metavar="STEPS", help="planned training steps")
    rs.add_argument("--schedule", choices=("constant", "one_cycle", "cosine_warmup"), default=None,
                    help="the schedule you will train with")
    rs.add_argument("--optimizer", default=None, metavar="NAME", help="sgd, sgd_momentum, sgd_nesterov, adam, adamw, "
                    "rmsprop, adagrad (or a torch/Keras class name)")
    rs.add_argument("--batch-size", type=_int_at_least(1), default=None, metavar="N", help="the training batch size")
    sg.set_defaults(func=cmd_suggest)

    # schedule
    try:
        kinds = _schedule_kinds()
    except ImportError:  # pragma: no cover - schedules not installed
        kinds = _CYCLIC
    sc = sub.add_parser("schedule", help="print and plot the schedule a run's bounds give",
                        description="Build a schedule between a run's (base_lr, max_lr) bounds, print LR vs step and "
                        "plot it. Cyclical kinds default to step_size_up = 2 epochs (Smith 2017).",
                        epilog="example:\n  lrscope schedule triangular2 --from lrscope-out/range_test.json --epochs 10",
                        formatter_class=argparse.RawDescriptionHelpFormatter)
    sc.add_argument("kind", choices=kinds, metavar="KIND", help=f"one of: {', '.join(kinds)}")
    sc.add_argument("--from", dest="from_", required=True, metavar="RUN.json", help="the range-test result")
    sc.add_argument("--epochs", type=_int_at_least(1), default=10, help="epochs to plan (default 10)")
    sc.add_argument("--steps-per-epoch", type=_int_at_least(1), default=None,
                    help="optimizer steps per epoch (default: recorded in the run, e.g. by the demo)")
    sc.add_argument("--bounds", choices=("auto", "loss", "val_loss", "metric"), default="auto",
                    help="which curve gives the bounds (default auto: the loss curve the suggestions read)")
    sc.add_argument("--base-lr", type=_positive_float, default=None, help="override the lower bound")
    sc.add_argument("--max-lr", type=_positive_float, default=None, help="override the upper bound")
    sc.add_argument("--step-size-up", type=_int_at_least(1), default=None,
                    help="steps of the rising half-cycle (cyclical; default 2 epochs); step_size for step_decay")
    sc.add_argument("--step-size-down", type=_int_at_least(1), default=None, help="steps of the falling half-cycle")
    sc.add_argument("--gamma", type=_positive_float, default=None, help="exp_range / decay factor")
    sc.add_argument("--pct-start", type=_fraction, default=None, help="one_cycle: fraction of steps rising")
    sc.add_argument("--div-factor", type=_positive_float, default=None, help="one_cycle: max_lr / initial lr")
    sc.add_argument("--final-div-factor", type=_positive_float, default=None, help="one_cycle: initial lr / final lr")
    sc.add_argument("--t0", type=_int_at_least(1), default=None, help="sgdr: steps of the first period (default 1 epoch)")
    sc.add_argument("--t-mult", type=_int_at_least(1), default=None, help="sgdr: period growth factor")
    sc.add_argument("--every", type=_int_at_least(1), default=None, help="print every N-th step (default: each epoch)")
    sc.add_argument("--log", action="store_true", help="log LR axis")
    sc.add_argument("-o", "--output", default=None, metavar="FILE",
                    help=f"image file .png .jpg .svg .pdf (default {DEFAULT_OUT}/schedule_KIND.png)")
    sc.add_argument("--json", action="store_true", help="also write the LRs as JSON next to the image")
    sc.add_argument("--dpi", type=_int_between(20, MAX_DPI, " dots per inch"), default=130,
                    help=f"resolution of PNG/JPG (default 130, at most {MAX_DPI})")
    sc.set_defaults(func=cmd_schedule)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``lrscope`` command; returns the exit code (0 ok, 1 failed, 2 bad input, 130 interrupted).

    Args:
        argv: the arguments without the program name (default: ``sys.argv[1:]``).
    """
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        args = parser.parse_args(argv)
    except _ArgError as exc:
        exc.parser.print_usage(sys.stderr)
        _say(f"{exc.parser.prog}: error: {exc}", err=True)
        return EXIT_USAGE
    except SystemExit as exc:  # --help, --version
        return int(exc.code or 0)
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    prog = f"{PROG} {args.command}"
    try:
        return int(args.func(args))
    except UsageError as exc:
        if args.traceback:
            raise
        _say(f"{prog}: error: {exc}", err=True)
        return EXIT_USAGE
    except RunError as exc:
        if args.traceback:
            raise
        _say(f"{prog}: error: {exc} (rerun with --traceback for the details)", err=True)
        return EXIT_FAILED
    except KeyboardInterrupt:
        _say(f"{prog}: interrupted", err=True)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # `lrscope suggest x.json | head`
        return EXIT_OK
