"""Bad input: a clear one-line Vietnamese message naming the file, the batch goes on, no row is ever lost."""

from __future__ import annotations

import logging
import os
import pickle
import shutil
import tempfile
from pathlib import Path

import polars as pl
import pytest
import xlsxwriter

from doisoat.ingest import ERROR, WARNING, FileMessage, IngestResult, ingest_file, ingest_files
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
    assert "mã số BHXH" in msg  # the report’s wording (doisoat.vocabulary) and "'Hạn thẻ đến'" in msg


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


# ---------------------------------------------------------------- readable files are kept (issue 18)

DEMO = Path(__file__).resolve().parent.parent / "sample_data" / "demo"


def _accounted(res) -> None:
    """Every data row once: records + quarantine (+ the rows of a rejected file) = rows of the file."""
    assert res.n_records == res.records.height or res.record_parts
    assert res.n_records + res.n_quarantined + res.n_rejected_rows == res.n_input_rows
    if res.ok:
        assert res.records.height + res.quarantine.height == res.n_input_rows


def _same_rows(a, b) -> bool:
    lineage = ["source_file", "record_id", "file_sha256"]
    return a.records.drop(lineage).equals(b.records.drop(lineage))


def _demo_vaccination() -> tuple[bytes, int]:
    """The sample's vaccination extract and its number of data rows."""
    data = (DEMO / "tiem_chung.csv").read_bytes()
    return data, ingest_file(DEMO / "tiem_chung.csv", load_sector("vaccination")).n_input_rows


def test_a_10_mb_cell_is_read_and_the_file_kept(tmp_path):
    path = tmp_path / "to.csv"
    big = "x" * (10 << 20)
    path.write_text(
        VAC + GOOD + f'Lê Văn Bé,1990,Nam,049090001235,"{big}",02/01/2024\n' + GOOD, encoding="utf-8"
    )
    res = ingest_file(path, load_sector("vaccination"))
    assert res.ok, res.errors
    assert res.n_input_rows == 3 == res.records.height
    assert res.records["event_type"][1] == big
    _accounted(res)


def test_nul_bytes_are_stripped_and_the_row_kept_with_a_reason_code(tmp_path):
    data, n = _demo_vaccination()
    lines = data.split(b"\n")
    lines[4] = lines[4].replace(b",", b"\x00,", 2)  # 2 NUL bytes in data row 4 (line 0 is the header)
    lines[8] = b"\x00" + lines[8] + b"\x00"  # 2 in data row 8
    path = tmp_path / "tiem_nul.csv"
    path.write_bytes(b"\n".join(lines))
    res = ingest_file(path, load_sector("vaccination"))
    assert res.ok, res.errors
    assert res.n_input_rows == n
    _accounted(res)
    marked = res.records.filter(pl.col("ingest_issues") == "NUL_STRIPPED")["source_row"].to_list()
    assert marked == [4, 8]
    assert not any(
        "\x00" in (v or "") for col in res.records.select(pl.col(pl.String)).iter_columns() for v in col
    )
    (msg,) = [m for m in res.messages if m.code == "FILE_NUL_STRIPPED"]
    assert msg.severity == WARNING and "tiem_nul.csv" in msg.text and msg.row == 4


def test_bare_cr_inside_an_unquoted_field_stays_in_that_field(tmp_path):
    path = tmp_path / "cr.csv"
    path.write_bytes((VAC + GOOD + "Lê Văn\rBé,1990,Nam,049090001235,Sởi,02/01/2024\n" + GOOD).encode())
    res = ingest_file(path, load_sector("vaccination"))
    assert res.ok and res.n_input_rows == 3 == res.records.height
    assert res.records["full_name"][1] == "Lê Văn\rBé"


def test_classic_mac_cr_line_ends_are_rows(tmp_path):
    data, n = _demo_vaccination()
    path = tmp_path / "tiem_mac.csv"
    path.write_bytes(data.replace(b"\r\n", b"\n").replace(b"\n", b"\r"))
    res = ingest_file(path, load_sector("vaccination"))
    original = ingest_file(DEMO / "tiem_chung.csv", load_sector("vaccination"))
    assert res.ok and res.n_input_rows == n
    assert _same_rows(res, original)
    assert any(m.code == "FILE_CR_LINE_ENDS" and m.severity == WARNING for m in res.messages)


