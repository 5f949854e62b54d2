"""Issue 10 (audit), item 7 and the terminal halves of items 5 and 6: a run's files are written as one
set and swapped in, an earlier run is never replaced silently, `--dpi` has an upper bound, `-o` under a
regular file says what `demo`/`find` say, the "train_data was cycled" note reaches the terminal, and
`suggest` counts the non-finite points of a file.
"""

from __future__ import annotations

import json
import math
import os
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from lrscope.cli import main
from lrscope.result import RangeTestResult

TINY = """
import torch
from torch import nn

def make():
    torch.manual_seed(0)
    x = torch.randn(256, 8)
    y = (x[:, 0] > 0).long()
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 2))
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    batches = [(x[i:i + 32], y[i:i + 32]) for i in range(0, 256, 32)]
    return model, opt, nn.CrossEntropyLoss(), batches
"""


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def last_error_line(code, err):
    assert code == 2, err
    assert "Traceback" not in err
    last = err.strip().splitlines()[-1]
    assert "error:" in last
    return last


def tree(folder: Path) -> dict[str, bytes | None]:
    """Every entry under ``folder``: relative path -> bytes (None for a folder)."""
    return {str(p.relative_to(folder)): (None if p.is_dir() else p.read_bytes()) for p in sorted(folder.rglob("*"))}


@pytest.fixture
def spec(tmp_path):
    """A tiny `find` factory, in a folder of its own (so tmp_path only holds what the CLI makes)."""
    d = tmp_path / "spec"
    d.mkdir()
    path = d / "tiny.py"
    path.write_text(textwrap.dedent(TINY))
    return f"{path}:make"


@pytest.fixture
def earlier_run(tmp_path, make_run):
    """An output folder holding an earlier run (as the demo leaves it) and a file of the user's."""
    out = tmp_path / "lrscope-out"
    make_run().save(out / "range_test.json")
    (out / "report.html").write_text("<!DOCTYPE html><p>the earlier run's report</p>")
    (out / "loss_vs_lr.png").write_bytes(b"\x89PNG earlier")
    (out / "lr_vs_step.png").write_bytes(b"\x89PNG earlier steps")
    (out / "metric_vs_lr.png").write_bytes(b"\x89PNG earlier metric")
    (out / "my_notes.txt").write_text("mine")
    return out


def find(capsys, spec, out, *extra):
    return run(capsys, "find", spec, "--num-steps", "12", "--start-lr", "1e-4", "--end-lr", "1", "-o", out,
               "--no-progress", *extra)


# ---------------------------------------------------------------------------- an earlier run is replaced


def test_find_says_on_stderr_that_it_replaces_an_earlier_run(capsys, tmp_path, spec, earlier_run):
    code, _, err = find(capsys, spec, earlier_run)
    assert code == 0, err
    assert "replac" in err and str(earlier_run) in err, err
    # the new run is there, as one set: no picture of the earlier run beside it, the user's file kept
    names = set(os.listdir(earlier_run))
    assert {"range_test.json", "report.html", "loss_vs_lr.png", "lr_vs_step.png", "my_notes.txt"} == names
    assert (earlier_run / "my_notes.txt").read_text() == "mine"
    assert b"earlier" not in (earlier_run / "report.html").read_bytes()
    assert RangeTestResult.load(earlier_run / "range_test.json").config["num_steps"] == 12
    assert sorted(os.listdir(tmp_path)) == ["lrscope-out", "spec"]  # no temporary folder left


def test_a_new_folder_is_not_called_a_replacement(capsys, tmp_path, spec):
    out_dir = tmp_path / "fresh" / "o"
    code, _, err = find(capsys, spec, out_dir)
    assert code == 0, err
    assert "replac" not in err
    assert (out_dir / "range_test.json").is_file() and sorted(os.listdir(tmp_path / "fresh")) == ["o"]


@pytest.mark.parametrize("exc", [KeyboardInterrupt, OSError(28, "No space left on device")], ids=["ctrl-c", "disk-full"])
def test_a_failure_while_writing_leaves_the_earlier_run_whole(capsys, tmp_path, spec, earlier_run, monkeypatch, exc):
    """The audit's Ctrl-C: the last file of the set (report.html) fails after the others were made."""
    import lrscope.cli._main as m

    def fail(path, text):
        raise exc

    before = tree(earlier_run)
    monkeypatch.setattr(m, "_atomic_text", fail)
    code, _, err = find(capsys, spec, earlier_run)
    assert code == (130 if exc is KeyboardInterrupt else 2), err
    assert tree(earlier_run) == before  # not one new file beside the old report
    assert sorted(os.listdir(tmp_path)) == ["lrscope-out", "spec"]  # no temporary folder left


@pytest.mark.parametrize("exc", [KeyboardInterrupt, OSError(13, "Permission denied")], ids=["ctrl-c", "oserror"])
def test_a_failure_during_the_swap_puts_the_earlier_run_back(capsys, tmp_path, spec, earlier_run, monkeypatch, exc):
    """A failure between "old aside" and "new in": the old folder returns under its name, intact."""
    real = os.rename

    def rename(src, dst):
        if Path(dst) == earlier_run and Path(src).name.endswith(".new"):  # the new set going in
            raise exc
        return real(src, dst)

    before = tree(earlier_run)
    monkeypatch.setattr(os, "rename", rename)
    code, _, err = find(capsys, spec, earlier_run)
    monkeypatch.undo()
    assert code in (2, 130), err
    assert "Traceback" not in err
    assert tree(earlier_run) == before
    assert sorted(os.listdir(tmp_path)) == ["lrscope-out", "spec"]


