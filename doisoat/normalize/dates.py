"""Dates as Vietnamese extracts write them (DOMAIN §5), parsed with their precision kept.

Day first (dd/mm/yyyy, d/m/yy, dd.mm.yyyy, dd-mm-yyyy), ISO (with or without a time), yyyymmdd, BHXH yyyy0000 and
yyyymm00, "00/00/1950", "1950", "03/1990", Excel serials (1900 system), and text ("ngày 05 tháng 3 năm 1990").
A year-only date stays a year (never 01/01). Python runs once per distinct text; results are joined back.
"""

from __future__ import annotations

import calendar
import re
import unicodedata
from datetime import date, timedelta
from typing import NamedTuple

import polars as pl

__all__ = ["MIN_YEAR", "ParsedDate", "parse_date", "parse_dates", "to_day_dates"]

MIN_YEAR = 1890
EXCEL_EPOCH = date(1899, 12, 30)  # 1900 date system, Lotus leap-year bug included
EXCEL_MIN_SERIAL = 10_000  # 1927-05-18: shorter numbers are years, not serials


class ParsedDate(NamedTuple):
    year: int | None
    month: int | None
    day: int | None
    precision: str | None  # "D", "M", "Y" or None
    issue: str | None  # reason code or None


_EMPTY = ParsedDate(None, None, None, None, None)
_TIME = r"(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:\s*[AaPp][Mm])?(?:Z|[+-]\d{2}:?\d{2})?)?"
_DMY_RE = re.compile(r"(\d{1,2})\s*[/.\-]\s*(\d{1,2})\s*[/.\-]\s*(\d{4}|\d{2})" + _TIME)
_YMD_RE = re.compile(r"(\d{4})[/.\-](\d{1,2})[/.\-](\d{1,2})" + _TIME)
_MY_RE = re.compile(r"(\d{1,2})\s*[/.\-]\s*(\d{4})")
_YM_RE = re.compile(r"(\d{4})[/.\-](\d{1,2})")
_SERIAL_RE = re.compile(r"(\d{5})(?:[.,]\d+)?")  # a fraction is the time of day
_TEXT_RE = re.compile(r"(?:ngay\s*(\d{1,2})\s*[,/]?\s*)?(?:thang\s*(\d{1,2})\s*[,/]?\s*)?nam\s*(\d{4})")


def _plain(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text.lower()).replace("đ", "d")
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _check(y: int, m: int | None, d: int | None, today: date) -> ParsedDate:
    """Validate parts (0 meaning unknown) and give the precision kept."""
    m = m or None
    d = d or None
    if d is not None and m is None:
        return ParsedDate(None, None, None, None, "DATE_INVALID")
    if m is not None and not 1 <= m <= 12:
        return ParsedDate(None, None, None, None, "DATE_INVALID")
    if d is not None and not 1 <= d <= calendar.monthrange(max(y, 1), m or 1)[1]:
        return ParsedDate(None, None, None, None, "DATE_INVALID")
    if y < MIN_YEAR:
        return ParsedDate(None, None, None, None, "DATE_TOO_OLD")
    if (y, m or 0, d or 0) > (today.year, today.month if m else 0, today.day if d else 0):
        return ParsedDate(None, None, None, None, "DATE_FUTURE")
    precision = "D" if d else "M" if m else "Y"
    return ParsedDate(y, m, d, precision, None)


def _year2(yy: int, today: date) -> int:
    """Two-digit year to the most recent year not after today."""
    year = 2000 + yy
    return year if year <= today.year else year - 100


