"""Incremental nights (issue 17 item 3): a night that re-links only what changed equals a full run made with the
same frozen models (``--models-from``) on the same inputs, row for row, figures included; fallbacks say why."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import duckdb
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from doisoat import pipeline

SAMPLE = Path(__file__).resolve().parent.parent / "sample_data" / "demo"
KEY = ["sector", "source_file", "source_sheet", "source_row"]


def _read(path: Path, sep: str = ",") -> pl.DataFrame:
    return pl.read_csv(path, separator=sep, infer_schema=False, encoding="utf8")


def _write(df: pl.DataFrame, path: Path, sep: str = ",") -> None:
    df.write_csv(path, separator=sep)


def _config(folder: Path, **kw) -> pipeline.RunConfig:
    return pipeline.RunConfig(
        reference=folder / "reference.csv",
        extracts=[
            pipeline.ExtractInput("vaccination", folder / "tiem_chung.csv"),
            pipeline.ExtractInput("social_protection", folder / "an_sinh_xa_hoi.csv"),
        ],
        out_dir=folder / "out",
        db_path=folder / "db" / "doisoat.duckdb",
        audit_sample_size=0,
        **kw,
    )


def _inputs(folder: Path) -> Path:
    folder.mkdir(parents=True)
    for name in ("reference.csv", "tiem_chung.csv", "an_sinh_xa_hoi.csv"):
        shutil.copyfile(SAMPLE / name, folder / name)
    return folder


def _manifest(summary) -> dict:
    return json.loads((summary.out_dir / "manifest.json").read_text(encoding="utf-8"))


def _results(summary) -> pl.DataFrame:
    return pl.read_parquet(summary.out_dir / "results.parquet").drop("run_id").sort(KEY, nulls_last=True)


def _aggregates(db: Path, run_id: str) -> pl.DataFrame:
    con = duckdb.connect(str(db), read_only=True)
    try:
        rows = con.sql("select * exclude (run_id) from run_aggregates where run_id = ?", params=[run_id]).pl()
    finally:
        con.close()
    return rows.sort("sector", "unit")


@pytest.fixture(scope="module")
def nights(tmp_path_factory):
    """A full night, then inserts, updates and deletes in the extract and the reference and a steward's decision,
    then the incremental night and a full run with the first night's models on the same inputs."""
    folder = _inputs(tmp_path_factory.mktemp("incremental") / "in")
    first = pipeline.reconcile(_config(folder))
    res1 = _results(first)

    vacc = _read(folder / "tiem_chung.csv")
    ref = _read(folder / "reference.csv")
    id_col, name_col, dob_col = "Số định danh cá nhân", "Họ và tên", "Ngày sinh"
    linked = res1.filter((pl.col("status") == "matched") & (pl.col("sector") == "vaccination"))
    persons = linked["person_id"].unique().sort().to_list()
    # records linked by name and birth date (no ID): a renamed person or a new twin changes their links
    no_id = linked.filter((pl.col("match_pass") == "name_dob") & pl.col("weights").str.contains('"id":0.0,'))
    by_name = no_id["person_id"].unique().sort().to_list()
    renamed, twinned, deleted = by_name[0], by_name[1], persons[10]
    twin = ref.filter(pl.col(id_col) == twinned).with_columns(pl.lit("049199999999").alias(id_col))
    ref = pl.concat(
        [
            ref.filter(pl.col(id_col) != deleted).with_columns(
                pl.when(pl.col(id_col) == renamed)
                .then(pl.lit("Khổng Thị Khác"))
                .otherwise(pl.col(name_col))
                .alias(name_col)
            ),
            twin,
        ]
    )
    _write(ref, folder / "reference.csv")
    newcomer = vacc.slice(40, 1).with_columns(
        pl.lit("TC09999999").alias("Mã đối tượng"),
        pl.lit("Trần Thị Mới Đến").alias("Họ và tên"),
        pl.lit("049399999991").alias("Số định danh"),
    )
    vacc = vacc.with_row_index("_i")
    vacc = vacc.filter(~pl.col("_i").is_between(10, 14)).with_columns(
        pl.when(pl.col("_i") == 20).then(pl.lit("01/01/1999")).otherwise(pl.col(dob_col)).alias(dob_col),
        pl.when(pl.col("_i") == 21)
        .then(pl.col("Họ và tên") + " Văn")
        .otherwise(pl.col("Họ và tên"))
        .alias("Họ và tên"),
    )
    again = vacc.filter(pl.col("_i") == 30).with_columns(pl.lit("TC09999998").alias("Mã đối tượng"))
    vacc = pl.concat([vacc, again]).drop("_i")
    _write(pl.concat([vacc, newcomer]), folder / "tiem_chung.csv")

    # a steward links one unmatched record to a person (as `decisions import` stores it): the next night must
    # carry the decision over to the unchanged record
    review = res1.filter(
        (pl.col("status") == "unmatched")
        & (pl.col("sector") == "vaccination")
        & pl.col("identity_fp").is_not_null()
        & (pl.col("source_row") > 50)
    ).row(0, named=True) | {"person_id": persons[50]}
    review["source_row_after"] = review["source_row"] - 5  # five rows above it are deleted below
    con = duckdb.connect(str(folder / "db" / "doisoat.duckdb"))
    con.execute(
        "insert into steward_decisions by name select ? as sector, ? as record_id, ? as identity_fp,"
        " ? as person_id, 'confirm' as decision, ? as decided_at, ? as run_id",
        [
            review["sector"],
            review["record_id"],
            review["identity_fp"],
            review["person_id"],
            datetime.now(),
            first.run_id,
        ],
    )
    con.close()

    second = pipeline.reconcile(_config(folder))
    frozen = pipeline.reconcile(_config(folder, models_from=first.out_dir))
    return {
        "folder": folder,
        "first": first,
        "second": second,
        "frozen": frozen,
        "changed": {"renamed": renamed, "deleted": deleted, "twinned": twinned},
        "review": review,
    }


