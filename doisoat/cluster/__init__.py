"""Linking on a Dask ``distributed`` cluster, with results identical to one machine (issue 19).

What runs where (docs/cluster.md):
- the client (the ``doisoat run`` process, the DuckDB file's one writer) registers the records, estimates the
  models (bounded samples), and runs :func:`doisoat.match.link`'s cascade and decisions;
- for every blocking pass, :func:`pass_levels_on` writes the open records and the reference, hash-partitioned
  on each of the pass's keys, as Parquet into the shared work folder (DuckDB ``COPY … PARTITION_BY``); a worker
  reads one partition (a key value's records and persons are all there, so the block caps count exactly what one
  machine counts), finds the pairs, leaves out those seen in earlier passes, compares them and writes their levels
  back as Parquet. No worker reads the whole reference; nothing large goes through the scheduler.

Dask is imported only when a cluster is asked for.
"""

from __future__ import annotations

import logging
import math
import os
import re
import shutil
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import polars as pl

from doisoat.errors import UserError
from doisoat.match.blocking import DEL1, BlockingPass, PassStats, _not_null, _select, refine_key
from doisoat.match.compare import DEFAULT_COMPARISONS, comparison_levels, comparison_levels_sql
from doisoat.match.settings import MatchSettings

log = logging.getLogger(__name__)

# reference persons per partition: a worker's share of one pass stays about this size however large the country
REFERENCE_ROWS_PER_PARTITION = 250_000
LOCAL = re.compile(r"local:(\d{1,3})")
REMOTE = re.compile(r"(tcp|tls)://[A-Za-z0-9.\-\[\]:]+:\d+|[A-Za-z0-9.\-]+:\d+")
WORK_PREFIX = (
    "doisoat-"  # a run's folder in a shared --work-dir: doisoat-<run_id>/, removed when the run ends
)


@dataclass(frozen=True)
class ClusterPlan:
    """Where to link: ``address`` (``local:N`` or a scheduler address) and the run's folder on shared storage."""

    address: str
    folder: Path  # created for the run and removed after it (doisoat-<run_id>/ in a shared --work-dir)
    run_id: str
    partitions: int | None = None  # None: from the reference size (REFERENCE_ROWS_PER_PARTITION)


def plan_for(address: str, work_dir: Path | None, run_work: Path, run_id: str) -> ClusterPlan:
    """The run's plan: its folder in the shared ``work_dir``, else in the run's own work folder (one machine)."""
    folder = work_dir / f"{WORK_PREFIX}{run_id}" if work_dir else run_work / "cluster"
    return ClusterPlan(address, folder.resolve(), run_id)


@contextmanager
def linking_on(plan: ClusterPlan, con: duckdb.DuckDBPyConnection) -> Iterator[tuple[object, Session]]:
    """``(pass_levels, session)`` for :func:`doisoat.match.link` on the cluster; the run's shared folder exists
    for the block only (what killed runs left in a shared --work-dir is removed first, never anything else)."""
    from doisoat.runs import owned_folder, remove_leftovers

    parent = plan.folder.parent
    if plan.folder.name.startswith(WORK_PREFIX):
        remove_leftovers(sorted(parent.glob(WORK_PREFIX + "*")))
    n_ref = con.execute("SELECT count(*) FROM reference_person").fetchall()[0][0]
    with owned_folder(plan.folder, plan.run_id) as folder:
        try:
            with session(plan, n_ref) as sess:
                export_term_frequencies(con, sess)
                yield pass_levels_on(sess), sess
                log.info("cluster: %s", sess.summary())
        finally:
            shutil.rmtree(folder, ignore_errors=True)


def check_address(address: str) -> None:
    """``local:N`` (1 ≤ N ≤ 64) or ``[tcp|tls]://HOST:PORT``; anything else is the user's mistake, said in words."""
    m = LOCAL.fullmatch(address)
    if m and 1 <= int(m.group(1)) <= 64:
        return
    if not m and REMOTE.fullmatch(address):
        return
    raise UserError(
        f"--cluster '{address}': cần dạng local:N (N máy thợ trên máy này, 1–64) hoặc địa chỉ bộ lập lịch Dask "
        "tcp://MÁY:CỔNG (tls://MÁY:CỔNG khi có chứng chỉ). / expected local:N or a scheduler address"
    )


