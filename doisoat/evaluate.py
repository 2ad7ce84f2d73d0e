"""Precision, recall and F1 of the pipeline's links against the generator's ground truth.

Results and truth are joined on ``(source_file, source_row)`` (never on sector: the user names the sector on the
command line). A predicted link is a row with status ``matched`` or ``duplicate`` and a person_id. A wrong link is
both a false positive and a false negative. Rows of people absent from the reference measure specificity.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from doisoat.errors import DoisoatError
from doisoat.textfmt import fmt_int, fmt_pct

LINK_STATUSES = ("matched", "duplicate")
KEY = ["source_file", "source_row"]


class EvaluationError(DoisoatError, ValueError):
    """Truth and results do not describe the same rows."""


@dataclass
class Metrics:
    """Link quality overall and per sector, recall per injected error kind, absent people, review share."""

    overall: dict[str, float | int]
    per_sector: pl.DataFrame  # sector, rows, tp, fp, fn, precision, recall, f1, review, review_share
    per_error: pl.DataFrame  # error, records, linked_correctly, recall
    absent: dict[str, float | int]  # rows, unlinked, wrongly_linked, specificity
    extra: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {
            "overall": self.overall,
            "per_sector": self.per_sector.to_dicts(),
            "per_error": self.per_error.to_dicts(),
            "absent": self.absent,
        }


def _truth_path(truth_dir: Path) -> Path:
    truth_dir = Path(truth_dir)
    for cand in (truth_dir / "truth" / "truth.parquet", truth_dir / "truth.parquet", truth_dir):
        if cand.is_file():
            return cand
    raise FileNotFoundError(str(truth_dir / "truth" / "truth.parquet"))


def _read(path: Path, what: str) -> pl.DataFrame:
    """A Parquet file, or an :class:`EvaluationError` naming it (not a polars traceback)."""
    try:
        return pl.read_parquet(path)
    except FileNotFoundError:
        raise
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise EvaluationError(
            f"Không đọc được tệp {what} '{path}' như Parquet (results.parquet của một lần chạy): "
            f"{type(exc).__name__} / cannot read it as Parquet"
        ) from exc


def _examples(df: pl.DataFrame, n: int = 3) -> str:
    return "; ".join(f"{r['source_file']} dòng {r['source_row']}" for r in df.head(n).iter_rows(named=True))


def _ratio(num: int, den: int) -> float | None:
    return num / den if den else None


def _f1(p: float | None, r: float | None) -> float | None:
    if p is None or r is None or p + r == 0:
        return None
    return 2 * p * r / (p + r)


def _scored(truth: pl.DataFrame, results: pl.DataFrame) -> pl.DataFrame:
    """Truth joined to results with tp / fp / fn per row; raises when the two sets of rows differ."""
    for name, df in (("truth", truth), ("results", results)):
        missing = [
            c for c in [*KEY, "person_id"] + (["status"] if name == "results" else []) if c not in df.columns
        ]
        if missing:
            raise EvaluationError(
                f"Tệp {name} thiếu cột {', '.join(missing)} / {name} lacks columns {missing}"
            )
    res = results.select(
        pl.col("source_file").cast(pl.Utf8),
        pl.col("source_row").cast(pl.Int64),
        pl.col("status").cast(pl.Utf8),
        pl.col("person_id").cast(pl.Utf8).alias("pred_person_id"),
    )
    dup = res.filter(pl.struct(KEY).is_duplicated())
    if dup.height:
        raise EvaluationError(
            f"Kết quả có {fmt_int(dup.height)} dòng lặp lại cùng tệp và số dòng (ví dụ: {_examples(dup)}) / "
            "results repeat (source_file, source_row)"
        )
    tr = truth.with_columns(pl.col("source_row").cast(pl.Int64), pl.col("person_id").cast(pl.Utf8))
    only_truth = tr.join(res, on=KEY, how="anti")
    only_res = res.join(tr, on=KEY, how="anti")
    if only_truth.height or only_res.height:
        parts = []
        if only_truth.height:
            parts.append(
                f"{fmt_int(only_truth.height)} dòng dữ liệu gốc không có trong kết quả "
                f"(ví dụ: {_examples(only_truth)})"
            )
        if only_res.height:
            parts.append(
                f"{fmt_int(only_res.height)} dòng kết quả không có trong dữ liệu gốc "
                f"(ví dụ: {_examples(only_res)})"
            )
        raise EvaluationError(
            "Kết quả và dữ liệu gốc không khớp dòng: "
            + "; ".join(parts)
            + ". Hãy chạy đối soát trên đúng các tệp của thư mục mẫu. / truth and results rows differ."
        )
    df = tr.join(res, on=KEY, how="left")
    linked = pl.col("status").is_in(LINK_STATUSES) & pl.col("pred_person_id").is_not_null()
    has_true = pl.col("person_id").is_not_null()
    correct = linked & has_true & (pl.col("pred_person_id") == pl.col("person_id"))
    return df.with_columns(
        linked.alias("linked"),
        correct.alias("tp"),
        (linked & ~correct).alias("fp"),
        (has_true & ~correct).alias("fn"),
        has_true.alias("has_true"),
        (pl.col("status") == "review").alias("review"),
    )


NO_ERROR = "no_error"


def _kinds(df: pl.DataFrame) -> pl.DataFrame:
    """One row per (record, error kind) it carries; a record without any error counts under ``no_error``."""
    errs = pl.col("errors") if "errors" in df.columns else pl.lit(None, pl.List(pl.Utf8))
    return (
        df.with_columns(
            pl.when(errs.list.len().fill_null(0) == 0).then(pl.lit([NO_ERROR])).otherwise(errs).alias("error")
        )
        .explode("error")
        .drop_nulls("error")
    )


def blocking_recall_by_kind(
    truth_dir: Path, pairs: pl.DataFrame, max_kinds: int | None = None
) -> pl.DataFrame:
    """Share of true record–person pairs that blocking proposed, per error kind, per pair of kinds and overall.

    ``pairs``: the proposed pairs with ``source_file, source_row, person_id`` (doisoat.match.blocking.blocked_pairs
    joined to the records' keys). ``max_kinds`` keeps only the records with at most that many kinds of error.
    """
    truth = pl.read_parquet(_truth_path(Path(truth_dir))).filter(pl.col("person_id").is_not_null())
    if max_kinds is not None:  # e.g. 1: the records that carry one kind of error (or none) only
        truth = truth.filter(pl.col("errors").list.len() <= max_kinds)
    got = pairs.select(
        pl.col("source_file").cast(pl.Utf8),
        pl.col("source_row").cast(pl.Int64),
        pl.col("person_id").cast(pl.Utf8),
    ).unique()
    df = (
        truth.with_columns(pl.col("source_row").cast(pl.Int64))
        .join(got.with_columns(pl.lit(True).alias("reached")), on=[*KEY, "person_id"], how="left")
        .with_columns(pl.col("reached").fill_null(False))
    )
    single = _kinds(df).select("error", "reached")
    ex = df.with_row_index("_i").select("_i", "errors", "reached").explode("errors").drop_nulls("errors")
    two = (
        ex.join(ex.select("_i", pl.col("errors").alias("e2")), on="_i")
        .filter(pl.col("errors") < pl.col("e2"))
        .select((pl.col("errors") + " + " + pl.col("e2")).alias("error"), "reached")
    )
    allrow = df.select(pl.lit("(all)").alias("error"), "reached")
    out = (
        pl.concat([allrow, single, two])
        .group_by("error")
        .agg(
            pl.len().cast(pl.Int64).alias("records"), pl.col("reached").sum().cast(pl.Int64).alias("reached")
        )
    )
    return out.with_columns((pl.col("reached") / pl.col("records")).alias("blocking_recall")).sort(
        ["error"], descending=False
    )


def _prf(tp: int, fp: int, fn: int) -> dict[str, float | None]:
    p, r = _ratio(tp, tp + fp), _ratio(tp, tp + fn)
    return {"precision": p, "recall": r, "f1": _f1(p, r)}


def evaluate(truth_dir: Path, results: Path | pl.DataFrame) -> Metrics:
    """Score a results table (``results.parquet`` or a frame) against ``truth_dir``'s ground truth."""
    truth = _read(_truth_path(Path(truth_dir)), "dữ liệu gốc / truth")
    res = results if isinstance(results, pl.DataFrame) else _read(Path(results), "kết quả / results")
    df = _scored(truth, res)

    sums = df.select(pl.len().alias("rows"), *[pl.col(c).sum() for c in ("tp", "fp", "fn", "review")]).row(
        0, named=True
    )
    overall = {**{k: int(v) for k, v in sums.items()}, **_prf(sums["tp"], sums["fp"], sums["fn"])}
    overall["review_share"] = _ratio(sums["review"], sums["rows"])

    per = (
        df.group_by("sector")
        .agg(
            pl.len().alias("rows"),
            pl.col("tp").sum(),
            pl.col("fp").sum(),
            pl.col("fn").sum(),
            pl.col("review").sum(),
        )
        .sort("sector")
    )
    rows = []
    for r in per.iter_rows(named=True):
        rows.append({**r, **_prf(r["tp"], r["fp"], r["fn"]), "review_share": _ratio(r["review"], r["rows"])})
    per_sector = pl.DataFrame(
        rows,
        schema={
            "sector": pl.Utf8,
            "rows": pl.Int64,
            "tp": pl.Int64,
            "fp": pl.Int64,
            "fn": pl.Int64,
            "review": pl.Int64,
            "precision": pl.Float64,
            "recall": pl.Float64,
            "f1": pl.Float64,
            "review_share": pl.Float64,
        },
    )

    wrong_person = pl.col("linked") & ~pl.col("tp")
    per_error = (
        _kinds(df.filter(pl.col("has_true")).with_columns(wrong_person.alias("wrong")))
        .group_by("error")
        .agg(
            pl.len().cast(pl.Int64).alias("records"),
            pl.col("tp").sum().cast(pl.Int64).alias("linked_correctly"),
            pl.col("review").sum().cast(pl.Int64).alias("in_review"),
            pl.col("wrong").sum().cast(pl.Int64).alias("wrong_person"),
        )
        .with_columns((pl.col("linked_correctly") / pl.col("records")).alias("recall"))
        .sort("error")
    )
    # the other class: a record of someone absent from the reference should stay unlinked
    true_nm = int((~df["has_true"]).sum())
    pred_nm = int((~df["linked"]).sum())
    tn = int((~df["has_true"] & ~df["linked"]).sum())
    p_nm, r_nm = _ratio(tn, pred_nm), _ratio(tn, true_nm)
    overall["nonmatch_precision"], overall["nonmatch_recall"], overall["nonmatch_f1"] = (
        p_nm,
        r_nm,
        _f1(p_nm, r_nm),
    )

    ab = df.filter(~pl.col("has_true"))
    wrong = int(ab["linked"].sum())
    absent = {
        "rows": ab.height,
        "unlinked": ab.height - wrong,
        "wrongly_linked": wrong,
        "specificity": _ratio(ab.height - wrong, ab.height),
    }
    return Metrics(overall=overall, per_sector=per_sector, per_error=per_error, absent=absent)


_LABELS = {
    "vi": {
        "title": "ĐÁNH GIÁ ĐỘ CHÍNH XÁC SO KHỚP (so với dữ liệu gốc của bộ mẫu)",
        "sector": "Lĩnh vực",
        "rows": "Số dòng",
        "tp": "Khớp đúng",
        "fp": "Khớp sai",
        "fn": "Bỏ sót",
        "precision": "Độ chính xác",
        "recall": "Độ bao phủ",
        "f1": "F1",
        "review": "Tỷ lệ cần xác minh",
        "all": "Tổng cộng",
        "by_error": "Độ bao phủ theo loại lỗi được đưa vào",
        "error": "Loại lỗi",
        "records": "Số bản ghi",
        "linked": "Khớp đúng",
        "absent": "Người không có trong CSDLQG",
        "absent_rows": "Số dòng",
        "unlinked": "Để trống đúng (không khớp)",
        "wrong": "Khớp nhầm",
        "spec": "Độ đặc hiệu",
        "in_review": "Cần xác minh",
        "wrong_person": "Khớp nhầm người",
        "nonmatch": "Không khớp (người không có trong CSDLQG): độ chính xác {p}, độ bao phủ {r}, F1 {f}",
        "review_band": "Số bản ghi cần xác minh: {n} ({s} số dòng)",
    },
    "en": {
        "title": "LINK QUALITY AGAINST THE SAMPLE'S GROUND TRUTH",
        "sector": "Sector",
        "rows": "Rows",
        "tp": "Correct links",
        "fp": "Wrong links",
        "fn": "Missed",
        "precision": "Precision",
        "recall": "Recall",
        "f1": "F1",
        "review": "Sent to review",
        "all": "Overall",
        "by_error": "Recall by injected error kind",
        "error": "Error kind",
        "records": "Records",
        "linked": "Linked correctly",
        "absent": "People absent from the reference",
        "absent_rows": "Rows",
        "unlinked": "Correctly left unlinked",
        "wrong": "Wrongly linked",
        "spec": "Specificity",
        "in_review": "In review",
        "wrong_person": "Wrong person",
        "nonmatch": "Non-matches (people absent from the reference): precision {p}, recall {r}, F1 {f}",
        "review_band": "Records in review: {n} ({s} of rows)",
    },
}
ERROR_NAMES_VI = {
    "id_missing": "Thiếu số định danh",
    "id_digit_typo": "Gõ sai một chữ số",
    "id_transposed": "Đảo hai chữ số",
    "id_leading_zero_lost": "Mất số 0 đầu (Excel)",
    "id_scientific": "Số dạng 4.9E+10 (Excel)",
    "id_cmnd_instead": "Ghi CMND 9 số",
    "name_surname_variant": "Hoàng/Huỳnh, Vũ/Võ",
    "name_iy": "Viết i/y khác nhau",
    "name_middle_dropped": "Bỏ tên đệm Thị/Văn",
    "name_typo": "Gõ sai tên",
    "name_old_tone": "Bỏ dấu kiểu cũ",
    "name_no_diacritics": "Không dấu",
    "name_nfd": "Unicode tổ hợp (NFD)",
    "name_tcvn3": "Mã TCVN3",
    "name_vni": "Mã VNI",
    "name_mojibake": "Lỗi phông UTF-8",
    "name_telex": "Gõ Telex",
    "name_vni_digits": "Gõ VNI bằng số",
    "date_format": "Định dạng ngày khác",
    "date_dm_swap": "Đảo ngày/tháng",
    "date_year_only": "Chỉ có năm sinh",
    "sex_missing": "Thiếu giới tính",
    "sex_coded": "Giới tính mã hoá khác",
    "duplicate": "Bản ghi trùng",
    "after_death": "Phát sinh sau khi chết",
    "commune_old_code": "Mã xã cũ",
    "phone_11_digits": "Điện thoại 11 số",
    "no_error": "Không có lỗi",
    # the other-agency extracts (bench/other_agency.py)
    "relative_id": "Số định danh của người thân",
    "id_digit": "Sai một chữ số định danh",
    "year_off_by_one": "Năm sinh lệch một năm",
    "year_only": "Chỉ có năm sinh",
    "placeholder_0101": "Ngày sinh ghi 01/01",
    "dm_swapped": "Đảo ngày/tháng",
    "sex_flipped": "Giới tính ghi ngược",
    "middle_dropped": "Bỏ tên đệm",
    "middle_added": "Thêm tên đệm",
    "merged_syllables": "Viết liền âm tiết",
    "typo": "Gõ sai một ký tự",
    "no_diacritics_caps": "Chữ hoa không dấu",
    "regional_surname": "Hoàng/Huỳnh, Vũ/Võ",
    "tone_misplaced": "Đặt sai dấu thanh",
    "moved": "Mã xã khác CSDLQG (chuyển nơi ở)",
    "phone_changed": "Số điện thoại khác",
}


def sector_name(sector: str, lang: str = "vi") -> str:
    """The sector's name from its YAML (schemas/sectors/), or its key for a sector no YAML declares."""
    from schemas import SectorSpecError, load_sector

    try:
        spec = load_sector(sector)
    except SectorSpecError:
        return sector
    return spec.label_vi if lang == "vi" else spec.label_en or sector


def _table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(header)]
    line = lambda cells: "  ".join(  # noqa: E731
        c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True))
    )
    return "\n".join([line(header), "  ".join("-" * w for w in widths), *(line(r) for r in rows)])


