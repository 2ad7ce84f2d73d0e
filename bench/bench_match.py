"""Benchmark of doisoat.match: time, peak memory and precision/recall/F1 of linking.

Two sources of data:
- ``--source synthetic`` (default): standardised frames built here directly (vectorised numpy/polars, errors of
  DOMAIN.md injected at ``--error-scale`` × base rates), so the matcher is measured alone at any size;
- ``--source generator``: the project's path (sample_data.generator → ingest → normalize.standardize), when those
  modules are installed;
- ``--source other``: extracts written by bench/other_agency.py (another agency's population, headers and error mix,
  rates drawn per ``--seed``; tune on other_agency.TUNING_SEEDS only), through ingest and standardize.

Every run estimates its models on the data (``--fixed-model`` uses the model as given); ``--blocking-recall`` adds the
share of true pairs reaching comparison per error kind, ``--no-cascade`` runs every pass for every record.

Usage: .venv/bin/python bench/bench_match.py --people 100000 [--train] [--error-scale 2] [--source generator]
       .venv/bin/python bench/bench_match.py --source other --people 100000 --seed 104 --data-dir /tmp/oa --blocking-recall
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
from unidecode import unidecode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from doisoat.match import MatchModel, MatchSettings, link, train  # noqa: E402
from doisoat.reference import load_reference  # noqa: E402


def peak_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024


# ── synthetic standardised data ──────────────────────────────────────────────────────────────────────────────────
def _weighted(rng: np.random.Generator, items: list[str], weights: list[float], n: int) -> np.ndarray:
    p = np.asarray(weights, dtype=float)
    return np.asarray(items, dtype=object)[rng.choice(len(items), size=n, p=p / p.sum())]


def _variant(plain: str) -> str:
    return " ".join({"huynh": "hoang", "vo": "vu"}.get(w, w).replace("y", "i") for w in plain.split())


def _name_columns(df: pl.DataFrame) -> pl.DataFrame:
    """name_key/plain/variant and plain parts from surname/middle/given keys (distinct values mapped once)."""
    df = df.with_columns(
        pl.concat_str(["surname_key", "middle_key", "given_key"], separator=" ")
        .str.replace_all(" +", " ")
        .str.strip_chars()
        .alias("name_key")
    )
    distinct = pl.concat([df["name_key"], df["surname_key"], df["middle_key"], df["given_key"]]).unique()
    plain = {v: unidecode(v) for v in distinct.to_list()}
    df = df.with_columns(
        pl.col("name_key").replace_strict(plain).alias("name_plain"),
        pl.col("surname_key").replace_strict(plain).alias("surname_plain"),
        pl.col("middle_key").replace_strict(plain).alias("middle_plain"),
        pl.col("given_key").replace_strict(plain).alias("given_plain"),
    )
    variants = {v: _variant(v) for v in df["name_plain"].unique().to_list()}
    return df.with_columns(pl.col("name_plain").replace_strict(variants).alias("name_variant"))


def synthetic(people: int, records_per_person: float, error_scale: float, seed: int = 7):
    """(reference_std, records_std with rid and truth_person_id)."""
    from sample_data import names as N

    rng = np.random.default_rng(seed)
    n = int(people * 1.03)  # 3 % of the people in the extracts are absent from the reference
    sex = np.where(rng.random(n) < 0.5, "M", "F")
    male = sex == "M"
    surn = [s for s, _ in N.MAIN_SURNAMES] + list(N.OTHER_SURNAMES)
    sw = [w for _, w in N.MAIN_SURNAMES] + [N.OTHER_SHARE / len(N.OTHER_SURNAMES)] * len(N.OTHER_SURNAMES)
    surname = _weighted(rng, surn, sw, n)
    mid_m = _weighted(rng, [m for m, _ in N.MIDDLE_MALE], [w for _, w in N.MIDDLE_MALE], n)
    mid_f = _weighted(rng, [m for m, _ in N.MIDDLE_FEMALE], [w for _, w in N.MIDDLE_FEMALE], n)
    giv_m = np.asarray(N.GIVEN_MALE, dtype=object)[rng.integers(0, len(N.GIVEN_MALE), n)]
    giv_f = np.asarray(N.GIVEN_FEMALE, dtype=object)[rng.integers(0, len(N.GIVEN_FEMALE), n)]
    year = rng.integers(1930, 2025, n)
    month = rng.integers(1, 13, n)
    day = rng.integers(1, 29, n)
    century = (year - 1900) // 100
    g = century * 2 + (~male).astype(int)
    prov = np.where(rng.random(n) < 0.8, 49, 48)
    rand6 = (
        rng.permutation(1_000_000)[np.arange(n) % 1_000_000] if n <= 1_000_000 else rng.integers(0, 10**6, n)
    )
    pid = [f"{p:03d}{gg}{yy % 100:02d}{r:06d}" for p, gg, yy, r in zip(prov, g, year, rand6, strict=True)]
    pop = pl.DataFrame(
        {
            "person_id": pid,
            "surname_key": pl.Series(surname.astype(str)).str.to_lowercase(),
            "middle_key": pl.Series(np.where(male, mid_m, mid_f).astype(str)).str.to_lowercase(),
            "given_key": pl.Series(np.where(male, giv_m, giv_f).astype(str)).str.to_lowercase(),
            "birth_year": year.astype(np.int16),
            "birth_month": month.astype(np.int8),
            "birth_day": day.astype(np.int8),
            "sex_std": sex,
            "commune_code_std": [f"20{c:03d}" for c in rng.integers(0, 150, n)],
            "phone_std": [
                f"09{x:08d}" if u < 0.5 else None
                for x, u in zip(rng.integers(0, 10**8, n), rng.random(n), strict=True)
            ],
            "old_id_std": [
                f"20{x:07d}" if u < 0.15 else None
                for x, u in zip(rng.integers(0, 10**7, n), rng.random(n), strict=True)
            ],
        }
    ).unique("person_id", keep="first", maintain_order=True)
    pop = pop.with_columns(pl.lit("D").alias("birth_precision"), pl.col("person_id").alias("national_id_std"))
    in_ref = pop.head(people)
    ref = _name_columns(in_ref).with_columns(pl.lit(None, dtype=pl.Utf8).alias("commune_code_old"))

    # records: each person 1..k records; the absent 3 % included
    k = rng.poisson(records_per_person - 1, pop.height) + 1
    rec = pop.select(pl.all().gather(np.repeat(np.arange(pop.height), k)))
    m = rec.height
    in_ref_ids = set(in_ref["person_id"].to_list())
    rec = rec.with_columns(
        pl.Series("truth_person_id", [p if p in in_ref_ids else None for p in rec["person_id"].to_list()])
    )
    u = {
        name: rng.random(m)
        for name in ("id", "id2", "nm", "nm2", "nm3", "nm4", "dob", "dob2", "sex", "com", "ph")
    }
    pos = rng.integers(0, 12, m)
    e = error_scale
    rid_ = rec["national_id_std"]
    # ID errors (exclusive): missing, one digit, transposition, old CMND instead
    digit = pl.Series((rng.integers(0, 10, m)).astype(str))
    typo_id = (
        pl.DataFrame({"s": rid_, "p": pos, "d": digit})
        .select(
            pl.concat_str(
                [pl.col("s").str.slice(0, pl.col("p")), pl.col("d"), pl.col("s").str.slice(pl.col("p") + 1)]
            )
        )
        .to_series()
    )
    tpos = np.minimum(pos, 10)
    transposed = (
        pl.DataFrame({"s": rid_, "p": tpos})
        .select(
            pl.concat_str(
                [
                    pl.col("s").str.slice(0, pl.col("p")),
                    pl.col("s").str.slice(pl.col("p") + 1, 1),
                    pl.col("s").str.slice(pl.col("p"), 1),
                    pl.col("s").str.slice(pl.col("p") + 2),
                ]
            )
        )
        .to_series()
    )
    uid = u["id"]
    c1, c2, c3, c4 = 0.10 * e, 0.10 * e + 0.01 * e, 0.10 * e + 0.015 * e, 0.10 * e + 0.015 * e + 0.04 * e
    has_old = rec["old_id_std"].is_not_null().to_numpy()
    cmnd = (uid >= c3) & (uid < c4) & has_old
    nat = np.where(
        uid < c1,
        None,
        np.where(uid < c2, typo_id.to_numpy(), np.where(uid < c3, transposed.to_numpy(), rid_.to_numpy())),
    )
    nat = np.where(cmnd, None, nat)
    rec = rec.with_columns(
        pl.Series("national_id_std", nat.tolist(), dtype=pl.Utf8),
        pl.when(pl.Series(cmnd)).then(pl.col("old_id_std")).otherwise(None).alias("old_id_std"),
    )
    # name errors
    swap = {"huỳnh": "hoàng", "hoàng": "huỳnh", "võ": "vũ", "vũ": "võ"}
    letters = pl.Series(np.asarray(list("aeiouhngtmc"))[rng.integers(0, 11, m)])
    gpos = rng.integers(0, 4, m)
    rec = rec.with_columns(
        pl.when(pl.Series(u["nm"] < 0.15 * e))
        .then(pl.col("surname_key").replace(swap))
        .otherwise(pl.col("surname_key"))
        .alias("surname_key"),
        pl.when(pl.Series(u["nm2"] < 0.04 * e))
        .then(pl.lit(""))
        .otherwise(pl.col("middle_key"))
        .alias("middle_key"),
        pl.when(pl.Series(u["nm3"] < 0.02 * e))
        .then(
            pl.concat_str(
                [
                    pl.col("given_key").str.slice(0, pl.Series(gpos)),
                    letters,
                    pl.col("given_key").str.slice(pl.Series(gpos) + 1),
                ]
            )
        )
        .otherwise(pl.col("given_key"))
        .alias("given_key"),
    )
    rec = _name_columns(rec)
    rec = rec.with_columns(
        pl.when(pl.Series(u["nm4"] < 0.03 * e))
        .then(pl.col("name_plain"))
        .otherwise(pl.col("name_key"))
        .alias("name_key")
    )
    # birth date errors: year only, day/month swap, day typo
    ud = u["dob"]
    swappable = (rec["birth_day"] <= 12) & (rec["birth_day"] != rec["birth_month"])
    rec = rec.with_columns(
        pl.when(pl.Series(ud < 0.02 * e))
        .then(pl.lit("Y"))
        .otherwise(pl.col("birth_precision"))
        .alias("birth_precision"),
        pl.when(pl.Series(ud < 0.02 * e))
        .then(None)
        .when(pl.Series(ud < 0.03 * e) & swappable)
        .then(pl.col("birth_day"))
        .otherwise(pl.col("birth_month"))
        .alias("birth_month"),
        pl.when(pl.Series(ud < 0.02 * e))
        .then(None)
        .when(pl.Series(ud < 0.03 * e) & swappable)
        .then(pl.col("birth_month"))
        .when(pl.Series(ud < 0.04 * e))
        .then(((pl.col("birth_day").cast(pl.Int16) % 28) + 1).cast(pl.Int8))
        .otherwise(pl.col("birth_day"))
        .alias("birth_day"),
        pl.when(pl.Series(u["sex"] < 0.02 * e)).then(None).otherwise(pl.col("sex_std")).alias("sex_std"),
        pl.when(pl.Series(u["com"] < 0.2 * e))
        .then(pl.lit("20999"))
        .otherwise(pl.col("commune_code_std"))
        .alias("commune_code_std"),
        pl.when(pl.Series(u["ph"] < 0.5)).then(None).otherwise(pl.col("phone_std")).alias("phone_std"),
        pl.lit(None, dtype=pl.Utf8).alias("commune_code_old"),
    )
    rec = rec.drop("person_id").with_columns(
        pl.int_range(1, m + 1, dtype=pl.Int64).alias("rid"), pl.lit("x").alias("sector")
    )
    return ref, rec


def prf(matches: pl.DataFrame, truth: pl.DataFrame, count_review: bool = False) -> dict:
    df = matches.join(truth, on="rid")
    linked = pl.col("match_status").is_in(["matched", "review"] if count_review else ["matched"])
    tp = df.filter(linked & (pl.col("person_id") == pl.col("truth_person_id"))).height
    fp = df.filter(
        linked & ((pl.col("person_id") != pl.col("truth_person_id")) | pl.col("truth_person_id").is_null())
    ).height
    pos = df.filter(pl.col("truth_person_id").is_not_null()).height
    p = tp / max(tp + fp, 1)
    r = tp / max(pos, 1)
    return {
        "precision": round(p, 5),
        "recall": round(r, 5),
        "f1": round(2 * p * r / max(p + r, 1e-12), 5),
        "tp": tp,
        "fp": fp,
        "fn": pos - tp,
    }


def generator_run(args) -> dict:
    """The project's path: generator → ingest → standardize → reference → train? → link → evaluate."""
    import tempfile
    from dataclasses import asdict

    from doisoat.evaluate import evaluate
    from sample_data.errors import ErrorRates
    from sample_data.generator import generate

    base = Path(args.data_dir or tempfile.mkdtemp(prefix="bench_match_"))
    out = base / f"gen_{args.people}_x{args.error_scale:g}"
    if args.source == "other":
        tag = "".join(f"_{x.replace('=', '')}" for x in args.set)
        out = base / f"oa_{args.people}_s{args.seed}{tag}"
    times = {}
    t = time.perf_counter()
    if args.people == 0:
        out = Path(__file__).resolve().parent.parent / "sample_data" / "demo"
    elif args.source == "other":
        if not (out / "truth" / "truth.parquet").exists():
            from other_agency import make

            make(out, args.people, args.seed, {k: float(v) for k, v in (x.split("=", 1) for x in args.set)})
    elif not (out / "truth" / "truth.parquet").exists():
        rates = ErrorRates(**{k: min(v * args.error_scale, 1.0) for k, v in asdict(ErrorRates()).items()})
        generate(out, people=args.people, seed=args.seed, rates=rates)
    times["generate"] = round(time.perf_counter() - t, 1)
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    records_std, ref_std = standardised_frames(out, manifest, times)
    con = duckdb.connect()
    con.execute(f"SET threads = {args.threads}")
    t = time.perf_counter()
    load_reference(con, ref_std, "bench")
    times["load_reference"] = round(time.perf_counter() - t, 1)
    settings = MatchSettings(estimate=not args.fixed_model, cascade=not args.no_cascade)
    if args.matched is not None:
        settings.matched = args.matched
    model = MatchModel.load(args.model) if args.model else MatchModel.default()
    if args.train:
        t = time.perf_counter()
        model = train(con, records_std, settings)
        times["train"] = round(time.perf_counter() - t, 1)
        if args.save_model:
            model.save(args.save_model)
    t = time.perf_counter()
    res = link(con, records_std, model, settings, {})
    times["link"] = round(time.perf_counter() - t, 1)
    results = records_std.select("rid", "sector", "source_file", "source_row").join(
        res.matches.select("rid", "person_id", pl.col("match_status").alias("status")), on="rid"
    )
    metrics = evaluate(out, results)
    extra = {}
    if args.blocking_recall:
        from doisoat.evaluate import blocking_recall_by_kind
        from doisoat.match.blocking import blocked_pairs

        t = time.perf_counter()
        pairs = blocked_pairs(con, records_std, settings)
        times["blocking_recall"] = round(time.perf_counter() - t, 1)
        keyed = records_std.select("rid", "source_file", "source_row").join(pairs, on="rid")
        extra["blocking_recall"] = blocking_recall_by_kind(out, keyed).to_dicts()
    return {
        "source": args.source,
        "seed": args.seed,
        "model_used": res.models_summary(),
        "thresholds": {s: t.to_dict() for s, t in res.thresholds_by_sector.items()},
        **extra,
        "people": manifest["people"],
        "records": records_std.height,
        "error_scale": args.error_scale,
        "seconds": times,
        "peak_rss_gb": round(peak_rss_gb(), 2),
        "status": dict(res.matches.group_by("match_status").len().sort("match_status").iter_rows()),
        "overall": metrics.overall,
        "per_sector": {
            r["sector"]: {k: r[k] for k in ("rows", "precision", "recall", "f1", "review")}
            for r in metrics.per_sector.to_dicts()
        },
        "per_error": metrics.per_error.to_dicts(),
        "absent": metrics.absent,
        "pairs_per_pass": {k: v["pairs"] for k, v in res.pass_stats.items()},
    }


