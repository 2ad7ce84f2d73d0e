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
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from pathlib import Path

import duckdb
import polars as pl

from checks.settings import GateSettings
from doisoat import __version__, settings
from doisoat.errors import UserError
from doisoat.frames import ensure_columns, read_columns
from doisoat.match.settings import MatchSettings
from doisoat.runs import (
    STAGING_PREFIX,
    RunsFolder,
    check_runs_folder,
    db_lock_path,
    exclusive,
    owned_folder,
    private_files,
    remove_leftovers,
)
from doisoat.vocabulary import RESULT_SCHEMA, RESULT_STATUSES  # noqa: F401  (RESULT_STATUSES re-exported)

log = logging.getLogger("doisoat")

RESULT_COLUMNS = list(RESULT_SCHEMA)
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
    "commune_origin",
    "event_type",
]


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
    """How a run is made, whole: what an operator's ``run.yaml`` sets and the manifest's ``config`` records.

    Every field is explained in ``run.example.yaml``. :meth:`load` reads such a file, :meth:`from_dict` the
    manifest's record (the same layout), :meth:`to_dict` writes it with absolute paths.
    """

    reference: Path
    extracts: list[ExtractInput]
    out_dir: Path | None = None  # the runs folder (doisoat.runs); each run gets <out_dir>/<run_id>/
    db_path: Path = field(default_factory=settings.default_db)
    model_path: Path | None = (
        None  # the prior of every run's estimation (None: data/model.json, else shipped)
    )
    lang: str = "vi"
    suppress_below: int = 5
    # automatic links per published sector drawn for stewards to judge (DOISOAT_AUDIT_SAMPLE, default 100; 0: none)
    audit_sample_size: int = field(default_factory=lambda: audit_sample_default())
    match: MatchSettings = field(default_factory=MatchSettings)
    # checks/gate.yaml with the operator's settings laid over it; the sectors' own facts come from their YAML
    gate: GateSettings = field(default_factory=GateSettings.load)
    run_id: str | None = None  # set by the caller that names the run first (a Prefect flow run); else new
    carried_over: tuple[str, ...] = ()  # sectors without a new file (the inbox): their published figures stay
    cluster: str | None = None  # link on Dask: "local:N" or a scheduler address (doisoat.cluster); None: here
    work_dir: Path | None = (
        None  # shared storage the cluster's workers read and write; None: the run's work folder
    )
    full: bool = False  # estimate the models and link every record, never incrementally (--full)
    models_from: Path | None = None  # a run folder whose frozen models link every record (--models-from)

    def runs_root(self) -> Path:
        return (self.out_dir or settings.runs_root()).resolve()

    def with_gate_file(self, path: Path | None) -> RunConfig:
        """These settings with a gate file (``--gate-config``, the layout of checks/gate.yaml) laid over the gate."""
        if path is None:
            return self
        return replace(self, gate=GateSettings.load(path, over=self.gate.to_dict()))

    def to_dict(self) -> dict:
        """Every field a run is made from, paths as absolute strings: the manifest's record of the run."""
        return {
            "reference": _abs(self.reference),
            "extracts": [{"sector": e.sector, "path": _abs(e.path), "sheet": e.sheet} for e in self.extracts],
            "out_dir": _abs(self.out_dir),
            "db_path": _abs(self.db_path),
            "model_path": _abs(self.model_path),
            "lang": self.lang,
            "suppress_below": self.suppress_below,
            "audit_sample_size": self.audit_sample_size,
            "match": self.match.to_dict(),
            "gate": self.gate.to_dict(),
            "cluster": self.cluster,
            "work_dir": _abs(self.work_dir),
            "full": self.full,
            "models_from": _abs(self.models_from),
        }

    @classmethod
    def from_dict(cls, data: dict, base: Path | None = None, source: str = "cấu hình") -> RunConfig:
        """A configuration in :meth:`to_dict`'s layout; any field may be left out (its default).

        Relative paths are taken from ``base`` (the folder of the file they were read from). ``match`` and ``gate``
        hold only what differs: the gate's fields are laid over checks/gate.yaml. ``source`` names the file in
        messages. A mistake raises :class:`UserError` naming the field.
        """
        unknown = sorted(set(data) - set(CONFIG_FIELDS))
        if unknown:
            raise UserError(
                f"{source}: không có mục {', '.join(unknown)}. Các mục có: {', '.join(CONFIG_FIELDS)} "
                "(xem run.example.yaml) / unknown fields"
            )

        def path(key: str, value) -> Path | None:
            if value is None:
                return None
            if not isinstance(value, str) or not value.strip():
                raise UserError(f"{source}, mục {key}: cần một đường dẫn tệp / a path is needed")
            p = Path(value).expanduser()
            return p if p.is_absolute() or base is None else base / p

        values: dict = {}
        for key in ("reference", "out_dir", "db_path", "model_path", "work_dir", "models_from"):
            if key in data:
                values[key] = path(key, data[key])
        for key, kind in (
            ("lang", str),
            ("suppress_below", int),
            ("audit_sample_size", int),
            ("cluster", str),
        ):
            if key in data and data[key] is not None:
                value = data[key]
                if not isinstance(value, kind) or isinstance(value, bool) or (kind is int and value < 0):
                    what = "một số nguyên không âm" if kind is int else "một chuỗi"
                    raise UserError(f"{source}, mục {key}: cần {what}, không phải '{value}'")
                values[key] = value
        if "full" in data:
            if not isinstance(data["full"], bool):
                raise UserError(f"{source}, mục full: true hoặc false, không phải '{data['full']}'")
            values["full"] = data["full"]
        if values.get("lang", "vi") not in ("vi", "en"):
            raise UserError(f"{source}, mục lang: 'vi' hoặc 'en', không phải '{values['lang']}'")
        extracts = []
        for i, e in enumerate(data.get("extracts") or [], start=1):
            if isinstance(e, str):
                e = ExtractInput.parse(e)
                extracts.append(ExtractInput(e.sector, path("extracts", str(e.path)), e.sheet))
            elif (
                isinstance(e, dict) and set(e) <= {"sector", "path", "sheet"} and {"sector", "path"} <= set(e)
            ):
                extracts.append(ExtractInput(str(e["sector"]), path("extracts", e["path"]), e.get("sheet")))
            else:
                raise UserError(
                    f"{source}, mục extracts thứ {i}: cần 'LĨNH_VỰC=TỆP' hoặc {{sector: …, path: …, sheet: …}}"
                )
        try:
            if data.get("match") is not None:
                values["match"] = MatchSettings.from_dict(data["match"])
        except (TypeError, ValueError) as exc:
            raise UserError(f"{source}, mục match: {exc} (xem doisoat/match/settings.py)") from None
        if data.get("gate") is not None:
            if not isinstance(data["gate"], dict):
                raise UserError(f"{source}, mục gate: cần các cặp khóa: giá trị như trong checks/gate.yaml")
            values["gate"] = GateSettings.load(over=data["gate"], over_source=f"{source}, mục gate")
        if "reference" not in values:
            raise UserError(
                f"{source}: chưa có tệp dữ liệu dân cư (--reference TỆP, hoặc mục reference của --config) / "
                "no reference file"
            )
        return cls(extracts=extracts, **values)

    @classmethod
    def load(cls, path: Path, **over) -> RunConfig:
        """An operator's ``run.yaml`` (``doisoat run --config``), relative paths from its folder; ``over``: fields
        that win over the file's (the command line's flags, paths absolute)."""
        from doisoat.yamlfile import read_mapping

        data = {**read_mapping(path, "cấu hình lượt chạy"), **over}
        return cls.from_dict(data, base=Path(path).resolve().parent, source=f"Tệp cấu hình '{path}'")


