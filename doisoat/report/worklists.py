"""Steward worklists: one XLSX per commune (and a combined one) listing every record that needs action.

Most urgent first (paid after death, then wrong person, then missing or wrong fields: ``Reason.urgency``,
shown as three plain priority bands). Each row puts the extract's values beside the candidate reference
person's, highlights the cells that differ, says in plain words what agrees and what differs, masks every
personal identifier and offers the decision right beside the names, with an input prompt: an identity question
(«Đúng người / Không phải / Cần xác minh») or a data-quality item («Đã sửa ở nguồn / Giữ nguyên / Chuyển
ngành»), by the row's kind (:func:`row_kind`); earlier data-quality decisions apply (:func:`_apply_earlier`). A steward needs no
training: the "Hướng dẫn" sheet explains each column, choice and colour; only the decision and note cells can
be edited (sheet protection without a password), and decided rows change colour. Files hold personal data:
written owner-only (0600).
"""

from __future__ import annotations

import os
from pathlib import Path

import polars as pl
from xlsxwriter.utility import xl_col_to_name

from doisoat.assess import birth_disagrees
from doisoat.frames import ensure_columns
from doisoat.match.decide import STEWARD_PASS
from doisoat.normalize.standardize import standard_types
from doisoat.reasons import REASONS
from doisoat.report import fastxlsx as fx
from doisoat.report.aggregate import units_table
from doisoat.report.waterfall import CHART_FOLDER, anchor_expr, decoded_weights, write_waterfall_page
from doisoat.textfmt import fmt_int, mask_id_expr, safe_frame
from doisoat.vocabulary import STATUS_LABELS

UNASSIGNED = "chua-xac-dinh-xa"
BULK_CODES = ("OLD_COMMUNE_CODE",)
DECISIONS = {
    "vi": ["Đúng người", "Không phải", "Cần xác minh"],
    "en": ["Same person", "Not the person", "To verify"],
}
# a data-quality item (a finding to act on at source, no identity question) offers what a steward does about it;
# doisoat.decisions stores each choice, and the next run's worklist applies it (QUALITY_EFFECT)
QUALITY_DECISIONS = {
    "vi": ["Đã sửa ở nguồn", "Giữ nguyên", "Chuyển ngành"],
    "en": ["Fixed at source", "Keep as is", "Passed to another sector"],
}
# the kind of a worklist row (row_kind): which choices its decision cell offers
KINDS = {"match": DECISIONS, "quality": QUALITY_DECISIONS}
KIND_LABELS = {
    "vi": {"match": "Xác minh người", "quality": "Chất lượng dữ liệu"},
    "en": {"match": "Identity question", "quality": "Data quality"},
}
CHART_TEXT = {"vi": "Xem biểu đồ", "en": "Open chart"}
CONFIRMED_NOTE = {"vi": "Đã xác nhận ở lần rà soát trước", "en": "Confirmed in an earlier review"}
# the note a row carries when the same finding on the same identity comes back after a decision on it
EARLIER_NOTE = {
    "vi": {
        "fixed": "Đã báo sửa ở nguồn ngày {day}, nhưng lỗi vẫn còn trong tệp mới",
        "transfer": "Đã chuyển ngành ngày {day}, chưa được xử lý",
    },
    "en": {
        "fixed": "Reported fixed at source on {day}, but the finding is still in the new file",
        "transfer": "Passed to another sector on {day}, not yet handled",
    },
}
SEX_TEXT = {"vi": {"M": "Nam", "F": "Nữ"}, "en": {"M": "Male", "F": "Female"}}

# (key, vi header, en header) in sheet order: what a steward reads and decides first, then the evidence, then
# where the record is; pairs of extract/reference columns are compared for highlighting
COLUMNS = [
    ("stt", "STT", "No."),
    ("priority", "Mức ưu tiên", "Priority"),
    ("main_reason", "Lý do chính", "Main reason"),
    ("name_rec", "Họ tên (dữ liệu ngành)", "Name (extract)"),
    ("name_ref", "Họ tên (CSDLQG)", "Name (population data)"),
    ("decision", "Quyết định", "Decision"),
    ("note", "Ghi chú", "Note"),
    ("birth_rec", "Ngày sinh (dữ liệu ngành)", "Birth date (extract)"),
    ("birth_ref", "Ngày sinh (CSDLQG)", "Birth date (population data)"),
    ("sex_rec", "Giới tính (dữ liệu ngành)", "Sex (extract)"),
    ("sex_ref", "Giới tính (CSDLQG)", "Sex (population data)"),
    ("id_rec", "Số định danh (dữ liệu ngành)", "ID (extract)"),
    ("id_ref", "Số định danh (CSDLQG)", "ID (population data)"),
    ("commune_rec", "Mã xã (dữ liệu ngành)", "Commune (extract)"),
    ("commune_ref", "Mã xã (CSDLQG)", "Commune (population data)"),
    ("match_basis", "Căn cứ khớp", "Match evidence"),
    # a link to the row's waterfall of match weights (worklists/bieu-do/<file>.html, doisoat.report.waterfall)
    ("chart", "Biểu đồ trọng số", "Weights chart"),
    ("match_probability", "Xác suất khớp", "Match probability"),
    ("status_text", "Trạng thái", "Status"),
    ("kind_text", "Loại việc", "Kind of item"),
    ("all_reasons", "Tất cả lý do", "All reasons"),
    ("sector_label", "Lĩnh vực", "Sector"),
    ("commune", "Xã/phường", "Commune"),
    ("source_file", "Tệp nguồn", "Source file"),
    ("source_row", "Dòng", "Row"),
    ("record_id", "Mã bản ghi", "Record key"),
    # run/row pointer (no personal data): `doisoat decisions import` finds the record and its candidate by it
    ("ref_key", "Mã đối chiếu", "Reference key"),
]
# urgency (Reason.urgency, lower first) → priority band: (highest urgency in the band, vi, en)
PRIORITY_BANDS = [
    (2, "1 - Rất gấp", "1 - Most urgent"),
    (19, "2 - Gấp", "2 - Urgent"),
    (999, "3 - Thường", "3 - Routine"),
]
PRIORITY_MEANING = {
    "vi": [
        "Người đã chết trong CSDLQG nhưng dữ liệu ngành vẫn còn chi trả, tham gia bảo hiểm hoặc phát sinh sự "
        "kiện: kiểm tra và dừng chi trả ngay.",
        "Chưa chắc là đúng người: thông tin nhận dạng khác CSDLQG, khớp chưa chắc chắn, khớp nhiều người hoặc "
        "không tìm thấy: xác minh người.",
        "Thiếu hoặc sai trường (số định danh, ngày sinh, giới tính, mã xã…), bản ghi trùng, dòng không đọc được: "
        "sửa ở hệ thống nguồn của ngành.",
    ],
    "en": [
        "Dead in the population data but still paid, insured or recorded by the sector: check and stop payment.",
        "Not sure it is the right person: identity differs, uncertain or ambiguous match, or not found: verify.",
        "Missing or wrong fields, duplicates, unreadable rows: correct them in the sector's own system.",
    ],
}
# comparison in the match weights → what a steward calls it
EVIDENCE_FIELDS = {
    "vi": {
        "id": "số định danh",
        "name": "họ tên",
        "birth": "ngày sinh",
        "sex": "giới tính",
        "phone": "số điện thoại",
        "commune": "mã xã",
    },
    "en": {
        "id": "ID",
        "name": "name",
        "birth": "birth date",
        "sex": "sex",
        "phone": "phone",
        "commune": "commune",
    },
}
EVIDENCE_WORDS = {
    "vi": {
        "same": "trùng",
        "similar": "gần giống",
        "differs": "khác",
        "confirmed": "đã xác nhận ở lần rà soát trước",
    },
    "en": {
        "same": "same",
        "similar": "similar",
        "differs": "different",
        "confirmed": "confirmed in an earlier review",
    },
}
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


