"""The reconciliation run as plain functions: ingest → standardise → match → assess → gate → report → publish.

Each step is a function from data to data (plus the one DuckDB connection where it must write), so the Prefect flow
in ``flows/nightly.py`` is only wiring, retries and artifacts, and tests can call the steps directly.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import duckdb
import polars as pl

from doisoat import __version__, settings
from doisoat.frames import ensure_columns

log = logging.getLogger("doisoat")

RESULT_STATUSES = ("matched", "review", "unmatched", "duplicate", "quarantined")
RESULT_COLUMNS = [
    "run_id",
    "sector",
    "record_id",
    "source_file",
    "source_sheet",
    "source_row",
    "status",
    "person_id",
    "match_pass",
    "match_probability",
    "dung",
    "du",
    "sach",
    "song",
    "reasons",
    "commune_code_std",
    "commune_code_old",
    "event_type",
    "weights",
    "identity_fp",
    "rid",
]
# the standardised-record columns the results carry
RESULT_RECORD_COLUMNS = [
    "rid",
    "sector",
    "record_id",
    "source_file",
    "source_sheet",
    "source_row",
    "commune_code_std",
    "commune_code_old",
    "event_type",
]


class UserError(Exception):
    """A problem with the user's input or command: shown as a one-line message, never as a traceback."""


@dataclass(frozen=True)
class ExtractInput:
    sector: str
    path: Path
    sheet: str | None = None

    @classmethod
    def parse(cls, text: str) -> ExtractInput:
        """``SECTOR=FILE`` or ``SECTOR=FILE#SHEET`` from the command line."""
        if "=" not in text:
            raise UserError(f"'--extract {text}': cần dạng LĨNH_VỰC=TỆP (vd. vaccination=tiem_chung.csv)")
        sector, _, path = text.partition("=")
        sheet = None
        if "#" in path and not Path(path).exists():
            path, _, sheet = path.rpartition("#")
        return cls(sector.strip(), Path(path.strip()), sheet or None)


@dataclass
class RunConfig:
    reference: Path
    extracts: list[ExtractInput]
    out_dir: Path | None = None
    db_path: Path = field(default_factory=settings.default_db)
    model_path: Path | None = None
    lang: str = "vi"
    suppress_below: int = 5
    max_drop_points: float = 5.0

    def resolved_out(self, run_id: str) -> Path:
        return (self.out_dir or settings.runs_root() / run_id).resolve()


def new_run_id(config: RunConfig) -> str:
    """Time-ordered and unique: ``20261128T023000-<6 hex of the inputs>``."""
    h = hashlib.sha256()
    for e in config.extracts:
        h.update(f"{e.sector}={e.path}".encode())
    h.update(str(time.time_ns()).encode())
    return datetime.now().strftime("%Y%m%dT%H%M%S") + "-" + h.hexdigest()[:6]


# ---------------------------------------------------------------- steps


def check_inputs(config: RunConfig) -> None:
    """Fail early, in words, on what the user can fix: unknown sectors, missing files."""
    from schemas import available_sectors

    known = available_sectors()
    if not config.reference.exists():
        raise UserError(f"Không tìm thấy tệp dữ liệu dân cư '{config.reference}' / reference file not found")
    if not config.extracts:
        raise UserError("Chưa chỉ định tệp dữ liệu chuyên ngành nào (--extract LĨNH_VỰC=TỆP)")
    for e in config.extracts:
        if e.sector not in known:
            raise UserError(
                f"Lĩnh vực '{e.sector}' chưa được khai báo. Các lĩnh vực có: {', '.join(sorted(known))} "
                f"(thêm lĩnh vực mới bằng một tệp YAML trong schemas/sectors/)"
            )


def ingest_extracts(extracts: list[ExtractInput], seen: dict[str, str], sink: Path | None = None) -> list:
    """Read every extract; one bad file yields an IngestResult with errors and the others go on.

    ``sink``: a folder for the rows as Parquet parts (memory stays flat however big the files); the caller
    removes it once :func:`assemble` has read them.
    """
    from doisoat.ingest import ingest_files

    return ingest_files([(e.sector, e.path, e.sheet) for e in extracts], seen_hashes=seen, sink=sink)


