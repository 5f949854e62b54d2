"""CUDA checks: no host-device synchronisation inside the sweep loop, and exact restore of GPU state.

Skipped without CUDA. To run them on a GPU machine::

    python -m pytest tests/torch_engine/test_torch_cuda.py -q

The sync check runs the sweep under ``torch.cuda.set_sync_debug_mode("error")``, which makes every
synchronising CUDA call (``.item()``, ``.cpu()``, blocking copies, ``cudaStreamSynchronize``) raise.
The engine reads device values back in exactly one place, ``engine._to_host`` (called by the sweep's
``flush`` at each chunk boundary); the test wraps that one function so it runs with the debug mode
off and puts ``"error"`` back after it. Any other synchronising call anywhere in the sweep then fails
the test, and counting the wrapped calls bounds the syncs to one per chunk. The snapshot itself
copies to the host before and after the sweep, so the check runs with ``restore=False``.
"""

from __future__ import annotations

import math

import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402
from torch_helpers import FullState, Net, make_data  # noqa: E402

from lrscope.torch import range_test  # noqa: E402

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")

CE = nn.functional.cross_entropy


def _cuda_batches(n=512):
    return [(x.cuda(), y.cuda()) for x, y in make_data(n=n)]


@pytest.mark.parametrize("chunk_size", [8, 16])
def test_no_sync_in_the_sweep_loop_except_the_chunk_read_back(chunk_size, monkeypatch):
    from lrscope.torch import engine

    torch.manual_seed(0)
    model = Net().cuda()
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    batches = _cuda_batches()
    num_steps = 48
    range_test(model, opt, batches, CE, num_steps=4, restore=False, progress=False)  # warm-up: CUDA context, kernels, optimizer state
    torch.cuda.synchronize()

    read_back = engine._to_host
    reads: list[int] = []

    def read_back_allowed_to_sync(values):
        reads.append(len(values))
        torch.cuda.set_sync_debug_mode(0)
        try:
            return read_back(values)
        finally:
            torch.cuda.set_sync_debug_mode("error")

    monkeypatch.setattr(engine, "_to_host", read_back_allowed_to_sync)
    torch.cuda.set_sync_debug_mode("error")
    try:
        res = range_test(
            model, opt, batches, CE, start_lr=1e-5, end_lr=1e-2, num_steps=num_steps,
            chunk_size=chunk_size, restore=False, diverge_threshold=None, progress=False,
        )  # fmt: skip
    finally:
        torch.cuda.set_sync_debug_mode(0)
    assert torch.cuda.get_sync_debug_mode() == 0
    assert len(res) == num_steps and res.stop_reason == "completed"
    # one read-back (of the chunk's losses: no validation, metric or scaler here) per chunk, no more
    assert len(reads) == math.ceil(num_steps / chunk_size), reads
    assert sum(reads) == num_steps


def test_gpu_state_restored_bit_exactly_with_amp_and_scaler():
    torch.manual_seed(0)
    model = Net().cuda()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    scaler = torch.amp.GradScaler("cuda")
    batches = _cuda_batches()
    range_test(model, opt, batches, CE, num_steps=4, restore=False, amp=True, grad_scaler=scaler)  # give it state
    torch.cuda.manual_seed(1)
    cuda_rng = torch.cuda.get_rng_state_all()
    before = FullState(model, opt, scaler)
    res = range_test(model, opt, batches, CE, start_lr=1e-5, end_lr=10.0, num_steps=60, amp=True, grad_scaler=scaler)
    assert res.config["device"].startswith("cuda") and res.config["amp"] == "float16"
    assert before.diff() == []
    assert all(torch.equal(a, b) for a, b in zip(cuda_rng, torch.cuda.get_rng_state_all()))
