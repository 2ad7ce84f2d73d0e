"""Write–audit–publish: a run whose checks fail publishes nothing and leaves the previous reports untouched."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from doisoat import pipeline

SAMPLE = Path(__file__).resolve().parent.parent / "sample_data" / "demo"


@pytest.fixture(scope="module")
def good_then_broken(tmp_path_factory):
    base = tmp_path_factory.mktemp("gate")
    manifest = json.loads((SAMPLE / "manifest.json").read_text())
    reference = SAMPLE / manifest["reference"]
    out = base / "tiem-chung"
    db = base / "d.duckdb"
    good = pipeline.reconcile(
        pipeline.RunConfig(
            reference=reference,
            extracts=[pipeline.ExtractInput("vaccination", SAMPLE / "tiem_chung.csv")],
            out_dir=out,
            db_path=db,
        )
    )
    published_before = (out / "latest" / "results.parquet").read_bytes()
    # The same extract after a broken export: every ID replaced by text that is no number at all.
    broken = base / "tiem_chung.csv"
    df = pl.read_csv(SAMPLE / "tiem_chung.csv", infer_schema=False)
    df.with_columns(pl.lit("KHONG-RO").alias("Số định danh")).write_csv(broken)
    bad = pipeline.reconcile(
        pipeline.RunConfig(
            reference=reference,
            extracts=[pipeline.ExtractInput("vaccination", broken)],
            out_dir=out,
            db_path=db,
        )
    )
    return good, bad, out, published_before


def test_first_clean_run_is_published(good_then_broken):
    good, _, out, _ = good_then_broken
    assert good.published and good.out_dir == out.resolve() / good.run_id
    assert (out / "latest").resolve() == good.out_dir


def test_failed_gate_keeps_the_previous_published_results(good_then_broken):
    _, bad, out, published_before = good_then_broken
    assert bad.published is False
    assert (out / "latest" / "results.parquet").read_bytes() == published_before
    assert (out / "latest").resolve() != bad.out_dir  # the held run keeps its own folder, latest stays


def test_failed_gate_explains_in_vietnamese_which_expectation_failed(good_then_broken):
    _, bad, _, _ = good_then_broken
    text = (bad.out_dir / "gate.txt").read_text(encoding="utf-8")
    assert "KHÔNG ĐẠT" in text.upper()
    assert "số định danh" in text.lower() and "Tiêm chủng" in text
    gate = json.loads((bad.out_dir / "manifest.json").read_text())["gate"]
    assert gate["passed"] is False and gate["failures"]


def test_the_runs_work_folder_is_removed_after_passing_and_failing_runs(good_then_broken):
    from doisoat import settings

    # the standardised records spilled between steps hold personal data: nothing may stay behind
    assert list((settings.home() / "work").glob("*")) == []


def test_the_manifest_records_the_whole_run_configuration(good_then_broken):
    good, _, out, _ = good_then_broken
    config = json.loads((good.out_dir / "manifest.json").read_text())["config"]
    assert config["extracts"] == [
        {"sector": "vaccination", "path": str((SAMPLE / "tiem_chung.csv").resolve()), "sheet": None}
    ]
    assert config["out_dir"] == str(out.resolve()) and config["db_path"].endswith("d.duckdb")
    assert (config["lang"], config["suppress_below"], config["audit_sample_size"]) == ("vi", 5, 100)
    again = pipeline.RunConfig.from_dict(config)  # the record is the configuration: it can be run again
    assert again.to_dict() == config and isinstance(again.reference, Path)
