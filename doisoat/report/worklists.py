"""Steward worklists: one XLSX per commune (and a combined one) listing every record that needs action.

Most urgent first (paid after death, then wrong person, then missing or wrong fields: ``Reason.urgency``).
Each row puts the extract's values beside the candidate reference person's, highlights the cells that
differ, masks IDs and offers a decision drop-down. Files hold personal data: written owner-only (0600).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import polars as pl

from doisoat.assess import birth_disagrees
from doisoat.frames import ensure_columns
from doisoat.match.decide import STEWARD_PASS
from doisoat.reasons import REASONS
from doisoat.report import fastxlsx as fx
from doisoat.report.aggregate import units_table
from doisoat.textfmt import fmt_int, mask_id_expr, safe_cell_expr

UNASSIGNED = "chua-xac-dinh-xa"
BULK_CODES = ("OLD_COMMUNE_CODE",)
DECISIONS = {
    "vi": ["Đúng người", "Không phải", "Cần xác minh"],
    "en": ["Same person", "Not the person", "To verify"],
}
CONFIRMED_NOTE = {"vi": "Đã xác nhận ở lần rà soát trước", "en": "Confirmed in an earlier review"}
STATUS_TEXT = {
    "vi": {
        "matched": "Khớp",
        "review": "Cần xác minh",
        "unmatched": "Không tìm thấy",
        "duplicate": "Trùng",
        "quarantined": "Bị cách ly",
    },
    "en": {
        "matched": "Matched",
        "review": "Needs review",
        "unmatched": "Not found",
        "duplicate": "Duplicate",
        "quarantined": "Quarantined",
    },
}
SEX_TEXT = {"vi": {"M": "Nam", "F": "Nữ"}, "en": {"M": "Male", "F": "Female"}}

# (key, vi header, en header); pairs of extract/reference columns are compared for highlighting
COLUMNS = [
    ("stt", "STT", "No."),
    ("urgency", "Mức ưu tiên", "Urgency"),
    ("main_reason", "Lý do chính", "Main reason"),
    ("all_reasons", "Tất cả lý do", "All reasons"),
    ("sector_label", "Lĩnh vực", "Sector"),
    ("commune", "Xã/phường", "Commune"),
    ("source_file", "Tệp nguồn", "Source file"),
    ("source_row", "Dòng", "Row"),
    ("record_id", "Mã bản ghi", "Record key"),
    ("status_text", "Trạng thái", "Status"),
    ("match_probability", "Xác suất khớp", "Match probability"),
    ("match_basis", "Căn cứ khớp", "Match basis"),
    ("name_rec", "Họ tên (dữ liệu ngành)", "Name (extract)"),
    ("name_ref", "Họ tên (CSDLQG)", "Name (population data)"),
    ("birth_rec", "Ngày sinh (dữ liệu ngành)", "Birth date (extract)"),
    ("birth_ref", "Ngày sinh (CSDLQG)", "Birth date (population data)"),
    ("sex_rec", "Giới tính (dữ liệu ngành)", "Sex (extract)"),
    ("sex_ref", "Giới tính (CSDLQG)", "Sex (population data)"),
    ("id_rec", "Số định danh (dữ liệu ngành)", "ID (extract)"),
    ("id_ref", "Số định danh (CSDLQG)", "ID (population data)"),
    ("commune_rec", "Mã xã (dữ liệu ngành)", "Commune (extract)"),
    ("commune_ref", "Mã xã (CSDLQG)", "Commune (population data)"),
    ("decision", "Quyết định", "Decision"),
    ("note", "Ghi chú", "Note"),
    # run/row pointer (no personal data): `doisoat decisions import` finds the record and its candidate by it
    ("ref_key", "Mã đối chiếu", "Reference key"),
]
PAIRS = {
    "name_rec": "diff_name",
    "name_ref": "diff_name",
    "birth_rec": "diff_birth",
    "birth_ref": "diff_birth",
    "sex_rec": "diff_sex",
    "sex_ref": "diff_sex",
    "id_rec": "diff_id",
    "id_ref": "diff_id",
    "commune_rec": "diff_commune",
    "commune_ref": "diff_commune",
}


def birth_text(prefix: str = "") -> pl.Expr:
    """dd/mm/yyyy, mm/yyyy or yyyy: a date shown at the precision it is known."""
    y, m, d = (pl.col(f"{prefix}birth_{p}").cast(pl.Utf8) for p in ("year", "month", "day"))
    return (
        pl.when(pl.col(f"{prefix}birth_day").is_not_null() & pl.col(f"{prefix}birth_month").is_not_null())
        .then(pl.concat_str(d.str.zfill(2), pl.lit("/"), m.str.zfill(2), pl.lit("/"), y))
        .when(pl.col(f"{prefix}birth_month").is_not_null())
        .then(pl.concat_str(m.str.zfill(2), pl.lit("/"), y))
        .otherwise(y)
    )


_RECORD_COLS = {
    "rid": pl.Int64,
    "name_display": pl.Utf8,
    "name_key": pl.Utf8,
    "birth_year": pl.Int16,
    "birth_month": pl.Int8,
    "birth_day": pl.Int8,
    "sex_std": pl.Utf8,
    "national_id_std": pl.Utf8,
    "old_id_std": pl.Utf8,
    "national_id": pl.Utf8,
}
REFERENCE_COLUMNS = {
    "person_id": pl.Utf8,
    "name_display": pl.Utf8,
    "name_key": pl.Utf8,
    "birth_year": pl.Int16,
    "birth_month": pl.Int8,
    "birth_day": pl.Int8,
    "sex_std": pl.Utf8,
    "national_id_std": pl.Utf8,
    "commune_code_std": pl.Utf8,
}


def _match_basis(weights: str | None, match_pass: str | None, lang: str) -> str:
    """The pass that found the candidate and the three comparisons that weighed most."""
    parts = []
    if match_pass:
        parts.append(("Vòng ghép: " if lang == "vi" else "Pass: ") + match_pass)
    if weights:
        try:
            items = sorted(json.loads(weights).items(), key=lambda kv: -abs(float(kv[1])))[:3]
            text = ", ".join(f"{k} {float(v):+.1f}" for k, v in items)
            parts.append(text.replace(".", ",") if lang == "vi" else text)
        except (ValueError, TypeError, AttributeError):
            pass
    return "; ".join(parts)


def worklist_frame(
    results: pl.DataFrame,
    records_std: pl.DataFrame | pl.LazyFrame,
    reference: pl.DataFrame,
    sectors: dict[str, str],
    lang: str = "vi",
    bulk_codes: tuple[str, ...] = BULK_CODES,
) -> pl.DataFrame:
    """One row per record needing action, columns of :data:`COLUMNS` plus ``commune_file`` and ``diff_*`` flags.

    A record whose only findings are ``bulk_codes`` (fixed for the whole extract at once, e.g. converting
    pre-2025 commune codes with the enriched extract's current code) is left out: nobody acts on it one by one.
    """
    actionable = [c for c, r in REASONS.items() if r.dimension != "info" and c not in bulk_codes]
    urgency = {c: r.urgency for c, r in REASONS.items()}
    msgs = {c: (r.vi if lang == "vi" else r.en) for c, r in REASONS.items()}
    res = ensure_columns(
        results,
        {
            "rid": pl.Int64,
            "person_id": pl.Utf8,
            "match_probability": pl.Float64,
            "match_pass": pl.Utf8,
            "weights": pl.Utf8,
            "record_id": pl.Utf8,
            "run_id": pl.Utf8,
        },
    )
    res = res.with_columns(
        pl.col("reasons")
        .fill_null([])
        .list.eval(pl.element().filter(pl.element().is_in(actionable)))
        .alias("_act")
    ).filter(
        (pl.col("_act").list.len() > 0)
        | pl.col("status").is_in(["review", "unmatched", "duplicate", "quarantined"])
    )
    res = res.with_columns(
        pl.col("_act")
        .list.eval(
            pl.element().sort_by(pl.element().replace_strict(urgency, default=99, return_dtype=pl.Int32))
        )
        .alias("_act")
    )
    # only the rows on the worklists are read (the records may be a scan of the run's spilled Parquet)
    rec = (
        ensure_columns(records_std.lazy().join(res.lazy().select("rid"), on="rid", how="semi"), _RECORD_COLS)
        .select(list(_RECORD_COLS))
        .collect()
    )
    ref = (
        ensure_columns(reference, REFERENCE_COLUMNS)
        .select(list(REFERENCE_COLUMNS))
        .unique("person_id", keep="first")
    )
    ref = ref.rename({c: f"ref_{c}" for c in REFERENCE_COLUMNS if c != "person_id"})
    df = res.join(rec, on="rid", how="left").join(ref, on="person_id", how="left")
    names = units_table("new").select(pl.col("ward_code").alias("_code"), pl.col("ward").alias("_ward"))
    df = df.join(
        names.rename({"_code": "commune_code_std", "_ward": "_ward_rec"}), on="commune_code_std", how="left"
    )
    df = df.join(
        names.rename({"_code": "ref_commune_code_std", "_ward": "_ward_ref"}),
        on="ref_commune_code_std",
        how="left",
    )
    basis = {
        (w, p): _match_basis(w, p, lang) for w, p in df.select("weights", "match_pass").unique().iter_rows()
    }
    basis_df = pl.DataFrame(
        [{"weights": w, "match_pass": p, "match_basis": b} for (w, p), b in basis.items()],
        schema={"weights": pl.Utf8, "match_pass": pl.Utf8, "match_basis": pl.Utf8},
    )
    df = df.join(basis_df, on=["weights", "match_pass"], how="left", nulls_equal=True)
    sex = SEX_TEXT[lang]

    def differs(a: str, b: str) -> pl.Expr:
        return (pl.col(a).is_not_null() & pl.col(b).is_not_null() & (pl.col(a) != pl.col(b))).fill_null(False)

    def unit_text(code: str, name: str) -> pl.Expr:
        return (
            pl.when(pl.col(name).is_not_null())
            .then(pl.col(code) + " " + pl.col(name))
            .otherwise(pl.col(code))
        )

    rec_id = pl.coalesce("national_id_std", "old_id_std", "national_id")
    confirmed = pl.col("match_pass") == STEWARD_PASS
    out = df.with_columns(
        pl.col("_act")
        .list.first()
        .replace_strict(urgency, default=99, return_dtype=pl.Int32)
        .alias("urgency"),
        pl.col("_act")
        .list.first()
        .replace_strict(msgs, default=None, return_dtype=pl.Utf8)
        .alias("main_reason"),
        pl.col("_act")
        .list.eval(pl.element().replace_strict(msgs, default=pl.element(), return_dtype=pl.Utf8))
        .list.join("; ")
        .alias("all_reasons"),
        pl.col("sector")
        .replace_strict(sectors, default=pl.col("sector"), return_dtype=pl.Utf8)
        .alias("sector_label"),
        pl.col("status")
        .replace_strict(STATUS_TEXT[lang], default=pl.col("status"), return_dtype=pl.Utf8)
        .alias("status_text"),
        pl.coalesce(
            "commune_code_std", pl.lit("xa_cu_") + pl.col("commune_code_old"), pl.lit(UNASSIGNED)
        ).alias("commune_file"),
        unit_text("commune_code_std", "_ward_rec").alias("commune"),
        pl.col("name_display").alias("name_rec"),
        pl.col("ref_name_display").alias("name_ref"),
        birth_text().alias("birth_rec"),
        birth_text("ref_").alias("birth_ref"),
        pl.col("sex_std").replace_strict(sex, default=None, return_dtype=pl.Utf8).alias("sex_rec"),
        pl.col("ref_sex_std").replace_strict(sex, default=None, return_dtype=pl.Utf8).alias("sex_ref"),
        mask_id_expr(rec_id).alias("id_rec"),
        pl.concat_str(pl.col("run_id"), pl.lit("/"), pl.col("rid").cast(pl.Utf8)).alias("ref_key"),
        mask_id_expr("ref_national_id_std").alias("id_ref"),
        pl.coalesce(
            unit_text("commune_code_std", "_ward_rec"),
            pl.col("commune_code_old") + pl.lit(" (mã cũ)" if lang == "vi" else " (former code)"),
        ).alias("commune_rec"),
        unit_text("ref_commune_code_std", "_ward_ref").alias("commune_ref"),
        differs("name_key", "ref_name_key").alias("diff_name"),
        birth_disagrees("ref_").fill_null(False).alias("diff_birth"),
        differs("sex_std", "ref_sex_std").alias("diff_sex"),
        differs("national_id_std", "ref_national_id_std").alias("diff_id"),
        differs("commune_code_std", "ref_commune_code_std").alias("diff_commune"),
        # a person a steward already confirmed (pass "steward") shows that decision; importing it again is harmless
        pl.when(confirmed).then(pl.lit(DECISIONS[lang][0])).otherwise(None).alias("decision"),
        pl.when(confirmed).then(pl.lit(CONFIRMED_NOTE[lang])).otherwise(None).alias("note"),
    )
    out = out.sort(["urgency", "sector", "source_file", "source_row"], nulls_last=True)
    out = out.with_columns(pl.int_range(1, pl.len() + 1).over("commune_file").alias("stt"))
    out = out.rename({"_act": "reason_codes"})
    keep = [k for k, _, _ in COLUMNS] + [
        "commune_file",
        "sector",
        "reason_codes",
        *sorted(set(PAIRS.values())),
    ]
    return out.select(keep)


HEADER_FORMAT = {"bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True, "valign": "top"}
FORMATS = {"diff": {"bg_color": "#FFC7CE", "font_color": "#9C0006"}, "pct": {"num_format": "0.0%"}}
COMBINED_CAP = 50_000


def _list_sheets(
    frame: pl.DataFrame, lang: str, stt: bool = True, max_rows: int = fx.MAX_ROWS - 1
) -> list[fx.Sheet]:
    """The worklist as sheets of at most ``max_rows`` rows: text formula-safe, differing pairs highlighted."""
    keys = [k for k, _, _ in COLUMNS]
    headers = [vi if lang == "vi" else en for _, vi, en in COLUMNS]
    if not stt:
        frame = frame.with_columns(pl.int_range(1, pl.len() + 1).alias("stt"))
    rows = frame.select(
        [safe_cell_expr(pl.col(k)) if frame.schema[k] == pl.Utf8 else pl.col(k) for k in keys]
    )
    styles = frame.select(
        [pl.when(pl.col(flag).fill_null(False)).then(pl.lit("diff")).alias(k) for k, flag in PAIRS.items()]
    ).with_columns(pl.lit("pct").alias("match_probability"))
    widths = (
        rows.select([pl.col(k).cast(pl.Utf8).str.len_chars().max().fill_null(0) for k in keys]).row(0)
        if rows.height
        else [0] * len(keys)
    )
    dec = keys.index("decision")

    def setup(ws, n: int) -> None:
        ws.data_validation(1, dec, max(n, 1) + 500, dec, {"validate": "list", "source": DECISIONS[lang]})
        ws.freeze_panes(1, 3)
        ws.autofilter(0, 0, max(n, 1), len(keys) - 1)
        for c, (h, w) in enumerate(zip(headers, widths, strict=True)):
            ws.set_column(c, c, min(max(len(h) if len(h) < 14 else 14, w or 0) + 2, 60))
        ws.set_column(dec, dec, 16)
        ws.set_column(keys.index("note"), keys.index("note"), 30)

    name = "Danh sách xử lý" if lang == "vi" else "Worklist"
    sheets = []
    for i, start in enumerate(range(0, max(rows.height, 1), max_rows)):
        part, part_styles = rows.slice(start, max_rows), styles.slice(start, max_rows)
        sheets.append(fx.Sheet(name if i == 0 else f"{name} ({i + 1})", headers, part, part_styles, setup))
    return sheets


def _summary_sheets(frame: pl.DataFrame, lang: str) -> list[fx.Sheet]:
    """Per-commune counts by urgency band, and per-reason counts (as main reason and among all reasons)."""
    vi = lang == "vi"
    summary = (
        frame.group_by("commune_file", "commune")
        .agg(
            pl.len().alias("n"),
            (pl.col("urgency") <= 2).sum().alias("after_death"),
            pl.col("urgency").is_between(3, 19).sum().alias("identity"),
            (pl.col("urgency") >= 20).sum().alias("fields"),
        )
        .sort(["after_death", "n", "commune_file"], descending=[True, True, False])
        .with_columns(safe_cell_expr(pl.col("commune")))
    )
    heads = (
        [
            "Tệp",
            "Xã/phường",
            "Số bản ghi cần xử lý",
            "Phát sinh sau khi chết",
            "Sai/chưa xác định người",
            "Thiếu/sai trường, trùng",
        ]
        if vi
        else [
            "File",
            "Commune",
            "Records to handle",
            "After death",
            "Wrong/unknown person",
            "Fields, duplicates",
        ]
    )

    def setup_summary(ws, n: int) -> None:
        ws.set_column(0, 1, 28)
        ws.set_column(2, 5, 18)
        ws.freeze_panes(1, 0)

    msgs = {c: (r.vi if vi else r.en) for c, r in REASONS.items()}
    main = frame.group_by(pl.col("reason_codes").list.first().alias("code")).agg(pl.len().alias("main"))
    every = (
        frame.select(pl.col("reason_codes").list.unique().alias("code"))
        .explode("code")
        .group_by("code")
        .agg(pl.len().alias("all"))
    )
    reasons = (
        every.join(main, on="code", how="left")
        .drop_nulls("code")
        .with_columns(
            pl.col("main").fill_null(0),
            pl.col("code").replace_strict(msgs, default=pl.col("code"), return_dtype=pl.Utf8).alias("msg"),
            pl.col("code")
            .replace_strict({c: r.urgency for c, r in REASONS.items()}, default=99, return_dtype=pl.Int32)
            .alias("urgency"),
        )
        .sort(["urgency", "code"])
        .select("code", "msg", "urgency", "main", "all")
    )
    reason_heads = (
        ["Mã lý do", "Lý do", "Mức ưu tiên", "Là lý do chính", "Có trong các lý do"]
        if vi
        else ["Reason code", "Reason", "Urgency", "As main reason", "Among all reasons"]
    )

    def setup_reasons(ws, n: int) -> None:
        ws.set_column(0, 0, 24)
        ws.set_column(1, 1, 50)
        ws.set_column(2, 4, 16)
        ws.freeze_panes(1, 0)

    return [
        fx.Sheet("Tổng hợp" if vi else "Summary", heads, summary, setup=setup_summary),
        fx.Sheet("Theo lý do" if vi else "By reason", reason_heads, reasons, setup=setup_reasons),
    ]


def write_worklists(
    out_dir: Path,
    results: pl.DataFrame,
    records_std: pl.DataFrame | pl.LazyFrame,
    reference: pl.DataFrame,
    sectors: dict[str, str],
    lang: str = "vi",
    bulk_codes: tuple[str, ...] = BULK_CODES,
    combined_cap: int = COMBINED_CAP,
    max_sheet_rows: int = fx.MAX_ROWS - 1,
) -> dict[str, Path]:
    """``worklists/<commune_code>.xlsx`` per commune (``chua-xac-dinh-xa.xlsx`` when unknown) and ``tong-hop.xlsx``.

    ``tong-hop.xlsx`` holds the per-commune summary, the per-reason counts and the ``combined_cap`` most
    urgent rows; when more rows need action its list says so and the full list is also written as
    ``tong-hop.csv`` (UTF-8 with BOM, formula-safe). A list longer than ``max_sheet_rows`` continues on
    further sheets.
    """
    frame = worklist_frame(results, records_std, reference, sectors, lang, bulk_codes)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    for (commune,), part in frame.group_by("commune_file", maintain_order=True):
        path = out_dir / f"{commune}.xlsx"
        fx.write_workbook(path, _list_sheets(part, lang, max_rows=max_sheet_rows), FORMATS, HEADER_FORMAT)
        paths[f"worklist:{commune}"] = path
    capped = frame.height > combined_cap
    top = _list_sheets(frame.head(combined_cap), lang, stt=False, max_rows=max_sheet_rows)
    if capped:
        vi = lang == "vi"
        note = (
            f"Danh sách chỉ gồm {fmt_int(combined_cap)} bản ghi cần xử lý gấp nhất trên tổng số "
            f"{fmt_int(frame.height)}: xem danh sách từng xã (tệp <mã xã>.xlsx) hoặc toàn bộ trong tong-hop.csv."
            if vi
            else f"Only the {fmt_int(combined_cap, 'en')} most urgent of {fmt_int(frame.height, 'en')} records "
            "are listed: see each commune's file (<commune code>.xlsx) or the full list in tong-hop.csv."
        )
        top[-1].footer = [note]
    summary = _summary_sheets(frame, lang)
    if capped:
        summary[0].footer = [note]
    path = fx.write_workbook(
        out_dir / "tong-hop.xlsx", [*summary[:1], *top, *summary[1:]], FORMATS, HEADER_FORMAT
    )
    paths["worklists"] = path
    if capped:
        paths["worklists_csv"] = _write_csv(out_dir / "tong-hop.csv", frame, lang)
    return paths


def _write_csv(path: Path, frame: pl.DataFrame, lang: str) -> Path:
    """The full combined worklist as CSV (UTF-8 with BOM for Excel), formula-safe, owner-only."""
    keys = [k for k, _, _ in COLUMNS]
    out = frame.select(
        [
            (safe_cell_expr(pl.col(k)) if frame.schema[k] == pl.Utf8 else pl.col(k)).alias(
                vi if lang == "vi" else en
            )
            for k, vi, en in COLUMNS
        ]
    ).with_columns(pl.int_range(1, pl.len() + 1).alias(COLUMNS[0][1] if lang == "vi" else COLUMNS[0][2]))
    assert out.width == len(keys)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "wb") as fh:
        out.write_csv(fh, include_bom=True)
    return path
