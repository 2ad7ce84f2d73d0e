"""Steward worklists: who must act on what, most urgent first, safe to open and to share with the steward."""

from __future__ import annotations

import re
import stat

import openpyxl
import polars as pl
from factories import typed

from doisoat.report import worklist_frame, write_worklists

BIRTH = typed("birth_year", "birth_month", "birth_day")


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
            "run_id": ["r1"] * 6,
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
        "20194-phuong-hai-van.xlsx",  # code and commune name: found by either
        "20197-phuong-lien-chieu.xlsx",
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


def test_each_row_offers_the_choices_of_its_kind_with_its_own_prompt(tmp_path):
    """A review case asks about the person; a data-quality finding asks what was done about it."""
    results, records, reference = frames()
    paths = write_worklists(tmp_path, results, records, reference, {})
    ws, rows = read(paths["worklists"])
    header = [c.value for c in ws[1]]
    col = openpyxl.utils.get_column_letter(header.index("Quyết định") + 1)
    lists = [v for v in ws.data_validations.dataValidation if v.type == "list"]
    by_kind = {
        "Xác minh người": (
            '"Đúng người,Không phải,Cần xác minh"',
            "Có phải người này không?",
            "Đúng người: ",
        ),
        "Chất lượng dữ liệu": (
            '"Đã sửa ở nguồn,Giữ nguyên,Chuyển ngành"',
            "Đã xử lý lỗi này thế nào?",
            "Đã sửa ở nguồn: ",
        ),
    }
    kinds = {row["Mã bản ghi"]: row["Loại việc"] for row in rows}
    assert kinds == {
        "a": "Chất lượng dữ liệu",  # matched, name differs: fix at source or keep
        "b": "Chất lượng dữ liệu",
        "c": "Xác minh người",  # review: is it the person?
        "d": "Chất lượng dữ liệu",
        "f": "Chất lượng dữ liệu",
    }
    for r, row in enumerate(rows, start=2):
        (dv,) = [v for v in lists if f"{col}{r}" in v.sqref]  # exactly one drop-down per cell
        formula, title, prompt = by_kind[row["Loại việc"]]
        assert (dv.formula1, dv.promptTitle) == (formula, title), row["Mã bản ghi"]
        assert dv.prompt.startswith(prompt) and len(dv.prompt) <= 255
        assert dv.showInputMessage and dv.showErrorMessage


def test_frozen_header_filters_and_widths(tmp_path):
    results, records, reference = frames()
    paths = write_worklists(tmp_path, results, records, reference, {})
    ws, rows = read(paths["worklist:20194"])
    header = [c.value for c in ws[1]]
    assert ws.freeze_panes == "D2"
    assert ws.auto_filter.ref == f"A1:{openpyxl.utils.get_column_letter(len(header))}3"
    assert ws.column_dimensions["C"].width > 20  # the main reason is readable


def test_row_kind_follows_the_question_a_steward_can_answer():
    results, records, reference = frames()
    confirmed = results.with_columns(
        pl.when(pl.col("record_id") == "a")
        .then(pl.lit("steward"))
        .otherwise("match_pass")
        .alias("match_pass")
    )
    kinds = dict(worklist_frame(confirmed, records, reference, {}).select("record_id", "kind").iter_rows())
    assert kinds == {"a": "match", "b": "quality", "c": "match", "d": "quality", "f": "quality"}
    audit = worklist_frame(
        results.filter(pl.col("status") == "matched"), records, reference, {}, every_row=True
    )
    assert set(audit["kind"]) == {"match"}  # the audit sample judges every link


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


def test_decision_sits_beside_the_names_and_each_file_opens_on_its_list(tmp_path):
    results, records, reference = frames()
    paths = write_worklists(tmp_path, results, records, reference, {})
    ws, _ = read(paths["worklist:20194"])
    header = [c.value for c in ws[1]]
    assert header[3:7] == ["Họ tên (dữ liệu ngành)", "Họ tên (CSDLQG)", "Quyết định", "Ghi chú"]
    wb = openpyxl.load_workbook(paths["worklist:20194"])
    assert (wb.sheetnames, wb.active.title) == (["Hướng dẫn", "Danh sách xử lý"], "Danh sách xử lý")
    assert openpyxl.load_workbook(paths["worklists"]).active.title == "Tổng hợp"
    assert ws.page_setup.orientation == "landscape" and ws.page_setup.paperSize == 9  # printed on A4
    assert (
        ws.print_title_rows == "$1:$1"
        and ws.page_setup.fitToHeight == 0  # one page wide, as many long as needed
        and ws.sheet_properties.pageSetUpPr.fitToPage
    )


