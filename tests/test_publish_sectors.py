"""Publish what is sound: per-sector severities, held sectors keep their outputs, measured precision (issue 14)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import polars as pl
import pytest
from openpyxl import load_workbook

from checks.settings import GateSettings
from doisoat import audit, pipeline
from doisoat.decisions import import_worklists
from doisoat.errors import DoisoatError
from doisoat.report.worklists import LIST_NAME
from doisoat.store import connect

SAMPLE = Path(__file__).resolve().parent.parent / "sample_data" / "demo"
MANIFEST = json.loads((SAMPLE / "manifest.json").read_text())
REFERENCE = SAMPLE / MANIFEST["reference"]


def extracts(**replace: Path) -> list[pipeline.ExtractInput]:
    """The four sample extracts, some replaced by other files."""
    return [
        pipeline.ExtractInput(sector, replace.get(sector, SAMPLE / name))
        for sector, name in MANIFEST["extracts"].items()
    ]


def digests(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def two_nights(tmp_path_factory):
    """Night 1: the four sample extracts. Night 2: vaccination with every date unreadable."""
    base = tmp_path_factory.mktemp("sectors")
    out, db = base / "out", base / "d.duckdb"
    first = pipeline.reconcile(
        pipeline.RunConfig(reference=REFERENCE, extracts=extracts(), out_dir=out, db_path=db)
    )
    before = digests(first.out_dir)
    vacc = pl.read_csv(SAMPLE / MANIFEST["extracts"]["vaccination"], infer_schema=False)
    date_cols = [c for c in vacc.columns if "ngày" in c.lower()]
    assert date_cols
    broken = base / "tiem_chung.csv"
    vacc.with_columns(pl.lit("không rõ").alias(c) for c in date_cols).write_csv(broken)
    second = pipeline.reconcile(
        pipeline.RunConfig(
            reference=REFERENCE, extracts=extracts(vaccination=broken), out_dir=out, db_path=db
        )
    )
    return first, second, before, out


def test_a_broken_sector_is_held_while_the_other_three_publish(two_nights):
    first, second, _, out = two_nights
    assert first.gate_passed and first.held_sectors == []
    assert second.published and not second.gate_passed
    assert second.held_sectors == ["vaccination"]
    assert (out / "latest").resolve() == second.out_dir
    results = pl.read_parquet(second.out_dir / "results.parquet")
    held = results.filter(~pl.col("published"))["sector"].unique().to_list()
    assert held == ["vaccination"]  # every row is still in the results, marked as not published
    enriched = {p.stem for p in (second.out_dir / "enriched").iterdir() if p.suffix != ".txt"}
    assert "vaccination" not in enriched and {"civil_status", "insurance", "social_protection"} <= enriched


def test_the_held_sectors_earlier_outputs_stay_byte_identical(two_nights):
    first, _, before, _ = two_nights
    assert digests(first.out_dir) == before


def test_the_report_says_the_held_sector_is_not_published_why_and_which_figures_are_in_force(two_nights):
    first, second, _, _ = two_nights
    html = (second.out_dir / "report" / "bao-cao.html").read_text(encoding="utf-8")
    assert "Tiêm chủng chưa được công bố ở lượt này" in html
    assert first.run_id in html  # the figures still in force
    manifest = json.loads((second.out_dir / "manifest.json").read_text())
    vacc = manifest["sectors"]["vaccination"]
    assert vacc["published"] is False and vacc["in_force"]["run_id"] == first.run_id
    assert any("bị cách ly" in e for e in vacc["errors"])
    assert manifest["admin_units"]["conversion_package"].startswith("vietnam-provinces==")
    gate_text = (second.out_dir / "gate.txt").read_text(encoding="utf-8")
    assert "ĐẠT MỘT PHẦN" in gate_text and "Tiêm chủng: CHƯA công bố" in gate_text


def test_a_civil_status_register_missing_most_ids_publishes_with_a_warning(tmp_path):
    wb = load_workbook(SAMPLE / MANIFEST["extracts"]["civil_status"])
    ws = wb[MANIFEST["sectors"]["civil_status"]["sheet"]]
    header_row = MANIFEST["sectors"]["civil_status"]["header_row"]
    headers = [c.value for c in ws[header_row]]
    id_col = next(i for i, h in enumerate(headers, start=1) if h and "định danh" in str(h).lower())
    rows = list(range(header_row + 1, ws.max_row + 1))
    for r in rows[: int(len(rows) * 0.6)]:  # 60 % of the register without an ID, as before the ID existed
        ws.cell(r, id_col).value = None
    path = tmp_path / "ho_tich.xlsx"
    wb.save(path)
    summary = pipeline.reconcile(
        pipeline.RunConfig(
            reference=REFERENCE,
            extracts=[pipeline.ExtractInput("civil_status", path)],
            out_dir=tmp_path / "out",
            db_path=tmp_path / "d.duckdb",
        )
    )
    assert summary.gate_passed and summary.held_sectors == []
    (civil,) = summary.sectors
    assert any("số định danh" in w for w in civil["warnings"]), civil
    assert "Cảnh báo" in summary.gate_summary


def test_an_insurance_list_missing_most_ids_is_an_error_by_default_and_an_override_can_change_it(tmp_path):
    settings = GateSettings.load()
    assert settings.for_sector("insurance").severity_of("null_rate", "national_id") == "error"
    assert settings.for_sector("civil_status").severity_of("null_rate", "national_id") == "warning"
    mine = tmp_path / "gate.yaml"
    mine.write_text(
        "sectors:\n  insurance:\n    severity:\n      null_rate:national_id: warning  # our list predates IDs\n",
        encoding="utf-8",
    )
    overlaid = GateSettings.load(mine)
    assert overlaid.for_sector("insurance").severity_of("null_rate", "national_id") == "warning"
    assert overlaid.for_sector("civil_status").severity_of("null_rate", "national_id") == "warning"  # kept
    bad = tmp_path / "bad.yaml"
    bad.write_text("defaults:\n  severity:\n    null_rate: fatal\n", encoding="utf-8")
    with pytest.raises(DoisoatError, match="error.*warning"):
        GateSettings.load(bad)


def test_wilson_interval_matches_the_task_force_example():
    lo, hi = audit.wilson(99, 100)
    assert (round(lo, 3), round(hi, 3)) == (0.946, 0.998)
    assert audit.wilson(0, 0) == (0.0, 1.0)
    lo, hi = audit.wilson(100, 100)
    assert hi == 1.0 and 0.96 < lo < 0.97


def test_the_audit_sample_round_trip_changes_the_printed_precision(tmp_path):
    out, db = tmp_path / "out", tmp_path / "d.duckdb"
    vacc = [pipeline.ExtractInput("vaccination", SAMPLE / MANIFEST["extracts"]["vaccination"])]
    first = pipeline.reconcile(
        pipeline.RunConfig(reference=REFERENCE, extracts=vacc, out_dir=out, db_path=db)
    )
    html = (first.out_dir / "report" / "bao-cao.html").read_text(encoding="utf-8")
    assert "ước tính của mô hình, chưa được đo trên mẫu kiểm tra" in html
    path = first.out_dir / "worklists" / "kiem-tra-mau.xlsx"
    wb = load_workbook(path)
    ws = wb[LIST_NAME["vi"]]
    headers = [c.value for c in ws[1]]
    col = headers.index("Quyết định") + 1
    n = 0
    for r in range(2, ws.max_row + 1):
        if ws.cell(r, headers.index("Mã đối chiếu") + 1).value:
            ws.cell(r, col).value = "Không phải" if n == 0 else "Đúng người"  # one wrong link in the sample
            n += 1
    assert n == 100
    wb.save(path)
    with connect(db) as con:
        summary = import_worklists(con, [path])
    assert (summary.confirmed, summary.rejected) == (99, 1)
    second = pipeline.reconcile(
        pipeline.RunConfig(reference=REFERENCE, extracts=vacc, out_dir=out, db_path=db)
    )
    html = (second.out_dir / "report" / "bao-cao.html").read_text(encoding="utf-8")
    assert "độ chính xác đo trên mẫu 100 bản ghi: 99,0% (94,6–99,8%)" in html
    assert first.run_id in html  # the sample the figure was measured on
    (vaccination,) = second.sectors
    assert vaccination["precision_measured"]["correct"] == 99


def test_lineage_names_are_the_bare_name_unless_two_files_share_it():
    names = pipeline.lineage_names(
        [Path("/d/xa-a/tiem_chung.csv"), Path("/d/xa-b/tiem_chung.csv"), Path("/d/ho_tich.xlsx")]
    )
    assert names == ["xa-a/tiem_chung.csv", "xa-b/tiem_chung.csv", "ho_tich.xlsx"]


def test_two_communes_files_with_the_same_name_are_both_reconciled(tmp_path):
    src = pl.read_csv(SAMPLE / MANIFEST["extracts"]["vaccination"], infer_schema=False)
    half = src.height // 2
    for folder, part in (("xa-a", src.head(half)), ("xa-b", src.tail(src.height - half))):
        (tmp_path / folder).mkdir()
        part.write_csv(tmp_path / folder / "tiem_chung.csv")
    summary = pipeline.reconcile(
        pipeline.RunConfig(
            reference=REFERENCE,
            extracts=[
                pipeline.ExtractInput("vaccination", tmp_path / "xa-a" / "tiem_chung.csv"),
                pipeline.ExtractInput("vaccination", tmp_path / "xa-b" / "tiem_chung.csv"),
            ],
            out_dir=tmp_path / "out",
            db_path=tmp_path / "d.duckdb",
        )
    )
    results = pl.read_parquet(summary.out_dir / "results.parquet")
    per_file = dict(results.group_by("source_file").len().iter_rows())
    assert per_file == {"xa-a/tiem_chung.csv": half, "xa-b/tiem_chung.csv": src.height - half}
    manifest = json.loads((summary.out_dir / "manifest.json").read_text())
    assert {i["path"] for i in manifest["inputs"]} == {
        str((tmp_path / f / "tiem_chung.csv").resolve()) for f in ("xa-a", "xa-b")
    }


def test_an_extract_without_a_commune_column_publishes_with_communes_from_addresses(tmp_path):
    from sample_data.addresses import rewrite_with_addresses

    path = tmp_path / "an_sinh_xa_hoi.csv"
    rewrite_with_addresses(SAMPLE / MANIFEST["extracts"]["social_protection"], path)
    summary = pipeline.reconcile(
        pipeline.RunConfig(
            reference=REFERENCE,
            extracts=[pipeline.ExtractInput("social_protection", path)],
            out_dir=tmp_path / "out",
            db_path=tmp_path / "d.duckdb",
        )
    )
    assert summary.gate_passed, summary.gate_summary
    (sp,) = summary.sectors
    assert any("không có cột mã xã; đã suy ra từ địa chỉ cho" in w for w in sp["warnings"]), sp
    results = pl.read_parquet(summary.out_dir / "results.parquet")
    origin = dict(results.group_by("commune_origin").len().iter_rows())
    assert origin.get("from_address", 0) >= 0.95 * results.height and "coded" not in origin
    html = (summary.out_dir / "report" / "bao-cao.html").read_text(encoding="utf-8")
    assert "suy ra từ địa chỉ" in html


def test_the_audit_sample_size_is_configurable_and_a_bad_value_is_one_message(monkeypatch):
    monkeypatch.setenv("DOISOAT_AUDIT_SAMPLE", "7")
    assert pipeline.RunConfig(reference=REFERENCE, extracts=[]).audit_sample_size == 7
    results = pl.DataFrame(
        {
            "rid": list(range(20)),
            "sector": ["vaccination"] * 20,
            "status": ["matched"] * 19 + ["review"],
            "person_id": [f"P{i}" for i in range(20)],
            "match_pass": ["id_exact"] * 18 + ["steward", "id_exact"],
        }
    )
    sample = audit.draw_sample(results, "run-1", 7, ["vaccination"])
    assert sample.height == 7 and set(sample["match_pass"]) == {"id_exact"}  # automatic links only
    assert sample.equals(audit.draw_sample(results, "run-1", 7, ["vaccination"]))  # a rerun draws the same
    monkeypatch.setenv("DOISOAT_AUDIT_SAMPLE", "nhiều")
    with pytest.raises(DoisoatError, match="DOISOAT_AUDIT_SAMPLE"):
        pipeline.RunConfig(reference=REFERENCE, extracts=[])
