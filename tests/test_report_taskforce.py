"""Task-force report: numbers recomputed independently from the results and read back from the XLSX."""

from __future__ import annotations

import random
from collections import Counter, defaultdict

import openpyxl
import polars as pl
import pytest

from doisoat.report import aggregate, build_report, render_html, write_reports, write_xlsx
from doisoat.report.taskforce import commune_sort_key, sector_kind

COMMUNES = ["20194", "20197", "20200", "20203", None]  # current Đà Nẵng wards; None = unknown
LABELS = {"bhxh": "Bảo hiểm xã hội", "ho_tich": "Hộ tịch", "tiem_chung": "Tiêm chủng"}


def random_results(n: int = 600, seed: int = 7) -> pl.DataFrame:
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        sector = rng.choice(list(LABELS))
        status = rng.choice(["matched"] * 7 + ["review", "unmatched", "duplicate", "quarantined"])
        q = status == "quarantined"
        rows.append(
            {
                "rid": None if q else i,
                "sector": sector,
                "source_file": f"{sector}.csv",
                "source_row": i + 1,
                "status": status,
                "person_id": None if status in ("unmatched", "quarantined") else f"p{rng.randint(0, 150)}",
                "dung": None if q else (status in ("matched", "duplicate") and rng.random() < 0.85),
                "du": None if q else rng.random() < 0.9,
                "sach": None if q else (status != "duplicate" and rng.random() < 0.9),
                "song": None if q else rng.random() < 0.95,
                "reasons": ["EMPTY_ROW"] if q else rng.choice([[], ["PAID_AFTER_DEATH"], ["MISSING_ID"]]),
                "commune_code_std": None if q else rng.choice(COMMUNES),
                "commune_code_old": rng.choice([None, None, "20335"]),
                "event_type": rng.choice(["khai_sinh", "khai_tu", "ket_hon", "nuoi_con_nuoi"])
                if sector == "ho_tich"
                else None,
            }
        )
    return pl.DataFrame(rows, schema_overrides={"commune_code_old": pl.Utf8, "event_type": pl.Utf8})


def expected_counts(results: pl.DataFrame, key) -> dict:
    """Plain-Python recount: key(row) → [n, dung, du, sach, song] (null flags count as failing)."""
    out: dict = defaultdict(lambda: [0, 0, 0, 0, 0])
    for row in results.iter_rows(named=True):
        k = key(row)
        if k is None:
            continue
        c = out[k]
        c[0] += 1
        for i, d in enumerate(("dung", "du", "sach", "song"), start=1):
            c[i] += bool(row[d])
    return dict(out)


def sheet_rows(path, name: str) -> list[dict]:
    ws = openpyxl.load_workbook(path)[name]
    values = list(ws.iter_rows(values_only=True))
    header = values[0]
    rows = []
    for v in values[1:]:
        if v[0] is None:  # blank line before the note
            break
        rows.append(dict(zip(header, v, strict=True)))
    return rows


def test_summary_sheet_matches_an_independent_recount(tmp_path):
    results = random_results()
    path = write_xlsx(
        build_report(results, None, LABELS, {"run_id": "r"}, suppress_below=0), tmp_path / "b.xlsx"
    )
    expected = expected_counts(results, lambda r: LABELS[r["sector"]])
    got = {
        r["Lĩnh vực"]: [r["Tổng số bản ghi"], r["Đúng"], r["Đủ"], r["Sạch"], r["Sống"]]
        for r in sheet_rows(path, "Tổng hợp")
    }
    assert got == expected
    for r in sheet_rows(path, "Tổng hợp"):
        n, d = expected[r["Lĩnh vực"]][:2]
        assert r["Tỷ lệ đúng"] == pytest.approx(d / n)
        assert (
            r["Bị cách ly"]
            == results.filter(
                (pl.col("status") == "quarantined")
                & (pl.col("sector") == next(k for k, v in LABELS.items() if v == r["Lĩnh vực"]))
            ).height
        )
        pct = f"{100 * d / n:.2f}".replace(".", ",")
        assert r["Tỷ lệ xác thực (đúng/tổng)"] == f"{d}/{n}, đạt {pct}%"