def test_only_decision_and_note_cells_can_be_edited_and_only_where_a_decision_can_be_read_back(tmp_path):
    results, records, reference = frames()
    paths = write_worklists(tmp_path, results, records, reference, {})
    ws, rows = read(paths["worklists"])
    assert ws.protection.sheet and not ws.protection.password  # protected against slips, no password
    assert not ws.protection.autoFilter  # filters still work on the protected sheet
    header = [c.value for c in ws[1]]
    dec, note = header.index("Quyết định"), header.index("Ghi chú")
    for r, row in enumerate(ws.iter_rows(min_row=2, max_row=len(rows) + 1)):
        unlocked = {i for i, c in enumerate(row) if not c.protection.locked}
        has_key = rows[r]["Mã đối chiếu"] is not None  # an unreadable row has none: nothing to read back
        assert unlocked == ({dec, note} if has_key else {note}), rows[r]["Mã bản ghi"]
    quarantined = next(i for i, row in enumerate(rows, start=2) if row["Mã bản ghi"] == "f")
    assert ws.cell(quarantined, dec + 1).fill.fgColor.rgb == "FFEDEDED"  # greyed: no reference key


def test_decided_rows_change_colour_by_choice(tmp_path):
    results, records, reference = frames()
    paths = write_worklists(tmp_path, results, records, reference, {})
    ws, rows = read(paths["worklist:20194"])
    (cf,) = list(ws.conditional_formatting)
    assert str(cf.sqref) == "A2:C3 F2:G3"  # not the compared pairs: their red stays visible
    rules = {r.formula[0]: r.dxf.fill.bgColor.rgb for r in cf.rules}
    assert rules == {
        '$F2="Đúng người"': "FFC6EFCE",
        '$F2="Không phải"': "FFF8CBAD",
        '$F2="Cần xác minh"': "FFFFD966",
        '$F2="Đã sửa ở nguồn"': "FFC6EFCE",
        '$F2="Giữ nguyên"': "FFDDEBF7",
        '$F2="Chuyển ngành"': "FFE4DFEC",
    }


def test_instruction_sheet_explains_every_choice_priority_and_colour_without_personal_data(tmp_path):
    results, records, reference = frames()
    paths = write_worklists(tmp_path, results, records, reference, {})
    for path in paths.values():
        ws = openpyxl.load_workbook(path).worksheets[0]
        assert ws.title == "Hướng dẫn"
        guide = dict(list(ws.iter_rows(values_only=True))[1:])
        choices = {"Đúng người", "Không phải", "Cần xác minh", "Đã sửa ở nguồn", "Giữ nguyên", "Chuyển ngành"}
        assert choices | {"Loại việc", "Mức ưu tiên", "Căn cứ khớp", "Màu"} <= set(guide)
        assert [line.split(":")[0] for line in guide["Mức ưu tiên"].splitlines()] == [
            "1 - Rất gấp",
            "2 - Gấp",
            "3 - Thường",
        ]
        text = " ".join(guide.values())
        assert "Nguyễn" not in text and not re.search(r"\d{4}", text)
    # the importer skips the guide: it is no list
    from doisoat.decisions import read_worklist

    assert read_worklist(paths["worklist:20194"]).height == 2


def test_priority_is_a_band_in_words_most_urgent_first(tmp_path):
    results, records, reference = frames()
    frame = worklist_frame(results, records, reference, {})
    assert frame.select("record_id", "priority").rows() == [
        ("b", "1 - Rất gấp"),
        ("a", "2 - Gấp"),
        ("c", "2 - Gấp"),
        ("d", "3 - Thường"),
        ("f", "3 - Thường"),
    ]


