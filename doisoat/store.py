"""The DuckDB system of record: run history, per-run aggregates, results, seen extract files, steward decisions.

One writer at a time (DuckDB locks the file): the pipeline opens one connection and hands it to each step.
"""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path

import duckdb
import polars as pl

SCHEMA = """
create table if not exists runs (
    run_id varchar primary key, started_at timestamp, finished_at timestamp, published boolean,
    gate_passed boolean, out_dir varchar, n_input bigint, manifest json);
create table if not exists run_aggregates (
    run_id varchar, sector varchar, unit varchar, n bigint, n_dung bigint, n_du bigint, n_sach bigint,
    n_song bigint);
create table if not exists extract_files (
    sha256 varchar, sector varchar, file_name varchar, n_rows bigint, run_id varchar, seen_at timestamp);
create table if not exists steward_decisions (
    sector varchar, record_id varchar, source_file varchar, source_row bigint, person_id varchar,
    decision varchar, note varchar, decided_at timestamp, run_id varchar);
alter table steward_decisions add column if not exists identity_fp varchar;
-- the finding a data-quality decision answers (doisoat.decisions): the row's status and actionable reason codes
alter table steward_decisions add column if not exists status varchar;
alter table steward_decisions add column if not exists reasons varchar[];
create table if not exists run_sectors (run_id varchar, sector varchar, published boolean);
create table if not exists audit_samples (
    run_id varchar, sector varchar, rid bigint, person_id varchar, identity_fp varchar);
-- incremental nights (doisoat.incremental): the hash of every row each sector's last run read, where that run's
-- standardised rows and links are cached, and which models it froze from
create table if not exists extract_rows (sector varchar, row_hash ubigint, occurrence bigint, run_id varchar);
create table if not exists incremental_sectors (
    sector varchar, run_id varchar, frozen_from varchar, models_dir varchar, fingerprint varchar,
    reference_sha varchar, decisions_upto timestamp, state_file varchar, recorded_at timestamp);
create table if not exists incremental_reference_meta (sha256 varchar);
-- runs recorded before sectors were published one by one: every sector of a run shared its verdict
insert into run_sectors
    select distinct a.run_id, a.sector, r.published from run_aggregates a join runs r using (run_id)
    where a.run_id not in (select run_id from run_sectors);
"""

# the newest published run of each sector
_LAST_PUBLISHED = """
    select s.sector, arg_max(s.run_id, r.finished_at) as run_id, max(r.finished_at) as finished_at
    from run_sectors s join runs r using (run_id) where s.published group by s.sector
"""


def duckdb_config(db_path: Path) -> dict[str, str]:
    """Bound DuckDB's memory (its default is 80 % of RAM, which starves polars beside it) and let it spill.

    ``DOISOAT_DUCKDB_MEMORY`` overrides the limit (e.g. ``8GB``); the default is a sixth of physical memory: the
    blocking joins spill to disk beyond it instead of holding memory the polars steps need next.
    """
    limit = os.environ.get("DOISOAT_DUCKDB_MEMORY")
    if not limit:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        limit = f"{max(1, total // 6 // 2**30)}GB"
    return {"memory_limit": limit, "temp_directory": str(db_path.parent / "duckdb_tmp")}


