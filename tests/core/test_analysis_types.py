"""nice_lr and the value types."""

import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lrscope.analysis import Bounds, Suggestion, nice_lr


@pytest.mark.parametrize(
    ("lr", "nice"),
    [(0.012, 0.01), (0.0042, 0.005), (0.0027, 0.003), (0.00017, 0.0002), (1.0, 1.0), (7.5, 10.0), (3.8, 3.0), (3.9, 5.0),
     (4.0, 5.0), (1.5, 2.0), (2.4, 2.0), (2.5, 3.0), (3e-7, 3e-7)],
)
def test_nice_lr_examples(lr, nice):
    assert nice_lr(lr) == nice


@given(st.floats(1e-12, 1e6))
def test_nice_lr_is_1_2_3_5_times_a_power_of_ten_within_factor_2(lr):
    n = nice_lr(lr)
    k = math.floor(math.log10(n) + 1e-9)
    assert round(n / 10**k, 9) in (1.0, 2.0, 3.0, 5.0)
    assert 0.5 <= n / lr <= 2.0


@pytest.mark.parametrize("bad", [0.0, -1e-3, math.nan, math.inf, "0.1"])
def test_nice_lr_rejects(bad):
    with pytest.raises(ValueError, match="`lr`"):
        nice_lr(bad)


def test_suggestion_and_bounds_serialise():
    s = Suggestion("valley", 0.0042, 3, "why", interval=(0.001, 0.01), confidence="high", details={"z": 3.0})
    d = s.to_dict()
    assert d["nice"] == 0.005 and d["interval"] == [0.001, 0.01]
    json.dumps(d)
    a = Suggestion.abstain("valley", "flat", drop=0.0)
    assert not a.found and a.nice is None and "no suggestion (flat)" in str(a)
    b = Bounds("loss", 1e-4, 1e-2, "why")
    assert b.found and "base_lr=0.0001" in str(b)
    assert not Bounds.abstain("loss", "flat").found


@pytest.mark.parametrize(
    "args, match",
    [
        ((0.01, 5, "valley", "why"), r"Argument `method` must be the rule's name.*Received: method=0.01"),
        (("", 0.01, 5, "why"), "Argument `method`"),
        (("valley", -0.01, 5, "why"), r"Argument `lr` must be a positive finite number or None. Received: lr=-0.01"),
        (("valley", float("nan"), 5, "why"), "Argument `lr`"),
        (("valley", True, 5, "why"), "Argument `lr`"),
        (("valley", 0.01, -1, "why"), r"Argument `index` must be an integer >= 0 or None. Received: index=-1"),
        (("valley", 0.01, 2.5, "why"), "Argument `index`"),
        (("valley", 0.01, 5, None), r"Argument `reason` must be a str. Received: reason=None"),
    ],
)
def test_suggestion_rejects_fields_in_the_wrong_order_or_of_the_wrong_kind(args, match):
    with pytest.raises(ValueError, match=match):
        Suggestion(*args)


def test_nice_lr_takes_numpy_scalars():
    import numpy as np

    assert nice_lr(np.float32(0.012)) == 0.01 and nice_lr(np.int64(3)) == 3.0
    with pytest.raises(ValueError, match="Argument `lr`"):
        nice_lr(np.bool_(True))
