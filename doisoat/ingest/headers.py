"""Header recognition: map an extract's column headers to canonical fields.

Headers are normalised (unidecode, camelCase split, lower case, alphanumerics only, glued words such as
``NGAYSINH`` segmented), then scored against rules: a rule is a few phrases that must all appear, minus words
that must not (``Họ tên cha`` is not the person's name, ``Nơi sinh`` is not a birth date). The sector's YAML
``column_map`` overrides everything. Competing columns are resolved by score, then by column order.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from rapidfuzz import fuzz
from unidecode import unidecode

from schemas.loader import SectorSpec

OVERRIDE_SCORE = 1000
MIN_SCORE = 50


@dataclass(frozen=True)
class Rule:
    """All ``phrases`` present (each as consecutive words) and none of ``unless`` → ``score``."""

    phrases: tuple[str, ...]
    score: int
    unless: tuple[str, ...] = ()
    alone: bool = False  # the header must consist of these words only


def R(spec: str, score: int, unless: str = "", alone: bool = False) -> Rule:  # noqa: N802 (table shorthand)
    """Rule shorthand: ``R("ngay|sinh", 90, unless="noi|que")`` — ``|`` separates phrases."""
    return Rule(
        tuple(p for p in spec.split("|") if p), score, tuple(u for u in unless.split("|") if u), alone
    )


# People other than the record's subject, and staff: their columns are never the person's own fields.
OTHER_PEOPLE = (
    "cha|me|bo|vo|chong|chu ho|nguoi khai|nguoi di khai|nguoi yeu cau|giam ho|nhan thay|nguoi nhan thay|"
    "can bo|nhan vien|bac si|y ta|nguoi tiem|nguoi lap|nguoi ky|lanh dao|dai dien|nguoi lam chung|"
    "nguoi cham soc|nguoi nuoi|nguoi than|than nhan|nguoi bao ho"
)
_NOT_NAME = (
    OTHER_PEOPLE
    + "|xa|phuong|vac xin|vacxin|vaccine|don vi|che do|tinh|huyen|thon|co so|benh vien|loai|thuoc|co quan|to chuc|truong|lop|ngan hang|file|tep"
)
_NOT_DATE = "noi|que|dia|so|ma|loai|tinh trang|ly do|ghi chu|nguoi ky"

#: field → rules. Scores: 95 unmistakable, 80–90 usual, 60–75 plausible, 50 weak.
RULES: dict[str, tuple[Rule, ...]] = {
    "full_name": (
        R("ho|ten", 92, unless=_NOT_NAME),
        R("ho va ten", 95, unless=_NOT_NAME),
        R("ten|doi tuong", 85, unless=OTHER_PEOPLE),
        R("ten", 70, unless=_NOT_NAME),
        R("full name", 95),
        R("fullname", 95),
        R("name", 70, unless="file|vaccine|commune|ward|province"),
        R("hoten", 92, unless=_NOT_NAME),
    ),
    "birth_date": (
        R("ngay|sinh", 92, unless=_NOT_DATE + "|dang ky|khai|" + OTHER_PEOPLE),
        R("nam|sinh", 88, unless=_NOT_DATE + "|dang ky|khai|" + OTHER_PEOPLE),
        R("thang|sinh", 85, unless=_NOT_DATE + "|dang ky|khai|" + OTHER_PEOPLE),
        R("ns", 85, alone=True),
        R("ntns", 90, alone=True),
        R("dob", 92),
        R("birth", 88, unless="place|country"),
        R("sinh", 60, alone=True),
    ),
    "sex": (
        R("gioi tinh", 95, unless=OTHER_PEOPLE),
        R("gioi", 80, unless=OTHER_PEOPLE),
        R("gt", 80, alone=True),
        R("phai", 70, alone=True),
        R("nam|nu", 85, unless="sinh|ngay|thang"),
        R("sex", 95),
        R("gender", 95),
    ),
    "national_id": (
        R("cmnd|cccd", 98, unless=OTHER_PEOPLE),
        R("cmt|cccd", 98, unless=OTHER_PEOPLE),
        R("cccd", 96, unless=OTHER_PEOPLE + "|ngay|noi|cap"),
        R("dinh danh", 96, unless=OTHER_PEOPLE + "|ngay|ho so|noi"),
        R("can cuoc", 92, unless=OTHER_PEOPLE + "|ngay|noi|cap"),
        R("ddcn", 92),
        R("so giay to", 60, unless=OTHER_PEOPLE + "|ngay|noi"),
        R("national id", 96),
        R("personal id", 92),
        R("id number", 80),
        R("citizen id", 92),
    ),
    "old_id": (
        R("cmnd", 88, unless=OTHER_PEOPLE + "|ngay|noi|cap"),
        R("cmt", 86, unless=OTHER_PEOPLE + "|ngay|noi|cap"),
        R("chung minh", 88, unless=OTHER_PEOPLE + "|ngay|noi|cap"),
        R("old id", 92),
    ),
    "insurance_id": (
        R("bhxh", 92, unless=OTHER_PEOPLE + "|ngay|co quan|noi|tien|muc|thang|den|tu|nam|loai|ky|don vi"),
        R(
            "bhyt",
            86,
            unless=OTHER_PEOPLE + "|ngay|co quan|noi|tien|muc|thang|den|tu|han|loai|gia tri|kcb|doi tuong",
        ),
        R("so so", 70, unless=OTHER_PEOPLE + "|ngay"),
        R("ma the", 62, unless=OTHER_PEOPLE + "|ngay"),
        R("bao hiem|so", 70, unless="ngay|tien|muc|co quan|noi|han"),
        R("insurance", 88, unless="date|type|from|to"),
    ),
    "phone": (
        R("dien thoai", 95, unless=OTHER_PEOPLE + "|co dinh"),
        R("sdt", 95, unless=OTHER_PEOPLE),
        R("dt", 70, alone=True),
        R("so dt", 88),
        R("didong", 85),
        R("di dong", 85, unless=OTHER_PEOPLE),
        R("phone", 95),
        R("mobile", 92),
        R("tel", 80, alone=True),
    ),
    "commune_code": (
        R("ma|xa", 95, unless="ten|" + OTHER_PEOPLE),
        R("ma|phuong", 90, unless="ten|thuc|" + OTHER_PEOPLE),
        R("ma|dvhc", 92),
        R("ma|don vi hanh chinh", 90),
        R("commune code", 95),
        R("ward code", 92),
    ),
    "commune_name": (
        R("ten|xa", 92, unless="ma"),
        R("xa|phuong", 88, unless="ma|" + OTHER_PEOPLE),
        R("xa", 82, alone=True),
        R("phuong", 78, alone=True),
        R("xa|thi tran", 85, unless="ma"),
        R("commune", 85, unless="code"),
        R("ward", 80, unless="code"),
    ),
    # the residence as a text ("Thôn 1, X. Tam Thanh, TP. Tam Kỳ"): the commune is read from it when no code is given
    "address": (
        R(
            "dia chi",
            90,
            unless="ma|email|mail|thu|ip|web|co quan|don vi|co so|benh vien|truong|ngan hang|noi sinh|"
            + OTHER_PEOPLE,
        ),
        R("noi|thuong tru", 92, unless="ma|" + OTHER_PEOPLE),
        R("thuong tru", 88, unless="ma|ngay|" + OTHER_PEOPLE),
        R("noi|cu tru", 90, unless="ma|" + OTHER_PEOPLE),
        R("cu tru", 80, unless="ma|ngay|tinh trang|" + OTHER_PEOPLE),
        R("noi o", 80, unless="ma|" + OTHER_PEOPLE),
        R("cho o", 80, unless="ma|" + OTHER_PEOPLE),
        R("tam tru", 70, unless="ma|ngay|" + OTHER_PEOPLE),
        R("address", 90, unless="email|mail|ip|web"),
    ),
    "event_type": (
        R("loai|dang ky", 95),
        R("loai|vac xin", 95),
        R("ten|vac xin", 92),
        R("loai|vacxin", 95),
        R("ten|vacxin", 92),
        R("vac xin", 86, unless="ngay|lo|so|han|nha"),
        R("vacxin", 86, unless="ngay|lo|so|han"),
        R("vaccine", 86, unless="date|lot|batch"),
        R("loai|su kien", 92),
        R("loai|ho tich", 92),
        R("loai|tro cap", 86),
        R("loai|doi tuong", 76),
        R("dien|doi tuong", 72),
        R("nhom|doi tuong", 70),
        R("che do", 66, unless="ngay|muc|tien"),
        R("loai|hinh|tham gia", 80),
        R("loai so", 70),
        R("event type", 95),
        R("loai", 58, alone=True),
        R("loai|viec", 80),
    ),
    "event_date": (
        R("ngay|tiem", 95, unless="sinh|mat"),
        R("ngay|dang ky", 94, unless="mat|chet|kcb|bhyt"),
        R("ngay|khai", 86, unless="noi"),
        R("ngay|chi tra", 90, unless="cuoi|gan nhat|lan cuoi"),
        R("thang|chi tra", 84, unless="cuoi|gan nhat"),
        R("ky|chi tra", 80, unless="cuoi|gan nhat"),
        R("ngay|su kien", 92),
        R("ngay|tham gia", 82),
        R("ngay|huong", 80, unless="het|dung|cat|thoi"),
        R("ngay|hieu luc", 72, unless="het"),
        R("tu ngay", 70, unless="tu vong"),
        R("ngay|giao dich", 80),
        R("thoi gian|tiem", 90),
        R("event date", 95),
        R("ngay", 50, unless="sinh|mat|chet|tu vong|qua doi|cuoi|gan nhat|den|het|han|cap|" + _NOT_DATE),
    ),
    "last_activity_date": (
        R("cuoi|ngay", 90, unless="sinh"),
        R("cuoi|thang", 88, unless="sinh"),
        R("cuoi|ky", 86),
        R("gan nhat", 88, unless="sinh"),
        R("den ngay", 84),
        R("han the", 88),
        R("het han", 86),
        R("gia tri|den", 86),
        R("dong den", 84),
        R("han su dung", 84),
        R("last activity", 95),
        R("last", 70, unless="name"),
    ),
    "death_date": (
        R("ngay|mat", 95, unless=OTHER_PEOPLE),
        R("ngay|chet", 95, unless=OTHER_PEOPLE),
        R("tu vong", 92, unless=OTHER_PEOPLE + "|noi|nguyen nhan|ly do"),
        R("qua doi", 90, unless=OTHER_PEOPLE + "|noi"),
        R("ngay tu", 80),
        R("death", 92, unless="place|cause"),
    ),
    "vital_status": (
        R("song|chet", 92),
        R("con song", 88),
        R("tinh trang", 72, unless="hon nhan|cu tru|suc khoe|ho so"),
        R("trang thai", 62, unless="ho so|the|dong"),
        R("vital", 92),
        R("da chet", 85),
        R("da mat", 85),
    ),
}

# Words agencies glue together (NGAYSINH, SoDinhDanh, MAXA): the vocabulary used to split them again.
_VOCAB = {
    "ho",
    "va",
    "ten",
    "day",
    "du",
    "ngay",
    "thang",
    "nam",
    "sinh",
    "noi",
    "so",
    "ma",
    "cccd",
    "cmnd",
    "cmt",
    "dinh",
    "danh",
    "can",
    "cuoc",
    "ca",
    "nhan",
    "gioi",
    "tinh",
    "xa",
    "phuong",
    "dvhc",
    "dien",
    "thoai",
    "di",
    "dong",
    "sdt",
    "dt",
    "the",
    "bhyt",
    "bhxh",
    "bao",
    "hiem",
    "tiem",
    "vac",
    "xin",
    "vacxin",
    "mui",
    "loai",
    "dang",
    "ky",
    "chi",
    "tra",
    "mat",
    "chet",
    "tu",
    "vong",
    "qua",
    "doi",
    "thuong",
    "tru",
    "tam",
    "dia",
    "cu",
    "su",
    "kien",
    "tham",
    "gia",
    "han",
    "den",
    "het",
    "cuoi",
    "gan",
    "nhat",
    "tuong",
    "tich",
    "trang",
    "thai",
    "song",
    "stt",
    "ghi",
    "chu",
    "huyen",
    "thon",
    "ap",
    "to",
    "dan",
    "toc",
    "ton",
    "giao",
    "quoc",
    "khai",
    "ket",
    "hon",
    "cap",
    "lan",
    "tri",
    "hieu",
    "luc",
    "que",
    "quan",
    "id",
    "code",
    "date",
    "name",
    "full",
    "birth",
    "phone",
    "sex",
    "gender",
    "nguoi",
    "duoc",
    "cong",
    "don",
    "vi",
    "hanh",
    "huong",
    "tro",
    "muc",
    "tien",
    "giay",
    "lo",
    "hinh",
    "nhom",
    "che",
    "do",
    "kcb",
}


def _segment(word: str) -> list[str]:
    """Split a glued word into vocabulary words (longest first); the word itself when it does not split."""
    if word in _VOCAB or len(word) < 4 or not word.isalpha():
        return [word]
    best: list[list[str] | None] = [None] * (len(word) + 1)
    best[0] = []
    for end in range(1, len(word) + 1):
        for start in range(max(0, end - 7), end):
            piece = word[start:end]
            if best[start] is not None and piece in _VOCAB:
                cand = best[start] + [piece]
                if best[end] is None or len(cand) < len(best[end]):
                    best[end] = cand
    return best[-1] or [word]


@lru_cache(maxsize=4096)
def normalize_header(header: str) -> str:
    """'Số CCCD/CMND' → 'so cccd cmnd'; 'NgaySinh' → 'ngay sinh'; 'HOTEN' → 'ho ten'."""
    text = unidecode(str(header or ""))
    text = re.sub(r"([a-z])([A-Z])", r"\1 \2", text)
    words = re.sub(r"[^0-9a-z]+", " ", text.lower()).split()
    out: list[str] = []
    for w in words:
        out.extend(_segment(w))
    return " ".join(out)


def _has(padded: str, phrase: str) -> bool:
    return f" {phrase} " in padded


def rule_score(norm: str, rule: Rule) -> int:
    """The rule's score if it applies to the normalised header, else 0."""
    padded = f" {norm} "
    if not all(_has(padded, p) for p in rule.phrases):
        return 0
    if any(_has(padded, u) for u in rule.unless):
        return 0
    if rule.alone and norm != " ".join(rule.phrases):
        return 0
    return rule.score


