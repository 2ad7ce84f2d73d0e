"""Large XLSX sheets fast: xlsxwriter lays out the workbook, polars writes the data rows' XML.

xlsxwriter writes each cell from Python (about 10 µs a cell here: 5 minutes for a province's worklists).
Here xlsxwriter builds the workbook with the header rows, formats, drop-downs, frozen panes, filters and
widths; the data rows are then generated as sheet XML by polars expressions over whole columns, a chunk of
rows at a time, and streamed into the sheet in place of the skeleton's empty body. Cells are inline strings
(as xlsxwriter's ``constant_memory`` mode writes them), numbers or booleans; text is never a formula, and
every text cell and header that a spreadsheet would turn into one when edited, pasted or saved as CSV gets a
leading apostrophe (:func:`doisoat.textfmt.safe_cell_expr`), so no writer on top can forget it.
"""

from __future__ import annotations

import io
import os
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
import xlsxwriter
from xlsxwriter.utility import xl_col_to_name

from doisoat.textfmt import FORMULA_PATTERN, safe_cell, safe_cell_expr

MAX_ROWS = 1_048_576  # rows in an XLSX sheet, header included
MAX_TEXT = 32_767  # characters in a cell
CHUNK_ROWS = 50_000
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_MARKUP = r"[&<>]|_x[0-9A-Fa-f]{4}_"
_PROBE = "__probe__"


@dataclass
class Sheet:
    """One sheet: a header row, then ``rows`` (columns in sheet order) and optional text ``footer`` lines.

    ``styles``: a frame aligned with ``rows``; its column ``c`` names the format (or null) of each cell of
    ``rows[c]``. An empty cell with a format is written as a blank cell with that format.
    ``setup(ws, n_rows, formats)``: widths, frozen panes, filters, drop-downs, conditional formats, protection
    (xlsxwriter calls, no cells); ``formats`` maps the workbook's format names to xlsxwriter formats.
    ``empty_as_blank``: write "" as a blank cell rather than an empty text cell.
    """

    name: str
    headers: list[str]
    rows: pl.DataFrame
    styles: pl.DataFrame | None = None
    setup: Callable[[object, int, dict[str, object]], None] | None = None
    footer: list[str] = field(default_factory=list)
    empty_as_blank: bool = False
    # aligned with ``rows``: column ``c`` holds a link target (a relative path, our own text) for the cells of
    # ``rows[c]``; such a cell is a HYPERLINK formula showing the cell's text
    links: pl.DataFrame | None = None


def _xml_text(e: pl.Expr, markup: bool = True, controls: bool = True) -> pl.Expr:
    """Text escaped for an XML text node; control characters and a literal ``_xHHHH_`` as Excel escapes them.

    ``markup``/``controls`` False skip the passes a column is known not to need (most columns need none).
    """
    e = e.str.slice(0, MAX_TEXT)
    if markup:
        e = e.str.replace_all("&", "&amp;", literal=True)
        e = e.str.replace_all("<", "&lt;", literal=True).str.replace_all(">", "&gt;", literal=True)
        e = e.str.replace_all(r"_(x[0-9A-Fa-f]{4}_)", "_x005F_$1")
    if controls:
        for code in [*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20)]:
            e = e.str.replace_all(chr(code), f"_x{code:04X}_", literal=True)
    return e


def _link_cell(ref: list[pl.Expr], attr: pl.Expr, target: pl.Expr, text: pl.Expr) -> pl.Expr:
    """``<c t="str"><f>HYPERLINK("target","text")</f><v>text</v></c>``: null where the target is null."""

    def quoted(e: pl.Expr) -> pl.Expr:
        return _xml_text(e.str.replace_all('"', '""', literal=True))

    return pl.when(target.is_not_null()).then(
        pl.concat_str(
            *ref,
            attr,
            pl.lit(' t="str"><f>HYPERLINK(&quot;'),
            quoted(target).str.replace_all('"', "&quot;", literal=True),
            pl.lit("&quot;,&quot;"),
            quoted(text).str.replace_all('"', "&quot;", literal=True),
            pl.lit("&quot;)</f><v>"),
            _xml_text(text),
            pl.lit("</v></c>"),
        )
    )