def test_the_first_night_is_a_full_run_and_says_why(nights):
    inc = _manifest(nights["first"])["incremental"]
    assert inc["mode"] == "full"
    assert "chưa có lượt chạy trước" in inc["reason"]


def test_the_second_night_is_incremental_from_the_first_full_run(nights):
    inc = _manifest(nights["second"])["incremental"]
    assert inc["mode"] == "incremental"
    assert inc["frozen_from"] == nights["first"].run_id
    vacc = inc["counts"]["vaccination"]
    # 5 rows deleted, 2 updated (each a new row and a row gone), 1 copy and 1 newcomer inserted
    assert vacc["deleted"] == 5 + 2
    assert vacc["new"] == 2 + 2
    assert inc["counts"]["social_protection"] == {"new": 0, "deleted": 0, "unchanged": 120, "relinked": 0}
    n = sum(c["new"] + c["unchanged"] for c in inc["counts"].values())
    # only the changed rows and the records whose candidates or decisions changed are linked again
    assert vacc["new"] < vacc["relinked"] < n / 10


def test_the_incremental_night_equals_the_frozen_model_full_run_row_for_row(nights):
    assert _manifest(nights["frozen"])["incremental"]["mode"] == "frozen"
    inc, full = _results(nights["second"]), _results(nights["frozen"])
    assert inc.height == full.height
    assert_frame_equal(inc, full, check_exact=False, rel_tol=1e-9, abs_tol=1e-12)


def test_the_incremental_nights_figures_equal_the_frozen_model_full_runs(nights):
    db = nights["folder"] / "db" / "doisoat.duckdb"
    inc = _aggregates(db, nights["second"].run_id)
    assert inc.height
    assert_frame_equal(inc, _aggregates(db, nights["frozen"].run_id))
    counts = nights["second"].counts.sort("sector", "status")
    assert_frame_equal(counts, nights["frozen"].counts.sort("sector", "status"))


