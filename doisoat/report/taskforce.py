"""The task-force report: the tables and ready-to-paste sentences of a provincial Đề án 06 report.

:func:`build_report` turns results into a :class:`Report` (plain tables, numbers not yet formatted);
:func:`write_xlsx` and :mod:`doisoat.report.html` render it. Small-cell suppression happens here, once,
so both renderings leave the province with the same protection:

* a unit row (province, commune, former district/commune, register) with fewer than ``suppress_below``
  records shows ``<N`` instead of its counts and no rates (a :class:`Hidden` value: the HTML prints
  ``<N``, the XLSX leaves the numeric cell blank, greyed, and says so in a flag column, so a sum over
  the column is never silently short);
* reason counts below the threshold show ``<N``; communes are named in the 100 % / lowest lists only
  when they hold at least ``suppress_below`` records;
* sector totals are shown in full. Worklists and enriched extracts stay inside and are never suppressed.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import polars as pl
import xlsxwriter
from unidecode import unidecode

from doisoat.reasons import REASONS, message
from doisoat.report.aggregate import ALL, UNKNOWN, aggregate, change_since, reason_counts
from doisoat.report.heading import MOTTO, NATION, ReportHeading, as_date, as_datetime, load_heading
from doisoat.textfmt import date_in_words, fmt_int, fmt_pct, safe_cell, vn_date
from doisoat.vocabulary import RESULT_STATUSES, STATUS_LABELS

DIMENSIONS = ("dung", "du", "sach", "song")

LABELS = {
    "vi": {
        "title": "Báo cáo kết quả đối soát dữ liệu chuyên ngành với CSDLQG về dân cư",
        "sector": "Lĩnh vực",
        "level": "Cấp",
        "code": "Mã",
        "unit": "Đơn vị",
        "parent": "Thuộc",
        "total": "Tổng số bản ghi",
        "dung": "Đúng",
        "du": "Đủ",
        "sach": "Sạch",
        "song": "Sống",
        "rate_dung": "Tỷ lệ đúng",
        "rate_du": "Tỷ lệ đủ",
        "rate_sach": "Tỷ lệ sạch",
        "rate_song": "Tỷ lệ sống",
        "verified": "Tỷ lệ xác thực (đúng/tổng)",
        **STATUS_LABELS["vi"],
        "delta": "Thay đổi tỷ lệ đúng (điểm %)",
        "register": "Sổ / loại sự kiện",
        "records": "Bản ghi",
        "people": "Số người",
        "people_dung": "Số người có bản ghi đúng",
        "rate_people": "Tỷ lệ người",
        "reason": "Mã lý do",
        "message": "Lý do",
        "count": "Số bản ghi",
        "prev_total": "Tổng lần trước",
        "prev_dung": "Đúng lần trước",
        "prev_rate": "Tỷ lệ đúng lần trước",
        "sentence": "Câu sẵn để trích dẫn",
        "item": "Mục",
        "value": "Giá trị",
        "unknown_unit": "Chưa xác định",
        "levels": {
            "province": "Tỉnh/thành phố",
            "commune": "Xã/phường",
            "district_old": "Huyện cũ (trước 2025)",
            "commune_old": "Xã cũ (trước 2025)",
        },
        "sheets": {
            "summary": "Tổng hợp",
            "units": "Theo đơn vị",
            "registers": "Theo sổ",
            "people": "Bản ghi và người",
            "full": "Xã đạt 100%",
            "lowest": "Xã thấp nhất",
            "change": "Thay đổi",
            "reasons": "Lý do",
            "sentences": "Câu sẵn",
            "notes": "Ghi chú",
            "publication": "Tình trạng công bố",
            "files": "Tệp không dùng được",
            "origin": "Nguồn mã xã",
            "trend": "Xu hướng",
            "inputs": "Dữ liệu đầu vào",
        },
        "state": "Tình trạng",
        "published": "Công bố",
        "held": "Chưa công bố",
        "why": "Lý do / cảnh báo",
        "in_force": "Số liệu đang có hiệu lực",
        "never": "chưa có lần công bố nào",
        "file": "Tệp",
        "file_rows": "Số dòng trong tệp",
        "precision": "Độ chính xác ghép tự động",
        "origin_coded": "Theo mã xã trong tệp",
        "origin_from_address": "Suy ra từ địa chỉ",
        "origin_none": "Không xác định được xã",
        "origin_note": "Bản ghi bị cách ly không tính. Địa chỉ có tên xã trùng ở nhiều đơn vị mà không đủ thông tin "
        "phân biệt thì không suy đoán (lý do «Địa chỉ không xác định được xã»).",
    },
    "en": {
        "title": "Reconciliation of sector data against the National Population Database",
        "sector": "Sector",
        "level": "Level",
        "code": "Code",
        "unit": "Unit",
        "parent": "Within",
        "total": "Records",
        "dung": "Correct",
        "du": "Complete",
        "sach": "Clean",
        "song": "Live",
        "rate_dung": "Correct rate",
        "rate_du": "Complete rate",
        "rate_sach": "Clean rate",
        "rate_song": "Live rate",
        "verified": "Verification rate (correct/total)",
        **STATUS_LABELS["en"],
        "delta": "Change of correct rate (points)",
        "register": "Register / event type",
        "records": "Records",
        "people": "People",
        "people_dung": "People with a correct record",
        "rate_people": "People rate",
        "reason": "Reason code",
        "message": "Reason",
        "count": "Records",
        "prev_total": "Previous total",
        "prev_dung": "Previous correct",
        "prev_rate": "Previous correct rate",
        "sentence": "Ready-to-paste sentence",
        "item": "Item",
        "value": "Value",
        "unknown_unit": "Unknown",
        "levels": {
            "province": "Province/city",
            "commune": "Commune/ward",
            "district_old": "Former district (before 2025)",
            "commune_old": "Former commune (before 2025)",
        },
        "sheets": {
            "summary": "Summary",
            "units": "By unit",
            "registers": "By register",
            "people": "Records and people",
            "full": "Communes at 100%",
            "lowest": "Lowest communes",
            "change": "Change",
            "reasons": "Reasons",
            "sentences": "Sentences",
            "notes": "Notes",
            "publication": "Publication",
            "files": "Unusable files",
            "origin": "Commune source",
            "trend": "Trend",
            "inputs": "Input files",
        },
        "state": "State",
        "published": "Published",
        "held": "Not published",
        "why": "Reasons / warnings",
        "in_force": "Figures in force",
        "never": "never published",
        "file": "File",
        "file_rows": "Rows in the file",
        "precision": "Precision of automatic links",
        "origin_coded": "From the commune code",
        "origin_from_address": "Derived from the address",
        "origin_none": "No commune",
        "origin_note": "Quarantined records not counted. An address whose commune name exists in several units "
        "with nothing to tell them apart is never guessed.",
    },
}

# civil-status registers as the provincial report names them (keys: event_type folded to a_b_c)
REGISTERS = {
    "khai_sinh": ("Sổ đăng ký khai sinh", "Birth register"),
    "khai_tu": ("Sổ đăng ký khai tử", "Death register"),
    "ket_hon": ("Sổ đăng ký kết hôn", "Marriage register"),
    "nuoi_con_nuoi": ("Sổ đăng ký nuôi con nuôi", "Adoption register"),
}


@dataclass(frozen=True)
class Hidden:
    """A count kept out of the report because its unit holds fewer than ``threshold`` records."""

    threshold: int

    def __str__(self) -> str:
        return f"<{self.threshold}"


@dataclass
class Column:
    header: str
    kind: str = "text"  # text | int | pct (fraction) | delta (points) | count (int or Hidden) | date


@dataclass
class Table:
    key: str
    title: str
    columns: list[Column]
    rows: list[list[object]]
    note: str = ""


@dataclass
class Report:
    """Everything the XLSX and HTML renderings show, in the order they show it."""

    title: str
    lang: str
    run_info: dict
    tables: list[Table]
    sentences: list[str]
    notes: list[tuple[str, object]]  # (item, text or datetime)
    summary: pl.DataFrame  # sector-level aggregate with change (for charts and tests)
    lowest: dict[str, list[tuple[str, float]]] = field(default_factory=dict)  # sector → (unit name, rate)
    labels: dict[str, str] = field(default_factory=dict)
    suppress_below: int = 5
    heading: ReportHeading = field(default_factory=ReportHeading)
    issued: date | None = None  # the day the run started: "Đà Nẵng, ngày 04 tháng 12 năm 2026"
    started: datetime | None = None
    cutoff: date | None = None  # "số liệu tính đến ngày …"
    cutoff_source: str = ""  # how the cut-off was found, said next to it
    communes: list[CommuneEntry] = field(default_factory=list)  # the per-commune index of the HTML page
    trend: dict[str, list[tuple[date | None, float]]] = field(
        default_factory=dict
    )  # sector → (day, rate), oldest first

    def place_and_date(self) -> str:
        return date_in_words(self.issued or date.today(), self.heading.place, self.lang)

    def subject(self) -> str:
        """The abstract under «BÁO CÁO» (trích yếu), with the area from the configuration."""
        if self.lang == "vi":
            return f"Kết quả đối soát dữ liệu chuyên ngành với Cơ sở dữ liệu quốc gia về dân cư trên địa bàn {self.heading.area}"
        return f"Reconciliation of sector data against the National Population Database: {self.heading.area}"


@dataclass
class CommuneEntry:
    """One current commune in the HTML index: each sector's counts and rates (Hidden where too few)."""

    code: str
    name: str
    parent: str
    rows: list[list[object]]  # sector label, n, n_dung, rate_dung, rate_du, rate_sach, rate_song
    lowest_rate: float | None  # the lowest verification rate over its sectors (None: all suppressed)