def test_csv_named_xlsx_is_read_as_csv_with_a_warning(tmp_path):
    path = tmp_path / "tiem_chung.xlsx"
    shutil.copy(DEMO / "tiem_chung.csv", path)
    res = ingest_file(path, load_sector("vaccination"))
    original = ingest_file(DEMO / "tiem_chung.csv", load_sector("vaccination"))
    assert res.ok and res.file_format == "csv" and res.n_input_rows == original.n_input_rows
    assert _same_rows(res, original)
    (msg,) = res.messages
    assert msg.code == "FILE_FORMAT_MISMATCH" and msg.severity == WARNING and "tiem_chung.xlsx" in msg.text


def test_xlsx_named_csv_is_read_as_excel_with_a_warning(tmp_path):
    path = tmp_path / "ho_tich.csv"
    shutil.copy(DEMO / "ho_tich.xlsx", path)
    res = ingest_file(path, load_sector("civil_status"))
    original = ingest_file(DEMO / "ho_tich.xlsx", load_sector("civil_status"))
    assert res.ok and res.file_format == "xlsx" and res.n_input_rows == original.n_input_rows
    assert [m.code for m in res.messages] == ["FILE_FORMAT_MISMATCH"]


@pytest.mark.parametrize("note", ["", "ghi chú"])
def test_a_trailing_column_with_a_blank_header_does_not_make_rows_ragged(tmp_path, note):
    path = tmp_path / "le.csv"
    path.write_text(
        VAC.strip() + ",\n" + "".join(GOOD.strip() + f",{note if i == 1 else ''}\n" for i in range(3)),
        encoding="utf-8",
    )
    res = ingest_file(path, load_sector("vaccination"))
    assert res.ok and res.n_input_rows == 3 == res.records.height and res.quarantine.height == 0
    if note:
        assert res.records["Cột 7"].to_list() == [None, "ghi chú", None]


def test_cells_past_the_header_row_are_not_guessed_to_be_a_column(tmp_path):
    """Every row one cell wider than the header may be an unquoted comma in every address: ragged, not shifted."""
    path = tmp_path / "le.csv"
    path.write_text(VAC + "".join(GOOD.strip() + f",ghi chú {i}\n" for i in range(4)), encoding="utf-8")
    res = ingest_file(path, load_sector("vaccination"))
    assert res.ok and res.records.height == 0
    assert res.quarantine["reason"].to_list() == ["RAGGED_ROW"] * 4


def test_an_unclosed_quote_quarantines_that_row_with_its_raw_text_and_keeps_the_rows_below(tmp_path):
    data, n = _demo_vaccination()
    lines = data.split(b"\n")
    lines[2] = b'"' + lines[2]  # data row 2 opens a quote that never closes
    path = tmp_path / "tiem_quote.csv"
    path.write_bytes(b"\n".join(lines))
    res = ingest_file(path, load_sector("vaccination"), batch_rows=500)
    assert res.ok and res.n_input_rows == n
    _accounted(res)
    q = res.quarantine.filter(pl.col("reason") == "UNPARSEABLE_ROW").row(0, named=True)
    assert q["source_row"] == 2 and q["raw_value"] == lines[2].decode().rstrip("\r")
    assert res.records.height == n - res.quarantine.height
    assert any(m.code == "FILE_UNPARSEABLE_ROWS" and m.row == 2 for m in res.messages)