def check_work_dir(path: Path) -> None:
    """A shared ``--work-dir`` must be an existing folder this process can write into."""
    if not path.exists():
        raise UserError(
            f"--work-dir '{path}': thư mục không tồn tại. Hãy tạo thư mục chung mà mọi máy thợ cùng thấy "
            "(vd. /mnt/shared/doisoat-work) rồi chạy lại. / the shared work folder does not exist"
        )
    if not path.is_dir():
        raise UserError(f"--work-dir '{path}': là tệp, không phải thư mục. / a file, not a folder")
    if not os.access(path, os.W_OK | os.X_OK):
        raise UserError(
            f"--work-dir '{path}': không có quyền ghi vào thư mục này. / the folder is not writable"
        )


# ---------------------------------------------------------------- the cluster session


@dataclass
class Session:
    """A connected Dask client, the run's shared folder and the number of partitions per pass."""

    client: object
    folder: Path
    partitions: int
    n_workers: int
    # worker → peak RSS in bytes (VmHWM after each partition); pass → bytes of Parquet written for it
    worker_peaks: dict[str, int] = field(default_factory=dict)
    shuffle_bytes: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=lambda: {"partitioning": 0.0, "workers": 0.0})

    def summary(self) -> dict:
        """For the manifest and the bench: no personal data."""
        return {
            "workers": self.n_workers,
            "partitions": self.partitions,
            "worker_peak_rss_bytes": dict(sorted(self.worker_peaks.items())),
            "shuffle_bytes": dict(self.shuffle_bytes),
            "seconds": {k: round(v, 2) for k, v in self.seconds.items()},
        }


@contextmanager
def session(plan: ClusterPlan, n_reference: int) -> Iterator[Session]:
    """Connect to (or start, for ``local:N``) the cluster for the length of the block."""
    import dask
    from distributed import Client, LocalCluster

    check_address(plan.address)
    # the scheduler re-runs a task whose worker died; a task that kills this many workers fails the run
    with dask.config.set({"distributed.scheduler.allowed-failures": 3, "logging.distributed": "error"}):
        local = LOCAL.fullmatch(plan.address)
        cluster = None
        # Dask's INFO lines (scheduler and nanny start-up, connections) are not for the commune officer's console;
        # a worker lost and restarted still shows as a warning
        dask_log = logging.getLogger("distributed")
        level = dask_log.level
        dask_log.setLevel(logging.WARNING)
        try:
            if local:
                n = int(local.group(1))
                cluster = LocalCluster(
                    n_workers=n,
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address=None,
                    memory_limit=None,  # DuckDB in each task spills to the work folder under its own limit
                    silence_logs=logging.ERROR,
                )
                client = Client(cluster)
            else:
                client = Client(plan.address, timeout="30s")
        except (OSError, TimeoutError) as exc:
            if cluster is not None:
                cluster.close()
            dask_log.setLevel(level)
            raise UserError(
                f"Không kết nối được cụm Dask '{plan.address}' ({type(exc).__name__}): kiểm tra địa chỉ bộ lập "
                "lịch, cổng và tường lửa. / cannot reach the Dask scheduler"
            ) from None
        try:
            workers = client.scheduler_info()["workers"]
            if not workers:
                raise UserError(f"Cụm Dask '{plan.address}' chưa có máy thợ nào. / the cluster has no worker")
            seen = client.run(os.path.isdir, str(plan.folder))
            blind = [w for w, ok in seen.items() if not ok]
            if blind:
                raise UserError(
                    f"{len(blind)} máy thợ không thấy thư mục làm việc chung '{plan.folder}': --work-dir phải là "
                    "ổ chung (NFS, CephFS…) gắn cùng đường dẫn trên mọi máy. / workers cannot see --work-dir"
                )
            partitions = plan.partitions or max(
                2 * len(workers), math.ceil(n_reference / REFERENCE_ROWS_PER_PARTITION)
            )
            yield Session(client, plan.folder, partitions, len(workers))
        finally:
            client.close()
            if cluster is not None:
                cluster.close()
            dask_log.setLevel(level)


