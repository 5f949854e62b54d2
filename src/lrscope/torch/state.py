"""Snapshot everything a range test changes, and put it back bit for bit.

:func:`preserve_state` is an explicit context manager (no monkey-patching of user objects). On
entry it copies, once:

* every parameter and buffer of the model (BatchNorm running statistics included), and each
  parameter's ``.grad``, and each module's ``training`` flag;
* every tensor the optimizer updates that is not the model's (a loss module's learnable weights,
  a head kept outside the model), and its ``.grad``;
* the optimizer's ``state_dict()`` — its per-parameter state *and* every param group's
  hyperparameters (``lr``, ``momentum``, ``betas``, ``initial_lr`` ...);
* the AMP ``GradScaler``'s whole internal state, when one is given: every attribute by value —
  the scale and growth tracker tensors, ``_init_scale``/``_init_growth_tracker`` and the
  per-optimizer stages (``_per_optimizer_states``: READY / UNSCALED / STEPPED and the found-inf
  tensors). ``state_dict()`` alone would miss the stages: a sweep stopped between ``unscale_``,
  ``step`` and ``update`` would leave the user's next step on gradients never unscaled, or raising
  "unscale_() has already been called";
* the optimizer object's own attributes (which ones it has, and which object each one is): an
  ``LRScheduler`` made during the block wraps ``optimizer.step`` and sets ``_opt_called`` on it;
* the random number generators: Python's ``random``, NumPy's global generator, torch's CPU
  generator and every CUDA device's (only when CUDA is already initialised: a snapshot never
  initialises CUDA), and MPS's when present.

On exit — normal, on an exception, on ``KeyboardInterrupt`` — it restores all of them:

* parameters and buffers **in place** (``tensor.copy_``), so references the user holds to them
  stay valid; a parameter or buffer the module replaced by a new object is put back as the
  original object;
* gradients by value (``.grad`` may be a new tensor; ``None`` stays ``None``);
* the optimizer with ``load_state_dict`` of the host copy (its state tensors are then new tensors,
  as after any checkpoint load; ``param_groups`` dicts keep their identity);
* the optimizer's attributes: any added during the block (a scheduler's ``step`` wrapper,
  ``_opt_called``) are deleted, and each one the block replaced gets its original object back —
  ``optimizer.state`` and ``optimizer.param_groups`` included (refilled with the restored values),
  so references the user holds to them stay valid;
* the scaler's attributes by value (its tensors in place, the original objects), attributes added
  during the block deleted; a scaler without ``__dict__`` with ``load_state_dict``;
* the RNGs with their ``set_state`` functions.

Storage:

* ``"memory"`` (default) — host (CPU) RAM, about once the size of the state (the benchmark
  ``benchmarks/memory.py`` measures it);
* ``"disk"`` — raw bytes in a temporary directory, read back straight into the live tensors
  (CPU tensors) or through one tensor-sized buffer at a time, so the extra RAM is about zero.
  The directory is deleted on exit.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import os
import random
import shutil
import signal
import tempfile
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from torch import nn

__all__ = ["StateSnapshot", "preserve_rngs", "preserve_state", "state_nbytes"]

log = logging.getLogger(__name__)

Storage = Literal["memory", "disk"]

_MISSING = object()
#: immutable attribute values: put back by identity
_ATOMS = (int, float, complex, str, bytes, type(None))


# ----------------------------------------------------------------------------- tensor storage


@dataclass(frozen=True)
class _HostCopy:
    """A host copy of a tensor that lived on another device."""

    tensor: torch.Tensor
    device: torch.device


@dataclass(frozen=True)
class _DiskRef:
    """Where a tensor's bytes sit in the snapshot file."""

    offset: int
    nbytes: int
    shape: tuple[int, ...]
    dtype: torch.dtype
    device: torch.device


def _byte_view(t: torch.Tensor) -> np.ndarray:
    """A zero-copy uint8 numpy view of a contiguous CPU tensor's memory."""
    flat = t.detach().reshape(-1)
    if flat.numel() == 0:
        return np.empty(0, dtype=np.uint8)
    return flat.view(torch.uint8).numpy()


def _is_plain_cpu(t: torch.Tensor) -> bool:
    return t.device.type == "cpu" and t.is_contiguous() and t.layout == torch.strided and not t.is_conj() and not t.is_neg()


