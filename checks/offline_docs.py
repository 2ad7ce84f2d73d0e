"""Data Docs that work offline: the CDN assets GX's pages load, bundled and linked by relative paths.

Great Expectations' Data Docs pages load Bootstrap, jQuery, bootstrap-table, Font Awesome and Vega from public
CDNs and its logo from a web bucket; on an intranet without internet access the pages render unstyled and the
index lists stay empty. :func:`make_offline` runs once after ``context.build_data_docs``: it copies the bundled
files (``checks/docs_assets/``, see its README for versions and licences) that the site uses into
``static/vendor/``, rewrites every page's links to relative paths, points the logo at the copy GX ships in
``static/images/``, and gives the pages Vietnamese titles. Vega (0,8 MB) is copied and linked only when a page
draws a chart. No GX import: this is text work on the built files.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

ASSETS = Path(__file__).with_name("docs_assets")
VENDOR = Path("static") / "vendor"

# GX 1.24's Data Docs templates: CDN address → bundled file (relative to docs_assets/)
CDN = {
    "https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/bootstrap.min.css": "bootstrap@4.3.1/dist/css/bootstrap.min.css",
    "https://stackpath.bootstrapcdn.com/bootstrap/4.3.1/js/bootstrap.min.js": "bootstrap@4.3.1/dist/js/bootstrap.min.js",
    "https://code.jquery.com/jquery-3.7.1.min.js": "jquery@3.7.1/dist/jquery.min.js",
    "https://cdnjs.cloudflare.com/ajax/libs/popper.js/1.12.9/umd/popper.min.js": "popper.js@1.12.9/dist/umd/popper.min.js",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.css": "bootstrap-table@1.19.1/dist/bootstrap-table.min.css",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.js": "bootstrap-table@1.19.1/dist/bootstrap-table.min.js",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/extensions/filter-control/bootstrap-table-filter-control.min.js": "bootstrap-table@1.19.1/dist/extensions/filter-control/bootstrap-table-filter-control.min.js",
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.css": "bootstrap-table@1.19.1/dist/extensions/filter-control/bootstrap-table-filter-control.min.css",
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.min.css": "bootstrap-table@1.19.1/dist/extensions/filter-control/bootstrap-table-filter-control.min.css",
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/css/bootstrap-datepicker.min.css": "bootstrap-datepicker@1.9.0/dist/css/bootstrap-datepicker.min.css",
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/js/bootstrap-datepicker.min.js": "bootstrap-datepicker@1.9.0/dist/js/bootstrap-datepicker.min.js",
    "https://cdnjs.cloudflare.com/ajax/libs/font-awesome/6.6.0/css/all.min.css": "fontawesome-free@6.6.0/css/all.min.css",
    "https://cdn.jsdelivr.net/npm/@forevolve/bootstrap-dark@1.1.0/dist/css/bootstrap-prefers-dark.css": "bootstrap-dark@1.1.0/dist/css/bootstrap-prefers-dark.min.css",
    "https://cdn.jsdelivr.net/npm/vega@5": "vega@5.33.1/build/vega.min.js",
    "https://cdn.jsdelivr.net/npm/vega-lite@5": "vega-lite@5.23.0/build/vega-lite.min.js",
    "https://cdn.jsdelivr.net/npm/vega-embed@6": "vega-embed@6.29.0/build/vega-embed.min.js",
}
# files a bundled stylesheet loads by itself (relative to docs_assets/)
EXTRA = {
    "fontawesome-free@6.6.0/css/all.min.css": [
        f"fontawesome-free@6.6.0/webfonts/fa-{name}.woff2"
        for name in ("brands-400", "regular-400", "solid-900", "v4compatibility")
    ]
}
TABLE_JS = "bootstrap-table@1.19.1/dist/bootstrap-table.min.js"
TABLE_LOCALE = "bootstrap-table@1.19.1/dist/locale/bootstrap-table-vi-VN.min.js"
CHARTS = ("vega@", "vega-lite@", "vega-embed@")
# GX's logo lives in a web bucket; the site has its own copy
LOGO = re.compile(
    r"https://great-expectations-web-assets\.s3\.[a-z0-9-]+\.amazonaws\.com/[a-z_-]+\.png(\?[^\"')\s]*)?"
)
SITE_LOGO = Path("static") / "images" / "logo-long.png"
_ASSET_TAG = re.compile(
    r"<(?:script|link)\b[^>]*?(?:src|href)=\"(https?://[^\"]+)\"[^>]*>(?:\s*</script>)?", re.S
)
_CORS_ATTRS = re.compile(r"\s+(?:integrity|crossorigin)(?:=\"[^\"]*\")?")
_EXTERNAL_LOAD = re.compile(r"<(?:script|link|img)\b[^>]*?(?:src|href)=\"(https?://[^\"]+)\"", re.S)

VI = "Kết quả kiểm tra chất lượng dữ liệu (Great Expectations)"
# the page texts GX's templates write in English that a Vietnamese reader meets first (exact strings)
VIETNAMESE = [
    (
        re.compile(r"<title>Data (?:Docs created|documentation compiled) by Great Expectations</title>"),
        f"<title>{VI}</title>",
    ),
    (re.compile(r">(\s*)Validation Results(\s*)</a>"), r">\1Kết quả kiểm tra\2</a>"),
    (re.compile(r">(\s*)Expectation Suites(\s*)</a>"), r">\1Bộ kiểm tra\2</a>"),
    (re.compile(r">Clear Filters<"), ">Xóa bộ lọc<"),
    (re.compile(r"Data Docs autogenerated using"), "Trang tạo tự động bằng"),
    *[
        (re.compile(f"'title': '{en}'"), f"'title': '{vi}'")
        for en, vi in (
            ("Status", "Kết quả"),
            ("Run Time", "Thời điểm chạy"),
            ("Run Name", "Lượt chạy"),
            ("Asset Name", "Bảng dữ liệu"),
            ("Batch ID", "Lô dữ liệu"),
            ("Expectation Suites?", "Bộ kiểm tra"),
        )
    ],
    # an advertisement pointing at the internet, on an offline intranet
    (re.compile(r"<footer>\s*<p>Stay current on everything GX.*?</footer>", re.S), ""),
]


@dataclass
class OfflineSite:
    """What :func:`make_offline` did: pages rewritten, files copied, addresses it could not replace."""

    pages: int = 0
    copied: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)


def _relative(target: Path, page: Path) -> str:
    return Path(os.path.relpath(target, page.parent)).as_posix()


def _rewrite_page(text: str, page: Path, site: Path, used: set[str], unknown: set[str]) -> str:
    draws_charts = "vegaEmbed(" in text

    def asset(m: re.Match) -> str:
        url = m.group(1)
        local = CDN.get(url)
        if local is None:
            if m.group(0).startswith("<link") and 'rel="stylesheet"' not in m.group(0):
                return m.group(0)  # a link to a page, not a load
            unknown.add(url)
            return m.group(0)
        if local.startswith(CHARTS) and not draws_charts:
            return ""  # nothing on this page is a chart: no 0,8 MB of scripts to load
        used.add(local)
        tag = m.group(0).replace(url, _relative(site / VENDOR / local, page))
        # a CDN tag's integrity/crossorigin make a file:// page fetch in CORS mode, which fails
        tag = _CORS_ATTRS.sub("", tag)
        if local == TABLE_JS:  # the tables' own words ("Tìm kiếm", "Không có dữ liệu") in Vietnamese
            used.add(TABLE_LOCALE)
            tag += f'\n<script src="{_relative(site / VENDOR / TABLE_LOCALE, page)}"></script>'
        return tag

    text = _ASSET_TAG.sub(asset, text)
    text = LOGO.sub(lambda _: _relative(site / SITE_LOGO, page), text)
    for pattern, vietnamese in VIETNAMESE:
        text = pattern.sub(vietnamese, text)
    for url in _EXTERNAL_LOAD.findall(text):
        if url not in CDN:
            unknown.add(url)
    return text


def make_offline(site: Path) -> OfflineSite:
    """Make the built Data Docs site under ``site`` load nothing from outside (idempotent)."""
    site = Path(site)
    out = OfflineSite()
    used: set[str] = set()
    unknown: set[str] = set()
    for page in sorted(site.rglob("*.html")):
        text = page.read_text(encoding="utf-8")
        new = _rewrite_page(text, page, site, used, unknown)
        if new != text:
            page.write_text(new, encoding="utf-8")
        out.pages += 1
    for css in sorted((site / "static" / "styles").glob("*.css")):
        text = css.read_text(encoding="utf-8")
        new = LOGO.sub(lambda _, css=css: _relative(site / SITE_LOGO, css), text)
        if new != text:
            css.write_text(new, encoding="utf-8")
    for local in sorted(used):
        for name in [local, *EXTRA.get(local, [])]:
            dest = site / VENDOR / name
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(ASSETS / name, dest)
            out.copied.append(name)
        licence = next((p for p in (ASSETS / local.split("/", 1)[0]).glob("LICENSE*")), None)
        if licence:
            shutil.copyfile(licence, site / VENDOR / local.split("/", 1)[0] / licence.name)
    out.unknown = sorted(unknown)
    if out.unknown:
        log.warning(
            "Data Docs: %d external assets not bundled (checks/docs_assets/README.md says how to add them): %s",
            len(out.unknown),
            ", ".join(out.unknown),
        )
    return out
