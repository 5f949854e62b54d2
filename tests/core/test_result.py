"""RangeTestResult: validation, JSON round trip (NaN/inf included), file errors, CSV."""

import json
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lrscope.result import SCHEMA_VERSION, RangeTestResult, ResultFileError


def make(n=20, **kw):
    lrs = np.geomspace(1e-5, 1.0, n)
    losses = 2.0 - np.tanh(np.log10(lrs) + 2.5)
    return RangeTestResult(lrs, losses, **kw)


def test_defaults_and_steps():
    r = make()
    assert len(r) == 20
    assert r.steps.tolist() == list(range(20))
    assert r.stop_reason == "completed"
    assert "20 steps" in repr(r)


@pytest.mark.parametrize(
    "kwargs, fragment",
    [
        (dict(lrs=[1e-3, 1e-2], losses=[1.0]), "same length"),
        (dict(lrs=[1e-3, -1e-2], losses=[1.0, 1.0]), "finite positive"),
        (dict(lrs=[1e-3, float("nan")], losses=[1.0, 1.0]), "finite positive"),
        (dict(lrs=[[1e-3]], losses=[1.0]), "must be 1-D"),
        (dict(lrs=[1e-3, 1e-2], losses=[1.0, 1.0], val_losses=[1.0]), "val_losses"),
        (dict(lrs=[1e-3, 1e-2], losses=[1.0, 1.0], metrics={"accuracy": [0.1]}), "accuracy"),
        (dict(lrs=[1e-3, 1e-2], losses=[1.0, 1.0], sweep="log"), "sweep='log'"),
    ],
)
def test_bad_construction_names_the_argument(kwargs, fragment):
    with pytest.raises(ValueError, match=fragment):
        RangeTestResult(**kwargs)


def test_json_round_trip_keeps_nan_inf_and_everything(tmp_path):
    n = 6
    r = RangeTestResult(
        np.geomspace(1e-4, 1e-1, n),
        [1.0, 0.9, float("nan"), 0.7, float("inf"), 5.0],
        val_losses=[np.nan, 1.1, np.nan, 0.8, np.nan, np.inf],
        metrics={"accuracy": [0.1, 0.2, 0.3, 0.4, 0.5, np.nan]},
        stop_reason="diverged",
        stop_detail="x",
        config={"engine": "torch", "start_lr": 1e-4},
        notes=["cycled"],
    )
    p = r.save(tmp_path / "sub" / "run.json")
    raw = json.loads(p.read_text())  # standard JSON: no bare NaN tokens
    assert raw["schema_version"] == SCHEMA_VERSION
    assert "NaN" not in p.read_text()
    back = RangeTestResult.load(p)
    np.testing.assert_array_equal(back.lrs, r.lrs)  # bit-exact floats through repr
    np.testing.assert_array_equal(back.losses, r.losses)
    np.testing.assert_array_equal(back.val_losses, r.val_losses)
    np.testing.assert_array_equal(back.metrics["accuracy"], r.metrics["accuracy"])
    assert (back.stop_reason, back.stop_detail, back.config, back.notes) == ("diverged", "x", r.config, ["cycled"])
    # no temp files left next to it
    assert sorted(x.name for x in p.parent.iterdir()) == ["run.json"]


@given(st.lists(st.floats(allow_nan=True, allow_infinity=True, width=64), min_size=1, max_size=30))
def test_round_trip_any_losses(losses):
    r = RangeTestResult(np.geomspace(1e-3, 1.0, len(losses)), losses)
    back = RangeTestResult.from_dict(json.loads(json.dumps(r.to_dict())))
    np.testing.assert_array_equal(back.losses, r.losses)


def test_val_loss_curve_drops_unevaluated_steps_and_auto_prefers_it():
    r = make(n=4, val_losses=[np.nan, 1.0, np.nan, np.inf])
    lrs, v = r.curve("val_loss")
    assert lrs.tolist() == [r.lrs[1], r.lrs[3]]
    assert v.tolist() == [1.0, math.inf]
    assert r.curve("auto")[1] is not r.losses
    with pytest.raises(ValueError, match="no validation loss"):
        make().curve("val_loss")
    with pytest.raises(ValueError, match="source='bogus'"):
        make().curve("bogus")


def test_loss_source_names_the_curve_auto_reads():
    # validation loss recorded at two steps or more: auto reads it; at one, or none, the training loss
    assert make(n=4, val_losses=[np.nan, 1.0, np.nan, np.inf]).loss_source() == "val_loss"
    assert make(n=4, val_losses=[np.nan, 1.0, np.nan, np.nan]).loss_source() == "loss"
    assert make().loss_source("auto") == "loss"
    assert make().loss_source("val_loss") == "val_loss"  # named, not checked against what was recorded
    with pytest.raises(ValueError, match="source='metric'"):
        make().loss_source("metric")


@pytest.mark.parametrize(
    "content, fragment",
    [
        ("{not json", "not valid JSON"),
        ('{"format": "something.else"}', "not an lrscope range-test result"),
        ("[1, 2]", "not an lrscope range-test result"),
        ('{"format": "lrscope.range_test", "schema_version": 99, "lrscope_version": "9.0"}', "newer"),
        ('{"format": "lrscope.range_test", "schema_version": 1, "lrs": [1.0]}', "missing field 'losses'"),
        ('{"format": "lrscope.range_test", "schema_version": 1, "lrs": [1.0], "losses": ["x"]}', "invalid content"),
        ('{"format": "lrscope.range_test", "schema_version": "1"}', "schema_version must be an integer"),
        ('{"format": "lrscope.range_test", "schema_version": 0}', "schema_version must be an integer >= 1"),
        ('{"format": "lrscope.range_test", "schema_version": 1, "lrs": [1.0, 2.0], "losses": [1.0, 0.5], '
         '"steps": [0.5, 1.7]}', "steps must be a list of integers"),
        ('{"format": "lrscope.range_test", "schema_version": 1, "lrs": [1.0, 2.0], "losses": [1.0, 0.5], '
         '"notes": "cycled"}', "notes must be a list of strings"),
        ('{"format": "lrscope.range_test", "schema_version": 1, "lrs": [1.0, 2.0], "losses": [1.0, 0.5], '
         '"config": [1]}', "config must be an object"),
    ],
)
def test_bad_files_name_the_file_and_problem(tmp_path, content, fragment):
    p = tmp_path / "bad.json"
    p.write_text(content)
    with pytest.raises(ResultFileError, match=fragment) as info:
        RangeTestResult.load(p)
    assert str(p) in str(info.value)


