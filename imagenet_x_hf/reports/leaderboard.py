"""The leaderboard of a sweep: every model's accuracy, its 16 error ratios with their intervals and
its place among the authors' zoo, as ``leaderboard.csv``, ``leaderboard.md`` and ``leaderboard.html``.

Rows come from the sweep's ``summary.json`` (a failed model is listed, last, with the step it
failed at and its error) and each finished model's ``results.json`` (read and checked as every
report reads a run). The zoo column is :func:`imagenet_x_hf.zoo.place` of the results: the
model's accuracy percentile among the reference and the factors whose excess over models of
its accuracy has an interval that excludes 0. The HTML page is one file with its style and
script inline (no network), its columns sortable by a click on their header.

>>> ratio_side(1.4, 1.1, 1.7), ratio_side(0.8, 0.6, 1.01), ratio_side(None, None, None)
('above', 'includes', 'unknown')
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from markupsafe import Markup, escape

from imagenet_x_hf.errors import ResultsFileError
from imagenet_x_hf.reports.inputs import ModelResults
from imagenet_x_hf.results import Results
from imagenet_x_hf.schema import FACTORS

FILES = ("leaderboard.csv", "leaderboard.md", "leaderboard.html")
SUMMARY = "summary.json"


def ratio_side(ratio: float | None, low: float | None, high: float | None) -> str:
    """Where an error ratio's interval lies against 1: ``above``, ``below``, ``includes`` or ``unknown``."""
    if ratio is None or low is None or high is None:
        return "unknown"
    if low > 1:
        return "above"
    if high < 1:
        return "below"
    return "includes"


@dataclass
class Row:
    """One model of the leaderboard."""

    name: str
    model: str
    status: str
    output: str
    accuracy: float | None = None
    images: int | None = None
    images_per_second: float | None = None
    ratios: dict[str, tuple[float | None, float | None, float | None]] = field(default_factory=dict)
    confidence_level: float | None = None
    zoo_percentile: float | None = None
    zoo_more: list[str] = field(default_factory=list)
    zoo_fewer: list[str] = field(default_factory=list)
    zoo_note: str | None = None
    error: str | None = None

    def zoo_text(self) -> str:
        if self.zoo_percentile is None:
            return self.zoo_note or ""
        from imagenet_x_hf.reports.format import factor_label

        # rounded down: a share of models never rounds up
        parts = [f"accuracy above {math.floor(self.zoo_percentile)}% of the zoo's models"]
        if self.zoo_more:
            parts.append(
                "more errors than expected at its accuracy on " + ", ".join(map(factor_label, self.zoo_more))
            )
        if self.zoo_fewer:
            parts.append("fewer on " + ", ".join(map(factor_label, self.zoo_fewer)))
        if self.zoo_note:
            parts.append(self.zoo_note)
        elif not (self.zoo_more or self.zoo_fewer):
            parts.append("every factor as expected at its accuracy")
        return "; ".join(parts)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def _zoo(results: Results, zoo) -> dict[str, Any]:
    """The placement of one model (``zoo.place``); a note when it cannot be made."""
    from imagenet_x_hf.zoo import place

    if zoo is None:
        placement = results.zoo
        if placement is None or placement.skipped:
            note = placement.note if placement is not None else None
            return {"note": note or "not placed: the zoo's tables are not available"}
        block = placement.to_dict()
    else:
        try:
            block = place(results, zoo=zoo)
        except (ValueError, KeyError, TypeError) as err:
            return {"note": f"not placed: {err}"}
    percentile = _number(block.get("accuracy_percentile"))
    coverage = block.get("coverage") if isinstance(block.get("coverage"), Mapping) else {}
    if coverage.get("placed") is False:
        return {
            "note": f"not placed: the predictions cover {100 * coverage['fraction']:.1f}% of the annotated "
            f"images, placement needs {100 * coverage['threshold']:.0f}%"
        }
    if percentile is None:
        notes = block.get("notes") or []
        return {"note": "not placed" + (f": {notes[-1]}" if notes else "")}
    extrapolation = block.get("extrapolation") if isinstance(block.get("extrapolation"), Mapping) else {}
    if extrapolation.get("extrapolated"):
        # beyond what the reference shows, an interval excluding 0 is no verdict (as in the card)
        reason = extrapolation.get("reason") or "too few zoo models are near its accuracy"
        return {"percentile": percentile, "note": f"extrapolation ({reason}): no factor called unusual"}
    more, fewer = [], []
    for factor in FACTORS:
        entry = (block.get("factors") or {}).get(factor) or {}
        interval = entry.get("excess_interval") or [None, None]
        low, high = (_number(v) for v in interval)
        if low is not None and low > 0:
            more.append((-(_number(entry.get("excess")) or 0), factor))
        elif high is not None and high < 0:
            fewer.append(((_number(entry.get("excess")) or 0), factor))
    return {
        "percentile": percentile,
        "more": [f for _, f in sorted(more)],
        "fewer": [f for _, f in sorted(fewer)],
    }


