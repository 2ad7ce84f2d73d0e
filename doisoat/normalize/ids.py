"""Identifiers: 12-digit CCCD / số định danh, 9-digit CMND, BHXH numbers and BHYT cards (DOMAIN §3)."""

from __future__ import annotations

from datetime import date

import polars as pl

__all__ = ["PROVINCE_CODES", "insurance_id_frame", "national_id_frame"]

# Birth-registration province codes of the 12-digit number (Thông tư 07/2016/TT-BCA, Phụ lục 1): the 2-digit GSO
# province code with a leading 0. Pre-2025 provinces: the number keeps the code of the province of registration.
PROVINCE_CODES: dict[str, str] = {
    "001": "Hà Nội",
    "002": "Hà Giang",
    "004": "Cao Bằng",
    "006": "Bắc Kạn",
    "008": "Tuyên Quang",
    "010": "Lào Cai",
    "011": "Điện Biên",
    "012": "Lai Châu",
    "014": "Sơn La",
    "015": "Yên Bái",
    "017": "Hòa Bình",
    "019": "Thái Nguyên",
    "020": "Lạng Sơn",
    "022": "Quảng Ninh",
    "024": "Bắc Giang",
    "025": "Phú Thọ",
    "026": "Vĩnh Phúc",
    "027": "Bắc Ninh",
    "030": "Hải Dương",
    "031": "Hải Phòng",
    "033": "Hưng Yên",
    "034": "Thái Bình",
    "035": "Hà Nam",
    "036": "Nam Định",
    "037": "Ninh Bình",
    "038": "Thanh Hóa",
    "040": "Nghệ An",
    "042": "Hà Tĩnh",
    "044": "Quảng Bình",
    "045": "Quảng Trị",
    "046": "Thừa Thiên Huế",
    "048": "Đà Nẵng",
    "049": "Quảng Nam",
    "051": "Quảng Ngãi",
    "052": "Bình Định",
    "054": "Phú Yên",
    "056": "Khánh Hòa",
    "058": "Ninh Thuận",
    "060": "Bình Thuận",
    "062": "Kon Tum",
    "064": "Gia Lai",
    "066": "Đắk Lắk",
    "067": "Đắk Nông",
    "068": "Lâm Đồng",
    "070": "Bình Phước",
    "072": "Tây Ninh",
    "074": "Bình Dương",
    "075": "Đồng Nai",
    "077": "Bà Rịa - Vũng Tàu",
    "079": "Hồ Chí Minh",
    "080": "Long An",
    "082": "Tiền Giang",
    "083": "Bến Tre",
    "084": "Trà Vinh",
    "086": "Vĩnh Long",
    "087": "Đồng Tháp",
    "089": "An Giang",
    "091": "Kiên Giang",
    "092": "Cần Thơ",
    "093": "Hậu Giang",
    "094": "Sóc Trăng",
    "095": "Bạc Liêu",
    "096": "Cà Mau",
}

_PROVINCES = list(PROVINCE_CODES)
_SCI_RE = r"^(\d)[.,](\d+)[eE]\+?(\d{1,2})$"


def _digits(frame: pl.DataFrame, col: str, out: str) -> pl.DataFrame:
    """Adds ``out`` (digits or null) and ``out_damaged``: separators removed, a '…​.0' float undone, scientific
    notation ('4.9190001234E+10') undone when the mantissa kept every digit, else flagged damaged."""
    s = pl.col(col).cast(pl.Utf8).str.strip_chars().str.replace_all(r"[\s\u00a0]", "")
    frame = frame.with_columns(pl.when(s == "").then(None).otherwise(s).alias("_s"))
    frame = frame.with_columns(
        (pl.col("_s").str.extract(_SCI_RE, 1) + pl.col("_s").str.extract(_SCI_RE, 2)).alias("_mant"),
        pl.col("_s").str.extract(_SCI_RE, 3).cast(pl.Int32).alias("_exp"),
    ).with_columns(
        (pl.col("_mant").is_not_null() & (pl.col("_mant").str.len_chars() == pl.col("_exp") + 1)).alias(
            "_exact"
        )
    )
    plain = pl.col("_s").str.replace(r"^(\d+)\.0$", "$1").str.replace_all(r"[.\-_/,]", "")
    return frame.with_columns(
        pl.when(pl.col("_exact"))
        .then(pl.col("_mant"))
        .when(pl.col("_mant").is_not_null())
        .then(None)
        .otherwise(plain)
        .alias(out),
        (pl.col("_mant").is_not_null() & ~pl.col("_exact")).alias(out + "_damaged"),
    ).drop("_s", "_mant", "_exp", "_exact")


