"""File-level messages of ingest: what people are told about a file, with a severity and a reason code.

``error``: the file was not used (no row of it reaches the results); ``warning``: the file was used, and
something about it should be checked. The text is Vietnamese and names the file (and the row or column where
that helps) and what to do; ``text_en`` is an English line built from the code's message in
:mod:`doisoat.reasons`. Texts never hold personal values (names, IDs, birth dates).
"""

from __future__ import annotations

from dataclasses import dataclass

from doisoat.reasons import REASONS

ERROR = "error"
WARNING = "warning"


@dataclass(frozen=True)
class FileMessage:
    severity: str  # ERROR | WARNING
    code: str  # a FILE_* code of doisoat.reasons
    text: str  # Vietnamese, for people
    source_file: str = ""
    row: int | None = None  # 1-based row of the file, when the message is about one
    column: str | None = None  # the column's header, when the message is about one

    def __post_init__(self) -> None:
        assert self.severity in (ERROR, WARNING), self.severity
        assert self.code in REASONS, self.code

    @property
    def text_en(self) -> str:
        where = f"File {self.source_file}" if self.source_file else "File"
        if self.row is not None:
            where += f", row {self.row}"
        if self.column:
            where += f", column '{self.column}'"
        return f"{where}: {REASONS[self.code].en}."

    def as_dict(self) -> dict:
        """For the manifest and artifacts (JSON)."""
        return {
            "severity": self.severity,
            "code": self.code,
            "text": self.text,
            "text_en": self.text_en,
            "source_file": self.source_file,
            "row": self.row,
            "column": self.column,
        }


def error(code: str, text: str, source_file: str = "", **kw) -> FileMessage:
    return FileMessage(ERROR, code, text, source_file, **kw)


def warning(code: str, text: str, source_file: str = "", **kw) -> FileMessage:
    return FileMessage(WARNING, code, text, source_file, **kw)