def test_a_damaged_parquet_row_group_quarantines_its_rows_and_keeps_the_others(tmp_path):
    n = 20_000
    path = tmp_path / "bh.parquet"
    pl.DataFrame(
        {
            "Họ và tên": [f"Nguyễn Văn {i}" for i in range(n)],
            "Số CCCD": [f"0490900{i:05d}" for i in range(n)],
            "Ngày sinh": ["1990"] * n,
            "Ngày tiêm": ["2024-01-02"] * n,
        }
    ).write_parquet(path, row_group_size=5000, compression="uncompressed", statistics=False)
    data = bytearray(path.read_bytes())
    data[len(data) // 3 : len(data) // 3 + 3000] = b"\xff" * 3000  # inside the second row group
    path.write_bytes(bytes(data))
    res = ingest_file(path, load_sector("vaccination"), batch_rows=2000)
    assert res.ok and res.n_input_rows == n
    assert res.quarantine["reason"].unique().to_list() == ["UNPARSEABLE_ROW"]
    lost = res.quarantine["source_row"]  # the group's rows after the damage (those before it are read)
    assert 5001 <= lost.min() and lost.max() == 10_000 and lost.len() == 10_001 - lost.min()
    _accounted(res)


# ---------------------------------------------------------------- clear file-level errors (issue 18)


def _only_error(res, code: str, name: str) -> FileMessage:
    msg = [m for m in res.messages if m.severity == ERROR]
    assert [m.code for m in msg] == [code], res.messages
    assert name in msg[0].text and "\n" not in msg[0].text
    assert res.errors == [msg[0].text] and not res.ok
    assert res.records.height == 0 and res.quarantine.height == 0
    _accounted(res)
    return msg[0]


def test_header_only_file_is_an_error_and_says_so(tmp_path):
    path = tmp_path / "tiem.csv"
    path.write_text(VAC + "\n,,,,,\n", encoding="utf-8")
    msg = _only_error(ingest_file(path, load_sector("vaccination")), "FILE_HEADER_ONLY", "tiem.csv")
    assert "tệp chỉ có dòng tiêu đề, không có dòng dữ liệu" in msg.text and msg.row == 1


def test_header_only_workbook_is_an_error(tmp_path):
    path = tmp_path / "ht.xlsx"
    _xlsx(path, [VAC.strip().split(",")])
    _only_error(ingest_file(path, load_sector("vaccination")), "FILE_HEADER_ONLY", "ht.xlsx")


def test_empty_and_binary_files_have_their_codes(tmp_path):
    (tmp_path / "rong.csv").write_bytes(b"")
    (tmp_path / "trang.csv").write_bytes(b"\n \n\t\n")
    (tmp_path / "anh.csv").write_bytes(bytes(range(256)) * 40)
    assert _only_error(
        ingest_file(tmp_path / "rong.csv", load_sector("vaccination")), "FILE_EMPTY", "rong.csv"
    )
    assert _only_error(
        ingest_file(tmp_path / "trang.csv", load_sector("vaccination")), "FILE_EMPTY", "trang.csv"
    )
    assert _only_error(
        ingest_file(tmp_path / "anh.csv", load_sector("vaccination")), "FILE_BINARY", "anh.csv"
    )


def test_a_directory_given_as_a_file(tmp_path):
    folder = tmp_path / "tiem_chung.csv"
    folder.mkdir()
    msg = _only_error(ingest_file(folder, load_sector("vaccination")), "FILE_IS_DIRECTORY", "tiem_chung.csv")
    assert "thư mục" in msg.text


def test_a_missing_file(tmp_path):
    _only_error(
        ingest_file(tmp_path / "khong_co.csv", load_sector("vaccination")), "FILE_NOT_FOUND", "khong_co.csv"
    )


def test_a_file_without_read_permission_is_that_files_error(tmp_path):
    """Run as an unprivileged user (root reads any file): a forked child drops to nobody, then ingests."""
    folder = Path(tempfile.mkdtemp(prefix="doisoat-perm-"))
    try:
        folder.chmod(0o755)
        path = folder / "tiem.csv"
        path.write_text(VAC + GOOD, encoding="utf-8")
        path.chmod(0o000)
        spec = load_sector("vaccination")
        if os.geteuid() != 0:
            res = ingest_file(path, spec)
        else:
            read_end, write_end = os.pipe()
            pid = os.fork()
            if pid == 0:  # child: no more root, then the same call
                try:
                    os.close(read_end)
                    os.setgid(65534)
                    os.setuid(65534)
                    res = ingest_file(path, spec)
                    os.write(write_end, pickle.dumps((res.messages, res.n_input_rows, res.n_rows_basis)))
                finally:
                    os._exit(0)
            os.close(write_end)
            with os.fdopen(read_end, "rb") as fh:
                messages, n_rows, basis = pickle.loads(fh.read())
            os.waitpid(pid, 0)
            res = IngestResult(
                "vaccination", "tiem.csv", path, pl.DataFrame(), pl.DataFrame(), messages=messages
            )
        (msg,) = res.messages
        assert (msg.severity, msg.code) == (ERROR, "FILE_NOT_READABLE")
        assert "tiem.csv" in msg.text and "quyền đọc" in msg.text
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_unreadable_file_does_not_stop_the_batch(tmp_path):
    good = tmp_path / "tiem.csv"
    good.write_text(VAC + GOOD, encoding="utf-8")
    results = ingest_files([("vaccination", tmp_path), ("vaccination", good)])
    assert [r.ok for r in results] == [False, True]


def test_truncated_xlsx_counts_the_rows_left_in_it(tmp_path):
    data = (DEMO / "ho_tich.xlsx").read_bytes()
    path = tmp_path / "ho_tich.xlsx"
    path.write_bytes(data[: len(data) // 2])
    full = ingest_file(DEMO / "ho_tich.xlsx", load_sector("civil_status")).n_input_rows
    res = ingest_file(path, load_sector("civil_status"))
    msg = _only_error(res, "FILE_DAMAGED", "ho_tich.xlsx")
    assert "cắt cụt" in msg.text
    assert res.n_rows_basis == "estimated" and 0.3 * full < res.n_input_rows < full


def test_truncated_parquet(tmp_path):
    data = (DEMO / "bao_hiem.parquet").read_bytes()
    path = tmp_path / "bao_hiem.parquet"
    path.write_bytes(data[: len(data) // 2])
    res = ingest_file(path, load_sector("insurance"))
    _only_error(res, "FILE_DAMAGED", "bao_hiem.parquet")
    assert res.n_rows_basis == "unknown" and res.n_input_rows == 0


def test_parquet_whose_only_row_group_is_damaged_is_an_error_with_its_rows_counted(tmp_path):
    data = bytearray((DEMO / "bao_hiem.parquet").read_bytes())
    data[len(data) // 3] ^= 0x55  # one byte in the data pages; the footer is intact
    path = tmp_path / "bao_hiem.parquet"
    path.write_bytes(bytes(data))
    res = ingest_file(path, load_sector("insurance"))
    _only_error(res, "FILE_DAMAGED", "bao_hiem.parquet")
    full = ingest_file(DEMO / "bao_hiem.parquet", load_sector("insurance")).n_input_rows
    assert (res.n_input_rows, res.n_rows_basis) == (full, "counted")


def test_wrong_sheet_names_the_sheets_there_are(tmp_path):
    res = ingest_file(DEMO / "ho_tich.xlsx", load_sector("civil_status"), sheet="Trang 9")
    msg = _only_error(res, "FILE_SHEET_MISSING", "ho_tich.xlsx")
    assert "'Trang 9'" in msg.text and "DanhSach" in msg.text


def test_required_column_missing_is_an_error_and_its_rows_are_counted(tmp_path):
    path = tmp_path / "bh.csv"
    path.write_text(
        "Họ và tên,Ngày sinh,Số CCCD,Hạn thẻ đến\n" + "An,1990,049090001234,31/12/2025\n" * 3 + "\n\n",
        encoding="utf-8",
    )
    res = ingest_file(path, load_sector("insurance"))
    msg = _only_error(res, "FILE_COLUMN_MISSING", "bh.csv")
    assert "Mã số BHXH" in (msg.column or "")
    assert (res.n_input_rows, res.n_rows_basis, res.n_rejected_rows) == (3, "counted", 3)
