"""Nightly operations: the inbox, the served schedule and the run history, on real files, DuckDB and Prefect."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from doisoat import inbox, pipeline
from doisoat.errors import UserError

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample_data" / "demo"
REFERENCE = SAMPLE / "reference.parquet"
EXTRACT = SAMPLE / "an_sinh_xa_hoi.csv"  # the smallest sample extract: 120 rows


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def drop(folder: Path, name: str, data: bytes, age_seconds: float = 60) -> Path:
    """An agency's file, finished copying ``age_seconds`` ago."""
    folder.mkdir(parents=True, exist_ok=True)
    p = folder / name
    p.write_bytes(data)
    t = time.time() - age_seconds
    os.utime(p, (t, t))
    return p


def base_config(tmp: Path) -> pipeline.RunConfig:
    return pipeline.RunConfig(
        reference=REFERENCE, extracts=[], out_dir=tmp / "out", db_path=tmp / "db" / "doisoat.duckdb"
    )


def direct(config: pipeline.RunConfig) -> dict:
    """The whole run without Prefect, returning what the flow returns."""
    s = pipeline.reconcile(config)
    return {"run_id": s.run_id, "out_dir": str(s.out_dir), "published": s.published, "sectors": s.sectors}


@pytest.fixture(scope="module")
def first_night(tmp_path_factory):
    """An inbox with an old and a new file, a half-copied file, a file still growing and an unreadable one."""
    tmp = tmp_path_factory.mktemp("night")
    box = inbox.Inbox.open(tmp / "hop-thu")
    data = EXTRACT.read_bytes()
    old = drop(box.root / "social_protection", "an_sinh_thang_10.csv", data, age_seconds=3600)
    new = drop(box.root / "social_protection", "an_sinh_thang_11.csv", data[:-1] + b"\n", age_seconds=60)
    drop(box.root / "vaccination", "tiem_chung.csv.part", b"Ho ten;Ngay sinh\n")
    growing = drop(box.root / "insurance", "bhxh.csv", b"Ho ten;Ngay sinh\n")
    broken = drop(box.root / "civil_status", "ho_tich.xlsx", b"PK\x03\x04 not really a workbook")
    before = {p.name: sha(p) for p in (old, new, broken)}

    def copying():  # an agency's copy still under way while the night looks
        with open(growing, "ab") as fh:
            for _ in range(30):
                fh.write(b"Nguyen Van A;01/01/1990\n")
                fh.flush()
                time.sleep(0.05)

    copy = threading.Thread(target=copying)
    copy.start()
    try:
        night = inbox.night(box, base_config(tmp), direct, settle=0.3)
    finally:
        copy.join()
    return tmp, box, night, before


def test_the_newest_complete_file_is_read_then_archived_with_its_checksum(first_night):
    tmp, box, night, before = first_night
    run_id = night.run["run_id"]
    sectors = {s["sector"]: s["published"] for s in night.run["sectors"]}
    assert sectors == {"social_protection": True, "civil_status": False}  # only sectors with a new file ran
    manifest = json.loads((tmp / "out" / run_id / "manifest.json").read_text(encoding="utf-8"))
    read = {Path(i["path"]).name for i in manifest["inputs"]}
    assert read == {"an_sinh_thang_11.csv", "ho_tich.xlsx"}
    day = next((tmp / "archive").glob("20*"))
    archived = day / run_id / "social_protection" / "an_sinh_thang_11.csv"
    assert sha(archived) == before["an_sinh_thang_11.csv"]
    checksum = Path(str(archived) + ".sha256").read_text(encoding="utf-8")
    assert checksum == f"{before['an_sinh_thang_11.csv']}  an_sinh_thang_11.csv\n"  # sha256sum -c format
    # the older file is never read, and archived so that no later night goes back to it
    older = day / run_id / "social_protection" / "cu-hon" / "an_sinh_thang_10.csv"
    assert sha(older) == before["an_sinh_thang_10.csv"]
    assert not list((box.root / "social_protection").iterdir())
    record = json.loads((day / run_id / "hop-thu.json").read_text(encoding="utf-8"))
    assert {f["name"]: f["action"] for f in record["files"]} == {
        "an_sinh_thang_11.csv": "archived",
        "an_sinh_thang_10.csv": "superseded",
        "ho_tich.xlsx": "rejected",
    }


def test_a_file_still_being_copied_is_neither_read_nor_moved(first_night):
    tmp, box, night, _ = first_night
    assert (box.root / "vaccination" / "tiem_chung.csv.part").is_file()
    assert (box.root / "insurance" / "bhxh.csv").is_file()  # modified within the settle check: still growing
    waiting = {f.name for f in night.filed if f.action == "waiting"}
    assert waiting == {"tiem_chung.csv.part", "bhxh.csv"}


