"""The HTML report opens in headless Chromium with no console errors and no network requests.

Driven through Chromium's command line (no extra Python package): ``--dump-dom`` with
``--enable-logging=stderr --v=0`` prints every console message as a ``CONSOLE`` log line, and the page's
Content-Security-Policy (``default-src 'none'``) turns any attempted request into such a message.
A negative control proves the check catches an external image. Skips without Chromium unless
``DOISOAT_REQUIRE_BROWSER=1``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import polars as pl
import pytest
from unidecode import unidecode

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


# --- driven over the DevTools protocol: layout at a width, print media, PDF ----------------------------------


class DevTools:
    """Headless Chromium over the DevTools protocol, with the ``websockets`` client Prefect already brings.

    ``--remote-debugging-port=0`` lets Chromium pick a free port, written to ``DevToolsActivePort`` in the
    profile. One page target, attached in flat mode; ``page(method, **params)`` sends to it.
    """

    def __init__(self, binary: str, profile: Path, *flags: str) -> None:
        import itertools
        import time

        from websockets.sync.client import connect

        self._log = open(f"{profile}.log", "w")  # noqa: SIM115 (closed in close())
        self.proc = subprocess.Popen(
            [
                binary,
                *FLAGS,
                "--remote-debugging-port=0",
                f"--user-data-dir={profile}",
                *flags,
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=self._log,
        )
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 60
        while not (port_file.exists() and len(port_file.read_text().split()) == 2):
            if time.monotonic() > deadline or self.proc.poll() is not None:
                self.close()
                raise RuntimeError("Chromium did not open its DevTools port")
            time.sleep(0.1)
        port, path = port_file.read_text().split()
        self.ws = connect(f"ws://127.0.0.1:{port}{path}", max_size=None, open_timeout=30)
        self.ids = itertools.count(1)
        self.events: list[dict] = []
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        self.page("Page.enable")
        self.page("Runtime.enable")
        self.page("Log.enable")  # CSP violations and failed requests arrive as Log.entryAdded

    def call(self, method: str, session: str | None = None, **params) -> dict:
        import json

        i = next(self.ids)
        message = {"id": i, "method": method, "params": params} | ({"sessionId": session} if session else {})
        self.ws.send(json.dumps(message))
        while True:
            reply = json.loads(self.ws.recv(timeout=120))
            if reply.get("id") == i:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply["result"]
            self.events.append(reply)

    def page(self, method: str, **params) -> dict:
        return self.call(method, session=self.session, **params)

    def wait_for(self, event: str) -> dict:
        import json

        for k, e in enumerate(self.events):
            if e.get("method") == event:
                return self.events.pop(k)
        while True:
            reply = json.loads(self.ws.recv(timeout=120))
            if reply.get("method") == event:
                return reply
            self.events.append(reply)

    def open(self, url: str) -> None:
        self.page("Page.navigate", url=url)
        self.wait_for("Page.loadEventFired")

    def js(self, expression: str):
        result = self.page("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise RuntimeError(result["exceptionDetails"])
        return result["result"].get("value")

    def viewport(self, width: int, height: int = 900, media: str = "") -> None:
        self.page(
            "Emulation.setDeviceMetricsOverride",
            width=width,
            height=height,
            deviceScaleFactor=1,
            mobile=width < 500,
        )
        self.page("Emulation.setEmulatedMedia", media=media)

    def screenshot(self, path: Path) -> Path:
        import base64

        path.write_bytes(base64.b64decode(self.page("Page.captureScreenshot", format="png")["data"]))
        return path

    def pdf(self) -> bytes:
        import base64

        data = self.page("Page.printToPDF", preferCSSPageSize=True, printBackground=True)["data"]
        return base64.b64decode(data)

    def console_messages(self) -> list[dict]:
        return [e for e in self.events if e.get("method") in ("Runtime.consoleAPICalled", "Log.entryAdded")]

    def close(self) -> None:
        try:
            if getattr(self, "ws", None):
                self.ws.close()
        finally:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
            self._log.close()


@pytest.fixture
def devtools(chromium, tmp_path):
    browser = DevTools(chromium, tmp_path / "devtools-profile")
    yield browser
    browser.close()


def province_results(n_communes: int = 160, per_commune: int = 12) -> pl.DataFrame:
    """A province-sized units table: real current commune codes, three sectors, rates that differ."""
    from doisoat.report.aggregate import units_table

    codes = units_table("new")["ward_code"].head(n_communes).to_list()
    rows = []
    for k, code in enumerate(codes):
        for j in range(per_commune):
            i = k * per_commune + j
            ok = (i * 7) % 10 < 9 - k % 3
            rows.append(
                {
                    "rid": i,
                    "sector": ("bhxh", "ho_tich", "tiem_chung")[i % 3],
                    "source_file": "x.csv",
                    "status": "matched",
                    "person_id": f"p{i}",
                    "dung": ok,
                    "du": True,
                    "sach": i % 11 != 0,
                    "song": True,
                    "reasons": [],
                    "commune_code_std": code,
                    "commune_code_old": None,
                    "event_type": "khai_sinh" if i % 3 == 1 else None,
                }
            )
    return pl.DataFrame(rows, schema_overrides={"commune_code_old": pl.Utf8, "event_type": pl.Utf8})


SECTORS = {"bhxh": "Bảo hiểm xã hội", "ho_tich": "Hộ tịch", "tiem_chung": "Tiêm chủng"}
RUN_INFO = {"run_id": "20261204T013000-abc123", "started_at": "2026-12-04T01:30:00"}
# A4 content widths at 96 px per inch (the page margins of html._CSS): landscape 297 − 27 mm, portrait 210 − 40 mm
LANDSCAPE_PX = (297 - 27) / 25.4 * 96
PORTRAIT_PX = (210 - 40) / 25.4 * 96


@pytest.fixture
def province_page(tmp_path) -> tuple[Path, int]:
    report = build_report(province_results(), None, SECTORS, RUN_INFO, suppress_below=5)
    units = next(t for t in report.tables if t.key == "units")
    return write_html(report, tmp_path / "bao-cao.html"), len(units.rows)


def test_report_has_no_sideways_scroll_at_desktop_and_phone_width(devtools, province_page, tmp_path):
    page, _ = province_page
    devtools.open(page.as_uri())
    for width in (1280, 390):
        devtools.viewport(width)
        scroll, inner = devtools.js("[document.documentElement.scrollWidth, innerWidth]")
        assert scroll <= inner, (width, scroll, inner)
        shot = devtools.screenshot(tmp_path / f"bao-cao-{width}.png")
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000
    # the heading stacks on a phone: the motto is under the issuing body, not beside it
    issuer, nation = devtools.js(
        "[...document.querySelectorAll('.doc-head>div')].map(d => d.getBoundingClientRect().top)"
    )
    assert nation > issuer
    assert devtools.console_messages() == []


def test_printed_report_shows_every_unit_row_on_a4_with_wide_tables_on_landscape(devtools, province_page):
    page, n_units = province_page
    assert n_units > 400
    devtools.open(page.as_uri())
    devtools.viewport(round(LANDSCAPE_PX), 700, media="print")
    rendered = devtools.js(
        """(() => {
          const rows = [...document.querySelectorAll('#units tbody tr')];
          const shown = rows.filter(r => r.getBoundingClientRect().height > 0);
          // no ancestor may clip the table (a scroll box prints only what it shows)
          let clipped = false;
          for (let e = document.querySelector('#units table').parentElement; e; e = e.parentElement) {
            const s = getComputedStyle(e);
            if (s.maxHeight !== 'none' || (s.overflowY !== 'visible' && e.scrollHeight > e.clientHeight)) clipped = true;
          }
          const wide = [...document.querySelectorAll('section.wide table')].map(t => t.getBoundingClientRect().width);
          const repeated = getComputedStyle(document.querySelector('#units thead')).display;
          const page = getComputedStyle(document.querySelector('#units')).page;
          return {rows: rows.length, shown: shown.length, clipped, wide, repeated, page};
        })()"""
    )
    assert rendered["rows"] == n_units and rendered["shown"] == n_units and not rendered["clipped"]
    assert rendered["repeated"] == "table-header-group" and rendered["page"] == "wide"
    assert rendered["wide"] and max(rendered["wide"]) <= LANDSCAPE_PX, rendered["wide"]
    devtools.viewport(round(PORTRAIT_PX), 700, media="print")
    narrow = devtools.js(
        """[...document.querySelectorAll('section:not(.wide):not(#xa) table')]
           .map(t => [t.closest('section').id, t.getBoundingClientRect().width])"""
    )
    assert all(w <= PORTRAIT_PX for _, w in narrow), narrow
    # the closed per-commune index is not printed twice (the units table has every row)
    assert devtools.js("getComputedStyle(document.querySelector('#xa')).display") == "none"

    pdf = devtools.pdf()
    assert pdf.startswith(b"%PDF")
    boxes = re.findall(rb"/MediaBox \[0 0 ([0-9.]+) ([0-9.]+)\]", pdf)
    portrait = [b for b in boxes if float(b[0]) < float(b[1])]
    landscape = [b for b in boxes if float(b[0]) > float(b[1])]
    assert portrait and landscape  # the heading and sentences upright, the wide tables across
    assert all(round(float(min(b))) == 595 and round(float(max(b))) == 842 for b in boxes)  # A4 in points
    assert len(landscape) >= n_units // 60  # rows go on as many pages as they need


def test_commune_officer_finds_their_commune_typing_without_diacritics(devtools, province_page):
    page, _ = province_page
    devtools.open(page.as_uri())
    devtools.viewport(390)
    assert devtools.js("document.getElementById('q-xa-box').hidden") is False  # the script ran under the CSP
    name, code = devtools.js(
        "(() => { const d = document.querySelector('#xa details'); return [d.querySelector('b').textContent, d.id]; })()"
    )
    typed = unidecode(name.split(" ", 1)[1]).lower()  # "Phường Ba Đình" → "ba dinh"
    shown = devtools.js(
        f"""(() => {{ const q = document.getElementById('q-xa'); q.value = {typed!r};
          q.dispatchEvent(new Event('input'));
          return [...document.querySelectorAll('#xa details')].filter(d => !d.hidden).map(d => [d.id, d.open]); }})()"""
    )
    assert [code, True] in shown and len(shown) < 10
    # a link to a commune opens it, and printing then prints that commune
    devtools.js(
        "document.getElementById('q-xa').value=''; document.getElementById('q-xa').dispatchEvent(new Event('input'))"
    )
    other = devtools.js("document.querySelectorAll('#xa details')[5].id")
    devtools.js(f"location.hash = '#{other}'")
    devtools.js("new Promise(r => setTimeout(r, 100))")
    assert devtools.js(f"document.getElementById('{other}').open") is True
    devtools.viewport(round(PORTRAIT_PX), 700, media="print")
    assert devtools.js("getComputedStyle(document.querySelector('#xa')).display") != "none"
    printed = devtools.js(
        "[...document.querySelectorAll('#xa details')].filter(d => getComputedStyle(d).display !== 'none').map(d => d.id)"
    )
    assert other in printed and len(printed) <= 2


def test_commune_heat_table_fits_a_phone_and_prints_every_commune_in_colour(devtools, province_page):
    """The heat table of communes × đúng, đủ, sạch, sống: no sideways scroll inside its box at 390 px, every
    commune row printed (nothing clips it) in the band colours of its legend, on A4 portrait pages."""
    page, _ = province_page
    n_communes = province_results()["commune_code_std"].n_unique()
    devtools.open(page.as_uri())
    devtools.viewport(390)
    fit = devtools.js(
        """(() => { const box = document.querySelector('#heat .tw'), t = box.querySelector('table');
          return [box.scrollWidth, box.clientWidth, t.getBoundingClientRect().right, innerWidth,
                  document.querySelectorAll('#heat .legend .sw').length]; })()"""
    )
    assert fit[0] <= fit[1] and fit[2] <= fit[3] and fit[4] == 4, fit  # 3 bands and "hidden"
    devtools.viewport(round(PORTRAIT_PX), 700, media="print")
    printed = devtools.js(
        """(() => {
          const rows = [...document.querySelectorAll('#heat tbody tr')];
          let clipped = false;
          for (let e = document.querySelector('#heat table').parentElement; e; e = e.parentElement) {
            const s = getComputedStyle(e);
            if (s.maxHeight !== 'none' || (s.overflowY !== 'visible' && e.scrollHeight > e.clientHeight)) clipped = true;
          }
          const fills = new Set([...document.querySelectorAll('#heat td[class*=band-]')]
            .map(td => getComputedStyle(td).backgroundColor));
          return {rows: rows.length, shown: rows.filter(r => r.getBoundingClientRect().height > 0).length,
                  clipped, fills: [...fills], width: document.querySelector('#heat table').getBoundingClientRect().width,
                  exact: getComputedStyle(document.querySelector('#heat td[class*=band-]')).printColorAdjust,
                  page: getComputedStyle(document.querySelector('#heat')).page,
                  height: document.querySelector('#heat').getBoundingClientRect().height};
        })()"""
    )
    assert printed["rows"] == n_communes == printed["shown"] and not printed["clipped"], printed
    assert printed["width"] <= PORTRAIT_PX and printed["page"] != "wide"
    assert printed["exact"] == "exact" and len(printed["fills"]) >= 2  # colours kept on paper, more than one
    # the heat table alone, printed: as many A4 portrait pages as its rows need
    devtools.js(
        "document.querySelectorAll('body > *:not(#heat):not(script)').forEach(e => e.style.display = 'none')"
    )
    pdf = devtools.pdf()
    boxes = re.findall(rb"/MediaBox \[0 0 ([0-9.]+) ([0-9.]+)\]", pdf)
    assert boxes and all(float(w) < float(h) for w, h in boxes)  # portrait
    content_px = (297 - 40) / 25.4 * 96  # A4 height less the top and bottom margins
    assert len(boxes) >= int(printed["height"] // content_px)


# --- Data Docs offline ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def data_docs(tmp_path_factory) -> Path:
    """A real gate run's Data Docs site (GX builds it, checks.offline_docs bundles its assets)."""
    from test_checks import SETTINGS, _clean

    from checks import run_gate

    extracts, results = _clean()
    docs = tmp_path_factory.mktemp("gate") / "data_docs"
    return run_gate(extracts, results, None, None, docs, SETTINGS).docs_index


