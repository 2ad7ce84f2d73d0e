"""Readers: any CSV (encoding and separator sniffed), XLSX/XLS and Parquet into one all-string table.

Every reader returns a :class:`RawTable`: the data rows below the header block as a polars frame of Utf8
columns ``c0, c1, …`` (one per header) plus ``__extra`` (cells beyond the header width, joined; null when none),
in file order. Problems that make a file unusable raise :class:`IngestError` with a one-line Vietnamese
message naming the file.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import shutil
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from doisoat.ingest.headers import header_row_score

SAMPLE_BYTES = 1 << 20
HEADER_SCAN_ROWS = 30
CHUNK_ROWS = 100_000
EXTRA = "__extra"

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP_MAGIC = b"PK\x03\x04"
_PARQUET_MAGIC = b"PAR1"
_ENCRYPTED_MARK = "EncryptionInfo".encode("utf-16-le")
_TCVN3_TELLTALES = set("§µ¸¶·¹¨©ª«¬®ÒÕÔÞ")
_DATETIME_MIDNIGHT = r"^(\d{4}-\d{2}-\d{2})[ T]00:00:00(\.0+)?$"


class IngestError(Exception):
    """A file cannot be used at all; ``str(exc)`` is the Vietnamese one-line message for people."""


@dataclass
class RawTable:
    """Data rows of one sheet/file as strings, with the header block already removed."""

    frame: pl.DataFrame
    headers: list[str]
    file_format: str  # csv | xlsx | xls | parquet
    sheet: str | None = None
    header_row: int | None = None  # 1-based row of the (last) header line in the file
    encoding: str | None = None
    delimiter: str | None = None
    warnings: list[str] = field(default_factory=list)
    header_alts: list[str | None] = field(default_factory=list)  # sub-header alone, for two-row headers


def col_names(n: int) -> list[str]:
    return [f"c{i}" for i in range(n)]


# ---------------------------------------------------------------- format sniffing


def sniff_format(path: Path) -> str:
    """Format by content (a .csv that is really an XLSX is read as XLSX), falling back to the extension."""
    with open(path, "rb") as fh:
        head = fh.read(8)
    if not head:
        raise IngestError(f"Tệp {path.name} rỗng (0 byte), không có dữ liệu.")
    if head.startswith(_ZIP_MAGIC):
        return "xlsx"
    if head.startswith(_OLE_MAGIC):
        return "xls"
    if head.startswith(_PARQUET_MAGIC):
        return "parquet"
    ext = path.suffix.lower()
    if ext in (".xlsx", ".xlsm"):
        raise IngestError(f"Tệp {path.name} không phải tệp Excel hợp lệ (bị hỏng hoặc bị cắt cụt).")
    if ext == ".parquet":
        raise IngestError(f"Tệp {path.name} không phải tệp Parquet hợp lệ (bị hỏng hoặc bị cắt cụt).")
    return "csv"


def read_table(path: Path, sheet: str | None = None) -> RawTable:
    """Read any supported file into a :class:`RawTable`."""
    fmt = sniff_format(path)
    if fmt in ("xlsx", "xls"):
        table = read_excel(path, sheet, fmt)
        if path.suffix.lower() == ".csv":
            table.warnings.append(
                f"Tệp {path.name} có đuôi .csv nhưng thực chất là tệp Excel; đã đọc như Excel."
            )
        return table
    if fmt == "parquet":
        return read_parquet(path)
    return read_csv(path)


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
    return re.sub(r"\s+", " ", str(cell)).strip() if _filled(cell) else ""


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


# ---------------------------------------------------------------- CSV


def detect_encoding(path: Path) -> str:
    """utf-8, utf-16 (Excel "Unicode text"), cp1258 (Windows Vietnamese) or cp1252 (legacy TCVN3 fonts)."""
    with open(path, "rb") as fh:
        sample = fh.read(SAMPLE_BYTES)
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    even, odd = sample[0::2], sample[1::2]
    if len(sample) >= 4 and odd.count(0) > 0.3 * len(odd) and even.count(0) < 0.05 * len(even):
        return "utf-16-le"
    if len(sample) >= 4 and even.count(0) > 0.3 * len(even) and odd.count(0) < 0.05 * len(odd):
        return "utf-16-be"
    controls = sum(1 for b in sample if b < 9 or 13 < b < 32 or b == 127)
    if b"\x00" in sample or controls > max(2, 0.01 * len(sample)):
        raise IngestError(
            f"Tệp {path.name} không phải tệp văn bản CSV (nội dung nhị phân); hãy kiểm tra lại tệp."
        )
    try:
        sample.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        if exc.start >= len(sample) - 3 and len(sample) == SAMPLE_BYTES:
            return "utf-8"  # a character cut by the end of the sample
    text = sample.decode("cp1258", errors="replace")
    telltales = sum(1 for ch in text if ch in _TCVN3_TELLTALES)
    return "cp1252" if telltales > 0.02 * max(1, sum(1 for ch in text if ord(ch) > 127)) * 5 else "cp1258"


def _latin1_fallback(exc: UnicodeError) -> tuple[str, int]:
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    return exc.object[exc.start : exc.end].decode("latin-1"), exc.end


codecs.register_error("doisoat_latin1", _latin1_fallback)


def transcode_to_utf8(path: Path, encoding: str, out: Path) -> None:
    """Stream ``path`` into UTF-8 at ``out`` in 1 MB chunks (polars reads only UTF-8)."""
    with (
        open(path, encoding=encoding, errors="doisoat_latin1", newline="") as src,
        open(out, "w", encoding="utf-8", newline="") as dst,
    ):
        shutil.copyfileobj(src, dst, 1 << 20)


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


def read_csv(path: Path) -> RawTable:
    """CSV in any of the encodings and separators agencies produce, header found below a title block."""
    encoding = detect_encoding(path)
    tmpdir = None
    src = path
    try:
        if encoding != "utf-8":
            tmpdir = Path(tempfile.mkdtemp(prefix="doisoat_"))
            src = tmpdir / "utf8.csv"
            transcode_to_utf8(path, encoding, src)
        with open(src, "rb") as fh:
            text = fh.read(SAMPLE_BYTES).decode("utf-8", errors="replace").lstrip("\ufeff")
        if not text.strip():
            raise IngestError(f"Tệp {path.name} rỗng, không có dòng nào.")
        delim = sniff_delimiter(text)
        reader = csv.reader(io.StringIO(text), delimiter=delim)
        grid: list[list[str | None]] = []
        line_after: list[int] = []
        for row in reader:
            grid.append(list(row))
            line_after.append(reader.line_num)
            if len(grid) >= HEADER_SCAN_ROWS:
                break
        start, n_rows, raw_headers, alts = find_header_block(grid)
        if not raw_headers:
            raise IngestError(f"Tệp {path.name} không có dòng tiêu đề nào đọc được.")
        headers, warnings = unique_headers(raw_headers)
        skip = line_after[start + n_rows - 1]
        frame = _read_csv_body(src, delim, len(headers), skip)
        if encoding != "utf-8":
            warnings.append(f"Tệp {path.name} dùng bảng mã {encoding.upper()}; đã chuyển sang UTF-8 khi đọc.")
        return RawTable(frame, headers, "csv", None, start + n_rows, encoding, delim, warnings, alts)
    finally:
        if tmpdir is not None:
            shutil.rmtree(tmpdir, ignore_errors=True)


def _read_csv_body(src: Path, delim: str, width: int, skip_lines: int) -> pl.DataFrame:
    """Fast path: polars with a fixed width; rows wider than the header fall back to the csv module."""
    names = col_names(width)
    try:
        frame = pl.read_csv(
            src,
            has_header=False,
            skip_lines=skip_lines,
            separator=delim,
            schema=dict.fromkeys(names, pl.String),
            missing_columns="insert",
            encoding="utf8-lossy",
            quote_char='"',
            raise_if_empty=False,
        )
        return frame.with_columns(pl.lit(None, pl.String).alias(EXTRA))
    except pl.exceptions.ComputeError as exc:
        if "more fields" not in str(exc):
            raise
    return _read_ragged(src, delim, width, skip_lines)


def _read_ragged(src: Path, delim: str, width: int, skip_lines: int) -> pl.DataFrame:
    """Slow path for ragged files: rows streamed in chunks; cells past the header width go to ``__extra``."""
    names = [*col_names(width), EXTRA]
    parts: list[pl.DataFrame] = []
    with open(src, encoding="utf-8", errors="replace", newline="") as fh:
        for _ in range(skip_lines):
            fh.readline()
        reader = csv.reader(fh, delimiter=delim)
        chunk: list[list[str | None]] = []
        for row in reader:
            extra = [c for c in row[width:] if c.strip()]
            cells: list[str | None] = [c if c != "" else None for c in row[:width]]
            cells += [None] * (width - len(cells))
            cells.append(delim.join(extra) if extra else None)
            chunk.append(cells)
            if len(chunk) >= CHUNK_ROWS:
                parts.append(pl.DataFrame(chunk, schema=dict.fromkeys(names, pl.String), orient="row"))
                chunk = []
        if chunk or not parts:
            parts.append(pl.DataFrame(chunk, schema=dict.fromkeys(names, pl.String), orient="row"))
    return pl.concat(parts)


# ---------------------------------------------------------------- Excel


def _excel_error(path: Path, exc: Exception) -> IngestError:
    text = str(exc).lower()
    if "password" in text or "encrypt" in text:
        return IngestError(f"Tệp {path.name} được bảo vệ bằng mật khẩu; hãy gỡ mật khẩu rồi gửi lại.")
    return IngestError(
        f"Tệp {path.name} bị hỏng hoặc không phải tệp Excel hợp lệ (có thể bị cắt cụt khi gửi)."
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


def read_excel(path: Path, sheet: str | None, fmt: str = "xlsx") -> RawTable:
    """First sheet (or the named one); header found below a title block; date cells as ISO dates."""
    import fastexcel

    if fmt == "xls" and _is_encrypted_ole(path):
        raise IngestError(f"Tệp {path.name} được bảo vệ bằng mật khẩu; hãy gỡ mật khẩu rồi gửi lại.")
    try:
        reader = fastexcel.read_excel(str(path))
        names = reader.sheet_names
        if sheet is not None and sheet not in names:
            raise IngestError(
                f"Tệp {path.name} không có trang tính '{sheet}' (các trang: {', '.join(names)})."
            )
        target = sheet if sheet is not None else names[0]
        frame = reader.load_sheet(target, header_row=None, dtypes="string").to_polars()
    except IngestError:
        raise
    except Exception as exc:  # fastexcel raises its own error classes for every kind of damage
        raise _excel_error(path, exc) from exc
    if frame.width == 0 or frame.height == 0:
        raise IngestError(f"Trang tính '{target}' của tệp {path.name} không có dữ liệu.")
    frame = frame.rename(dict(zip(frame.columns, col_names(frame.width), strict=True)))
    frame = frame.with_columns(pl.all().str.replace(_DATETIME_MIDNIGHT, "${1}"))
    grid = [list(r) for r in frame.head(HEADER_SCAN_ROWS).iter_rows()]
    start, n_rows, raw_headers, alts = find_header_block(grid)
    if not raw_headers:
        raise IngestError(f"Trang tính '{target}' của tệp {path.name} không có dòng tiêu đề nào.")
    body = frame.slice(start + n_rows)
    width = len(raw_headers)
    # Columns right of the last header that hold values become named columns "Cột N", not ragged cells.
    filled_right = [
        c for c in body.columns[width:] if body[c].drop_nulls().str.strip_chars().str.len_chars().sum()
    ]
    if filled_right:
        width = int(filled_right[-1][1:]) + 1
        raw_headers = raw_headers + [""] * (width - len(raw_headers))
    body = (
        body.select(col_names(width))
        if body.width >= width
        else body.with_columns([pl.lit(None, pl.String).alias(c) for c in col_names(width)[body.width :]])
    )
    headers, warnings = unique_headers(raw_headers)
    body = body.with_columns(pl.lit(None, pl.String).alias(EXTRA))
    if len(names) > 1 and sheet is None:
        warnings.append(f"Tệp {path.name} có {len(names)} trang tính; đã đọc trang đầu tiên '{target}'.")
    alts = (alts + [None] * width)[:width]
    return RawTable(body, headers, fmt, target, start + n_rows, None, None, warnings, alts)


# ---------------------------------------------------------------- Parquet


def read_parquet(path: Path) -> RawTable:
    """Parquet columns keep their names; every value becomes text (dates ISO, whole floats without .0)."""
    try:
        lf = pl.scan_parquet(path)
        schema = lf.collect_schema()
    except Exception as exc:
        raise IngestError(f"Tệp {path.name} là Parquet bị hỏng, không đọc được.") from exc
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
    try:
        frame = lf.select(exprs).collect()
    except Exception as exc:
        raise IngestError(f"Tệp {path.name} là Parquet bị hỏng, không đọc được.") from exc
    headers, warnings = unique_headers([str(n) for n in schema.names()])
    return RawTable(
        frame.with_columns(pl.lit(None, pl.String).alias(EXTRA)),
        headers,
        "parquet",
        None,
        1,
        warnings=warnings,
    )
