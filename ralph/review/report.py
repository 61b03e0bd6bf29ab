"""``ralph report``: one self-contained HTML page (no network, no CDN) for a reviewer.

A timeline of runs and iterations coloured by outcome, the per-story table, the anomalies, and,
only with a database attached (``database.py``), its ER diagram and verify results. Every text
from the log or the database is escaped.
"""

from __future__ import annotations

from datetime import timedelta
from html import escape
from pathlib import Path

from schema_tools import Catalog, Report, Severity

from .database import attach
from .er import er_svg
from .logview import OUTCOME_WORDS, seconds
from .summary import ANOMALY_TITLES, Run, Summary, summarise_log

REPORT_RUNS = 500  # the timeline shows the last runs only

STYLE = """
:root { --ok: #2e7d32; --issues: #e08a00; --none: #9e9e9e; --ink: #1d2330; --line: #d6dae1; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink);
       margin: 0 auto; padding: 24px; max-width: 1200px; overflow-wrap: anywhere; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 17px; margin: 28px 0 10px; border-bottom: 1px solid var(--line); }
.meta { color: #5b6476; margin: 0 0 12px; }
.cards { display: flex; gap: 12px; flex-wrap: wrap; }
.card { border: 1px solid var(--line); border-radius: 6px; padding: 8px 14px; min-width: 120px; }
.card b { display: block; font-size: 20px; }
.legend span { display: inline-block; margin-right: 14px; }
.swatch { display: inline-block; width: 12px; height: 12px; border-radius: 2px; vertical-align: -1px; margin-right: 4px; }
.timeline { border: 1px solid var(--line); border-radius: 6px; padding: 8px 10px; }
.run { display: grid; grid-template-columns: 230px 1fr; gap: 10px; align-items: center; padding: 4px 0;
       border-bottom: 1px dashed var(--line); }
.run:last-child { border-bottom: 0; }
.run-label { font-size: 12px; overflow-wrap: anywhere; }
.run-label .reason { display: block; color: #5b6476; }
.run-label .open { color: #b3261e; font-weight: 600; }
.bars { display: flex; gap: 3px; min-height: 22px; align-items: stretch; }
.bar { border-radius: 3px; color: #fff; font-size: 11px; padding: 2px 5px; white-space: nowrap; overflow: hidden;
       min-width: 26px; }
.bar.success { background: var(--ok); } .bar.issues { background: var(--issues); }
.bar.none { background: repeating-linear-gradient(45deg, var(--none), var(--none) 5px, #bdbdbd 5px, #bdbdbd 10px); }
.bar.unended { flex: 0 0 18px; min-width: 18px; background: none; border: 2px dashed #b3261e; }
table { border-collapse: collapse; width: 100%; font-size: 13px; table-layout: fixed; }
td, th { overflow-wrap: anywhere; }
#stories th:nth-child(2), #stories td:nth-child(2) { width: 22%; }
ul.findings { margin: 4px 0 10px; padding-left: 20px; font-size: 13px; }
ul.findings li { margin: 2px 0; } ul.findings ul { margin: 0; padding-left: 18px; color: #5b3a00; }
th, td { border-bottom: 1px solid var(--line); padding: 5px 8px; text-align: left; vertical-align: top; }
th { background: #f4f6f9; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
ul.anomalies li { margin-bottom: 4px; } .kind { font-weight: 600; }
.er { max-width: 100%; height: auto; border: 1px solid var(--line); border-radius: 6px; }
.er-box { fill: #fff; stroke: #7a8599; } .er-head { fill: #e8edf5; stroke: #7a8599; }
.er-title { font-weight: 700; font-size: 13px; } .er-col { font-size: 12px; font-family: ui-monospace, monospace; }
.er-key { fill: #8a5a00; font-weight: 700; } .er-type { fill: #6b7280; }
.er-fk { stroke: #555; stroke-width: 1.3; fill: none; } .er-row { fill: transparent; }
.er-flag { fill: #3b5b8a; font-size: 10px; font-weight: 700; }
.fail { color: #b3261e; } .pass { color: var(--ok); }
@media print { body { padding: 0; max-width: none; } .run { break-inside: avoid; } h2 { break-after: avoid; }
               .run { grid-template-columns: 170px 1fr; } }
/* the print layout on screen (report.html#print), so a headless browser can measure it */
html.print body { padding: 0; max-width: none; } html.print .run { grid-template-columns: 170px 1fr; }
"""