def _valid_cccd(d: pl.Expr, this_year: int) -> pl.Expr:
    g = d.str.slice(3, 1).cast(pl.Int32, strict=False)
    year = 1900 + 100 * (g // 2) + d.str.slice(4, 2).cast(pl.Int32, strict=False)
    return d.str.contains(r"^\d{12}$") & d.str.slice(0, 3).is_in(_PROVINCES) & (g <= 3) & (year <= this_year)


def national_id_frame(
    national_id: pl.Series, old_id: pl.Series, this_year: int | None = None
) -> pl.DataFrame:
    """One row per input: ``national_id_std``, ``old_id_std``, ``id_birth_year``, ``id_sex``, ``id_province`` and
    ``_id_issues`` (List[Utf8]) from the raw ``national_id`` and ``old_id`` columns.

    12 digits with a known province and a G digit giving a past birth year → CCCD; 11 digits whose zero-padding is
    a valid CCCD → restored (Excel dropped the zero); 9 digits → CMND; 8 digits → CMND with its zero restored;
    12 valid digits in ``old_id`` fill the CCCD (an old 12-digit CMND is the CCCD number).
    ``id_province`` is the 3-digit birth-registration code (names in :data:`PROVINCE_CODES`)."""
    this_year = this_year or date.today().year
    f = pl.DataFrame({"_n": national_id.cast(pl.Utf8), "_o": old_id.cast(pl.Utf8)})
    f = _digits(_digits(f, "_n", "nd"), "_o", "od")
    nd, od = pl.col("nd"), pl.col("od")
    f = f.with_columns(
        (nd.str.contains(r"^\d{12}$") & _valid_cccd(nd, this_year)).alias("n12"),
        (nd.str.contains(r"^\d{11}$") & _valid_cccd(pl.lit("0") + nd, this_year)).alias("n11"),
        _valid_cccd(od, this_year).alias("o12"),
        (
            nd.str.contains(r"^\d{12}$") & ~nd.str.slice(0, 3).is_in(_PROVINCES)
            | nd.str.contains(r"^\d{11}$") & ~(pl.lit("0") + nd).str.slice(0, 3).is_in(_PROVINCES)
        ).alias("n_prov_bad"),
    ).with_columns(
        pl.when(pl.col("n12"))
        .then(nd)
        .when(pl.col("n11"))
        .then(pl.lit("0") + nd)
        .when(pl.col("o12"))
        .then(od)
        .alias("national_id_std"),
        pl.when(od.str.contains(r"^\d{9}$"))
        .then(od)
        .when(od.str.contains(r"^\d{8}$"))
        .then(pl.lit("0") + od)
        .when(nd.str.contains(r"^\d{9}$"))
        .then(nd)
        .when(nd.str.contains(r"^\d{8}$"))
        .then(pl.lit("0") + nd)
        .alias("old_id_std"),
    )
    n_ok = nd.str.contains(r"^\d{8,9}$") | pl.col("n12") | pl.col("n11")
    o_ok = od.str.contains(r"^\d{8,9}$") | pl.col("o12")
    g = pl.col("national_id_std").str.slice(3, 1).cast(pl.Int32)
    return f.select(
        "national_id_std",
        "old_id_std",
        (1900 + 100 * (g // 2) + pl.col("national_id_std").str.slice(4, 2).cast(pl.Int32))
        .cast(pl.Int16)
        .alias("id_birth_year"),
        pl.when(g % 2 == 1).then(pl.lit("F")).when(g.is_not_null()).then(pl.lit("M")).alias("id_sex"),
        pl.col("national_id_std").str.slice(0, 3).alias("id_province"),
        pl.concat_list(
            pl.when(pl.col("nd_damaged") | pl.col("od_damaged")).then(pl.lit("ID_EXCEL_DAMAGED")),
            pl.when(pl.col("n_prov_bad")).then(pl.lit("ID_PROVINCE_UNKNOWN")),
            pl.when(nd.is_not_null() & ~n_ok & ~pl.col("n_prov_bad") | od.is_not_null() & ~o_ok).then(
                pl.lit("ID_FORMAT")
            ),
            pl.when(pl.col("n11") | nd.str.contains(r"^\d{8}$") | od.str.contains(r"^\d{8}$")).then(
                pl.lit("ID_LEADING_ZERO_RESTORED")
            ),
        )
        .list.drop_nulls()
        .alias("_id_issues"),
    )


def insurance_id_frame(insurance_id: pl.Series) -> pl.DataFrame:
    """One row per input: ``insurance_id_std`` (10-digit BHXH number) and ``_ins_issues``: a 15-character BHYT
    card ``AA D PP NNNNNNNNNN`` gives its last 10 digits; 9 digits get back the zero Excel dropped."""
    raw = insurance_id.cast(pl.Utf8).str.to_uppercase().str.replace_all(r"[\s\u00a0.\-_/]", "")
    f = _digits(pl.DataFrame({"_raw": raw}).with_columns(pl.col("_raw").replace("", None)), "_raw", "d")
    f = f.with_columns(pl.col("_raw").str.contains(r"^[A-Z]{2}[1-5]\d{12}$").alias("card"))
    d = pl.col("d")
    f = f.with_columns(
        pl.when(pl.col("card"))
        .then(pl.col("_raw").str.slice(5, 10))
        .when(d.str.contains(r"^\d{10}$"))
        .then(d)
        .when(d.str.contains(r"^\d{9}$"))
        .then(pl.lit("0") + d)
        .alias("insurance_id_std")
    )
    return f.select(
        "insurance_id_std",
        pl.concat_list(
            pl.when(pl.col("d_damaged")).then(pl.lit("ID_EXCEL_DAMAGED")),
            pl.when(
                pl.col("_raw").is_not_null() & pl.col("insurance_id_std").is_null() & ~pl.col("d_damaged")
            ).then(pl.lit("INSURANCE_ID_FORMAT")),
            pl.when(~pl.col("card") & d.str.contains(r"^\d{9}$")).then(pl.lit("ID_LEADING_ZERO_RESTORED")),
        )
        .list.drop_nulls()
        .alias("_ins_issues"),
    )
