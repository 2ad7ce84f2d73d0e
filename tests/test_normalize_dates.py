"""Dates: every format clerks use, precision kept, impossible/future/too-old dates flagged."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from doisoat.normalize.dates import (
    DEFAULT_SENTINELS,
    NOTE_CODES,
    lunar_to_solar,
    parse_date,
    parse_dates,
    to_day_dates,
)
from doisoat.reasons import REASONS

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
        # text forms clerks type (issue 15)
        ("5 tháng 3 năm 1990", (1990, 3, 5, "D")),
        ("ngày 5/3 năm 1990", (1990, 3, 5, "D")),
        ("5 thg 3, 1990", (1990, 3, 5, "D")),
        ("ngày 05/03/1990", (1990, 3, 5, "D")),
        ("Ngày 05-03-1990", (1990, 3, 5, "D")),
        ("NGÀY 5 THÁNG 3 NĂM 1990", (1990, 3, 5, "D")),
        ("ngày 5 tháng 3, 1990", (1990, 3, 5, "D")),
        ("mùng 5 tháng 3 năm 1990", (1990, 3, 5, "D")),
        ("sinh ngày 05/03/1990", (1990, 3, 5, "D")),
        ("T3/1990", (1990, 3, None, "M")),
        ("t03/1990", (1990, 3, None, "M")),
        ("T3 1990", (1990, 3, None, "M")),
        ("tháng 3/1990", (1990, 3, None, "M")),
        ("Tháng 03-1990", (1990, 3, None, "M")),
        ("th 3/1990", (1990, 3, None, "M")),
        ("tháng 03 năm 1990", (1990, 3, None, "M")),
        ("sinh năm 1950", (1950, None, None, "Y")),
        ("Thứ Hai, 05/03/1990", (1990, 3, 5, "D")),
        ("thứ 2, 05/03/1990", (1990, 3, 5, "D")),
        ("T2, 05/03/1990", (1990, 3, 5, "D")),
        ("Thứ Năm, 08/03/1990", (1990, 3, 8, "D")),
        ("Thứ Hai ngày 5 tháng 3 năm 1990", (1990, 3, 5, "D")),
        ("Chủ nhật, 04/03/1990", (1990, 3, 4, "D")),
        ("CN 04/03/1990", (1990, 3, 4, "D")),
        ("05/03/1990 (dương lịch)", (1990, 3, 5, "D")),
        ("01/1900", (1900, 1, None, "M")),  # a month, not Excel's "00/01/1900"
        ("00/00/1900", (1900, None, None, "Y")),
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
        ("30/12/1899", "DATE_SENTINEL"),
        ("1899-12-30", "DATE_SENTINEL"),
        ("1899-12-30 00:00:00", "DATE_SENTINEL"),
        ("00/01/1900", "DATE_SENTINEL"),
        ("1900-01-00", "DATE_SENTINEL"),
        ("19000100", "DATE_SENTINEL"),
        ("01/01/1900", "DATE_SENTINEL"),
        ("0", "DATE_SENTINEL"),
        ("00/00/0000", "DATE_SENTINEL"),
        ("0000-00-00", "DATE_SENTINEL"),
        ("01/01/0001", "DATE_SENTINEL"),
        ("1753-01-01", "DATE_SENTINEL"),
        ("31/12/9999", "DATE_SENTINEL"),
        ("1990 (âm lịch)", "DATE_LUNAR"),  # a lunar year straddles two solar years
        ("tháng 12/1990 (âm lịch)", "DATE_LUNAR"),  # often in January of the next solar year
        ("30/12/2024 (âm lịch)", "DATE_LUNAR"),  # the 12th month of Giáp Thìn has 29 days
        ("05/03 nhuận/2024 (âm lịch)", "DATE_LUNAR"),  # 2024 has no leap month
        ("mùng 5 tháng Ba năm 1990", "DATE_UNPARSEABLE"),
        ("ngày 5 tháng 3", "DATE_UNPARSEABLE"),
        ("Thứ Hai, 1990", "DATE_UNPARSEABLE"),
        ("ngày 5/1990", "DATE_UNPARSEABLE"),
        ("5 tháng 3 năm 1990 tại Hà Nội", "DATE_UNPARSEABLE"),
    ],
)
def test_bad_dates_are_null_with_a_reason(text, issue):
    p = parse_date(text, TODAY)
    assert (p.year, p.precision, p.issue) == (None, None, issue)


def test_every_date_code_is_in_the_reason_table():
    for code in (
        "DATE_SENTINEL",
        "DATE_LUNAR",
        "DATE_LUNAR_CONVERTED",
        "DATE_WEEKDAY_MISMATCH",
        "DATE_UNPARSEABLE",
    ):
        assert code in REASONS
    assert all(REASONS[c].dimension == "info" for c in NOTE_CODES)


def test_a_weekday_that_disagrees_keeps_the_date_and_notes_it():
    p = parse_date("Thứ Ba, 05/03/1990", TODAY)  # 5 March 1990 was a Monday
    assert (p.year, p.month, p.day, p.precision, p.issue) == (1990, 3, 5, "D", "DATE_WEEKDAY_MISMATCH")
    out = to_day_dates(pl.Series(["Thứ Ba, 05/03/1990"]), TODAY)
    assert out.rows() == [(date(1990, 3, 5), "DATE_WEEKDAY_MISMATCH")]


def test_sentinels_are_configurable():
    assert parse_date("01/01/1900", TODAY, sentinels=DEFAULT_SENTINELS - {(1900, 1, 1)}).precision == "D"
    assert parse_date("01/01/1970", TODAY, sentinels={(1970, 1, 1)}).issue == "DATE_SENTINEL"


@pytest.mark.parametrize(
    "text,solar",
    [
        ("01/01/2024 (âm lịch)", date(2024, 2, 10)),  # Tết Giáp Thìn
        ("mùng 1 tháng 1 năm 1985 âm lịch", date(1985, 1, 21)),  # Vietnam's Tết 1985, a month before China's
        ("01-01-1968 (ÂL)", date(1968, 1, 29)),  # Tết Mậu Thân in UTC+7
        ("ngày 15 tháng 8 năm 2024 (âm lịch)", date(2024, 9, 17)),  # Tết Trung thu
        ("30/12/2023 (âm lịch)", date(2024, 2, 9)),  # the last day of Quý Mão
        ("ngày 1 tháng 2 nhuận năm 2023 (âm lịch)", date(2023, 3, 22)),  # the leap second month
        ("ngày 1 tháng 2 năm 2023 (âm lịch)", date(2023, 2, 20)),
        (
            "Thứ Năm, 01/01/2024 (âm lịch)",
            None,
        ),  # Tết 2024 was a Saturday: the weekday is checked on the solar day
    ],
)
def test_a_lunar_date_is_converted_to_its_solar_day_and_noted(text, solar):
    p = parse_date(text, TODAY)
    if solar is None:
        assert (p.year, p.month, p.day) == (2024, 2, 10) and p.issue == "DATE_WEEKDAY_MISMATCH"
        return
    assert (p.year, p.month, p.day, p.precision, p.issue) == (
        solar.year,
        solar.month,
        solar.day,
        "D",
        "DATE_LUNAR_CONVERTED",
    )


def test_a_lunar_month_keeps_only_its_solar_year():
    p = parse_date("tháng 3/1990 (AL)", TODAY)
    assert (p.year, p.month, p.precision, p.issue) == (1990, None, "Y", "DATE_LUNAR_CONVERTED")


@settings(max_examples=200, deadline=None)
@given(st.integers(1900, 2024), st.integers(1, 12), st.integers(1, 28))
def test_lunar_days_follow_each_other_and_each_new_year_falls_between_21_january_and_20_february(y, m, d):
    first = lunar_to_solar(1, 1, y)
    assert date(y, 1, 21) <= first <= date(y, 2, 20)
    a, b = lunar_to_solar(d, m, y), lunar_to_solar(d + 1, m, y)
    assert (b - a).days == 1
    nxt = lunar_to_solar(1, m % 12 + 1, y + (m == 12))
    assert 29 <= (nxt - lunar_to_solar(1, m, y)).days <= 30 or (nxt - lunar_to_solar(1, m, y)).days in (
        58,
        59,
        60,
    )


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
        assert 1890 <= p.year <= TODAY.year and (p.issue is None or p.issue in NOTE_CODES)
        assert (p.precision == "Y") == (p.month is None)


_WEEKDAY_NAMES = ["Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ nhật"]
_WEEKDAY_SHORT = ["T2", "T3", "T4", "T5", "T6", "T7", "CN"]


def _day_forms(d: date) -> list[str]:
    """Every way a full day is written (DOMAIN §5, issue 15)."""
    forms = [
        d.strftime("%d/%m/%Y"),
        f"{d.day}/{d.month}/{d.year}",
        d.isoformat(),
        f"{d.isoformat()} 00:00:00",
        f"{d.isoformat()}T08:30:00",
        d.strftime("%d.%m.%Y"),
        d.strftime("%d-%m-%Y"),
        d.strftime("%Y%m%d"),
        f"ngày {d.day:02d} tháng {d.month} năm {d.year}",
        f"Ngày {d.day} tháng {d.month:02d} năm {d.year}",
        f"{d.day} tháng {d.month} năm {d.year}",
        f"ngày {d.day}/{d.month} năm {d.year}",
        f"{d.day} thg {d.month}, {d.year}",
        f"ngày {d.strftime('%d/%m/%Y')}",
        f"{_WEEKDAY_NAMES[d.weekday()]}, {d.strftime('%d/%m/%Y')}",
        f"{_WEEKDAY_SHORT[d.weekday()]}, {d.strftime('%d/%m/%Y')}",
        f"{_WEEKDAY_NAMES[d.weekday()]} ngày {d.day} tháng {d.month} năm {d.year}".upper(),
    ]
    if d.year > TODAY.year - 100:  # two-digit years are read as the latest year not after today
        forms.append(f"{d.day}/{d.month}/{d.strftime('%y')}")
    serial = (d - date(1899, 12, 30)).days
    if serial >= 10_000:
        forms.append(str(serial))
    return forms


def _month_forms(d: date) -> list[str]:
    return [
        d.strftime("%m/%Y"),
        f"{d.month}/{d.year}",
        d.strftime("%Y-%m"),
        d.strftime("%Y%m00"),
        f"00/{d.month:02d}/{d.year}",
        f"T{d.month}/{d.year}",
        f"tháng {d.month}/{d.year}",
        f"tháng {d.month:02d} năm {d.year}",
        f"Tháng {d.month}-{d.year}",
    ]


def _year_forms(d: date) -> list[str]:
    return [str(d.year), f"00/00/{d.year}", f"{d.year}0000", f"năm {d.year}", f"sinh năm {d.year}"]


def _is_sentinel(d: date) -> bool:
    return any((d.year, d.month, x) in DEFAULT_SENTINELS for x in (0, d.day))


_DATES = st.dates(min_value=date(1890, 1, 1), max_value=TODAY)


@settings(max_examples=300, deadline=None)
@given(_DATES)
def test_every_form_round_trips_with_its_date_and_precision(d):
    assume(not _is_sentinel(d))
    for forms, expected in (
        (_day_forms(d), (d.year, d.month, d.day, "D")),
        (_month_forms(d), (d.year, d.month, None, "M")),
        (_year_forms(d), (d.year, None, None, "Y")),
    ):
        for t in forms:
            p = parse_date(t, TODAY)
            assert (p.year, p.month, p.day, p.precision, p.issue) == (*expected, None), t


@settings(max_examples=150, deadline=None)
@given(_DATES, st.sampled_from([" (âm lịch)", " (ÂL)", " âm lịch", " AL"]))
def test_every_day_form_marked_lunar_is_converted_never_taken_as_solar(d, mark):
    """Each full-day form read as a lunar date gives that lunar day's solar date, never the written one."""
    assume(not _is_sentinel(d))
    solar = lunar_to_solar(d.day, d.month, d.year)
    assume(solar is not None and solar <= TODAY)
    for t in _day_forms(d):
        if t.startswith(tuple(_WEEKDAY_NAMES + _WEEKDAY_SHORT)) or t.upper() == t or t.isdigit():
            continue  # the weekday belongs to the written day; a serial is a solar day
        p = parse_date(t + mark, TODAY)
        assert (p.year, p.month, p.day, p.issue) == (
            solar.year,
            solar.month,
            solar.day,
            "DATE_LUNAR_CONVERTED",
        ), t


@settings(max_examples=100, deadline=None)
@given(_DATES)
def test_a_wrong_weekday_never_changes_the_date(d):
    assume(not _is_sentinel(d))
    wrong = _WEEKDAY_NAMES[(d.weekday() + 1) % 7]
    p = parse_date(f"{wrong}, {d.strftime('%d/%m/%Y')}", TODAY)
    assert (p.year, p.month, p.day, p.issue) == (d.year, d.month, d.day, "DATE_WEEKDAY_MISMATCH")


def test_text_dates_are_parsed_once_per_distinct_value():
    values = pl.Series(["5 thg 3, 1990"] * 1000 + ["T3/1990"] * 1000 + [None])
    out = parse_dates(values, TODAY)
    assert out.group_by("precision").len().sort("precision").rows() == [(None, 1), ("D", 1000), ("M", 1000)]