CONFIG_FIELDS = (
    "reference",
    "extracts",
    "out_dir",
    "db_path",
    "model_path",
    "lang",
    "suppress_below",
    "audit_sample_size",
    "match",
    "gate",
    "cluster",
    "work_dir",
    "full",
    "models_from",
)


def _abs(p: Path | None) -> str | None:
    return str(Path(p).resolve()) if p is not None else None


PRIOR_MODEL = "models/prior.json"  # in a run folder: the model the run's estimation started from


def repeat_config(run_dir: Path, **over) -> RunConfig:
    """The configuration of the run in ``run_dir`` (its manifest's ``config``) with the model it started from,
    ``over`` laid over it: ``doisoat run --repeat``. Refused when an input is no longer the bytes the run read.
    """
    from doisoat.ingest import file_sha256

    manifest_path = Path(run_dir) / "manifest.json"
    source = f"Lượt chạy '{run_dir}'"
    if not manifest_path.is_file():
        raise UserError(
            f"'{run_dir}' không phải thư mục của một lượt chạy (không có manifest.json) / not a run folder"
        )
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        recorded = dict(manifest["config"])
    except (OSError, ValueError, KeyError, TypeError):
        raise UserError(
            f"{source}: manifest.json không đọc được hoặc không có mục config / unreadable"
        ) from None
    prior = Path(run_dir) / PRIOR_MODEL
    if not prior.is_file():
        raise UserError(
            f"{source} không lưu mô hình ghép mà nó bắt đầu từ ({PRIOR_MODEL}; lượt chạy bởi phiên bản cũ): "
            "không thể chạy lại cho cùng kết quả. / the run folder has no prior model"
        )
    config = RunConfig.from_dict({**recorded, "model_path": str(prior.resolve()), **over}, source=source)
    read = {(i.get("path"), i.get("sha256")) for i in manifest.get("inputs", []) if i.get("sha256")}
    files = [(str(e.path.resolve()), e.path) for e in config.extracts]
    wanted = {path: sha for path, sha in read}
    ref_sha = (manifest.get("reference") or {}).get("sha256")
    if ref_sha and "reference" not in over:
        wanted[str(config.reference.resolve())] = ref_sha
        files.append((str(config.reference.resolve()), config.reference))
    for key, path in files:
        if key in wanted and (not path.is_file() or file_sha256(path) != wanted[key]):
            raise UserError(
                f"{source}: tệp '{path}' không còn là tệp lượt chạy đã đọc (đã đổi hoặc mất): chạy lại sẽ cho kết "
                "quả khác. Hãy dùng đúng tệp đó, hoặc chạy một lượt mới. / an input changed since the run"
            )
    return config


def audit_sample_default() -> int:
    text = os.environ.get("DOISOAT_AUDIT_SAMPLE", "100").strip()
    if not text.isdigit():
        raise UserError(
            f"DOISOAT_AUDIT_SAMPLE='{text}': cần một số nguyên không âm (số bản ghi mẫu kiểm tra mỗi lĩnh vực)"
        )
    return int(text)


