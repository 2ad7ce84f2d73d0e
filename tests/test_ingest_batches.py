"""Batched reading: any batch size gives the same records, quarantine and row numbers as one batch; the sink."""

from __future__ import annotations

import datetime as dt
import re
import zipfile
from pathlib import Path

import polars as pl
import pytest
import xlsxwriter
from test_ingest_readers import to_cp1258

from doisoat.ingest import ingest_file
from doisoat.ingest.readers import read_excel
from doisoat.report.fastxlsx import Sheet, write_workbook
from schemas import load_sector

VAC = ["STT", "Họ và tên", "Ngày sinh", "Giới tính", "Số CCCD", "Loại vắc xin", "Ngày tiêm"]


def _rows(n: int = 23) -> list[list[str]]:
    """Good rows with a few unusable ones (no name, blank) spread over the file."""
    rows = []
    for i in range(1, n + 1):
        name = "" if i % 7 == 0 else f"Nguyễn Văn {chr(64 + i % 26 + 1)}"
        rows.append([str(i), name, f"0{i % 9 + 1}/02/1990", "Nam", f"0490900{i:05d}", "Sởi", "02/01/2024"])
    if n > 10:
        rows[10] = [""] * len(VAC)  # a blank row in the middle is a row (EMPTY_ROW)
    return rows


def _csv(path: Path, rows: list[list[str]], trailing: str = "", encoding: str = "utf-8") -> Path:
    text = "\n".join(",".join(r) for r in [VAC, *rows]) + "\n" + trailing
    path.write_bytes(to_cp1258(text) if encoding == "cp1258" else text.encode(encoding))
    return path


def _xlsx(path: Path, rows: list[list[str]]) -> Path:
    """Written by xlsxwriter: shared strings, a title block, real date cells and numbers."""
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("DanhSach")
    datefmt = wb.add_format({"num_format": "dd/mm/yyyy"})
    ws.write(0, 0, "UBND XÃ AN BÌNH")
    ws.write_row(2, 0, VAC)
    for r, row in enumerate(rows, start=3):
        if row[0]:
            ws.write_number(r, 0, int(row[0]))
        ws.write_row(r, 1, row[1:])
        if r % 3 == 0:
            ws.write_datetime(r, 6, dt.datetime(2024, 1, r % 28 + 1), datefmt)
    wb.close()
    return path


def _same(a, b) -> None:
    assert a.ok and b.ok, (a.errors, b.errors)
    assert a.n_input_rows == b.n_input_rows
    assert a.records.equals(b.records)
    assert a.quarantine.equals(b.quarantine)
    assert a.warnings == b.warnings and a.mapping == b.mapping
    assert a.n_input_rows == a.records.height + a.quarantine.height == b.records.height + b.n_quarantined


def _ingest(path: Path, sector: str = "vaccination", **kw):
    return ingest_file(path, load_sector(sector), **kw)


@pytest.mark.parametrize("batch_rows", [1, 2, 5, 7])
def test_csv_in_small_batches_is_the_same_as_one_batch(tmp_path, batch_rows):
    path = _csv(tmp_path / "tiem.csv", _rows())
    whole = _ingest(path)
    assert whole.n_input_rows == 23 and set(whole.quarantine["source_row"]) == {7, 11, 14, 21}
    _same(_ingest(path, batch_rows=batch_rows), whole)


def test_cp1258_csv_in_batches(tmp_path):
    path = _csv(tmp_path / "cp.csv", _rows(), encoding="cp1258")
    _same(_ingest(path, batch_rows=4), _ingest(path))


def test_ragged_rows_in_some_batches_only(tmp_path):
    rows = [",".join(r) for r in _rows()]
    rows[3] += ",ghi chú lạc"  # row 4: a cell past the header
    rows[17] += ",,"  # row 18: empty extra cells are not ragged
    path = tmp_path / "le.csv"
    path.write_text("\n".join([",".join(VAC), *rows]) + "\n", encoding="utf-8")
    whole = _ingest(path)
    q = whole.quarantine.filter(pl.col("reason") == "RAGGED_ROW")
    assert q["source_row"].to_list() == [4] and q["raw_value"].to_list() == ["ghi chú lạc"]
    for batch_rows in (2, 5):
        _same(_ingest(path, batch_rows=batch_rows), whole)