def standardised_frames(out: Path, manifest: dict, times: dict) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Ingested and standardised records and reference of a generated folder, cached next to it."""
    from doisoat import pipeline as P

    rec_path, ref_path = out / "_bench_records_std.parquet", out / "_bench_reference_std.parquet"
    if rec_path.exists() and ref_path.exists():
        return pl.read_parquet(rec_path), pl.read_parquet(ref_path)
    t = time.perf_counter()
    items = [(sector, out / f) for sector, f in manifest["extracts"].items()]
    records, _ = P.assemble(_ingest(items))
    ref_raw = _ingest([("reference", out / manifest["reference"])])[0].records
    times["ingest"] = round(time.perf_counter() - t, 1)
    t = time.perf_counter()
    records_std = P.standardize_records(records)
    ref_std = P.standardize_records(ref_raw)
    times["standardize"] = round(time.perf_counter() - t, 1)
    if out.name.startswith(("gen_", "oa_")):
        records_std.write_parquet(rec_path)
        ref_std.write_parquet(ref_path)
    return records_std, ref_std


def _ingest(items: list[tuple]) -> list:
    from doisoat.ingest import ingest_files

    return ingest_files(items, seen_hashes={})


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--people", type=int, default=20_000)
    ap.add_argument("--records-per-person", type=float, default=4.3)
    ap.add_argument("--error-scale", type=float, default=1.0)
    ap.add_argument("--train", action="store_true")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--duckdb-memory", default=None, help="DuckDB memory_limit, e.g. 4GB")
    ap.add_argument("--source", choices=["synthetic", "generator", "other"], default="synthetic")
    ap.add_argument("--model", help="start from this model file instead of the shipped one")
    ap.add_argument(
        "--fixed-model", action="store_true", help="use the model as given (no estimation on the run)"
    )
    ap.add_argument("--no-cascade", action="store_true", help="every pass for every record")
    ap.add_argument("--set", action="append", default=[], metavar="KIND=RATE", help="other: override a rate")
    ap.add_argument(
        "--matched", type=float, help="floor of the matched threshold (default MatchSettings.matched)"
    )
    ap.add_argument("--blocking-recall", action="store_true", help="share of true pairs reaching comparison")
    ap.add_argument("--data-dir", help="where generated data is kept (reused when present)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--save-model", help="write the trained model here")
    args = ap.parse_args()
    if args.source in ("generator", "other"):
        print(json.dumps(generator_run(args), ensure_ascii=False, indent=1, default=str))
        return
    t0 = time.perf_counter()
    cache = (
        Path(args.data_dir or "") / f"synthetic_{args.people}_x{args.error_scale:g}"
        if args.data_dir
        else None
    )
    if cache and (cache / "records.parquet").exists():
        ref, rec = pl.read_parquet(cache / "reference.parquet"), pl.read_parquet(cache / "records.parquet")
    else:
        ref, rec = synthetic(args.people, args.records_per_person, args.error_scale)
        if cache:
            cache.mkdir(parents=True, exist_ok=True)
            ref.write_parquet(cache / "reference.parquet")
            rec.write_parquet(cache / "records.parquet")
    t_gen = time.perf_counter() - t0
    rss_before_link = peak_rss_gb()
    con = duckdb.connect()
    con.execute(f"SET threads = {args.threads}")
    if args.duckdb_memory:
        con.execute(f"SET memory_limit = '{args.duckdb_memory}'")
    t = time.perf_counter()
    load_reference(con, ref, "bench")
    t_ref = time.perf_counter() - t
    settings = MatchSettings()
    model = MatchModel.default()
    t_train = 0.0
    if args.train:
        t = time.perf_counter()
        model = train(con, rec.drop("truth_person_id"), settings)
        t_train = time.perf_counter() - t
    t = time.perf_counter()
    res = link(con, rec.drop("truth_person_id"), model, settings, {"x": False})
    t_link = time.perf_counter() - t
    truth = rec.select("rid", "truth_person_id")
    out = {
        "people": args.people,
        "records": rec.height,
        "error_scale": args.error_scale,
        "seconds": {
            "generate": round(t_gen, 1),
            "load_reference": round(t_ref, 1),
            "train": round(t_train, 1),
            "link": round(t_link, 1),
        },
        "peak_rss_gb": round(peak_rss_gb(), 2),
        "peak_rss_gb_after_generating": round(rss_before_link, 2),
        "status": dict(res.matches.group_by("match_status").len().sort("match_status").iter_rows()),
        "matched_only": prf(res.matches, truth),
        "matched_or_review": prf(res.matches, truth, count_review=True),
        "pairs_per_pass": {k: v["pairs"] for k, v in res.pass_stats.items()},
        "decided_per_pass": {k: v["records_decided"] for k, v in res.pass_stats.items()},
        "seconds_per_pass": {k: v["seconds"] for k, v in res.pass_stats.items()},
    }
    print(json.dumps(out, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