def _load_zoo():
    from imagenet_x_hf.zoo import ZooError, load_zoo

    try:
        return load_zoo()
    except (ZooError, OSError):
        return None


def result_row(model: ModelResults, *, zoo=None, output: str | None = None) -> Row:
    """The row of one model's results (a run, a results file or scored predictions)."""
    results = model.results
    name = str(results.model or model.name)
    row = Row(name=model.name, model=name, status="ok", output=output or str(model.source))
    row.accuracy = _number(results.accuracy)
    row.images = results.images
    row.images_per_second = _number(model.run.timing.get("images_per_second") if model.run else None)
    row.confidence_level = _number(results.scoring.confidence_level)
    for d in results.factors:
        row.ratios[d.factor] = (_number(d.error_ratio), _number(d.low), _number(d.high))
    placed = _zoo(results.replace(model=name), zoo)
    row.zoo_percentile = placed.get("percentile")
    row.zoo_more, row.zoo_fewer = placed.get("more", []), placed.get("fewer", [])
    row.zoo_note = placed.get("note")
    return row


def _ranked(rows: list[Row]) -> list[Row]:
    ok = sorted((r for r in rows if r.status == "ok"), key=lambda r: -(r.accuracy or 0))
    return ok + [r for r in rows if r.status != "ok"]


def leaderboard_rows(sweep_dir: str | os.PathLike, *, zoo=None) -> list[Row]:
    """The rows of a sweep folder's leaderboard: finished models by accuracy, then the failed ones."""
    from imagenet_x_hf.reports.inputs import check_same_settings, read_run
    from imagenet_x_hf.reports.reproduce import public_model_name

    sweep_dir = Path(sweep_dir)
    summary_path = sweep_dir / SUMMARY
    if not summary_path.is_file():
        raise ResultsFileError(
            f"no {SUMMARY} in {str(sweep_dir)!r}; pass the --output folder of 'imagenet-x sweep' "
            "(or of 'imagenet-x evaluate' with several models)"
        )
    try:
        entries = list(json.loads(summary_path.read_text(encoding="utf-8"))["models"])
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise ResultsFileError(
            f"{summary_path} is damaged ({err}); run the sweep again to rewrite it"
        ) from err
    zoo = zoo if zoo is not None else _load_zoo()
    rows, runs = [], []
    for entry in entries:
        model = str(entry.get("model"))
        output = Path(entry.get("output") or "")
        if not output.is_dir():  # a sweep folder moved since: its sub-folders moved with it
            output = sweep_dir / output.name
        if entry.get("status") != "ok":
            error = f"{entry.get('stage', 'failed')}: {entry.get('error', 'unknown error')}"
            rows.append(
                Row(public_model_name(model), model, str(entry.get("status")), str(output), error=error)
            )
            continue
        run = read_run(output, name=public_model_name(model))
        runs.append(run)
        rows.append(result_row(run, zoo=zoo, output=str(output)))
    check_same_settings(runs)
    return _ranked(rows)


