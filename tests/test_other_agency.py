"""The sample's extracts re-shaped as other agencies would send them: other headers, order, layout and encoding.

Nothing in doisoat knows these headers; the run must still recognise the columns, keep every row and link as well.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import duckdb
import polars as pl
import pytest
import xlsxwriter

from doisoat import pipeline
from doisoat.evaluate import blocking_recall_by_kind, evaluate
from doisoat.match import MatchModel, MatchSettings, link
from doisoat.match.blocking import blocked_pairs
from doisoat.reference import load_reference

SAMPLE = Path(__file__).resolve().parent.parent / "sample_data" / "demo"

VACCINATION_HEADERS = {  # the sample's header → a provincial health department's export
    "Mã đối tượng": "MA_DT",
    "Họ và tên": "HO TEN NGUOI DUOC TIEM",
    "Ngày sinh": "NGAY/THANG/NAM SINH",
    "Giới tính": "GIOI",
    "Số định danh": "SO CCCD",
    "Tên vắc xin": "VACXIN",
    "Mũi thứ": "MUI SO",
    "Ngày tiêm": "NGAY TIEM",
    "Cơ sở tiêm chủng": "DON VI TIEM",
    "Mã xã": "MA PHUONG/XA",
    "Số điện thoại": "DIEN THOAI",
}
INSURANCE_HEADERS = {
    "ma_so_bhxh": "Mã số BHXH",
    "so_the_bhyt": "Số thẻ BHYT",
    "ho_ten": "Họ tên người tham gia",
    "ngay_sinh": "Ngày, tháng, năm sinh",
    "gioi_tinh": "Giới",
    "so_cccd": "Số CCCD/CMND",
    "ma_xa": "Mã ĐVHC xã",
    "trang_thai": "Tình trạng tham gia",
    "ngay_dong_cuoi": "Tháng đóng gần nhất",
    "so_dien_thoai": "SĐT liên hệ",
}


def _vaccination_xlsx(path: Path) -> None:
    """Another title block, a column-number row, columns in another order, an STT column first."""
    df = pl.read_csv(SAMPLE / "tiem_chung.csv", infer_schema=False).rename(VACCINATION_HEADERS)
    cols = [
        "SO CCCD",
        "HO TEN NGUOI DUOC TIEM",
        "GIOI",
        "NGAY/THANG/NAM SINH",
        "VACXIN",
        "MUI SO",
        "NGAY TIEM",
        "DON VI TIEM",
        "MA PHUONG/XA",
        "DIEN THOAI",
        "MA_DT",
    ]
    df = df.select(cols)
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("Sheet1")
    ws.write(0, 0, "SỞ Y TẾ THÀNH PHỐ ĐÀ NẴNG")
    ws.write(1, 0, "BÁO CÁO DANH SÁCH ĐỐI TƯỢNG ĐÃ TIÊM CHỦNG")
    ws.write_row(3, 0, ["STT", *cols])
    ws.write_row(4, 0, [f"({i})" for i in range(1, len(cols) + 2)])
    for i, row in enumerate(df.iter_rows()):
        ws.write_row(5 + i, 0, [i + 1, *row])
    wb.close()


def _insurance_utf16(path: Path) -> None:
    """Excel's "Unicode text": UTF-16 with a BOM, tab separated."""
    df = pl.read_parquet(SAMPLE / "bao_hiem.parquet").rename(INSURANCE_HEADERS)
    text = df.write_csv(separator="\t")
    path.write_bytes(text.encode("utf-16"))


@pytest.fixture(scope="module")
def other_agency_run(tmp_path_factory):
    base = tmp_path_factory.mktemp("agency")
    vac, ins = base / "bc_tiem_chung_so_y_te.xlsx", base / "bhxh_xuat_du_lieu.txt"
    _vaccination_xlsx(vac)
    _insurance_utf16(ins)
    truth = (
        pl.read_parquet(SAMPLE / "truth" / "truth.parquet")
        .with_columns(
            pl.col("source_file").replace({"tiem_chung.csv": vac.name, "bao_hiem.parquet": ins.name})
        )
        .filter(pl.col("source_file").is_in([vac.name, ins.name]))
    )
    (base / "truth").mkdir()
    truth.write_parquet(base / "truth" / "truth.parquet")
    manifest = json.loads((SAMPLE / "manifest.json").read_text())
    config = pipeline.RunConfig(
        reference=SAMPLE / manifest["reference"],
        extracts=[pipeline.ExtractInput("vaccination", vac), pipeline.ExtractInput("insurance", ins)],
        out_dir=base / "run",
        db_path=base / "d.duckdb",
    )
    summary = pipeline.reconcile(config)
    return summary, base, truth


def test_every_row_of_the_reshaped_extracts_is_in_the_results_once(other_agency_run):
    summary, _, truth = other_agency_run
    results = pl.read_parquet(summary.out_dir / "results.parquet")
    keys = ["source_file", "source_row"]
    assert results.height == truth.height
    assert truth.select(keys).join(results.select(keys), on=keys, how="anti").height == 0
    assert results.filter(pl.col("status") == "quarantined").height == 0


