from datetime import date, datetime

import polars as pl

from doisoat.reasons import REASONS, message
from doisoat.textfmt import (
    fmt_int,
    fmt_pct,
    fmt_ratio,
    mask_id,
    mask_id_expr,
    safe_cell,
    safe_cell_expr,
    vn_date,
    vn_datetime,
)


def test_vietnamese_number_format_uses_dots_for_thousands_and_comma_for_decimals():
    assert fmt_int(1376946) == "1.376.946"
    assert fmt_pct(3815315, 4044111) == "94,34%"
    assert fmt_ratio(1376946, 1415557) == "1.376.946/1.415.557, đạt 97,27%"


def test_english_number_format_on_request():
    assert fmt_int(1376946, lang="en") == "1,376,946"
    assert fmt_pct(0.9727, lang="en") == "97.27%"


def test_rate_of_empty_denominator_is_blank_not_an_error():
    assert fmt_pct(0, 0) == ""


def test_masked_id_shows_only_last_four_digits():
    assert mask_id("049090001234") == "********1234"
    assert mask_id(None) == ""
    out = pl.DataFrame({"id": ["049090001234", None]}).select(mask_id_expr("id"))["id"].to_list()
    assert out == ["********1234", ""]


def test_formula_like_cells_are_neutralised():
    assert safe_cell("=HYPERLINK(1)") == "'=HYPERLINK(1)"
    assert safe_cell("@cmd") == "'@cmd"
    assert safe_cell("Nguyễn") == "Nguyễn"
    assert safe_cell(12) == 12
    assert safe_cell("  =1+1") == "'  =1+1"  # after leading whitespace too
    assert safe_cell("\tx") == "'\tx"
    assert safe_cell("-12") == "-12"  # a negative number is a number, not a formula


def test_every_reason_has_a_vietnamese_message_with_diacritics_and_a_known_dimension():
    for code, reason in REASONS.items():
        assert reason.dimension in {"dung", "du", "sach", "song", "ingest", "info"}, code
        assert message(code) and message(code, "en")
    assert message("PAID_AFTER_DEATH") == "Đã chết nhưng còn chi trả"


def test_vectorised_formula_neutralising_agrees_with_the_cell_function():
    values = ["=1+1", "+84", "-", "@x", "\tA", "Nguyễn", "", "a=b"]
    out = pl.DataFrame({"v": values}).select(safe_cell_expr(pl.col("v")))["v"].to_list()
    assert out == [safe_cell(v) for v in values]


def test_vietnamese_dates_and_times_are_day_first_with_the_clock_before_the_day():
    moment = datetime(2026, 12, 4, 8, 5, 9)
    assert vn_date(date(2026, 3, 1)) == "01/03/2026" and vn_date(None) == ""
    assert vn_datetime(moment) == "08:05 ngày 04/12/2026"
    assert vn_datetime(moment, seconds=True) == "08:05:09 ngày 04/12/2026"
    assert vn_datetime(moment, "en") == "08:05, 04/12/2026" and vn_datetime(None) == ""
