"""The runs folder and the locks of a run: doisoat only ever deletes or replaces what it created.

``--out DIR`` names a *runs folder*. doisoat marks it (``.doisoat-runs``) the first time it uses it, and
inside it manages only its own entries: run folders ``<run_id>/`` (each with a ``.doisoat-run`` marker), the
staging folders of runs in progress (``.staging-<run_id>/``) and the ``latest`` link. An existing folder
holding anything else is refused before the run starts, so ``--out .`` or ``--out`` the folder of the
database can never touch the user's files. Publishing renames a staging folder to a name that did not exist
and moves ``latest``; nothing is ever replaced.

Locks (``fcntl.flock``: released by the kernel when a process dies, so a killed run never leaves a stale lock):
one run at a time per DuckDB file (``<db>.lock``) and per runs folder (``.doisoat-lock``). Each staging and
work folder holds a lock of its own while its run lives, which is how the next run tells a killed run's
leftovers from a live run's folders.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from doisoat.errors import UserError
from doisoat.textfmt import vn_datetime

ROOT_MARKER = ".doisoat-runs"
RUN_MARKER = ".doisoat-run"
ROOT_LOCK = ".doisoat-lock"
STAGING_PREFIX = ".staging-"
LATEST = "latest"

# locks this process holds: path → open file (flock is per open file, so a second open would block on itself)
_HELD: dict[Path, object] = {}


def _describe_holder(path: Path) -> str:
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
        started = vn_datetime(datetime.fromisoformat(info["started_at"]), seconds=True)
        run = f", lượt {info['run_id']}" if info.get("run_id") else ""
        return f"pid {info['pid']} trên máy {info.get('host', '?')}, bắt đầu lúc {started}{run}"
    except (OSError, ValueError, KeyError, TypeError):
        return "không rõ tiến trình"


def _try_lock(path: Path) -> object | None:
    """The open, locked file, or None when another process holds the lock."""
    fh = open(path, "a+", encoding="utf-8")  # noqa: SIM115  (kept open while the lock is held)
    try:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        fh.close()
        return None
    return fh


@contextmanager
def exclusive(path: Path, what: str, run_id: str | None = None) -> Iterator[None]:
    """Hold the lock file ``path`` for the block; a second holder gets a message naming the first one.

    Re-entrant within a process (the CLI takes the locks before Prefect starts; the run takes them again).
    """
    path = path.resolve()
    if path in _HELD:
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fh = _try_lock(path)
    if fh is None:
        raise UserError(
            f"{what} đang được một lượt đối soát khác sử dụng ({_describe_holder(path)}). "
            "Chờ lượt đó chạy xong rồi chạy lại. / another run is using it."
        )
    try:
        os.chmod(path, 0o600)
        fh.seek(0)
        fh.truncate()
        info = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started_at": datetime.now().isoformat(timespec="seconds"),
            "run_id": run_id,
        }
        fh.write(json.dumps(info))
        fh.flush()
        _HELD[path] = fh
        yield
    finally:
        _HELD.pop(path, None)
        fh.close()


def db_lock_path(db_path: Path) -> Path:
    return db_path.with_name(db_path.name + ".lock")


# ---------------------------------------------------------------- the runs folder


def _is_run_folder(p: Path) -> bool:
    """A run folder doisoat made: its marker, or (before markers existed) a manifest naming this run."""
    if not p.is_dir() or p.is_symlink():
        return False
    if (p / RUN_MARKER).is_file():
        return True
    try:
        return json.loads((p / "manifest.json").read_text(encoding="utf-8")).get("run_id") == p.name
    except (OSError, ValueError, AttributeError):
        return False


def _is_managed(p: Path) -> bool:
    name = p.name
    if name in (ROOT_MARKER, ROOT_LOCK):
        return p.is_file() and not p.is_symlink()
    if name == LATEST or name.startswith(".latest-"):
        return p.is_symlink()
    return _is_run_folder(p)


def check_runs_folder(root: Path, db_path: Path | None = None) -> None:
    """Refuse, before anything starts, a runs folder whose contents doisoat did not create."""
    root = root.resolve()
    if root.exists() and not root.is_dir():
        raise UserError(f"'--out {root}' là một tệp, không phải thư mục. Hãy chỉ định một thư mục kết quả.")
    if db_path is not None:
        db = db_path.resolve()
        if db == root or db.is_relative_to(root):
            raise UserError(
                f"Thư mục kết quả '{root}' chứa tệp cơ sở dữ liệu {db.name}: hãy chọn một thư mục riêng cho "
                "kết quả (vd. out/). / the runs folder must not hold the database."
            )
    if not root.exists() or (root / ROOT_MARKER).is_file():
        return
    foreign = sorted(p.name for p in root.iterdir() if not _is_managed(p))
    if foreign:
        shown = ", ".join(foreign[:3]) + (f" và {len(foreign) - 3} mục khác" if len(foreign) > 3 else "")
        raise UserError(
            f"Thư mục '{root}' đã có dữ liệu không do doisoat tạo ra ({shown}). doisoat không ghi vào thư mục "
            "này để không làm mất dữ liệu; hãy chọn một thư mục trống hoặc thư mục kết quả doisoat đã dùng "
            "trước đây (vd. --out out/). / the folder holds files doisoat did not create: choose an empty "
            "folder or a doisoat runs folder."
        )


@dataclass(frozen=True)
class RunsFolder:
    """A checked, marked runs folder."""

    root: Path

    @classmethod
    def open(cls, root: Path, db_path: Path | None = None) -> RunsFolder:
        root = root.resolve()
        check_runs_folder(root, db_path)
        root.mkdir(parents=True, exist_ok=True)
        marker = root / ROOT_MARKER
        if not marker.exists():
            marker.write_text(
                "Thư mục kết quả của doisoat: doisoat chỉ quản lý các thư mục lượt chạy và liên kết 'latest'.\n"
                "A doisoat runs folder: doisoat manages only its run folders and the 'latest' link.\n",
                encoding="utf-8",
            )
        return cls(root)

    def lock(self) -> Path:
        return self.root / ROOT_LOCK

    def final(self, run_id: str) -> Path:
        return self.root / run_id

    def staging(self, run_id: str) -> Path:
        return self.root / f"{STAGING_PREFIX}{run_id}"

    def leftovers(self) -> list[Path]:
        """Staging folders of runs that are no longer alive (their own lock is free)."""
        out = []
        for p in sorted(self.root.glob(f"{STAGING_PREFIX}*")):
            if _is_run_folder(p) and not _alive(p / RUN_MARKER):
                out.append(p)
        return out

    def publish(self, staging: Path, run_id: str, move_latest: bool = True) -> Path:
        """Rename the staged folder to ``<run_id>`` (a new name: nothing is replaced); point ``latest`` at it."""
        final = self.final(run_id)
        if final.exists():
            raise UserError(f"Thư mục lượt chạy '{final}' đã tồn tại; doisoat không ghi đè.")
        staging.rename(final)
        if move_latest:
            self.point_latest(run_id)
        return final

    def point_latest(self, run_id: str) -> None:
        link = self.root / LATEST
        if link.exists() and not link.is_symlink():
            raise UserError(f"'{link}' không phải liên kết do doisoat tạo; doisoat không thay thế nó.")
        tmp = self.root / f".latest-{os.getpid()}"
        if tmp.is_symlink():
            tmp.unlink()
        tmp.symlink_to(run_id)
        os.replace(tmp, link)


def _alive(marker: Path) -> bool:
    fh = _try_lock(marker)
    if fh is None:
        return True
    fh.close()
    return False


@contextmanager
def owned_folder(path: Path, run_id: str) -> Iterator[Path]:
    """Create ``path`` owner-only with a run marker this process keeps locked while the block runs."""
    path.mkdir(parents=True, mode=0o700, exist_ok=False)
    marker = path / RUN_MARKER
    marker.write_text(json.dumps({"run_id": run_id, "pid": os.getpid()}), encoding="utf-8")
    fh = _try_lock(marker)
    try:
        yield path
    finally:
        if fh is not None:
            fh.close()


def remove_leftovers(candidates: list[Path], recover: Callable[[Path], bool] | None = None) -> int:
    """Remove killed runs' folders among ``candidates`` (marked by a run, lock free); ``recover`` may finish one.

    Callers pass only folders a run creates and removes itself (staging and work folders), never run folders.
    """
    n = 0
    for p in candidates:
        marker = p / RUN_MARKER
        if p.is_symlink() or not marker.is_file() or _alive(marker):
            continue
        if recover is not None and recover(p):
            continue
        shutil.rmtree(p, ignore_errors=True)
        n += 1
    return n


def private_files(folder: Path) -> None:
    """Files with personal data are owner-only."""
    for p in folder.rglob("*"):
        if p.is_symlink():
            continue
        if p.is_file():
            p.chmod(0o600)
        elif p.is_dir():
            p.chmod(0o700)
    folder.chmod(0o700)