def test_a_failure_into_a_new_folder_leaves_nothing(capsys, tmp_path, spec, monkeypatch):
    import lrscope.cli._main as m

    def fail(path, text):
        raise KeyboardInterrupt

    monkeypatch.setattr(m, "_atomic_text", fail)
    code, _, _ = find(capsys, spec, tmp_path / "new" / "o")
    assert code == 130
    assert sorted(os.listdir(tmp_path)) == ["spec"]  # neither the folder nor the parent it would have made


def test_out_that_holds_the_current_folder_is_refused_before_the_sweep(capsys, tmp_path, spec, monkeypatch):
    """Swapping `--out .` would pull the folder from under the shell that runs lrscope."""
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    for out in (".", str(tmp_path)):
        code, out_text, err = find(capsys, spec, out)
        last = last_error_line(code, err)
        assert "--out" in last and "current folder" in last
        assert "sweeping" not in out_text
    assert os.listdir(work) == []


# ---------------------------------------------------------------------------- --dpi and -o below a file


@pytest.mark.parametrize("command", ["plot", "schedule"])
def test_dpi_has_an_upper_bound(capsys, tmp_path, run_json, command):
    argv = [run_json] if command == "plot" else ["triangular", "--from", run_json]
    target = tmp_path / "big.png"
    code, out, err = run(capsys, command, *argv, "--dpi", "100000", "-o", target)
    last = last_error_line(code, err)
    assert "--dpi" in last and "100000" in last and "1200" in last
    assert not target.exists() and out == ""
    code, _, err = run(capsys, command, *argv, "--dpi", "1200", "-o", tmp_path / "ok.svg")  # the bound itself is fine
    assert code == 0, err


@pytest.mark.parametrize("command", ["plot", "schedule"])
def test_output_below_a_regular_file_says_what_find_says(capsys, tmp_path, run_json, command):
    afile = tmp_path / "somefile.txt"
    afile.write_text("x")
    code, _, err = run(capsys, "find", "x.py:make", "--out", afile / "sub")
    find_says = last_error_line(code, err).rsplit(": ", 1)[-1]  # "'…/somefile.txt' is a file, so the folder …"
    assert find_says.startswith(repr(str(afile)))
    argv = [run_json] if command == "plot" else ["triangular", "--from", run_json]
    code, out, err = run(capsys, command, *argv, "-o", afile / "out.png")
    last = last_error_line(code, err)
    assert "File exists" not in err
    assert last.endswith(find_says) and "--output" in last
    assert afile.read_text() == "x" and out == ""


# ---------------------------------------------------------------------------- notes in the terminal


def test_find_prints_the_cycled_note(capsys, tmp_path, spec):
    code, out, err = run(capsys, "find", spec, "--num-steps", "20", "-o", tmp_path / "o", "--no-progress")
    assert code == 0, err
    res = RangeTestResult.load(tmp_path / "o" / "range_test.json")
    cycled = [n for n in res.notes if n.startswith("train_data was cycled")]
    assert cycled  # 8 batches, 20 steps
    assert f"note: {cycled[0]}" in out


def test_suggest_says_how_many_points_were_non_finite(capsys, tmp_path, make_run):
    r = make_run(diverge=False)
    losses = np.array(r.losses, dtype=float)
    losses[-3:] = [math.inf, math.nan, math.nan]
    bad = RangeTestResult(lrs=r.lrs, losses=losses, metrics=r.metrics, stop_reason="non-finite loss", config=r.config)
    path = bad.save(tmp_path / "nan.json")
    code, out, err = run(capsys, "suggest", path)
    assert code == 0, err
    assert f"3 of {len(bad)} loss points are non-finite" in out
    code, out, err = run(capsys, "suggest", path, "--json")
    assert code == 0, err
    assert json.loads(out)["non_finite"] == {"loss": 3}
    ok = r.save(tmp_path / "ok.json")
    code, out, err = run(capsys, "suggest", ok)
    assert code == 0 and "non-finite" not in out


@pytest.mark.skipif(sys.platform == "win32", reason="symlinks need privileges on Windows")
def test_a_symlinked_out_keeps_its_link_and_the_users_files(capsys, tmp_path, spec, earlier_run):
    (earlier_run / "sub").mkdir()
    (earlier_run / "sub" / "kept.txt").write_text("kept")
    link = tmp_path / "link"
    link.symlink_to(earlier_run)
    code, _, err = find(capsys, spec, link)
    assert code == 0, err
    assert link.is_symlink() and (link / "range_test.json").is_file()
    assert (earlier_run / "my_notes.txt").read_text() == "mine" and (earlier_run / "sub" / "kept.txt").read_text() == "kept"
    assert not (earlier_run / "metric_vs_lr.png").exists()  # the earlier run's picture is not left beside the new set


@pytest.mark.skipif(sys.platform == "win32", reason="os.kill(SIGINT) ends the process on Windows")
def test_ctrl_c_during_the_swap_is_held_until_the_renames_are_done(python_sigint):
    import signal

    from lrscope.cli._main import _sigint_held

    done = []
    with pytest.raises(KeyboardInterrupt), _sigint_held():
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.2)  # a signal may land on another thread first: let the main thread's handler run
        done.append("the swap went on")
    assert done and signal.getsignal(signal.SIGINT) is signal.default_int_handler
