"""Steward decisions: read back from reviewed worklists (real XLSX, real DuckDB) and applied by the next run."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import polars as pl
import pytest
from openpyxl import load_workbook
from test_match_link import REF
from test_match_support import frame, person, reference_db

from doisoat import pipeline, store
from doisoat.cli import main
from doisoat.match import MatchModel, MatchSettings, link

SAMPLE = Path(__file__).resolve().parent.parent / "sample_data" / "demo"


def _decide(con, identity_fp: str, person_id: str, decision: str, at: str = "2026-11-01 08:00") -> None:
    con.execute(
        "insert into steward_decisions (identity_fp, person_id, decision, decided_at) values (?, ?, ?, ?)",
        [identity_fp, person_id, decision, datetime.fromisoformat(at)],
    )


def _link(con, recs):
    return link(con, frame(recs, rid=True), MatchModel.priors(), MatchSettings(), {}).matches


def test_confirmed_person_is_linked_first_and_rejected_one_never_proposed():
    con = reference_db(REF)
    con.execute(store.SCHEMA)
    twins = [person(None, "Phạm Thị Lan", "1970-06-15", "F")]  # two reference persons fit equally: review
    before = _link(con, twins).row(0, named=True)
    assert before["match_status"] == "review" and before["identity_fp"]
    fp = before["identity_fp"]

    _decide(con, fp, "049170000444", "confirm")
    after = _link(con, twins).row(0, named=True)
    assert (after["person_id"], after["match_status"], after["match_pass"]) == (
        "049170000444",
        "matched",
        "steward",
    )
    assert after["runner_up_person_id"] is None and json.loads(after["weights"])  # still explained

    # a later rejection of that person wins over the confirmation: the other twin is proposed, as a review case
    _decide(con, fp, "049170000444", "reject", at="2026-11-02 08:00")
    again = _link(con, twins).row(0, named=True)
    assert again["person_id"] == "049170000333" and again["match_pass"] != "steward"


def test_a_decision_follows_the_identity_not_the_row():
    con = reference_db(REF)
    con.execute(store.SCHEMA)
    an = person("049090001234", "Nguyễn Văn An", "1990-05-12", "M")
    fp = _link(con, [an])["identity_fp"][0]
    _decide(con, fp, "049090001234", "reject")
    # the same record written again elsewhere (another row, another file) is not linked to the rejected person
    out = _link(con, [person(None, "Ai Đó", "2001"), an])
    assert out["identity_fp"][1] == fp
    assert out["person_id"][1] is None and out["match_status"][1] == "unmatched"


@pytest.fixture(scope="module")
def reviewed_run(tmp_path_factory):
    """A real run on the demo sample, its combined worklist reviewed in Excel's place by openpyxl."""
    base = tmp_path_factory.mktemp("decisions")
    manifest = json.loads((SAMPLE / "manifest.json").read_text())
    config = pipeline.RunConfig(
        reference=SAMPLE / manifest["reference"],
        extracts=[pipeline.ExtractInput("vaccination", SAMPLE / "tiem_chung.csv")],
        out_dir=base / "out",
        db_path=base / "d.duckdb",
    )
    first = pipeline.reconcile(config)
    results = pl.read_parquet(first.out_dir / "results.parquet")
    path = first.out_dir / "worklists" / "tong-hop.xlsx"
    wb = load_workbook(path)
    ws = next(ws for ws in wb.worksheets if "Quyết định" in [c.value for c in ws[1]])
    header = [c.value for c in ws[1]]
    col = {h: i for i, h in enumerate(header)}
    rows = list(ws.iter_rows(min_row=2))
    linked = [r for r in rows if r[col["Trạng thái"]].value == "Khớp"]
    assert len(linked) >= 2, "the demo worklist should hold matched rows with findings"
    confirm, reject = linked[0], linked[1]
    confirm[col["Quyết định"]].value = "Đúng người"
    reject[col["Quyết định"]].value = "Không phải"
    reject[col["Ghi chú"]].value = "Khác người, trùng tên"
    rows[-1][col["Quyết định"]].value = "Cần xác minh" if rows[-1] not in (confirm, reject) else None
    reviewed = base / "tong-hop-da-ra-soat.xlsx"  # sent back by e-mail: no longer beside its run
    wb.save(reviewed)

    def key(row) -> tuple[str, int]:
        return row[col["Tệp nguồn"]].value, int(row[col["Dòng"]].value)

    return config, results, reviewed, key(confirm), key(reject)