# who the person is, shown side by side for the record and its candidate
_PERSON_COLUMNS = (
    "name_display",
    "name_key",
    "surname_key",
    "middle_key",
    "given_key",
    "birth_year",
    "birth_month",
    "birth_day",
    "sex_std",
    "national_id_std",
)
_RECORD_COLS = {
    "rid": pl.Int64,
    **standard_types(*_PERSON_COLUMNS, "old_id_std"),
    "national_id": pl.Utf8,
}
REFERENCE_COLUMNS = {"person_id": pl.Utf8, **standard_types(*_PERSON_COLUMNS, "commune_code_std")}


def match_basis(lang: str = "vi") -> pl.Expr:
    """What agrees and what differs, in words: "Trùng số định danh, ngày sinh; gần giống họ tên; khác tên đệm".

    From the match weights (a comparison that added weight agrees, one that took weight away differs; a
    missing value weighs nothing and is not mentioned), refined by the values shown beside it: a positive
    comparison whose values are not identical is "gần giống"; a differing name says which part (họ, tên đệm,
    tên), a differing birth date whether the year differs. Needs the ``diff_*`` flags, name/birth columns and
    the weights decoded once into ``_weights`` (:func:`decoded_weights`; decoding inside each of the 18 uses
    was most of a province's worklist time).
    """
    words, fields = EVIDENCE_WORDS[lang], EVIDENCE_FIELDS[lang]
    w = pl.col("_weights")
    not_same = {
        "id": pl.col("diff_id"),
        "name": pl.col("diff_name"),
        "birth": pl.col("diff_birth")
        | (pl.col("birth_month").is_null() != pl.col("ref_birth_month").is_null())
        | (pl.col("birth_day").is_null() != pl.col("ref_birth_day").is_null()),
        "sex": pl.col("diff_sex"),
        "commune": pl.col("diff_commune"),
        "phone": pl.lit(False),
    }
    same_part = {
        p: (pl.col(f"{p}_key") == pl.col(f"ref_{p}_key")).fill_null(False)
        for p in ("surname", "middle", "given")
    }
    vi = lang == "vi"
    name_differs = (
        pl.when(same_part["surname"] & same_part["given"])
        .then(pl.lit("khác tên đệm" if vi else "different middle name"))
        .when(same_part["surname"] & same_part["middle"])
        .then(pl.lit("khác tên" if vi else "different given name"))
        .when(same_part["middle"] & same_part["given"])
        .then(pl.lit("khác họ" if vi else "different surname"))
        .otherwise(pl.lit(f"{words['differs']} {fields['name']}"))
    )
    birth_differs = (
        pl.when((pl.col("birth_year") != pl.col("ref_birth_year")).fill_null(False))
        .then(pl.lit("khác năm sinh" if vi else "different birth year"))
        .otherwise(pl.lit(f"{words['differs']} {fields['birth']}"))
    )
    same, similar, differs = [], [], []
    for comp, label in fields.items():
        weight = w.struct.field(comp)
        same.append(pl.when((weight > 0) & ~not_same[comp].fill_null(False)).then(pl.lit(label)))
        similar.append(pl.when((weight > 0) & not_same[comp].fill_null(False)).then(pl.lit(label)))
        text = {"name": name_differs, "birth": birth_differs}.get(comp, pl.lit(f"{words['differs']} {label}"))
        differs.append(pl.when(weight < 0).then(text))

    def group(parts: list[pl.Expr], word: str | None) -> pl.Expr:
        joined = pl.concat_str(parts, separator=", ", ignore_nulls=True)
        text = pl.concat_str(pl.lit(f"{word} "), joined) if word else joined
        return pl.when(joined != "").then(text)

    basis = pl.concat_str(
        pl.when(pl.col("match_pass") == STEWARD_PASS).then(pl.lit(words["confirmed"])),
        group(same, words["same"]),
        group(similar, words["similar"]),
        group(differs, None),
        separator="; ",
        ignore_nulls=True,
    )
    basis = pl.when(basis != "").then(basis)
    return (basis.str.slice(0, 1).str.to_uppercase() + basis.str.slice(1)).alias("match_basis")