def _cpu_clone(t: torch.Tensor) -> torch.Tensor:
    """``t.clone()`` for CPU tensors as one single-threaded memcpy (numpy on the raw bytes).

    torch's own copy uses its intra-op thread pool, which on a busy machine can cost milliseconds per
    tensor; a byte copy works for every dtype (bfloat16 included) and is exact by construction.
    """
    if not _is_plain_cpu(t):
        return t.clone()
    out = torch.empty_like(t, memory_format=torch.contiguous_format)
    _byte_view(out)[...] = _byte_view(t)
    return out


def _plain_copy(src: torch.Tensor, dst: torch.Tensor) -> bool:
    """Byte-copy ``src`` into ``dst`` when both are plain contiguous CPU tensors of one dtype/shape."""
    if src.dtype != dst.dtype or src.shape != dst.shape or not (_is_plain_cpu(src) and _is_plain_cpu(dst)):
        return False
    _byte_view(dst)[...] = _byte_view(src)
    return True


class _Store:
    """Keeps tensor copies either in host memory or in one file on disk."""

    def __init__(self, storage: Storage, directory: str | os.PathLike[str] | None) -> None:
        self.storage = storage
        self.dir: Path | None = None
        self._fh: Any = None
        self._offset = 0
        self.nbytes = 0
        if storage == "disk":
            self.dir = Path(tempfile.mkdtemp(prefix="lrscope-snapshot-", dir=directory))
            self._fh = open(self.dir / "tensors.bin", "w+b")  # noqa: SIM115 - closed in close()

    def put(self, t: torch.Tensor) -> Any:
        t = t.detach()
        nbytes = t.numel() * t.element_size()
        self.nbytes += nbytes
        if self.storage == "memory":
            if t.device.type == "cpu":
                return _cpu_clone(t)
            return _HostCopy(t.to("cpu", copy=True), t.device)
        # disk: write the raw bytes; a temporary host copy only for non-CPU or strided tensors
        host = t if t.device.type == "cpu" else t.to("cpu")
        host = host.resolve_conj().resolve_neg().contiguous()
        ref = _DiskRef(self._offset, nbytes, tuple(t.shape), t.dtype, t.device)
        self._fh.seek(self._offset)
        self._fh.write(_byte_view(host).data)
        self._offset += nbytes
        return ref

    def _read_into(self, ref: _DiskRef, host: torch.Tensor) -> None:
        self._fh.seek(ref.offset)
        view = _byte_view(host)
        got = self._fh.readinto(view.data) if view.size else 0
        if got != ref.nbytes:
            raise OSError(f"lrscope snapshot file {self.dir} is truncated (read {got} of {ref.nbytes} bytes)")

    def get(self, saved: Any, *, copy: bool = True) -> torch.Tensor:
        """A tensor on the original device with the saved values.

        With ``copy=False`` a memory snapshot may hand out its own CPU tensor (no new memory).
        """
        if isinstance(saved, _HostCopy):
            return saved.tensor.to(saved.device, copy=True)
        if isinstance(saved, torch.Tensor):
            return _cpu_clone(saved) if copy else saved
        host = torch.empty(saved.shape, dtype=saved.dtype)
        self._read_into(saved, host)
        return host if saved.device.type == "cpu" else host.to(saved.device)

    def copy_into(self, saved: Any, target: torch.Tensor) -> None:
        """Write the saved values into ``target`` in place."""
        with torch.no_grad():
            if isinstance(saved, _HostCopy):
                target.copy_(saved.tensor, non_blocking=False)
                return
            if isinstance(saved, torch.Tensor):
                if not _plain_copy(saved, target):
                    target.copy_(saved)
                return
            if (
                target.device.type == "cpu"
                and target.is_contiguous()
                and target.dtype == saved.dtype
                and tuple(target.shape) == saved.shape
                and not target.is_conj()
                and not target.is_neg()
            ):
                self._read_into(saved, target)  # straight into the live tensor: no extra RAM
            else:
                target.copy_(self.get(saved))

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None
        if self.dir is not None:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None


