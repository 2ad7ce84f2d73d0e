"""Steward worklists: who must act on what, most urgent first, safe to open and to share with the steward."""

from __future__ import annotations

import re
import stat

import openpyxl
import polars as pl

from doisoat.report import worklist_frame, write_worklists

BIRTH = {"birth_year": pl.Int16, "birth_month": pl.Int8, "birth_day": pl.Int8}


def frames() -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    records = pl.DataFrame(
        {
            "rid": [1, 2, 3, 4, 5],
            "sector": ["asxh", "asxh", "asxh", "asxh", "asxh"],
            "name_display": ["=Nguyễn Văn An", "Trần Thị Bình", "Lê Văn Cường", "Phạm Thị Dung", "Võ Văn Em"],
            "name_key": ["=nguyễn văn an", "trần thị bình", "lê văn cường", "phạm thị dung", "võ văn em"],
            "birth_year": [1950, 1960, 1970, 1980, 1990],
            "birth_month": [3, None, 1, 2, 4],
            "birth_day": [4, None, 1, 2, 5],
            "sex_std": ["M", "F", "M", "F", "M"],
            "national_id_std": ["049050001111", None, "049070003333", "049180004444", "049090005555"],
            "old_id_std": [None, "205000222", None, None, None],
            "national_id": ["049050001111", "205000222", "049070003333", "049180004444", "049090005555"],
        },
        schema_overrides=BIRTH,
    )
    results = pl.DataFrame(
        {
            "rid": [1, 2, 3, 4, 5, None],
            "sector": ["asxh"] * 6,
            "record_id": ["a", "b", "c", "d", "e", "f"],
            "source_file": ["asxh.csv"] * 6,
            "source_row": [1, 2, 3, 4, 5, 6],
            "status": ["matched", "matched", "review", "matched", "matched", "quarantined"],
            "person_id": [
                "049050001111",
                "049060002222",
                "049070009999",
                "049180004444",
                "049090005555",
                None,
            ],
            "match_pass": ["id", "name_birth", "name_birth", "id", "id", None],
            "match_probability": [0.99, 0.97, 0.6, 0.99, 0.99, None],
            "weights": [
                None,
                '{"name": 6.5, "birth": 3.25, "sex": -1.0, "commune": 0.5}',
                None,
                None,
                None,
                None,
            ],
            "dung": [False, True, False, True, True, None],
            "du": [True, True, True, False, True, None],
            "sach": [True, True, True, True, True, None],
            "song": [True, False, True, True, True, None],
            "reasons": [
                ["NAME_DIFFERS", "BIRTH_DATE_DIFFERS"],
                ["PAID_AFTER_DEATH", "OLD_ID_ONLY"],
                ["NEEDS_REVIEW"],
                ["MISSING_SEX"],
                ["NAME_ENCODING_REPAIRED"],  # info only: nothing to do
                ["EMPTY_ROW"],
            ],
            "commune_code_std": ["20194", "20194", "20197", "20197", "20194", None],
            "commune_code_old": [None] * 6,
        },
        schema_overrides={"commune_code_old": pl.Utf8},
    )
    reference = pl.DataFrame(
        {
            "person_id": ["049050001111", "049060002222", "049070009999", "049180004444", "049090005555"],
            "name_display": ["Nguyễn Văn Ân", "Trần Thị Bình", "Lê Văn Cương", "Phạm Thị Dung", "Võ Văn Em"],
            "name_key": ["nguyễn văn ân", "trần thị bình", "lê văn cương", "phạm thị dung", "võ văn em"],
            "birth_year": [1950, 1960, 1970, 1980, 1990],
            "birth_month": [3, 7, 1, 2, 4],
            "birth_day": [5, 8, 1, 2, 5],
            "sex_std": ["M", "F", "M", "F", "M"],
            "national_id_std": [
                "049050001111",
                "049060002222",
                "049070009999",
                "049180004444",
                "049090005555",
            ],
            "commune_code_std": ["20194", "20194", "20197", "20197", "20194"],
        },
        schema_overrides=BIRTH,
    )
    return results, records, reference


def read(path) -> tuple[openpyxl.worksheet.worksheet.Worksheet, list[dict]]:
    ws = openpyxl.load_workbook(path)["Danh sách xử lý"]
    rows = list(ws.iter_rows(values_only=True))
    return ws, [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]


def test_only_records_needing_action_most_urgent_first(tmp_path):
    results, records, reference = frames()
    paths = write_worklists(tmp_path, results, records, reference, {"asxh": "An sinh xã hội"})
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "20194.xlsx",
        "20197.xlsx",
        "chua-xac-dinh-xa.xlsx",
        "tong-hop.xlsx",
    ]
    _, rows = read(paths["worklists"])
    assert [r["Mã bản ghi"] for r in rows] == [
        "b",
        "a",
        "c",
        "d",
        "f",
    ]  # paid after death, wrong, review, field
    assert rows[0]["Lý do chính"] == "Đã chết nhưng còn chi trả"
    assert (
        rows[0]["Tất cả lý do"] == "Đã chết nhưng còn chi trả; Còn dùng CMND 9 số đã thay bằng số định danh"
    )
    _, commune = read(paths["worklist:20194"])
    assert [(r["STT"], r["Mã bản ghi"]) for r in commune] == [(1, "b"), (2, "a")]


