"""Header recognition: the headers agencies really use, with and without diacritics, from several systems."""

from __future__ import annotations

import pytest

from doisoat.ingest import map_headers, normalize_header
from schemas import load_sector


@pytest.mark.parametrize(
    ("header", "norm"),
    [
        ("Họ và tên", "ho va ten"),
        ("HỌ TÊN", "ho ten"),
        ("ho_va_ten", "ho va ten"),
        ("NgaySinh", "ngay sinh"),
        ("NGAYSINH", "ngay sinh"),
        ("Số CCCD/CMND", "so cccd cmnd"),
        ("SoDinhDanh", "so dinh danh"),
        ("MAXA", "ma xa"),
    ],
)
def test_headers_normalise_to_plain_words(header, norm):
    assert normalize_header(header) == norm


def _mapping(headers, sector="vaccination"):
    return map_headers(headers, load_sector(sector)).mapping


def test_commune_clerk_excel_headers():
    m = _mapping(
        [
            "STT",
            "Họ và tên",
            "Ngày tháng năm sinh",
            "Giới tính",
            "Số CCCD/CMND",
            "Nơi thường trú",
            "Loại vắc xin",
            "Mũi tiêm số",
            "Ngày tiêm",
            "Số điện thoại",
        ]
    )
    assert m == {
        "full_name": "Họ và tên",
        "birth_date": "Ngày tháng năm sinh",
        "sex": "Giới tính",
        "national_id": "Số CCCD/CMND",
        "address": "Nơi thường trú",
        "event_type": "Loại vắc xin",
        "event_date": "Ngày tiêm",
        "phone": "Số điện thoại",
    }


def test_database_export_headers_without_diacritics_or_spaces():
    m = _mapping(["HOTEN", "NGAYSINH", "GIOITINH", "SODINHDANH", "MAXA", "TENVACXIN", "NGAYTIEM", "SDT"])
    assert m == {
        "full_name": "HOTEN",
        "birth_date": "NGAYSINH",
        "sex": "GIOITINH",
        "national_id": "SODINHDANH",
        "commune_code": "MAXA",
        "event_type": "TENVACXIN",
        "event_date": "NGAYTIEM",
        "phone": "SDT",
    }


def test_camel_case_api_headers():
    m = _mapping(["hoTen", "ngaySinh", "gioiTinh", "soCmtCccd", "maXa", "loaiVacXin", "ngayTiem"])
    assert m["full_name"] == "hoTen" and m["birth_date"] == "ngaySinh" and m["national_id"] == "soCmtCccd"
    assert m["event_type"] == "loaiVacXin" and m["event_date"] == "ngayTiem" and m["commune_code"] == "maXa"


def test_insurance_export_prefers_bhxh_number_over_card_and_short_forms():
    m = _mapping(["Mã thẻ BHYT", "Mã số BHXH", "HỌ TÊN", "NS", "GT", "Số CMND", "Hạn thẻ đến"], "insurance")
    assert m["insurance_id"] == "Mã số BHXH"
    assert m["birth_date"] == "NS" and m["sex"] == "GT"
    assert (
        m["national_id"] == "Số CMND"
    )  # the only ID column is read as the ID; normalisation sorts 9/12 digits
    assert m["last_activity_date"] == "Hạn thẻ đến"


def test_other_peoples_columns_and_places_are_not_the_persons_fields():
    m = _mapping(
        [
            "Họ tên cha",
            "Họ tên mẹ",
            "Họ và tên",
            "Nơi sinh",
            "Ngày sinh",
            "Ngày đăng ký khai sinh",
            "Loại đăng ký",
            "Số CCCD người đi khai",
        ],
        "civil_status",
    )
    assert m["full_name"] == "Họ và tên"
    assert m["birth_date"] == "Ngày sinh"
    assert m["event_date"] == "Ngày đăng ký khai sinh"
    assert "national_id" not in m


def test_ids_old_and_new_in_separate_columns_both_kept():
    m = _mapping(["Họ tên", "Số CMND", "Số định danh cá nhân", "Ngày sinh"])
    assert m["national_id"] == "Số định danh cá nhân" and m["old_id"] == "Số CMND"


def test_social_protection_payment_dates_and_address_precedence():
    m = _mapping(
        ["Họ tên đối tượng", "Địa chỉ", "Xã/Phường", "Ngày chi trả", "Ngày chi trả gần nhất", "Mã ĐT"],
        "social_protection",
    )
    assert m["commune_name"] == "Xã/Phường" and m["address"] == "Địa chỉ"
    assert m["event_date"] == "Ngày chi trả"
    assert m["last_activity_date"] == "Ngày chi trả gần nhất"
    assert m["beneficiary_code"] == "Mã ĐT"


def test_reference_death_and_status_columns():
    m = _mapping(["Số định danh", "Họ và tên", "Ngày sinh", "Ngày mất", "Tình trạng", "Từ ngày"], "reference")
    assert m["death_date"] == "Ngày mất" and m["vital_status"] == "Tình trạng"


def test_yaml_column_map_overrides_recognition(tmp_path, monkeypatch):
    (tmp_path / "vaccination.yaml").write_text(
        "name: vaccination\nlabel_vi: Tiêm chủng\ncolumn_map:\n  full_name: ['Cột A']\n  event_date: ['Mốc']\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("DOISOAT_SECTORS_DIR", str(tmp_path))
    m = _mapping(["Họ và tên", "Cột A", "Mốc"])
    assert m["full_name"] == "Cột A" and m["event_date"] == "Mốc"


def test_english_and_canonical_names_are_recognised():
    m = _mapping(["full_name", "dob", "gender", "national_id", "phone", "event_date"])
    assert m == {
        "full_name": "full_name",
        "birth_date": "dob",
        "sex": "gender",
        "national_id": "national_id",
        "phone": "phone",
        "event_date": "event_date",
    }


@pytest.mark.parametrize(
    "header",
    [
        "Địa chỉ",
        "Địa chỉ thường trú",
        "Nơi thường trú",
        "Nơi cư trú",
        "Nơi ở hiện nay",
        "Chỗ ở hiện tại",
        "dia_chi",
        "DIACHI",
        "DiaChiThuongTru",
        "address",
    ],
)
def test_residence_address_headers_become_the_address_field(header):
    assert _mapping(["Họ tên đối tượng", header, "Ngày sinh"], "social_protection").get("address") == header


@pytest.mark.parametrize(
    "header", ["Địa chỉ email", "Địa chỉ cơ sở tiêm chủng", "Nơi sinh", "Quê quán", "Mã xã"]
)
def test_other_places_and_addresses_are_not_the_persons_address(header):
    assert "address" not in _mapping(["Họ và tên", header, "Ngày sinh"])


def test_an_address_beside_a_commune_code_keeps_both():
    m = _mapping(["Họ và tên", "Mã xã", "Địa chỉ thường trú", "Địa chỉ tạm trú"], "social_protection")
    assert m["commune_code"] == "Mã xã" and m["address"] == "Địa chỉ thường trú"