# Measures the rendered page into data attributes, so a headless browser's DOM dump shows
# that layout happened (and how wide the timeline is).
MEASURE = """
document.addEventListener('DOMContentLoaded', function () {
  if (location.hash === '#print') document.documentElement.classList.add('print');
  var t = document.getElementById('timeline');
  if (t) { t.dataset.renderedWidth = Math.round(t.getBoundingClientRect().width);
           t.dataset.renderedBars = document.querySelectorAll('#timeline .bar').length; }
  var s = document.getElementById('stories');
  if (s) { s.dataset.renderedRows = s.querySelectorAll('tbody tr').length; }
  var root = document.documentElement;
  document.body.dataset.overflow = root.scrollWidth > root.clientWidth + 1 ? 'yes' : 'no';
  var arrows = document.querySelectorAll('path.er-fk'), ok = 0;
  arrows.forEach(function (path) {
    var end = path.getPointAtLength(path.getTotalLength());
    var row = document.querySelector('rect.er-row[data-column="' + path.dataset.to + '"]');
    if (!row) return;
    var x = +row.getAttribute('x'), y = +row.getAttribute('y'), w = +row.getAttribute('width'), h = +row.getAttribute('height');
    if (end.y >= y && end.y <= y + h && (Math.abs(end.x - x) <= 1 || Math.abs(end.x - x - w) <= 1)) ok += 1;
  });
  document.body.dataset.erArrows = ok + ' of ' + arrows.length;
  document.body.dataset.rendered = 'yes';
});
"""


def _bar_flex(duration: timedelta | None, longest: float) -> str:
    if duration is None or longest <= 0:
        return "flex: 0 0 auto"  # as wide as its label: a bar without a duration is never clipped
    share = max(duration.total_seconds() / longest, 0.04)
    return f"flex: {share:.3f} 1 0"


def _timeline(runs: list[Run], total_runs: int) -> str:
    durations = [it.duration.total_seconds() for run in runs for it in run.iterations if it.duration]
    longest = max(durations, default=0.0)
    rows = []
    for run in runs:
        state = (f'ended {escape(run.ended)}' if run.ended else '<span class="open">never ended</span>')
        if run.end_reason:
            state += f'<span class="reason">{escape(run.end_reason)}</span>'
        bars = []
        for it in run.iterations:
            cls = {"success": "success", "issues": "issues", None: "none"}[it.outcome]
            tip = f"iteration {it.number}: {it.story} {OUTCOME_WORDS[it.outcome]}, {seconds(it.duration)}"
            if it.findings:
                tip += " -- " + "; ".join(it.findings)
            bars.append(f'<div class="bar {cls}" style="{_bar_flex(it.duration, longest)}" title="{escape(tip)}">'
                        f'{it.number}: {escape(it.story)}</div>')
        if run.never_ended:
            bars.append('<div class="bar unended" title="the run never logged its end"></div>')
        rows.append(f'<div class="run" data-run="{run.index}"><div class="run-label">'
                    f'<b>run {run.index}</b> {escape(run.started)}, max {run.max_iterations}<br>{state}</div>'
                    f'<div class="bars">{"".join(bars) or "<em>no iteration</em>"}</div></div>')
    note = (f"<p class='meta'>Showing the last {len(runs)} of {total_runs} runs.</p>" if total_runs > len(runs) else "")
    return note + f'<div class="timeline" id="timeline">{"".join(rows) or "<em>no runs</em>"}</div>'


def _findings(runs: list[Run]) -> str:
    """Every iteration with issues and what it found, as text (tooltips are lost in print)."""
    items = []
    for run in runs:
        for it in run.iterations:
            if it.outcome == "issues":
                found = "".join(f"<li>{escape(f)}</li>" for f in it.findings) or "<li><em>no finding logged</em></li>"
                items.append(f"<li>run {run.index}, iteration {it.number}: <b>{escape(it.story)}</b> "
                             f"<small>({escape(it.ended)})</small><ul>{found}</ul></li>")
    return f'<ul class="findings" id="findings">{"".join(items)}</ul>' if items else "<p>No iteration had issues.</p>"