def test_missing_and_binary_files(tmp_path):
    with pytest.raises(ResultFileError, match="no such file"):
        RangeTestResult.load(tmp_path / "nope.json")
    p = tmp_path / "bin.json"
    p.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ResultFileError, match="bin.json"):
        RangeTestResult.load(p)


def test_csv_export(tmp_path):
    r = make(n=3, metrics={"accuracy": [0.5, 0.6, 0.7]})
    text = r.to_csv(tmp_path / "a.csv")
    lines = text.strip().split("\n")
    assert lines[0] == "step,lr,loss,accuracy"
    assert len(lines) == 4
    row = lines[2].split(",")
    assert int(row[0]) == 1 and float(row[1]) == r.lrs[1] and float(row[2]) == r.losses[1] and float(row[3]) == 0.6
    assert (tmp_path / "a.csv").read_text() == text


def _falling_then_diverging(n=120):
    lrs = np.geomspace(1e-5, 10.0, n)
    x = np.log10(lrs)
    losses = 2.0 - 1.5 * (1 + np.tanh((x + 2.5) / 0.4)) / 2 + np.where(x > -0.5, 30 * (x + 0.5) ** 2, 0.0)
    return lrs, losses


def test_suggest_reads_the_rules_on_the_chosen_curve():
    import lrscope
    from lrscope.analysis import rules

    lrs, losses = _falling_then_diverging()
    r = RangeTestResult(lrs, losses)
    for name in lrscope.available_rules():
        assert r.suggest(name) == rules.suggest(lrs, losses, name, sweep="exp")
    assert r.suggest() == rules.suggest(lrs, losses, rules.DEFAULT_METHOD, sweep="exp")
    assert set(r.suggestions()) == set(lrscope.available_rules())
    s = r.suggest("steepest")
    assert s.found and 10**-3.2 < s.lr < 10**-1.8  # the tanh's steepest point is at 10**-2.5


def test_schedule_from_bounds_and_refusal_on_a_flat_curve():
    from lrscope.schedules import Cyclic

    lrs, losses = _falling_then_diverging()
    r = RangeTestResult(lrs, losses)
    b = r.bounds()
    assert b.found and b.base_lr < b.max_lr
    sched = r.schedule("triangular", step_size_up=10)
    assert isinstance(sched, Cyclic)
    assert sched(0) == pytest.approx(b.base_lr) and sched(10) == pytest.approx(b.max_lr)
    flat = RangeTestResult(lrs, np.ones_like(lrs))
    with pytest.raises(ValueError, match="no bounds"):
        flat.schedule("triangular", step_size_up=10)


def test_metric_bounds_need_a_metric():
    lrs, losses = _falling_then_diverging()
    with pytest.raises(ValueError, match="no metric"):
        RangeTestResult(lrs, losses).bounds("metric")
    acc = 0.1 + 0.8 / (1 + np.exp(-(np.log10(lrs) + 3) / 0.2)) - np.where(lrs > 0.3, 0.5, 0.0)
    r = RangeTestResult(lrs, losses, metrics={"accuracy": acc})
    b = r.bounds("metric")
    assert b.found and 1e-4 < b.base_lr < b.max_lr <= 0.3
    with pytest.raises(ValueError, match="metric='f1'"):
        r.bounds("metric", metric="f1")


def test_saved_file_has_ordinary_permissions(tmp_path):
    import os

    umask = os.umask(0o022)
    try:
        p = make().save(tmp_path / "perm.json")
    finally:
        os.umask(umask)
    assert (p.stat().st_mode & 0o777) == 0o644


def test_huge_integers_and_deep_nesting_are_file_errors_not_crashes(tmp_path):
    big = tmp_path / "big.json"
    big.write_text(
        '{"format": "lrscope.range_test", "schema_version": 1, "lrs": [0.1], "losses": [1.0], "steps": [' + str(10**30) + "]}"
    )
    with pytest.raises(ResultFileError, match="big.json: invalid content"):
        RangeTestResult.load(big)
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100000)
    with pytest.raises(ResultFileError, match="deep.json: not valid JSON"):
        RangeTestResult.load(deep)


def test_lrs_must_increase_and_the_file_is_named(tmp_path):
    with pytest.raises(ValueError, match=r"strictly increasing.*Received: lrs\[1\]=0.1 after lrs\[0\]=0.2"):
        RangeTestResult(lrs=[0.2, 0.1], losses=[1.0, 0.5])
    with pytest.raises(ValueError, match=r"finite positive.*Received: lrs\[0\]=nan"):
        RangeTestResult(lrs=[float("nan"), 0.1], losses=[1.0, 0.5])
    p = tmp_path / "down.json"
    p.write_text('{"format": "lrscope.range_test", "schema_version": 1, "lrs": [0.2, 0.1], "losses": [1.0, 0.5]}')
    with pytest.raises(ResultFileError, match=r"down.json: invalid content.*strictly increasing"):
        RangeTestResult.load(p)