def priority_text(lang: str = "vi") -> pl.Expr:
    """``urgency`` → "1 - Rất gấp" / "2 - Gấp" / "3 - Thường" (explained on the instruction sheet)."""
    expr = pl.lit(None, dtype=pl.Utf8)
    for top, vi, en in reversed(PRIORITY_BANDS):
        expr = pl.when(pl.col("urgency") <= top).then(pl.lit(vi if lang == "vi" else en)).otherwise(expr)
    return expr.alias("priority")


def mask_record_key(col: str = "record_id") -> pl.Expr:
    """A record key holding a personal number (a BHXH or BHYT number, an ID, a phone: 9 digits or more in a
    row) is masked like an ID; other keys ("DT0000114", "KH-2025-000073") are shown as they are."""
    return (
        pl.when(pl.col(col).str.contains(r"[0-9]{9}"))
        .then(mask_id_expr(pl.col(col)))
        .otherwise(pl.col(col))
        .alias(col)
    )


def actionable_codes(bulk_codes: tuple[str, ...] = BULK_CODES) -> list[str]:
    """Reason codes a steward acts on one by one: not information, not fixed for a whole extract at once."""
    return [c for c, r in REASONS.items() if r.dimension != "info" and c not in bulk_codes]


def row_kind(every_row: bool = False) -> pl.Expr:
    """``match`` for an identity question about a candidate person (a review case, a steward's earlier
    confirmation, an audit-sample link), ``quality`` for a finding to act on at source (a missing or differing
    field, a duplicate, a record not found)."""
    question = (pl.col("status") == "review") | (pl.col("match_pass") == STEWARD_PASS).fill_null(False)
    return pl.when(question | every_row).then(pl.lit("match")).otherwise(pl.lit("quality")).alias("kind")


def _apply_earlier(res: pl.DataFrame, earlier: pl.DataFrame | None, lang: str) -> pl.DataFrame:
    """Stewards' data-quality decisions on the same finding (same status, no new reason code) of the same identity:
    «Giữ nguyên» leaves the row out, «Đã sửa ở nguồn» / «Chuyển ngành» bring it back with a note saying so."""
    if earlier is None or earlier.is_empty() or "identity_fp" not in res.columns:
        return res.with_columns(pl.lit(None, dtype=pl.Utf8).alias("_earlier_note"))
    e = earlier.select(
        "identity_fp",
        pl.col("decision").alias("_e_decision"),
        pl.col("status").alias("_e_status"),
        pl.col("reasons").alias("_e_reasons"),
        pl.col("decided_at").dt.strftime("%d/%m/%Y").alias("_e_day"),
    )
    res = res.join(e, on="identity_fp", how="left")
    same = (pl.col("_e_status") == pl.col("status")) & (
        pl.col("_act").list.set_difference(pl.col("_e_reasons")).list.len() == 0
    )
    same = same.fill_null(False)
    notes = EARLIER_NOTE[lang]
    note = pl.lit(None, dtype=pl.Utf8)
    for code, text in notes.items():
        before, after = text.split("{day}")
        note = (
            pl.when(same & (pl.col("_e_decision") == code))
            .then(pl.concat_str(pl.lit(before), pl.col("_e_day"), pl.lit(after)))
            .otherwise(note)
        )
    kept = same & (pl.col("_e_decision") == "keep")
    return (
        res.filter(~kept)
        .with_columns(note.alias("_earlier_note"))
        .drop("_e_decision", "_e_status", "_e_reasons", "_e_day")
    )


def worklist_frame(
    results: pl.DataFrame,
    records_std: pl.DataFrame | pl.LazyFrame,
    reference: pl.DataFrame,
    sectors: dict[str, str],
    lang: str = "vi",
    bulk_codes: tuple[str, ...] = BULK_CODES,
    every_row: bool = False,
    earlier: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """One row per record needing action, columns of :data:`COLUMNS` plus ``commune_file`` and ``diff_*`` flags.

    A record whose only findings are ``bulk_codes`` (fixed for the whole extract at once, e.g. converting
    pre-2025 commune codes with the enriched extract's current code) is left out: nobody acts on it one by one.
    ``every_row``: keep every row of ``results`` (the audit sample of automatic links). ``earlier``: the
    stewards' latest data-quality decision per identity (:func:`doisoat.decisions.quality_decisions`).
    """
    actionable = actionable_codes(bulk_codes)
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
            "dung": pl.Boolean,
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
        | every_row
    )
    res = _apply_earlier(res, earlier, lang)
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
        .replace_strict(STATUS_LABELS[lang], default=pl.col("status"), return_dtype=pl.Utf8)
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
        pl.when(confirmed)
        .then(pl.lit(CONFIRMED_NOTE[lang]))
        .otherwise(pl.col("_earlier_note"))
        .alias("note"),
        row_kind(every_row),
        decoded_weights(),
    )
    out = out.with_columns(
        match_basis(lang),
        priority_text(lang),
        mask_record_key("record_id"),
        # a row that was never linked to a run row (no reference key) cannot be read back: notes only
        pl.col("ref_key").is_not_null().alias("decidable"),
        pl.col("kind").replace_strict(KIND_LABELS[lang], return_dtype=pl.Utf8).alias("kind_text"),
        # a chart where the link itself is in question: an identity question, or identity fields that disagree
        pl.when(
            pl.col("weights").is_not_null()
            & pl.col("ref_key").is_not_null()
            & ((pl.col("kind") == "match") | ~pl.col("dung").fill_null(True))
        )
        .then(pl.lit(CHART_TEXT[lang]))
        .alias("chart"),
    )
    # kinds together within a priority: fewer ranges of drop-downs
    out = out.sort(["urgency", "kind", "sector", "source_file", "source_row"], nulls_last=True)
    out = out.with_columns(pl.int_range(1, pl.len() + 1).over("commune_file").alias("stt"))
    out = out.rename({"_act": "reason_codes"})
    keep = [k for k, _, _ in COLUMNS] + [
        "commune_file",
        "sector",
        "urgency",
        "decidable",
        "kind",
        "weights",
        "reason_codes",
        *sorted(set(PAIRS.values())),
    ]
    return out.select(keep)