def register_key(event_type: str | None) -> str:
    """'Khai sinh' / 'khai-sinh' / 'KHAI_SINH' → 'khai_sinh'."""
    return re.sub(r"[^a-z0-9]+", "_", unidecode(event_type or "").lower()).strip("_")


def sector_kind(name: str, label: str) -> str:
    """vaccination | civil | insurance | social | other: picks the report's wording for a sector."""
    key = re.sub(r"[^a-z0-9]+", " ", unidecode(f"{name} {label}").lower())
    if re.search(r"tiem|vaccin|vacxin", key):
        return "vaccination"
    if re.search(r"ho ?tich|civil", key):
        return "civil"
    if re.search(r"bao hiem|bhxh|bhyt|insur", key):
        return "insurance"
    if re.search(r"an sinh|asxh|bao tro|social|nguoi co cong", key):
        return "social"
    return "other"


def _small(n: int | None, threshold: int) -> bool:
    return n is not None and 0 < n < threshold


def _unit_label(row: dict, t: dict) -> str:
    unit = row["unit"]
    if unit == ALL:
        return ""
    if unit.endswith(UNKNOWN):
        return t["unknown_unit"]
    return row.get("unit_name") or unit.split(":", 1)[-1]


def _counts_or_suppressed(row: dict, keys: list[str], threshold: int, suppress: bool) -> list[object]:
    if suppress and _small(row["n"], threshold):
        return [Hidden(threshold) for _ in keys]
    return [row[k] for k in keys]


def _rates_or_blank(row: dict, keys: list[str], threshold: int, suppress: bool) -> list[object]:
    if suppress and _small(row["n"], threshold):
        return [None for _ in keys]
    return [row[k] for k in keys]


MATCHING_NOTE_TITLE = {"vi": "Độ tin cậy của việc ghép", "en": "Matching reliability"}


def matching_note(thresholds: dict | None, lang: str = "vi") -> str | None:
    """How sure the linking is, from the matcher's own estimates (``match_thresholds`` of a run's manifest)."""
    if not thresholds or thresholds.get("est_precision_matched") is None:
        return None
    t, vi = thresholds, lang == "vi"

    def estimate(v: float | None) -> str:
        # an estimate just under 1 must not read as a certain "100,000%"
        if v is not None and v < 1 and round(100 * v, 3) >= 100:
            return ("trên " if vi else "over ") + fmt_pct(0.99999, digits=3, lang=lang)
        return fmt_pct(v, digits=3, lang=lang)

    pct = {k: estimate(t.get(k)) if k.startswith("est") else fmt_pct(t.get(k), lang=lang) for k in t}
    if vi:
        text = (
            f"Ghép tự động khi xác suất khớp từ {pct['matched']}; độ chính xác ước tính của các cặp đã ghép "
            f"{pct['est_precision_matched']}, tỷ lệ tìm thấy ước tính {pct['est_recall']}. Từ {pct['review']} "
            "đến dưới ngưỡng ghép: chuyển cán bộ xác minh."
        )
    else:
        text = (
            f"Linked automatically from a match probability of {pct['matched']}; estimated precision of the links "
            f"{pct['est_precision_matched']}, estimated recall {pct['est_recall']}. From {pct['review']} up to "
            "the link threshold: sent to a steward for review."
        )
    return text


