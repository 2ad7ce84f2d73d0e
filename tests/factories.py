"""Test records typed by the project's own schemas, never re-typed by hand in each test module.

``typed(...)`` gives the types of named columns: lineage columns as ingest makes them, canonical fields as text,
standardised columns as ``normalize.standardize.STANDARD_SCHEMA`` says and result columns as
``vocabulary.RESULT_SCHEMA`` says. Use it for ``schema`` / ``schema_overrides`` of in-line frames.
"""

from __future__ import annotations

import polars as pl

from doisoat.normalize.standardize import STANDARD_SCHEMA
from doisoat.vocabulary import RESULT_SCHEMA
from schemas import CANONICAL_FIELDS

KNOWN_TYPES: dict[str, pl.DataType] = {
    **dict.fromkeys(CANONICAL_FIELDS, pl.Utf8()),
    **RESULT_SCHEMA,
    **STANDARD_SCHEMA,
    "death_date": pl.Date(),
    "is_dead": pl.Boolean(),
}


def typed(*columns: str) -> dict[str, pl.DataType]:
    """The project's type of each named column (a column it does not know is an error: name it in the test)."""
    return {c: KNOWN_TYPES[c] for c in columns}
