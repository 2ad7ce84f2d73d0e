"""Enriched extracts: the sector's own columns back, plus the population data's ID, name, birth date, flags."""

from __future__ import annotations

import stat

import openpyxl
import polars as pl
from factories import typed

from doisoat.report import enriched_frame, write_enriched

BIRTH = typed("birth_year", "birth_month", "birth_day")


def frames(source_files: list[str]) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    records = pl.DataFrame(
        {
            "rid": [1, 2, 3],
            "sector": ["bhxh"] * 3,
            "record_id": ["x#1", "x#2", "x#3"],
            "source_file": source_files,
            "source_sheet": [None] * 3,
            "source_row": [3, 1, 2],
            "file_sha256": ["h"] * 3,
            "full_name": ["=1+1", "Tran Binh", "Le Cuc"],
            "national_id": [None, "049090001234", "049190001235"],
            "phone": [None, None, None],  # the extract had no phone column
            "Ma the BHYT": ["DN4912345678901", "DN4912345678902", "DN4912345678903"],
            "name_key": ["1+1", "tran binh", "le cuc"],
            "national_id_std": [None, "049090001234", "049190001235"],
            "birth_year": [1990, 1985, 1970],
        },
        schema_overrides={"birth_year": pl.Int16, "phone": pl.Utf8, "source_sheet": pl.Utf8},
    )
    results = pl.DataFrame(
        {
            "rid": [1, 2, 3, None],
            "sector": ["bhxh"] * 4,
            "status": ["matched", "review", "matched", "quarantined"],
            "person_id": ["049050000001", "049090001234", "049190001235", None],
            "dung": [False, False, True, None],
            "du": [False, True, True, None],
            "sach": [True, True, True, None],
            "song": [True, True, False, None],
            "reasons": [["MISSING_ID", "ENRICHABLE"], ["NEEDS_REVIEW"], ["OLD_COMMUNE_CODE"], ["EMPTY_ROW"]],
        }
    )
    reference = pl.DataFrame(
        {
            "person_id": ["049050000001", "049090001234", "049190001235"],
            "national_id_std": ["049050000001", "049090001234", "049190001235"],
            "name_display": ["Nguyễn Văn An", "Trần Bình", "Lê Cúc"],
            "name_key": ["nguyễn văn an", "trần bình", "lê cúc"],
            "birth_year": [1950, 1985, 1970],
            "birth_month": [3, 7, None],
            "birth_day": [4, 8, None],
        },
        schema_overrides=BIRTH,
    )
    return results, records, reference


MAP = {"full_name": "Họ và tên", "Ma the BHYT": "Ma the BHYT", "national_id": "Số CCCD", "phone": "SĐT"}
ADDED_VI = [
    "Họ tên đã chuẩn hoá",
    "Số định danh (CSDLQG)",
    "Họ tên (CSDLQG)",
    "Ngày sinh (CSDLQG)",
    "Mã xã hiện hành",
    "Đúng",
    "Đủ",
    "Sạch",
    "Sống",
    "Trạng thái",
    "Lý do",
]


def test_own_columns_under_their_headers_in_file_order_then_added_columns():
    results, records, reference = frames(["x.csv"] * 3)
    frame = enriched_frame("bhxh", results, records, reference, MAP)
    assert frame.columns == ["Họ và tên", "Ma the BHYT", "Số CCCD", "SĐT", *ADDED_VI]
    assert frame["Họ và tên"].to_list() == ["Tran Binh", "Le Cuc", "=1+1"]  # source_row order
    assert frame["SĐT"].to_list() == [None] * 3  # the sector's own empty column comes back too


def test_another_sectors_columns_never_come_back():
    results, records, reference = frames(["x.csv"] * 3)
    other = pl.DataFrame({"rid": [9], "sector": ["vaccination"], "Tên vắc xin": ["Sởi"], "source_row": [1]})
    both = pl.concat([records, other], how="diagonal_relaxed")
    assert enriched_frame("bhxh", results, both, reference, MAP).columns[:4] == list(MAP.values())
    without_map = enriched_frame("bhxh", results, both, reference)
    assert "Tên vắc xin" not in without_map.columns and "phone" not in without_map.columns
    assert without_map.columns[:3] == ["full_name", "national_id", "Ma the BHYT"]