@pytest.fixture(scope="module")
def applied(reviewed_run):
    """The reviewed worklist imported with the CLI, then the same extract reconciled again."""
    import contextlib
    import io

    config = reviewed_run[0]
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        code = main(["decisions", "import", str(reviewed_run[2]), "--db", str(config.db_path)])
    second = pipeline.reconcile(config)
    return code, printed.getvalue(), pl.read_parquet(second.out_dir / "results.parquet"), second.out_dir


def _row(results: pl.DataFrame, k: tuple[str, int]) -> dict:
    return results.filter((pl.col("source_file") == k[0]) & (pl.col("source_row") == k[1])).row(0, named=True)


def test_import_command_stores_decisions_and_the_next_run_applies_them(reviewed_run, applied):
    config, first, _, confirm_key, reject_key = reviewed_run
    code, printed, results, _ = applied
    assert code == 0
    assert "Đã nhập 2 quyết định: 1 xác nhận đúng người, 1 loại trừ" in printed
    assert results.height == first.height  # nothing lost
    c = _row(results, confirm_key)
    assert (c["match_pass"], c["person_id"]) == ("steward", _row(first, confirm_key)["person_id"])
    assert _row(results, reject_key)["person_id"] != _row(first, reject_key)["person_id"]
    with store.connect(config.db_path, read_only=True) as con:
        stored = con.sql("select decision, note from steward_decisions order by decision").fetchall()
    assert stored == [("confirm", None), ("reject", "Khác người, trùng tên")]


def test_list_command_counts_decisions_by_day_without_personal_data(reviewed_run, applied, capsys):
    config = reviewed_run[0]
    assert main(["decisions", "list", "--db", str(config.db_path)]) == 0
    out = capsys.readouterr().out
    today = datetime.now().strftime("%d/%m/%Y")
    assert f"{today}: 1 xác nhận đúng người, 1 loại trừ (2 bản ghi khác nhau)" in out
    assert not any(ch.isdigit() for ch in out.replace(today, "").replace("1 ", "").replace("2 ", ""))


def test_import_of_a_file_that_is_no_worklist_says_so(reviewed_run, tmp_path, capsys):
    config, *_ = reviewed_run
    other = tmp_path / "bang-tinh.xlsx"
    pl.DataFrame({"A": [1]}).write_excel(other)
    not_excel = tmp_path / "ghi-chu.xlsx"
    not_excel.write_text("không phải excel")
    code = main(["decisions", "import", str(other), str(not_excel), "--db", str(config.db_path)])
    out = capsys.readouterr().out
    assert code == 0  # nothing stored, nothing wrong with the data: the messages say why
    assert "Tệp bang-tinh.xlsx không có cột 'Mã đối chiếu'" in out
    assert "Không đọc được tệp ghi-chu.xlsx" in out


def test_the_next_worklist_shows_the_confirmation_already_given(reviewed_run, applied):
    from doisoat.report.worklists import CONFIRMED_NOTE

    confirm_key, out = reviewed_run[3], applied[3]
    wb = load_workbook(out / "worklists" / "tong-hop.xlsx")
    ws = next(ws for ws in wb.worksheets if "Quyết định" in [c.value for c in ws[1]])
    rows = ws.iter_rows(values_only=True)
    header = list(next(rows))
    col = {h: i for i, h in enumerate(header)}
    by_key = {(r[col["Tệp nguồn"]], int(r[col["Dòng"]])): r for r in rows}
    wb.close()
    row = by_key[confirm_key]  # its findings (a differing field) keep it on the list, now with the decision
    assert (row[col["Quyết định"]], row[col["Ghi chú"]]) == ("Đúng người", CONFIRMED_NOTE["vi"])
    # every row showing the decision was linked by it (other doses of the same person written the same way too)
    steward = pl.read_parquet(out / "results.parquet").filter(pl.col("match_pass") == "steward")
    linked_by_steward = set(steward.select("source_file", "source_row").iter_rows())
    shown = {k for k, r in by_key.items() if r[col["Quyết định"]] == "Đúng người"}
    assert confirm_key in shown and shown <= linked_by_steward


