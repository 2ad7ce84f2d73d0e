"""Reason codes between the normalisers and ``standardize``: one comma-joined Utf8 column per source.

Lists are built once, at the end: in polars 2.1 ``concat_list`` over a million rows costs seconds, joining strings
and splitting once costs a fraction of that."""

from __future__ import annotations

import polars as pl


def join_codes(*codes: pl.Expr) -> pl.Expr:
    """Codes (each a Utf8 expression, null when not raised) → 'A,B' or null."""
    joined = pl.concat_str(list(codes), separator=",", ignore_nulls=True)
    return pl.when(joined == "").then(None).otherwise(joined)


def codes_to_list(joined: pl.Expr) -> pl.Expr:
    """'A,B,A' / null → ['A', 'B'] / [] (List[Utf8], first occurrence order)."""
    return (
        pl.when(joined.is_null() | (joined == ""))
        .then(pl.lit([], dtype=pl.List(pl.Utf8)))
        .otherwise(joined.str.split(",").list.unique(maintain_order=True))
    )