# ---------------------------------------------------------------- one pass on the workers


def pass_levels_on(sess: Session):
    """A ``pass_levels`` for :func:`doisoat.match.link` that finds and compares each pass's pairs on the workers."""

    def pass_levels(
        con: duckdb.DuckDBPyConnection, bpass: BlockingPass, settings: MatchSettings, st: PassStats
    ) -> pl.DataFrame:
        return _distributed_pass(con, sess, bpass, settings, st)

    return pass_levels


def reference_columns() -> list[str]:
    """The reference columns a worker needs: the persons' id and whatever comparisons and keys read."""
    have = set()
    for c in DEFAULT_COMPARISONS:
        text = c.missing_sql + " ".join(lv.sql for lv in c.levels)
        have |= set(re.findall(r"\bp\.([a-z_][a-z0-9_]*)", text))
        if c.tf_column:
            have.add(c.tf_column)
    return sorted(have | {"person_id"})


def _identifiers(expr: str) -> set[str]:
    return set(re.findall(r"[a-z_][a-z0-9_]*", expr.removeprefix(DEL1)))


def _key_pass(bpass: BlockingPass, key: tuple[tuple[str, str], ...]) -> tuple[BlockingPass, list[str]]:
    """The pass a worker runs for one alternative ``key``: the key's values precomputed as ``_k0…`` (a ``del1:``
    column already unnested), the same finer key and cap. Returns it and the reference columns it reads."""
    fine = tuple(c for c in refine_key(bpass, key) if c not in key)
    names = tuple((f"_k{i}", f"_k{i}") for i in range(len(key)))
    # a finer key that adds nothing must stay empty (an empty ``refine`` would mean the default one)
    refine = fine or names
    ref_cols = {w for _, p in fine for w in _identifiers(p)}
    return BlockingPass(bpass.name, (names,), refine, bpass.cap), sorted(ref_cols)


def _bucket(exprs: list[str], partitions: int) -> str:
    """Partition of a row: a hash of its key values as text (``birth_year + 1`` and ``birth_year`` hash alike)."""
    return f"hash({', '.join(f'CAST({e} AS VARCHAR)' for e in exprs)}) % {partitions}"