def source_rows(sources: Sequence[str | os.PathLike]) -> list[Row]:
    """Rows from sweep folders, run folders, results files and predictions files (scored with defaults)."""
    from imagenet_x_hf.reports.inputs import check_same_settings, load_all_model_results

    zoo = _load_zoo()
    rows, models = [], []
    for source in sources:
        if Path(source).is_dir() and (Path(source) / SUMMARY).is_file():
            rows += leaderboard_rows(source, zoo=zoo)
            continue
        for model in load_all_model_results(source):
            models.append(model)
            rows.append(result_row(model, zoo=zoo))
    check_same_settings(models)
    return _ranked(rows)


# -- the three files ------------------------------------------------------------------------------


def _fmt(value: float | None, digits: int = 3) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def to_csv(rows: Sequence[Row]) -> str:
    """One line per model; per factor three columns: the ratio and its interval's ends."""
    header = ["rank", "model", "status", "accuracy", "images", "images_per_second"]
    for f in FACTORS:
        header += [f"{f}_error_ratio", f"{f}_low", f"{f}_high"]
    header += [
        "zoo_accuracy_percentile",
        "zoo_more_errors",
        "zoo_fewer_errors",
        "zoo_note",
        "error",
        "output",
    ]
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    for rank, r in enumerate(rows, 1):
        line = [rank if r.status == "ok" else "", r.model, r.status, _fmt(r.accuracy, 6), r.images or ""]
        line.append(_fmt(r.images_per_second, 2))
        for f in FACTORS:
            line += [_fmt(v, 6) for v in r.ratios.get(f, (None, None, None))]
        line += [_fmt(r.zoo_percentile, 2), " ".join(r.zoo_more), " ".join(r.zoo_fewer), r.zoo_note or ""]
        line += [r.error or "", r.output]
        writer.writerow(line)
    return buf.getvalue()


def _interval(factor: str, low: float | None, high: float | None) -> str:
    """``"1.004–1.62"``: an end near 1 keeps the decimals that tell it from 1 (the reports' format)."""
    from imagenet_x_hf.reports.format import format_interval
    from imagenet_x_hf.results import FactorResult as FactorRow

    if low is None or high is None:
        return ""
    return format_interval(FactorRow(factor, 0, None, None, (low + high) / 2, low, high))


def _cell_md(factor: str, ratio: tuple[float | None, float | None, float | None]) -> str:
    value, low, high = ratio
    if value is None:
        return "n/a"
    text = f"{value:.2f}"
    if low is not None and high is not None:
        text += f" ({_interval(factor, low, high)})"
    side = ratio_side(*ratio)
    return f"**{text}**" if side in ("above", "below") else text


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def to_markdown(rows: Sequence[Row]) -> str:
    """A Markdown table; a ratio whose interval excludes 1 is in bold."""
    level = next((r.confidence_level for r in rows if r.confidence_level), 0.95)
    from imagenet_x_hf.reports.format import factor_label

    header = ["#", "model", "accuracy", *(factor_label(f) for f in FACTORS), "zoo"]
    lines = [
        "# ImageNet-X leaderboard",
        "",
        f"Error ratio per factor: a model's error rate on images with the factor over its overall error "
        f"rate (above 1: more mistakes than on average), with its {100 * level:g}% interval; **bold**: the "
        "interval excludes 1. Zoo: where the model stands among the ImageNet-X authors' released models.",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "|".join(["---:", "---", "---:", *(["---:"] * len(FACTORS)), "---"]) + "|",
    ]
    for rank, r in enumerate(rows, 1):
        if r.status != "ok":
            cells = ["", _md_escape(r.name), "failed", *([""] * len(FACTORS)), _md_escape(r.error or "")]
        else:
            cells = [
                str(rank),
                _md_escape(r.name),
                f"{100 * r.accuracy:.2f}%" if r.accuracy is not None else "n/a",
            ]
            cells += [_cell_md(f, r.ratios[f]) for f in FACTORS]
            cells.append(_md_escape(r.zoo_text()))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


