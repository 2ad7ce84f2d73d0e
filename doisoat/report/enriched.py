"""Enriched extracts: each sector's data back in its own columns plus what the population data adds.

Added columns: the matched số định danh, the reference's name and birth date (at its known precision),
the current (post-2025) commune code the record's code resolves to, the four flags, the status and the reason codes. Reference values are filled only for confident matches
(not for records needing review or not found). The file format follows the input (CSV, XLSX or Parquet;
Parquet when a sector came in several formats; CSV plus Parquet for an XLSX source too large for a sheet). Personal data: written owner-only (0600).
CSV and XLSX are opened in a spreadsheet: a text cell or header that would start a formula there (``=``, ``+``,
``-``, ``@``, TAB, CR, also after leading spaces) gets a leading apostrophe (:func:`doisoat.textfmt.safe_frame`);
plain numbers such as ``-12`` stay as they are. Parquet, the results and DuckDB keep the values exactly as read.
"""

from __future__ import annotations

import os
from pathlib import Path

import polars as pl

from doisoat.frames import ensure_columns
from doisoat.normalize.standardize import STANDARD_SCHEMA
from doisoat.report import fastxlsx as fx
from doisoat.report.worklists import REFERENCE_COLUMNS, birth_text
from doisoat.textfmt import fmt_int, safe_frame
from schemas import CANONICAL_FIELDS

_LINEAGE_DROP = {
    "rid",
    "sector",
    "file_sha256",
    "record_id",
    "source_file",
    "source_sheet",
    "source_row",
    "ingest_issues",
}
CANONICAL = CANONICAL_FIELDS
ADDED = (
    "so_dinh_danh_csdlqg",
    "ho_ten_csdlqg",
    "ngay_sinh_csdlqg",
    "ma_xa_hien_hanh",
    "dung",
    "du",
    "sach",
    "song",
    "trang_thai",
    "ma_ly_do",
)
_UNSURE = ["NEEDS_REVIEW", "AMBIGUOUS_MATCH", "NOT_IN_REFERENCE"]


def _added_by_doisoat(column: str) -> bool:
    """Standardised and lineage columns (and any ``*_std``) are doisoat's, not the extract's."""
    return column in STANDARD_SCHEMA or column in _LINEAGE_DROP or column.endswith("_std")


def _format_of(files: list[str]) -> str:
    exts = {Path(f).suffix.lower().lstrip(".") for f in files if f}
    exts = {"xlsx" if e in ("xlsx", "xlsm", "xls") else e for e in exts}
    return exts.pop() if len(exts) == 1 and exts <= {"csv", "xlsx", "parquet"} else "parquet"


def _original_names(sector_map: dict[str, str] | None) -> dict[str, str]:
    """canonical → original header, from a column map given either way round."""
    if not sector_map:
        return {}
    if set(sector_map) & set(CANONICAL):
        return {k: v for k, v in sector_map.items() if k in CANONICAL}
    return {v: k for k, v in sector_map.items() if v in CANONICAL}


def enriched_frame(
    sector: str,
    results: pl.DataFrame,
    records_std: pl.DataFrame | pl.LazyFrame,
    reference: pl.DataFrame,
    column_map: dict[str, str] | None = None,
) -> pl.DataFrame:
    """The sector's rows in source order, its own columns first, then :data:`ADDED`.

    An added column never overwrites one of the extract's own: on a clash it gets a ``_doisoat`` suffix.
    """
    recs = ensure_columns(
        records_std.lazy().filter(pl.col("sector") == sector).collect(),
        {"source_sheet": pl.Utf8, "commune_code_std": pl.Utf8},
    )
    names = _original_names(column_map)
    own = [c for c in recs.columns if not _added_by_doisoat(c)]
    # a canonical field the extract did not have comes back all-null: leave it out unless the map names it
    own = [c for c in own if c not in CANONICAL or c in names or recs[c].null_count() < recs.height]
    ref = (
        ensure_columns(reference, REFERENCE_COLUMNS)
        .select(
            pl.col("person_id").alias("__pid"),
            pl.coalesce("national_id_std", "person_id").alias("__ref_id"),
            pl.coalesce("name_display", "name_key").alias("__ref_name"),
            birth_text().alias("__ref_birth"),
        )
        .unique("__pid", keep="first")
    )
    res = results.filter(pl.col("rid").is_not_null()).select(
        pl.col("rid").alias("__rid"),
        *[
            pl.col(c).alias(f"__{c}")
            for c in ("person_id", "status", "dung", "du", "sach", "song", "reasons")
        ],
    )
    df = (
        recs.select(
            pl.col("rid").alias("__rid"),
            pl.col("commune_code_std").alias("__commune_now"),
            "source_file",
            "source_sheet",
            "source_row",
            *own,
        )
        .join(res, on="__rid", how="left")
        .join(ref, left_on="__person_id", right_on="__pid", how="left")
        .sort(["source_file", "source_sheet", "source_row"], nulls_last=True)
    )
    sure = (
        pl.col("__person_id").is_not_null()
        & ~pl.col("__reasons").fill_null([]).list.eval(pl.element().is_in(_UNSURE)).list.any()
    )
    added = {
        "so_dinh_danh_csdlqg": pl.when(sure).then(pl.col("__ref_id")),
        "ho_ten_csdlqg": pl.when(sure).then(pl.col("__ref_name")),
        "ngay_sinh_csdlqg": pl.when(sure).then(pl.col("__ref_birth")),
        "ma_xa_hien_hanh": pl.col("__commune_now"),
        **{d: pl.col(f"__{d}") for d in ("dung", "du", "sach", "song")},
        "trang_thai": pl.col("__status"),
        "ma_ly_do": pl.col("__reasons").fill_null([]).list.join(","),
    }
    taken = {names.get(c, c) for c in own}
    return df.select(
        *[pl.col(c).alias(names.get(c, c)) for c in own],
        *[e.alias(a if a not in taken else f"{a}_doisoat") for a, e in added.items()],
    )


