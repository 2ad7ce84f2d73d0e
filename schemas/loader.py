"""Sector specifications: one YAML file per sector, validated on load into a frozen :class:`SectorSpec`.

A new sector (education, unions, …) is one more YAML file in ``schemas/sectors/`` or in a folder named by the
environment variable ``DOISOAT_SECTORS_DIR`` (several folders separated by ``os.pathsep``; a later folder's
file overrides a built-in one of the same name, so a province can adapt a sector without touching code).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from doisoat.errors import DoisoatError
from doisoat.reasons import REASONS

BUILTIN_DIR = Path(__file__).resolve().parent / "sectors"

#: The canonical fields every ingested record carries (docs/architecture.md, "Canonical record").
CANONICAL_FIELDS: tuple[str, ...] = (
    "full_name",
    "birth_date",
    "sex",
    "national_id",
    "old_id",
    "insurance_id",
    "phone",
    "commune_code",
    "commune_name",
    "address",
    "event_type",
    "event_date",
    "last_activity_date",
)
#: Lineage columns added by ingest (``rid`` is added later by the pipeline).
LINEAGE_COLUMNS: tuple[str, ...] = (
    "sector",
    "record_id",
    "source_file",
    "source_sheet",
    "source_row",
    "file_sha256",
)
#: Fields holding dates: a value with no digit at all cannot be a date.
DATE_FIELDS: frozenset[str] = frozenset({"birth_date", "event_date", "last_activity_date", "death_date"})
#: Fields that identify a person on their own.
ID_FIELDS: tuple[str, ...] = ("national_id", "old_id", "insurance_id")

_KEYS = {
    "name": str,
    "label_vi": str,
    "label_en": str,
    "required": list,
    "required_columns": list,
    "record_id_column": (str, type(None)),
    "many_per_person": bool,
    "event_key": list,
    "after_death_reason": (str, type(None)),
    "check_residence": bool,
    "column_map": dict,
    "event_types": list,
    "sheet": (str, type(None)),
    "extra_fields": list,
    "signature": list,
    "description": str,
}


class SectorSpecError(DoisoatError, ValueError):
    """A sector YAML file is missing, unreadable or inconsistent; the message names the file and the key."""


@dataclass(frozen=True)
class SectorSpec:
    """What doisoat needs to know about one sector's extracts (see schemas/sectors/*.yaml for the meaning)."""

    name: str
    label_vi: str
    label_en: str = ""
    required: list[str] = field(default_factory=list)
    required_columns: list[str] = field(default_factory=lambda: ["full_name"])
    record_id_column: str | None = None
    many_per_person: bool = False
    event_key: list[str] = field(default_factory=list)
    after_death_reason: str | None = None
    check_residence: bool = False  # flag RESIDENCE_DIFFERS when the record's commune is not the person's
    column_map: dict[str, list[str]] = field(default_factory=dict)
    event_types: list[str] = field(default_factory=list)
    sheet: str | None = None
    extra_fields: list[str] = field(default_factory=list)
    signature: list[str] = field(default_factory=list)
    description: str = ""
    source: Path | None = None

    @property
    def fields(self) -> list[str]:
        """Canonical fields of this sector's records: the common ones plus the sector's extra fields."""
        return list(CANONICAL_FIELDS) + [f for f in self.extra_fields if f not in CANONICAL_FIELDS]


def sector_dirs() -> list[Path]:
    """Folders searched for sector files, built-in first, then ``$DOISOAT_SECTORS_DIR`` entries."""
    extra = [Path(p) for p in os.environ.get("DOISOAT_SECTORS_DIR", "").split(os.pathsep) if p.strip()]
    return [BUILTIN_DIR, *extra]


def _sector_files() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for folder in sector_dirs():
        if folder.is_dir():
            for path in sorted(folder.glob("*.yaml")) + sorted(folder.glob("*.yml")):
                found[path.stem] = path
    return found


def available_sectors() -> list[str]:
    """Names of every sector that has a YAML file (built-in or in ``$DOISOAT_SECTORS_DIR``)."""
    return sorted(_sector_files())


