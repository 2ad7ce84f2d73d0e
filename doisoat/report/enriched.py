"""Enriched extracts: each sector's data back as it sent it, plus what the reconciliation found.

First the sector's own columns under its own headers in its files' order (the column map ingest recorded,
``IngestResult.columns``; never another sector's columns), then the added columns with Vietnamese headers and
values (English with ``lang="en"``): the standardised name (legacy encodings repaired), the matched person's số
định danh, name and birth date (at its known precision) from the population data, the current (post-2025)
commune code, the four flags, the status and the reasons in words. Reference values are filled only for
confident matches (not for records needing review or not found). The file format follows the input (CSV, XLSX
or Parquet; Parquet when a sector came in several formats; CSV plus Parquet for an XLSX source too large for a
sheet). Personal data: written owner-only (0600).
CSV and XLSX are opened in a spreadsheet: a text cell or header that would start a formula there (``=``, ``+``,
``-``, ``@``, TAB, CR, also after leading spaces) gets a leading apostrophe (:func:`doisoat.textfmt.safe_frame`);
plain numbers such as ``-12`` stay as they are. Parquet, the results and DuckDB keep the values exactly as read.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import polars as pl

from doisoat.frames import ensure_columns
from doisoat.normalize.standardize import STANDARD_SCHEMA, standard_types
from doisoat.reasons import REASONS
from doisoat.report import fastxlsx as fx
from doisoat.report.taskforce import LABELS
from doisoat.report.worklists import COLUMNS as WORKLIST_COLUMNS
from doisoat.report.worklists import REFERENCE_COLUMNS, birth_text
from doisoat.textfmt import fmt_int, safe_frame
from doisoat.vocabulary import STATUS_LABELS, field_label

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
_WORKLIST = {key: {"vi": vi, "en": en} for key, vi, en in WORKLIST_COLUMNS}
DIMENSIONS = ("dung", "du", "sach", "song")
#: the added columns in order: key → header per language (the worklists' and the report's words)
ADDED: dict[str, dict[str, str]] = {
    "name_std": {"vi": "Họ tên đã chuẩn hoá", "en": "Name, standardised"},
    "ref_id": _WORKLIST["id_ref"],
    "ref_name": _WORKLIST["name_ref"],
    "ref_birth": _WORKLIST["birth_ref"],
    "commune_now": {lang: field_label("commune_code_std", lang, capital=True) for lang in ("vi", "en")},
    **{d: {lang: LABELS[lang][d] for lang in ("vi", "en")} for d in DIMENSIONS},
    "status": _WORKLIST["status_text"],
    "reasons": {"vi": "Lý do", "en": "Reasons"},
}
YES_NO = {"vi": ("Có", "Không"), "en": ("Yes", "No")}
_UNSURE = ["NEEDS_REVIEW", "AMBIGUOUS_MATCH", "NOT_IN_REFERENCE"]


def _added_by_doisoat(column: str) -> bool:
    """Standardised and lineage columns (and any ``*_std``) are doisoat's, not the extract's."""
    return column in STANDARD_SCHEMA or column in _LINEAGE_DROP or column.endswith("_std")


def _format_of(files: list[str]) -> str:
    exts = {Path(f).suffix.lower().lstrip(".") for f in files if f}
    exts = {"xlsx" if e in ("xlsx", "xlsm", "xls") else e for e in exts}
    return exts.pop() if len(exts) == 1 and exts <= {"csv", "xlsx", "parquet"} else "parquet"


def _reason_words(codes: pl.Expr, lang: str) -> pl.Expr:
    """Reason codes → their messages, joined by "; " (codes without a message stay as they are)."""
    words = {code: (r.vi if lang == "vi" else r.en) for code, r in REASONS.items()}
    return (
        codes.fill_null([])
        .list.eval(pl.element().replace_strict(words, default=pl.element(), return_dtype=pl.Utf8))
        .list.join("; ")
    )


def _unique_headers(names: dict[str, str]) -> dict[str, str]:
    """Two columns under one header (files of a sector that named different columns alike): "X", "X (2)"."""
    seen: dict[str, int] = {}
    out = {}
    for column, header in names.items():
        seen[header] = seen.get(header, 0) + 1
        out[column] = header if seen[header] == 1 else f"{header} ({seen[header]})"
    return out


def enriched_frame(
    sector: str,
    results: pl.DataFrame,
    records_std: pl.DataFrame | pl.LazyFrame,
    reference: pl.DataFrame,
    column_map: dict[str, str] | None = None,
    lang: str = "vi",
) -> pl.DataFrame:
    """The sector's rows in source order: its own columns, then :data:`ADDED`.

    ``column_map``: the sector's own columns in its files' order, record column → the file's header
    (``pipeline.column_maps``); exactly these come back, under those headers. Without it, every column that is
    not doisoat's and not empty in the sector's rows comes back under its record name. An added column never
    overwrites one of the extract's own: on a clash its header gets " (doisoat)".
    """
    rows = records_std.lazy().filter(pl.col("sector") == sector)
    have = rows.collect_schema().names()
    own = [c for c in have if (c in column_map if column_map is not None else not _added_by_doisoat(c))]
    read = ["rid", "commune_code_std", "name_display", "source_file", "source_sheet", "source_row", *own]
    recs = ensure_columns(  # only the columns shown are read (the records may be a scan of spilled Parquet)
        rows.select([c for c in dict.fromkeys(read) if c in have]).collect(),
        {"source_sheet": pl.Utf8, **standard_types("commune_code_std", "name_display")},
    )
    if column_map is not None:
        names = _unique_headers({c: h for c, h in column_map.items() if c in recs.columns})
    else:
        own = [c for c in recs.columns if not _added_by_doisoat(c) and recs[c].null_count() < recs.height]
        names = {c: c for c in own}
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
    res = results.filter(pl.col("rid").is_not_null() & (pl.col("sector") == sector)).select(
        pl.col("rid").alias("__rid"),
        *[pl.col(c).alias(f"__{c}") for c in ("person_id", "status", *DIMENSIONS, "reasons")],
    )
    df = (
        recs.select(
            pl.col("rid").alias("__rid"),
            pl.col("commune_code_std").alias("__commune_now"),
            pl.col("name_display").alias("__name_std"),
            "source_file",
            "source_sheet",
            "source_row",
            *[pl.col(c).alias(f"__own_{i}") for i, c in enumerate(names)],
        )
        .join(res, on="__rid", how="left")
        .join(ref, left_on="__person_id", right_on="__pid", how="left")
        .sort(["source_file", "source_sheet", "source_row"], nulls_last=True)
    )
    sure = (
        pl.col("__person_id").is_not_null()
        & ~pl.col("__reasons").fill_null([]).list.eval(pl.element().is_in(_UNSURE)).list.any()
    )
    yes, no = YES_NO[lang]
    added = {
        "name_std": pl.col("__name_std"),
        "ref_id": pl.when(sure).then(pl.col("__ref_id")),
        "ref_name": pl.when(sure).then(pl.col("__ref_name")),
        "ref_birth": pl.when(sure).then(pl.col("__ref_birth")),
        "commune_now": pl.col("__commune_now"),
        **{
            d: pl.when(pl.col(f"__{d}")).then(pl.lit(yes)).when(pl.col(f"__{d}").not_()).then(pl.lit(no))
            for d in DIMENSIONS
        },
        "status": pl.col("__status").replace_strict(STATUS_LABELS[lang], default=pl.col("__status")),
        "reasons": _reason_words(pl.col("__reasons"), lang),
    }
    taken = set(names.values())
    return df.select(
        *[pl.col(f"__own_{i}").alias(header) for i, header in enumerate(names.values())],
        *[
            e.cast(pl.Utf8).alias(h if h not in taken else f"{h} (doisoat)")
            for h, e in ((ADDED[key][lang], expr) for key, expr in added.items())
        ],
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


def _sheet_title(label: str) -> str:
    """A sector's label as an Excel sheet title: at most 31 characters, none of ``: \\ / ? * [ ]``."""
    return re.sub(r"[:\\/?*\[\]]", "-", label)[:31] or "Sheet1"