def connect(db_path: Path, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open (and create) the database; the schema is applied on every writable open.

    The file holds the whole reference population: it and its folder are owner-only. A database another
    process holds open for writing is a message, not DuckDB's lock traceback.
    """
    from doisoat.errors import UserError

    if not db_path.parent.exists():
        db_path.parent.mkdir(parents=True, mode=0o700)
    try:
        con = duckdb.connect(str(db_path), read_only=read_only, config=duckdb_config(db_path))
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            raise UserError(
                f"Cơ sở dữ liệu '{db_path}' đang được một tiến trình doisoat khác mở để ghi; chờ tiến trình đó "
                "kết thúc rồi chạy lại. / the database is in use by another process."
            ) from None
        raise UserError(f"Không mở được cơ sở dữ liệu '{db_path}': {exc}") from None
    if not read_only:
        for p in (db_path, db_path.with_name(db_path.name + ".wal")):
            if p.exists():
                p.chmod(0o600)
        con.execute(SCHEMA)
    return con


def run_record(con: duckdb.DuckDBPyConnection, run_id: str) -> tuple[bool, bool] | None:
    """``(published, is the newest published run)`` of a recorded run, or None when it was never recorded."""
    row = con.execute("select published from runs where run_id = ?", [run_id]).fetchall()
    if not row:
        return None
    newest = con.execute(
        "select run_id from runs where published order by finished_at desc limit 1"
    ).fetchall()
    return bool(row[0][0]), bool(newest) and newest[0][0] == run_id


def _add_missing_columns(con: duckdb.DuckDBPyConnection, table: str, source: str) -> None:
    """Columns a newer version adds to ``source`` are added to ``table`` (older runs keep nulls there)."""
    have = {r[0] for r in con.execute(f"select column_name from (describe {table})").fetchall()}
    for name, dtype in con.execute(f"select column_name, column_type from (describe {source})").fetchall():
        if name not in have:
            con.execute(f'alter table {table} add column "{name}" {dtype}')


def query(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> pl.DataFrame:
    """A parameterised query as a polars frame (DuckDB 2.0's execute() result has no ``.pl()``)."""
    return con.sql(sql, params=params or None).pl()


def seen_hashes(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """SHA-256 of every extract file ingested before → the run that first saw it."""
    rows = con.execute("select sha256, min(run_id) from extract_files group by sha256").fetchall()
    return {sha: run for sha, run in rows}


def record_files(con: duckdb.DuckDBPyConnection, run_id: str, files: list[dict]) -> None:
    now = datetime.now()
    for f in files:
        con.execute(
            "insert into extract_files values (?, ?, ?, ?, ?, ?)",
            [f["sha256"], f["sector"], f["file_name"], f["n_rows"], run_id, now],
        )


def previous_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Rows of each sector's extract in its most recent published run (for the row-count expectation)."""
    rows = con.execute(
        f"""select f.sector, sum(f.n_rows) from extract_files f
            join ({_LAST_PUBLISHED}) p on f.sector = p.sector and f.run_id = p.run_id
            group by f.sector"""
    ).fetchall()
    return {s: int(n) for s, n in rows}


def previous_aggregates(con: duckdb.DuckDBPyConnection) -> pl.DataFrame | None:
    """Each sector's aggregates from its last published run, or None when no sector was ever published."""
    out = query(
        con,
        f"""select a.* from run_aggregates a
            join ({_LAST_PUBLISHED}) p on a.sector = p.sector and a.run_id = p.run_id""",
    )
    return out if out.height else None


def published_history(con: duckdb.DuckDBPyConnection) -> list[dict]:
    """Sector-wide counts of every earlier published run of each sector, oldest first (the report's trend)."""
    rows = query(
        con,
        """select a.run_id, r.started_at, a.sector, a.n, a.n_dung
           from run_aggregates a join runs r using (run_id)
           join run_sectors s on s.run_id = a.run_id and s.sector = a.sector
           where s.published and a.unit = '__all__' order by r.started_at, a.sector""",
    )
    return rows.to_dicts()


def last_published(con: duckdb.DuckDBPyConnection, sector: str) -> dict | None:
    """The run whose figures of ``sector`` are in force: its id, finish time and folder (None if never)."""
    rows = con.execute(
        f"""select p.run_id, p.finished_at, r.out_dir from ({_LAST_PUBLISHED}) p join runs r using (run_id)
            where p.sector = ?""",
        [sector],
    ).fetchall()
    if not rows:
        return None
    run_id, finished, out_dir = rows[0]
    return {"run_id": run_id, "finished_at": finished.isoformat(timespec="seconds"), "out_dir": out_dir}


def record_run(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    started_at: datetime,
    published: bool,
    gate_passed: bool,
    out_dir: Path,
    manifest: dict,
    aggregates: pl.DataFrame,
    results: pl.DataFrame,
    sectors_published: dict[str, bool] | None = None,
    audit_sample: pl.DataFrame | None = None,
) -> None:
    """Write one run's history in a single transaction (each sector's publication, the audit sample drawn)."""
    con.execute("begin")
    try:
        con.execute(
            "insert or replace into runs values (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                run_id,
                started_at,
                datetime.now(),
                published,
                gate_passed,
                str(out_dir),
                results.height,
                json.dumps(manifest, ensure_ascii=False, default=str),
            ],
        )
        agg = aggregates.with_columns(pl.lit(run_id).alias("run_id")).select(
            "run_id", "sector", "unit", "n", "n_dung", "n_du", "n_sach", "n_song"
        )
        con.register("new_aggregates", agg)
        con.register("new_results", results)
        con.execute("insert into run_aggregates select * from new_aggregates")
        con.execute("delete from run_sectors where run_id = ?", [run_id])
        for sector, flag in (sectors_published or {}).items():
            con.execute("insert into run_sectors values (?, ?, ?)", [run_id, sector, flag])
        con.execute("delete from audit_samples where run_id = ?", [run_id])
        if audit_sample is not None and audit_sample.height:
            con.register(
                "new_audit",
                audit_sample.select(
                    pl.lit(run_id).alias("run_id"), "sector", "rid", "person_id", "identity_fp"
                ),
            )
            con.execute("insert into audit_samples select * from new_audit")
            con.unregister("new_audit")
        con.execute("create table if not exists results as select * from new_results limit 0")
        _add_missing_columns(con, "results", "new_results")
        con.execute("delete from results where run_id = ?", [run_id])
        con.execute("insert into results by name select * from new_results")
        con.unregister("new_aggregates")
        con.unregister("new_results")
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
