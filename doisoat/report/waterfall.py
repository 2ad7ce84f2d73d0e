"""Per-record waterfall of match weights, as Splink draws it: the pair prior, then what each comparison added or
took away (in bits), then the total and what it means as a probability.

The weights are the match explanation each result row carries (``results.weights``, JSON comparison → bits,
produced by :mod:`doisoat.match.decide`). A chart names comparisons and numbers only, never a value of the
record: it holds no personal data. ``write_waterfall_page`` writes one self-contained HTML page per worklist
(``worklists/bieu-do/<worklist>.html``) with one chart per row that has weights, anchored by the row's reference
key, so the worklist's «Biểu đồ trọng số» link opens the row's chart.
"""

from __future__ import annotations

import json
import math
from html import escape
from pathlib import Path

import polars as pl

from doisoat.textfmt import fmt_pct

CHART_FOLDER = "bieu-do"
# comparison → label, in the order the chart draws them (the prior first); unknown comparisons follow
STEP_LABELS = {
    "vi": {
        "prior": "Xuất phát (hai người bất kỳ)",
        "id": "Số định danh",
        "name": "Họ tên",
        "birth": "Ngày sinh",
        "sex": "Giới tính",
        "commune": "Mã xã",
        "phone": "Số điện thoại",
        "total": "Tổng trọng số",
    },
    "en": {
        "prior": "Start (any two people)",
        "id": "ID",
        "name": "Name",
        "birth": "Birth date",
        "sex": "Sex",
        "commune": "Commune",
        "phone": "Phone",
        "total": "Total weight",
    },
}
COLOURS = {"plus": "#2e7d32", "minus": "#c62828", "prior": "#757575", "total": "#1f4e78"}


def _num(x: float, lang: str) -> str:
    """Bits with a sign and two decimals, in the language's format: "+14,67"."""
    text = f"{x:+.2f}"
    return text.replace(".", ",") if lang == "vi" else text


def pair_probability(total_bits: float) -> float:
    """The probability a total match weight means for the pair alone: 2^w / (1 + 2^w)."""
    if total_bits > 60:
        return 1.0
    odds = 2.0**total_bits
    return odds / (1.0 + odds)


def steps(weights: dict[str, float]) -> list[tuple[str, float]]:
    """``(comparison, bits)`` in drawing order: the prior, the known comparisons, then any others."""
    order = [k for k in STEP_LABELS["en"] if k != "total"]
    known = [(k, float(weights[k])) for k in order if k in weights and weights[k] is not None]
    other = [(k, float(v)) for k, v in weights.items() if k not in order and v is not None]
    return known + other


def waterfall_svg(weights: dict[str, float] | str, lang: str = "vi", probability: float | None = None) -> str:
    """The waterfall as an inline SVG: one row per step, each bar from the running total before it to after it
    (green adds, red takes away), a zero line and a scale in bits; the last row is the total.

    ``probability``: the record's match probability (it also weighs the other candidates and the population
    size), printed under the chart beside the pair's own.
    """
    if isinstance(weights, str):
        weights = json.loads(weights)
    labels = STEP_LABELS[lang]
    rows = steps(weights)
    total = sum(w for _, w in rows)
    running, bars = 0.0, []
    for k, w in rows:
        bars.append(
            (
                labels.get(k, k),
                running,
                running + w,
                "prior" if k == "prior" else "plus" if w >= 0 else "minus",
                w,
            )
        )
        running += w
    bars.append((labels["total"], 0.0, total, "total", total))
    ends = [0.0] + [b for _, a, b, _, _ in bars] + [a for _, a, _, _, _ in bars]
    lo, hi = min(ends), max(ends)
    step = 10 if hi - lo > 40 else 5 if hi - lo > 15 else 2
    lo, hi = step * min(math.floor(lo / step), -1), step * max(math.ceil(hi / step), 1)
    left, width, row_h, top = 170, 400, 26, 24
    height = top + row_h * len(bars) + 44

    def x(v: float) -> float:
        return left + (v - lo) / (hi - lo) * width

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {left + width + 70} {height}" '
        f'width="{left + width + 70}" height="{height}" role="img" font-family="Times New Roman, serif" '
        f'font-size="13"><title>{escape("Biểu đồ trọng số ghép" if lang == "vi" else "Match weights")}</title>'
    ]
    tick = lo
    while tick <= hi + 1e-9:
        parts.append(
            f'<line x1="{x(tick):.1f}" y1="{top - 6}" x2="{x(tick):.1f}" y2="{top + row_h * len(bars)}" '
            f'stroke="{"#333" if tick == 0 else "#ddd"}" stroke-width="1"/>'
            f'<text x="{x(tick):.1f}" y="{top + row_h * len(bars) + 16}" text-anchor="middle" fill="#333">'
            f"{tick:g}</text>"
        )
        tick += step
    for i, (label, a, b, kind, w) in enumerate(bars):
        y = top + i * row_h
        x0, x1 = sorted((x(a), x(b)))
        bold = ' font-weight="bold"' if kind == "total" else ""
        parts.append(
            f'<text x="{left - 8}" y="{y + 17}" text-anchor="end"{bold}>{escape(label)}</text>'
            f'<rect x="{x0:.1f}" y="{y + 5}" width="{max(x1 - x0, 1.5):.1f}" height="{row_h - 10}" '
            f'fill="{COLOURS[kind]}"/>'
            f'<text x="{x1 + 4:.1f}" y="{y + 17}" fill="#111">{_num(w, lang)}</text>'
        )
        if i < len(bars) - 1 and kind != "total":  # the connector to the next bar's start
            parts.append(
                f'<line x1="{x(b):.1f}" y1="{y + row_h - 5}" x2="{x(b):.1f}" y2="{y + row_h + 5}" '
                'stroke="#777" stroke-dasharray="2,2"/>'
            )
    unit = "bit (log₂ tỷ số khả năng)" if lang == "vi" else "bits (log₂ likelihood ratio)"
    parts.append(
        f'<text x="{left + width / 2:.0f}" y="{height - 8}" text-anchor="middle" fill="#555">{unit}</text></svg>'
    )
    pair = fmt_pct(pair_probability(total), lang=lang)
    if lang == "vi":
        caption = f"Tổng {_num(total, lang)} bit: nếu chỉ xét cặp này, xác suất là một người {pair}"
        if probability is not None:
            caption += (
                f"; xác suất khớp của bản ghi (tính cả các ứng viên khác) {fmt_pct(probability, lang=lang)}"
            )
    else:
        caption = (
            f"Total {_num(total, lang)} bits: for this pair alone, probability of the same person {pair}"
        )
        if probability is not None:
            caption += f"; the record's match probability (other candidates counted) {fmt_pct(probability, lang=lang)}"
    return "".join(parts) + f'<p class="cap">{escape(caption)}.</p>'


