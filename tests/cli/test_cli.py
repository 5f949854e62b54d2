"""The `lrscope` command, run in-process through `main(argv)` (and once as a real subprocess).

Every bad input must end with exit code 2, one line naming the problem on stderr, no traceback, and
no file left behind.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from lrscope.cli import Task, build_parser, main

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "digits_mlp.py"


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def assert_usage_error(code, err, *fragments):
    assert code == 2, err
    assert "Traceback" not in err
    last = err.strip().splitlines()[-1]
    assert "error:" in last
    for f in fragments:
        assert f in last, f"{f!r} not in {last!r}"


def files_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*")) if folder.exists() else []


# ---------------------------------------------------------------------------------------------- help


@pytest.mark.parametrize("command", [[], ["demo"], ["find"], ["plot"], ["suggest"], ["schedule"]])
def test_help_of_every_command(capsys, command):
    code, out, err = run(capsys, *command, "--help")
    assert code == 0
    assert out.startswith("usage: lrscope")
    assert err == ""


def test_find_help_documents_the_factory_contract(capsys):
    _, out, _ = run(capsys, "find", "--help")
    for word in ("model", "optimizer", "loss_fn", "train_batches", "val_batches", "metric", "digits_mlp.py"):
        assert word in out


def test_no_command_prints_help_and_exits_2(capsys):
    code, _, err = run(capsys)
    assert code == 2
    assert "demo" in err and "schedule" in err


def test_version(capsys):
    code, out, _ = run(capsys, "--version")
    assert code == 0 and out.startswith("lrscope ")


def test_parser_knows_every_command():
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    assert set(sub.choices) == {"demo", "find", "plot", "suggest", "schedule"}


@pytest.mark.parametrize(
    "argv, fragment",
    [
        (["demo", "--steps", "0"], "--steps"),
        (["demo", "--steps", "many"], "expected an integer"),
        (["demo", "--start-lr", "-1"], "--start-lr"),
        (["demo", "--dataset", "mnist"], "invalid choice"),
        (["find", "x.py:make", "--num-steps", "1"], "--num-steps"),
        (["find", "x.py:make", "--start-lr", "nan"], "--start-lr"),
        (["find", "x.py:make", "--mode", "cosine"], "--mode"),
        (["plot"], "RUN.json"),
        (["suggest", "a.json", "--frobnicate"], "unrecognized arguments"),
        (["schedule", "zigzag", "--from", "a.json"], "invalid choice"),
        (["schedule", "triangular"], "--from"),
        (["schedule", "triangular", "--from", "a.json", "--epochs", "0"], "--epochs"),
        (["schedule", "one_cycle", "--from", "a.json", "--pct-start", "1.5"], "--pct-start"),
    ],
)
def test_bad_option_values_exit_2_with_one_line(capsys, argv, fragment):
    code, out, err = run(capsys, *argv)
    assert_usage_error(code, err, fragment)
    assert out == ""


# ---------------------------------------------------------------------------------------------- suggest


def test_suggest_table_lists_every_rule(capsys, run_json):
    from lrscope.analysis.rules import DEFAULT_METHOD, available_rules

    code, out, err = run(capsys, "suggest", run_json)
    assert code == 0, err
    for name in available_rules():
        assert name in out
    assert "reason" in out and f"* {DEFAULT_METHOD}" in out
    assert "Suggested learning rate:" in out


def test_suggest_json(capsys, run_json):
    from lrscope.analysis.rules import available_rules

    code, out, _ = run(capsys, "suggest", run_json, "--json")
    assert code == 0
    data = json.loads(out)
    assert [r["method"] for r in data["suggestions"]][0] == data["default_method"]
    assert {r["method"] for r in data["suggestions"]} == set(available_rules())
    for r in data["suggestions"]:
        assert r["reason"]
        if r["found"]:
            assert 1e-5 <= r["lr"] <= 10 and r["nice"] > 0
    assert set(data["bounds"]) >= {"base_lr", "max_lr", "reason"}


def test_suggest_one_method(capsys, run_json):
    code, out, _ = run(capsys, "suggest", run_json, "--method", "valley", "--json")
    assert code == 0
    assert [r["method"] for r in json.loads(out)["suggestions"]] == ["valley"]


def test_suggest_abstention_shows_no_suggestion_and_reason(capsys, tmp_path):
    import numpy as np

    from lrscope.result import RangeTestResult

    flat = RangeTestResult(np.geomspace(1e-5, 1, 60), np.full(60, 2.3)).save(tmp_path / "flat.json")
    code, out, _ = run(capsys, "suggest", flat)
    assert code == 0
    assert "no suggestion" in out and "flat" in out


def test_suggest_reader_with_the_run_settings_equals_the_python_api(capsys, run_json):
    from lrscope.result import RangeTestResult

    settings = dict(budget=1000, schedule="one_cycle", optimizer="adamw", batch_size=64)
    code, out, err = run(capsys, "suggest", run_json, "--method", "reader", "--budget", "1000", "--schedule", "one_cycle",
                         "--optimizer", "adamw", "--batch-size", "64", "--json")
    assert code == 0, err
    [row] = json.loads(out)["suggestions"]
    want = RangeTestResult.load(run_json).suggest("reader", **settings)
    assert row["method"] == "reader" and row["lr"] == want.lr and row["reason"] == want.reason
    assert "budget=1000" in row["reason"] and "schedule='one_cycle'" in row["reason"]


def test_suggest_settings_without_reader_leave_the_default_answer_and_say_so(capsys, run_json):
    from lrscope.analysis.reader import load_reader
    from lrscope.result import RangeTestResult

    code, out, err = run(capsys, "suggest", run_json, "--budget", "1000", "--json")
    assert code == 0, err
    rows = {r["method"]: r for r in json.loads(out)["suggestions"]}
    plain = RangeTestResult.load(run_json).suggest()
    default = rows[plain.method]
    if not load_reader().passed_stop_rule:  # the shipped reader did not pass: the settings change nothing
        assert default["lr"] == plain.lr
        assert default["reason"].startswith(plain.reason) and "settings were not used" in default["reason"]
    assert "reader" not in rows


@pytest.mark.parametrize(("argv", "fragment"), [
    (("--method", "valley", "--budget", "100"), "--budget"),
    (("--method", "reader", "--optimizer", "lion"), "--optimizer"),
    (("--method", "reader", "--schedule", "linear"), "--schedule"),
    (("--method", "reader", "--batch-size", "0"), "--batch-size"),
])
def test_suggest_bad_settings_are_usage_errors(capsys, run_json, argv, fragment):
    code, out, err = run(capsys, "suggest", run_json, *argv)
    assert_usage_error(code, err, fragment)
    assert out == ""


def test_suggest_unknown_method(capsys, run_json):
    code, _, err = run(capsys, "suggest", run_json, "--method", "bogus")
    assert_usage_error(code, err, "bogus", "valley")


@pytest.mark.parametrize(
    "content, fragment",
    [
        ("{not json", "not valid JSON"),
        ('{"format": "something.else", "lrs": []}', "not an lrscope range-test result"),
        ("[1, 2, 3]", "not an lrscope range-test result"),
        ('{"format": "lrscope.range_test", "schema_version": 999}', "upgrade lrscope"),
        ('{"format": "lrscope.range_test", "schema_version": 1, "lrs": [0.1]}', "missing field"),
        pytest.param(
            '{"format": "lrscope.range_test", "schema_version": 1, "lrs": [0.1], "losses": [1.0], "steps": [1' + "0" * 30 + "]}",
            "invalid content",
            id="huge-int",
        ),
        pytest.param("[" * 100000, "nested too deeply", id="deep-nesting"),
    ],
)
@pytest.mark.parametrize("command", ["suggest", "plot"])
def test_corrupt_or_foreign_json(capsys, tmp_path, content, fragment, command):
    bad = tmp_path / "bad.json"
    bad.write_text(content)
    before = files_in(tmp_path)
    code, _, err = run(capsys, command, bad)
    assert_usage_error(code, err, "bad.json", fragment)
    assert files_in(tmp_path) == before


def test_missing_and_unreadable_json(capsys, tmp_path):
    code, _, err = run(capsys, "suggest", tmp_path / "nope.json")
    assert_usage_error(code, err, "nope.json", "no such file")
    code, _, err = run(capsys, "suggest", tmp_path)  # a folder
    assert_usage_error(code, err, str(tmp_path), "cannot be read")


# ---------------------------------------------------------------------------------------------- plot


def test_plot_one_run_default_output(capsys, run_json):
    code, out, err = run(capsys, "plot", run_json)
    assert code == 0, err
    png = Path(run_json).with_suffix(".png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert str(png) in out


@pytest.mark.parametrize("ext, magic", [(".png", b"\x89PNG"), (".jpg", b"\xff\xd8"), (".svg", b"<?xml"), (".pdf", b"%PDF")])
def test_plot_format_by_extension(capsys, tmp_path, run_json, run_json_b, ext, magic):
    target = tmp_path / f"both{ext}"
    code, _, err = run(capsys, "plot", run_json, run_json_b, "-o", target, "--label", "first", "--label", "second")
    assert code == 0, err
    assert target.read_bytes().startswith(magic)


def test_plot_metric(capsys, tmp_path, run_json):
    target = tmp_path / "acc.png"
    code, _, err = run(capsys, "plot", run_json, "--metric", "-o", target)
    assert code == 0, err
    assert target.stat().st_size > 1000


def test_plot_metric_missing(capsys, tmp_path, run_json_b):
    target = tmp_path / "acc.png"
    code, _, err = run(capsys, "plot", run_json_b, "--metric", "-o", target)
    assert_usage_error(code, err, "run_b.json", "no metric")
    assert not target.exists()
    code, _, err = run(capsys, "plot", run_json_b, "--metric", "f1", "-o", target)
    assert_usage_error(code, err, "no metric")


def test_plot_bad_extension_writes_nothing(capsys, tmp_path, run_json):
    before = files_in(tmp_path)
    code, _, err = run(capsys, "plot", run_json, "-o", tmp_path / "x.gif")
    assert_usage_error(code, err, "x.gif", ".png")
    assert files_in(tmp_path) == before


def test_plot_label_count_mismatch(capsys, run_json, run_json_b):
    code, _, err = run(capsys, "plot", run_json, run_json_b, "--label", "only-one")
    assert_usage_error(code, err, "--label")


def test_plot_unwritable_output(capsys, tmp_path, run_json):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code, _, err = run(capsys, "plot", run_json, "-o", blocker / "sub" / "p.png")
    assert_usage_error(code, err, "--output", "is a file, so the folder cannot be created")  # as demo/find say


# ---------------------------------------------------------------------------------------------- schedule


def test_schedule_triangular2(capsys, tmp_path, run_json):
    target = tmp_path / "tri.png"
    code, out, err = run(capsys, "schedule", "triangular2", "--from", run_json, "--epochs", "10", "-o", target, "--json")
    assert code == 0, err
    assert "triangular2" in out and "500 steps" in out  # 10 epochs x 50 steps (recorded in the run)
    assert target.read_bytes()[:4] == b"\x89PNG"
    data = json.loads(target.with_suffix(".json").read_text())
    assert len(data["lrs"]) == 500
    assert min(data["lrs"]) >= data["base_lr"] * (1 - 1e-9) and max(data["lrs"]) <= data["max_lr"] * (1 + 1e-9)


@pytest.mark.parametrize("kind", ["triangular", "one_cycle", "cosine", "sgdr", "exp_range", "welch"])
def test_schedule_kinds(capsys, tmp_path, run_json, kind):
    code, out, err = run(capsys, "schedule", kind, "--from", run_json, "--steps-per-epoch", "20", "--epochs", "3",
                         "-o", tmp_path / f"{kind}.svg")
    assert code == 0, err
    assert "60 steps" in out


def test_schedule_needs_steps_per_epoch(capsys, tmp_path, make_run):
    path = make_run(steps_per_epoch=None).save(tmp_path / "r.json")
    code, _, err = run(capsys, "schedule", "triangular", "--from", path, "-o", tmp_path / "s.png")
    assert_usage_error(code, err, "--steps-per-epoch")
    assert not (tmp_path / "s.png").exists()


def test_schedule_bounds_overrides_and_order(capsys, tmp_path, run_json):
    code, out, _ = run(capsys, "schedule", "triangular", "--from", run_json, "--base-lr", "0.001", "--max-lr", "0.01",
                       "-o", tmp_path / "s.png")
    assert code == 0 and "0.001 .. 0.01" in out
    code, _, err = run(capsys, "schedule", "triangular", "--from", run_json, "--base-lr", "0.1", "--max-lr", "0.01",
                       "-o", tmp_path / "t.png")
    assert_usage_error(code, err, "base_lr must be below max_lr")


# ---------------------------------------------------------------------------------------------- find


def write_factory(tmp_path: Path, body: str, name: str = "setup.py") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(body))
    return path


TINY = """
import torch
from torch import nn