def test_an_unreadable_file_goes_to_rejected_with_a_vietnamese_reason_beside_it(first_night):
    tmp, box, night, before = first_night
    rejected = box.root / "rejected" / "ho_tich.xlsx"
    assert sha(rejected) == before["ho_tich.xlsx"]  # the agency's bytes, untouched
    reason = Path(str(rejected) + inbox.MESSAGE_SUFFIX).read_text(encoding="utf-8")
    first, *rest = reason.splitlines()
    assert first.startswith("Tệp 'ho_tich.xlsx' (lĩnh vực civil_status) KHÔNG đọc được")
    assert "bị hỏng" in reason and "could not be read" in reason  # Vietnamese first, then English
    assert night.run["run_id"] in first


def test_a_sector_without_a_new_file_keeps_its_published_figures_and_says_so(first_night):
    tmp, box, night, _ = first_night
    # the next night: the insurance copy has finished (its only file lacks a required column)
    second = inbox.night(box, base_config(tmp), direct, settle=0.3)
    ran = {s["sector"]: s.get("carried_over", False) for s in second.run["sectors"]}
    assert ran == {"insurance": False, "social_protection": True}  # only published sectors are carried over
    assert not second.run["published"]  # a night of only an unusable file runs, holds it and rejects it
    assert (box.root / "rejected" / "bhxh.csv").is_file() and not (
        box.root / "insurance" / "bhxh.csv"
    ).exists()
    kept = {u["sector"]: u["in_force"] for u in second.unchanged}
    assert kept["social_protection"]["run_id"] == night.run["run_id"]
    assert kept["vaccination"] is None
    lines = "\n".join(second.lines())
    assert f"An sinh xã hội: không có tệp mới; giữ số liệu đã công bố của lượt {night.run['run_id']}" in lines
    assert "Tiêm chủng: không có tệp mới; chưa từng được công bố" in lines
    report = (Path(second.run["out_dir"]) / "report" / "bao-cao.html").read_text(encoding="utf-8")
    assert (
        "Lĩnh vực An sinh xã hội chưa được công bố ở lượt này vì không có tệp mới trong hộp thư; số liệu đang có "
        f"hiệu lực là của lượt {night.run['run_id']}"
    ) in " ".join(report.split())
    third = inbox.night(box, base_config(tmp), direct, settle=0.3)
    assert third.run is None  # nothing new: no run at all
    assert "Hộp thư không có tệp mới hoàn chỉnh" in "\n".join(third.lines())


def test_a_rejected_name_taken_before_gets_a_new_name_and_nothing_is_overwritten(tmp_path):
    box = inbox.Inbox.open(tmp_path / "hop-thu")
    earlier = drop(box.root / "rejected", "ho_tich.xlsx", b"the agency's earlier file")
    drop(box.root / "civil_status", "ho_tich.xlsx", b"PK\x03\x04 broken again")
    drop(box.root / "social_protection", "an_sinh.csv", EXTRACT.read_bytes())
    inbox.night(box, base_config(tmp_path), direct, settle=0)
    assert earlier.read_bytes() == b"the agency's earlier file"
    assert (box.root / "rejected" / "ho_tich (2).xlsx").read_bytes() == b"PK\x03\x04 broken again"
    assert (box.root / "rejected" / "ho_tich (2).xlsx.ly-do.txt").is_file()


def test_a_file_replaced_during_the_run_stays_in_the_inbox_for_the_next_night(tmp_path):
    box = inbox.Inbox.open(tmp_path / "hop-thu")
    f = drop(box.root / "social_protection", "an_sinh.csv", EXTRACT.read_bytes())

    def run_while_the_agency_copies_again(config):
        out = direct(config)
        f.write_bytes(EXTRACT.read_bytes() + b"\n")  # a new version arrives under the same name
        return out

    night = inbox.night(box, base_config(tmp_path), run_while_the_agency_copies_again, settle=0)
    assert [x.action for x in night.filed] == ["left"]
    assert f.read_bytes() == EXTRACT.read_bytes() + b"\n"


def test_a_night_killed_after_its_record_loses_no_agency_file(tmp_path):
    box = inbox.Inbox.open(tmp_path / "hop-thu")
    f = drop(box.root / "social_protection", "an_sinh.csv", EXTRACT.read_bytes())
    code = (
        "import sys; from pathlib import Path; from doisoat import inbox, pipeline\n"
        "box = inbox.Inbox.open(Path(sys.argv[1]))\n"
        "base = pipeline.RunConfig(reference=Path(sys.argv[2]), extracts=[], out_dir=Path(sys.argv[3]),"
        " db_path=Path(sys.argv[4]))\n"
        "inbox.night(box, base, lambda c: pipeline.reconcile(c), settle=0)\n"
    )
    cfg = base_config(tmp_path)
    killed = subprocess.run(
        [sys.executable, "-c", code, str(box.root), str(REFERENCE), str(cfg.out_dir), str(cfg.db_path)],
        env={**os.environ, "PYTHONPATH": str(ROOT), "DOISOAT_KILL_AT": "publish"},
        capture_output=True,
        timeout=300,
    )
    assert killed.returncode == -signal.SIGKILL
    assert f.read_bytes() == EXTRACT.read_bytes()  # recorded, not yet published: the file is still there
    night = inbox.night(box, cfg, direct, settle=0)  # the next night reads it again and files it away
    assert [x.action for x in night.filed] == ["archived"] and not f.exists()


