"""Identifiers: 12-digit CCCD / số định danh, 9-digit CMND, BHXH numbers and BHYT cards (DOMAIN §3)."""

from __future__ import annotations

import re
from datetime import date

import polars as pl

from doisoat.normalize._issues import join_codes

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
_SCI_RE = re.compile(r"(\d)[.,](\d+)[eE]\+?(\d{1,2})")


def _sci(value: str) -> tuple[str | None, bool]:
    """'4.9190001234E+10' → ('49190001234', False); '4,90900E+10' → (None, True): digits lost to Excel."""
    m = _SCI_RE.fullmatch(value)
    if m is None:
        return None, False
    mant = m.group(1) + m.group(2)
    return (mant, False) if len(mant) == int(m.group(3)) + 1 else (None, True)


def _digits(values: pl.Series) -> pl.DataFrame:
    """DataFrame(d, damaged, is_digits, n) for raw ID texts: whitespace and separators (. - _ / ,) removed, a '.0'
    float suffix dropped, scientific notation undone when the mantissa kept every digit (else damaged).

    The few scientific values are parsed in Python once each; everything else is a handful of column passes."""
    s = values.cast(pl.Utf8).str.strip_chars().str.strip_suffix(".0")
    f = pl.DataFrame({"s": s}).with_columns(pl.col("s").str.replace_all(r"[\s\u00a0.\-_/,]", "").alias("d"))
    f = f.with_columns(pl.col("d").replace("", None), pl.col("s").str.contains("[eE]").alias("e"))
    sci = f.filter(pl.col("e"))["s"].unique().to_list()
    if sci:
        parsed = {v: _sci(v.replace(" ", "")) for v in sci}
        f = f.with_columns(
            pl.when(pl.col("e"))
            .then(
                pl.col("s").replace_strict(
                    {k: v[0] for k, v in parsed.items()}, default=None, return_dtype=pl.Utf8
                )
            )
            .otherwise(pl.col("d"))
            .alias("d"),
            (
                pl.col("e")
                & pl.col("s").replace_strict(
                    {k: v[1] for k, v in parsed.items()}, default=False, return_dtype=pl.Boolean
                )
            ).alias("damaged"),
        )
    else:
        f = f.with_columns(pl.lit(False).alias("damaged"))
    return f.select(
        "d",
        "damaged",
        pl.col("d").str.contains(r"^\d+$").fill_null(False).alias("is_digits"),
        pl.col("d").str.len_bytes().alias("n"),
    )