def _parts():
    torch.manual_seed(0)
    x = torch.randn(256, 8)
    y = (x[:, 0] > 0).long()
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 2))
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, nesterov=True)
    batches = [(x[i:i + 32], y[i:i + 32]) for i in range(0, 256, 32)]
    return model, opt, nn.CrossEntropyLoss(), batches, batches[:2]
"""


@pytest.mark.parametrize(
    "ret",
    [
        "_parts()[:4]",
        "_parts()",
        "dict(zip(['model', 'optimizer', 'loss_fn', 'train_batches', 'val_batches'], _parts()))",
    ],
    ids=["tuple4", "tuple5", "dict"],
)
def test_find_accepts_tuple_and_dict(capsys, tmp_path, ret):
    spec = write_factory(tmp_path, TINY + f"\ndef make():\n    return {ret}\n")
    out_dir = tmp_path / "out"
    code, out, err = run(capsys, "find", f"{spec}:make", "--num-steps", "20", "--start-lr", "1e-4", "--end-lr", "1",
                         "--out", out_dir, "--no-progress")
    assert code == 0, err
    assert {"range_test.json", "loss_vs_lr.png", "lr_vs_step.png", "report.html"} <= set(files_in(out_dir))
    assert "Suggested learning rate" in out or "No rule found" in out


def test_find_example_with_metric_and_val_loss(capsys, tmp_path):
    out_dir = tmp_path / "out"
    code, out, err = run(capsys, "find", f"{EXAMPLE}:make", "--num-steps", "40", "--start-lr", "1e-4", "--end-lr", "10",
                         "--val-loss", "--out", out_dir, "--no-progress")
    assert code == 0, err
    from lrscope.result import RangeTestResult

    r = RangeTestResult.load(out_dir / "range_test.json")
    assert r.val_losses is not None and "accuracy" in r.metrics
    assert (out_dir / "metric_vs_lr.png").stat().st_size > 1000
    html = (out_dir / "report.html").read_text()
    assert html.count("data:image/png;base64,") == 3


def test_find_module_spec(capsys, tmp_path, monkeypatch):
    write_factory(tmp_path, TINY + "\ndef make():\n    return _parts()\n", name="mysetup_mod.py")
    monkeypatch.syspath_prepend(str(tmp_path))
    code, _, err = run(capsys, "find", "mysetup_mod:make", "--num-steps", "10", "--out", tmp_path / "o", "--no-progress")
    assert code == 0, err


@pytest.mark.parametrize(
    "body, spec_attr, fragments",
    [
        (None, "make", ["no such file"]),
        ("def other():\n    pass\n", "make", ["has no attribute 'make'", "other"]),
        ("make = 3\n", "make", ["not a callable"]),
        ("def make():\n    raise RuntimeError('no GPU here')\n", "make", ["raised RuntimeError: no GPU here", "line 2"]),
        ("def make():\n    return (1, 2)\n", "make", ["tuple of 2 item(s)"]),
        ("def make():\n    return None\n", "make", ["returned NoneType"]),
        ("def make():\n    return {'model': 1, 'optimiser': 2}\n", "make", ["missing key(s)", "unknown key(s) 'optimiser'"]),
        ("import not_a_real_module_xyz\n", "make", ["importing", "ModuleNotFoundError"]),
        ("def make(:\n", "make", ["importing", "SyntaxError"]),
        (TINY + "\ndef make():\n    m, o, l, b, v = _parts()\n    return m, o, 'not a loss', b\n", "make", ["loss_fn"]),
        (TINY + "\ndef make():\n    m, o, l, b, v = _parts()\n    return o, m, l, b\n", "make", ["model"]),
    ],
    ids=["missing-file", "missing-attr", "not-callable", "factory-raises", "short-tuple", "none", "bad-dict-keys",
         "import-error", "syntax-error", "loss-not-callable", "swapped"],
)
def test_find_bad_spec(capsys, tmp_path, body, spec_attr, fragments):
    path = tmp_path / "setup.py" if body is None else write_factory(tmp_path, body)
    out_dir = tmp_path / "out"
    code, out, err = run(capsys, "find", f"{path}:{spec_attr}", "--out", out_dir)
    assert_usage_error(code, err, *fragments)
    assert not out_dir.exists()


@pytest.mark.parametrize("spec, fragment", [("examples/digits_mlp.py", "must have the form"),
                                             ("no_such_pkg_abc:make", "no module named 'no_such_pkg_abc'"),
                                             ("x.py:not-a-name", "not a Python name")])
def test_find_malformed_spec(capsys, tmp_path, spec, fragment):
    code, _, err = run(capsys, "find", spec, "--out", tmp_path / "out")
    assert_usage_error(code, err, fragment)


def test_find_lr_order(capsys, tmp_path):
    code, _, err = run(capsys, "find", f"{EXAMPLE}:make", "--start-lr", "1", "--end-lr", "0.1", "--out", tmp_path / "o")
    assert_usage_error(code, err, "--end-lr must be greater than --start-lr")
    assert not (tmp_path / "o").exists()


def test_find_out_is_a_file(capsys, tmp_path):
    f = tmp_path / "taken"
    f.write_text("x")
    code, _, err = run(capsys, "find", f"{EXAMPLE}:make", "--out", f)
    assert_usage_error(code, err, "not a folder")


def test_find_bad_device(capsys, tmp_path):
    torch = pytest.importorskip("torch")
    code, _, err = run(capsys, "find", f"{EXAMPLE}:make", "--device", "warp-drive", "--out", tmp_path / "o")
    assert_usage_error(code, err, "warp-drive")
    if not torch.cuda.is_available():
        code, _, err = run(capsys, "find", f"{EXAMPLE}:make", "--device", "cuda", "--out", tmp_path / "o")
        assert_usage_error(code, err, "CUDA is not available")


def test_find_val_loss_without_val_batches(capsys, tmp_path):
    spec = write_factory(tmp_path, TINY + "\ndef make():\n    return _parts()[:4]\n")
    code, _, err = run(capsys, "find", f"{spec}:make", "--val-loss", "--out", tmp_path / "o")
    assert_usage_error(code, err, "--val-loss", "val_batches=None")


def test_find_model_error_is_reported_without_traceback(capsys, tmp_path):
    body = TINY + "\ndef make():\n    m, o, l, b, v = _parts()\n    return m, o, l, [(x[:, :3], y) for x, y in b]\n"
    spec = write_factory(tmp_path, body)
    out_dir = tmp_path / "o"
    code, _, err = run(capsys, "find", f"{spec}:make", "--num-steps", "5", "--out", out_dir, "--no-progress")
    assert code == 1
    assert "Traceback" not in err and "the range test failed" in err and "--traceback" in err
    assert not out_dir.exists()


def test_task_is_a_named_tuple():
    t = Task("m", "o", len, [])
    assert t.val_batches is None and t.metric is None and t._fields[:4] == ("model", "optimizer", "loss_fn", "train_batches")


# ---------------------------------------------------------------------------------------------- demo


def test_demo_digits_quick(capsys, tmp_path):
    out_dir = tmp_path / "demo"
    code, out, err = run(capsys, "demo", "--dataset", "digits", "--quick", "--out", out_dir, "--no-progress")
    assert code == 0, err
    assert "digits" in out and "method" in out and "reason" in out
    assert "Suggested learning rate" in out
    names = set(files_in(out_dir))
    assert {"range_test.json", "loss_vs_lr.png", "lr_vs_step.png", "metric_vs_lr.png", "report.html"} == names
    assert (out_dir / "loss_vs_lr.png").read_bytes()[:4] == b"\x89PNG"
    html = (out_dir / "report.html").read_text()
    assert html.startswith("<!DOCTYPE html>") and "data:image/png;base64," in html and "<script" not in html


def test_demo_falls_back_to_digits_when_fashion_mnist_is_missing(tmp_path):
    """The README's first command on a machine without the Debian package (a real subprocess)."""
    empty = tmp_path / "no-fashion"
    empty.mkdir()
    exe = shutil.which("lrscope")
    cmd = [exe] if exe else [sys.executable, "-m", "lrscope.cli"]
    env = {**os.environ, "LRSCOPE_FASHION_MNIST": str(empty), "MPLBACKEND": "Agg"}
    proc = subprocess.run(cmd + ["demo", "--quick"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "not found" in proc.stderr and "apt-get install dataset-fashion-mnist" in proc.stderr
    assert "digits instead" in proc.stderr
    assert "Suggested learning rate" in proc.stdout
    out_dir = tmp_path / "lrscope-out"
    assert (out_dir / "loss_vs_lr.png").stat().st_size > 1000
    data = json.loads((out_dir / "range_test.json").read_text())
    assert data["format"] == "lrscope.range_test" and len(data["lrs"]) > 10
    assert "Traceback" not in proc.stderr


def test_demo_fashion_mnist_requested_but_missing(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("LRSCOPE_FASHION_MNIST", str(tmp_path))
    code, _, err = run(capsys, "demo", "--dataset", "fashion-mnist", "--out", tmp_path / "o")
    assert_usage_error(code, err, "dataset-fashion-mnist")
    assert not (tmp_path / "o").exists()


# ------------------------------------------------------------------ guards found by the 2026-11-22 audit


def test_plot_val_loss_source_on_a_run_without_it(capsys, tmp_path, run_json, run_json_b):
    for runs in ([run_json], [run_json, run_json_b]):
        code, _, err = run(capsys, "plot", *runs, "--source", "val_loss", "-o", tmp_path / "v.png")
        assert_usage_error(code, err, "--source val_loss", "no validation loss")
    assert not (tmp_path / "v.png").exists()


def test_find_out_below_a_file_or_unwritable_fails_before_the_sweep(capsys, tmp_path):
    f = tmp_path / "afile"
    f.write_text("x")
    code, out, err = run(capsys, "find", f"{EXAMPLE}:make", "--out", f / "sub", "--no-progress")
    assert_usage_error(code, err, "is a file")
    assert "sweeping" not in out  # checked before any work
    taken = tmp_path / "o"
    (taken / "report.html").mkdir(parents=True)
    code, out, err = run(capsys, "find", f"{EXAMPLE}:make", "--out", taken, "--no-progress")
    assert_usage_error(code, err, "report.html there is a folder")
    assert "sweeping" not in out and files_in(taken) == ["report.html"]


def test_a_failed_write_leaves_no_partial_output(capsys, tmp_path, monkeypatch):
    import lrscope.cli._main as m

    real = m._atomic_text

    def disk_full(path, text):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(m, "_atomic_text", disk_full)
    out_dir = tmp_path / "new" / "o"
    code, _, err = run(capsys, "demo", "--dataset", "digits", "--quick", "-o", out_dir, "--no-progress")
    assert_usage_error(code, err, "cannot write the outputs", "No space left")
    assert not out_dir.exists()  # nothing half-written: the files it had made are gone, and the folder
    monkeypatch.setattr(m, "_atomic_text", real)


def test_schedule_json_never_overwrites_its_input(capsys, tmp_path, run_json):
    before = Path(run_json).read_bytes()
    target = Path(run_json).with_suffix(".png")
    code, _, err = run(capsys, "schedule", "triangular", "--from", run_json, "--json", "-o", target)
    assert_usage_error(code, err, "is the --from run itself")
    assert Path(run_json).read_bytes() == before and not target.exists()


def test_schedule_json_says_it_was_written(capsys, tmp_path, run_json):
    code, out, err = run(capsys, "schedule", "triangular", "--from", run_json, "--json", "-o", tmp_path / "s.png")
    assert code == 0, err
    assert f"and {tmp_path / 's.json'}" in out and json.loads((tmp_path / "s.json").read_text())["kind"] == "triangular"


def test_schedule_too_many_steps(capsys, tmp_path, run_json):
    code, _, err = run(capsys, "schedule", "triangular", "--from", run_json, "--epochs", "100000000", "-o", tmp_path / "s.png")
    assert_usage_error(code, err, "--epochs 100000000", "at most")


@pytest.mark.parametrize(
    "argv, fragment",
    [
        (["find", f"{EXAMPLE}:make", "--diverge-threshold", "0.5"], "must be a number > 1"),
        (["demo", "--end-lr", "1e-6"], "--end-lr must be greater than --start-lr"),
        (["demo", "--dataset", "digits", "--batch-size", "100000"], "--batch-size 100000 is larger than"),
    ],
)
def test_option_errors_name_the_option(capsys, tmp_path, argv, fragment):
    code, _, err = run(capsys, *argv, "--out", tmp_path / "o", "--no-progress")
    assert_usage_error(code, err, fragment)
    assert not (tmp_path / "o").exists()


def test_find_device_moves_the_model_and_records_steps_per_epoch(capsys, tmp_path):
    out_dir = tmp_path / "o"
    code, out, err = run(capsys, "find", f"{EXAMPLE}:make", "--device", "cpu", "--num-steps", "20", "-o", out_dir,
                         "--no-progress", "--metric")
    assert code == 0, err
    assert "Bounds for cyclical schedules (loss curve)" in out and "Bounds from the accuracy curve" in out
    from lrscope.result import RangeTestResult

    res = RangeTestResult.load(out_dir / "range_test.json")
    assert isinstance(res.config["steps_per_epoch"], int) and res.config["steps_per_epoch"] > 0
    code, out, err = run(capsys, "schedule", "one_cycle", "--from", out_dir / "range_test.json", "-o", tmp_path / "s.png")
    assert code == 0, err  # no --steps-per-epoch needed any more


def test_plot_metric_of_several_runs_shades_each_runs_bounds(capsys, tmp_path, make_run, monkeypatch):
    import lrscope.plot as plot

    a = str(make_run(seed=0).save(tmp_path / "a.json"))
    b = str(make_run(seed=1).save(tmp_path / "b.json"))
    seen = {}
    real = plot.plot_metric_runs

    def spy(results, labels=None, metric=None, ax=None, **kw):
        ax = real(results, labels, metric, ax=ax, **kw)
        seen["spans"] = [p for p in ax.patches if p.get_alpha() is not None]
        return ax

    monkeypatch.setattr(plot, "plot_metric_runs", spy)
    code, _, err = run(capsys, "plot", a, b, "--metric", "-o", tmp_path / "m.png")
    assert code == 0, err
    assert len(seen["spans"]) == 2  # one shaded bounds span per run


def test_find_verify_trains_around_the_reading_and_keeps_the_answer(capsys, tmp_path):
    out_dir = tmp_path / "o"
    code, out, err = run(capsys, "find", f"{EXAMPLE}:make", "--num-steps", "40", "--verify", "300", "-o", out_dir,
                         "--no-progress")
    assert code == 0, err
    assert "Verifying: trials of 30 steps (300 / 10)" in out and "Verified learning rate:" in out
    # with --device the trials move each batch to the model, as the range test does: the same answer on cpu
    code, out2, err = run(capsys, "find", f"{EXAMPLE}:make", "--num-steps", "40", "--verify", "300", "-o",
                          tmp_path / "d", "--no-progress", "--device", "cpu")
    assert code == 0, err
    verified = [line for line in out.splitlines() if line.startswith("Verified learning rate:")]
    assert verified and verified[0].split(";")[0] in out2
    from lrscope.result import RangeTestResult

    v = RangeTestResult.load(out_dir / "range_test.json").config["verified"]
    assert v["trial_steps"] == 30 and v["total_steps"] == 300
    html = (out_dir / "report.html").read_text()
    assert "Verified by training" in html and html.count("<td>diverged</td>") + html.count("</td><td>") >= 3
    # `lrscope suggest` shows it again, and --json carries it
    code, again, err = run(capsys, "suggest", out_dir / "range_test.json")
    assert code == 0 and f"Verified learning rate: {v['nice']:g} ({v['lr']:.3g}" in again
    code, js, err = run(capsys, "suggest", out_dir / "range_test.json", "--json")
    assert code == 0 and json.loads(js)["verified"]["lr"] == v["lr"]
    assert len(v["candidates"]) >= 3 and v["steps"] == 30 * len(v["candidates"])
    assert v["candidates"][0] < v["lr"] * 10 ** v["shrink"] * 1.0001 and v["lr"] > 0
    assert f"{v['lr']:.3g}" in out


def test_find_verify_needs_a_run_of_at_least_30_steps(capsys, tmp_path):
    code, out, err = run(capsys, "find", f"{EXAMPLE}:make", "--verify", "20", "-o", tmp_path / "o")
    assert code == 2 and "--verify" in err and "20" in err


def test_find_verify_on_a_curve_that_says_nothing_reports_it(capsys, tmp_path):
    body = TINY + "\ndef make():\n    m, o, _, b, _ = _parts()\n    return m, o, (lambda out, y: (out * 0).sum() + 1.0), b\n"
    spec = write_factory(tmp_path, body)
    out_dir = tmp_path / "o"
    code, out, err = run(capsys, "find", f"{spec}:make", "--num-steps", "20", "--verify", "100", "-o", out_dir,
                         "--no-progress")
    assert code == 0, err
    assert "Not verified:" in out and "abstained" in out
    from lrscope.result import RangeTestResult

    assert RangeTestResult.load(out_dir / "range_test.json").config["verified"]["lr"] is None


def test_find_verify_says_why_it_cannot_reuse_a_one_shot_iterator(capsys, tmp_path):
    body = TINY + "\ndef make():\n    m, o, l, b, _ = _parts()\n    return m, o, l, iter(b * 10)\n"
    spec = write_factory(tmp_path, body)
    code, out, err = run(capsys, "find", f"{spec}:make", "--num-steps", "20", "--verify", "100", "-o", tmp_path / "o",
                         "--no-progress")
    assert code == 0, err
    assert "Not verified: --verify needs train_batches it can iterate again" in out


def test_find_verify_failure_in_user_code_keeps_the_range_test_and_exits_1(capsys, tmp_path):
    # the factory's loss counts its calls and raises once the sweep's 20 steps are done: in the trials
    body = TINY + """
CALLS = [0]

def make():
    m, o, loss, b, _ = _parts()
    def flaky(out, y):
        CALLS[0] += 1
        if CALLS[0] > 20:
            raise RuntimeError("out of memory (simulated)")
        return loss(out, y)
    return m, o, flaky, b
"""
    spec = write_factory(tmp_path, body)
    out_dir = tmp_path / "o"
    code, out, err = run(capsys, "find", f"{spec}:make", "--num-steps", "20", "--start-lr", "1e-4", "--end-lr", "1",
                         "--verify", "100", "-o", out_dir, "--no-progress")
    assert code == 1
    assert "the verification failed: RuntimeError: out of memory (simulated)" in err
    from lrscope.result import RangeTestResult

    res = RangeTestResult.load(out_dir / "range_test.json")  # the range test is kept
    assert len(res) == 20 and res.config["verified"]["lr"] is None
