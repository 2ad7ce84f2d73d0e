"""CSV and other delimited text: transcoding to UTF-8, byte ranges cut at row ends (polars per block), and the
csv-module paths for ragged, unparseable and stray-quote rows."""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import re
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import polars as pl

from doisoat.ingest.messages import FileMessage, warning
from doisoat.ingest.readers.base import (
    BATCH_ROWS,
    EXTRA,
    HEADER_SCAN_ROWS,
    ISSUES,
    SAMPLE_BYTES,
    UNPARSEABLE,
    IngestError,
    RawTable,
    _blocks,
    _duplicate_notes,
    col_names,
    find_header_block,
    unique_headers,
)
from doisoat.ingest.readers.sniff import detect_encoding, sniff_delimiter

# a cell may be any size (one 10 MB cell once made the csv module reject a whole file)
csv.field_size_limit(min(sys.maxsize, 2**31 - 1))


MAX_BLOCK_BYTES = 64 << 20


def _cr_line_ends(text: str) -> bool:
    """Rows end with a bare CR (classic Mac OS, some old exports): more bare CRs than LFs in the sample."""
    bare = text.count("\r") - text.count("\r\n")
    return bare > 0 and bare > text.count("\n")


def _latin1_fallback(exc: UnicodeError) -> tuple[str, int]:
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    return exc.object[exc.start : exc.end].decode("latin-1"), exc.end


codecs.register_error("doisoat_latin1", _latin1_fallback)


def transcode_to_utf8(path: Path, encoding: str, out: Path, cr_line_ends: bool = False) -> None:
    """Stream ``path`` into UTF-8 at ``out`` in 1 MB chunks (polars reads only UTF-8).

    ``cr_line_ends``: every bare CR becomes LF (the file's rows end with CR alone).
    """
    with (
        open(path, encoding=encoding, errors="doisoat_latin1", newline="") as src,
        open(out, "w", encoding="utf-8", newline="") as dst,
    ):
        if not cr_line_ends:
            shutil.copyfileobj(src, dst, 1 << 20)
            return
        carry = ""
        while chunk := src.read(1 << 20):
            chunk = carry + chunk
            carry = "\r" if chunk.endswith("\r") else ""  # maybe the first half of CR LF
            dst.write(_BARE_CR.sub("\n", chunk[:-1] if carry else chunk))
        dst.write("\n" if carry else "")


_BARE_CR = re.compile(r"\r(?!\n)")
_CR_MARK = "\ue000"  # stands for a bare CR while the csv module reads (it would end the row there)


def _csv_reader(text: str, delim: str, line_after: list[int] | None = None) -> Iterator[list[str]]:
    """Rows of ``text`` by the csv module, where only LF (or CR LF) ends a row, as polars reads them.

    A bare CR inside an unquoted field stays in the field (the csv module alone would raise "new-line
    character seen in unquoted field"). ``line_after`` receives, per row, the number of lines read so far.
    """
    marked = "\r" in text and _CR_MARK not in text
    if marked:
        text = _BARE_CR.sub(_CR_MARK, text)
    reader = csv.reader(io.StringIO(text), delimiter=delim)
    for row in reader:
        if line_after is not None:
            line_after.append(reader.line_num)
        yield [c.replace(_CR_MARK, "\r") for c in row] if marked else row


