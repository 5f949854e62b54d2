"""Offline data for the demo, the tests and the benchmarks (numpy only; nothing is downloaded).

* Fashion-MNIST from local IDX files (Debian: ``apt-get install dataset-fashion-mnist`` puts them in
  ``/usr/share/datasets/fashion-mnist``; or point ``LRSCOPE_FASHION_MNIST`` / ``root=`` at a folder
  holding ``train-images-idx3-ubyte.gz`` etc.).
* scikit-learn's bundled ``digits`` (8x8 images, 1797 samples) — the fallback when Fashion-MNIST is absent.
"""

from __future__ import annotations

import gzip
import os
import struct
import zlib
from pathlib import Path
from typing import Literal

import numpy as np
from numpy.typing import NDArray

DEBIAN_FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")
FASHION_MNIST_HINT = (
    "Fashion-MNIST IDX files not found in {where}. Install them with "
    "`sudo apt-get install dataset-fashion-mnist` (Debian/Ubuntu), or download "
    "train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz and "
    "t10k-labels-idx1-ubyte.gz from https://github.com/zalandoresearch/fashion-mnist into a folder "
    "and set LRSCOPE_FASHION_MNIST=<folder>."
)

_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


FASHION_MNIST_CORRUPT_HINT = (
    "{error} The Fashion-MNIST file is damaged or not what its name says; replace it with a fresh copy "
    "(`sudo apt-get install --reinstall dataset-fashion-mnist`, or download it again from "
    "https://github.com/zalandoresearch/fashion-mnist), or point LRSCOPE_FASHION_MNIST at a folder with good files."
)


class DatasetNotFoundError(FileNotFoundError):
    """A local data set is missing; the message says how to get it."""


class DatasetCorruptError(DatasetNotFoundError, ValueError):
    """A local data set's file is there but unreadable (bad gzip, not IDX, truncated); the message names it.

    A subclass of :class:`DatasetNotFoundError` (the data set is not usable; handlers that fall back or
    report a missing data set treat it alike) and of ``ValueError`` (what :func:`read_idx` raises).
    """


def fashion_mnist_root(root: str | os.PathLike[str] | None = None) -> Path:
    """The folder Fashion-MNIST is read from: ``root``, else $LRSCOPE_FASHION_MNIST, else the Debian path."""
    if root is not None:
        return Path(root)
    env = os.environ.get("LRSCOPE_FASHION_MNIST")
    return Path(env) if env else DEBIAN_FASHION_MNIST


def _find(root: Path, stem: str) -> Path | None:
    for name in (stem + ".gz", stem):
        p = root / name
        if p.is_file():
            return p
    return None


def read_idx(path: str | os.PathLike[str]) -> NDArray[np.uint8]:
    """Read an IDX file (optionally gzip-compressed) of unsigned bytes into a numpy array.

    Raises:
        ValueError: when the file is not an unsigned-byte IDX file, or a ``.gz`` file is not valid gzip
            or is truncated (the message names the file).
        OSError: when the file cannot be opened (missing, a folder, no permission).
    """
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as fh:
            data = fh.read()
    except (gzip.BadGzipFile, EOFError, zlib.error) as exc:  # not gzip, truncated, corrupt deflate stream
        raise ValueError(f"{path}: not a valid gzip file ({type(exc).__name__}: {exc})") from exc
    if len(data) < 4 or data[0:2] != b"\x00\x00" or data[2] != 0x08:
        raise ValueError(f"{path}: not an unsigned-byte IDX file (bad magic number {data[:4]!r})")
    ndim = data[3]
    if len(data) < 4 + 4 * ndim:
        raise ValueError(f"{path}: truncated IDX header ({len(data)} bytes for {ndim} dimension(s))")
    dims = struct.unpack(">" + "I" * ndim, data[4 : 4 + 4 * ndim])
    body = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if body.size != int(np.prod(dims)):
        raise ValueError(f"{path}: expected {int(np.prod(dims))} values for shape {dims}, found {body.size}")
    return body.reshape(dims)


def has_fashion_mnist(root: str | os.PathLike[str] | None = None) -> bool:
    """True when all four Fashion-MNIST IDX files are present."""
    r = fashion_mnist_root(root)
    return all(_find(r, s) is not None for pair in _FILES.values() for s in pair)


def load_fashion_mnist(
    split: Literal["train", "test"] = "train",
    *,
    root: str | os.PathLike[str] | None = None,
    limit: int | None = None,
) -> tuple[NDArray[np.float32], NDArray[np.int64]]:
    """Fashion-MNIST images scaled to [0, 1] as float32 ``(N, 28, 28)`` and labels ``(N,)`` int64.

    Args:
        split: ``"train"`` (60000) or ``"test"`` (10000).
        root: folder with the IDX files (see :func:`fashion_mnist_root`).
        limit: keep the first ``limit`` samples.

    Raises:
        DatasetNotFoundError: when the files are missing (the message says how to install them).
        DatasetCorruptError: when a file is present but unreadable (the message names it); a subclass of
            both ``DatasetNotFoundError`` and ``ValueError``.
        ValueError: for a bad ``split`` or ``limit``.
    """
    if split not in _FILES:
        raise ValueError(f"Argument `split` must be 'train' or 'test'. Received: split={split!r}")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise ValueError(f"Argument `limit` must be a positive integer or None. Received: limit={limit!r}")
    r = fashion_mnist_root(root)
    img_stem, lbl_stem = _FILES[split]
    img_path, lbl_path = _find(r, img_stem), _find(r, lbl_stem)
    if img_path is None or lbl_path is None:
        raise DatasetNotFoundError(FASHION_MNIST_HINT.format(where=r))
    images, labels = _read_checked(img_path, 3), _read_checked(lbl_path, 1)
    if len(images) != len(labels):
        raise DatasetCorruptError(FASHION_MNIST_CORRUPT_HINT.format(
            error=f"{img_path} holds {len(images)} images but {lbl_path} holds {len(labels)} labels."))
    if limit is not None:
        images, labels = images[:limit], labels[:limit]
    return images.astype(np.float32) / 255.0, labels.astype(np.int64)


def _read_checked(path: Path, ndim: int) -> NDArray[np.uint8]:
    """read_idx, with any failure turned into a DatasetCorruptError naming the file."""
    try:
        data = read_idx(path)
    except (ValueError, OSError) as exc:
        error = str(exc) if str(path) in str(exc) else f"{path}: {type(exc).__name__}: {exc}"
        raise DatasetCorruptError(FASHION_MNIST_CORRUPT_HINT.format(error=error.rstrip(".") + ".")) from exc
    if data.ndim != ndim:
        raise DatasetCorruptError(FASHION_MNIST_CORRUPT_HINT.format(
            error=f"{path}: expected {ndim} dimension(s), found shape {data.shape}."))
    return data


def load_digits() -> tuple[NDArray[np.float32], NDArray[np.int64]]:
    """scikit-learn's bundled digits: images ``(1797, 8, 8)`` scaled to [0, 1], labels ``(1797,)``.

    Raises:
        ImportError: without scikit-learn (``pip install 'lrscope[cli]'``).
    """
    try:
        from sklearn.datasets import load_digits as _load
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("the digits data set needs scikit-learn: pip install 'lrscope[cli]'") from exc
    d = _load()
    return (d.images / 16.0).astype(np.float32), d.target.astype(np.int64)
