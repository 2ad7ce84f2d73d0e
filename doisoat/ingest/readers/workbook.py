"""XLSX and XLS: XLSX sheets streamed from the sheet XML (parsed a few MB at a time by polars string expressions,
values exactly calamine's), legacy XLS through calamine, encrypted and damaged workbooks named."""

from __future__ import annotations

import datetime as dt
import itertools
import re
import zipfile
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from xml.etree import ElementTree

import polars as pl

from doisoat.ingest.messages import warning
from doisoat.ingest.readers.base import (
    _DATETIME_MIDNIGHT,
    BATCH_ROWS,
    EXTRA,
    HEADER_SCAN_ROWS,
    ISSUES,
    SAMPLE_BYTES,
    IngestError,
    RawTable,
    _blocks,
    _duplicate_notes,
    find_header_block,
    unique_headers,
)

XML_CHUNK_BYTES = 4 << 20
_ENCRYPTED_MARK = "EncryptionInfo".encode("utf-16-le")


def _excel_error(path: Path, exc: Exception) -> IngestError:
    text = str(exc).lower()
    if "password" in text or "encrypt" in text:
        return IngestError(
            f"Tệp {path.name} được bảo vệ bằng mật khẩu; hãy gỡ mật khẩu rồi gửi lại.", "FILE_ENCRYPTED"
        )
    return IngestError(
        f"Tệp {path.name} bị hỏng hoặc không phải tệp Excel hợp lệ (có thể bị cắt cụt khi gửi): "
        "hãy mở bằng Excel, lưu lại rồi gửi lại.",
        "FILE_DAMAGED",
    )


def _is_encrypted_ole(path: Path) -> bool:
    """Password-protected XLSX files are OLE containers holding an ``EncryptionInfo`` stream."""
    size = path.stat().st_size
    with open(path, "rb") as fh:
        data = fh.read(SAMPLE_BYTES)
        if size > SAMPLE_BYTES:
            fh.seek(max(SAMPLE_BYTES, size - SAMPLE_BYTES))
            data += fh.read()
    return _ENCRYPTED_MARK in data


def read_excel(path: Path, sheet: str | None, fmt: str = "xlsx", batch_rows: int = BATCH_ROWS) -> RawTable:
    """First sheet (or the named one); header found below a title block; date cells as ISO dates.

    XLSX is streamed (:class:`_XlsxSheet`); legacy XLS (at most 65 536 rows) is loaded whole by calamine.
    """
    if fmt == "xls" and _is_encrypted_ole(path):
        raise IngestError(
            f"Tệp {path.name} được bảo vệ bằng mật khẩu; hãy gỡ mật khẩu rồi gửi lại.", "FILE_ENCRYPTED"
        )
    resources = ExitStack()
    try:
        source = _XlsxSheet(path, resources) if fmt == "xlsx" else _CalamineSheet(path)
        names = source.sheet_names
        if sheet is not None and sheet not in names:
            raise IngestError(
                f"Tệp {path.name} không có trang tính '{sheet}' (các trang: {', '.join(names)}): hãy sửa tên "
                "trang tính trong cấu hình lĩnh vực (sheet) hoặc trong lệnh chạy cho đúng một trang có trong tệp.",
                "FILE_SHEET_MISSING",
            )
        target = sheet if sheet is not None else names[0]
        table = _sheet_table(path, fmt, source, target, batch_rows, resources)
    except IngestError:
        resources.close()
        raise
    except Exception as exc:  # zip, XML and calamine errors for every kind of damage
        resources.close()
        raise _excel_error(path, exc) from exc
    if len(names) > 1 and sheet is None:
        text = f"Tệp {path.name} có {len(names)} trang tính; đã đọc trang đầu tiên '{target}'."
        table.warnings.append(warning("FILE_SEVERAL_SHEETS", text, path.name))
    return table


