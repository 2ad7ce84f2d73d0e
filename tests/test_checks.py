"""The data-quality gate with real Great Expectations runs on tiny synthetic extracts and results.

GX is slow to start, so each scenario runs the gate once (module-scoped fixtures) and the tests read its result.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from factories import typed

from checks import SUITE_VERSION, GateResult, GateSettings, dung_rates, run_gate

COMMUNES = ("20194", "20197")  # Phường Hải Vân, Phường Liên Chiểu (Đà Nẵng, post-2025 codes)
SETTINGS = GateSettings(
    required={"insurance": ["full_name", "insurance_id"], "vaccination": ["full_name", "national_id"]},
    event_types={"vaccination": ["mũi 1", "mũi 2"]},
    max_date=date(2025, 12, 31),
)


def _extract(sector: str, n: int, persons: int) -> pl.DataFrame:
    """n synthetic standardised records of a sector, drawn from `persons` people; half in each commune."""
    person = [k % persons for k in range(n)]
    ids = [f"0490{p + 9_000_000:08d}" for p in person]
    return pl.DataFrame(
        {
            "sector": [sector] * n,
            "record_id": [f"{sector}-{k}" for k in range(n)],
            "source_file": [f"{sector}.xlsx"] * n,
            "source_sheet": ["Sheet1"] * n,
            "source_row": list(range(1, n + 1)),
            "full_name": [f"Nguyễn Văn {p}" for p in person],
            "national_id": ids,
            "national_id_std": ids,
            "insurance_id": [f"49{p + 10_000_000}" for p in person],
            "birth_year": [1950 + p % 60 for p in person],
            "birth_precision": ["D"] * n,
            "sex_std": ["M" if p % 2 == 0 else "F" for p in person],
            "event_type": ["mũi 1" if k % 2 else "mũi 2" for k in range(n)]
            if sector == "vaccination"
            else [None] * n,
            "event_date_std": [date(2024, 1, 1 + k % 28) for k in range(n)],
            "commune_code_std": [COMMUNES[k % 2] for k in range(n)],
            "norm_issues": [[] for _ in range(n)],
        },
        schema_overrides=typed("source_row", "birth_year", "event_type", "norm_issues"),
    )


def _results(extract: pl.DataFrame, run_id: str = "run-1") -> pl.DataFrame:
    """One matched, đúng result row per extract row (the Results contract)."""
    n = extract.height
    return extract.select(
        pl.lit(run_id).alias("run_id"),
        "sector",
        "record_id",
        "source_file",
        "source_sheet",
        "source_row",
        pl.lit("matched").alias("status"),
        pl.col("national_id_std").alias("person_id"),
        pl.lit("id").alias("match_pass"),
        pl.lit(0.99).alias("match_probability"),
        pl.lit(True).alias("dung"),
        pl.lit(True).alias("du"),
        pl.lit(True).alias("sach"),
        pl.lit(True).alias("song"),
        pl.Series("reasons", [[] for _ in range(n)], dtype=pl.List(pl.Utf8)),
        "commune_code_std",
    )


def _clean() -> tuple[dict[str, pl.DataFrame], pl.DataFrame]:
    extracts = {"insurance": _extract("insurance", 60, 60), "vaccination": _extract("vaccination", 80, 40)}
    results = pl.concat([_results(e) for e in extracts.values()])
    return extracts, results


def _previous(
    extracts: dict[str, pl.DataFrame], results: pl.DataFrame
) -> tuple[pl.DataFrame, dict[str, int]]:
    return dung_rates(results), {s: e.height for s, e in extracts.items()}


@pytest.fixture(scope="module")
def clean_run(tmp_path_factory: pytest.TempPathFactory) -> GateResult:
    extracts, results = _clean()
    rates, counts = _previous(extracts, results)
    docs = tmp_path_factory.mktemp("clean") / "data_docs"
    return run_gate(extracts, results, rates, counts, docs, SETTINGS)


@pytest.fixture(scope="module")
def broken_run(tmp_path_factory: pytest.TempPathFactory) -> GateResult:
    """One run with one breakage per check, each in a known sector (and commune)."""
    extracts, results = _clean()
    rates, counts = _previous(extracts, results)
    counts["vaccination"] = 200  # 80 rows now against 200 before: the extract shrank to 40 %

    ins = extracts["insurance"]
    k = pl.int_range(0, ins.height)
    extracts["insurance"] = ins.with_columns(
        pl.when(k < 40)
        .then(None)
        .otherwise(pl.col("national_id_std"))
        .alias("national_id_std"),  # 33 % well formed
        pl.lit("X").alias("sex_std").head(1).extend_constant("M", ins.height - 1),  # one unknown sex value
        pl.when(k < 50)
        .then(pl.lit(1700, dtype=pl.Int16))
        .otherwise(pl.col("birth_year"))
        .alias("birth_year"),
    )
    vac = extracts["vaccination"]
    extracts["vaccination"] = vac.with_columns(
        pl.lit(None, dtype=pl.Utf8).alias("full_name"),
        pl.when(pl.int_range(0, vac.height).is_between(3, 7))  # five rows: frequent enough to be shown
        .then(pl.lit("mũi 9"))
        .otherwise(pl.col("event_type"))
        .alias("event_type"),
    )

    ins_res = results.filter(pl.col("sector") == "insurance").with_columns(
        # a probability of 1.3; rows 0 and 1 both matched to the person of row 0
        pl.when(pl.col("source_row") == 5)
        .then(1.3)
        .otherwise(pl.col("match_probability"))
        .alias("match_probability"),
        pl.when(pl.col("source_row") == 2)
        .then(pl.col("person_id").first())
        .otherwise(pl.col("person_id"))
        .alias("person_id"),
    )
    vac_res = results.filter(pl.col("sector") == "vaccination")
    vac_res = pl.concat(
        [vac_res, vac_res.filter(pl.col("source_row") == 8)]
    )  # input row 8 (Liên Chiểu) twice
    vac_res = vac_res.with_columns(
        # Hải Vân (20194): 10 of its 40 rows lose đúng → 25 points down; Liên Chiểu untouched
        pl.when((pl.col("commune_code_std") == "20194") & (pl.col("source_row") <= 20))
        .then(False)
        .otherwise(pl.col("dung"))
        .alias("dung"),
        pl.when(pl.col("source_row") == 80)
        .then(pl.lit("bogus"))
        .when(pl.col("source_row") == 78)
        .then(None)
        .otherwise(pl.col("status"))
        .alias("status"),
    )
    ins_res = ins_res.filter(pl.col("source_row") != 60)  # input row 60 lost on the way
    docs = tmp_path_factory.mktemp("broken") / "data_docs"
    return run_gate(extracts, pl.concat([ins_res, vac_res]), rates, counts, docs, SETTINGS)


def _failure(result: GateResult, check: str, sector: str, unit: str | None = None):
    found = [f for f in result.failures if f.check == check and f.sector == sector and f.unit == unit]
    assert len(found) == 1, [(f.check, f.sector, f.unit) for f in result.failures]
    return found[0]


def test_clean_small_run_passes_every_suite(clean_run: GateResult) -> None:
    assert clean_run.failures == []
    assert clean_run.passed is True
    assert clean_run.n_expectations == 23  # 7 insurance + 8 vaccination + 5 results + 2 status + 1 run
    assert clean_run.run_id == "run-1"
    assert "ĐẠT" in clean_run.summary() and "23 kỳ vọng, không có lỗi" in clean_run.summary()


def test_data_docs_index_is_built_and_shows_the_suite_version(clean_run: GateResult) -> None:
    assert clean_run.docs_index.name == "index.html" and clean_run.docs_index.exists()
    pages = list((clean_run.docs_index.parent / "expectations").rglob("*.html"))
    assert len(pages) == 7  # extract + values for 2 sectors, results, results_status, run_comparison
    text = "".join(p.read_text(encoding="utf-8") for p in pages)
    assert f"Phiên bản bộ kiểm tra doisoat: {SUITE_VERSION}" in text


def test_broken_run_fails_with_exactly_the_planted_failures(broken_run: GateResult) -> None:
    got = sorted((f.check, f.sector, f.unit) for f in broken_run.failures)
    assert broken_run.passed is False
    assert got == sorted(
        [
            ("id_wellformed_rate", "insurance", None),
            ("plausible_rate:birth_year", "insurance", None),
            ("sex_values:sex_std", "insurance", None),
            ("probability_range", "insurance", None),
            ("persons_matched_twice", "insurance", None),
            ("null_rate:full_name", "vaccination", None),
            ("row_count_ratio", "vaccination", None),
            ("event_type_values:event_type", "vaccination", None),
            ("duplicate_rows", "vaccination", None),
            ("status_values:status", "vaccination", None),
            ("status_not_null:status", "vaccination", None),
            ("missing_rows", "insurance", None),
            ("dung_drop", "vaccination", "20194"),
            ("dung_drop", "vaccination", "__all__"),
        ]
    )


def test_mostly_malformed_ids_name_the_rate_and_threshold_in_vietnamese(broken_run: GateResult) -> None:
    f = _failure(broken_run, "id_wellformed_rate", "insurance")
    assert f.suite == f"extract-insurance-v{SUITE_VERSION}"
    assert f.expectation == "expect_column_values_to_be_between" and f.column == "id_wellformed_rate"
    assert f.observed == pytest.approx(20 / 60)
    assert (
        f.message_vi
        == "Tỷ lệ số định danh đúng định dạng của lĩnh vực Bảo hiểm xã hội, bảo hiểm y tế là 33,33%, thấp hơn ngưỡng 80,00%"
    )
    assert f.message_en.startswith(
        "Share of well-formed national IDs in sector Bảo hiểm xã hội, bảo hiểm y tế is 33.33%"
    )


def test_required_column_all_null_fails_its_null_rate(broken_run: GateResult) -> None:
    f = _failure(broken_run, "null_rate:full_name", "vaccination")
    assert f.column == "null_rate__full_name" and f.observed == 1.0
    assert f.message_vi == (
        "Tỷ lệ để trống của trường bắt buộc họ tên (full_name) ở lĩnh vực Tiêm chủng là 100,00%, cao hơn ngưỡng 50,00%"
    )


def test_implausible_birth_years_fail_the_date_range(broken_run: GateResult) -> None:
    f = _failure(broken_run, "plausible_rate:birth_year", "insurance")
    assert f.observed == pytest.approx(10 / 60)
    assert "năm sinh (birth_year)" in f.message_vi and "1890-01-01 – 2025-12-31" in f.message_vi


def test_values_outside_the_sets_are_named_with_their_row_counts(broken_run: GateResult) -> None:
    event = _failure(broken_run, "event_type_values:event_type", "vaccination")
    assert event.observed == ["mũi 9"]
    assert event.message_vi == (
        "Lĩnh vực Tiêm chủng có giá trị loại sự kiện (event_type) ngoài tập cho phép {mũi 1, mũi 2}: “mũi 9” (5 dòng)"
    )
    status = _failure(broken_run, "status_values:status", "vaccination")
    assert status.observed == ["bogus"] and "trạng thái (status)" in status.message_vi


def test_rare_unexpected_values_are_hidden_because_they_may_be_personal_data(broken_run: GateResult) -> None:
    sex = _failure(broken_run, "sex_values:sex_std", "insurance")
    assert sex.observed == ["«giá trị hiếm»"]
    assert sex.message_vi == (
        "Lĩnh vực Bảo hiểm xã hội, bảo hiểm y tế có giá trị giới tính (sex_std) ngoài tập cho phép {M, F}: "
        "giá trị hiếm (mỗi giá trị dưới 5 dòng, không hiển thị) (1 dòng)"
    )
    pages = (broken_run.docs_index.parent / "validations").rglob("*.html")
    assert not any(">X<" in page.read_text(encoding="utf-8") for page in pages)


def test_halved_row_count_against_the_previous_extract_fails(broken_run: GateResult) -> None:
    f = _failure(broken_run, "row_count_ratio", "vaccination")
    assert f.observed == pytest.approx(0.4)
    assert f.message_vi == (
        "Số dòng trích xuất của lĩnh vực Tiêm chủng là 80, chỉ bằng 40,00% so với lần trước (200 dòng), "
        "thấp hơn ngưỡng 50,00%"
    )


def test_duplicated_input_row_in_results_fails(broken_run: GateResult) -> None:
    f = _failure(broken_run, "duplicate_rows", "vaccination")
    assert f.observed == 1 and f.suite == f"results-v{SUITE_VERSION}"
    assert "Tiêm chủng có 1 dòng đầu vào xuất hiện nhiều hơn một lần" in f.message_vi


def test_input_row_missing_from_results_fails(broken_run: GateResult) -> None:
    f = _failure(broken_run, "missing_rows", "insurance")
    assert f.observed == 1
    assert (
        f.message_vi
        == "Kết quả của lĩnh vực Bảo hiểm xã hội, bảo hiểm y tế thiếu 1 dòng đầu vào của bản trích xuất"
    )


def test_result_row_without_status_fails(broken_run: GateResult) -> None:
    f = _failure(broken_run, "status_not_null:status", "vaccination")
    assert f.message_vi == "Kết quả của lĩnh vực Tiêm chủng có 1 dòng không có trạng thái (status)"


def test_probability_above_one_fails_and_quotes_the_maximum(broken_run: GateResult) -> None:
    f = _failure(broken_run, "probability_range", "insurance")
    assert f.observed == 1
    assert "ngoài khoảng [0; 1] (nhỏ nhất 0,99, lớn nhất 1,30)" in f.message_vi


def test_same_person_matched_twice_fails_only_where_each_person_has_one_record(
    broken_run: GateResult,
) -> None:
    f = _failure(broken_run, "persons_matched_twice", "insurance")
    assert (
        f.observed == 1
        and "Bảo hiểm xã hội, bảo hiểm y tế (mỗi người một bản ghi) có 1 người" in f.message_vi
    )
    # vaccination matches each person twice (two doses) and is not flagged
    assert not [
        x for x in broken_run.failures if x.check == "persons_matched_twice" and x.sector == "vaccination"
    ]


def test_commune_dung_rate_drop_names_the_commune_and_both_rates(broken_run: GateResult) -> None:
    f = _failure(broken_run, "dung_drop", "vaccination", "20194")
    assert f.observed == pytest.approx(100 * 10 / 40)
    assert f.message_vi == (
        "Tỷ lệ đúng của lĩnh vực Tiêm chủng tại Phường Hải Vân (mã 20194) giảm 25,00 điểm phần trăm so với "
        "lần công bố trước (100,00% → 75,00%), vượt ngưỡng 5,00 điểm"
    )


def test_gate_result_serialises_to_json_and_summarises_in_vietnamese(broken_run: GateResult) -> None:
    data = json.loads(broken_run.to_json())
    assert data["passed"] is False and data["suite_version"] == SUITE_VERSION
    assert data["settings"]["max_drop_points"] == 5.0
    assert len(data["failures"]) == 14
    summary = broken_run.summary()
    assert summary.startswith("Kiểm tra chất lượng dữ liệu (bộ kiểm tra phiên bản")
    assert "KHÔNG ĐẠT" in summary and str(broken_run.docs_index) in summary
    assert "FAILED" in broken_run.summary(lang="en")


def test_first_run_without_history_or_id_column_passes_with_notes(tmp_path: Path) -> None:
    extracts, results = _clean()
    extracts["insurance"] = extracts["insurance"].drop("national_id", "national_id_std")
    result = run_gate(extracts, results, None, None, tmp_path / "docs", SETTINGS)
    assert result.passed is True and result.failures == []
    assert result.n_expectations == 22  # no run comparison without a previous run
    assert result.notes_vi == [
        "Chưa có lần công bố trước: bỏ qua so sánh tỷ lệ đúng.",
        "Chưa có số dòng lần trích xuất trước của: Bảo hiểm xã hội, bảo hiểm y tế, Tiêm chủng.",
    ]
    assert (tmp_path / "docs" / "index.html").exists()


def test_commune_below_min_rows_and_missing_history_are_not_compared() -> None:
    extracts, results = _clean()
    settings = GateSettings(min_rows=45)  # each commune has 30–40 rows: only sector-wide rates compare
    from checks.aggregates import run_comparison

    dropped = results.with_columns(
        pl.when(pl.col("commune_code_std") == "20194").then(False).otherwise(pl.col("dung")).alias("dung")
    )
    frame = run_comparison(dropped, dung_rates(results), settings)
    assert frame.get_column("unit").to_list() == ["__all__", "__all__"]
    assert frame.get_column("drop_points").to_list() == pytest.approx([50.0, 50.0])


def test_settings_round_trip_through_json() -> None:
    restored = GateSettings.from_json(SETTINGS.to_json())
    assert restored == SETTINGS
    with pytest.raises(ValueError, match="max_drop"):
        GateSettings.from_dict({"max_drop": 3})


def test_importing_checks_does_not_import_great_expectations() -> None:
    import subprocess
    import sys

    code = "import sys, checks; print('great_expectations' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=Path.cwd()
    )
    assert out.stdout.strip() == "False"


def test_extract_columns_are_all_the_extract_checks_read() -> None:
    from checks import aggregates as agg

    extracts, results = _clean()
    extracts = {s: e.with_columns(pl.lit("x").alias("unrelated")) for s, e in extracts.items()}
    cols = agg.extract_columns(SETTINGS, extracts)
    assert "unrelated" not in cols
    reduced = {s: e.select([c for c in cols if c in e.columns]) for s, e in extracts.items()}
    for sector in extracts:
        full, small = extracts[sector], reduced[sector]
        assert small.width < full.width
        assert agg.extract_aggregates(sector, small, SETTINGS, 10).equals(
            agg.extract_aggregates(sector, full, SETTINGS, 10)
        )
        assert agg.extract_values(sector, small, SETTINGS).equals(agg.extract_values(sector, full, SETTINGS))
    assert agg.results_aggregates(results, reduced, SETTINGS).equals(
        agg.results_aggregates(results, extracts, SETTINGS)
    )


def test_quarantined_rows_count_as_input_rows_against_the_previous_extract(tmp_path: Path) -> None:
    # the same 80 input rows as last time, 60 of them quarantined: the extract did not shrink
    extracts, results = _clean()
    rates, counts = _previous(extracts, results)
    vac = extracts["vaccination"]
    quarantined = pl.int_range(0, pl.len()) < 60
    extracts["vaccination"] = vac.filter(~quarantined)
    results = results.with_columns(
        pl.when((pl.col("sector") == "vaccination") & (pl.int_range(0, pl.len()).over("sector") < 60))
        .then(pl.lit("quarantined"))
        .otherwise(pl.col("status"))
        .alias("status")
    )
    result = run_gate(extracts, results, None, counts, tmp_path / "docs", SETTINGS)
    assert not [f for f in result.failures if f.check == "row_count_ratio"], result.failures


def test_gate_defaults_take_sector_facts_from_the_sector_yaml_only(tmp_path, monkeypatch):
    from schemas import load_sector

    (tmp_path / "education.yaml").write_text(
        "name: education\nlabel_vi: Giáo dục\nmany_per_person: true\nrequired: [full_name]\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("DOISOAT_SECTORS_DIR", str(tmp_path))
    settings = GateSettings()
    assert settings.label("education") == "Giáo dục" and settings.many_per_person["education"] is True
    assert settings.label("insurance") == load_sector("insurance").label_vi
    assert settings.many_per_person["social_protection"] is load_sector("social_protection").many_per_person
