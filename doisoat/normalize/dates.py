"""Dates as Vietnamese extracts write them (DOMAIN §5), parsed with their precision kept.

Day first (dd/mm/yyyy, d/m/yy, dd.mm.yyyy, dd-mm-yyyy), ISO (with or without a time), yyyymmdd, BHXH yyyy0000 and
yyyymm00, "00/00/1950", "1950", "03/1990", Excel serials (1900 system), and text as clerks type it: "ngày 05 tháng
3 năm 1990", "5 tháng 3 năm 1990", "ngày 5/3 năm 1990", "5 thg 3, 1990", "ngày 05/03/1990", "tháng 3/1990",
"T3/1990", with or without a weekday in front ("Thứ Hai, 05/03/1990", "Chủ nhật, …", "T2, …").
A year-only date stays a year (never 01/01). Python runs once per distinct text; results are joined back.

Rejected with a reason code (parts null): a lunar date ("05-03-1990 (âm lịch)", "… ÂL": ``DATE_LUNAR``, never
taken as a solar date), and placeholder dates that software writes for "unknown" (``DATE_SENTINEL``: Excel's day
zero 1899-12-30 and "1900-01-00", 1899-12-31, 1900-01-01, 0000-00-00, 0001-01-01, 1753-01-01, 9999-12-31; the
list is ``DEFAULT_SENTINELS``, configurable per call, and 1900-01-01 is on it *(unconfirmed)*: no source says no
real birth is recorded that day). A weekday that disagrees with the date keeps the date and notes
``DATE_WEEKDAY_MISMATCH`` (an ``info`` code: ``issue`` is then set although the parts are known).
"""

from __future__ import annotations

import calendar
import re
import unicodedata
from collections.abc import Collection
from datetime import date, timedelta
from typing import NamedTuple

import polars as pl

__all__ = [
    "DEFAULT_SENTINELS",
    "MIN_YEAR",
    "NOTE_CODES",
    "ParsedDate",
    "parse_date",
    "parse_dates",
    "to_day_dates",
]

MIN_YEAR = 1890
EXCEL_EPOCH = date(1899, 12, 30)  # 1900 date system, Lotus leap-year bug included
EXCEL_MIN_SERIAL = 10_000  # 1927-05-18: shorter numbers are years, not serials
# (year, month, day) as written, 0 = a zero written in that place
DEFAULT_SENTINELS: frozenset[tuple[int, int, int]] = frozenset(
    {
        (1899, 12, 30),  # Excel serial 0 in the 1900 system (what an empty date cell becomes)
        (1899, 12, 31),  # serial 0 shown by Lotus-compatible software
        (1900, 1, 0),  # Excel's own display of serial 0
        (1900, 1, 1),  # serial 1, the usual "unknown" default (unconfirmed as never real)
        (0, 0, 0),
        (1, 1, 1),  # .NET / Java DateTime.MinValue
        (1753, 1, 1),  # SQL Server datetime minimum
        (9999, 12, 31),  # "open end" in most databases
    }
)
NOTE_CODES = frozenset({"DATE_WEEKDAY_MISMATCH"})  # issues that keep the parsed parts


class ParsedDate(NamedTuple):
    year: int | None
    month: int | None
    day: int | None
    precision: str | None  # "D", "M", "Y" or None
    issue: str | None  # reason code or None; parts are null unless the code is in NOTE_CODES


_EMPTY = ParsedDate(None, None, None, None, None)
_TIME = r"(?:[ Tt]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:\s*[AaPp][Mm])?(?:[Zz]|[+-]\d{2}:?\d{2})?)?"
_DMY_RE = re.compile(r"(\d{1,2})\s*[/.\-]\s*(\d{1,2})\s*[/.\-]\s*(\d{4}|\d{2})" + _TIME)
_YMD_RE = re.compile(r"(\d{4})[/.\-](\d{1,2})[/.\-](\d{1,2})" + _TIME)
_MY_RE = re.compile(r"(\d{1,2})\s*[/.\-]\s*(\d{4})")
_YM_RE = re.compile(r"(\d{4})[/.\-](\d{1,2})")
_SERIAL_RE = re.compile(r"(\d{5})(?:[.,]\d+)?")  # a fraction is the time of day
_ZERO_RE = re.compile(r"0+(?:[.,]0+)?")  # Excel serial 0