def test_commune_rows_match_an_independent_recount(tmp_path):
    results = random_results()
    path = write_xlsx(build_report(results, None, LABELS, {}, suppress_below=0), tmp_path / "b.xlsx")
    expected = expected_counts(results, lambda r: (LABELS[r["sector"]], r["commune_code_std"] or ""))
    got = {
        (r["Lĩnh vực"], r["Mã"] or ""): [r["Tổng số bản ghi"], r["Đúng"], r["Đủ"], r["Sạch"], r["Sống"]]
        for r in sheet_rows(path, "Theo đơn vị")
        if r["Cấp"] == "Xã/phường"
    }
    assert got == expected
    names = {r["Mã"] or "": r["Đơn vị"] for r in sheet_rows(path, "Theo đơn vị") if r["Cấp"] == "Xã/phường"}
    assert names["20194"] == "Phường Hải Vân" and names[""] == "Chưa xác định"


def test_former_units_appear_only_for_records_carrying_an_old_code(tmp_path):
    results = random_results()
    path = write_xlsx(build_report(results, None, LABELS, {}, suppress_below=0), tmp_path / "b.xlsx")
    rows = sheet_rows(path, "Theo đơn vị")
    old = {(r["Lĩnh vực"], r["Cấp"]): r for r in rows if "cũ" in r["Cấp"]}
    n_old = Counter(LABELS[s] for s in results.filter(pl.col("commune_code_old").is_not_null())["sector"])
    for (label, level), r in old.items():
        assert r["Tổng số bản ghi"] == n_old[label]
        assert r["Đơn vị"] == ("Thành phố Tam Kỳ" if level.startswith("Huyện") else "Phường Tân Thạnh")


def test_registers_of_civil_status_are_counted_per_book(tmp_path):
    results = random_results()
    path = write_xlsx(build_report(results, None, LABELS, {}, suppress_below=0), tmp_path / "b.xlsx")
    civil = results.filter(pl.col("sector") == "ho_tich")
    expected = expected_counts(civil, lambda r: r["event_type"])
    books = {
        "Sổ đăng ký khai sinh": "khai_sinh",
        "Sổ đăng ký khai tử": "khai_tu",
        "Sổ đăng ký kết hôn": "ket_hon",
        "Sổ đăng ký nuôi con nuôi": "nuoi_con_nuoi",
    }
    got = {
        books[r["Sổ / loại sự kiện"]]: [r["Tổng số bản ghi"], r["Đúng"]] for r in sheet_rows(path, "Theo sổ")
    }
    assert got == {k: v[:2] for k, v in expected.items()}


def test_people_are_distinct_persons_plus_unmatched_records():
    results = pl.DataFrame(
        {
            "sector": ["tiem_chung"] * 5,
            "status": ["matched", "matched", "matched", "unmatched", "unmatched"],
            "person_id": ["a", "a", "b", None, None],
            "dung": [True, True, False, False, False],
            "du": [True] * 5,
            "sach": [True] * 5,
            "song": [True] * 5,
            "reasons": [[]] * 5,
            "commune_code_std": ["20194"] * 5,
        }
    )
    row = aggregate(results).filter(pl.col("level") == "sector").row(0, named=True)
    assert (row["n"], row["n_dung"], row["n_people"], row["n_people_dung"]) == (5, 2, 4, 1)


def test_quarantined_rows_count_in_totals_as_failing_every_dimension():
    results = pl.DataFrame(
        {
            "sector": ["bhxh", "bhxh"],
            "status": ["matched", "quarantined"],
            "person_id": ["a", None],
            "dung": [True, None],
            "du": [True, None],
            "sach": [True, None],
            "song": [True, None],
            "reasons": [[], ["EMPTY_ROW"]],
            "commune_code_std": ["20194", None],
        }
    )
    row = aggregate(results).filter(pl.col("level") == "sector").row(0, named=True)
    assert (row["n"], row["n_dung"], row["n_song"], row["n_quarantined"], row["rate_dung"]) == (
        2,
        1,
        1,
        1,
        0.5,
    )


def test_a_sectors_aggregates_are_its_rows_of_the_whole_runs_so_the_report_reuses_them():
    # the run counts once and gives the report the published sectors' rows (a held sector is left out)
    results = pl.DataFrame(
        {
            "sector": ["tiem_chung", "tiem_chung", "bhxh", "bhxh", "bhxh"],
            "status": ["matched", "unmatched", "matched", "matched", "review"],
            "person_id": ["a", None, "a", "b", "c"],
            "dung": [True, False, True, False, False],
            "du": [True, True, False, True, True],
            "sach": [True] * 5,
            "song": [True] * 5,
            "reasons": [[], ["NOT_IN_REFERENCE"], [], [], ["NEEDS_REVIEW"]],
            "commune_code_std": ["20194", "20194", "20194", None, "20197"],
            "commune_code_old": [None, "20341", None, "20341", None],
        }
    )
    shown = results.filter(pl.col("sector") == "bhxh")
    whole = aggregate(results)
    assert whole.filter(pl.col("sector") == "bhxh").equals(aggregate(shown), null_equal=True)
    run_info = {"run_id": "r1"}

    def page(aggregates: pl.DataFrame | None) -> str:
        return render_html(build_report(shown, None, {}, run_info, aggregates=aggregates))

    given = whole.filter(pl.col("sector") == "bhxh")
    assert page(given) == page(None)
    # the figures shown are the ones given, not counted again
    assert page(given.with_columns(pl.col("n").alias("n_dung"), pl.lit(1.0).alias("rate_dung"))) != page(None)


