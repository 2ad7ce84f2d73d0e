"""Readers: CSV in every encoding and separator agencies produce, XLSX below title blocks, Parquet; lineage."""

from __future__ import annotations

import datetime as dt
import hashlib
import unicodedata

import polars as pl
import pytest
import xlsxwriter

from doisoat.ingest import format_mapping, ingest_file, ingest_files
from schemas import load_sector

HEADER = ["STT", "Họ và tên", "Ngày sinh", "Giới tính", "Số CCCD", "Loại vắc xin", "Ngày tiêm"]
ROWS = [
    ["1", "Nguyễn Thị Hoà", "05/03/1990", "Nữ", "049190001234", "Sởi", "02/01/2024"],
    ["2", "Trần Văn Đức", "1950", "Nam", "", "Viêm gan B", "03/01/2024"],
]


def to_cp1258(text: str) -> bytes:
    """Windows-1258 as Vietnamese Windows writes it: base letter (â ê ô ơ ư ă đ precomposed) + tone mark byte."""
    out = bytearray()
    for ch in text:
        try:
            out += ch.encode("cp1258")
            continue
        except UnicodeEncodeError:
            pass
        decomposed = unicodedata.normalize("NFD", ch)
        base, marks = decomposed[0], decomposed[1:]
        for mark in marks:
            composed = unicodedata.normalize("NFC", base + mark)
            try:
                composed.encode("cp1258")
            except UnicodeEncodeError:
                continue
            if len(composed) == 1:
                base, marks = composed, marks.replace(mark, "", 1)
        out += (base + marks).encode("cp1258")
    return bytes(out)


def _encode(text: str, encoding: str) -> bytes:
    return to_cp1258(text) if encoding == "cp1258" else text.encode(encoding)


def _csv_text(sep: str = ",") -> str:
    return "\n".join(sep.join(r) for r in [HEADER, *ROWS]) + "\n"


def _nothing_lost(res) -> None:
    assert res.n_input_rows == res.records.height + res.quarantine.height


def _names(res) -> list[str]:
    return res.records.sort("source_row")["full_name"].to_list()


@pytest.mark.parametrize(
    ("encoding", "sep"),
    [("utf-8", ","), ("utf-8-sig", ";"), ("utf-16", "\t"), ("cp1258", ","), ("utf-8", "|")],
)
def test_csv_encodings_and_separators_read_the_same_records(tmp_path, encoding, sep):
    path = tmp_path / "tiem.csv"
    path.write_bytes(_encode(_csv_text(sep), encoding))
    res = ingest_file(path, load_sector("vaccination"))
    assert res.ok, res.errors
    _nothing_lost(res)
    assert [unicodedata.normalize("NFC", n) for n in _names(res)] == ["Nguyễn Thị Hoà", "Trần Văn Đức"]
    assert res.records["national_id"].to_list() == ["049190001234", None]  # leading zero kept, blank → null


def test_cp1258_file_is_transcoded_and_says_so(tmp_path):
    path = tmp_path / "cp.csv"
    path.write_bytes(to_cp1258(_csv_text()))
    res = ingest_file(path, load_sector("vaccination"))
    assert any("CP1258" in w for w in res.warnings)


def test_lineage_columns_and_sha256(tmp_path):
    path = tmp_path / "tiem.csv"
    path.write_text(_csv_text(), encoding="utf-8")
    res = ingest_file(path, load_sector("vaccination"))
    rec = res.records
    assert rec.columns[:6] == [
        "sector",
        "record_id",
        "source_file",
        "source_sheet",
        "source_row",
        "file_sha256",
    ]
    assert rec["record_id"].to_list() == ["tiem.csv#1", "tiem.csv#2"]
    assert rec["source_row"].to_list() == [1, 2]
    assert rec["source_sheet"].to_list() == [None, None]
    assert set(rec["file_sha256"]) == {hashlib.sha256(path.read_bytes()).hexdigest()} == {res.sha256}
    assert "rid" not in rec.columns
    assert rec["STT"].to_list() == ["1", "2"]  # other columns kept under their own header
    assert rec["last_activity_date"].to_list() == [None, None]  # absent canonical field present as null


