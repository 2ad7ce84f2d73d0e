"""Thresholds of the data-quality gate: a typed dataclass with defaults that work, round-tripping to JSON."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from datetime import date
from typing import Any

# Sector names as the sector maps in schemas/sectors/*.yaml spell them; the labels are what people read.
DEFAULT_SECTOR_LABELS: dict[str, str] = {
    "civil_status": "Hộ tịch",
    "social_protection": "An sinh xã hội",
    "vaccination": "Tiêm chủng",
    "insurance": "Bảo hiểm",
}

# Each insured person has one record; civil-status events, doses and payments recur per person.
DEFAULT_MANY_PER_PERSON: dict[str, bool] = {
    "civil_status": True,
    "social_protection": True,
    "vaccination": True,
    "insurance": False,
}

RESULT_STATUSES: tuple[str, ...] = ("matched", "review", "unmatched", "duplicate", "quarantined")


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
    sex_values: list[str] = field(default_factory=lambda: ["M", "F"])
    event_types: dict[str, list[str]] = field(default_factory=dict)
    min_rows_to_show_value: int = 5  # rarer unexpected values are hidden: they may be personal data
    min_row_count_ratio: float = 0.5
    max_drop_points: float = 5.0
    min_rows: int = 20
    many_per_person: dict[str, bool] = field(default_factory=lambda: dict(DEFAULT_MANY_PER_PERSON))
    statuses: list[str] = field(default_factory=lambda: list(RESULT_STATUSES))
    sector_labels: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_SECTOR_LABELS))

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
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(
                f"Thiết lập cổng kiểm tra không hợp lệ / unknown gate settings: {', '.join(unknown)}"
            )
        values = dict(data)
        for key in ("min_date", "max_date"):
            if isinstance(values.get(key), str):
                values[key] = date.fromisoformat(values[key])
        return cls(**values)

    @classmethod
    def from_json(cls, text: str) -> GateSettings:
        return cls.from_dict(json.loads(text))
