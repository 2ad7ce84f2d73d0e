"""The nightly flow end to end on the committed sample: real files, a real DuckDB file, a real Prefect flow run."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from doisoat import pipeline

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample_data" / "demo"
STATUSES = {"matched", "review", "unmatched", "duplicate", "quarantined"}


def _sample_args() -> tuple[str, list[str]]:
    manifest = json.loads((SAMPLE / "manifest.json").read_text(encoding="utf-8"))
    return str(SAMPLE / manifest["reference"]), [f"{s}={SAMPLE / f}" for s, f in manifest["extracts"].items()]


def _sample_config(base: Path, out: str, extra: list[str] = ()) -> pipeline.RunConfig:
    reference, extracts = _sample_args()
    return pipeline.RunConfig(
        reference=Path(reference),
        extracts=[pipeline.ExtractInput.parse(e) for e in [*extracts, *extra]],
        out_dir=base / out,
        db_path=base / "doisoat.duckdb",
    )


@pytest.fixture(scope="module")
def two_runs(prefect_harness, tmp_path_factory):
    """Run A on the sample; run B on the same files plus a corrupt workbook, into the same DuckDB file."""
    from flows.nightly import nightly

    base = tmp_path_factory.mktemp("e2e")
    a = nightly(_sample_config(base, "run-a"))
    broken = base / "hong.xlsx"
    broken.write_bytes(b"PK\x03\x04 this is not really a workbook")
    b = nightly(_sample_config(base, "run-b", [f"civil_status={broken}"]))
    return a, b, base


def test_every_input_row_is_in_the_results_exactly_once(two_runs):
    a, _, _ = two_runs
    results = pl.read_parquet(Path(a["out_dir"]) / "results.parquet")
    truth = pl.read_parquet(
        SAMPLE / "truth" / "truth.parquet"
    )  # one row per input row, written by the generator
    keys = ["source_file", "source_row"]
    assert results.height == truth.height
    assert results.select(keys).is_duplicated().sum() == 0
    assert truth.select(keys).join(results.select(keys), on=keys, how="anti").height == 0
    assert set(results["status"].unique()) <= STATUSES
    assert results["run_id"].n_unique() == 1


def test_results_follow_the_contract(two_runs):
    a, _, _ = two_runs
    results = pl.read_parquet(Path(a["out_dir"]) / "results.parquet")
    for col in pipeline.RESULT_COLUMNS:
        if col != "rid":
            assert col in results.columns, col
    linked = results.filter(pl.col("status") == "matched")
    assert linked["person_id"].str.contains(r"^\d{12}$").all()
    assert (
        results.filter(pl.col("status") == "quarantined")["dung"].null_count()
        == results.filter(pl.col("status") == "quarantined").height
    )
    probs = results["match_probability"].drop_nulls()
    assert ((probs >= 0) & (probs <= 1)).all()
    assert results["source_row"].min() >= 1


def test_run_publishes_reports_worklists_enriched_data_docs_and_manifest(two_runs):
    a, _, _ = two_runs
    out = Path(a["out_dir"])
    assert a["published"] is True
    for rel in (
        "report/bao-cao.html",
        "report/bao-cao.xlsx",
        "worklists/tong-hop.xlsx",
        "data_docs/index.html",
        "manifest.json",
        "results.parquet",
    ):
        assert (out / rel).is_file(), rel
    assert len(list((out / "enriched").iterdir())) == 4
    manifest = json.loads((out / "manifest.json").read_text())
    assert {i["sha256"] for i in manifest["inputs"]} and all(
        len(i["sha256"]) == 64 for i in manifest["inputs"]
    )
    assert oct((out / "results.parquet").stat().st_mode)[-3:] == "600"


def test_enriched_extracts_give_each_sector_its_own_headers_in_order_then_the_added_columns(two_runs):
    import openpyxl

    from doisoat.report.enriched import ADDED

    a, _, _ = two_runs
    out = Path(a["out_dir"]) / "enriched"
    added = [h["vi"] for h in ADDED.values()]
    for sector, name in (("vaccination", "tiem_chung.csv"), ("social_protection", "an_sinh_xa_hoi.csv")):
        first = (SAMPLE / name).read_bytes().split(b"\n")[0].decode("utf-8-sig").rstrip("\r")
        sent = first.split(";" if ";" in first else ",")
        back = pl.read_csv(out / f"{sector}.csv", infer_schema=False)
        assert back.columns == [*sent, *added], sector  # no other sector's columns, nothing renamed
        assert set(back["Trạng thái"].unique()) <= {"Khớp", "Cần xác minh", "Không tìm thấy", "Trùng"}
        assert back["Họ tên đã chuẩn hoá"].null_count() < back.height
    sheet = openpyxl.load_workbook(out / "civil_status.xlsx").active
    assert sheet.title == "Hộ tịch"  # the sector's label, never its key
    header = next(sheet.iter_rows(values_only=True))
    assert "Số đăng ký" in header and "register_no" not in header and "Tên vắc xin" not in header


def test_worklists_exist_for_every_commune_with_records_needing_action(two_runs):
    """Needing action: a non-matched status, or a finding other than information and the bulk code conversion."""
    from doisoat.reasons import REASONS

    a, _, _ = two_runs
    out = Path(a["out_dir"])
    results = pl.read_parquet(out / "results.parquet")
    actionable = [c for c, r in REASONS.items() if r.dimension != "info" and c != "OLD_COMMUNE_CODE"]
    needing = (
        results.filter(
            (pl.col("status") != "matched")
            | pl.col("reasons").list.eval(pl.element().is_in(actionable)).list.any()
        )
        .filter(pl.col("commune_code_std").is_not_null())["commune_code_std"]
        .unique()
    )
    # files are named by code and commune name ("20194-phuong-hai-van.xlsx")
    files = {p.stem.split("-")[0] for p in (out / "worklists").glob("*.xlsx")}
    assert any(
        p.stem.startswith(("20", "xa_cu_")) and "-" in p.stem for p in (out / "worklists").glob("*.xlsx")
    )
    assert needing.len() > 0
    assert set(needing.to_list()) <= files


def test_same_inputs_give_identical_results_and_a_bad_file_holds_only_its_sector(two_runs):
    a, b, _ = two_runs
    ra = pl.read_parquet(Path(a["out_dir"]) / "results.parquet").drop("run_id", "published")
    rb = pl.read_parquet(Path(b["out_dir"]) / "results.parquet").drop("run_id")
    assert b["published"] is True and b["all_published"] is False
    assert rb.filter(pl.col("source_file") == "hong.xlsx").height == 0
    assert ra.equals(rb.filter(pl.col("source_file") != "hong.xlsx").drop("published"))
    # the civil-status register is incomplete without the broken workbook: held back, the others published
    held = {s["sector"] for s in b["sectors"] if not s["published"]}
    assert held == {"civil_status"}
    assert set(rb.filter(~pl.col("published"))["sector"].unique()) == {"civil_status"}
    assert any("hong.xlsx" in m and "KHÔNG DÙNG ĐƯỢC" in m for m in b["file_messages"])
    manifest = json.loads((Path(b["out_dir"]) / "manifest.json").read_text())
    bad = [i for i in manifest["inputs"] if i["file"] == "hong.xlsx"]
    assert bad and bad[0]["ok"] is False and bad[0]["messages"][0]["severity"] == "error"
    assert manifest["sectors"]["civil_status"]["published"] is False
    assert manifest["sectors"]["civil_status"]["in_force"]["run_id"] == a["run_id"]
    report = (Path(b["out_dir"]) / "report" / "bao-cao.html").read_text(encoding="utf-8")
    assert "Tệp không dùng được" in report and "hong.xlsx" in report and "Chưa công bố" in report


def test_cli_run_and_evaluate_print_vietnamese_summaries(prefect_harness, tmp_path):
    reference, extracts = _sample_args()
    env = {**os.environ, "DOISOAT_HOME": str(tmp_path / "home")}
    args = [sys.executable, "-m", "doisoat.cli", "run", "--reference", reference]
    for e in extracts:
        args += ["--extract", e]
    args += ["--out", str(tmp_path / "run"), "--db", str(tmp_path / "d.duckdb")]
    run = subprocess.run(args, capture_output=True, text=True, env=env, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "Báo cáo" in run.stdout and "Tổng số bản ghi" in run.stdout
    # step lines with counts and seconds while it runs (stderr), never a name or an ID
    assert (
        "Đọc tệp chuyên ngành:" in run.stderr and "Ghép với CSDLQG:" in run.stderr and "giây)" in run.stderr
    )
    # how sure the linking is, in the matcher's own estimates and Vietnamese number format
    assert "Độ tin cậy của việc ghép: Ghép tự động khi xác suất khớp từ 95,00%" in run.stdout
    ev = subprocess.run(
        [
            sys.executable,
            "-m",
            "doisoat.cli",
            "evaluate",
            "--truth",
            str(SAMPLE),
            "--results",
            str(tmp_path / "run" / "latest" / "results.parquet"),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert ev.returncode == 0, ev.stderr[-2000:]
    assert "F1" in ev.stdout and "Hộ tịch" in ev.stdout


@pytest.mark.parametrize("notebook", ["taskforce_figures.py", "steward_review.py"])
def test_notebooks_run_on_the_published_run(two_runs, notebook, monkeypatch, capsys):
    import runpy

    a, _, _ = two_runs
    monkeypatch.setenv("DOISOAT_RUN", a["out_dir"])
    runpy.run_path(str(ROOT / "notebooks" / notebook), run_name="__main__")
    out = capsys.readouterr().out
    assert "Lượt chạy" in out or "tệp danh sách rà soát" in out
    assert re.search(r"\b\d{9,12}\b", out) is None  # no ID reaches what a notebook prints


def test_published_report_and_data_docs_open_in_headless_chromium(two_runs, tmp_path):
    """The run's own HTML report and its Data Docs, as a person opens them from the run folder."""
    from test_browser import CHROMIUM, console_lines, run_chromium

    if CHROMIUM is None:
        if os.environ.get("DOISOAT_REQUIRE_BROWSER") == "1":
            pytest.fail("Chromium is required (DOISOAT_REQUIRE_BROWSER=1) but is absent")
        pytest.skip("Chromium not installed")
    a, _, _ = two_runs
    out = Path(a["out_dir"])
    report = run_chromium(CHROMIUM, out / "report" / "bao-cao.html", tmp_path, "--dump-dom")
    assert report.returncode == 0 and "<svg" in report.stdout
    assert "../data_docs/index.html" in report.stdout  # the report links the run's Data Docs
    assert console_lines(report.stderr) == []
    docs = run_chromium(CHROMIUM, out / "data_docs" / "index.html", tmp_path, "--dump-dom")
    assert docs.returncode == 0
    assert "results-v2" in docs.stdout and "extract-vaccination-v2" in docs.stdout
    shot = tmp_path / "data_docs.png"
    run_chromium(
        CHROMIUM, out / "data_docs" / "index.html", tmp_path, f"--screenshot={shot}", "--window-size=1280,900"
    )
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