def read_csv(path: Path, batch_rows: int = BATCH_ROWS) -> RawTable:
    """CSV in any of the encodings, separators and line ends agencies produce, header found below a title block.

    Rows end with LF or CR LF (a bare CR inside a field stays in it), or with CR alone when the file is written
    that way (classic Mac OS). Non-UTF-8 files and CR-only files are first copied to a temporary UTF-8 file
    with LF line ends.
    """
    encoding = detect_encoding(path)
    with open(path, "rb") as fh:
        raw = fh.read(SAMPLE_BYTES)
    cr_line_ends = _cr_line_ends(raw.decode(encoding, errors="replace"))
    resources = ExitStack()
    src = path
    try:
        if encoding != "utf-8" or cr_line_ends:
            tmpdir = Path(tempfile.mkdtemp(prefix="doisoat_"))
            resources.callback(shutil.rmtree, tmpdir, ignore_errors=True)
            src = tmpdir / "utf8.csv"
            transcode_to_utf8(path, encoding, src, cr_line_ends)
        with open(src, "rb") as fh:
            sample = fh.read(SAMPLE_BYTES)
        text = sample.decode("utf-8", errors="replace").lstrip("\ufeff")
        if not text.strip():
            raise IngestError(
                f"Tệp {path.name} rỗng, không có dòng nào: hãy xuất lại tệp từ hệ thống nguồn và gửi lại.",
                "FILE_EMPTY",
            )
        delim = sniff_delimiter(text)
        line_after: list[int] = []
        reader = _csv_reader(text, delim, line_after)
        grid: list[list[str | None]] = []
        for row in reader:
            grid.append(list(row))
            if len(grid) >= HEADER_SCAN_ROWS:
                break
        start, n_rows, raw_headers, alts = find_header_block(grid)
        if not raw_headers:
            raise IngestError(
                f"Tệp {path.name} không có dòng tiêu đề nào đọc được: hãy kiểm tra dòng đầu của tệp có tên các cột.",
                "FILE_NO_HEADER",
            )
        declared = max(len(r) for r in grid[start : start + n_rows])
        sample_rows = [*grid[start + n_rows :], *itertools.islice(reader, 5000)]
        if len(sample) == SAMPLE_BYTES and sample_rows:
            sample_rows.pop()  # maybe cut by the end of the sample
        width = _body_width(len(raw_headers), declared, sample_rows)
        warnings: list[FileMessage] = []
        if width > len(raw_headers):
            first_blank = len(raw_headers) + 1
            text = (
                f"Tệp {path.name} có cột không có tiêu đề (từ cột {first_blank}); đã giữ dữ liệu của cột đó "
                f"với tên 'Cột {first_blank}'…"
            )
            warnings.append(warning("FILE_HEADERLESS_COLUMN", text, path.name, column=f"Cột {first_blank}"))
            raw_headers = raw_headers + [""] * (width - len(raw_headers))
            alts = (alts + [None] * width)[:width]
        headers, dup_warnings = unique_headers(raw_headers)
        warnings += _duplicate_notes(path, dup_warnings)
        skip = line_after[start + n_rows - 1]
        with open(src, "rb") as fh:
            for _ in range(skip):
                fh.readline()
            body_start = fh.tell()
        lines = max(1, text.count("\n"))
        # bytes of about batch_rows rows, at most MAX_BLOCK_BYTES (a sample of a few very long rows)
        block = max(1, min(MAX_BLOCK_BYTES, batch_rows * len(sample) // lines))
        if encoding != "utf-8":
            text = f"Tệp {path.name} dùng bảng mã {encoding.upper()}; đã chuyển sang UTF-8 khi đọc."
            warnings.append(warning("FILE_ENCODING", text, path.name))
        if cr_line_ends:
            text = (
                f"Tệp {path.name} dùng ký tự CR (kiểu Mac cũ) để xuống dòng; đã đọc mỗi CR là một dòng mới."
            )
            warnings.append(warning("FILE_CR_LINE_ENDS", text, path.name))
    except BaseException:
        resources.close()
        raise
    return RawTable(
        headers,
        "csv",
        _csv_batches(src, delim, len(headers), body_start, block),
        None,
        start + n_rows,
        encoding,
        delim,
        warnings,
        alts,
        resources,
    )


def _body_width(n_headers: int, declared: int, rows: list[list[str]]) -> int:
    """How many columns the body has: the named headers, plus the blank trailing headers of the header row
    (``declared`` fields) up to the last one a sampled row fills.

    Cells past the header row's own fields are never taken for a column: rows that all have one more cell are
    as likely an unquoted separator in every row ("Thôn 1, Xã A") as a column without header, so they stay
    ragged (quarantined, visible) rather than shifted silently.
    """
    filled = [max((i for i, c in enumerate(row[:declared]) if c.strip()), default=-1) + 1 for row in rows]
    return max(n_headers, *filled) if filled else n_headers


def _csv_batches(src: Path, delim: str, width: int, start: int, block_bytes: int) -> Iterator[pl.DataFrame]:
    """The body read ``block_bytes`` at a time, each block cut after the last row end outside quotes."""
    with open(src, "rb") as fh:
        fh.seek(start)
        limit = max(4 * block_bytes, MAX_BLOCK_BYTES)

        def cut(buf: bytes) -> int:
            end = _row_end(buf)
            if end == 0 and len(buf) >= limit:  # a quote never closed: cut at a line end all the same (the
                end = buf.rfind(b"\n") + 1  # block's reader quarantines the row that opened it)
            return end

        for block in _blocks(fh, block_bytes, cut):
            yield _parse_csv_block(block, delim, width)


def _row_end(buf: bytes) -> int:
    """Offset just past the last newline that ends a row (an even number of quotes before it), else 0.

    ``buf`` starts at a row start, so a newline inside a quoted field has an odd number of quotes before it.
    """
    before = buf.count(b'"')  # quotes before ``pos``, kept as ``pos`` moves back (linear when none fits)
    pos = len(buf)
    while (nl := buf.rfind(b"\n", 0, pos)) >= 0:
        before -= buf.count(b'"', nl, pos)
        if before % 2 == 0:
            return nl + 1
        pos = nl
    return 0


def _parse_csv_block(block: bytes, delim: str, width: int) -> pl.DataFrame:
    """Fast path: polars with a fixed width; a block polars rejects (rows wider than the header, quotes it
    cannot parse) goes through the csv module, which reads any text. A block where a stray quote swallowed the
    rows after it is read line by line (:func:`_read_lines`)."""
    names = col_names(width)
    try:
        frame = pl.read_csv(
            block,
            has_header=False,
            separator=delim,
            schema=dict.fromkeys(names, pl.String),
            missing_columns="insert",
            encoding="utf8-lossy",
            quote_char='"',
            raise_if_empty=False,
        )
        frame = frame.with_columns(
            pl.lit(None, pl.String).alias(EXTRA), pl.lit(None, pl.String).alias(ISSUES)
        )
    except pl.exceptions.PolarsError:
        frame = _read_ragged(block, delim, width)
    if b'"' in block and _swallowed_rows(frame, delim, width):  # only quoted cells span lines
        return _read_lines(block.decode("utf-8", errors="replace"), delim, width)
    return frame


_STRAY_QUOTE_MIN_WIDTH = 5  # narrower tables: a quoted note with a few commas could look like a row


def _swallowed_rows(frame: pl.DataFrame, delim: str, width: int) -> bool:
    """A cell spanning lines of which some hold a whole row's worth of separators: an unclosed quote took in
    the rows below it (a quoted note over several lines rarely has ``width - 1`` separators on a line)."""
    if width < _STRAY_QUOTE_MIN_WIDTH:
        return False
    for c in [c for c in frame.columns if c != ISSUES]:
        cells = frame.get_column(c).filter(
            frame.get_column(c).str.contains("\n", literal=True).fill_null(False)
        )
        for cell in cells.head(100).to_list():
            if any(line.count(delim) >= width - 1 for line in cell.split("\n")[1:]):
                return True
    return False


def _read_lines(text: str, delim: str, width: int) -> pl.DataFrame:
    """Rows line by line, quoted cells over several lines allowed, but a line opening a quote that never closes,
    or that would take in lines shaped like whole rows, is one unparseable row (raw text kept), and reading
    goes on with the next line."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    rows: list[list[str | None]] = []
    row_like = width >= _STRAY_QUOTE_MIN_WIDTH
    i = 0
    while i < len(lines):
        j, stray = i + 1, False
        if _opens_quote(lines[i], delim):
            # follow the quote by the parity of each line's quotes (linear, whatever the file's length); a
            # line shaped like a whole row inside the quoted cell, or the end of the text, means it is stray
            inside = True
            while inside and j < len(lines):
                line = lines[j]
                if line.count('"') % 2 == 1:
                    inside = False
                elif row_like and line.count(delim) >= width - 1:
                    stray = True
                    break
                j += 1
            stray = stray or inside
            j = j + 1 if not stray else j
        buf = "\n".join(lines[i:j])
        if stray:
            rows.append([*([None] * width), lines[i].rstrip("\r"), UNPARSEABLE])
            i += 1
            continue
        try:
            parsed = list(_csv_reader(buf, delim)) or [[]]
            rows.extend(_ragged_cells(row, width, delim) for row in parsed)
        except csv.Error:
            rows.append([*([None] * width), buf.rstrip("\r"), UNPARSEABLE])
        i = j
    schema = dict.fromkeys([*col_names(width), EXTRA, ISSUES], pl.String)
    return pl.DataFrame(rows, schema=schema, orient="row")


def _opens_quote(text: str, delim: str) -> bool:
    """``text`` ends inside a quoted cell (a quote opened at a cell start and not closed yet)."""
    if '"' not in text:
        return False
    try:
        for _ in csv.reader([text.replace("\r", "")], delimiter=delim, strict=True):
            pass
    except csv.Error as exc:
        return "end of data" in str(exc)
    return False


def _read_ragged(block: bytes, delim: str, width: int) -> pl.DataFrame:
    """Slow path for ragged rows: the csv module; cells past the header width go to ``__extra``.

    Should the csv module fail on the block, it is read line by line (:func:`_read_lines`).
    """
    text = block.decode("utf-8", errors="replace")
    schema = dict.fromkeys([*col_names(width), EXTRA, ISSUES], pl.String)
    try:
        rows = [_ragged_cells(row, width, delim) for row in _csv_reader(text, delim)]
    except csv.Error:
        return _read_lines(text, delim, width)
    return pl.DataFrame(rows, schema=schema, orient="row")


def _ragged_cells(row: list[str], width: int, delim: str) -> list[str | None]:
    extra = [c for c in row[width:] if c.strip()]
    cells: list[str | None] = [c if c != "" else None for c in row[:width]]
    cells += [None] * (width - len(cells))
    return [*cells, delim.join(extra) if extra else None, None]