def load_sector(name: str) -> SectorSpec:
    """The validated spec of sector ``name``; raises :class:`SectorSpecError` with a bilingual message."""
    files = _sector_files()
    if name not in files:
        raise SectorSpecError(
            f"Không có tệp cấu hình cho lĩnh vực '{name}' (có: {', '.join(sorted(files))}) / "
            f"no sector file for '{name}'"
        )
    return parse_sector_file(files[name])


def parse_sector_file(path: Path) -> SectorSpec:
    """Read and validate one sector YAML file."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise SectorSpecError(
            f"Tệp cấu hình {path}: không đọc được ({exc.__class__.__name__}) / unreadable"
        ) from exc
    return spec_from_dict(data, path)


def spec_from_dict(data: object, path: Path | str = "<dict>") -> SectorSpec:
    """Validate a parsed YAML mapping: known keys, right types, fields and reason codes that exist."""
    where = Path(path).name if path != "<dict>" else path

    def fail(key: str, vi: str, en: str) -> SectorSpecError:
        return SectorSpecError(
            f"Tệp cấu hình {where}, khoá '{key}': {vi} / sector file {where}, key '{key}': {en}"
        )

    if not isinstance(data, dict):
        raise fail("(gốc)", "phải là một bảng khoá: giá trị", "must be a mapping")
    for key, value in data.items():
        if key not in _KEYS:
            raise fail(key, f"khoá không được hỗ trợ (các khoá hợp lệ: {', '.join(_KEYS)})", "unknown key")
        if not isinstance(value, _KEYS[key]):
            raise fail(key, "sai kiểu giá trị", f"expected {_KEYS[key]}, got {type(value).__name__}")
    for key in ("name", "label_vi"):
        if key not in data:
            raise fail(key, "thiếu khoá bắt buộc", "required key missing")
    if path != "<dict>" and data["name"] != Path(path).stem:
        raise fail("name", f"phải trùng tên tệp '{Path(path).stem}'", "must equal the file name")

    extra = [str(f) for f in data.get("extra_fields", [])]
    known = set(CANONICAL_FIELDS) | set(extra)
    for key in ("required", "required_columns", "event_key"):
        for f in data.get(key, []):
            if f not in known:
                raise fail(
                    key, f"trường '{f}' không phải trường chuẩn hay trường bổ sung", f"unknown field {f!r}"
                )
    rid = data.get("record_id_column")
    if rid is not None and rid not in known:
        raise fail(
            "record_id_column", f"trường '{rid}' không tồn tại (khai báo ở extra_fields)", "unknown field"
        )
    column_map: dict[str, list[str]] = {}
    for f, headers in (data.get("column_map") or {}).items():
        if f not in known:
            raise fail("column_map", f"trường '{f}' không tồn tại", f"unknown field {f!r}")
        if isinstance(headers, str):
            headers = [headers]
        if not isinstance(headers, list) or not all(isinstance(h, str) and h.strip() for h in headers):
            raise fail("column_map", f"'{f}' phải là danh sách tên cột", "must be a list of header names")
        column_map[str(f)] = list(headers)
    reason = data.get("after_death_reason")
    if reason is not None and reason not in REASONS:
        raise fail(
            "after_death_reason", f"mã lý do '{reason}' không có trong doisoat/reasons.py", "unknown code"
        )
    return SectorSpec(
        name=data["name"],
        label_vi=data["label_vi"],
        label_en=data.get("label_en", data["name"]),
        required=list(data.get("required", [])),
        required_columns=list(data.get("required_columns", ["full_name"])),
        record_id_column=rid,
        many_per_person=bool(data.get("many_per_person", False)),
        event_key=list(data.get("event_key", [])),
        after_death_reason=reason,
        check_residence=bool(data.get("check_residence", False)),
        column_map=column_map,
        event_types=[str(v) for v in data.get("event_types", [])],
        sheet=data.get("sheet"),
        extra_fields=extra,
        signature=[str(s) for s in data.get("signature", [])],
        description=data.get("description", ""),
        source=Path(path) if path != "<dict>" else None,
    )
