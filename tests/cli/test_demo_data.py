"""The demo's data: damaged Fashion-MNIST files (fall back with a note, or exit 2 naming the file) and
the size of the held-out set. Built on small synthetic IDX files, so it runs without the Debian package.
"""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest

from lrscope.cli import main
from lrscope.datasets import (
    DatasetCorruptError,
    DatasetNotFoundError,
    load_fashion_mnist,
    read_idx,
)

torch = pytest.importorskip("torch")
pytest.importorskip("sklearn")

from lrscope.demo import build_task

STEMS = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
TRAIN_IMAGES = "train-images-idx3-ubyte.gz"


def idx_bytes(array: np.ndarray) -> bytes:
    array = np.ascontiguousarray(array, dtype=np.uint8)
    return b"\x00\x00\x08" + bytes([array.ndim]) + struct.pack(">" + "I" * array.ndim, *array.shape) + array.tobytes()


def write_fake_fashion_mnist(folder: Path, n_train: int = 2600, n_test: int = 10) -> Path:
    """Valid gzip-compressed IDX files of random 28x28 images with labels 0-9."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for split, n in (("train", n_train), ("t10k", n_test)):
        (folder / f"{split}-images-idx3-ubyte.gz").write_bytes(
            gzip.compress(idx_bytes(rng.integers(0, 256, (n, 28, 28))), compresslevel=1))
        (folder / f"{split}-labels-idx1-ubyte.gz").write_bytes(gzip.compress(idx_bytes(rng.integers(0, 10, n))))
    return folder


def corrupt_folder(root: Path, kind: str) -> tuple[Path, str]:
    """A folder of Fashion-MNIST-named files damaged in one way; returns it and the file the error must name."""
    folder = root / kind
    if kind == "not-idx":  # uncompressed files that are not IDX
        folder.mkdir(parents=True)
        for stem in STEMS:
            (folder / stem).write_text("this is not an IDX file\n")
        return folder, "train-images-idx3-ubyte"
    if kind == "not-gzip":  # .gz files that are not gzip (gzip.BadGzipFile)
        folder.mkdir(parents=True)
        for stem in STEMS:
            (folder / f"{stem}.gz").write_text("not gzip either\n")
        return folder, TRAIN_IMAGES
    write_fake_fashion_mnist(folder)
    target = folder / TRAIN_IMAGES
    data = target.read_bytes()
    if kind == "truncated-gzip":  # download cut short (EOFError)
        target.write_bytes(data[: len(data) // 2])
    elif kind == "bad-deflate":  # gzip header fine, compressed stream damaged (zlib.error)
        target.write_bytes(data[:10] + b"\xff" * 64 + data[74:])
    elif kind == "short-body":  # valid gzip of an IDX file with fewer bytes than its header promises
        raw = gzip.decompress(data)
        target.write_bytes(gzip.compress(raw[:-1000]))
    elif kind == "count-mismatch":  # 2600 images but 2599 labels
        labels = folder / "train-labels-idx1-ubyte.gz"
        labels.write_bytes(gzip.compress(idx_bytes(np.zeros(2599))))
        return folder, "train-labels-idx1-ubyte.gz"
    else:  # pragma: no cover
        raise AssertionError(kind)
    return folder, TRAIN_IMAGES


KINDS = ["not-idx", "not-gzip", "truncated-gzip", "bad-deflate", "short-body", "count-mismatch"]


# ---------------------------------------------------------------------------------------- the loaders


@pytest.mark.parametrize("kind", ["not-gzip", "truncated-gzip", "bad-deflate"])
def test_read_idx_turns_a_broken_gzip_into_a_value_error_naming_the_file(tmp_path, kind):
    folder, bad = corrupt_folder(tmp_path, kind)
    with pytest.raises(ValueError, match="gzip") as info:
        read_idx(folder / bad)
    assert str(folder / bad) in str(info.value)


@pytest.mark.parametrize("kind", KINDS)
def test_load_fashion_mnist_raises_dataset_corrupt_error_naming_the_file(tmp_path, kind):
    folder, bad = corrupt_folder(tmp_path, kind)
    with pytest.raises(DatasetCorruptError) as info:
        load_fashion_mnist("train", root=folder)
    assert bad in str(info.value)
    assert "apt-get install --reinstall dataset-fashion-mnist" in str(info.value)
    # old handlers keep working: it is both a DatasetNotFoundError and a ValueError
    assert isinstance(info.value, DatasetNotFoundError) and isinstance(info.value, ValueError)


# ------------------------------------------------------------------------------------------- the demo


@pytest.mark.parametrize("kind", KINDS)
def test_auto_demo_falls_back_to_digits_naming_the_bad_file(tmp_path, monkeypatch, kind):
    folder, bad = corrupt_folder(tmp_path, kind)
    monkeypatch.setenv("LRSCOPE_FASHION_MNIST", str(folder))
    demo = build_task(train_size=256, dataset="auto")
    assert demo.dataset == "digits"
    assert len(demo.notes) == 1
    assert bad in demo.notes[0] and "digits instead" in demo.notes[0]


@pytest.mark.parametrize("kind", ["not-idx", "not-gzip", "truncated-gzip"])
def test_demo_asked_for_fashion_mnist_with_bad_files_exits_2_naming_the_file(capsys, tmp_path, monkeypatch, kind):
    folder, bad = corrupt_folder(tmp_path, kind)
    monkeypatch.setenv("LRSCOPE_FASHION_MNIST", str(folder))
    out = tmp_path / "out"
    code = main(["demo", "--dataset", "fashion-mnist", "--out", str(out), "--no-progress"])
    _, err = capsys.readouterr()
    assert code == 2, err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "error:" in lines[0], err
    assert str(folder / bad) in lines[0]
    assert not out.exists()


def test_auto_demo_command_with_bad_files_runs_on_digits_with_a_note(capsys, tmp_path, monkeypatch):
    folder, bad = corrupt_folder(tmp_path, "not-gzip")
    monkeypatch.setenv("LRSCOPE_FASHION_MNIST", str(folder))
    out = tmp_path / "out"
    code = main(["demo", "--steps", "10", "--threads", "1", "--out", str(out), "--no-progress"])
    stdout, err = capsys.readouterr()
    assert code == 0, err
    assert "Traceback" not in err
    note = next(line for line in err.splitlines() if line.startswith("note:"))
    assert str(folder / bad) in note and "digits" in note
    assert "digits" in stdout
    assert (out / "range_test.json").is_file()


def test_demo_holds_out_at_least_a_thousand_fashion_mnist_images(tmp_path, monkeypatch):
    monkeypatch.setenv("LRSCOPE_FASHION_MNIST", str(write_fake_fashion_mnist(tmp_path / "fm")))
    demo = build_task(train_size=1280, dataset="fashion-mnist")
    assert demo.dataset == "fashion-mnist"
    sizes = [len(t) for _, t in demo.task.val_batches]
    assert 1000 <= sum(sizes) <= 2048
    assert max(sizes) - min(sizes) <= 1  # near-equal batches: the mean of their means is the overall mean
    assert f"{sum(sizes)} held out" in demo.description
    # held-out images are not trained on
    train_x = demo.task.train_batches.dataset.tensors[0]
    val_x = torch.cat([x for x, _ in demo.task.val_batches])
    assert len(train_x) == 1280
    assert not (train_x.flatten(1)[:, None, :] == val_x.flatten(1)[None, :200, :]).all(-1).any()


@pytest.mark.parametrize("arg", ["val_size", "val_batch_size"])
@pytest.mark.parametrize("value", [0, -3, 2.5, True])
def test_build_task_rejects_bad_sizes(arg, value):
    with pytest.raises(ValueError, match=f"Argument `{arg}` must be a positive integer. Received: {arg}="):
        build_task(**{arg: value}, dataset="digits")