def format_metrics(m: Metrics, lang: str = "vi", by_kind: bool = False) -> str:
    """A readable report: per-sector table, recall per error kind, absent people (Vietnamese by default).

    ``by_kind`` adds, per error kind, the records sent to review and those linked to the wrong person, the
    review band's size and the non-match precision, recall and F1."""
    t = _LABELS["vi" if lang == "vi" else "en"]

    def pct(v: float | None) -> str:
        return fmt_pct(v, lang=lang) if v is not None else "–"

    header = [
        t["sector"],
        t["rows"],
        t["tp"],
        t["fp"],
        t["fn"],
        t["precision"],
        t["recall"],
        t["f1"],
        t["review"],
    ]
    rows = [
        [
            sector_name(r["sector"], lang),
            fmt_int(r["rows"], lang),
            fmt_int(r["tp"], lang),
            fmt_int(r["fp"], lang),
            fmt_int(r["fn"], lang),
            pct(r["precision"]),
            pct(r["recall"]),
            pct(r["f1"]),
            pct(r["review_share"]),
        ]
        for r in m.per_sector.iter_rows(named=True)
    ]
    o = m.overall
    rows.append(
        [
            t["all"],
            fmt_int(o["rows"], lang),
            fmt_int(o["tp"], lang),
            fmt_int(o["fp"], lang),
            fmt_int(o["fn"], lang),
            pct(o["precision"]),
            pct(o["recall"]),
            pct(o["f1"]),
            pct(o["review_share"]),
        ]
    )
    err_rows = [
        [
            ERROR_NAMES_VI.get(r["error"], r["error"]) if lang == "vi" else r["error"],
            fmt_int(r["records"], lang),
            fmt_int(r["linked_correctly"], lang),
            pct(r["recall"]),
            *([fmt_int(r["in_review"], lang), fmt_int(r["wrong_person"], lang)] if by_kind else []),
        ]
        for r in m.per_error.iter_rows(named=True)
    ]
    err_header = [t["error"], t["records"], t["linked"], t["recall"]]
    if by_kind:
        err_header += [t["in_review"], t["wrong_person"]]
    a = m.absent
    parts = [
        t["title"],
        "",
        _table(header, rows),
        "",
        t["by_error"],
        _table(err_header, err_rows),
        "",
        t["absent"],
        _table(
            [t["absent_rows"], t["unlinked"], t["wrong"], t["spec"]],
            [
                [
                    fmt_int(a["rows"], lang),
                    fmt_int(a["unlinked"], lang),
                    fmt_int(a["wrongly_linked"], lang),
                    pct(a["specificity"]),
                ]
            ],
        ),
    ]
    if by_kind:
        parts += [
            "",
            t["review_band"].format(n=fmt_int(o["review"], lang), s=pct(o["review_share"])),
            t["nonmatch"].format(
                p=pct(o.get("nonmatch_precision")),
                r=pct(o.get("nonmatch_recall")),
                f=pct(o.get("nonmatch_f1")),
            ),
        ]
    return "\n".join(parts)
