"""The expectation suites as data: which GX expectation runs on which aggregate column, with which bounds.

Specifications hold no execution and import no GX: ``checks.gate`` turns them into GX suites when it runs.
Bump ``SUITE_VERSION`` whenever a check is added, removed or changes meaning; the Data Docs show it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from checks.aggregates import (
    DATE_COLUMNS,
    READABLE_DATES,
    fold_values,
    null_rate_column,
    plausible_rate_column,
    readable_rate_column,
)
from checks.settings import GateSettings

SUITE_VERSION = "2"

BETWEEN = "ExpectColumnValuesToBeBetween"
IN_SET = "ExpectColumnValuesToBeInSet"
NOT_NULL = "ExpectColumnValuesToNotBeNull"


@dataclass(frozen=True)
class Check:
    """One expectation: ``kind`` chooses the plain-words message, ``field`` names the checked data field."""

    kind: str
    expectation: str
    column: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    field: str | None = None
    note_vi: str = ""

    @property
    def name(self) -> str:
        return f"{self.kind}:{self.field}" if self.field else self.kind


@dataclass(frozen=True)
class SuiteSpec:
    """A suite bound to one kind of aggregate frame; ``index_columns`` identify the failing row (sector, unit)."""

    name: str
    sector: str | None
    checks: tuple[Check, ...]
    index_columns: tuple[str, ...] = ("sector",)
    note_vi: str = ""

    @property
    def versioned_name(self) -> str:
        return f"{self.name.replace('.', '-')}-v{SUITE_VERSION}"


def extract_suite(sector: str, settings: GateSettings, columns: list[str]) -> SuiteSpec:
    """Checks on one sector's extract aggregate (see ``aggregates.extract_aggregates``).

    ``settings`` are the sector's own (``GateSettings.for_sector``); a required field without a null-rate
    column in the aggregate (the extract has no such column) is reported once as ``missing_column`` instead.
    """
    label = settings.label(sector)
    checks = [
        Check(
            "id_wellformed_rate",
            BETWEEN,
            "id_wellformed_rate",
            {"min_value": settings.min_id_wellformed_rate},
            note_vi="Tỷ lệ số định danh đúng định dạng (trong các dòng có số định danh)",
        ),
        Check(
            "row_count_ratio",
            BETWEEN,
            "row_count_ratio",
            {"min_value": settings.min_row_count_ratio},
            note_vi="Số dòng so với lần trích xuất trước của cùng lĩnh vực",
        ),
    ]
    for req in settings.required_for(sector):
        if null_rate_column(req) not in columns:
            continue
        checks.append(
            Check(
                "null_rate",
                BETWEEN,
                null_rate_column(req),
                {"min_value": 0.0, "max_value": settings.max_null_rate_for(req)},
                field=req,
                note_vi=f"Tỷ lệ để trống của trường bắt buộc {req}",
            )
        )
    for raw in READABLE_DATES:
        if readable_rate_column(raw) in columns:
            checks.append(
                Check(
                    "readable_rate",
                    BETWEEN,
                    readable_rate_column(raw),
                    {"min_value": settings.min_readable_date_rate},
                    field=raw,
                    note_vi=f"Tỷ lệ giá trị {raw} đọc được là ngày (trong các dòng có ghi)",
                )
            )
    for date_field in ("birth_year", *DATE_COLUMNS):
        if plausible_rate_column(date_field) in columns:
            checks.append(
                Check(
                    "plausible_rate",
                    BETWEEN,
                    plausible_rate_column(date_field),
                    {"min_value": settings.min_plausible_date_rate},
                    field=date_field,
                    note_vi=f"Tỷ lệ giá trị {date_field} nằm trong khoảng ngày hợp lý",
                )
            )
    return SuiteSpec(f"extract.{sector}", sector, tuple(checks), note_vi=f"Trích xuất lĩnh vực {label}")


def extract_values_suite(sector: str, settings: GateSettings, columns: list[str]) -> SuiteSpec:
    """Value sets of a sector's extract (sex always, event types when the sector lists them)."""
    checks = []
    if "sex_std" in columns:
        checks.append(
            Check(
                "sex_values",
                IN_SET,
                "sex_std",
                {"value_set": list(settings.sex_values)},
                field="sex_std",
                note_vi="Giới tính chỉ nhận các giá trị cho phép",
            )
        )
    allowed = settings.event_types.get(sector)
    if allowed is not None and "event_type" in columns:
        checks.append(
            Check(
                "event_type_values",
                IN_SET,
                "event_type",
                {"value_set": fold_values(list(allowed))},
                field="event_type",
                note_vi="Loại sự kiện chỉ nhận các giá trị cho phép của lĩnh vực",
            )
        )
    return SuiteSpec(
        f"extract_values.{sector}",
        sector,
        tuple(checks),
        note_vi=f"Tập giá trị của lĩnh vực {settings.label(sector)}",
    )


def results_suite(settings: GateSettings) -> SuiteSpec:
    """Checks on the per-sector aggregate of the results (see ``aggregates.results_aggregates``)."""
    zero = {"min_value": 0, "max_value": 0}
    checks = (
        Check(
            "duplicate_rows",
            BETWEEN,
            "n_duplicate_rows",
            zero,
            note_vi="Mỗi dòng đầu vào xuất hiện đúng một lần trong kết quả",
        ),
        Check(
            "missing_rows",
            BETWEEN,
            "n_missing_rows",
            zero,
            note_vi="Không dòng đầu vào nào bị thiếu trong kết quả",
        ),
        Check(
            "probability_range",
            BETWEEN,
            "n_probability_outside",
            zero,
            note_vi="Xác suất khớp nằm trong khoảng [0; 1]",
        ),
        Check(
            "quarantine_rate",
            BETWEEN,
            "quarantine_rate",
            {"min_value": 0.0, "max_value": settings.max_quarantine_rate},
            note_vi="Tỷ lệ dòng bị cách ly (không dùng được) của lĩnh vực",
        ),
        Check(
            "persons_matched_twice",
            BETWEEN,
            "n_persons_matched_twice",
            zero,
            note_vi="Ở lĩnh vực mỗi người một bản ghi, không người nào được khớp hai lần",
        ),
    )
    return SuiteSpec("results", None, checks, note_vi="Kết quả đối soát")


def results_status_suite(settings: GateSettings) -> SuiteSpec:
    """Status values of the results, per sector (see ``aggregates.status_values``)."""
    checks = (
        Check(
            "status_values",
            IN_SET,
            "status",
            {"value_set": list(settings.statuses)},
            field="status",
            note_vi="Trạng thái thuộc tập giá trị của hợp đồng dữ liệu",
        ),
        Check(
            "status_not_null", NOT_NULL, "status", field="status", note_vi="Mọi dòng kết quả có trạng thái"
        ),
    )
    return SuiteSpec("results_status", None, checks, note_vi="Trạng thái của kết quả đối soát")


def run_comparison_suite(settings: GateSettings) -> SuiteSpec:
    """The run against the previous published run (see ``aggregates.run_comparison``)."""
    checks = (
        Check(
            "dung_drop",
            BETWEEN,
            "drop_points",
            {"max_value": settings.max_drop_points},
            note_vi="Tỷ lệ đúng không giảm quá ngưỡng (điểm phần trăm) so với lần công bố trước",
        ),
    )
    return SuiteSpec(
        "run_comparison", None, checks, index_columns=("sector", "unit"), note_vi="So sánh với lần chạy trước"
    )
