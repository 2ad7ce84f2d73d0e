"""The report as a document: its administrative heading, its configuration, its XLSX page setup and cells."""

from __future__ import annotations

from datetime import date, datetime

import openpyxl
import polars as pl
import pytest
from test_report_taskforce import LABELS, random_results

from doisoat.errors import DoisoatError
from doisoat.report import build_report, render_html, write_xlsx
from doisoat.report.heading import ReportHeading, describe_inputs, load_heading
from doisoat.report.taskforce import commune_sort_key
from doisoat.textfmt import date_in_words

RUN = {
    "run_id": "20261204T013000-abc123",
    "started_at": "2026-12-04T01:30:00",
    "inputs": [
        {"sector": "bhxh", "file": "bhxh.csv", "rows": 210, "ok": True, "modified": "2026-12-02T16:45:00"},
        {
            "sector": "ho_tich",
            "file": "ho_tich.xlsx",
            "sheet": "KS",
            "rows": 190,
            "ok": True,
            "modified": "2026-12-03T09:10:00",
        },
        {
            "sector": "tiem_chung",
            "file": "hong.csv",
            "rows": 5,
            "ok": False,
            "modified": "2026-12-03T23:00:00",
        },
    ],
}


def test_date_in_words_follows_decree_30_leading_zeros():
    assert date_in_words(date(2026, 12, 4), "Đà Nẵng") == "Đà Nẵng, ngày 04 tháng 12 năm 2026"
    assert date_in_words(date(2026, 2, 14), "Đà Nẵng") == "Đà Nẵng, ngày 14 tháng 02 năm 2026"
    assert date_in_words(date(2026, 3, 1)) == "ngày 01 tháng 3 năm 2026"
    assert date_in_words(date(2026, 12, 4), "Da Nang", "en") == "Da Nang, 4 December 2026"


