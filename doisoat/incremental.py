"""Incremental nights: re-link only the records that changed or whose candidate persons changed.

A run's linking depends on quantities estimated over the whole run (the models, the decision thresholds, ρ of the
record-level posteriors, the reference size of the pair prior, the name term frequencies), so a partial run cannot
equal a run that re-estimates them. An incremental night therefore **freezes** them: it reuses the models of the
last full run of each sector (``FrozenLink`` and ``tf_name.parquet`` in that run's ``models/``), and then every
record's link depends only on the record, its candidate persons and the stewards' decisions. It re-links

- the records whose standardised matching columns are new or changed (a hash of the sector and
  ``match.columns.STD_COLUMNS``, what linking reads; kept in DuckDB ``extract_rows``) — every row is still
  standardised, because standardising is not row by row (a file's encoding, its old or new commune codes and the
  word counts that settle ambiguous legacy names are decided over the whole file, future dates against today),
- the records that share any blocking key (the unsplit key: capped and split values included) with a reference
  person inserted, updated or deleted since (both versions), that were linked to or carry the ID of such a person,
- the records whose identity has a steward's decision newer than the last run,

reuses every other record's link (``<db folder>/incremental/<run_id>.parquet``, one row per sector and hash:
records that read the same are linked the same), and then assesses, checks and reports on all records as a full
run does. "Equal to a full run" means equal to a full run given the same frozen models (``doisoat run
--models-from RUN_DIR``), row for row.

A night falls back to a full run, and says why, without an earlier run of the sector, with ``--full`` or
``--models-from``, when the sector YAML, the match settings, the prior model, doisoat or polars changed, when the
reference was reloaded by a run of another sector, when the frozen models are ``DOISOAT_INCREMENTAL_MAX_AGE_DAYS``
(30) days old, or when more than ``DOISOAT_INCREMENTAL_MAX_SHARE`` (20 %) of a sector's rows are new or gone.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from pathlib import Path

import duckdb
import polars as pl

log = logging.getLogger("doisoat")

KEYS = ["sector", "_row_hash", "_occurrence"]
LINK_KEY = ["sector", "_row_hash"]
MATCH_PREFIX = "match__"
FROZEN_FILE = "frozen.json"
PRIOR_FILE = "prior.json"  # pipeline.PRIOR_MODEL: the model a run's estimation started from, not one it used
TF_FILE = "tf_name.parquet"
CACHE_NAME = re.compile(r"\d{8}T\d{6}-[0-9a-f]{6}\.parquet")  # <run_id>.parquet
SNAPSHOT = "incremental_reference"  # reference_person as the sectors' last runs linked against it


def max_changed_share() -> float:
    from doisoat.errors import UserError

    text = os.environ.get("DOISOAT_INCREMENTAL_MAX_SHARE", "0.2").strip()
    try:
        share = float(text)
    except ValueError:
        share = -1.0
    if not 0.0 <= share <= 1.0:
        raise UserError(
            f"DOISOAT_INCREMENTAL_MAX_SHARE='{text}': cần một số từ 0 đến 1 (tỷ lệ dòng thay đổi tối đa để chạy "
            "tăng dần, vd. 0.2) / a share between 0 and 1"
        )
    return share


def max_model_age_days() -> int:
    from doisoat.errors import UserError

    text = os.environ.get("DOISOAT_INCREMENTAL_MAX_AGE_DAYS", "30").strip()
    if not text.isdigit():
        raise UserError(
            f"DOISOAT_INCREMENTAL_MAX_AGE_DAYS='{text}': cần một số ngày nguyên dương (sau bao nhiêu ngày thì ước "
            "lượng lại mô hình bằng một lượt chạy toàn bộ) / a whole number of days"
        )
    return int(text)


def state_dir(db_path: Path) -> Path:
    """The cached standardised rows and links live beside the DuckDB file they belong to."""
    return db_path.parent / "incremental"


# ---------------------------------------------------------------- row hashes


def _seed(column: str) -> int:
    return int.from_bytes(hashlib.sha256(column.encode()).digest()[:4], "big")


def row_keys(std_path: Path) -> pl.DataFrame:
    """``rid, sector, _row_hash, _occurrence``: a 64-bit hash of each record's standardised matching columns (a null
    hashes as nothing, so a column absent from a file is the same as an empty one; lineage is not read, so a row
    that moves is the same row) and which of the sector's records with that hash it is (in row order)."""
    from doisoat.frames import read_columns
    from doisoat.match.columns import STD_COLUMNS

    std = read_columns(std_path, ["rid", "sector", *STD_COLUMNS])
    if "rid" not in std.columns or not std.height:
        return pl.DataFrame(
            schema={"rid": pl.Int64, "sector": pl.Utf8, "_row_hash": pl.UInt64, "_occurrence": pl.Int64}
        )
    parts = [
        pl.when(pl.col(c).is_not_null())
        .then(pl.col(c).cast(pl.Utf8).hash(seed=_seed(c)))
        .otherwise(pl.lit(0, pl.UInt64))
        for c in STD_COLUMNS
        if c in std.columns
    ]
    h = pl.reduce(lambda a, b: a ^ b, parts) if parts else pl.lit(0, pl.UInt64)
    return (
        std.select("rid", "sector", h.cast(pl.UInt64).alias("_row_hash"))
        .sort("rid")
        .with_columns(pl.int_range(pl.len()).over("sector", "_row_hash").cast(pl.Int64).alias("_occurrence"))
    )