def test_match_evidence_names_what_agrees_and_which_part_differs():
    results, records, reference = frames()
    parts = {"surname_key": ["nguyễn"], "middle_key": ["văn"], "given_key": ["an"]}
    records = records.with_columns(
        *[pl.Series(k, v + [None] * 4, dtype=pl.Utf8) for k, v in parts.items()],
        pl.Series("birth_year", [1951, 1960, 1970, 1980, 1990], dtype=pl.Int16),
    )
    reference = reference.with_columns(
        pl.Series("surname_key", ["nguyễn", None, None, None, None]),
        pl.Series("middle_key", ["hữu", None, None, None, None]),
        pl.Series("given_key", ["an", None, None, None, None]),
    )
    results = results.with_columns(
        pl.Series(
            "weights",
            ['{"prior": -11.1, "id": 20.6, "name": -2.0, "birth": -3.0, "phone": 18.3, "sex": 0.0}']
            + results["weights"][1:].to_list(),
        ),
        pl.Series("match_pass", ["steward", *results["match_pass"][1:]]),
    )
    for lang, expected in [
        (
            "vi",
            "Đã xác nhận ở lần rà soát trước; trùng số định danh, số điện thoại; khác tên đệm, khác năm sinh",
        ),
        ("en", "Confirmed in an earlier review; same ID, phone; different middle name, different birth year"),
    ]:
        frame = worklist_frame(results, records, reference, {}, lang=lang)
        assert frame.filter(pl.col("record_id") == "a")["match_basis"].item() == expected
        assert frame.filter(pl.col("record_id") == "c")["match_basis"].item() is None  # no weights, no words


def test_record_keys_holding_a_personal_number_are_masked(tmp_path):
    results, records, reference = frames()
    keys = ["4912345678", "DN4912345678901", "DT0000114", "KH-2025-000073", "0912345678", "f"]
    results = results.with_columns(pl.Series("record_id", keys))
    frame = worklist_frame(results, records, reference, {})
    assert sorted(frame["record_id"].to_list()) == sorted(
        ["********5678", "********8901", "DT0000114", "KH-2025-000073", "f"]
    )


def test_english_worklist_writes_the_same_layout(tmp_path):
    results, records, reference = frames()
    paths = write_worklists(tmp_path, results, records, reference, {}, lang="en")
    wb = openpyxl.load_workbook(paths["worklist:20194"])
    assert wb.sheetnames == ["How to", "Worklist"]
    header = [c.value for c in wb["Worklist"][1]]
    assert header[5] == "Decision" and wb["Worklist"].protection.sheet
    (dv,) = [v for v in wb["Worklist"].data_validations.dataValidation if v.type == "list"]
    assert dv.formula1 == '"Fixed at source,Keep as is,Passed to another sector"'  # only findings here
    header = [c.value for c in wb["Worklist"][1]]
    assert {
        r[header.index("Kind of item")] for r in wb["Worklist"].iter_rows(min_row=2, values_only=True)
    } == {"Data quality"}


def test_a_reviewed_worklist_is_read_back_by_the_importer(tmp_path):
    """Decisions typed into the protected sheet (as openpyxl writes them) come back with their rows."""
    from doisoat.decisions import read_worklist

    results, records, reference = frames()
    results = results.with_columns(pl.lit("r1").alias("run_id"))
    path = write_worklists(tmp_path, results, records, reference, {})["worklist:20197"]
    wb = openpyxl.load_workbook(path)
    ws = wb["Danh sách xử lý"]
    header = [c.value for c in ws[1]]
    ws.cell(2, header.index("Quyết định") + 1).value = "Không phải"
    ws.cell(3, header.index("Ghi chú") + 1).value = "đã sửa ở nguồn"
    wb.save(tmp_path / "da-ra-soat.xlsx")
    got = read_worklist(tmp_path / "da-ra-soat.xlsx")
    assert got.select("ref_key", "decision", "note", "sheet", "row").rows() == [
        ("r1/3", "Không phải", None, "Danh sách xử lý", 2),
        ("r1/4", None, "đã sửa ở nguồn", "Danh sách xử lý", 3),
    ]