def _cell_exprs(
    rows: pl.DataFrame,
    columns: list[str],
    row_no: pl.Expr,
    styles: dict[str, pl.Expr],
    empty_as_blank: bool,
    links: dict[str, pl.Expr] | None = None,
) -> list[pl.Expr]:
    """One expression per column: that column's ``<c>`` element per row, null for an empty cell."""
    cells = []
    texts = [c for c in columns if rows.schema[c] == pl.Utf8]
    found = (
        rows.select(
            *[pl.col(c).str.contains(_CONTROL.pattern).any().alias(f"c{i}") for i, c in enumerate(texts)],
            *[pl.col(c).str.contains(_MARKUP).any().alias(f"m{i}") for i, c in enumerate(texts)],
            *[pl.col(c).str.contains(FORMULA_PATTERN).any().alias(f"f{i}") for i, c in enumerate(texts)],
        ).row(0, named=True)
        if texts
        else {}
    )
    controls = {c for i, c in enumerate(texts) if found[f"c{i}"]}
    markup = {c for i, c in enumerate(texts) if found[f"m{i}"]}
    formulas = {c for i, c in enumerate(texts) if found[f"f{i}"]}
    for j, name in enumerate(columns):
        col, dtype = pl.col(name), rows.schema[name]
        ref = [pl.lit(f'<c r="{xl_col_to_name(j)}'), row_no, pl.lit('"')]
        style = styles.get(name)
        attr = (
            pl.concat_str(pl.lit(' s="'), style, pl.lit('"')).fill_null("")
            if style is not None
            else pl.lit("")
        )
        if dtype == pl.Boolean:
            value = pl.when(col).then(pl.lit("1")).otherwise(pl.lit("0"))
            cell = pl.concat_str(*ref, attr, pl.lit(' t="b"><v>'), value, pl.lit("</v></c>"))
        elif dtype.is_numeric():
            value = col.cast(pl.Float64).is_finite()
            text = pl.when(value).then(col.cast(pl.Utf8))
            if dtype.is_float():  # 1.0 → "1", as xlsxwriter writes it
                text = text.str.strip_suffix(".0")
            cell = pl.concat_str(*ref, attr, pl.lit("><v>"), text, pl.lit("</v></c>"))
        else:
            text = col.cast(pl.Utf8)
            if name in formulas or name not in texts:  # (a column cast to text is not pre-scanned)
                text = safe_cell_expr(text)
            if empty_as_blank:
                text = pl.when(text != "").then(text)
            escaped = _xml_text(text, name in markup, name in controls)
            cell = pl.concat_str(
                *ref,
                attr,
                pl.lit(' t="inlineStr"><is><t xml:space="preserve">'),
                escaped,
                pl.lit("</t></is></c>"),
            )
            if links and name in links:
                cell = pl.coalesce(_link_cell(ref, attr, links[name], col.cast(pl.Utf8)), cell)
        if style is not None:  # an empty cell with a format (an unlocked input cell) is kept, blank
            blank = pl.concat_str(*ref, pl.lit(' s="'), style, pl.lit('"/>'))
            cell = pl.when(cell.is_null() & style.is_not_null()).then(blank).otherwise(cell)
        cells.append(cell)
    return cells