def insurance_results(n: int, n_dung: int) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "sector": pl.Series(["bhxh"]).new_from_index(0, n),
            "status": pl.Series(["matched"]).new_from_index(0, n),
            "person_id": pl.int_range(n, eager=True).cast(pl.Utf8),
            "dung": pl.int_range(n, eager=True) < n_dung,
            "du": pl.Series([True]).new_from_index(0, n),
            "sach": pl.Series([True]).new_from_index(0, n),
            "song": pl.Series([True]).new_from_index(0, n),
            "reasons": pl.Series([[]], dtype=pl.List(pl.Utf8)).new_from_index(0, n),
            "commune_code_std": pl.Series(["20194"]).new_from_index(0, n),
        }
    )


def test_ready_to_paste_sentence_uses_the_provincial_report_style():
    report = build_report(insurance_results(14_155, 13_769), None, {"bhxh": "Bảo hiểm xã hội"}, {})
    assert report.sentences[0] == (
        "Đã rà soát, xác thực 13.769/14.155 dữ liệu người tham gia bảo hiểm, đạt tỷ lệ 97,27%."
    )


def test_vaccination_sentence_gives_doses_and_people():
    results = insurance_results(10, 8).with_columns(
        pl.lit("tiem_chung").alias("sector"), pl.Series("person_id", list("aabbccddee"))
    )
    report = build_report(results, None, {"tiem_chung": "Tiêm chủng"}, {}, suppress_below=0)
    assert report.sentences[0] == (
        "Phối hợp làm sạch thông tin tiêm chủng trên địa bàn: 8/10 mũi tiêm đạt tỷ lệ 80,00% "
        "(4/5 người có mũi tiêm được xác thực)."
    )


def test_civil_status_sentence_lists_each_register():
    results = random_results(400)
    report = build_report(results.filter(pl.col("sector") == "ho_tich"), None, LABELS, {}, suppress_below=0)
    civil = results.filter(pl.col("sector") == "ho_tich")
    birth = civil.filter(pl.col("event_type") == "khai_sinh")
    rate = f"{100 * birth['dung'].fill_null(False).sum() / birth.height:.2f}".replace(".", ",")
    assert report.sentences[0].startswith(f"Đã đối chiếu {civil.height} dữ liệu hộ tịch với dữ liệu dân cư")
    assert f"Sổ đăng ký khai sinh đạt tỷ lệ {rate}%" in report.sentences[0]


def test_communes_at_100_percent_and_the_lowest_are_named():
    results = pl.DataFrame(
        {
            "sector": ["bhxh"] * 15,
            "status": ["matched"] * 15,
            "person_id": [str(i) for i in range(15)],
            "dung": [True] * 5 + [True] * 4 + [False] + [True] * 3 + [False] * 2,
            "du": [True] * 15,
            "sach": [True] * 15,
            "song": [True] * 15,
            "reasons": [[]] * 15,
            "commune_code_std": ["20194"] * 5 + ["20197"] * 5 + ["20200"] * 5,
        }
    )
    report = build_report(results, None, {"bhxh": "Bảo hiểm xã hội"}, {})
    assert report.sentences[1] == (
        "Bảo hiểm xã hội: 1/3 xã, phường đạt 100% (Phường Hải Vân); các xã, phường còn lại đạt từ 60%."
    )
    lowest = next(t for t in report.tables if t.key == "lowest")
    assert [row[1] for row in lowest.rows] == ["20200", "20197"]


def test_change_since_previous_run_uses_the_run_history_shape():
    previous = pl.DataFrame({"sector": ["bhxh"], "unit": ["__all__"], "n": [100], "n_dung": [80]})
    report = build_report(insurance_results(100, 90), previous, {"bhxh": "Bảo hiểm xã hội"}, {})
    assert report.sentences[-1] == (
        "Bảo hiểm xã hội: so với lần đối soát trước, tỷ lệ xác thực tăng 10,00 điểm phần trăm."
    )
    change = next(t for t in report.tables if t.key == "change")
    assert change.rows[0][1:] == [100, 80, 0.8, 100, 90, 0.9, pytest.approx(10.0)]