def test_heading_comes_from_the_configuration_file_named_in_the_environment(tmp_path, monkeypatch):
    config = tmp_path / "bao-cao.yaml"
    config.write_text(
        'parent_body: "UBND TỈNH QUẢNG NAM"\nplace: "Quảng Nam"\narea: "tỉnh Quảng Nam"\ntarget_rate: 0.9\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("DOISOAT_REPORT_CONFIG", str(config))
    heading = load_heading()
    assert (heading.parent_body, heading.place, heading.target_rate) == (
        "UBND TỈNH QUẢNG NAM",
        "Quảng Nam",
        0.9,
    )
    assert heading.issuing_body == "TỔ CÔNG TÁC ĐỀ ÁN 06"  # a key left out keeps the default
    page = render_html(build_report(random_results(), None, LABELS, RUN, suppress_below=0))
    assert "UBND TỈNH QUẢNG NAM" in page and "Quảng Nam, ngày 04 tháng 12 năm 2026" in page
    assert "trên địa bàn tỉnh Quảng Nam" in page and "Chỉ tiêu 90%" in page


def test_a_wrong_configuration_key_is_an_error_that_names_the_file(tmp_path):
    config = tmp_path / "bao-cao.yaml"
    config.write_text("issuer: UBND\n", encoding="utf-8")
    with pytest.raises(DoisoatError, match=r"bao-cao.yaml: khóa không hợp lệ issuer"):
        load_heading(config)
    config.write_text("target_rate: 95\n", encoding="utf-8")
    with pytest.raises(DoisoatError, match="target_rate là tỷ lệ"):
        load_heading(config)


def test_html_heading_says_who_where_when_and_on_what_data():
    report = build_report(random_results(), None, LABELS, RUN, suppress_below=0, heading=ReportHeading())
    page = render_html(report)
    for text in (
        "UBND THÀNH PHỐ ĐÀ NẴNG",
        "TỔ CÔNG TÁC ĐỀ ÁN 06",
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        "Độc lập - Tự do - Hạnh phúc",
        "Đà Nẵng, ngày 04 tháng 12 năm 2026",
        "BÁO CÁO",
        # the cut-off is the newest usable input file's date (the unusable one does not count)
        "Số liệu tính đến ngày <b>03/12/2026</b> (ngày của tệp đầu vào mới nhất)",
        "lúc 01:30 ngày 04/12/2026",
        "TM. TỔ CÔNG TÁC",
    ):
        assert text in page, text
    inputs = next(t for t in report.tables if t.key == "inputs")
    assert [row[:3] for row in inputs.rows] == [
        ["Bảo hiểm xã hội", "bhxh.csv", 210],
        ["Hộ tịch", "ho_tich.xlsx (KS)", 190],
    ]
    assert "09:10 ngày 03/12/2026" in page  # the file's date and time, not ISO text
    assert "2026-12-0" not in page


def test_a_given_cut_off_wins_and_without_inputs_the_files_come_from_the_results():
    report = build_report(
        random_results(), None, LABELS, {"started_at": "2026-12-04T01:30:00", "data_cutoff": "2026-11-30"}
    )
    assert report.cutoff == date(2026, 11, 30) and report.cutoff_source == ""
    inputs = next(t for t in report.tables if t.key == "inputs")
    files = {row[1]: row[2] for row in inputs.rows}
    counts = dict(random_results().group_by("source_file").len().iter_rows())
    assert files == counts


def test_describe_inputs_gives_file_dates_without_paths(tmp_path):
    class Ingested:  # the fields of doisoat.ingest.IngestResult the report reads
        sector, source_file, source_sheet, n_input_rows, ok = "bhxh", "bhxh.csv", None, 3, True

    f = tmp_path / "bhxh.csv"
    f.write_text("a\n1\n", encoding="utf-8")
    item = Ingested()
    item.path = f
    [info] = describe_inputs([item])
    assert info["file"] == "bhxh.csv" and str(tmp_path) not in str(info)
    assert datetime.fromisoformat(info["modified"]).date() == date.today()


def test_every_sheet_prints_on_a4_one_page_wide_with_its_header_repeated(tmp_path):
    path = write_xlsx(build_report(random_results(), None, LABELS, RUN), tmp_path / "b.xlsx")
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames[0] == "Báo cáo"
    for ws in wb.worksheets:
        setup = ws.page_setup
        assert setup.paperSize == 9, ws.title  # A4
        assert ws.sheet_properties.pageSetUpPr.fitToPage, ws.title
        assert (setup.fitToWidth in (None, 1)) and setup.fitToHeight == 0, ws.title
        assert "&P" in ws.oddFooter.right.text, ws.title
        if ws.title != "Báo cáo":
            assert ws.print_title_rows == "$1:$1", ws.title
    assert wb["Theo đơn vị"].page_setup.orientation == "landscape"  # 17 columns
    assert wb["Theo sổ"].page_setup.orientation == "portrait"  # 5 columns
    cover = [c for row in wb["Báo cáo"].iter_rows(values_only=True) for c in row if c]
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in cover and "Đà Nẵng, ngày 04 tháng 12 năm 2026" in cover
    assert "Số liệu tính đến ngày 03/12/2026 (ngày của tệp đầu vào mới nhất)." in cover


def test_times_are_date_cells_not_iso_text(tmp_path):
    path = write_xlsx(build_report(random_results(), None, LABELS, RUN), tmp_path / "b.xlsx")
    wb = openpyxl.load_workbook(path)
    notes = {r[0]: r[1] for r in wb["Ghi chú"].iter_rows(min_row=2, values_only=True)}
    assert notes["Thời điểm"] == datetime(2026, 12, 4, 1, 30)
    ws = wb["Dữ liệu đầu vào"]
    assert ws["D2"].value == datetime(2026, 12, 2, 16, 45) and ws["D2"].number_format == "dd/mm/yyyy hh:mm"


def test_hidden_counts_leave_the_column_numeric_and_summable(tmp_path):
    results = random_results(300)
    path = write_xlsx(build_report(results, None, LABELS, {}, suppress_below=30), tmp_path / "b.xlsx")
    ws = openpyxl.load_workbook(path)["Theo đơn vị"]
    header = [c.value for c in ws[1]]
    total, flag = header.index("Tổng số bản ghi"), header.index("Số liệu bị ẩn")
    n_hidden = 0
    for row in ws.iter_rows(min_row=2, values_only=True):
        if row[0] is None:
            break
        assert row[total] is None or isinstance(row[total], int)
        if row[total] is None:
            n_hidden += 1
            assert row[flag] == "Có (dưới 30 bản ghi)"
        else:
            assert row[flag] is None
    assert n_hidden > 0
    note = next(c.value for c in ws["A"] if c.value and str(c.value).startswith("Đơn vị có dưới"))
    assert "Ô xám để trống" in note


def test_commune_index_lists_every_current_commune_once_by_its_own_name():
    results = random_results()
    report = build_report(results, None, LABELS, {}, suppress_below=0)
    codes = sorted(set(results["commune_code_std"].drop_nulls()))
    assert sorted(e.code for e in report.communes) == codes
    names = [e.name for e in report.communes]
    keys = [commune_sort_key(n) for n in names]
    assert keys == sorted(keys) and commune_sort_key("Phường Hải Vân") == "hai van"  # under H, not P
    page = render_html(report)
    assert page.count('<details id="xa-') == len(codes)
    assert 'data-k="phuong hai van 20194"' in page
    entry = next(e for e in report.communes if e.code == "20194")
    n = results.filter(pl.col("commune_code_std") == "20194").group_by("sector").len()
    assert {row[0]: row[1] for row in entry.rows} == {LABELS[s]: k for s, k in n.iter_rows()}


def test_trend_over_the_published_runs_is_charted_and_tabled(tmp_path):
    history = [
        {
            "run_id": f"r{k}",
            "started_at": f"2026-11-{10 + k:02d}T01:30:00",
            "sector": "bhxh",
            "n": 100,
            "n_dung": 80 + k,
        }
        for k in range(3)
    ]
    info = {**RUN, "history": [*history, {"run_id": RUN["run_id"], "sector": "bhxh", "n": 1, "n_dung": 1}]}
    results = random_results()
    report = build_report(results, None, LABELS, info, suppress_below=0)
    ins = results.filter(pl.col("sector") == "bhxh")
    rate = ins["dung"].fill_null(False).sum() / ins.height
    assert [r for _, r in report.trend["bhxh"]] == [
        0.80,
        0.81,
        0.82,
        pytest.approx(rate),
    ]  # this run last, once
    assert report.trend["bhxh"][0][0] == date(2026, 11, 10)
    table = next(t for t in report.tables if t.key == "trend")
    assert [row[1] for row in table.rows] == ["r0", "r1", "r2", RUN["run_id"]]
    page = render_html(report)
    assert "Xu hướng tỷ lệ xác thực" in page and "10/11" in page and "trục tung bắt đầu từ" in page
    ws = openpyxl.load_workbook(write_xlsx(report, tmp_path / "b.xlsx"))["Xu hướng"]
    assert ws["F2"].value == pytest.approx(0.8) and ws["C2"].value == datetime(2026, 11, 10, 1, 30)
    # without history: no trend, no empty chart
    assert build_report(results, None, LABELS, RUN).trend == {}


def test_rate_cells_are_coloured_against_the_configured_target():
    results = random_results()
    page = render_html(
        build_report(results, None, LABELS, {}, suppress_below=0, heading=ReportHeading(target_rate=0.9))
    )
    units = page[
        page.index('<section id="units"') : page.index("</section>", page.index('<section id="units"'))
    ]
    assert units.count('class="n band-') > 0
    report = build_report(results, None, LABELS, {}, suppress_below=0)
    low = min(r for r in report.summary["rate_dung"].to_list())
    assert ReportHeading(target_rate=0.9).band(low) in ("warn", "low")
    assert ReportHeading(target_rate=0.9).band(0.9) == "ok" and ReportHeading().band(None) == "none"