# ---------------------------------------------------------------- fingerprints and frozen models


def fingerprint(spec, model, match_settings) -> str:
    """What a sector's cached links were computed under: its YAML, the match settings, the prior model, versions."""
    from importlib.metadata import version

    from doisoat import __version__

    h = hashlib.sha256()
    source = Path(spec.source) if getattr(spec, "source", None) else None
    h.update(
        source.read_bytes() if source and source.exists() else json.dumps(asdict(spec), default=str).encode()
    )
    h.update(match_settings.to_json().encode())
    h.update(model.sha256().encode())
    h.update(f"{__version__}|{version('polars')}".encode())
    return h.hexdigest()


def save_frozen(
    folder: Path, run_id: str, linked, n_ref: int, con: duckdb.DuckDBPyConnection, source: Path | None
) -> None:
    """``frozen.json`` (exact thresholds, ρ, reference size) and ``tf_name.parquet`` beside the run's models.

    ``source``: the models folder the run froze from (copied as they are), None when this run estimated them.
    """
    folder.mkdir(parents=True, exist_ok=True)
    if source is not None:
        for name in (FROZEN_FILE, TF_FILE):
            shutil.copyfile(source / name, folder / name)
        return
    body = {
        "frozen_from": run_id,
        "n_ref": n_ref,
        "thresholds": {s: dict(t.__dict__) for s, t in linked.thresholds_by_sector.items()},
        "overall": dict(linked.thresholds.__dict__) if linked.thresholds else None,
    }
    (folder / FROZEN_FILE).write_text(json.dumps(body, indent=2), encoding="utf-8")
    con.sql("SELECT value, count, frequency FROM tf_name").pl().write_parquet(folder / TF_FILE)


def load_frozen(folder: Path):
    """The FrozenLink a run's ``models/`` folder holds, and its overall thresholds (None when incomplete)."""
    from doisoat.match import Estimation, FrozenLink, MatchModel, Thresholds
    from doisoat.match.estimate import POOLED

    frozen = folder / FROZEN_FILE
    if not (frozen.is_file() and (folder / TF_FILE).is_file() and (folder / "all.json").is_file()):
        return None, None
    body = json.loads(frozen.read_text(encoding="utf-8"))
    models = {
        (POOLED if p.stem == "all" else p.stem): MatchModel.load(p)
        for p in sorted(folder.glob("*.json"))
        if p.name not in (FROZEN_FILE, PRIOR_FILE)
    }
    thresholds = {s: Thresholds(**t) for s, t in body["thresholds"].items()}
    overall = Thresholds(**body["overall"]) if body.get("overall") else None
    return FrozenLink(Estimation(models), thresholds, int(body["n_ref"])), overall