_CSS = """
body{font:14px/1.4 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:1.5rem;color:#1b1b1b}
h1{font-size:1.4rem;margin:0 0 .3rem}p.lead{max-width:60rem;color:#444}
.wrap{overflow-x:auto}table{border-collapse:collapse;font-variant-numeric:tabular-nums}
th,td{padding:.3rem .45rem;border-bottom:1px solid #ddd;text-align:right;white-space:nowrap}
th{position:sticky;top:0;background:#f6f6f6;cursor:pointer;user-select:none;font-weight:600}
th[aria-sort=ascending]::after{content:" \\25B2"}th[aria-sort=descending]::after{content:" \\25BC"}
td.name,th.name,td.zoo,th.zoo{text-align:left}td.zoo{white-space:normal;min-width:16rem;max-width:28rem}
td.above{background:#fbe3d6;color:#8a3200;font-weight:600}td.below{background:#d8e9f6;color:#00466e;font-weight:600}
td small{color:#666;display:block;font-size:.75rem}tr.failed td{color:#8a0000}
td.err{text-align:left;white-space:normal}.key span{padding:0 .4rem;margin-right:.6rem}
"""

_JS = """
document.querySelectorAll("table.board th").forEach(function (th, col) {
  th.addEventListener("click", function () {
    var table = th.closest("table"), body = table.tBodies[0];
    var current = th.getAttribute("aria-sort");
    // names start A to Z, numbers largest first; a second click reverses
    var down = current ? current === "ascending" : !th.classList.contains("name");
    table.querySelectorAll("th").forEach(function (h) { h.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", down ? "descending" : "ascending");
    var key = function (row) { var c = row.cells[col]; return c ? c.dataset.sort : undefined; };
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = key(a), y = key(b);
      var nx = x === undefined || x === "", ny = y === undefined || y === "";
      if (nx || ny) return nx === ny ? 0 : (nx ? 1 : -1);  // no value: last either way
      var fx = parseFloat(x), fy = parseFloat(y), c;
      if (!isNaN(fx) && !isNaN(fy)) c = fx - fy; else c = x < y ? -1 : x > y ? 1 : 0;
      return down ? -c : c;
    });
    rows.forEach(function (r) { body.appendChild(r); });
  });
});
"""


def _attr(value: float | None) -> str:
    return "" if value is None else repr(float(value))


