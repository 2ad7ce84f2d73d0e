"""Vietnamese legacy encodings and typing artefacts, both directions, plus detection and repair.

Forms handled (DOMAIN §4): TCVN3 (TCVN 5712:1993 VN3, font-based, read as Windows-1252), VNI-Windows (base letter
+ mark byte, read as Windows-1252), UTF-8 bytes read as Windows-1252, Latin-1 or Windows-1250 ("mojibake"), also
when a no-break space or an undefined byte was lost on the way, VIQR (RFC 1456: "Nguye^~n Va(n A'nh"), Telex and
VNI digits typed with the input method off, NFD (combining marks), and old/new tone-mark placement (hòa ↔ hoà),
misplaced marks ("Hòang") folded by the same rule.
Every ``to_*`` has a ``from_*`` and the pair round-trips on the whole Vietnamese alphabet (TCVN3 loses the case of
toned capitals: all-caps text used a separate font and comes back lower case). No function here ever raises.

Repair works on the whole text and, failing that, word by word (a Unicode name with one word in VNI, TCVN3 or
VIQR), and a word is only replaced by a reading that is a Vietnamese syllable (``is_vietnamese_syllable``: the
language's initials, nuclei and finals, its spelling rules and which tones a final takes), so clean names and
minority names (A Lăng, Bh'riu, Zơ Râm) stay as written. A word that reads as a syllable both as written and in a
legacy form ("Thò" / VNI "Thị") is left as written here; the file (``repair(hint=…)``), or the word table of
``names`` (what a clerk knows of names, and the column's counts in ``names.names_frame``) settles it.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

__all__ = [
    "ENCODING_KINDS",
    "detect_encoding",
    "from_mojibake",
    "from_tcvn3",
    "from_telex",
    "from_vni",
    "from_viqr",
    "from_vni_digits",
    "is_vietnamese_syllable",
    "place_tone",
    "repair",
    "split_tone",
    "strip_tone",
    "to_mojibake",
    "to_mojibake_cp1250",
    "to_mojibake_latin1",
    "to_nfd",
    "to_new_tone_style",
    "to_old_tone_style",
    "to_tcvn3",
    "to_telex",
    "to_viqr",
    "to_vni",
    "to_vni_digits",
]

ENCODING_KINDS = (
    "nfd",
    "mojibake",
    "mojibake_cp1250",
    "tcvn3",
    "vni",
    "viqr",
    "vni_digits",
    "telex",
    "mixed",
)

# ── the alphabet as (base, hat, tone) ─────────────────────────────────────────────────────────────────────────
# hat: "" | "^" circumflex | "(" breve | "+" horn ; tone: 0 none, 1 sắc, 2 huyền, 3 hỏi, 4 ngã, 5 nặng (VNI order)
_HAT_MARK = {"^": "\u0302", "(": "\u0306", "+": "\u031b"}
_TONE_MARK = {1: "\u0301", 2: "\u0300", 3: "\u0309", 4: "\u0303", 5: "\u0323"}
_MARK_HAT = {v: k for k, v in _HAT_MARK.items()}
_MARK_TONE = {v: k for k, v in _TONE_MARK.items()}
_VOWEL_HATS = {
    "a": ("", "^", "("),
    "e": ("", "^"),
    "o": ("", "^", "+"),
    "u": ("", "+"),
    "i": ("",),
    "y": ("",),
}


def _compose(base: str, hat: str, tone: int) -> str:
    return unicodedata.normalize("NFC", base + _HAT_MARK.get(hat, "") + _TONE_MARK.get(tone, ""))


# every Vietnamese vowel letter (NFC, both cases) → (ascii base with case, hat, tone)
_DECOMP: dict[str, tuple[str, str, int]] = {}
for _b, _hats in _VOWEL_HATS.items():
    for _h in _hats:
        for _t in range(6):
            for _base in (_b, _b.upper()):
                _DECOMP[_compose(_base, _h, _t)] = (_base, _h, _t)

VIETNAMESE_LETTERS = frozenset(set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZđĐ") | set(_DECOMP))


def _decomp(ch: str) -> tuple[str, str, int]:
    return _DECOMP.get(ch, (ch, "", 0))


def split_tone(word: str) -> tuple[str, int]:
    """Word without its tone mark, and the tone (0 none … 5 nặng; the last one found if several)."""
    out, tone = [], 0
    for ch in word:
        base, hat, t = _decomp(ch)
        if t:
            tone = t
            out.append(_compose(base, hat, 0))
        else:
            out.append(ch)
    return "".join(out), tone


def strip_tone(word: str) -> str:
    return split_tone(word)[0]


# ── syllable structure and tone placement ─────────────────────────────────────────────────────────────────────
# vowel nuclei by what may follow: offglide and -a nuclei end the syllable; ă â iê uô ươ … need a final consonant
_OPEN_NUCLEI = (
    "y ai ao au ay âu ây eo êu ia iu oi ôi ơi ua ui ưa ưi ưu iêu yêu oai oay oeo uây uôi ươi ươu uya uyu oao uơ"
).split()
_CLOSED_NUCLEI = "ă â iê yê uâ uô ươ oă uyê oo".split()
_FREE_NUCLEI = "a e ê i o ô ơ u ư oa oe uê uy".split()


def _alt(items: list[str]) -> str:
    return "|".join(sorted(items, key=len, reverse=True))


_FINAL = r"(?:ch|nh|ng|[cmnpt])"
_SYLLABLE_RE = re.compile(
    r"(?:ngh|ng|gh|gi|kh|nh|ph|qu|th|tr|ch|[bcdđghklmnpqrstvxfjwz])?"
    rf"(?:(?:{_alt(_OPEN_NUCLEI)})|(?:{_alt(_CLOSED_NUCLEI)}){_FINAL}|(?:{_alt(_FREE_NUCLEI)}){_FINAL}?)"
)
_VOWEL_BASES = set("aeiouyAEIOUY")


_STOP_FINAL_RE = re.compile(r"(?:ch|[ptc])$")
# spelling of the initial before the vowel: k gh ngh only before i e ê y; c g ng never before them (g before i
# is gi); q only as qu
_SPELLING_RE = re.compile(r"^(?:(?:ngh|gh|k(?!h))(?![ieêy])|ng(?=[ieêy])|c(?=[ieêy])|g(?=[eêy])|q(?!u))")
# -nh and -ch follow only a ê i y (anh ênh inh uynh, ach êch ich); -ng and -c never follow i or y alone; uy
# closes only with -nh -ch -t -p (huỳnh huých huýt)
_BAD_FINAL_RE = re.compile(r"(?:[^aêiy](?:nh|ch)|(?:^|[^iyuê])[iy](?:ng|c)|uy(?:ng|[cmn]))$")
_QU_GLIDE_RE = re.compile(
    r"^qu[ouư]"
)  # qu already holds the glide: "quoac" is no syllable (quốc is q + uô + c)


def _syllable_shape(bare: str, tone: int) -> bool:
    """Initial + nucleus + final as Vietnamese spells them (k/c, g/gh, ng/ngh, qu), and a tone the final allows:
    after p, t, c, ch only sắc or nặng."""
    low = bare.lower()
    if not _SYLLABLE_RE.fullmatch(low) or _QU_GLIDE_RE.match(low) or _SPELLING_RE.match(low):
        return False
    if _BAD_FINAL_RE.search(low):
        return False
    return not (tone in (2, 3, 4) and _STOP_FINAL_RE.search(low))


@lru_cache(maxsize=100_000)
def is_vietnamese_syllable(word: str) -> bool:
    """True when ``word`` (any case, with or without tone) has the shape initial + vowel nucleus + final, its
    tone is one the final allows, and its tone mark, if any, sits where the old or the new placement rule puts it."""
    bare, tone = split_tone(word)
    if not _syllable_shape(bare, tone):
        return False
    if not tone:
        return True
    idx = next(i for i, c in enumerate(word) if _decomp(c)[2])
    return idx in (_tone_index(bare, "new"), _tone_index(bare, "old"))


def _nucleus_span(word: str) -> tuple[int, int]:
    """Start and end index of the vowel nucleus of a toneless word (qu- and gi- count as consonants)."""
    bases = [_decomp(c)[0].lower() for c in word]
    n = len(bases)
    start = 0
    while start < n and bases[start] not in _VOWEL_BASES:
        start += 1
    if start == n:
        return n, n
    low = "".join(bases)
    if (
        start > 0
        and low[start - 1] == "q"
        and bases[start] == "u"
        and start + 1 < n
        and bases[start + 1] in _VOWEL_BASES
    ):
        start += 1
    elif (
        start > 0
        and low[start - 1] == "g"
        and bases[start] == "i"
        and start + 1 < n
        and bases[start + 1] in _VOWEL_BASES
    ):
        start += 1
    end = start
    while end < n and bases[end] in _VOWEL_BASES:
        end += 1
    return start, end


def _tone_index(word: str, style: str) -> int | None:
    start, end = _nucleus_span(word)
    if start == end:
        return None
    nucleus = word[start:end]
    hatted = [i for i, c in enumerate(nucleus) if _decomp(c)[1]]
    if hatted:
        return start + hatted[-1]
    if len(nucleus) == 1:
        return start
    if end < len(word):  # closed syllable: the last vowel
        return end - 1
    plain = "".join(_decomp(c)[0].lower() for c in nucleus)
    if plain in ("oa", "oe", "uy"):
        return start + (1 if style == "new" else 0)
    if len(nucleus) == 3:
        return start + 1
    return start


def place_tone(word: str, tone: int, style: str = "new") -> str:
    """Put ``tone`` on the right vowel of a toneless ``word``. ``style``: ``new`` (hoà, thuỷ) or ``old`` (hòa, thủy)."""
    if not tone:
        return word
    idx = _tone_index(word, style)
    if idx is None:
        return word
    base, hat, _ = _decomp(word[idx])
    return word[:idx] + _compose(base, hat, tone) + word[idx + 1 :]


_WORD_RE = re.compile(r"[^\W\d_]+")


def _restyle(text: str, style: str) -> str:
    """Every word that is a Vietnamese syllable gets its tone mark where ``place_tone`` puts it: one rule from
    the syllable structure, so a misplaced mark ("Hòang", "Nguỵên", "Thuỳ" with the old rule) and both
    placement styles fold to one spelling. Words that are not syllables (Bh'riu, Pơloong) are left as written."""

    def fix(m: re.Match[str]) -> str:
        word = m.group(0)
        bare, tone = split_tone(word)
        if not tone or not _SYLLABLE_RE.fullmatch(bare.lower()):
            return word
        return place_tone(bare, tone, style)

    return _WORD_RE.sub(fix, unicodedata.normalize("NFC", text))


def to_new_tone_style(text: str) -> str:
    """hòa → hoà, thủy → thuỷ, khỏe → khoẻ (Quyết định 1989/QĐ-BGDĐT; only open oa/oe/uy syllables differ
    between the styles). Misplaced marks are folded too: "Hòang" → "Hoàng", "Qúy" → "Quý"."""
    return _restyle(text, "new")


def to_old_tone_style(text: str) -> str:
    """hoà → hòa, thuỷ → thủy, khoẻ → khỏe (misplaced marks folded as in :func:`to_new_tone_style`)."""
    return _restyle(text, "old")


def to_nfd(text: str) -> str:
    """Decomposed form (tone and hat marks as combining characters), as macOS and cp1258 data deliver it."""
    return unicodedata.normalize("NFD", text)


# ── TCVN3 (TCVN 5712:1993 VN3) ────────────────────────────────────────────────────────────────────────────────
_TCVN3_LOWER = (
    "àµ á¸ ả¶ ã· ạ¹ ă¨ ằ» ắ¾ ẳ¼ ẵ½ ặÆ â© ầÇ ấÊ ẩÈ ẫÉ ậË đ® èÌ éÐ ẻÎ ẽÏ ẹÑ êª ềÒ ếÕ ểÓ ễÔ ệÖ "
    "ì× íÝ ỉØ ĩÜ ịÞ òß óã ỏá õâ ọä ô« ồå ốè ổæ ỗç ộé ơ¬ ờê ớí ởë ỡì ợî ùï úó ủñ ũò ụô "
    "ư\u00ad ừõ ứø ửö ữ÷ ựù ỳú ýý ỷû ỹü ỵþ Ă¡ Â¢ Ê£ Ô¤ Ơ¥ Ư¦ Đ§"
).split()
_TO_TCVN3 = {pair[0]: pair[1] for pair in _TCVN3_LOWER}
_FROM_TCVN3 = {v: k for k, v in _TO_TCVN3.items()}
for _ch, (_base, _hat, _tone) in _DECOMP.items():
    # toned capitals do not exist in VN3: the caps font showed the lower-case codes
    if _base.isupper() and _tone:
        _TO_TCVN3[_ch] = _TO_TCVN3[_compose(_base.lower(), _hat, _tone)]
_TO_TCVN3_TABLE = str.maketrans(_TO_TCVN3)
_FROM_TCVN3_TABLE = str.maketrans(_FROM_TCVN3)


def to_tcvn3(text: str) -> str:
    """Unicode → TCVN3 as a Windows-1252 reader shows it: "Trần Văn Đức" → "TrÇn V¨n §øc"."""
    return unicodedata.normalize("NFC", text).translate(_TO_TCVN3_TABLE)


def from_tcvn3(text: str) -> str:
    """TCVN3 (read as Windows-1252) → Unicode NFC. Toned capitals come back lower case (they had no codes)."""
    return text.translate(_FROM_TCVN3_TABLE)


# ── VNI-Windows ───────────────────────────────────────────────────────────────────────────────────────────────
# mark bytes (lower case; capitals use the upper-case byte): tone 1..5, circumflex+tone 0..5, breve+tone 0..5
_VNI_TONE = {1: "ù", 2: "ø", 3: "û", 4: "õ", 5: "ï"}
_VNI_CIRC = {0: "â", 1: "á", 2: "à", 3: "å", 4: "ã", 5: "ä"}
_VNI_BREVE = {0: "ê", 1: "é", 2: "è", 3: "ú", 4: "ü", 5: "ë"}
_VNI_I = {1: "í", 2: "ì", 3: "æ", 4: "ó", 5: "ò"}


def _vni_lower(base: str, hat: str, tone: int) -> str:
    if base == "i":
        return _VNI_I.get(tone, "i")
    if base == "y" and tone == 5:
        return "î"
    if hat == "^":
        return base + _VNI_CIRC[tone]
    if hat == "(":
        return base + _VNI_BREVE[tone]
    stem = {"o": "ô", "u": "ö"}[base] if hat == "+" else base
    return stem + (_VNI_TONE[tone] if tone else "")


_TO_VNI: dict[str, str] = {"đ": "ñ", "Đ": "Ñ"}
for _ch, (_base, _hat, _tone) in _DECOMP.items():
    if _hat or _tone:
        _low = _vni_lower(_base.lower(), _hat, _tone)
        _TO_VNI[_ch] = _low.upper() if _base.isupper() else _low
_FROM_VNI: dict[str, str] = {v: k for k, v in _TO_VNI.items()}
for _ch, _code in list(_TO_VNI.items()):
    if len(_code) == 2 and _ch.isupper():  # tolerate a capital base with a lower-case mark byte
        _FROM_VNI.setdefault(_code[0] + _code[1].lower(), _ch)
_VNI_RE = re.compile("|".join(re.escape(k) for k in sorted(_FROM_VNI, key=len, reverse=True)))
_TO_VNI_TABLE = str.maketrans(_TO_VNI)


def to_vni(text: str) -> str:
    """Unicode → VNI-Windows as a Windows-1252 reader shows it: "Xin chào các bạn" → "Xin chaøo caùc baïn"."""
    return unicodedata.normalize("NFC", text).translate(_TO_VNI_TABLE)


def from_vni(text: str) -> str:
    """VNI-Windows (read as Windows-1252) → Unicode NFC."""
    return _VNI_RE.sub(lambda m: _FROM_VNI[m.group(0)], text)


# ── UTF-8 read as an 8-bit code page ("mojibake") ─────────────────────────────────────────────────────────────
def _codepage_table(codec: str) -> list[str]:
    """Byte → character as a Windows reader shows it; bytes the code page leaves undefined pass through as the
    C1 control (or Latin-1) character of the same number, as Windows' MultiByteToWideChar does."""
    out = []
    for b in range(256):
        try:
            out.append(bytes([b]).decode(codec))
        except UnicodeDecodeError:
            out.append(chr(b))
    return out


_CP1252_DEC = _codepage_table("cp1252")
_CP1250_DEC = _codepage_table("cp1250")
# character → byte. cp1252 and Latin-1 agree on every byte but 0x80–0x9F, where Latin-1 gives the C1 controls:
# one inverse table undoes both (a C1 control never comes out of cp1252 for another byte).
_CP1252_ENC = {chr(b): b for b in range(256)} | {c: b for b, c in enumerate(_CP1252_DEC)}
_CP1250_ENC = {chr(b): b for b in range(0x80, 0xA0)} | {c: b for b, c in enumerate(_CP1250_DEC)}
_MOJIBAKE_PAGES = (("mojibake", _CP1252_ENC), ("mojibake_cp1250", _CP1250_ENC))
# bytes that get lost between the reader and us: the no-break space (A0, the second byte of "à" C3 A0, of "Ơ",
# "Ạ", "Ỡ") becomes a plain space or is trimmed; cp1252's undefined bytes (ọ = E1 BB 8D, ờ = E1 BB 9D …) are
# dropped by some readers
_LOST_BYTES = (0xA0, 0x8D, 0x9D, 0x81, 0x8F, 0x90)
_MAX_GAPS = 4
# what UTF-8 lead bytes of Vietnamese letters (C2–C6, E1) look like on either page: no mojibake without one
_MOJIBAKE_LEADS = frozenset(_CP1252_DEC[b] for b in (0xC2, 0xC3, 0xC4, 0xC5, 0xC6, 0xE1)) | frozenset(
    _CP1250_DEC[b] for b in (0xC2, 0xC3, 0xC4, 0xC5, 0xC6, 0xE1)
)


def to_mojibake(text: str) -> str:
    """UTF-8 bytes shown as Windows-1252: "Nguyễn Thị Hoà" → "Nguyá»…n Thá»‹ HoÃ\xa0"."""
    return "".join(_CP1252_DEC[b] for b in text.encode("utf-8", "surrogatepass"))


def to_mojibake_latin1(text: str) -> str:
    """UTF-8 bytes read as ISO-8859-1: like :func:`to_mojibake` with C1 controls for 0x80–0x9F."""
    return text.encode("utf-8", "surrogatepass").decode("latin-1")


def to_mojibake_cp1250(text: str) -> str:
    """UTF-8 bytes shown as Windows-1250 (Central European): "Nguyễn" → "Nguyáť…n"."""
    return "".join(_CP1250_DEC[b] for b in text.encode("utf-8", "surrogatepass"))


def _utf8_need(b: int) -> int:
    """Continuation bytes a UTF-8 lead byte needs; -1 for a byte that cannot start a character."""
    if b < 0x80:
        return 0
    if 0xC2 <= b <= 0xDF:
        return 1
    if 0xE0 <= b <= 0xEF:
        return 2
    if 0xF0 <= b <= 0xF4:
        return 3
    return -1


def _utf8_repairs(raw: bytes) -> list[tuple[int, str]]:
    """(cost, text) for every way of reading ``raw`` as UTF-8 with at most one lost byte per character put back,
    where the character it completes is a Vietnamese letter: a space that was the no-break space (cost 1), or a
    no-break space dropped or trimmed (cost 2), another byte of _LOST_BYTES dropped (cost 3). Empty when none."""
    states: list[tuple[bytes, int, int, int]] = [(b"", 0, 0, 0)]
    done: list[tuple[int, str]] = []
    while states and len(done) < 256:
        out, i, cost, gaps = states.pop()
        if i >= len(raw):
            try:
                done.append((cost, out.decode("utf-8")))
            except UnicodeDecodeError:
                pass
            continue
        need = _utf8_need(raw[i])
        if need == 0:
            states.append((out + raw[i : i + 1], i + 1, cost, gaps))
            continue
        if need < 0:
            continue
        j = i + 1
        while j < len(raw) and j - i <= need and 0x80 <= raw[j] <= 0xBF:
            j += 1
        seq = raw[i:j]
        if len(seq) == need + 1:
            states.append((out + seq, j, cost, gaps))
            continue
        if len(seq) < need or gaps >= _MAX_GAPS:  # two bytes missing from one character: not a lost byte
            continue
        options = [(b, 2 if b == 0xA0 else 3, j) for b in _LOST_BYTES]
        if j < len(raw) and raw[j] == 0x20:
            options.append((0xA0, 1, j + 1))  # the space was the no-break space
        for lost, c, nxt in options:
            try:
                ch = (seq + bytes([lost])).decode("utf-8")
            except UnicodeDecodeError:
                continue
            if ch in VIETNAMESE_LETTERS:
                states.append((out + seq + bytes([lost]), nxt, cost + c, gaps + 1))
    return done


def _unmojibake(text: str, page: dict[str, int]) -> list[tuple[int, str]]:
    try:
        raw = bytes(page[c] for c in text)
    except KeyError:
        return []
    try:
        return [(0, raw.decode("utf-8"))]
    except UnicodeDecodeError:
        return _utf8_repairs(raw)


def _mojibake_candidate(text: str) -> tuple[str, str] | None:
    """(kind, repaired) when ``text`` is UTF-8 read through cp1252, Latin-1 or cp1250, possibly with no-break
    spaces or undefined bytes lost: the reading whose words look most Vietnamese, if better than the text."""
    if text.isascii() or not _MOJIBAKE_LEADS.intersection(text):
        return None
    scored = []
    for kind, page in _MOJIBAKE_PAGES:
        for fixes, cand in _unmojibake(text, page):
            if cand != text and not cand.isascii():
                cand = unicodedata.normalize("NFC", cand)
                inner = sum(a.islower() and b.isupper() for a, b in zip(cand, cand[1:], strict=False))
                scored.append((_badness(cand.lower()), inner, fixes, kind, cand))
    if not scored:
        return None
    bad, _, fixes, kind, cand = min(scored)
    if fixes and bad >= _badness(text.lower()) + _unnatural_words(text):
        return None
    return kind, cand


def from_mojibake(text: str) -> str:
    """Undo :func:`to_mojibake` (and the Latin-1 and cp1250 forms), also when a no-break space became a plain
    space or was trimmed ("HoÃ ng" → "Hoàng"). Unchanged when the text is not such a reading."""
    chosen = _mojibake_candidate(text)
    return text if chosen is None else chosen[1]


# ── VIQR (RFC 1456: mark characters typed after the letter) ───────────────────────────────────────────────────
_VIQR_HAT = {"^": "^", "(": "(", "+": "+"}
_VIQR_TONE = {"'": 1, "’": 1, "`": 2, "?": 3, "~": 4, ".": 5}
_TONE_VIQR = {1: "'", 2: "`", 3: "?", 4: "~", 5: "."}
_VIQR_RE = re.compile(r"(?P<dd>[dD][dD])|(?P<v>[aeiouyAEIOUY])(?P<h>[\^(+])?(?P<t>['’`?~.])?")


def to_viqr(text: str) -> str:
    """Unicode → VIQR: "Nguyễn Văn Ánh" → "Nguye^~n Va(n A'nh", đ → dd, Đ → DD."""
    out = []
    for ch in unicodedata.normalize("NFC", text):
        if ch in "đĐ":
            out.append("dd" if ch == "đ" else "DD")
            continue
        base, hat, tone = _decomp(ch)
        out.append(base + hat + _TONE_VIQR.get(tone, "") if ch in _DECOMP else ch)
    return "".join(out)


def _viqr_sub(m: re.Match[str]) -> str:
    if m.group("dd"):
        return "đ" if m.group("dd")[0] == "d" else "Đ"
    base, hat, tone = m.group("v"), m.group("h") or "", _VIQR_TONE.get(m.group("t") or "", 0)
    if hat and hat not in _VOWEL_HATS[base.lower()]:
        return m.group(0)
    return _compose(base, hat, tone)


def from_viqr(text: str) -> str:
    """VIQR → Unicode NFC (every mark character after a vowel is read as a mark: see :func:`repair` for the
    careful, per-word use)."""
    return _VIQR_RE.sub(_viqr_sub, text)


# ── Telex ─────────────────────────────────────────────────────────────────────────────────────────────────────
_TELEX_HAT = {
    ("a", "^"): "aa",
    ("a", "("): "aw",
    ("e", "^"): "ee",
    ("o", "^"): "oo",
    ("o", "+"): "ow",
    ("u", "+"): "uw",
}
_TELEX_TONE = {1: "s", 2: "f", 3: "r", 4: "x", 5: "j"}
_TONE_FROM_TELEX = {v: k for k, v in _TELEX_TONE.items()}


def to_telex(text: str) -> str:
    """What a Telex typist with the input method off leaves: "Nguyễn" → "Nguyeenx" (tone letter ends the word)."""

    def word(m: re.Match[str]) -> str:
        w = m.group(0)
        out, tone = [], 0
        for ch in w:
            if ch in "đĐ":
                out.append("dd" if ch == "đ" else "DD" if w.isupper() else "Dd")
                continue
            base, hat, t = _decomp(ch)
            tone = t or tone
            if hat:
                keys = _TELEX_HAT[(base.lower(), hat)]
                out.append(base + (keys[1].upper() if base.isupper() else keys[1]))
            else:
                out.append(base)
        if tone:
            letter = _TELEX_TONE[tone]
            out.append(letter.upper() if w.isupper() and len(w) > 1 else letter)
        return "".join(out)

    return _WORD_RE.sub(word, unicodedata.normalize("NFC", text))


def _apply_hat(ch: str, hat: str) -> str:
    return _compose(ch, hat, 0)


_TELEX_TAIL_RE = re.compile(r"[sfrxj]?(?:ch|nh|ng|[cmnpt])?")
_TELEX_HAT_KEYS_RE = re.compile(r"(?i)dd|aa|ee|aw|ow|uw")
_TELEX_HAT_KEYS_W_RE = re.compile(r"(?i)dd|aw|ow|uw")


@lru_cache(maxsize=100_000)
def _telex_word(w: str, style: str) -> str | None:
    """Decode one ASCII Telex word; None when it is not plausibly Telex."""
    low = w.lower()
    first_vowel = next((i for i, c in enumerate(low) if c in "aeiouy"), None)
    if first_vowel is None:
        return None
    tone = 0
    letters: list[str] = []
    for i, ch in enumerate(w):
        # a tone key comes after the vowel and is followed by nothing but a final consonant (Hoaf, Hoafng)
        if i > first_vowel and ch.lower() in _TONE_FROM_TELEX and _TELEX_TAIL_RE.fullmatch(low[i + 1 :]):
            tone = _TONE_FROM_TELEX[ch.lower()]
            continue
        letters.append(ch)
    out: list[str] = []
    for ch in letters:
        c = ch.lower()
        prev = out[-1] if out else ""
        pbase, phat, _ = _decomp(prev) if prev else ("", "", 0)
        pl = pbase.lower()
        if c == "d" and prev in ("d", "D"):
            out[-1] = "đ" if prev == "d" else "Đ"
        elif c in "aeo" and pl == c and not phat:
            out[-1] = _apply_hat(pbase, "^")
        elif c == "w":
            if pl == "a" and not phat:
                out[-1] = _apply_hat(pbase, "(")
            elif pl == "o" and not phat:
                out[-1] = _apply_hat(pbase, "+")
                if len(out) >= 2 and _decomp(out[-2])[0].lower() == "u" and not _decomp(out[-2])[1]:
                    out[-2] = _apply_hat(_decomp(out[-2])[0], "+")
            elif pl == "u" and not phat:
                out[-1] = _apply_hat(pbase, "+")
            elif not pl or pl not in "aeiouy":
                out.append("Ư" if ch == "W" else "ư")
            else:
                return None
        else:
            out.append(ch)
    result = place_tone("".join(out), tone, style)
    return result


def from_telex(text: str, style: str = "new", strict: bool = True) -> str:
    """Decode Telex typed without the input method: "Nguyeenx Thij Hoaf" → "Nguyễn Thị Hoà" (tone placement per
    ``style``). Words that do not decode to a Vietnamese syllable are left as they are, unless ``strict`` is False
    and they hold a two-letter hat key (aw ow uw aa ee dd: "Bh'nuwowchs" → "Bh'nướch")."""

    def word(m: re.Match[str]) -> str:
        w = m.group(0)
        dec = _telex_word(w, style)
        if dec is None:
            return w
        if is_vietnamese_syllable(dec) or (not strict and _TELEX_HAT_KEYS_RE.search(w)):
            return dec
        return w

    return re.sub(r"[A-Za-z]+", word, text)


# ── VNI digits ────────────────────────────────────────────────────────────────────────────────────────────────
_VNI_HAT_DIGIT = {"^": "6", "+": "7", "(": "8"}


def to_vni_digits(text: str) -> str:
    """What a VNI typist with the input method off leaves: "Nguyễn" → "Nguyen64", "Đức" → "D9uc71", "Trường" →
    "Truong72" (đ as d9 in place; hat digits, one 7 for ươ, then the tone digit end the word)."""

    def word(m: re.Match[str]) -> str:
        w = m.group(0)
        out, digits, tone = [], [], 0
        prev_horn = False
        for ch in w:
            if ch in "đĐ":
                out.append("d9" if ch == "đ" else "D9")
                prev_horn = False
                continue
            base, hat, t = _decomp(ch)
            tone = t or tone
            out.append(base)
            if hat and not (hat == "+" and prev_horn):
                digits.append(_VNI_HAT_DIGIT[hat])
            prev_horn = hat == "+"
        return "".join(out) + "".join(digits) + (str(tone) if tone else "")

    return _WORD_RE.sub(word, unicodedata.normalize("NFC", text))


@lru_cache(maxsize=100_000)
def _vni_digits_word(w: str, style: str) -> str | None:
    if not re.search(r"[A-Za-z]", w) or not re.search(r"\d", w):
        return None
    w = re.sub(r"([dD])9", lambda m: "đ" if m.group(1) == "d" else "Đ", w)
    digits = re.findall(r"\d", w)
    bare = re.sub(r"\d", "", w)
    if any(d in "09" for d in digits) or not bare:
        return None
    tones = [int(d) for d in digits if d in "12345"]
    chars = list(bare)
    start, end = _nucleus_span(bare)
    if start == end:
        return None
    nucleus_low = bare[start:end].lower()
    for d in (x for x in digits if x in "678"):
        if d == "6":
            idx = max((i for i, c in enumerate(nucleus_low) if c in "aeo"), default=None)
            if idx is None:
                return None
            chars[start + idx] = _apply_hat(chars[start + idx], "^")
        elif d == "7":
            if "uo" in nucleus_low:
                i = nucleus_low.index("uo")
                chars[start + i] = _apply_hat(chars[start + i], "+")
                chars[start + i + 1] = _apply_hat(chars[start + i + 1], "+")
            elif "o" in nucleus_low:
                i = nucleus_low.index("o")
                chars[start + i] = _apply_hat(chars[start + i], "+")
            elif "u" in nucleus_low:
                i = nucleus_low.index("u")
                chars[start + i] = _apply_hat(chars[start + i], "+")
            else:
                return None
        else:
            if "a" not in nucleus_low:
                return None
            i = nucleus_low.index("a")
            chars[start + i] = _apply_hat(chars[start + i], "(")
    return place_tone("".join(chars), tones[-1] if tones else 0, style)


def from_vni_digits(text: str, style: str = "new", strict: bool = True) -> str:
    """Decode VNI digits typed without the input method: "Nguyen64" → "Nguyễn". Words that do not decode to a
    Vietnamese syllable stay as they are, unless ``strict`` is False ("Bho7" → "Bhơ" in a minority name)."""

    def word(m: re.Match[str]) -> str:
        w = m.group(0)
        dec = _vni_digits_word(w, style)
        return dec if dec is not None and (not strict or is_vietnamese_syllable(dec)) else w

    return re.sub(r"[A-Za-z0-9]+", word, text)


# ── detection and repair ──────────────────────────────────────────────────────────────────────────────────────
_COMBINING_RE = re.compile(r"[\u0300-\u036f]")
_TOKEN_RE = re.compile(r"[^\s\-.,'’]+")
_CP1252_ONLY = frozenset(_CP1252_DEC)


_TCVN3_ONLY = frozenset(_FROM_TCVN3) - frozenset("".join(_FROM_VNI)) - VIETNAMESE_LETTERS
_INNER_CAPITAL_RE = re.compile(r"[a-zà-ỹ][ÀÁÂÃÈÉÊÌÍÒÓÔÕÙÚÝ]")  # "NguyÔn": TCVN3 codes shown as capitals
_VNI_PAIR_RE = re.compile(r"(?i)a[âáàåãäêéèúüë]|e[âáàåãä]|o[âåä]")


@lru_cache(maxsize=100_000)
def _token_badness(tok: str) -> int:
    letters = "".join(c for c in tok if c in VIETNAMESE_LETTERS)
    bad = 2 * (len(tok) - len(letters))
    if letters and not is_vietnamese_syllable(letters):
        bad += 1
    # "Claâu": a vowel then a VNI mark byte never occurs in Unicode
    return bad + len(_VNI_PAIR_RE.findall(tok))


def _badness(text: str) -> int:
    """How un-Vietnamese a text looks: 2 per foreign character, 1 per word that is not a syllable."""
    return sum(_token_badness(tok) for tok in _TOKEN_RE.findall(text))


def _telex_candidate(text: str) -> str | None:
    """Telex needs convincing evidence: words that decode differently, at least half of them to Vietnamese
    syllables. Stripped names ("Nguyen Van An") have none: their finals are never s f r x j and they hold no aa aw
    ee oo ow uw dd w."""
    if not text.isascii():
        return None
    changed = [
        (w, d) for w in re.findall(r"[A-Za-z]+", text) if (d := _telex_word(w, "new")) not in (None, w)
    ]
    valid = [(w, d) for w, d in changed if d is not None and is_vietnamese_syllable(d)]
    if not valid or 2 * len(valid) < len(changed):
        return None
    decoded = from_telex(text, strict=False)
    # "Coor Blao" (a Cơ Tu name) reads as Telex "Cổ Blao": with a word that is no syllable either way, demand a
    # key no name holds (aw ow uw dd)
    if not _TELEX_HAT_KEYS_W_RE.search(text) and not all(
        is_vietnamese_syllable(w) for w in re.findall(r"[^\W\d_]+", decoded)
    ):
        return None
    # Cơ Tu names write a long vowel double and end in r ("Coor Dung"), which is also Telex for a hỏi word ("Cổ"):
    # a name whose only Telex words have that shape is left as written
    if all(_COTU_LONG_R_RE.match(w) for w, _ in changed):
        return None
    return decoded


_COTU_LONG_R_RE = re.compile(r"(?i)^[^aeiouy]*([aeo])\1r$")


def _vni_digits_candidate(text: str) -> str | None:
    """VNI digits need digits inside words, at least half of those words decoding to Vietnamese syllables."""
    mixed = [t for t in re.findall(r"[A-Za-z0-9]+", text) if not t.isdigit() and not t.isalpha()]
    if not mixed:
        return None
    decoded = [_vni_digits_word(t, "new") for t in mixed]
    valid = [d for d in decoded if d is not None and is_vietnamese_syllable(d)]
    if not valid or 2 * len(valid) < len(mixed):
        return None
    return from_vni_digits(text, strict=False)


_VIQR_MARK_RE = re.compile(r"[aeiouyAEIOUY][\^(+'’`?~.]|^[dD][dD]")
# a period after a vowel is nặng when letters follow it or precede the vowel ("Pha.m", "Thi."), not in "A."
_VIQR_DOT = r"[aeiouyAEIOUY]\.(?=[^\W\d_])|[^\W\d_][aeiouyAEIOUY]\."
_VIQR_STRONG_RE = re.compile(r"[aeiouyAEIOUY][\^(+`~]|^[dD][dD]|" + _VIQR_DOT)
_VIQR_WORD_RE = re.compile(r"[aeiouyAEIOUY][\^(+'’`?~]|^[dD][dD]|" + _VIQR_DOT)


def _viqr_candidate(text: str) -> str | None:
    """VIQR needs every word with a mark character after a vowel to decode to a Vietnamese syllable, and a mark
    that names do not otherwise hold (^ ( + ` ? ~ or a leading dd) or two such words: an apostrophe alone is a
    minority name's (Y'Bhin), a period alone an abbreviation."""
    words = text.split(" ")
    marked = [w for w in words if _VIQR_MARK_RE.search(w)]
    if not marked:
        return None
    decoded = {w: from_viqr(w) for w in marked}
    strong = {w for w in marked if _VIQR_STRONG_RE.search(w)}
    valid = {w for w, d in decoded.items() if is_vietnamese_syllable(d)}
    if not valid or len(valid) < 2 and not strong & valid:
        return None
    # a word with a mark no name holds (^ ( + ` ~, "Zra^m") is decoded even when it is no Vietnamese syllable
    if not all(w in valid or w in strong for w in marked):
        return None
    return " ".join(decoded.get(w, w) for w in words)


def _candidates(text: str) -> list[tuple[str, str]]:
    if _COMBINING_RE.search(text):
        return [("nfd", unicodedata.normalize("NFC", text))]
    out: list[tuple[str, str]] = []
    if (moji := _mojibake_candidate(text)) is not None:
        return [moji]
    if not text.isascii() and not _CP1252_ONLY.issuperset(text):
        return []  # real Unicode Vietnamese (ễ ị ă đ ơ ư …): whole-text 8-bit forms are out (see _per_word)
    if not text.isascii() and _badness(text.replace("Ð", "Đ")) > 0:
        for kind, fn, codes in (("tcvn3", from_tcvn3, _TCVN3_CODE_RE), ("vni", from_vni, _VNI_RE)):
            cand = fn(text)
            # evidence: a word that only the reading makes a syllable, or VNI's vowel + mark byte ("Claâu")
            evidence = _fixes_a_word(text, cand) or (kind == "vni" and bool(_VNI_PAIR_RE.search(text)))
            if cand != text and _consistent(text, codes, cand) and evidence:
                out.append((kind, cand))
    if text.isascii():
        for kind, fn in (
            ("viqr", _viqr_candidate),
            ("vni_digits", _vni_digits_candidate),
            ("telex", _telex_candidate),
        ):
            cand = fn(text)
            if cand is not None and cand != text:
                out.append((kind, cand))
    return out


_TCVN3_CODE_RE = re.compile("|".join(re.escape(k) for k in _FROM_TCVN3))


def _certain_legacy(word: str, kind: str) -> bool:
    """The word holds what Unicode text never does: VNI's vowel + mark byte ("Claâu", "Nguyeãn"), or a TCVN3
    code that is no letter at all (© ª « ¬ ­ ® µ ¸ …). Such a word is decoded even when it is no syllable (a
    minority name: "Claâu" is "Clâu")."""
    if kind == "vni":
        return bool(_VNI_PAIR_RE.search(word))
    return any(c in _TCVN3_ONLY and not c.isalpha() for c in word)


def _consistent(text: str, codes: re.Pattern[str], cand: str) -> bool:
    """``text`` can be wholly in the encoding: every non-ASCII character is part of one of its codes ("Lê Công
    Hoaønh" is no VNI text: a lone "ê" is no VNI code), and the words it repairs outnumber the syllables it
    would change ("Lê Công Hoµnh" is Unicode with one TCVN3 word, not "Lờ Cụng Hoành"; "Phan Công Thöùc" is
    not "Phan Cơng Thức"; "NguyÔn Xu©n Phông" is TCVN3 "Nguyễn Xuân Phụng"), or are two or more (a name
    with two legacy words came whole: "Hoà Thò Xuaân Höông" is VNI "Hồ Thị Xuân Hương"). A tie is left to the per-word
    reading, and to the file's encoding (``repair(hint=…)``)."""
    if not codes.sub("", text).isascii():
        return False
    pairs = list(zip(text.split(" "), cand.split(" "), strict=False))
    unicode_like = sum(w != d and _word_is_syllable(w) for w, d in pairs)
    kind = "tcvn3" if codes is _TCVN3_CODE_RE else "vni"
    fixed = sum(
        w != d and (not _word_is_syllable(w) and is_vietnamese_syllable(d) or _certain_legacy(w, kind))
        for w, d in pairs
    )
    return fixed > unicode_like or fixed >= 2  # two legacy words: the name was pasted whole, not one word


def _fixes_a_word(text: str, cand: str) -> bool:
    """The reading turns at least one word that is no syllable into one ("Müller Lê" → "Mỹller Lờ" fixes none)."""
    return any(
        not _word_is_syllable(w) and is_vietnamese_syllable(d)
        for w, d in zip(text.split(" "), cand.split(" "), strict=False)
    )


def _word_is_syllable(word: str) -> bool:
    """A word that reads as a Vietnamese syllable as it stands, wherever its tone mark sits (Hòang). A capital
    after a small letter ("TÊn": TCVN3 ấ shown as Ê) is a legacy code, not a syllable."""
    if not _natural_case(word):
        return False
    return _syllable_shape(*split_tone(word))


def _natural_case(word: str) -> bool:
    """lower, UPPER or Title case: "TÊn" and "HoÃ" are neither (a legacy code shown as a capital)."""
    return word.islower() or word.isupper() or word[1:].islower() or len(word) < 2 or not word[1:].isalpha()


def _unnatural_words(text: str) -> int:
    """Words whose case no clerk types: mixed case ("HoÃ"), or one small letter in a capitalised name ("TÃ i")."""
    words = _TOKEN_RE.findall(text)
    capitalised = any(w[:1].isupper() for w in words)
    return sum(not _natural_case(w) or (capitalised and len(w) == 1 and w.islower()) for w in words)


def _word_repairs(word: str) -> list[tuple[str, str]]:
    """(kind, decoded) for each legacy reading of one word that gives a Vietnamese syllable."""
    cands: list[tuple[str, str]] = []
    if not word.isascii():
        if _CP1252_ONLY.issuperset(word):
            for kind, fn in (("tcvn3", from_tcvn3), ("vni", from_vni)):
                if (dec := fn(word)) != word:
                    cands.append((kind, dec))
        if (moji := _mojibake_candidate(word)) is not None:
            cands.append(moji)
    # one VIQR word in a Unicode name: "?" is also a character lost in transcoding ("Nguy?n"), which the syllable
    # check turns away ("uyn" is no syllable); a period counts only inside or after a word ("Pha.m", "Thi.")
    if _VIQR_WORD_RE.search(word) and (dec := from_viqr(word)) != word:
        cands.append(("viqr", dec))
    return [
        (k, unicodedata.normalize("NFC", d))
        for k, d in cands
        if is_vietnamese_syllable(d.replace("Ð", "Đ")) or (k == "vni" and _certain_legacy(word, "vni"))
    ]


def _per_word(text: str) -> tuple[str, str] | None:
    """A Unicode name with a word or two in another form ("Nguyễn Văn Aùnh": one word typed in VNI): each word
    that is not a syllable as it stands is replaced by its legacy reading when exactly one reading gives a
    syllable (TCVN3 and VNI readings that differ are told apart by the word's tell-tales, else left alone)."""
    words = text.split(" ")
    fixes: dict[int, tuple[str, str]] = {}
    title = not text.isupper()
    for i, w in enumerate(words):
        if not w or (is_vietnamese_syllable(w) and _natural_case(w)):
            continue
        cands = _word_repairs(w)
        if _word_is_syllable(
            w
        ):  # a syllable with its mark misplaced ("Hòang") gives way only to a strict one
            cands = [c for c in cands if c[1] != w]
        outs = {d for _, d in cands}
        if len(outs) == 1:
            fixes[i] = cands[0]
        elif len(outs) > 1:
            vni_tell = bool(_VNI_PAIR_RE.search(w))
            # TCVN3 toned small letters show as capitals: "LÖ" in a name not written in capitals is TCVN3 "Lệ"
            tcvn3_tell = any(c in _TCVN3_ONLY for c in w) or (title and any(c.isupper() for c in w[1:]))
            if vni_tell != tcvn3_tell:
                want = "vni" if vni_tell else "tcvn3"
                if (match := next((c for c in cands if c[0] == want), None)) is not None:
                    fixes[i] = match
            else:  # the reading with fewer tone marks ("Thö": VNI Thư rather than TCVN3 Thử)
                by_tones = sorted((sum(_decomp(ch)[2] > 0 for ch in d), k, d) for k, d in cands)
                if by_tones[0][0] < by_tones[1][0]:
                    fixes[i] = (by_tones[0][1], by_tones[0][2])
    if not fixes:
        return None
    kinds = {k for k, _ in fixes.values()}
    kind = kinds.pop() if len(kinds) == 1 else "mixed"
    return kind, " ".join(fixes[i][1] if i in fixes else w for i, w in enumerate(words))


def _hinted(text: str, hint: str) -> tuple[str, str] | None:
    """The whole-text reading in ``hint`` (the legacy form most names of the same file are in), taken when every
    word it changes becomes a Vietnamese syllable and the text reads no worse: in a TCVN3 file "Vò Anh Huy" is
    "Vũ Anh Huy", in a VNI file "Phan Thò Sinh" is "Phan Thị Sinh"."""
    if text.isascii() or not _CP1252_ONLY.issuperset(text):
        return None
    fn, codes = {"tcvn3": (from_tcvn3, _TCVN3_CODE_RE), "vni": (from_vni, _VNI_RE)}[hint]
    cand = fn(text)
    if cand == text or not codes.sub("", text).isascii():
        return None
    pairs = zip(text.split(" "), cand.split(" "), strict=False)
    if not all(is_vietnamese_syllable(d) or _certain_legacy(w, hint) for w, d in pairs if w != d):
        return None
    if _badness(cand.lower()) > _badness(text.lower()):
        return None
    return hint, cand


def _choose(text: str, hint: str | None = None) -> tuple[str, str] | None:
    if hint in ("tcvn3", "vni") and (hinted := _hinted(text, hint)) is not None:
        return hinted
    cands = _candidates(text)
    if not cands:
        return _per_word(text)
    if cands[0][0] in ("nfd", "mojibake", "mojibake_cp1250"):
        return cands[0]
    # judged case-blind: all-caps TCVN3 legitimately comes back with lower-case toned letters, and a typo that
    # glues two words ("LêKim") must not make a capital look like a TCVN3 tell
    base = _badness(text.replace("Ð", "Đ").lower())
    scored = sorted(((_badness(c.lower()), i, kind, c) for i, (kind, c) in enumerate(cands)))
    best_bad, _, kind, cand = scored[0]
    if kind in ("telex", "vni_digits", "viqr"):  # the candidate functions already demanded evidence
        return (kind, cand) if best_bad < base else _per_word(text)
    if len(scored) > 1 and scored[1][0] == best_bad:  # TCVN3 and VNI read equally well: look for tell-tales
        vni_tell = bool(_VNI_PAIR_RE.search(text))
        tcvn3_tell = any(c in _TCVN3_ONLY for c in text) or bool(_INNER_CAPITAL_RE.search(text))
        if vni_tell == tcvn3_tell:
            return _per_word(text)
        kind = "vni" if vni_tell else "tcvn3"
        cand = next(c for k, c in cands if k == kind)
    if best_bad < base:
        return kind, cand
    return _per_word(text)


def detect_encoding(text: str | None) -> str | None:
    """Which legacy form ``text`` is in: ``nfd``, ``mojibake`` (UTF-8 read as cp1252 or Latin-1),
    ``mojibake_cp1250``, ``tcvn3``, ``vni``, ``viqr``, ``vni_digits``, ``telex``, ``mixed`` (words in different
    forms) or None. Conservative: plain ASCII like "Nguyen Van An" is None; Telex needs a tone or hat key that
    decodes every word to a Vietnamese syllable; VNI digits need digits inside words; a word is only ever
    replaced by a reading that is a Vietnamese syllable, so minority names (Bh'riu, Zơ Râm) stay as written."""
    if not text:
        return None
    chosen = _choose(text)
    return chosen[0] if chosen else None


def repair(text: str | None, hint: str | None = None) -> tuple[str | None, str | None]:
    """(repaired NFC text, kind) when :func:`detect_encoding` finds a legacy form, else (text, None).

    ``hint``: ``tcvn3`` or ``vni`` when most names of the same file are in that form; a name whose words all read
    as syllables either way ("Phan Thò Sinh") is then read in it too."""
    if not text:
        return text, None
    chosen = _choose(text, hint)
    if chosen is None:
        return text, None
    kind, fixed = chosen
    return unicodedata.normalize("NFC", fixed), kind
