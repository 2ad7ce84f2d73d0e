"""Tiny standardised records for the matching tests, built without the normaliser (its contract only)."""

from __future__ import annotations

import duckdb
import polars as pl
from unidecode import unidecode

from doisoat.reference import load_reference


def _variant(plain: str) -> str:
    words = [{"huynh": "hoang", "vo": "vu"}.get(w, w).replace("y", "i") for w in plain.split()]
    return " ".join(words)


def person(pid: str | None, name: str, dob: str, sex: str | None = None, **extra) -> dict:
    """One standardised row: dob 'YYYY-MM-DD', 'YYYY-MM' or 'YYYY'; pid is the 12-digit ID (or None)."""
    key = name.lower()
    plain = unidecode(key)
    words = key.split()
    pwords = plain.split()
    parts = dob.split("-")
    prec = {1: "Y", 2: "M", 3: "D"}[len(parts)]
    row = {
        "name_key": key,
        "name_plain": plain,
        "name_variant": _variant(plain),
        "surname_key": words[0],
        "middle_key": " ".join(words[1:-1]),
        "given_key": words[-1],
        "surname_plain": pwords[0],
        "middle_plain": " ".join(pwords[1:-1]),
        "given_plain": pwords[-1],
        "birth_year": int(parts[0]),
        "birth_month": int(parts[1]) if len(parts) > 1 else None,
        "birth_day": int(parts[2]) if len(parts) > 2 else None,
        "birth_precision": prec,
        "sex_std": sex,
        "national_id_std": pid,
        "old_id_std": None,
        "phone_std": None,
        "commune_code_std": None,
        "commune_code_old": None,
    }
    row.update(extra)
    return row


SCHEMA = {
    "birth_year": pl.Int16,
    "birth_month": pl.Int8,
    "birth_day": pl.Int8,
}


def frame(rows: list[dict], rid: bool = False) -> pl.DataFrame:
    df = pl.DataFrame(rows, infer_schema_length=None).with_columns(
        [pl.col(c).cast(t) for c, t in SCHEMA.items()]
    )
    for col in (
        "old_id_std",
        "phone_std",
        "commune_code_std",
        "commune_code_old",
        "sex_std",
        "national_id_std",
    ):
        df = df.with_columns(pl.col(col).cast(pl.Utf8))
    if rid:
        df = df.with_columns(
            pl.int_range(1, df.height + 1, dtype=pl.Int64).alias("rid"), pl.lit("x").alias("sector")
        )
    return df


def reference_db(rows: list[dict]) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    load_reference(con, frame(rows), "sha-test")
    return con


def test_person_helper_builds_contract_columns():
    row = person("049090001234", "Huỳnh Thị Mỹ", "1990-05")
    assert (row["name_variant"], row["birth_precision"], row["birth_day"]) == ("hoang thi mi", "M", None)
