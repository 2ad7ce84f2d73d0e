"""evaluate(): exact precision / recall / F1 on a hand-built truth and results pair."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from doisoat.evaluate import EvaluationError, blocking_recall_by_kind, evaluate, format_metrics

TRUTH_SCHEMA = {
    "sector": pl.Utf8,
    "source_file": pl.Utf8,
    "source_sheet": pl.Utf8,
    "source_row": pl.Int64,
    "record_id": pl.Utf8,
    "person_id": pl.Utf8,
    "errors": pl.List(pl.Utf8),
    "duplicate_of": pl.Int64,
    "after_death": pl.Boolean,
}


def _truth(tmp_path: Path) -> Path:
    rows = [
        # sector, file, sheet, row, record_id, person_id, errors, duplicate_of, after_death
        ("vaccination", "v.csv", None, 1, "v.csv#1", "P1", [], None, False),
        ("vaccination", "v.csv", None, 2, "v.csv#2", "P2", ["name_typo"], None, False),
        ("vaccination", "v.csv", None, 3, "v.csv#3", "P3", ["name_typo", "id_missing"], None, False),
        ("vaccination", "v.csv", None, 4, "v.csv#4", None, [], None, False),
        ("insurance", "i.parquet", None, 1, "B1", "P1", ["id_missing"], None, False),
        ("insurance", "i.parquet", None, 2, "B1", "P1", ["duplicate"], 1, False),
        ("insurance", "i.parquet", None, 3, "B3", None, [], None, False),
    ]
    df = pl.DataFrame(rows, schema=TRUTH_SCHEMA, orient="row")
    (tmp_path / "truth").mkdir()
    df.write_parquet(tmp_path / "truth" / "truth.parquet")
    return tmp_path


def _results(sector_name: str = "tiem_chung") -> pl.DataFrame:
    rows = [
        (sector_name, "v.csv", 1, "matched", "P1"),  # correct
        (sector_name, "v.csv", 2, "matched", "P9"),  # wrong link: fp and fn
        (sector_name, "v.csv", 3, "review", "P3"),  # not a link: fn
        (sector_name, "v.csv", 4, "unmatched", None),  # absent, correctly unlinked
        ("insurance", "i.parquet", 1, "matched", "P1"),  # correct
        ("insurance", "i.parquet", 2, "duplicate", "P1"),  # duplicate with person: a correct link
        ("insurance", "i.parquet", 3, "matched", "P5"),  # absent but linked: fp
    ]
    return pl.DataFrame(
        rows, schema=["sector", "source_file", "source_row", "status", "person_id"], orient="row"
    )


def test_precision_recall_f1_are_exact_overall_and_per_sector(tmp_path: Path) -> None:
    m = evaluate(_truth(tmp_path), _results())
    assert (m.overall["tp"], m.overall["fp"], m.overall["fn"]) == (3, 2, 2)
    assert m.overall["precision"] == pytest.approx(3 / 5)
    assert m.overall["recall"] == pytest.approx(3 / 5)
    assert m.overall["f1"] == pytest.approx(3 / 5)
    ins = m.per_sector.filter(pl.col("sector") == "insurance").row(0, named=True)
    assert (ins["tp"], ins["fp"], ins["fn"]) == (2, 1, 0)
    assert ins["precision"] == pytest.approx(2 / 3)
    assert ins["recall"] == pytest.approx(1.0)
    assert ins["f1"] == pytest.approx(0.8)
    vac = m.per_sector.filter(pl.col("sector") == "vaccination").row(0, named=True)
    assert (vac["tp"], vac["fp"], vac["fn"]) == (1, 1, 2)
    assert vac["review_share"] == pytest.approx(1 / 4)


def test_join_uses_file_and_row_not_the_sector_named_by_the_user(tmp_path: Path) -> None:
    m = evaluate(_truth(tmp_path), _results(sector_name="whatever-the-user-typed"))
    assert m.per_sector["sector"].to_list() == ["insurance", "vaccination"]


def test_recall_per_error_counts_a_record_under_each_of_its_errors(tmp_path: Path) -> None:
    m = evaluate(_truth(tmp_path), _results())
    got = {r["error"]: (r["records"], r["linked_correctly"]) for r in m.per_error.iter_rows(named=True)}
    assert got == {"name_typo": (2, 0), "id_missing": (2, 1), "duplicate": (1, 1), "no_error": (1, 1)}


def test_by_kind_says_where_the_lost_records_went(tmp_path: Path) -> None:
    m = evaluate(_truth(tmp_path), _results())
    typo = m.per_error.filter(pl.col("error") == "name_typo").row(0, named=True)
    assert (typo["in_review"], typo["wrong_person"]) == (1, 1)


def test_non_match_f1_scores_leaving_absent_people_unlinked(tmp_path: Path) -> None:
    m = evaluate(_truth(tmp_path), _results())
    # absent: v4 (left unlinked), i3 (linked); not linked: v3 (review) and v4
    assert m.overall["nonmatch_precision"] == pytest.approx(1 / 2)
    assert m.overall["nonmatch_recall"] == pytest.approx(1 / 2)
    assert m.overall["nonmatch_f1"] == pytest.approx(1 / 2)


def test_blocking_recall_per_kind_and_pair_of_kinds(tmp_path: Path) -> None:
    pairs = pl.DataFrame(
        [("v.csv", 1, "P1"), ("v.csv", 3, "P3"), ("v.csv", 3, "P7"), ("i.parquet", 1, "P1")],
        schema=["source_file", "source_row", "person_id"],
        orient="row",
    )
    got = {
        r["error"]: (r["records"], r["reached"])
        for r in blocking_recall_by_kind(_truth(tmp_path), pairs).to_dicts()
    }
    assert got["(all)"] == (5, 3)
    assert got["name_typo"] == (2, 1)
    assert got["id_missing + name_typo"] == (1, 1)
    assert got["duplicate"] == (1, 0)


def test_absent_people_specificity(tmp_path: Path) -> None:
    m = evaluate(_truth(tmp_path), _results())
    assert m.absent == {"rows": 2, "unlinked": 1, "wrongly_linked": 1, "specificity": 0.5}


def test_results_file_on_disk_is_read(tmp_path: Path) -> None:
    path = tmp_path / "results.parquet"
    _results().write_parquet(path)
    assert evaluate(_truth(tmp_path), path).overall["tp"] == 3


def test_truth_rows_missing_from_results_is_an_error_naming_the_rows(tmp_path: Path) -> None:
    res = _results().filter(~((pl.col("source_file") == "v.csv") & (pl.col("source_row") == 3)))
    with pytest.raises(EvaluationError, match="v.csv dòng 3"):
        evaluate(_truth(tmp_path), res)


def test_results_rows_absent_from_truth_is_an_error(tmp_path: Path) -> None:
    extra = pl.DataFrame(
        [("x", "other.csv", 9, "matched", "P1")],
        schema=["sector", "source_file", "source_row", "status", "person_id"],
        orient="row",
    )
    with pytest.raises(EvaluationError, match="other.csv dòng 9"):
        evaluate(_truth(tmp_path), pl.concat([_results(), extra]))


def test_repeated_result_rows_are_an_error(tmp_path: Path) -> None:
    with pytest.raises(EvaluationError, match="lặp lại"):
        evaluate(_truth(tmp_path), pl.concat([_results(), _results().head(1)]))


def test_format_metrics_in_vietnamese_and_english(tmp_path: Path) -> None:
    m = evaluate(_truth(tmp_path), _results())
    vi = format_metrics(m)
    assert "Độ chính xác" in vi and "60,00%" in vi and "66,67%" in vi and "Tiêm chủng" in vi
    assert "Gõ sai tên" in vi and "Độ đặc hiệu" in vi
    en = format_metrics(m, lang="en")
    assert "Precision" in en and "66.67%" in en and "name_typo" in en


def test_format_by_kind_shows_review_wrong_person_and_non_match_f1(tmp_path: Path) -> None:
    m = evaluate(_truth(tmp_path), _results())
    vi = format_metrics(m, by_kind=True)
    assert "Cần xác minh" in vi and "Khớp nhầm người" in vi and "Không có lỗi" in vi
    assert "F1 50,00%" in vi
    en = format_metrics(m, lang="en", by_kind=True)
    assert "Wrong person" in en and "Records in review: 1" in en