def test_added_values_are_vietnamese_words_or_english_on_request():
    results, records, reference = frames(["x.csv"] * 3)
    review, matched, enrichable = enriched_frame("bhxh", results, records, reference, MAP).to_dicts()
    assert (review["Trạng thái"], review["Lý do"]) == ("Cần xác minh", "Cần xác minh: khớp chưa chắc chắn")
    assert (enrichable["Đúng"], enrichable["Đủ"], enrichable["Sạch"]) == ("Không", "Không", "Có")
    assert enrichable["Lý do"] == "Thiếu số định danh; Có thể bổ sung từ CSDLQG"
    assert matched["Trạng thái"] == "Khớp"
    english = enriched_frame("bhxh", results, records, reference, MAP, lang="en").to_dicts()[2]
    assert (english["Status"], english["Correct"], english["Complete"]) == ("Matched", "No", "No")
    assert english["Reasons"] == "National ID missing; Can be filled from the population data"


def test_the_standardised_name_is_added_for_every_row():
    results, records, reference = frames(["x.csv"] * 3)
    records = records.with_columns(pl.Series("name_display", ["=1+1", "Trần Bình", "Lê Cúc"]))
    frame = enriched_frame("bhxh", results, records, reference, MAP)
    assert frame["Họ tên đã chuẩn hoá"].to_list() == ["Trần Bình", "Lê Cúc", "=1+1"]


def test_reference_values_only_for_confident_matches():
    results, records, reference = frames(["x.csv"] * 3)
    rows = enriched_frame("bhxh", results, records, reference, MAP).to_dicts()
    review, matched, enrichable = rows
    assert (review["Số định danh (CSDLQG)"], review["Họ tên (CSDLQG)"]) == (None, None)
    assert (matched["Số định danh (CSDLQG)"], matched["Ngày sinh (CSDLQG)"]) == ("049190001235", "1970")
    assert (
        enrichable["Số định danh (CSDLQG)"],
        enrichable["Họ tên (CSDLQG)"],
        enrichable["Ngày sinh (CSDLQG)"],
    ) == ("049050000001", "Nguyễn Văn An", "04/03/1950")


def test_two_columns_under_one_header_are_told_apart():
    results, records, reference = frames(["x.csv"] * 3)
    frame = enriched_frame("bhxh", results, records, reference, {"full_name": "Tên", "Ma the BHYT": "Tên"})
    assert frame.columns[:2] == ["Tên", "Tên (2)"]


def test_csv_in_csv_out_owner_only(tmp_path):
    results, records, reference = frames(["x.csv"] * 3)
    paths = write_enriched(tmp_path, results, records, reference)
    path = paths["enriched:bhxh"]
    assert path.name == "bhxh.csv"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # BOM: Excel reads the Vietnamese correctly
    back = pl.read_csv(path, infer_schema=False)
    assert back["Số định danh (CSDLQG)"].to_list() == [None, "049190001235", "049050000001"]
    assert back["full_name"].to_list()[2] == "'=1+1"  # a formula in the input stays text when Excel opens it


def test_an_xlsx_extract_is_titled_with_the_sector_label_not_its_key(tmp_path):
    results, records, reference = frames(["x.xlsx"] * 3)
    labels = {"bhxh": "Bảo hiểm xã hội, bảo hiểm y tế"}
    path = write_enriched(tmp_path, results, records, reference, labels=labels)["enriched:bhxh"]
    assert openpyxl.load_workbook(path).sheetnames == ["Bảo hiểm xã hội, bảo hiểm y tế"]


