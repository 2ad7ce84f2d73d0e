"""The gate: compute small aggregate frames in polars, validate them with Great Expectations, build Data Docs,
and say in plain words what failed. A run publishes only when ``run_gate(...).passed``.

GX is imported inside :func:`run_gate` only (the import takes seconds); nothing here runs at CLI start-up.
"""

from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from checks import aggregates as agg
from checks.messages import render
from checks.offline_docs import make_offline
from checks.settings import GateSettings
from checks.suites import (
    IN_SET,
    NOT_NULL,
    SUITE_VERSION,
    Check,
    SuiteSpec,
    extract_suite,
    extract_values_suite,
    results_status_suite,
    results_suite,
    run_comparison_suite,
)
from doisoat.textfmt import fmt_int
from doisoat.vocabulary import field_label

log = logging.getLogger(__name__)

DOCS_SITE = "doisoat"


@dataclass
class GateFailure:
    """One failed expectation on one sector (and commune): what was expected, what was seen, in plain words."""

    suite: str
    expectation: str
    column: str
    observed: Any
    expected: dict[str, Any]
    message_vi: str
    message_en: str
    sector: str | None = None
    unit: str | None = None
    check: str = ""
    severity: str = "error"  # error: the sector is held back; warning: published with the warning printed


@dataclass
class GateResult:
    """The gate's verdict per sector, its findings and where the Data Docs are.

    ``passed``: no error anywhere (every sector publishable). A sector is published when no error names it
    and no run-wide error (``sector`` None) exists; warnings never hold anything back.
    """

    passed: bool
    failures: list[GateFailure]
    docs_index: Path
    suite_version: str = SUITE_VERSION
    run_id: str | None = None
    n_expectations: int = 0
    seconds: float = 0.0
    notes_vi: list[str] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)
    sectors: list[str] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)

    @property
    def errors(self) -> list[GateFailure]:
        return [f for f in self.failures if f.severity == "error"]

    @property
    def warnings(self) -> list[GateFailure]:
        return [f for f in self.failures if f.severity != "error"]

    def sector_passed(self, sector: str) -> bool:
        return self.n_expectations > 0 and not any(f.sector in (sector, None) for f in self.errors)

    @property
    def published_sectors(self) -> list[str]:
        return [s for s in self.sectors if self.sector_passed(s)]

    @property
    def held_sectors(self) -> list[str]:
        return [s for s in self.sectors if not self.sector_passed(s)]

    def reasons(self, sector: str, lang: str = "vi") -> list[str]:
        """Why a sector is held back: its errors and the run-wide ones, in plain words."""
        return [
            f.message_vi if lang == "vi" else f.message_en for f in self.errors if f.sector in (sector, None)
        ]

    def sector_warnings(self, sector: str, lang: str = "vi") -> list[str]:
        return [f.message_vi if lang == "vi" else f.message_en for f in self.warnings if f.sector == sector]

    def verdicts(self) -> dict[str, dict[str, Any]]:
        """Per sector: published or not, the reasons and warnings (the manifest and the report read this)."""
        return {
            s: {
                "published": self.sector_passed(s),
                "errors": self.reasons(s),
                "warnings": self.sector_warnings(s),
            }
            for s in self.sectors
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "sectors": self.verdicts(),
            "suite_version": self.suite_version,
            "run_id": self.run_id,
            "n_expectations": self.n_expectations,
            "seconds": round(self.seconds, 3),
            "docs_index": str(self.docs_index),
            "notes_vi": self.notes_vi,
            "failures": [asdict(f) for f in self.failures],
            "settings": self.settings,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=2, default=str)

    def summary(self, lang: str = "vi") -> str:
        """A short text for people: the verdict per sector, one line per finding, where to read the details."""
        vi = lang == "vi"
        n_failed = len({(f.suite, f.check, f.sector) for f in self.errors})
        published, held = self.published_sectors, self.held_sectors
        if not held:
            head = (
                f"Kiểm tra chất lượng dữ liệu (bộ kiểm tra phiên bản {self.suite_version}): ĐẠT — "
                f"{self.n_expectations} kỳ vọng, không có lỗi; công bố mọi lĩnh vực."
                if vi
                else f"Data-quality gate (suite version {self.suite_version}): PASSED — "
                f"{self.n_expectations} expectations, no errors; every sector published."
            )
        elif not published:
            head = (
                f"Kiểm tra chất lượng dữ liệu (bộ kiểm tra phiên bản {self.suite_version}): KHÔNG ĐẠT — "
                f"{n_failed} lỗi, không lĩnh vực nào được công bố."
                if vi
                else f"Data-quality gate (suite version {self.suite_version}): FAILED — "
                f"{n_failed} errors; no sector is published."
            )
        else:
            head = (
                f"Kiểm tra chất lượng dữ liệu (bộ kiểm tra phiên bản {self.suite_version}): ĐẠT MỘT PHẦN — "
                f"công bố {len(published)}/{len(self.sectors)} lĩnh vực."
                if vi
                else f"Data-quality gate (suite version {self.suite_version}): PARTLY PASSED — "
                f"{len(published)}/{len(self.sectors)} sectors published."
            )
        lines = [head]
        for s in self.sectors:
            label = self.labels.get(s, s)
            if self.sector_passed(s):
                lines.append(f"{label}: công bố" if vi else f"{label}: published")
            else:
                lines.append(
                    f"{label}: CHƯA công bố (giữ nguyên số liệu đã công bố trước đó), vì:"
                    if vi
                    else f"{label}: NOT published (its previous published figures stay in force), because:"
                )
                lines += [f"  - {m}" for m in self.reasons(s, lang)]
            for m in self.sector_warnings(s, lang):
                lines.append(f"  - {'Cảnh báo' if vi else 'Warning'}: {m}")
        if not self.sectors:
            lines += [f"- {f.message_vi if vi else f.message_en}" for f in self.failures]
        if vi:
            lines += [f"Ghi chú: {n}" for n in self.notes_vi]
        lines.append(
            f"Chi tiết (Data Docs): {self.docs_index}" if vi else f"Details (Data Docs): {self.docs_index}"
        )
        return "\n".join(lines)