def _distributed_pass(
    con: duckdb.DuckDBPyConnection, sess: Session, bpass: BlockingPass, settings: MatchSettings, st: PassStats
) -> pl.DataFrame:
    folder = sess.folder / f"pass-{bpass.name}"
    shutil.rmtree(
        folder, ignore_errors=True
    )  # a pass's folder belongs to this run (a retried step redoes it)
    folder.mkdir(mode=0o700)
    ref_cols = reference_columns()
    tasks = []
    started = time.perf_counter()
    for k, key in enumerate(bpass.keys):
        kpass, fine_cols = _key_pass(bpass, key)
        n = len(key)
        rk = ", ".join(f"{_select(r)} AS _k{i}" for i, (r, _) in enumerate(key))
        pk = ", ".join(f"{_select(p)} AS _k{i}" for i, (_, p) in enumerate(key))
        r_nn = " AND ".join(_not_null(r) for r, _ in key)
        p_nn = " AND ".join(_not_null(p) for _, p in key)
        knames = [f"_k{i}" for i in range(n)]
        cols = ", ".join(f"p.{c}" for c in dict.fromkeys([*ref_cols, *fine_cols]))
        alt = folder / f"key{k}"
        alt.mkdir(mode=0o700)
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE _c_rk AS SELECT *, {_bucket(knames, sess.partitions)} AS _b FROM"
            f" (SELECT r.*, {rk} FROM _m_rec r JOIN _m_open o USING (rid) WHERE {r_nn})"
        )
        con.execute(f"COPY _c_rk TO '{alt / 'records'}' (FORMAT parquet, PARTITION_BY (_b))")
        con.execute(
            f"COPY (SELECT *, {_bucket(knames, sess.partitions)} AS _b FROM"
            f" (SELECT {cols}, {pk} FROM reference_person p WHERE {p_nn}))"
            f" TO '{alt / 'reference'}' (FORMAT parquet, PARTITION_BY (_b))"
        )
        # the pairs earlier passes scored for these records: a worker leaves them out, as link would
        con.execute(
            f"COPY (SELECT DISTINCT s.rid, s.person_id, b._b FROM _m_seen s"
            f" JOIN (SELECT DISTINCT rid, _b FROM _c_rk) b USING (rid))"
            f" TO '{alt / 'seen'}' (FORMAT parquet, PARTITION_BY (_b))"
        )
        con.execute("DROP TABLE _c_rk")
        for b in range(sess.partitions):
            part = f"_b={b}"
            if (alt / "records" / part).is_dir() and (alt / "reference" / part).is_dir():
                seen = alt / "seen" / part
                tasks.append(
                    {
                        "pass": kpass.to_dict(),
                        "block_cap": settings.block_cap,
                        "records": str(alt / "records" / part),
                        "reference": str(alt / "reference" / part),
                        "seen": str(seen) if seen.is_dir() else None,
                        "tf": str(sess.folder / "tf"),
                        "out": str(alt / "levels" / f"{part}.parquet"),
                    }
                )
    sess.seconds["partitioning"] += time.perf_counter() - started
    started = time.perf_counter()
    outs = _run_tasks(sess, tasks, bpass.name)
    sess.seconds["workers"] += time.perf_counter() - started
    for o in outs:
        sess.worker_peaks[o["worker"]] = max(sess.worker_peaks.get(o["worker"], 0), o["peak_rss"])
    _merge_stats(st, outs)
    paths = [o["out"] for o in outs if o["pairs"]]
    if paths:
        levels = pl.read_parquet(paths).unique(["rid", "person_id"], keep="first")
    else:
        levels = comparison_levels(
            con, "(SELECT rid, person_id FROM _m_seen LIMIT 0)", "_m_rec", extra=("r.sector",)
        )
    sess.shuffle_bytes[bpass.name] = sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())
    shutil.rmtree(folder, ignore_errors=True)
    return levels.sort("rid", "person_id")


def export_term_frequencies(con: duckdb.DuckDBPyConnection, sess: Session) -> None:
    """The reference's term-frequency tables the comparisons join, once per run, as Parquet for the workers."""
    tf = sess.folder / "tf"
    tf.mkdir(exist_ok=True, mode=0o700)
    for c in DEFAULT_COMPARISONS:
        if c.tf_table:
            con.execute(f"COPY {c.tf_table} TO '{tf / (c.tf_table + '.parquet')}' (FORMAT parquet)")


def _run_tasks(sess: Session, tasks: list[dict], name: str) -> list[dict]:
    from distributed import KilledWorker

    if not tasks:
        return []
    futures = sess.client.map(pass_partition, tasks, pure=False)
    try:
        return sess.client.gather(futures)
    except KilledWorker:
        raise UserError(
            f"Máy thợ Dask dừng đột ngột nhiều lần khi ghép lượt '{name}' (hết bộ nhớ hoặc bị tắt): lượt đối soát "
            "dừng, không công bố kết quả nào. Kiểm tra bộ nhớ các máy thợ rồi chạy lại. / a worker died repeatedly"
        ) from None
    finally:
        for f in futures:
            f.release()


_WARNING = re.compile(r"(\d+) key value\(s\)(.*?); (\d+) record\(s\)")


def _merge_stats(st: PassStats, outs: list[dict]) -> None:
    """One machine's pass statistics from the partitions': counts add up (a key value lives in one partition)."""
    st.capped_keys += sum(o["capped_keys"] for o in outs)
    by_key: dict[str, list] = {}
    for o in outs:
        for w in o["warnings"]:
            m = _WARNING.search(w)
            if not m:
                st.warnings.append(w)
                continue
            shape = _WARNING.sub("{}", w, count=1)
            acc = by_key.setdefault(shape + "|" + o["key"], [0, m.group(2), 0, shape])
            acc[0] += int(m.group(1))
            acc[2] += int(m.group(3))
    for n_fine, middle, hit, shape in by_key.values():
        st.warnings.append(shape.replace("{}", f"{n_fine} key value(s){middle}; {hit} record(s)", 1))