def assemble(ingested: list) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Concatenate kept records (adding the run-wide ``rid``) and the quarantine of all files.

    Rows come from the results' frames or, when ingested into a sink, from their Parquet parts.
    """

    def scan(frame: pl.DataFrame | None, parts: list[Path]) -> pl.LazyFrame | None:
        if parts:
            return pl.scan_parquet(parts)
        return frame.lazy() if frame is not None and frame.height else None

    records = [lf for r in ingested if (lf := scan(r.records, r.record_parts)) is not None]
    quarantine = [lf for r in ingested if (lf := scan(r.quarantine, r.quarantine_parts)) is not None]
    recs = pl.concat(records, how="diagonal_relaxed").collect() if records else pl.DataFrame()
    if recs.height:
        recs = recs.with_row_index("rid").with_columns(pl.col("rid").cast(pl.Int64))
    quar = pl.concat(quarantine, how="diagonal_relaxed").collect() if quarantine else pl.DataFrame()
    return recs, quar


def without_frames(result):
    """The ingest result without its rows (frames or parts): what the manifest and the row count check read."""
    from dataclasses import replace

    empty = pl.DataFrame()
    return replace(result, records=empty, quarantine=empty, record_parts=[], quarantine_parts=[])


def standardize_records(records: pl.DataFrame) -> pl.DataFrame:
    from doisoat.normalize import standardize

    return standardize(records) if records.height else records


def ensure_reference(con: duckdb.DuckDBPyConnection, path: Path) -> dict:
    """Load the reference population into DuckDB unless this very file is already loaded."""
    from doisoat.ingest import file_sha256, ingest_file
    from doisoat.normalize import standardize
    from doisoat.reference import load_reference, reference_is_current
    from schemas import load_sector

    sha = file_sha256(path)
    if reference_is_current(con, sha):
        return {"sha256": sha, "reloaded": False}
    res = ingest_file(path, load_sector("reference"))
    if not res.ok or res.records.height == 0:
        raise UserError(
            "Không đọc được tệp dữ liệu dân cư: " + "; ".join(res.errors or ["không có dòng nào"])
        )
    ref_std = standardize(res.records)
    stats = load_reference(con, ref_std, sha)
    return {"sha256": sha, "reloaded": True, "stats": _as_dict(stats), "quarantined": res.quarantine.height}


def load_model(config: RunConfig):
    from doisoat.match import MatchModel

    if config.model_path and config.model_path.exists():
        return MatchModel.load(config.model_path)
    trained = settings.home() / "model.json"
    return MatchModel.load(trained) if trained.exists() else MatchModel.default()


def spill(frame: pl.DataFrame, path: Path) -> Path:
    """Keep a large frame on disk between steps: each later step reads only the columns it needs."""
    frame.write_parquet(path, compression="lz4", statistics=False)
    return path


def read_columns(path: Path, wanted) -> pl.DataFrame:
    """The ``wanted`` columns a spilled frame has, in the order wanted."""
    have = pl.read_parquet_schema(path)
    return pl.read_parquet(path, columns=[c for c in dict.fromkeys(wanted) if c in have])


def match_records(con: duckdb.DuckDBPyConnection, records_std: Path, model, specs: dict):
    from doisoat.match import MatchSettings, link
    from doisoat.match.columns import STD_COLUMNS

    many = {name: spec.many_per_person for name, spec in specs.items()}
    return link(con, read_columns(records_std, ["rid", "sector", *STD_COLUMNS]), model, MatchSettings(), many)


def reference_rows(con: duckdb.DuckDBPyConnection, person_ids: pl.Series) -> pl.DataFrame:
    """The reference persons named by the matches (candidates and runners-up): the columns assess and reports read."""
    from doisoat.assess import REF_COLUMNS
    from doisoat.report.worklists import REFERENCE_COLUMNS

    ids = pl.DataFrame({"person_id": person_ids.drop_nulls().unique()})
    cols = ", ".join(f"r.{c}" for c in dict.fromkeys([*REF_COLUMNS, *REFERENCE_COLUMNS]))
    con.register("wanted_ids", ids)
    try:
        return con.sql(
            f"select {cols} from reference_person r join wanted_ids w using (person_id) order by person_id"
        ).pl()
    finally:
        con.unregister("wanted_ids")


def release_duckdb_cache(con: duckdb.DuckDBPyConnection, memory_limit: str) -> None:
    """Hand DuckDB's cached blocks back to the system before the polars-heavy steps (≈ 0,55 GB at 500 000 people).

    Lowering the memory limit makes DuckDB evict down to it (table blocks are re-read from disk if needed again);
    the run's limit is then restored.
    """
    try:
        con.execute("SET memory_limit = '64MB'")
    except duckdb.Error as e:  # blocks that cannot be evicted: keep them, the run goes on
        log.info("DuckDB cache not released: %s", type(e).__name__)
    finally:
        con.execute(f"SET memory_limit = '{memory_limit}'")


def assess_records(records_std: Path, matches: pl.DataFrame, reference: pl.DataFrame, specs: dict):
    from doisoat.assess import SectorInfo, assess, needed_columns

    infos = {
        name: SectorInfo(
            required=list(spec.required),
            many_per_person=spec.many_per_person,
            event_key=list(spec.event_key),
            after_death_reason=spec.after_death_reason,
        )
        for name, spec in specs.items()
    }
    records = read_columns(records_std, needed_columns(pl.read_parquet_schema(records_std), infos))
    return assess(records, matches, reference, infos)


def build_results(
    run_id: str,
    records_std: pl.DataFrame,
    matches: pl.DataFrame,
    assessed: pl.DataFrame,
    quarantine: pl.DataFrame,
) -> pl.DataFrame:
    """One row per input row, every input row exactly once (kept rows by rid, quarantined rows as they are)."""
    parts = []
    if records_std.height:
        kept = (
            records_std.select(RESULT_RECORD_COLUMNS)
            .join(
                ensure_columns(matches, {"identity_fp": pl.Utf8}).select(
                    "rid", "person_id", "match_pass", "match_probability", "weights", "identity_fp"
                ),
                on="rid",
                how="left",
            )
            .join(
                assessed.select("rid", "status", "dung", "du", "sach", "song", "reasons"),
                on="rid",
                how="left",
            )
        )
        parts.append(kept)
    if quarantine.height:
        q = quarantine.select(
            pl.lit(None, pl.Int64).alias("rid"),
            "sector",
            "record_id",
            "source_file",
            "source_sheet",
            "source_row",
            pl.lit("quarantined").alias("status"),
            pl.concat_list(pl.col("reason")).alias("reasons"),
        )
        parts.append(q)
    schema = {
        "rid": pl.Int64,
        "sector": pl.Utf8,
        "record_id": pl.Utf8,
        "source_file": pl.Utf8,
        "source_sheet": pl.Utf8,
        "source_row": pl.Int64,
        "status": pl.Utf8,
        "person_id": pl.Utf8,
        "match_pass": pl.Utf8,
        "match_probability": pl.Float64,
        "dung": pl.Boolean,
        "du": pl.Boolean,
        "sach": pl.Boolean,
        "song": pl.Boolean,
        "reasons": pl.List(pl.Utf8),
        "commune_code_std": pl.Utf8,
        "commune_code_old": pl.Utf8,
        "event_type": pl.Utf8,
        "weights": pl.Utf8,
        "identity_fp": pl.Utf8,
    }
    if not parts:
        return pl.DataFrame(schema={"run_id": pl.Utf8, **schema}).select(RESULT_COLUMNS)
    out = pl.concat(
        [p.cast({k: v for k, v in schema.items() if k in p.columns}) for p in parts], how="diagonal"
    )
    out = out.with_columns(pl.lit(run_id).alias("run_id"))
    for name, dtype in schema.items():
        if name not in out.columns:
            out = out.with_columns(pl.lit(None, dtype).alias(name))
    return out.select(RESULT_COLUMNS).sort(
        "sector", "source_file", "source_sheet", "source_row", nulls_last=True
    )


def check_nothing_lost(ingested: list, results: pl.DataFrame) -> dict[str, int]:
    """Input rows = results rows, per file; raises if any row was lost or doubled (a bug, not a user error)."""
    expected = {(r.sector, r.source_file): r.n_input_rows for r in ingested if r.ok}
    got = {(s, f): n for s, f, n in results.group_by("sector", "source_file").len().iter_rows()}
    bad = {k: (v, got.get(k, 0)) for k, v in expected.items() if got.get(k, 0) != v}
    if bad:
        raise AssertionError(f"rows lost or doubled (file: input, results): {bad}")
    keys = results.select("sector", "source_file", "source_sheet", "source_row")
    if keys.is_duplicated().any():
        raise AssertionError("an input row appears twice in the results")
    return {f"{s}:{f}": n for (s, f), n in expected.items()}


def run_gate(
    con: duckdb.DuckDBPyConnection,
    records_std: Path,
    results: pl.DataFrame,
    specs: dict,
    docs_dir: Path,
    config: RunConfig,
):
    from checks import GateSettings
    from checks import run_gate as gate
    from checks.aggregates import extract_columns
    from doisoat import store

    gs = GateSettings(
        required={n: list(s.required) for n, s in specs.items()},
        many_per_person={n: s.many_per_person for n, s in specs.items()},
        max_drop_points=config.max_drop_points,
    )
    # each sector's rows with only the columns the checks read
    rows = pl.scan_parquet(records_std)
    have = rows.collect_schema()
    sectors = (
        rows.select("sector").unique().collect()["sector"].drop_nulls().sort().to_list()
        if "sector" in have
        else []
    )
    cols = [c for c in extract_columns(gs, sectors) if c in have]
    extracts = {s: rows.filter(pl.col("sector") == s).select(cols).collect() for s in sectors}
    prev = store.previous_aggregates(con)
    prev_rates = prev.select("sector", "unit", "n", "n_dung") if prev is not None else None
    return gate(extracts, results.drop("rid"), prev_rates, store.previous_counts(con) or None, docs_dir, gs)


def write_manifest(staging: Path, manifest: dict) -> None:
    (staging / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2, default=str))


def publish(staging: Path, final: Path) -> None:
    """Swap the staged run folder into place; the previous folder is removed only after the swap."""
    final.parent.mkdir(parents=True, exist_ok=True)
    old = None
    if final.exists():
        old = final.with_name(f".{final.name}.old-{os.getpid()}")
        final.rename(old)
    staging.rename(final)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    root = settings.runs_root()
    if final.parent == root:
        link = root / "latest"
        tmp = root / f".latest-{os.getpid()}"
        if tmp.is_symlink() or tmp.exists():
            tmp.unlink()
        tmp.symlink_to(final.name)
        os.replace(tmp, link)


def private_files(folder: Path) -> None:
    """Files with personal data are owner-only."""
    for p in folder.rglob("*"):
        if p.is_file():
            p.chmod(0o600)
        elif p.is_dir():
            p.chmod(0o700)
    folder.chmod(0o700)


def _as_dict(obj) -> dict:
    if obj is None:
        return {}
    if isinstance(obj, dict):
        return obj
    if hasattr(obj, "__dataclass_fields__"):
        from dataclasses import asdict

        return asdict(obj)
    return {"value": str(obj)}


def versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {"doisoat": __version__}
    for pkg in ("polars", "duckdb", "pandera", "great-expectations", "prefect", "rapidfuzz", "unidecode"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            pass
    return out


@dataclass
class RunSummary:
    run_id: str
    out_dir: Path
    published: bool
    gate_passed: bool
    gate_summary: str
    counts: pl.DataFrame  # sector × status
    file_messages: list[str]
    reports: dict[str, Path]
    seconds: float
    match_thresholds: dict | None = None  # the decision thresholds and the matcher's estimates (manifest)

    def status_counts(self) -> dict[str, int]:
        return {s: int(n) for s, n in self.counts.group_by("status").agg(pl.col("n").sum()).iter_rows()}


def direct(name: str, fn, *args, **kwargs):
    """Run a step in-process (the plain-Python runner; the Prefect flow passes one that makes tasks)."""
    return fn(*args, **kwargs)


def reconcile(config: RunConfig, step=direct) -> RunSummary:
    """The whole run. ``step(name, fn, *args)`` executes each step: directly, or as a Prefect task."""
    from doisoat import store
    from doisoat.report import aggregate, write_reports
    from schemas import load_sector

    t0 = time.perf_counter()
    check_inputs(config)
    run_id = new_run_id(config)
    started = datetime.now()
    final = config.resolved_out(run_id)
    staging = final.with_name(f"{final.name}.staging-{run_id}")
    staging.mkdir(parents=True, exist_ok=False)
    work = settings.home() / "work" / run_id  # the run's frames between steps; removed when the run ends
    work.mkdir(parents=True, mode=0o700)
    specs = {e.sector: load_sector(e.sector) for e in config.extracts}
    con = store.connect(config.db_path)
    try:
        ref_info = step("reference", ensure_reference, con, config.reference)
        sink = work / "ingest"  # record batches on disk while the files are read; gone once assembled
        try:
            ingested = step("ingest", ingest_extracts, config.extracts, store.seen_hashes(con), sink)
            messages = [m for r in ingested for m in (list(r.errors) + list(r.warnings))]
            records, quarantine = assemble(ingested)
        finally:
            shutil.rmtree(sink, ignore_errors=True)
        ingested = [without_frames(r) for r in ingested]  # the concatenated frames are all that is read later
        records_std = step("standardize", standardize_records, records)
        del records  # the standardised frame carries the raw columns too
        # on disk until the report: match and assess read only their columns (−2 GB at 1,5M people)
        std_path = spill(records_std, work / "records_std.parquet")
        del records_std
        model = load_model(config)
        linked = step("match", match_records, con, std_path, model, specs)
        matches = linked.matches
        ref = reference_rows(con, pl.concat([matches["person_id"], matches["runner_up_person_id"]]))
        release_duckdb_cache(con, store.duckdb_config(config.db_path)["memory_limit"])
        assessed = step("assess", assess_records, std_path, matches, ref, specs)
        results = build_results(
            run_id, read_columns(std_path, RESULT_RECORD_COLUMNS), matches, assessed, quarantine
        )
        pass_stats = _as_dict(getattr(linked, "pass_stats", None))
        thresholds = linked.thresholds.to_dict() if getattr(linked, "thresholds", None) else None
        # the models estimated on this run's data, per sector: files in the run folder, hashes in the manifest
        models_used = linked.save_models(staging / "models")
        del linked, matches, assessed  # the results hold what the later steps read
        counts_per_file = check_nothing_lost(ingested, results)
        results.drop("rid").write_parquet(staging / "results.parquet")
        if quarantine.height:
            quarantine.write_parquet(staging / "quarantine.parquet")
        gate = step("gate", run_gate, con, std_path, results, specs, staging / "data_docs", config)
        previous = store.previous_aggregates(con)
        labels = {name: spec.label_vi for name, spec in specs.items()}
        run_info = {
            "run_id": run_id,
            "started_at": started.isoformat(timespec="seconds"),
            "gate_passed": gate.passed,
            "match_thresholds": thresholds,
        }
        reports = step(
            "report",
            write_reports,
            staging,
            results,
            pl.scan_parquet(std_path),
            ref,
            previous,
            labels,
            run_info,
            lang=config.lang,
            suppress_below=config.suppress_below,
            data_docs_href="../data_docs/index.html",
        )
        manifest = {
            "run_id": run_id,
            "started_at": started,
            "finished_at": datetime.now(),
            "inputs": [
                {
                    "sector": r.sector,
                    "file": r.source_file,
                    "sha256": r.sha256,
                    "rows": r.n_input_rows,
                    "ok": r.ok,
                    "mapping": r.mapping,
                }
                for r in ingested
            ],
            "reference": ref_info,
            "model": models_used,
            "pass_stats": pass_stats,
            "match_thresholds": thresholds,
            "rows_per_file": counts_per_file,
            "status_counts": dict(results.group_by("status").len().iter_rows()),
            "gate": json.loads(gate.to_json()),
            "outputs": {
                k: str(Path(v).relative_to(staging))
                for k, v in (reports or {}).items()
                if Path(v).is_relative_to(staging)
            },
            "versions": versions(),
        }
        write_manifest(staging, manifest)
        private_files(staging)
        if gate.passed:
            publish(staging, final)
            out_dir = final
        else:
            (staging / "gate.txt").write_text(gate.summary(config.lang) + "\n", encoding="utf-8")
            out_dir = staging
        aggregates = aggregate(results)  # the report's own numbers, kept for "change since the previous run"
        store.record_files(
            con,
            run_id,
            [
                {"sha256": r.sha256, "sector": r.sector, "file_name": r.source_file, "n_rows": r.n_input_rows}
                for r in ingested
                if r.ok
            ],
        )
        store.record_run(
            con, run_id, started, gate.passed, gate.passed, out_dir, manifest, aggregates, results
        )
    finally:
        con.close()
        shutil.rmtree(work, ignore_errors=True)
    counts = results.group_by("sector", "status").len("n").sort("sector", "status")
    reports = {
        k: out_dir / Path(v).relative_to(staging) if Path(v).is_relative_to(staging) else Path(v)
        for k, v in (reports or {}).items()
    }
    gate_text = gate.summary(config.lang).replace(str(staging), str(out_dir))  # the folder may have moved
    return RunSummary(
        run_id,
        out_dir,
        gate.passed,
        gate.passed,
        gate_text,
        counts,
        messages,
        reports,
        time.perf_counter() - t0,
        thresholds,
    )