HEADER_FORMAT = {"bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True, "valign": "top"}
FORMATS = {
    "diff": {"bg_color": "#FFC7CE", "font_color": "#9C0006"},
    "pct": {"num_format": "0.0%"},
    # where a steward types: the only unlocked cells of a protected list
    "edit": {"locked": False, "bg_color": "#FFF2CC", "border": 1, "border_color": "#BF9000"},
    # a decision cell with no candidate person to decide about: locked, greyed
    "na": {"bg_color": "#EDEDED", "font_color": "#7F7F7F"},
    # decided rows (conditional formats: the row changes colour as soon as a choice is made)
    "confirmed": {"bg_color": "#C6EFCE", "font_color": "#006100"},
    "rejected": {"bg_color": "#F8CBAD", "font_color": "#843C0C"},
    "to_verify": {"bg_color": "#FFD966", "font_color": "#7F6000"},
    "fixed": {"bg_color": "#C6EFCE", "font_color": "#006100"},
    "kept": {"bg_color": "#DDEBF7", "font_color": "#1F4E78"},
    "transferred": {"bg_color": "#E4DFEC", "font_color": "#5B2C6F"},
    "wrap": {"text_wrap": True, "valign": "top"},
    "topic": {"bold": True, "text_wrap": True, "valign": "top"},
    "link": {"font_color": "#0563C1", "underline": 1},
}
DECIDED_FORMATS = ("confirmed", "rejected", "to_verify")  # in the order of DECISIONS
QUALITY_FORMATS = ("fixed", "kept", "transferred")  # in the order of QUALITY_DECISIONS
COMBINED_CAP = 50_000
LIST_NAME = {"vi": "Danh sách xử lý", "en": "Worklist"}
GUIDE_NAME = {"vi": "Hướng dẫn", "en": "How to"}
PROMPTS = {
    "vi": {
        "decision_title": "Có phải người này không?",
        "decision": "Đúng người: bản ghi là người ở cột Họ tên (CSDLQG). Không phải: là người khác. Cần xác "
        "minh: chưa đủ căn cứ, xem lại sau. Để trống nếu chưa rà soát. Xem trang Hướng dẫn.",
        "error_title": "Chọn trong danh sách",
        "error": "Hãy chọn Đúng người, Không phải hoặc Cần xác minh trong danh sách thả xuống.",
        "note_title": "Ghi chú",
        "note": "Ghi việc đã làm hoặc lý do (ví dụ: đã sửa ở nguồn, đã gọi điện xác minh, chuyển ngành khác). "
        "Không ghi số định danh đầy đủ.",
        "quality_title": "Đã xử lý lỗi này thế nào?",
        "quality": "Đã sửa ở nguồn: đã sửa trong hệ thống của ngành. Giữ nguyên: dữ liệu ngành đúng như vậy, "
        "đêm sau không hỏi lại. Chuyển ngành: việc của cơ quan khác. Để trống nếu chưa xử lý.",
        "quality_error": "Hãy chọn Đã sửa ở nguồn, Giữ nguyên hoặc Chuyển ngành trong danh sách thả xuống.",
    },
    "en": {
        "decision_title": "Is this the person?",
        "decision": "Same person: the record is the person in Name (population data). Not the person: someone "
        "else. To verify: not enough evidence yet. Leave empty if not reviewed. See the How to sheet.",
        "error_title": "Choose from the list",
        "error": "Choose Same person, Not the person or To verify from the drop-down list.",
        "note_title": "Note",
        "note": "What you did or why (e.g. corrected at source, verified by phone, passed to another sector). "
        "Never write a full ID number.",
        "quality_title": "What was done about it?",
        "quality": "Fixed at source: corrected in the sector's system. Keep as is: the sector's value is right, "
        "not asked again next night. Passed to another sector: another agency's task. Leave empty if not done.",
        "quality_error": "Choose Fixed at source, Keep as is or Passed to another sector from the drop-down list.",
    },
}


def _guide_rows(lang: str) -> list[tuple[str, str]]:
    """The instruction sheet: every column, choice, colour and priority a steward meets, in plain words."""
    bands = "\n".join(
        f"{band[1 if lang == 'vi' else 2]}: {text}"
        for band, text in zip(PRIORITY_BANDS, PRIORITY_MEANING[lang], strict=True)
    )
    if lang == "vi":
        confirm, reject, verify = DECISIONS["vi"]
        fixed, keep, transfer = QUALITY_DECISIONS["vi"]
        return [
            (
                "Tệp này",
                "Các bản ghi dữ liệu ngành cần cán bộ rà soát xử lý sau lần đối soát với CSDLQG về dân cư, "
                "mỗi dòng một bản ghi, việc gấp nhất ở trên cùng. Làm việc ở trang «Danh sách xử lý».",
            ),
            (
                "Cách làm",
                "1. Đọc «Lý do chính», so sánh từng cặp cột (dữ liệu ngành) và (CSDLQG): ô nền đỏ là chỗ "
                "hai bên khác nhau.\n2. Xem «Căn cứ khớp»: những gì trùng, gần giống và khác giữa bản ghi và người "
                "trong CSDLQG.\n3. Chọn «Quyết định» trong danh sách thả xuống.\n4. Ghi vào «Ghi chú» việc đã làm "
                "hoặc lý do.\n5. Lưu tệp (Excel .xlsx) và gửi lại cho đầu mối đối soát. Có thể đổi tên tệp; giữ "
                "nguyên cột «Mã đối chiếu» (đầu mối dùng nó để nhập quyết định bằng lệnh doisoat decisions import).",
            ),
            (
                confirm,
                "Bản ghi của ngành đúng là người ở cột «Họ tên (CSDLQG)». Lần đối soát sau ghép bản ghi này, "
                "và mọi bản ghi ghi giống hệt, với người đó.",
            ),
            (
                reject,
                "Bản ghi là của người khác: người này không được đề xuất lại cho bản ghi. Cần tìm đúng người "
                "hoặc sửa thông tin ở nguồn; ghi vào «Ghi chú» nếu biết.",
            ),
            (
                verify,
                "Chưa đủ căn cứ (cần gọi điện, xem hồ sơ giấy…). Không lưu gì; dòng còn trong danh sách lần "
                "sau.",
            ),
            (
                "Loại việc",
                "«Xác minh người»: chương trình chưa chắc bản ghi là người ở cột «Họ tên (CSDLQG)»; chọn "
                f"{confirm} / {reject} / {verify}. «Chất lượng dữ liệu»: bản ghi thiếu, sai hoặc trùng, hay không "
                f"tìm thấy trong CSDLQG; chọn {fixed} / {keep} / {transfer}. Ô «Quyết định» chỉ cho chọn những "
                "lựa chọn hợp với loại việc của dòng.",
            ),
            (
                fixed,
                "Đã sửa bản ghi trong hệ thống của ngành. Lần đối soát sau đọc tệp mới: nếu lỗi vẫn còn ở đúng "
                "người đó, dòng trở lại với ghi chú «Đã báo sửa ở nguồn ngày …, nhưng lỗi vẫn còn».",
            ),
            (
                keep,
                "Dữ liệu ngành đúng như vậy (ví dụ tên viết theo giấy tờ của ngành). Từ đêm sau, cùng lỗi đó "
                "của cùng người không còn trong danh sách; số liệu báo cáo vẫn tính lỗi. Lỗi mới thì dòng trở lại.",
            ),
            (
                transfer,
                "Việc của cơ quan, ngành khác (ví dụ khai tử chưa đăng ký): ghi cơ quan nhận vào «Ghi chú». "
                "Dòng còn trong danh sách lần sau với ghi chú «Đã chuyển ngành ngày …» cho đến khi được sửa.",
            ),
            (
                "Ô «Quyết định» màu xám",
                "Dòng không đọc được nên không có mã đối chiếu: sửa ở hệ thống nguồn của ngành và ghi việc đã "
                "làm vào «Ghi chú».",
            ),
            ("Mức ưu tiên", bands),
            (
                "Căn cứ khớp",
                "«Trùng»: hai bên giống hệt. «Gần giống»: giống một phần (khác dấu, thiếu tên đệm, "
                "ngày sinh chỉ có năm…). «Khác»: hai bên khác nhau, nói rõ phần khác (ví dụ «khác tên đệm», «khác "
                "năm sinh»). Thông tin thiếu ở một bên thì không nêu. «Xác suất khớp»: ước tính khả năng bản ghi và "
                "người trong CSDLQG là một.",
            ),
            (
                "Biểu đồ trọng số",
                "Bấm «Xem biểu đồ» để mở biểu đồ của dòng đó (tệp trong thư mục bieu-do/ bên cạnh tệp này, mở "
                "bằng trình duyệt): mỗi so sánh (số định danh, họ tên, ngày sinh…) cộng hay trừ bao nhiêu vào trọng "
                "số ghép. Nếu trình duyệt không tự cuộn tới, tìm theo «Dòng» (STT) của dòng.",
            ),
            (
                "Trạng thái",
                "Khớp: đã ghép được một người. Cần xác minh: ghép chưa chắc chắn. Không tìm thấy: không "
                "có ai phù hợp trong CSDLQG. Trùng: bản ghi lặp lại trong dữ liệu ngành. Bị cách ly: dòng không đọc "
                "được nên không đối soát.",
            ),
            (
                "Màu",
                "Ô vàng: nơi nhập (Quyết định, Ghi chú). Ô xám: không cần nhập. Ô đỏ: giá trị khác CSDLQG. "
                "Dòng đã quyết định đổi màu: xanh lá = Đúng người hoặc Đã sửa ở nguồn, cam = Không phải, vàng "
                "đậm = Cần xác minh, xanh lam = Giữ nguyên, tím = Chuyển ngành.",
            ),
            (
                "Trang được khoá",
                "Chỉ nhập được ở «Quyết định» và «Ghi chú», để dữ liệu không bị sửa nhầm; bộ lọc, "
                "chọn và sao chép vẫn dùng được. Dữ liệu sai thì sửa ở hệ thống nguồn của ngành, không sửa trong tệp "
                "này.",
            ),
            (
                "Bảo vệ dữ liệu",
                "Tệp chứa dữ liệu cá nhân: chỉ dùng nội bộ, không gửi qua mạng xã hội hay thư điện "
                "tử công cộng. Số định danh, CMND, mã số BHXH chỉ hiện 4 số cuối; không ghi số đầy đủ vào «Ghi chú».",
            ),
        ]
    confirm, reject, verify = DECISIONS["en"]
    fixed, keep, transfer = QUALITY_DECISIONS["en"]
    return [
        (
            "This file",
            "Sector records a steward must handle after reconciliation with the population data, one "
            "row per record, most urgent first. Work on the «Worklist» sheet.",
        ),
        (
            "How to",
            "1. Read «Main reason» and compare each (extract) / (population data) pair: red cells differ."
            "\n2. «Match evidence» says what is the same, similar and different.\n3. Choose a «Decision» from the "
            "drop-down.\n4. Write what you did in «Note».\n5. Save (Excel .xlsx) and send the file back; keep the "
            "«Reference key» column (doisoat decisions import reads it).",
        ),
        (
            confirm,
            "The record is the person in «Name (population data)»: the next run links it, and every record "
            "written the same way, to that person.",
        ),
        (reject, "The record is someone else's: that person is never proposed for it again."),
        (verify, "Not enough evidence yet: nothing is stored; the row comes back next time."),
        (
            "Kind of item",
            f"«Identity question»: is the record the person in «Name (population data)»? Choose {confirm} / "
            f"{reject} / {verify}. «Data quality»: a missing, wrong or duplicate field, or not found; choose "
            f"{fixed} / {keep} / {transfer}.",
        ),
        (
            fixed,
            "Corrected in the sector's system. If the next file still has the finding for that person, the row "
            "comes back noting it.",
        ),
        (
            keep,
            "The sector's value is right: the same finding of the same person is not listed again from the next "
            "night (the report still counts it). A new finding brings the row back.",
        ),
        (transfer, "Another agency's task: the row stays on the list, noting when it was passed on."),
        (
            "Grey «Decision» cell",
            "An unreadable row has no reference key: correct it at source and say so in «Note».",
        ),
        ("Priority", bands),
        (
            "Match evidence",
            "«Same»: identical. «Similar»: partly the same (accents, middle name, year only…). "
            "«Different»: which part differs. Values missing on one side are not mentioned.",
        ),
        (
            "Colours",
            "Yellow: where to type. Grey: nothing to enter. Red: differs from the population data. Decided "
            "rows: green = Same person or Fixed at source, orange = Not the person, dark yellow = To verify, "
            "blue = Keep as is, purple = Passed to another sector.",
        ),
        (
            "Weights chart",
            "«Open chart» opens the row's waterfall of match weights (the bieu-do/ folder beside this file, in a "
            "browser): how much each comparison added or took away. Find the row by its No. if the page does not "
            "scroll to it.",
        ),
        ("Locked sheet", "Only «Decision» and «Note» can be edited; filters, selection and copy still work."),
        (
            "Data protection",
            "Personal data: internal use only. IDs show their last 4 digits; never type a full ID.",
        ),
    ]


def _print_setup(ws, lang: str) -> None:
    """A4 landscape, as wide as one page, page numbers in the footer (a commune prints its list)."""
    ws.set_paper(9)
    ws.set_landscape()
    ws.fit_to_pages(1, 0)
    ws.set_margins(left=0.4, right=0.4, top=0.6, bottom=0.6)
    ws.set_footer("&CTrang &P/&N" if lang == "vi" else "&CPage &P of &N")


def _guide_sheet(lang: str) -> fx.Sheet:
    rows = pl.DataFrame(_guide_rows(lang), schema=["topic", "text"], orient="row")
    styles = pl.DataFrame({"topic": ["topic"] * rows.height, "text": ["wrap"] * rows.height})

    def setup(ws, n: int, formats: dict) -> None:
        ws.set_column(0, 0, 26)
        ws.set_column(1, 1, 110)
        _print_setup(ws, lang)

    heads = ["Mục", "Hướng dẫn"] if lang == "vi" else ["Topic", "What to do"]
    return fx.Sheet(GUIDE_NAME[lang], heads, rows, styles, setup)


def _list_sheets(
    frame: pl.DataFrame,
    lang: str,
    stt: bool = True,
    max_rows: int = fx.MAX_ROWS - 1,
    active: bool = True,
) -> list[fx.Sheet]:
    """The worklist as sheets of at most ``max_rows`` rows, protected but for the decision and note cells.

    Differing pairs are highlighted; decision cells are unlocked (with a drop-down and an input prompt) where
    there is a candidate person, greyed otherwise; a decided row changes colour. ``active``: the first sheet
    is the one the file opens on. Text is made formula-safe by :mod:`fastxlsx`.
    """
    keys = [k for k, _, _ in COLUMNS]
    headers = [vi if lang == "vi" else en for _, vi, en in COLUMNS]
    if not stt:
        frame = frame.with_columns(pl.int_range(1, pl.len() + 1).alias("stt"))
    rows = frame.select(keys)
    styles = frame.select(
        *[pl.when(pl.col(flag).fill_null(False)).then(pl.lit("diff")).alias(k) for k, flag in PAIRS.items()],
        pl.lit("pct").alias("match_probability"),
        pl.when(pl.col("decidable")).then(pl.lit("edit")).otherwise(pl.lit("na")).alias("decision"),
        pl.lit("edit").alias("note"),
        pl.when(pl.col("chart").is_not_null()).then(pl.lit("link")).alias("chart"),
    )
    target = pl.col("chart_target") if "chart_target" in frame.columns else pl.lit(None, dtype=pl.Utf8)
    links = frame.select(target.alias("chart"))
    widths = (
        rows.select([pl.col(k).cast(pl.Utf8).str.len_chars().max().fill_null(0) for k in keys]).row(0)
        if rows.height
        else [0] * len(keys)
    )
    dec, note = keys.index("decision"), keys.index("note")
    text = PROMPTS[lang]
    highlighted = [(0, keys.index("main_reason")), (dec, note)]  # not the pairs: their red stays visible

    def setup(ws, n: int, formats: dict, kinds: pl.Series) -> None:
        last = max(n, 1)
        _kind_drop_downs(ws, dec, kinds, text, lang)
        ws.data_validation(
            1,
            note,
            last,
            note,
            {"validate": "any", "input_title": text["note_title"], "input_message": text["note"]},
        )
        column = xl_col_to_name(dec)
        ranges = " ".join(f"{xl_col_to_name(a)}2:{xl_col_to_name(b)}{last + 1}" for a, b in highlighted)
        decided = [
            *zip(DECISIONS[lang], DECIDED_FORMATS, strict=True),
            *zip(QUALITY_DECISIONS[lang], QUALITY_FORMATS, strict=True),
        ]
        for choice, fmt in decided:
            ws.conditional_format(
                1,
                highlighted[0][0],
                last,
                highlighted[0][1],
                {
                    "type": "formula",
                    "criteria": f'=${column}2="{choice}"',
                    "format": formats[fmt],
                    "multi_range": ranges,
                },
            )
        ws.freeze_panes(1, 3)
        ws.autofilter(0, 0, last, len(keys) - 1)
        for c, (h, w) in enumerate(zip(headers, widths, strict=True)):
            ws.set_column(c, c, min(max(len(h) if len(h) < 14 else 14, w or 0) + 2, 60))
        ws.set_column(
            keys.index("main_reason"), keys.index("main_reason"), min(max(widths[2] or 0, 14) + 2, 42)
        )
        ws.set_column(dec, dec, 16)
        ws.set_column(note, note, 36)
        _print_setup(ws, lang)
        ws.repeat_rows(0)  # the header on every printed page
        ws.protect(
            "",  # no password: protection prevents slips, it is not a secret
            {
                "autofilter": True,
                "format_columns": True,
                "format_rows": True,
                "select_locked_cells": True,
                "select_unlocked_cells": True,
            },
        )

    def part_setup(kinds: pl.Series, first: bool):
        def run(ws, n: int, formats: dict) -> None:
            setup(ws, n, formats, kinds)
            if first:
                ws.activate()

        return run

    sheets = []
    for i, start in enumerate(range(0, max(rows.height, 1), max_rows)):
        part, part_styles = rows.slice(start, max_rows), styles.slice(start, max_rows)
        kinds = frame["kind"].slice(start, max_rows)
        name = LIST_NAME[lang] if i == 0 else f"{LIST_NAME[lang]} ({i + 1})"
        sheet = fx.Sheet(name, headers, part, part_styles, part_setup(kinds, i == 0 and active))
        sheet.links = links.slice(start, max_rows)
        sheets.append(sheet)
    return sheets


def _kind_drop_downs(ws, col: int, kinds: pl.Series, text: dict[str, str], lang: str) -> None:
    """One drop-down per kind of row over the runs of rows of that kind, each with its own input prompt."""
    letter = xl_col_to_name(col)
    runs = (
        pl.DataFrame({"kind": kinds})
        .with_row_index("i")
        .with_columns(pl.col("kind").rle_id().alias("run"))
        .group_by("run", "kind", maintain_order=True)
        .agg(pl.col("i").min().alias("a"), pl.col("i").max().alias("b"))
    )
    prompts = {
        "match": (text["decision_title"], text["decision"], text["error"]),
        "quality": (text["quality_title"], text["quality"], text["quality_error"]),
    }
    for kind, choices in KINDS.items():
        mine = runs.filter(pl.col("kind") == kind)
        if mine.is_empty():
            continue
        ranges = " ".join(
            f"{letter}{a + 2}" if a == b else f"{letter}{a + 2}:{letter}{b + 2}"
            for a, b in mine.select("a", "b").iter_rows()
        )
        title, message, error = prompts[kind]
        a, b = mine["a"][0] + 1, mine["b"][0] + 1
        ws.data_validation(
            a,
            col,
            b,
            col,
            {
                "validate": "list",
                "source": choices[lang],
                "input_title": title,
                "input_message": message,
                "error_title": text["error_title"],
                "error_message": error,
                "multi_range": ranges,
            },
        )


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
    )
    heads = (
        [
            "Tệp",
            "Xã/phường",
            "Số bản ghi cần xử lý",
            "1 - Rất gấp: phát sinh sau khi chết",
            "2 - Gấp: sai/chưa xác định người",
            "3 - Thường: thiếu/sai trường, trùng",
        ]
        if vi
        else [
            "File",
            "Commune",
            "Records to handle",
            "1 - Most urgent: after death",
            "2 - Urgent: wrong/unknown person",
            "3 - Routine: fields, duplicates",
        ]
    )

    def setup_summary(ws, n: int, formats: dict) -> None:
        ws.set_column(0, 1, 28)
        ws.set_column(2, 5, 20)
        ws.freeze_panes(1, 0)
        ws.activate()  # the combined workbook opens on its summary

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
        .select("code", "msg", priority_text(lang), "main", "all")
    )
    reason_heads = (
        ["Mã lý do", "Lý do", "Mức ưu tiên", "Là lý do chính", "Có trong các lý do"]
        if vi
        else ["Reason code", "Reason", "Priority", "As main reason", "Among all reasons"]
    )

    def setup_reasons(ws, n: int, formats: dict) -> None:
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
    earlier: pl.DataFrame | None = None,
) -> dict[str, Path]:
    """``worklists/<commune_code>.xlsx`` per commune (``chua-xac-dinh-xa.xlsx`` when unknown) and ``tong-hop.xlsx``.

    Each workbook opens on its list (``tong-hop.xlsx``: on its summary) and starts with the instruction
    sheet. ``tong-hop.xlsx`` holds the per-commune summary, the per-reason counts and the ``combined_cap`` most
    urgent rows; when more rows need action its list says so and the full list is also written as
    ``tong-hop.csv`` (UTF-8 with BOM, formula-safe). A list longer than ``max_sheet_rows`` continues on
    further sheets.
    """
    frame = worklist_frame(results, records_std, reference, sectors, lang, bulk_codes, earlier=earlier)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    stems = {
        commune: f"{commune}{_name_slug(unit, commune)}"
        for commune, unit in frame.group_by("commune_file", maintain_order=True)
        .agg(pl.col("commune").first())
        .iter_rows()
    }
    frame = frame.with_columns(
        chart_target(pl.col("commune_file").replace_strict(stems, return_dtype=pl.Utf8))
    )
    for (commune,), part in frame.group_by("commune_file", maintain_order=True):
        path = out_dir / f"{stems[commune]}.xlsx"
        _write_charts(out_dir, stems[commune], part, part["commune"][0] or commune, lang)
        sheets = [_guide_sheet(lang), *_list_sheets(part, lang, max_rows=max_sheet_rows)]
        fx.write_workbook(path, sheets, FORMATS, HEADER_FORMAT)
        paths[f"worklist:{commune}"] = path
    capped = frame.height > combined_cap
    top = _list_sheets(frame.head(combined_cap), lang, stt=False, max_rows=max_sheet_rows, active=False)
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
        out_dir / "tong-hop.xlsx",
        [_guide_sheet(lang), *summary[:1], *top, *summary[1:]],
        FORMATS,
        HEADER_FORMAT,
    )
    paths["worklists"] = path
    if capped:
        paths["worklists_csv"] = _write_csv(out_dir / "tong-hop.csv", frame, lang)
    return paths


