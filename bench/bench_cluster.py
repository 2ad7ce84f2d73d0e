"""Linking on one machine and on a LocalCluster of 1, 2… workers: time, memory, shuffle volume, same results.

The standardised frames come from ``bench_match.synthetic`` (10 % IDs missing, 20 % of records in another
commune, 4,3 rows per person), cached as Parquet in ``--data-dir``. Each configuration runs in its own process
(its peak RSS is the client's); workers report their own peak RSS (``ru_maxrss`` after each partition). Every
configuration's matches must equal the one-machine matches, column for column.

Usage: .venv/bin/python bench/bench_cluster.py --people 100000 --workers 0,1,2 --data-dir /tmp/bc
       (0 = one machine, no cluster; --rows-per-partition sets the reference persons per partition)
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import polars as pl

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


def data(people: int, folder: Path) -> tuple[Path, Path]:
    ref_p, rec_p = folder / f"ref_{people}.parquet", folder / f"rec_{people}.parquet"
    if not ref_p.exists():
        from bench_match import synthetic

        folder.mkdir(parents=True, exist_ok=True)
        ref, rec = synthetic(people, 4.3, 1.0)
        ref.write_parquet(ref_p)
        rec.write_parquet(rec_p)
    return ref_p, rec_p


def one(args) -> None:
    """One configuration, in this process: load the reference, link, write matches and figures."""
    from doisoat import store
    from doisoat.cluster import ClusterPlan, linking_on
    from doisoat.match import link
    from doisoat.reference import load_reference

    ref_p, rec_p = data(args.people, Path(args.data_dir))
    work = Path(args.data_dir) / f"w{args.one}_{args.people}"
    db = work / "bench.duckdb"
    work.mkdir(parents=True, exist_ok=True)
    for f in (db, Path(f"{db}.wal")):
        f.unlink(missing_ok=True)
    con = store.connect(db)
    ref = pl.read_parquet(ref_p)
    load_reference(con, ref, "bench")
    n_ref = ref.height
    del ref
    records = pl.read_parquet(rec_p).drop("truth_person_id", strict=False)
    out: dict = {"people": args.people, "records": records.height, "workers": args.one}
    t = time.perf_counter()
    if args.one == 0:
        res = link(con, records)
    else:
        partitions = max(2 * args.one, math.ceil(n_ref / args.rows_per_partition))
        plan = ClusterPlan(f"local:{args.one}", work / "cluster", "bench", partitions)
        with linking_on(plan, con) as (pass_levels, sess):
            t = time.perf_counter()  # the cluster's start-up (2–5 s here) not counted
            res = link(con, records, pass_levels=pass_levels)
            out.update(sess.summary())
    out["link_seconds"] = round(time.perf_counter() - t, 2)
    out["client_peak_rss_bytes"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    out["pairs"] = sum(st["pairs"] for st in res.pass_stats.values())
    res.matches.write_parquet(work / "matches.parquet")
    con.close()
    print(json.dumps(out))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--people", type=int, default=100_000)
    ap.add_argument("--workers", default="0,1,2")
    ap.add_argument("--data-dir", default="/tmp/bench_cluster")
    ap.add_argument("--rows-per-partition", type=int, default=25_000)
    ap.add_argument("--one", type=int, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one is not None:
        return one(args)
    data(args.people, Path(args.data_dir))
    rows = []
    for w in (int(x) for x in args.workers.split(",")):
        load = os.getloadavg()[0]
        cmd = [sys.executable, __file__, "--one", str(w), "--people", str(args.people)]
        cmd += ["--data-dir", args.data_dir, "--rows-per-partition", str(args.rows_per_partition)]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode:
            sys.exit(proc.stderr[-4000:])
        row = json.loads(proc.stdout.strip().splitlines()[-1])
        row["load_before"] = round(load, 2)
        rows.append(row)
    base = pl.read_parquet(Path(args.data_dir) / f"w0_{args.people}" / "matches.parquet")
    for row in rows:
        other = pl.read_parquet(Path(args.data_dir) / f"w{row['workers']}_{args.people}" / "matches.parquet")
        row["same_as_one_machine"] = other.equals(base)
        print(json.dumps(row))


if __name__ == "__main__":
    main()