def _sheet_table(
    path: Path,
    fmt: str,
    source: _XlsxSheet | _CalamineSheet,
    target: str,
    batch_rows: int,
    resources: ExitStack,
) -> RawTable:
    """Header block from the sheet's first rows, then the data rows as batches of ``batch_rows`` sheet rows.

    Cells arrive as long frames ``row, col, value`` (non-empty cells only, rows ascending). As calamine does,
    the table starts at the first non-empty row and at the leftmost column used in the header scan; rows
    with no cells in between are empty rows. Columns right of the last header that hold values in the body
    become named columns "Cột N" (in a sheet cells have fixed places, so they are notes, not shifted cells);
    finding them needs a second pass over the sheet only when its dimension says it is wider than the header.
    """
    cells = source.cells(target)
    head: list[pl.DataFrame] = []
    first = None
    for chunk in cells:
        if chunk.height == 0:
            continue
        head.append(chunk)
        first = head[0]["row"][0] if first is None else first
        if chunk["row"][-1] >= first + HEADER_SCAN_ROWS:
            break
    if first is None:
        raise IngestError(
            f"Trang tính '{target}' của tệp {path.name} không có dữ liệu (trang trống): hãy kiểm tra đã chọn "
            "đúng trang tính, hoặc xuất lại tệp.",
            "FILE_EMPTY",
        )
    seen = pl.concat(head)
    top = seen.filter(pl.col("row") < first + HEADER_SCAN_ROWS)
    offset = int(top["col"].min())
    n_top = int(top["row"].max()) - first + 1
    grid = [list(r) for r in _wide(top, first, n_top, offset, int(top["col"].max()) - offset + 1).iter_rows()]
    start, n_rows, raw_headers, alts = find_header_block([r[:-2] for r in grid])
    if not raw_headers:
        raise IngestError(
            f"Trang tính '{target}' của tệp {path.name} không có dòng tiêu đề nào: hãy kiểm tra dòng đầu của bảng "
            "có tên các cột.",
            "FILE_NO_HEADER",
        )
    body = first + start + n_rows  # sheet row of the first data row
    width = len(raw_headers)
    right = source.max_col(target)
    if right is None or right - offset >= width:
        filled = (
            c.filter((pl.col("row") >= body) & (pl.col("value").str.strip_chars() != ""))["col"].max()
            for c in source.cells(target)
        )
        last = max((int(m) for m in filled if m is not None), default=-1) - offset
        if last >= width:
            width = last + 1
            raw_headers = raw_headers + [""] * (width - len(raw_headers))
    headers, dups = unique_headers(raw_headers)
    warnings = _duplicate_notes(path, dups)
    alts = (alts + [None] * width)[:width]
    batches = _guarded(path, _sheet_batches(seen, cells, body, offset, width, batch_rows))
    return RawTable(headers, fmt, batches, target, start + n_rows, None, None, warnings, alts, resources)


def _guarded(path: Path, batches: Iterator[pl.DataFrame]) -> Iterator[pl.DataFrame]:
    """Damage found further in a workbook gives the same message as damage found when opening it."""
    try:
        yield from batches
    except IngestError:
        raise
    except Exception as exc:
        raise _excel_error(path, exc) from exc


def _sheet_batches(
    seen: pl.DataFrame, cells: Iterator[pl.DataFrame], body: int, offset: int, width: int, batch_rows: int
) -> Iterator[pl.DataFrame]:
    """Wide batches of ``batch_rows`` sheet rows from ``body`` on, up to the last row holding a value.

    Each chunk of cells holds whole rows; it is made wide at once (small), and wide rows are gathered into
    batches.
    """
    start, gathered, n_gathered = body, [], 0
    for chunk in itertools.chain([seen], cells):
        chunk = chunk.filter(pl.col("row") >= start)
        if chunk.height == 0:
            continue
        last = int(chunk["row"].max())
        while start <= last:
            n = min(batch_rows - n_gathered, last - start + 1)
            part = chunk.filter(pl.col("row") < start + n)
            gathered.append(_wide(part, start, n, offset, width))
            chunk = chunk.filter(pl.col("row") >= start + n)
            start += n
            n_gathered += n
            if n_gathered >= batch_rows:
                yield pl.concat(gathered)
                gathered, n_gathered = [], 0
    if gathered:
        yield pl.concat(gathered)