def test_ids_are_masked_everywhere(tmp_path):
    results, records, reference = frames()
    paths = write_worklists(tmp_path, results, records, reference, {})
    for path in paths.values():
        wb = openpyxl.load_workbook(path)
        for ws in wb.worksheets:
            for row in ws.iter_rows(values_only=True):
                for v in row:
                    assert not re.search(r"\d{9,}", str(v or "")), "an unmasked ID reached a worklist"
    _, rows = read(paths["worklists"])
    by = {r["Mã bản ghi"]: r for r in rows}
    assert (by["a"]["Số định danh (dữ liệu ngành)"], by["a"]["Số định danh (CSDLQG)"]) == (
        "********1111",
        "********1111",
    )
    assert by["b"]["Số định danh (dữ liệu ngành)"] == "********0222"  # the old CMND, masked too


def test_extract_and_reference_side_by_side_with_differences_highlighted(tmp_path):
    results, records, reference = frames()
    paths = write_worklists(tmp_path, results, records, reference, {})
    ws, rows = read(paths["worklists"])
    header = [c.value for c in ws[1]]
    r = next(i for i, row in enumerate(rows, start=2) if row["Mã bản ghi"] == "a")

    def fill(col: str) -> str:
        return ws.cell(row=r, column=header.index(col) + 1).fill.fgColor.rgb

    row = rows[r - 2]
    assert (row["Ngày sinh (dữ liệu ngành)"], row["Ngày sinh (CSDLQG)"]) == ("04/03/1950", "05/03/1950")
    assert fill("Ngày sinh (dữ liệu ngành)") == fill("Ngày sinh (CSDLQG)") == "FFFFC7CE"
    assert fill("Họ tên (CSDLQG)") == "FFFFC7CE"
    assert fill("Giới tính (dữ liệu ngành)") != "FFFFC7CE"
    b = next(row for row in rows if row["Mã bản ghi"] == "b")
    assert (b["Ngày sinh (dữ liệu ngành)"], b["Giới tính (CSDLQG)"]) == ("1960", "Nữ")  # year-only agrees
    # in words: what agrees, what partly agrees (a year-only birth date), what differs
    assert b["Căn cứ khớp"] == "Trùng họ tên, mã xã; gần giống ngày sinh; khác giới tính"
    assert b["Xác suất khớp"] == 0.97


def test_formula_text_is_neutralised(tmp_path):
    results, records, reference = frames()
    paths = write_worklists(tmp_path, results, records, reference, {})
    _, rows = read(paths["worklists"])
    a = next(row for row in rows if row["Mã bản ghi"] == "a")
    assert a["Họ tên (dữ liệu ngành)"] == "'=Nguyễn Văn An"


def test_decision_drop_down_frozen_header_filters_and_widths(tmp_path):
    results, records, reference = frames()
    paths = write_worklists(tmp_path, results, records, reference, {})
    ws, rows = read(paths["worklist:20194"])
    header = [c.value for c in ws[1]]
    (dv,) = [v for v in ws.data_validations.dataValidation if v.type == "list"]
    assert dv.formula1 == '"Đúng người,Không phải,Cần xác minh"'
    col = openpyxl.utils.get_column_letter(header.index("Quyết định") + 1)
    assert str(dv.sqref) == f"{col}2:{col}3"
    assert dv.showInputMessage and dv.promptTitle == "Có phải người này không?"
    assert dv.prompt.startswith("Đúng người: bản ghi là người ở cột Họ tên (CSDLQG)")
    assert len(dv.prompt) <= 255 and dv.showErrorMessage
    assert ws.freeze_panes == "D2"
    assert ws.auto_filter.ref == f"A1:{openpyxl.utils.get_column_letter(len(header))}3"
    assert ws.column_dimensions["C"].width > 20  # the main reason is readable


def test_files_are_owner_only(tmp_path):
    results, records, reference = frames()
    paths = write_worklists(tmp_path, results, records, reference, {})
    for path in paths.values():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_summary_sheet_counts_per_commune(tmp_path):
    results, records, reference = frames()
    paths = write_worklists(tmp_path, results, records, reference, {})
    ws = openpyxl.load_workbook(paths["worklists"])["Tổng hợp"]
    rows = list(ws.iter_rows(values_only=True))[1:]
    assert rows[0] == ("20194", "20194 Phường Hải Vân", 2, 1, 1, 0)
    assert sorted(rows[1:]) == [
        ("20197", "20197 Phường Liên Chiểu", 2, 0, 1, 1),
        ("chua-xac-dinh-xa", None, 1, 0, 0, 1),
    ]


