"""Enriched extracts: each sector's data back in its own columns plus what the population data adds.

Added columns: the matched số định danh, the reference's name and birth date (at its known precision),
the four flags, the status and the reason codes. Reference values are filled only for confident matches
(not for records needing review or not found). The file format follows the input (CSV, XLSX or Parquet;
Parquet when a sector came in several formats). Personal data: written owner-only (0600). CSV cells are
written as they are (no formula neutralising, so the data loads back unchanged); XLSX cells are text, never
formulas.
"""

from __future__ import annotations

import os
from pathlib import Path

import polars as pl
import xlsxwriter

from doisoat.report.worklists import REFERENCE_COLUMNS, birth_text, ensure_columns

# columns added by doisoat (never the extract's own)
_STANDARDISED = {
    "name_display",
    "name_key",
    "name_plain",
    "name_variant",
    "surname_key",
    "middle_key",
    "given_key",
    "surname_plain",
    "middle_plain",
    "given_plain",
    "name_repair",
    "birth_year",
    "birth_month",
    "birth_day",
    "birth_precision",
    "birth_dm_swappable",
    "sex_std",
    "national_id_std",
    "old_id_std",
    "id_birth_year",
    "id_sex",
    "id_province",
    "insurance_id_std",
    "phone_std",
    "commune_code_std",
    "commune_code_old",
    "commune_status",
    "event_date_std",
    "last_activity_date_std",
    "norm_issues",
}
_LINEAGE_DROP = {"rid", "sector", "file_sha256", "record_id", "source_file", "source_sheet", "source_row"}
CANONICAL = (
    "full_name",
    "birth_date",
    "sex",
    "national_id",
    "old_id",
    "insurance_id",
    "phone",
    "commune_code",
    "commune_name",
    "event_type",
    "event_date",
    "last_activity_date",
)
ADDED = (
    "so_dinh_danh_csdlqg",
    "ho_ten_csdlqg",
    "ngay_sinh_csdlqg",
    "dung",
    "du",
    "sach",
    "song",
    "trang_thai",
    "ma_ly_do",
)
_UNSURE = ["NEEDS_REVIEW", "AMBIGUOUS_MATCH", "NOT_IN_REFERENCE"]


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
    records_std: pl.DataFrame,
    reference: pl.DataFrame,
    column_map: dict[str, str] | None = None,
) -> pl.DataFrame:
    """The sector's rows in source order, its own columns first, then :data:`ADDED`."""
    recs = records_std.filter(pl.col("sector") == sector)
    names = _original_names(column_map)
    own = [c for c in recs.columns if c not in _STANDARDISED and c not in _LINEAGE_DROP]
    # a canonical field the extract did not have comes back all-null: leave it out unless the map names it
    own = [c for c in own if c not in CANONICAL or c in names or recs[c].null_count() < recs.height]
    ref = (
        ensure_columns(reference, REFERENCE_COLUMNS)
        .select(
            "person_id",
            pl.coalesce("national_id_std", "person_id").alias("_ref_id"),
            pl.coalesce("name_display", "name_key").alias("ho_ten_csdlqg"),
            birth_text().alias("ngay_sinh_csdlqg"),
        )
        .unique("person_id", keep="first")
    )
    recs = ensure_columns(recs, {"source_sheet": pl.Utf8})
    res = results.filter(pl.col("rid").is_not_null()).select(
        "rid", "person_id", "status", "dung", "du", "sach", "song", "reasons"
    )
    df = recs.select("rid", "source_file", "source_sheet", "source_row", *own).join(res, on="rid", how="left")
    sure = (
        pl.col("person_id").is_not_null()
        & ~pl.col("reasons").fill_null([]).list.eval(pl.element().is_in(_UNSURE)).list.any()
    )
    df = df.join(ref, on="person_id", how="left").with_columns(
        pl.when(sure).then(pl.col("_ref_id")).alias("so_dinh_danh_csdlqg"),
        pl.when(sure).then(pl.col("ho_ten_csdlqg")).alias("ho_ten_csdlqg"),
        pl.when(sure).then(pl.col("ngay_sinh_csdlqg")).alias("ngay_sinh_csdlqg"),
        pl.col("status").alias("trang_thai"),
        pl.col("reasons").fill_null([]).list.join(",").alias("ma_ly_do"),
    )
    df = df.sort(["source_file", "source_sheet", "source_row"], nulls_last=True)
    return df.select([*own, *ADDED]).rename({c: names[c] for c in own if c in names})


def write_enriched(
    out_dir: Path,
    results: pl.DataFrame,
    records_std: pl.DataFrame,
    reference: pl.DataFrame,
    column_maps: dict[str, dict[str, str]] | None = None,
) -> dict[str, Path]:
    """``enriched/<sector>.<csv|xlsx|parquet>`` for every sector in the records."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    for sector in sorted(records_std["sector"].unique().to_list()):
        frame = enriched_frame(sector, results, records_std, reference, (column_maps or {}).get(sector))
        files = records_std.filter(pl.col("sector") == sector)["source_file"].unique().to_list()
        fmt = _format_of(files)
        path = out_dir / f"{sector}.{fmt}"
        if fmt == "csv":
            frame.write_csv(path, include_bom=True)
        elif fmt == "xlsx":
            wb = xlsxwriter.Workbook(
                str(path),
                {"strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False},
            )
            frame.write_excel(wb, worksheet=sector[:31], autofit=True)
            wb.close()
        else:
            frame.write_parquet(path)
        os.chmod(path, 0o600)
        paths[f"enriched:{sector}"] = path
    return paths