def test_quoted_newlines_across_block_ends(tmp_path):
    rows = _rows()
    rows[4][1] = '"Trần Thị\nBé"'
    rows[5][5] = '"Sởi, ""mũi 2"""'
    path = _csv(tmp_path / "q.csv", rows)
    whole = _ingest(path)
    assert whole.records.filter(pl.col("source_row") == 5)["full_name"].item() == "Trần Thị\nBé"
    assert whole.records.filter(pl.col("source_row") == 6)["event_type"].item() == 'Sởi, "mũi 2"'
    for batch_rows in (1, 3):
        _same(_ingest(path, batch_rows=batch_rows), whole)


def test_trailing_blank_rows_across_batches_are_not_rows(tmp_path):
    path = _csv(tmp_path / "tiem.csv", _rows(), trailing="\n,,,,,,\n\n,,\n" * 3)
    whole = _ingest(path)
    assert whole.n_input_rows == 23
    for batch_rows in (1, 2, 4, 24):
        _same(_ingest(path, batch_rows=batch_rows), whole)


def test_blank_rows_spanning_batches_before_data_are_rows(tmp_path):
    rows = _rows(8) + [[""] * len(VAC)] * 5 + _rows(3)
    path = _csv(tmp_path / "tiem.csv", rows)
    whole = _ingest(path)
    assert whole.n_input_rows == 16
    empty = whole.quarantine.filter(pl.col("reason") == "EMPTY_ROW")["source_row"].to_list()
    assert empty == [9, 10, 11, 12, 13]
    for batch_rows in (1, 2, 3):
        _same(_ingest(path, batch_rows=batch_rows), whole)


def test_xlsx_in_batches(tmp_path):
    path = _xlsx(tmp_path / "tiem.xlsx", _rows())
    whole = _ingest(path)
    assert whole.n_input_rows == 23 and whole.header_row == 3
    assert whole.records.filter(pl.col("source_row") == 4)["event_date"].item() == "2024-01-07"
    assert whole.records["STT"].head(2).to_list() == ["1", "2"]
    for batch_rows in (1, 4, 9):
        _same(_ingest(path, batch_rows=batch_rows), whole)


def test_parquet_in_batches_over_row_groups(tmp_path):
    path = tmp_path / "bh.parquet"
    rows = _rows()
    pl.DataFrame([pl.Series(h, [r[i] or None for r in rows]) for i, h in enumerate(VAC)]).write_parquet(
        path, row_group_size=5
    )
    whole = _ingest(path)
    assert whole.n_input_rows == 23
    for batch_rows in (2, 6):
        _same(_ingest(path, batch_rows=batch_rows), whole)


def test_sink_holds_the_parts_and_they_read_back_equal(tmp_path):
    path = _csv(tmp_path / "tiem.csv", _rows())
    whole = _ingest(path)
    sink = tmp_path / "sink"
    res = _ingest(path, sink=sink, batch_rows=5)
    assert res.ok and res.records.height == 0 and res.quarantine.height == 0
    assert res.records.columns == whole.records.columns  # the empty frame keeps the columns
    assert len(res.record_parts) == 5 and all(p.is_relative_to(sink) and p.exists() for p in res.record_parts)
    assert pl.read_parquet(res.record_parts).equals(whole.records)
    assert pl.read_parquet(res.quarantine_parts).equals(whole.quarantine)
    assert res.n_quarantined == whole.quarantine.height and res.n_input_rows == whole.n_input_rows


def test_pipeline_assembles_from_parts_like_from_frames(tmp_path):
    from doisoat.pipeline import ExtractInput, assemble, ingest_extracts

    csv_path = _csv(tmp_path / "tiem.csv", _rows())
    xlsx_path = _xlsx(tmp_path / "tiem.xlsx", _rows(12))
    extracts = [ExtractInput("vaccination", csv_path), ExtractInput("vaccination", xlsx_path)]
    in_memory = assemble(ingest_extracts(extracts, {}))
    from_parts = assemble(ingest_extracts(extracts, {}, sink=tmp_path / "sink"))
    assert from_parts[0].equals(in_memory[0]) and from_parts[1].equals(in_memory[1])
    assert in_memory[0]["rid"].to_list() == list(range(in_memory[0].height))