def score_header(
    header: str, fields: list[str], overrides: dict[str, dict[str, int]] | None = None
) -> dict[str, int]:
    """Score of ``header`` for every field that it may be (0 omitted)."""
    norm = normalize_header(header)
    compact = norm.replace(" ", "")
    scores: dict[str, int] = {}
    if not norm:
        return scores
    for field in fields:
        rank = overrides.get(field, {}).get(compact) if overrides else None
        if rank is not None:
            scores[field] = OVERRIDE_SCORE - rank  # earlier in the YAML list wins
            continue
        best = max((rule_score(norm, r) for r in RULES.get(field, ())), default=0)
        if compact == field.replace("_", ""):
            best = max(best, 99)  # the canonical name itself (full_name, birth_date, …)
        if best:
            scores[field] = best
    if not scores and len(compact) >= 6:
        # a typo in a usual header ("Ngay snih"): close to a synonym that would have scored
        for field in fields:
            for rule in RULES.get(field, ()):
                if (
                    rule.score >= 85
                    and not rule.alone
                    and fuzz.ratio(compact, "".join(rule.phrases).replace(" ", "")) >= 88
                ):
                    scores[field] = max(scores.get(field, 0), 55)
    return scores


@dataclass
class HeaderMapping:
    """The columns chosen for each field, the columns left over and why competing columns lost."""

    mapping: dict[str, str]  # field → header
    positions: dict[str, int]  # field → column position
    scores: dict[str, int]
    unmapped: list[str]
    notes: list[str]