def parse_date(text: str | None, today: date | None = None) -> ParsedDate:
    """One date text → (year, month, day, precision, issue). Empty → all None; unreadable → DATE_UNPARSEABLE."""
    if text is None:
        return _EMPTY
    today = today or date.today()
    s = str(text).strip()
    if not s:
        return _EMPTY
    if m := _DMY_RE.fullmatch(s):
        d, mo, y = int(m.group(1)), int(m.group(2)), m.group(3)
        year = _year2(int(y), today) if len(y) == 2 else int(y)
        return _check(year, mo, d, today)
    if m := _YMD_RE.fullmatch(s):
        return _check(int(m.group(1)), int(m.group(2)), int(m.group(3)), today)
    if m := _MY_RE.fullmatch(s):
        return (
            _check(int(m.group(2)), int(m.group(1)), None, today)
            if int(m.group(1))
            else _check(int(m.group(2)), None, None, today)
        )
    if m := _YM_RE.fullmatch(s):
        return _check(int(m.group(1)), int(m.group(2)), None, today)
    if s.isdigit() and len(s) == 4:
        return _check(int(s), None, None, today)
    if s.isdigit() and len(s) == 8:
        y, mo, d = int(s[:4]), int(s[4:6]), int(s[6:])
        if not MIN_YEAR <= y <= today.year and MIN_YEAR <= int(s[4:]) <= today.year:  # ddmmyyyy
            y, mo, d = int(s[4:]), int(s[2:4]), int(s[:2])
        return _check(y, mo, d, today)
    if m := _SERIAL_RE.fullmatch(s):
        n = int(m.group(1))
        if n < EXCEL_MIN_SERIAL:
            return ParsedDate(None, None, None, None, "DATE_UNPARSEABLE")
        day = EXCEL_EPOCH + timedelta(days=n)
        return _check(day.year, day.month, day.day, today)
    if m := _TEXT_RE.search(_plain(s)):
        d, mo = m.group(1), m.group(2)
        return _check(int(m.group(3)), int(mo) if mo else None, int(d) if d else None, today)
    return ParsedDate(None, None, None, None, "DATE_UNPARSEABLE")


_SCHEMA = {
    "year": pl.Int16,
    "month": pl.Int8,
    "day": pl.Int8,
    "precision": pl.Utf8,
    "swappable": pl.Boolean,
    "issue": pl.Utf8,
}


def _distinct_table(values: pl.Series, today: date) -> pl.DataFrame:
    uniq = values.drop_nulls().unique()
    rows = [parse_date(v, today) for v in uniq.to_list()]
    return pl.DataFrame(
        {
            "_value": uniq,
            "year": [r.year for r in rows],
            "month": [r.month for r in rows],
            "day": [r.day for r in rows],
            "precision": [r.precision for r in rows],
            "issue": [r.issue for r in rows],
        },
        schema={"_value": pl.Utf8, **{k: v for k, v in _SCHEMA.items() if k != "swappable"}},
    )


def parse_dates(s: pl.Series, today: date | None = None) -> pl.DataFrame:
    """A column of date texts → DataFrame(year, month, day, precision, swappable, issue), one row per input row.

    ``swappable``: day and month both ≤ 12 and different, so a US-locale swap cannot be ruled out."""
    today = today or date.today()
    values = s.cast(pl.Utf8).str.strip_chars().replace("", None)
    table = _distinct_table(values, today)
    out = (
        pl.DataFrame({"_value": values})
        .join(table, on="_value", how="left", maintain_order="left")
        .with_columns(
            (
                (pl.col("precision") == "D")
                & (pl.col("day") <= 12)
                & (pl.col("month") <= 12)
                & (pl.col("day") != pl.col("month"))
            ).alias("swappable")
        )
    )
    return out.select(list(_SCHEMA)).cast(_SCHEMA)  # type: ignore[arg-type]


def to_day_dates(s: pl.Series, today: date | None = None) -> pl.DataFrame:
    """Dates that must be exact days (event, activity, death) → DataFrame(date: Date, issue: Utf8).

    A month- or year-only value gives null with ``DATE_PARTIAL``."""
    parsed = parse_dates(s, today)
    return parsed.select(
        pl.when(pl.col("precision") == "D")
        .then(pl.date(pl.col("year"), pl.col("month"), pl.col("day")))
        .alias("date"),
        pl.when(pl.col("precision").is_in(["M", "Y"]))
        .then(pl.lit("DATE_PARTIAL"))
        .otherwise(pl.col("issue"))
        .alias("issue"),
    )
