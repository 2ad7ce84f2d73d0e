"""Formatting for people: Vietnamese numbers, rates and dates, masked IDs, safe spreadsheet cells."""

from __future__ import annotations

import re
from datetime import date, datetime

import polars as pl


def fmt_int(n: int | None, lang: str = "vi") -> str:
    """1376946 → '1.376.946' (vi) or '1,376,946' (en)."""
    if n is None:
        return ""
    text = f"{int(n):,}"
    return text.replace(",", ".") if lang == "vi" else text


def fmt_pct(num: float | None, den: float | None = None, digits: int = 2, lang: str = "vi") -> str:
    """Rate as '97,27%' (vi) / '97.27%' (en). With one argument it is already a fraction (0.9727)."""
    if num is None or (den is not None and not den):
        return ""
    value = 100.0 * (num / den if den is not None else num)
    text = f"{value:.{digits}f}%"
    return text.replace(".", ",") if lang == "vi" else text


def fmt_ratio(num: int, den: int, lang: str = "vi") -> str:
    """'1.376.946/1.415.557, đạt 97,27%' — the figure the task force pastes."""
    word = "đạt" if lang == "vi" else "i.e."
    return f"{fmt_int(num, lang)}/{fmt_int(den, lang)}, {word} {fmt_pct(num, den, lang=lang)}"


def mask_id(value: str | None) -> str:
    """'049090001234' → '********1234'. Never shows the first digits (province, sex, birth year)."""
    if not value:
        return ""
    digits = str(value)
    return "*" * 8 + digits[-4:] if len(digits) > 4 else "*" * 8


def mask_id_expr(col: str | pl.Expr) -> pl.Expr:
    """Vectorised :func:`mask_id` for polars."""
    e = pl.col(col) if isinstance(col, str) else col
    masked = (
        pl.when(e.is_null() | (e == "")).then(pl.lit("")).otherwise(pl.lit("********") + e.str.slice(-4, 4))
    )
    return masked.alias(col) if isinstance(col, str) else masked


# What Excel, LibreOffice and Google Sheets read as the start of a formula when a cell is typed, pasted or
# opened from CSV: = + - @ (and their full-width forms, which an IME types), possibly after leading
# whitespace, or a leading TAB / CR (OWASP, "CSV injection"). One pattern for the cell function and the
# polars expression; the whitespace class is spelled out so Python's re and polars' regex read it alike.
_SPACE = "\t\n\x0b\x0c\r \x1c-\x1f\x85\xa0\u1680\u2000-\u200b\u2028\u2029\u202f\u205f\u3000\ufeff"
FORMULA_START = "=+@\uff1d\uff0b\uff0d\uff20-"  # "-" last: a literal in a character class
FORMULA_PATTERN = f"^(?:[{_SPACE}]*[{FORMULA_START}]|[\t\r])"
# left as they are: a plain signed number ('-12', '-1.234,5', '+84912345678' reads as a number, never a
# formula) and a lone '-' (the usual "nothing" mark of Vietnamese spreadsheets)
PLAIN_NUMBER = "[+-]?[0-9][0-9.,]*|-"
_FORMULA = re.compile(FORMULA_PATTERN)
_PLAIN_NUMBER = re.compile(f"(?:{PLAIN_NUMBER})")  # fullmatch: `$` would also pass "-5\n"


def safe_cell_expr(e: pl.Expr) -> pl.Expr:
    """Formula-safe text for a spreadsheet, over a whole polars text column: see :func:`safe_cell`."""
    risky = e.str.contains(FORMULA_PATTERN) & ~e.str.contains(f"^(?:{PLAIN_NUMBER})$")
    return pl.when(risky).then(e.str.replace("^", "'")).otherwise(e)


def safe_cell(value: object) -> object:
    """Neutralise a spreadsheet formula: text that would start one gets a leading apostrophe.

    '=HYPERLINK(…)' → "'=HYPERLINK(…)", ' @SUM(1)' → "' @SUM(1)", '\tx' → "'\tx"; '-12' and other
    plain numbers, '-', other text and non-text values are returned as they are. Idempotent. Only for what
    is written to XLSX or CSV: the stored results keep the values as read.
    """
    if isinstance(value, str) and _FORMULA.match(value) and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


def safe_frame(df: pl.DataFrame) -> pl.DataFrame:
    """``df`` as it may go to a CSV or XLSX file: every text cell and every header formula-safe.

    Categorical and enum columns are written as text, so they are made safe as text too. A header made
    safe never takes the name of another column (it gets a number).
    """
    texts = {c: t for c, t in df.schema.items() if t == pl.Utf8 or isinstance(t, (pl.Categorical, pl.Enum))}
    out = df.with_columns(safe_cell_expr(pl.col(c).cast(pl.Utf8)) for c in texts)
    names: list[str] = []
    for c in df.columns:
        name = safe_cell(c)
        if name != c:
            base, n = name, 2
            while name in names or name in df.columns:
                name, n = f"{base} ({n})", n + 1
        names.append(name)
    return out.rename(dict(zip(df.columns, names, strict=True)))


# ---------------------------------------------------------------- dates

MONTHS_EN = "January February March April May June July August September October November December".split()


def date_in_words(day: date, place: str = "", lang: str = "vi") -> str:
    """'Đà Nẵng, ngày 04 tháng 12 năm 2026' (a day below 10 and a month below 3 take a leading 0, NĐ 30/2020)."""
    if lang == "vi":
        d = f"{day.day:02d}" if day.day < 10 else str(day.day)
        m = f"{day.month:02d}" if day.month < 3 else str(day.month)
        text = f"ngày {d} tháng {m} năm {day.year}"
    else:
        text = f"{day.day} {MONTHS_EN[day.month - 1]} {day.year}"
    return f"{place}, {text}" if place else text


def vn_date(day: date | None) -> str:
    """04/12/2026 (the short form used inside tables)."""
    return day.strftime("%d/%m/%Y") if day else ""


def vn_datetime(moment: datetime | None, lang: str = "vi", seconds: bool = False) -> str:
    """'08:30 ngày 04/12/2026' / '08:30, 04/12/2026' ('08:30:15 ngày 04/12/2026' with ``seconds``)."""
    if moment is None:
        return ""
    clock = "%H:%M:%S" if seconds else "%H:%M"
    return moment.strftime(f"{clock} ngày %d/%m/%Y" if lang == "vi" else f"{clock}, %d/%m/%Y")
