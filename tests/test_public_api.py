"""The package's outer promises: a light import, a version, the README/CI contract."""

import re
import subprocess
import sys
from pathlib import Path

import lrscope

ROOT = Path(__file__).resolve().parents[1]


def test_import_is_numpy_only():
    code = (
        "import sys, lrscope, lrscope.schedules, lrscope.analysis, lrscope.result, lrscope.datasets; "
        "heavy = [m for m in ('torch', 'keras', 'matplotlib', 'tensorflow', 'jax', 'sklearn', 'tqdm') if m in sys.modules]; "
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"import lrscope pulled in heavy modules: {out.stdout.strip()}"


def test_version_is_pep440():
    assert re.fullmatch(r"\d+\.\d+\.\d+([ab]|rc)?\d*", lrscope.__version__)


def test_py_typed_ships():
    assert (Path(lrscope.__file__).parent / "py.typed").is_file()


def _readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```(?:bash|sh|console)?\n(.*?)```", text, flags=re.S)
    return [line.strip() for block in blocks[:1] for line in block.splitlines() if line.strip() and not line.startswith("#")]


def test_readme_opens_with_two_commands_and_ci_runs_the_test_one():
    cmds = _readme_commands()
    assert len(cmds) == 2, f"README's first code block must hold exactly two commands, found {cmds}"
    demo, tests = cmds
    assert "lrscope demo" in demo
    assert "pytest" in tests
    ci = (ROOT / ".ci" / "run").read_text()
    assert tests in ci, ".ci/run must run the README's test command verbatim"