def test_reference_changes_reach_records_whose_rows_did_not_change(nights):
    before, after = _results(nights["first"]), _results(nights["second"])
    ch = nights["changed"]
    assert before.filter(pl.col("person_id") == ch["deleted"]).height > 0
    assert after.filter(pl.col("person_id") == ch["deleted"]).height == 0
    for person in (ch["renamed"], ch["twinned"]):
        # the same records (by what they say), now scored against the renamed person or beside the new twin
        was = before.filter(pl.col("person_id") == person)
        now = after.filter(pl.col("identity_fp").is_in(was["identity_fp"].implode()))
        assert now.height == was.height > 0
        # the renamed person's name now weighs against them; the twin makes the records without an ID a review
        assert sorted(now.select("status", "weights").rows()) != sorted(
            was.select("status", "weights").rows()
        )
    twins = after.filter(
        pl.col("identity_fp").is_in(
            before.filter(pl.col("person_id") == ch["twinned"])["identity_fp"].implode()
        )
    )
    assert "review" in twins["status"].to_list()


def test_a_steward_decision_made_after_the_last_night_is_applied_to_an_unchanged_record(nights):
    r = nights["review"]
    row = _results(nights["second"]).filter(
        (pl.col("source_file") == r["source_file"]) & (pl.col("source_row") == r["source_row_after"])
    )
    assert row["identity_fp"].to_list() == [r["identity_fp"]]
    assert row["match_pass"].to_list() == ["steward"]
    assert row["person_id"].to_list() == [r["person_id"]]


def test_nothing_is_lost_every_input_row_has_one_result(nights):
    folder = nights["folder"]
    res = _results(nights["second"])
    for sector, name, sep in (
        ("vaccination", "tiem_chung.csv", ","),
        ("social_protection", "an_sinh_xa_hoi.csv", ";"),
    ):
        n = pl.read_csv(folder / name, separator=sep, infer_schema=False).height
        got = res.filter(pl.col("sector") == sector)
        assert got.height == n
        assert got["source_row"].sort().to_list() == list(range(1, n + 1))
    assert res.select(KEY).is_duplicated().sum() == 0
    rows = _manifest(nights["second"])["rows_per_file"]
    assert all(v["input"] == v["in_results"] + v["rejected_with_file"] for v in rows.values())


def test_a_night_with_many_changed_rows_or_full_runs_in_full(tmp_path, monkeypatch):
    folder = _inputs(tmp_path / "in")
    pipeline.reconcile(_config(folder))
    vacc = _read(folder / "tiem_chung.csv").with_row_index("_i")
    shifted = vacc.with_columns(
        pl.when(pl.col("_i") % 4 == 0)
        .then(pl.lit("01/01/1990"))
        .otherwise(pl.col("Ngày sinh"))
        .alias("Ngày sinh")
    ).drop("_i")
    _write(shifted, folder / "tiem_chung.csv")
    many = _manifest(pipeline.reconcile(_config(folder)))["incremental"]
    assert many["mode"] == "full"
    assert "vượt ngưỡng 20%" in many["reason"] and "vaccination" in many["reason"]
    forced = _manifest(pipeline.reconcile(_config(folder, full=True)))["incremental"]
    assert forced == {**forced, "mode": "full", "reason": "theo yêu cầu (--full)"}
    unchanged = _manifest(pipeline.reconcile(_config(folder)))["incremental"]
    assert unchanged["mode"] == "incremental"
    assert unchanged["counts"]["vaccination"]["relinked"] == 0
    # a sector whose new file gives no record has all its rows gone
    header = (folder / "an_sinh_xa_hoi.csv").read_text(encoding="utf-8-sig").splitlines()[0]
    (folder / "an_sinh_xa_hoi.csv").write_text(header + "\n", encoding="utf-8")
    emptied = _manifest(pipeline.reconcile(_config(folder)))["incremental"]
    assert emptied["mode"] == "full" and "social_protection" in emptied["reason"]
    assert emptied["counts"]["social_protection"]["deleted"] == 120
    shutil.copyfile(SAMPLE / "an_sinh_xa_hoi.csv", folder / "an_sinh_xa_hoi.csv")
    pipeline.reconcile(_config(folder))
    # an unattended province re-estimates its models after a while
    monkeypatch.setenv("DOISOAT_INCREMENTAL_MAX_AGE_DAYS", "0")
    aged = _manifest(pipeline.reconcile(_config(folder)))["incremental"]
    assert aged["mode"] == "full" and "ước lượng lại" in aged["reason"]