def to_html(rows: Sequence[Row], *, title: str = "ImageNet-X leaderboard") -> str:
    """One self-contained page: the table, sortable by any column (a click on its header)."""
    from imagenet_x_hf.reports.format import factor_label

    level = next((r.confidence_level for r in rows if r.confidence_level), 0.95)
    head = ['<th class="num" title="rank by accuracy">#</th>', '<th class="name">model</th>']
    head += ['<th title="top-1 accuracy">accuracy</th>', '<th title="images per second">img/s</th>']
    head += [
        f'<th title="error ratio: {escape(factor_label(f))}">{escape(factor_label(f))}</th>' for f in FACTORS
    ]
    head.append('<th class="zoo" title="sorted by the accuracy percentile among the zoo">zoo placement</th>')
    body = []
    for rank, r in enumerate(rows, 1):
        if r.status != "ok":
            cells = [
                '<td data-sort=""></td>',
                f'<td class="name" data-sort="{escape(r.name)}">{escape(r.name)}</td>',
                f'<td class="err" colspan="{len(FACTORS) + 3}" data-sort="">failed at {escape(r.error or "")}</td>',
            ]
            body.append('<tr class="failed">' + "".join(cells) + "</tr>")
            continue
        cells = [
            f'<td data-sort="{rank}">{rank}</td>',
            f'<td class="name" data-sort="{escape(r.name)}" title="{escape(r.model)}">{escape(r.name)}</td>',
            f'<td data-sort="{_attr(r.accuracy)}">{"n/a" if r.accuracy is None else f"{100 * r.accuracy:.2f}%"}</td>',
            f'<td data-sort="{_attr(r.images_per_second)}">{_fmt(r.images_per_second, 0) or "–"}</td>',
        ]
        for f in FACTORS:
            value, low, high = r.ratios[f]
            side = ratio_side(value, low, high)
            interval = "" if low is None or high is None else f"<small>{_interval(f, low, high)}</small>"
            text = "n/a" if value is None else f"{value:.2f}"
            cells.append(f'<td class="{side}" data-sort="{_attr(value)}">{text}{interval}</td>')
        cells.append(f'<td class="zoo" data-sort="{_attr(r.zoo_percentile)}">{escape(r.zoo_text())}</td>')
        body.append("<tr>" + "".join(cells) + "</tr>")
    ok = sum(r.status == "ok" for r in rows)
    lead = (
        f"{ok} model{'s' if ok != 1 else ''} evaluated"
        + (f", {len(rows) - ok} failed" if len(rows) > ok else "")
        + f". Error ratio: a model's error rate on the images with a factor over its overall error rate "
        f"(above 1: more mistakes than on average), with its {100 * level:g}% interval below it. "
        "Click a column's header to sort by it."
    )
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'">
<title>{escape(title)}</title><style>{_CSS}</style></head>
<body><h1>{escape(title)}</h1><p class="lead">{escape(lead)}</p>
<p class="key"><span class="key-above" style="background:#fbe3d6">interval above 1</span><span style="background:#d8e9f6">interval below 1</span></p>
<div class="wrap"><table class="board"><thead><tr>{"".join(head)}</tr></thead>
<tbody>{"".join(body)}</tbody></table></div>
<script>{_JS}</script></body></html>
"""
    return str(Markup(page))


def write_leaderboard(sweep_dir: str | os.PathLike, rows: Sequence[Row] | None = None) -> dict[str, Path]:
    """Write ``leaderboard.csv``, ``.md`` and ``.html`` into a folder (by default the rows of the sweep
    in it); return their paths by kind."""
    from imagenet_x_hf.runner.store import atomic_write_bytes

    sweep_dir = Path(sweep_dir)
    rows = leaderboard_rows(sweep_dir) if rows is None else rows
    sweep_dir.mkdir(parents=True, exist_ok=True)
    out = {}
    for name, text in zip(FILES, (to_csv(rows), to_markdown(rows), to_html(rows))):
        atomic_write_bytes(sweep_dir / name, text.encode("utf-8"))
        out[name.rsplit(".", 1)[1]] = sweep_dir / name
    return out


def write_sweep_leaderboard(sweep_dir: str | os.PathLike, summary: dict[str, Any]) -> dict[str, Any]:
    """The last step of a sweep: its leaderboard beside ``summary.json``, which then names the files.

    ``summary`` is what :func:`imagenet_x_hf.runner.sweep_models` returned for ``sweep_dir``. The
    models' runs are complete whatever happens here, so a leaderboard that cannot be written is
    recorded in the summary (``{"error": ...}``) rather than raised. Returns the updated summary,
    also written to ``sweep_dir/summary.json``.
    """
    from imagenet_x_hf.runner.store import atomic_write_json

    summary = dict(summary)
    try:
        paths = write_leaderboard(sweep_dir)
        summary["leaderboard"] = {kind: str(path) for kind, path in paths.items()}
    except Exception as err:  # the runs are kept; say why the table is not
        summary["leaderboard"] = {"error": f"{type(err).__name__}: {err}"}
    atomic_write_json(Path(sweep_dir) / SUMMARY, summary)
    return summary