def _rows_xml(sheet: Sheet, xf: dict[str, int]) -> list[bytes]:
    """The sheet's data and footer rows as XML, in chunks."""
    columns = sheet.rows.columns
    styled = sheet.styles.columns if sheet.styles is not None else []
    styles = {
        c: pl.col(f"__style_{c}").replace_strict(xf, default=None, return_dtype=pl.Utf8) for c in styled
    }
    linked = sheet.links.columns if sheet.links is not None else []
    links = {c: pl.col(f"__link_{c}") for c in linked}
    out = []
    for offset in range(0, sheet.rows.height, CHUNK_ROWS):
        chunk = sheet.rows.slice(offset, CHUNK_ROWS)
        if styled:
            chunk = chunk.with_columns(
                [s.slice(offset, CHUNK_ROWS).alias(f"__style_{s.name}") for s in sheet.styles.iter_columns()]
            )
        if linked:
            chunk = chunk.with_columns(
                [s.slice(offset, CHUNK_ROWS).alias(f"__link_{s.name}") for s in sheet.links.iter_columns()]
            )
        row_no = (pl.int_range(pl.len(), dtype=pl.Int64) + offset + 2).cast(pl.Utf8)
        cells = _cell_exprs(chunk, columns, row_no, styles, sheet.empty_as_blank, links)
        row = pl.concat_str(
            pl.lit('<row r="'), row_no, pl.lit('">'), *cells, pl.lit("</row>"), ignore_nulls=True
        )
        # each row's XML written back to back as bytes (joining into one Python string and encoding it took
        # twice as long as building the rows)
        buf = io.BytesIO()
        chunk.select(row).write_csv(buf, include_header=False, quote_style="never", line_terminator="")
        out.append(buf.getvalue())
    first = sheet.rows.height + 3
    for i, line in enumerate(sheet.footer):
        text = pl.select(_xml_text(pl.lit(safe_cell(line)))).item()
        out.append(
            f'<row r="{first + i}"><c r="A{first + i}" t="inlineStr"><is><t xml:space="preserve">{text}'
            f"</t></is></c></row>".encode()
        )
    return out


def write_workbook(
    path: Path, sheets: list[Sheet], formats: dict[str, dict], header_format: dict, mode: int = 0o600
) -> Path:
    """Write ``sheets`` to ``path`` (created with ``mode``); ``formats``: name → xlsxwriter format properties."""
    for s in sheets:
        if s.rows.height + len(s.footer) + (2 if s.footer else 0) >= MAX_ROWS:
            raise ValueError(f"sheet {s.name!r}: {s.rows.height} rows do not fit in one XLSX sheet")
    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(
        buf,
        {
            "strings_to_formulas": False,
            "strings_to_urls": False,
            "strings_to_numbers": False,
            "in_memory": True,
        },
    )
    fmts = {name: wb.add_format(props) for name, props in formats.items()}
    head = wb.add_format(header_format)
    for i, s in enumerate(sheets):
        ws = wb.add_worksheet(s.name)
        for c, h in enumerate(s.headers):
            ws.write_string(0, c, safe_cell(h), head)
        if i == 0:  # one cell per format gives each its index; the skeleton's body is replaced below
            for c, f in enumerate(fmts.values()):
                ws.write_string(1, c, _PROBE, f)
        if s.setup is not None:
            s.setup(ws, s.rows.height, fmts)
    wb.close()
    xf = {name: str(f.xf_index) for name, f in fmts.items() if f.xf_index is not None}
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    os.fchmod(fd, mode)
    with (
        zipfile.ZipFile(io.BytesIO(buf.getvalue())) as skel,
        os.fdopen(fd, "wb") as fh,
        zipfile.ZipFile(fh, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as out,
    ):
        for info in skel.infolist():
            data = skel.read(info.filename)
            m = re.fullmatch(r"xl/worksheets/sheet(\d+)\.xml", info.filename)
            if not m:
                out.writestr(info.filename, data)
                continue
            sheet = sheets[int(m.group(1)) - 1]
            xml = data.decode("utf-8")
            head_end = xml.index("</row>", xml.index("<sheetData>")) + len("</row>")
            body_end = xml.index("</sheetData>")
            last = sheet.rows.height + 1 + (len(sheet.footer) + 1 if sheet.footer else 0)
            width = max(len(sheet.headers), 1)
            prefix = re.sub(
                r'<dimension ref="[^"]*"/>',
                f'<dimension ref="A1:{xl_col_to_name(width - 1)}{last}"/>',
                xml[:head_end],
                count=1,
            )
            big = sheet.rows.height > 400_000  # the part may pass 2 GiB: zip64 headers
            with out.open(info.filename, "w", force_zip64=big) as dest:
                dest.write(prefix.encode("utf-8"))
                for part in _rows_xml(sheet, xf):
                    dest.write(part)
                dest.write(xml[body_end:].encode("utf-8"))
    return path
