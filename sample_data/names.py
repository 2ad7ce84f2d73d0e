"""Name distributions for the synthetic province (Quảng Nam / Đà Nẵng).

Surname shares follow DOMAIN.md §4 (fourteen surnames ≈ 88,7 %); Hoàng/Huỳnh and Vũ/Võ are split the central-
Vietnam way (Huỳnh and Võ dominate). The rest goes to other Kinh surnames, compound family names and the ethnic-
minority names of the highland communes. Given names are written in the new tone style (Hoà, Thuỷ): the generator's
old-tone error turns them into the style most extracts still use.
"""

from __future__ import annotations

# (surname, share in %) — DOMAIN.md §4. Pairs that DOMAIN gives together are split here.
MAIN_SURNAMES: tuple[tuple[str, float], ...] = (
    ("Nguyễn", 38.0),
    ("Trần", 11.0),
    ("Lê", 9.5),
    ("Phạm", 7.1),
    ("Huỳnh", 3.6),
    ("Hoàng", 1.5),
    ("Phan", 4.5),
    ("Võ", 2.9),
    ("Vũ", 1.0),
    ("Đặng", 2.1),
    ("Bùi", 2.0),
    ("Đỗ", 1.4),
    ("Hồ", 1.3),
    ("Ngô", 1.3),
    ("Dương", 1.0),
    ("Lý", 0.5),
)

# DOMAIN §4 shares by surname group, for tests: {group: share}.
DOMAIN_SHARES: dict[tuple[str, ...], float] = {
    ("Nguyễn",): 38.0,
    ("Trần",): 11.0,
    ("Lê",): 9.5,
    ("Phạm",): 7.1,
    ("Hoàng", "Huỳnh"): 5.1,
    ("Phan",): 4.5,
    ("Vũ", "Võ"): 3.9,
    ("Đặng",): 2.1,
    ("Bùi",): 2.0,
    ("Đỗ",): 1.4,
    ("Hồ",): 1.3,
    ("Ngô",): 1.3,
    ("Dương",): 1.0,
    ("Lý",): 0.5,
}

OTHER_SURNAMES: tuple[str, ...] = (
    "Đinh", "Trương", "Lương", "Mai", "Đoàn", "Cao", "Lâm", "Hà", "Tô", "Tạ", "Châu", "Thái", "Văn", "Kiều",
    "Lưu", "La", "Quách", "Từ", "Phùng", "Triệu", "Đào", "Trịnh", "Nông", "Lại", "Chu", "Khúc", "Âu", "Mạc",
    "Thân", "Ông", "Đàm", "Doãn", "Hứa", "Diệp", "Tăng", "Nghiêm", "Giang", "Lò", "Vương", "Tiêu",
)
COMPOUND_SURNAMES: tuple[str, ...] = ("Tôn Thất", "Nguyễn Phúc", "Nguyễn Phước")
COMPOUND_SURNAMES_FEMALE: tuple[str, ...] = ("Tôn Nữ", "Công Tằng Tôn Nữ")
OTHER_SHARE = 8.3  # other Kinh surnames, % of everyone
COMPOUND_SHARE = 0.4  # compound family names, %
ETHNIC_SHARE = 2.6  # ethnic-minority names (Cơ Tu, Xơ Đăng, Giẻ Triêng), %, all in highland communes

# Ethnic-minority family names of the Quảng Nam highlands; apostrophes and f/j/w/z letters are kept.
ETHNIC_SURNAMES: tuple[str, ...] = (
    "A Lăng", "Bh'riu", "Zơ Râm", "Pơloong", "Alăng", "Briu", "Clâu", "Coor", "Bling", "Ating", "Arất",
    "Hồ", "Đinh", "Zrâm", "Bhling", "Pơ Loong", "Blúp", "Hiên", "Tơ Ngôl", "Ríah",
)
ETHNIC_GIVEN: tuple[str, ...] = (
    "Pố", "Liếc", "Nhí", "Bhơ", "Zing", "Ngeo", "Crơ", "Blao", "Đoan", "Hiếu", "Ka", "Bh'nướch", "Pất",
    "Jâu", "Wer", "Lành", "Thiên", "Rấp", "Tấc", "Quyn", "Ruôi", "Blủi", "Zơ", "Hương", "Dung", "Mưih",
)

