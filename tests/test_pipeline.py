"""Pipeline plumbing that does not need the other modules: results assembly, publishing, aggregates."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from doisoat import pipeline, settings


def _records() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "rid": [0, 1],
            "sector": ["insurance", "insurance"],
            "record_id": ["a", "b"],
            "source_file": ["bhxh.csv", "bhxh.csv"],
            "source_sheet": [None, None],
            "source_row": [1, 3],
            "commune_code_std": ["20333", None],
            "commune_code_old": [None, None],
            "event_type": [None, None],
        },
        schema_overrides={"source_sheet": pl.Utf8, "commune_code_old": pl.Utf8, "event_type": pl.Utf8},
    )


def test_results_hold_kept_and_quarantined_rows_each_exactly_once():
    matches = pl.DataFrame(
        {
            "rid": [0, 1],
            "person_id": ["049090001234", None],
            "match_pass": ["exact_id", None],
            "match_probability": [0.999, 0.01],
            "weights": ['{"id": 9.1}', None],
        }
    )
    assessed = pl.DataFrame(
        {
            "rid": [0, 1],
            "status": ["matched", "unmatched"],
            "dung": [True, False],
            "du": [True, True],
            "sach": [True, True],
            "song": [True, True],
            "reasons": [[], ["NOT_IN_REFERENCE"]],
        }
    )
    quarantine = pl.DataFrame(
        {
            "sector": ["insurance"],
            "record_id": ["bhxh.csv#2"],
            "source_file": ["bhxh.csv"],
            "source_sheet": [None],
            "source_row": [2],
            "column": ["full_name"],
            "raw_value": [""],
            "reason": ["NO_NAME"],
        },
        schema_overrides={"source_sheet": pl.Utf8},
    )
    res = pipeline.build_results("r1", _records(), matches, assessed, quarantine)
    assert res["source_row"].to_list() == [1, 2, 3]
    assert res["status"].to_list() == ["matched", "quarantined", "unmatched"]
    assert res.filter(pl.col("status") == "quarantined")["reasons"].to_list() == [["NO_NAME"]]
    assert res.filter(pl.col("status") == "quarantined")["dung"].to_list() == [None]
    assert set(res["run_id"]) == {"r1"}
    assert res.columns[:15] == pipeline.RESULT_COLUMNS[:15]


def test_extract_argument_parses_sector_file_and_optional_sheet(tmp_path):
    e = pipeline.ExtractInput.parse("civil_status=/x/ho_tich.xlsx#Khai sinh")
    assert (e.sector, e.path, e.sheet) == ("civil_status", Path("/x/ho_tich.xlsx"), "Khai sinh")
    with pytest.raises(pipeline.UserError):
        pipeline.ExtractInput.parse("ho_tich.xlsx")


def test_runs_folder_defaults_to_the_runs_root(monkeypatch, tmp_path):
    monkeypatch.setenv("DOISOAT_RUNS", str(tmp_path))
    cfg = pipeline.RunConfig(reference=Path("r"), extracts=[])
    assert cfg.runs_root() == settings.runs_root()
