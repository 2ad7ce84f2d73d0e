"""Enriched extracts: the sector's own columns back, plus the population data's ID, name, birth date, flags."""

from __future__ import annotations

import stat

import openpyxl
import polars as pl

from doisoat.report import enriched_frame, write_enriched

BIRTH = {"birth_year": pl.Int16, "birth_month": pl.Int8, "birth_day": pl.Int8}


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


def test_own_columns_in_source_order_then_added_columns():
    results, records, reference = frames(["x.csv"] * 3)
    frame = enriched_frame("bhxh", results, records, reference)
    assert frame.columns == [
        "full_name",
        "national_id",
        "Ma the BHYT",
        "so_dinh_danh_csdlqg",
        "ho_ten_csdlqg",
        "ngay_sinh_csdlqg",
        "ma_xa_hien_hanh",
        "dung",
        "du",
        "sach",
        "song",
        "trang_thai",
        "ma_ly_do",
    ]
    assert frame["full_name"].to_list() == ["Tran Binh", "Le Cuc", "=1+1"]  # source_row order


def test_reference_values_only_for_confident_matches():
    results, records, reference = frames(["x.csv"] * 3)
    rows = enriched_frame("bhxh", results, records, reference).to_dicts()
    review, matched, enrichable = rows
    assert (review["so_dinh_danh_csdlqg"], review["ho_ten_csdlqg"], review["trang_thai"]) == (
        None,
        None,
        "review",
    )
    assert (matched["so_dinh_danh_csdlqg"], matched["ngay_sinh_csdlqg"]) == ("049190001235", "1970")
    assert (
        enrichable["so_dinh_danh_csdlqg"],
        enrichable["ho_ten_csdlqg"],
        enrichable["ngay_sinh_csdlqg"],
    ) == (
        "049050000001",
        "Nguyễn Văn An",
        "04/03/1950",
    )
    assert (enrichable["dung"], enrichable["du"], enrichable["ma_ly_do"]) == (
        False,
        False,
        "MISSING_ID,ENRICHABLE",
    )


def test_column_map_restores_original_headers_either_way_round():
    results, records, reference = frames(["x.csv"] * 3)
    a = enriched_frame("bhxh", results, records, reference, {"full_name": "Họ và tên", "phone": "SĐT"})
    b = enriched_frame("bhxh", results, records, reference, {"Họ và tên": "full_name", "SĐT": "phone"})
    assert a.columns[:4] == b.columns[:4] == ["Họ và tên", "national_id", "SĐT", "Ma the BHYT"]


def test_csv_in_csv_out_owner_only(tmp_path):
    results, records, reference = frames(["x.csv"] * 3)
    paths = write_enriched(tmp_path, results, records, reference)
    path = paths["enriched:bhxh"]
    assert path.name == "bhxh.csv"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # BOM: Excel reads the Vietnamese correctly
    back = pl.read_csv(path, infer_schema=False)
    assert back["so_dinh_danh_csdlqg"].to_list() == [None, "049190001235", "049050000001"]
    assert back["full_name"].to_list()[2] == "'=1+1"  # a formula in the input stays text when Excel opens it


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
    records = records.with_columns(pl.lit("đang hưởng").alias("trang_thai"), pl.lit("x").alias("status"))
    frame = enriched_frame("bhxh", results, records, reference)
    assert frame["trang_thai"].to_list() == ["đang hưởng"] * 3
    assert frame["status"].to_list() == ["x"] * 3
    assert frame["trang_thai_doisoat"].to_list() == ["review", "matched", "matched"]


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
    assert rows[3][7:11] == (False, False, True, True)  # the four flags stay booleans
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