MIDDLE_MALE: tuple[tuple[str, float], ...] = (
    ("Văn", 46.0), ("Đức", 7.0), ("Hữu", 7.0), ("Minh", 7.0), ("Công", 5.0), ("Quang", 5.0), ("Thanh", 4.0),
    ("Xuân", 3.5), ("Ngọc", 3.0), ("Tấn", 3.0), ("Bá", 2.0), ("Anh", 2.0), ("Quốc", 2.0), ("Đình", 1.5),
    ("Trọng", 1.0), ("", 2.0),
)
MIDDLE_FEMALE: tuple[tuple[str, float], ...] = (
    ("Thị", 62.0), ("Ngọc", 7.0), ("Thanh", 4.0), ("Thu", 4.0), ("Minh", 3.0), ("Kim", 4.0), ("Xuân", 3.0),
    ("Phương", 2.5), ("Hoài", 2.0), ("Mỹ", 2.0), ("Bảo", 2.0), ("Thuỳ", 2.0), ("Diệu", 1.0), ("", 1.5),
)
# A second middle word for some people ("Nguyễn Thị Thu Hà"); the first word stays Văn/Thị.
SECOND_MIDDLE_MALE: tuple[str, ...] = ("Minh", "Quốc", "Hoàng", "Thanh", "Ngọc", "Đức", "Anh")
SECOND_MIDDLE_FEMALE: tuple[str, ...] = ("Thu", "Thanh", "Ngọc", "Mỹ", "Kim", "Hồng", "Bích", "Thuỳ", "Phương")
SECOND_MIDDLE_SHARE = 0.12

GIVEN_MALE: tuple[str, ...] = (
    "Hùng", "Dũng", "Tuấn", "Minh", "Nam", "Hải", "Long", "Sơn", "Thành", "Huy", "Hoà", "Phúc", "Quang", "Trung",
    "Tâm", "Thắng", "Cường", "Đức", "Hiếu", "Khoa", "Toàn", "Thuận", "Tài", "Phong", "Bình", "An", "Hoàng", "Kiên",
    "Lâm", "Lộc", "Lợi", "Nghĩa", "Nhân", "Phát", "Phước", "Quân", "Quý", "Sang", "Tân", "Thái", "Thiện", "Thịnh",
    "Tiến", "Trí", "Trọng", "Tú", "Tùng", "Vinh", "Việt", "Vũ", "Duy", "Đạt", "Định", "Đông", "Giang", "Hào",
    "Hậu", "Hiển", "Hiệp", "Hoan", "Hưng", "Khải", "Khang", "Khánh", "Khôi", "Kỳ", "Lực", "Mạnh", "Nguyên",
    "Nhật", "Ninh", "Pháp", "Phương", "Quyết", "Sĩ", "Tín", "Toản", "Triều", "Trường", "Tuyên", "Tường", "Uy",
    "Văn", "Vĩnh", "Vỹ", "Xuân", "Bảo", "Cảnh", "Chiến", "Chính", "Công", "Danh", "Diệu", "Dương", "Điền",
    "Hạnh", "Hậu", "Hoà", "Hoạt", "Huấn", "Huỳnh", "Khiêm", "Khương", "Lạc", "Lành", "Lập", "Luân", "Luật",
    "Mẫn", "Mỹ", "Nhạn", "Nhơn", "Phụng", "Quảng", "Quốc", "Sáng", "Sỹ", "Tạo", "Thạch", "Thanh", "Thao",
    "Thuỷ", "Thuý", "Thức", "Tịnh", "Toại", "Tốt", "Trà", "Trình", "Trực", "Tuệ", "Tuỳ", "Vương", "Xoan",
    "Khoái", "Ngoạn", "Quyền", "Hoá", "Thoại", "Doanh", "Tuyến", "Hoành", "Thuyết", "Khuê",
    "Anh", "Bách", "Châu", "Đăng", "Hảo", "Hoàn", "Kha", "Nhựt", "Sinh", "Thống", "Tiên", "Vỵ",
)
GIVEN_FEMALE: tuple[str, ...] = (
    "Lan", "Hương", "Hoa", "Mai", "Hà", "Linh", "Trang", "Thảo", "Ngọc", "Nhung", "Hằng", "Thuỷ", "Hoà", "Thuý",
    "Loan", "Xoan", "Tuyết", "Phượng", "Vân", "Yến", "Anh", "Hạnh", "Hiền", "Huyền", "Lệ", "Liên", "Liễu", "Ly",
    "My", "Mỹ", "Nga", "Nguyệt", "Nhi", "Như", "Oanh", "Phương", "Quyên", "Quỳnh", "Sương", "Tâm", "Thanh",
    "Thu", "Thư", "Tiên", "Trâm", "Trinh", "Uyên", "Vy", "Xuân", "Ánh", "Bích", "Châu", "Chi", "Diễm", "Diệp",
    "Dung", "Duyên", "Đào", "Giang", "Hậu", "Hiên", "Hồng", "Huệ", "Khánh", "Kiều", "Lài", "Lành", "Lựu", "Mận",
    "Minh", "Mơ", "Na", "Nương", "Nhàn", "Nhạn", "Nhiên", "Nhị", "Nhuần", "Nữ", "Phúc", "Quế", "Sen", "Sinh",
    "Tầm", "Thắm", "Thêu", "Thoa", "Thơ", "Thuận", "Thương", "Tình", "Trà", "Trúc", "Tú", "Tươi", "Vi", "Việt",
    "Vinh", "Quý", "Hoài", "Khuê", "Kim", "Lam", "Lụa", "Mừng", "Ngân", "Ngà", "Nhẫn", "Phấn", "Quyến", "Thi",
    "Thoả", "Thuỳ", "Toàn", "Tuyền", "Vỹ", "Xuyến", "Bảo", "Cúc", "Đoan", "Gấm", "Hạ", "Hảo", "Hoè", "Khoa",
    "Lợi", "Mến", "Nghĩa", "Ngoan", "Nhàng", "Phụng", "Quyên", "Son", "Sa", "Tài", "Thiện", "Thuyên", "Tuệ",
    "Ý", "Hoàn", "Khoẻ", "Hoan", "Thuý", "Ngoạn", "Huỳnh", "Thy", "Kỳ", "Lý", "Mĩ", "Diệu", "Bình", "An",
)

