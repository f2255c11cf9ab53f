"""report.html: a static page over all rows, opened from disk with no network.

Summary (calls, hours, violations per rule, the worst calls first), a table sortable by any
column (a few lines of inline JS, no CDN), aggregate plots, and per call its timeline picture and
violations. Pictures go to `<out>/img/`; a call's picture is named by its sha256 and made only
once, so a resumed audit draws only the new calls.
"""

from __future__ import annotations

import html
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from softphone_assist.audit import plots
from softphone_assist.audit.pictures import IMG_DIR, call_id, draw_if_missing, timeline_png
from softphone_assist.audit.rules import RULES

REPORT_NAME = "report.html"
WORST_SHOWN = 20

_JS = """
function sortBy(th) {
  const table = th.closest('table'), body = table.tBodies[0], col = th.cellIndex;
  const down = th.dataset.dir !== 'desc'; th.dataset.dir = down ? 'desc' : 'asc';
  const key = tr => { const c = tr.cells[col]; const v = c.dataset.v ?? c.textContent;
                      const n = parseFloat(v); return isNaN(n) ? v.toLowerCase() : n; };
  const rows = Array.from(body.rows).sort((a, b) => { const x = key(a), y = key(b);
    return (x < y ? -1 : x > y ? 1 : 0) * (down ? -1 : 1); });
  rows.forEach(r => body.appendChild(r));
}
function checkImages() {
  const imgs = Array.from(document.images);
  const bad = imgs.filter(i => !(i.complete && i.naturalWidth > 0)).length;
  document.body.dataset.images = imgs.length + ' total, ' + bad + ' not loaded';
}
window.addEventListener('load', checkImages);
// report.html#sort=violations (or #sort=duration%20s&dir=asc): opens sorted, e.g. from a bookmark
function sortFromAddress() {
  const m = /^#sort=([^&]*)(?:&dir=(asc|desc))?$/.exec(location.hash);
  if (!m) return;
  const name = decodeURIComponent(m[1]);
  const th = Array.from(document.querySelectorAll('#calls thead th')).find(t => t.textContent === name);
  if (!th) return;
  sortBy(th);
  if (m[2] === 'asc') sortBy(th);
}
window.addEventListener('load', sortFromAddress);
"""

