"""Small helpers over polars frames shared by the core modules."""

from __future__ import annotations

import polars as pl


def ensure_columns(df: pl.DataFrame, cols: dict[str, pl.DataType]) -> pl.DataFrame:
    """Add each missing column as typed nulls, so optional inputs can be read without branching."""
    add = [pl.lit(None, dtype=t).alias(c) for c, t in cols.items() if c not in df.columns]
    return df.with_columns(add) if add else df