def _plain(value: Any) -> Any:
    """numpy / pandas scalars → JSON-friendly Python values; NaN → None."""
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and value != value:
        return None
    return value


def _batches(
    extracts: dict[str, pl.DataFrame],
    results: pl.DataFrame,
    previous_rates: pl.DataFrame | None,
    previous_counts: dict[str, int] | None,
    settings: GateSettings,
    absent: dict[str, set[str]],
) -> tuple[list[tuple[SuiteSpec, pl.DataFrame]], list[str]]:
    """Every (suite, aggregate frame) pair to validate, plus notes on checks that could not run."""
    batches: list[tuple[SuiteSpec, pl.DataFrame]] = []
    notes: list[str] = []
    previous_counts = previous_counts or {}
    # input rows per sector, quarantined ones included: the previous counts are the files' rows too
    keys = ["sector", "source_file", "source_sheet", "source_row"]
    input_rows = dict(results.select(keys).unique().group_by("sector").len().iter_rows())
    for sector in sorted(extracts):
        df = extracts[sector]
        own = settings.for_sector(sector)
        frame = agg.extract_aggregates(
            sector,
            df,
            own,
            previous_counts.get(sector),
            input_rows.get(sector, df.height),
            absent.get(sector),
        )
        batches.append((extract_suite(sector, own, frame.columns), frame))
        values = agg.extract_values(sector, df, own)
        batches.append((extract_values_suite(sector, own, values.columns), values))
    batches.append((results_suite(settings), agg.results_aggregates(results, extracts, settings)))
    batches.append((results_status_suite(settings), agg.status_values(results)))
    if previous_rates is not None and previous_rates.height:
        batches.append(
            (run_comparison_suite(settings), agg.run_comparison(results, previous_rates, settings))
        )
    else:
        notes.append("Chưa có lần công bố trước: bỏ qua so sánh tỷ lệ đúng.")
    missing_counts = sorted(s for s in extracts if s not in previous_counts)
    if missing_counts:
        labels = ", ".join(settings.label(s) for s in missing_counts)
        notes.append(f"Chưa có số dòng lần trích xuất trước của: {labels}.")
    return [(s, f) for s, f in batches if s.checks], notes