def chart_target(stem: pl.Expr) -> pl.Expr:
    """``bieu-do/<stem>.html#r-<run>-<rid>``: where a row's waterfall of match weights is (null without one).

    The worklist writes it as a HYPERLINK formula, so it is built only of safe characters (a file stem of
    codes, a run id, a row number); anything else gets no link.
    """
    safe = stem.str.contains(r"^[A-Za-z0-9_-]+$") & pl.col("ref_key").str.contains(r"^[A-Za-z0-9_-]+/[0-9]+$")
    return (
        pl.when(pl.col("chart").is_not_null() & safe.fill_null(False))
        .then(pl.concat_str(pl.lit(f"{CHART_FOLDER}/"), stem, pl.lit(".html#"), anchor_expr()))
        .alias("chart_target")
    )


def _write_charts(out_dir: Path, stem: str, part: pl.DataFrame, unit: str, lang: str) -> Path | None:
    """The worklist's waterfall page, ``bieu-do/<stem>.html`` (no personal data: comparisons and numbers)."""
    title = f"Biểu đồ trọng số ghép — {unit}" if lang == "vi" else f"Match weights — {unit}"
    charted = part.filter(pl.col("chart").is_not_null())
    return write_waterfall_page(out_dir / CHART_FOLDER / f"{stem}.html", charted, title, lang)