# text forms, matched on the plain (no diacritics, lower case) text
_LUNAR_RE = re.compile(r"\(?\s*(?:am\s*lich|a\.?\s*l\.?)\s*\)?")
_SOLAR_RE = re.compile(r"\(?\s*(?:duong\s*lich|d\.?\s*l\.?)\s*\)?")
_WEEKDAY_RE = re.compile(
    r"(?:thu\s*(hai|ba|tu|nam|sau|bay|[2-7])|(chu\s*nhat|c\.?\s*n))\b\s*[,.:\-]?\s*"
    r"|t\.?\s*([2-7])\s*(?:[,:]\s*|\s+)"  # "T2, 05/03/1990"; "T3/1990" is a month (see _text_date)
)
_WEEKDAY = {"hai": 0, "ba": 1, "tu": 2, "nam": 3, "sau": 4, "bay": 5} | {str(i): i - 2 for i in range(2, 8)}
_LABELS = {"ngay": "D", "mung": "D", "thang": "M", "thg": "M", "th": "M", "t": "M", "nam": "Y"}
_FILLER = frozenset({"sinh", "vao"})  # "sinh ngày …", "sinh năm 1950", "vào ngày …"
_TEXT_OK_RE = re.compile(r"[0-9a-z\s,./\-]*")
_TOKEN_RE = re.compile(r"\d+|[a-z]+")


def _plain(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text.lower()).replace("đ", "d")
    return " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).split())


def _check(
    y: int, m: int | None, d: int | None, today: date, sentinels: Collection[tuple[int, int, int]]
) -> ParsedDate:
    """Validate parts (None: not written; 0: written as zero, meaning unknown) and give the precision kept.
    A placeholder needs all three parts written ("01/1900" is January 1900, "00/01/1900" is Excel's day zero)."""
    if m is not None and d is not None and (y, m, d) in sentinels:
        return ParsedDate(None, None, None, None, "DATE_SENTINEL")
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


def _numeric_date(s: str, today: date, sentinels: Collection[tuple[int, int, int]]) -> ParsedDate | None:
    """The all-digit forms (separators, ISO, yyyymmdd, serials); None when ``s`` is none of them."""
    if m := _DMY_RE.fullmatch(s):
        d, mo, y = int(m.group(1)), int(m.group(2)), m.group(3)
        year = _year2(int(y), today) if len(y) == 2 else int(y)
        return _check(year, mo, d, today, sentinels)
    if m := _YMD_RE.fullmatch(s):
        return _check(int(m.group(1)), int(m.group(2)), int(m.group(3)), today, sentinels)
    if m := _MY_RE.fullmatch(s):
        return _check(int(m.group(2)), int(m.group(1)), None, today, sentinels)
    if m := _YM_RE.fullmatch(s):
        return _check(int(m.group(1)), int(m.group(2)), None, today, sentinels)
    if s.isdigit() and len(s) == 4:
        return _check(int(s), None, None, today, sentinels)
    if s.isdigit() and len(s) == 8:
        y, mo, d = int(s[:4]), int(s[4:6]), int(s[6:])
        if not MIN_YEAR <= y <= today.year and MIN_YEAR <= int(s[4:]) <= today.year:  # ddmmyyyy
            y, mo, d = int(s[4:]), int(s[2:4]), int(s[:2])
        return _check(y, mo, d, today, sentinels)
    if m := _SERIAL_RE.fullmatch(s):
        n = int(m.group(1))
        if n < EXCEL_MIN_SERIAL:
            return ParsedDate(None, None, None, None, "DATE_UNPARSEABLE")
        day = EXCEL_EPOCH + timedelta(days=n)
        return _check(day.year, day.month, day.day, today, sentinels)
    if _ZERO_RE.fullmatch(s) and (1899, 12, 30) in sentinels:
        return ParsedDate(None, None, None, None, "DATE_SENTINEL")
    return None