def _gx_validate(
    batches: list[tuple[SuiteSpec, pl.DataFrame]], docs_dir: Path, run_name: str
) -> list[list[Any]]:
    """Run each suite on its frame in an ephemeral GX context; build the Data Docs site into ``docs_dir``.

    Returns, per batch, GX's expectation validation results in suite order.
    """
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    import great_expectations as gx
    import great_expectations.expectations as gxe
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context.types.base import ProgressBarsConfig

    # GX announces its temporary folders at INFO on the console (that module sets its own logger to INFO);
    # the gate says what matters itself.
    for name in ("great_expectations", "great_expectations.data_context.types.base"):
        logging.getLogger(name).setLevel(logging.WARNING)

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    if "local_site" in context.get_site_names():
        context.delete_data_docs_site("local_site")
    context.add_data_docs_site(
        site_name=DOCS_SITE,
        site_config={
            "class_name": "SiteBuilder",
            "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(docs_dir)},
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
        },
    )
    source = context.data_sources.add_pandas("doisoat_aggregates")
    run_id = RunIdentifier(run_name=run_name, run_time=datetime.now(UTC))
    out: list[list[Any]] = []
    for spec, frame in batches:
        batch_def = source.add_dataframe_asset(
            spec.name.replace(".", "_")
        ).add_batch_definition_whole_dataframe("all")
        suite = gx.ExpectationSuite(
            name=spec.versioned_name,
            meta={"doisoat_suite_version": SUITE_VERSION},
            notes=f"{spec.note_vi}. Phiên bản bộ kiểm tra doisoat: {SUITE_VERSION}.",
        )
        for check in spec.checks:
            cls = getattr(gxe, check.expectation)
            suite.add_expectation(
                cls(column=check.column, **check.kwargs, notes=check.note_vi, meta={"check": check.name})
            )
        suite = context.suites.add(suite)
        definition = context.validation_definitions.add(
            gx.ValidationDefinition(name=f"{spec.name}-validation", data=batch_def, suite=suite)
        )
        checkpoint = context.checkpoints.add(
            gx.Checkpoint(
                name=f"{spec.name}-checkpoint",
                validation_definitions=[definition],
                actions=[],
                result_format={
                    "result_format": "COMPLETE",
                    "unexpected_index_column_names": list(spec.index_columns),
                },
            )
        )
        result = checkpoint.run(batch_parameters={"dataframe": frame.to_pandas()}, run_id=run_id)
        suite_result = next(iter(result.run_results.values()))
        out.append(list(suite_result.results))
    context.build_data_docs(site_names=[DOCS_SITE])
    make_offline(docs_dir)  # CDN assets bundled, links relative: the site works on an offline intranet
    return out


def _row(frame: pl.DataFrame, keys: dict[str, Any]) -> dict[str, Any]:
    """The aggregate row a failure came from (first match), for the counts its message quotes."""
    cond = pl.lit(True)
    for k, v in keys.items():
        if k in frame.columns:
            cond = cond & (pl.col(k).is_null() if v is None else (pl.col(k) == v))
    rows = frame.filter(cond).head(1).to_dicts()
    return rows[0] if rows else {}


