"""Thresholds and severities of the data-quality gate: a typed dataclass, loaded from ``checks/gate.yaml``.

The YAML file holds the defaults with a comment per threshold and per-sector overrides; an operator's file
(``doisoat run --gate-config FILE``) is laid over it. The dataclass round-trips to JSON (the manifest keeps it).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from doisoat.errors import DoisoatError
from doisoat.vocabulary import RESULT_STATUSES

DEFAULTS_FILE = Path(__file__).with_name("gate.yaml")
SEVERITIES = ("error", "warning")


def _from_sector_yaml(fact: str) -> dict[str, Any]:
    """``fact`` of every declared sector, read from its YAML (schemas/sectors/): the default where no run gave one.

    The sector YAML is the only source of sector facts; a run passes its own (``pipeline.gate_settings``).
    """
    from schemas import available_sectors, load_sector

    specs = [load_sector(name) for name in available_sectors()]
    return {spec.name: getattr(spec, fact) for spec in specs}


@dataclass
class GateSettings:
    """What the gate tolerates. Rates are fractions (0.8 = 80 %), drops are percentage points.

    ``required`` maps a sector to the columns that must be filled (canonical or standardised names); a sector
    absent from it uses ``default_required``. ``event_types`` maps a sector to its allowed event types; a sector
    absent from it has no event-type check. ``many_per_person`` says whether a reference person may own several
    records of a sector; a sector absent from it is not checked for persons matched twice.
    """

    min_id_wellformed_rate: float = 0.80
    max_null_rate: float = 0.50
    required: dict[str, list[str]] = field(default_factory=dict)
    default_required: list[str] = field(default_factory=lambda: ["full_name"])
    min_date: date = date(1890, 1, 1)
    max_date: date | None = None  # None: the day the gate runs
    min_plausible_date_rate: float = 0.95
    min_readable_date_rate: float = 0.90
    max_quarantine_rate: float = 0.25
    sex_values: list[str] = field(default_factory=lambda: ["M", "F"])
    event_types: dict[str, list[str]] = field(default_factory=dict)
    min_rows_to_show_value: int = 5  # rarer unexpected values are hidden: they may be personal data
    min_row_count_ratio: float = 0.5
    max_drop_points: float = 5.0
    min_rows: int = 20
    many_per_person: dict[str, bool] = field(default_factory=lambda: _from_sector_yaml("many_per_person"))
    statuses: list[str] = field(default_factory=lambda: list(RESULT_STATUSES))
    sector_labels: dict[str, str] = field(default_factory=lambda: _from_sector_yaml("label_vi"))
    max_null_rate_by_field: dict[str, float] = field(default_factory=dict)
    # check name ("null_rate" or "null_rate:national_id") → "error" | "warning"; unnamed checks are errors
    severity: dict[str, str] = field(default_factory=dict)
    # sector → overrides of any field above (dict fields are merged key by key)
    sectors: dict[str, dict[str, Any]] = field(default_factory=dict)

    def max_null_rate_for(self, field_name: str) -> float:
        return float(self.max_null_rate_by_field.get(field_name, self.max_null_rate))

    def severity_of(self, kind: str, field_name: str | None = None) -> str:
        """The severity of a check: its ``kind:field`` entry, else its kind's, else error."""
        if field_name and f"{kind}:{field_name}" in self.severity:
            return self.severity[f"{kind}:{field_name}"]
        return self.severity.get(kind, "error")

    def for_sector(self, sector: str | None) -> GateSettings:
        """These settings with the sector's overrides applied (the same settings when it has none)."""
        over = self.sectors.get(sector or "", {})
        if not over:
            return self
        values = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        for key, value in _coerce(over).items():
            values[key] = {**values[key], **value} if isinstance(values[key], dict) else value
        return GateSettings(**values)

    def required_for(self, sector: str) -> list[str]:
        return list(self.required.get(sector, self.default_required))

    def label(self, sector: str | None) -> str:
        """The Vietnamese name of a sector ("Tiêm chủng"), or the sector key when none is known."""
        if sector is None:
            return ""
        return self.sector_labels.get(sector, sector)

    def upper_date(self) -> date:
        return self.max_date or date.today()

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["min_date"] = self.min_date.isoformat()
        data["max_date"] = self.max_date.isoformat() if self.max_date else None
        return data

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=2)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GateSettings:
        """Build settings from a dict (e.g. parsed JSON); unknown keys are an error, missing keys keep defaults."""
        return cls(**_coerce(data))

    @classmethod
    def load(
        cls,
        path: Path | None = None,
        over: dict[str, Any] | None = None,
        over_source: str = "Cấu hình lượt chạy, mục gate",
        **fixed: Any,
    ) -> GateSettings:
        """The shipped ``gate.yaml``; over it ``over`` (a run configuration's ``gate``: these fields, ``sectors``
        holding the per-sector overrides; ``over_source`` names it in messages), then the operator's file ``path``
        (the layout of gate.yaml), then ``fixed`` (facts the run knows from the sector YAML: labels, required
        fields, event types).
        """
        data = _read_yaml(DEFAULTS_FILE)
        layers = []
        if over:
            layers.append((over_source, {"defaults": over, "sectors": over.get("sectors")}))
        if path is not None:
            layers.append((f"Tệp cấu hình kiểm tra '{path}'", _read_yaml(Path(path))))
        where = f"Tệp cấu hình kiểm tra '{DEFAULTS_FILE}'"
        for where, user in layers:
            defaults = {k: v for k, v in (user.get("defaults") or {}).items() if k != "sectors"}
            try:
                _coerce(defaults)  # a mistake is named with the file it is in
            except ValueError as exc:
                raise DoisoatError(f"{where} không hợp lệ: {exc}") from None
            data["defaults"] = _merge(data.get("defaults") or {}, defaults)
            sectors = dict(data.get("sectors") or {})
            for name, sector_over in (user.get("sectors") or {}).items():
                sectors[name] = _merge(sectors.get(name) or {}, sector_over or {})
            data["sectors"] = sectors
        values = {**(data.get("defaults") or {}), "sectors": data.get("sectors") or {}}
        try:
            settings = cls.from_dict(values)
        except (TypeError, ValueError) as exc:
            raise DoisoatError(f"{where} không hợp lệ: {exc}") from None
        for name, sector_over in settings.sectors.items():
            try:
                _coerce(sector_over)
            except ValueError as exc:
                raise DoisoatError(f"{where}, lĩnh vực {name}: {exc}") from None
        return dataclasses.replace(settings, **fixed) if fixed else settings

    @classmethod
    def from_json(cls, text: str) -> GateSettings:
        return cls.from_dict(json.loads(text))


