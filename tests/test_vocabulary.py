"""One vocabulary: every stage speaks of statuses and fields in the words of doisoat.vocabulary."""

from __future__ import annotations

from doisoat.ingest import ingest_file
from doisoat.report.taskforce import LABELS
from doisoat.vocabulary import FIELD_LABELS, RESULT_STATUSES, STATUS_LABELS, field_label
from schemas import load_sector


def test_every_status_has_a_label_in_each_language_and_the_report_uses_them():
    for lang in ("vi", "en"):
        assert set(STATUS_LABELS[lang]) == set(RESULT_STATUSES)
        assert {s: LABELS[lang][s] for s in RESULT_STATUSES} == STATUS_LABELS[lang]


def test_field_label_is_the_sentence_form_and_capitalised_on_request():
    assert field_label("full_name") == "họ tên" and field_label("full_name", capital=True) == "Họ tên"
    assert field_label("insurance_id", "en") == "social insurance number"
    assert field_label("some_column_of_the_sector", capital=True) == "some_column_of_the_sector"
    assert all(vi and en for vi, en in FIELD_LABELS.values())


def test_ingest_names_a_missing_column_in_the_vocabulary_wording(tmp_path):
    path = tmp_path / "bh.csv"
    path.write_text("Họ và tên,Ngày sinh,Số CCCD\nAn,1990,049090001234\n", encoding="utf-8")
    result = ingest_file(path, load_sector("insurance"))
    assert not result.ok and f": {field_label('insurance_id')} (" in result.errors[0]


def test_results_have_the_one_results_schema_even_when_empty():
    import polars as pl

    from doisoat.pipeline import build_results
    from doisoat.vocabulary import RESULT_SCHEMA

    empty = pl.DataFrame()
    assert build_results("r", empty, empty, empty, empty).schema == pl.Schema(RESULT_SCHEMA)
    quarantined = pl.DataFrame(
        {"sector": ["vaccination"], "record_id": ["a#1"], "source_file": ["a.csv"], "source_row": [1]}
    ).with_columns(pl.lit(None, pl.Utf8).alias("source_sheet"), pl.lit("NO_NAME").alias("reason"))
    assert build_results("r", empty, empty, empty, quarantined).schema == pl.Schema(RESULT_SCHEMA)
