"""Dates as Vietnamese extracts write them (DOMAIN §5), parsed with their precision kept.

Day first (dd/mm/yyyy, d/m/yy, dd.mm.yyyy, dd-mm-yyyy), ISO (with or without a time), yyyymmdd, BHXH yyyy0000 and
yyyymm00, "00/00/1950", "1950", "03/1990", Excel serials (1900 system), and text as clerks type it: "ngày 05 tháng
3 năm 1990", "5 tháng 3 năm 1990", "ngày 5/3 năm 1990", "5 thg 3, 1990", "ngày 05/03/1990", "tháng 3/1990",
"T3/1990", with or without a weekday in front ("Thứ Hai, 05/03/1990", "Chủ nhật, …", "T2, …").
A year-only date stays a year (never 01/01). Python runs once per distinct text; results are joined back.

A lunar date ("05-03-1990 (âm lịch)", "… ÂL", "ngày 5 tháng 4 nhuận năm 2020 âm lịch") is never taken as a solar
one: a full lunar day is converted to its solar day (``lunar_to_solar``) and noted ``DATE_LUNAR_CONVERTED``; a
lunar month 1–10 keeps its year (noted the same); what cannot be converted is rejected with ``DATE_LUNAR``.
Rejected with a reason code (parts null): placeholder dates that software writes for "unknown" (``DATE_SENTINEL``: Excel's day
zero 1899-12-30 and "1900-01-00", 1899-12-31, 1900-01-01, 0000-00-00, 0001-01-01, 1753-01-01, 9999-12-31; the
list is ``DEFAULT_SENTINELS``, configurable per call, and 1900-01-01 is on it *(unconfirmed)*: no source says no
real birth is recorded that day). A weekday that disagrees with the date keeps the date and notes
``DATE_WEEKDAY_MISMATCH`` (an ``info`` code: ``issue`` is then set although the parts are known).
"""

from __future__ import annotations

import calendar
import math
import re
import unicodedata
from collections.abc import Callable, Collection
from datetime import date, timedelta
from functools import lru_cache
from typing import NamedTuple

import polars as pl

