"""The task-force report as one self-contained HTML page: inline CSS, SVG charts and one small script.

A Content-Security-Policy meta tag forbids every request (``default-src 'none'``) and allows only the page's own
script by its hash, so a stray external reference fails loudly in the browser instead of leaking a request from
an offline machine. The page reads like the provincial report: the administrative heading, «BÁO CÁO», the
ready-to-quote sentences, then the figures. It prints on A4 (portrait; wide tables on landscape pages, every row,
headers repeated; page numbers centred in the top margin from page 2, as Nghị định 30/2020 asks), fits a 390 px
phone without sideways scrolling, and has a per-commune index a commune officer finds their commune in: A–Z
links and, with the script, a search box that ignores diacritics.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import date, datetime
from html import escape
from pathlib import Path

from unidecode import unidecode

from doisoat.report.heading import MOTTO, NATION
from doisoat.report.taskforce import (
    DIMENSIONS,
    LABELS,
    CommuneEntry,
    Hidden,
    Report,
    Table,
    commune_sort_key,
)
from doisoat.textfmt import fmt_int, fmt_pct, vn_date, vn_datetime

BAND_COLOURS = {"ok": "#2e7d32", "warn": "#e6a700", "low": "#c62828", "none": "#9e9e9e"}
BAND_FILLS = {"ok": "#dcefdc", "warn": "#fff1c2", "low": "#f8d7d7", "none": "#eeeeee"}
WIDE_COLUMNS = 7  # a table with more columns prints on an A4 landscape page

# The page's only script: the commune search (diacritics ignored) and opening the commune a link points at.
_SCRIPT = """(function(){
var q=document.getElementById("q-xa");if(!q)return;
var items=[].slice.call(document.querySelectorAll("#xa details[data-k]"));
var heads=[].slice.call(document.querySelectorAll("#xa .letter"));
var count=document.getElementById("q-xa-n");
function fold(s){return s.normalize("NFD").replace(/[\\u0300-\\u036f]/g,"").replace(/[\\u0111\\u0110]/g,"d").toLowerCase();}
function filter(){var v=fold(q.value.trim()),k=0;
items.forEach(function(d){var hit=!v||d.getAttribute("data-k").indexOf(v)>=0;d.hidden=!hit;if(hit)k++;});
heads.forEach(function(h){var g=h.getAttribute("data-g"),any=false;
items.forEach(function(d){if(!d.hidden&&d.getAttribute("data-g")===g)any=true;});h.hidden=!any;});
count.textContent=String(k);
if(v&&k===1)items.forEach(function(d){if(!d.hidden)d.open=true;});}
function openHash(){var d=location.hash&&document.getElementById(location.hash.slice(1));
if(d&&d.tagName==="DETAILS")d.open=true;}
q.addEventListener("input",filter);window.addEventListener("hashchange",openHash);
document.getElementById("q-xa-box").hidden=false;openHash();
})();"""
_SCRIPT_HASH = base64.b64encode(hashlib.sha256(_SCRIPT.encode("utf-8")).digest()).decode("ascii")
CSP = f"default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'sha256-{_SCRIPT_HASH}'"

_CSS = """
*{box-sizing:border-box}
body{font-family:"Times New Roman",Times,serif;margin:0 auto;padding:16px 24px;max-width:1200px;color:#111;
line-height:1.4;font-size:16px}
p,li,summary{overflow-wrap:anywhere}td,th{overflow-wrap:break-word}
.doc-head{display:flex;flex-wrap:wrap;justify-content:space-between;gap:8px 24px;margin-bottom:12px}
.doc-head>div{flex:1 1 300px;text-align:center}
.doc-head .b{font-weight:bold}.doc-head .i{font-style:italic}
.doc-head .no{white-space:pre}.doc-head hr{width:35%;margin:2px auto 6px;border:0;border-top:1px solid #111}
h1{font-size:20px;text-align:center;margin:18px 0 0}
.subject{text-align:center;font-weight:bold;margin:2px 0 10px}
.recipient{text-align:center}
.meta{font-size:15px}
h2{font-size:18px;border-bottom:1px solid #999;margin-top:28px}
nav.toc{font-size:14px;margin:8px 0}nav.toc a{margin-right:12px;display:inline-block}
.tw{overflow-x:auto;max-width:100%}
.tw.long{max-height:560px;overflow:auto}
table{border-collapse:collapse;margin:8px 0 16px;font-size:13px}
th,td{border:1px solid #bbb;padding:3px 6px;vertical-align:top}
th{background:#ddebf7;text-align:left}
.tw.long thead th{position:sticky;top:0;z-index:1}
td.n{text-align:right;white-space:nowrap}
.note{font-style:italic;color:#555;font-size:13px}.sentences li{margin:4px 0}
.charts{display:flex;flex-wrap:wrap;gap:16px}figure{margin:0;max-width:100%}
figcaption{font-size:14px;font-weight:bold}
svg{max-width:100%;height:auto}
.legend{font-size:13px;margin:6px 0}.legend span{display:inline-block;margin-right:14px}
.sw{display:inline-block;width:12px;height:12px;margin-right:4px;vertical-align:middle;border:1px solid #777}
.band-ok{background:#dcefdc}.band-warn{background:#fff1c2}.band-low{background:#f8d7d7}.band-none{}
#xa .letters{font-size:15px;margin:6px 0}#xa .letters a{display:inline-block;min-width:24px;text-align:center}
#xa .letter{margin:10px 0 2px;font-size:16px}
#xa details{border:1px solid #ddd;border-radius:4px;margin:3px 0;padding:2px 8px}
#xa summary{cursor:pointer;padding:4px 0}
#xa summary .rate{float:right;font-size:14px;padding:0 6px;border-radius:3px}
#q-xa{font-size:16px;padding:6px;width:100%;max-width:420px}
.sign{display:flex;flex-wrap:wrap;justify-content:space-between;gap:16px;margin-top:32px}
.sign>div{flex:1 1 260px}.sign .who{text-align:center;font-weight:bold}.sign .space{height:90px}
.sign .to{font-size:13px}.sign .to b{font-size:14px;font-style:italic}
@media (max-width:600px){body{padding:8px 10px;font-size:15px}h1{font-size:18px}
.doc-head>div{flex-basis:100%}#xa summary .rate{float:none;display:inline-block;margin-left:6px}}
@page{size:A4 portrait;margin:20mm 15mm 20mm 25mm;@top-center{content:counter(page);font:12pt "Times New Roman",serif}}
@page:first{@top-center{content:none}}
@page wide{size:A4 landscape;margin:15mm 12mm 15mm 15mm}
@media print{
body{max-width:none;padding:0;font-size:13pt}
nav.toc,#q-xa-box,#xa .letters,.no-print{display:none}
.tw,.tw.long{overflow:visible;max-height:none}
.tw.long thead th{position:static}
thead{display:table-header-group}tr{break-inside:avoid}h2{break-after:avoid}
section.wide{page:wide}
section.wide table{font-size:7.5pt}section.wide th,section.wide td{padding:1px 3px}
table{font-size:10pt}
#xa details:not([open]){display:none}#xa .letter{display:none}
#xa:not(:has(details[open])){display:none}
th{-webkit-print-color-adjust:exact;print-color-adjust:exact}
.band-ok,.band-warn,.band-low,.sw{-webkit-print-color-adjust:exact;print-color-adjust:exact}
a{color:inherit;text-decoration:none}
.sign{break-inside:avoid}figure{break-inside:avoid}
}
"""


def _cell(value: object, kind: str, lang: str) -> tuple[str, bool]:
    """Formatted text of a table cell and whether it is numeric (right-aligned)."""
    if value is None:
        return "", kind != "text"
    if isinstance(value, Hidden):
        return str(value), True
    if isinstance(value, datetime):
        return vn_datetime(value, lang), False
    if isinstance(value, str):
        return value, kind != "text"
    if kind in ("int", "count"):
        return fmt_int(int(value), lang), True
    if kind == "pct":
        return fmt_pct(float(value), lang=lang), True
    if kind == "delta":
        text = f"{float(value):+.2f}"
        return (text.replace(".", ",") if lang == "vi" else text), True
    return str(value), False


def _table_html(table: Table, lang: str, band=None) -> str:
    """A table; with ``band`` (rate → ok/warn/low/none) every rate cell is coloured against the target."""
    head = "".join(f'<th scope="col">{escape(c.header)}</th>' for c in table.columns)
    body = []
    for row in table.rows:
        cells = []
        for col, value in zip(table.columns, row, strict=True):
            text, numeric = _cell(value, col.kind, lang)
            if band and col.kind == "pct" and isinstance(value, float | int):
                cells.append(f'<td class="n band-{band(value)}">{escape(text)}</td>')
            else:
                cells.append(f'<td class="n">{escape(text)}</td>' if numeric else f"<td>{escape(text)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    note = f'<p class="note">{escape(table.note)}</p>' if table.note else ""
    wrap = "tw long" if len(table.rows) > 20 else "tw"
    wide = ' class="wide"' if len(table.columns) > WIDE_COLUMNS else ""
    return (
        f'<section id="{table.key}"{wide}><h2>{escape(table.title)}</h2><div class="{wrap}"><table>'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table></div>{note}</section>"
    )


def bar_chart(
    title: str,
    bars: list[tuple[str, float | None, str]],
    lang: str,
    target: float | None = None,
    width: int = 560,
) -> str:
    """Horizontal bars of rates in [0, 1]: (label, rate, colour) → inline SVG.

    A 0–100 % scale with a grid line every 10 %, each value in a column right of the plot and, when given, the
    target as a dashed vertical line with its value.
    """
    row_h, label_w, pad_top, axis_h = 22, 190, 22, 24
    plot_w = width - label_w - 64
    height = pad_top + row_h * max(len(bars), 1) + axis_h
    bottom = height - axis_h
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" role="img" aria-label="{escape(title)}" font-family="Arial,sans-serif" '
        'font-size="12">'
    ]
    for k in range(0, 11):
        x = label_w + plot_w * k / 10
        parts.append(
            f'<line x1="{x:.1f}" y1="{pad_top}" x2="{x:.1f}" y2="{bottom}" stroke="{"#999" if k % 5 == 0 else "#e3e3e3"}"/>'
        )
        if k % 2 == 0:
            parts.append(
                f'<text x="{x:.1f}" y="{bottom + 15}" text-anchor="middle" fill="#333">{k * 10}%</text>'
            )
    parts.append(f'<line x1="{label_w}" y1="{bottom}" x2="{label_w + plot_w}" y2="{bottom}" stroke="#444"/>')
    for i, (label, rate, colour) in enumerate(bars):
        y = pad_top + i * row_h
        w = max(0.0, min(1.0, rate or 0.0)) * plot_w
        text = fmt_pct(rate, lang=lang) if rate is not None else ""
        short = label if len(label) <= 28 else label[:27] + "…"
        parts.append(
            f'<text x="{label_w - 6}" y="{y + 15}" text-anchor="end">{escape(short)}</text>'
            f'<rect x="{label_w}" y="{y + 3}" width="{w:.1f}" height="{row_h - 6}" fill="{colour}">'
            f"<title>{escape(label)}: {escape(text)}</title></rect>"
            # values in their own column right of the 100 % line: never over a bar's end or the target line
            f'<text x="{label_w + plot_w + 8}" y="{y + 15}">{escape(text)}</text>'
        )
    if target is not None:
        x = label_w + plot_w * target
        word = "Chỉ tiêu" if lang == "vi" else "Target"
        parts.append(
            f'<line x1="{x:.1f}" y1="{pad_top - 4}" x2="{x:.1f}" y2="{bottom}" stroke="#c62828" '
            'stroke-width="2" stroke-dasharray="5,3"/>'
            f'<text x="{x:.1f}" y="{pad_top - 8}" text-anchor="end" fill="#c62828">{word} '
            f"{escape(fmt_pct(target, digits=0, lang=lang))}</text>"
        )
    parts.append("</svg>")
    return f"<figure><figcaption>{escape(title)}</figcaption>{''.join(parts)}</figure>"


def line_chart(
    title: str,
    points: list[tuple[date | None, float]],
    lang: str,
    target: float | None = None,
    width: int = 560,
) -> str:
    """Rates over the runs (oldest first) → inline SVG: a labelled scale, one dot per run with its value, the target.

    The scale starts below the lowest value (at a multiple of 5 %, said on the axis) so a change of one point is
    visible; it always reaches 100 %.
    """
    left, right, top, bottom_pad = 48, 16, 24, 34
    height = 220
    plot_w, plot_h = width - left - right, height - top - bottom_pad
    low = min([r for _, r in points] + ([target] if target is not None else []))
    floor = max(0.0, (int(low * 20) - 1) / 20)  # 5 % steps, one step below the lowest value
    span = 1.0 - floor or 1.0

    def y(rate: float) -> float:
        return top + plot_h * (1.0 - (rate - floor) / span)

    def x(i: int) -> float:
        return left + (plot_w * i / (len(points) - 1) if len(points) > 1 else plot_w / 2)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" role="img" aria-label="{escape(title)}" font-family="Arial,sans-serif" '
        'font-size="11">'
    ]
    step = 0.05 if span <= 0.5 else 0.1
    k = 0
    while floor + k * step <= 1.0 + 1e-9:
        rate = floor + k * step
        parts.append(
            f'<line x1="{left}" y1="{y(rate):.1f}" x2="{left + plot_w}" y2="{y(rate):.1f}" stroke="#e3e3e3"/>'
            f'<text x="{left - 4}" y="{y(rate) + 4:.1f}" text-anchor="end" fill="#333">'
            f"{escape(fmt_pct(rate, digits=0, lang=lang))}</text>"
        )
        k += 1
    parts.append(
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}" stroke="#444"/>'
        f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" stroke="#444"/>'
    )
    if target is not None:
        word = "Chỉ tiêu" if lang == "vi" else "Target"
        parts.append(
            f'<line x1="{left}" y1="{y(target):.1f}" x2="{left + plot_w}" y2="{y(target):.1f}" stroke="#c62828" '
            'stroke-width="2" stroke-dasharray="5,3"/>'
            f'<text x="{left + plot_w}" y="{y(target) - 4:.1f}" text-anchor="end" fill="#c62828">{word} '
            f"{escape(fmt_pct(target, digits=0, lang=lang))}</text>"
        )
    path = " ".join(f"{x(i):.1f},{y(r):.1f}" for i, (_, r) in enumerate(points))
    parts.append(f'<polyline points="{path}" fill="none" stroke="#1f4e79" stroke-width="2"/>')
    for i, (day, rate) in enumerate(points):
        text = fmt_pct(rate, lang=lang)
        when = day.strftime("%d/%m") if day else ""
        parts.append(
            f'<circle cx="{x(i):.1f}" cy="{y(rate):.1f}" r="4" fill="#1f4e79"><title>{escape(when)}: '
            f"{escape(text)}</title></circle>"
        )
        if i == len(points) - 1 or len(points) <= 6:
            parts.append(
                f'<text x="{x(i):.1f}" y="{y(rate) - 8:.1f}" '
                f'text-anchor="{"end" if i == len(points) - 1 and i else "middle"}">{escape(text)}</text>'
            )
        parts.append(
            f'<text x="{x(i):.1f}" y="{top + plot_h + 16}" text-anchor="middle" fill="#333">{escape(when)}</text>'
        )
    note = ("trục tung bắt đầu từ " if lang == "vi" else "scale starts at ") + fmt_pct(
        floor, digits=0, lang=lang
    )
    parts.append(f'<text x="{left}" y="{height - 4}" fill="#555">{escape(note)}</text></svg>')
    return f"<figure><figcaption>{escape(title)}</figcaption>{''.join(parts)}</figure>"


def _legend(report: Report) -> str:
    h, lang = report.heading, report.lang
    target = fmt_pct(h.target_rate, digits=0, lang=lang)
    floor = fmt_pct(h.target_rate - h.warn_points / 100, digits=0, lang=lang)
    if lang == "vi":
        items = [
            ("ok", f"đạt chỉ tiêu (từ {target})"),
            ("warn", f"dưới chỉ tiêu, từ {floor}"),
            ("low", f"dưới {floor}"),
        ]
        tail = f"vạch đỏ đứt: chỉ tiêu {target} (cấu hình trong report.yaml)"
    else:
        items = [
            ("ok", f"target met ({target}+)"),
            ("warn", f"below target, {floor}+"),
            ("low", f"below {floor}"),
        ]
        tail = f"dashed red line: target {target} (set in report.yaml)"
    spans = "".join(
        f'<span><i class="sw" style="background:{BAND_COLOURS[b]}"></i>{escape(text)}</span>'
        for b, text in items
    )
    return f'<p class="legend">{spans}<span>{escape(tail)}</span></p>'


def _heading(report: Report) -> str:
    h, lang = report.heading, report.lang
    vi = lang == "vi"
    recipient = (
        f'<p class="recipient">{"Kính gửi" if vi else "To"}: {escape(h.recipient)}.</p>'
        if h.recipient
        else ""
    )
    meta = []
    if report.cutoff:
        source = f" ({escape(report.cutoff_source)})" if report.cutoff_source else ""
        meta.append(
            f"{'Số liệu tính đến ngày' if vi else 'Data as of'} <b>{vn_date(report.cutoff)}</b>{source}."
        )
    run = str(report.run_info.get("run_id", ""))
    started = report.started
    if run or started:
        when = f" {'lúc' if vi else 'at'} {vn_datetime(started, lang)}" if started else ""
        meta.append(f"{'Lần đối soát' if vi else 'Run'} {escape(run)}{when}.")
    return (
        '<header class="doc-head">'
        f'<div><div>{escape(h.parent_body)}</div><div class="b">{escape(h.issuing_body)}</div><hr>'
        f'<div class="no">{escape(h.document_number)}</div></div>'
        f'<div><div class="b">{NATION[lang]}</div><div class="b">{MOTTO[lang]}</div><hr>'
        f'<div class="i">{escape(report.place_and_date())}</div></div>'
        "</header>"
        f"<h1>{'BÁO CÁO' if vi else 'REPORT'}</h1>"
        f'<p class="subject">{escape(report.subject())}</p>{recipient}'
        f'<p class="meta">{" ".join(meta)}</p>'
    )


def _signature(report: Report) -> str:
    h, vi = report.heading, report.lang == "vi"
    copies = "".join(
        f"<div>- {escape(c)}{';' if k < len(h.copies_to) - 1 else '.'}</div>"
        for k, c in enumerate(h.copies_to)
    )
    return (
        '<section class="sign"><div class="to">'
        f"<b>{'Nơi nhận' if vi else 'Copies to'}:</b>{copies}</div>"
        f'<div class="who"><div>{escape(h.signer_on_behalf)}</div><div>{escape(h.signer_title)}</div>'
        '<div class="space"></div></div></section>'
    )


def _commune_section(report: Report) -> str:
    """Every current commune, A–Z by its own name, each a ``<details>`` with its sectors as a heat table."""
    lang, h, thr = report.lang, report.heading, report.suppress_below
    vi = lang == "vi"
    t = LABELS[lang]
    if not report.communes:
        return ""
    groups: dict[str, list[CommuneEntry]] = {}
    for e in report.communes:
        letter = (commune_sort_key(e.name)[:1] or "#").upper()
        groups.setdefault(letter, []).append(e)
    letters = "".join(f'<a href="#xa-{g}">{g}</a>' for g in groups)
    head = "".join(
        f'<th scope="col">{escape(x)}</th>'
        for x in (
            t["sector"],
            t["total"],
            t["dung"],
            t["rate_dung"],
            t["rate_du"],
            t["rate_sach"],
            t["rate_song"],
        )
    )
    parts = []
    for g, entries in groups.items():
        parts.append(f'<h3 class="letter" id="xa-{g}" data-g="{g}">{g}</h3>')
        for e in entries:
            rows = []
            for row in e.rows:
                cells = [f"<td>{escape(str(row[0]))}</td>"]
                for k, value in enumerate(row[1:]):
                    text, _ = _cell(value, "count" if k < 2 else "pct", lang)
                    band = (
                        f' class="n band-{h.band(value)}"' if k >= 2 and value is not None else ' class="n"'
                    )
                    cells.append(f"<td{band}>{escape(text)}</td>")
                rows.append("<tr>" + "".join(cells) + "</tr>")
            if e.lowest_rate is None:
                chip = f'<span class="rate">{escape(f"<{thr} bản ghi" if vi else f"<{thr} records")}</span>'
            else:
                word = "thấp nhất" if vi else "lowest"
                chip = (
                    f'<span class="rate band-{h.band(e.lowest_rate)}">{word} '
                    f"{escape(fmt_pct(e.lowest_rate, lang=lang))}</span>"
                )
            key = f"{unidecode(e.name).lower()} {e.code}"
            parts.append(
                f'<details id="xa-{escape(e.code)}" data-g="{g}" data-k="{escape(key)}"><summary>'
                f"<b>{escape(e.name)}</b> ({escape(e.code)}){chip}</summary>"
                f'<div class="tw"><table><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table></div>'
                "</details>"
            )
    title = "Tra cứu theo xã, phường" if vi else "By commune"
    hint = (
        f"Gõ tên hoặc mã xã, phường (không cần dấu), hoặc chọn chữ cái đầu của tên. "
        f"Ô tô màu theo chỉ tiêu {fmt_pct(h.target_rate, digits=0, lang=lang)}. Khi in, chỉ in các xã đang mở."
        if vi
        else f"Type a commune's name or code (accents optional), or pick its first letter. Cells are coloured "
        f"against the {fmt_pct(h.target_rate, digits=0, lang=lang)} target. Printing prints the open communes only."
    )
    label = "Tìm xã, phường" if vi else "Find a commune"
    found = "xã, phường" if vi else "communes"
    return (
        f'<section id="xa"><h2>{title}</h2><p class="note no-print">{escape(hint)}</p>'
        f'<div id="q-xa-box" hidden><label for="q-xa">{label}: </label>'
        f'<input id="q-xa" type="search" autocomplete="off" placeholder="{escape(label)}…"> '
        f'<span id="q-xa-n">{fmt_int(len(report.communes), lang)}</span> {found}</div>'
        f'<div class="letters">{letters}</div>{"".join(parts)}</section>'
    )


def render_html(report: Report, data_docs_href: str | None = None) -> str:
    """The whole page as a string."""
    lang = report.lang
    t = LABELS[lang]
    h = report.heading
    charts = []
    for row in report.summary.iter_rows(named=True):
        label = report.labels.get(row["sector"], row["sector"])
        bars = [(t[d], row[f"rate_{d}"], BAND_COLOURS[h.band(row[f"rate_{d}"])]) for d in DIMENSIONS]
        charts.append(bar_chart(label, bars, lang, target=h.target_rate))
    low_charts = []
    for sector, items in report.lowest.items():
        label = report.labels.get(sector, sector)
        title = (
            f"{label}: xã, phường có tỷ lệ đúng thấp nhất"
            if lang == "vi"
            else f"{label}: communes with the lowest correct rate"
        )
        low_charts.append(
            bar_chart(title, [(n, r, BAND_COLOURS[h.band(r)]) for n, r in items], lang, target=h.target_rate)
        )
    trend_charts = [
        line_chart(report.labels.get(sector, sector), points, lang, target=h.target_rate)
        for sector, points in report.trend.items()
        if len(points) > 1
    ]
    trend = ""
    if trend_charts:
        trend_title = (
            "Xu hướng tỷ lệ xác thực (đúng/tổng) qua các lần đối soát"
            if lang == "vi"
            else "Verification rate over the runs"
        )
        trend = f'<h3>{escape(trend_title)}</h3><div class="charts">{"".join(trend_charts)}</div>'
    sentences = "".join(f"<li>{escape(s)}</li>" for s in report.sentences)
    notes = "".join(
        f"<tr><th>{escape(k)}</th><td>{escape(vn_datetime(v, lang) if isinstance(v, datetime) else str(v))}</td></tr>"
        for k, v in report.notes
    )
    docs = ""
    if data_docs_href:
        docs_label = (
            "Kết quả kiểm tra chất lượng (Data Docs)" if lang == "vi" else "Quality checks (Data Docs)"
        )
        docs = f'<p><a href="{escape(data_docs_href)}">{escape(docs_label)}</a></p>'
    sentences_title = t["sheets"]["sentences"] if lang == "en" else "Câu sẵn để trích dẫn vào báo cáo"
    charts_title = "Biểu đồ" if lang == "vi" else "Charts"
    tables = "".join(_table_html(tb, lang, h.band) for tb in report.tables)
    communes = _commune_section(report)
    toc = [("sentences", sentences_title), ("charts", charts_title)]
    if communes:
        toc.append(("xa", "Tra cứu theo xã, phường" if lang == "vi" else "By commune"))
    toc += [(tb.key, tb.title) for tb in report.tables] + [("notes", t["sheets"]["notes"])]
    nav = "".join(f'<a href="#{k}">{escape(v)}</a>' for k, v in toc)
    return (
        f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        f'<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{escape(report.title)}</title><style>{_CSS}</style></head><body>"
        f"{_heading(report)}"
        f'<nav class="toc">{nav}</nav>'
        f'<section id="sentences"><h2>{escape(sentences_title)}</h2><ul class="sentences">{sentences}</ul></section>'
        f'<section id="charts"><h2>{charts_title}</h2>{_legend(report)}<div class="charts">{"".join(charts)}</div>'
        f'<div class="charts">{"".join(low_charts)}</div>{trend}</section>'
        f"{communes}"
        f"{tables}"
        f'<section id="notes"><h2>{escape(t["sheets"]["notes"])}</h2><div class="tw"><table>{notes}</table></div>'
        f"{docs}</section>"
        f"{_signature(report)}"
        f"<script>{_SCRIPT}</script>"
        "</body></html>"
    )


def write_html(report: Report, path: Path, data_docs_href: str | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(report, data_docs_href), encoding="utf-8")
    return path