def new_run_id(config: RunConfig) -> str:
    """Time-ordered and unique: ``20261128T023000-<6 hex of the inputs>``."""
    h = hashlib.sha256()
    for e in config.extracts:
        h.update(f"{e.sector}={e.path}".encode())
    h.update(str(time.time_ns()).encode())
    return datetime.now().strftime("%Y%m%dT%H%M%S") + "-" + h.hexdigest()[:6]


# ---------------------------------------------------------------- steps


def check_inputs(config: RunConfig) -> None:
    """Fail early, in words, on what the user can fix: unknown sectors, missing files, a foreign --out folder."""
    from schemas import available_sectors, load_sector

    known = available_sectors()
    if not config.reference.exists():
        raise UserError(f"Không tìm thấy tệp dữ liệu dân cư '{config.reference}' / reference file not found")
    if config.reference.is_dir():
        raise UserError(
            f"'{config.reference}' là thư mục, không phải tệp dữ liệu dân cư / a folder, not a file"
        )
    if not config.extracts:
        raise UserError("Chưa chỉ định tệp dữ liệu chuyên ngành nào (--extract LĨNH_VỰC=TỆP)")
    seen: dict[tuple, str] = {}
    for e in config.extracts:
        if e.sector not in known:
            raise UserError(
                f"Lĩnh vực '{e.sector}' chưa được khai báo. Các lĩnh vực có: {', '.join(sorted(known))} "
                f"(thêm lĩnh vực mới bằng một tệp YAML trong schemas/sectors/)"
            )
        load_sector(e.sector)  # a broken sector YAML is one line now, not a failed flow later
        if not e.path.exists():
            raise UserError(
                f"Không tìm thấy tệp '{e.path}' (--extract {e.sector}=…): kiểm tra lại đường dẫn. / file not found"
            )
        if e.path.is_dir():
            raise UserError(
                f"'{e.path}' (--extract {e.sector}=…) là thư mục, không phải tệp: hãy chỉ định từng tệp. "
                "/ a folder, not a file"
            )
        key = (e.path.resolve(), e.sheet)
        if key in seen:
            raise UserError(
                f"Tệp '{e.path}' được chỉ định hai lần ({seen[key]} và {e.sector}): mỗi tệp chỉ đối soát một "
                "lần. / the same file is given twice"
            )
        seen[key] = e.sector
    if config.model_path is not None and not config.model_path.is_file():
        raise UserError(
            f"Không tìm thấy tệp mô hình ghép '{config.model_path}' (model_path) / model file not found"
        )
    check_runs_folder(config.runs_root(), config.db_path)
    if config.cluster or config.work_dir:
        from doisoat.cluster import check_address, check_work_dir

        if not config.cluster:
            raise UserError("--work-dir chỉ dùng cùng --cluster / --work-dir needs --cluster")
        check_address(config.cluster)
        if config.work_dir:
            check_work_dir(config.work_dir)
    if config.models_from is not None:
        from doisoat.incremental import check_models_from

        if config.full:
            raise UserError(
                "--full (ước lượng lại mô hình) và --models-from (dùng mô hình của một lượt trước) loại trừ nhau: "
                "chỉ dùng một. / --full and --models-from exclude each other"
            )
        check_models_from(config.models_from)


@contextmanager
def run_locks(config: RunConfig, run_id: str | None = None):
    """One run at a time per DuckDB file and per runs folder; taken before Prefect starts (re-entrant)."""
    root = config.runs_root()
    check_runs_folder(root, config.db_path)
    with exclusive(db_lock_path(config.db_path), f"Cơ sở dữ liệu '{config.db_path}'", run_id):
        runs = RunsFolder.open(root, config.db_path)
        with exclusive(runs.lock(), f"Thư mục kết quả '{root}'", run_id):
            yield runs


def ingest_extracts(extracts: list[ExtractInput], seen: dict[str, str], sink: Path | None = None) -> list:
    """Read every extract; one bad file yields an IngestResult with errors and the others go on.

    ``sink``: a folder for the rows as Parquet parts (memory stays flat however big the files); the caller
    removes it once :func:`assemble` has read them.
    """
    from doisoat.ingest import ingest_files

    names = lineage_names([e.path for e in extracts])
    return ingest_files(
        [(e.sector, e.path, e.sheet, n) for e, n in zip(extracts, names, strict=True)],
        seen_hashes=seen,
        sink=sink,
    )


def lineage_names(paths: list[Path]) -> list[str]:
    """Each file's name in lineage: its bare name, or as many parent folders as make it unique in the run.

    Two communes' ``tiem_chung.csv`` become ``xa-a/tiem_chung.csv`` and ``xa-b/tiem_chung.csv``; the full path
    and checksum are in the manifest.
    """
    full = [p.resolve().parts for p in paths]
    out = []
    for parts in full:
        depth = 1
        while depth < len(parts) and sum(q[-depth:] == parts[-depth:] for q in full) > 1:
            depth += 1
        out.append("/".join(parts[-depth:]))
    return out


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
    recs = pl.concat(records, how="diagonal_relaxed").collect() if records else _no_records()
    if recs.width:
        recs = recs.with_row_index("rid").with_columns(pl.col("rid").cast(pl.Int64))
    quar = pl.concat(quarantine, how="diagonal_relaxed").collect() if quarantine else pl.DataFrame()
    return recs, quar


def _no_records() -> pl.DataFrame:
    """No file of the run gave a record: an empty frame with the canonical columns, so every step still runs
    (and the gate holds the sectors) instead of failing on a frame without columns."""
    from schemas import CANONICAL_FIELDS, LINEAGE_COLUMNS

    cols = [*LINEAGE_COLUMNS, *CANONICAL_FIELDS]
    return pl.DataFrame(schema={c: pl.Int64 if c == "source_row" else pl.Utf8 for c in cols})