def _failures_of(
    spec: SuiteSpec, frame: pl.DataFrame, check: Check, gx_result: Any, settings: GateSettings
) -> list[GateFailure]:
    """Turn one failed GX expectation result into one failure per offending sector (and commune)."""
    expected = {k: v for k, v in check.kwargs.items()}
    suite = spec.versioned_name

    def make(sector: str | None, unit: str | None, observed: Any, context: dict[str, Any]) -> GateFailure:
        context = {**context, "unit": unit}
        return GateFailure(
            suite=suite,
            expectation=gx_result.expectation_config.type,
            column=check.column,
            observed=observed,
            expected=expected,
            message_vi=render(check, sector, observed, context, settings, "vi"),
            message_en=render(check, sector, observed, context, settings, "en"),
            sector=sector,
            unit=unit,
            check=check.name,
            severity=settings.for_sector(sector).severity_of(
                check.kind, "commune" if unit not in (None, agg.ALL_UNITS) else check.field
            ),
        )

    if gx_result.exception_info and gx_result.exception_info.get("raised_exception"):
        message = str(gx_result.exception_info.get("exception_message"))
        return [
            GateFailure(
                suite,
                gx_result.expectation_config.type,
                check.column,
                None,
                expected,
                f"Không chạy được kiểm tra {check.name} trên cột {check.column}: {message}",
                f"Check {check.name} on column {check.column} could not run: {message}",
                spec.sector,
                None,
                check.name,
                settings.for_sector(spec.sector).severity_of(check.kind, check.field),
            )
        ]
    rows = [{k: _plain(v) for k, v in r.items()} for r in gx_result.result.get("unexpected_index_list") or []]
    if check.expectation in (IN_SET, NOT_NULL):
        by_sector: dict[str | None, list[Any]] = {}
        for r in rows:
            by_sector.setdefault(r.get("sector", spec.sector), []).append(r.get(check.column))
        failures = []
        for sector, values in by_sector.items():
            values = sorted(set(values), key=lambda v: (v is None, str(v)))
            bad = pl.col(check.column).is_null()
            if check.expectation == IN_SET:
                bad = pl.col(check.column).is_in(check.kwargs["value_set"]).not_()
            n = frame.filter((pl.col("sector") == sector) & bad).get_column("n").sum()
            observed = values if check.expectation == IN_SET else None
            failures.append(make(sector, None, observed, {"n": n}))
        return failures
    failures = []
    for r in rows:
        keys = {c: r.get(c) for c in spec.index_columns}
        context = _row(frame, keys)
        failures.append(make(keys.get("sector", spec.sector), keys.get("unit"), r.get(check.column), context))
    return failures