# ---------------------------------------------------------------- what a worker runs


def pass_partition(task: dict) -> dict:
    """One partition of one key of one pass: its pairs not seen before, compared; levels written as Parquet."""
    _kill_point()
    bpass = BlockingPass.from_dict(task["pass"])
    st = PassStats()
    con = duckdb.connect()
    try:
        con.execute("SET threads = 1")
        con.execute(f"SET temp_directory = '{Path(task['out']).parent / 'spill'}'")
        con.execute(f"CREATE TEMP TABLE _c_rec AS SELECT * FROM read_parquet('{task['records']}/*.parquet')")
        con.execute(
            f"CREATE TEMP TABLE _c_ref AS SELECT * FROM read_parquet('{task['reference']}/*.parquet')"
        )
        con.execute("CREATE TEMP TABLE _c_open AS SELECT DISTINCT rid FROM _c_rec")
        # imported here: blocking's SQL is the one link runs, over this partition's rows
        from doisoat.match.blocking import candidate_pairs_sql

        sql = candidate_pairs_sql(con, bpass, "_c_rec", "_c_open", "_c_ref", task["block_cap"], st)
        seen = (
            f" ANTI JOIN read_parquet('{task['seen']}/*.parquet') s USING (rid, person_id)"
            if task["seen"]
            else ""
        )
        con.execute(f"CREATE TEMP TABLE _c_pairs AS SELECT DISTINCT rid, person_id FROM ({sql}){seen}")
        pairs = con.execute("SELECT count(*) FROM _c_pairs").fetchall()[0][0]
        if pairs:
            keys = [c for (c,) in con.execute("SELECT column_name FROM (DESCRIBE _c_rec)").fetchall()]
            drop = ", ".join(c for c in keys if c.startswith("_k") or c == "_b")
            con.execute(
                f"CREATE TEMP TABLE _c_rec1 AS SELECT * EXCLUDE ({drop}) FROM _c_rec"
                " QUALIFY row_number() OVER (PARTITION BY rid) = 1"
            )
            con.execute(
                "CREATE TEMP TABLE _c_ref1 AS SELECT * FROM _c_ref"
                " QUALIFY row_number() OVER (PARTITION BY person_id) = 1"
            )
            for c in DEFAULT_COMPARISONS:
                if c.tf_table:
                    con.execute(
                        f"CREATE TEMP TABLE {c.tf_table} AS SELECT * FROM"
                        f" read_parquet('{task['tf']}/{c.tf_table}.parquet')"
                        f" WHERE value IN (SELECT {c.tf_column} FROM _c_ref1)"
                    )
            levels = comparison_levels_sql("_c_pairs", "_c_rec1", "_c_ref1", extra=("r.sector",))
            Path(task["out"]).parent.mkdir(parents=True, exist_ok=True)
            con.execute(f"COPY ({levels}) TO '{task['out']}' (FORMAT parquet)")
    finally:
        con.close()
    return {
        "out": task["out"],
        "pairs": pairs,
        "capped_keys": st.capped_keys,
        "warnings": st.warnings,
        "key": task["records"].rsplit("/", 3)[-3],
        "worker": _worker_name(),
        "peak_rss": _peak_rss(),
    }


def _peak_rss() -> int:
    """This process's own peak RSS in bytes. Not ``ru_maxrss``: Linux carries that over fork and exec, so a
    worker spawned by the client would report the client's peak."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _worker_name() -> str:
    try:
        from distributed import get_worker

        return str(get_worker().name)
    except (ImportError, ValueError):
        return "client"


def _kill_point() -> None:
    """Test hook, as the kernel's out-of-memory killer would: ``DOISOAT_KILL_WORKER=always`` kills (SIGKILL) every
    worker that starts a task; ``once:MARKER`` only the first, which creates the file MARKER."""
    how = os.environ.get("DOISOAT_KILL_WORKER", "")
    if how == "always":
        os.kill(os.getpid(), signal.SIGKILL)
    if how.startswith("once:"):
        try:
            os.close(os.open(how.removeprefix("once:"), os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        except FileExistsError:
            return
        os.kill(os.getpid(), signal.SIGKILL)
