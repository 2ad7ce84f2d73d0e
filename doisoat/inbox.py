"""The inbox: agencies drop files, a night reads the newest complete file per sector, then files away what it read.

Layout (``--inbox DIR``; the archive is ``DIR/../archive`` unless ``--archive`` names another folder)::

    DIR/<sector>/            agencies drop files here (vaccination/, civil_status/, …; one folder per sector)
    DIR/rejected/            files the run could not read, each with ``<name>.ly-do.txt`` beside it
    ARCHIVE/<date>/<run_id>/<sector>/<name>   files the run read, each with ``<name>.sha256`` beside it

A file still being copied is never read: names ending ``.part``/``.tmp``/``.crdownload``/… and hidden or Office
lock files are skipped; any other file must keep its size and modification time over a short check (and be at
least that old), unless the agency drops a marker ``<name>.done`` (or ``.xong``) beside it. Older complete files
of a sector are archived as superseded (never read), so a later night never goes back to them.

Files move only after the run is recorded (a killed run leaves every agency file where it was), and only when
they are still the bytes the run read. doisoat never deletes or overwrites a file it did not create: moves go to
names that do not exist yet, and anything it does not recognise in the inbox is left alone and reported.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

from doisoat.errors import UserError
from doisoat.ingest.core import file_sha256
from doisoat.textfmt import vn_date

INBOX_MARKER = ".doisoat-inbox"
ARCHIVE_MARKER = ".doisoat-archive"
INBOX_LOCK = ".doisoat-lock"
REJECTED = "rejected"
GUIDE = "HUONG-DAN.txt"
MESSAGE_SUFFIX = ".ly-do.txt"
CHECKSUM_SUFFIX = ".sha256"
MARKER_SUFFIXES = (".done", ".xong", ".ok")
# names of files still being written by the usual copy tools (browsers, WinSCP, rsync, curl, Office)
PARTIAL_SUFFIXES = (".part", ".partial", ".tmp", ".temp", ".crdownload", ".download", ".filepart", ".!ut")
SETTLE_SECONDS = 5.0  # DOISOAT_INBOX_SETTLE_SECONDS overrides

GUIDE_TEXT = """\
HỘP THƯ DỮ LIỆU CỦA DOISOAT

Mỗi cơ quan đặt tệp trích xuất vào thư mục con mang tên lĩnh vực của mình:
{sectors}
- Khi đang sao chép, đặt tên tệp có đuôi .part (vd. tiem_chung.csv.part) rồi đổi tên khi chép xong; hoặc đặt
  thêm một tệp trống <tên tệp>.done bên cạnh khi đã chép xong. Tệp đang chép dở không bao giờ được đọc.
- Mỗi đêm doisoat đọc tệp mới nhất của mỗi lĩnh vực. Tệp đã đọc được chuyển sang thư mục lưu trữ (archive)
  kèm mã kiểm tra SHA-256; tệp cũ hơn cũng được lưu trữ (không đọc).
- Tệp không đọc được được chuyển vào rejected/, bên cạnh có tệp <tên tệp>.ly-do.txt nói rõ lý do và cách sửa.
- Lĩnh vực không có tệp mới giữ nguyên số liệu đã công bố lần trước.
- doisoat không xoá và không ghi đè tệp nào của cơ quan.

DOISOAT DATA INBOX
Each agency puts its extract into the sub-folder named after its sector. Copy as NAME.part and rename when done,
or drop an empty NAME.done beside the file. Every night doisoat reads the newest file of each sector and archives
it with its SHA-256; unreadable files go to rejected/ with NAME.ly-do.txt saying why. A sector without a new file
keeps its last published figures. doisoat never deletes or overwrites an agency's file.
"""


def _described(sectors: tuple[str, ...]) -> str:
    """``vaccination (Tiêm chủng), …``: the folder names with the sectors' Vietnamese labels."""
    from schemas import load_sector

    out = []
    for s in sectors:
        try:
            out.append(f"{s}/  ({load_sector(s).label_vi})")
        except Exception:  # a broken sector YAML: the folder name alone still guides the agency
            out.append(s)
    return "\n".join(f"  {x}" for x in out)