def test_headers_never_seen_before_are_mapped_to_the_right_fields(other_agency_run):
    summary, _, _ = other_agency_run
    manifest = json.loads((summary.out_dir / "manifest.json").read_text())
    mapping = {i["sector"]: i["mapping"] for i in manifest["inputs"]}
    assert mapping["vaccination"]["full_name"] == "HO TEN NGUOI DUOC TIEM"
    assert mapping["vaccination"]["birth_date"] == "NGAY/THANG/NAM SINH"
    assert mapping["vaccination"]["national_id"] == "SO CCCD"
    assert mapping["vaccination"]["event_date"] == "NGAY TIEM"
    assert mapping["insurance"]["insurance_id"] == "Mã số BHXH"
    assert mapping["insurance"]["birth_date"] == "Ngày, tháng, năm sinh"
    assert mapping["insurance"]["commune_code"] == "Mã ĐVHC xã"


def test_links_are_as_good_as_on_the_sample_layout(other_agency_run):
    summary, base, _ = other_agency_run
    m = evaluate(base, summary.out_dir / "results.parquet")
    assert m.overall["f1"] >= 0.99
    assert m.per_sector.height == 2
    for sector in m.per_sector.iter_rows(named=True):
        assert sector["f1"] >= 0.99, sector


def test_the_run_folder_keeps_the_models_estimated_on_its_data(other_agency_run):
    summary, _, _ = other_agency_run
    manifest = json.loads((summary.out_dir / "manifest.json").read_text())
    models = manifest["model"]
    assert {"vaccination", "insurance", "*"} <= set(models)
    for sector, entry in models.items():
        assert len(entry["sha256"]) == 64, sector
        saved = MatchModel.load(summary.out_dir / entry["file"])
        assert saved.sha256() == entry["sha256"]
    assert models["vaccination"]["source"] == "estimated"
    assert models["vaccination"]["thresholds"]["est_precision_matched"] >= 0.999


# ── extracts written by bench/other_agency.py: its own population, headers and error mix (a tuning seed) ──────
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))


@pytest.fixture(scope="module")
def agency_frames(tmp_path_factory):
    from bench_match import standardised_frames
    from other_agency import TUNING_SEEDS, make

    out = tmp_path_factory.mktemp("other_agency")
    manifest = make(out, people=2500, seed=TUNING_SEEDS[1])
    records_std, ref_std = standardised_frames(out, manifest, {})
    con = duckdb.connect()
    load_reference(con, ref_std, "other-agency")
    return out, con, records_std


def test_blocking_reaches_the_true_person_for_every_kind_of_error(agency_frames):
    out, con, records_std = agency_frames
    pairs = blocked_pairs(con, records_std, MatchSettings())
    keyed = records_std.select("rid", "source_file", "source_row").join(pairs, on="rid")
    single = blocking_recall_by_kind(out, keyed, max_kinds=1)
    for row in single.iter_rows(named=True):
        assert row["blocking_recall"] >= 0.995, row
    both = blocking_recall_by_kind(out, keyed)
    assert both.filter(pl.col("error") == "(all)")["blocking_recall"][0] >= 0.999
    # every record with a kind, whatever else it carries (typo + year ± 1, merged syllables + typo: the pairs of
    # kinds that lost most), and each pair of kinds seen often enough to measure
    for row in both.filter(pl.col("records") >= 100).iter_rows(named=True):
        assert row["blocking_recall"] >= 0.995, row
    assert {"relative_id", "year_off_by_one", "placeholder_0101", "merged_syllables"} <= set(single["error"])


def test_links_hold_on_another_agencys_error_mix_and_the_cascade_costs_no_recall(agency_frames):
    out, con, records_std = agency_frames
    scores = {}
    for cascade in (True, False):
        res = link(con, records_std, MatchModel.default(), MatchSettings(cascade=cascade), {})
        results = records_std.select("rid", "sector", "source_file", "source_row").join(
            res.matches.select("rid", "person_id", pl.col("match_status").alias("status")), on="rid"
        )
        scores[cascade] = evaluate(out, results)
    m = scores[True]
    assert m.overall["precision"] >= 0.999 and m.overall["f1"] >= 0.995
    assert m.overall["nonmatch_f1"] >= 0.9
    relative = m.per_error.filter(pl.col("error") == "relative_id").row(0, named=True)
    assert relative["recall"] >= 0.97
    assert scores[True].overall["tp"] >= scores[False].overall["tp"] - 2


def test_model_show_prints_each_sectors_weights_chart(other_agency_run):
    from doisoat.match.show import show_run

    summary, _, _ = other_agency_run
    text = show_run(summary.out_dir)
    assert "== vaccination: estimated" in text and "== tất cả lĩnh vực" in text
    assert "id / other_person" in text and "birth / year_pm1" in text
