"""Phone numbers: +84 / 84 / 0 forms, separators, and the 2018 move of mobiles from 11 to 10 digits (DOMAIN §3)."""

from __future__ import annotations

import polars as pl

from doisoat.normalize._issues import join_codes

__all__ = ["RENUMBERED_2018", "phone_frame"]

# old 11-digit mobile prefix → new 10-digit prefix (Bộ TT&TT, 2018)
RENUMBERED_2018: dict[str, str] = {
    "0162": "032",
    "0163": "033",
    "0164": "034",
    "0165": "035",
    "0166": "036",
    "0167": "037",
    "0168": "038",
    "0169": "039",
    "0120": "070",
    "0121": "079",
    "0122": "077",
    "0126": "076",
    "0128": "078",
    "0123": "083",
    "0124": "084",
    "0125": "085",
    "0127": "081",
    "0129": "082",
    "0186": "056",
    "0188": "058",
    "0199": "059",
}


def phone_frame(phone: pl.Series) -> pl.DataFrame:
    """One row per input: ``phone_std`` and ``_phone_issues``.

    Valid: 10-digit mobiles 03/05/07/08/09x and 11-digit landlines 02xx (area codes since 2017). An 11-digit
    mobile with a 2018 prefix is renumbered (``PHONE_RENUMBERED``, info); a 9-digit mobile gets its lost 0 back.
    Few full-column passes: one regex to keep digits, then lengths and literal prefixes."""
    s = phone.cast(pl.Utf8).str.strip_chars().replace("", None)
    f = pl.DataFrame({"s": s}).with_columns(
        pl.col("s").str.strip_suffix(".0").str.replace_all(r"[^\d]", "").alias("d")
    )
    f = f.with_columns(pl.col("d").str.strip_prefix("00").alias("d"))  # 0084… (from +84 or 0084)
    f = f.with_columns(pl.col("d").str.len_bytes().alias("n"))
    d, n = pl.col("d"), pl.col("n")
    f = f.with_columns(
        pl.when(d.str.starts_with("84") & n.is_in([11, 12]))
        .then(pl.lit("0") + d.str.slice(2))
        .when((n == 9) & d.str.slice(0, 1).is_in(["3", "5", "7", "8", "9"]))
        .then(pl.lit("0") + d)
        .when((n == 10) & d.str.slice(0, 1).is_in(["1", "2"]))
        .then(pl.lit("0") + d)
        .otherwise(d)
        .alias("d")
    ).with_columns(pl.col("d").str.len_bytes().alias("n"))
    f = f.with_columns(
        ((n == 11) & d.str.slice(0, 4).is_in(list(RENUMBERED_2018))).alias("renumber"),
        (
            (n == 10) & d.str.slice(0, 2).is_in(["03", "05", "07", "08", "09"])
            | (n == 11) & d.str.starts_with("02")
        ).alias("valid"),
    )
    new = d.str.slice(0, 4).replace_strict(RENUMBERED_2018, default=None, return_dtype=pl.Utf8) + d.str.slice(
        4
    )
    f = f.with_columns(pl.when(pl.col("renumber")).then(new).when(pl.col("valid")).then(d).alias("phone_std"))
    return f.select(
        "phone_std",
        join_codes(
            pl.when(pl.col("renumber")).then(pl.lit("PHONE_RENUMBERED")),
            pl.when(pl.col("s").is_not_null() & pl.col("phone_std").is_null()).then(pl.lit("PHONE_FORMAT")),
        ).alias("_phone_issues"),
    )