def test_earlier_quality_decisions_apply_to_the_same_finding_of_the_same_identity(tmp_path):
    """«Giữ nguyên» leaves the same finding out; a new finding or another status brings the row back; «Đã sửa ở
    nguồn» and «Chuyển ngành» keep the row, saying since when."""
    from datetime import datetime

    results, records, reference = frames()
    results = results.with_columns(pl.Series("identity_fp", ["fa", "fb", "fc", "fd", "fe", None]))
    day = datetime(2026, 12, 3, 8, 0)
    earlier = pl.DataFrame(
        {
            "identity_fp": ["fa", "fb", "fc", "fd"],
            "decision": ["keep", "keep", "transfer", "fixed"],
            "status": ["matched", "matched", "unmatched", "matched"],
            "reasons": [
                ["BIRTH_DATE_DIFFERS", "NAME_DIFFERS"],
                ["PAID_AFTER_DEATH"],
                ["NEEDS_REVIEW"],
                ["MISSING_SEX"],
            ],
            "decided_at": [day] * 4,
        }
    )
    frame = worklist_frame(results, records, reference, {}, earlier=earlier)
    notes = dict(frame.select("record_id", "note").iter_rows())
    assert "a" not in notes  # kept: the same two findings of the same person are not asked again
    assert notes["b"] is None  # kept only one of its two findings: back, as a new question
    assert notes["c"] is None  # passed on while unmatched, now a review case: another finding
    assert notes["d"] == "Đã báo sửa ở nguồn ngày 03/12/2026, nhưng lỗi vẫn còn trong tệp mới"
    moved = earlier.with_columns(pl.Series("decision", ["keep", "keep", "transfer", "transfer"]))
    again = worklist_frame(results, records, reference, {}, lang="en", earlier=moved)
    assert again.filter(pl.col("record_id") == "d")["note"].item() == (
        "Passed to another sector on 03/12/2026, not yet handled"
    )
    # written to the workbook too, and nothing else changes
    paths = write_worklists(tmp_path, results, records, reference, {}, earlier=earlier)
    _, rows = read(paths["worklists"])
    assert sorted(r["Mã bản ghi"] for r in rows) == ["b", "c", "d", "f"]


def test_evidence_links_each_row_to_its_waterfall_of_match_weights_without_personal_data(tmp_path):
    import json
    from html.parser import HTMLParser

    results, records, reference = frames()
    weights = '{"prior": -11.12, "id": 14.67, "name": -2.5, "birth": 13.54, "sex": 1.0, "commune": 5.83}'
    results = results.with_columns(
        pl.when(pl.col("record_id") == "a").then(pl.lit(weights)).otherwise("weights").alias("weights")
    )
    paths = write_worklists(tmp_path, results, records, reference, {})
    ws, rows = read(paths["worklist:20194"])
    header = [c.value for c in ws[1]]
    assert header.index("Biểu đồ trọng số") == header.index("Căn cứ khớp") + 1
    col = header.index("Biểu đồ trọng số") + 1
    wb = openpyxl.load_workbook(paths["worklist:20194"])  # formulas, not their values
    links = {}
    for r, row in enumerate(rows, start=2):
        cell = wb["Danh sách xử lý"].cell(r, col)
        if cell.value is not None:
            links[row["Mã bản ghi"]] = cell.value
            assert cell.font.u == "single" and cell.protection.locked  # a link, not an input
    # a: identity differs; b has weights too but its link is not in question (paid after death); c is elsewhere
    assert set(links) == {"a"}
    m = re.fullmatch(
        r'=HYPERLINK\("bieu-do/(20194-phuong-hai-van\.html)#(r-r1-1)","Xem biểu đồ"\)', links["a"]
    )
    assert m, links["a"]
    page = (tmp_path / "bieu-do" / m.group(1)).read_text(encoding="utf-8")

    class Ids(HTMLParser):
        def __init__(self):
            super().__init__()
            self.ids: list[str] = []

        def handle_starttag(self, tag, attrs):
            self.ids += [v for k, v in attrs if k == "id"]

    parser = Ids()
    parser.feed(page)
    assert [i for i in parser.ids if i.startswith("r-")] == [m.group(2)]  # only the rows that link here
    assert "default-src 'none'" in page  # self-contained, requests nothing
    for person in ("Nguyễn", "Ân", "Trần", "049050001111", "1111", "1950"):
        assert person not in page  # comparisons and numbers only
    # each step as the match explanation says, and their total
    total = sum(json.loads(weights).values())
    for text in (
        "Số định danh",
        "+14,67",
        "Họ tên",
        "-2,50",
        "Tổng trọng số",
        f"+{total:.2f}".replace(".", ","),
    ):
        assert text in page
    # the audit sample links to its own page
    from doisoat.report.worklists import write_audit_worklist

    audit = write_audit_worklist(tmp_path, results.filter(pl.col("record_id") == "a"), records, reference, {})
    wb = openpyxl.load_workbook(audit["audit_sample"])
    assert "bieu-do/kiem-tra-mau.html#r-r1-1" in wb["Danh sách xử lý"].cell(2, col).value
    assert (tmp_path / "bieu-do" / "kiem-tra-mau.html").is_file()