def write_enriched(
    out_dir: Path,
    results: pl.DataFrame,
    records_std: pl.DataFrame | pl.LazyFrame,
    reference: pl.DataFrame,
    column_maps: dict[str, dict[str, str]] | None = None,
    xlsx_max_rows: int = XLSX_MAX_ROWS,
    lang: str = "vi",
    labels: dict[str, str] | None = None,
) -> dict[str, Path]:
    """``enriched/<sector>.<csv|xlsx|parquet>`` for every sector in the records.

    An XLSX source of more than ``xlsx_max_rows`` rows comes back as ``<sector>.csv`` (UTF-8 with BOM) plus
    ``<sector>.parquet`` (key ``enriched:<sector>:parquet``); an XLSX sheet is titled with the sector's label
    (``labels``: sector → label): a sheet holds at most 1.048.576 rows and a
    large one is slow to write and to open. ``ghi-chu.txt`` (key ``enriched_notes``) says so in Vietnamese.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    notes = []
    records = (
        records_std.lazy()
    )  # one sector at a time is read (the records may be a scan of spilled Parquet)
    for sector in sorted(records.select("sector").unique().collect()["sector"].to_list()):
        frame = enriched_frame(sector, results, records, reference, (column_maps or {}).get(sector), lang)
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
            _write_xlsx(path, frame, _sheet_title((labels or {}).get(sector, sector)))
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
