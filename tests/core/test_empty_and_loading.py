"""Issue 10, items 4 and 6: a result with no points abstains (and its pictures say so); a metric of
strings names the argument; a result file without "sweep" is read from its LRs, and says so."""

from __future__ import annotations

import json
import os

os.environ.setdefault("MPLBACKEND", "Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

import lrscope  # noqa: E402
from lrscope.analysis import available_rules  # noqa: E402
from lrscope.result import RangeTestResult, ResultFileError  # noqa: E402


def empty(**kw):
    return RangeTestResult(lrs=[], losses=[], stop_reason="interrupted",
                           stop_detail="interrupted (KeyboardInterrupt) at step 0 of 100", **kw)


# ------------------------------------------------------------------------------ item 4: no points


def test_a_result_with_no_points_abstains_with_the_reason():
    r = empty()
    s = r.suggest()
    assert not s.found and s.lr is None
    assert "no points" in s.reason and "interrupted" in s.reason
    sugg = r.suggestions()
    assert sorted(sugg) == available_rules()
    for name, s in sugg.items():
        assert s.method == name and not s.found and "no points" in s.reason
    for name in available_rules():
        assert not r.suggest(name).found
    (c,) = r.candidates()
    assert not c.found and "no points" in c.reason
    b = r.bounds()
    assert not b.found and "no points" in b.reason


def test_a_validation_curve_never_evaluated_abstains_instead_of_raising():
    r = RangeTestResult(lrs=np.geomspace(1e-4, 1, 10), losses=np.linspace(2, 1, 10), val_losses=np.full(10, np.nan))
    s = r.suggest(source="val_loss")
    assert not s.found and "no points" in s.reason and "validation loss" in s.reason


def test_the_report_of_a_result_with_no_points_gives_the_reason():
    from lrscope.report import html_report, result_html, suggestion_rows

    r = empty()
    rows = suggestion_rows(r)
    assert rows and all(not row["found"] and "no points" in row["reason"] for row in rows)
    page = html_report(r, {}, title="t")
    assert "no points" in page
    assert "no points" in result_html(r)


@pytest.mark.parametrize("what", ["plot_result", "plot_lr_steps", "plot_metric", "plot_runs"])
def test_the_plots_of_a_result_with_no_points_say_so_on_the_axes(what):
    pytest.importorskip("matplotlib")
    from lrscope import plot as P

    r = empty(metrics={"accuracy": []})
    _, ax = P.new_figure()
    if what == "plot_runs":
        P.plot_runs([r, empty()], ["a", "b"], ax=ax)
    else:
        getattr(P, what)(r, ax=ax)
    texts = [t for t in ax.texts if t.get_gid() == "no_points"]
    assert len(texts) == 1
    msg = texts[0].get_text()
    assert "no points" in msg and "interrupted" in msg
    x, y = texts[0].get_position()
    assert texts[0].get_transform() == ax.transAxes and 0 < x < 1 and 0 < y < 1  # on the axes, not off it


# ------------------------------------------------------------------------------ item 6: messages and files


@pytest.mark.parametrize("metric", [["a", "b"], [object(), 1.0], [[1.0, 2.0], [3.0]]])
def test_metric_bounds_names_its_argument(metric):
    with pytest.raises(ValueError, match=r"Argument `metric` must be .*Received"):
        lrscope.metric_bounds([1e-3, 1e-2], metric)


def _file(tmp_path, lrs, *, sweep=None):
    lrs = np.asarray(lrs, dtype=float)
    d = RangeTestResult(lrs=lrs, losses=np.linspace(2.0, 1.0, lrs.size)).to_dict()
    del d["sweep"]
    if sweep is not None:
        d["sweep"] = sweep
    path = tmp_path / "old.json"
    path.write_text(json.dumps(d))
    return path


def test_a_file_without_sweep_is_read_as_a_linear_sweep_when_its_lrs_are_evenly_spaced(tmp_path):
    r = RangeTestResult.load(_file(tmp_path, np.linspace(1e-3, 1.0, 50)))
    assert r.sweep == "linear"
    assert any("sweep" in n and "linear" in n and "inferred" in n for n in r.notes), r.notes


def test_a_file_without_sweep_is_read_as_exponential_when_its_lrs_grow_by_a_constant_ratio(tmp_path):
    lrs = np.geomspace(1e-6, 1.0, 50).astype(np.float32).astype(float)  # float32 rounding is tolerated
    r = RangeTestResult.load(_file(tmp_path, lrs))
    assert r.sweep == "exp"
    assert any("sweep" in n and "exp" in n and "inferred" in n for n in r.notes), r.notes


def test_a_file_without_sweep_whose_lrs_fit_neither_is_refused_naming_the_file_and_the_fix(tmp_path):
    lrs = np.cumsum(np.r_[1e-4, np.geomspace(1e-4, 1e-1, 20)[np.random.default_rng(0).permutation(20)]])
    path = _file(tmp_path, lrs)
    with pytest.raises(ResultFileError, match=r"old\.json.*\"sweep\".*'exp' or 'linear'"):
        RangeTestResult.load(path)


def test_a_file_that_records_its_sweep_is_read_as_recorded_without_a_note(tmp_path):
    r = RangeTestResult.load(_file(tmp_path, np.linspace(1e-3, 1.0, 50), sweep="exp"))
    assert r.sweep == "exp" and not any("inferred" in n for n in r.notes)
