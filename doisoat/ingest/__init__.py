"""Read sector extracts safely: readers, header recognition, pandera validation, quarantine and lineage."""

from doisoat.ingest.core import (
    IngestResult,
    file_sha256,
    format_mapping,
    ingest_file,
    ingest_files,
)
from doisoat.ingest.headers import map_headers, normalize_header, score_header
from doisoat.ingest.messages import ERROR, WARNING, FileMessage
from doisoat.ingest.readers import IngestError, RawTable, read_table

__all__ = [
    "ERROR",
    "WARNING",
    "FileMessage",
    "IngestError",
    "IngestResult",
    "RawTable",
    "file_sha256",
    "format_mapping",
    "ingest_file",
    "ingest_files",
    "map_headers",
    "normalize_header",
    "read_table",
    "score_header",
]