@pytest.mark.parametrize("name", ["DOISOAT_INCREMENTAL_MAX_SHARE", "DOISOAT_INCREMENTAL_MAX_AGE_DAYS"])
def test_a_bad_incremental_setting_is_one_vietnamese_message(monkeypatch, name):
    from doisoat import incremental
    from doisoat.errors import UserError

    monkeypatch.setenv(name, "hai mươi")
    read = incremental.max_changed_share if name.endswith("SHARE") else incremental.max_model_age_days
    with pytest.raises(UserError, match=f"{name}='hai mươi': cần"):
        read()


def test_models_from_a_folder_that_is_not_a_run_is_one_message_before_anything_runs(tmp_path, capsys):
    from doisoat.cli import main

    folder = _inputs(tmp_path / "in")
    (tmp_path / "not-a-run").mkdir()
    code = main(
        [
            "run",
            "--reference",
            str(folder / "reference.csv"),
            "--extract",
            f"vaccination={folder / 'tiem_chung.csv'}",
            "--out",
            str(tmp_path / "out"),
            "--db",
            str(tmp_path / "db" / "d.duckdb"),
            "--models-from",
            str(tmp_path / "not-a-run"),
        ]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert "--models-from" in err and "không phải thư mục của một lượt chạy" in err
    assert "Traceback" not in err
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").glob("2*"))


def test_the_cli_runs_incremental_nights_and_full_on_request(prefect_harness, tmp_path):
    folder = _inputs(tmp_path / "in")
    env = {**os.environ, "DOISOAT_HOME": str(tmp_path / "home"), "DOISOAT_AUDIT_SAMPLE": "0"}
    base = [sys.executable, "-m", "doisoat.cli", "run", "--reference", str(folder / "reference.csv")]
    base += ["--extract", f"vaccination={folder / 'tiem_chung.csv'}", "--out", str(tmp_path / "out")]
    base += ["--db", str(tmp_path / "db" / "d.duckdb")]

    def night(*extra: str) -> tuple[dict, str]:
        run = subprocess.run([*base, *extra], capture_output=True, text=True, env=env, timeout=600)
        assert run.returncode == 0, run.stderr[-2000:]
        latest = tmp_path / "out" / "latest" / "manifest.json"
        return json.loads(latest.read_text(encoding="utf-8"))["incremental"], run.stderr

    first, _ = night()
    assert first["mode"] == "full"
    vacc = _read(folder / "tiem_chung.csv")
    _write(vacc.head(vacc.height - 3), folder / "tiem_chung.csv")
    second, err = night()
    assert second["mode"] == "incremental" and second["counts"]["vaccination"]["deleted"] == 3
    assert f"Chạy tăng dần từ lượt {_first_run(tmp_path)}" in err
    forced, err = night("--full")
    assert forced["mode"] == "full" and "Chạy toàn bộ: theo yêu cầu (--full)" in err


def _first_run(tmp_path: Path) -> str:
    return sorted(p.name for p in (tmp_path / "out").iterdir() if p.name[:1].isdigit())[0]
