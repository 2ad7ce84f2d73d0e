"""The ``doisoat`` command. Help in Vietnamese and English; heavy imports happen inside each command.

Contract (scripts call it; keep it stable):
  doisoat sample   --people N --seed S --out DIR
  doisoat run      --reference FILE --extract SECTOR=FILE [--extract ...] --out DIR [--db FILE]
  doisoat evaluate --truth DIR --results FILE
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from doisoat import __version__

EPILOG = """\
Ví dụ / examples:
  doisoat sample --people 20000 --seed 1 --out mau/
  doisoat run --reference mau/reference.parquet --extract vaccination=mau/vaccination.csv --out out/tiem-chung
  doisoat evaluate --truth mau/ --results out/tiem-chung/results.parquet
Lĩnh vực / sectors: civil_status, social_protection, vaccination, insurance (thêm bằng YAML trong schemas/sectors/).
"""


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="doisoat",
        description="Đối soát dữ liệu chuyên ngành với CSDL quốc gia về dân cư (Đề án 06). / "
        "Reconcile sector data against the national population database.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--version", action="version", version=f"doisoat {__version__}")
    sub = p.add_subparsers(dest="command", metavar="LỆNH/COMMAND")

    s = sub.add_parser("sample", help="Sinh dữ liệu mẫu tổng hợp / generate a synthetic province")
    s.add_argument(
        "--people", type=int, default=20_000, help="Số người trong dữ liệu dân cư / reference size"
    )
    s.add_argument("--seed", type=int, default=0, help="Hạt giống ngẫu nhiên / random seed")
    s.add_argument("--out", type=Path, required=True, help="Thư mục ghi ra / output folder")

    r = sub.add_parser("run", help="Chạy đối soát / run the reconciliation flow")
    r.add_argument(
        "--reference", type=Path, required=True, help="Tệp dữ liệu dân cư / reference population file"
    )
    r.add_argument(
        "--extract",
        action="append",
        default=[],
        metavar="SECTOR=FILE",
        help="Tệp chuyên ngành, lặp lại được (thêm #SHEET cho trang tính) / sector extract, repeatable",
    )
    r.add_argument("--out", type=Path, help="Thư mục kết quả (mặc định out/<run_id>) / run folder")
    r.add_argument("--db", type=Path, help="Tệp DuckDB (mặc định data/doisoat.duckdb) / DuckDB file")
    r.add_argument("--lang", choices=["vi", "en"], default="vi", help="Ngôn ngữ báo cáo / report language")

    e = sub.add_parser("evaluate", help="Đánh giá độ chính xác so với dữ liệu gốc / precision, recall, F1")
    e.add_argument("--truth", type=Path, required=True, help="Thư mục dữ liệu mẫu có truth/ / sample folder")
    e.add_argument("--results", type=Path, required=True, help="Tệp results.parquet")
    e.add_argument("--lang", choices=["vi", "en"], default="vi")
    e.add_argument(
        "--by-kind",
        action="store_true",
        help="Theo loại lỗi: bao phủ, cần xác minh, khớp nhầm; F1 không khớp / per error kind, non-match F1",
    )

    ref = sub.add_parser("reference", help="Quản lý dữ liệu dân cư / reference population")
    ref_sub = ref.add_subparsers(dest="ref_command", metavar="LỆNH")
    rl = ref_sub.add_parser("load", help="Nạp dữ liệu dân cư vào DuckDB / load into DuckDB")
    rl.add_argument("file", type=Path)
    rl.add_argument("--db", type=Path)

    d = sub.add_parser("decisions", help="Quyết định của cán bộ rà soát / steward decisions")
    d_sub = d.add_subparsers(dest="decisions_command", metavar="LỆNH")
    di = d_sub.add_parser(
        "import",
        help="Nhập quyết định từ danh sách xử lý đã rà soát (XLSX); lần chạy sau áp dụng / "
        "import reviewed worklists; the next run applies them",
    )
    di.add_argument("files", type=Path, nargs="+", metavar="TỆP")
    di.add_argument("--db", type=Path)
    dl = d_sub.add_parser("list", help="Số quyết định đã nhập theo ngày / decisions stored, counted by day")
    dl.add_argument("--db", type=Path)

    m = sub.add_parser("model", help="Mô hình so khớp / match model")
    m_sub = m.add_subparsers(dest="model_command", metavar="LỆNH")
    mt = m_sub.add_parser("train", help="Ước lượng lại trọng số (EM) / re-estimate weights")
    mt.add_argument("--extract", action="append", default=[], metavar="SECTOR=FILE", required=True)
    mt.add_argument("--db", type=Path)
    mt.add_argument("--out", type=Path, help="Tệp mô hình (mặc định data/model.json)")
    ms = m_sub.add_parser("show", help="Mô hình một lần chạy đã dùng / the models a run used")
    ms.add_argument("run", type=Path, nargs="?", help="Thư mục lần chạy (mặc định out/latest)")
    ms.add_argument("--lang", choices=["vi", "en"], default="vi")
    return p


def print_summary(result: dict) -> None:
    """Where the reports are and the headline counts, in Vietnamese."""
    from doisoat.report.taskforce import MATCHING_NOTE_TITLE, matching_note
    from doisoat.textfmt import fmt_int

    state = (
        "đã công bố" if result["published"] else "CHƯA công bố: kiểm tra chất lượng không đạt (xem gate.txt)"
    )
    print(f"Lượt chạy {result['run_id']}: {state}")
    counts = result.get("status_counts", {})
    total = sum(counts.values())
    labels = {
        "matched": "khớp",
        "review": "cần xác minh",
        "unmatched": "không tìm thấy",
        "duplicate": "trùng",
        "quarantined": "cách ly",
    }
    parts = [f"{labels.get(k, k)} {fmt_int(v)}" for k, v in sorted(counts.items())]
    print(f"Tổng số bản ghi: {fmt_int(total)} ({'; '.join(parts)})")
    note = matching_note(result.get("match_thresholds"))
    if note:
        print(f"{MATCHING_NOTE_TITLE['vi']}: {note}")
    out = Path(result["out_dir"])
    print(f"Báo cáo:       {out / 'report' / 'bao-cao.html'}")
    print(f"               {out / 'report' / 'bao-cao.xlsx'}")
    print(f"Danh sách rà soát: {out / 'worklists'}")
    print(f"Kết quả:       {out / 'results.parquet'}")


def _cmd_sample(args) -> int:
    from sample_data.generator import generate

    manifest = generate(args.out, people=args.people, seed=args.seed)
    print(f"Đã sinh dữ liệu mẫu vào {args.out} ({manifest.get('rows_total', '')} dòng chuyên ngành)")
    return 0


def _cmd_run(args) -> int:
    from doisoat import pipeline
    from flows.nightly import nightly

    # Check what the user can fix before Prefect starts, so a mistake is one line, not a failed flow run.
    pipeline.check_inputs(
        pipeline.RunConfig(
            reference=args.reference, extracts=[pipeline.ExtractInput.parse(e) for e in args.extract]
        )
    )
    result = nightly(
        reference=str(args.reference),
        extracts=list(args.extract),
        out=str(args.out) if args.out else None,
        db=str(args.db) if args.db else None,
        lang=args.lang,
    )
    print_summary(result)
    return 0 if result["published"] else 3


def _cmd_evaluate(args) -> int:
    from doisoat.evaluate import evaluate, format_metrics

    print(format_metrics(evaluate(args.truth, args.results), lang=args.lang, by_kind=args.by_kind))
    return 0


def _cmd_reference(args) -> int:
    from doisoat import settings, store
    from doisoat.pipeline import ensure_reference

    if args.ref_command != "load":
        print("Dùng: doisoat reference load TỆP", file=sys.stderr)
        return 2
    with store.connect(args.db or settings.default_db()) as con:
        info = ensure_reference(con, args.file)
    if info["reloaded"]:
        print(f"Đã nạp dữ liệu dân cư: {info.get('stats')}")
    else:
        print("Dữ liệu dân cư không thay đổi so với lần nạp trước.")
    return 0


def _cmd_decisions(args) -> int:
    from doisoat import settings, store
    from doisoat.decisions import import_worklists, summarize

    if args.decisions_command not in ("import", "list"):
        print("Dùng: doisoat decisions import TỆP.xlsx … | doisoat decisions list", file=sys.stderr)
        return 2
    if args.decisions_command == "list":
        with store.connect(args.db or settings.default_db()) as con:
            print(summarize(con))
        return 0
    with store.connect(args.db or settings.default_db()) as con:
        summary = import_worklists(con, args.files)
    print(summary.text())
    return 0 if summary.confirmed + summary.rejected or not summary.skipped else 2


def _cmd_model(args) -> int:
    from doisoat import settings, store
    from doisoat.match import MatchSettings, train
    from doisoat.pipeline import ExtractInput, assemble, ingest_extracts, standardize_records

    if args.model_command == "show":
        from doisoat.match.show import show_run

        print(show_run(args.run or settings.runs_root() / "latest", args.lang))
        return 0
    if args.model_command != "train":
        print(
            "Dùng: doisoat model train --extract LĨNH_VỰC=TỆP | doisoat model show [LẦN_CHẠY]",
            file=sys.stderr,
        )
        return 2
    extracts = [ExtractInput.parse(e) for e in args.extract]
    with store.connect(args.db or settings.default_db()) as con:
        records, _ = assemble(ingest_extracts(extracts, {}))
        model = train(con, standardize_records(records), MatchSettings())
    out = args.out or settings.home() / "model.json"
    model.save(out)
    print(f"Đã lưu mô hình vào {out}")
    return 0


COMMANDS = {
    "sample": _cmd_sample,
    "run": _cmd_run,
    "evaluate": _cmd_evaluate,
    "reference": _cmd_reference,
    "decisions": _cmd_decisions,
    "model": _cmd_model,
}


def main(argv: list[str] | None = None) -> int:
    from doisoat.pipeline import UserError

    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return 0
    try:
        return COMMANDS[args.command](args)
    except UserError as exc:
        print(f"Lỗi: {exc}", file=sys.stderr)
        return 2
    except FileNotFoundError as exc:
        print(f"Lỗi: không tìm thấy tệp '{exc.filename}' / file not found", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
