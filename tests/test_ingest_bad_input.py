"""Bad input: a clear one-line Vietnamese message naming the file, the batch goes on, no row is ever lost."""

from __future__ import annotations

import logging

import polars as pl
import xlsxwriter

from doisoat.ingest import ingest_file, ingest_files
from schemas import load_sector

VAC = "Họ và tên,Ngày sinh,Giới tính,Số CCCD,Loại vắc xin,Ngày tiêm\n"
GOOD = "Nguyễn Văn An,01/02/1990,Nam,049090001234,Sởi,02/01/2024\n"


def _one_line_error_naming(res, name: str) -> str:
    assert not res.ok
    assert res.records.height == 0 and res.quarantine.height == 0
    (msg,) = res.errors
    assert name in msg and "\n" not in msg
    return msg


def _xlsx(path, rows):
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet()
    for r, row in enumerate(rows):
        ws.write_row(r, 0, row)
    wb.close()


def test_empty_file(tmp_path):
    path = tmp_path / "rong.csv"
    path.write_bytes(b"")
    assert "rỗng" in _one_line_error_naming(ingest_file(path, load_sector("vaccination")), "rong.csv")


def test_truncated_xlsx(tmp_path):
    path = tmp_path / "cut.xlsx"
    _xlsx(path, [VAC.strip().split(","), GOOD.strip().split(",")])
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    msg = _one_line_error_naming(ingest_file(path, load_sector("vaccination")), "cut.xlsx")
    assert "bị hỏng" in msg


def test_corrupt_xlsx_that_is_not_a_zip(tmp_path):
    path = tmp_path / "hong.xlsx"
    path.write_bytes(b"this is not excel at all" * 10)
    assert "không phải tệp Excel" in _one_line_error_naming(
        ingest_file(path, load_sector("vaccination")), "hong.xlsx"
    )


def test_password_protected_xlsx(tmp_path):
    # a real encrypted workbook, as Excel's "Encrypt with password" writes it (an OLE container)
    from msoffcrypto.format.ooxml import OOXMLFile

    plain, path = tmp_path / "plain.xlsx", tmp_path / "matkhau.xlsx"
    _xlsx(plain, [VAC.strip().split(","), GOOD.strip().split(",")])
    with open(plain, "rb") as src, open(path, "wb") as dst:
        OOXMLFile(src).encrypt("mat-khau-1", dst)
    msg = _one_line_error_naming(ingest_file(path, load_sector("vaccination")), "matkhau.xlsx")
    assert "mật khẩu" in msg


def test_binary_file_named_csv(tmp_path):
    path = tmp_path / "anh.csv"
    path.write_bytes(bytes(range(256)) * 40)
    msg = _one_line_error_naming(ingest_file(path, load_sector("vaccination")), "anh.csv")
    assert "nhị phân" in msg


def test_ragged_rows_kept_when_extra_cells_are_empty_else_quarantined(tmp_path):
    path = tmp_path / "le.csv"
    path.write_text(
        VAC + GOOD + GOOD.strip() + ",,\n" + GOOD.strip() + ",ghi chú lạc\n" + GOOD, encoding="utf-8"
    )
    res = ingest_file(path, load_sector("vaccination"))
    assert res.ok
    assert res.n_input_rows == 4 == res.records.height + res.quarantine.height
    assert res.records["source_row"].to_list() == [1, 2, 4]
    q = res.quarantine.row(0, named=True)
    assert (q["source_row"], q["reason"], q["raw_value"]) == (3, "RAGGED_ROW", "ghi chú lạc")


def test_duplicate_header_names_are_renamed_and_reported(tmp_path):
    path = tmp_path / "trung.csv"
    path.write_text(
        "Họ và tên,Ngày sinh,Ghi chú,Ghi chú,Ngày tiêm\nAn,1990,a,b,2024-01-01\n", encoding="utf-8"
    )
    res = ingest_file(path, load_sector("vaccination"))
    assert res.ok
    assert res.records.select("Ghi chú", "Ghi chú (2)").row(0) == ("a", "b")
    assert any("trùng" in w and "Ghi chú" in w for w in res.warnings)


def test_file_that_is_not_an_extract(tmp_path):
    path = tmp_path / "bang_gia.csv"
    path.write_text("Mặt hàng,Đơn giá,Số lượng\nGạo,15000,3\nMuối,5000,1\n", encoding="utf-8")
    msg = _one_line_error_naming(ingest_file(path, load_sector("vaccination")), "bang_gia.csv")
    assert "không nhận ra" in msg and "'Mặt hàng'" in msg


