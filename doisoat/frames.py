"""Small helpers over polars frames shared by the core modules."""

from __future__ import annotations

from typing import TypeVar

import polars as pl

F = TypeVar("F", pl.DataFrame, pl.LazyFrame)


def ensure_columns(df: F, cols: dict[str, pl.DataType]) -> F:
    """Add each missing column as typed nulls, so optional inputs can be read without branching."""
    have = set(df.collect_schema().names())
    add = [pl.lit(None, dtype=t).alias(c) for c, t in cols.items() if c not in have]
    return df.with_columns(add) if add else df