def settle_seconds() -> float:
    try:
        return float(os.environ.get("DOISOAT_INBOX_SETTLE_SECONDS", SETTLE_SECONDS))
    except ValueError:
        return SETTLE_SECONDS


@dataclass(frozen=True)
class InboxFile:
    """A file found in a sector folder, with the size and modification time seen when it was chosen."""

    sector: str
    path: Path
    size: int
    mtime_ns: int
    marker: Path | None = None  # the agency's "done" marker beside it, moved with it

    def unchanged(self) -> bool:
        try:
            st = self.path.stat()
        except OSError:
            return False
        return st.st_size == self.size and st.st_mtime_ns == self.mtime_ns


@dataclass(frozen=True)
class Filed:
    """What the night did with one inbox file."""

    sector: str
    name: str
    action: str  # archived | superseded | rejected | waiting | left
    destination: Path | None = None
    reason: str = ""
    sha256: str | None = None


@dataclass
class Scan:
    chosen: dict[str, InboxFile] = field(default_factory=dict)  # sector → the file this night reads
    superseded: list[InboxFile] = field(default_factory=list)  # older complete files of a chosen sector
    waiting: list[Filed] = field(default_factory=list)  # files still being copied: left for a later night
    strays: list[str] = field(default_factory=list)  # entries doisoat does not recognise (left alone)


@dataclass
class Night:
    """One night of the inbox: what was read, what moved where, which sectors keep earlier figures."""

    run: dict | None  # the run's result (None when no sector had a new file)
    filed: list[Filed]
    unchanged: list[dict]  # sector, label, in_force (run_id, finished_at, out_dir) or None
    strays: list[str]

    def lines(self, skip: set[str] | frozenset[str] = frozenset()) -> list[str]:
        """Vietnamese lines for the console and the Prefect artifact (file names only, no personal data).

        ``skip``: sectors whose "no new file" line is already printed (the run's summary lists carried sectors).
        """
        out = []
        if self.run is None:
            out.append(
                "Hộp thư không có tệp mới hoàn chỉnh: không chạy đối soát đêm nay. / no new complete file."
            )
        words = {
            "archived": "đã đọc, lưu trữ tại",
            "superseded": "có tệp mới hơn, không đọc, lưu trữ tại",
            "rejected": "không đọc được, chuyển vào",
            "waiting": "đang sao chép dở, để lại cho lần sau",
            "left": "để nguyên trong hộp thư",
        }
        for f in self.filed:
            where = f" {f.destination}" if f.destination else ""
            why = f" ({f.reason})" if f.reason else ""
            out.append(f"  [{f.sector}] {f.name}: {words[f.action]}{where}{why}")
        for u in self.unchanged:
            if u["sector"] in skip:
                continue
            since = u["in_force"]
            kept = "chưa từng được công bố"
            if since:
                when = datetime.fromisoformat(since["finished_at"])
                days = (datetime.now() - when).days
                kept = (
                    f"giữ số liệu đã công bố của lượt {since['run_id']} ({vn_date(when)}"
                    + (f", {days} ngày trước" if days >= 1 else "")
                    + ")"
                )
            out.append(f"  {u['label']}: không có tệp mới; {kept}")
        for s in self.strays:
            out.append(f"  Không thuộc lĩnh vực nào, để nguyên: {s} (đặt tệp vào thư mục <lĩnh vực>/)")
        return out

    def as_dict(self) -> dict:
        return {
            "run": self.run,
            "filed": [
                {**f.__dict__, "destination": str(f.destination) if f.destination else None}
                for f in self.filed
            ],
            "unchanged": self.unchanged,
            "strays": self.strays,
        }


SYSTEM_NAMES = {"thumbs.db", "desktop.ini", ".ds_store"}


