"""pandera (polars) models: the canonical record, and one row-usability model per sector built from its YAML.

The sector model validates raw string values (before any normalisation) and decides which rows cannot be
used at all; its failure cases (``column, check, index``) become the quarantine. Validation always runs the
data checks (``SCHEMA_AND_DATA``): with a LazyFrame or the env default pandera would check only the schema.
"""

from __future__ import annotations

import pandera.polars as pa
import polars as pl
from pandera.config import ValidationDepth, config_context
from pandera.errors import SchemaError, SchemaErrors

from schemas.loader import CANONICAL_FIELDS, DATE_FIELDS, ID_FIELDS, LINEAGE_COLUMNS, SectorSpec

#: helper columns the ingest step adds before validation
CELLS = "__cells"  # number of non-blank cells in the row (all source columns)
EXTRA = "__extra"  # cells beyond the header width, joined; null when none

#: check name → reason code (doisoat/reasons.py); the order is the precedence when a row fails several checks
CHECK_REASONS: dict[str, str] = {
    "no_extra_cells": "RAGGED_ROW",
    "not_empty_row": "EMPTY_ROW",
    "has_name": "NO_NAME",
    "readable": "UNREADABLE_REQUIRED",
    "date_has_digit": "UNREADABLE_REQUIRED",
    "identifies_person": "NO_IDENTIFIER",
}
CHECK_PRIORITY: dict[str, int] = {name: i for i, name in enumerate(CHECK_REASONS)}

_CONTROL = r"[\x00-\x08\x0B\x0C\x0E-\x1F\x7F\x{FFFD}]"


def _digit(col: str) -> pl.Expr:
    return pl.col(col).str.contains(r"\d").fill_null(False)


def _has_name(data) -> pl.LazyFrame:
    return data.lazyframe.select(pl.col("full_name").str.contains(r"\p{L}").fill_null(False))


def _identifies_person(data) -> pl.LazyFrame:
    """Some ID with a digit, or a name with a birth date (the name is checked separately)."""
    return data.lazyframe.select(pl.any_horizontal([_digit(c) for c in (*ID_FIELDS, "birth_date")]))


def _not_empty(data) -> pl.LazyFrame:
    return data.lazyframe.select((pl.col(CELLS) > 0) | pl.col(EXTRA).is_not_null())


def _no_extra(data) -> pl.LazyFrame:
    return data.lazyframe.select(pl.col(EXTRA).is_null())


def _readable(data) -> pl.LazyFrame:
    return data.lazyframe.select(~pl.col(data.key).str.contains(_CONTROL))


def _date_has_digit(data) -> pl.LazyFrame:
    return data.lazyframe.select(pl.col(data.key).str.contains(r"\d"))


def sector_model(spec: SectorSpec) -> pa.DataFrameSchema:
    """Row-usability schema of a sector: every canonical field as nullable text, plus the quarantine checks."""
    columns: dict[str, pa.Column] = {}
    for field in spec.fields:
        checks = []
        if field in spec.required:
            checks.append(pa.Check(_readable, name="readable"))
            if field in DATE_FIELDS:
                checks.append(pa.Check(_date_has_digit, name="date_has_digit"))
        columns[field] = pa.Column(pl.String, nullable=True, checks=checks)
    columns[CELLS] = pa.Column(pl.Int64, nullable=False)
    columns[EXTRA] = pa.Column(pl.String, nullable=True)
    return pa.DataFrameSchema(
        columns,
        checks=[
            pa.Check(_no_extra, name="no_extra_cells"),
            pa.Check(_not_empty, name="not_empty_row"),
            pa.Check(_has_name, name="has_name"),
            pa.Check(_identifies_person, name="identifies_person"),
        ],
        name=f"sector:{spec.name}",
        strict=False,
    )


def canonical_model(spec: SectorSpec | None = None) -> pa.DataFrameSchema:
    """The canonical record contract (docs/architecture.md) with the lineage columns ingest fills."""
    fields = spec.fields if spec is not None else list(CANONICAL_FIELDS)
    columns = {
        c: pa.Column(pl.String, nullable=c == "source_sheet") for c in LINEAGE_COLUMNS if c != "source_row"
    }
    columns["source_row"] = pa.Column(pl.Int64, checks=pa.Check.ge(1), unique=False)
    columns.update({f: pa.Column(pl.String, nullable=True) for f in fields})
    return pa.DataFrameSchema(columns, name="canonical_record", strict=False)


def failure_cases(schema: pa.DataFrameSchema, frame: pl.DataFrame) -> pl.DataFrame:
    """Run every check on the data (not only the schema) and return ``column, check, index`` of failures."""
    empty = pl.DataFrame(schema={"column": pl.String, "check": pl.String, "index": pl.Int64})
    with config_context(validation_depth=ValidationDepth.SCHEMA_AND_DATA):
        try:
            schema.validate(frame, lazy=True)
        except SchemaErrors as exc:
            fc = exc.failure_cases
            return fc.select(
                pl.col("column").cast(pl.String),
                pl.col("check").cast(pl.String),
                pl.col("index").cast(pl.Int64),
            ).filter(pl.col("index").is_not_null())
        except SchemaError as exc:  # pragma: no cover - lazy=True collects, kept for safety
            raise exc
    return empty
