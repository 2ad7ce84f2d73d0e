"""The Prefect artifact says what the report says: the same headline rate and the sectors' Vietnamese labels."""

from __future__ import annotations

import re

import polars as pl
import pytest
from test_report_taskforce import random_results

from doisoat.pipeline import RunSummary
from doisoat.report import build_report

SECTORS = {"bhxh": "insurance", "ho_tich": "civil_status", "tiem_chung": "vaccination"}
LABELS = {
    "insurance": "Bảo hiểm xã hội, bảo hiểm y tế",
    "civil_status": "Hộ tịch",
    "vaccination": "Tiêm chủng",
}


@pytest.fixture
def artifacts(monkeypatch):
    import flows.nightly as nightly

    made: dict[str, object] = {}
    monkeypatch.setattr(
        nightly, "create_table_artifact", lambda key, table, description: made.update({key: table})
    )
    monkeypatch.setattr(
        nightly, "create_markdown_artifact", lambda key, markdown: made.update({key: markdown})
    )
    return nightly._artifacts, made


def _run(tmp_path, held: set[str] = frozenset()) -> tuple[RunSummary, pl.DataFrame]:
    results = random_results().with_columns(pl.col("sector").replace_strict(SECTORS))
    results.write_parquet(tmp_path / "results.parquet")
    counts = results.group_by("sector", "status").len("n").sort("sector", "status")
    sectors = [{"sector": s, "label": LABELS[s], "published": s not in held} for s in sorted(LABELS)]
    summary = RunSummary("r1", tmp_path, True, not held, "ĐẠT", counts, [], {}, 1.0, None, sectors)
    return summary, results


def test_artifact_headline_rate_is_the_reports_verification_rate(tmp_path, artifacts):
    make, made = artifacts
    summary, results = _run(tmp_path)
    make(summary)
    table = {row["Lĩnh vực"]: row for row in made["doisoat-counts"]}
    assert set(table) == set(LABELS.values())  # Vietnamese labels from the sector YAML, not keys
    report = build_report(results, None, LABELS, {}, suppress_below=0)
    summary_table = next(t for t in report.tables if t.key == "summary")
    verified = summary_table.columns.index(
        next(c for c in summary_table.columns if c.header.startswith("Tỷ lệ xác thực"))
    )
    for row in summary_table.rows:
        assert table[row[0]]["Tỷ lệ xác thực (đúng/tổng)"] == row[verified]
        assert table[row[0]]["Tình trạng"] == "Công bố"
    # the rate counts quarantined rows as not đúng, as the report does (not matched / total)
    ins = results.filter(pl.col("sector") == "insurance")
    n, d = ins.height, int(ins["dung"].fill_null(False).sum())
    assert re.search(
        rf"^{d}/{n}, đạt ", table["Bảo hiểm xã hội, bảo hiểm y tế"]["Tỷ lệ xác thực (đúng/tổng)"]
    )
    assert table["Hộ tịch"]["Bị cách ly"] == str(
        results.filter((pl.col("sector") == "civil_status") & (pl.col("status") == "quarantined")).height
    )
    assert "tỷ lệ khớp" not in str(made)


def test_a_held_sector_is_marked_not_to_be_cited(tmp_path, artifacts):
    make, made = artifacts
    summary, _ = _run(tmp_path, held={"vaccination"})
    make(summary)
    row = next(r for r in made["doisoat-counts"] if r["Lĩnh vực"] == "Tiêm chủng")
    assert row["Tình trạng"] == "Chưa công bố"
    assert row["Tỷ lệ xác thực (đúng/tổng)"].endswith("(chưa công bố, không trích dẫn)")
