"""Readers: any CSV (encoding and separator sniffed), XLSX/XLS and Parquet into one all-string table, in batches.

Every reader returns a :class:`RawTable`: the headers found in the first rows, and the data rows below the
header block as an iterator of polars frames of at most about ``batch_rows`` rows (Utf8 columns ``c0, c1, …``,
one per header, plus ``__extra``: cells beyond the header width, joined; null when none), in file order. Files
are read lazily, so memory does not grow with the file: CSV by byte ranges cut at row ends, XLSX by streaming
the sheet XML (parsed a few MB at a time by polars string expressions), Parquet by record batches. Problems
that make a file unusable raise :class:`IngestError` with a one-line Vietnamese message naming the file (from
``read_table``, or while the batches are read for damage found further in).
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import itertools
import re
import shutil
import sys
import tempfile
import zipfile
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree import ElementTree

import polars as pl

from doisoat.errors import DoisoatError
from doisoat.ingest.headers import header_row_score
from doisoat.ingest.messages import FileMessage, warning

SAMPLE_BYTES = 1 << 20
HEADER_SCAN_ROWS = 30
BATCH_ROWS = 100_000
XML_CHUNK_BYTES = 4 << 20
MAX_BLOCK_BYTES = 64 << 20
EXTRA = "__extra"
ISSUES = (
    "__issues"  # optional batch column: reason codes of what the reader did to the row ("A,B"), else null
)
UNPARSEABLE = "UNPARSEABLE_ROW"  # a row the reader could not split into cells: its raw text is in ``__extra``

# a cell may be any size (one 10 MB cell once made the csv module reject a whole file)
csv.field_size_limit(min(sys.maxsize, 2**31 - 1))

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP_MAGIC = b"PK\x03\x04"
_PARQUET_MAGIC = b"PAR1"
_ENCRYPTED_MARK = "EncryptionInfo".encode("utf-16-le")
_TCVN3_TELLTALES = set("§µ¸¶·¹¨©ª«¬®ÒÕÔÞ")
_DATETIME_MIDNIGHT = r"^(\d{4}-\d{2}-\d{2})[ T]00:00:00(\.0+)?$"


class IngestError(DoisoatError):
    """A file cannot be used at all; ``str(exc)`` is the Vietnamese one-line message for people, ``code`` its
    FILE_* reason code (doisoat.reasons)."""

    def __init__(self, message: str, code: str = "FILE_UNREADABLE"):
        super().__init__(message)
        self.code = code


@dataclass
class RawTable:
    """One sheet/file: headers and metadata from its first rows, and an iterator over its data-row batches.

    Use it as a context manager (or call :meth:`close`): open files and temporary copies are released then.
    """

    headers: list[str]
    file_format: str  # csv | xlsx | xls | parquet
    batches: Iterator[pl.DataFrame]
    sheet: str | None = None
    header_row: int | None = None  # 1-based row of the (last) header line in the file
    encoding: str | None = None
    delimiter: str | None = None
    warnings: list[FileMessage] = field(default_factory=list)
    header_alts: list[str | None] = field(default_factory=list)  # sub-header alone, for two-row headers
    resources: ExitStack = field(default_factory=ExitStack)

    def close(self) -> None:
        close = getattr(self.batches, "close", None)
        if close is not None:
            close()
        self.resources.close()

    def __enter__(self) -> RawTable:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def frame(self) -> pl.DataFrame:
        """All data rows as one frame (small files and tests; the ingest step reads batch by batch)."""
        return pl.concat([empty_batch(len(self.headers)), *self.batches])


def col_names(n: int) -> list[str]:
    return [f"c{i}" for i in range(n)]


def empty_batch(width: int, rows: int = 0) -> pl.DataFrame:
    """``rows`` all-null data rows of a ``width``-column table."""
    return pl.DataFrame(schema=dict.fromkeys([*col_names(width), EXTRA, ISSUES], pl.String)).clear(rows)


# ---------------------------------------------------------------- format sniffing


_MAGIC_FORMATS = ((_ZIP_MAGIC, "xlsx"), (_OLE_MAGIC, "xls"), (_PARQUET_MAGIC, "parquet"))
_SUFFIX_FORMATS = {".xlsx": "xlsx", ".xlsm": "xlsx", ".xls": "xls", ".parquet": "parquet", ".pq": "parquet"}
_FORMAT_LABELS = {"csv": "văn bản CSV", "xlsx": "Excel", "xls": "Excel", "parquet": "Parquet"}


def sniff_format(path: Path) -> str:
    """Format by content, not by name: a .csv that is really an XLSX is read as XLSX, a CSV named .xlsx as CSV.

    A file named as a workbook or Parquet whose content is neither a valid one nor text that splits into
    columns is damaged (:class:`IngestError`).
    """
    with open(path, "rb") as fh:
        head = fh.read(SAMPLE_BYTES)
    if not head:
        raise IngestError(
            f"Tệp {path.name} rỗng (0 byte), không có dữ liệu: hãy xuất lại tệp từ hệ thống nguồn và gửi lại.",
            "FILE_EMPTY",
        )
    for magic, fmt in _MAGIC_FORMATS:
        if head.startswith(magic):
            return fmt
    expected = _SUFFIX_FORMATS.get(path.suffix.lower())
    if expected is None or _looks_like_csv(head):
        return "csv"
    if expected == "parquet":
        raise IngestError(
            f"Tệp {path.name} không phải tệp Parquet hợp lệ (bị hỏng hoặc bị cắt cụt): "
            "hãy xuất lại tệp và gửi lại.",
            "FILE_DAMAGED",
        )
    raise IngestError(
        f"Tệp {path.name} không phải tệp Excel hợp lệ (bị hỏng hoặc bị cắt cụt): "
        "hãy mở lại bằng Excel, lưu lại rồi gửi lại.",
        "FILE_DAMAGED",
    )


def _looks_like_csv(sample: bytes) -> bool:
    """Text (not binary) whose first lines split into at least two columns with one of the usual separators."""
    encoding = _text_encoding(sample)
    if encoding is None:
        return False
    text = sample.decode(encoding, errors="replace").lstrip("\ufeff")
    lines = [ln for ln in text.splitlines()[:50] if ln.strip()]
    if not lines:
        return False
    delim = sniff_delimiter("\n".join(lines))
    widths = [len(r) for r in csv.reader(lines[:20], delimiter=delim)]
    return sum(1 for w in widths if w >= 2) >= max(1, len(widths) // 2)


def read_table(path: Path, sheet: str | None = None, batch_rows: int = BATCH_ROWS) -> RawTable:
    """Open any supported file as a :class:`RawTable` whose batches hold at most about ``batch_rows`` rows."""
    fmt = sniff_format(path)
    if fmt in ("xlsx", "xls"):
        table = read_excel(path, sheet, fmt, batch_rows)
    elif fmt == "parquet":
        table = read_parquet(path, batch_rows)
    else:
        table = read_csv(path, batch_rows)
    named = _SUFFIX_FORMATS.get(path.suffix.lower(), "csv")
    if _FORMAT_LABELS[named] != _FORMAT_LABELS[fmt]:
        text = (
            f"Tệp {path.name} có đuôi {path.suffix or '(không có đuôi)'} nhưng nội dung là {_FORMAT_LABELS[fmt]}; "
            f"đã đọc như {_FORMAT_LABELS[fmt]}. Hãy đặt lại đúng đuôi tệp."
        )
        table.warnings.insert(0, warning("FILE_FORMAT_MISMATCH", text, path.name))
    return table


# ---------------------------------------------------------------- header block


def find_header_block(grid: list[list[str | None]]) -> tuple[int, int, list[str], list[str | None]]:
    """(first header row, rows in the header block, header names, sub-header alone per column).

    The header row is the row that looks most like headers (title lines such as "UBND TỈNH …" score 0).
    A second header row (sub-columns under a merged cell) is merged into "top sub"; a row of column numbers
    ("1 2 3 …", "(1) (2) …") right below is part of the block too.
    """
    rows = grid[:HEADER_SCAN_ROWS]
    if not rows:
        return 0, 0, [], []
    scores = [header_row_score(r) for r in rows]
    best = max(range(len(rows)), key=lambda i: (scores[i], -i))
    if scores[best] <= 0:
        best = next((i for i, r in enumerate(rows) if sum(1 for c in r if _filled(c)) >= 2), 0)
    if (
        best > 0
        and sum(1 for c in rows[best - 1] if _filled(c)) >= 2
        and scores[best - 1] >= 0
        and _is_subheader([_clean(c) for c in rows[best - 1]], rows[best])
    ):
        best -= 1  # the recognised row is the lower half of a two-row header
    head = [_clean(c) for c in rows[best]]
    alts: list[str | None] = []
    n_rows = 1
    if best + 1 < len(rows) and _is_subheader(head, rows[best + 1]):
        sub = [_clean(c) for c in rows[best + 1]]
        width = max(len(head), len(sub))
        head += [""] * (width - len(head))
        sub += [""] * (width - len(sub))
        top, combined = "", []
        for h, s in zip(head, sub, strict=True):
            top = h or (top if s else "")
            combined.append(f"{top} {s}".strip() if s else h)
        head = combined
        alts = [s or None for s in sub]
        n_rows = 2
    nxt = best + n_rows
    if nxt < len(rows) and _is_numbering_row(rows[nxt]):
        n_rows += 1
    while head and not head[-1]:
        head.pop()
    alts = (alts + [None] * len(head))[: len(head)]
    return best, n_rows, head, alts


def _filled(cell: object) -> bool:
    return cell is not None and str(cell).strip() != ""


def _clean(cell: object) -> str:
    return re.sub(r"\s+", " ", str(cell).replace("\x00", "")).strip() if _filled(cell) else ""


def _is_subheader(head: list[str], row: list[str | None]) -> bool:
    cells = [_clean(c) for c in row]
    if not any(cells) or any(sum(ch.isdigit() for ch in c) >= 3 for c in cells):
        return False
    under_gap = any(c and (i >= len(head) or not head[i]) and any(head[:i]) for i, c in enumerate(cells))
    return under_gap and sum(1 for c in cells if c) <= max(2, len([h for h in head if h]))


def _is_numbering_row(row: list[str | None]) -> bool:
    cells = [_clean(c) for c in row if _filled(c)]
    return len(cells) >= 3 and all(re.fullmatch(r"\(?(\d{1,2}|[A-Za-z])\)?", c) for c in cells)


def unique_headers(headers: list[str]) -> tuple[list[str], list[str]]:
    """Blank headers become "Cột N"; repeated ones get " (2)", " (3)"…; returns (headers, warnings)."""
    seen: Counter[str] = Counter()
    out, dups = [], []
    for i, h in enumerate(headers):
        name = h or f"Cột {i + 1}"
        seen[name] += 1
        if seen[name] > 1:
            dups.append(name)
            name = f"{name} ({seen[name]})"
        out.append(name)
    warnings = [f"Tên cột bị trùng: '{d}' — đã đổi tên cột lặp thành '{d} (2)'…" for d in dict.fromkeys(dups)]
    return out, warnings


def _duplicate_notes(path: Path, notes: list[str]) -> list[FileMessage]:
    return [warning("FILE_DUPLICATE_HEADERS", f"Tệp {path.name}: {n}", path.name) for n in notes]


# ---------------------------------------------------------------- CSV


_BINARY_MAGIC = (
    b"%PDF",
    b"\x89PNG",
    b"\xff\xd8\xff",
    b"GIF8",
    b"\x1f\x8b",
    b"BZh",
    b"7z\xbc\xaf",
    b"Rar!",
    b"MZ",
)
# bytes that do not occur in text: C0 controls other than TAB, LF, VT, FF, CR; DEL (NUL counts too)
_NON_TEXT = bytes([*range(0, 9), *range(14, 32), 127])
_TEXT_BYTES = bytes(b for b in range(256) if b not in _NON_TEXT)


def _is_binary(sample: bytes) -> bool:
    """A known binary signature, or more than 1% (and more than 16) bytes that never occur in text.

    A few NUL bytes in a text file (a damaged export) do not make it binary: they are stripped from the cells
    they are in (reason NUL_STRIPPED on the row).
    """
    if sample.startswith(_BINARY_MAGIC):
        return True
    non_text = len(sample.translate(None, _TEXT_BYTES))
    return non_text > max(16, 0.01 * len(sample))


def _text_encoding(sample: bytes) -> str | None:
    """The text encoding of a sample (see :func:`detect_encoding`), or None when the sample is binary."""
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    even, odd = sample[0::2], sample[1::2]
    if len(sample) >= 4 and odd.count(0) > 0.3 * len(odd) and even.count(0) < 0.05 * len(even):
        return "utf-16-le"
    if len(sample) >= 4 and even.count(0) > 0.3 * len(even) and odd.count(0) < 0.05 * len(odd):
        return "utf-16-be"
    if _is_binary(sample):
        return None
    try:
        sample.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        if exc.start >= len(sample) - 3 and len(sample) == SAMPLE_BYTES:
            return "utf-8"  # a character cut by the end of the sample
    # mostly valid UTF-8 with a few damaged bytes: still UTF-8 (the damaged cells read as U+FFFD), never
    # the whole file re-read as a legacy code page
    as_utf8 = sample.decode("utf-8", errors="replace")
    bad = as_utf8.count("\ufffd")
    multibyte = sum(1 for ch in as_utf8 if ord(ch) > 127) - bad
    if multibyte >= 20 * bad:
        return "utf-8"
    text = sample.decode("cp1258", errors="replace")
    telltales = sum(1 for ch in text if ch in _TCVN3_TELLTALES)
    return "cp1252" if telltales > 0.02 * max(1, sum(1 for ch in text if ord(ch) > 127)) * 5 else "cp1258"


def detect_encoding(path: Path) -> str:
    """utf-8, utf-16 (Excel "Unicode text"), cp1258 (Windows Vietnamese) or cp1252 (legacy TCVN3 fonts)."""
    with open(path, "rb") as fh:
        sample = fh.read(SAMPLE_BYTES)
    encoding = _text_encoding(sample)
    if encoding is None:
        raise IngestError(
            f"Tệp {path.name} không phải tệp văn bản CSV (nội dung nhị phân): hãy kiểm tra đã gửi đúng tệp, "
            "hoặc xuất lại danh sách ra CSV/Excel.",
            "FILE_BINARY",
        )
    return encoding


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


def sniff_delimiter(text: str) -> str:
    """The separator that splits the sample's lines into the most consistent number of fields."""
    lines = [ln for ln in text.splitlines()[:200] if ln.strip()]
    best, best_score = ",", -1.0
    for delim in (",", ";", "\t", "|"):
        counts = [len(r) for r in csv.reader(lines, delimiter=delim)]
        if not counts:
            continue
        mode, freq = Counter(counts).most_common(1)[0]
        score = (freq / len(counts)) * (mode > 1) * (1 + min(mode, 50) / 100)
        if score > best_score:
            best, best_score = delim, score
    return best


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


