"""Sector specifications (``schemas/sectors/*.yaml``) and the pandera models built from them."""

from schemas.loader import (
    CANONICAL_FIELDS,
    LINEAGE_COLUMNS,
    SectorSpec,
    SectorSpecError,
    available_sectors,
    load_sector,
    parse_sector_file,
    spec_from_dict,
)

__all__ = [
    "CANONICAL_FIELDS",
    "LINEAGE_COLUMNS",
    "SectorSpec",
    "SectorSpecError",
    "available_sectors",
    "load_sector",
    "parse_sector_file",
    "spec_from_dict",
]