def test_decisions_are_read_below_a_title_in_a_copied_workbook(tmp_path):
    from openpyxl import Workbook

    from doisoat.decisions import read_worklist

    wb = Workbook()
    ws = wb.active
    ws.append(["UBND XÃ HẢI VÂN — DANH SÁCH ĐÃ RÀ SOÁT"])
    ws.append([])
    ws.append(["Ghi chú", "Quyết định", "Họ tên (dữ liệu ngành)", "Mã đối chiếu"])  # columns moved, too
    ws.append([None, "Không phải", "Nguyễn Văn A", "20261128T000000-abc/7"])
    ws.append(["xem lại", None, "Trần Thị B", "20261128T000000-abc/9"])
    path = tmp_path / "chep-lai.xlsx"
    wb.save(path)
    got = read_worklist(path)
    assert got.select("ref_key", "decision", "note", "row").rows() == [
        ("20261128T000000-abc/7", "Không phải", None, 4),
        ("20261128T000000-abc/9", None, "xem lại", 5),
    ]


def test_a_person_confirmed_but_gone_from_the_reference_is_warned_about_and_not_applied(caplog):
    con = reference_db(REF)
    con.execute(store.SCHEMA)
    an = person("049090001234", "Nguyễn Văn An", "1990-05-12", "M")
    fp = _link(con, [an])["identity_fp"][0]
    _decide(con, fp, "001099999999", "confirm")  # nobody with this ID in the reference (any more)
    with caplog.at_level("WARNING"):
        out = _link(con, [an]).row(0, named=True)
    assert (out["person_id"], out["match_pass"]) == ("049090001234", "id_exact")  # linked as usual
    assert "1 record(s) confirmed to a person no longer in the reference" in caplog.text
    assert "049090001234" not in caplog.text and "Nguyễn" not in caplog.text


def test_a_decision_typed_by_hand_outside_the_list_is_named_with_its_row(reviewed_run, tmp_path):
    from openpyxl import Workbook

    from doisoat.decisions import import_worklists

    wb = Workbook()
    ws = wb.active
    ws.append(["Mã đối chiếu", "Quyết định"])
    ws.append(["r/1", "dung roi"])
    ws.append(["r/2", "Cần xác minh"])
    wb.save(tmp_path / "go-tay.xlsx")
    with store.connect(reviewed_run[0].db_path) as con:
        summary = import_worklists(con, [tmp_path / "go-tay.xlsx"])
    assert (summary.confirmed, summary.rejected, summary.skipped, summary.undecided) == (0, 0, 1, 1)
    assert "1 dòng có quyết định không thuộc danh mục (ví dụ trang 'Sheet', dòng 2)" in summary.text()


