"""lrscope.torch.discriminative_groups: fastai's slice(lo, hi) convention, exact values, refusals by name."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

import lrscope.torch
from lrscope.torch.groups import discriminative_groups, discriminative_lrs


def _fastai_even_mults(start: float, stop: float, n: int) -> list[float]:
    """fastai.torch_core.even_mults, written out independently."""
    if n == 1:
        return [stop]
    mult = stop / start
    step = mult ** (1 / (n - 1))
    return [start * (step**i) for i in range(n)]


@pytest.mark.parametrize("n", [1, 2, 3, 5, 8])
@pytest.mark.parametrize(("lo", "hi"), [(1e-5, 1e-3), (3e-4, 3e-2), (0.01, 0.01)])
def test_geometric_spacing_matches_fastai_even_mults(n: int, lo: float, hi: float) -> None:
    got = discriminative_lrs(n, hi, lo)
    want = _fastai_even_mults(lo, hi, n)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=0)
    assert got[-1] == hi
    if n > 1:
        assert got[0] == pytest.approx(lo, rel=1e-12)
        ratios = np.array(got[1:]) / np.array(got[:-1])
        np.testing.assert_allclose(ratios, (hi / lo) ** (1 / (n - 1)), rtol=1e-12)


def test_log_spacing_is_even() -> None:
    got = discriminative_lrs(5, 1e-2, 1e-6)
    np.testing.assert_allclose(np.log10(got), [-6, -5, -4, -3, -2], atol=1e-12)


@pytest.mark.parametrize("n", [1, 2, 4])
def test_slice_hi_only_gives_tenth_to_all_but_last(n: int) -> None:
    assert discriminative_lrs(n, 0.3) == [0.03] * (n - 1) + [0.3]


def _three_groups() -> tuple[nn.Module, nn.Module, nn.Module]:
    torch.manual_seed(0)
    return nn.Linear(4, 8), nn.Sequential(nn.ReLU(), nn.Linear(8, 8)), nn.Linear(8, 2)


def test_groups_from_modules_keep_order_and_params() -> None:
    a, b, c = _three_groups()
    groups = discriminative_groups([a, b, c], lr_max=1e-2, lr_min=1e-4)
    np.testing.assert_allclose([g["lr"] for g in groups], [1e-4, 1e-3, 1e-2], rtol=1e-12)
    for g, m in zip(groups, (a, b, c)):
        assert [id(p) for p in g["params"]] == [id(p) for p in m.parameters()]


def test_model_children_with_parameters_are_the_groups() -> None:
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 8), nn.Dropout(), nn.Linear(8, 2))
    groups = discriminative_groups(model, lr_max=0.1, lr_min=0.001)
    assert len(groups) == 3  # ReLU and Dropout hold no parameters
    np.testing.assert_allclose([g["lr"] for g in groups], [0.001, 0.01, 0.1], rtol=1e-12)
    assert sum(len(g["params"]) for g in groups) == len(list(model.parameters()))


def test_dict_groups_keep_other_options_and_replace_lr() -> None:
    a, b, c = _three_groups()
    groups = discriminative_groups(
        [{"params": a.parameters(), "weight_decay": 0.1, "lr": 99.0}, b, list(c.parameters())], lr_max=0.2
    )
    assert [g["lr"] for g in groups] == [0.02, 0.02, 0.2]
    assert groups[0]["weight_decay"] == 0.1
    assert "weight_decay" not in groups[1]


def test_ready_for_a_torch_optimizer_and_the_range_test_keeps_ratios() -> None:
    a, b, c = _three_groups()
    model = nn.Sequential(a, b, c)
    groups = discriminative_groups(model, lr_max=1e-2, lr_min=1e-4)
    opt = torch.optim.SGD(groups, lr=1.0, momentum=0.9)
    assert [g["lr"] for g in opt.param_groups] == pytest.approx([1e-4, 1e-3, 1e-2], rel=1e-12)
    x = torch.randn(64, 4)
    y = torch.randint(0, 2, (64,))
    data = [(x[i : i + 16], y[i : i + 16]) for i in range(0, 64, 16)]
    seen: list[list[float]] = []

    class Spy(nn.CrossEntropyLoss):
        def forward(self, out: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
            seen.append([g["lr"] for g in opt.param_groups])
            return super().forward(out, t)

    result = lrscope.torch.range_test(model, opt, data, Spy(), start_lr=1e-5, end_lr=1e-1, num_steps=8, progress=False)
    assert len(seen) >= 2
    for lrs in seen:
        assert lrs[1] / lrs[0] == pytest.approx(10.0, rel=1e-9)
        assert lrs[2] / lrs[0] == pytest.approx(100.0, rel=1e-9)
    assert result.lrs[0] == pytest.approx(1e-5, rel=1e-9)  # group 0's LR is what the sweep records
    assert [g["lr"] for g in opt.param_groups] == pytest.approx([1e-4, 1e-3, 1e-2], rel=1e-12)  # restored


def test_exported_from_lrscope_torch() -> None:
    assert lrscope.torch.discriminative_groups is discriminative_groups
    assert "discriminative_groups" in lrscope.torch.__all__


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"lr_max": 0.0}, "lr_max"),
        ({"lr_max": -1e-3}, "lr_max"),
        ({"lr_max": math.nan}, "lr_max"),
        ({"lr_max": math.inf}, "lr_max"),
        ({"lr_max": "0.1"}, "lr_max"),
        ({"lr_max": 1e-3, "lr_min": 0.0}, "lr_min"),
        ({"lr_max": 1e-3, "lr_min": math.nan}, "lr_min"),
        ({"lr_max": 1e-3, "lr_min": 1e-2}, "lr_min"),
    ],
)
def test_bad_lrs_name_the_argument(kwargs: dict, name: str) -> None:
    with pytest.raises(ValueError, match=f"`{name}`"):
        discriminative_groups(list(_three_groups()), **kwargs)


def test_bad_groups_name_the_argument() -> None:
    a, _b, _c = _three_groups()
    with pytest.raises(ValueError, match="`model_or_groups`.*no layer group"):
        discriminative_groups([], lr_max=0.1)
    with pytest.raises(ValueError, match="`model_or_groups`.*no layer group"):
        discriminative_groups(nn.ReLU(), lr_max=0.1)
    with pytest.raises(ValueError, match="`model_or_groups`.*groups 0 and 1"):
        discriminative_groups([a, a], lr_max=0.1)
    with pytest.raises(ValueError, match="`model_or_groups`.*'params'"):
        discriminative_groups([{"lr": 0.1}], lr_max=0.1)
    with pytest.raises(TypeError, match="`model_or_groups`"):
        discriminative_groups([a, 3], lr_max=0.1)
    with pytest.raises(TypeError, match="`model_or_groups`"):
        discriminative_groups([[torch.zeros(2)]], lr_max=0.1)
    with pytest.raises(TypeError, match="`model_or_groups`"):
        discriminative_groups(42, lr_max=0.1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="`n_groups`"):
        discriminative_lrs(0, 0.1)
