"""Plain-words sentences for failed expectations: the observed value and the bounds, in Vietnamese and English."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import polars as pl

from checks.aggregates import ALL_UNITS, RARE_VALUE
from checks.settings import GateSettings
from checks.suites import Check
from doisoat.textfmt import fmt_int, fmt_pct
from doisoat.vocabulary import field_label

_UNITS_NEW = Path(__file__).resolve().parent.parent / "doisoat" / "data" / "units_new.parquet"


def fmt_num(x: Any, lang: str, digits: int = 2) -> str:
    """A decimal in the reader's format (1,30 in Vietnamese)."""
    if x is None:
        return "?"
    text = f"{float(x):.{digits}f}"
    return text.replace(".", ",") if lang == "vi" else text


def fmt_count(x: Any, lang: str) -> str:
    return "?" if x is None else fmt_int(int(x), lang)


def fmt_values(values: list[Any], lang: str, min_rows: int) -> str:
    """Offending categorical values, quoted; values hidden as rare (possibly personal data) said so in words."""
    rare = (
        f"giá trị hiếm (mỗi giá trị dưới {min_rows} dòng, không hiển thị)"
        if lang == "vi"
        else f"rare values (each under {min_rows} rows, not shown)"
    )
    empty = "(trống)" if lang == "vi" else "(empty)"
    shown = [empty if v is None else rare if v == RARE_VALUE else f"“{v}”" for v in values[:10]]
    return ", ".join(shown) + (" …" if len(values) > 10 else "")


@lru_cache(maxsize=1)
def _commune_names() -> dict[str, str]:
    if not _UNITS_NEW.exists():
        return {}
    units = pl.read_parquet(_UNITS_NEW, columns=["ward_code", "ward"]).drop_nulls()
    return dict(zip(units["ward_code"].to_list(), units["ward"].to_list(), strict=True))


def unit_phrase(unit: str | None, lang: str) -> str:
    """' tại Phường Ba Đình (mã 00004)' for a commune, '' for the whole sector."""
    if unit is None or unit == ALL_UNITS:
        return ""
    name = _commune_names().get(unit)
    if lang == "vi":
        return f" tại {name} (mã {unit})" if name else f" tại xã mã {unit}"
    return f" in {name} (code {unit})" if name else f" in commune {unit}"