def _map_tensors(obj: Any, fn: Any) -> Any:
    """Deep copy of a state-dict-like structure with every tensor replaced by ``fn(tensor)``."""
    if isinstance(obj, (torch.Tensor, _HostCopy, _DiskRef)):
        return fn(obj)
    if isinstance(obj, dict):
        return {k: _map_tensors(v, fn) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_map_tensors(v, fn) for v in obj]
    if isinstance(obj, tuple):
        return tuple(_map_tensors(v, fn) for v in obj)
    if isinstance(obj, (int, float, str, bool, type(None), torch.dtype, torch.device)):
        return obj
    return copy.deepcopy(obj)


def _tensor_bytes(obj: Any) -> int:
    if isinstance(obj, torch.Tensor):
        return obj.numel() * obj.element_size()
    if isinstance(obj, dict):
        return sum(_tensor_bytes(v) for v in obj.values())
    if isinstance(obj, (list, tuple)):
        return sum(_tensor_bytes(v) for v in obj)
    return 0


def state_nbytes(model: nn.Module, optimizer: torch.optim.Optimizer | None = None) -> int:
    """Bytes of the state a snapshot copies: parameters, gradients, buffers, optimizer state.

    Args:
        model: the module.
        optimizer: its optimizer, if any.

    Returns:
        The total size in bytes (what the ``"memory"`` snapshot holds, give or take Python objects).
    """
    n = 0
    for p in model.parameters():
        n += p.numel() * p.element_size()
        if p.grad is not None:
            n += p.grad.numel() * p.grad.element_size()
    for b in model.buffers():
        n += b.numel() * b.element_size()
    if optimizer is not None:
        n += _tensor_bytes(optimizer.state_dict()["state"])
    return n


# ----------------------------------------------------------------------------- GradScaler


def _copy_value(obj: Any) -> Any:
    """A copy of ``obj`` that shares nothing mutable with it.

    Tensors are cloned (on their own device: a scaler's are one-element, so this costs no host sync);
    dicts (of any dict type: a ``defaultdict`` keeps its factory), lists and tuples are rebuilt with
    copied values. Anything else (numbers, enums, strings, devices, a process group) is immutable or
    not the sweep's to change, and is kept by reference.
    """
    if isinstance(obj, torch.Tensor):
        return obj.detach().clone()
    if isinstance(obj, dict):
        out = copy.copy(obj)  # same type, same factory; values replaced below
        for k, v in obj.items():
            out[k] = _copy_value(v)
        return out
    if isinstance(obj, list):
        lst = copy.copy(obj)
        lst[:] = [_copy_value(v) for v in obj]
        return lst
    if type(obj) is tuple:
        return tuple(_copy_value(v) for v in obj)
    return obj


class _ScalerSnapshot:
    """A GradScaler's every attribute, by value (see the module docstring).

    ``state_dict()`` holds the scale and the growth settings only; the per-optimizer stages
    (``_per_optimizer_states``), ``_init_scale``/``_init_growth_tracker`` and whether the scale tensor
    exists yet are internal. A scaler without a ``__dict__`` falls back to its ``state_dict()``.
    """

    def __init__(self, scaler: Any, store: _Store) -> None:
        attrs = getattr(scaler, "__dict__", None)
        self._objects: dict[str, Any] | None = None
        self._values: dict[str, Any] = {}
        self._state: Any = None
        if isinstance(attrs, dict):
            self._objects = dict(attrs)  # which object each attribute was (tensors go back in place)
            self._values = {k: _copy_value(v) for k, v in attrs.items()}
        else:
            self._state = _map_tensors(scaler.state_dict(), store.put)

    def restore(self, scaler: Any, store: _Store, *, copy: bool) -> None:
        if self._objects is None:
            scaler.load_state_dict(_map_tensors(self._state, lambda saved: store.get(saved, copy=copy)))
            return
        attrs = scaler.__dict__
        for key in [k for k in attrs if k not in self._objects]:
            del attrs[key]  # added during the block
        for key, original in self._objects.items():
            saved = self._values[key]
            if (
                isinstance(original, torch.Tensor)
                and isinstance(saved, torch.Tensor)
                and original.shape == saved.shape
                and original.dtype == saved.dtype
                and original.device == saved.device
            ):
                with torch.no_grad():
                    original.copy_(saved)  # in place: the user's tensor object, the saved value
                attrs[key] = original
            else:
                attrs[key] = _copy_value(saved) if copy else saved


