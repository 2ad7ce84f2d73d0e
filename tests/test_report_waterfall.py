"""The per-record waterfall of match weights: what each comparison adds, in the language's number format."""

from __future__ import annotations

import re

import polars as pl

from doisoat.report.waterfall import waterfall_svg, write_waterfall_page

WEIGHTS = (
    '{"prior": -11.12, "id": 14.67, "name": -2.5, "birth": 13.54, "sex": 1.0, "commune": 5.83, "phone": 0.0}'
)


def bars(svg: str) -> list[tuple[float, float, str]]:
    return [
        (float(x), float(w), fill)
        for x, w, fill in re.findall(r'<rect [^>]*x="([-\d.]+)" width="([\d.]+)" fill="(#\w+)"', svg)
    ]


def test_each_step_starts_where_the_previous_ended_and_the_total_adds_them_up():
    svg = waterfall_svg(WEIGHTS, "vi", 0.9999)
    got = bars(svg)
    assert len(got) == 8  # prior, six comparisons, total
    colours = [fill for *_, fill in got]
    assert colours == ["#757575", "#2e7d32", "#c62828", "#2e7d32", "#2e7d32", "#2e7d32", "#2e7d32", "#1f4e78"]
    # running totals: the right edge of a gain is the left edge of the next step; a loss ends where it started less
    id_bar, name_bar = got[1], got[2]
    assert (
        abs((id_bar[0] + id_bar[1]) - (name_bar[0] + name_bar[1])) < 0.2
    )  # the name loss hangs from the id gain
    for text in ("Xuất phát (hai người bất kỳ)", "-11,12", "+14,67", "-2,50", "Tổng trọng số", "+21,42"):
        assert f">{text}<" in svg
    assert "xác suất khớp của bản ghi (tính cả các ứng viên khác) 99,99%" in svg
    assert "nếu chỉ xét cặp này, xác suất là một người 100,00%" in svg


def test_english_and_a_record_without_probability():
    svg = waterfall_svg('{"prior": -11.12, "name": 6.5, "birth": 3.25, "sex": -1.0}', "en")
    assert ">Total weight<" in svg and ">-2.37<" in svg and "record's match probability" not in svg
    assert "probability of the same person 16.21%" in svg  # 2^-2.37 / (1 + 2^-2.37)


def test_a_page_puts_every_row_on_one_scale_under_its_anchor(tmp_path):
    frame = pl.DataFrame(
        {
            "stt": [1, 2],
            "ref_key": ["20261204T013000-abc/7", "20261204T013000-abc/9"],
            "main_reason": ["Họ tên khác CSDLQG", "<b>"],
            "match_basis": [None, "Trùng số định danh"],
            "weights": [WEIGHTS, '{"prior": -11.12, "id": 40.0}'],
            "match_probability": [0.99, None],
        }
    )
    page = write_waterfall_page(tmp_path / "p.html", frame, "Biểu đồ").read_text(encoding="utf-8")
    assert 'id="r-20261204T013000-abc-7"' in page and 'id="r-20261204T013000-abc-9"' in page
    assert page.count('<use href="#wf-bg"/>') == 2 and page.count('id="wf-bg"') == 1
    assert ">30<" in page  # one scale for both rows: up to the larger running total (28,88 bits)
    assert "&lt;b&gt;" in page and "<b>" not in page  # text is escaped