def _blocks(fh, size: int, cut_at) -> Iterator[bytes]:
    """A byte stream in pieces of about ``size``, each ending where ``cut_at(buffer)`` says.

    ``cut_at`` returns 0 when the buffer holds no whole unit yet (one row or element longer than ``size``):
    more is read before cutting. The rest after the cut starts the next piece.
    """
    carry = b""
    while True:
        data = fh.read(size)
        buf = carry + data if carry else data
        if not data:
            if buf:
                yield buf
            return
        cut = cut_at(buf)
        if cut == 0:
            carry = buf
            continue
        carry = buf[cut:]
        yield buf[:cut]


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


# ---------------------------------------------------------------- Excel


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


# ---------------------------------------------------------------- XLSX, streamed

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


# ---------------------------------------------------------------- Parquet


def read_parquet(path: Path, batch_rows: int = BATCH_ROWS) -> RawTable:
    """Parquet columns keep their names; every value becomes text (dates ISO, whole floats without .0)."""
    import pyarrow.parquet as pq

    resources = ExitStack()
    try:
        pf = resources.enter_context(pq.ParquetFile(path))
        schema = pl.from_arrow(pf.schema_arrow.empty_table()).schema
    except Exception as exc:
        resources.close()
        raise IngestError(
            f"Tệp {path.name} là Parquet bị hỏng hoặc bị cắt cụt, không đọc được: hãy xuất lại tệp và gửi lại.",
            "FILE_DAMAGED",
        ) from exc
    exprs = []
    for i, (name, dtype) in enumerate(schema.items()):
        c = pl.col(name)
        if dtype == pl.Date:
            e = c.dt.strftime("%Y-%m-%d")
        elif isinstance(dtype, pl.Datetime):
            e = c.dt.strftime("%Y-%m-%d %H:%M:%S").str.replace(_DATETIME_MIDNIGHT, "${1}")
        elif dtype.is_float():
            e = (
                pl.when(c == c.round(0))
                .then(c.cast(pl.Int64, strict=False).cast(pl.String))
                .otherwise(c.cast(pl.String))
            )
        elif dtype == pl.String:
            e = c
        else:
            e = c.cast(pl.String)
        exprs.append(e.alias(f"c{i}"))
    exprs += [pl.lit(None, pl.String).alias(EXTRA), pl.lit(None, pl.String).alias(ISSUES)]
    headers, dups = unique_headers([str(n) for n in schema.names()])
    warnings = _duplicate_notes(path, dups)

    width = len(headers)

    def batches() -> Iterator[pl.DataFrame]:
        """Row group by row group: a damaged group gives its unread rows as unparseable rows (counted from
        the footer), the other groups are read."""
        for group in range(pf.metadata.num_row_groups):
            n_group, done = pf.metadata.row_group(group).num_rows, 0
            try:
                for batch in pf.iter_batches(batch_size=batch_rows, row_groups=[group]):
                    frame = pl.from_arrow(batch)
                    if not isinstance(frame, pl.DataFrame):
                        raise ValueError("not a table")
                    frame = frame.select(exprs)
                    done += frame.height
                    yield frame
            except Exception:
                for k in range(0, n_group - done, batch_rows):
                    lost = empty_batch(width, min(batch_rows, n_group - done - k))
                    yield lost.with_columns(pl.lit(UNPARSEABLE).alias(ISSUES))

    return RawTable(headers, "parquet", batches(), None, 1, warnings=warnings, resources=resources)