def _is_system(name: str) -> bool:
    """Hidden files (rsync's temporary copies among them), Office lock files, the file managers' own files:
    never data, never reported (they would be a line every night)."""
    return name.startswith((".", "~$")) or name.lower() in SYSTEM_NAMES


def _is_partial(name: str) -> bool:
    return name.lower().endswith(PARTIAL_SUFFIXES)


def _is_own(name: str) -> bool:
    return name.endswith((MESSAGE_SUFFIX, CHECKSUM_SUFFIX)) or name.lower().endswith(MARKER_SUFFIXES)


@dataclass(frozen=True)
class Inbox:
    """A checked inbox folder and its archive."""

    root: Path
    archive: Path
    sectors: tuple[str, ...]

    @classmethod
    def open(cls, root: Path, archive: Path | None = None, sectors: list[str] | None = None) -> Inbox:
        """Create the layout on first use (a folder per sector, rejected/, a guide); refuse unsafe archives."""
        from schemas import available_sectors

        root = root.resolve()
        if root.exists() and not root.is_dir():
            raise UserError(f"'--inbox {root}' là một tệp, không phải thư mục hộp thư. / not a folder")
        archive = (archive or root.parent / "archive").resolve()
        names = tuple(sorted(sectors or (s for s in available_sectors() if s != "reference")))
        if archive.is_relative_to(root) or root.is_relative_to(archive):
            raise UserError(
                f"Thư mục lưu trữ '{archive}' và hộp thư '{root}' phải là hai thư mục riêng, không lồng nhau "
                "(các cơ quan ghi được vào hộp thư). / the archive and the inbox must not contain each other"
            )
        if archive.exists() and not (archive / ARCHIVE_MARKER).is_file() and any(archive.iterdir()):
            raise UserError(
                f"Thư mục lưu trữ '{archive}' đã có dữ liệu không do doisoat tạo ra; hãy chọn thư mục khác bằng "
                "--archive. / the archive folder holds files doisoat did not create"
            )
        for folder in (root, *(root / s for s in names), root / REJECTED):
            folder.mkdir(parents=True, exist_ok=True)
        if not (root / GUIDE).exists():
            (root / GUIDE).write_text(GUIDE_TEXT.format(sectors=_described(names)), encoding="utf-8")
        (root / INBOX_MARKER).touch()
        archive.mkdir(parents=True, exist_ok=True, mode=0o700)
        (archive / ARCHIVE_MARKER).touch()
        return cls(root, archive, names)

    def check_apart(self, runs_root: Path, db_path: Path) -> None:
        """Agencies write into the inbox: the runs folder and the database are never in it (nor it in the runs
        folder), and the archive is apart from the runs folder."""
        runs_root, db = runs_root.resolve(), db_path.resolve()
        if runs_root.is_relative_to(self.root) or self.root.is_relative_to(runs_root):
            raise UserError(
                f"Hộp thư '{self.root}' và thư mục kết quả '{runs_root}' phải là hai thư mục riêng, không lồng nhau. "
                "/ the inbox and the runs folder must not contain each other"
            )
        if db.is_relative_to(self.root) or db.is_relative_to(self.archive):
            raise UserError(
                f"Tệp cơ sở dữ liệu '{db}' không được nằm trong hộp thư hay thư mục lưu trữ. / the database must "
                "not be in the inbox or the archive"
            )
        if runs_root.is_relative_to(self.archive) or self.archive.is_relative_to(runs_root):
            raise UserError(
                f"Thư mục lưu trữ '{self.archive}' và thư mục kết quả '{runs_root}' phải là hai thư mục riêng. / the "
                "archive and the runs folder must not contain each other"
            )

    @contextmanager
    def lock(self, run_id: str | None = None) -> Iterator[None]:
        """One night at a time per inbox (two databases must not both take the same agency file)."""
        from doisoat.runs import exclusive

        with exclusive(self.root / INBOX_LOCK, f"Hộp thư '{self.root}'", run_id):
            yield

    # ---------------------------------------------------------------- choosing files

    def scan(self, settle: float | None = None) -> Scan:
        """The newest complete file of each sector; older complete ones; files still being copied."""
        settle = settle_seconds() if settle is None else settle
        out = Scan()
        candidates: dict[str, list[tuple[Path, os.stat_result, Path | None]]] = {}
        for entry in sorted(self.root.iterdir()):
            if entry.name in (GUIDE, REJECTED) or entry.name in self.sectors or _is_system(entry.name):
                continue
            out.strays.append(entry.name)
        for sector in self.sectors:
            folder = self.root / sector
            names = {p.name for p in folder.iterdir()}
            for p in sorted(folder.iterdir()):
                if _is_system(p.name):
                    continue
                if p.is_symlink() or not p.is_file():
                    out.strays.append(f"{sector}/{p.name}")
                    continue
                if _is_own(p.name):
                    continue
                if _is_partial(p.name):
                    out.waiting.append(Filed(sector, p.name, "waiting", reason="tên tệp đang chép dở"))
                    continue
                marker = next((folder / (p.name + s) for s in MARKER_SUFFIXES if p.name + s in names), None)
                candidates.setdefault(sector, []).append((p, p.stat(), marker))
        unmarked = [c for group in candidates.values() for c in group if c[2] is None]
        if unmarked and settle > 0:
            time.sleep(settle)
        now = time.time_ns()
        for sector, group in candidates.items():
            complete = []
            for p, st, marker in group:
                if marker is None:
                    try:
                        again = p.stat()
                    except OSError:
                        continue  # gone while we looked (the agency moved it): not ours to report
                    young = now - again.st_mtime_ns < settle * 1e9
                    if (again.st_size, again.st_mtime_ns) != (st.st_size, st.st_mtime_ns) or young:
                        out.waiting.append(Filed(sector, p.name, "waiting", reason="tệp còn đang thay đổi"))
                        continue
                complete.append(InboxFile(sector, p, st.st_size, st.st_mtime_ns, marker))
            if not complete:
                continue
            complete.sort(key=lambda f: (f.mtime_ns, f.path.name))
            out.chosen[sector] = complete[-1]
            out.superseded.extend(complete[:-1])
        return out

    # ---------------------------------------------------------------- filing after the run

    def file_away(self, scan: Scan, run_id: str, inputs: list[dict], started: datetime) -> list[Filed]:
        """Move what the run read to the archive and what it could not read to rejected/ (after the record).

        ``inputs`` are the run manifest's inputs (path, sha256, ok, messages). A file that changed since it was
        chosen stays where it is: the run read other bytes, and the new ones are for the next night.
        """
        by_path = {str(Path(i["path"]).resolve()): i for i in inputs}
        night = self.archive / archive_day(started) / run_id
        filed: list[Filed] = []
        for sector, f in sorted(scan.chosen.items()):
            info = by_path.get(str(f.path.resolve()))
            if info is None or not _same_bytes(f, info.get("sha256")):
                filed.append(Filed(sector, f.path.name, "left", reason="tệp đã thay đổi trong khi đối soát"))
                continue
            try:
                filed.append(self._file_one(f, info, night, run_id))
            except OSError as exc:  # a permission or disk problem: the file stays, the night goes on
                filed.append(
                    Filed(sector, f.path.name, "left", reason=f"không chuyển được: {exc.strerror or exc}")
                )
        for f in scan.superseded:
            if not f.unchanged():
                continue
            try:
                sha = file_sha256(f.path)
                dest = _move_unique(f.path, night / f.sector / "cu-hon")
                _write_checksum(dest, sha)
                if f.marker is not None and f.marker.exists():
                    _move_unique(f.marker, night / f.sector / "cu-hon")
            except OSError as exc:
                filed.append(
                    Filed(f.sector, f.path.name, "left", reason=f"không chuyển được: {exc.strerror or exc}")
                )
                continue
            filed.append(Filed(f.sector, f.path.name, "superseded", dest, sha256=sha))
        if any(x.action in ("archived", "superseded") for x in filed):
            record = {
                "run_id": run_id,
                "started_at": started.isoformat(timespec="seconds"),
                "files": [
                    {**x.__dict__, "destination": str(x.destination) if x.destination else None}
                    for x in filed
                ],
            }
            _write_new(night / "hop-thu.json", json.dumps(record, ensure_ascii=False, indent=2))
        return filed + scan.waiting

    def _file_one(self, f: InboxFile, info: dict, night: Path, run_id: str) -> Filed:
        """Read and usable → the night's archive with its checksum; not usable → rejected/ with the reasons."""
        if info.get("ok"):
            dest = _move_unique(f.path, night / f.sector)
            _write_checksum(dest, info["sha256"])
            if f.marker is not None and f.marker.exists():
                _move_unique(f.marker, night / f.sector)
            return Filed(f.sector, f.path.name, "archived", dest, sha256=info["sha256"])
        dest = _move_unique(f.path, self.root / REJECTED)
        _write_message(dest, f.sector, run_id, info)
        if f.marker is not None and f.marker.exists():
            _move_unique(f.marker, self.root / REJECTED)
        errors = [m.get("text", "") for m in info.get("messages", []) if m.get("severity") == "error"]
        return Filed(f.sector, f.path.name, "rejected", dest, "; ".join(errors), info.get("sha256"))