def _wide(cells: pl.DataFrame, first_row: int, n: int, offset: int, width: int) -> pl.DataFrame:
    """Long cells of rows ``first_row…first_row+n-1`` as ``c0…`` (columns from ``offset``) plus ``__extra``.

    Cells left of ``offset`` or right of ``width`` (possible only when the sheet's dimension was wrong) are
    joined into ``__extra``.
    """
    at = cells.select((pl.col("row") - first_row).alias("i"), (pl.col("col") - offset).alias("j"), "value")
    empty = pl.Series([None] * n, dtype=pl.String)
    parts = at.partition_by("j", as_dict=True)
    columns = []
    for j in range(width):
        part = parts.pop((j,), None)
        col = empty if part is None else empty.clone().scatter(part["i"], part["value"])
        columns.append(col.alias(f"c{j}"))
    extra = empty
    if parts:  # cells outside the table
        rest = pl.concat(list(parts.values())).filter(pl.col("value").str.strip_chars() != "").sort("i", "j")
        joined = rest.group_by("i", maintain_order=True).agg(pl.col("value").str.join(" | "))
        extra = empty.clone().scatter(joined["i"], joined["value"])
    return pl.DataFrame([*columns, extra.alias(EXTRA), empty.alias(ISSUES)])


class _CalamineSheet:
    """Legacy XLS through calamine (fastexcel), loaded whole, as long cells."""

    def __init__(self, path: Path):
        import fastexcel

        self.reader = fastexcel.read_excel(str(path))
        self.sheet_names: list[str] = list(self.reader.sheet_names)
        self.frames: dict[str, pl.DataFrame] = {}

    def _cells(self, sheet: str) -> pl.DataFrame:
        if sheet not in self.frames:
            frame = self.reader.load_sheet(sheet, header_row=None, dtypes="string").to_polars()
            self.frames[sheet] = (
                frame.with_row_index("row", 1)
                .unpivot(index="row", variable_name="col", value_name="value")
                .with_columns(
                    pl.col("col").replace_strict(dict(zip(frame.columns, range(frame.width), strict=True)))
                )
                .filter(pl.col("value").is_not_null())
                .select(pl.col("row").cast(pl.Int64), "col", _clean_value(pl.col("value")))
                .sort("row", "col")
            )
        return self.frames[sheet]

    def cells(self, sheet: str) -> Iterator[pl.DataFrame]:
        yield self._cells(sheet)

    def max_col(self, sheet: str) -> int | None:
        return None


def _clean_value(e: pl.Expr) -> pl.Expr:
    """Datetimes at midnight lose the time (as calamine writes a date cell: "2009-04-04 00:00:00")."""
    return e.str.replace(_DATETIME_MIDNIGHT, "${1}").alias("value")


_T_RE = r"(?s)<(?:[\w.-]+:)?t(?:\s[^>]*)?>.*?</(?:[\w.-]+:)?t>"
_RPH_RE = r"(?s)<(?:[\w.-]+:)?rPh\b.*?</(?:[\w.-]+:)?rPh>"
_MAIN_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL_NS = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_PKG_REL_NS = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_DATE_FORMAT_IDS = {*range(14, 23), *range(45, 48)}  # built-in date, time and duration formats
_EPOCH = dt.datetime(1899, 12, 30)
_MS_PER_DAY = 86_400_000