def run_gate(
    extracts: dict[str, pl.DataFrame],
    results: pl.DataFrame,
    previous_rates: pl.DataFrame | None,
    previous_counts: dict[str, int] | None,
    docs_dir: Path,
    settings: GateSettings | None = None,
    absent_columns: dict[str, set[str]] | None = None,
    file_problems: dict[str, list[str]] | None = None,
) -> GateResult:
    """Validate the extracts, the results and the run against the previous one; write Data Docs to ``docs_dir``.

    ``extracts``: sector → standardised records; ``results``: the Results contract; ``previous_rates``:
    ``sector, unit, n, n_dung`` of each sector's previous published run (see :func:`checks.dung_rates`);
    ``previous_counts``: sector → input rows of the previous extract (quarantined rows included), compared
    with this run's input rows per sector as counted in ``results``. ``absent_columns``: sector → required
    fields no file of the sector has (one ``missing_column`` finding each); ``file_problems``: sector → the
    messages of files that could not be used (``file_unusable``, an error by default: the sector is incomplete).
    """
    settings = settings or GateSettings()
    absent = {s: set(v) for s, v in (absent_columns or {}).items()}
    started = time.perf_counter()
    docs_dir = Path(docs_dir)
    docs_dir.mkdir(parents=True, exist_ok=True)
    run_ids = (
        results.get_column("run_id").drop_nulls().unique().to_list() if "run_id" in results.columns else []
    )
    run_id = str(run_ids[0]) if run_ids else None
    run_name = run_id or f"gate-{datetime.now(UTC):%Y%m%dT%H%M%S}"

    batches, notes = _batches(extracts, results, previous_rates, previous_counts, settings, absent)
    aggregated = time.perf_counter()
    gx_results = _gx_validate(batches, docs_dir, run_name)

    failures: list[GateFailure] = _file_findings(file_problems or {}, settings)
    failures += _missing_column_findings(extracts, absent, settings)
    n_expectations = 0
    for (spec, frame), expectation_results in zip(batches, gx_results, strict=True):
        checks = {c.name: c for c in spec.checks}
        for gx_result in expectation_results:
            n_expectations += 1
            if gx_result.success:
                continue
            check = checks[gx_result.expectation_config.meta["check"]]
            failures.extend(_failures_of(spec, frame, check, gx_result, settings))
    elapsed = time.perf_counter() - started
    log.info(
        "gate: %d expectations, %d failures, aggregates %.2fs, total %.2fs",
        n_expectations,
        len(failures),
        aggregated - started,
        elapsed,
    )
    sectors = sorted(
        set(extracts)
        | set(file_problems or {})
        | set(results.get_column("sector").drop_nulls().unique().to_list() if results.height else [])
    )
    return GateResult(
        passed=n_expectations > 0 and not any(f.severity == "error" for f in failures),
        failures=failures,
        docs_index=docs_dir / "index.html",
        run_id=run_id,
        n_expectations=n_expectations,
        seconds=elapsed,
        notes_vi=notes,
        settings=settings.to_dict(),
        sectors=sectors,
        labels={s: settings.label(s) for s in sectors},
    )


def _file_findings(file_problems: dict[str, list[str]], settings: GateSettings) -> list[GateFailure]:
    """A file that could not be used makes its sector incomplete: one finding per message."""
    out = []
    for sector, messages in sorted(file_problems.items()):
        label = settings.label(sector)
        for m in messages:
            out.append(
                GateFailure(
                    suite=f"files.{sector}",
                    expectation="file_readable",
                    column="",
                    observed=None,
                    expected={},
                    message_vi=f"Tệp không dùng được (lĩnh vực {label}): {m}",
                    message_en=f"Unusable file (sector {label}): {m}",
                    sector=sector,
                    check="file_unusable",
                    severity=settings.for_sector(sector).severity_of("file_unusable"),
                )
            )
    return out


def _missing_column_findings(
    extracts: dict[str, pl.DataFrame], absent: dict[str, set[str]], settings: GateSettings
) -> list[GateFailure]:
    """A required field the extract has no column for: said once, with what was derived instead."""
    out = []
    for sector in sorted(absent):
        own = settings.for_sector(sector)
        df = extracts.get(sector)
        for field_name in sorted(f for f in absent[sector] if f in own.required_for(sector)):
            vi, en = field_label(field_name, "vi"), field_label(field_name, "en")
            extra_vi = extra_en = ""
            if field_name == "commune_code" and df is not None and "commune_origin" in df.columns:
                n = int((df["commune_origin"] == "from_address").sum())
                extra_vi = f"; đã suy ra từ địa chỉ cho {fmt_int(n)}/{fmt_int(df.height)} dòng"
                extra_en = (
                    f"; derived from the address for {fmt_int(n, 'en')}/{fmt_int(df.height, 'en')} rows"
                )
            out.append(
                GateFailure(
                    suite=f"extract.{sector}",
                    expectation="column_present",
                    column=field_name,
                    observed=None,
                    expected={},
                    message_vi=f"Tệp của lĩnh vực {settings.label(sector)} không có cột {vi}{extra_vi}",
                    message_en=f"The {settings.label(sector)} extract has no {en} column{extra_en}",
                    sector=sector,
                    check=f"missing_column:{field_name}",
                    severity=own.severity_of("missing_column", field_name),
                )
            )
    return out
