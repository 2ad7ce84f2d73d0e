"""Per-record waterfall of match weights, as Splink draws it: the pair prior, then what each comparison added or
took away (in bits), then the total and what it means as a probability.

The weights are the match explanation each result row carries (``results.weights``, JSON comparison → bits,
produced by :mod:`doisoat.match.decide`). A chart names comparisons and numbers only, never a value of the
record: it holds no personal data. ``write_waterfall_page`` writes one self-contained HTML page per worklist
(``worklists/bieu-do/<worklist>.html``) with one chart per row that has weights, anchored by the row's reference
key, so the worklist's «Biểu đồ trọng số» link opens the row's chart.

Charts are built by polars expressions over all rows at once (a province's worklists hold hundreds of thousands
of rows): the rows of a page share one scale, and the grid, scale and labels are drawn once per page and reused
(``<use href="#wf-bg">``).
"""

from __future__ import annotations

import math
from html import escape
from pathlib import Path

import polars as pl

from doisoat.match.compare import DEFAULT_COMPARISONS

CHART_FOLDER = "bieu-do"
# the comparisons of the match explanation, in drawing order after the pair prior (doisoat.match.decide)
COMPARISONS = tuple(c.name for c in DEFAULT_COMPARISONS)  # the keys of a row's ``weights``, after "prior"
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
_STEPS = ("prior", *COMPARISONS)
_WEIGHTS = pl.Struct({c: pl.Float64 for c in _STEPS})


def decoded_weights(alias: str = "_weights") -> pl.Expr:
    """A row's ``weights`` JSON (match evidence in bits: prior and each comparison) as a struct column."""
    return pl.col("weights").str.json_decode(_WEIGHTS).alias(alias)


LEFT, WIDTH, ROW_H, TOP = 170, 400, 26, 24
N_ROWS = len(_STEPS) + 1  # the steps and the total
HEIGHT = TOP + ROW_H * N_ROWS + 44
VIEW = f'viewBox="0 0 {LEFT + WIDTH + 70} {HEIGHT}" width="{LEFT + WIDTH + 70}" height="{HEIGHT}"'


