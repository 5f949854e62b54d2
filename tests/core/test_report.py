"""The HTML report and its tables: what a person reads besides the pictures."""

from __future__ import annotations

import numpy as np
import pytest

from lrscope.report import bounds_rows, html_report
from lrscope.result import RangeTestResult


def _run(metric: bool = True, val: bool = False) -> RangeTestResult:
    lrs = np.geomspace(1e-5, 1.0, 121)
    x = np.log10(lrs)
    loss = 2.3 - 1.6 / (1 + np.exp(-(x + 2.5) * 3)) + 0.3 * np.exp((x + 0.3) * 2.5)
    acc = 0.1 + 0.8 / (1 + np.exp(-(x + 2.5) * 3)) - 0.2 * np.exp((x + 0.3) * 2.5)
    return RangeTestResult(lrs=lrs, losses=loss, val_losses=loss * 1.05 if val else None,
                           metrics={"accuracy": acc} if metric else {})


def test_bounds_rows_give_the_loss_and_the_metric_bounds_exactly_as_the_result_does():
    r = _run()
    rows = bounds_rows(r)
    assert [(row["curve"], row["source"]) for row in rows] == [("loss", "loss"), ("accuracy", "metric")]
    for row in rows:
        b = r.bounds(row["source"])
        assert row["found"] and (row["base_lr"], row["max_lr"], row["reason"]) == (b.base_lr, b.max_lr, b.reason)
    assert rows[0]["max_lr"] != rows[1]["max_lr"]  # two curves, two answers: the report must show both


def test_bounds_rows_read_the_validation_loss_when_it_was_recorded_and_skip_a_missing_metric():
    rows = bounds_rows(_run(metric=False, val=True))
    assert [(row["curve"], row["source"]) for row in rows] == [("validation loss", "val_loss")]
    assert bounds_rows(RangeTestResult(lrs=[1e-3], losses=[1.0])) == []


def test_html_report_has_a_bounds_table_with_both_curves():
    r = _run()
    page = html_report(r, {}, title="t")
    assert "<h2>Bounds for cyclical schedules</h2>" in page
    for row in bounds_rows(r):
        assert f"<td>{row['curve']}</td><td>{row['base_lr']:.3g}</td><td>{row['max_lr']:.3g}</td>" in page
    table = page.split("<h2>Bounds for cyclical schedules</h2>")[1].split("</table>")[0]
    assert table.count("<tr>") == 3  # header + loss + accuracy
    assert page.index("<h2>Suggestions</h2>") < page.index("<h2>Bounds for cyclical schedules</h2>")


@pytest.mark.parametrize("metric", [True, False])
def test_html_report_is_self_contained(metric):
    page = html_report(_run(metric=metric), {"a picture": b"\x89PNG fake"}, title="t <&>")
    assert page.startswith("<!DOCTYPE html>") and "<script" not in page and "http" not in page.split("<body>")[1]
    assert "t &lt;&amp;&gt;" in page and "data:image/png;base64," in page


def test_the_verified_answer_kept_by_find_verify_is_shown_with_its_trials():
    from lrscope.report import verified_line

    r = _run()
    assert verified_line(r) is None and "Verified by training" not in html_report(r, {}, title="t")
    r.config["verified"] = {"lr": 0.0123, "nice": 0.01, "confidence": "high", "steps": 120, "reason": "why <not>",
                            "candidates": [0.001, 0.00316, 0.01], "scores": [0.9, None, 0.5]}
    assert verified_line(r) == "Verified learning rate: 0.01 (0.0123; confidence high; 120 trial steps)"
    page = html_report(r, {}, title="t")
    assert "Verified by training" in page and "why &lt;not&gt;" in page
    assert "<td>0.00316</td><td>diverged</td>" in page and "<td>0.01</td><td>0.5</td>" in page
    r.config["verified"] = {"lr": None, "reason": "the curve says nothing"}
    assert verified_line(r) == "Not verified: the curve says nothing"
    assert "Not verified: the curve says nothing" in html_report(r, {}, title="t")
