"""Phone numbers: +84 / 84 / 0 forms, separators, and the 2018 move of mobiles from 11 to 10 digits (DOMAIN §3)."""

from __future__ import annotations

import polars as pl

__all__ = ["RENUMBERED_2018", "phone_columns"]

# old 11-digit mobile prefix → new 10-digit prefix (Bộ TT&TT, 2018)
RENUMBERED_2018: dict[str, str] = {
    "0162": "032", "0163": "033", "0164": "034", "0165": "035", "0166": "036", "0167": "037", "0168": "038",
    "0169": "039", "0120": "070", "0121": "079", "0122": "077", "0126": "076", "0128": "078", "0123": "083",
    "0124": "084", "0125": "085", "0127": "081", "0129": "082", "0186": "056", "0188": "058", "0199": "059",
}


def phone_columns(phone: pl.Expr) -> list[pl.Expr]:
    """``phone_std`` and ``_phone_issues`` from a raw phone column.

    Valid: 10-digit mobiles 03/05/07/08/09x and 11-digit landlines 02xx (area codes since 2017). An 11-digit
    mobile with a 2018 prefix is renumbered (``PHONE_RENUMBERED``, info); a 9-digit mobile gets its lost 0 back."""
    s = phone.cast(pl.Utf8).str.strip_chars()
    s = pl.when(s == "").then(None).otherwise(s)
    d = s.str.replace(r"\.0$", "").str.replace_all(r"[\s\u00a0.\-()/]", "")
    d = d.str.replace(r"^\+", "00").str.replace(r"^0084", "84")
    d = pl.when(d.str.contains(r"^84\d{9,10}$")).then(pl.lit("0") + d.str.slice(2)).otherwise(d)
    d = pl.when(d.str.contains(r"^[35789]\d{8}$") | d.str.contains(r"^1\d{9}$") | d.str.contains(r"^2\d{9}$")) \
        .then(pl.lit("0") + d).otherwise(d)
    old_prefix = d.str.slice(0, 4)
    renumber = d.str.contains(r"^01\d{9}$") & old_prefix.is_in(list(RENUMBERED_2018))
    new = old_prefix.replace_strict(RENUMBERED_2018, default=None, return_dtype=pl.Utf8) + d.str.slice(4)
    valid = d.str.contains(r"^0[35789]\d{8}$") | d.str.contains(r"^02\d{9}$")
    std = pl.when(renumber).then(new).when(valid).then(d)
    issues = pl.concat_list(
        pl.when(renumber).then(pl.lit("PHONE_RENUMBERED")),
        pl.when(s.is_not_null() & std.is_null()).then(pl.lit("PHONE_FORMAT")),
    ).list.drop_nulls()
    return [std.alias("phone_std"), issues.alias("_phone_issues")]
