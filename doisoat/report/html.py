"""The task-force report as one self-contained HTML page: inline CSS and SVG charts, nothing fetched.

A Content-Security-Policy meta tag forbids every request (``default-src 'none'``), so a stray external
reference fails loudly in the browser instead of leaking a request from an offline machine.
"""

from __future__ import annotations

from html import escape
from pathlib import Path

from doisoat.report.taskforce import DIMENSIONS, LABELS, Report, Table
from doisoat.textfmt import fmt_int, fmt_pct

CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
COLOURS = {"dung": "#1f77b4", "du": "#2ca02c", "sach": "#ff7f0e", "song": "#9467bd"}

_CSS = """
body{font-family:"Times New Roman",Times,serif;margin:24px auto;max-width:1200px;color:#111;line-height:1.4}
h1{font-size:22px;text-align:center;text-transform:uppercase}h2{font-size:18px;border-bottom:1px solid #999}
table{border-collapse:collapse;margin:8px 0 16px;font-size:13px}th,td{border:1px solid #bbb;padding:3px 6px}
th{background:#ddebf7;text-align:left}td.n{text-align:right;white-space:nowrap}
.note{font-style:italic;color:#555;font-size:13px}.sentences li{margin:4px 0}
.charts{display:flex;flex-wrap:wrap;gap:16px}figure{margin:0}figcaption{font-size:13px;font-weight:bold}
.scroll{max-height:480px;overflow:auto}
"""


def _cell(value: object, kind: str, lang: str) -> tuple[str, bool]:
    """Formatted text of a table cell and whether it is numeric (right-aligned)."""
    if value is None:
        return "", kind != "text"
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


def _table_html(table: Table, lang: str) -> str:
    head = "".join(f"<th>{escape(c.header)}</th>" for c in table.columns)
    body = []
    for row in table.rows:
        cells = []
        for col, value in zip(table.columns, row, strict=True):
            text, numeric = _cell(value, col.kind, lang)
            cells.append(f'<td class="n">{escape(text)}</td>' if numeric else f"<td>{escape(text)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    note = f'<p class="note">{escape(table.note)}</p>' if table.note else ""
    scroll = ' class="scroll"' if len(table.rows) > 20 else ""
    return (
        f'<section id="{table.key}"><h2>{escape(table.title)}</h2><div{scroll}><table><thead><tr>{head}</tr>'
        f"</thead><tbody>{''.join(body)}</tbody></table></div>{note}</section>"
    )


def bar_chart(title: str, bars: list[tuple[str, float, str]], lang: str, width: int = 520) -> str:
    """Horizontal bars of rates in [0, 1]: (label, rate, colour) → inline SVG with the value at each bar's end."""
    row_h, label_w, pad = 22, 190, 8
    plot_w = width - label_w - 70
    height = pad * 2 + row_h * max(len(bars), 1)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
        f'aria-label="{escape(title)}" font-family="Arial,sans-serif" font-size="12">',
        f'<line x1="{label_w}" y1="{pad}" x2="{label_w}" y2="{height - pad}" stroke="#444"/>',
    ]
    for i, (label, rate, colour) in enumerate(bars):
        y = pad + i * row_h
        w = max(0.0, min(1.0, rate or 0.0)) * plot_w
        text = fmt_pct(rate, lang=lang) if rate is not None else ""
        short = label if len(label) <= 28 else label[:27] + "…"
        parts.append(
            f'<text x="{label_w - 6}" y="{y + 15}" text-anchor="end">{escape(short)}</text>'
            f'<rect x="{label_w}" y="{y + 3}" width="{w:.1f}" height="{row_h - 6}" fill="{colour}">'
            f"<title>{escape(label)}: {escape(text)}</title></rect>"
            f'<text x="{label_w + w + 4:.1f}" y="{y + 15}">{escape(text)}</text>'
        )
    parts.append("</svg>")
    return f"<figure><figcaption>{escape(title)}</figcaption>{''.join(parts)}</figure>"


def render_html(report: Report, data_docs_href: str | None = None) -> str:
    """The whole page as a string."""
    lang = report.lang
    t = LABELS[lang]
    charts = []
    for row in report.summary.iter_rows(named=True):
        label = report.labels.get(row["sector"], row["sector"])
        bars = [(t[d], row[f"rate_{d}"], COLOURS[d]) for d in DIMENSIONS]
        charts.append(bar_chart(label, bars, lang))
    low_charts = []
    for sector, items in report.lowest.items():
        label = report.labels.get(sector, sector)
        title = (
            f"{label}: xã, phường có tỷ lệ đúng thấp nhất"
            if lang == "vi"
            else f"{label}: communes with the lowest correct rate"
        )
        low_charts.append(bar_chart(title, [(n, r, "#d62728") for n, r in items], lang))
    sentences = "".join(f"<li>{escape(s)}</li>" for s in report.sentences)
    notes = "".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in report.notes)
    docs = ""
    if data_docs_href:
        docs_label = (
            "Kết quả kiểm tra chất lượng (Data Docs)" if lang == "vi" else "Quality checks (Data Docs)"
        )
        docs = f'<p><a href="{escape(data_docs_href)}">{escape(docs_label)}</a></p>'
    sentences_title = t["sheets"]["sentences"] if lang == "en" else "Câu sẵn để trích dẫn vào báo cáo"
    charts_title = "Biểu đồ" if lang == "vi" else "Charts"
    tables = "".join(_table_html(tb, lang) for tb in report.tables)
    return (
        f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        f'<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{escape(report.title)}</title><style>{_CSS}</style></head><body>"
        f"<h1>{escape(report.title)}</h1>"
        f'<p class="note">{escape(str(report.run_info.get("run_id", "")))} · '
        f"{escape(str(report.run_info.get('started_at', '')))}</p>"
        f'<section id="sentences"><h2>{escape(sentences_title)}</h2><ul class="sentences">{sentences}</ul></section>'
        f'<section id="charts"><h2>{charts_title}</h2><div class="charts">{"".join(charts)}</div>'
        f'<div class="charts">{"".join(low_charts)}</div></section>'
        f"{tables}"
        f'<section id="notes"><h2>{escape(t["sheets"]["notes"])}</h2><table>{notes}</table>{docs}</section>'
        "</body></html>"
    )


def write_html(report: Report, path: Path, data_docs_href: str | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(report, data_docs_href), encoding="utf-8")
    return path
