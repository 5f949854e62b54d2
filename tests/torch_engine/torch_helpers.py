"""Shared helpers for the PyTorch engine tests: small models, data, and a bit-exact state checker.

(A plain module, not conftest.py, so test files can import it by a name no other folder uses.)
"""

from __future__ import annotations

import copy
import random
from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402


def bits_equal(a: torch.Tensor, b: torch.Tensor) -> bool:
    """Same dtype, shape, device and the same bytes (NaN payloads included)."""
    if a.dtype != b.dtype or a.shape != b.shape or a.device != b.device:
        return False
    a = a.detach().cpu().contiguous().reshape(-1)
    b = b.detach().cpu().contiguous().reshape(-1)
    if a.numel() == 0:
        return True
    return torch.equal(a.view(torch.uint8), b.view(torch.uint8))


def _deep_equal(x: Any, y: Any, path: str = "") -> list[str]:
    if isinstance(x, torch.Tensor) or isinstance(y, torch.Tensor):
        ok = isinstance(x, torch.Tensor) and isinstance(y, torch.Tensor) and bits_equal(x, y)
        return [] if ok else [path]
    if isinstance(x, dict) and isinstance(y, dict):
        if set(x) != set(y):
            return [f"{path} keys {sorted(map(str, x))} != {sorted(map(str, y))}"]
        return [d for k in x for d in _deep_equal(x[k], y[k], f"{path}.{k}")]
    if isinstance(x, (list, tuple)) and isinstance(y, (list, tuple)):
        if len(x) != len(y):
            return [f"{path} length"]
        return [d for i, (a, b) in enumerate(zip(x, y)) for d in _deep_equal(a, b, f"{path}[{i}]")]
    if isinstance(x, float) and isinstance(y, float) and np.isnan(x) and np.isnan(y):
        return []
    return [] if x == y and type(x) is type(y) else [f"{path}: {x!r} != {y!r}"]


class FullState:
    """Everything the range test promises to leave unchanged, copied for a later bit-exact comparison."""

    def __init__(self, model: nn.Module, optimizer: torch.optim.Optimizer | None = None, scaler: Any = None):
        self.model, self.optimizer, self.scaler = model, optimizer, scaler
        self.tensor_ids = {n: id(t) for n, t in list(model.named_parameters()) + list(model.named_buffers())}
        self.params = {n: p.detach().clone() for n, p in model.named_parameters()}
        self.grads = {n: None if p.grad is None else p.grad.clone() for n, p in model.named_parameters()}
        self.buffers = {n: b.clone() for n, b in model.named_buffers()}
        self.training = {n: m.training for n, m in model.named_modules()}
        self.opt = copy.deepcopy(optimizer.state_dict()) if optimizer is not None else None
        self.group_ids = [id(g) for g in optimizer.param_groups] if optimizer is not None else None
        self.scaler_state = copy.deepcopy(scaler.state_dict()) if scaler is not None else None
        self.rng = (random.getstate(), np.random.get_state(), torch.get_rng_state().clone())

    def diff(self) -> list[str]:
        m, o = self.model, self.optimizer
        out: list[str] = []
        now_ids = {n: id(t) for n, t in list(m.named_parameters()) + list(m.named_buffers())}
        out += [f"identity of {n}" for n in self.tensor_ids if now_ids.get(n) != self.tensor_ids[n]]
        out += [f"param {n}" for n, p in m.named_parameters() if not bits_equal(p, self.params[n])]
        for n, p in m.named_parameters():
            g0 = self.grads[n]
            if (g0 is None) != (p.grad is None) or (g0 is not None and not bits_equal(g0, p.grad)):
                out.append(f"grad {n}")
        out += [f"buffer {n}" for n, b in m.named_buffers() if not bits_equal(b, self.buffers[n])]
        out += [f"training flag {n}" for n, mod in m.named_modules() if mod.training != self.training[n]]
        if o is not None:
            out += [f"optimizer {d}" for d in _deep_equal(self.opt, o.state_dict())]
            if [id(g) for g in o.param_groups] != self.group_ids:
                out.append("param_groups identity")
        if self.scaler is not None:
            out += [f"scaler {d}" for d in _deep_equal(self.scaler_state, self.scaler.state_dict())]
        py, npst, tst = self.rng
        if random.getstate() != py:
            out.append("python RNG")
        now_np = np.random.get_state()
        if not (now_np[0] == npst[0] and np.array_equal(now_np[1], npst[1]) and now_np[2:] == npst[2:]):
            out.append("numpy RNG")
        if not torch.equal(torch.get_rng_state(), tst):
            out.append("torch RNG")
        return out


class Net(nn.Module):
    """A small MLP with BatchNorm (running stats) and Dropout (draws from the RNG)."""

    def __init__(self, d_in: int = 16, hidden: int = 32, d_out: int = 3, dropout: float = 0.2):
        super().__init__()
        self.fc1 = nn.Linear(d_in, hidden)
        self.bn = nn.BatchNorm1d(hidden)
        self.drop = nn.Dropout(dropout)
        self.fc2 = nn.Linear(hidden, d_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.drop(torch.relu(self.bn(self.fc1(x)))))


def make_data(n: int = 256, d_in: int = 16, classes: int = 3, batch: int = 32, seed: int = 0) -> list[tuple[torch.Tensor, torch.Tensor]]:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, d_in, generator=g)
    w = torch.randn(d_in, classes, generator=g)
    y = (x @ w).argmax(1)
    return [(x[i : i + batch], y[i : i + batch]) for i in range(0, n, batch)]


def pretrain(model: nn.Module, opt: torch.optim.Optimizer, data: list, steps: int = 5) -> None:
    """A few real steps so the optimizer has state, BN has running stats and .grad is populated."""
    model.train()
    for i in range(steps):
        x, y = data[i % len(data)]
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()


def scaler_internals(scaler: Any) -> dict[str, Any]:
    """Every attribute of a GradScaler by value (its per-optimizer stages and found-inf tensors included).

    ``state_dict()`` holds only the scale and growth settings; a scaler left between ``unscale_``,
    ``step`` and ``update`` differs in ``_per_optimizer_states``, which this copies too.
    """
    out: dict[str, Any] = {}
    for key, value in vars(scaler).items():
        if isinstance(value, torch.Tensor):
            out[key] = value.detach().clone()
        elif key == "_per_optimizer_states":
            out[key] = {
                "type": type(value).__name__,
                "factory": getattr(value, "default_factory", None),
                "entries": {
                    k: {
                        sk: ({str(d): t.detach().clone() for d, t in sv.items()} if isinstance(sv, dict) else sv)
                        for sk, sv in per.items()
                    }
                    for k, per in value.items()
                },
            }
        else:
            out[key] = copy.deepcopy(value)
    return out


def scaler_internals_diff(before: dict[str, Any], scaler: Any) -> list[str]:
    """What differs between ``before`` (from :func:`scaler_internals`) and the scaler now."""
    now = scaler_internals(scaler)
    if set(now) != set(before):
        return [f"attributes {sorted(before)} != {sorted(now)}"]
    out: list[str] = []
    for key, b in before.items():
        n = now[key]
        if b is None or n is None or not isinstance(b, dict):
            if isinstance(b, torch.Tensor) or isinstance(n, torch.Tensor):
                ok = isinstance(b, torch.Tensor) and isinstance(n, torch.Tensor) and bits_equal(b, n)
            else:
                ok = b == n and type(b) is type(n)
            if not ok:
                out.append(f"{key}: {b!r} != {n!r}")
        else:
            out += [f"{key}{d}" for d in _deep_equal(b, n)]
    return out
