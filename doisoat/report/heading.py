"""The heading of the task-force report as an administrative document: who issues it, where, when, on what data.

The issuing body, place and target come from ``report.yaml`` (next to this module) or from the file named by
``DOISOAT_REPORT_CONFIG``, whose keys override the defaults; an unknown key or a wrong type is an error that
names the file. Dates follow Nghị định 30/2020/NĐ-CP: "Đà Nẵng, ngày 04 tháng 12 năm 2026".
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from datetime import date, datetime
from pathlib import Path

from doisoat.errors import DoisoatError
from doisoat.yamlfile import read_mapping

DEFAULT_CONFIG = Path(__file__).with_name("report.yaml")
ENV_CONFIG = "DOISOAT_REPORT_CONFIG"

NATION = {"vi": "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "en": "SOCIALIST REPUBLIC OF VIET NAM"}
MOTTO = {"vi": "Độc lập - Tự do - Hạnh phúc", "en": "Independence - Freedom - Happiness"}


@dataclass(frozen=True)
class ReportHeading:
    """What the top and the bottom of the printed report say; every field has a working default."""

    parent_body: str = "UBND THÀNH PHỐ ĐÀ NẴNG"
    issuing_body: str = "TỔ CÔNG TÁC ĐỀ ÁN 06"
    document_number: str = "Số:        /BC-TCT"
    place: str = "Đà Nẵng"
    area: str = "thành phố Đà Nẵng"
    recipient: str = ""
    signer_title: str = "TỔ TRƯỞNG"
    signer_on_behalf: str = "TM. TỔ CÔNG TÁC"
    copies_to: tuple[str, ...] = field(default_factory=tuple)
    target_rate: float = 0.95
    warn_points: float = 5.0

    def band(self, rate: float | None) -> str:
        """``ok`` (target met), ``warn`` (less than ``warn_points`` below), ``low``, or ``none`` (no rate)."""
        if rate is None:
            return "none"
        if rate >= self.target_rate - 1e-12:
            return "ok"
        return "warn" if rate >= self.target_rate - self.warn_points / 100 - 1e-12 else "low"


def _read(path: Path) -> dict:
    return read_mapping(path, "cấu hình báo cáo")


def _validated(data: dict, path: Path) -> dict:
    known = {f.name: f for f in fields(ReportHeading)}
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise DoisoatError(
            f"Tệp cấu hình báo cáo {path}: khóa không hợp lệ {', '.join(unknown)}; "
            f"các khóa dùng được: {', '.join(known)}."
        )
    out = {}
    for key, value in data.items():
        if key == "copies_to":
            if value is None:
                value = []
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise DoisoatError(f"Tệp cấu hình báo cáo {path}: copies_to phải là danh sách chuỗi.")
            out[key] = tuple(value)
        elif key in ("target_rate", "warn_points"):
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise DoisoatError(f"Tệp cấu hình báo cáo {path}: {key} phải là một số (ví dụ 0.95).")
            if key == "target_rate" and not 0 < value <= 1:
                raise DoisoatError(
                    f"Tệp cấu hình báo cáo {path}: target_rate là tỷ lệ trong (0, 1], ví dụ 0.95 cho 95%."
                )
            out[key] = float(value)
        else:
            out[key] = "" if value is None else str(value)
    return out


def load_heading(path: Path | str | None = None) -> ReportHeading:
    """The package's ``report.yaml`` overlaid with ``path`` (or ``$DOISOAT_REPORT_CONFIG``) when given."""
    values = _validated(_read(DEFAULT_CONFIG), DEFAULT_CONFIG)
    override = path or os.environ.get(ENV_CONFIG)
    if override:
        p = Path(override)
        values |= _validated(_read(p), p)
    return ReportHeading(**values)


def as_date(value: object) -> date | None:
    """An ISO text, a datetime or a date → a date (None when absent or unreadable)."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return datetime.fromisoformat(str(value)).date()
    except ValueError:
        return None


def as_datetime(value: object) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if value is None or value == "" or isinstance(value, date):
        return None
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        return None


def describe_inputs(ingested) -> list[dict]:
    """What the report's "input files" table needs from the ingest results (``run_info["inputs"]``).

    One dict per file: sector, file name, rows, whether it was usable and the file's modification time (the
    extract's date as the sector sent it). No path, no content.
    """
    out = []
    for r in ingested:
        try:
            modified = datetime.fromtimestamp(Path(r.path).stat().st_mtime).isoformat(timespec="seconds")
        except (OSError, TypeError):
            modified = None
        out.append(
            {
                "sector": r.sector,
                "file": r.source_file,
                "sheet": r.source_sheet,
                "rows": r.n_input_rows,
                "ok": r.ok,
                "modified": modified,
            }
        )
    return out
