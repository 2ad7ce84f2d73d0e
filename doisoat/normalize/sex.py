"""Sex as sectors write it: Nam/Nữ in any case or without diacritics, M/F, male/female, Trai/Gái, 1/0."""

from __future__ import annotations

import polars as pl

__all__ = ["SEX_WORDS", "sex_columns"]

SEX_WORDS: dict[str, str] = {
    "nam": "M",
    "m": "M",
    "male": "M",
    "trai": "M",
    "con trai": "M",
    "đàn ông": "M",
    "dan ong": "M",
    "nữ": "F",
    "nu": "F",
    "f": "F",
    "female": "F",
    "gái": "F",
    "gai": "F",
    "con gái": "F",
    "con gai": "F",
}


def sex_columns(sex: pl.Expr, one_means: str = "M") -> list[pl.Expr]:
    """``sex_std`` (M/F/null) and ``_sex_issues`` (``SEX_UNKNOWN`` for a value not recognised).

    Numeric codes differ between agencies *(unconfirmed)*: by default 1 = Nam and 0 = Nữ; pass ``one_means="F"``
    for an extract coded 1 = Nữ (0 then means Nam)."""
    other = "F" if one_means == "M" else "M"
    words = {**SEX_WORDS, "1": one_means, "0": other, "1.0": one_means, "0.0": other}
    s = sex.cast(pl.Utf8).str.normalize("NFC").str.strip_chars().str.strip_chars(".").str.to_lowercase()
    s = pl.when(s == "").then(None).otherwise(s)
    std = s.replace_strict(words, default=None, return_dtype=pl.Utf8)
    issues = pl.when(s.is_not_null() & std.is_null()).then(pl.lit("SEX_UNKNOWN"))
    return [std.alias("sex_std"), issues.alias("_sex_issues")]
