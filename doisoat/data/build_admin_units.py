"""Build the pinned administrative-unit tables in this folder.

Sources (pinned; recorded in every table's Parquet metadata and in ``units_source.json``):
- the old → new map is the statistics office's conversion table ("bảng chuyển đổi ĐVHC mới–cũ", one row per old
  commune and new unit, with its partly-merged flag) as shipped in ``vietnam-provinces==2026.9.0``
  (``vietnam_provinces/_ward_conversion_2025.py``, ``OLD_TO_NEW``). That package needs Python ≥ 3.12 and is used
  here only: doisoat reads the built Parquet files.
- the unit lists with their names (new 2025 units, old units) come from ``vietnamadminunits==1.0.4``, whose codes
  are the same GSO codes; its name-keyed converter is *not* used (it merges same-name wards of a province and so
  marks communes as split that the office converts whole).

Run by hand when a source is updated, in a throwaway Python 3.12 environment outside the repository::

    python3.12 -m venv /tmp/units312 && /tmp/units312/bin/pip install polars vietnam-provinces==2026.9.0 \
        vietnamadminunits==1.0.4
    /tmp/units312/bin/python doisoat/data/build_admin_units.py

Outputs (Parquet):
- ``units_new.parquet``: the 3 321 commune-level units from 1 July 2025 (province_code, province, ward_code, ward,
  ward_type).
- ``units_old.parquet``: the pre-2025 units (province_code, province, district_code, district, ward_code, ward,
  ward_type).
- ``units_map.parquet``: old ward → new ward as the office lists it (old_ward_code, new_ward_code,
  is_partly_merged, n_new): a ward split across several new units has one row for each, ``n_new > 1``, and such
  records are reported as ambiguous; ``is_partly_merged`` is the office's flag on the old ward.
- ``units_source.json``: sources, versions, SHA-256 of the office table's module, counts, and the SHA-256 of the
  office's old → new pairs (``pairs_sha256``, see :func:`pairs_digest`) that ``tests/test_normalize_units.py``
  checks the committed map against on any Python.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterable
from pathlib import Path

import polars as pl

CONVERSION_PACKAGE = "vietnam-provinces==2026.9.0"
CONVERSION_MODULE = "vietnam_provinces/_ward_conversion_2025.py"
UNITS_PACKAGE = "vietnamadminunits==1.0.4"
HERE = Path(__file__).resolve().parent


def pairs_digest(rows: Iterable[tuple[str, str, bool]]) -> str:
    """SHA-256 of the old → new pairs as sorted lines "old,new,partly" (5-digit codes, partly 0/1)."""
    lines = sorted(f"{o},{n},{int(p)}\n" for o, n, p in rows)
    return hashlib.sha256("".join(lines).encode("ascii")).hexdigest()


def office_pairs() -> tuple[list[tuple[str, str, bool]], dict[str, str]]:
    """The office's (old code, new code, old ward partly merged) rows and facts about the source."""
    import importlib.metadata

    from vietnam_provinces import _ward_conversion_2025 as conv

    version = importlib.metadata.version("vietnam-provinces")
    if f"vietnam-provinces=={version}" != CONVERSION_PACKAGE:
        raise SystemExit(f"pinned {CONVERSION_PACKAGE}, found vietnam-provinces {version}")
    rows = [
        (f"{old:05d}", f"{new.code:05d}", bool(entry.old_ward.is_partly_merged))
        for old, entry in conv.OLD_TO_NEW.items()
        for new in entry.new_wards
    ]
    module = Path(conv.__file__).read_bytes()
    facts = {
        "conversion_package": CONVERSION_PACKAGE,
        "conversion_module": CONVERSION_MODULE,
        "conversion_module_sha256": hashlib.sha256(module).hexdigest(),
        "office_table": conv.SOURCE,
        "effective_date": conv.EFFECTIVE_DATE,
    }
    return rows, facts


def unit_lists() -> tuple[pl.DataFrame, pl.DataFrame]:
    """(new units, old units) with their names, from vietnamadminunits' database."""
    import vietnamadminunits

    pkg = Path(vietnamadminunits.__file__).parent / "data"
    con = sqlite3.connect(pkg / "dataset.db")
    new = pl.read_database(
        "select provinceCode as province_code, province, wardCode as ward_code, ward, wardType as ward_type "
        "from admin_units",
        con,
    )
    old = pl.read_database(
        "select provinceCode as province_code, province, districtCode as district_code, district, "
        "wardCode as ward_code, ward, wardType as ward_type from admin_units_legacy",
        con,
    )
    return new.sort("ward_code"), old.sort("ward_code")


def build() -> None:
    rows, facts = office_pairs()
    new, old = unit_lists()
    mapping = (
        pl.DataFrame(rows, schema=["old_ward_code", "new_ward_code", "is_partly_merged"], orient="row")
        .unique()
        .with_columns(pl.len().over("old_ward_code").cast(pl.Int16).alias("n_new"))
        .sort("old_ward_code", "new_ward_code")
    )
    unknown_new = set(mapping["new_ward_code"]) - set(new["ward_code"])
    if unknown_new:
        raise SystemExit(f"office table names new codes missing from the unit list: {sorted(unknown_new)}")
    source = {
        **facts,
        "units_package": UNITS_PACKAGE,
        "new_units": new.height,
        "old_units": old.drop_nulls("ward_code").height,
        "old_wards_in_map": mapping["old_ward_code"].n_unique(),
        "pairs": mapping.height,
        "split_old_wards": mapping.filter(pl.col("n_new") > 1)["old_ward_code"].n_unique(),
        "partly_merged_old_wards": mapping.filter("is_partly_merged")["old_ward_code"].n_unique(),
        "old_wards_not_in_map": sorted(set(old["ward_code"].drop_nulls()) - set(mapping["old_ward_code"])),
        "new_wards_not_in_map": sorted(set(new["ward_code"]) - set(mapping["new_ward_code"])),
        "pairs_sha256": pairs_digest(rows),
    }
    meta = {f"doisoat.{k}": str(v) for k, v in facts.items()} | {"doisoat.units_package": UNITS_PACKAGE}
    new.write_parquet(HERE / "units_new.parquet", metadata=meta)
    old.write_parquet(HERE / "units_old.parquet", metadata=meta)
    mapping.write_parquet(HERE / "units_map.parquet", metadata=meta)
    (HERE / "units_source.json").write_text(
        json.dumps(source, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    print(json.dumps(source, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    build()