def test_small_units_are_suppressed_in_the_report(tmp_path):
    results = insurance_results(23, 20).with_columns(
        pl.Series("commune_code_std", ["20194"] * 20 + ["20197"] * 3),
        pl.Series("reasons", [[]] * 20 + [["PAID_AFTER_DEATH"]] * 3),
    )
    path = write_xlsx(
        build_report(results, None, {"bhxh": "BHXH"}, {}, suppress_below=5), tmp_path / "b.xlsx"
    )
    units = {r["Mã"]: r for r in sheet_rows(path, "Theo đơn vị") if r["Cấp"] == "Xã/phường"}
    # a hidden count is a blank numeric cell, and the row says it is hidden: a sum is never silently short
    assert units["20197"]["Tổng số bản ghi"] is None and units["20197"]["Tỷ lệ đúng"] is None
    assert units["20197"]["Số liệu bị ẩn"] == "Có (dưới 5 bản ghi)"
    assert units["20194"]["Tổng số bản ghi"] == 20 and units["20194"]["Số liệu bị ẩn"] is None
    reasons = sheet_rows(path, "Lý do")
    assert reasons == [
        {
            "Lĩnh vực": "BHXH",
            "Mã lý do": "PAID_AFTER_DEATH",
            "Lý do": "Đã chết nhưng còn chi trả",
            "Số bản ghi": None,
            "Số liệu bị ẩn": "Có (dưới 5 bản ghi)",
        }
    ]
    # no text in a numeric column: every count cell of every sheet is a number or empty
    wb = openpyxl.load_workbook(path)
    for name in ("Theo đơn vị", "Lý do", "Theo sổ"):
        ws = wb[name]
        header = [c.value for c in ws[1]]
        for col in ("Tổng số bản ghi", "Đúng", "Số bản ghi"):
            if col in header:
                i = header.index(col)
                for (value,) in ws.iter_rows(min_row=2, min_col=i + 1, max_col=i + 1, values_only=True):
                    assert value is None or isinstance(value, int | float), (name, col, value)
    # and the HTML still shows "<5"
    from doisoat.report import render_html

    assert ">&lt;5<" in render_html(build_report(results, None, {"bhxh": "BHXH"}, {}, suppress_below=5))
    summary = sheet_rows(path, "Tổng hợp")[0]
    assert summary["Tổng số bản ghi"] == 23  # sector totals are never suppressed


def test_english_report_has_english_headers_and_sentences(tmp_path):
    report = build_report(insurance_results(10, 9), None, {"bhxh": "Insurance"}, {}, lang="en")
    path = write_xlsx(report, tmp_path / "b.xlsx")
    assert sheet_rows(path, "Summary")[0]["Records"] == 10
    assert report.sentences[0] == "Insurance: 9/10 participant records verified, i.e. 90.00%."


def test_sector_kind_reads_names_and_labels():
    assert [
        sector_kind("tiem_chung", ""),
        sector_kind("x", "Hộ tịch"),
        sector_kind("bhxh", ""),
        sector_kind("asxh", "An sinh xã hội"),
        sector_kind("dat_dai", "Đất đai"),
    ] == ["vaccination", "civil", "insurance", "social", "other"]


def test_write_reports_writes_every_output(tmp_path):
    results = random_results(100)
    records = pl.DataFrame(
        {"rid": results["rid"].drop_nulls(), "sector": "bhxh", "source_file": "x.csv", "source_row": 1}
    )
    records = records.join(results.select("rid", "sector", "source_row"), on="rid").select(
        "rid",
        pl.col("sector_right").alias("sector"),
        "source_file",
        pl.col("source_row_right").alias("source_row"),
    )
    reference = pl.DataFrame({"person_id": ["p1"], "national_id_std": ["049090001234"]})
    paths = write_reports(tmp_path, results, records, reference, None, LABELS, {"run_id": "r"})
    assert paths["report_xlsx"] == tmp_path / "report" / "bao-cao.xlsx"
    assert paths["report_html"].read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert paths["worklists"] == tmp_path / "worklists" / "tong-hop.xlsx"
    assert {p.name for p in (tmp_path / "enriched").iterdir()} == {
        "bhxh.csv",
        "ho_tich.csv",
        "tiem_chung.csv",
    }
    assert all(p.exists() for p in paths.values())


def test_html_page_is_self_contained_and_follows_the_language():
    from doisoat.report import render_html

    page = render_html(build_report(insurance_results(10, 9), None, {"bhxh": "Insurance"}, {}, lang="en"))
    assert page.startswith('<!DOCTYPE html><html lang="en">')
    assert "default-src 'none'" in page and "<svg" in page
    assert "Insurance: 9/10 participant records verified, i.e. 90.00%." in page
    assert "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")


