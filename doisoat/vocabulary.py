"""The words every stage shares: result statuses, what people call them and the fields (one place; issue 12).

Labels are written as they stand inside a sentence ("thiếu cột họ tên"); :func:`field_label` capitalises one
for a heading or the start of a line. The Vietnamese is the report's wording.
"""

from __future__ import annotations

import polars as pl

RESULT_STATUSES: tuple[str, ...] = ("matched", "review", "unmatched", "duplicate", "quarantined")

#: The results contract (docs/architecture.md, "Results"): one row per input row, these columns in this order,
#: with these types, as ``pipeline.build_results`` makes them (the gate step adds ``published``; the Parquet file
#: drops ``rid``, DuckDB keeps it).
RESULT_SCHEMA: dict[str, pl.DataType] = {
    "run_id": pl.Utf8(),
    "sector": pl.Utf8(),
    "record_id": pl.Utf8(),
    "source_file": pl.Utf8(),
    "source_sheet": pl.Utf8(),
    "source_row": pl.Int64(),
    "status": pl.Utf8(),
    "person_id": pl.Utf8(),
    "match_pass": pl.Utf8(),
    "match_probability": pl.Float64(),
    "dung": pl.Boolean(),
    "du": pl.Boolean(),
    "sach": pl.Boolean(),
    "song": pl.Boolean(),
    "reasons": pl.List(pl.Utf8()),
    "commune_code_std": pl.Utf8(),
    "commune_code_old": pl.Utf8(),
    "commune_origin": pl.Utf8(),
    "event_type": pl.Utf8(),
    "weights": pl.Utf8(),
    "identity_fp": pl.Utf8(),
    "rid": pl.Int64(),
}

STATUS_LABELS: dict[str, dict[str, str]] = {
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

#: field (canonical, or standardised ``*_std``) → (Vietnamese, English), as written inside a sentence
FIELD_LABELS: dict[str, tuple[str, str]] = {
    "full_name": ("họ tên", "full name"),
    "birth_date": ("ngày sinh", "birth date"),
    "birth_year": ("năm sinh", "birth year"),
    "sex": ("giới tính", "sex"),
    "sex_std": ("giới tính", "sex"),
    "national_id": ("số định danh", "national ID"),
    "national_id_std": ("số định danh (đã chuẩn hoá)", "national ID (standardised)"),
    "old_id": ("số CMND cũ", "old ID card number"),
    "insurance_id": ("mã số BHXH", "social insurance number"),
    "insurance_id_std": ("mã số BHXH (đã chuẩn hoá)", "social insurance number (standardised)"),
    "phone": ("số điện thoại", "phone number"),
    "commune_code": ("mã xã", "commune code"),
    "commune_code_std": ("mã xã hiện hành", "current commune code"),
    "commune_name": ("tên xã", "commune name"),
    "address": ("địa chỉ", "address"),
    "event_type": ("loại sự kiện", "event type"),
    "event_date": ("ngày sự kiện", "event date"),
    "event_date_std": ("ngày sự kiện", "event date"),
    "last_activity_date": ("ngày phát sinh gần nhất", "last activity date"),
    "last_activity_date_std": ("ngày phát sinh gần nhất", "last activity date"),
    "death_date": ("ngày mất", "date of death"),
    "vital_status": ("tình trạng sống/chết", "vital status"),
    "status": ("trạng thái", "status"),  # a result's status (RESULT_STATUSES)
}


def field_label(name: str | None, lang: str = "vi", capital: bool = False) -> str:
    """What people call a field ("họ tên"; "Họ tên" with ``capital``); an unknown field keeps its own name."""
    if name is None:
        return ""
    vi, en = FIELD_LABELS.get(name, (name, name))
    text = vi if lang == "vi" else en
    return text[:1].upper() + text[1:] if capital and name in FIELD_LABELS else text