def override_table(spec: SectorSpec) -> dict[str, dict[str, int]]:
    """The sector's ``column_map`` in compact normalised form → its rank in the YAML list."""
    table: dict[str, dict[str, int]] = {}
    for f, hs in spec.column_map.items():
        ranks = table.setdefault(f, {})
        for i, h in enumerate(hs):
            ranks.setdefault(normalize_header(h).replace(" ", ""), i)
    return table


def map_headers(
    headers: list[str], spec: SectorSpec, alternates: list[str | None] | None = None
) -> HeaderMapping:
    """Assign each field the best-scoring column (greedy: highest score first, then leftmost column).

    ``alternates`` holds, for two-row headers, the lower cell alone ("Ngày sinh" under "Thông tin người được
    đăng ký"): a column scores the better of its full and its lower header.
    """
    fields = spec.fields
    overrides = override_table(spec)
    cands = []
    for pos, header in enumerate(headers):
        scores = score_header(header, fields, overrides)
        alt = alternates[pos] if alternates and pos < len(alternates) else None
        if alt:
            for field, score in score_header(alt, fields, overrides).items():
                scores[field] = max(score, scores.get(field, 0))
        for field, score in scores.items():
            if score >= MIN_SCORE:
                cands.append((-score, pos, field))
    cands.sort()
    mapping: dict[str, str] = {}
    positions: dict[str, int] = {}
    scores: dict[str, int] = {}
    taken: set[int] = set()
    notes: list[str] = []
    for neg, pos, field in cands:
        if pos in taken:
            continue
        if field in mapping:
            if -neg >= 80 and -neg == scores[field]:
                notes.append(
                    f"Cột '{headers[pos]}' cũng giống trường {field}; đã dùng cột '{mapping[field]}' (đứng trước)."
                )
            continue
        mapping[field], positions[field], scores[field] = headers[pos], pos, -neg
        taken.add(pos)
    # A lone "Số CMND" column often holds 12-digit numbers too: read it as the ID, normalisation sorts 9/12 digits.
    if "old_id" in mapping and "national_id" not in mapping:
        mapping["national_id"] = mapping.pop("old_id")
        positions["national_id"] = positions.pop("old_id")
        scores["national_id"] = scores.pop("old_id")
    unmapped = [h for i, h in enumerate(headers) if i not in taken]
    return HeaderMapping(mapping, positions, scores, unmapped, notes)


def signature_hits(headers: list[str], spec: SectorSpec) -> int:
    """How many headers carry a word typical of the sector (its YAML ``signature``)."""
    phrases = [normalize_header(s) for s in spec.signature]
    hits = 0
    for header in headers:
        padded = f" {normalize_header(header)} "
        if any(p and f" {p} " in padded for p in phrases):
            hits += 1
    return hits


def header_row_score(cells: list[str | None]) -> int:
    """How much a row looks like a header row: recognised headers count most, data-like cells count against."""
    from schemas.loader import CANONICAL_FIELDS

    fields = [*CANONICAL_FIELDS, "death_date", "vital_status"]
    score = 0
    for cell in cells:
        if cell is None or not str(cell).strip():
            continue
        text = str(cell)
        if sum(ch.isdigit() for ch in text) >= 4:
            score -= 2
            continue
        best = max(score_header(text, fields).values(), default=0)
        score += 3 if best >= 70 else (1 if best else 0)
    return score
