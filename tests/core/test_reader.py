"""The learned reader (issue 14): shipped as package data, inside the swept range or abstaining, and
exactly ``drop`` when no run settings are given."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from lrscope.analysis import reader as rd
from lrscope.analysis import suggest
from lrscope.result import RangeTestResult


def _curve(n=100):
    lrs = np.logspace(-7, 1, n)
    x = np.log10(lrs)
    losses = 2 - np.tanh((x + 3) / 0.7) + np.where(x > -0.5, (x + 0.5) ** 2 * 4, 0) + 0.01 * np.sin(np.arange(n) * 1.7)
    return lrs, losses


def test_reader_loads_from_package_data():
    model = rd.load_reader()
    assert len(model.names) == len(model.coef) == len(model.mean) == len(model.scale) > 0
    assert all(math.isfinite(c) for c in model.coef) and math.isfinite(model.intercept)
    assert model.interval[0] <= model.interval[1]
    assert isinstance(model.passed_stop_rule, bool)
    assert set(model.names) >= {"log10_budget", "log2_batch", "sched_one_cycle", "opt_adaptive", "to_min", "log10_z"}


def test_without_settings_the_answer_is_drop_exactly():
    lrs, losses = _curve()
    res = RangeTestResult(lrs, losses, config={"optimizer": "AdamW", "batch_size": 64})
    assert res.suggest() == suggest(lrs, losses, "drop", sweep="exp")
    assert res.suggest() == res.suggest("drop")


def test_settings_name_what_was_used_and_fill_in_the_record():
    lrs, losses = _curve()
    res = RangeTestResult(lrs, losses, config={"optimizer": "AdamW", "batch_size": 64})
    s = res.suggest("reader", budget=500, schedule="one_cycle")
    assert s.found and lrs[0] <= s.lr <= lrs[-1]
    assert "optimizer='AdamW' (recorded)" in s.reason and "batch_size=64 (recorded)" in s.reason and "budget=500" in s.reason
    assert s.details["features"]["opt_adamw"] == 1.0 and s.details["features"]["opt_adaptive"] == 1.0
    sgd = RangeTestResult(lrs, losses, config={"optimizer": "SGD"}).suggest("reader", budget=500)
    assert "opt_momentum" not in sgd.details["features"] and sgd.details["features"]["opt_adam"] == 0.0
    default = res.suggest(budget=500, schedule="one_cycle")
    if rd.load_reader().passed_stop_rule:
        assert default == s
    else:  # the reader did not pass its held-out stop rule: drop, saying the settings were not used
        assert default.lr == res.suggest().lr and "not used" in default.reason


@pytest.mark.parametrize(("config", "family", "on"), [
    ({"momentum": 0.0, "nesterov": False}, "sgd", set()),
    ({"momentum": 0.9, "nesterov": False}, "sgd_momentum", {"opt_momentum"}),
    ({"momentum": 0.9, "nesterov": True}, "sgd_nesterov", {"opt_momentum", "opt_nesterov"}),
])
def test_recorded_sgd_momentum_and_nesterov_pick_the_family(config, family, on):
    lrs, losses = _curve()
    s = RangeTestResult(lrs, losses, config={"optimizer": "SGD", **config}).suggest("reader", budget=500)
    assert f"optimizer={family!r} (recorded)" in s.reason
    opt = {k: v for k, v in s.details["features"].items() if k.startswith("opt_")}
    assert {k for k, v in opt.items() if v == 1.0} == on and set(opt) == set(rd.OPTIMIZER_FEATURES)


def test_settings_with_another_rule_or_bad_values_raise():
    lrs, losses = _curve()
    res = RangeTestResult(lrs, losses)
    with pytest.raises(ValueError, match="budget"):
        res.suggest("valley", budget=100)
    with pytest.raises(ValueError, match="schedule"):
        res.suggest("reader", schedule="linear-ish")
    with pytest.raises(ValueError, match="optimizer"):
        res.suggest("reader", optimizer="lion-of-judah")
    with pytest.raises(ValueError, match="budget"):
        res.suggest("reader", budget=0)


@settings(max_examples=40, deadline=None)
@given(
    st.integers(5, 80),
    st.floats(1e-9, 1e-2),
    st.floats(1.05, 2.0),
    st.sampled_from([None, 100, 3000]),
    st.sampled_from([None, "constant", "one_cycle", "cosine_warmup"]),
    st.sampled_from([None, "sgd", "adamw", "adagrad", "SGD"]),
    st.sampled_from([None, 8, 256]),
    st.data(),
)
def test_reader_answer_lies_inside_the_swept_range_or_abstains(n, start, ratio, budget, schedule, optimizer, batch, data):
    lrs = start * ratio ** np.arange(n)
    noise = data.draw(arrays(np.float64, n, elements=st.floats(-1.0, 1.0)))
    losses = np.linspace(3, 1, n) + data.draw(st.sampled_from([0.0, 0.01, 1.0])) * noise
    if data.draw(st.booleans()):
        losses[data.draw(st.integers(0, n - 1)) :] = math.nan
    s = rd.read(lrs, losses, budget=budget, schedule=schedule, optimizer=optimizer, batch_size=batch)
    assert s.method == "reader"
    if s.found:
        assert math.isfinite(s.lr) and lrs[0] <= s.lr <= lrs[-1]
        assert s.interval is not None and lrs[0] <= s.interval[0] <= s.lr <= s.interval[1] <= lrs[-1]
    else:
        assert s.reason