def without_frames(result):
    """The ingest result without its rows (frames or parts): what the manifest and the row count check read."""
    empty = pl.DataFrame()
    return replace(result, records=empty, quarantine=empty, record_parts=[], quarantine_parts=[])


def standardize_records(records: pl.DataFrame) -> pl.DataFrame:
    from doisoat.normalize import standardize

    return standardize(records) if records.width else records


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
    if ref_std["national_id_std"].is_not_null().sum() == 0:
        mapped = res.mapping.get("national_id") if isinstance(res.mapping, dict) else None
        where = f"cột '{mapped}' nhận là số định danh" if mapped else "không có cột số định danh"
        raise UserError(
            f"Tệp dữ liệu dân cư '{path.name}' không có số định danh cá nhân (12 chữ số) hợp lệ nào ({where}): "
            "không thể đối soát. Hãy dùng bản trích xuất có cột 'Số định danh cá nhân'. / the reference has no "
            "valid personal ID"
        )
    stats = load_reference(con, ref_std, sha)
    return {"sha256": sha, "reloaded": True, "stats": _as_dict(stats), "quarantined": res.quarantine.height}


def load_model(config: RunConfig):
    from doisoat.match import MatchModel

    if config.model_path is not None:
        try:
            return MatchModel.load(config.model_path)
        except (OSError, ValueError) as exc:
            raise UserError(
                f"Tệp mô hình ghép '{config.model_path}' không dùng được: {exc} / unusable model"
            ) from None
    trained = settings.home() / "model.json"
    return MatchModel.load(trained) if trained.exists() else MatchModel.default()


def spill(frame: pl.DataFrame, path: Path) -> Path:
    """Keep a large frame on disk between steps: each later step reads only the columns it needs."""
    frame.write_parquet(path, compression="lz4", statistics=False)
    return path


def match_records(
    con: duckdb.DuckDBPyConnection,
    records_std: Path,
    model,
    specs: dict,
    match_settings: MatchSettings,
    cluster=None,
):
    """Link the records; with a ``doisoat.cluster.ClusterPlan`` each pass's pairs are found on its workers."""
    from doisoat.match import link
    from doisoat.match.columns import STD_COLUMNS

    many = {name: spec.many_per_person for name, spec in specs.items()}
    records = read_columns(records_std, ["rid", "sector", *STD_COLUMNS])
    if cluster is None:
        return link(con, records, model, match_settings, many)
    from doisoat.cluster import linking_on

    with linking_on(cluster, con) as (pass_levels, _):
        return link(con, records, model, match_settings, many, pass_levels=pass_levels)


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
    """Assess with each sector's spec whole (a narrowed copy once dropped the residence rule)."""
    from doisoat.assess import assess, needed_columns

    records = read_columns(records_std, needed_columns(pl.read_parquet_schema(records_std), specs))
    return assess(records, matches, reference, specs)


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
            ensure_columns(records_std, {"commune_origin": pl.Utf8})
            .select(RESULT_RECORD_COLUMNS)
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
    if not parts:
        return pl.DataFrame(schema=RESULT_SCHEMA)
    out = pl.concat(
        [p.cast({k: v for k, v in RESULT_SCHEMA.items() if k in p.columns}) for p in parts], how="diagonal"
    )
    out = out.with_columns(pl.lit(run_id).alias("run_id"))
    for name, dtype in RESULT_SCHEMA.items():
        if name not in out.columns:
            out = out.with_columns(pl.lit(None, dtype).alias(name))
    return out.select(RESULT_COLUMNS).sort(
        "sector", "source_file", "source_sheet", "source_row", nulls_last=True
    )


def check_nothing_lost(ingested: list, results: pl.DataFrame) -> dict[str, dict]:
    """Every input row of every file accounted for: in the results, or rejected with its file (counted from it).

    Raises if a row was lost or doubled (a bug, not a user error). Returns, per file, the rows read, those in the
    results, those rejected with the file and how they were counted (the manifest's ``rows_per_file``).
    """
    got = {(s, f): n for s, f, n in results.group_by("sector", "source_file").len().iter_rows()}
    out, bad = {}, {}
    for r in ingested:
        key = (r.sector, r.source_file)
        in_results = got.get(key, 0)
        rejected = r.n_rejected_rows
        if in_results + rejected != r.n_input_rows or (not r.ok and in_results):
            bad[key] = (r.n_input_rows, in_results, rejected)
        out[f"{r.sector}:{r.source_file}"] = {
            "input": r.n_input_rows,
            "in_results": in_results,
            "rejected_with_file": rejected,
            "counted": r.n_rows_basis,
        }
    known = {(r.sector, r.source_file) for r in ingested}
    bad |= {k: (0, n, 0) for k, n in got.items() if k not in known}
    if bad:
        raise AssertionError(f"rows lost or doubled (file: input, in results, rejected with the file): {bad}")
    keys = results.select("sector", "source_file", "source_sheet", "source_row")
    if keys.is_duplicated().any():
        raise AssertionError("an input row appears twice in the results")
    return out


def file_problems(ingested: list) -> dict[str, list[str]]:
    """Sector → the messages of its files that could not be used (each such file holds the sector back)."""
    out: dict[str, list[str]] = {}
    for r in ingested:
        if not r.ok:
            out.setdefault(r.sector, []).extend(r.errors)
    return out


