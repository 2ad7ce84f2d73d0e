"""The one table of reason codes: each code names what is wrong, which dimension it affects and how to say it.

Every module that flags a record uses a code from here, so worklists, reports and logs speak one language.
Dimension: ``dung`` (correct), ``du`` (complete), ``sach`` (clean), ``song`` (live), ``ingest`` (quarantine),
``info`` (recorded, not a failure).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Reason:
    code: str
    dimension: str
    vi: str
    en: str
    urgency: int = 50  # lower is more urgent in worklists


_REASONS: tuple[Reason, ...] = (
    # ingest / quarantine
    Reason("NO_NAME", "ingest", "Không có họ tên", "No name at all", 90),
    Reason(
        "NO_IDENTIFIER",
        "ingest",
        "Không có thông tin nào để nhận dạng người",
        "Nothing identifies a person",
        90,
    ),
    Reason(
        "UNREADABLE_REQUIRED",
        "ingest",
        "Giá trị không đọc được ở trường bắt buộc",
        "Unreadable value in a required field",
        90,
    ),
    Reason(
        "RAGGED_ROW",
        "ingest",
        "Dòng có số cột không khớp tiêu đề",
        "Row has a different number of columns than the header",
        90,
    ),
    Reason("EMPTY_ROW", "ingest", "Dòng trống", "Empty row", 95),
    Reason("SCHEMA_CHECK", "ingest", "Giá trị không qua kiểm tra lược đồ", "Value failed a schema check", 90),
    Reason(
        "UNPARSEABLE_ROW",
        "ingest",
        "Dòng không tách được thành các ô (giữ nguyên văn bản gốc)",
        "Row could not be split into cells (raw text kept)",
        90,
    ),
    Reason(
        "NUL_STRIPPED",
        "info",
        "Đã bỏ ký tự NUL (byte 0) trong dòng",
        "NUL bytes removed from the row",
        85,
    ),
    # file level (doisoat.ingest.messages.FileMessage.code): errors, the file is not used
    Reason("FILE_NOT_FOUND", "ingest", "Không tìm thấy tệp", "file not found", 5),
    Reason(
        "FILE_IS_DIRECTORY", "ingest", "Đường dẫn là thư mục, không phải tệp", "a directory, not a file", 5
    ),
    Reason("FILE_NOT_REGULAR", "ingest", "Không phải tệp thông thường", "not a regular file", 5),
    Reason("FILE_NOT_READABLE", "ingest", "Không có quyền đọc tệp", "no permission to read the file", 5),
    Reason("FILE_EMPTY", "ingest", "Tệp rỗng", "the file is empty", 5),
    Reason(
        "FILE_HEADER_ONLY",
        "ingest",
        "Tệp chỉ có dòng tiêu đề, không có dòng dữ liệu",
        "the file has a header row and no data rows",
        5,
    ),
    Reason("FILE_NO_HEADER", "ingest", "Không có dòng tiêu đề", "no header row found", 5),
    Reason(
        "FILE_BINARY", "ingest", "Tệp không phải văn bản (nhị phân)", "binary content, not a text file", 5
    ),
    Reason("FILE_DAMAGED", "ingest", "Tệp bị hỏng hoặc bị cắt cụt", "damaged or truncated file", 5),
    Reason("FILE_ENCRYPTED", "ingest", "Tệp được bảo vệ bằng mật khẩu", "password-protected file", 5),
    Reason(
        "FILE_SHEET_MISSING", "ingest", "Không có trang tính đã chọn", "the sheet asked for is missing", 5
    ),
    Reason(
        "FILE_NOT_EXTRACT", "ingest", "Không nhận ra cột nào của danh sách", "no person column recognised", 5
    ),
    Reason("FILE_WRONG_SECTOR", "ingest", "Tệp có vẻ thuộc lĩnh vực khác", "looks like another sector", 5),
    Reason("FILE_COLUMN_MISSING", "ingest", "Thiếu cột bắt buộc", "a required column is missing", 5),
    Reason("FILE_SECTOR_UNKNOWN", "ingest", "Lĩnh vực chưa được cấu hình", "unknown sector", 5),
    Reason("FILE_UNREADABLE", "ingest", "Không đọc được tệp", "the file could not be read", 5),
    # file level: warnings, the file is used
    Reason(
        "FILE_FORMAT_MISMATCH", "ingest", "Đuôi tệp không khớp nội dung", "the file suffix does not match", 60
    ),
    Reason("FILE_ENCODING", "ingest", "Tệp dùng bảng mã cũ, đã chuyển sang UTF-8", "legacy encoding", 80),
    Reason("FILE_CR_LINE_ENDS", "ingest", "Tệp xuống dòng bằng CR (kiểu Mac cũ)", "CR-only line ends", 80),
    Reason("FILE_HEADERLESS_COLUMN", "ingest", "Có cột không có tiêu đề", "a column without header", 60),
    Reason("FILE_DUPLICATE_HEADERS", "ingest", "Tên cột bị trùng", "repeated column names", 60),
    Reason(
        "FILE_SEVERAL_SHEETS", "ingest", "Tệp có nhiều trang tính", "several sheets: the first was read", 60
    ),
    Reason("FILE_HEADER_NOTE", "ingest", "Ghi chú về nhận dạng cột", "a note on the column mapping", 60),
    Reason("FILE_SECTOR_DOUBT", "ingest", "Cần kiểm tra lĩnh vực đã chọn", "check the sector chosen", 40),
    Reason("FILE_FIELD_ABSENT", "ingest", "Thiếu cột của một trường", "a field's column is absent", 40),
    Reason("FILE_BAD_CHARACTERS", "ingest", "Có ký tự không giải mã được", "undecodable characters", 50),
    Reason(
        "FILE_UNKNOWN_EVENTS", "ingest", "Có loại sự kiện ngoài danh mục", "event types outside the list", 50
    ),
    Reason("FILE_NUL_STRIPPED", "ingest", "Đã bỏ ký tự NUL (byte 0)", "NUL bytes removed", 50),
    Reason("FILE_UNPARSEABLE_ROWS", "ingest", "Có dòng không đọc được", "rows that could not be read", 30),
    Reason(
        "FILE_SEEN_BEFORE", "ingest", "Tệp giống hệt tệp đã nạp trước", "identical to a file seen before", 60
    ),
    # đủ (complete)
    Reason("MISSING_ID", "du", "Thiếu số định danh", "National ID missing", 40),
    Reason("MISSING_BIRTH_DATE", "du", "Thiếu ngày sinh", "Birth date missing", 45),
    Reason("MISSING_SEX", "du", "Thiếu giới tính", "Sex missing", 48),
    Reason("MISSING_COMMUNE", "du", "Thiếu mã xã", "Commune code missing", 48),
    Reason("MISSING_INSURANCE_ID", "du", "Thiếu mã số BHXH", "Social insurance number missing", 45),
    Reason("MISSING_EVENT_DATE", "du", "Thiếu ngày sự kiện", "Event date missing", 46),
    Reason("MISSING_FIELD", "du", "Thiếu trường bắt buộc", "Required field missing", 45),
    Reason("ENRICHABLE", "info", "Có thể bổ sung từ CSDLQG", "Can be filled from the population data", 70),
    # sạch (clean)
    Reason("ID_FORMAT", "sach", "Số định danh sai định dạng", "National ID malformed", 30),
    Reason(
        "ID_PROVINCE_UNKNOWN",
        "sach",
        "Mã tỉnh trong số định danh không tồn tại",
        "Unknown province code in ID",
        30,
    ),
    Reason(
        "ID_EXCEL_DAMAGED",
        "sach",
        "Số định danh bị Excel làm hỏng (dạng 4.9E+10)",
        "ID damaged by Excel (scientific notation)",
        30,
    ),
    Reason(
        "ID_LEADING_ZERO_RESTORED",
        "info",
        "Đã khôi phục số 0 đầu của số định danh",
        "Leading zero of the ID restored",
        80,
    ),
    Reason(
        "ID_BIRTH_YEAR_MISMATCH",
        "sach",
        "Năm sinh mã hoá trong số định danh khác năm sinh",
        "Birth year encoded in the ID differs",
        35,
    ),
    Reason(
        "ID_SEX_MISMATCH",
        "sach",
        "Giới tính mã hoá trong số định danh khác giới tính",
        "Sex encoded in the ID differs",
        35,
    ),
    Reason(
        "INSURANCE_ID_FORMAT", "sach", "Mã số BHXH/thẻ BHYT sai định dạng", "Insurance number malformed", 35
    ),
    Reason("PHONE_FORMAT", "sach", "Số điện thoại sai định dạng", "Phone number malformed", 60),
    Reason(
        "PHONE_RENUMBERED",
        "info",
        "Số điện thoại 11 số đã chuyển sang 10 số",
        "11-digit phone renumbered",
        85,
    ),
    Reason("DATE_INVALID", "sach", "Ngày không hợp lệ", "Impossible date", 35),
    Reason("DATE_FUTURE", "sach", "Ngày ở tương lai", "Date in the future", 35),
    Reason("DATE_TOO_OLD", "sach", "Ngày trước năm 1890", "Date before 1890", 35),
    Reason("DATE_UNPARSEABLE", "sach", "Không đọc được ngày", "Date cannot be read", 35),
    Reason(
        "DATE_PARTIAL",
        "sach",
        "Ngày thiếu ngày/tháng (cần đủ ngày)",
        "Date lacks the day (a full date is needed)",
        40,
    ),
    Reason(
        "DATE_SENTINEL",
        "sach",
        "Ngày giữ chỗ do phần mềm ghi thay cho ngày không biết (như 30/12/1899, 00/01/1900)",
        "Placeholder date written for an unknown date (e.g. Excel's day zero 1899-12-30)",
        35,
    ),
    Reason(
        "DATE_LUNAR",
        "sach",
        "Ngày âm lịch không quy đổi được sang dương lịch (chỉ có năm, tháng 11–12, hoặc ngày không có)",
        "Lunar-calendar date that cannot be converted (year only, month 11–12, or no such day)",
        35,
    ),
    Reason(
        "DATE_LUNAR_CONVERTED",
        "info",
        "Ngày âm lịch đã quy đổi sang dương lịch",
        "Lunar-calendar date converted to the solar calendar",
        80,
    ),
    Reason(
        "DATE_WEEKDAY_MISMATCH",
        "info",
        "Thứ ghi kèm không khớp với ngày",
        "The weekday written with the date does not match it",
        80,
    ),
    Reason("DATE_DM_AMBIGUOUS", "info", "Ngày và tháng có thể bị đảo", "Day and month may be swapped", 85),
    Reason("SEX_UNKNOWN", "sach", "Giới tính không xác định", "Sex value not recognised", 50),
    Reason(
        "NAME_ENCODING_REPAIRED",
        "info",
        "Đã sửa lỗi mã hoá tiếng Việt của họ tên",
        "Legacy encoding of the name repaired",
        80,
    ),
    Reason(
        "NAME_INVALID_CHARS", "sach", "Họ tên chứa ký tự không hợp lệ", "Name contains invalid characters", 55
    ),
    Reason("COMMUNE_UNKNOWN", "sach", "Mã xã không tồn tại", "Unknown commune code", 50),
    # An address that names no commune, or a name several units of the province share with nothing in the text
    # to tell them apart: no commune is guessed (doisoat.normalize.addresses). A note: where the sector requires
    # the commune, MISSING_COMMUNE fails đủ.
    Reason(
        "ADDRESS_COMMUNE_UNRESOLVED",
        "info",
        "Địa chỉ không xác định được xã",
        "The address does not determine the commune",
        58,
    ),
    Reason("DUPLICATE_RECORD", "sach", "Trùng bản ghi", "Duplicate record", 20),
    # đúng (correct)
    Reason("NOT_IN_REFERENCE", "dung", "Không tìm thấy trong CSDLQG", "Not found in the population data", 15),
    Reason("NEEDS_REVIEW", "dung", "Cần xác minh: khớp chưa chắc chắn", "Uncertain match: needs review", 12),
    Reason("AMBIGUOUS_MATCH", "dung", "Khớp với nhiều người trong CSDLQG", "Matches several people", 12),
    Reason(
        "ID_DIFFERS", "dung", "Số định danh khác CSDLQG", "National ID differs from the population data", 10
    ),
    # the record's ID is held by another reference person whose name and birth date disagree with the record (a
    # parent's, spouse's, guardian's: the match output's agree_id = "other_person", doisoat.match.compare)
    Reason(
        "ID_OF_OTHER_PERSON",
        "dung",
        "Số định danh của người khác",
        "National ID belongs to another person in the population data",
        10,
    ),
    Reason("NAME_DIFFERS", "dung", "Họ tên khác CSDLQG", "Name differs from the population data", 10),
    Reason(
        "BIRTH_DATE_DIFFERS",
        "dung",
        "Ngày sinh khác CSDLQG",
        "Birth date differs from the population data",
        10,
    ),
    Reason("SEX_DIFFERS", "dung", "Giới tính khác CSDLQG", "Sex differs from the population data", 10),
    # sống (live)
    Reason("PAID_AFTER_DEATH", "song", "Đã chết nhưng còn chi trả", "Paid after death", 1),
    Reason("ACTIVITY_AFTER_DEATH", "song", "Đã chết nhưng còn phát sinh dữ liệu", "Activity after death", 2),
    Reason("INSURED_AFTER_DEATH", "song", "Đã chết nhưng còn tham gia bảo hiểm", "Insured after death", 2),
    Reason("DOSE_AFTER_DEATH", "song", "Đã chết nhưng còn mũi tiêm", "Vaccine dose after death", 2),
    Reason(
        "OLD_ID_ONLY", "song", "Còn dùng CMND 9 số đã thay bằng số định danh", "Superseded 9-digit CMND", 55
    ),
    # A pre-2025 code that maps to one current unit is still "sống" (DOMAIN §2: "or mappable to them"); it is
    # noted so the agency converts it (the enriched extract carries the current code).
    Reason(
        "OLD_COMMUNE_CODE",
        "info",
        "Mã xã cũ chưa chuyển đổi (đã quy đổi được sang mã mới)",
        "Pre-2025 commune code not converted (maps to a current unit)",
        60,
    ),
    Reason(
        "OLD_COMMUNE_PARTLY_MERGED",
        "info",
        "Xã cũ chỉ nhập một phần vào xã mới này (theo bảng chuyển đổi của Tổng cục Thống kê)",
        "Old commune only partly merged into this new unit (statistics office's conversion table)",
        65,
    ),
    Reason(
        "COMMUNE_SPLIT_AMBIGUOUS",
        "song",
        "Xã cũ bị chia tách, chưa xác định được xã mới",
        "Old commune split: new unit unknown",
        58,
    ),
    Reason(
        "RESIDENCE_DIFFERS",
        "song",
        "Nơi cư trú khác CSDLQG",
        "Residence differs from the population data",
        62,
    ),
)

REASONS: dict[str, Reason] = {r.code: r for r in _REASONS}


def message(code: str, lang: str = "vi") -> str:
    """The people-facing text of a reason code (Vietnamese by default)."""
    reason = REASONS[code]
    return reason.vi if lang == "vi" else reason.en


def dimension(code: str) -> str:
    return REASONS[code].dimension


def codes_for(dim: str) -> list[str]:
    return [r.code for r in _REASONS if r.dimension == dim]