def _sentences(
    summary: pl.DataFrame,
    agg: pl.DataFrame,
    reasons: pl.DataFrame,
    kinds: dict,
    labels: dict,
    lang: str,
    threshold: int,
) -> list[str]:
    """The provincial report's phrasing ("3.815.315/4.044.111 mũi tiêm đạt tỷ lệ 94,34%")."""
    vi = lang == "vi"
    out = []
    for row in summary.iter_rows(named=True):
        sector, n, d = row["sector"], row["n"], row["n_dung"]
        label = labels.get(sector, sector)
        ratio = f"{fmt_int(d, lang)}/{fmt_int(n, lang)}"
        pct = fmt_pct(d, n, lang=lang)
        kind = kinds[sector]
        if kind == "vaccination":
            people = f"{fmt_int(row['n_people_dung'], lang)}/{fmt_int(row['n_people'], lang)}"
            s = (
                f"Phối hợp làm sạch thông tin tiêm chủng trên địa bàn: {ratio} mũi tiêm đạt tỷ lệ {pct} "
                f"({people} người có mũi tiêm được xác thực)."
                if vi
                else f"Vaccination data: {ratio} doses verified, i.e. {pct} ({people} people with a verified dose)."
            )
        elif kind == "insurance":
            s = (
                f"Đã rà soát, xác thực {ratio} dữ liệu người tham gia bảo hiểm, đạt tỷ lệ {pct}."
                if vi
                else f"Insurance: {ratio} participant records verified, i.e. {pct}."
            )
        elif kind == "civil":
            regs = agg.filter(
                (pl.col("sector") == sector) & (pl.col("level") == "event_type") & (pl.col("n") > 0)
            )
            parts = []
            for r in regs.sort("unit").iter_rows(named=True):
                et = r["unit"].split(":", 1)[1]
                name = REGISTERS.get(register_key(et), (et, et))[0 if vi else 1]
                if _small(r["n"], threshold):
                    continue
                parts.append(
                    f"{name} đạt tỷ lệ {fmt_pct(r['rate_dung'], lang=lang)}"
                    if vi
                    else f"{name} {fmt_pct(r['rate_dung'], lang=lang)}"
                )
            detail = ("; cụ thể như sau: " if vi else ": ") + "; ".join(parts) if parts else ""
            s = (
                f"Đã đối chiếu {fmt_int(n, lang)} dữ liệu hộ tịch với dữ liệu dân cư, xác thực {ratio}, "
                f"đạt tỷ lệ {pct}{detail}."
                if vi
                else f"Civil status: {fmt_int(n, lang)} records checked, {ratio} verified, i.e. {pct}{detail}."
            )
        elif kind == "social":
            paid = reasons.filter((pl.col("sector") == sector) & (pl.col("reason") == "PAID_AFTER_DEATH"))
            k = int(paid["n"].sum()) if paid.height else 0
            k_text = (
                (f"dưới {threshold}" if vi else f"fewer than {threshold}")
                if _small(k, threshold)
                else fmt_int(k, lang)
            )
            s = (
                f"Thực hiện rà soát 100% các đối tượng được chi trả ASXH ({label}) trên cơ sở dữ liệu dân cư: "
                f"xác thực {ratio} đối tượng, đạt tỷ lệ {pct}; phát hiện {k_text} trường hợp đã chết nhưng còn chi trả."
                if vi
                else f"All {fmt_int(n, lang)} social-protection payees ({label}) checked: {ratio} verified, i.e. {pct}; "
                f"{k_text} paid after death."
            )
        else:
            s = (
                f"{label}: đã rà soát, xác thực {ratio} bản ghi, đạt tỷ lệ {pct}."
                if vi
                else f"{label}: {ratio} records verified, i.e. {pct}."
            )
        out.append(s)
        # communes at 100 % and the rest
        comm = agg.filter(
            (pl.col("sector") == sector)
            & (pl.col("level") == "commune")
            & (pl.col("unit") != UNKNOWN)
            & (pl.col("n") >= max(threshold, 1))
        )
        if comm.height:
            full = comm.filter(pl.col("n_dung") == pl.col("n"))
            rest = comm.filter(pl.col("n_dung") < pl.col("n"))
            names = full.sort("unit")["unit_name"].fill_null("?").to_list()
            shown = ", ".join(names[:5]) + (", …" if len(names) > 5 else "")
            head = (
                f"{label}: {fmt_int(full.height, lang)}/{fmt_int(comm.height, lang)} xã, phường đạt 100%"
                if vi
                else f"{label}: {fmt_int(full.height, lang)}/{fmt_int(comm.height, lang)} communes at 100%"
            )
            if names:
                head += f" ({shown})"
            if rest.height:
                low = float(rest["rate_dung"].min()) * 100
                floor = math.floor(low)
                word = ("trên" if low > floor else "từ") if vi else ("above" if low > floor else "from")
                tail = (
                    f"; các xã, phường còn lại đạt {word} {floor}%" if vi else f"; the others {word} {floor}%"
                )
                head += tail
            out.append(head + ".")
        if row["delta_rate_dung"] is not None:
            delta = row["delta_rate_dung"]
            amount = f"{abs(delta):.2f}".replace(".", ",") if vi else f"{abs(delta):.2f}"
            if vi:
                verb = "tăng" if delta > 0 else ("giảm" if delta < 0 else "không đổi")
                out.append(
                    f"{label}: so với lần đối soát trước, tỷ lệ xác thực {verb}"
                    + (f" {amount} điểm phần trăm." if delta else ".")
                )
            else:
                verb = "rose" if delta > 0 else ("fell" if delta < 0 else "is unchanged")
                out.append(
                    f"{label}: since the previous run the verification rate {verb}"
                    + (f" by {amount} points." if delta else ".")
                )
    return out


def _publication(run_info: dict, lang: str) -> tuple[list[Table], list[str]]:
    """The publication state per sector and the files that could not be used, as tables and sentences."""
    t = LABELS[lang]
    vi = lang == "vi"
    pub = run_info.get("publication") or []
    problems = run_info.get("file_problems") or []
    tables, sentences = [], []
    if pub:
        rows = []
        for p in pub:
            since = p.get("in_force")
            because = "; ".join(m[:1].lower() + m[1:].rstrip(". ") for m in p.get("errors", []))
            if p["published"]:
                in_force = str(run_info.get("run_id", ""))
            elif since:
                day = vn_date(as_date(since["finished_at"])) if vi else since["finished_at"][:10]
                in_force = f"{since['run_id']} ({day})"
            else:
                in_force = t["never"]
            why = [
                *p.get("errors", []),
                *[("Cảnh báo: " if vi else "Warning: ") + w for w in p.get("warnings", [])],
            ]
            rows.append(
                [
                    p["label"],
                    t["published"] if p["published"] else t["held"],
                    "; ".join(why),
                    in_force,
                    p.get("precision", "") if p["published"] else "",
                ]
            )
            if p["published"] and p.get("precision"):
                sentences.append(
                    f"Về độ tin cậy của các tỷ lệ lĩnh vực {p['label']}: {p['precision']}."
                    if vi
                    else f"How sure the rates of sector {p['label']} are: {p['precision']}."
                )
            if not p["published"]:
                kept = (
                    f"số liệu đang có hiệu lực là của lượt {since['run_id']} ngày {vn_date(as_date(since['finished_at']))}"
                    if vi and since
                    else f"the figures in force are those of run {since['run_id']} of {since['finished_at'][:10]}"
                    if since
                    else ("chưa có số liệu nào được công bố" if vi else "no figures were ever published")
                )
                sentences.append(
                    f"Lĩnh vực {p['label']} chưa được công bố ở lượt này vì {because}; {kept}."
                    if vi
                    else f"Sector {p['label']} is not published in this run because {because}; {kept}."
                )
        tables.append(
            Table(
                "publication",
                t["sheets"]["publication"],
                [
                    Column(t["sector"]),
                    Column(t["state"]),
                    Column(t["why"]),
                    Column(t["in_force"]),
                    Column(t["precision"]),
                ],
                rows,
            )
        )
    if problems:
        tables.append(
            Table(
                "files",
                t["sheets"]["files"],
                [Column(t["sector"]), Column(t["file"]), Column(t["file_rows"], "int"), Column(t["message"])],
                [
                    [
                        next((p["label"] for p in pub if p["sector"] == f["sector"]), f["sector"]),
                        f["file"],
                        f.get("rows"),
                        f["message"],
                    ]
                    for f in problems
                ],
            )
        )
    return tables, sentences


