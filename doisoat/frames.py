"""Small helpers over polars frames shared by the core modules."""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

import polars as pl

F = TypeVar("F", pl.DataFrame, pl.LazyFrame)


def ensure_columns(df: F, cols: dict[str, pl.DataType]) -> F:
    """Add each missing column as typed nulls, so optional inputs can be read without branching."""
    have = set(df.collect_schema().names())
    add = [pl.lit(None, dtype=t).alias(c) for c, t in cols.items() if c not in have]
    return df.with_columns(add) if add else df


def read_columns(path: Path, wanted) -> pl.DataFrame:
    """The ``wanted`` columns a spilled frame (Parquet) has, in the order wanted."""
    have = pl.read_parquet_schema(path)
    return pl.read_parquet(path, columns=[c for c in dict.fromkeys(wanted) if c in have])