@contextmanager
def frozen_term_frequencies(con: duckdb.DuckDBPyConnection, folder: Path):
    """The frozen run's name frequencies shadow ``tf_name`` (a temp table is found first) while linking."""
    con.execute(f"CREATE OR REPLACE TEMP TABLE tf_name AS SELECT * FROM read_parquet('{folder / TF_FILE}')")
    try:
        yield
    finally:
        con.execute("DROP TABLE IF EXISTS temp.tf_name")


# ---------------------------------------------------------------- the plan


@dataclass
class Plan:
    """How this run links: ``full`` (estimates), ``frozen`` (all records, an earlier run's models) or
    ``incremental``; why; and for an incremental run what is reused."""

    mode: str
    reason: str
    keys: pl.DataFrame  # rid, sector, _row_hash, _occurrence of every record of this run
    models_dir: Path | None = None  # the frozen models (frozen and incremental runs)
    frozen_from: str | None = None  # the full run that estimated them
    base: dict[str, dict] = field(default_factory=dict)  # sector → its incremental_sectors row
    reused: pl.DataFrame | None = None  # rid, sector, _row_hash of the records whose link is cached
    counts: dict[str, dict] = field(default_factory=dict)  # sector → new, deleted, unchanged, relinked
    fingerprints: dict[str, str] = field(default_factory=dict)  # sector → what its links are computed under

    @property
    def frozen(self) -> bool:
        return self.mode in ("frozen", "incremental")

    def manifest(self, models: dict) -> dict:
        """The manifest's ``incremental``: how the run linked, from which run's models (their hashes), counts."""
        return {
            "mode": self.mode,
            "text": self.line(),
            "reason": self.reason,
            "frozen_from": self.frozen_from,
            "model_sha256": {s: m.get("sha256") for s, m in models.items()} if self.frozen else {},
            "base_runs": {s: b["run_id"] for s, b in self.base.items()},
            "counts": self.counts,
        }

    def line(self) -> str:
        """The console's one line (counts only)."""
        from doisoat.textfmt import fmt_int

        if self.mode != "incremental":
            return f"Chạy toàn bộ: {self.reason}"
        new = sum(c["new"] for c in self.counts.values())
        gone = sum(c["deleted"] for c in self.counts.values())
        relinked = sum(c.get("relinked", 0) for c in self.counts.values())
        return (
            f"Chạy tăng dần từ lượt {self.frozen_from} (mô hình cố định): {fmt_int(new)} dòng mới hoặc đã sửa, "
            f"{fmt_int(gone)} dòng không còn, {fmt_int(relinked)} bản ghi ghép lại"
        )


def _states(con: duckdb.DuckDBPyConnection, sectors: list[str]) -> dict[str, dict]:
    rows = con.sql("SELECT * FROM incremental_sectors").pl().filter(pl.col("sector").is_in(sectors))
    return {r["sector"]: r for r in rows.iter_rows(named=True)}


def _snapshot_sha(con: duckdb.DuckDBPyConnection) -> str | None:
    rows = con.execute("SELECT sha256 FROM incremental_reference_meta").fetchall()
    return rows[0][0] if rows else None


def _reference_schema_same(con: duckdb.DuckDBPyConnection) -> bool:
    from doisoat.reference import _columns, has_table

    return has_table(con, SNAPSHOT) and _columns(con, SNAPSHOT) == _columns(con, "reference_person")


def check_models_from(run_dir: Path) -> Path:
    """``--models-from``: a run folder whose ``models/`` holds everything a frozen link needs; its models folder."""
    from doisoat.errors import UserError

    folder = Path(run_dir) / "models"
    try:
        ok = load_frozen(folder)[0] is not None
    except (OSError, ValueError, KeyError, TypeError):
        ok = False
    if not ok:
        raise UserError(
            f"'{run_dir}' (--models-from) không phải thư mục của một lượt chạy có đủ mô hình (cần models/all.json, "
            f"models/{FROZEN_FILE}, models/{TF_FILE}): hãy chỉ định thư mục <mã lượt> trong thư mục kết quả. "
            "/ not a run folder with its frozen models"
        )
    return folder


def plan(con, config, specs: dict, std_path: Path, model, reference_sha: str) -> Plan:
    """Decide how this run links and, for an incremental night, which records are new and which links reused."""
    prints = {s: fingerprint(specs[s], model, config.match) for s in sorted(specs)}
    out = _plan(con, config, specs, row_keys(std_path), prints)
    out.fingerprints = prints
    return out