def _commune_origin(results: pl.DataFrame, labels: dict[str, str], lang: str) -> Table | None:
    """Where each sector's communes came from: the code column, the address text, or nowhere."""
    if "commune_origin" not in results.columns or not results.height:
        return None
    t = LABELS[lang]
    kinds = ("coded", "from_address", "none")
    counts = (
        results.filter(pl.col("commune_origin").is_not_null())
        .group_by("sector", "commune_origin")
        .len()
        .pivot("commune_origin", index="sector", values="len")
        .sort("sector")
    )
    rows = [
        [labels.get(r["sector"], r["sector"]), *[r.get(k) or 0 for k in kinds]]
        for r in counts.iter_rows(named=True)
    ]
    return Table(
        "origin",
        t["sheets"]["origin"],
        [Column(t["sector"]), *[Column(t[f"origin_{k}"], "int") for k in kinds]],
        rows,
        t["origin_note"],
    )


def _inputs(results: pl.DataFrame, run_info: dict, labels: dict, lang: str) -> tuple[Table, list[date]]:
    """Which extract files the figures cover, with their rows and dates; the dates for the cut-off.

    From ``run_info["inputs"]`` (:func:`doisoat.report.heading.describe_inputs`) when the run passes it, else
    the file names and row counts found in the results (no dates then). Unusable files are listed by
    :func:`_publication`'s "files" table instead.
    """
    vi = lang == "vi"
    given = [f for f in run_info.get("inputs") or [] if f.get("ok", True)]
    rows, dates = [], []
    if given:
        for f in given:
            modified = as_datetime(f.get("modified"))
            if modified:
                dates.append(modified.date())
            name = f["file"] + (f" ({f['sheet']})" if f.get("sheet") else "")
            rows.append([labels.get(f["sector"], f["sector"]), name, f.get("rows"), modified])
    elif "source_file" in results.columns and results.height:
        counts = results.group_by("sector", "source_file").len("n").sort("sector", "source_file")
        for r in counts.iter_rows(named=True):
            rows.append([labels.get(r["sector"], r["sector"]), r["source_file"] or "", r["n"], None])
    table = Table(
        "inputs",
        LABELS[lang]["sheets"]["inputs"],
        [
            Column("Lĩnh vực" if vi else "Sector"),
            Column("Tệp" if vi else "File"),
            Column("Số dòng" if vi else "Rows", "int"),
            Column("Ngày giờ của tệp" if vi else "File date", "date"),
        ],
        rows,
        note=(
            "Ngày giờ của tệp là thời điểm tệp được ghi lần cuối trên máy chạy đối soát."
            if vi
            else "File date: when the file was last written on the machine that ran the reconciliation."
        )
        if any(r[3] for r in rows)
        else "",
    )
    return table, dates


def _cutoff(
    run_info: dict, input_dates: list[date], started: datetime | None, lang: str
) -> tuple[date | None, str]:
    """The data cut-off and where it comes from: given for the run, else the newest input file, else the run."""
    vi = lang == "vi"
    given = as_date(run_info.get("data_cutoff"))
    if given:
        return given, ""
    if input_dates:
        return max(input_dates), ("ngày của tệp đầu vào mới nhất" if vi else "date of the newest input file")
    if started:
        return started.date(), ("ngày chạy đối soát" if vi else "date of the run")
    return None, ""


TREND_RUNS = 12  # the trend shows this run and the published runs before it, at most this many points
TREND_TITLE = {"vi": "Xu hướng tỷ lệ xác thực qua các lần đối soát", "en": "Verification rate over the runs"}


def _trend(
    run_info: dict, summary: pl.DataFrame, labels: dict, started: datetime | None, lang: str
) -> tuple[dict[str, list[tuple[date | None, float]]], Table | None]:
    """Each sector's verification rate over its published runs (``run_info["history"]``) and this run.

    ``history``: one dict per earlier published run and sector with ``run_id, started_at, sector, n, n_dung``
    (the sector rows of DuckDB ``run_aggregates``, unit ``__all__``).
    """
    vi = lang == "vi"
    this_run = str(run_info.get("run_id", ""))
    points: dict[str, list[tuple[str, datetime | None, int, int]]] = {}
    for h in run_info.get("history") or []:
        if h.get("run_id") == this_run or not h.get("n"):
            continue
        points.setdefault(h["sector"], []).append(
            (str(h["run_id"]), as_datetime(h.get("started_at")), int(h["n"]), int(h["n_dung"]))
        )
    if not points:
        return {}, None
    for r in summary.iter_rows(named=True):  # this run, for the sectors it publishes that have a past
        if r["n"] and r["sector"] in points:
            points[r["sector"]].append((this_run, started, int(r["n"]), int(r["n_dung"])))
    trend, rows = {}, []
    for sector in sorted(points):
        series = sorted(points[sector], key=lambda p: (p[1] or datetime.min, p[0]))[-TREND_RUNS:]
        trend[sector] = [(when.date() if when else None, d / n) for _, when, n, d in series]
        rows += [[labels.get(sector, sector), run_id, when, n, d, d / n] for run_id, when, n, d in series]
    table = Table(
        "trend",
        TREND_TITLE[lang],
        [
            Column("Lĩnh vực" if vi else "Sector"),
            Column("Lần đối soát" if vi else "Run"),
            Column("Thời điểm" if vi else "Started", "date"),
            Column(LABELS[lang]["total"], "int"),
            Column(LABELS[lang]["dung"], "int"),
            Column(LABELS[lang]["verified"], "pct"),
        ],
        rows,
        note=(
            f"Các lần đã công bố gần nhất (tối đa {TREND_RUNS}) và lần này."
            if vi
            else f"The latest published runs (at most {TREND_RUNS}) and this one."
        ),
    )
    return trend, table


