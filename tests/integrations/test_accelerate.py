"""lrscope on Hugging Face Accelerate (issue 12): prepared objects, loss through accelerator.backward,
one process in this one and two under torchrun (gloo, CPU) in subprocesses with a timeout."""

from __future__ import annotations

import copy
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
accelerate = pytest.importorskip("accelerate")

from torch import nn  # noqa: E402

import lrscope.torch as lt  # noqa: E402
from lrscope.torch.integrations.accelerate import range_test  # noqa: E402

from .conftest import digits_arrays  # noqa: E402

WORKER = Path(__file__).with_name("_accelerate_worker.py")


def _objects(shuffle: bool = False):
    x, y = digits_arrays(256)
    ds = torch.utils.data.TensorDataset(torch.from_numpy(x), torch.from_numpy(y))
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))
    return model, torch.utils.data.DataLoader(ds, batch_size=32, shuffle=shuffle)


@pytest.fixture(scope="module")
def accelerator():
    return accelerate.Accelerator(cpu=True)


def test_single_process_matches_plain_range_test_and_restores(accelerator):
    model, loader = _objects()
    plain_model = copy.deepcopy(model)
    plain = lt.range_test(
        plain_model, torch.optim.SGD(plain_model.parameters(), lr=0.1, momentum=0.9), loader,
        nn.functional.cross_entropy, start_lr=1e-4, end_lr=5.0, num_steps=20, progress=False,
    )  # fmt: skip
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    pmodel, popt, ploader = accelerator.prepare(model, opt, loader)
    before = {k: v.clone() for k, v in pmodel.state_dict().items()}
    result = range_test(
        accelerator, pmodel, popt, ploader, nn.functional.cross_entropy,
        start_lr=1e-4, end_lr=5.0, num_steps=20, progress=False,
    )  # fmt: skip
    assert result.config["integration"] == "accelerate"
    assert result.losses.tolist() == plain.losses.tolist()
    assert all(torch.equal(before[k], v) for k, v in pmodel.state_dict().items())
    assert len(popt.state) == 0 and popt.param_groups[0]["lr"] == 0.1
    assert ploader.iteration == 0  # the sweep ran the loader for 20 batches (2.5 passes): counter put back
    assert accelerator.gradient_state.active_dataloader is None


def test_backward_goes_through_the_accelerator(accelerator, monkeypatch):
    model, loader = _objects()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    pmodel, popt, ploader = accelerator.prepare(model, opt, loader)
    seen = []
    real = accelerator.backward
    monkeypatch.setattr(accelerator, "backward", lambda loss, **kw: (seen.append(float(loss.detach())), real(loss, **kw)))
    result = range_test(accelerator, pmodel, popt, ploader, nn.functional.cross_entropy, num_steps=6, progress=False)
    assert seen == pytest.approx(result.losses.tolist())


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [({"amp": True}, "accelerator's to decide"), ({"backward": print}, "accelerator's to decide")],
)
def test_refuses_what_accelerate_owns(accelerator, kwargs, needle):
    model, loader = _objects()
    pmodel, popt, ploader = accelerator.prepare(model, torch.optim.SGD(model.parameters(), lr=0.1), loader)
    with pytest.raises(ValueError, match=needle):
        range_test(accelerator, pmodel, popt, ploader, nn.functional.cross_entropy, num_steps=5, **kwargs)


def test_refuses_accelerator_gradient_accumulation(accelerator, monkeypatch):
    model, loader = _objects()
    pmodel, popt, ploader = accelerator.prepare(model, torch.optim.SGD(model.parameters(), lr=0.1), loader)
    monkeypatch.setattr(type(accelerator), "gradient_accumulation_steps", property(lambda self: 4))
    with pytest.raises(ValueError, match="accumulation_steps=k"):
        range_test(accelerator, pmodel, popt, ploader, nn.functional.cross_entropy, num_steps=5)


def _launch(tmp_path: Path, nproc: int, num_steps: int, timeout: float = 180) -> list[dict]:
    """torchrun in its own session; on timeout the whole group (launcher and workers) is killed."""
    env = dict(os.environ, OMP_NUM_THREADS="1")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}", str(WORKER), str(tmp_path), str(num_steps)]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:  # a hang fails the test instead of hanging CI
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        pytest.fail(f"{nproc}-process accelerate run did not finish in {timeout} s:\n{out[-4000:]}")
    assert proc.returncode == 0, out[-4000:]
    return [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in range(nproc)]


@pytest.fixture(scope="module")
def two_ranks(tmp_path_factory):
    return _launch(tmp_path_factory.mktemp("acc2"), 2, 30)


def test_two_processes_complete_and_restore(two_ranks):
    """Under torchrun (2 CPU processes, gloo; Accelerator(cpu=True) picks MULTI_CPU up from the environment):
    both ranks finish, and each restores its weights, optimizer, loader counter and active-loader record."""
    for d in two_ranks:
        assert d["world"] == 2 and d["config"] == {"integration": "accelerate", "num_processes": 2}
        assert d["stop_reason"] in ("completed", "diverged") and len(d["losses"]) >= 10
        assert d["restored"] and d["optimizer_state_empty"] and d["loader_iteration_kept"]


def test_two_processes_record_the_same_curve(two_ranks):
    """With the distributed engine each step's loss is the global mean, so both ranks agree."""
    pytest.importorskip("lrscope.torch.distributed", reason="needs the distributed engine (issue 12)")
    a, b = two_ranks
    assert a["lrs"] == b["lrs"]
    assert a["losses"] == b["losses"]
    assert a["stop_reason"] == b["stop_reason"]