def file_lines(ingested: list) -> list[str]:
    """One line per file that could not be used or has warnings: what the console and the artifact show."""
    lines = []
    for r in ingested:
        for m in r.errors:
            lines.append(f"KHÔNG DÙNG ĐƯỢC — {m}")
        for m in r.warnings:
            lines.append(f"Cảnh báo — {m}")
    return lines


def column_maps(ingested: list) -> dict[str, dict[str, str]]:
    """Sector → its records' own columns → the headers its usable files gave them, in file order (first file
    first): how enriched extracts go back to the sector (``IngestResult.columns``)."""
    out: dict[str, dict[str, str]] = {}
    for r in ingested:
        if r.ok:
            columns = out.setdefault(r.sector, {})
            for column, header in r.columns.items():
                columns.setdefault(column, header)
    return out


def absent_fields(ingested: list, specs: dict) -> dict[str, set[str]]:
    """Sector → required fields that no readable file of the sector has a column for."""
    out: dict[str, set[str]] = {}
    for sector, spec in specs.items():
        files = [r for r in ingested if r.sector == sector and r.ok]
        if files:
            have = set().union(*(set(r.mapping) for r in files))
            out[sector] = {f for f in spec.required if f not in have}
    return out


def gate_settings(specs: dict, config: RunConfig) -> GateSettings:
    """The run's gate settings with the sectors' own facts from their YAML (the only source of sector facts)."""
    return replace(
        config.gate,
        required={n: list(s.required) for n, s in specs.items()},
        many_per_person={n: s.many_per_person for n, s in specs.items()},
        sector_labels={n: s.label_vi for n, s in specs.items()},
        event_types={n: list(s.event_types) for n, s in specs.items() if s.event_types},
    )


def run_gate(
    con: duckdb.DuckDBPyConnection,
    records_std: Path,
    results: pl.DataFrame,
    specs: dict,
    docs_dir: Path,
    config: RunConfig,
    ingested: list,
):
    from checks import run_gate as gate
    from checks.aggregates import extract_columns
    from doisoat import store

    gs = gate_settings(specs, config)
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
    return gate(
        extracts,
        results.drop("rid"),
        prev_rates,
        store.previous_counts(con) or None,
        docs_dir,
        gs,
        absent_columns=absent_fields(ingested, specs),
        file_problems=file_problems(ingested),
    )


def publication(
    con: duckdb.DuckDBPyConnection, gate, labels: dict[str, str], results: pl.DataFrame
) -> list[dict]:
    """Per sector: published now, or held with its reasons and the figures still in force (the last published run).

    With the sector's headline counts (rows, đúng, quarantined) for the run summary.
    """
    from doisoat import store

    counts = {
        r["sector"]: r
        for r in results.group_by("sector")
        .agg(
            pl.len().alias("n"),
            pl.col("dung").fill_null(False).sum().alias("n_dung"),
            (pl.col("status") == "quarantined").sum().alias("n_quarantined"),
        )
        .iter_rows(named=True)
    }
    out = []
    for sector in gate.sectors:
        c = counts.get(sector, {})
        entry = {
            "sector": sector,
            "label": labels.get(sector, sector),
            "published": gate.sector_passed(sector),
            "errors": gate.reasons(sector),
            "warnings": gate.sector_warnings(sector),
            "in_force": None,
            "n": int(c.get("n", 0)),
            "n_dung": int(c.get("n_dung", 0)),
            "n_quarantined": int(c.get("n_quarantined", 0)),
        }
        if not entry["published"]:
            entry["in_force"] = store.last_published(con, sector)
        out.append(entry)
    return out


NO_NEW_FILE = {
    "vi": "không có tệp mới trong hộp thư",
    "en": "no new file in the inbox",
}


def carried_over(con: duckdb.DuckDBPyConnection, sectors, lang: str = "vi") -> list[dict]:
    """Sectors this run did not read (no new file) whose earlier figures stay in force: the report says so.

    Only sectors published before: one never published and never sent has nothing to carry over.
    """
    from doisoat import store
    from schemas import load_sector

    out = []
    for sector in sectors:
        since = store.last_published(con, sector)
        if since is None:
            continue
        try:
            label = load_sector(sector).label_vi
        except Exception:  # its YAML is gone or broken: its key still names it
            label = sector
        entry = {"sector": sector, "label": label, "published": False, "errors": [NO_NEW_FILE[lang]]}
        out.append({**entry, "warnings": [], "in_force": since, "carried_over": True})
    return out


def write_manifest(staging: Path, manifest: dict) -> None:
    (staging / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2, default=str))


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
    published: bool  # at least one sector published (``latest`` moved)
    gate_passed: bool  # no error anywhere: every sector published
    gate_summary: str
    counts: pl.DataFrame  # sector × status
    file_messages: list[str]  # one line per file problem or warning, Vietnamese
    reports: dict[str, Path]
    seconds: float
    match_thresholds: dict | None = None  # the decision thresholds and the matcher's estimates (manifest)
    sectors: list[dict] = field(default_factory=list)  # per sector: published, errors, warnings, in_force

    @property
    def held_sectors(self) -> list[str]:
        return [s["sector"] for s in self.sectors if not s["published"] and not s.get("carried_over")]

    def status_counts(self) -> dict[str, int]:
        return {s: int(n) for s, n in self.counts.group_by("status").agg(pl.col("n").sum()).iter_rows()}


