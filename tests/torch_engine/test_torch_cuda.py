"""CUDA checks: no per-step host-device synchronisation, and exact restore of GPU state.

Skipped without CUDA. To run them on a GPU machine::

    python -m pytest tests/torch_engine/test_torch_cuda.py -q

The sync check uses ``torch.cuda.set_sync_debug_mode("warn")``, which makes every synchronising
CUDA call (``.item()``, ``.cpu()``, blocking copies, ``cudaStreamSynchronize``) emit a warning. The
engine may synchronise only once per read-back chunk, so a sweep of ``num_steps`` points with
``chunk_size=c`` must show at most ``ceil(num_steps / c)`` of them. (``"error"`` mode would raise at
the first read-back, which is by design; "warn" lets us count.) The snapshot itself copies to the
host once before and after the sweep, so the count is taken with ``restore=False``.
"""

from __future__ import annotations

import math
import warnings

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
def test_at_most_one_sync_per_chunk(chunk_size):
    torch.manual_seed(0)
    model = Net().cuda()
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    batches = _cuda_batches()
    num_steps = 48
    range_test(model, opt, batches, CE, num_steps=4, restore=False)  # warm-up: CUDA context, kernels, optimizer state
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("warn")
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            range_test(
                model, opt, batches, CE, start_lr=1e-5, end_lr=1e-2, num_steps=num_steps,
                chunk_size=chunk_size, restore=False, diverge_threshold=None, progress=False,
            )  # fmt: skip
    finally:
        torch.cuda.set_sync_debug_mode(0)
    syncs = [w for w in caught if "synchroniz" in str(w.message).lower()]
    assert len(syncs) <= math.ceil(num_steps / chunk_size), [str(w.message) for w in syncs[:5]]


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
