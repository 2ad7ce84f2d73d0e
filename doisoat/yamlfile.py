"""One reader for the YAML configuration files people edit (gate thresholds, report heading)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from doisoat.errors import DoisoatError


def read_mapping(path: Path, what: str) -> dict[str, Any]:
    """The file's top-level mapping; a missing, unreadable or malformed file is one message naming it.

    ``what``: the file's kind in Vietnamese, e.g. "cấu hình kiểm tra".
    """
    import yaml

    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise DoisoatError(f"Không tìm thấy tệp {what} '{path}'") from None
    except OSError as exc:
        raise DoisoatError(f"Không đọc được tệp {what} '{path}': {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        raise DoisoatError(f"Tệp {what} '{path}' không đúng cú pháp YAML: {exc}") from None
    if not isinstance(data, dict):
        raise DoisoatError(f"Tệp {what} '{path}' phải là các cặp khóa: giá trị.")
    return data