def direct(name: str, fn, *args, **kwargs):
    """Run a step in-process (the plain-Python runner; the Prefect flow passes one that makes tasks)."""
    return fn(*args, **kwargs)


def reconcile(config: RunConfig, step=direct) -> RunSummary:
    """The whole run. ``step(name, fn, *args)`` executes each step: directly, or as a Prefect task."""

    t0 = time.perf_counter()
    check_inputs(config)
    run_id = config.run_id or new_run_id(config)
    started = datetime.now()
    old_umask = os.umask(0o077)  # every file of the run owner-only from its first byte (personal data)
    try:
        with run_locks(config, run_id) as runs:
            return _reconcile(config, runs, run_id, started, t0, step)
    finally:
        os.umask(old_umask)


def _recover_staging(con: duckdb.DuckDBPyConnection, runs: RunsFolder, staging: Path) -> bool:
    """A killed run's staging folder: finish its publication if the run was recorded, else let it be removed."""
    from doisoat import store

    run_id = staging.name.removeprefix(STAGING_PREFIX)
    recorded = store.run_record(con, run_id)
    if recorded is None or runs.final(run_id).exists():
        return False
    published, newest = recorded
    runs.publish(staging, run_id, move_latest=published and newest)
    log.warning("run %s: publication completed after an interrupted run", run_id)
    return True


def _reconcile(config: RunConfig, runs: RunsFolder, run_id: str, started, t0: float, step) -> RunSummary:
    from doisoat import store
    from schemas import load_sector

    specs = {e.sector: load_sector(e.sector) for e in config.extracts}
    work_parent = settings.home() / "work"
    con = store.connect(config.db_path)
    try:
        # what killed runs left: their work folders go, their staging folders are finished or removed
        remove_leftovers(sorted(work_parent.glob("*")) if work_parent.is_dir() else [])
        remove_leftovers(runs.leftovers(), recover=lambda p: _recover_staging(con, runs, p))
        with (
            owned_folder(runs.staging(run_id), run_id) as staging,
            owned_folder(work_parent / run_id, run_id) as work,
        ):
            try:
                return _steps(config, runs, con, staging, work, specs, run_id, started, t0, step)
            except BaseException:
                shutil.rmtree(staging, ignore_errors=True)  # an incomplete run publishes nothing
                raise
            finally:
                shutil.rmtree(work, ignore_errors=True)
    finally:
        con.close()


@dataclass
class _Run:
    """What the phases of one run share: its configuration, connection, folders, sectors and step runner."""

    config: RunConfig
    con: duckdb.DuckDBPyConnection
    staging: Path  # the run folder while it is made (renamed to its final name when published)
    work: Path  # intermediate frames on disk, removed when the run ends
    specs: dict
    run_id: str
    started: datetime
    run_step: object  # direct, or a Prefect task runner

    def step(self, name: str, fn, *args, **kwargs):
        _kill_point(name)
        t = time.perf_counter()
        out = self.run_step(name, fn, *args, **kwargs)
        _say_step(name, out, time.perf_counter() - t)
        return out


@dataclass
class _Inputs:
    reference: dict  # ensure_reference's record for the manifest
    ingested: list  # IngestResults without their frames
    messages: list[str]
    quarantine: pl.DataFrame
    std_path: Path  # the standardised records, spilled to the work folder


@dataclass
class _Linked:
    results: pl.DataFrame
    ref: pl.DataFrame  # the reference persons the matches name
    thresholds: dict | None
    pass_stats: dict | None
    models: dict  # the manifest's "model": the models estimated on this run
    prior_sha256: str
    plan: object  # doisoat.incremental.Plan: how the run linked
    state_file: Path  # the links the next night reuses (doisoat.incremental)


def _steps(config, runs, con, staging, work, specs, run_id, started, t0, run_step) -> RunSummary:
    run = _Run(config, con, staging, work, specs, run_id, started, run_step)
    inputs = _read_inputs(run)
    linked = _link_and_assess(run, inputs)
    counts_per_file = check_nothing_lost(inputs.ingested, linked.results)
    if inputs.quarantine.height:
        inputs.quarantine.write_parquet(staging / "quarantine.parquet")
    gate = run.step(
        "gate",
        run_gate,
        con,
        inputs.std_path,
        linked.results,
        specs,
        staging / "data_docs",
        config,
        inputs.ingested,
    )
    published = set(gate.published_sectors)
    results = linked.results.with_columns(pl.col("sector").is_in(sorted(published)).alias("published"))
    results.drop("rid").write_parquet(staging / "results.parquet")
    pub, sample, reports, aggregates = _write_reports(run, inputs, linked, gate, results)
    manifest = run_manifest(run, inputs, linked, gate, results, pub, reports, counts_per_file)
    final = runs.final(run_id)
    gate_text = gate.summary(config.lang).replace(str(staging), str(final))  # where it will be read
    (staging / "gate.txt").write_text(gate_text + "\n", encoding="utf-8")
    write_manifest(staging, manifest)
    private_files(staging)
    _record(run, inputs, linked, gate, results, aggregates, manifest, sample, final)
    _kill_point("publish")
    runs.publish(staging, run_id, move_latest=bool(published))
    counts = results.group_by("sector", "status").len("n").sort("sector", "status")
    reports = {
        k: final / Path(v).relative_to(staging) if Path(v).is_relative_to(staging) else Path(v)
        for k, v in (reports or {}).items()
    }
    return RunSummary(
        run_id,
        final,
        bool(published),
        gate.passed,
        gate_text,
        counts,
        inputs.messages,
        reports,
        time.perf_counter() - t0,
        linked.thresholds,
        pub,
    )


