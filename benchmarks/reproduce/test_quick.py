"""Each reproduction script's ``--quick`` mode runs end to end (issue 13: the scripts must not rot).

    python -m pytest benchmarks/reproduce/test_quick.py -q

Each run is a fresh subprocess (Keras' backend is fixed per process) writing into a temp folder
(``LRSCOPE_REPRO_OUT``), so the committed numbers in ``out/`` and ``docs/img/`` are never touched.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent

pytest.importorskip("torch")
pytest.importorskip("matplotlib")


@pytest.mark.parametrize(
    ("script", "extra", "out"),
    [
        ("exp1_fixed_vs_finder.py", [], "exp1.json"),
        ("exp1_fixed_vs_finder.py", ["--keras"], "exp1_keras.json"),
        ("exp2_adam_vs_clr.py", [], "exp2.json"),
        ("exp3_finetune.py", [], "exp3.json"),
        ("exp4_vgg_range_test.py", [], "exp4.json"),
    ],
)
def test_quick_mode_runs_and_writes_its_json(tmp_path: Path, script: str, extra: list[str], out: str) -> None:
    if "--keras" in extra and importlib.util.find_spec("keras") is None:  # not imported here: its backend is per process
        pytest.skip("keras is not installed")
    env = {**os.environ, "LRSCOPE_REPRO_OUT": str(tmp_path), "KERAS_BACKEND": os.environ.get("KERAS_BACKEND", "torch")}
    p = subprocess.run([sys.executable, str(HERE / script), "--quick", *extra], env=env, capture_output=True,
                       text=True, timeout=600)
    assert p.returncode == 0, p.stderr[-3000:]
    data = json.loads((tmp_path / "quick" / out).read_text())
    assert data["args"]["quick"] is True
    assert "machine" in data