def test_runs_list_shows_each_run_with_published_and_held_sectors_and_no_personal_data(first_night):
    tmp, _, night, _ = first_night
    out = subprocess.run(
        [sys.executable, "-m", "doisoat.cli", "runs", "list", "--db", str(tmp / "db" / "doisoat.duckdb")],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    text = out.stdout
    assert night.run["run_id"] in text
    assert "Công bố: An sinh xã hội; chưa công bố: Hộ tịch" in text
    assert "An sinh xã hội: đúng " in text and "đạt " in text
    assert "Tệp An sinh xã hội: an_sinh_thang_11.csv, 120 dòng" in text
    assert "Tệp Hộ tịch: ho_tich.xlsx" in text and "KHÔNG dùng được" in text
    import polars as pl

    people = pl.read_csv(EXTRACT, separator=";", infer_schema=False)
    names = [c for c in people.columns if "tên" in c.lower()]
    assert names and not any(v and v in text for v in people[names[0]].to_list())


def test_cli_inbox_with_no_new_file_runs_nothing_and_exits_0(tmp_path):
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "doisoat.cli",
            "run",
            "--reference",
            str(REFERENCE),
            "--inbox",
            str(tmp_path / "ht"),
        ]
        + ["--out", str(tmp_path / "out"), "--db", str(tmp_path / "d.duckdb")],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert "Hộp thư không có tệp mới hoàn chỉnh" in out.stdout
    for sector in ("vaccination", "civil_status", "rejected"):  # the layout agencies drop into
        assert (tmp_path / "ht" / sector).is_dir()
    assert (tmp_path / "ht" / inbox.GUIDE).read_text(encoding="utf-8").startswith("HỘP THƯ DỮ LIỆU")
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").glob("20*"))


def test_serve_runs_the_inbox_on_its_schedule_names_the_flow_run_by_the_run_id_and_stops_cleanly(tmp_path):
    """``doisoat serve`` in a subprocess against the embedded database: one scheduled run completes."""
    hop = tmp_path / "hop-thu"
    drop(hop / "social_protection", "an_sinh.csv", EXTRACT.read_bytes())
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(
        {
            "PYTHONPATH": str(ROOT),
            "DOISOAT_HOME": str(tmp_path / "home"),
            "DOISOAT_INBOX_SETTLE_SECONDS": "0.2",
            "PREFECT_LOGGING_LEVEL": "INFO",
            "PREFECT_RUNNER_POLL_FREQUENCY": "2",
        }
    )
    log = open(tmp_path / "serve.log", "w")  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "-m", "doisoat.cli", "serve", "--inbox", str(hop), "--reference", str(REFERENCE)]
        + ["--out", str(tmp_path / "out"), "--db", str(tmp_path / "d.duckdb"), "--interval", "15"],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
        cwd=tmp_path,
    )
    try:
        deadline = time.monotonic() + 150
        while time.monotonic() < deadline and "Finished in state Completed()" not in _flow_lines(tmp_path):
            assert proc.poll() is None, (tmp_path / "serve.log").read_text()[-3000:]
            time.sleep(1)
        text = (tmp_path / "serve.log").read_text()
        assert "Finished in state Completed()" in _flow_lines(tmp_path), text[-3000:]
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
            log.close()
    assert proc.returncode is not None
    latest = (tmp_path / "out" / "latest").resolve()
    run_id = latest.name
    assert (latest / "report" / "bao-cao.html").is_file()
    assert f"Flow run '{run_id}' - Finished in state Completed()" in text  # named by the doisoat run id
    assert "Cannot schedule flows on an ephemeral server" not in text
    assert (next((tmp_path / "archive").glob("20*")) / run_id / "social_protection" / "an_sinh.csv").is_file()
    from flows.inbox import _healthy

    url = re.search(r"Prefect API (http://127\.0\.0\.1:\d+/api)", text).group(1)
    assert not _healthy(url)  # the local server stopped with serve


def _flow_lines(tmp_path: Path) -> str:
    text = (tmp_path / "serve.log").read_text()
    return "\n".join(line for line in text.splitlines() if "Flow run '" in line)


