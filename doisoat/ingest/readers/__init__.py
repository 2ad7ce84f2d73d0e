"""Readers: any CSV (encoding and separator sniffed), XLSX/XLS and Parquet into one all-string table, in batches.

Every reader returns a :class:`RawTable`: the headers found in the first rows, and the data rows below the
header block as an iterator of polars frames of at most about ``batch_rows`` rows (Utf8 columns ``c0, c1, …``,
one per header, plus ``__extra``: cells beyond the header width, joined; null when none), in file order. Files
are read lazily, so memory does not grow with the file: CSV by byte ranges cut at row ends, XLSX by streaming
the sheet XML (parsed a few MB at a time by polars string expressions), Parquet by record batches. Problems
that make a file unusable raise :class:`IngestError` with a one-line Vietnamese message naming the file (from
``read_table``, or while the batches are read for damage found further in).

One module per format (``delimited``, ``workbook``, ``parquet``) over what they share (``base``) and what a file
is (``sniff``); ``table.read_table`` chooses among them.
"""

from doisoat.ingest.readers.base import (
    BATCH_ROWS,
    EXTRA,
    ISSUES,
    UNPARSEABLE,
    IngestError,
    RawTable,
    empty_batch,
)
from doisoat.ingest.readers.delimited import read_csv
from doisoat.ingest.readers.parquet import read_parquet
from doisoat.ingest.readers.sniff import detect_encoding, sniff_format
from doisoat.ingest.readers.table import read_table
from doisoat.ingest.readers.workbook import read_excel

__all__ = [
    "BATCH_ROWS",
    "EXTRA",
    "ISSUES",
    "UNPARSEABLE",
    "IngestError",
    "RawTable",
    "detect_encoding",
    "empty_batch",
    "read_csv",
    "read_excel",
    "read_parquet",
    "read_table",
    "sniff_format",
]