def archive_day(started: datetime) -> str:
    """The run's date in Vietnam (a server kept on UTC starts the 01:30 run on the previous UTC day)."""
    from zoneinfo import ZoneInfo

    return started.astimezone(ZoneInfo("Asia/Ho_Chi_Minh")).strftime("%Y-%m-%d")


def _unique(folder: Path, name: str) -> Path:
    """``folder/name``, or ``stem (2).suffix``, ``stem (3).suffix``… — a name that does not exist yet."""
    stem, suffix = Path(name).stem, Path(name).suffix
    dest, n = folder / name, 2
    while any(p.exists() or p.is_symlink() for p in (dest, Path(str(dest) + MESSAGE_SUFFIX))):
        dest = folder / f"{stem} ({n}){suffix}"
        n += 1
    return dest


def _same_bytes(f: InboxFile, sha: str | None) -> bool:
    """Still the file the run read: same size and time, and the same checksum where the run could read it."""
    if not f.unchanged():
        return False
    if sha is None:
        return True
    try:
        return file_sha256(f.path) == sha
    except OSError:
        return False


def _move_unique(src: Path, folder: Path) -> Path:
    """Move ``src`` into ``folder`` under a new name; across file systems copy, verify, then remove the source."""
    folder.mkdir(parents=True, exist_ok=True)
    dest = _unique(folder, src.name)
    try:
        os.link(src, dest)  # fails if dest exists: never replaces anything
        os.unlink(src)
        return dest
    except OSError:
        if dest.exists():
            raise
    tmp = dest.with_name(dest.name + ".part")
    shutil.copy2(src, tmp)
    if file_sha256(tmp) != file_sha256(src):
        tmp.unlink()
        raise OSError(f"copy of {src.name} differs from the original")
    if dest.exists():
        tmp.unlink()
        raise FileExistsError(dest)
    os.rename(tmp, dest)
    os.unlink(src)
    return dest


