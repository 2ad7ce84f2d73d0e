"""The HTML report opens in headless Chromium with no console errors and no network requests.

Driven through Chromium's command line (no extra Python package): ``--dump-dom`` with
``--enable-logging=stderr --v=0`` prints every console message as a ``CONSOLE`` log line, and the page's
Content-Security-Policy (``default-src 'none'``) turns any attempted request into such a message.
A negative control proves the check catches an external image. Skips without Chromium unless
``DOISOAT_REQUIRE_BROWSER=1``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import polars as pl
import pytest

from doisoat.report import build_report, write_html

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--enable-logging=stderr",
    "--v=0",
]


@pytest.fixture
def chromium() -> str:
    if CHROMIUM is None:
        if os.environ.get("DOISOAT_REQUIRE_BROWSER") == "1":
            pytest.fail("Chromium is required (DOISOAT_REQUIRE_BROWSER=1) but /usr/bin/chromium is absent")
        pytest.skip("Chromium not installed")
    return CHROMIUM


def run_chromium(binary: str, page: Path, tmp_path: Path, *extra: str) -> subprocess.CompletedProcess:
    profile = tmp_path / f"profile-{len(list(tmp_path.glob('profile-*')))}"
    return subprocess.run(
        [binary, *FLAGS, f"--user-data-dir={profile}", *extra, page.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )


def console_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if ":CONSOLE" in line]


def sample_results() -> pl.DataFrame:
    n = 60
    return pl.DataFrame(
        {
            "rid": list(range(n)),
            "sector": ["bhxh"] * 30 + ["ho_tich"] * 30,
            "status": ["matched"] * 50 + ["unmatched"] * 10,
            "person_id": [f"p{i}" for i in range(50)] + [None] * 10,
            "dung": [i % 7 != 0 for i in range(50)] + [False] * 10,
            "du": [True] * n,
            "sach": [i % 5 != 0 for i in range(n)],
            "song": [True] * n,
            "reasons": [["NOT_IN_REFERENCE"] if i >= 50 else [] for i in range(n)],
            "commune_code_std": [["20194", "20197", "20200"][i % 3] for i in range(n)],
            "commune_code_old": [None] * n,
            "event_type": [None] * 30 + [["khai_sinh", "khai_tu"][i % 2] for i in range(30)],
        },
        schema_overrides={"commune_code_old": pl.Utf8},
    )


def test_html_report_renders_without_console_errors_or_requests(chromium, tmp_path):
    report = build_report(
        sample_results(), None, {"bhxh": "Bảo hiểm xã hội", "ho_tich": "Hộ tịch"}, {"run_id": "t"}
    )
    page = write_html(report, tmp_path / "bao-cao.html", data_docs_href="../data_docs/index.html")
    dom = run_chromium(chromium, page, tmp_path, "--dump-dom")
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert console_lines(dom.stderr) == []
    assert "Câu sẵn để trích dẫn vào báo cáo" in dom.stdout
    assert dom.stdout.count("<svg") == 2 + 2  # four-dimension chart per sector, lowest communes per sector

    shot = tmp_path / "bao-cao.png"
    run = run_chromium(chromium, page, tmp_path, "--window-size=1280,2000", f"--screenshot={shot}")
    assert run.returncode == 0, run.stderr[-2000:]
    assert console_lines(run.stderr) == []
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000


def test_check_catches_a_page_that_tries_to_load_something(chromium, tmp_path):
    report = build_report(sample_results(), None, {}, {})
    page = write_html(report, tmp_path / "bad.html")
    text = page.read_text(encoding="utf-8").replace("</body>", '<img src="http://198.51.100.7/x.png"></body>')
    page.write_text(text, encoding="utf-8")
    dom = run_chromium(chromium, page, tmp_path, "--dump-dom")
    lines = console_lines(dom.stderr)
    assert len(lines) == 1 and "Content Security Policy" in lines[0]