# Given names of twins: pairs parents like (same sex or not).
TWIN_PAIRS: tuple[tuple[str, str], ...] = (
    ("Long", "Phụng"), ("Long", "Lân"), ("Phúc", "Lộc"), ("Đức", "Tài"), ("Hoa", "Hương"), ("Thảo", "Trang"),
    ("An", "Khang"), ("Minh", "Mẫn"), ("Kim", "Ngân"), ("Thành", "Đạt"),
)

# i/y spellings a clerk may swap (DOMAIN §4: equivalent with penalty).
IY_VARIANTS: dict[str, str] = {
    "Lý": "Lí", "Mỹ": "Mĩ", "Mĩ": "Mỹ", "Vỹ": "Vĩ", "Quý": "Quí", "Kỳ": "Kì", "Ly": "Li", "Vy": "Vi", "Thy": "Thi",
    "Sỹ": "Sĩ", "Sĩ": "Sỹ", "Vỵ": "Vị", "Ý": "Í", "Uy": "Ui", "Duy": "Dui", "Huy": "Hui",
}
# Central-Vietnam taboo pairs (DOMAIN §4): both forms occur for the same person.
SURNAME_VARIANTS: dict[str, str] = {"Hoàng": "Huỳnh", "Huỳnh": "Hoàng", "Vũ": "Võ", "Võ": "Vũ"}

# Communes of the highlands (Tây Giang, Đông Giang, Nam Giang, Phước Sơn, Bắc/Nam Trà My ...): ethnic names here.
HIGHLAND_COMMUNE_WORDS: tuple[str, ...] = (
    "Tây Giang", "Avương", "Đông Giang", "Sông Kôn", "Sông Vàng", "Bến Hiên", "Hùng Sơn", "La Êê", "La Dêê",
    "Nam Giang", "Bến Giằng", "Đắc Pring", "Khâm Đức", "Phước", "Trà ", "Thạnh Mỹ",
)


def surname_table() -> tuple[list[str], list[float], list[str]]:
    """All surnames with their share (%) and sex restriction ('', 'F'); ethnic names come as one bucket."""
    names: list[str] = [s for s, _ in MAIN_SURNAMES]
    shares: list[float] = [p for _, p in MAIN_SURNAMES]
    sexes: list[str] = [""] * len(names)
    for s in OTHER_SURNAMES:
        names.append(s)
        shares.append(OTHER_SHARE / len(OTHER_SURNAMES))
        sexes.append("")
    for s in COMPOUND_SURNAMES:
        names.append(s)
        shares.append(COMPOUND_SHARE * 0.6 / len(COMPOUND_SURNAMES))
        sexes.append("")
    for s in COMPOUND_SURNAMES_FEMALE:
        names.append(s)
        shares.append(COMPOUND_SHARE * 0.4 / len(COMPOUND_SURNAMES_FEMALE))
        sexes.append("F")
    return names, shares, sexes


def zipf_weights(n: int, s: float = 0.9) -> list[float]:
    """Given-name popularity: a few very common names, a long tail."""
    return [1.0 / (k + 1) ** s for k in range(n)]