class _XlsxSheet:
    """An XLSX read without loading a sheet: workbook, styles and shared strings first, sheet rows streamed.

    Values are as calamine gives them with string dtype: numbers without ".0" (fractions to 9 decimals), date
    cells as ``YYYY-MM-DD HH:MM:SS`` (midnight → the date alone), booleans ``true``/``false``, error cells
    empty, text unescaped (XML entities and Excel's ``_xHHHH_``).
    """

    def __init__(self, path: Path, resources: ExitStack):
        self.zf = resources.enter_context(zipfile.ZipFile(path))
        self.names = set(self.zf.namelist())
        book_path = self._office_document()
        book = ElementTree.fromstring(self.zf.read(book_path))
        rels = self._rels(book_path)
        self.parts: dict[str, str] = {}
        for el in book.iter(f"{_MAIN_NS}sheet"):
            self.parts[el.get("name", "")] = rels.get(el.get(f"{_REL_NS}id", ""), "")
        self.sheet_names = list(self.parts)
        if not self.sheet_names:
            raise ValueError("no sheet")
        pr = book.find(f"{_MAIN_NS}workbookPr")
        self.date1904 = pr is not None and pr.get("date1904", "0").lower() in ("1", "true")
        folder = book_path.rpartition("/")[0]
        self.date_styles = self._date_styles(rels.get("styles") or f"{folder}/styles.xml")
        self.sst = self._shared_strings(rels.get("sharedStrings") or f"{folder}/sharedStrings.xml")

    def _office_document(self) -> str:
        if "_rels/.rels" in self.names:
            for el in ElementTree.fromstring(self.zf.read("_rels/.rels")).iter(f"{_PKG_REL_NS}Relationship"):
                if el.get("Type", "").endswith("/officeDocument"):
                    return el.get("Target", "").lstrip("/")
        return "xl/workbook.xml"

    def _rels(self, part: str) -> dict[str, str]:
        """Relationship id → part path (and "styles"/"sharedStrings" → their parts)."""
        folder, _, name = part.rpartition("/")
        rels_path = f"{folder}/_rels/{name}.rels"
        out: dict[str, str] = {}
        if rels_path not in self.names:
            return out
        for el in ElementTree.fromstring(self.zf.read(rels_path)).iter(f"{_PKG_REL_NS}Relationship"):
            target = el.get("Target", "")
            target = target.lstrip("/") if target.startswith("/") else f"{folder}/{target}"
            out[el.get("Id", "")] = target
            kind = el.get("Type", "").rpartition("/")[2]
            if kind in ("styles", "sharedStrings"):
                out[kind] = target
        return out

    def _date_styles(self, part: str) -> list[int]:
        """Indexes of the cell formats (``s=``) whose number format shows a date or time."""
        if part not in self.names:
            return []
        root = ElementTree.fromstring(self.zf.read(part))
        custom = {
            int(el.get("numFmtId", "-1")): el.get("formatCode", "") for el in root.iter(f"{_MAIN_NS}numFmt")
        }
        xfs = root.find(f"{_MAIN_NS}cellXfs")
        out = []
        for i, xf in enumerate(xfs.findall(f"{_MAIN_NS}xf") if xfs is not None else []):
            fid = int(xf.get("numFmtId", "0"))
            if fid in _DATE_FORMAT_IDS or (fid in custom and _is_date_format(custom[fid])):
                out.append(i)
        return out

    def _shared_strings(self, part: str) -> pl.Series:
        """The shared-string table as one polars column (compact even with millions of distinct strings)."""
        if part not in self.names:
            return pl.Series("sst", [], pl.String)
        parts = []
        for text in _xml_chunks(self.zf, part, b"si"):
            p = _prefix(text, "si")
            for empty in (f"<{p}si/>", f"<{p}si />"):
                text = text.replace(empty, f"<{p}si></{p}si>")
            pieces = pl.Series("sst", text.split(f"</{p}si>")[:-1], dtype=pl.String)
            parts.append(_text_of(pieces.str.split(f"<{p}si>").list.last(), p))
        return pl.concat(parts) if parts else pl.Series("sst", [], pl.String)

    def max_col(self, sheet: str) -> int | None:
        """The last column of the sheet's ``<dimension ref=…>`` (0-based), when the writer put one."""
        with self.zf.open(self.parts[sheet]) as fh:
            head = fh.read(4096).decode("utf-8", errors="replace")
        m = re.search(r'<(?:[\w.-]+:)?dimension\s+ref="(?:[A-Za-z]+\d+:)?([A-Za-z]+)\d+"', head)
        return _col_index(m.group(1)) if m else None

    def cells(self, sheet: str) -> Iterator[pl.DataFrame]:
        """The sheet's non-empty cells as ``row`` (1-based), ``col`` (0-based), ``value``, chunk by chunk."""
        part = self.parts[sheet]
        if part not in self.names:
            raise ValueError("sheet part missing")
        last_row, p = 0, None
        for text in _xml_chunks(self.zf, part, b"row"):
            p = _prefix(text, "row") if p is None else p
            chunk, last_row = self._parse_rows(text, p, last_row)
            yield chunk

    def _parse_rows(self, text: str, p: str, last_row: int) -> tuple[pl.DataFrame, int]:
        """Rows and cells by literal splits (no backtracking regex over the chunk): fast on big sheets."""
        pieces = pl.DataFrame({"x": text.split(f"</{p}row>")}, schema={"x": pl.String})
        rows = (
            pieces.filter(pl.col("x").str.contains(f"<{p}row", literal=True))
            .select(pl.col("x").str.split(f"<{p}row").list.last())
            .with_columns(
                pl.col("x").str.extract(r'^[^>]*?\sr="(\d+)"', 1).cast(pl.Int64).alias("r"),
                pl.int_range(1, pl.len() + 1, dtype=pl.Int64).alias("k"),
            )
        )
        if rows.height == 0:
            return pl.DataFrame(schema={"row": pl.Int64, "col": pl.Int64, "value": pl.String}), last_row
        known = pl.col("r").is_not_null()  # rows without r= follow the previous row
        rows = rows.with_columns(
            (
                pl.col("r").forward_fill().fill_null(last_row)
                + pl.col("k")
                - pl.when(known).then(pl.col("k")).forward_fill().fill_null(0)
            ).alias("row")
        )
        last_row = int(rows["row"][-1])
        cells = (
            rows.select(
                "row",
                pl.col("x")
                .str.replace_all(f"<{p}c>", f"<{p}c >", literal=True)
                .str.split(f"<{p}c ")
                .alias("c"),
            )
            .with_columns(pl.col("c").list.slice(1))
            .explode("c")
            .filter(pl.col("c").is_not_null())
            .with_columns(pl.col("c").str.extract(r"^([^>]*)", 1).alias("a"))
            .with_columns(
                pl.col("a").str.extract(r'(?:^|\s)r="([A-Za-z]{1,3})\d*"', 1).alias("ref"),
                pl.col("a").str.extract(r'(?:^|\s)t="([^"]*)"', 1).fill_null("n").alias("t"),
                pl.col("a").str.extract(r'(?:^|\s)s="(\d+)"', 1).cast(pl.Int64).fill_null(0).alias("s"),
                pl.col("c").str.extract(rf"<{p}v(?:\s[^>]*)?>([^<]*)</{p}v>", 1).alias("v"),
            )
        )
        refs = cells["ref"].unique().drop_nulls().to_list()
        col = pl.col("ref").replace_strict(
            {r: _col_index(r) for r in refs}, default=None, return_dtype=pl.Int64
        )
        if cells["ref"].null_count():  # cells without r= follow the previous cell of their row
            k = pl.int_range(pl.len(), dtype=pl.Int64).over("row")
            has = pl.col("ref").is_not_null()
            col = pl.coalesce(
                pl.when(has).then(col).forward_fill().over("row")
                + k
                - pl.when(has).then(k).forward_fill().over("row"),
                k,
            )
        cells = cells.with_columns(col.alias("col"), pl.int_range(pl.len(), dtype=pl.Int64).alias("__o"))
        out = pl.concat(
            [self._values(part, t, p) for (t,), part in cells.partition_by("t", as_dict=True).items()]
        ).sort("__o")
        return out.select("row", "col", _clean_value(pl.col("value"))).filter(
            pl.col("value").is_not_null()
        ), last_row

    def _values(self, cells: pl.DataFrame, t: str, p: str) -> pl.DataFrame:
        """``row, col, __o, value`` of the cells of one type ``t`` (each kind computed for its cells only)."""
        v = pl.col("v")
        if t == "s":
            idx = cells["v"].cast(pl.Int64, strict=False)
            ok = idx.is_between(0, len(self.sst) - 1).fill_null(False)
            value = pl.Series([None] * cells.height, dtype=pl.String)
            if ok.any():
                value = value.scatter(ok.arg_true(), self.sst.gather(idx.filter(ok)))
        elif t == "inlineStr":
            is_ = cells["c"].str.split(f"<{p}is>").list.get(1, null_on_oob=True)
            value = _text_of(is_.str.split(f"</{p}is>").list.first(), p)
        elif t in ("str", "d"):
            value = _unescape(cells["v"])
        elif t == "b":
            value = cells.select(pl.when(v == "1").then(pl.lit("true")).when(v == "0").then(pl.lit("false")))
            value = value.to_series()
        elif t == "e":
            value = pl.Series([None] * cells.height, dtype=pl.String)
        else:
            num = v.cast(pl.Float64, strict=False)
            is_date = pl.col("s").is_in(self.date_styles) if self.date_styles else pl.lit(False)
            value = cells.select(
                pl.when(is_date).then(_excel_datetime(num, self.date1904)).otherwise(_number_text(num))
            ).to_series()
        return cells.select("row", "col", "__o").with_columns(value.alias("value"))