def _commune_index(agg: pl.DataFrame, labels: dict, threshold: int) -> list[CommuneEntry]:
    """Every current commune with its sectors, alphabetical by the name without «Xã/Phường/Đặc khu»."""
    comm = agg.filter((pl.col("level") == "commune") & (pl.col("unit") != UNKNOWN) & (pl.col("n") > 0))
    entries = []
    for (code,), part in comm.sort("unit").group_by("unit", maintain_order=True):
        rows, rates = [], []
        for r in part.sort("sector").iter_rows(named=True):
            hidden = _small(r["n"], threshold)
            rows.append(
                [
                    labels.get(r["sector"], r["sector"]),
                    *_counts_or_suppressed(r, ["n", "n_dung"], threshold, True),
                    *_rates_or_blank(r, ["rate_dung", "rate_du", "rate_sach", "rate_song"], threshold, True),
                ]
            )
            if not hidden and r["rate_dung"] is not None:
                rates.append(r["rate_dung"])
        first = part.row(0, named=True)
        entries.append(
            CommuneEntry(
                code,
                first.get("unit_name") or code,
                first.get("parent_name") or "",
                rows,
                min(rates, default=None),
            )
        )
    return sorted(entries, key=lambda e: (commune_sort_key(e.name), e.code))


_UNIT_TYPES = re.compile(r"^(xã|phường|đặc khu|thị trấn|thị xã)\s+", re.IGNORECASE)


def commune_sort_key(name: str) -> str:
    """'Phường Hải Vân' → 'hai van': communes sort by their own name, not by «Xã» / «Phường»."""
    return unidecode(_UNIT_TYPES.sub("", name)).lower()


def _summary_table(
    summary: pl.DataFrame,
    labels: dict[str, str],
    t: dict,
    lang: str,
    vi: bool,
    count_keys: list[str],
    rate_keys: list[str],
    dim_cols: list[Column],
    rate_cols: list[Column],
) -> list[Table]:
    """The headline table: per sector the four dimensions, their rates, the verification rate and the statuses."""
    tables: list[Table] = []
    rows = []
    for r in summary.iter_rows(named=True):
        rows.append(
            [
                labels[r["sector"]],
                *[r[k] for k in count_keys],
                *[r[k] for k in rate_keys],
                f"{fmt_int(r['n_dung'], lang)}/{fmt_int(r['n'], lang)}, {'đạt' if vi else 'i.e.'} "
                f"{fmt_pct(r['n_dung'], r['n'], lang=lang)}",
                *[r[f"n_{s}"] for s in RESULT_STATUSES],
                r["delta_rate_dung"],
            ]
        )
    tables.append(
        Table(
            "summary",
            t["sheets"]["summary"],
            [
                Column(t["sector"]),
                *dim_cols,
                *rate_cols,
                Column(t["verified"]),
                *[Column(t[s], "int") for s in RESULT_STATUSES],
                Column(t["delta"], "delta"),
            ],
            rows,
        )
    )
    return tables


def _units_table(
    agg: pl.DataFrame,
    labels: dict[str, str],
    t: dict,
    lang: str,
    vi: bool,
    thr: int,
    count_keys: list[str],
    rate_keys: list[str],
    dim_cols: list[Column],
    rate_cols: list[Column],
) -> list[Table]:
    """Per province, old district, commune and old commune: the same figures, small units hidden."""
    tables: list[Table] = []
    unit_rows = []
    units = agg.filter(pl.col("level").is_in(["province", "commune", "district_old", "commune_old"]))
    level_order = {"province": 0, "district_old": 1, "commune": 2, "commune_old": 3}
    units = units.with_columns(pl.col("level").replace_strict(level_order, return_dtype=pl.Int8).alias("_o"))
    for r in units.sort("sector", "_o", "unit").iter_rows(named=True):
        code = "" if r["unit"].endswith(UNKNOWN) else r["unit"].split(":", 1)[-1]
        suppressed = _small(r["n"], thr)
        unit_rows.append(
            [
                labels[r["sector"]],
                t["levels"][r["level"]],
                code,
                _unit_label(r, t),
                r.get("parent_name") or "",
                *_counts_or_suppressed(r, count_keys, thr, True),
                *_rates_or_blank(r, rate_keys, thr, True),
                ""
                if suppressed
                else f"{fmt_int(r['n_dung'], lang)}/{fmt_int(r['n'], lang)}, "
                f"{'đạt' if vi else 'i.e.'} {fmt_pct(r['n_dung'], r['n'], lang=lang)}",
                None if suppressed else r["delta_rate_dung"],
            ]
        )
    unit_cols = [
        Column(t["sector"]),
        Column(t["level"]),
        Column(t["code"]),
        Column(t["unit"]),
        Column(t["parent"]),
    ]
    tables.append(
        Table(
            "units",
            t["sheets"]["units"],
            [
                *unit_cols,
                *[Column(c.header, "count") for c in dim_cols],
                *rate_cols,
                Column(t["verified"]),
                Column(t["delta"], "delta"),
            ],
            unit_rows,
            note=""
            if thr <= 1
            else (
                f"Đơn vị có dưới {thr} bản ghi: số liệu được ẩn (<{thr}), không tính tỷ lệ."
                if vi
                else f"Units with fewer than {thr} records: counts hidden (<{thr}), no rates."
            ),
        )
    )
    return tables


def _registers_table(agg: pl.DataFrame, labels: dict[str, str], t: dict, vi: bool, thr: int) -> list[Table]:
    """Civil status per register (births, marriages, deaths…): records and the đúng rate."""
    tables: list[Table] = []
    reg_rows = []
    for r in agg.filter(pl.col("level") == "event_type").iter_rows(named=True):
        et = r["unit"].split(":", 1)[1]
        name = REGISTERS.get(register_key(et), (et, et))[0 if vi else 1]
        reg_rows.append(
            [
                labels[r["sector"]],
                name,
                *_counts_or_suppressed(r, ["n", "n_dung"], thr, True),
                *_rates_or_blank(r, ["rate_dung"], thr, True),
            ]
        )
    tables.append(
        Table(
            "registers",
            t["sheets"]["registers"],
            [
                Column(t["sector"]),
                Column(t["register"]),
                Column(t["total"], "count"),
                Column(t["dung"], "count"),
                Column(t["rate_dung"], "pct"),
            ],
            reg_rows,
        )
    )
    return tables


