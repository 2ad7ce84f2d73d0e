"""The reference population (CSDLQG extract) in DuckDB: standardised persons, blocking keys, term frequencies.

Loading a newer extract changes only what changed: persons are upserted by ``person_id`` on a hash of their row,
people absent from the new extract are deleted, and the counts are reported. The source file's SHA-256 is
recorded so an unchanged extract is not loaded twice (:func:`reference_is_current`).
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass

import duckdb
import polars as pl

from doisoat.match.columns import STD_COLUMNS, prepare_sql

log = logging.getLogger(__name__)

TABLE = "reference_person"
META = "reference_meta"
# lineage of the extract's rows: meaningless for the person, and would make every reload look like a change
_LINEAGE = ("rid", "sector", "record_id", "source_file", "source_sheet", "source_row", "file_sha256")
TF_TABLES = {
    "tf_surname": "surname_key",
    "tf_given": "given_key",
    "tf_name": "name_key",
    "tf_name_year": "name_key || '|' || birth_year::VARCHAR",
}


@dataclass(frozen=True)
class ReferenceStats:
    source_sha256: str
    total: int
    inserted: int
    updated: int
    deleted: int
    unchanged: int
    dropped_no_id: int  # rows without a person ID cannot be reference persons
    dropped_duplicate_id: int  # second and later rows of an ID (first in source order kept)

    def to_dict(self) -> dict:
        return asdict(self)


def _parse_date(col: str) -> pl.Expr:
    """A death date that may arrive as Date, ISO text or dd/mm/yyyy text."""
    text = pl.col(col).cast(pl.Utf8).str.strip_chars()
    return pl.coalesce(
        text.str.to_date("%Y-%m-%d", strict=False),
        text.str.to_date("%d/%m/%Y", strict=False),
        text.str.slice(0, 10).str.to_date("%Y-%m-%d", strict=False),
    )


def prepare_reference(ref_std: pl.DataFrame) -> tuple[pl.DataFrame, int, int]:
    """person_id, death_date, is_dead and the contract columns; rows without an ID or repeating one dropped."""
    df = ref_std
    for col, dtype in STD_COLUMNS.items():
        if col not in df.columns:
            df = df.with_columns(pl.lit(None, dtype=dtype).alias(col))
    pid = pl.col("person_id").cast(pl.Utf8) if "person_id" in df.columns else pl.lit(None, dtype=pl.Utf8)
    df = df.with_columns(pl.coalesce(pid, pl.col("national_id_std")).alias("person_id"))
    if "death_date" in df.columns:
        death = pl.col("death_date") if df.schema["death_date"] == pl.Date else _parse_date("death_date")
    elif "death_date_std" in df.columns:
        death = pl.col("death_date_std").cast(pl.Date)
    else:
        death = pl.lit(None, dtype=pl.Date)
    df = df.with_columns(death.alias("death_date"))
    dead = pl.col("is_dead").cast(pl.Boolean) if "is_dead" in df.columns else pl.lit(None, dtype=pl.Boolean)
    df = df.with_columns(pl.coalesce(dead, pl.col("death_date").is_not_null()).alias("is_dead"))
    n0 = df.height
    df = df.filter(pl.col("person_id").is_not_null())
    no_id = n0 - df.height
    order = [c for c in ("source_row",) if c in df.columns]
    df = df.with_row_index("_ord").sort(["person_id", *order, "_ord"]).unique("person_id", keep="first")
    dup = n0 - no_id - df.height
    keep = [c for c in df.columns if c not in _LINEAGE and c != "_ord"]
    front = ["person_id"] + [c for c in keep if c != "person_id"]
    return df.select(front).sort("person_id"), no_id, dup


def has_table(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    q = "SELECT count(*) FROM duckdb_tables() WHERE table_name = ? AND NOT temporary"
    return bool(con.execute(q, [name]).fetchall()[0][0])


def _columns(con: duckdb.DuckDBPyConnection, name: str, temp: bool = False) -> list[tuple[str, str]]:
    return con.execute(
        "SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = ?"
        " AND (database_name = 'temp') = ? ORDER BY column_index",
        [name, temp],
    ).fetchall()


def load_reference(
    con: duckdb.DuckDBPyConnection, ref_std: pl.DataFrame, source_sha256: str
) -> ReferenceStats:
    """Write ``reference_person`` (+ keys and tf tables), upserting by person_id on a row hash; record the hash."""
    df, no_id, dup = prepare_reference(ref_std)
    con.register("_ref_src", df)
    data_cols = [c for c in df.columns]
    hashed = ", ".join(f"coalesce(CAST({_q(c)} AS VARCHAR), '\\N')" for c in data_cols)
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE _ref_new AS SELECT *, md5(concat_ws(chr(31), {hashed})) AS row_hash"
            f" FROM ({prepare_sql('_ref_src')})"
        )
        con.unregister("_ref_src")
        compatible = has_table(con, TABLE) and _columns(con, TABLE) == _columns(con, "_ref_new", temp=True)
        if compatible:
            counts = con.execute(
                f"SELECT count(*) FILTER (WHERE o.person_id IS NULL),"
                f" count(*) FILTER (WHERE n.person_id IS NOT NULL AND o.person_id IS NOT NULL"
                f"   AND n.row_hash <> o.row_hash),"
                f" count(*) FILTER (WHERE n.person_id IS NULL),"
                f" count(*) FILTER (WHERE n.row_hash = o.row_hash)"
                f" FROM _ref_new n FULL OUTER JOIN {TABLE} o USING (person_id)"
            ).fetchall()[0]
            inserted, updated, deleted, unchanged = (int(x) for x in counts)
            con.execute(
                f"DELETE FROM {TABLE} WHERE person_id NOT IN (SELECT person_id FROM _ref_new)"
                f" OR person_id IN (SELECT n.person_id FROM _ref_new n JOIN {TABLE} o USING (person_id)"
                f"   WHERE n.row_hash <> o.row_hash)"
            )
            con.execute(
                f"INSERT INTO {TABLE} SELECT * FROM _ref_new WHERE person_id NOT IN (SELECT person_id FROM {TABLE})"
            )
        else:
            deleted = (
                con.execute(f"SELECT count(*) FROM {TABLE}").fetchall()[0][0] if has_table(con, TABLE) else 0
            )
            con.execute(f"CREATE OR REPLACE TABLE {TABLE} AS SELECT * FROM _ref_new ORDER BY person_id")
            inserted, updated, unchanged = df.height, 0, 0
        con.execute("DROP TABLE _ref_new")
        _term_frequencies(con)
        con.execute(
            f"CREATE TABLE IF NOT EXISTS {META} (loaded_seq INTEGER, source_sha256 VARCHAR, loaded_at TIMESTAMP,"
            " total BIGINT, inserted BIGINT, updated BIGINT, deleted BIGINT, unchanged BIGINT)"
        )
        con.execute(
            f"INSERT INTO {META} SELECT coalesce(max(loaded_seq), 0) + 1, ?, current_timestamp, ?, ?, ?, ?, ?"
            f" FROM {META}",
            [source_sha256, df.height, inserted, updated, deleted, unchanged],
        )
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    stats = ReferenceStats(source_sha256, df.height, inserted, updated, deleted, unchanged, no_id, dup)
    log.info("reference loaded: %s", {k: v for k, v in stats.to_dict().items() if k != "source_sha256"})
    return stats


def _q(col: str) -> str:
    return '"' + col.replace('"', '""') + '"'


def _term_frequencies(con: duckdb.DuckDBPyConnection) -> None:
    """tf tables (value, count, frequency): how common a surname, given name, full name, name+year is."""
    cols = {c for c, _ in _columns(con, TABLE)}
    for table, expr in TF_TABLES.items():
        needed = [c for c in ("surname_key", "given_key", "name_key", "birth_year") if c in expr]
        if not all(c in cols for c in needed):
            expr = "NULL::VARCHAR"
        con.execute(
            f"CREATE OR REPLACE TABLE {table} AS SELECT value, count(*) AS count,"
            f" count(*) / sum(count(*)) OVER () AS frequency"
            f" FROM (SELECT {expr} AS value FROM {TABLE}) WHERE value IS NOT NULL GROUP BY value ORDER BY value"
        )


def has_reference(con: duckdb.DuckDBPyConnection) -> bool:
    """True when a reference population has been loaded into this DuckDB file."""
    return has_table(con, TABLE)


def reference_is_current(con: duckdb.DuckDBPyConnection, sha256: str) -> bool:
    """True when the last extract loaded had this SHA-256 (and the table is still there)."""
    if not (has_table(con, META) and has_table(con, TABLE)):
        return False
    row = con.execute(f"SELECT source_sha256 FROM {META} ORDER BY loaded_seq DESC LIMIT 1").fetchall()
    return bool(row) and row[0][0] == sha256