def test_xlsx_in_xlsx_out_with_text_never_formulas(tmp_path):
    results, records, reference = frames(["x.xlsx"] * 3)
    path = write_enriched(tmp_path, results, records, reference)["enriched:bhxh"]
    assert path.name == "bhxh.xlsx"
    ws = openpyxl.load_workbook(path).active
    cells = {c.value: c.data_type for row in ws.iter_rows() for c in row if "1+1" in str(c.value)}
    assert cells == {"'=1+1": "s"}  # text, and still text if a steward edits the cell or saves as CSV


def test_mixed_formats_fall_back_to_parquet(tmp_path):
    results, records, reference = frames(["x.xlsx", "y.csv", "y.csv"])
    path = write_enriched(tmp_path, results, records, reference)["enriched:bhxh"]
    assert path.name == "bhxh.parquet"
    assert pl.read_parquet(path).height == 3


def test_added_columns_never_overwrite_the_extracts_own():
    results, records, reference = frames(["x.csv"] * 3)
    records = records.with_columns(pl.lit("đang hưởng").alias("trang_thai"))
    frame = enriched_frame("bhxh", results, records, reference, {**MAP, "trang_thai": "Trạng thái"})
    assert frame["Trạng thái"].to_list() == ["đang hưởng"] * 3
    assert frame["Trạng thái (doisoat)"].to_list() == ["Cần xác minh", "Khớp", "Khớp"]


def test_large_xlsx_source_comes_back_as_csv_and_parquet_with_a_note(tmp_path):
    results, records, reference = frames(["x.xlsx"] * 3)
    paths = write_enriched(tmp_path, results, records, reference, xlsx_max_rows=2)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bhxh.csv", "bhxh.parquet", "ghi-chu.txt"]
    assert paths["enriched:bhxh"].name == "bhxh.csv"
    assert paths["enriched:bhxh"].read_bytes().startswith(b"\xef\xbb\xbf")
    back = pl.read_parquet(paths["enriched:bhxh:parquet"])
    as_csv = pl.read_csv(paths["enriched:bhxh"], schema=back.schema)
    assert back["full_name"].to_list() == ["Tran Binh", "Le Cuc", "=1+1"]  # Parquet: the values as read
    assert as_csv["full_name"].to_list() == ["Tran Binh", "Le Cuc", "'=1+1"]  # CSV: formula-safe
    assert back.drop("full_name").equals(as_csv.drop("full_name"))
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in paths.values())
    note = paths["enriched_notes"].read_text(encoding="utf-8")
    assert note.startswith("bhxh: tệp nguồn là XLSX nhưng có 3 dòng (quá 2 dòng)")
    small = write_enriched(tmp_path / "small", results, records, reference, xlsx_max_rows=3)
    assert set(small) == {"enriched:bhxh"} and small["enriched:bhxh"].suffix == ".xlsx"


def test_xlsx_extract_keeps_types_header_and_order(tmp_path):
    results, records, reference = frames(["x.xlsx"] * 3)
    path = write_enriched(tmp_path, results, records, reference)["enriched:bhxh"]
    ws = openpyxl.load_workbook(path).active
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0] == tuple(enriched_frame("bhxh", results, records, reference).columns)
    assert rows[1][:3] == ("Tran Binh", "049090001234", "DN4912345678902")
    assert rows[3][8:12] == ("Không", "Không", "Có", "Có")  # the four flags in words
    assert ws.freeze_panes == "A2"


def test_records_read_lazily_from_parquet_give_the_same_extract(tmp_path):
    results, records, reference = frames(["x.csv"] * 3)
    records.write_parquet(tmp_path / "records_std.parquet")
    lazy = pl.scan_parquet(tmp_path / "records_std.parquet")  # as the pipeline passes its spilled records
    eager = enriched_frame("bhxh", results, records, reference)
    assert eager.height == 3
    assert enriched_frame("bhxh", results, lazy, reference).equals(eager)
    out_eager, out_lazy = tmp_path / "eager", tmp_path / "lazy"
    write_enriched(out_eager, results, records, reference)
    write_enriched(out_lazy, results, lazy, reference)
    assert (out_eager / "bhxh.csv").read_bytes() == (out_lazy / "bhxh.csv").read_bytes()
