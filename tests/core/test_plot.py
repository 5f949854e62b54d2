"""lrscope.plot: check the artists on the returned Axes (lines, annotations, labels, scales, spans)."""

from __future__ import annotations

import os
import subprocess
import sys

os.environ.setdefault("MPLBACKEND", "Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

pytest.importorskip("matplotlib")

from lrscope import plot as P  # noqa: E402
from lrscope._format import format_lr  # noqa: E402
from lrscope.analysis.types import Bounds  # noqa: E402
from lrscope.result import RangeTestResult  # noqa: E402


def curve(n=120, *, seed=0, diverge=True, metric=True, val=False):
    rng = np.random.default_rng(seed)
    lrs = np.geomspace(1e-5, 10.0, n)
    x = np.log10(lrs)
    loss = 2.3 - 1.6 / (1 + np.exp(-(x + 2.5) * 3)) + 0.3 * np.exp((x + 0.3) * 2.5) + rng.normal(0, 0.03, n)
    stop = "completed"
    if diverge:
        k = int(np.argmax(loss > 4 * loss.min()))
        lrs, loss, x = lrs[: k + 1], loss[: k + 1], x[: k + 1]
        stop = "diverged"
    metrics = {}
    if metric:
        metrics["accuracy"] = np.clip(0.1 + 0.8 / (1 + np.exp(-(x + 2.5) * 3)) - 0.2 * np.exp((x + 0.3) * 2.5), 0, 1)
    val_losses = loss + 0.05 if val else None
    return RangeTestResult(lrs=lrs, losses=loss, val_losses=val_losses, metrics=metrics, stop_reason=stop,
                           config={"start_lr": 1e-5, "end_lr": 10.0})


@pytest.fixture
def ax():
    fig, ax = P.new_figure()
    return ax


def by_gid(ax, gid):
    return [a for a in ax.get_children() if getattr(a, "get_gid", lambda: None)() == gid]


def gid_prefix(ax, prefix):
    return [a for a in ax.get_children() if str(getattr(a, "get_gid", lambda: None)() or "").startswith(prefix)]


def by_method(ax, kind, method):
    """The one marker (kind "suggestion") or label ("suggestion_label") showing ``method``; rules at the
    same printed LR share one, its gid naming them all (``suggestion:drop+minimum``)."""
    return [a for a in gid_prefix(ax, f"{kind}:") if method in a.get_gid().split(":", 1)[1].split("+")]


def test_plot_result_draws_raw_and_smoothed_on_log_axis(ax):
    r = curve()
    out = P.plot_result(r, ax=ax)
    assert out is ax
    assert ax.get_xscale() == "log"
    assert ax.get_xlabel() == "learning rate" and ax.get_ylabel() == "training loss"
    (raw,) = by_gid(ax, "raw_loss")
    (smooth,) = by_gid(ax, "smoothed_loss")
    np.testing.assert_allclose(raw.get_xdata(), r.lrs)
    np.testing.assert_allclose(raw.get_ydata(), r.losses)
    assert raw.get_alpha() < 0.5 < smooth.get_linewidth()  # faint vs bold
    assert smooth.get_linewidth() > raw.get_linewidth()
    labels = ax.get_legend().get_texts()
    assert any("raw" in t.get_text() for t in labels) and any("smoothed" in t.get_text() for t in labels)


def test_every_found_suggestion_is_marked_and_labelled(ax):
    r = curve()
    sugg = r.suggestions()
    P.plot_result(r, ax=ax)
    found = [s for s in sugg.values() if s.found]
    assert found, "the synthetic curve must give suggestions"
    for s in found:
        (marker,) = by_method(ax, "suggestion", s.method)
        assert format_lr(marker.get_xdata()[0]) == format_lr(s.lr)
        (label,) = by_method(ax, "suggestion_label", s.method)
        assert s.method in label.get_text() and label.get_text().endswith(f" {format_lr(s.lr)}")
        assert format_lr(label.xy[0]) == format_lr(s.lr)
    for s in sugg.values():
        if not s.found:
            assert not by_method(ax, "suggestion", s.method)
    default = r.suggest()
    assert f"{default.nice:g}" in ax.get_title() and default.method in ax.get_title()


def test_suggestion_labels_do_not_overlap(ax):
    r = curve()
    P.plot_result(r, ax=ax)
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(ax.figure)
    canvas.draw()
    renderer = canvas.get_renderer()
    boxes = [a.get_bbox_patch().get_window_extent(renderer) for a in gid_prefix(ax, "suggestion_label:")]
    assert len(boxes) >= 2
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            assert not a.overlaps(b)


def test_candidates_are_arrows_and_divergence_is_marked(ax):
    r = curve()
    P.plot_result(r, ax=ax)
    cands = by_gid(ax, "candidate")
    assert len(cands) == len(r.candidates()) >= 1
    for c, s in zip(cands, r.candidates()):
        assert c.arrow_patch is not None and c.xy[0] == pytest.approx(s.lr)
    (div,) = by_gid(ax, "divergence")
    assert div.get_xdata()[0] == pytest.approx(r.lrs[-1])
    assert "diverged" in div.get_label()


def linear_blowup(n=40, seed=0):
    """A linear sweep that ran to its last step ("completed") but whose loss blows up 10x at the end."""
    rng = np.random.default_rng(seed)
    lrs = np.linspace(1e-3, 3.0, n)
    loss = 2.3 - 1.5 * (1 - np.exp(-lrs / 0.4)) + rng.normal(0, 0.02, n)
    loss[-6:] = loss[-7] * np.geomspace(1.5, 10, 6)
    return RangeTestResult(lrs=lrs, losses=loss, sweep="linear", stop_reason="completed",
                           config={"start_lr": 1e-3, "end_lr": 3.0})


def no_blowup():
    """A completed exponential sweep that stops before its loss turns up."""
    r = curve(diverge=False, metric=False)
    keep = r.lrs <= 0.1
    return RangeTestResult(lrs=r.lrs[keep], losses=r.losses[keep], stop_reason="completed")


def test_completed_run_has_no_divergence_marker(ax):
    r = no_blowup()
    from lrscope.analysis.curve import prepare_curve

    assert prepare_curve(r.lrs, r.losses, sweep=r.sweep).stop == len(r)  # the premise: nothing blew up
    P.plot_result(r, ax=ax)
    assert not by_gid(ax, "divergence") and not by_gid(ax, "divergence_label")


@pytest.mark.parametrize("make", [linear_blowup, lambda: curve(diverge=False)], ids=["linear", "exp"])
def test_completed_sweep_that_blew_up_is_marked_where_the_analysis_cuts_it(ax, make):
    from lrscope.analysis.curve import prepare_curve

    r = make()
    c = prepare_curve(r.lrs, r.losses, sweep=r.sweep)
    assert r.stop_reason == "completed" and c.stop < len(r) and "diverged" in c.end_reason
    P.plot_result(r, ax=ax)
    (line,) = by_gid(ax, "divergence")
    assert line.get_xdata()[0] == pytest.approx(r.lrs[c.stop]) and line.get_linestyle() == "--"
    (text,) = by_gid(ax, "divergence_label")
    assert text.get_text() == "diverged" and text.xy[0] == pytest.approx(r.lrs[c.stop])
    legend = [" ".join(t.get_text().split()) for t in ax.get_legend().get_texts()]  # long entries wrap
    # the sweep's own word first ("completed", as the terminal and the report say), then the analysis' cut
    assert f"sweep completed; the loss diverged from lr {format_lr(r.lrs[c.stop])} on, where the rules stop reading" in legend
    _, ax2 = P.new_figure()
    P.plot_result(r, ax=ax2, show_divergence=False)
    assert not by_gid(ax2, "divergence") and not by_gid(ax2, "divergence_label")


@pytest.mark.parametrize("make", [lambda: curve(diverge=False), curve, linear_blowup], ids=["exp", "exp-diverged", "linear"])
def test_suggestion_labels_clear_of_the_legend_the_spine_and_the_y_label(make):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig, ax = P.new_figure()
    P.plot_result(make(), ax=ax)
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    boxes = [a.get_bbox_patch().get_window_extent(renderer) for a in gid_prefix(ax, "suggestion_label:")]
    assert len(boxes) >= 3
    legend = ax.get_legend().get_window_extent(renderer)
    frame = ax.get_window_extent(renderer)  # the spines
    ylabel = ax.yaxis.label.get_window_extent(renderer)
    for b in boxes:
        assert not b.overlaps(legend)
        assert not b.overlaps(ylabel)
        assert frame.x0 < b.x0 and b.x1 < frame.x1 and frame.y0 < b.y0 and b.y1 < frame.y1  # inside the axes
    for a in by_gid(ax, "divergence_label"):
        assert not a.get_window_extent(renderer).overlaps(legend)


def test_legend_falls_back_to_best_without_a_layout_engine():
    from matplotlib.figure import Figure

    ax = Figure().subplots()
    P.plot_result(curve(), ax=ax)
    assert ax.get_legend()._loc == 0  # "best"


def test_options_methods_source_and_linear_axis(ax):
    r = curve(val=True)
    P.plot_result(r, ax=ax, methods=["valley"], source="val_loss", log_x=False, show_candidates=False, title="t")
    assert ax.get_xscale() == "linear" and ax.get_title() == "t"
    assert ax.get_ylabel() == "validation loss"
    assert len(gid_prefix(ax, "suggestion:")) == 1 and not by_gid(ax, "candidate")


def test_ema_smoothing_and_bad_smoothing(ax):
    r = curve()
    P.plot_result(r, ax=ax, smoothing="ema", beta=0.9)
    (smooth,) = by_gid(ax, "smoothed_loss")
    assert "EMA" in smooth.get_label()
    with pytest.raises(ValueError, match="smoothing"):
        P.plot_result(r, ax=ax, smoothing="spline")


def test_result_plot_method_and_new_figure_when_no_ax():
    import matplotlib.pyplot as plt

    ax = curve().plot()
    try:
        assert ax.get_xscale() == "log" and by_gid(ax, "smoothed_loss")
    finally:
        plt.close(ax.figure)


def test_plot_lr_steps(ax):
    r = curve()
    assert P.plot_lr_steps(r, ax=ax) is ax
    (line,) = by_gid(ax, "lr")
    np.testing.assert_array_equal(line.get_xdata(), r.steps)
    np.testing.assert_allclose(line.get_ydata(), r.lrs)
    assert ax.get_yscale() == "log" and ax.get_xlabel() == "step" and ax.get_ylabel() == "learning rate"
    (sugg,) = by_gid(ax, "suggestion")
    assert sugg.get_ydata()[0] == pytest.approx(r.suggest().lr)
    assert by_gid(ax, "divergence")


def test_plot_metric_shades_the_bounds(ax):
    r = curve()
    b = Bounds("metric", 1e-3, 3e-2, "given")
    assert P.plot_metric(r, ax=ax, bounds=b) is ax
    (line,) = by_gid(ax, "metric")
    assert ax.get_ylabel() == "accuracy" and ax.get_xscale() == "log"
    np.testing.assert_allclose(line.get_ydata(), r.metrics["accuracy"])
    (span,) = by_gid(ax, "bounds")
    if hasattr(span, "get_width"):  # a Rectangle (matplotlib >= 3.9)
        xs = [span.get_x(), span.get_x() + span.get_width()]
    else:  # a Polygon
        xs = [v[0] for v in span.get_xy()]
    assert min(xs) == pytest.approx(1e-3) and max(xs) == pytest.approx(3e-2)
    assert {a.get_text().split()[0] for a in gid_prefix(ax, "bound:")} == {"base_lr", "max_lr"}
    assert "0.001" in ax.get_title() and "0.03" in ax.get_title()


def test_plot_metric_title_says_the_bounds_come_from_the_metric(ax):
    r = curve()
    P.plot_metric(r, ax=ax, bounds=Bounds("metric", 4.1e-4, 5e-3, "given"))
    assert ax.get_title() == "accuracy bounds: base_lr 0.00041, max_lr 0.005"
    (span,) = by_gid(ax, "bounds")
    assert span.get_label().startswith("accuracy bounds")
    _, ax2 = P.new_figure()
    P.plot_metric(r, ax=ax2, bounds=Bounds("loss", 1e-3, 1e-2, "given"))  # loss-curve bounds say so
    assert ax2.get_title() == "loss bounds: base_lr 0.001, max_lr 0.01"


def shifted_metric(decades, seed=0):
    r = curve(seed=seed, diverge=False)
    x = np.log10(r.lrs) - decades
    acc = np.clip(0.1 + 0.8 / (1 + np.exp(-(x + 2.5) * 3)), 0, 1)
    return RangeTestResult(lrs=r.lrs, losses=r.losses, metrics={"accuracy": acc}, stop_reason="completed")


def test_plot_metric_runs_shades_each_runs_bounds_in_its_colour(ax):
    from matplotlib.colors import same_color

    runs = [shifted_metric(0.0), shifted_metric(1.0, seed=1)]
    assert P.plot_metric_runs(runs, ["a", "b"], ax=ax) is ax
    assert ax.get_ylabel() == "accuracy" and ax.get_xscale() == "log"
    assert "accuracy" in ax.get_title() and "bounds" in ax.get_title()
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    spans = []
    for lab, r in zip("ab", runs):
        b = r.bounds("metric")
        assert b.found
        (line,) = by_gid(ax, f"metric:{lab}")
        (span,) = by_gid(ax, f"bounds:{lab}")
        assert same_color(span.get_facecolor()[:3], line.get_color()) and span.get_alpha() <= 0.2
        xs = ([span.get_x(), span.get_x() + span.get_width()] if hasattr(span, "get_width")
              else [v[0] for v in span.get_xy()])
        assert min(xs) == pytest.approx(b.base_lr) and max(xs) == pytest.approx(b.max_lr)
        spans.append(min(xs))
        assert any(t.startswith(lab) and format_lr(b.base_lr) in t and format_lr(b.max_lr) in t for t in legend)
    assert spans[0] != pytest.approx(spans[1])
    _, ax2 = P.new_figure()
    P.plot_metric_runs(runs, ["a", "b"], ax=ax2, bounds=False)
    assert not gid_prefix(ax2, "bounds:")
    with pytest.raises(ValueError, match="'b'.*no metric"):
        P.plot_metric_runs([runs[0], curve(metric=False)], ["a", "b"], ax=ax2)


def test_plot_metric_computed_bounds(ax):
    r = curve()
    P.plot_metric(r, ax=ax)
    b = r.bounds("metric")
    if b.found:
        assert by_gid(ax, "bounds")
    else:
        assert b.reason in by_gid(ax, "bounds_reason")[0].get_text()


def test_plot_metric_without_metric_names_the_problem(ax):
    with pytest.raises(ValueError, match="no metric"):
        P.plot_metric(curve(metric=False), ax=ax)
    with pytest.raises(ValueError, match="f1"):
        P.plot_metric(curve(), "f1", ax=ax)


def test_plot_runs_overlays_each_run(ax):
    runs = [curve(seed=0), curve(seed=1, diverge=False)]
    assert P.plot_runs(runs, ["a", "b"], ax=ax) is ax
    assert len(by_gid(ax, "smoothed_loss:a")) == 1 and len(by_gid(ax, "smoothed_loss:b")) == 1
    assert by_gid(ax, "smoothed_loss:a")[0].get_color() != by_gid(ax, "smoothed_loss:b")[0].get_color()
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any(t.startswith("a") for t in legend) and any(t.startswith("b") for t in legend)
    for lab, r in zip("ab", runs):
        (m,) = by_gid(ax, f"suggestion:{lab}")
        assert m.get_xdata()[0] == pytest.approx(r.suggest().lr)
    assert ax.get_xscale() == "log"
    with pytest.raises(ValueError, match="labels"):
        P.plot_runs(runs, ["only"], ax=ax)
    with pytest.raises(ValueError, match="at least one"):
        P.plot_runs([], ax=ax)


@pytest.mark.parametrize("kinds, ylabel", [(("loss", "loss"), "training loss"),
                                           (("val", "val"), "validation loss"),
                                           (("loss", "val"), "loss (training / validation)")])
def test_plot_runs_y_label_names_the_loss(ax, kinds, ylabel):
    runs = [curve(seed=i, val=k == "val") for i, k in enumerate(kinds)]
    P.plot_runs(runs, ["a", "b"], ax=ax)
    assert ax.get_ylabel() == ylabel


def test_plot_runs_y_label_follows_an_explicit_source(ax):
    P.plot_runs([curve(val=True), curve(seed=1, val=True)], ["a", "b"], ax=ax, source="loss")
    assert ax.get_ylabel() == "training loss"


@pytest.mark.parametrize("method", [None, ""])
def test_plot_runs_divergence_lines_have_one_legend_entry(ax, method):
    from matplotlib.colors import same_color

    runs = [curve(seed=0), linear_blowup(), no_blowup()]  # stopped by the sweep; cut by the analysis; neither
    P.plot_runs(runs, ["a", "b", "c"], ax=ax, method=method)
    for lab in "ab":
        (div,) = by_gid(ax, f"divergence:{lab}")
        (smooth,) = by_gid(ax, f"smoothed_loss:{lab}")
        assert same_color(div.get_color(), smooth.get_color()) and div.get_linestyle() == "--"
    assert not by_gid(ax, "divergence:c")
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert sum("diverged" in t for t in legend) == 1


def test_plot_schedule(ax):
    from lrscope.schedules import from_bounds

    s = from_bounds("triangular2", base_lr=1e-3, max_lr=1e-2, step_size_up=20)
    assert P.plot_schedule(s, 200, ax=ax, steps_per_epoch=40) is ax
    (line,) = by_gid(ax, "schedule")
    steps, lrs = s.preview(200)
    np.testing.assert_allclose(line.get_ydata(), lrs)
    assert ax.get_xlabel() == "step" and ax.get_ylabel() == "learning rate"
    assert "0.001" in ax.get_title() and "0.01" in ax.get_title()


@pytest.mark.parametrize("ext, magic", [(".png", b"\x89PNG"), (".jpg", b"\xff\xd8"), (".jpeg", b"\xff\xd8"),
                                        (".svg", b"<?xml"), (".pdf", b"%PDF")])
def test_save_figure_by_extension(tmp_path, ax, ext, magic):
    P.plot_result(curve(), ax=ax)
    path = P.save_figure(ax, tmp_path / f"f{ext}")
    assert path.read_bytes().startswith(magic)
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"f{ext}"]  # no temp file left


