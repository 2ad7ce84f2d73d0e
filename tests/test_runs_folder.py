"""doisoat only ever deletes or replaces what it created: the runs folder, its markers, locks and leftovers."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from doisoat import pipeline, runs
from doisoat.errors import UserError

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample_data" / "demo"
REFERENCE = SAMPLE / "reference.parquet"
EXTRACT = SAMPLE / "an_sinh_xa_hoi.csv"  # the smallest sample extract: 120 rows


def tree_digest(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` with its content hash (what must survive a refused run untouched)."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def cli(*args: str, cwd: Path, env: dict | None = None, timeout: int = 300) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "doisoat.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=full_env,
        timeout=timeout,
    )


def direct_run(out: Path, db: Path, env: dict) -> subprocess.CompletedProcess:
    """The whole run without Prefect, in its own process (so it can be killed)."""
    code = (
        "import sys; from pathlib import Path; from doisoat import pipeline\n"
        "pipeline.reconcile(pipeline.RunConfig(reference=Path(sys.argv[1]), out_dir=Path(sys.argv[3]),"
        " db_path=Path(sys.argv[4]), extracts=[pipeline.ExtractInput('social_protection', Path(sys.argv[2]))]))"
    )
    return subprocess.run(
        [sys.executable, "-c", code, str(REFERENCE), str(EXTRACT), str(out), str(db)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT), **env},
        timeout=300,
    )


def run_args(out: str, db: Path) -> list[str]:
    return [
        "run",
        "--reference",
        str(REFERENCE),
        "--extract",
        f"social_protection={EXTRACT}",
        "--out",
        out,
        "--db",
        str(db),
    ]


@pytest.fixture
def workdir(tmp_path):
    """A user's working folder: their own files and a DuckDB file holding every run's history."""
    (tmp_path / "ghi-chu.txt").write_text("của người dùng", encoding="utf-8")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "doisoat.duckdb").write_bytes(b"not a real database, but precious")
    return tmp_path


@pytest.mark.parametrize("out", [".", "data", "user-files"])
def test_out_on_a_folder_doisoat_did_not_create_is_refused_and_nothing_changes(workdir, out):
    (workdir / "user-files").mkdir()
    (workdir / "user-files" / "bao-cao-cu.xlsx").write_bytes(b"an old report of the user's")
    before = tree_digest(workdir)
    res = cli(
        *run_args(out, workdir / "data" / "doisoat.duckdb"),
        cwd=workdir,
        env={"DOISOAT_HOME": str(workdir / "h")},
    )
    assert res.returncode == 2, res.stderr[-2000:]
    assert "Traceback" not in res.stderr
    assert "doisoat" in res.stderr and ("không do doisoat tạo" in res.stderr or "cơ sở dữ liệu" in res.stderr)
    assert tree_digest(workdir) == before


def test_a_runs_folder_may_not_hold_the_database_even_when_empty(tmp_path):
    with pytest.raises(UserError, match="cơ sở dữ liệu"):
        runs.check_runs_folder(tmp_path / "out", tmp_path / "out" / "doisoat.duckdb")


def test_an_empty_folder_becomes_a_marked_runs_folder_and_a_second_run_keeps_the_first(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    db = tmp_path / "d.duckdb"
    cfg = pipeline.RunConfig(
        reference=REFERENCE,
        extracts=[pipeline.ExtractInput("social_protection", EXTRACT)],
        out_dir=out,
        db_path=db,
    )
    first = pipeline.reconcile(cfg)
    first_files = tree_digest(first.out_dir)
    second = pipeline.reconcile(cfg)
    assert (out / runs.ROOT_MARKER).is_file()
    assert first.out_dir.parent == second.out_dir.parent == out.resolve()
    assert first.out_dir != second.out_dir
    assert tree_digest(first.out_dir) == first_files  # a published run is never replaced
    assert os.readlink(out / "latest") == second.run_id
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [runs.ROOT_MARKER, runs.ROOT_LOCK, "latest", first.run_id, second.run_id]
    )
    # a folder made by doisoat (marked) is accepted even with user-looking names inside its run folders
    runs.check_runs_folder(out, db)


def test_a_folder_of_runs_made_before_markers_is_adopted(tmp_path):
    out = tmp_path / "out"
    (out / "20260101T000000-abcdef").mkdir(parents=True)
    (out / "20260101T000000-abcdef" / "manifest.json").write_text(
        json.dumps({"run_id": "20260101T000000-abcdef"})
    )
    (out / "latest").symlink_to("20260101T000000-abcdef")
    runs.check_runs_folder(out)
    (out / "notes.txt").write_text("x")
    with pytest.raises(UserError, match="notes.txt"):
        runs.check_runs_folder(out)


def test_a_second_run_on_the_same_database_is_refused_naming_the_first(tmp_path):
    db = tmp_path / "d.duckdb"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; from doisoat import runs\n"
            "with runs.exclusive(Path(sys.argv[1]), 'db', 'RUN-A'):\n"
            "    print('held', flush=True); time.sleep(60)",
            str(runs.db_lock_path(db)),
        ],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        res = cli(*run_args(str(tmp_path / "out"), db), cwd=tmp_path)
        assert res.returncode == 2 and "Traceback" not in res.stderr
        assert f"pid {holder.pid}" in res.stderr and "RUN-A" in res.stderr
    finally:
        holder.kill()
        holder.wait()
    # the holder is gone: its lock went with it (no stale lock to clear by hand)
    with runs.exclusive(runs.db_lock_path(db), "db"):
        pass


def test_a_run_killed_after_its_record_is_published_by_the_next_run(tmp_path):
    """SIGKILL between the DuckDB record and the rename: the next run finishes the publication."""
    out = tmp_path / "out"
    db = tmp_path / "d.duckdb"
    home = tmp_path / "home"
    env = {"DOISOAT_HOME": str(home), "DOISOAT_KILL_AT": "publish"}
    killed = direct_run(out, db, env)
    assert killed.returncode in (-signal.SIGKILL, 128 + signal.SIGKILL)
    staged = list(out.glob(f"{runs.STAGING_PREFIX}*"))
    assert len(staged) == 1 and not (out / "latest").exists()
    killed_id = staged[0].name.removeprefix(runs.STAGING_PREFIX)
    ok = direct_run(out, db, {"DOISOAT_HOME": str(home)})
    assert ok.returncode == 0, ok.stderr[-2000:]
    assert not list(out.glob(f"{runs.STAGING_PREFIX}*"))
    assert (out / killed_id / "results.parquet").is_file()  # recovered, not lost
    assert list((home / "work").glob("*")) == []


@pytest.fixture(scope="module")
def clean_results(tmp_path_factory):
    """The results of an uninterrupted run, to compare reruns after a kill with."""
    import polars as pl

    base = tmp_path_factory.mktemp("clean")
    done = direct_run(base / "out", base / "d.duckdb", {"DOISOAT_HOME": str(base / "home")})
    assert done.returncode == 0, done.stderr[-2000:]
    return pl.read_parquet(base / "out" / "latest" / "results.parquet").drop("run_id")


@pytest.mark.parametrize("step", ["reference", "ingest", "standardize", "match", "assess", "gate", "report"])
def test_a_run_killed_at_a_step_boundary_publishes_nothing_and_the_rerun_is_identical(
    tmp_path, step, clean_results
):
    import polars as pl

    out = tmp_path / "out"
    db = tmp_path / "d.duckdb"
    home = tmp_path / "home"
    killed = direct_run(out, db, {"DOISOAT_HOME": str(home), "DOISOAT_KILL_AT": step})
    assert killed.returncode in (-signal.SIGKILL, 128 + signal.SIGKILL)
    assert list(out.glob(f"{runs.STAGING_PREFIX}*")) and list((home / "work").glob("*"))
    assert not (out / "latest").exists()  # nothing published
    ok = direct_run(out, db, {"DOISOAT_HOME": str(home)})
    assert ok.returncode == 0, ok.stderr[-2000:]
    entries = {p.name for p in out.iterdir()}
    assert entries == {runs.ROOT_MARKER, runs.ROOT_LOCK, "latest", os.readlink(out / "latest")}
    assert list((home / "work").glob("*")) == []
    again = pl.read_parquet(out / "latest" / "results.parquet").drop("run_id")
    assert again.equals(clean_results)


def test_run_files_and_the_database_are_owner_only(tmp_path):
    out = tmp_path / "out"
    db = tmp_path / "d" / "d.duckdb"
    summary = pipeline.reconcile(
        pipeline.RunConfig(
            reference=REFERENCE,
            extracts=[pipeline.ExtractInput("social_protection", EXTRACT)],
            out_dir=out,
            db_path=db,
        )
    )
    assert db.stat().st_mode & 0o077 == 0
    assert db.parent.stat().st_mode & 0o077 == 0
    for p in summary.out_dir.rglob("*"):
        if not p.is_symlink():
            assert p.stat().st_mode & 0o077 == 0, p


def test_a_second_run_into_the_same_runs_folder_is_refused_while_the_first_holds_it(tmp_path):
    out = tmp_path / "out"
    first = runs.RunsFolder.open(out)
    with runs.exclusive(first.lock(), "runs", "RUN-A"):
        cfg = pipeline.RunConfig(
            reference=REFERENCE,
            extracts=[pipeline.ExtractInput("social_protection", EXTRACT)],
            out_dir=out,
            db_path=tmp_path / "other.duckdb",  # another database: the runs folder alone decides
        )
        # the same process re-enters its own lock; another process is refused (as the database test shows)
        holder = subprocess.run(
            [
                sys.executable,
                "-c",
                "import sys; from pathlib import Path; from doisoat import runs\n"
                "try:\n"
                "    with runs.exclusive(Path(sys.argv[1]), 'Thư mục kết quả'):\n"
                "        print('got it')\n"
                "except Exception as e:\n"
                "    print(type(e).__name__, e)",
                str(first.lock()),
            ],
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            timeout=60,
        )
        assert holder.stdout.startswith("UserError") and "RUN-A" in holder.stdout, holder.stdout
        with pipeline.run_locks(cfg):
            pass


def test_a_reference_without_ids_is_one_message_through_the_flow_not_retried_and_no_traceback(
    tmp_path, prefect_harness, capfd
):
    import polars as pl

    from doisoat.errors import DoisoatError
    from flows.nightly import run_once

    ref = pl.read_parquet(REFERENCE)
    no_ids = tmp_path / "dan_cu.csv"
    ref.drop([c for c in ref.columns if "định danh" in c.lower()]).write_csv(no_ids)
    with pytest.raises(DoisoatError, match="không có số định danh cá nhân"):
        run_once(
            pipeline.RunConfig(
                reference=no_ids,
                extracts=[pipeline.ExtractInput("social_protection", EXTRACT)],
                out_dir=tmp_path / "out",
                db_path=tmp_path / "d.duckdb",
            )
        )
    printed = capfd.readouterr()
    assert "Traceback" not in printed.err + printed.out
    assert "Retrying" not in printed.err + printed.out  # a user error is not retried
    assert not (tmp_path / "out" / "latest").exists()


def test_prefect_retries_io_steps_but_never_a_user_error(prefect_harness):
    from prefect import flow

    from flows.nightly import RETRIES, prefect_step

    calls: list[int] = []

    def refused() -> None:
        calls.append(1)
        raise UserError("tệp hỏng")

    @flow(name="doisoat-test-no-retry")
    def once() -> None:
        prefect_step("reference", refused)

    assert RETRIES["reference"] > 0  # the step would be retried for an I/O failure
    with pytest.raises(UserError, match="tệp hỏng"):
        once()
    assert len(calls) == 1
