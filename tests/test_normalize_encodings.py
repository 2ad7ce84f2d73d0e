"""Legacy encodings and typing artefacts: exact round trips on the whole alphabet, detection, careful repair."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from doisoat.normalize.encodings import (
    detect_encoding,
    from_mojibake,
    from_tcvn3,
    from_telex,
    from_viqr,
    from_vni,
    from_vni_digits,
    is_vietnamese_syllable,
    repair,
    to_mojibake,
    to_mojibake_cp1250,
    to_mojibake_latin1,
    to_new_tone_style,
    to_nfd,
    to_old_tone_style,
    to_tcvn3,
    to_telex,
    to_viqr,
    to_vni,
    to_vni_digits,
)

_MARKS = ["", "\u0301", "\u0300", "\u0309", "\u0303", "\u0323"]
_BASES = ["a", "ă", "â", "e", "ê", "i", "o", "ô", "ơ", "u", "ư", "y"]
LOWER = [unicodedata.normalize("NFC", b + m) for b in _BASES for m in _MARKS]
UPPER = [c.upper() for c in LOWER]
ALPHABET = LOWER + UPPER + ["đ", "Đ"]

NAMES = [
    "Nguyễn Thị Hoà",
    "Trần Văn Đức",
    "Lê Thị Thuỷ",
    "Phạm Quốc Khánh",
    "Huỳnh Ngọc Ánh",
    "Võ Thị Mỹ Lệ",
    "Đặng Văn Trường",
    "Bùi Thị Nguyệt",
    "Đỗ Hữu Nghĩa",
    "Hồ Thị Xuân Hương",
    "Ngô Quang Huy",
    "Dương Thị Khuyên",
    "Lý Quý Tưởng",
    "Tôn Nữ Diễm Kiều",
    "Nguyễn Phước Bửu Lộc",
    "Phan Thị Ỷ Lan",
    "Trương Công Quyền",
    "Châu Thị Ngoãn",
    "Hoàng Ưng Duệ",
    "Lương Thị Yến Oanh",
    "Vũ Đình Thưởng",
]


def test_tcvn3_matches_the_documented_examples():
    assert to_tcvn3("Nguyễn Thị Hoà") == "NguyÔn ThÞ Hoµ"
    assert to_tcvn3("Trần Văn Đức") == "TrÇn V¨n §øc"
    assert to_tcvn3("Đà Nẵng") == "§µ N½ng"
    assert from_tcvn3("TrÇn V¨n §øc") == "Trần Văn Đức"


def test_tcvn3_round_trips_every_lower_case_letter_and_the_capitals_it_has():
    for ch in LOWER + ["đ", "Đ", "Ă", "Â", "Ê", "Ô", "Ơ", "Ư"]:
        assert from_tcvn3(to_tcvn3(ch)) == ch


def test_tcvn3_toned_capitals_come_back_lower_case():
    for low, up in zip(LOWER, UPPER, strict=True):
        assert from_tcvn3(to_tcvn3(up)) == (up if up in "AĂÂEÊIOÔƠUƯY" else low)
    assert from_tcvn3(to_tcvn3("NGUYỄN")) == "NGUYễN"


def test_vni_round_trips_every_letter_both_cases():
    for ch in ALPHABET:
        assert from_vni(to_vni(ch)) == ch
    assert to_vni("Xin chào các bạn") == "Xin chaøo caùc baïn"
    assert from_vni("Xin chaøo caùc baïn") == "Xin chào các bạn"


def test_mojibake_round_trips_every_letter_including_undefined_cp1252_bytes():
    for ch in ALPHABET:
        assert from_mojibake(to_mojibake(ch)) == ch
    assert to_mojibake("Nguyễn Thị Hoà") == "Nguyá»…n Thá»‹ HoÃ\xa0"


def test_mojibake_repair_survives_no_break_space_turned_into_space():
    assert from_mojibake("HoÃ ng") == "Hoàng"


def test_telex_and_vni_digits_round_trip_every_letter_as_a_syllable():
    for ch in ALPHABET:
        # ă and â only occur before a final consonant, a lone y never does
        word = ch + "a" if ch in "đĐ" else ch if ch.lower() in LOWER[-6:] else ch + "n"
        assert from_telex(to_telex(word)) == word
        assert from_vni_digits(to_vni_digits(word)) == word


def test_telex_and_vni_digits_examples():
    assert to_telex("Nguyễn") == "Nguyeenx"
    assert to_vni_digits("Nguyễn") == "Nguyen64"
    assert from_telex("Nguyeenx Thij Hoaf") == "Nguyễn Thị Hoà"
    assert from_telex("Hoaf", style="old") == "Hòa"
    assert from_telex("Truwowngf") == "Trường"
    assert from_vni_digits("Tran62 Van8 D9uc71") == "Trần Văn Đức"


def test_nfd_and_tone_styles():
    assert to_nfd("ễ") == "e\u0302\u0303"
    assert to_new_tone_style("Hòa Thủy Khỏe Hoàng Quý") == "Hoà Thuỷ Khoẻ Hoàng Quý"
    assert to_old_tone_style("Hoà Thuỷ Khoẻ Toán Thuý") == "Hòa Thủy Khỏe Toán Thúy"


@pytest.mark.parametrize("name", NAMES)
def test_every_corruption_of_a_name_is_detected_and_repaired(name):
    new = to_new_tone_style(name)
    assert detect_encoding(name) is None
    assert repair(name) == (name, None)
    cases = {
        "nfd": to_nfd(name),
        "mojibake": to_mojibake(name),
        "tcvn3": to_tcvn3(name),
        "vni": to_vni(name),
        "telex": to_telex(name),
        "vni_digits": to_vni_digits(name),
    }
    for kind, corrupted in cases.items():
        fixed, found = repair(corrupted)
        assert found == kind, (kind, corrupted)
        if kind in ("tcvn3", "vni"):
            # alone, "Phan Thò YÛ Lan" may be a Unicode name with one VNI word: the file's encoding settles it
            fixed, found = repair(corrupted, hint=kind)
            assert found == kind
        if kind == "tcvn3":  # toned capitals have no TCVN3 code: they come back lower case
            assert to_new_tone_style(fixed).lower() == new.lower()
        else:
            assert to_new_tone_style(fixed) == new


@pytest.mark.parametrize(
    "plain",
    [
        "Nguyen Van An",
        "Le Thi Hoa",
        "Tran Thi Mai",
        "Ho Chi Minh",
        "Thomas Nguyen",
        "Bh'riu",
        "Pơloong",
        "Zơ Râm",
        "A Lăng",
        "Hoà",
        "NGUYEN VAN AN",
        "Pham Xuan Son",
        "Y Ksor",
        "Nguyen Van 2",
        "12345",
        "Coor Blao",
        "Coor Dung",
        "Y Moan Ênuôl",
        "H'Hen Niê",
        "Ksor H'Bliêng",
        "Rơ Châm Thị Pết",
        "Marie-Hélène Trần",
        "Müller Lê",
        "José Phạm",
        "Nguyễn Thị Hòang",
        "Le Thi A.",
        "Y'Bhin",
    ],
)
def test_plain_or_minority_names_are_not_repaired(plain):
    assert detect_encoding(plain) is None
    assert repair(plain) == (plain, None)


def test_syllable_check_knows_tone_position():
    assert is_vietnamese_syllable("Quý") and is_vietnamese_syllable("hòa") and is_vietnamese_syllable("hoà")
    assert not is_vietnamese_syllable("quyù") and not is_vietnamese_syllable("nguyôn")


_FUNCS = [
    to_tcvn3,
    from_tcvn3,
    to_vni,
    from_vni,
    to_mojibake,
    from_mojibake,
    to_telex,
    from_telex,
    to_vni_digits,
    from_vni_digits,
    to_nfd,
    to_new_tone_style,
    to_old_tone_style,
    detect_encoding,
]


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_no_function_raises_on_any_string(text):
    for fn in _FUNCS:
        fn(text)
    fixed, kind = repair(text)
    assert kind is None or isinstance(fixed, str)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(NAMES), min_size=1, max_size=3).map(" ".join))
def test_repair_of_clean_text_is_identity_and_repair_is_idempotent(text):
    assert repair(text) == (text, None)
    for corrupt in (to_tcvn3, to_vni, to_mojibake, to_telex, to_vni_digits):
        fixed, _ = repair(corrupt(text))
        assert repair(fixed)[1] is None


def test_telex_with_a_doubled_vowel_and_final_r_is_still_read_where_it_is_no_cotu_shape():
    # "Coor Dung" is a Cơ Tu name (long vowel written double, final r); Telex "Cổ" alone is read only beside other
    # Telex words or with its key elsewhere in the word
    assert repair("Coor Dung") == ("Coor Dung", None)
    assert repair("Thoor Minh Hoangf") == ("Thổ Minh Hoàng", "telex")
    assert repair("Khoongr Minh") == ("Khổng Minh", "telex")
    assert repair("Hoof Minh") == ("Hồ Minh", "telex")


def test_telex_tone_key_may_come_before_the_final_consonants_but_not_inside_the_word():
    assert from_telex("Hoafng") == "Hoàng"
    assert detect_encoding("Arat Anh Chinh") is None  # a stripped minority name: r is not a tone key here


def test_telex_with_a_minority_word_is_still_repaired_when_most_words_decode():
    fixed, kind = repair("A Lawng Minh Bh'nuwowchs")
    assert (fixed, kind) == ("A Lăng Minh Bh'nướch", "telex")


def test_vni_and_tcvn3_ties_are_broken_by_tell_tales_only():
    # "aâ" (a vowel then a VNI mark byte) never occurs in Unicode; "Thò" and "Poá" read as syllables both ways
    assert repair("Claâu Thò Poá") == ("Clâu Thò Poá", "vni")
    assert repair("Claâu Thò Poá", hint="vni") == ("Clâu Thị Pố", "vni")


def test_latin1_and_cp1250_mojibake_round_trip_every_letter():
    for ch in ALPHABET:
        assert from_mojibake(to_mojibake_latin1(ch)) == ch
        assert from_mojibake(to_mojibake_cp1250(ch)) == ch
    assert repair(to_mojibake_latin1("Nguyễn Thị Hoà")) == ("Nguyễn Thị Hoà", "mojibake")
    assert repair(to_mojibake_cp1250("Nguyễn Thị Hoà")) == ("Nguyễn Thị Hoà", "mojibake_cp1250")


def test_viqr_round_trips_every_letter_and_the_issue_example():
    for ch in ALPHABET:
        assert from_viqr(to_viqr(ch)) == ch
    assert to_viqr("Nguyễn Văn Ánh") == "Nguye^~n Va(n A'nh"
    assert repair("Nguye^~n Va(n A'nh") == ("Nguyễn Văn Ánh", "viqr")
    assert repair("DDa(.ng Thi. Thu+o+`ng") == ("Đặng Thị Thường", "viqr")


@pytest.mark.parametrize(
    "garbled,clean",
    [
        ("HoÃ ng", "Hoàng"),  # the no-break space of "à" became a plain space
        ("Nguyá»…n Thá»‹ HoÃ", "Nguyễn Thị Hoà"),  # trimmed at the end
        ("HoÃ Anh", "Hoà Anh"),  # lost and the spaces collapsed
        ("Phan Minh TÃ i", "Phan Minh Tài"),
        ("HÃ Thá»‹ VÃ¢n", "Hà Thị Vân"),
        ("Ngá»c", "Ngọc"),  # cp1252's undefined byte 0x8D dropped by the reader
    ],
)
def test_mojibake_that_lost_a_byte_is_repaired(garbled, clean):
    assert repair(garbled) == (clean, "mojibake")


@pytest.mark.parametrize(
    "garbled,clean,kind",
    [
        ("Nguyễn Văn Aùnh", "Nguyễn Văn Ánh", "vni"),
        ("Phan Công Thöùc", "Phan Công Thức", "vni"),  # "Công" is Unicode, not VNI "Cơng"
        ("Lê Công Hoµnh", "Lê Công Hoành", "tcvn3"),  # not TCVN3 "Lờ Cụng Hoành"
        ("Nguyễn TÊn Sỹ", "Nguyễn Tấn Sỹ", "tcvn3"),  # a TCVN3 code shown as a capital inside a word
        ("Trần Thị LÖ", "Trần Thị Lệ", "tcvn3"),
        ("Đặng Thò Höông", "Đặng Thò Hương", "vni"),  # "Thò" reads as a syllable: the column decides it
        ("Nguyễn Va(n An", "Nguyễn Văn An", "viqr"),
        ("Lê Văn Vaên", "Lê Văn Văn", "vni"),
    ],
)
def test_one_word_in_another_encoding_is_repaired_alone(garbled, clean, kind):
    assert repair(garbled) == (clean, kind)


def test_a_reading_must_be_a_real_syllable():
    # spelling of initials, which tones a final takes, which vowels a final follows
    assert not is_vietnamese_syllable("ka") and not is_vietnamese_syllable("nghon")
    assert not is_vietnamese_syllable("quoac") and is_vietnamese_syllable("quốc")
    assert not is_vietnamese_syllable("quèc") and is_vietnamese_syllable("kính")
    assert not is_vietnamese_syllable("tònh") and is_vietnamese_syllable("tịnh")
    assert not is_vietnamese_syllable("nguỷn")  # "Nguy?n": a character lost to "?" is no VIQR hỏi
    assert repair("Nguy?n Văn An") == ("Nguy?n Văn An", None)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(NAMES), min_size=1, max_size=2).map(" ".join), st.data())
def test_every_byte_level_garbling_and_viqr_of_any_name_is_repaired_exactly(text, data):
    for corrupt in (to_mojibake, to_mojibake_latin1, to_mojibake_cp1250, to_viqr, to_nfd):
        assert repair(corrupt(text))[0] == text, corrupt.__name__
    lossy = " ".join(to_mojibake(text).replace("\xa0", " ").split())
    assert repair(lossy)[0] == text


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(NAMES), st.data())
def test_one_word_of_a_name_in_vni_tcvn3_or_viqr_never_breaks_the_other_words(name, data):
    words = name.split(" ")
    i = data.draw(st.integers(0, len(words) - 1))
    corrupt = data.draw(st.sampled_from([to_vni, to_tcvn3, to_viqr]))
    garbled = " ".join(corrupt(w) if j == i else w for j, w in enumerate(words))
    fixed, _ = repair(garbled)
    out = fixed.split(" ")
    assert [w for j, w in enumerate(out) if j != i] == [w for j, w in enumerate(words) if j != i]