def test_xlsx_header_below_title_block_with_two_row_header_and_date_cells(tmp_path):
    path = tmp_path / "ho_tich.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("DanhSach")
    datefmt = wb.add_format({"num_format": "dd/mm/yyyy"})
    ws.write(0, 0, "UBND TỈNH QUẢNG NAM")
    ws.merge_range(2, 0, 2, 5, "DANH SÁCH ĐĂNG KÝ HỘ TỊCH")
    ws.merge_range(4, 0, 5, 0, "STT")
    ws.merge_range(4, 1, 5, 1, "Loại việc")
    ws.merge_range(4, 2, 4, 4, "Thông tin người được đăng ký")
    ws.write_row(5, 2, ["Họ và tên", "Ngày sinh", "Số định danh cá nhân"])
    ws.merge_range(4, 5, 5, 5, "Ngày đăng ký")
    ws.write_row(6, 0, ["(1)", "(2)", "(3)", "(4)", "(5)", "(6)"])
    ws.write_row(7, 0, [1, "Khai sinh", "Lê Văn Tám"])
    ws.write_datetime(7, 3, dt.datetime(2009, 4, 4), datefmt)
    ws.write_number(7, 4, 49209555256)  # Excel ate the leading zero
    ws.write_datetime(7, 5, dt.datetime(2009, 4, 10), datefmt)
    ws.write_row(8, 0, [2, "Kết hôn", "Phạm Thị Hoa", 32874, "049190001234", "01/02/2015"])
    wb.close()
    res = ingest_file(path, load_sector("civil_status"))
    assert res.ok, res.errors
    _nothing_lost(res)
    assert res.n_input_rows == 2
    assert res.mapping["birth_date"] == "Thông tin người được đăng ký Ngày sinh"
    rec = res.records.sort("source_row")
    assert rec["birth_date"].to_list() == ["2009-04-04", "32874"]  # date cell → ISO; serial number as text
    assert rec["national_id"].to_list() == ["49209555256", "049190001234"]
    assert rec["event_date"].to_list() == ["2009-04-10", "01/02/2015"]
    assert rec["STT"].to_list() == ["1", "2"]  # numbers without ".0"
    assert rec["source_sheet"].to_list() == ["DanhSach", "DanhSach"]


def test_named_sheet_and_missing_sheet(tmp_path):
    path = tmp_path / "two.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    wb.add_worksheet("Ghi chu").write(0, 0, "không phải dữ liệu")
    ws = wb.add_worksheet("Tiem")
    for r, row in enumerate([HEADER, *ROWS]):
        ws.write_row(r, 0, row)
    wb.close()
    res = ingest_file(path, load_sector("vaccination"), sheet="Tiem")
    assert res.ok and res.records.height == 2 and res.source_sheet == "Tiem"
    bad = ingest_file(path, load_sector("vaccination"), sheet="Khong co")
    assert not bad.ok and "Khong co" in bad.errors[0] and "two.xlsx" in bad.errors[0]


def test_parquet_dates_and_floats_become_text(tmp_path):
    path = tmp_path / "bh.parquet"
    pl.DataFrame(
        {
            "Mã số BHXH": ["0123456789"],
            "Họ tên": ["Võ Thị Sáu"],
            "Ngày sinh": [dt.date(1933, 1, 1)],
            "Số CCCD": ["049133000001"],
            "Mức đóng": [1500000.0],
        }
    ).write_parquet(path)
    res = ingest_file(path, load_sector("insurance"))
    assert res.ok, res.errors
    row = res.records.row(0, named=True)
    assert row["insurance_id"] == "0123456789" and row["birth_date"] == "1933-01-01"
    assert row["Mức đóng"] == "1500000"
    assert row["record_id"] == "0123456789"


def test_identical_file_is_recognised_against_previous_runs_and_within_a_batch(tmp_path):
    a = tmp_path / "a.csv"
    a.write_text(_csv_text(), encoding="utf-8")
    b = tmp_path / "b.csv"
    b.write_text(_csv_text(), encoding="utf-8")
    first, second = ingest_files([("vaccination", a), ("vaccination", b, None)])
    assert first.duplicate_of_previous is None
    assert second.duplicate_of_previous == "a.csv" and any("giống hệt" in w for w in second.warnings)
    (again,) = ingest_files([("vaccination", a)], seen_hashes={first.sha256: "20261128T023000-abc123"})
    assert again.duplicate_of_previous == "20261128T023000-abc123"


def test_format_mapping_shows_field_and_header(tmp_path):
    path = tmp_path / "tiem.csv"
    path.write_text(_csv_text(), encoding="utf-8")
    text = format_mapping(ingest_file(path, load_sector("vaccination")))
    assert "Họ tên ← 'Họ và tên'" in text and "Ngày sự kiện ← 'Ngày tiêm'" in text and "'STT'" in text
    assert "2 dòng dữ liệu" in text


def test_the_result_names_every_column_of_the_file_as_the_records_do_in_file_order(tmp_path):
    path = tmp_path / "tiem.csv"
    path.write_text("STT,Họ và tên,sector,Ngày tiêm\n1,An,x,02/01/2024\n", encoding="utf-8")
    result = ingest_file(path, load_sector("vaccination"))
    assert list(result.columns.items()) == [
        ("STT", "STT"),
        ("full_name", "Họ và tên"),
        ("sector (gốc)", "sector"),  # a header doisoat uses itself is renamed in the records
        ("event_date", "Ngày tiêm"),
    ]
    assert set(result.columns) <= set(result.records.columns)
