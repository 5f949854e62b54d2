"""How `lrscope find` loads a SPEC: modules in the current folder, factories that exit, syntax errors.

The console script ``lrscope`` (unlike ``python -m lrscope.cli``) does not put the current folder on
sys.path, so the subprocess tests run the command through a launcher script kept in another folder:
its sys.path is the one a console script gets.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from lrscope.cli import main
from lrscope.cli._spec import SpecError, load_task

pytest.importorskip("torch")

REPO = Path(__file__).resolve().parents[2]

# a tiny factory with the contract of examples/digits_mlp.py: (model, optimizer, loss_fn, train_batches)
FACTORY = textwrap.dedent("""\
    import torch
    from torch import nn


    def make():
        g = torch.Generator().manual_seed(0)
        x = torch.randn(128, 8, generator=g)
        y = (x[:, 0] > 0).long()
        torch.manual_seed(0)
        model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 2))
        optimizer = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
        batches = [(x[i:i + 32], y[i:i + 32]) for i in range(0, 128, 32)]
        return model, optimizer, nn.CrossEntropyLoss(), batches
""")


def console_script(tmp_path: Path) -> list[str]:
    """A command that runs `lrscope` with a console script's sys.path (the launcher's folder, not the cwd)."""
    launcher = tmp_path / "bin" / "lrscope_launcher.py"
    launcher.parent.mkdir(exist_ok=True)
    launcher.write_text("import sys\nfrom lrscope.cli import main\nsys.exit(main())\n")
    return [sys.executable, str(launcher)]


def run_in(cwd: Path, cmd: list[str], *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MPLBACKEND": "Agg", "PYTHONPATH": str(REPO / "src")}
    return subprocess.run(cmd + list(args), check=False, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def assert_one_line_error(code: int, err: str, *fragments: str) -> str:
    assert code == 2, err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "error:" in lines[0]
    for f in fragments:
        assert f in lines[0], f"{f!r} not in {lines[0]!r}"
    return lines[0]


# ---------------------------------------------------------------------- package.module:factory from the cwd


@pytest.mark.parametrize("spec", ["mysetup:make", "pkg.setup_mod:make"])
def test_find_imports_a_module_spec_from_the_current_folder(tmp_path, spec):
    work = tmp_path / "work"
    (work / "pkg").mkdir(parents=True)
    (work / "mysetup.py").write_text(FACTORY)
    (work / "pkg" / "__init__.py").write_text("")
    (work / "pkg" / "setup_mod.py").write_text(FACTORY)
    out = tmp_path / "out"
    proc = run_in(work, console_script(tmp_path), "find", spec, "--num-steps", "10", "--out", str(out),
                  "--no-progress", "--threads", "1")
    assert proc.returncode == 0, proc.stderr
    assert "no module named" not in proc.stderr
    assert spec in proc.stdout
    assert (out / "range_test.json").is_file()


def test_module_spec_loading_leaves_sys_path_as_it_was(tmp_path, monkeypatch):
    name = f"lrscope_test_setup_{os.getpid()}"
    (tmp_path / f"{name}.py").write_text(FACTORY)
    monkeypatch.chdir(tmp_path)
    cwd = os.getcwd()
    # what a console script sees: neither the cwd nor '' on sys.path
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", ".", cwd)])
    before = list(sys.path)
    try:
        task, where = load_task(f"{name}:make")
    finally:
        sys.modules.pop(name, None)
    assert where == f"{name}:make"
    assert task.model is not None
    assert sys.path == before


# ----------------------------------------------------------------------------------- SystemExit, one line


def test_factory_calling_sys_exit_is_a_usage_error(capsys, tmp_path):
    f = tmp_path / "exiter.py"
    f.write_text("import sys\n\n\ndef make():\n    sys.exit(3)\n")
    code = main(["find", f"{f}:make", "--out", str(tmp_path / "o"), "--no-progress"])
    _, err = capsys.readouterr()
    line = assert_one_line_error(code, err, "exited", "SystemExit 3", "exiter.py, line 5", "sys.exit")
    assert "make()" in line
    assert not (tmp_path / "o").exists()


def test_module_exiting_on_import_is_a_usage_error(capsys, tmp_path):
    f = tmp_path / "script.py"
    f.write_text("import sys\nsys.exit('no arguments given')\n\n\ndef make():\n    pass\n")
    code = main(["find", f"{f}:make", "--out", str(tmp_path / "o"), "--no-progress"])
    _, err = capsys.readouterr()
    assert_one_line_error(code, err, "importing", "exited", "SystemExit: 'no arguments given'", "script.py, line 2",
                          "__main__")


def test_factory_raising_bare_system_exit_in_a_real_process(tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    (work / "exiter_mod.py").write_text("def make():\n    raise SystemExit(3)\n")
    proc = run_in(work, console_script(tmp_path), "find", "exiter_mod:make", "--out", str(tmp_path / "o"),
                  "--no-progress")
    assert_one_line_error(proc.returncode, proc.stderr, "exiter_mod:make()", "SystemExit 3", "exiter_mod.py, line 2")


# ------------------------------------------------------------------------------------------- SyntaxError


def test_syntax_error_names_the_file_and_line_once(capsys, tmp_path):
    f = tmp_path / "syntaxerr.py"
    f.write_text("x = 1\ndef make(:\n    pass\n")
    code = main(["find", f"{f}:make", "--out", str(tmp_path / "o"), "--no-progress"])
    _, err = capsys.readouterr()
    line = assert_one_line_error(code, err, "SyntaxError", "(syntaxerr.py, line 2)")
    assert line.count("line 2") == 1, line


def test_syntax_error_in_a_module_spec_names_the_file_and_line_once(tmp_path, monkeypatch):
    name = f"lrscope_test_syntax_{os.getpid()}"
    (tmp_path / f"{name}.py").write_text("def make(:\n    pass\n")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SpecError) as info:
        load_task(f"{name}:make")
    msg = str(info.value)
    assert f"({name}.py, line 1)" in msg
    assert msg.count("line 1") == 1, msg
    assert name not in sys.modules


def test_system_exit_is_a_spec_error_not_an_exit(tmp_path):
    f = tmp_path / "exiter.py"
    f.write_text("def make():\n    raise SystemExit\n")
    with pytest.raises(SpecError, match=r"exited \(SystemExit\)"):
        load_task(f"{f}:make")