def test_vaccination_file_given_as_insurance_says_which_sector_it_looks_like(tmp_path):
    path = tmp_path / "tiem.csv"
    path.write_text(
        "Họ và tên,Ngày sinh,Số định danh,Tên vắc xin,Mũi thứ,Ngày tiêm\n" + GOOD, encoding="utf-8"
    )
    msg = _one_line_error_naming(ingest_file(path, load_sector("insurance")), "tiem.csv")
    assert "Tiêm chủng" in msg and "Bảo hiểm" in msg


def test_missing_required_column_names_it_and_lists_the_headers(tmp_path):
    path = tmp_path / "bh.csv"
    path.write_text(
        "Họ và tên,Ngày sinh,Số CCCD,Hạn thẻ đến\nAn,1990,049090001234,31/12/2025\n", encoding="utf-8"
    )
    msg = _one_line_error_naming(ingest_file(path, load_sector("insurance")), "bh.csv")
    assert "Mã số BHXH" in msg and "'Hạn thẻ đến'" in msg


def test_unusable_rows_are_quarantined_with_reason_column_and_row(tmp_path):
    path = tmp_path / "tiem.csv"
    lines = [
        GOOD,
        ",,,,,\n",  # 2 empty row
        ",01/02/1990,Nam,049090001234,Sởi,02/01/2024\n",  # 3 no name
        "Lê Thị Bé,,Nữ,,Sởi,02/01/2024\n",  # 4 nothing identifies
        "Lê Thị Cúc,không rõ,Nữ,049190001111,Sởi,02/01/2024\n",  # 5 birth date without a digit
        "Lê \x01\x02Dung,1990,Nữ,049190002222,Sởi,02/01/2024\n",  # 6 control characters in the name
        "Lê Thị Em,1990,Nữ,,Sởi,02/01/2024\n",  # 7 name + birth year identifies: kept
    ]
    path.write_text(VAC + "".join(lines), encoding="utf-8")
    res = ingest_file(path, load_sector("vaccination"))
    got = {r["source_row"]: (r["reason"], r["column"]) for r in res.quarantine.iter_rows(named=True)}
    assert got == {
        2: ("EMPTY_ROW", None),
        3: ("NO_NAME", "Họ và tên"),
        4: ("NO_IDENTIFIER", None),
        5: ("UNREADABLE_REQUIRED", "Ngày sinh"),
        6: ("UNREADABLE_REQUIRED", "Họ và tên"),
    }
    assert res.records["source_row"].to_list() == [1, 7]
    assert res.n_input_rows == 7
    assert set(res.quarantine["record_id"]) == {f"tiem.csv#{i}" for i in (2, 3, 4, 5, 6)}


def test_trailing_blank_lines_are_not_rows(tmp_path):
    path = tmp_path / "tiem.csv"
    path.write_text(VAC + GOOD + "\n\n,,,,,\n", encoding="utf-8")
    res = ingest_file(path, load_sector("vaccination"))
    assert res.n_input_rows == 1 and res.quarantine.height == 0


def test_one_bad_file_does_not_stop_the_batch(tmp_path):
    bad = tmp_path / "rong.xlsx"
    bad.write_bytes(b"")
    good = tmp_path / "tiem.csv"
    good.write_text(VAC + GOOD, encoding="utf-8")
    results = ingest_files([("vaccination", bad), ("no_such_sector", good), ("vaccination", good)])
    assert [r.ok for r in results] == [False, False, True]
    assert results[2].records.height == 1
    assert "no_such_sector" in results[1].errors[0]


def test_personal_values_are_never_logged(tmp_path, caplog):
    path = tmp_path / "tiem.csv"
    path.write_text(
        VAC + ",01/02/1990,Nam,049090009999,Sởi,02/01/2024\nBí Mật Tên,,Nữ,,Sởi,x\n", encoding="utf-8"
    )
    with caplog.at_level(logging.DEBUG):
        res = ingest_file(path, load_sector("vaccination"))
    assert res.quarantine.height == 2
    text = caplog.text + " ".join(res.warnings + res.errors)
    assert "049090009999" not in text and "Bí Mật" not in text and "01/02/1990" not in text


def test_quarantine_schema_is_the_documented_one(tmp_path):
    path = tmp_path / "tiem.csv"
    path.write_text(VAC + ",,,,,\n" + GOOD, encoding="utf-8")
    q = ingest_file(path, load_sector("vaccination")).quarantine
    assert q.schema == pl.Schema(
        {
            "sector": pl.String,
            "source_file": pl.String,
            "source_sheet": pl.String,
            "source_row": pl.Int64,
            "record_id": pl.String,
            "column": pl.String,
            "raw_value": pl.String,
            "reason": pl.String,
        }
    )
