"""A fifth sector added as YAML only (no code) runs end to end: its label, checks and headers come out right."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl

from doisoat import pipeline
from doisoat.report.enriched import ADDED

SAMPLE = Path(__file__).resolve().parent.parent / "sample_data" / "demo"
EDUCATION = """\
name: education
label_vi: Giáo dục
label_en: Education
required: [full_name, birth_date, national_id, event_type]
required_columns: [full_name]
many_per_person: false
check_residence: true
event_types: [Nhập học, Chuyển trường]
column_map:
  full_name: ["Tên học sinh"]
  event_type: ["Hình thức"]
  event_date: ["Ngày nhập học"]
signature: [hoc sinh, lop, nhap hoc]
"""


def test_a_sector_declared_only_in_yaml_gets_its_label_event_check_and_own_headers(tmp_path, monkeypatch):
    sectors = tmp_path / "sectors"
    sectors.mkdir()
    (sectors / "education.yaml").write_text(EDUCATION, encoding="utf-8")
    monkeypatch.setenv("DOISOAT_SECTORS_DIR", str(sectors))
    people = pl.read_parquet(SAMPLE / "reference.parquet").head(40)
    extract = tmp_path / "hoc_sinh.csv"
    people.select(
        pl.col("Họ và tên").alias("Tên học sinh"),
        "Ngày sinh",
        pl.col("Số định danh cá nhân").alias("Số định danh"),
        pl.lit("10A").alias("Lớp"),
        pl.Series("Hình thức", ["Nhập học"] * 30 + ["Thôi học"] * 10),
        # the first five live in their neighbour's commune: the YAML's check_residence must see it
        pl.concat([pl.col("Mã phường/xã").shift(-1).head(5), pl.col("Mã phường/xã").slice(5)]).alias("Mã xã"),
    ).write_csv(extract)
    moved = people.head(6)["Mã phường/xã"].to_list()
    n_moved = sum(a != b for a, b in zip(moved[:5], moved[1:], strict=True))

    summary = pipeline.reconcile(
        pipeline.RunConfig(
            reference=SAMPLE / "reference.parquet",
            extracts=[pipeline.ExtractInput("education", extract)],
            out_dir=tmp_path / "out",
            db_path=tmp_path / "d.duckdb",
        )
    )

    (entry,) = summary.sectors
    assert entry["label"] == "Giáo dục" and entry["published"]
    gate = (summary.out_dir / "gate.txt").read_text(encoding="utf-8")
    assert (
        "Lĩnh vực Giáo dục có giá trị loại sự kiện" in gate and "“thôi học”" in gate
    )  # the YAML’s event types
    assert "education" not in gate.replace("education.yaml", "")  # never the raw key
    assert "Giáo dục" in (summary.out_dir / "report" / "bao-cao.html").read_text(encoding="utf-8")
    back = pl.read_csv(summary.out_dir / "enriched" / "education.csv", infer_schema=False)
    assert back.columns == ["Tên học sinh", "Ngày sinh", "Số định danh", "Lớp", "Hình thức", "Mã xã"] + [
        h["vi"] for h in ADDED.values()
    ]
    assert (back["Trạng thái"] == "Khớp").sum() >= 35
    results = pl.read_parquet(summary.out_dir / "results.parquet")
    residence = results.filter(pl.col("reasons").list.contains("RESIDENCE_DIFFERS"))
    assert n_moved > 0 and residence.height == n_moved and residence["source_row"].max() <= 5
    config = json.loads((summary.out_dir / "manifest.json").read_text())["config"]
    assert config["extracts"][0]["sector"] == "education"