def _cccd_checks(c: pl.Expr, this_year: int) -> tuple[pl.Expr, pl.Expr]:
    """(known province, G/YY give a birth year not after this year) for a 12-digit candidate string."""
    g = c.str.slice(3, 1).cast(pl.Int32, strict=False)
    year = 1900 + 100 * (g // 2) + c.str.slice(4, 2).cast(pl.Int32, strict=False)
    return c.str.slice(0, 3).is_in(_PROVINCES), (g <= 3) & (year <= this_year)


def national_id_frame(
    national_id: pl.Series, old_id: pl.Series, this_year: int | None = None
) -> pl.DataFrame:
    """One row per input: ``national_id_std``, ``old_id_std``, ``id_birth_year``, ``id_sex``, ``id_province`` and
    ``_id_issues`` (comma-joined reason codes or null) from the raw ``national_id`` and ``old_id`` columns.

    12 digits with a known province and a G digit giving a past birth year → CCCD; 11 digits whose zero-padding is
    a valid CCCD → restored (Excel dropped the zero); 9 digits → CMND; 8 digits → CMND with its zero restored;
    12 valid digits in ``old_id`` fill the CCCD (an old 12-digit CMND is the CCCD number).
    ``id_province`` is the 3-digit birth-registration code (names in :data:`PROVINCE_CODES`)."""
    this_year = this_year or date.today().year
    nd = _digits(national_id)
    od = _digits(old_id)
    f = pl.DataFrame(
        {
            "nd": nd["d"],
            "n_dmg": nd["damaged"],
            "n_ok": nd["is_digits"],
            "nn": nd["n"],
            "od": od["d"],
            "o_dmg": od["damaged"],
            "o_ok": od["is_digits"],
            "on": od["n"],
        }
    )
    f = f.with_columns(
        pl.when(pl.col("n_ok") & (pl.col("nn") == 12))
        .then(pl.col("nd"))
        .when(pl.col("n_ok") & (pl.col("nn") == 11))
        .then(pl.lit("0") + pl.col("nd"))
        .alias("nc"),
        pl.when(pl.col("o_ok") & (pl.col("on") == 12)).then(pl.col("od")).alias("oc"),
    )
    n_prov, n_g = _cccd_checks(pl.col("nc"), this_year)
    o_prov, o_g = _cccd_checks(pl.col("oc"), this_year)
    f = f.with_columns(
        (n_prov & n_g).fill_null(False).alias("n_valid"),
        (pl.col("nc").is_not_null() & ~n_prov).fill_null(False).alias("n_prov_bad"),
        (o_prov & o_g).fill_null(False).alias("o_valid"),
    )
    n11 = (pl.col("nn") == 11) & pl.col("n_valid")
    n_cmnd = pl.col("n_ok") & pl.col("nn").is_in([8, 9])
    o_cmnd = pl.col("o_ok") & pl.col("on").is_in([8, 9])
    f = f.with_columns(
        pl.when(pl.col("n_valid"))
        .then(pl.col("nc"))
        .when(pl.col("o_valid"))
        .then(pl.col("oc"))
        .alias("national_id_std"),
        pl.when(o_cmnd)
        .then(pl.col("od").str.zfill(9))
        .when(n_cmnd)
        .then(pl.col("nd").str.zfill(9))
        .alias("old_id_std"),
    )
    g = pl.col("national_id_std").str.slice(3, 1).cast(pl.Int32)
    # 11 digits that do not give a valid CCCD are plain malformed, like any other length
    n_bad = (
        pl.col("nd").is_not_null()
        & ~pl.col("n_valid")
        & ~n_cmnd
        & ~(pl.col("n_prov_bad") & (pl.col("nn") == 12))
    )
    n_bad = n_bad & ~pl.col("n_dmg")
    o_bad = pl.col("od").is_not_null() & ~pl.col("o_valid") & ~o_cmnd & ~pl.col("o_dmg")
    return f.select(
        "national_id_std",
        "old_id_std",
        (1900 + 100 * (g // 2) + pl.col("national_id_std").str.slice(4, 2).cast(pl.Int32))
        .cast(pl.Int16)
        .alias("id_birth_year"),
        pl.when(g % 2 == 1).then(pl.lit("F")).when(g.is_not_null()).then(pl.lit("M")).alias("id_sex"),
        pl.col("national_id_std").str.slice(0, 3).alias("id_province"),
        join_codes(
            pl.when(pl.col("n_dmg") | pl.col("o_dmg")).then(pl.lit("ID_EXCEL_DAMAGED")),
            pl.when(pl.col("n_prov_bad") & (pl.col("nn") == 12)).then(pl.lit("ID_PROVINCE_UNKNOWN")),
            pl.when(n_bad | o_bad).then(pl.lit("ID_FORMAT")),
            pl.when(n11 | pl.col("n_ok") & (pl.col("nn") == 8) | pl.col("o_ok") & (pl.col("on") == 8)).then(
                pl.lit("ID_LEADING_ZERO_RESTORED")
            ),
        ).alias("_id_issues"),
    )


def insurance_id_frame(insurance_id: pl.Series) -> pl.DataFrame:
    """One row per input: ``insurance_id_std`` (10-digit BHXH number) and ``_ins_issues``: a 15-character BHYT
    card ``AA D PP NNNNNNNNNN`` gives its last 10 digits; 9 digits get back the zero Excel dropped."""
    raw = (
        insurance_id.cast(pl.Utf8)
        .str.to_uppercase()
        .str.replace_all(r"[\s\u00a0.\-_/]", "")
        .replace("", None)
    )
    d = _digits(raw)
    f = pl.DataFrame({"raw": raw, "d": d["d"], "dmg": d["damaged"], "ok": d["is_digits"], "n": d["n"]})
    f = f.with_columns(pl.col("raw").str.contains(r"^[A-Z]{2}[1-5]\d{12}$").fill_null(False).alias("card"))
    f = f.with_columns(
        pl.when(pl.col("card"))
        .then(pl.col("raw").str.slice(5, 10))
        .when(pl.col("ok") & (pl.col("n") == 10))
        .then(pl.col("d"))
        .when(pl.col("ok") & (pl.col("n") == 9))
        .then(pl.lit("0") + pl.col("d"))
        .alias("insurance_id_std")
    )
    return f.select(
        "insurance_id_std",
        join_codes(
            pl.when(pl.col("dmg")).then(pl.lit("ID_EXCEL_DAMAGED")),
            pl.when(pl.col("raw").is_not_null() & pl.col("insurance_id_std").is_null() & ~pl.col("dmg")).then(
                pl.lit("INSURANCE_ID_FORMAT")
            ),
            pl.when(~pl.col("card") & pl.col("ok") & (pl.col("n") == 9)).then(
                pl.lit("ID_LEADING_ZERO_RESTORED")
            ),
        ).alias("_ins_issues"),
    )