def _stories(summary: Summary) -> str:
    rows = []
    for s in summary.stories.values():
        cells = [escape(s.id), escape(s.title)] + [f'<td class="num">{n}</td>' for n in
                                                    (s.attempts, s.successes, s.issues, s.no_outcome)]
        cells += [escape(s.first_attempt or "-"), escape(s.first_success or "-"), escape(s.completed_at or "-"),
                  escape(seconds(s.time_to_completion))]
        rows.append("<tr>" + "".join(c if c.startswith("<td") else f"<td>{c}</td>" for c in cells) + "</tr>")
    head = ("<tr><th>Story</th><th>Title</th><th>Attempts</th><th>Successful</th><th>With issues</th>"
            "<th>No outcome</th><th>First attempt</th><th>First success</th><th>Completed at</th>"
            "<th>Time to completion</th></tr>")
    return f'<table id="stories"><thead>{head}</thead><tbody>{"".join(rows)}</tbody></table>'


def _anomalies(summary: Summary) -> str:
    items = []
    for kind, title in ANOMALY_TITLES.items():
        count = summary.anomaly_counts.get(kind, 0)
        if not count:
            continue
        examples = "".join(f"<li>{escape(a.message)}" + (f" <small>(line {a.line})</small>" if a.line else "") + "</li>"
                           for a in summary.anomalies if a.kind == kind)
        items.append(f'<li data-kind="{kind}"><span class="kind">{escape(title)}</span>: {count}<ul>{examples}</ul></li>')
    return f'<ul class="anomalies" id="anomalies">{"".join(items)}</ul>' if items else "<p>No anomalies.</p>"


def _database(catalog: Catalog | None, verify: Report | None, where: str) -> str:
    if catalog is None:
        return f"<p class='meta'>{escape(where)}</p>"
    parts = [f"<p class='meta'>{escape(where)}</p>", er_svg(catalog) or "<p>No tables.</p>"]
    if verify is not None:
        errors = verify.errors
        verdict = (f"<p class='pass'><b>verify: all {len(verify.checks)} checks pass</b></p>" if not errors else
                   f"<p class='fail'><b>verify: {len(errors)} of {len(verify.checks)} checks fail</b></p>")
        rows = "".join(f"<tr><td>{escape(f.rule)}</td><td>{escape(f.object)}</td><td>{escape(f.message)}</td>"
                       f"<td>{escape(f.hint)}</td></tr>" for f in verify.findings if f.severity is not Severity.NOTE)
        parts.append(verdict + (f"<table id='verify'><thead><tr><th>Rule</th><th>Object</th><th>Problem</th>"
                                f"<th>Fix</th></tr></thead><tbody>{rows}</tbody></table>" if rows else ""))
    return "".join(parts)


def render_html(summary: Summary, runs: list[Run], catalog: Catalog | None = None, verify: Report | None = None,
                database_note: str = "No database was reachable, so there is no ER diagram.") -> str:
    """The whole page."""
    never = summary.runs - summary.runs_ended
    cards = "".join(f'<div class="card"><b>{value}</b>{label}</div>' for value, label in (
        (summary.runs, "runs"), (never, "never ended"), (summary.iterations, "iterations"),
        (len(summary.stories), "stories"), (sum(summary.anomaly_counts.values()), "anomalies"),
        (summary.unknown_lines + summary.unreadable_lines, "lines not understood")))
    legend = ('<p class="legend"><span><i class="swatch" style="background:var(--ok)"></i>completed successfully</span>'
              '<span><i class="swatch" style="background:var(--issues)"></i>completed with issues</span>'
              '<span><i class="swatch" style="background:var(--none)"></i>no outcome</span>'
              '<span><i class="swatch" style="border:2px dashed #b3261e"></i>run never ended</span></p>')
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Ralph loop report: {escape(summary.path)}</title><style>{STYLE}</style><script>{MEASURE}</script></head>
<body>
<h1>Ralph loop report</h1>
<p class="meta">{escape(summary.path)}: {summary.lines} lines, from {escape(summary.first_stamp or "-")} to {escape(summary.last_stamp or "-")}</p>
<div class="cards">{cards}</div>
<h2>Timeline</h2>{legend}{_timeline(runs, summary.runs)}
<h2>Iterations with issues</h2>{_findings(runs)}
<h2>Stories</h2>{_stories(summary)}
<h2>Anomalies</h2>{_anomalies(summary)}
<h2>Schema</h2>{_database(catalog, verify, database_note)}
</body></html>
"""


def render_report(log: Path, database: str | None = None, expect: list[Path] | None = None) -> tuple[str, Summary]:
    """``ralph report``: the page for ``log`` (with ``database`` attached, if given), and its summary."""
    summary = summarise_log(log, keep_runs=REPORT_RUNS)
    catalog, verify, note = attach(database, expect)
    return render_html(summary, list(summary.kept_runs), catalog, verify, note), summary