def test_english_worklist_headers_and_reasons():
    results, records, reference = frames()
    frame = worklist_frame(results, records, reference, {}, lang="en")
    assert frame["main_reason"].to_list()[0] == "Paid after death"
    assert frame["status_text"].to_list()[0] == "Matched"


def test_old_commune_code_alone_is_a_bulk_fix_not_a_worklist_row():
    results, records, reference = frames()
    results = results.with_columns(
        pl.Series(
            "reasons", [["OLD_COMMUNE_CODE"], ["OLD_COMMUNE_CODE", "MISSING_SEX"], *results["reasons"][2:]]
        )
    )
    frame = worklist_frame(results, records, reference, {})
    assert "a" not in frame["record_id"].to_list()
    b = frame.filter(pl.col("record_id") == "b")
    assert b["all_reasons"].to_list() == ["Thiếu giới tính"]
    sex_in_bulk = worklist_frame(results, records, reference, {}, bulk_codes=("MISSING_SEX",))
    assert "b" not in sex_in_bulk["record_id"].to_list()  # its other finding is only informative


def test_combined_list_is_capped_with_a_note_and_the_full_list_as_csv(tmp_path):
    results, records, reference = frames()
    paths = write_worklists(tmp_path, results, records, reference, {}, combined_cap=2)
    ws, rows = read(paths["worklists"])
    assert [r["Mã bản ghi"] for r in rows[:2]] == ["b", "a"]  # the two most urgent
    note = rows[3]["STT"]  # a blank row, then the note below the list
    assert rows[2] == dict.fromkeys(rows[2]) and note.startswith("Danh sách chỉ gồm 2 bản ghi")
    assert "xem danh sách từng xã" in note and "tổng số 5" in note
    summary = list(openpyxl.load_workbook(paths["worklists"])["Tổng hợp"].iter_rows(values_only=True))
    assert summary[-1][0] == note
    csv = paths["worklists_csv"]
    assert csv.name == "tong-hop.csv" and stat.S_IMODE(csv.stat().st_mode) == 0o600
    assert csv.read_bytes().startswith(b"\xef\xbb\xbf")
    full = pl.read_csv(csv, infer_schema=False)
    assert full["Mã bản ghi"].to_list() == ["b", "a", "c", "d", "f"]
    assert full["STT"].to_list() == ["1", "2", "3", "4", "5"]
    assert full.filter(pl.col("Mã bản ghi") == "a")["Họ tên (dữ liệu ngành)"].to_list() == ["'=Nguyễn Văn An"]
    assert "worklists_csv" not in write_worklists(tmp_path / "all", results, records, reference, {})


def test_per_reason_counts_in_the_combined_workbook(tmp_path):
    results, records, reference = frames()
    paths = write_worklists(tmp_path, results, records, reference, {})
    rows = list(openpyxl.load_workbook(paths["worklists"])["Theo lý do"].iter_rows(values_only=True))
    by = {r[0]: r[1:] for r in rows[1:]}
    assert by["PAID_AFTER_DEATH"] == ("Đã chết nhưng còn chi trả", "1 - Rất gấp", 1, 1)
    assert by["MISSING_SEX"][1] == "3 - Thường"
    assert by["OLD_ID_ONLY"][2:] == (0, 1)  # never the main reason of b, but among its reasons
    assert sum(v[2] for v in by.values()) == 5  # every listed record has one main reason


def test_a_list_longer_than_a_sheet_continues_on_the_next_sheet(tmp_path):
    results, records, reference = frames()
    paths = write_worklists(tmp_path, results, records, reference, {}, max_sheet_rows=2)
    wb = openpyxl.load_workbook(paths["worklists"])
    assert wb.sheetnames == [
        "Hướng dẫn",
        "Tổng hợp",
        "Danh sách xử lý",
        "Danh sách xử lý (2)",
        "Danh sách xử lý (3)",
        "Theo lý do",
    ]
    key = [c.value for c in wb["Danh sách xử lý"][1]].index("Mã bản ghi")
    ids = [r[key] for name in wb.sheetnames[2:5] for r in list(wb[name].iter_rows(values_only=True))[1:]]
    stt = [r[0] for name in wb.sheetnames[2:5] for r in list(wb[name].iter_rows(values_only=True))[1:]]
    assert (ids, stt) == (["b", "a", "c", "d", "f"], [1, 2, 3, 4, 5])
    assert wb["Danh sách xử lý (2)"].freeze_panes == "D2"


def test_records_read_lazily_from_parquet_give_the_same_worklist(tmp_path):
    results, records, reference = frames()
    records.write_parquet(tmp_path / "records_std.parquet")
    lazy = pl.scan_parquet(tmp_path / "records_std.parquet")  # as the pipeline passes its spilled records
    eager = worklist_frame(results, records, reference, {"asxh": "An sinh xã hội"})
    assert eager.height > 0
    assert worklist_frame(results, lazy, reference, {"asxh": "An sinh xã hội"}).equals(eager)