def _fixed(e: pl.Expr, scale: int, sign: bool, lang: str) -> pl.Expr:
    """``e`` with two decimals as text ("+14,67", "99,99"), vectorised; ``scale`` 100 for bits, 10 000 for %."""
    cents = (e * scale).round(0).cast(pl.Int64)
    whole = (cents.abs() // 100).cast(pl.Utf8)
    frac = (cents.abs() % 100).cast(pl.Utf8).str.zfill(2)
    head = pl.when(cents < 0).then(pl.lit("-")).otherwise(pl.lit("+" if sign else ""))
    return pl.concat_str(head, whole, pl.lit("," if lang == "vi" else "."), frac)


def pair_probability(total: pl.Expr) -> pl.Expr:
    """The probability a total match weight means for the pair alone: 2^w / (1 + 2^w)."""
    return 1.0 / (1.0 + (2.0 ** (-total.clip(-60, 60))))


def _scale(lo: float, hi: float) -> tuple[float, float, float]:
    """A scale in bits from ``lo`` to ``hi``, rounded out to a step of 2, 5 or 10, always across zero."""
    step = 10 if hi - lo > 40 else 5 if hi - lo > 15 else 2
    return step * min(math.floor(lo / step), -1), step * max(math.ceil(hi / step), 1), step


def _background(lo: float, hi: float, step: float, lang: str) -> str:
    """What every chart of a scale shares: the grid, the scale in bits, the step labels."""
    labels = STEP_LABELS[lang]
    bottom = TOP + ROW_H * N_ROWS

    def x(v: float) -> float:
        return LEFT + (v - lo) / (hi - lo) * WIDTH

    parts = []
    tick = lo
    while tick <= hi + 1e-9:
        parts.append(
            f'<line x1="{x(tick):.1f}" y1="{TOP - 6}" x2="{x(tick):.1f}" y2="{bottom}" '
            f'stroke="{"#333" if tick == 0 else "#ddd"}"/>'
            f'<text x="{x(tick):.1f}" y="{bottom + 16}" text-anchor="middle" fill="#333">{tick:g}</text>'
        )
        tick += step
    for i, key in enumerate([*_STEPS, "total"]):
        bold = ' font-weight="bold"' if key == "total" else ""
        parts.append(
            f'<text x="{LEFT - 8}" y="{TOP + i * ROW_H + 17}" text-anchor="end"{bold}>{escape(labels[key])}</text>'
        )
    unit = "bit (log₂ tỷ số khả năng)" if lang == "vi" else "bits (log₂ likelihood ratio)"
    parts.append(
        f'<text x="{LEFT + WIDTH / 2:.0f}" y="{HEIGHT - 8}" text-anchor="middle" fill="#555">{unit}</text>'
    )
    return "".join(parts)


def _prepared(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` with each step's bits ``_b0…`` (null → 0), the running total after it ``_c0…`` and ``_total``."""
    n = len(_STEPS)
    decoded = frame.with_columns(decoded_weights("_w"))
    bits = decoded.with_columns(
        [pl.col("_w").struct.field(k).fill_null(0.0).alias(f"_b{i}") for i, k in enumerate(_STEPS)]
    )
    running = bits.with_columns(
        [pl.sum_horizontal([f"_b{j}" for j in range(i + 1)]).alias(f"_c{i}") for i in range(n)]
    )
    return running.with_columns(pl.col(f"_c{n - 1}").alias("_total")).drop("_w")


def _bars(lo: float, hi: float, lang: str) -> pl.Expr:
    """Per row of a :func:`_prepared` frame, the SVG elements of its bars and values (a bar starts where the
    previous one ended, so no connectors: they were a third of a province's pages)."""

    def x(v: pl.Expr) -> pl.Expr:
        return LEFT + (v - lo) / (hi - lo) * WIDTH

    def num(v: pl.Expr) -> pl.Expr:
        return v.round(1).cast(pl.Utf8)

    parts = []
    for i, key in enumerate([*_STEPS, "total"]):
        b = pl.col("_total") if key == "total" else pl.col(f"_b{i}")
        start = pl.lit(0.0) if key == "total" or i == 0 else pl.col(f"_c{i - 1}")
        end = pl.col("_total") if key == "total" else pl.col(f"_c{i}")
        x0, x1 = pl.min_horizontal(x(start), x(end)), pl.max_horizontal(x(start), x(end))
        colour = (
            pl.lit(COLOURS[key])
            if key in ("prior", "total")
            else pl.when(b >= 0).then(pl.lit(COLOURS["plus"])).otherwise(pl.lit(COLOURS["minus"]))
        )
        y = TOP + i * ROW_H
        parts += [
            pl.lit(f'<rect y="{y + 5}" height="{ROW_H - 10}" x="'),
            num(x0),
            pl.lit('" width="'),
            num(pl.max_horizontal(x1 - x0, pl.lit(1.5))),
            pl.lit('" fill="'),
            colour,
            pl.lit(f'"/><text y="{y + 17}" x="'),
            num(x1 + 4),
            pl.lit('">'),
            _fixed(b, 100, True, lang),
            pl.lit("</text>"),
        ]
    return pl.concat_str(parts)


def _caption(lang: str) -> pl.Expr:
    """ "Tổng +21,42 bit: nếu chỉ xét cặp này, … 100,00%; … của bản ghi … 99,99%." per prepared row."""
    total = pl.col("_total")
    pair = _fixed(pair_probability(total), 10_000, False, lang) + pl.lit("%")
    record = _fixed(pl.col("match_probability"), 10_000, False, lang) + pl.lit("%")
    if lang == "vi":
        head = [
            "Tổng ",
            " bit: nếu chỉ xét cặp này, xác suất là một người ",
            "; xác suất khớp của bản ghi (tính cả các ứng viên khác) ",
        ]
    else:
        head = [
            "Total ",
            " bits: for this pair alone, probability of the same person ",
            "; the record's match probability (other candidates counted) ",
        ]
    text = pl.concat_str(pl.lit(head[0]), _fixed(total, 100, True, lang), pl.lit(head[1]), pair)
    with_record = pl.concat_str(text, pl.lit(head[2]), record)
    return pl.coalesce(with_record, text) + pl.lit(".")


def _page_scale(prepared: pl.DataFrame) -> tuple[float, float, float]:
    """The scale that holds every running total of every row of a :func:`_prepared` frame."""
    running = [f"_c{i}" for i in range(len(_STEPS))]
    lo, hi = prepared.select(
        pl.min_horizontal(running).min().alias("lo"), pl.max_horizontal(running).max().alias("hi")
    ).row(0)
    return _scale(min(lo or 0.0, 0.0), max(hi or 0.0, 0.0))


def waterfall_svg(weights: str, lang: str = "vi", probability: float | None = None) -> str:
    """One record's waterfall as an inline SVG with its caption (``weights``: the results' JSON explanation).

    One row per step, each bar from the running total before it to after it (green adds, red takes away), a zero
    line and a scale in bits; the last row is the total. ``probability``: the record's match probability (it also
    weighs the other candidates and the population size), printed beside the pair's own.
    """
    frame = _prepared(
        pl.DataFrame(
            {"weights": [weights], "match_probability": [probability]},
            schema={"weights": pl.Utf8, "match_probability": pl.Float64},
        )
    )
    lo, hi, step = _page_scale(frame)
    bars, caption = frame.select(_bars(lo, hi, lang).alias("bars"), _caption(lang).alias("caption")).row(0)
    title = "Biểu đồ trọng số ghép" if lang == "vi" else "Match weights"
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" {VIEW} role="img" font-family="Times New Roman, serif" '
        f'font-size="13"><title>{title}</title>{_background(lo, hi, step, lang)}{bars}</svg>'
        f'<p class="cap">{escape(caption)}</p>'
    )


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
    if rows.is_empty():
        return None
    vi = lang == "vi"
    rows = _prepared(rows)
    lo, hi, step = _page_scale(rows)
    evidence = pl.concat_str(pl.col("main_reason"), pl.col("match_basis"), separator=" — ", ignore_nulls=True)
    section = pl.concat_str(
        pl.lit('<section id="'),
        anchor_expr(),
        pl.lit(f'"><h2>{"Dòng" if vi else "Row"} '),
        pl.col("stt").cast(pl.Utf8),
        pl.lit(f" · {'Mã đối chiếu' if vi else 'Reference key'} "),
        pl.col("ref_key"),
        pl.lit('</h2><p class="ev">'),
        _html_text(evidence.fill_null("")),
        pl.lit(
            f'</p><svg {VIEW} role="img" font-family="Times New Roman, serif" font-size="13">'
            '<use href="#wf-bg"/>'
        ),
        _bars(lo, hi, lang),
        pl.lit('</svg><p class="cap">'),
        _html_text(_caption(lang)),
        pl.lit("</p></section>"),
    )
    body = rows.select(section.str.join("")).item()
    intro = (
        "Mỗi biểu đồ cho biết từng so sánh (số định danh, họ tên, ngày sinh…) cộng (xanh) hay trừ (đỏ) bao nhiêu "
        "vào trọng số ghép bản ghi với người trong CSDLQG; tổng càng lớn càng chắc là một người. «Dòng» là STT "
        "trong danh sách xử lý."
        if vi
        else "Each chart shows how much each comparison (ID, name, birth date…) added (green) or took away (red) "
        "from the weight linking the record to the person; the larger the total, the surer. «Row» is the No. in "
        "the worklist."
    )
    shared = (
        '<svg width="0" height="0" style="position:absolute" aria-hidden="true"><defs><g id="wf-bg">'
        f"{_background(lo, hi, step, lang)}</g></defs></svg>"
    )
    html = (
        f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8">'
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">"
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{escape(title)}</title><style>{_CSS}</style></head><body>{shared}<h1>{escape(title)}</h1>"
        f'<p class="ev">{escape(intro)}</p>{body}</body></html>'
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(html, encoding="utf-8")
    return path


def _html_text(e: pl.Expr) -> pl.Expr:
    """Text escaped for HTML, vectorised."""
    return (
        e.str.replace_all("&", "&amp;", literal=True)
        .str.replace_all("<", "&lt;", literal=True)
        .str.replace_all(">", "&gt;", literal=True)
    )
