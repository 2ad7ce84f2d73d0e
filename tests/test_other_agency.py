"""The sample's extracts re-shaped as other agencies would send them: other headers, order, layout and encoding.

Nothing in doisoat knows these headers; the run must still recognise the columns, keep every row and link as well.
"""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
import xlsxwriter

from doisoat import pipeline
from doisoat.evaluate import evaluate

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
