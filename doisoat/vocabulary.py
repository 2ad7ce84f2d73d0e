"""The words every stage shares: result statuses and what people call them (one place; issue 12)."""

from __future__ import annotations

RESULT_STATUSES: tuple[str, ...] = ("matched", "review", "unmatched", "duplicate", "quarantined")

STATUS_LABELS: dict[str, dict[str, str]] = {
    "vi": {
        "matched": "Khớp",
        "review": "Cần xác minh",
        "unmatched": "Không tìm thấy",
        "duplicate": "Trùng",
        "quarantined": "Bị cách ly",
    },
    "en": {
        "matched": "Matched",
        "review": "Needs review",
        "unmatched": "Not found",
        "duplicate": "Duplicate",
        "quarantined": "Quarantined",
    },
}