def _xml_chunks(zf: zipfile.ZipFile, part: str, tag: bytes) -> Iterator[str]:
    """A zip member's XML in pieces of about ``XML_CHUNK_BYTES``, each cut just after a closing ``tag``."""
    closing = re.compile(rb"</(?:[\w.-]+:)?" + tag + rb">")

    def after_last_closing(buf: bytes) -> int:
        cut, pos = 0, len(buf)
        while cut == 0 and (p := buf.rfind(tag + b">", 0, pos)) >= 0:
            m = closing.match(buf, buf.rfind(b"<", 0, p))
            cut = m.end() if m and m.end() == p + len(tag) + 1 else 0
            pos = p
        return cut

    with zf.open(part) as fh:
        for block in _blocks(fh, XML_CHUNK_BYTES, after_last_closing):
            yield block.decode("utf-8", errors="replace")


def _prefix(text: str, tag: str) -> str:
    """The namespace prefix the writer used for ``tag`` ("" or e.g. "x:")."""
    m = re.search(rf"<([\w.-]+:)?{tag}[\s>/]", text)
    return (m.group(1) or "") if m else ""


def _text_of(content: pl.Series, p: str) -> pl.Series:
    """The text of ``<si>``/``<is>`` contents: one plain ``<t>`` (the usual case) read directly, rich text
    (several runs; phonetic runs left out) only where needed."""
    text = content.str.extract(rf"^<{p}t(?:\s[^>]*)?>([^<]*)</{p}t>$", 1)
    rich = text.is_null() & content.is_not_null()
    if rich.any():
        runs = (
            content.filter(rich)
            .str.replace_all(_RPH_RE, "")
            .str.extract_all(_T_RE)
            .list.eval(pl.element().str.replace(r"^<[^>]*>", "").str.replace(r"</[^>]*>$", ""))
            .list.join("")
        )
        text = text.scatter(rich.arg_true(), runs)
    return _unescape(text)