def _plan(con, config, specs: dict, keys: pl.DataFrame, prints: dict[str, str]) -> Plan:
    sectors = sorted(specs)
    if config.models_from is not None:
        folder = check_models_from(config.models_from)
        frozen_from = json.loads((folder / FROZEN_FILE).read_text(encoding="utf-8")).get("frozen_from")
        return Plan(
            "frozen",
            f"dùng mô hình của lượt {folder.parent.name} (--models-from)",
            keys,
            folder,
            frozen_from or folder.parent.name,
        )

    def full(reason: str) -> Plan:
        return Plan("full", reason, keys)

    if config.full:
        return full("theo yêu cầu (--full)")
    states = _states(con, sectors)
    for s in sectors:
        st = states.get(s)
        if st is None:
            return full(f"lĩnh vực {s} chưa có lượt chạy trước")
        if st["fingerprint"] != prints[s]:
            return full(f"cấu hình lĩnh vực {s}, thiết lập ghép hoặc phiên bản đã thay đổi")
        if st["reference_sha"] != _snapshot_sha(con):
            return full(f"dữ liệu dân cư đã được nạp lại sau lượt chạy trước của lĩnh vực {s}")
        if not Path(st["state_file"]).is_file():
            return full(f"thiếu dữ liệu đệm của lượt {st['run_id']}")
    if len({states[s]["models_dir"] for s in sectors}) != 1:
        return full("các lĩnh vực dùng mô hình của những lượt khác nhau")
    models_dir = Path(states[sectors[0]]["models_dir"])
    if load_frozen(models_dir)[0] is None:
        return full(f"không đọc được mô hình trong {models_dir}")
    if not _reference_schema_same(con):
        return full("cấu trúc dữ liệu dân cư đã thay đổi")
    frozen_from = json.loads((models_dir / FROZEN_FILE).read_text(encoding="utf-8")).get("frozen_from")
    frozen_from = frozen_from or models_dir.parent.name
    since = con.execute("SELECT started_at FROM runs WHERE run_id = ?", [frozen_from]).fetchall()
    age = max_model_age_days()
    if not since or (datetime.now() - since[0][0]).days >= age:
        return full(f"mô hình của lượt {frozen_from} đã dùng quá {age} ngày: ước lượng lại")
    # every sector of the run: one whose file gave no record tonight has all its rows gone
    prev = con.sql(
        "SELECT sector, row_hash AS _row_hash, occurrence AS _occurrence FROM extract_rows"
        " WHERE sector IN (SELECT unnest(?::VARCHAR[]))",
        params=[sectors],
    ).pl()
    prev = prev.cast({"_row_hash": pl.UInt64, "_occurrence": pl.Int64})
    same = keys.join(prev, on=KEYS, how="semi")  # counted row for row
    limit = max_changed_share()
    counts = {}
    for s in sectors:
        n_prev = prev.filter(pl.col("sector") == s).height
        n_now = keys.filter(pl.col("sector") == s).height
        kept = same.filter(pl.col("sector") == s).height
        counts[s] = {"new": n_now - kept, "deleted": n_prev - kept, "unchanged": kept}
        share = (n_now - kept + n_prev - kept) / max(n_prev, 1)
        if share > limit:
            p = full(
                f"lĩnh vực {s}: {share * 100:.1f}".replace(".", ",")
                + f"% dòng thay đổi, vượt ngưỡng {limit * 100:.0f}% để chạy tăng dần"
            )
            p.counts = counts
            return p
    return Plan(
        "incremental",
        "tăng dần",
        keys,
        models_dir,
        frozen_from,
        {s: states[s] for s in sectors},
        keys.join(prev.select(LINK_KEY).unique(), on=LINK_KEY, how="semi").select("rid", *LINK_KEY),
        counts,
    )


# ---------------------------------------------------------------- standardise and link what changed


def _state_rows(p: Plan) -> pl.LazyFrame:
    files = sorted({b["state_file"] for b in p.base.values()})
    return pl.scan_parquet(files).filter(pl.col("sector").is_in(sorted(p.base)))


