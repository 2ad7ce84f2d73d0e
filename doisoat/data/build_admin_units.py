"""Build the pinned administrative-unit tables in this folder from the `vietnamadminunits` package.

Run by hand when the source is updated (``pip install vietnamadminunits==1.0.4`` first); the outputs are
committed so doisoat needs neither the package (nor its geocoder, which would go online) at run time.

Outputs (Parquet):
- ``units_new.parquet``: the 3 321 commune-level units from 1 July 2025 (province_code, province, ward_code, ward,
  ward_type).
- ``units_old.parquet``: the pre-2025 units (province_code, province, district_code, district, ward_code, ward,
  ward_type).
- ``units_map.parquet``: old ward → new ward (old_ward_code, new_ward_code, is_default, n_new): a ward split across
  several new units has one row for each, ``n_new > 1``; such records are reported as ambiguous.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import polars as pl

SOURCE_VERSION = "vietnamadminunits==1.0.4"
HERE = Path(__file__).resolve().parent


def build() -> None:
    import vietnamadminunits

    pkg = Path(vietnamadminunits.__file__).parent / "data"
    con = sqlite3.connect(pkg / "dataset.db")
    new = pl.read_database(
        "select provinceCode as province_code, province, provinceKey as province_key, wardCode as ward_code, "
        "ward, wardType as ward_type, wardKey as ward_key from admin_units",
        con,
    )
    old = pl.read_database(
        "select provinceCode as province_code, province, provinceKey as province_key, districtCode as district_code,"
        " district, districtKey as district_key, wardCode as ward_code, ward, wardType as ward_type, "
        "wardKey as ward_key from admin_units_legacy",
        con,
    )
    conv = json.loads((pkg / "converter_2025.json").read_text(encoding="utf-8"))
    old_full = old.with_columns(
        (pl.col("province_key") + "_" + pl.col("district_key") + "_" + pl.col("ward_key")).alias("old_key")
    )
    rows: list[dict] = []
    for new_prov, wards in conv["DICT_PROVINCE_WARD_NO_DIVIDED"].items():
        for new_ward, old_keys in wards.items():
            for ok in old_keys:
                rows.append(
                    {
                        "new_province_key": new_prov,
                        "new_ward_key": new_ward,
                        "old_key": ok,
                        "is_default": True,
                    }
                )
    for new_prov, olds in conv["DICT_PROVINCE_WARD_DIVIDED"].items():
        for ok, targets in olds.items():
            for t in targets:
                rows.append(
                    {
                        "new_province_key": new_prov,
                        "new_ward_key": t["newWardKey"],
                        "old_key": ok,
                        "is_default": bool(t["isDefaultNewWard"]),
                    }
                )
    links = pl.DataFrame(rows).unique()
    mapping = (
        links.join(old_full.select("old_key", pl.col("ward_code").alias("old_ward_code")), on="old_key")
        .join(
            new.select(
                pl.col("province_key").alias("new_province_key"),
                pl.col("ward_key").alias("new_ward_key"),
                pl.col("ward_code").alias("new_ward_code"),
            ),
            on=["new_province_key", "new_ward_key"],
        )
        .select("old_ward_code", "new_ward_code", "is_default")
        .unique()
        .with_columns(pl.len().over("old_ward_code").cast(pl.Int16).alias("n_new"))
        .sort("old_ward_code", "new_ward_code")
    )
    new.drop("province_key", "ward_key").sort("ward_code").write_parquet(HERE / "units_new.parquet")
    old.drop("province_key", "district_key", "ward_key").sort("ward_code").write_parquet(
        HERE / "units_old.parquet"
    )
    mapping.write_parquet(HERE / "units_map.parquet")
    print(f"{SOURCE_VERSION}: new {new.height}, old {old.height}, links {mapping.height}")


if __name__ == "__main__":
    build()
