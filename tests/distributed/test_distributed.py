"""The range test under torch.distributed: 2 CPU processes (gloo) on scikit-learn digits.

Each case launches ``_worker.py`` once per rank as its own process and joins them with a timeout, so a
hang fails the test instead of hanging CI. The workers end with ``dist.barrier()`` before
``destroy_process_group()``.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("sklearn")
import torch.distributed as dist  # noqa: E402

if not dist.is_available():  # pragma: no cover - depends on the torch build
    pytest.skip("torch.distributed is not available", allow_module_level=True)

WORKER = Path(__file__).with_name("_worker.py")
JOIN_TIMEOUT = 180  # seconds for all the processes of one case (a hang fails here)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env() -> dict[str, str]:
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONWARNINGS="ignore")
    src = str(Path(__file__).resolve().parents[2] / "src")
    env["PYTHONPATH"] = src + os.pathsep + env.get("PYTHONPATH", "")
    return env


def launch(case: str, world: int, out: Path) -> list[dict[str, Any]]:
    """Run ``case`` on ``world`` processes; each rank's report (a hang or a crash fails the test)."""
    out.mkdir(parents=True, exist_ok=True)
    port = str(_free_port())
    procs = [
        subprocess.Popen([sys.executable, str(WORKER), case, str(r), str(world), port, str(out)], env=_env(),
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for r in range(world)
    ]
    logs = []
    try:
        for p in procs:
            logs.append(p.communicate(timeout=JOIN_TIMEOUT)[0])
    except subprocess.TimeoutExpired:
        for p in procs:
            p.kill()
        pytest.fail(f"case {case!r}: the processes did not end within {JOIN_TIMEOUT} s (a hang)")
    for r, (p, log) in enumerate(zip(procs, logs)):
        assert p.returncode == 0, f"rank {r} exited with {p.returncode}:\n{log}"
    return [json.loads((out / f"rank{r}.json").read_text()) for r in range(world)]


def test_two_ranks_agree_and_match_one_process(tmp_path: Path) -> None:
    r0, r1 = launch("basic", 2, tmp_path / "two")
    (single,) = launch("basic", 1, tmp_path / "one")
    for rep in (r0, r1, single):
        assert "error" not in rep, rep.get("error")
        assert rep["restored"], "the weights were not restored"
    a, b, c = r0["result"], r1["result"], single["result"]
    # both ranks return the same result, exactly
    assert a == b
    assert r0["verify"] == r1["verify"]
    cfg = a["config"]
    assert cfg["world_size"] == 2 and cfg["backend"] == "gloo" and cfg["distributed"] == "torch.distributed"
    assert cfg["batch_size"] == 64 and cfg["batch_size_per_rank"] == [32, 32]
    assert cfg["batches_used"] == 2 * 30  # 30 steps on each of 2 ranks
    # the same curve as one process over the same global batches (the global mean of each step)
    assert a["stop_reason"] == c["stop_reason"] == "completed"
    np.testing.assert_allclose(a["lrs"], c["lrs"], rtol=0, atol=0)
    np.testing.assert_allclose(a["losses"], c["losses"], rtol=1e-4)
    np.testing.assert_allclose(np.asarray(a["val_losses"], float), np.asarray(c["val_losses"], float), rtol=1e-4)
    np.testing.assert_allclose(a["metrics"]["accuracy"], c["metrics"]["accuracy"], atol=1e-6)
    # verify_suggestion: trials on every rank, the same pick, and one process's numbers
    assert r0["verify"]["lr"] == pytest.approx(single["verify"]["lr"], rel=1e-9)
    np.testing.assert_allclose(r0["verify"]["scores"], single["verify"]["scores"], rtol=1e-5)


def test_nan_on_one_rank_stops_every_rank_at_the_same_step(tmp_path: Path) -> None:
    r0, r1 = launch("nan", 2, tmp_path)
    assert "error" not in r0 and "error" not in r1
    assert r0["result"] == r1["result"]
    res = r0["result"]
    assert res["stop_reason"] == "non-finite loss"
    assert len(res["losses"]) == 12  # rank 1's 12th loss is NaN: the global mean of step 11 is NaN
    assert r0["restored"] and r1["restored"]


def test_data_running_out_on_one_rank_stops_every_rank(tmp_path: Path) -> None:
    r0, r1 = launch("exhaust", 2, tmp_path)
    assert "error" not in r0 and "error" not in r1
    assert r0["result"] == r1["result"]
    res = r0["result"]
    assert res["stop_reason"] == "data exhausted"
    assert len(res["losses"]) == 11  # rank 1 had 11 batches
    assert r0["restored"] and r1["restored"]


@pytest.mark.parametrize("case", ["raise", "raise_linger"])
def test_a_rank_that_raises_fails_the_others_naming_it(tmp_path: Path, case: str) -> None:
    r0, r1 = launch(case, 2, tmp_path)
    assert r1["error"]["type"] == "ValueError" and r1["error"]["message"] == "boom on purpose"
    assert r0["error"]["type"] == "RankFailedError"
    assert r0["error"]["rank"] == 1
    assert "rank 1: ValueError: boom on purpose" in r0["error"]["message"]
    if case == "raise_linger":  # rank 1 stays alive: rank 0 fails on the group's 4 s timeout, not later
        assert r0["seconds"] < 30
    for rep in (r0, r1):
        assert rep["restored"]
        assert rep["left_behind"] == []  # the disk snapshots are gone
        assert rep["initialized_after"] is False  # the group was aborted: no later collective can hang


@pytest.mark.parametrize("case", ["verify_raise", "verify_raise_linger"])
def test_verify_suggestion_names_the_rank_that_raised(tmp_path: Path, case: str) -> None:
    r0, r1 = launch(case, 2, tmp_path)
    assert r1["error"]["type"] == "ValueError" and r1["error"]["message"] == "boom in a trial"
    assert r0["error"]["type"] == "RankFailedError" and r0["error"]["rank"] == 1
    assert "verify_suggestion failed on another process: rank 1: ValueError: boom in a trial" in r0["error"]["message"]
    if case == "verify_raise_linger":  # rank 1 stays alive: rank 0 fails on the group's 4 s timeout
        assert r0["seconds"] < 30
    for rep in (r0, r1):
        assert rep["restored"]  # each trial puts the weights back, also when it raises
        assert rep["initialized_after"] is False


def test_torchrun_cli_find(tmp_path: Path) -> None:
    """`torchrun --nproc_per_node=2 -m lrscope find SPEC`: the factory builds the DDP model; rank 0 writes."""
    out = tmp_path / "out"
    factory = Path(__file__).with_name("_cli_factory.py")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "-m", "lrscope",
           "find", f"{factory}:make", "--num-steps", "24", "--out", str(out), "--no-progress"]
    try:
        proc = subprocess.run(cmd, env=_env(), capture_output=True, text=True, timeout=JOIN_TIMEOUT, cwd=tmp_path)
    except subprocess.TimeoutExpired:
        pytest.fail(f"torchrun did not end within {JOIN_TIMEOUT} s (a hang)")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.count("lrscope find:") == 1, proc.stdout  # only rank 0 prints
    assert proc.stdout.count("Suggested learning rate") == 1
    saved = json.loads((out / "range_test.json").read_text())
    assert saved["config"]["world_size"] == 2
    assert saved["config"]["batch_size"] == 64 and saved["config"]["batch_size_per_rank"] == [32, 32]
    assert len(saved["losses"]) == 24
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no temp folder left beside it