def _affected(con, p: Plan, std: pl.DataFrame, previous: pl.DataFrame, match_settings) -> pl.Series:
    """Reused records whose candidate persons or steward decisions changed since their last run."""
    from doisoat.match.blocking import PassStats, candidate_pairs_sql
    from doisoat.match.columns import STD_COLUMNS, register_records

    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _inc_changed AS
        WITH ids AS (SELECT coalesce(n.person_id, o.person_id) AS person_id
                     FROM reference_person n FULL JOIN {SNAPSHOT} o USING (person_id)
                     WHERE n.row_hash IS DISTINCT FROM o.row_hash)
        SELECT * FROM reference_person WHERE person_id IN (SELECT person_id FROM ids)
        UNION ALL BY NAME SELECT * FROM {SNAPSHOT} WHERE person_id IN (SELECT person_id FROM ids)"""
    )
    con.execute("CREATE OR REPLACE TEMP TABLE _inc_hit (rid BIGINT)")
    n_changed = con.execute("SELECT count(*) FROM _inc_changed").fetchall()[0][0]
    uptos = [b["decisions_upto"] for b in p.base.values()]
    since = None if None in uptos else min(uptos)  # a sector without decisions then: every decision is new
    n_decided = con.execute(
        "SELECT count(*) FROM steward_decisions WHERE decided_at > coalesce(?, TIMESTAMP '1900-01-01')",
        [since],
    ).fetchall()[0][0]
    if n_changed or n_decided:  # else no record needs its keys: the 6 M rows of a province stay out of DuckDB
        register_records(con, std.select("rid", "sector", *[c for c in STD_COLUMNS if c in std.columns]))
    if n_changed:
        con.execute("CREATE OR REPLACE TEMP TABLE _m_open AS SELECT rid FROM _m_rec")
        for bpass in match_settings.passes:
            # every value of the unsplit key: a change may also move a value across the block cap
            sql = candidate_pairs_sql(
                con, replace(bpass, cap=None), "_m_rec", "_m_open", "_inc_changed", 2**62, PassStats()
            )
            con.execute(f"INSERT INTO _inc_hit SELECT DISTINCT rid FROM ({sql})")
        con.execute(
            "INSERT INTO _inc_hit SELECT rid FROM _m_rec WHERE national_id_std IN (SELECT person_id FROM _inc_changed)"
        )
    # decisions imported since each sector's last run
    for sector, b in p.base.items() if n_decided else ():
        con.execute(
            "INSERT INTO _inc_hit SELECT r.rid FROM _m_rec r WHERE r.sector = ? AND r.identity_fp IN"
            " (SELECT identity_fp FROM steward_decisions WHERE decided_at > coalesce(?, TIMESTAMP '1900-01-01'))",
            [sector, b["decisions_upto"]],
        )
    hit = con.sql("SELECT DISTINCT rid FROM _inc_hit").pl()["rid"]
    changed = con.sql("SELECT DISTINCT person_id FROM _inc_changed").pl()["person_id"]
    for t in ("_inc_hit", "_inc_changed", "_m_open", "_m_rec"):
        con.execute(f"DROP TABLE IF EXISTS {t}")
    linked_to = previous.filter(
        pl.col("person_id").is_in(changed.implode()) | pl.col("runner_up_person_id").is_in(changed.implode())
    )["rid"]
    return pl.concat([hit, linked_to]).unique()


def _previous_matches(p: Plan) -> pl.DataFrame:
    """The last run's link of every reused record, under this run's rid."""
    from doisoat.match import MATCH_SCHEMA

    cols = [f"{MATCH_PREFIX}{c}" for c in MATCH_SCHEMA if c != "rid"]
    prev = _state_rows(p).select(*LINK_KEY, *cols).collect().rename(lambda c: c.removeprefix(MATCH_PREFIX))
    return p.reused.join(prev, on=LINK_KEY).select(list(MATCH_SCHEMA))


def link(con, std_path: Path, p: Plan, specs: dict, match_settings):
    """Link this run's records with the frozen models: all of them (``frozen``), or only those that changed
    (``incremental``, the others keep their last link). Returns a LinkResult over every record."""
    from doisoat.frames import read_columns
    from doisoat.match import link as match_link
    from doisoat.match.columns import STD_COLUMNS

    frozen, overall = load_frozen(p.models_dir)
    many = {name: spec.many_per_person for name, spec in specs.items()}
    std = read_columns(std_path, ["rid", "sector", *STD_COLUMNS])
    if p.mode == "incremental":
        previous = _previous_matches(p)
        new = std.join(p.reused.select("rid"), on="rid", how="anti")["rid"]
        affected = _affected(con, p, std, previous, match_settings)
        relink = pl.concat([new, affected]).unique()
        limit = max_changed_share()
        if relink.len() > limit * max(std.height, 1):
            log.info("incremental run: %d of %d records to re-link, all re-linked", relink.len(), std.height)
            relink = std["rid"]
        std = std.filter(pl.col("rid").is_in(relink.implode()))
        for s, c in p.counts.items():
            c["relinked"] = int(std.filter(pl.col("sector") == s).height)
    with frozen_term_frequencies(con, p.models_dir):
        result = match_link(con, std, None, match_settings, many, frozen=frozen)
    if p.mode == "incremental":
        kept = previous.filter(~pl.col("rid").is_in(result.matches["rid"].implode()))
        result.matches = pl.concat([result.matches, kept.cast(result.matches.schema)]).sort("rid")
    result.thresholds = overall
    result.thresholds_by_sector = {s: t for s, t in frozen.thresholds_by_sector.items() if s in specs}
    return result


# ---------------------------------------------------------------- the state the next night compares with


def write_state(path: Path, keys: pl.DataFrame, matches: pl.DataFrame) -> Path:
    """Each sector's links by hash of the matching columns: what the next night reuses (owner-only)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    m = matches.rename(lambda c: c if c == "rid" else f"{MATCH_PREFIX}{c}")
    state = keys.join(m, on="rid", how="left").drop("rid", "_occurrence").unique(LINK_KEY, keep="first")
    state.write_parquet(path, compression="lz4")
    path.chmod(0o600)
    return path