def test_save_figure_bad_extension_writes_nothing(tmp_path, ax):
    with pytest.raises(ValueError, match=r"\.gif"):
        P.save_figure(ax, tmp_path / "f.gif")
    assert list(tmp_path.iterdir()) == []


def test_jupyter_repr():
    r = curve()
    html = r._repr_html_()
    assert "data:image/png;base64," in html
    for name in r.suggestions():
        assert name in html
    assert "no suggestion" in html or all(s.found for s in r.suggestions().values())
    png = r._repr_png_()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"


def test_importing_plot_does_not_import_matplotlib():
    code = "import sys, lrscope, lrscope.plot, lrscope.report, lrscope.cli; print('matplotlib' in sys.modules, 'torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "False"]


def test_missing_matplotlib_gives_the_install_hint(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ImportError, match=r"pip install 'lrscope\[plot\]'"):
        P.plot_result(curve())


def test_the_default_rules_marker_stays_on_top_where_rules_agree():
    import numpy as np

    from lrscope.analysis import DEFAULT_METHOD
    from lrscope.analysis.types import Suggestion
    from lrscope.plot import plot_result
    from lrscope.result import RangeTestResult

    lrs = np.geomspace(1e-5, 1.0, 80)
    x = np.log10(lrs)
    r = RangeTestResult(lrs=lrs, losses=2.3 - 1.5 / (1 + np.exp(-(x + 2.5) * 3)))
    same = {DEFAULT_METHOD: Suggestion(DEFAULT_METHOD, 0.01, None, "a"), "minimum": Suggestion("minimum", 0.01, None, "b")}
    ax = plot_result(r, suggestions=same)
    marks = {ln.get_gid(): ln for ln in ax.get_lines() if (ln.get_gid() or "").startswith("suggestion:")}
    # one marker for both, drawn as the default's (large, on top), its label naming the default first
    assert list(marks) == [f"suggestion:{DEFAULT_METHOD}+minimum"]
    (mark,) = marks.values()
    assert mark.get_markersize() == 11
    (label,) = [a for a in ax.texts if (a.get_gid() or "").startswith("suggestion_label:")]
    assert label.get_text() == f"{DEFAULT_METHOD}, minimum 0.01" and label.get_fontweight() == "bold"
    ax.figure.clf()
