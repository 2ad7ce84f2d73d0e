"""Identifiers: 12-digit CCCD / số định danh, 9-digit CMND, BHXH numbers and BHYT cards (DOMAIN §3)."""

from __future__ import annotations

from datetime import date

import polars as pl

__all__ = ["PROVINCE_CODES", "insurance_id_columns", "national_id_columns"]

# Birth-registration province codes of the 12-digit number (Thông tư 07/2016/TT-BCA, Phụ lục 1): the 2-digit GSO
# province code with a leading 0. Pre-2025 provinces: the number keeps the code of the province of registration.
PROVINCE_CODES: dict[str, str] = {
    "001": "Hà Nội", "002": "Hà Giang", "004": "Cao Bằng", "006": "Bắc Kạn", "008": "Tuyên Quang",
    "010": "Lào Cai", "011": "Điện Biên", "012": "Lai Châu", "014": "Sơn La", "015": "Yên Bái",
    "017": "Hòa Bình", "019": "Thái Nguyên", "020": "Lạng Sơn", "022": "Quảng Ninh", "024": "Bắc Giang",
    "025": "Phú Thọ", "026": "Vĩnh Phúc", "027": "Bắc Ninh", "030": "Hải Dương", "031": "Hải Phòng",
    "033": "Hưng Yên", "034": "Thái Bình", "035": "Hà Nam", "036": "Nam Định", "037": "Ninh Bình",
    "038": "Thanh Hóa", "040": "Nghệ An", "042": "Hà Tĩnh", "044": "Quảng Bình", "045": "Quảng Trị",
    "046": "Thừa Thiên Huế", "048": "Đà Nẵng", "049": "Quảng Nam", "051": "Quảng Ngãi", "052": "Bình Định",
    "054": "Phú Yên", "056": "Khánh Hòa", "058": "Ninh Thuận", "060": "Bình Thuận", "062": "Kon Tum",
    "064": "Gia Lai", "066": "Đắk Lắk", "067": "Đắk Nông", "068": "Lâm Đồng", "070": "Bình Phước",
    "072": "Tây Ninh", "074": "Bình Dương", "075": "Đồng Nai", "077": "Bà Rịa - Vũng Tàu", "079": "Hồ Chí Minh",
    "080": "Long An", "082": "Tiền Giang", "083": "Bến Tre", "084": "Trà Vinh", "086": "Vĩnh Long",
    "087": "Đồng Tháp", "089": "An Giang", "091": "Kiên Giang", "092": "Cần Thơ", "093": "Hậu Giang",
    "094": "Sóc Trăng", "095": "Bạc Liêu", "096": "Cà Mau",
}

_PROVINCES = list(PROVINCE_CODES)
_SCI_RE = r"^(\d)[.,](\d+)[eE]\+?(\d{1,2})$"