def record_state(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    p: Plan,
    specs: dict,
    models_dir: Path,
    state_file: Path,
    reference_sha: str,
) -> None:
    """After the run is recorded: its rows' hashes, and per sector where the next night finds what to reuse.

    The reference snapshot is refreshed when the reference changed; cached files no sector refers to any more
    (all created by doisoat in its own folder) are removed.
    """
    sectors = sorted(specs)
    frozen_from = p.frozen_from or run_id
    upto = con.execute("SELECT max(decided_at) FROM steward_decisions").fetchall()[0][0]
    con.execute("BEGIN")
    try:
        if _snapshot_sha(con) != reference_sha or not _reference_schema_same(con):
            con.execute(f"CREATE OR REPLACE TABLE {SNAPSHOT} AS SELECT * FROM reference_person")
            con.execute("DELETE FROM incremental_reference_meta")
            con.execute("INSERT INTO incremental_reference_meta VALUES (?)", [reference_sha])
        con.register("_inc_keys", p.keys.select("sector", "_row_hash", "_occurrence"))
        con.execute("DELETE FROM extract_rows WHERE sector IN (SELECT unnest(?::VARCHAR[]))", [sectors])
        con.execute(
            "INSERT INTO extract_rows SELECT sector, _row_hash, _occurrence, ? FROM _inc_keys", [run_id]
        )
        con.unregister("_inc_keys")
        for s in sectors:
            con.execute("DELETE FROM incremental_sectors WHERE sector = ?", [s])
            con.execute(
                "INSERT INTO incremental_sectors VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    s,
                    run_id,
                    frozen_from,
                    str(models_dir),
                    p.fingerprints[s],
                    reference_sha,
                    upto,
                    str(state_file),
                    datetime.now(),
                ],
            )
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    used = {Path(f) for (f,) in con.execute("SELECT DISTINCT state_file FROM incremental_sectors").fetchall()}
    for f in state_file.parent.glob("*.parquet"):
        if f not in used and CACHE_NAME.fullmatch(f.name):  # only the files doisoat wrote there
            f.unlink(missing_ok=True)