def _read_inputs(run: _Run) -> _Inputs:
    """Reference into DuckDB, extracts read and standardised; the standardised records spilled to disk."""
    from doisoat import store

    ref_info = run.step("reference", ensure_reference, run.con, run.config.reference)
    # loading the reference leaves its blocks cached (≈ 0,17 GiB at 300.000 people), through ingest, standardise
    # and match, whose peak is the run's: hand them back (match re-reads what it needs)
    release_duckdb_cache(run.con, store.duckdb_config(run.config.db_path)["memory_limit"])
    sink = run.work / "ingest"  # record batches on disk while the files are read; gone once assembled
    try:
        ingested = run.step("ingest", ingest_extracts, run.config.extracts, store.seen_hashes(run.con), sink)
        messages = file_lines(ingested)
        records, quarantine = assemble(ingested)
    finally:
        shutil.rmtree(sink, ignore_errors=True)
    ingested = [without_frames(r) for r in ingested]  # the concatenated frames are all that is read later
    records_std = run.step("standardize", standardize_records, records)
    del records  # the standardised frame carries the raw columns too
    # on disk until the report: match and assess read only their columns (−2 GB at 1,5M people)
    std_path = spill(records_std, run.work / "records_std.parquet")
    del records_std
    return _Inputs(ref_info, ingested, messages, quarantine, std_path)


def _link_and_assess(run: _Run, inputs: _Inputs) -> _Linked:
    """Match against the reference, assess the four dimensions, build the results; the models go to the folder."""
    from doisoat import incremental, store

    model = load_model(run.config)
    (run.staging / PRIOR_MODEL).parent.mkdir(parents=True, exist_ok=True)
    model.save(run.staging / PRIOR_MODEL)  # with the configuration in the manifest: the run can be repeated
    # -- incremental nights (doisoat.incremental): only changed records re-linked, with frozen models
    plan = incremental.plan(
        run.con, run.config, run.specs, inputs.std_path, model, inputs.reference["sha256"]
    )
    progress.info("%s", plan.line())
    if plan.frozen:
        linked = run.step(
            "match", incremental.link, run.con, inputs.std_path, plan, run.specs, run.config.match
        )
    else:
        cluster = None
        if run.config.cluster:
            from doisoat.cluster import plan_for

            cluster = plan_for(run.config.cluster, run.config.work_dir, run.work, run.run_id)
        linked = run.step(
            "match", match_records, run.con, inputs.std_path, model, run.specs, run.config.match, cluster
        )
    n_ref = run.con.execute("SELECT count(*) FROM reference_person").fetchall()[0][0]
    cache = incremental.state_dir(run.config.db_path) / f"{run.run_id}.parquet"
    state_file = incremental.write_state(cache, plan.keys, linked.matches)
    # --
    matches = linked.matches
    ref = reference_rows(run.con, pl.concat([matches["person_id"], matches["runner_up_person_id"]]))
    release_duckdb_cache(run.con, store.duckdb_config(run.config.db_path)["memory_limit"])
    assessed = run.step("assess", assess_records, inputs.std_path, matches, ref, run.specs)
    results = build_results(
        run.run_id, read_columns(inputs.std_path, RESULT_RECORD_COLUMNS), matches, assessed, inputs.quarantine
    )
    pass_stats = _as_dict(getattr(linked, "pass_stats", None))
    thresholds = linked.thresholds.to_dict() if getattr(linked, "thresholds", None) else None
    # the models estimated on this run's data, per sector: files in the run folder, hashes in the manifest
    models_used = linked.save_models(run.staging / "models")
    incremental.save_frozen(run.staging / "models", run.run_id, linked, n_ref, run.con, plan.models_dir)
    return _Linked(results, ref, thresholds, pass_stats, models_used, model.sha256(), plan, state_file)


def _write_reports(run: _Run, inputs: _Inputs, linked: _Linked, gate, results: pl.DataFrame):
    """Publication state per sector, the audit sample and the reports of the published sectors."""
    from doisoat import audit, store
    from doisoat.decisions import quality_decisions
    from doisoat.report import aggregate, write_reports
    from doisoat.report.heading import describe_inputs

    config, con = run.config, run.con
    published = set(gate.published_sectors)
    previous = store.previous_aggregates(con)
    labels = {name: spec.label_vi for name, spec in run.specs.items()}
    pub = publication(con, gate, labels, results) + carried_over(con, config.carried_over, config.lang)
    problems = [
        {"sector": r.sector, "file": r.source_file, "rows": r.n_input_rows, "message": m}
        for r in inputs.ingested
        for m in r.errors
    ]
    run_info = {
        "run_id": run.run_id,
        "started_at": run.started.isoformat(timespec="seconds"),
        "gate_passed": gate.passed,
        "match_thresholds": linked.thresholds,
        "publication": pub,
        "file_problems": problems,
        "inputs": describe_inputs(inputs.ingested),
        "history": store.published_history(con),
        "column_maps": column_maps(inputs.ingested),
    }
    shown = results.filter(pl.col("published"))  # held sectors: no figures, worklists or extracts of this run
    # the report's own numbers, kept for "change since the previous run"; counted once (per sector, so the
    # report's are the published sectors' rows of it)
    aggregates = aggregate(results)
    sample = audit.draw_sample(shown, run.run_id, config.audit_sample_size, sorted(published))
    measured = audit.measured_precision(con)
    drawn = dict(sample.group_by("sector").len().iter_rows()) if sample.height else {}
    for p in pub:
        p["precision"] = audit.precision_line(p["sector"], measured, drawn.get(p["sector"], 0), config.lang)
        p["precision_measured"] = asdict(measured[p["sector"]]) if p["sector"] in measured else None
    reports = run.step(
        "report",
        write_reports,
        run.staging,
        shown,
        pl.scan_parquet(inputs.std_path).filter(pl.col("sector").is_in(sorted(published))),
        linked.ref,
        previous,
        labels,
        run_info,
        lang=config.lang,
        suppress_below=config.suppress_below,
        data_docs_href="../data_docs/index.html",
        audit_sample=sample,
        earlier_decisions=quality_decisions(con),
        aggregates=aggregates.filter(pl.col("sector").is_in(sorted(published))),
    )
    return pub, sample, reports, aggregates