@pytest.fixture(scope="module")
def quality_run(tmp_path_factory):
    """A real run; three data-quality rows of its combined worklist answered with each choice, imported with
    the CLI; then the same extract reconciled again into the same DuckDB file."""
    import contextlib
    import io

    base = tmp_path_factory.mktemp("quality")
    manifest = json.loads((SAMPLE / "manifest.json").read_text())
    config = pipeline.RunConfig(
        reference=SAMPLE / manifest["reference"],
        extracts=[pipeline.ExtractInput("social_protection", SAMPLE / "an_sinh_xa_hoi.csv")],
        out_dir=base / "out",
        db_path=base / "d.duckdb",
    )
    first = pipeline.reconcile(config)
    wb = load_workbook(first.out_dir / "worklists" / "tong-hop.xlsx")
    ws = next(ws for ws in wb.worksheets if "Quyết định" in [c.value for c in ws[1]])
    col = {c.value: i for i, c in enumerate(ws[1])}
    rows = [r for r in ws.iter_rows(min_row=2) if r[col["Loại việc"]].value == "Chất lượng dữ liệu"]
    assert len(rows) >= 3, "the demo worklist should hold data-quality rows"
    chosen = {}
    for row, choice in zip(rows, ["Giữ nguyên", "Đã sửa ở nguồn", "Chuyển ngành"], strict=False):
        row[col["Quyết định"]].value = choice
        chosen[choice] = (row[col["Tệp nguồn"]].value, int(row[col["Dòng"]].value))
    reviewed = base / "tong-hop-da-ra-soat.xlsx"
    wb.save(reviewed)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        assert main(["decisions", "import", str(reviewed), "--db", str(config.db_path)]) == 0
        assert main(["decisions", "list", "--db", str(config.db_path)]) == 0
    second = pipeline.reconcile(config)
    return config, first.out_dir, second.out_dir, chosen, printed.getvalue()


def _worklist_rows(out: Path) -> dict[tuple[str, int], dict]:
    wb = load_workbook(out / "worklists" / "tong-hop.xlsx", read_only=True)
    ws = next(ws for ws in wb.worksheets if ws.title == "Danh sách xử lý")
    it = ws.iter_rows(values_only=True)
    header = list(next(it))
    rows = [dict(zip(header, r, strict=True)) for r in it]
    wb.close()
    return {(r["Tệp nguồn"], int(r["Dòng"])): r for r in rows}


def test_each_data_quality_choice_is_imported_stored_and_counted(quality_run):
    config, first, _, chosen, printed = quality_run
    assert (
        "Đã nhập 3 quyết định: 0 xác nhận đúng người, 0 loại trừ, 1 đã sửa ở nguồn, 1 giữ nguyên, " in printed
    )
    assert "1 chuyển ngành;" in printed
    today = datetime.now().strftime("%d/%m/%Y")
    assert (
        f"{today}: 0 xác nhận đúng người, 0 loại trừ, 1 đã sửa ở nguồn, 1 giữ nguyên, 1 chuyển ngành"
        in printed
    )
    results = pl.read_parquet(first / "results.parquet")
    with store.connect(config.db_path, read_only=True) as con:
        stored = con.sql(
            "select decision, source_file, source_row, status, reasons, person_id from steward_decisions"
        ).pl()
    codes = {"Giữ nguyên": "keep", "Đã sửa ở nguồn": "fixed", "Chuyển ngành": "transfer"}
    for choice, key in chosen.items():
        row = stored.filter(pl.col("decision") == codes[choice]).row(0, named=True)
        assert (row["source_file"], row["source_row"]) == key
        was = _row(results, key)
        assert row["status"] == was["status"]
        assert set(row["reasons"]) <= set(was["reasons"]) and row["reasons"]  # the finding answered


def test_the_next_worklist_applies_each_data_quality_choice_and_the_figures_do_not_change(quality_run):
    _, first, second, chosen, _ = quality_run
    before, after = _worklist_rows(first), _worklist_rows(second)
    kept = chosen["Giữ nguyên"]
    assert kept in before and kept not in after  # kept as is: not asked again
    assert after[chosen["Đã sửa ở nguồn"]]["Ghi chú"].startswith("Đã báo sửa ở nguồn ngày ")
    assert after[chosen["Chuyển ngành"]]["Ghi chú"].startswith("Đã chuyển ngành ngày ")
    assert set(after) <= set(before)  # nothing else appears or goes away (but the same person's other rows)
    a = pl.read_parquet(first / "results.parquet").drop("run_id")
    b = pl.read_parquet(second / "results.parquet").drop("run_id")
    assert a.equals(b)  # the report still counts every finding