def _unescape(s: pl.Series) -> pl.Series:
    """XML character references and entities, then Excel's ``_xHHHH_`` escapes (each pass only if needed)."""
    if s.str.contains("&", literal=True).any():
        s = _fix(s, "&#", r"&#(x[0-9A-Fa-f]+|\d+);", lambda m: _char(m.group(1)))
        for ent, ch in (("&lt;", "<"), ("&gt;", ">"), ("&quot;", '"'), ("&apos;", "'"), ("&amp;", "&")):
            s = s.str.replace_all(ent, ch, literal=True)
    if s.str.contains("_x", literal=True).any():  # _x000D_ → CR; _x005F_ is a literal underscore
        s = _fix(s, "_x", r"_x([0-9A-Fa-f]{4})_", lambda m: chr(int(m.group(1), 16)))
    return s


def _fix(s: pl.Series, marker: str, pattern: str, repl) -> pl.Series:
    """``re.sub`` in Python on the few values holding ``marker`` (character references, Excel escapes)."""
    mask = s.str.contains(marker, literal=True).fill_null(False)
    if not mask.any():
        return s
    fixed = [re.sub(pattern, repl, x) for x in s.filter(mask).to_list()]
    return s.scatter(mask.arg_true(), pl.Series(fixed, dtype=pl.String))


