"""Linking on a Dask cluster (``--cluster local:N``): the same results as one machine, a lost worker never publishes
a partial run. Real LocalClusters of worker processes, real DuckDB files, the committed sample."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from doisoat import pipeline, store
from doisoat.cluster import ClusterPlan, linking_on
from doisoat.errors import UserError
from doisoat.match import MatchSettings, link

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample_data" / "demo"


def _sample() -> tuple[Path, list[str]]:
    manifest = json.loads((SAMPLE / "manifest.json").read_text(encoding="utf-8"))
    return SAMPLE / manifest["reference"], [f"{s}={SAMPLE / f}" for s, f in manifest["extracts"].items()]


def _config(base: Path, name: str, cluster: str | None = None) -> pipeline.RunConfig:
    reference, extracts = _sample()
    return pipeline.RunConfig(
        reference=reference,
        extracts=[pipeline.ExtractInput.parse(e) for e in extracts],
        out_dir=base / f"{name}-out",
        db_path=base / f"{name}.duckdb",
        cluster=cluster,
    )


def _results(run_dir: Path) -> pl.DataFrame:
    """Every column but the run id, in a fixed row order."""
    return (
        pl.read_parquet(run_dir / "results.parquet")
        .drop("run_id")
        .sort("sector", "source_file", "source_sheet", "source_row", nulls_last=True)
    )


def _pass_stats(run_dir: Path) -> dict:
    stats = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))["pass_stats"]
    return {name: {k: v for k, v in st.items() if k != "seconds"} for name, st in stats.items()}


@pytest.fixture(scope="module")
def one_machine(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("one_machine")
    return pipeline.reconcile(_config(base, "plain")).out_dir


def test_doisoat_run_with_cluster_local_2_gives_the_one_machine_results(
    one_machine, prefect_harness, tmp_path
):
    from doisoat.cli import main

    reference, extracts = _sample()
    argv = ["run", "--quiet", "--reference", str(reference), "--out", str(tmp_path / "out")]
    argv += ["--db", str(tmp_path / "c.duckdb"), "--cluster", "local:2"]
    for e in extracts:
        argv += ["--extract", e]
    assert main(argv) in (0, 4)
    run_dir = (tmp_path / "out" / "latest").resolve()
    cluster = _results(run_dir)
    assert cluster.height == _results(one_machine).height > 8000
    assert cluster.equals(_results(one_machine))  # every column, every value, byte for byte
    assert _pass_stats(run_dir) == _pass_stats(one_machine)
    manifest = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["config"]["cluster"] == "local:2"
    # the run's partitions on the work folder are gone with the run
    assert not any((Path(pipeline.settings.home()) / "work").glob("*/cluster"))


@pytest.fixture(scope="module")
def linked_sample(tmp_path_factory):
    """The sample's standardised records and a DuckDB file holding its reference."""
    base = tmp_path_factory.mktemp("link")
    config = _config(base, "link")
    con = store.connect(config.db_path)
    pipeline.ensure_reference(con, config.reference)
    ingested = pipeline.ingest_extracts(config.extracts, {})
    records, _ = pipeline.assemble(ingested)
    yield con, pipeline.standardize_records(records), base
    con.close()


def test_block_caps_count_the_same_on_partitions_as_on_one_machine(linked_sample):
    """With a cap of one person per key value shared values are split by the finer key or skipped: each partition
    holds all the persons of its key values, so the same pairs, counts and warnings come out."""
    con, records, base = linked_sample
    settings = MatchSettings(block_cap=1)
    here = link(con, records, settings=settings)
    plan = ClusterPlan("local:2", base / "cluster-caps", "caps", partitions=5)
    with linking_on(plan, con) as (pass_levels, sess):
        there = link(con, records, settings=settings, pass_levels=pass_levels)
        peaks = sess.summary()["worker_peak_rss_bytes"]
    assert there.matches.equals(here.matches)
    strip = {n: {k: v for k, v in st.items() if k != "seconds"} for n, st in here.pass_stats.items()}
    assert {n: {k: v for k, v in st.items() if k != "seconds"} for n, st in there.pass_stats.items()} == strip
    assert sum(st["capped_keys"] for st in strip.values()) > 0
    assert any(st["warnings"] for st in strip.values())  # values too common even with the finer key
    assert len(peaks) == 2 and all(v > 0 for v in peaks.values())  # both workers ran partitions
    assert not plan.folder.exists()


def test_a_worker_killed_mid_run_is_replaced_and_the_results_are_unchanged(
    one_machine, tmp_path, monkeypatch
):
    marker = tmp_path / "killed"
    monkeypatch.setenv("DOISOAT_KILL_WORKER", f"once:{marker}")
    summary = pipeline.reconcile(_config(tmp_path, "killed", cluster="local:2"))
    assert marker.exists()  # a worker process did die (SIGKILL) while running a partition
    assert _results(summary.out_dir).equals(_results(one_machine))


def test_workers_dying_again_and_again_fail_the_run_clearly_and_publish_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("DOISOAT_KILL_WORKER", "always")
    config = _config(tmp_path, "dying", cluster="local:2")
    with pytest.raises(UserError, match="Máy thợ Dask dừng đột ngột nhiều lần.*không công bố"):
        pipeline.reconcile(config)
    runs = config.out_dir
    assert sorted(p.name for p in runs.iterdir()) == [".doisoat-lock", ".doisoat-runs"]  # no run, no staging
    con = store.connect(config.db_path)
    try:
        assert con.execute("SELECT count(*) FROM runs").fetchall()[0][0] == 0
    finally:
        con.close()


@pytest.mark.parametrize(
    "args, words",
    [
        (["--cluster", "local:0"], "--cluster 'local:0': cần dạng local:N"),
        (["--cluster", "http://x"], "--cluster 'http://x': cần dạng local:N"),
        (["--cluster", "local:2", "--work-dir", "/nonexistent/doisoat"], "thư mục không tồn tại"),
        (["--work-dir", "."], "--work-dir chỉ dùng cùng --cluster"),
    ],
)
def test_a_wrong_cluster_option_is_one_vietnamese_line_before_anything_runs(args, words, tmp_path, capsys):
    from doisoat.cli import main

    reference, extracts = _sample()
    argv = [
        "run",
        "--reference",
        str(reference),
        "--extract",
        extracts[0],
        "--out",
        str(tmp_path / "o"),
        *args,
    ]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert words in err and "Traceback" not in err
    assert not (tmp_path / "o").exists()