def test_a_second_night_on_the_same_inbox_is_refused_until_the_first_one_dies(tmp_path):
    box = inbox.Inbox.open(tmp_path / "hop-thu")
    f = drop(box.root / "social_protection", "an_sinh.csv", EXTRACT.read_bytes())
    code = (
        "import sys, time; from pathlib import Path; from doisoat.runs import exclusive\n"
        "with exclusive(Path(sys.argv[1]), 'x', 'first-night'):\n"
        "    print('held', flush=True); time.sleep(60)\n"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", code, str(box.root / inbox.INBOX_LOCK)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(UserError, match=f"Hộp thư .* đang được .*pid {holder.pid}.*first-night"):
            inbox.night(box, base_config(tmp_path), direct, settle=0)
        assert f.is_file()
    finally:
        holder.kill()
        holder.wait()
    # the kernel released the dead night's lock: nothing is stuck
    with inbox.Inbox.open(tmp_path / "hop-thu").lock():
        pass


def test_hidden_and_system_files_are_ignored_and_foreign_entries_are_left_and_listed(tmp_path):
    box = inbox.Inbox.open(tmp_path / "hop-thu")
    for name in (".DS_Store", "~$ho_tich.xlsx", "Thumbs.db", ".an_sinh.csv.Xa81bc"):  # rsync's temporary copy
        drop(box.root / "social_protection", name, b"x")
    drop(box.root, "ghi-chu.txt", b"a note of the office")
    (box.root / "vaccination" / "thang-11").mkdir()
    scan = box.scan(settle=0)
    assert not scan.chosen and not scan.waiting
    assert scan.strays == ["ghi-chu.txt", "vaccination/thang-11"]
    night = inbox.night(box, base_config(tmp_path), direct, settle=0)
    assert night.run is None and (box.root / "ghi-chu.txt").read_bytes() == b"a note of the office"
    assert "Không thuộc lĩnh vực nào, để nguyên: ghi-chu.txt" in "\n".join(night.lines())


def test_an_archive_on_another_file_system_gets_a_verified_copy_and_the_original_goes(tmp_path):
    shm = Path("/dev/shm")
    if not shm.is_dir() or shm.stat().st_dev == tmp_path.stat().st_dev:
        pytest.skip("no second file system here")
    other = Path(tempfile.mkdtemp(dir=shm))
    try:
        box = inbox.Inbox.open(tmp_path / "hop-thu", archive=other / "archive")
        f = drop(box.root / "social_protection", "an_sinh.csv", EXTRACT.read_bytes())
        scan = box.scan(settle=0)
        inputs = [{"path": str(f), "sha256": sha(f), "ok": True, "messages": []}]
        started = datetime(2026, 12, 4, 1, 30, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))
        # a server kept on UTC: the night of 4 December in Vietnam is still the 3rd in UTC
        filed = box.file_away(scan, "20261204T013000-abcdef", inputs, started.astimezone(ZoneInfo("UTC")))
        dest = (
            other / "archive" / "2026-12-04" / "20261204T013000-abcdef" / "social_protection" / "an_sinh.csv"
        )
        assert [(x.action, x.destination) for x in filed] == [("archived", dest)]
        assert sha(dest) == inputs[0]["sha256"] and not f.exists()
        assert not list(dest.parent.glob("*.part"))
    finally:
        shutil.rmtree(other, ignore_errors=True)


@pytest.mark.parametrize("out", ["hop-thu/ket-qua", "archive/ket-qua", "."])
def test_an_inbox_sharing_a_folder_with_the_runs_folder_is_refused_before_anything_moves(tmp_path, out):
    box = inbox.Inbox.open(tmp_path / "hop-thu")
    f = drop(box.root / "social_protection", "an_sinh.csv", EXTRACT.read_bytes())
    config = pipeline.RunConfig(
        reference=REFERENCE, extracts=[], out_dir=tmp_path / out, db_path=tmp_path / "d.db"
    )
    with pytest.raises(UserError, match="phải là hai thư mục riêng"):
        inbox.night(box, config, direct, settle=0)
    assert f.is_file() and not (tmp_path / "d.db").exists()


def test_a_flow_run_is_named_by_the_doisoat_run_id_of_its_run_folder(prefect_harness, tmp_path):
    from prefect.client.orchestration import get_client

    from flows.nightly import nightly

    config = pipeline.RunConfig(
        reference=REFERENCE,
        extracts=[pipeline.ExtractInput("social_protection", EXTRACT)],
        out_dir=tmp_path / "out",
        db_path=tmp_path / "d.duckdb",
    )
    state = nightly(config, return_state=True)
    result = state.result()
    with get_client(sync_client=True) as client:
        flow_run = client.read_flow_run(state.state_details.flow_run_id)
    assert flow_run.name == result["run_id"] == Path(result["out_dir"]).name
