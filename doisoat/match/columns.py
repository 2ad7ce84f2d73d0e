"""The standardised columns matching reads, and the derived blocking keys both sides share.

Records and reference persons go through the same :func:`prepare_sql`, so a key means the same on both sides.
"""

from __future__ import annotations

import duckdb
import polars as pl

from doisoat.normalize.standardize import standard_types

# Standardised-record columns that blocking and comparisons read; their types are the standardised schema's.
STD_COLUMNS: dict[str, pl.DataType] = standard_types(
    "name_key",
    "name_plain",
    "name_variant",
    "surname_plain",
    "middle_plain",
    "given_plain",
    "birth_year",
    "birth_month",
    "birth_day",
    "birth_precision",
    "sex_std",
    "national_id_std",
    "old_id_std",
    "phone_std",
    "commune_code_std",
    "commune_code_old",
)

# Derived key columns, as DuckDB expressions over the standardised columns.
DERIVED_SQL: dict[str, str] = {
    "id_left6": "substr(national_id_std, 1, 6)",
    "id_right6": "substr(national_id_std, 7, 6)",
    "nv_first": "string_split(name_variant, ' ')[1]",
    "nv_last": "string_split(name_variant, ' ')[-1]",
    "nv_words": "len(string_split(name_variant, ' '))::TINYINT",
    # the name with its syllables run together: "Thu Hà" and "ThuHà" (or "Thu  Hà") meet here
    "nv_nospace": "replace(name_variant, ' ', '')",
    # an unknown day and month written 01/01 (DOMAIN §8): agrees with any day of that year at its own weight
    "birth_placeholder": "coalesce(birth_precision = 'D' AND birth_month = 1 AND birth_day = 1, false)",
}


# What a record says about who the person is: a steward's decision on a record applies to every record that says
# the same (the same person written the same way), in this run and later ones, whichever sector or file it is in.
IDENTITY_COLUMNS = (
    "name_key",
    "birth_year",
    "birth_month",
    "birth_day",
    "sex_std",
    "national_id_std",
    "old_id_std",
    "phone_std",
)


def identity_fp_sql() -> str:
    """DuckDB expression: 16 hex digits of the MD5 of :data:`IDENTITY_COLUMNS` (stable across versions)."""
    parts = ", ".join(f"coalesce(CAST({c} AS VARCHAR), '')" for c in IDENTITY_COLUMNS)
    return f"substr(md5(concat_ws('|', {parts})), 1, 16)"


def conform(df: pl.DataFrame, keep: tuple[str, ...] = ()) -> pl.DataFrame:
    """The matching columns of a standardised frame, cast to their contract types; absent ones become null."""
    exprs = [pl.col(c) for c in keep]
    for col, dtype in STD_COLUMNS.items():
        exprs.append((pl.col(col) if col in df.columns else pl.lit(None)).cast(dtype).alias(col))
    return df.select(exprs)


def prepare_sql(source: str) -> str:
    """SELECT adding the derived key columns to every row of ``source`` (a table or registered frame)."""
    derived = ", ".join(f"{expr} AS {name}" for name, expr in DERIVED_SQL.items())
    return f"SELECT *, {derived} FROM {source}"


def register_records(con: duckdb.DuckDBPyConnection, records_std: pl.DataFrame) -> None:
    """Copy the matching columns of the records into temp table ``_m_rec`` with the derived keys.

    Also: ``sector`` ("_" when the frame has none), ``id_other_holder``, true when the record's ID belongs to a
    reference person whose name and birth date both disagree with the record's (a relative's ID, DOMAIN §8), and
    ``id_known``, whether any reference person holds the record's ID (null without an ID).
    """
    keep = ("rid", "sector") if "sector" in records_std.columns else ("rid",)
    rec = conform(records_std, keep=keep).with_columns(pl.col("rid").cast(pl.Int64))
    rec = rec.with_columns(
        (pl.col("sector").cast(pl.Utf8) if "sector" in rec.columns else pl.lit(None, pl.Utf8))
        .fill_null(NO_SECTOR)
        .alias("sector")
    )
    if rec["rid"].is_duplicated().any():
        raise ValueError("records_std.rid must be unique")
    con.register("_m_rec_src", rec)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _m_rec AS WITH s AS ({prepare_sql('_m_rec_src')}),"
        f" holder AS (SELECT s.rid FROM s JOIN reference_person p ON p.person_id = s.national_id_std"
        f"  WHERE {OTHER_HOLDER_SQL})"
        f" SELECT s.*, {identity_fp_sql()} AS identity_fp, s.rid IN (SELECT rid FROM holder) AS id_other_holder,"
        f" s.national_id_std IN (SELECT person_id FROM reference_person) AS id_known"
        f" FROM s"
    )
    con.unregister("_m_rec_src")


NO_SECTOR = "_"
# the person holding the record's ID is someone else: another given name (a parent, a child and a spouse often
# share surname and middle name, so the full names can look close; short given names one letter apart are other
# names), and another birth date (even allowing a year one off, a swapped day and month, an unknown day and month)
# or the other sex (a spouse born the same year)
OTHER_HOLDER_SQL = (
    # given names differ: not equal, and not one typo apart unless short (An/Anh, Hoa/Hoài are other names)
    "s.nv_last IS DISTINCT FROM p.nv_last"
    " AND NOT (least(length(s.nv_last), length(p.nv_last)) >= 4 AND damerau_levenshtein(s.nv_last, p.nv_last) <= 1)"
    " AND s.nv_nospace IS DISTINCT FROM p.nv_nospace"
    " AND (coalesce(s.sex_std <> p.sex_std, false)"
    " OR NOT coalesce(abs(s.birth_year - p.birth_year) <= 1 AND (s.birth_month IS NULL OR p.birth_month IS NULL"
    " OR s.birth_placeholder OR p.birth_placeholder"
    " OR (s.birth_month = p.birth_month AND coalesce(s.birth_day = p.birth_day, true))"
    " OR (s.birth_month = p.birth_day AND s.birth_day = p.birth_month)), false))"
)