def anchor_expr(ref_key: str = "ref_key") -> pl.Expr:
    """The HTML id of a worklist row's chart: ``r-<run_id>-<rid>`` (``/`` is not welcome in a fragment)."""
    return (pl.lit("r-") + pl.col(ref_key).str.replace_all("/", "-", literal=True)).alias("anchor")


_CSS = (
    "body{font-family:'Times New Roman',Times,serif;margin:0 auto;padding:12px 16px;max-width:760px;color:#111}"
    "h1{font-size:19px}section{border-top:1px solid #bbb;padding:6px 0 10px}section:target{background:#fff8dc}"
    "h2{font-size:16px;margin:6px 0}.cap,.ev{font-size:14px;margin:4px 0}svg{max-width:100%;height:auto}"
    "@media print{section{break-inside:avoid}}"
)


def write_waterfall_page(path: Path, frame: pl.DataFrame, title: str, lang: str = "vi") -> Path | None:
    """One HTML page of waterfalls for the worklist rows of ``frame`` that carry weights (``stt, ref_key,
    main_reason, match_basis, weights, match_probability``); None when no row has any. No personal data."""
    rows = frame.filter(pl.col("weights").is_not_null() & pl.col("ref_key").is_not_null())
    rows = rows.with_columns(anchor_expr())
    if rows.is_empty():
        return None
    vi = lang == "vi"
    parts = []
    for r in rows.select(
        "stt", "ref_key", "anchor", "main_reason", "match_basis", "weights", "match_probability"
    ).iter_rows(named=True):
        head = f"{'Dòng' if vi else 'Row'} {r['stt']} · {'Mã đối chiếu' if vi else 'Reference key'} {r['ref_key']}"
        evidence = " — ".join(x for x in (r["main_reason"], r["match_basis"]) if x)
        parts.append(
            f'<section id="{escape(r["anchor"])}"><h2>{escape(head)}</h2>'
            f'<p class="ev">{escape(evidence)}</p>{waterfall_svg(r["weights"], lang, r["match_probability"])}</section>'
        )
    intro = (
        "Mỗi biểu đồ cho biết từng so sánh (số định danh, họ tên, ngày sinh…) cộng (xanh) hay trừ (đỏ) bao nhiêu "
        "vào trọng số ghép bản ghi với người trong CSDLQG; tổng càng lớn càng chắc là một người. «Dòng» là STT "
        "trong danh sách xử lý."
        if vi
        else "Each chart shows how much each comparison (ID, name, birth date…) added (green) or took away (red) "
        "from the weight linking the record to the person; the larger the total, the surer. «Row» is the No. in "
        "the worklist."
    )
    html = (
        f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8">'
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">"
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{escape(title)}</title><style>{_CSS}</style></head><body><h1>{escape(title)}</h1>"
        f'<p class="ev">{escape(intro)}</p>{"".join(parts)}</body></html>'
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(html, encoding="utf-8")
    return path