def test_damaged_file_found_while_reading_batches_leaves_no_parts(tmp_path):
    path = tmp_path / "bh.parquet"
    pl.DataFrame({"Họ và tên": ["An"] * 5000, "Số CCCD": ["049090001234"] * 5000}).write_parquet(
        path, row_group_size=1000, compression="uncompressed"
    )
    data = bytearray(path.read_bytes())
    data[len(data) // 2 : len(data) // 2 + 2000] = b"\xff" * 2000  # a damaged page in the middle
    path.write_bytes(bytes(data))
    sink = tmp_path / "sink"
    res = _ingest(path, sink=sink, batch_rows=1000)
    assert not res.ok and "bh.parquet" in res.errors[0]
    assert res.record_parts == [] and not any(sink.rglob("*.parquet"))


# ---------------------------------------------------------------- the streamed XLSX reader


def _kinds_workbook(path: Path) -> Path:
    """Every kind of cell agencies' files hold, for comparing the streamed reader with calamine."""
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("S")
    fmt = {
        k: wb.add_format({"num_format": v})
        for k, v in {
            "d": "dd/mm/yyyy",
            "dt": "yyyy-mm-dd hh:mm:ss",
            "t": "hh:mm",
            "dur": "[h]:mm:ss",
            "num": "0.00",
            "pct": "0%",
            "text": "@",
            "quoted": '"Ngày" dd "tháng" mm',
            "red": "[Red]0.00",
        }.items()
    }
    ws.write_row(0, 1, ["Họ và tên", "Ngày sinh", "Số CCCD", "Ghi chú", "Số", "Khác"])
    numbers = [1, 1.5, 1e20, 1e-7, 0.1 + 0.2, -3.0, 49209555256, 1 / 3, 2.5e-300, 123456.123456789]
    for i, v in enumerate(numbers):
        ws.write_number(1 + i, 5, v)
    ws.write_boolean(1, 6, True)
    ws.write_boolean(2, 6, False)
    ws.write_formula(3, 6, "=1/0", None, "#DIV/0!")
    ws.write_formula(4, 6, '="a"&"b"', None, "ab")
    ws.write_formula(5, 6, "=1+1", None, 2)
    dates = [
        (dt.datetime(2009, 4, 4), "d"),
        (dt.datetime(2009, 4, 4, 10, 30, 15), "dt"),
        (dt.time(10, 30), "t"),
        (1.5, "dur"),
        (32874, "num"),
        (0.25, "pct"),
        (12, "text"),
        (45000, "quoted"),
        (3, "red"),
        (59, "d"),
        (60, "d"),
        (61, "d"),
        (0, "d"),
        (45000.999999, "dt"),
    ]
    for i, (v, f) in enumerate(dates):
        if isinstance(v, dt.datetime | dt.time):
            ws.write_datetime(1 + i, 2, v, fmt[f])
        else:
            ws.write_number(1 + i, 2, v, fmt[f])
    texts = [
        "  a b  ",
        "x & <y> \"q\" 'z'",
        "dòng 1\ndòng 2",
        "_x000D_ lit",
        "",
        "tab\there",
        "ctrl\x01x",
        "Ω 😀",
    ]
    for i, v in enumerate(texts):
        ws.write_string(1 + i, 4, v)
        ws.write_string(1 + i, 1, f"Lê Văn {chr(65 + i)}")
        ws.write_string(1 + i, 3, f"04909000{i:04d}")
    ws.write_rich_string(9, 4, "Nguyễn ", wb.add_format({"bold": True}), "Văn", " A")
    ws.write_blank(10, 4, None, fmt["d"])
    ws.write_string(20, 7, "ghi chú ngoài bảng")  # a value right of the last header
    wb.close()
    return path


def _tables_equal(path: Path) -> None:
    streamed, calamine = read_excel(path, None, "xlsx"), read_excel(path, None, "xls")
    with streamed, calamine:
        assert streamed.headers == calamine.headers and streamed.header_row == calamine.header_row
        assert streamed.header_alts == calamine.header_alts
        assert streamed.frame().equals(calamine.frame())


def test_streamed_xlsx_reads_every_kind_of_cell_as_calamine_does(tmp_path):
    path = _kinds_workbook(tmp_path / "kinds.xlsx")
    _tables_equal(path)
    with read_excel(path, None, "xlsx", batch_rows=3) as table:
        assert table.headers[-1] == "Cột 7"  # the note right of the header is a column, as before
        frame = table.frame()
    assert frame["c1"][:4].to_list() == [
        "2009-04-04",
        "2009-04-04 10:30:15",
        "1899-12-31 10:30:00",
        "1900-01-01 12:00:00",
    ]
    assert frame["c4"][:3].to_list() == ["1", "1.5", "100000000000000000000"]
    assert frame["c3"][:3].to_list() == ["  a b  ", "x & <y> \"q\" 'z'", "dòng 1\ndòng 2"]


def test_sample_xlsx_and_a_title_block_sheet_read_as_calamine_does(tmp_path):
    sample = Path(__file__).resolve().parent.parent / "sample_data" / "demo" / "ho_tich.xlsx"
    if sample.exists():
        _tables_equal(sample)
    _tables_equal(_xlsx(tmp_path / "tiem.xlsx", _rows()))


def _rewrite_sheet(src: Path, dst: Path, edit) -> Path:
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                data = edit(data.decode("utf-8")).encode("utf-8")
            zout.writestr(info, data)
    return dst


def test_xlsx_writer_variants_read_as_calamine_does(tmp_path):
    """No r= on rows and cells, a namespace prefix, no dimension: as calamine reads them, in any batch size."""
    path = _xlsx(tmp_path / "tiem.xlsx", _rows())
    whole = _ingest(path)
    variants = {
        "no_refs": lambda x: re.sub(r' r="[A-Z]*\d+"', "", x),  # rows follow each other: the gap row is gone
        "prefixed": lambda x: re.sub(r"<(/?)(?!\?)(\w+)", r"<\1x:\2", x.replace(' xmlns="', ' xmlns:x="', 1)),
        "no_dim": lambda x: re.sub(r"<dimension[^>]*/>", "", x),
    }
    for name, edit in variants.items():
        variant = _rewrite_sheet(path, tmp_path / f"{name}.xlsx", edit)
        _tables_equal(variant)
        res = _ingest(variant)
        _same(_ingest(variant, batch_rows=4), res)
        if name != "no_refs":
            lineage = ["record_id", "file_sha256", "source_file"]
            assert res.records.drop(lineage).equals(whole.records.drop(lineage)), name


def test_fast_xlsx_inline_strings(tmp_path):
    rows = _rows()
    frame = pl.DataFrame([pl.Series(h, [r[i] for r in rows]) for i, h in enumerate(VAC)])
    path = write_workbook(tmp_path / "fast.xlsx", [Sheet("DanhSach", VAC, frame)], {}, {"bold": True})
    _tables_equal(path)
    whole = _ingest(path)
    _same(_ingest(path, batch_rows=4), whole)
    from_csv = _ingest(_csv(tmp_path / "fast.csv", rows))
    assert whole.records.drop("record_id", "file_sha256", "source_file", "source_sheet").equals(
        from_csv.records.drop("record_id", "file_sha256", "source_file", "source_sheet")
    )


def test_xlsx_damaged_inside_the_sheet_says_so(tmp_path):
    path = _xlsx(tmp_path / "hong.xlsx", _rows(23) * 150)
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo("xl/worksheets/sheet1.xml")
    data = bytearray(path.read_bytes())
    start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    middle = start + info.compress_size // 2
    data[middle : middle + 64] = bytes(64)  # the central directory is intact, the sheet's data is not
    path.write_bytes(bytes(data))
    res = _ingest(path, batch_rows=100)
    assert not res.ok and "bị hỏng" in res.errors[0] and "hong.xlsx" in res.errors[0]