def _char(ref: str) -> str:
    code = int(ref[1:], 16) if ref[0] in "xX" else int(ref)
    return chr(code) if 0 <= code <= 0x10FFFF else "\ufffd"


def _number_text(num: pl.Expr) -> pl.Expr:
    """A number as calamine writes it as text: whole numbers without ".0", others to at most 9 decimals."""
    whole = (num == num.round(0)) & (num.abs() < 2.0**62)
    return (
        pl.when(whole)
        .then(num.cast(pl.Int64, strict=False).cast(pl.String))
        .otherwise(num.map_batches(_fraction_text, return_dtype=pl.String))
    )


def _fraction_text(s: pl.Series) -> pl.Series:
    mask = (s.is_not_null() & ~((s == s.round(0)) & (s.abs() < 2.0**62))).fill_null(False)
    out = pl.Series(s.name, [None] * len(s), dtype=pl.String)
    if not mask.any():
        return out
    fixed = [format(x, ".9f").rstrip("0").rstrip(".") for x in s.filter(mask).to_list()]
    return out.scatter(mask.arg_true(), pl.Series(fixed, dtype=pl.String))


def _excel_datetime(num: pl.Expr, date1904: bool) -> pl.Expr:
    """An Excel serial date as calamine formats it (1900 system: serials below 60 count from 1899-12-31)."""
    days = num + 1462 if date1904 else num
    days = pl.when(days < 60).then(days + 1).otherwise(days)
    ms = (days * _MS_PER_DAY).round(0).cast(pl.Int64, strict=False)
    ok = (days > -693_000) & (days < 2_958_000)  # years 1…9999
    stamp = pl.lit(_EPOCH) + pl.duration(milliseconds=ms)
    text = (
        pl.when(ms % 1000 == 0)
        .then(stamp.dt.strftime("%Y-%m-%d %H:%M:%S"))
        .otherwise(stamp.dt.strftime("%Y-%m-%d %H:%M:%S%.3f"))
    )
    return pl.when(ok).then(text).otherwise(_number_text(num))


def _is_date_format(code: str) -> bool:
    """A custom number format shows a date or time when a d/m/y/h/s token is left outside quotes,
    brackets ([Red], [$-42A]) and escapes; [h]/[mm]/[ss] (elapsed time) count too."""
    if re.search(r"\[(h+|m+|s+)\]", code, re.IGNORECASE):
        return True
    bare = re.sub(r'"[^"]*"|\\.|_.|\*.|\[[^\]]*\]', "", code)
    return bare.lower() != "general" and re.search(r"[dmyhs]", bare, re.IGNORECASE) is not None


def _col_index(letters: str) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + ord(ch) - 64
    return n - 1
