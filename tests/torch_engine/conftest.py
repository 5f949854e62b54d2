"""Fixtures for the PyTorch engine tests (helpers live in torch_helpers.py)."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
# Tiny models: one thread is fastest and steadiest on a shared 2-core CI machine.
torch.set_num_threads(1)

from torch_helpers import Net, make_data, pretrain  # noqa: E402


@pytest.fixture
def data() -> list:
    return make_data()


@pytest.fixture
def trained(data: list) -> tuple:
    torch.manual_seed(0)
    model = Net()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    pretrain(model, opt, data)
    return model, opt