# ----------------------------------------------------------------------------- RNG


def _rng_states() -> dict[str, Any]:
    states: dict[str, Any] = {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():  # type: ignore[no-untyped-call]
        states["cuda"] = torch.cuda.get_rng_state_all()
    mps = getattr(torch, "mps", None)
    if mps is not None and getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        with contextlib.suppress(Exception):  # pragma: no cover - macOS only
            states["mps"] = mps.get_rng_state()
    return states


def _set_rng_states(states: dict[str, Any]) -> None:
    random.setstate(states["python"])
    np.random.set_state(states["numpy"])
    torch.set_rng_state(states["torch"])
    if "cuda" in states:
        torch.cuda.set_rng_state_all(states["cuda"])
    if "mps" in states:  # pragma: no cover - macOS only
        torch.mps.set_rng_state(states["mps"])


# ----------------------------------------------------------------------------- the snapshot


class StateSnapshot:
    """A copy of a model's, optimizer's, scaler's and the RNGs' state, taken at construction.

    Prefer :func:`preserve_state`, which restores on exit. A snapshot can be restored several
    times; :meth:`close` frees it (and deletes the disk copy).

    Args:
        model: the module whose parameters, gradients, buffers and train/eval flags are copied.
        optimizer: optional optimizer whose ``state_dict()`` is copied.
        scaler: optional ``torch.amp.GradScaler`` whose every attribute is copied by value (its
            per-optimizer stages included, so a sweep stopped mid-step leaves no trace).
        storage: ``"memory"`` (host RAM) or ``"disk"`` (a temporary directory; ~no extra RAM).
        directory: parent folder for the disk copy (default: the system temp dir).

    Raises:
        ValueError: for an unknown ``storage``.

    Example:
        >>> snap = StateSnapshot(model, optimizer)  # doctest: +SKIP
        >>> train_a_bit(model, optimizer)            # doctest: +SKIP
        >>> snap.restore(); snap.close()             # doctest: +SKIP
    """

    def __init__(
        self,
        model: nn.Module,
        optimizer: torch.optim.Optimizer | None = None,
        scaler: Any = None,
        *,
        storage: Storage = "memory",
        directory: str | os.PathLike[str] | None = None,
    ) -> None:
        if storage not in ("memory", "disk"):
            raise ValueError(f"Argument `storage` must be 'memory' or 'disk'. Received: storage={storage!r}")
        self.model = model
        self.optimizer = optimizer
        self.scaler = scaler
        self.storage = storage
        self._store = _Store(storage, directory)
        self._consumed = False
        try:
            self._take()
        except BaseException:
            self._store.close()
            raise

    def _take(self) -> None:
        store = self._store
        # (module, attribute name, original object, saved values) for every parameter and buffer
        self._params: list[tuple[nn.Module, str, nn.Parameter, Any, Any]] = []
        seen: set[int] = set()
        for mod in self.model.modules():
            for name, p in mod._parameters.items():
                if p is None:
                    continue
                first = id(p) not in seen
                seen.add(id(p))
                saved = store.put(p) if first else None
                grad = store.put(p.grad) if (first and p.grad is not None) else None
                self._params.append((mod, name, p, saved, grad))
        self._buffers: list[tuple[nn.Module, str, torch.Tensor | None, Any]] = []
        for mod in self.model.modules():
            for name, b in mod._buffers.items():
                if b is None:
                    self._buffers.append((mod, name, None, None))
                    continue
                first = id(b) not in seen
                seen.add(id(b))
                self._buffers.append((mod, name, b, store.put(b) if first else None))
        self._training = [(m, m.training) for m in self.model.modules()]
        # tensors the optimizer updates that are not the model's (a loss module's learnable
        # weights, a head kept outside the model): the sweep changes them too
        self._extra: list[tuple[torch.Tensor, Any, Any]] = []
        if self.optimizer is not None:
            for group in self.optimizer.param_groups:
                for t in group["params"]:
                    if id(t) in seen:
                        continue
                    seen.add(id(t))
                    self._extra.append((t, store.put(t), store.put(t.grad) if t.grad is not None else None))
        self._opt_state = None
        self._opt_attrs: dict[str, Any] = {}
        self._opt_defaults: dict[str, Any] = {}
        if self.optimizer is not None:
            self._opt_state = _map_tensors(self.optimizer.state_dict(), store.put)
            # which attributes the optimizer object has and which object each one is: a scheduler made
            # during the block adds a `step` wrapper and `_opt_called`; load_state_dict replaces
            # `state` and `param_groups` (and may add to `defaults`)
            self._opt_attrs = dict(vars(self.optimizer))
            self._opt_defaults = dict(self.optimizer.defaults)
        self._scaler_state: _ScalerSnapshot | None = None
        if self.scaler is not None:
            self._scaler_state = _ScalerSnapshot(self.scaler, store)
        self._rng = _rng_states()

    @property
    def nbytes(self) -> int:
        """Bytes of tensor data held by the snapshot (in RAM or on disk)."""
        return self._store.nbytes

    @property
    def directory(self) -> Path | None:
        """The temporary directory of a disk snapshot (None for memory, or after close)."""
        return self._store.dir

    def restore(self) -> None:
        """Put everything back (see the module docstring for what "back" means for each part).

        Raises:
            RuntimeError: after :meth:`close`.
        """
        self._restore(final=False)

    def _restore(self, *, final: bool) -> None:
        # final=True (the context manager's exit): the snapshot is closed right after, so a memory
        # snapshot may hand its own CPU tensors to the optimizer instead of copying them again.
        copy = not final
        if self._consumed:
            raise RuntimeError("this StateSnapshot was closed; take a new one")
        store = self._store
        with torch.no_grad():
            for mod, name, p, saved, grad in self._params:
                if mod._parameters.get(name) is not p:
                    mod._parameters[name] = p  # the module replaced it: put the original back
                if saved is None:
                    continue  # a shared (tied) parameter, restored through its first occurrence
                store.copy_into(saved, p)
                p.grad = None if grad is None else store.get(grad, copy=copy)
            for t, saved, grad in self._extra:
                store.copy_into(saved, t)
                t.grad = None if grad is None else store.get(grad, copy=copy)
            for mod, name, b, saved in self._buffers:
                if mod._buffers.get(name) is not b:
                    mod._buffers[name] = b
                if b is not None and saved is not None:
                    store.copy_into(saved, b)
        for m, flag in self._training:
            m.training = flag
        if self.optimizer is not None:
            # Drop the sweep's state first so old and restored state are never alive together.
            self.optimizer.state.clear()
            groups = self.optimizer.param_groups
            state = _map_tensors(self._opt_state, lambda saved: store.get(saved, copy=copy))
            # load_state_dict replaces the group dicts; keep the user's dict objects instead.
            old_dicts = list(groups)
            old_values = [dict(g) for g in old_dicts]
            self.optimizer.load_state_dict(state)
            for old, before, new in zip(old_dicts, old_values, self.optimizer.param_groups):
                for key, value in before.items():  # tensor hyperparameters (a Tensor lr): back in place
                    if isinstance(value, torch.Tensor) and isinstance(new.get(key), torch.Tensor) and value.shape == new[key].shape:
                        with torch.no_grad():
                            value.copy_(new[key])
                        new[key] = value
                old.clear()
                old.update(new)
            self.optimizer.param_groups[:] = old_dicts
            self._restore_optimizer_attributes()
        if self.scaler is not None and self._scaler_state is not None:
            self._scaler_state.restore(self.scaler, store, copy=copy)
        _set_rng_states(self._rng)

    def _restore_optimizer_attributes(self) -> None:
        """The optimizer object as found: no added attribute, each attribute its original object."""
        attrs = vars(self.optimizer)
        for key in [k for k in attrs if k not in self._opt_attrs]:
            del attrs[key]  # e.g. an LRScheduler's `step` wrapper and its `_opt_called` flag
        for key, original in self._opt_attrs.items():
            now = attrs.get(key, _MISSING)
            if now is original:
                continue
            # load_state_dict put in new `state` and `param_groups` objects holding the restored
            # values: move the values into the user's objects, so their references stay valid
            if key == "state" and isinstance(original, dict) and isinstance(now, dict):
                original.clear()
                original.update(now)
            elif key == "param_groups" and isinstance(original, list) and isinstance(now, list):
                original[:] = now
            elif now is not _MISSING and not (callable(original) or isinstance(original, _ATOMS)):
                # another object the optimizer's load_state_dict rebuilt (a wrapper's inner state):
                # it holds the restored values, the original may hold the sweep's
                continue
            attrs[key] = original  # a `step` method or wrapper, a flag, a name, the state containers
        defaults = self.optimizer.defaults  # type: ignore[union-attr]
        if defaults.keys() != self._opt_defaults.keys():
            defaults.clear()
            defaults.update(self._opt_defaults)

    def close(self) -> None:
        """Free the copies (and delete the disk directory). Idempotent."""
        self._consumed = True
        self._params = []
        self._buffers = []
        self._extra = []
        self._opt_state = None
        self._opt_attrs = {}
        self._opt_defaults = {}
        self._scaler_state = None
        self._store.close()

    def __del__(self) -> None:  # pragma: no cover - safety net for a forgotten close()
        with contextlib.suppress(Exception):
            self._store.close()


@contextlib.contextmanager
def preserve_state(
    model: nn.Module,
    optimizer: torch.optim.Optimizer | None = None,
    scaler: Any = None,
    *,
    storage: Storage = "memory",
    directory: str | os.PathLike[str] | None = None,
    restore: bool = True,
) -> Iterator[StateSnapshot | None]:
    """Snapshot on entry, restore on exit — also on exceptions and ``KeyboardInterrupt``.

    Args:
        model: the module to preserve (parameters, gradients, buffers, train/eval flags).
        optimizer: optional optimizer (state and param-group hyperparameters).
        scaler: optional ``torch.amp.GradScaler`` (its internal state, per-optimizer stages included).
        storage: ``"memory"`` (host RAM, default) or ``"disk"`` (temporary directory, ~no extra RAM).
        directory: parent folder for the disk copy.
        restore: False takes no snapshot at all and restores nothing (yields None).

    Yields:
        The :class:`StateSnapshot` (or None when ``restore`` is False).

    Raises:
        ValueError: for an unknown ``storage``.

    Example:
        >>> with preserve_state(model, optimizer):  # doctest: +SKIP
        ...     for x, y in batches:
        ...         train_step(x, y)
        >>> # model, optimizer and RNGs are exactly as before the block
    """
    if not restore:
        yield None
        return
    snap = StateSnapshot(model, optimizer, scaler, storage=storage, directory=directory)
    try:
        yield snap
    finally:
        # A second Ctrl-C while the state is being put back would leave it half restored: hold
        # SIGINT until the restore is done, then deliver it.
        with _sigint_deferred():
            try:
                snap._restore(final=True)
            finally:
                snap.close()


@contextlib.contextmanager
def preserve_rngs(generators: Iterable[torch.Generator] = ()) -> Iterator[None]:
    """Save the random number generators on entry and put them back on exit (also on exceptions).

    The global ones a snapshot saves (Python's ``random``, NumPy's, torch's CPU and, when initialised,
    CUDA's, MPS's) and the given ``torch.Generator`` objects (a DataLoader's own, its sampler's).
    Cheaper than :func:`preserve_state` when only the RNGs are touched, e.g. while batches are drawn
    from a shuffled loader or through a random augmentation.

    Args:
        generators: extra generators to save and restore.

    Example:
        >>> with preserve_rngs([loader.generator]):  # doctest: +SKIP
        ...     batches = list(itertools.islice(loader, 10))
    """
    gens = list(generators)
    states = _rng_states()
    gen_states = [g.get_state() for g in gens]
    try:
        yield
    finally:
        with _sigint_deferred():
            _set_rng_states(states)
            for g, st in zip(gens, gen_states):
                g.set_state(st)


@contextlib.contextmanager
def _sigint_deferred() -> Iterator[None]:
    """Hold SIGINT (Ctrl-C) inside the block and raise KeyboardInterrupt after it if one came.

    Only in the main thread and only while Python's own SIGINT handler is installed (a user's
    handler, or a non-main thread, is left alone). An exception raised inside the block wins over
    the deferred interrupt.
    """
    if threading.current_thread() is not threading.main_thread() or signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        yield
        return
    pending: list[int] = []

    def hold(signum: int, frame: Any) -> None:
        pending.append(signum)

    signal.signal(signal.SIGINT, hold)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    if pending:
        raise KeyboardInterrupt