def _write_new(path: Path, text: str) -> None:
    with open(path, "x", encoding="utf-8") as fh:
        fh.write(text)


def _write_checksum(dest: Path, sha: str) -> None:
    """``sha256sum -c`` format, beside the file."""
    _write_new(Path(str(dest) + CHECKSUM_SUFFIX), f"{sha}  {dest.name}\n")


def _write_message(dest: Path, sector: str, run_id: str, info: dict) -> None:
    errors = [m for m in info.get("messages", []) if m.get("severity") == "error"] or [
        {"text": "tệp không dùng được", "text_en": "the file could not be used"}
    ]
    lines = [
        f"Tệp '{dest.name}' (lĩnh vực {sector}) KHÔNG đọc được trong lượt đối soát {run_id}.",
        *(f"- {m.get('text', '')}" for m in errors),
        "Hãy sửa tệp rồi đặt lại vào thư mục của lĩnh vực; tệp này được giữ nguyên ở đây.",
        "",
        f"File '{dest.name}' (sector {sector}) could not be read by run {run_id}.",
        *(f"- {m.get('text_en') or m.get('text', '')}" for m in errors),
        "Fix it and drop it into the sector folder again; this copy is kept as it is.",
        f"SHA-256: {info.get('sha256', '')}",
    ]
    _write_new(Path(str(dest) + MESSAGE_SUFFIX), "\n".join(lines) + "\n")