def test_data_docs_pages_name_no_external_asset(data_docs):
    from checks.offline_docs import _EXTERNAL_LOAD

    pages = list(data_docs.parent.rglob("*.html"))
    assert len(pages) > 3
    for page in pages:
        text = page.read_text(encoding="utf-8")
        assert _EXTERNAL_LOAD.findall(text) == [], page.name
        assert "integrity=" not in text and "Stay current on everything GX" not in text
    styles = "".join(p.read_text(encoding="utf-8") for p in data_docs.parent.glob("static/styles/*.css"))
    assert "amazonaws" not in styles
    vendor = data_docs.parent / "static" / "vendor"
    assert (vendor / "jquery@3.7.1" / "LICENSE.txt").exists()
    assert not (vendor / "vega@5.33.1").exists()  # no page draws a chart: no 0,8 MB of chart scripts


def test_data_docs_render_styled_with_full_lists_with_the_network_off(chromium, data_docs, tmp_path):
    browser = DevTools(chromium, tmp_path / "offline-profile", "--host-resolver-rules=MAP * ~NOTFOUND")
    try:
        browser.page("Network.enable")
        browser.page(
            "Network.emulateNetworkConditions",
            offline=True,
            latency=0,
            downloadThroughput=-1,
            uploadThroughput=-1,
        )
        browser.viewport(1280, 1000)
        site = data_docs.parent
        pages = [data_docs, next(site.glob("expectations/*.html")), next(site.glob("validations/**/*.html"))]
        for page in pages:
            browser.open(page.as_uri())
            browser.js("new Promise(r => setTimeout(r, 300))")
            state = browser.js(
                """(() => ({
                  font: getComputedStyle(document.body).fontFamily,
                  table: typeof jQuery !== 'undefined' && !!jQuery.fn.bootstrapTable,
                  rows: [...document.querySelectorAll('table tbody tr')]
                          .filter(r => !r.classList.contains('no-records-found') && r.offsetHeight > 0).length,
                  icons: document.fonts.check('900 16px "Font Awesome 6 Free"'),
                  title: document.title}))()"""
            )
            assert state["font"].startswith("-apple-system"), (
                page.name,
                state,
            )  # Bootstrap's stylesheet applied
            assert state["table"] and state["rows"] > 0 and state["icons"], (page.name, state)
            assert state["title"] == "Kết quả kiểm tra chất lượng dữ liệu (Great Expectations)"
            if page == data_docs:  # the index's tables speak Vietnamese (bootstrap-table's vi-VN locale)
                words = browser.js("document.querySelector('.search input').placeholder")
                assert words == "Tìm kiếm"
        shot = browser.screenshot(tmp_path / "data-docs.png")
        assert shot.stat().st_size > 10_000
        requested = {
            e["params"]["requestId"]: e["params"]["request"]["url"]
            for e in browser.events
            if e.get("method") == "Network.requestWillBeSent"
        }
        assert [u for u in requested.values() if not u.startswith(("file:", "data:"))] == []
        failed = [
            requested.get(e["params"]["requestId"], "")
            for e in browser.events
            if e.get("method") == "Network.loadingFailed"
        ]
        # GX links validation pages to a favicon one folder too shallow; nothing else may fail
        assert [u for u in failed if not u.endswith("favicon.ico")] == []
    finally:
        browser.close()
