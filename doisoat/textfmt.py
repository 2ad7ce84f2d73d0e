"""Formatting for people: Vietnamese numbers and rates, masked IDs, safe spreadsheet cells."""

from __future__ import annotations

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


FORMULA_START = "=+-@\t\r"


def safe_cell_expr(e: pl.Expr) -> pl.Expr:
    """Vectorised :func:`safe_cell` for polars text columns."""
    return e.str.replace(r"^([=+\-@\t\r])", "'$1")


def safe_cell(value: object) -> object:
    """Neutralise spreadsheet formulas: text starting with = + - @ gets a leading apostrophe."""
    if isinstance(value, str) and value[:1] and value[0] in FORMULA_START:
        return "'" + value
    return value
