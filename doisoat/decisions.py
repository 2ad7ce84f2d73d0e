"""Steward decisions read back from reviewed worklists into DuckDB, where the next run's matcher applies them.

A worklist row carries ``Mã đối chiếu`` (``<run_id>/<rid>``, no personal data). With it the run's results in DuckDB
give the candidate person and the record's identity fingerprint (``identity_fp``: what the record says about who the
person is). The decision is stored against (identity, person), so it holds for every record that says the same, in
later runs too, whatever its file or row:

- ``Đúng người`` / ``Same person`` → ``confirm``: the record is linked to that person (pass ``steward``);
- ``Không phải`` / ``Not the person`` → ``reject``: that person is never proposed for the record again;
- ``Cần xác minh`` / ``To verify`` and empty cells → nothing stored.

The latest decision on an (identity, person) pair wins.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import duckdb
import polars as pl

from doisoat.report.worklists import COLUMNS, DECISIONS
from doisoat.textfmt import fmt_int, vn_date

log = logging.getLogger(__name__)

CODES = {
    DECISIONS["vi"][0]: "confirm",
    DECISIONS["en"][0]: "confirm",
    DECISIONS["vi"][1]: "reject",
    DECISIONS["en"][1]: "reject",
}
_HEADER = {key: (vi, en) for key, vi, en in COLUMNS}
_KEYS = ("ref_key", "decision", "note")
HEADER_SCAN_ROWS = 10


@dataclass
class ImportSummary:
    """What one import did; ``messages`` are Vietnamese lines for people (no personal data)."""

    confirmed: int = 0
    rejected: int = 0
    skipped: int = 0  # decisions that could not be used (see messages)
    undecided: int = 0  # "Cần xác minh" / empty
    messages: list[str] = field(default_factory=list)

    def text(self) -> str:
        head = (
            f"Đã nhập {fmt_int(self.confirmed + self.rejected)} quyết định: {fmt_int(self.confirmed)} xác nhận "
            f"đúng người, {fmt_int(self.rejected)} loại trừ; {fmt_int(self.undecided)} dòng chưa quyết định"
            + (f", {fmt_int(self.skipped)} dòng không dùng được." if self.skipped else ".")
        )
        return "\n".join([head, *self.messages])


def read_worklist(path: Path) -> pl.DataFrame:
    """``ref_key, decision, note, sheet, row`` of every row of every worklist sheet of an XLSX file."""
    from openpyxl import load_workbook

    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # a damaged or foreign file is the user's to fix, with a clear message
        raise ValueError(f"Không đọc được tệp {path.name}: không phải danh sách xử lý dạng Excel.") from exc
    rows = []
    try:
        for ws in wb.worksheets:
            idx: dict[str, int | None] = {}
            for n, row in enumerate(ws.iter_rows(values_only=True), start=1):
                if not idx:
                    # the header row: the first of the top rows naming both columns (rows copied below a title
                    # into another workbook keep working)
                    if n > HEADER_SCAN_ROWS:
                        break
                    header = [str(c).strip() if c is not None else "" for c in row]
                    found = {
                        k: next((i for i, h in enumerate(header) if h in _HEADER[k]), None) for k in _KEYS
                    }
                    if found["ref_key"] is not None and found["decision"] is not None:
                        idx = found
                    continue
                rows.append({k: _cell(row, i) for k, i in idx.items()} | {"sheet": ws.title, "row": n})
            # a sheet without both columns is a summary sheet or a worklist older than the reference key: skipped
    finally:
        wb.close()
    schema = {"ref_key": pl.Utf8, "decision": pl.Utf8, "note": pl.Utf8, "sheet": pl.Utf8, "row": pl.Int64}
    return pl.DataFrame(rows, schema=schema)


def _cell(row: tuple, i: int | None) -> str | None:
    v = row[i] if i is not None and i < len(row) else None
    return str(v).strip() if v is not None and str(v).strip() else None


def import_worklists(con: duckdb.DuckDBPyConnection, paths: list[Path]) -> ImportSummary:
    """Store the decisions of reviewed worklists (XLSX); one bad file is reported and the others go on."""
    summary = ImportSummary()
    now = datetime.now()
    tables = {row[0] for row in con.execute("select table_name from duckdb_tables()").fetchall()}
    if "results" not in tables:
        summary.messages.append("Chưa có lần đối soát nào trong cơ sở dữ liệu này: hãy chạy đối soát trước.")
        return summary
    # results written by an older version lack the fingerprint: their rows cannot be resolved, and say so
    con.execute("alter table results add column if not exists identity_fp varchar")
    for path in paths:
        path = Path(path)
        try:
            rows = read_worklist(path)
        except FileNotFoundError:
            summary.messages.append(f"Không tìm thấy tệp {path.name}.")
            continue
        except ValueError as exc:
            summary.messages.append(str(exc))
            continue
        if rows.is_empty():
            summary.messages.append(
                f"Tệp {path.name} không có cột 'Mã đối chiếu' và 'Quyết định' của danh sách xử lý: bỏ qua."
            )
            continue
        decided = rows.filter(pl.col("decision").is_not_null())
        summary.undecided += rows.height - decided.height
        code = pl.col("decision").replace_strict(CODES, default=None, return_dtype=pl.Utf8)
        decided = decided.with_columns(code.alias("code"))
        unknown = decided.filter(pl.col("code").is_null())
        # "Cần xác minh" (to verify) is a decision not to decide yet: counted, not stored
        later = pl.col("decision").is_in([DECISIONS["vi"][2], DECISIONS["en"][2]])
        summary.undecided += unknown.filter(later).height
        bad = unknown.filter(~later)
        if bad.height:
            summary.skipped += bad.height
            first = bad.row(0, named=True)
            summary.messages.append(
                f"Tệp {path.name}: {fmt_int(bad.height)} dòng có quyết định không thuộc danh mục (ví dụ trang "
                f"'{first['sheet']}', dòng {first['row']}): hãy chọn trong danh sách thả xuống."
            )
        decided = decided.filter(pl.col("code").is_not_null())
        _store(con, path, decided, now, summary)
    return summary


def _store(
    con: duckdb.DuckDBPyConnection, path: Path, decided: pl.DataFrame, now: datetime, summary: ImportSummary
) -> None:
    """Resolve each decided row through the run's results and insert it into ``steward_decisions``."""
    if decided.is_empty():
        return
    parts = pl.col("ref_key").str.split_exact("/", 1)
    keyed = decided.with_columns(
        parts.struct.field("field_0").alias("run_id"),
        parts.struct.field("field_1").cast(pl.Int64, strict=False).alias("rid"),
    )
    con.register("_imported", keyed)
    try:
        found = con.sql(
            """select i.*, r.sector, r.record_id, r.source_file, r.source_row, r.person_id, r.identity_fp
               from _imported i left join results r on r.run_id = i.run_id and r.rid = i.rid"""
        ).pl()
    finally:
        con.unregister("_imported")
    usable = found.filter(pl.col("person_id").is_not_null() & pl.col("identity_fp").is_not_null())
    lost = found.height - usable.height
    if lost:
        summary.skipped += lost
        first = found.filter(pl.col("person_id").is_null() | pl.col("identity_fp").is_null()).row(
            0, named=True
        )
        summary.messages.append(
            f"Tệp {path.name}: {fmt_int(lost)} dòng không có người đối chiếu trong lần chạy đã ghi (ví dụ trang "
            f"'{first['sheet']}', dòng {first['row']}): bản ghi không tìm thấy trong CSDLQG thì không thể xác "
            "nhận; hoặc mã đối chiếu đã bị sửa."
        )
    if usable.is_empty():
        return
    out = usable.select(
        "sector",
        "record_id",
        "source_file",
        "source_row",
        "person_id",
        pl.col("code").alias("decision"),
        "note",
        pl.lit(now).alias("decided_at"),
        "run_id",
        "identity_fp",
    )
    con.register("_decisions", out)
    try:
        con.execute("insert into steward_decisions by name select * from _decisions")
    finally:
        con.unregister("_decisions")
    summary.confirmed += out.filter(pl.col("decision") == "confirm").height
    summary.rejected += out.filter(pl.col("decision") == "reject").height
    log.info("steward decisions stored: file=%s n=%d", path.name, out.height)


def summarize(con: duckdb.DuckDBPyConnection) -> str:
    """Decisions stored so far, by day imported and kind (counts only), in Vietnamese."""
    rows = con.execute(
        """select cast(decided_at as date) as day, count(*) filter (where decision = 'confirm'),
                  count(*) filter (where decision = 'reject'), count(distinct identity_fp)
           from steward_decisions where identity_fp is not null group by day order by day"""
    ).fetchall()
    if not rows:
        return "Chưa có quyết định nào của cán bộ rà soát."
    lines = ["Quyết định của cán bộ rà soát (lần đối soát sau áp dụng quyết định mới nhất cho mỗi cặp):"]
    for day, confirmed, rejected, identities in rows:
        lines.append(
            f"  {vn_date(day)}: {fmt_int(confirmed)} xác nhận đúng người, {fmt_int(rejected)} loại trừ "
            f"({fmt_int(identities)} bản ghi khác nhau)"
        )
    return "\n".join(lines)