def _people_table(summary: pl.DataFrame, labels: dict[str, str], t: dict, vi: bool) -> list[Table]:
    """Records and people per sector (a person may own several records, a vaccination record is a dose)."""
    tables: list[Table] = []
    people_rows = [
        [
            labels[r["sector"]],
            r["n"],
            r["n_dung"],
            r["rate_dung"],
            r["n_people"],
            r["n_people_dung"],
            r["n_people_dung"] / r["n_people"] if r["n_people"] else None,
        ]
        for r in summary.iter_rows(named=True)
    ]
    tables.append(
        Table(
            "people",
            t["sheets"]["people"],
            [
                Column(t["sector"]),
                Column(t["records"], "int"),
                Column(t["dung"], "int"),
                Column(t["rate_dung"], "pct"),
                Column(t["people"], "int"),
                Column(t["people_dung"], "int"),
                Column(t["rate_people"], "pct"),
            ],
            people_rows,
            note=(
                "Số người = số người khác nhau trong CSDLQG được khớp, cộng mỗi bản ghi không khớp được tính là "
                "một người; với tiêm chủng, bản ghi là mũi tiêm."
                if vi
                else "People = distinct matched persons plus one per unmatched record; for vaccination a record is a dose."
            ),
        )
    )
    return tables


def _commune_tables(
    agg: pl.DataFrame, labels: dict[str, str], t: dict, vi: bool, thr: int
) -> tuple[list[Table], dict[str, list[tuple[str, float]]]]:
    """Communes with every record đúng, and the ten lowest per sector (only communes of ``thr`` records or more)."""
    tables: list[Table] = []
    communes = agg.filter(
        (pl.col("level") == "commune") & (pl.col("unit") != UNKNOWN) & (pl.col("n") >= max(thr, 1))
    )
    full = communes.filter(pl.col("n_dung") == pl.col("n")).sort("sector", "unit")
    tables.append(
        Table(
            "full",
            t["sheets"]["full"],
            [Column(t["sector"]), Column(t["code"]), Column(t["unit"]), Column(t["total"], "int")],
            [
                [labels[r["sector"]], r["unit"], r["unit_name"] or "", r["n"]]
                for r in full.iter_rows(named=True)
            ],
        )
    )
    lowest_rows = []
    lowest: dict[str, list[tuple[str, float]]] = {}
    for (sector,), part in communes.filter(pl.col("n_dung") < pl.col("n")).group_by(
        "sector", maintain_order=True
    ):
        low = part.sort(["rate_dung", "unit"]).head(10)
        lowest[sector] = [(r["unit_name"] or r["unit"], r["rate_dung"]) for r in low.iter_rows(named=True)]
        lowest_rows += [
            [labels[sector], r["unit"], r["unit_name"] or "", r["n"], r["n_dung"], r["rate_dung"]]
            for r in low.iter_rows(named=True)
        ]
    lowest_rows.sort(key=lambda row: (row[0], row[5], row[1]))
    tables.append(
        Table(
            "lowest",
            t["sheets"]["lowest"],
            [
                Column(t["sector"]),
                Column(t["code"]),
                Column(t["unit"]),
                Column(t["total"], "int"),
                Column(t["dung"], "int"),
                Column(t["rate_dung"], "pct"),
            ],
            lowest_rows,
            note=(
                f"Chỉ nêu tên xã, phường có từ {thr} bản ghi trở lên."
                if vi
                else f"Only communes with at least {thr} records are named."
            ),
        )
    )
    return tables, lowest


def _change_table(
    summary: pl.DataFrame, previous: pl.DataFrame | None, labels: dict[str, str], t: dict, vi: bool
) -> list[Table]:
    """This run against the previous one, per sector."""
    tables: list[Table] = []
    change_rows = [
        [
            labels[r["sector"]],
            r["n_prev"],
            r["n_dung_prev"],
            (r["n_dung_prev"] / r["n_prev"]) if r["n_prev"] else None,
            r["n"],
            r["n_dung"],
            r["rate_dung"],
            r["delta_rate_dung"],
        ]
        for r in summary.iter_rows(named=True)
    ]
    tables.append(
        Table(
            "change",
            t["sheets"]["change"],
            [
                Column(t["sector"]),
                Column(t["prev_total"], "int"),
                Column(t["prev_dung"], "int"),
                Column(t["prev_rate"], "pct"),
                Column(t["total"], "int"),
                Column(t["dung"], "int"),
                Column(t["rate_dung"], "pct"),
                Column(t["delta"], "delta"),
            ],
            change_rows,
            note=""
            if previous is not None
            else ("Chưa có lần đối soát trước." if vi else "No previous run."),
        )
    )
    return tables


def _reasons_table(
    reasons: pl.DataFrame, labels: dict[str, str], t: dict, lang: str, thr: int
) -> list[Table]:
    """Reason codes per sector with their messages, small counts hidden."""
    tables: list[Table] = []
    tables.append(
        Table(
            "reasons",
            t["sheets"]["reasons"],
            [Column(t["sector"]), Column(t["reason"]), Column(t["message"]), Column(t["count"], "count")],
            [
                [
                    labels[r["sector"]],
                    r["reason"],
                    message(r["reason"], lang) if r["reason"] in REASONS else r["reason"],
                    Hidden(thr) if _small(r["n"], thr) else r["n"],
                ]
                for r in reasons.iter_rows(named=True)
            ],
        )
    )
    return tables


def _notes(
    run_info: dict, started: datetime | None, lang: str, vi: bool, thr: int
) -> list[tuple[str, object]]:
    """The report's notes: the run, how sure the linking is, what each dimension means, data protection."""
    return [
        ("Lần chạy" if vi else "Run", str(run_info.get("run_id", ""))),
        ("Thời điểm" if vi else "Started", started or str(run_info.get("started_at", ""))),
        *[
            (MATCHING_NOTE_TITLE[lang], note)
            for note in [matching_note(run_info.get("match_thresholds"), lang)]
            if note
        ],
        (
            "Đúng" if vi else "Correct",
            "Khớp đúng một người trong CSDLQG; số định danh, họ tên, ngày sinh, giới tính trùng khớp."
            if vi
            else "Matches exactly one person; ID, name, birth date and sex agree.",
        ),
        (
            "Đủ" if vi else "Complete",
            "Có đủ các trường bắt buộc của lĩnh vực."
            if vi
            else "Every required field of the sector present.",
        ),
        (
            "Sạch" if vi else "Clean",
            "Giá trị hợp lệ, nhất quán, không trùng bản ghi."
            if vi
            else "Valid, consistent values; not a duplicate.",
        ),
        (
            "Sống" if vi else "Live",
            "Không phát sinh sau khi chết, mã đơn vị hành chính hiện hành, không dùng CMND cũ."
            if vi
            else "No activity after death, current admin units, no superseded ID.",
        ),
        (
            "Tỷ lệ xác thực" if vi else "Verification rate",
            "Số bản ghi đúng / tổng số bản ghi (kể cả bản ghi bị cách ly)."
            if vi
            else "Correct records / all records (quarantined rows included).",
        ),
        (
            "Bảo vệ dữ liệu" if vi else "Data protection",
            f"Báo cáo này có thể gửi ra ngoài tỉnh: đơn vị có dưới {thr} bản ghi bị ẩn số liệu (<{thr}), "
            f"số lượng theo lý do dưới {thr} ghi là <{thr}; chỉ nêu tên xã có từ {thr} bản ghi. Danh sách xử lý "
            "và dữ liệu làm giàu chứa dữ liệu cá nhân, chỉ dùng nội bộ."
            if vi
            else f"This report may leave the province: units with fewer than {thr} records are hidden (<{thr}), "
            f"reason counts below {thr} show <{thr}; only communes with {thr}+ records are named. Worklists and "
            "enriched extracts hold personal data and stay inside.",
        ),
    ]