def test_notes_say_how_sure_the_linking_is_in_vietnamese_number_format():
    thresholds = {
        "matched": 0.95,
        "review": 0.5,
        "est_precision_matched": 0.999968,
        "est_precision_review": 0.84,
        "est_recall": 0.99926,
    }
    report = build_report(random_results(), None, LABELS, {"match_thresholds": thresholds}, suppress_below=0)
    notes = dict(report.notes)
    assert notes["Độ tin cậy của việc ghép"] == (
        "Ghép tự động khi xác suất khớp từ 95,00%; độ chính xác ước tính của các cặp đã ghép 99,997%, "
        "tỷ lệ tìm thấy ước tính 99,926%. Từ 50,00% đến dưới ngưỡng ghép: chuyển cán bộ xác minh."
    )
    english = dict(build_report(random_results(), None, LABELS, {"match_thresholds": thresholds}, "en").notes)
    assert "estimated precision of the links 99.997%" in english["Matching reliability"]
    sure = {**thresholds, "est_precision_matched": 0.9999996, "est_recall": 1.0}
    text = dict(build_report(random_results(), None, LABELS, {"match_thresholds": sure}).notes)
    assert (
        "các cặp đã ghép trên 99,999%, tỷ lệ tìm thấy ước tính 100,000%" in text["Độ tin cậy của việc ghép"]
    )
    # nothing linked (threshold above every probability): no estimate to state
    none = {**thresholds, "matched": None, "est_precision_matched": None}
    assert "Độ tin cậy của việc ghép" not in dict(
        build_report(random_results(), None, LABELS, {"match_thresholds": none}).notes
    )


def test_commune_heat_sheet_recounts_every_commune_over_all_sectors_and_colours_by_band(tmp_path):
    from doisoat.report.heading import ReportHeading

    results = random_results()
    heading = ReportHeading(target_rate=0.9, warn_points=5.0)
    report = build_report(results, None, LABELS, {}, suppress_below=0, heading=heading)
    path = write_xlsx(report, tmp_path / "b.xlsx")
    rows = sheet_rows(path, "Bản đồ nhiệt xã")
    expected = expected_counts(results, lambda r: r["commune_code_std"])
    expected.pop(None, None)
    assert {r["Mã"]: r["Tổng số bản ghi"] for r in rows} == {k: v[0] for k, v in expected.items()}
    for r in rows:
        n, dung, du, sach, song = expected[r["Mã"]]
        assert [r["Đúng"], r["Đủ"], r["Sạch"], r["Sống"]] == pytest.approx(
            [dung / n, du / n, sach / n, song / n]
        )
    names = [r["Xã/phường"] for r in rows]
    assert names == sorted(names, key=commune_sort_key) and "Phường Hải Vân" in names  # by its own name
    ws = openpyxl.load_workbook(path)["Bản đồ nhiệt xã"]
    assert ws.page_setup.orientation == "portrait" and ws.print_title_rows == "$1:$1"
    (cf,) = list(ws.conditional_formatting)
    assert str(cf.sqref) == f"D2:G{len(rows) + 1}"  # the four rate columns of every commune
    fills = {r.formula[0]: r.dxf.fill.bgColor.rgb for r in cf.rules}
    assert fills == {
        "AND(ISNUMBER(D2),D2>=0.9)": "FFDCEFDC",
        "AND(ISNUMBER(D2),D2<0.9,D2>=0.85)": "FFFFF1C2",
        "AND(ISNUMBER(D2),D2<0.85)": "FFF8D7D7",
    }
    legend = [c.value for c in ws["A"] if c.value and str(c.value).startswith("Tỷ lệ của mọi lĩnh vực")]
    assert legend and "xanh = đạt chỉ tiêu (từ 90%)" in legend[0] and "đỏ = dưới 85%" in legend[0]


def test_commune_heat_table_hides_small_communes():
    results = random_results()
    report = build_report(results, None, LABELS, {}, suppress_below=200)
    heat = next(t for t in report.tables if t.key == "heat")
    counts = expected_counts(results, lambda r: r["commune_code_std"])
    for code, _, n, *rates in heat.rows:
        if counts[code][0] < 200:
            assert str(n) == "<200" and rates == [None] * 4
        else:
            assert n == counts[code][0] and None not in rates
    assert [t.key for t in report.tables].index("heat") == [t.key for t in report.tables].index("summary") + 1
