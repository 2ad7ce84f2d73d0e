"""Dates: every format clerks use, precision kept, impossible/future/too-old dates flagged."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from doisoat.normalize.dates import parse_date, parse_dates, to_day_dates

TODAY = date(2025, 7, 1)


@pytest.mark.parametrize(
    "text,expected",
    [
        ("05/03/1990", (1990, 3, 5, "D")),
        ("5/3/90", (1990, 3, 5, "D")),
        ("5/3/24", (2024, 3, 5, "D")),
        ("5/3/26", (1926, 3, 5, "D")),
        ("05.03.1990", (1990, 3, 5, "D")),
        ("05-03-1990", (1990, 3, 5, "D")),
        ("1990-03-05", (1990, 3, 5, "D")),
        ("1990-03-05T10:22:00", (1990, 3, 5, "D")),
        ("1990-03-05 00:00:00", (1990, 3, 5, "D")),
        ("19900305", (1990, 3, 5, "D")),
        ("19900000", (1990, None, None, "Y")),
        ("19900300", (1990, 3, None, "M")),
        ("00/00/1950", (1950, None, None, "Y")),
        ("1950", (1950, None, None, "Y")),
        ("03/1990", (1990, 3, None, "M")),
        ("1990-03", (1990, 3, None, "M")),
        ("32937", (1990, 3, 5, "D")),
        ("32937.0", (1990, 3, 5, "D")),
        ("32937.75", (1990, 3, 5, "D")),
        ("ngày 05 tháng 3 năm 1990", (1990, 3, 5, "D")),
        ("Ngày 5 tháng 03 năm 1990", (1990, 3, 5, "D")),
        ("tháng 3 năm 1990", (1990, 3, None, "M")),
        ("năm 1990", (1990, None, None, "Y")),
    ],
)
def test_formats_parse_with_their_precision(text, expected):
    p = parse_date(text, TODAY)
    assert (p.year, p.month, p.day, p.precision) == expected
    assert p.issue is None


@pytest.mark.parametrize(
    "text,issue",
    [
        ("31/02/1990", "DATE_INVALID"),
        ("12/13/1990", "DATE_INVALID"),
        ("01/01/2030", "DATE_FUTURE"),
        ("2026", "DATE_FUTURE"),
        ("1850", "DATE_TOO_OLD"),
        ("01/01/1850", "DATE_TOO_OLD"),
        ("abc", "DATE_UNPARSEABLE"),
        ("1234", "DATE_TOO_OLD"),
        ("999", "DATE_UNPARSEABLE"),
        ("15/00/1990", "DATE_INVALID"),
    ],
)
def test_bad_dates_are_null_with_a_reason(text, issue):
    p = parse_date(text, TODAY)
    assert (p.year, p.precision, p.issue) == (None, None, issue)


def test_excel_serial_only_in_plausible_range():
    assert parse_date("9999", TODAY).issue == "DATE_FUTURE"  # four digits are a year
    assert parse_date("99999", TODAY).issue == "DATE_FUTURE"


def test_swappable_when_day_and_month_both_at_most_12_and_different():
    out = parse_dates(pl.Series(["05/03/1990", "05/05/1990", "13/03/1990", "03/1990", None]), TODAY)
    assert out["swappable"].to_list() == [True, False, False, False, None]
    assert out.schema == {
        "year": pl.Int16,
        "month": pl.Int8,
        "day": pl.Int8,
        "precision": pl.Utf8,
        "swappable": pl.Boolean,
        "issue": pl.Utf8,
    }


def test_year_only_is_never_turned_into_first_of_january():
    out = parse_dates(pl.Series(["1950", "01/01/1950"]), TODAY)
    assert out.select("year", "month", "day", "precision").rows() == [
        (1950, None, None, "Y"),
        (1950, 1, 1, "D"),
    ]


def test_day_dates_reject_partial_dates():
    out = to_day_dates(pl.Series(["05/03/2024", "03/2024", "2024", "31/02/2024", None]), TODAY)
    assert out["date"].to_list() == [date(2024, 3, 5), None, None, None, None]
    assert out["issue"].to_list() == [None, "DATE_PARTIAL", "DATE_PARTIAL", "DATE_INVALID", None]


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_parse_date_never_raises_and_output_is_consistent(text):
    p = parse_date(text, TODAY)
    if p.precision is None:
        assert p.year is None and p.month is None and p.day is None
    else:
        assert 1890 <= p.year <= TODAY.year and p.issue is None
        assert (p.precision == "Y") == (p.month is None)


@settings(max_examples=200, deadline=None)
@given(st.dates(min_value=date(1890, 1, 1), max_value=TODAY))
def test_every_real_day_round_trips_through_every_full_format(d):
    serial = (d - date(1899, 12, 30)).days
    texts = [
        d.strftime("%d/%m/%Y"),
        d.isoformat(),
        d.strftime("%d.%m.%Y"),
        d.strftime("%Y%m%d"),
        f"ngày {d.day:02d} tháng {d.month} năm {d.year}",
    ]
    if serial >= 10_000:
        texts.append(str(serial))
    for t in texts:
        p = parse_date(t, TODAY)
        assert (p.year, p.month, p.day) == (d.year, d.month, d.day), t