def build_report(
    results: pl.DataFrame,
    previous: pl.DataFrame | None,
    sectors: dict[str, str],
    run_info: dict,
    lang: str = "vi",
    suppress_below: int = 5,
    heading: ReportHeading | None = None,
) -> Report:
    """All tables of the task-force report from the per-record results (and the previous run's aggregates).

    ``heading``: who issues the report (default :func:`doisoat.report.heading.load_heading`). ``run_info`` may
    carry ``inputs`` (:func:`doisoat.report.heading.describe_inputs`) and ``data_cutoff`` (ISO date).
    """
    heading = heading or load_heading()
    t = LABELS[lang]
    vi = lang == "vi"
    thr = suppress_below
    agg = change_since(aggregate(results), previous)
    reasons = reason_counts(results)
    labels = {s: sectors.get(s, s) for s in agg["sector"].unique().sort().to_list()}
    kinds = {s: sector_kind(s, lab) for s, lab in labels.items()}
    summary = agg.filter(pl.col("level") == "sector").sort("sector")
    count_keys = ["n", "n_dung", "n_du", "n_sach", "n_song"]
    rate_keys = ["rate_dung", "rate_du", "rate_sach", "rate_song"]
    dim_cols = [Column(t["total"], "int")] + [Column(t[d], "int") for d in DIMENSIONS]
    rate_cols = [Column(t[k], "pct") for k in rate_keys]
    tables: list[Table] = []
    tables += _summary_table(summary, labels, t, lang, vi, count_keys, rate_keys, dim_cols, rate_cols)
    tables += _units_table(agg, labels, t, lang, vi, thr, count_keys, rate_keys, dim_cols, rate_cols)
    tables += _registers_table(agg, labels, t, vi, thr)
    tables += _people_table(summary, labels, t, vi)
    commune_tables, lowest = _commune_tables(agg, labels, t, vi, thr)
    tables += commune_tables
    tables += _change_table(summary, previous, labels, t, vi)
    tables += _reasons_table(reasons, labels, t, lang, thr)

    sentences = _sentences(summary, agg, reasons, kinds, labels, lang, thr)
    pub_tables, pub_sentences = _publication(run_info, lang)
    inputs, input_dates = _inputs(results, run_info, labels, lang)
    # what is and is not published comes first: it decides what may be cited; then what the figures cover
    tables[:0] = [*pub_tables, inputs]
    origin = _commune_origin(results, labels, lang)
    if origin is not None:
        tables.append(origin)
    sentences += pub_sentences
    started = as_datetime(run_info.get("started_at"))
    cutoff, cutoff_source = _cutoff(run_info, input_dates, started, lang)
    trend, trend_table = _trend(run_info, summary, labels, started, lang)
    if trend_table is not None:
        tables.insert(tables.index(next(tb for tb in tables if tb.key == "change")) + 1, trend_table)
    notes = _notes(run_info, started, lang, vi, thr)
    return Report(
        LABELS[lang]["title"],
        lang,
        run_info,
        tables,
        sentences,
        notes,
        summary,
        lowest,
        labels,
        thr,
        heading=heading,
        issued=started.date() if started else date.today(),
        started=started,
        cutoff=cutoff,
        cutoff_source=cutoff_source,
        communes=_commune_index(agg, labels, thr),
        trend=trend,
    )


COVER_SHEET = {"vi": "Báo cáo", "en": "Report"}
HIDDEN_FLAG = {"vi": "Số liệu bị ẩn", "en": "Figures hidden"}
WIDE_COLUMNS = 7  # a sheet with more columns prints on A4 landscape


def _page_setup(ws, landscape: bool, repeat_header: bool, lang: str) -> None:
    """A4, one page wide (as many pages tall as needed), header row on every page, page numbers."""
    ws.set_paper(9)
    if landscape:
        ws.set_landscape()
    else:
        ws.set_portrait()
    ws.fit_to_pages(1, 0)
    ws.set_margins(left=0.5, right=0.5, top=0.7, bottom=0.7)
    if repeat_header:
        ws.repeat_rows(0)
    page = "Trang &P/&N" if lang == "vi" else "Page &P of &N"
    ws.set_footer(f"&L&A&R{page}")