XLSX_MAX_ROWS = 100_000
NOTES = "ghi-chu.txt"


def _large_note(sector: str, rows: int, limit: int) -> str:
    return (
        f"{sector}: tệp nguồn là XLSX nhưng có {fmt_int(rows)} dòng (quá {fmt_int(limit)} dòng), nên dữ liệu "
        f"bổ sung được trả về dạng CSV (UTF-8 có BOM, mở được bằng Excel) và Parquet: {sector}.csv, "
        f"{sector}.parquet.\n"
    )


def _write_xlsx(path: Path, frame: pl.DataFrame, sheet: str) -> Path:
    """Plain sheet: bold header, frozen, filters; every text cell stays text, formula-safe (fastxlsx)."""
    frame = frame.with_columns(
        pl.col(c).cast(pl.Utf8)
        for c, t in frame.schema.items()
        if not (t == pl.Boolean or t.is_numeric() or t == pl.Utf8)
    )

    def setup(ws, n: int, formats: dict) -> None:
        ws.freeze_panes(1, 0)
        ws.autofilter(0, 0, max(n, 1), max(frame.width - 1, 0))
        ws.set_column(0, max(frame.width - 1, 0), 16)

    return fx.write_workbook(
        path,
        [fx.Sheet(sheet, frame.columns, frame, setup=setup, empty_as_blank=True)],
        {},
        {"bold": True, "bottom": 1},
    )


def write_enriched(
    out_dir: Path,
    results: pl.DataFrame,
    records_std: pl.DataFrame | pl.LazyFrame,
    reference: pl.DataFrame,
    column_maps: dict[str, dict[str, str]] | None = None,
    xlsx_max_rows: int = XLSX_MAX_ROWS,
) -> dict[str, Path]:
    """``enriched/<sector>.<csv|xlsx|parquet>`` for every sector in the records.

    An XLSX source of more than ``xlsx_max_rows`` rows comes back as ``<sector>.csv`` (UTF-8 with BOM) plus
    ``<sector>.parquet`` (key ``enriched:<sector>:parquet``): a sheet holds at most 1.048.576 rows and a
    large one is slow to write and to open. ``ghi-chu.txt`` (key ``enriched_notes``) says so in Vietnamese.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    notes = []
    records = (
        records_std.lazy()
    )  # one sector at a time is read (the records may be a scan of spilled Parquet)
    for sector in sorted(records.select("sector").unique().collect()["sector"].to_list()):
        frame = enriched_frame(sector, results, records, reference, (column_maps or {}).get(sector))
        files = records.filter(pl.col("sector") == sector).select("source_file").unique().collect()
        files = files["source_file"].to_list()
        fmt = _format_of(files)
        if fmt == "xlsx" and frame.height > min(xlsx_max_rows, fx.MAX_ROWS - 1):
            notes.append(_large_note(sector, frame.height, xlsx_max_rows))
            parquet = out_dir / f"{sector}.parquet"
            frame.write_parquet(parquet)
            os.chmod(parquet, 0o600)
            paths[f"enriched:{sector}:parquet"] = parquet
            fmt = "csv"
        path = out_dir / f"{sector}.{fmt}"
        if fmt == "csv":
            safe_frame(frame).write_csv(path, include_bom=True)
        elif fmt == "xlsx":
            _write_xlsx(path, frame, sector[:31])
        else:
            frame.write_parquet(path)
        os.chmod(path, 0o600)
        paths[f"enriched:{sector}"] = path
    if notes:
        path = out_dir / NOTES
        path.write_text("".join(notes), encoding="utf-8")
        os.chmod(path, 0o600)
        paths["enriched_notes"] = path
    return paths