def run_manifest(
    run: _Run, inputs: _Inputs, linked: _Linked, gate, results, pub, reports, counts_per_file
) -> dict:
    """manifest.json: how the run was made (the whole configuration, inputs, models, versions) and what it found."""
    from doisoat.normalize.units import units_source

    config, staging, started, run_id = run.config, run.staging, run.started, run.run_id
    ingested, ref_info, models_used = inputs.ingested, inputs.reference, linked.models
    pass_stats, thresholds, published = linked.pass_stats, linked.thresholds, set(gate.published_sectors)
    return {
        "run_id": run_id,
        "started_at": started,
        "finished_at": datetime.now(),
        "published": bool(published),
        "config": config.to_dict(),
        "sectors": {p["sector"]: {k: v for k, v in p.items() if k != "sector"} for p in pub},
        "inputs": [
            {
                "sector": r.sector,
                "file": r.source_file,
                "path": str(Path(r.path).resolve()),
                "sha256": r.sha256,
                "rows": r.n_input_rows,
                "ok": r.ok,
                "messages": [m.as_dict() for m in r.messages],
                "mapping": r.mapping,
            }
            for r in ingested
        ],
        "reference": ref_info,
        "model": models_used,
        "model_prior": {"file": PRIOR_MODEL, "sha256": linked.prior_sha256},
        "incremental": linked.plan.manifest(models_used),
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
        "admin_units": units_source(),  # which unit tables and old→new conversion the communes were read with
    }


def _record(
    run: _Run,
    inputs: _Inputs,
    linked: _Linked,
    gate,
    results,
    aggregates: pl.DataFrame,
    manifest: dict,
    sample,
    final: Path,
) -> None:
    """The run into DuckDB (one transaction), then what the next night reuses; then the rename may follow."""
    from doisoat import incremental, store

    con, run_id, ingested, published = run.con, run.run_id, inputs.ingested, set(gate.published_sectors)
    started = run.started
    # the record first, then the rename: a run killed in between is finished by the next run (_recover_staging)
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
        con,
        run_id,
        started,
        bool(published),
        gate.passed,
        final,
        manifest,
        aggregates,
        results,
        {s: s in published for s in gate.sectors},
        sample,
    )
    incremental.record_state(
        con, run_id, linked.plan, run.specs, final / "models", linked.state_file, inputs.reference["sha256"]
    )


# what the console says after each step (``doisoat run`` prints it to stderr unless --quiet); no personal data
progress = logging.getLogger("doisoat.progress")
STEP_LABELS = {
    "reference": "Dữ liệu dân cư",
    "ingest": "Đọc tệp chuyên ngành",
    "standardize": "Chuẩn hoá",
    "match": "Ghép với CSDLQG",
    "assess": "Đánh giá đúng, đủ, sạch, sống",
    "gate": "Kiểm tra chất lượng",
    "report": "Báo cáo, danh sách rà soát, dữ liệu làm giàu",
}


def _say_step(name: str, out, seconds: float) -> None:
    from doisoat.textfmt import fmt_int

    detail = ""
    try:
        if name == "reference":
            detail = "nạp mới" if out.get("reloaded") else "không đổi so với lần nạp trước"
        elif name == "ingest":
            rows = sum(r.n_input_rows for r in out)
            bad = sum(1 for r in out if not r.ok)
            detail = f"{fmt_int(rows)} dòng từ {fmt_int(len(out))} tệp" + (
                f", {fmt_int(bad)} tệp không dùng được" if bad else ""
            )
        elif name == "standardize":
            detail = f"{fmt_int(out.height)} bản ghi"
        elif name == "match":
            status = out.matches["match_status"]
            detail = (
                f"{fmt_int(int((status == 'matched').sum()))} khớp, "
                f"{fmt_int(int((status == 'review').sum()))} cần xác minh"
            )
        elif name == "gate":
            detail = f"công bố {len(out.published_sectors)}/{len(out.sectors)} lĩnh vực"
    except (AttributeError, KeyError, TypeError):  # a step's result of another shape: say only the time
        detail = ""
    took = f"{seconds:.1f}".replace(".", ",")
    label = STEP_LABELS.get(name, name)
    progress.info("%s%s (%s giây)", label, f": {detail}" if detail else "", took)


def _kill_point(name: str) -> None:
    """Test hook: ``DOISOAT_KILL_AT=<step>`` kills the process with SIGKILL at that step boundary."""
    if os.environ.get("DOISOAT_KILL_AT") == name:
        import signal

        os.kill(os.getpid(), signal.SIGKILL)