def _stat(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns


def _check_reference_settled(path: Path, before: tuple[int, int] | None, settle: float) -> None:
    """The reference file is replaced in place now and then: never read it in the middle of a copy."""
    after = _stat(path)
    if after is None:
        return  # missing: check_inputs says so in its own words
    if before != after or time.time_ns() - after[1] < settle * 1e9:
        raise UserError(
            f"Tệp dữ liệu dân cư '{path}' đang được sao chép hoặc vừa thay đổi: lượt này không chạy, các tệp trong "
            "hộp thư được giữ nguyên; lượt sau sẽ đọc. / the reference file is still being copied; nothing ran."
        )


def in_force(db_path: Path, sectors: list[str]) -> dict[str, dict | None]:
    """Each sector's figures in force (the last run that published it), read from the DuckDB record."""
    from doisoat import store

    if not db_path.exists():
        return {s: None for s in sectors}
    con = store.connect(db_path, read_only=True)
    try:
        tables = {r[0] for r in con.execute("select table_name from information_schema.tables").fetchall()}
        if not {"runs", "run_sectors"} <= tables:
            return {s: None for s in sectors}
        return {s: store.last_published(con, s) for s in sectors}
    finally:
        con.close()


def night(
    inbox: Inbox,
    base: RunConfig,  # noqa: F821  (doisoat.pipeline.RunConfig: imported lazily, the CLI starts fast)
    run: Callable,
    settle: float | None = None,
) -> Night:
    """One night: choose the files, run on them (``run(config) -> result dict``), then file the inbox away.

    The inbox lock and the run's locks are held throughout, so a second night on the same inbox, database or
    runs folder is refused at once.
    """
    from doisoat import pipeline
    from schemas import load_sector

    inbox.check_apart(base.runs_root(), base.db_path)
    with inbox.lock(), pipeline.run_locks(base):
        ref_before = _stat(base.reference)
        scan = inbox.scan(settle)
        if scan.chosen:
            _check_reference_settled(
                base.reference, ref_before, settle_seconds() if settle is None else settle
            )
        result = None
        filed = list(scan.waiting)
        if scan.chosen:
            config = replace(
                base,
                extracts=[pipeline.ExtractInput(s, f.path) for s, f in sorted(scan.chosen.items())],
                carried_over=tuple(s for s in inbox.sectors if s not in scan.chosen),
            )
            result = run(config)
            manifest = json.loads((Path(result["out_dir"]) / "manifest.json").read_text(encoding="utf-8"))
            started = datetime.fromisoformat(str(manifest["started_at"]))
            filed = inbox.file_away(scan, result["run_id"], manifest["inputs"], started)
        idle = [s for s in inbox.sectors if s not in scan.chosen]
        kept = in_force(base.db_path, idle)

        def label(s: str) -> str:
            try:
                return load_sector(s).label_vi
            except Exception:  # a sector folder whose YAML is broken still gets its line
                return s

        unchanged = [{"sector": s, "label": label(s), "in_force": kept[s]} for s in idle]
        return Night(result, filed, unchanged, scan.strays)