def render(
    check: Check,
    sector: str | None,
    observed: Any,
    context: dict[str, Any],
    settings: GateSettings,
    lang: str,
) -> str:
    """The sentence for one failure. ``context`` is the aggregate row (counts, previous values) it came from."""
    vi = lang == "vi"
    label = settings.label(sector)
    lo, hi = check.kwargs.get("min_value"), check.kwargs.get("max_value")
    pct = lambda x: fmt_pct(x, lang=lang) if x is not None else "?"  # noqa: E731
    flabel = field_label(check.field, lang)
    kind = check.kind
    if kind == "id_wellformed_rate":
        return (
            f"Tỷ lệ số định danh đúng định dạng của lĩnh vực {label} là {pct(observed)}, thấp hơn ngưỡng {pct(lo)}"
            if vi
            else f"Share of well-formed national IDs in sector {label} is {pct(observed)}, below the threshold {pct(lo)}"
        )
    if kind == "row_count_ratio":
        n, prev = fmt_count(context.get("n_rows"), lang), fmt_count(context.get("previous_n_rows"), lang)
        return (
            f"Số dòng trích xuất của lĩnh vực {label} là {n}, chỉ bằng {pct(observed)} so với lần trước ({prev} dòng), "
            f"thấp hơn ngưỡng {pct(lo)}"
            if vi
            else f"Sector {label} has {n} rows, only {pct(observed)} of the previous extract ({prev} rows), "
            f"below the threshold {pct(lo)}"
        )
    if kind == "null_rate":
        return (
            f"Tỷ lệ để trống của trường bắt buộc {flabel} ({check.field}) ở lĩnh vực {label} là {pct(observed)}, "
            f"cao hơn ngưỡng {pct(hi)}"
            if vi
            else f"Required field {flabel} ({check.field}) is empty in {pct(observed)} of sector {label}, "
            f"above the threshold {pct(hi)}"
        )
    if kind == "readable_rate":
        return (
            f"Chỉ {pct(observed)} giá trị {flabel} ({check.field}) có ghi của lĩnh vực {label} đọc được là ngày, "
            f"thấp hơn ngưỡng {pct(lo)}: cột ngày có thể bị xuất sai định dạng"
            if vi
            else f"Only {pct(observed)} of the filled {flabel} ({check.field}) values of sector {label} read as "
            f"dates, below the threshold {pct(lo)}: the date column may be exported wrongly"
        )
    if kind == "plausible_rate":
        span = f"{settings.min_date.isoformat()} – {settings.upper_date().isoformat()}"
        return (
            f"Tỷ lệ {flabel} ({check.field}) nằm trong khoảng hợp lý ({span}) của lĩnh vực {label} là {pct(observed)}, "
            f"thấp hơn ngưỡng {pct(lo)}"
            if vi
            else f"Share of {flabel} ({check.field}) within the plausible range ({span}) in sector {label} is "
            f"{pct(observed)}, below the threshold {pct(lo)}"
        )
    if kind in ("sex_values", "event_type_values", "status_values"):
        allowed = "{" + ", ".join(map(str, check.kwargs["value_set"])) + "}"
        values, n = (
            fmt_values(observed, lang, settings.min_rows_to_show_value),
            fmt_count(context.get("n"), lang),
        )
        what = {"sex_values": "sex", "event_type_values": "event_type", "status_values": "status"}[kind]
        what_vi, what_en = field_label(what, "vi"), field_label(what, "en")
        return (
            f"Lĩnh vực {label} có giá trị {what_vi} ({check.column}) ngoài tập cho phép {allowed}: {values} ({n} dòng)"
            if vi
            else f"Sector {label} has {what_en} ({check.column}) values outside {allowed}: {values} ({n} rows)"
        )
    if kind == "status_not_null":
        n = fmt_count(context.get("n"), lang)
        return (
            f"Kết quả của lĩnh vực {label} có {n} dòng không có trạng thái (status)"
            if vi
            else f"Results of sector {label} have {n} rows without a status"
        )
    if kind == "duplicate_rows":
        return (
            f"Kết quả của lĩnh vực {label} có {fmt_count(observed, lang)} dòng đầu vào xuất hiện nhiều hơn một lần "
            f"(khoá source_file, source_sheet, source_row)"
            if vi
            else f"Results of sector {label} hold {fmt_count(observed, lang)} input rows more than once "
            f"(key source_file, source_sheet, source_row)"
        )
    if kind == "missing_rows":
        return (
            f"Kết quả của lĩnh vực {label} thiếu {fmt_count(observed, lang)} dòng đầu vào của bản trích xuất"
            if vi
            else f"Results of sector {label} lack {fmt_count(observed, lang)} input rows of the extract"
        )
    if kind == "probability_range":
        pmin, pmax = (
            fmt_num(context.get("probability_min"), lang),
            fmt_num(context.get("probability_max"), lang),
        )
        return (
            f"Kết quả của lĩnh vực {label} có {fmt_count(observed, lang)} dòng có xác suất khớp (match_probability) "
            f"ngoài khoảng [0; 1] (nhỏ nhất {pmin}, lớn nhất {pmax})"
            if vi
            else f"Results of sector {label} have {fmt_count(observed, lang)} rows with a match_probability "
            f"outside [0, 1] (min {pmin}, max {pmax})"
        )
    if kind == "quarantine_rate":
        n, total = fmt_count(context.get("n_quarantined"), lang), fmt_count(context.get("n_rows"), lang)
        reason = context.get("main_quarantine_reason")
        why = ""
        if reason:
            from doisoat.reasons import REASONS, message

            text = message(reason, lang) if reason in REASONS else reason
            why = f"; lý do chính: {text}" if vi else f"; main reason: {text}"
        return (
            f"Lĩnh vực {label} có {n}/{total} dòng ({pct(observed)}) bị cách ly, vượt ngưỡng {pct(hi)}{why}"
            if vi
            else f"Sector {label} has {n}/{total} rows ({pct(observed)}) quarantined, above the threshold "
            f"{pct(hi)}{why}"
        )
    if kind == "persons_matched_twice":
        return (
            f"Ở lĩnh vực {label} (mỗi người một bản ghi) có {fmt_count(observed, lang)} người trong CSDLQG "
            f"được khớp với nhiều hơn một bản ghi"
            if vi
            else f"In sector {label} (one record per person) {fmt_count(observed, lang)} reference persons "
            f"are matched by more than one record"
        )
    if kind == "dung_drop":
        where = unit_phrase(context.get("unit"), lang)
        prev, cur = pct(context.get("previous_rate")), pct(context.get("rate"))
        return (
            f"Tỷ lệ đúng của lĩnh vực {label}{where} giảm {fmt_num(observed, lang)} điểm phần trăm so với lần công bố "
            f"trước ({prev} → {cur}), vượt ngưỡng {fmt_num(hi, lang)} điểm"
            if vi
            else f"The đúng rate of sector {label}{where} dropped {fmt_num(observed, lang)} percentage points "
            f"since the previous published run ({prev} → {cur}), more than the threshold {fmt_num(hi, lang)}"
        )
    return (
        f"Kiểm tra {check.name} trên cột {check.column} của lĩnh vực {label} không đạt (giá trị quan sát: {observed})"
        if vi
        else f"Check {check.name} on column {check.column} of sector {label} failed (observed: {observed})"
    )