def _coerce(data: dict[str, Any]) -> dict[str, Any]:
    """Check keys and severities, parse dates: the values a GateSettings takes."""
    known = {f.name for f in dataclasses.fields(GateSettings)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ValueError(
            f"Thiết lập cổng kiểm tra không hợp lệ / unknown gate settings: {', '.join(unknown)}"
        )
    values = dict(data)
    for f in dataclasses.fields(
        GateSettings
    ):  # a number where a number belongs: a text fails here, not mid-run
        default = f.default
        value = values.get(f.name)
        if f.name in values and isinstance(default, (int, float)) and not isinstance(default, bool):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"{f.name}: cần một số, không phải '{value}' / a number is needed")
    for key in ("min_date", "max_date"):
        if isinstance(values.get(key), str):
            values[key] = date.fromisoformat(values[key])
    bad = {k: v for k, v in (values.get("severity") or {}).items() if v not in SEVERITIES}
    if bad:
        raise ValueError(
            "mức độ phải là 'error' hoặc 'warning' / severity must be error or warning: "
            + ", ".join(f"{k}={v}" for k, v in bad.items())
        )
    return values


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        out[key] = (
            {**out[key], **value} if isinstance(value, dict) and isinstance(out.get(key), dict) else value
        )
    return out


def _read_yaml(path: Path) -> dict[str, Any]:
    from doisoat.yamlfile import read_mapping

    return read_mapping(path, "cấu hình kiểm tra")
