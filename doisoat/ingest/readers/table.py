"""``read_table``: any extract file → a :class:`RawTable`, by the format its content shows."""

from __future__ import annotations

from pathlib import Path

from doisoat.ingest.messages import warning
from doisoat.ingest.readers.base import BATCH_ROWS, RawTable
from doisoat.ingest.readers.delimited import read_csv
from doisoat.ingest.readers.parquet import read_parquet
from doisoat.ingest.readers.sniff import _FORMAT_LABELS, _SUFFIX_FORMATS, sniff_format
from doisoat.ingest.readers.workbook import read_excel


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