def _clean_digits(e: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """(digits or null, damaged flag): separators removed, '1234.0' floats and exact scientific notation undone.

    Scientific notation ('4.9090001234E+10') is exact only when the mantissa kept every digit; else damaged."""
    s = e.cast(pl.Utf8).str.strip_chars().str.replace_all(r"[\s\u00a0]", "")
    s = pl.when(s == "").then(None).otherwise(s)
    mant = s.str.extract(r"^(\d)[.,](\d+)[eE]\+?(\d{1,2})$", 1) + s.str.extract(_SCI_RE, 2)
    exp = s.str.extract(_SCI_RE, 3).cast(pl.Int32)
    is_sci = mant.is_not_null()
    exact = is_sci & (mant.str.len_chars() == exp + 1)
    plain = s.str.replace(r"^(\d+)\.0$", "$1").str.replace_all(r"[.\-_/,]", "")
    digits = pl.when(exact).then(mant).when(is_sci).then(None).otherwise(plain)
    return digits, is_sci & ~exact


def _valid_cccd(d: pl.Expr, this_year: int) -> pl.Expr:
    g = d.str.slice(3, 1).cast(pl.Int32, strict=False)
    year = 1900 + 100 * (g // 2) + d.str.slice(4, 2).cast(pl.Int32, strict=False)
    return (
        d.str.contains(r"^\d{12}$")
        & d.str.slice(0, 3).is_in(_PROVINCES)
        & (g <= 3)
        & (year <= this_year)
    )


def national_id_columns(national_id: pl.Expr, old_id: pl.Expr, this_year: int | None = None) -> list[pl.Expr]:
    """Expressions for ``national_id_std``, ``old_id_std``, ``id_birth_year``, ``id_sex``, ``id_province`` and
    ``_id_issues`` (List[Utf8]) from the raw ``national_id`` and ``old_id`` columns.

    12 digits with a known province and a G digit giving a past birth year → CCCD; 11 digits whose zero-padding is
    a valid CCCD → restored (Excel dropped the zero); 9 digits → CMND; 8 digits → CMND with its zero restored.
    ``id_province`` is the 3-digit birth-registration code (names in :data:`PROVINCE_CODES`)."""
    this_year = this_year or date.today().year
    nd, n_damaged = _clean_digits(national_id)
    od, o_damaged = _clean_digits(old_id)
    n12 = nd.str.contains(r"^\d{12}$")
    n11 = nd.str.contains(r"^\d{11}$") & _valid_cccd(pl.lit("0") + nd, this_year)
    cccd = (
        pl.when(n12 & _valid_cccd(nd, this_year)).then(nd)
        .when(n11).then(pl.lit("0") + nd)
    )
    o12 = od.str.contains(r"^\d{12}$") & _valid_cccd(od, this_year)
    cccd = pl.coalesce(cccd, pl.when(o12).then(od))

    def cmnd(d: pl.Expr) -> pl.Expr:
        return pl.when(d.str.contains(r"^\d{9}$")).then(d).when(d.str.contains(r"^\d{8}$")).then(pl.lit("0") + d)

    old = pl.coalesce(cmnd(od), cmnd(nd))
    n_ok = nd.str.contains(r"^\d{8,9}$") | n12 & _valid_cccd(nd, this_year) | n11
    o_ok = od.str.contains(r"^\d{8,9}$") | o12
    n_prov_bad = n12 & ~nd.str.slice(0, 3).is_in(_PROVINCES) | (
        nd.str.contains(r"^\d{11}$") & ~n11 & ~(pl.lit("0") + nd).str.slice(0, 3).is_in(_PROVINCES)
    )
    issues = pl.concat_list(
        pl.when(n_damaged | o_damaged).then(pl.lit("ID_EXCEL_DAMAGED")),
        pl.when(n_prov_bad).then(pl.lit("ID_PROVINCE_UNKNOWN")),
        pl.when(nd.is_not_null() & ~n_ok & ~n_prov_bad | od.is_not_null() & ~o_ok).then(pl.lit("ID_FORMAT")),
        pl.when(n11 | nd.str.contains(r"^\d{8}$") | od.str.contains(r"^\d{8}$"))
        .then(pl.lit("ID_LEADING_ZERO_RESTORED")),
    ).list.drop_nulls()
    g = cccd.str.slice(3, 1).cast(pl.Int32)
    return [
        cccd.alias("national_id_std"),
        old.alias("old_id_std"),
        (1900 + 100 * (g // 2) + cccd.str.slice(4, 2).cast(pl.Int32)).cast(pl.Int16).alias("id_birth_year"),
        pl.when(g % 2 == 1).then(pl.lit("F")).when(g.is_not_null()).then(pl.lit("M")).alias("id_sex"),
        cccd.str.slice(0, 3).alias("id_province"),
        issues.alias("_id_issues"),
    ]


def insurance_id_columns(insurance_id: pl.Expr) -> list[pl.Expr]:
    """``insurance_id_std`` (10-digit BHXH number) and ``_ins_issues``: a 15-character BHYT card
    ``AA D PP NNNNNNNNNN`` gives its last 10 digits; 9 digits get back the zero Excel dropped."""
    raw = insurance_id.cast(pl.Utf8).str.to_uppercase().str.replace_all(r"[\s\u00a0.\-_/]", "")
    raw = pl.when(raw == "").then(None).otherwise(raw)
    digits, damaged = _clean_digits(raw)
    card = raw.str.contains(r"^[A-Z]{2}[1-5]\d{12}$")
    std = (
        pl.when(card).then(raw.str.slice(5, 10))
        .when(digits.str.contains(r"^\d{10}$")).then(digits)
        .when(digits.str.contains(r"^\d{9}$")).then(pl.lit("0") + digits)
    )
    issues = pl.concat_list(
        pl.when(damaged).then(pl.lit("ID_EXCEL_DAMAGED")),
        pl.when(raw.is_not_null() & std.is_null() & ~damaged).then(pl.lit("INSURANCE_ID_FORMAT")),
        pl.when(~card & digits.str.contains(r"^\d{9}$")).then(pl.lit("ID_LEADING_ZERO_RESTORED")),
    ).list.drop_nulls()
    return [std.alias("insurance_id_std"), issues.alias("_ins_issues")]