_CSS = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #212529; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
th, td { border: 1px solid #dee2e6; padding: 3px 8px; text-align: right; }
th { background: #f1f3f5; cursor: pointer; user-select: none; }
td.file, th.file { text-align: left; }
tr.error td { background: #fff5f5; }
.bad { color: #c92a2a; font-weight: 600; }
section.call { border-top: 1px solid #dee2e6; padding-top: 0.5em; }
img { max-width: 100%; }
.legend span { display: inline-block; margin-right: 1.2em; }
.legend i { display: inline-block; width: 1.6em; height: 0.8em; margin-right: 0.3em; vertical-align: middle; }
"""


def _e(x: object) -> str:
    return html.escape(str(x), quote=True)


def _severity(row: dict[str, Any]) -> tuple[int, float]:
    v = row.get("violations", [])
    return (len(v), sum(x.get("duration") or 0.0 for x in v))


def _fmt(x: object) -> str:
    return "—" if x is None or x == "" else (f"{x:g}" if isinstance(x, float) else str(x))


def _count_cell(row: dict[str, Any], n: int) -> str:
    if "error" in row:
        return f'<td class="bad" data-v="-1" title="{_e(row["error"])}">not read</td>'
    return f'<td class="{"bad" if n else ""}">{n}</td>'


def _table(rows: Sequence[dict[str, Any]]) -> str:
    heads = ["file", "duration s", "violations", *RULES, "agent talk %", "caller talk %", "silence %",
             "longest dead air s", "overtalk s", "error"]
    out = ['<table id="calls"><thead><tr>']
    out += [f'<th class="{"file" if h == "file" else ""}" onclick="sortBy(this)">{_e(h)}</th>' for h in heads]
    out.append("</tr></thead><tbody>")
    for r in rows:
        counts = Counter(v["rule"] for v in r.get("violations", []))
        link = f'<a href="#{call_id(r)}">{_e(Path(r["file"]).name)}</a>'
        cells = [f'<td class="file" data-v="{_e(r["file"])}">{link}</td>',
                 f"<td>{_fmt(r.get('duration_s'))}</td>",
                 _count_cell(r, sum(counts.values()))]
        cells += [f"<td>{counts[rule] or ''}</td>" for rule in RULES]
        cells += [f"<td>{_fmt(r.get(k))}</td>" for k in ("agent_talk_pct", "caller_talk_pct", "silence_pct",
                                                         "longest_dead_air_s", "overtalk_s")]
        cells.append(f'<td class="file">{_e(r.get("error", ""))}</td>')
        out.append(f'<tr class="{"error" if "error" in r else ""}">{"".join(cells)}</tr>')
    out.append("</tbody></table>")
    return "\n".join(out)


def _violation(v: dict[str, Any]) -> str:
    during = "" if v.get("duration") is None else f" for {v['duration']:.2f} s"
    return f"<b>{_e(v['rule'])}</b> at {v['t']:.2f} s{during}: {_e(v['detail'])}"


def _brief(row: dict[str, Any]) -> str:
    return _e(", ".join(f"{v['rule']} at {v['t']:.1f} s" for v in row["violations"]))


def _legend() -> str:
    """The timeline pictures' key, once for all of them (a legend in each picture cost more CPU
    than the rest of its drawing)."""
    keys = "".join(f'<span><i style="background:{colour}"></i>{_e(name)}</span>' for name, colour in plots.LEGEND)
    return (f'<p class="legend">{keys}</p><p>In each picture: the agent lane above the caller lane, '
            "seconds from the start of the file along the bottom.</p>")


def _call_section(row: dict[str, Any], img: str | None) -> str:
    parts = [f'<section class="call" id="{call_id(row)}"><h3>{_e(Path(row["file"]).name)}</h3>',
             f"<p>{_e(row['file'])}</p>"]
    if "error" in row:
        parts.append(f'<p class="bad">could not be audited: {_e(row["error"])}</p></section>')
        return "".join(parts)
    parts.append(f"<p>{_fmt(row.get('duration_s'))} s, channels {_e(row.get('channels', ''))}</p>")
    if img:
        parts.append(f'<img src="{_e(img)}" alt="timeline of {_e(Path(row["file"]).name)}">')
    if row.get("violations"):
        parts.append("<ul>" + "".join(f"<li>{_violation(v)}</li>" for v in row["violations"]) + "</ul>")
    else:
        parts.append("<p>no violations</p>")
    if row.get("rules_not_checked"):
        parts.append(f"<p>not checked (no agent channel): {_e(', '.join(row['rules_not_checked']))}</p>")
    parts.append("</section>")
    return "".join(parts)


def _draw_timelines(out_dir: Path, rows: list[dict[str, Any]], jobs: int) -> None:
    """The pictures still missing (about 25 ms of CPU each); many of them on several cores in a
    process pool, whose workers cost ~0.7 s of CPU each to start (imports)."""
    if jobs <= 1 or len(rows) < 50 * jobs:
        for row in rows:
            draw_if_missing(out_dir, row)
        return
    from softphone_assist.audit.fanout import local_pool

    with local_pool(jobs) as pool:
        for _ in pool.map(draw_if_missing, [out_dir] * len(rows), rows, chunksize=8):
            pass


def write_report(out_dir: Path, rows: Sequence[dict[str, Any]], jobs: int = 1) -> Path:
    img_dir = out_dir / IMG_DIR
    img_dir.mkdir(parents=True, exist_ok=True)
    good = [r for r in rows if "error" not in r]
    plots.dead_air_histogram(good, img_dir / "dead_air.png")
    plots.violations_per_rule(good, img_dir / "violations_per_rule.png")
    images = {call_id(r): f"{IMG_DIR}/{call_id(r)}.png" for r in good}
    # the command drew each new call's picture as its row arrived; here: older rows' missing ones
    _draw_timelines(out_dir, [r for r in good if not timeline_png(out_dir, r).is_file()], jobs)

    per_rule = Counter(v["rule"] for r in good for v in r.get("violations", []))
    calls_per_rule = Counter(rule for r in good for rule in {v["rule"] for v in r.get("violations", [])})
    hours = sum(float(r.get("duration_s") or 0.0) for r in good) / 3600
    mono = [r for r in good if r.get("rules_not_checked")]
    worst = sorted((r for r in good if r.get("violations")), key=_severity, reverse=True)[:WORST_SHOWN]
    ordered = sorted(rows, key=lambda r: (-_severity(r)[0], r["file"]))

    body = [f"<h1>Call audit: {len(rows)} calls, {hours:.2f} hours</h1>",
            f"<p>{len(good)} audited, {len(rows) - len(good)} could not be read, "
            f"{sum(1 for r in good if r.get('violations'))} with violations, {sum(per_rule.values())} violations.</p>"]
    if mono:
        not_checked = sorted({n for r in mono for n in r["rules_not_checked"]}, key=list(RULES).index)
        body.append(f"<p>{len(mono)} caller-only (mono) recordings: not checked there: "
                    f"{_e(', '.join(not_checked))}.</p>")
    body.append('<h2>Violations per rule</h2><table id="rules"><thead><tr><th class="file">rule</th>'
                "<th>violations</th><th>calls</th></tr></thead><tbody>")
    body += [f'<tr><td class="file">{_e(rule)}</td><td>{per_rule[rule]}</td><td>{calls_per_rule[rule]}</td></tr>'
             for rule in RULES]
    body.append("</tbody></table>")
    body.append('<p><img src="img/violations_per_rule.png" alt="violations per rule"> '
                '<img src="img/dead_air.png" alt="dead-air lengths"></p>')
    body.append("<h2>Worst calls</h2>")
    body.append("<ol>" + "".join(f'<li><a href="#{call_id(r)}">{_e(Path(r["file"]).name)}</a>: {_brief(r)}</li>'
                                 for r in worst) + "</ol>" if worst else "<p>no call broke a rule</p>")
    body.append("<h2>All calls</h2><p>Click a column to sort.</p>")
    body.append(_table(ordered))
    body.append("<h2>Calls</h2>")
    body.append(_legend())
    body += [_call_section(r, images.get(call_id(r))) for r in ordered]

    page = ("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Call audit</title>"
            f"<style>{_CSS}</style><script>{_JS}</script></head><body>" + "\n".join(body) + "</body></html>\n")
    path = out_dir / REPORT_NAME
    tmp = path.with_suffix(".html.tmp")
    tmp.write_text(page, encoding="utf-8")
    tmp.replace(path)
    return path