__all__ = [
    "DEFAULT_SENTINELS",
    "MIN_YEAR",
    "lunar_to_solar",
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
NOTE_CODES = frozenset({"DATE_WEEKDAY_MISMATCH", "DATE_LUNAR_CONVERTED"})  # issues that keep the parts


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
_LEAP_RE = re.compile(r"\bnhuan\b")
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


_Check = Callable[[int, int | None, int | None, date, Collection[tuple[int, int, int]]], ParsedDate]


def _lunar_parts(
    y: int, m: int | None, d: int | None, today: date, sentinels: Collection[tuple[int, int, int]]
) -> ParsedDate:
    """Parts of a lunar date, checked only as lunar parts (a lunar month has 29 or 30 days)."""
    m, d = m or None, d or None
    if (d is not None and m is None) or (m is not None and not 1 <= m <= 12) or (d is not None and d > 30):
        return ParsedDate(None, None, None, None, "DATE_INVALID")
    return ParsedDate(y, m, d, "D" if d else "M" if m else "Y", None)


def _year2(yy: int, today: date) -> int:
    """Two-digit year to the most recent year not after today."""
    year = 2000 + yy
    return year if year <= today.year else year - 100


def _numeric_date(
    s: str, today: date, sentinels: Collection[tuple[int, int, int]], check: _Check | None = None
) -> ParsedDate | None:
    """The all-digit forms (separators, ISO, yyyymmdd, serials); None when ``s`` is none of them."""
    if m := _DMY_RE.fullmatch(s):
        d, mo, y = int(m.group(1)), int(m.group(2)), m.group(3)
        year = _year2(int(y), today) if len(y) == 2 else int(y)
        return (check or _check)(year, mo, d, today, sentinels)
    if m := _YMD_RE.fullmatch(s):
        return (check or _check)(int(m.group(1)), int(m.group(2)), int(m.group(3)), today, sentinels)
    if m := _MY_RE.fullmatch(s):
        return (check or _check)(int(m.group(2)), int(m.group(1)), None, today, sentinels)
    if m := _YM_RE.fullmatch(s):
        return (check or _check)(int(m.group(1)), int(m.group(2)), None, today, sentinels)
    if s.isdigit() and len(s) == 4:
        return (check or _check)(int(s), None, None, today, sentinels)
    if s.isdigit() and len(s) == 8:
        y, mo, d = int(s[:4]), int(s[4:6]), int(s[6:])
        if not MIN_YEAR <= y <= today.year and MIN_YEAR <= int(s[4:]) <= today.year:  # ddmmyyyy
            y, mo, d = int(s[4:]), int(s[2:4]), int(s[:2])
        return (check or _check)(y, mo, d, today, sentinels)
    if m := _SERIAL_RE.fullmatch(s):
        n = int(m.group(1))
        if n < EXCEL_MIN_SERIAL:
            return ParsedDate(None, None, None, None, "DATE_UNPARSEABLE")
        day = EXCEL_EPOCH + timedelta(days=n)
        return (check or _check)(day.year, day.month, day.day, today, sentinels)
    if _ZERO_RE.fullmatch(s) and (1899, 12, 30) in sentinels:
        return ParsedDate(None, None, None, None, "DATE_SENTINEL")
    return None


def _text_date(
    p: str, today: date, sentinels: Collection[tuple[int, int, int]], check: _Check | None = None
) -> ParsedDate | None:
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
    return (check or _check)(parts["Y"], parts.get("M"), parts.get("D"), today, sentinels)


def _words_date(
    p: str, today: date, sentinels: Collection[tuple[int, int, int]], check: _Check | None = None
) -> ParsedDate | None:
    if p.startswith(("ngay ", "sinh ngay ")):
        numeric = _numeric_date(p.split("ngay ", 1)[1], today, sentinels, check)
        if numeric is not None and numeric.precision in ("D", None):  # "ngày 5/1990" is not a day
            return numeric
    else:
        numeric = _numeric_date(p, today, sentinels, check)
        if numeric is not None:
            return numeric
    return _text_date(p, today, sentinels, check)


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
    lunar = leap = False
    if m := _LUNAR_RE.search(p):
        lunar = True
        p = (p[: m.start()] + " " + p[m.end() :]).strip(" ,-")
        if _LEAP_RE.search(p):  # "tháng 4 nhuận": the leap month
            leap = True
            p = " ".join(_LEAP_RE.sub(" ", p).split())
    elif m := _SOLAR_RE.search(p):
        p = (p[: m.start()] + " " + p[m.end() :]).strip(" ,-")
    check = _lunar_parts if lunar else None
    parsed = None
    weekday = None
    if m := _WEEKDAY_RE.match(p):
        # a weekday only counts before a full day; "T3/1990" and "T3 1990" are months
        candidate = _words_date(p[m.end() :], today, sentinels, check)
        if candidate is not None and candidate.precision == "D":
            parsed = candidate
            word = m.group(1) or m.group(3)
            weekday = 6 if m.group(2) else _WEEKDAY[word]
    if parsed is None:
        parsed = _words_date(p, today, sentinels, check)
    if parsed is None:
        return ParsedDate(None, None, None, None, "DATE_UNPARSEABLE")
    if lunar:
        parsed = _from_lunar(parsed, leap, today, sentinels)
    if (
        weekday is not None
        and parsed.precision == "D"
        and date(parsed.year, parsed.month, parsed.day).weekday() != weekday
    ):  # type: ignore[arg-type]
        return parsed._replace(issue="DATE_WEEKDAY_MISMATCH")
    return parsed


def _from_lunar(
    parsed: ParsedDate, leap: bool, today: date, sentinels: Collection[tuple[int, int, int]]
) -> ParsedDate:
    """A lunar date converted to the solar calendar, noted ``DATE_LUNAR_CONVERTED``: a full day converts exactly;
    a lunar month 1–10 lies in the same solar year (month precision would straddle two solar months), so it keeps
    the year; a lunar year alone, months 11–12 (often in the next solar year) and impossible lunar days give
    ``DATE_LUNAR`` with null parts."""
    if parsed.precision is None:
        return parsed
    if parsed.precision == "D":
        solar = lunar_to_solar(parsed.day, parsed.month, parsed.year, leap)  # type: ignore[arg-type]
        if solar is None:
            return ParsedDate(None, None, None, None, "DATE_LUNAR")
        checked = _check(solar.year, solar.month, solar.day, today, sentinels)
        return checked._replace(issue="DATE_LUNAR_CONVERTED") if checked.issue is None else checked
    if parsed.precision == "M" and parsed.month <= 10 and not leap:  # type: ignore[operator]
        checked = _check(parsed.year, None, None, today, sentinels)  # type: ignore[arg-type]
        return checked._replace(issue="DATE_LUNAR_CONVERTED") if checked.issue is None else checked
    return ParsedDate(None, None, None, None, "DATE_LUNAR")


# ── the Vietnamese lunar calendar (Hồ Ngọc Đức's algorithm: mean new moons and solar terms after Meeus,
#    computed for UTC+7, the time zone Vietnam's calendar has used since 1968) ─────────────────────────────────
_TZ = 7.0
_SYNODIC = 29.530588853


def _new_moon(k: int) -> float:
    """Julian day of the k-th new moon after 1900-01-01 (Meeus, "Astronomical Algorithms", ch. 47, truncated)."""
    t = k / 1236.85
    t2, t3 = t * t, t * t * t
    dr = math.pi / 180
    jd1 = 2415020.75933 + 29.53058868 * k + 0.0001178 * t2 - 0.000000155 * t3
    jd1 += 0.00033 * math.sin((166.56 + 132.87 * t - 0.009173 * t2) * dr)
    m = 359.2242 + 29.10535608 * k - 0.0000333 * t2 - 0.00000347 * t3
    mpr = 306.0253 + 385.81691806 * k + 0.0107306 * t2 + 0.00001236 * t3
    f = 21.2964 + 390.67050646 * k - 0.0016528 * t2 - 0.00000239 * t3
    c1 = (0.1734 - 0.000393 * t) * math.sin(m * dr) + 0.0021 * math.sin(2 * dr * m)
    c1 += -0.4068 * math.sin(mpr * dr) + 0.0161 * math.sin(dr * 2 * mpr) - 0.0004 * math.sin(dr * 3 * mpr)
    c1 += 0.0104 * math.sin(dr * 2 * f) - 0.0051 * math.sin(dr * (m + mpr))
    c1 += -0.0074 * math.sin(dr * (m - mpr)) + 0.0004 * math.sin(dr * (2 * f + m))
    c1 += -0.0004 * math.sin(dr * (2 * f - m)) - 0.0006 * math.sin(dr * (2 * f + mpr))
    c1 += 0.0010 * math.sin(dr * (2 * f - mpr)) + 0.0005 * math.sin(dr * (2 * mpr + m))
    if t < -11:
        deltat = 0.001 + 0.000839 * t + 0.0002261 * t2 - 0.00000845 * t3 - 0.000000081 * t * t3
    else:
        deltat = -0.000278 + 0.000265 * t + 0.000262 * t2
    return jd1 + c1 - deltat


def _sun_longitude(jdn: float) -> float:
    """The sun's apparent longitude (radians, 0–2π) at a Julian day."""
    t = (jdn - 2451545.0) / 36525
    t2 = t * t
    dr = math.pi / 180
    m = 357.52910 + 35999.05030 * t - 0.0001559 * t2 - 0.00000048 * t * t2
    l0 = 280.46645 + 36000.76983 * t + 0.0003032 * t2
    dl = (1.914600 - 0.004817 * t - 0.000014 * t2) * math.sin(dr * m)
    dl += (0.019993 - 0.000101 * t) * math.sin(dr * 2 * m) + 0.000290 * math.sin(dr * 3 * m)
    lon = (l0 + dl) * dr
    return lon - 2 * math.pi * math.floor(lon / (2 * math.pi))


def _new_moon_day(k: int) -> int:
    return math.floor(_new_moon(k) + 0.5 + _TZ / 24)


def _sun_sector(day: int) -> int:
    """Which of the 12 solar-term sectors (0–11) the sun is in at the start of a local day."""
    return math.floor(_sun_longitude(day - 0.5 - _TZ / 24) / math.pi * 6)


def _jdn(d: date) -> int:
    return d.toordinal() + 1_721_425


def _lunar_month11(year: int) -> int:
    """Julian day number of the first day of the 11th lunar month (the one holding the winter solstice)."""
    k = math.floor((_jdn(date(year, 12, 31)) - 2415021) / _SYNODIC)
    nm = _new_moon_day(k)
    return _new_moon_day(k - 1) if _sun_sector(nm) >= 9 else nm


def _leap_month_offset(a11: int) -> int:
    k = math.floor((a11 - 2415021.076998695) / _SYNODIC + 0.5)
    i, arc = 1, _sun_sector(_new_moon_day(k + 1))
    while True:
        last = arc
        i += 1
        arc = _sun_sector(_new_moon_day(k + i))
        if arc == last or i >= 14:
            return i - 1


@lru_cache(maxsize=20_000)
def lunar_to_solar(day: int, month: int, year: int, leap: bool = False) -> date | None:
    """The solar date of a Vietnamese lunar date (``leap``: the leap month of that number), or None when that
    lunar day does not exist (a 30th in a 29-day month, a leap month the year does not have)."""
    if not (1 <= month <= 12 and 1 <= day <= 30 and 1800 <= year <= 2199):
        return None
    a11, b11 = (
        (_lunar_month11(year - 1), _lunar_month11(year))
        if month < 11
        else (
            _lunar_month11(year),
            _lunar_month11(year + 1),
        )
    )
    k = math.floor(0.5 + (a11 - 2415021.076998695) / _SYNODIC)
    off = (month - 11) % 12
    if b11 - a11 > 365:  # a leap year: 13 months between the two 11th months
        leap_off = _leap_month_offset(a11)
        leap_month = (leap_off - 2) % 12
        if leap and month != leap_month:
            return None
        if leap or off >= leap_off:
            off += 1
    elif leap:
        return None
    start = _new_moon_day(k + off)
    if day > _new_moon_day(k + off + 1) - start:
        return None
    return date.fromordinal(start + day - 1 - 1_721_425)


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
