"""What a file is, from its content: its format (ZIP → XLSX, OLE → XLS, ``PAR1`` → Parquet, text → CSV), whether
it is binary, its text encoding and its separator."""

from __future__ import annotations

import codecs
import csv
from collections import Counter
from pathlib import Path

from doisoat.ingest.readers.base import SAMPLE_BYTES, IngestError

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP_MAGIC = b"PK\x03\x04"
_PARQUET_MAGIC = b"PAR1"
_TCVN3_TELLTALES = set("§µ¸¶·¹¨©ª«¬®ÒÕÔÞ")
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