def _name_slug(unit: str | None, code: str) -> str:
    """'-phuong-hai-van' from '20194 Phường Hải Vân', so a commune finds its file by name; '' when unnamed."""
    import re

    from unidecode import unidecode

    if not unit:
        return ""
    words = re.sub(r"[^a-z0-9]+", "-", unidecode(unit.replace(code, "", 1)).lower()).strip("-")
    return f"-{words}" if words else ""


AUDIT_FILE = "kiem-tra-mau.xlsx"


def write_audit_worklist(
    out_dir: Path,
    sample: pl.DataFrame,
    records_std: pl.DataFrame | pl.LazyFrame,
    reference: pl.DataFrame,
    sectors: dict[str, str],
    lang: str = "vi",
) -> dict[str, Path]:
    """``worklists/kiem-tra-mau.xlsx``: the random audit sample of automatic links, to be judged one by one.

    The same layout and decisions as every worklist, so ``doisoat decisions import`` reads it back; the
    decisions then give the precision the report prints beside the rates (:mod:`doisoat.audit`).
    """
    if sample.is_empty():
        return {}
    frame = worklist_frame(sample, records_std, reference, sectors, lang, every_row=True)
    stem = AUDIT_FILE.removesuffix(".xlsx")
    frame = frame.with_columns(chart_target(pl.lit(stem)))
    _write_charts(out_dir, stem, frame, "mẫu kiểm tra" if lang == "vi" else "audit sample", lang)
    sheets = _list_sheets(frame, lang)
    sheets[0].footer = [
        "Mẫu kiểm tra ngẫu nhiên các cặp do chương trình ghép tự động. Với từng dòng, chọn «Đúng người» hoặc "
        "«Không phải» rồi nhập lại bằng 'doisoat decisions import': báo cáo lần sau in độ chính xác đo trên "
        "mẫu này bên cạnh các tỷ lệ."
        if lang == "vi"
        else "A random sample of automatic links. Mark each row «Same person» or «Not the person» and import "
        "it with 'doisoat decisions import': the next report prints the precision measured on it."
    ]
    out_dir.mkdir(parents=True, exist_ok=True)
    path = fx.write_workbook(out_dir / AUDIT_FILE, [_guide_sheet(lang), *sheets], FORMATS, HEADER_FORMAT)
    return {"audit_sample": path}


def _write_csv(path: Path, frame: pl.DataFrame, lang: str) -> Path:
    """The full combined worklist as CSV (UTF-8 with BOM for Excel), formula-safe, owner-only."""
    out = safe_frame(
        frame.select([pl.col(k).alias(vi if lang == "vi" else en) for k, vi, en in COLUMNS]).with_columns(
            pl.int_range(1, pl.len() + 1).alias(COLUMNS[0][1] if lang == "vi" else COLUMNS[0][2])
        )
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "wb") as fh:
        out.write_csv(fh, include_bom=True)
    return path
