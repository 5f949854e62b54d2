"""Suggestion tables (text, JSON-ready rows, HTML) and the self-contained HTML report.

The text table is what ``lrscope demo`` / ``lrscope suggest`` print; the HTML report embeds its
pictures as base64 PNGs so the single file can be mailed or attached to an issue. Only the functions
that draw pictures need matplotlib (imported when called).
"""

from __future__ import annotations

import base64
import html
import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, cast

from lrscope._format import format_lr, stop_text

if TYPE_CHECKING:  # pragma: no cover
    from lrscope.result import RangeTestResult, Source

__all__ = ["bounds_rows", "format_table", "html_report", "result_html", "result_png", "suggestion_rows", "verified_line"]


def _default_method() -> str | None:
    try:
        from lrscope.analysis import rules
    except ImportError:  # pragma: no cover - rules module missing
        return None
    return getattr(rules, "DEFAULT_METHOD", None)


def suggestion_rows(result: RangeTestResult, *, source: str = "auto", methods: Sequence[str] | None = None,
                    settings: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
    """One JSON-ready row per rule: ``method, lr, nice, reason, found, default`` (+ interval, confidence).

    Args:
        result: the run.
        source: which curve (see :meth:`RangeTestResult.curve`).
        methods: the rules (default: every registered rule, the default rule first); ``"reader"`` for
            the learned reader.
        settings: the run's settings (``budget``, ``schedule``, ``optimizer``, ``batch_size``), given
            to the default rule's row and the reader's, as :meth:`RangeTestResult.suggest` takes them.
    """
    default = _default_method()
    given: dict[str, Any] = dict(settings or {})
    src = cast("Source", source)

    def one(m: str) -> Any:  # the default rule's row and the reader's read the settings (None: the default path)
        if given and m in (default, "reader"):
            return result.suggest(None if m == default else m, source=src, **given)
        return result.suggest(m, source=src)

    if methods is None:
        sugg = result.suggestions(source=src)
        if given and default in sugg:
            sugg[default] = one(default)
    else:
        sugg = {m: one(m) for m in methods}
    names = sorted(sugg, key=lambda m: (m != default,))  # default first, others in registry order
    rows = []
    for name in names:
        s = sugg[name]
        rows.append(
            {
                "method": s.method,
                "found": s.found,
                "lr": s.lr,
                "nice": s.nice,
                "reason": s.reason,
                "interval": list(s.interval) if s.interval is not None else None,
                "confidence": s.confidence,
                "default": name == default,
            }
        )
    return rows


def bounds_rows(result: RangeTestResult) -> list[dict[str, Any]]:
    """The cyclical-schedule bounds a run gives: from the loss curve the suggestions read (what
    ``lrscope schedule`` uses by default) and, when a metric was recorded, from the metric curve
    (what the metric plot shades). Each row: ``curve``, ``source``, ``found``, ``base_lr``, ``max_lr``,
    ``reason``."""
    rows: list[dict[str, Any]] = []
    if len(result) < 2:
        return rows
    src = result.loss_source("auto")
    wanted: list[tuple[str, Literal["loss", "val_loss", "metric"]]] = [("validation loss" if src == "val_loss" else "loss", src)]
    if result.metrics:
        wanted.append((next(iter(result.metrics)), "metric"))
    for curve, source in wanted:
        try:
            b = result.bounds(source)
        except ValueError as exc:
            rows.append({"curve": curve, "source": source, "found": False, "base_lr": None, "max_lr": None,
                         "reason": str(exc)})
            continue
        rows.append({"curve": curve, "source": source, "found": b.found, "base_lr": b.base_lr, "max_lr": b.max_lr,
                     "reason": b.reason})
    return rows


def verified_line(result: RangeTestResult) -> str | None:
    """One line on the verified LR kept by ``lrscope find --verify`` (``config["verified"]``), else None."""
    v = result.config.get("verified")
    if not isinstance(v, Mapping):
        return None
    if v.get("lr") is None:
        return f"Not verified: {v.get('reason', 'no reason recorded')}"
    nice = v.get("nice", v["lr"])
    return (f"Verified learning rate: {nice:g} ({format_lr(v['lr'])}; confidence {v.get('confidence')}; "
            f"{v.get('steps', '?')} trial steps)")


def format_table(rows: Sequence[Mapping[str, Any]], *, width: int | None = None) -> str:
    """The rows of :func:`suggestion_rows` as a plain-text table (the default rule marked ``*``).

    Args:
        rows: rows from :func:`suggestion_rows`.
        width: wrap the reason column to fit this many characters (None: no wrapping).
    """
    import textwrap

    table = []
    for r in rows:
        name = ("* " if r.get("default") else "  ") + str(r["method"])
        if r["found"]:
            lr, nice = format_lr(r["lr"]), f"{r['nice']:g}"
        else:
            lr, nice = "no suggestion", "-"
        conf = r.get("confidence") or ""
        table.append((name, lr, nice, conf, str(r["reason"])))
    head = ("  method", "lr", "nice", "confidence", "reason")
    show_conf = any(t[3] for t in table)
    cols = [0, 1, 2, 3, 4] if show_conf else [0, 1, 2, 4]
    widths = {c: max(len(head[c]), *(len(t[c]) for t in table)) if table else len(head[c]) for c in cols[:-1]}
    indent = sum(widths[c] + 2 for c in cols[:-1])
    lines = ["  ".join(head[c].ljust(widths[c]) for c in cols[:-1]) + "  " + head[4]]
    lines.append("-" * min(indent + max([len(head[4])] + [len(t[4]) for t in table]), width or 10**6))
    for t in table:
        prefix = "  ".join(t[c].ljust(widths[c]) for c in cols[:-1]) + "  "
        reason = t[4]
        if width and width - indent >= 30:
            wrapped = textwrap.wrap(reason, width - indent) or [""]
            lines.append(prefix + wrapped[0])
            lines += [" " * indent + w for w in wrapped[1:]]
        else:
            lines.append(prefix + reason)
    if any(r.get("default") for r in rows):
        lines.append("(* the default rule)")
    return "\n".join(lines)


def _rows_html(rows: Sequence[Mapping[str, Any]]) -> str:
    out = ['<table class="lrscope-table" style="border-collapse:collapse;font-size:0.9em">',
           "<thead><tr>" + "".join(f'<th style="text-align:left;padding:2px 8px;border-bottom:1px solid #999">{h}</th>'
                                   for h in ("method", "lr", "nice", "reason")) + "</tr></thead><tbody>"]
    for r in rows:
        style = "font-weight:bold;" if r.get("default") else ""
        lr = format_lr(r["lr"]) if r["found"] else "<i>no suggestion</i>"
        nice = f"{r['nice']:g}" if r["found"] else "–"
        name = html.escape(str(r["method"])) + (" (default)" if r.get("default") else "")
        cells = (name, lr, nice, html.escape(str(r["reason"])))
        out.append(f'<tr style="{style}">' + "".join(f'<td style="padding:2px 8px;vertical-align:top">{c}</td>'
                                                      for c in cells) + "</tr>")
    out.append("</tbody></table>")
    return "\n".join(out)


def _img(png: bytes, alt: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return f'<img alt="{html.escape(alt)}" style="max-width:100%" src="data:image/png;base64,{data}"/>'


def _summary(result: RangeTestResult) -> list[tuple[str, str]]:
    cfg = result.config
    items = [("steps recorded", str(len(result))), ("sweep", result.sweep)]
    if len(result):
        items.append(("learning rates", f"{format_lr(result.lrs.min())} … {format_lr(result.lrs.max())}"))
    items.append(("stopped", stop_text(result)))
    for key in ("task", "model", "optimizer", "data", "batch_size", "device", "mode", "elapsed_s"):
        if key in cfg:
            v = cfg[key]
            items.append((key.replace("_", " "), f"{v:.3g}" if isinstance(v, float) and math.isfinite(v) else str(v)))
    return items


def result_png(result: RangeTestResult, *, dpi: int = 90) -> bytes | None:
    """PNG bytes of the loss-vs-LR plot, or None without matplotlib or with fewer than 2 steps."""
    if len(result) < 2:
        return None
    try:
        from lrscope.plot import new_figure, plot_result, to_png

        fig, ax = new_figure(figsize=(7.0, 4.3))
    except ImportError:
        return None
    plot_result(result, ax=ax)
    return to_png(fig, dpi=dpi)


def result_html(result: RangeTestResult, *, plot: bool = True) -> str:
    """An HTML fragment: the loss-vs-LR plot (embedded PNG) and the suggestion table — Jupyter's view."""
    parts = ['<div class="lrscope-result">', f"<div><code>{html.escape(repr(result))}</code></div>"]
    if plot and len(result) >= 2:
        try:
            from lrscope.plot import new_figure, plot_result, to_png

            fig, ax = new_figure(figsize=(7.0, 4.3))
            plot_result(result, ax=ax)
            parts.append(_img(to_png(fig, dpi=90), "loss vs learning rate"))
        except ImportError as exc:  # no matplotlib: the table alone
            parts.append(f"<div><i>{html.escape(str(exc))}</i></div>")
    parts.append(_rows_html(suggestion_rows(result)))  # with no points: every rule's reason says so
    parts.append("</div>")
    return "\n".join(parts)


def html_report(
    result: RangeTestResult,
    images: Mapping[str, bytes],
    *,
    title: str = "lrscope range test",
    rows: Sequence[Mapping[str, Any]] | None = None,
    notes: Sequence[str] = (),
    files: Mapping[str, str] | None = None,
) -> str:
    """A short self-contained HTML page: summary, suggestion table, the pictures (base64 PNGs), notes.

    Args:
        result: the run.
        images: caption -> PNG bytes, shown in order.
        title: page title.
        rows: the suggestion rows (default: :func:`suggestion_rows` of ``result``).
        notes: extra sentences (e.g. "Fashion-MNIST was not found; ran on digits").
        files: label -> relative path of files written next to the report (linked).
    """
    rows = list(rows) if rows is not None else suggestion_rows(result)
    default = next((r for r in rows if r.get("default") and r["found"]), None) or next((r for r in rows if r["found"]), None)
    answer = (f"Suggested learning rate: <b>{default['nice']:g}</b> ({html.escape(str(default['method']))}: "
              f"{format_lr(default['lr'])})") if default else "No rule found a learning rate in this curve; see the reasons below."
    css = ("body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;max-width:980px;margin:2em auto;"
           "padding:0 1em;color:#222}h1{font-size:1.5em}h2{font-size:1.15em;margin-top:1.6em}"
           ".answer{font-size:1.2em;background:#eef5ff;padding:.6em 1em;border-radius:6px}"
           "dl{display:grid;grid-template-columns:max-content auto;gap:.2em 1em}dt{color:#666}dd{margin:0}"
           "figure{margin:1em 0}figcaption{color:#555;font-size:.9em}")
    body = [f"<h1>{html.escape(title)}</h1>", f'<p class="answer">{answer}</p>']
    all_notes = list(dict.fromkeys([*notes, *result.notes]))  # a note given twice (e.g. by the CLI and the run) once
    if all_notes:
        body.append("<ul>" + "".join(f"<li>{html.escape(n)}</li>" for n in all_notes) + "</ul>")
    body.append("<h2>Suggestions</h2>")
    body.append(_rows_html(rows))
    verified = result.config.get("verified")
    if isinstance(verified, Mapping):
        body.append("<h2>Verified by training</h2>")
        body.append(f"<p>{html.escape(verified_line(result) or '')}</p>")
        if verified.get("lr") is not None:
            body.append(f"<p>{html.escape(str(verified.get('reason', '')))}</p>")
            cands, scores = verified.get("candidates") or [], verified.get("scores") or []
            body.append("<table><tr><th>trial LR</th><th>trial loss</th></tr>" + "".join(
                f"<tr><td>{format_lr(c)}</td><td>{'diverged' if sc is None else f'{sc:.4g}'}</td></tr>"
                for c, sc in zip(cands, scores)) + "</table>")
    brows = bounds_rows(result)
    if brows:
        body.append("<h2>Bounds for cyclical schedules</h2><table><tr><th>curve</th><th>base_lr</th><th>max_lr</th>"
                    "<th>reason</th></tr>" + "".join(
                        f"<tr><td>{html.escape(r['curve'])}</td>"
                        + (f"<td>{format_lr(r['base_lr'])}</td><td>{format_lr(r['max_lr'])}</td>" if r["found"] else "<td colspan=2>none</td>")
                        + f"<td>{html.escape(r['reason'])}</td></tr>" for r in brows) + "</table>")
    for caption, png in images.items():
        body.append(f"<figure>{_img(png, caption)}<figcaption>{html.escape(caption)}</figcaption></figure>")
    body.append("<h2>Run</h2><dl>" + "".join(f"<dt>{html.escape(k)}</dt><dd>{html.escape(v)}</dd>"
                                            for k, v in _summary(result)) + "</dl>")
    if files:
        body.append("<h2>Files</h2><ul>" + "".join(
            f'<li><a href="{html.escape(p)}">{html.escape(p)}</a> — {html.escape(k)}</li>' for k, p in files.items())
            + "</ul>")
    from lrscope._version import __version__

    body.append(f'<p style="color:#888;font-size:.8em">lrscope {html.escape(__version__)}</p>')
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"/>"
            f"<title>{html.escape(title)}</title><style>{css}</style></head><body>\n" + "\n".join(body)
            + "\n</body></html>\n")