def _text_date(p: str, today: date, sentinels: Collection[tuple[int, int, int]]) -> ParsedDate | None:
    """Plain text with words: numbers in day, month, year order, each optionally after its word (ngày / tháng,
    thg, th, T / năm). "5 tháng 3 năm 1990", "ngày 5/3 năm 1990", "5 thg 3, 1990", "T3/1990". None if not so."""
    if not _TEXT_OK_RE.fullmatch(p):
        return None
    numbers: list[tuple[str, str | None]] = []
    label: str | None = None
    for tok in _TOKEN_RE.findall(p):
        if tok.isdigit():
            numbers.append((tok, label))
            label = None
        elif tok in _LABELS and label is None:
            label = _LABELS[tok]
        elif tok in _FILLER and not numbers and label is None:
            continue
        else:
            return None
    if label is not None or not 1 <= len(numbers) <= 3:
        return None
    slots = ("D", "M", "Y")[3 - len(numbers) :]
    parts: dict[str, int] = {}
    for (tok, lab), slot in zip(numbers, slots, strict=True):
        if lab not in (None, slot):
            return None
        if slot == "Y":
            if len(tok) not in (2, 4):
                return None
            parts[slot] = _year2(int(tok), today) if len(tok) == 2 else int(tok)
        elif len(tok) > 2:
            return None
        else:
            parts[slot] = int(tok)
    return _check(parts["Y"], parts.get("M"), parts.get("D"), today, sentinels)


def _words_date(p: str, today: date, sentinels: Collection[tuple[int, int, int]]) -> ParsedDate | None:
    if p.startswith(("ngay ", "sinh ngay ")):
        numeric = _numeric_date(p.split("ngay ", 1)[1], today, sentinels)
        if numeric is not None and numeric.precision in ("D", None):  # "ngày 5/1990" is not a day
            return numeric
    else:
        numeric = _numeric_date(p, today, sentinels)
        if numeric is not None:
            return numeric
    return _text_date(p, today, sentinels)


def parse_date(
    text: str | None,
    today: date | None = None,
    sentinels: Collection[tuple[int, int, int]] = DEFAULT_SENTINELS,
) -> ParsedDate:
    """One date text → (year, month, day, precision, issue). Empty → all None; unreadable → DATE_UNPARSEABLE.

    ``sentinels``: (year, month, day) placeholders to reject, 0 for a written zero (default DEFAULT_SENTINELS)."""
    if text is None:
        return _EMPTY
    today = today or date.today()
    s = str(text).strip()
    if not s:
        return _EMPTY
    if (parsed := _numeric_date(s, today, sentinels)) is not None:
        return parsed
    p = _plain(s)
    lunar = False
    if m := _LUNAR_RE.search(p):
        lunar = True
        p = (p[: m.start()] + " " + p[m.end() :]).strip(" ,-")
    elif m := _SOLAR_RE.search(p):
        p = (p[: m.start()] + " " + p[m.end() :]).strip(" ,-")
    parsed = None
    weekday = None
    if m := _WEEKDAY_RE.match(p):
        # a weekday only counts before a full day; "T3/1990" and "T3 1990" are months
        candidate = _words_date(p[m.end() :], today, sentinels)
        if candidate is not None and candidate.precision == "D":
            parsed = candidate
            word = m.group(1) or m.group(3)
            weekday = 6 if m.group(2) else _WEEKDAY[word]
    if parsed is None:
        parsed = _words_date(p, today, sentinels)
    if parsed is None:
        return ParsedDate(None, None, None, None, "DATE_UNPARSEABLE")
    if lunar and parsed.precision is not None:
        return ParsedDate(None, None, None, None, "DATE_LUNAR")
    if weekday is not None and date(parsed.year, parsed.month, parsed.day).weekday() != weekday:  # type: ignore[arg-type]
        return parsed._replace(issue="DATE_WEEKDAY_MISMATCH")
    return parsed


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
