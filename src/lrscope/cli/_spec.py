"""Load the factory named by a ``lrscope find`` SPEC and call it."""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import os
import sys
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from lrscope.cli._task import Task, TaskShapeError, as_task

__all__ = ["SpecError", "load_factory", "load_task"]

SPEC_FORMS = "path/to/file.py:factory or package.module:factory"


class SpecError(ValueError):
    """A SPEC that names no usable factory (missing file, module or attribute; the factory raised ...)."""


def _user_frame(exc: BaseException, path: Path | None) -> str:
    """' (file.py, line N)' of the deepest frame in the user's file, if any: where to look.

    A SyntaxError that knows its file already says ``(file.py, line N)`` in its message, so nothing is added
    (one from ``exec``/``compile`` of a string, ``<string>``, is located by the frame that ran it).
    """
    if isinstance(exc, SyntaxError) and exc.filename and not exc.filename.startswith("<"):
        return ""
    frames = traceback.extract_tb(exc.__traceback__)
    for fr in reversed(frames):
        if path is not None and Path(fr.filename).resolve() == path.resolve():
            return f" ({path.name}, line {fr.lineno})"
    if isinstance(exc, SyntaxError) and exc.lineno:
        return f" (line {exc.lineno})"
    return ""


def _exit_status(exc: SystemExit) -> str:
    """'SystemExit 3' / 'SystemExit' / "SystemExit: 'message'" for an exit the user's code raised."""
    if exc.code is None:
        return "SystemExit"
    if isinstance(exc.code, int):
        return f"SystemExit {exc.code}"
    return f"SystemExit: {exc.code!r}"


@contextlib.contextmanager
def _on_sys_path(folder: str) -> Iterator[None]:
    """Put ``folder`` first on sys.path for the duration, then take that entry out again.

    A SPEC's file may import its neighbours, and ``lrscope find mysetup:make`` must find ``mysetup.py``
    in the current folder, which a console script (unlike ``python -m``) does not put on sys.path.
    """
    sys.path.insert(0, folder)
    try:
        yield
    finally:
        if sys.path and sys.path[0] == folder:
            del sys.path[0]
        else:  # pragma: no cover - the user's code reordered sys.path
            with contextlib.suppress(ValueError):
                sys.path.remove(folder)


def _search_folder(spec: str) -> str:
    """The folder put on sys.path while a SPEC's module is imported and its factory called."""
    target = spec.rpartition(":")[0]
    return str(Path(target).resolve().parent) if _is_path(target) else os.getcwd()


def _split(spec: str) -> tuple[str, str]:
    target, sep, attr = spec.rpartition(":")
    if not sep or not target or not attr:
        raise SpecError(f"SPEC {spec!r} must have the form {SPEC_FORMS}")
    if not attr.isidentifier():
        raise SpecError(f"SPEC {spec!r}: {attr!r} is not a Python name; SPEC has the form {SPEC_FORMS}")
    return target, attr


def _is_path(target: str) -> bool:
    return target.endswith(".py") or os.sep in target or "/" in target


def load_factory(spec: str) -> tuple[Any, str]:
    """The callable a SPEC names, and a short description of where it came from.

    Raises:
        SpecError: naming the problem (no such file/module, import failed, no such attribute, not callable).
    """
    target, attr = _split(spec)
    path: Path | None = None
    if _is_path(target):
        path = Path(target)
        if not path.is_file():
            raise SpecError(f"SPEC {spec!r}: no such file {target!r}" + (" (it is a folder)" if path.is_dir() else ""))
        name = f"_lrscope_user_{abs(hash(str(path.resolve())))}"
        mod_spec = importlib.util.spec_from_file_location(name, path)
        if mod_spec is None or mod_spec.loader is None:
            raise SpecError(f"SPEC {spec!r}: cannot import {target!r} as a Python file")
        module = importlib.util.module_from_spec(mod_spec)
        sys.modules[name] = module
        try:
            with _on_sys_path(_search_folder(spec)):  # so the file can import its neighbours
                mod_spec.loader.exec_module(module)
        except Exception as exc:
            sys.modules.pop(name, None)
            raise SpecError(f"importing {target} failed: {type(exc).__name__}: {exc}{_user_frame(exc, path)}") from exc
        except SystemExit as exc:
            sys.modules.pop(name, None)
            raise SpecError(_exited(f"importing {target}", exc, path)) from exc
        where = target
    else:
        try:
            with _on_sys_path(_search_folder(spec)):  # the cwd: a console script does not put it on sys.path
                module = importlib.import_module(target)
        except ModuleNotFoundError as exc:
            if exc.name and target.startswith(exc.name) or exc.name == target:
                raise SpecError(f"SPEC {spec!r}: no module named {exc.name!r} in the current folder or on sys.path "
                                f"(for a file, give its path ending in .py)") from exc
            raise SpecError(f"importing {target} failed: {type(exc).__name__}: {exc}") from exc
        except Exception as exc:
            raise SpecError(f"importing {target} failed: {type(exc).__name__}: {exc}{_user_frame(exc, None)}") from exc
        except SystemExit as exc:
            raise SpecError(_exited(f"importing {target}", exc, None)) from exc
        where = target
    if not hasattr(module, attr):
        public = sorted(n for n, v in vars(module).items() if callable(v) and not n.startswith("_")
                        and getattr(v, "__module__", None) == module.__name__)
        hint = f"; it defines {', '.join(public)}" if public else ""
        raise SpecError(f"SPEC {spec!r}: {where} has no attribute {attr!r}{hint}")
    factory = getattr(module, attr)
    if not callable(factory):
        raise SpecError(f"SPEC {spec!r}: {where}:{attr} is a {type(factory).__name__}, not a callable factory")
    return factory, f"{where}:{attr}"


def _exited(what: str, exc: SystemExit, path: Path | None) -> str:
    """The one-line message for a SystemExit raised by the user's module or factory (not lrscope's to honour)."""
    fix = ("a factory must return the task, not call sys.exit()" if what.startswith("the factory") else
           "lrscope find imports the module, so keep script code under `if __name__ == \"__main__\":`")
    return f"{what} exited ({_exit_status(exc)}){_user_frame(exc, path)}; {fix}"


def load_task(spec: str) -> tuple[Task, str]:
    """Load the factory, call it with no arguments, and normalise its return value.

    Raises:
        SpecError: the SPEC is unusable, the factory raised or exited (SystemExit), or it returned the wrong shape.
    """
    factory, where = load_factory(spec)
    target = spec.rpartition(":")[0]
    code_file = getattr(getattr(factory, "__code__", None), "co_filename", None)  # package.module:factory
    path = Path(target) if _is_path(target) else Path(code_file) if code_file else None
    try:
        with _on_sys_path(_search_folder(spec)):  # a factory may import its neighbours lazily
            value = factory()
    except Exception as exc:
        raise SpecError(f"the factory {where}() raised {type(exc).__name__}: {exc}{_user_frame(exc, path)}") from exc
    except SystemExit as exc:
        raise SpecError(_exited(f"the factory {where}()", exc, path)) from exc
    try:
        return as_task(value, origin=f"the factory {where}()"), where
    except TaskShapeError as exc:
        raise SpecError(str(exc)) from exc
