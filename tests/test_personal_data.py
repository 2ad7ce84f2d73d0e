"""No personal data leaks: a sweep of every file a run produces, its log and console, and the files' permissions.

Results and enriched extracts hold personal data by design (they go back to the sector, owner-only); worklists
show names to the stewards who must judge them, never a whole ID. Everything else — the report, Data Docs,
manifest, gate.txt, the log and the console — holds no name, ID or birth date at all.
"""

from __future__ import annotations

import json
import logging
import re
import zipfile
from pathlib import Path

import polars as pl
import pytest

from doisoat import pipeline, settings

SAMPLE = Path(__file__).resolve().parent.parent / "sample_data" / "demo"
MANIFEST = json.loads((SAMPLE / "manifest.json").read_text())
BY_DESIGN = ("results.parquet", "quarantine.parquet", "enriched/")


def _texts(path: Path) -> str:
    """The text a file holds (every part of an XLSX, which is a zip of XML)."""
    if path.suffix == ".xlsx":
        with zipfile.ZipFile(path) as z:
            return "\n".join(z.read(n).decode("utf-8", "replace") for n in z.namelist())
    return path.read_bytes().decode("utf-8", "replace")


@pytest.fixture(scope="module")
def personal():
    """The sample's names (three words or more), 12-digit IDs, old ID numbers and birth dates (before 2020)."""
    ref = pl.read_parquet(SAMPLE / MANIFEST["reference"])
    names = {n for n in ref["Họ và tên"].drop_nulls().to_list() if len(n.split()) >= 3}
    ids = set(ref["Số định danh cá nhân"].drop_nulls().cast(pl.Utf8).to_list())
    ids |= set(ref["Số CMND cũ"].drop_nulls().cast(pl.Utf8).to_list())
    dates = set()
    for d in ref["Ngày sinh"].drop_nulls().to_list():
        m = re.fullmatch(r"(\d{2})/(\d{2})/(\d{4})", d)
        if m and int(m.group(3)) < 2020:
            dates |= {d, f"{m.group(3)}-{m.group(2)}-{m.group(1)}"}
    return names, ids, dates


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    base = tmp_path_factory.mktemp("pii")
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler = Keep(level=logging.DEBUG)
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        summary = pipeline.reconcile(
            pipeline.RunConfig(
                reference=SAMPLE / MANIFEST["reference"],
                extracts=[pipeline.ExtractInput(s, SAMPLE / f) for s, f in MANIFEST["extracts"].items()],
                out_dir=base / "out",
                db_path=base / "db" / "doisoat.duckdb",
            )
        )
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
    log_text = "\n".join(r.getMessage() for r in records)
    return summary, log_text, base


def _leaks(text: str, personal) -> list[str]:
    names, ids, dates = personal
    found = [f"name {n[:1]}…" for n in names if n in text]
    digits = set(re.findall(r"(?<!\d)\d{9,12}(?!\d)", text))
    found += [f"id …{i[-4:]}" for i in ids & digits]
    found += [f"date {d[:4]}…" for d in dates if d in text]
    return found


def test_report_docs_manifest_and_log_hold_no_name_id_or_birth_date(run, personal):
    summary, log_text, _ = run
    assert summary.published
    checked = 0
    for path in sorted(summary.out_dir.rglob("*")):
        rel = str(path.relative_to(summary.out_dir))
        if not path.is_file() or rel.startswith(BY_DESIGN) or rel.startswith("worklists/"):
            continue
        if path.suffix in (".woff2", ".png", ".ico", ".svg", ".js", ".css"):
            continue  # bundled assets of the Data Docs
        assert _leaks(_texts(path), personal) == [], rel
        checked += 1
    assert checked >= 5  # report (HTML, XLSX), manifest, gate.txt, Data Docs pages
    assert log_text and _leaks(log_text, personal) == []
    assert _leaks(summary.gate_summary + "\n".join(summary.file_messages), personal) == []


def test_worklists_show_names_to_stewards_but_never_a_whole_id(run, personal):
    summary, _, _ = run
    _, ids, _ = personal
    books = list((summary.out_dir / "worklists").glob("*.xlsx"))
    assert books
    for book in books:
        text = _texts(book)
        digits = set(re.findall(r"(?<!\d)\d{9,12}(?!\d)", text))
        assert not ids & digits, book.name
    assert "********" in _texts(summary.out_dir / "worklists" / "tong-hop.xlsx")


def test_the_database_its_folder_and_prefects_home_are_owner_only(run, tmp_path, monkeypatch):
    _, _, base = run
    db = base / "db" / "doisoat.duckdb"
    assert db.stat().st_mode & 0o077 == 0 and db.parent.stat().st_mode & 0o077 == 0
    prefect_home = tmp_path / "home" / "prefect"
    monkeypatch.setenv("PREFECT_HOME", str(prefect_home))  # restored after the test
    settings.configure_prefect_env()
    assert prefect_home.is_dir() and prefect_home.stat().st_mode & 0o077 == 0
