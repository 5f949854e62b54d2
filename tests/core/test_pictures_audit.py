"""Issue 10, item 8: what the pictures say, and that plot, terminal and report say it in the same words."""

from __future__ import annotations

import os

os.environ.setdefault("MPLBACKEND", "Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

pytest.importorskip("matplotlib")

from lrscope import plot as P  # noqa: E402
from lrscope._format import format_lr  # noqa: E402
from lrscope.analysis import DEFAULT_METHOD  # noqa: E402
from lrscope.analysis.curve import prepare_curve  # noqa: E402
from lrscope.analysis.stop import StopRule  # noqa: E402
from lrscope.analysis.types import Suggestion  # noqa: E402
from lrscope.report import format_table, html_report, suggestion_rows  # noqa: E402
from lrscope.result import RangeTestResult  # noqa: E402


def by_gid(ax, gid):
    return [a for a in ax.get_children() if getattr(a, "get_gid", lambda: None)() == gid]


def legend_texts(ax):
    """The legend's entries, long ones unwrapped (the legend wraps them to fit the figure)."""
    return [" ".join(t.get_text().split()) for t in ax.get_legend().get_texts()]


def blowup(n=150, seed=0, **kw):
    """A completed exponential sweep whose loss falls, then blows up far above its start (as the demo's)."""
    rng = np.random.default_rng(seed)
    lrs = np.geomspace(1e-5, 10.0, n)
    x = np.log10(lrs)
    loss = 2.3 - 2.0 / (1 + np.exp(-(x + 2.0) * 3)) + rng.normal(0, 0.02, n)
    loss[x > -0.5] = 2.3 + 40 * rng.random(int((x > -0.5).sum()))  # diverged: far above the start
    return RangeTestResult(lrs=lrs, losses=loss, stop_reason="completed",
                           config={"start_lr": 1e-5, "end_lr": 10.0, "num_steps": n}, **kw)


# ------------------------------------------------------------------------------------------- axes and labels


def test_a_positive_loss_is_not_drawn_on_an_axis_that_runs_below_zero():
    r = blowup()
    assert np.nanmin(r.losses) > 0
    _, ax = P.new_figure()
    P.plot_result(r, ax=ax)
    lo, hi = ax.get_ylim()
    shown = [t for t in ax.get_yticks() if lo <= t <= hi]
    assert shown and min(shown) >= 0, shown  # no negative loss on the axis
    assert ax.spines["left"].get_bounds() is not None and ax.spines["left"].get_bounds()[0] >= 0


def test_a_negative_loss_keeps_its_axis():
    r = blowup()
    r2 = RangeTestResult(lrs=r.lrs, losses=r.losses - 5.0)
    _, ax = P.new_figure()
    P.plot_result(r2, ax=ax)
    lo, hi = ax.get_ylim()
    assert min(t for t in ax.get_yticks() if lo <= t <= hi) < 0


def test_a_raw_curve_clipped_at_the_top_says_so():
    r = blowup()
    _, ax = P.new_figure()
    P.plot_result(r, ax=ax)
    top = ax.get_ylim()[1]
    above = np.isfinite(r.losses) & (r.losses > top)
    assert above.any()  # the premise: the blow-up is above the axis
    (marks,) = by_gid(ax, "raw_clipped")
    np.testing.assert_allclose(marks.get_xdata(), r.lrs[above])
    assert np.all(np.asarray(marks.get_ydata()) <= top)  # drawn at the edge, visible
    text = marks.get_label()
    assert f"{int(above.sum())} raw" in text and "above" in text and f"{np.nanmax(r.losses[above]):.4g}" in text
    assert text in legend_texts(ax)


def test_an_unclipped_curve_has_no_clip_marks():
    lrs = np.geomspace(1e-5, 1.0, 80)
    r = RangeTestResult(lrs=lrs, losses=2.3 - 1.5 / (1 + np.exp(-(np.log10(lrs) + 2.5) * 3)))
    _, ax = P.new_figure()
    P.plot_result(r, ax=ax)
    assert not by_gid(ax, "raw_clipped")


@pytest.mark.parametrize("on, label", [("val", "validation accuracy"), ("train", "training accuracy"), (None, "accuracy")])
def test_the_metric_axis_says_which_data_the_metric_was_measured_on(on, label):
    lrs = np.geomspace(1e-5, 1.0, 80)
    acc = 0.1 + 0.8 / (1 + np.exp(-(np.log10(lrs) + 2.5) * 3))
    cfg = {} if on is None else {"metric_on": on}
    r = RangeTestResult(lrs=lrs, losses=2.0 - acc, metrics={"accuracy": acc}, config=cfg)
    _, ax = P.new_figure()
    P.plot_metric(r, ax=ax)
    assert ax.get_ylabel() == label
    assert ax.get_title().startswith(label)
    _, ax2 = P.new_figure()
    P.plot_metric_runs([r, r], ["a", "b"], ax=ax2)
    assert ax2.get_ylabel() == label


# ------------------------------------------------------------------------------------------- one vocabulary


def test_format_lr_is_three_significant_digits():
    assert [format_lr(v) for v in (0.0295, 0.029, 1e-5, 10.0, 0.16649)] == ["0.0295", "0.029", "1e-05", "10", "0.166"]


def test_one_lr_format_in_labels_title_table_report_and_terminal(capsys):
    lrs = np.geomspace(1e-5, 1.0, 80)
    r = RangeTestResult(lrs=lrs, losses=2.3 - 1.5 / (1 + np.exp(-(np.log10(lrs) + 2.5) * 3)))
    lr = 0.0295  # .2g would print 0.029, .3g prints 0.0295
    sugg = {DEFAULT_METHOD: Suggestion(DEFAULT_METHOD, lr, None, "r")}
    _, ax = P.new_figure()
    P.plot_result(r, ax=ax, suggestions=sugg, show_candidates=False)
    labels = [a.get_text() for a in ax.texts if (a.get_gid() or "").startswith("suggestion_label:")]
    assert labels == [f"{DEFAULT_METHOD} 0.0295"]
    assert "0.0295" in ax.get_title()
    rows = [{"method": DEFAULT_METHOD, "found": True, "lr": lr, "nice": 0.03, "reason": "r", "default": True}]
    assert "0.0295" in format_table(rows)
    assert "0.0295" in html_report(r, {}, rows=rows)
    # the LR-vs-step figure labels the default suggestion with the same digits as the table
    s = r.suggest()
    _, ax2 = P.new_figure()
    P.plot_lr_steps(r, ax=ax2)
    if s.found:
        (line,) = by_gid(ax2, "suggestion")
        assert format_lr(s.lr) in line.get_label()
        assert f"{format_lr(s.lr)}" in format_table(suggestion_rows(r))
    from lrscope.cli._main import _answer_line

    assert "0.0295" in _answer_line(rows)


def test_the_analysis_cut_and_the_sweeps_stop_read_the_same_in_plot_terminal_and_report(tmp_path, capsys):
    from lrscope.cli import main

    r = blowup()
    c = prepare_curve(r.lrs, r.losses, sweep=r.sweep)
    assert r.stop_reason == "completed" and c.stop < len(r)  # the premise: the analysis cuts a completed sweep
    _, ax = P.new_figure()
    P.plot_result(r, ax=ax)
    (line,) = by_gid(ax, "divergence")
    legend = line.get_label()
    assert legend.startswith("sweep completed; ")  # the sweep's own word, as the terminal and the report
    phrase = legend.removeprefix("sweep completed; ")
    assert format_lr(r.lrs[c.stop]) in phrase
    page = html_report(r, {})
    assert f"completed; {phrase}" in page
    path = r.save(tmp_path / "r.json")
    assert main(["suggest", str(path)]) == 0
    out = capsys.readouterr().out
    assert f"completed; {phrase}" in out


def test_a_sweep_stopped_by_divergence_reads_the_same_everywhere_and_names_its_curve(tmp_path, capsys):
    from lrscope.cli import main

    r = blowup()
    rule = StopRule()
    d = rule.update_many(r.losses)
    assert d is not None and d.reason == "diverged"
    # the stop text names the curve it quotes: the stop rule's own running average, not a drawn curve
    assert "EMA" in d.detail and "stop rule" in d.detail
    r2 = RangeTestResult(lrs=r.lrs[: d.index + 1], losses=r.losses[: d.index + 1], stop_reason=d.reason,
                         stop_detail=d.detail)
    _, ax = P.new_figure()
    P.plot_result(r2, ax=ax)
    (line,) = by_gid(ax, "divergence")
    words = f"diverged at lr {format_lr(r2.lrs[-1])}"
    assert words in line.get_label()
    assert words in html_report(r2, {})
    path = r2.save(tmp_path / "r.json")
    assert main(["suggest", str(path)]) == 0
    assert words in capsys.readouterr().out


# ------------------------------------------------------------------------------------------- missing or hidden


def test_the_loss_curve_bounds_are_shaded_on_the_loss_figure():
    r = blowup()
    b = r.bounds()
    assert b.found
    _, ax = P.new_figure()
    P.plot_result(r, ax=ax)
    (span,) = by_gid(ax, "loss_bounds")
    xs = ([span.get_x(), span.get_x() + span.get_width()] if hasattr(span, "get_width")
          else [v[0] for v in span.get_xy()])
    assert min(xs) == pytest.approx(b.base_lr) and max(xs) == pytest.approx(b.max_lr)
    assert span.get_label() == f"bounds for cyclical schedules: {format_lr(b.base_lr)} – {format_lr(b.max_lr)}"
    assert span.get_label() in legend_texts(ax)


def test_two_rules_at_one_lr_share_one_marker_labelled_with_both_names():
    lrs = np.geomspace(1e-5, 1.0, 80)
    r = RangeTestResult(lrs=lrs, losses=2.3 - 1.5 / (1 + np.exp(-(np.log10(lrs) + 2.5) * 3)))
    same = {DEFAULT_METHOD: Suggestion(DEFAULT_METHOD, 0.0295, None, "a"),
            "minimum": Suggestion("minimum", 0.02951, None, "b"),  # the same LR as printed
            "valley": Suggestion("valley", 0.001, None, "c")}
    _, ax = P.new_figure()
    P.plot_result(r, ax=ax, suggestions=same, show_candidates=False)
    marks = [ln for ln in ax.get_lines() if (ln.get_gid() or "").startswith("suggestion:")]
    labels = [a for a in ax.texts if (a.get_gid() or "").startswith("suggestion_label:")]
    assert len(marks) == 2 and len(labels) == 2
    shared = next(a for a in labels if "minimum" in a.get_text())
    assert shared.get_text() == f"{DEFAULT_METHOD}, minimum 0.0295"


def test_the_report_prints_each_note_once():
    r = blowup(notes=["the loader was cycled 3 times", "ran on digits"])
    page = html_report(r, {}, notes=["ran on digits", "ran on digits", "another"])
    for note in ("the loader was cycled 3 times", "ran on digits", "another"):
        assert page.count(note) == 1, note


def test_lr_vs_step_title_states_what_ran_and_what_was_planned_separately():
    r = blowup()
    k = 60
    stopped = RangeTestResult(lrs=r.lrs[:k], losses=r.losses[:k], stop_reason="diverged", stop_detail="x",
                              config={"start_lr": 1e-5, "end_lr": 10.0, "num_steps": 150})
    _, ax = P.new_figure()
    P.plot_lr_steps(stopped, ax=ax)
    title = ax.get_title()
    assert f"{format_lr(stopped.lrs[0])} → {format_lr(stopped.lrs[-1])} over {k} steps" in title
    assert "planned" in title and "→ 10 over 150 steps" in title
    _, ax2 = P.new_figure()
    P.plot_lr_steps(r, ax=ax2)  # ran as planned: no "planned" clause
    assert f"{format_lr(r.lrs[0])} → {format_lr(r.lrs[-1])} over {len(r)} steps" in ax2.get_title()
    assert "planned" not in ax2.get_title()


def test_a_multi_run_plot_mixing_training_and_validation_loss_says_which_is_which():
    a = blowup()
    b = blowup(seed=1)
    b = RangeTestResult(lrs=b.lrs, losses=b.losses, val_losses=b.losses * 1.05)
    _, ax = P.new_figure()
    P.plot_runs([a, b], ["a", "b"], ax=ax)
    legend = legend_texts(ax)
    assert any(t.startswith("a") and "training loss" in t for t in legend), legend
    assert any(t.startswith("b") and "validation loss" in t for t in legend), legend