def _cover(wb, report: Report, fmt: dict) -> None:
    """The first sheet: the administrative heading, the title, the cut-off and the signature block."""
    h, vi = report.heading, report.lang == "vi"
    ws = wb.add_worksheet(COVER_SHEET[report.lang])
    ws.set_column(0, 0, 45)
    ws.set_column(1, 1, 4)
    ws.set_column(2, 2, 55)

    def put(row: int, col: int, text: str, f) -> None:  # every text formula-safe, configured ones too
        ws.write_string(row, col, safe_cell(text), f)

    def span(row: int, text: str, f) -> None:
        ws.merge_range(row, 0, row, 2, safe_cell(text), f)

    put(0, 0, h.parent_body, fmt["center"])
    put(1, 0, h.issuing_body, fmt["center_bold"])
    put(3, 0, h.document_number, fmt["center"])
    put(0, 2, NATION[report.lang], fmt["center_bold"])
    put(1, 2, MOTTO[report.lang], fmt["center_bold"])
    put(3, 2, report.place_and_date(), fmt["center_italic"])
    span(5, "BÁO CÁO" if vi else "REPORT", fmt["title"])
    span(6, report.subject(), fmt["center_bold_wrap"])
    ws.set_row(6, 36)
    row = 8
    if h.recipient:
        span(row, ("Kính gửi: " if vi else "To: ") + h.recipient + ".", fmt["center"])
        row += 2
    lines = []
    if report.cutoff:
        source = f" ({report.cutoff_source})" if report.cutoff_source else ""
        lines.append(
            ("Số liệu tính đến ngày " if vi else "Data as of ") + vn_date(report.cutoff) + source + "."
        )
    lines.append(("Lần đối soát: " if vi else "Run: ") + str(report.run_info.get("run_id", "")) + ".")
    for line in lines:
        span(row, line, fmt["wrap"])
        row += 1
    row += 1
    for s in report.sentences:
        span(row, s, fmt["wrap"])
        ws.set_row(row, 15 * (1 + len(s) // 110))
        row += 1
    row += 1
    put(row, 0, "Nơi nhận:" if vi else "Copies to:", fmt["bold_italic"])
    put(row, 2, h.signer_on_behalf, fmt["center_bold"])
    put(row + 1, 2, h.signer_title, fmt["center_bold"])
    for k, c in enumerate(h.copies_to):
        # an en dash: a leading "-" is what a spreadsheet reads as the start of a formula
        line = f"– {c};" if k < len(h.copies_to) - 1 else f"– {c}."
        put(row + 1 + k, 0, line, fmt["small"])
    _page_setup(ws, landscape=False, repeat_header=False, lang=report.lang)
    ws.hide_gridlines(2)


def write_xlsx(report: Report, path: Path) -> Path:
    """The cover sheet, one sheet per table, the sentences and notes; numbers stay numbers, rates 0.00 % cells.

    Every sheet prints on A4 one page wide with its header repeated (landscape when wide). A hidden count is a
    blank, grey numeric cell and the row says so in a «Số liệu bị ẩn» column; times are date cells.
    """
    t = LABELS[report.lang]
    path.parent.mkdir(parents=True, exist_ok=True)
    wb = xlsxwriter.Workbook(
        str(path), {"strings_to_formulas": False, "strings_to_numbers": False, "strings_to_urls": False}
    )
    head = wb.add_format(
        {"bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True, "valign": "top"}
    )
    fmts = {
        "int": wb.add_format({"num_format": "#,##0"}),
        "count": wb.add_format({"num_format": "#,##0", "align": "right"}),
        "pct": wb.add_format({"num_format": "0.00%"}),
        "delta": wb.add_format({"num_format": "+0.00;-0.00;0.00"}),
        "date": wb.add_format({"num_format": "dd/mm/yyyy hh:mm", "align": "left"}),
        "text": None,
    }
    hidden_fmt = wb.add_format({"num_format": "#,##0", "pattern": 1, "bg_color": "#E7E6E6"})
    note_fmt = wb.add_format({"italic": True, "font_color": "#555555"})
    font = {"font_name": "Times New Roman", "font_size": 13}
    cover_fmt = {
        "center": wb.add_format({**font, "align": "center"}),
        "center_bold": wb.add_format({**font, "align": "center", "bold": True}),
        "center_italic": wb.add_format({**font, "align": "center", "italic": True}),
        "center_bold_wrap": wb.add_format(
            {**font, "align": "center", "valign": "top", "bold": True, "text_wrap": True}
        ),
        "title": wb.add_format({**font, "align": "center", "bold": True, "font_size": 14}),
        "wrap": wb.add_format({**font, "text_wrap": True, "valign": "top"}),
        "bold_italic": wb.add_format({**font, "font_size": 12, "bold": True, "italic": True}),
        "small": wb.add_format({**font, "font_size": 11}),
    }
    _cover(wb, report, cover_fmt)
    for table in report.tables:
        ws = wb.add_worksheet(table.key and t["sheets"].get(table.key, table.title)[:31])
        hidden_rows = {
            r for r, row in enumerate(table.rows, start=1) if any(isinstance(v, Hidden) for v in row)
        }
        n_cols = len(table.columns) + (1 if hidden_rows else 0)
        for c, col in enumerate(table.columns):
            ws.write_string(0, c, col.header, head)
        if hidden_rows:
            ws.write_string(0, len(table.columns), HIDDEN_FLAG[report.lang], head)
        flag = (
            f"Có (dưới {report.suppress_below} bản ghi)"
            if report.lang == "vi"
            else f"Yes (fewer than {report.suppress_below} records)"
        )
        for r, row in enumerate(table.rows, start=1):
            for c, (col, value) in enumerate(zip(table.columns, row, strict=True)):
                if value is None:
                    continue
                if isinstance(value, Hidden):
                    ws.write_blank(r, c, None, hidden_fmt)
                elif isinstance(value, datetime):
                    ws.write_datetime(r, c, value, fmts["date"])
                elif isinstance(value, str):
                    ws.write_string(r, c, value)
                else:
                    ws.write_number(r, c, value, fmts[col.kind])
            if r in hidden_rows:
                ws.write_string(r, len(table.columns), flag)
        headers = [col.header for col in table.columns] + ([HIDDEN_FLAG[report.lang]] if hidden_rows else [])
        widths = [
            max(
                [len(h)]
                + [
                    16 if isinstance(row[i], datetime) else len(str(row[i]))
                    for row in table.rows
                    if i < len(row) and row[i] is not None
                ]
            )
            for i, h in enumerate(headers)
        ]
        if hidden_rows:
            widths[-1] = max(widths[-1], len(flag))
        for c, w in enumerate(widths):
            ws.set_column(c, c, min(max(w + 2, 8), 60))
        ws.freeze_panes(1, 0)
        if table.rows:
            ws.autofilter(0, 0, len(table.rows), n_cols - 1)
        note = table.note
        if hidden_rows:
            extra = (
                f"Ô xám để trống: số liệu của đơn vị có dưới {report.suppress_below} bản ghi được ẩn; cộng một "
                "cột sẽ thiếu các ô này (xem cột «Số liệu bị ẩn»)."
                if report.lang == "vi"
                else f"Grey blank cells: figures of units with fewer than {report.suppress_below} records are "
                "hidden; a column sum leaves them out (see «Figures hidden»)."
            )
            note = f"{note} {extra}".strip()
        if note:
            ws.write_string(len(table.rows) + 2, 0, note, note_fmt)
        _page_setup(ws, landscape=n_cols > WIDE_COLUMNS, repeat_header=True, lang=report.lang)
    ws = wb.add_worksheet(t["sheets"]["sentences"])
    ws.write_string(0, 0, t["sentence"], head)
    ws.set_column(0, 0, 140)
    wrap = wb.add_format({"text_wrap": True, "valign": "top"})
    for r, s in enumerate(report.sentences, start=1):
        ws.write_string(r, 0, s, wrap)
    _page_setup(ws, landscape=True, repeat_header=True, lang=report.lang)
    ws = wb.add_worksheet(t["sheets"]["notes"])
    ws.write_string(0, 0, t["item"], head)
    ws.write_string(0, 1, t["value"], head)
    ws.set_column(0, 0, 22)
    ws.set_column(1, 1, 120)
    for r, (k, v) in enumerate(report.notes, start=1):
        ws.write_string(r, 0, k)
        if isinstance(v, datetime):
            ws.write_datetime(r, 1, v, fmts["date"])
        else:
            ws.write_string(r, 1, str(v), wrap)
    _page_setup(ws, landscape=True, repeat_header=True, lang=report.lang)
    wb.close()
    return path
