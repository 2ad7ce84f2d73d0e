"""The ``doisoat`` command. Help in Vietnamese and English; heavy imports happen inside each command.

Contract (scripts call it; keep it stable):
  doisoat sample   --people N --seed S --out DIR
  doisoat run      --reference FILE --extract SECTOR=FILE [--extract ...] --out DIR [--db FILE]
  doisoat evaluate --truth DIR --results FILE
  doisoat run      --reference FILE --inbox DIR [--archive DIR] ...
  doisoat serve    --reference FILE --inbox DIR [--cron "30 1 * * *"] ...
  doisoat runs list [--db FILE] [--limit N]
  doisoat reference units [--source]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from doisoat import __version__
from doisoat.console import print_summary

# argparse's own words, in both languages (it looks `_` up in its module at each call)
ARGPARSE_WORDS = {
    "usage: ": "Cách dùng / usage: ",
    "positional arguments": "đối số / arguments",
    "options": "tùy chọn / options",
    "show this help message and exit": "in hướng dẫn này rồi thoát / show this help and exit",
    "show program's version number and exit": "in phiên bản rồi thoát / show the version and exit",
    "%(prog)s: error: %(message)s\n": "%(prog)s: lỗi / error: %(message)s\n",
    "the following arguments are required: %s": "thiếu đối số bắt buộc / required: %s",
    "invalid choice: %(value)r (choose from %(choices)s)": (
        "giá trị không hợp lệ / invalid choice: %(value)r (chọn một trong / choose from %(choices)s)"
    ),
    "invalid %(type)s value: %(value)r": "giá trị không hợp lệ / invalid %(type)s value: %(value)r",
    "unrecognized arguments: %s": "đối số không nhận ra / unrecognized arguments: %s",
    "expected one argument": "cần một giá trị / expected one argument",
    "expected at least one argument": "cần ít nhất một giá trị / expected at least one argument",
    "argument %(argument_name)s: %(message)s": "đối số / argument %(argument_name)s: %(message)s",
    "ambiguous option: %(option)s could match %(matches)s": (
        "tùy chọn mơ hồ / ambiguous option: %(option)s có thể là / could match %(matches)s"
    ),
    "not allowed with argument %s": "không dùng cùng / not allowed with %s",
}


def _translate_argparse() -> None:
    import argparse as _argparse

    _argparse._ = lambda text: ARGPARSE_WORDS.get(text, text)


def _sector_names() -> list[str]:
    """The sectors doisoat knows (YAML file names), read without importing the schema machinery."""
    import os

    folders = [Path(__file__).resolve().parent.parent / "schemas" / "sectors"]
    if os.environ.get("DOISOAT_SECTORS_DIR"):
        folders.append(Path(os.environ["DOISOAT_SECTORS_DIR"]))
    names = {p.stem for folder in folders if folder.is_dir() for p in folder.glob("*.yaml")}
    return sorted(names - {"reference"})


EPILOG = """\
Ví dụ / examples:
  doisoat sample --people 20000 --seed 1 --out mau/
  doisoat run --reference mau/reference.parquet --extract vaccination=mau/vaccination.csv --out out/
  doisoat decisions import out/latest/worklists/20194-phuong-hai-van.xlsx
  doisoat evaluate --truth mau/ --results out/latest/results.parquet
Lĩnh vực / sectors: {sectors} (thêm bằng YAML trong schemas/sectors/ hoặc DOISOAT_SECTORS_DIR).
Trợ giúp từng lệnh / help of a command: doisoat LỆNH --help
"""

# exit codes of `doisoat run` (scripts and schedulers read them)
EXIT_PUBLISHED = 0  # every sector published
EXIT_BAD_INPUT = 2  # nothing ran: a mistake in the command or the input files (message on stderr)
EXIT_NOTHING_PUBLISHED = 3  # the run finished but no sector passed its checks
EXIT_PARTLY_PUBLISHED = 4  # some sectors published, others held back

RUN_EPILOG = f"""\
Ví dụ / examples:
  doisoat run --reference dan-cu.parquet --extract vaccination=tiem-chung.csv \\
              --extract civil_status=ho-tich.xlsx#KhaiSinh --out out/
  doisoat run --reference dan-cu.parquet --extract insurance=bhxh.csv --lang en --gate-config nguong.yaml
  doisoat run --reference dan-cu.parquet --inbox hop-thu/ --out out/     # hộp thư / inbox (doisoat serve --help)
  doisoat run --config run.yaml --lang en      # tệp cấu hình (run.example.yaml), tham số ghi đè / flags override
  doisoat run --repeat out/20261204T013000-a1b2c3   # chạy lại một lượt, cùng kết quả / the same run again

--out THƯ_MỤC là thư mục kết quả: mỗi lượt chạy ghi vào THƯ_MỤC/<mã lượt>/, liên kết THƯ_MỤC/latest trỏ tới
lượt công bố mới nhất. doisoat không ghi vào thư mục đã có tệp không do doisoat tạo ra.
--out DIR is a runs folder: each run writes DIR/<run_id>/, DIR/latest points at the newest published run;
a folder holding files doisoat did not create is refused.
Tiêu đề báo cáo (cơ quan ban hành, địa danh, chỉ tiêu): doisoat/report/report.yaml, hoặc tệp chỉ bởi
DOISOAT_REPORT_CONFIG / the report heading comes from that file.

Mã thoát / exit codes:
  {EXIT_PUBLISHED}  đã công bố mọi lĩnh vực (hoặc hộp thư không có tệp mới) / every sector published (or no new
     file in the inbox)
  {EXIT_PARTLY_PUBLISHED}  công bố một phần: có lĩnh vực bị giữ lại / some sectors held back
  {EXIT_NOTHING_PUBLISHED}  không công bố lĩnh vực nào / nothing published
  {EXIT_BAD_INPUT}  lỗi lệnh hoặc dữ liệu đầu vào, chưa chạy / bad command or input, nothing ran
"""

DEFAULT = "mặc định / default: %(default)s"

INBOX_HELP = """\
Hộp thư / inbox (--inbox THƯ_MỤC):
  THƯ_MỤC/<lĩnh vực>/   các cơ quan đặt tệp vào đây (tệp đang chép: đuôi .part, hoặc thêm <tên>.done khi xong)
  THƯ_MỤC/rejected/     tệp không đọc được, kèm <tên>.ly-do.txt nói lý do
  ../archive/<ngày>/<mã lượt>/<lĩnh vực>/   tệp đã đọc, kèm <tên>.sha256
  Mỗi lượt đọc tệp hoàn chỉnh mới nhất của mỗi lĩnh vực; lĩnh vực không có tệp mới giữ số liệu đã công bố.
  Each run reads the newest complete file per sector folder, archives it with its SHA-256 after the run is
  recorded, moves unreadable files to rejected/ with a reason file; a sector without a new file keeps its
  published figures. No new file at all: nothing runs, exit code 0.
"""


def _add_inbox_options(parser: argparse.ArgumentParser, required: bool) -> None:
    parser.add_argument(
        "--inbox",
        type=Path,
        required=required,
        metavar="THƯ_MỤC",
        help="Hộp thư: đọc tệp mới nhất của mỗi lĩnh vực thay cho --extract / inbox folder instead of --extract",
    )
    parser.add_argument(
        "--archive",
        type=Path,
        metavar="THƯ_MỤC",
        help="Thư mục lưu trữ tệp đã đọc / archive of files read (mặc định / default: archive/ beside the inbox)",
    )


def _add_config_options(parser: argparse.ArgumentParser) -> None:
    """What a run is made from: a run.yaml (--config) and the flags that override it (run and serve)."""
    parser.add_argument(
        "--config",
        type=Path,
        metavar="TỆP.yaml",
        help="Cấu hình lượt chạy (xem run.example.yaml); các tham số dưới đây ghi đè lên nó / run configuration "
        "file (see run.example.yaml); the flags below override it",
    )
    parser.add_argument(
        "--reference",
        type=Path,
        metavar="TỆP",
        help="Tệp dữ liệu dân cư (csv, xlsx, parquet) / reference file",
    )
    parser.add_argument(
        "--out",
        type=Path,
        metavar="THƯ_MỤC",
        help="Thư mục kết quả, mỗi lượt một thư mục con / runs folder (mặc định / default: out/, DOISOAT_RUNS)",
    )
    parser.add_argument(
        "--db",
        type=Path,
        metavar="TỆP",
        help="Tệp DuckDB / DuckDB file (mặc định / default: data/doisoat.duckdb, DOISOAT_HOME)",
    )
    parser.add_argument(
        "--lang", choices=["vi", "en"], help="Ngôn ngữ báo cáo / report language (mặc định / default: vi)"
    )
    parser.add_argument(
        "--gate-config",
        type=Path,
        metavar="TỆP.yaml",
        help="Ngưỡng và mức độ kiểm tra, đè lên checks/gate.yaml và mục gate của --config / gate thresholds and "
        "severities laid over checks/gate.yaml and the --config file's gate",
    )


def _run_config(args):
    """The run's configuration: --repeat's manifest or --config's file (else defaults), the flags over it."""
    from doisoat.errors import UserError
    from doisoat.pipeline import ExtractInput, RunConfig, repeat_config

    over: dict = {}
    if args.reference:
        over["reference"] = str(args.reference.resolve())
    if getattr(args, "extract", None):
        parsed = [ExtractInput.parse(e) for e in args.extract]
        over["extracts"] = [
            {"sector": e.sector, "path": str(e.path.resolve()), "sheet": e.sheet} for e in parsed
        ]
    for flag, key in (("out", "out_dir"), ("db", "db_path")):
        if getattr(args, flag):
            over[key] = str(getattr(args, flag).resolve())
    if args.lang:
        over["lang"] = args.lang
    if getattr(args, "cluster", None):
        over["cluster"] = args.cluster
    if getattr(args, "work_dir", None):
        over["work_dir"] = str(args.work_dir.resolve())
    if getattr(args, "full", False):
        over["full"] = True
    if getattr(args, "models_from", None):
        over["models_from"] = str(args.models_from.resolve())
    repeat = getattr(args, "repeat", None)
    if repeat and args.config:
        raise UserError(
            "Dùng --repeat hoặc --config, không dùng cả hai. / --repeat and --config exclude each other"
        )
    if repeat:
        config = repeat_config(repeat, **over)
    elif args.config:
        config = RunConfig.load(args.config, **over)
    else:
        config = RunConfig.from_dict(over, source="Dòng lệnh")
    return config.with_gate_file(args.gate_config)


def _add_serve_parser(sub, raw) -> None:
    sv = sub.add_parser(
        "serve",
        help="Chạy đối soát theo lịch từ hộp thư (Prefect) / run the inbox on a schedule",
        description="Chạy lượt đối soát từ hộp thư theo lịch (giờ Việt Nam, Asia/Ho_Chi_Minh) cho đến khi dừng "
        "(Ctrl-C); lịch sử các lượt chạy có trong Prefect. Không cần máy chủ Prefect riêng: nếu chưa đặt "
        "PREFECT_API_URL, doisoat tự chạy một máy chủ cục bộ (127.0.0.1) trên cơ sở dữ liệu trong data/prefect. / "
        "Serves the inbox night on a schedule in Vietnam time until stopped; starts a local Prefect server "
        "unless PREFECT_API_URL is set.",
        epilog='Ví dụ / example:\n  doisoat serve --inbox hop-thu/ --reference dan-cu.parquet --cron "30 1 * * *"\n\n'
        + INBOX_HELP,
        formatter_class=raw,
    )
    _add_config_options(sv)
    _add_inbox_options(sv, required=True)
    sv.add_argument(
        "--cron",
        default="30 1 * * *",
        metavar="CRON",
        help=f"Lịch chạy, giờ Việt Nam / schedule in Asia/Ho_Chi_Minh ({DEFAULT})",
    )
    sv.add_argument(
        "--interval",
        type=float,
        metavar="GIÂY",
        help="Chạy mỗi GIÂY giây thay cho --cron (để thử) / every N seconds instead of --cron (for trials)",
    )


def _add_runs_parser(sub, raw) -> None:
    ru = sub.add_parser(
        "runs",
        help="Lịch sử các lượt đối soát / run history",
        epilog="Ví dụ / example:\n  doisoat runs list --db data/doisoat.duckdb --limit 10",
        formatter_class=raw,
    )
    ru_sub = ru.add_subparsers(dest="runs_command", metavar="LỆNH", title="lệnh / commands")
    rl = ru_sub.add_parser(
        "list",
        help="Các lượt gần nhất: thời gian, lĩnh vực công bố / giữ lại, số bản ghi, tỷ lệ / recent runs",
        formatter_class=raw,
    )
    rl.add_argument(
        "--db", type=Path, metavar="TỆP", help="Tệp DuckDB (mặc định / default: data/doisoat.duckdb)"
    )
    rl.add_argument("--limit", type=int, default=20, metavar="N", help=f"Số lượt / how many ({DEFAULT})")


def build_parser() -> argparse.ArgumentParser:
    _translate_argparse()
    sectors = _sector_names()
    raw = argparse.RawDescriptionHelpFormatter
    p = argparse.ArgumentParser(
        prog="doisoat",
        description="Đối soát dữ liệu chuyên ngành với CSDL quốc gia về dân cư (Đề án 06). / "
        "Reconcile sector data against the national population database.",
        epilog=EPILOG.format(sectors=", ".join(sectors)),
        formatter_class=raw,
    )
    p.add_argument("--version", action="version", version=f"doisoat {__version__}")
    sub = p.add_subparsers(dest="command", metavar="LỆNH/COMMAND", title="lệnh / commands")

    s = sub.add_parser(
        "sample",
        help="Sinh dữ liệu mẫu tổng hợp / generate a synthetic province",
        description="Sinh một tỉnh mẫu (dữ liệu dân cư, tệp chuyên ngành, đáp án) / generate a synthetic province.",
        epilog="Ví dụ / example:\n  doisoat sample --people 20000 --seed 1 --out mau/",
        formatter_class=raw,
    )
    s.add_argument(
        "--people",
        type=int,
        default=20_000,
        metavar="N",
        help=f"Số người trong dữ liệu dân cư / reference size ({DEFAULT})",
    )
    s.add_argument("--seed", type=int, default=0, help=f"Hạt giống ngẫu nhiên / random seed ({DEFAULT})")
    s.add_argument(
        "--out", type=Path, required=True, metavar="THƯ_MỤC", help="Thư mục ghi ra / output folder"
    )

    r = sub.add_parser(
        "run",
        help="Chạy đối soát / run the reconciliation flow",
        description="Đối chiếu các tệp chuyên ngành với dữ liệu dân cư, kiểm tra chất lượng rồi công bố báo cáo. / "
        "Reconcile sector extracts against the reference, check quality, publish the reports.",
        epilog=RUN_EPILOG,
        formatter_class=raw,
    )
    _add_config_options(r)
    r.add_argument(
        "--extract",
        action="append",
        default=[],
        metavar="LĨNH_VỰC=TỆP",
        help="Tệp chuyên ngành, lặp lại được; thêm #TRANG cho trang tính; thay cho danh sách trong --config / "
        f"sector extract, repeatable, #SHEET for a sheet; replaces the --config list. Lĩnh vực / sectors: "
        f"{', '.join(sectors)}",
    )
    r.add_argument(
        "--repeat",
        type=Path,
        metavar="THƯ_MỤC_LƯỢT",
        help="Chạy lại một lượt từ thư mục của nó (cấu hình và mô hình trong manifest.json) cho cùng kết quả / "
        "repeat a run from its run folder (its manifest's configuration and model): the same results",
    )
    r.add_argument(
        "--full",
        action="store_true",
        help="Chạy toàn bộ: ước lượng lại mô hình, ghép lại mọi bản ghi (mặc định: chỉ ghép lại phần thay đổi "
        "so với lượt trước) / a full run: re-estimate the models and re-link every record (default: incremental)",
    )
    r.add_argument(
        "--models-from",
        type=Path,
        metavar="THƯ_MỤC_LƯỢT",
        help="Ghép mọi bản ghi bằng mô hình đã cố định của một lượt trước (để đối chiếu một lượt tăng dần) / link "
        "every record with the frozen models of an earlier run folder",
    )
    r.add_argument(
        "--quiet",
        "-q",
        action="store_true",
        help="Không in tiến trình từng bước (chỉ in kết quả) / no step lines, only the summary",
    )
    r.add_argument(
        "--cluster",
        metavar="ĐỊA_CHỈ",
        help="Ghép trên cụm Dask: local:N (N máy thợ trên máy này) hoặc tcp://MÁY:CỔNG của bộ lập lịch / link on "
        "a Dask cluster: local:N or a scheduler address (docs/cluster.md)",
    )
    r.add_argument(
        "--work-dir",
        type=Path,
        metavar="THƯ_MỤC",
        help="Thư mục chung mọi máy thợ cùng thấy (cần cho cụm nhiều máy) / shared storage for the cluster's "
        "partitions (mặc định / default: thư mục tạm của lượt chạy / the run's work folder)",
    )
    _add_inbox_options(r, required=False)

    _add_serve_parser(sub, raw)
    _add_runs_parser(sub, raw)

    e = sub.add_parser(
        "evaluate",
        help="Đánh giá độ chính xác so với dữ liệu gốc / precision, recall, F1",
        description="So kết quả ghép với đáp án của dữ liệu mẫu / compare the links with the sample's ground truth.",
        epilog="Ví dụ / example:\n  doisoat evaluate --truth mau/ --results out/latest/results.parquet",
        formatter_class=raw,
    )
    e.add_argument(
        "--truth",
        type=Path,
        required=True,
        metavar="THƯ_MỤC",
        help="Thư mục dữ liệu mẫu có truth/ / sample folder",
    )
    e.add_argument(
        "--results", type=Path, required=True, metavar="TỆP", help="Tệp results.parquet của một lượt chạy"
    )
    e.add_argument("--lang", choices=["vi", "en"], default="vi", help=f"Ngôn ngữ / language ({DEFAULT})")
    e.add_argument(
        "--by-kind",
        action="store_true",
        help="Theo loại lỗi: bao phủ, cần xác minh, khớp nhầm; F1 không khớp / per error kind, non-match F1",
    )

    ref = sub.add_parser(
        "reference",
        help="Quản lý dữ liệu dân cư / reference population",
        epilog="Ví dụ / example:\n  doisoat reference load dan-cu.parquet --db data/doisoat.duckdb",
        formatter_class=raw,
    )
    ref_sub = ref.add_subparsers(dest="ref_command", metavar="LỆNH", title="lệnh / commands")
    rl = ref_sub.add_parser(
        "load",
        help="Nạp dữ liệu dân cư vào DuckDB / load into DuckDB",
        epilog="Ví dụ / example:\n  doisoat reference load dan-cu.parquet",
        formatter_class=raw,
    )
    rl.add_argument("file", type=Path, metavar="TỆP", help="Tệp dữ liệu dân cư / reference population file")
    rl.add_argument(
        "--db", type=Path, metavar="TỆP", help="Tệp DuckDB (mặc định / default: data/doisoat.duckdb)"
    )
    rn = ref_sub.add_parser(
        "units",
        help="Bảng đơn vị hành chính đang dùng / the admin-unit tables in use",
        epilog="Ví dụ / example:\n  doisoat reference units --source",
        formatter_class=raw,
    )
    rn.add_argument(
        "--source",
        action="store_true",
        help="Nguồn, phiên bản và mã băm của bảng / source, version and digests of the tables",
    )

    d = sub.add_parser(
        "decisions",
        help="Quyết định của cán bộ rà soát / steward decisions",
        epilog="Ví dụ / examples:\n  doisoat decisions import out/latest/worklists/*.xlsx\n  doisoat decisions list",
        formatter_class=raw,
    )
    d_sub = d.add_subparsers(dest="decisions_command", metavar="LỆNH", title="lệnh / commands")
    di = d_sub.add_parser(
        "import",
        help="Nhập quyết định từ danh sách xử lý đã rà soát (XLSX); lần chạy sau áp dụng / "
        "import reviewed worklists; the next run applies them",
        description="Đọc cột «Quyết định» của các danh sách xử lý đã rà soát và lưu vào DuckDB; lần đối soát sau áp "
        "dụng. Tệp không có hoặc không mở được: báo lỗi, không nhập gì (mã thoát 2). / Reads the «Quyết định» column "
        "of reviewed worklists; a missing or unopenable file is an error and nothing is imported (exit 2).",
        epilog="Ví dụ / examples:\n  doisoat decisions import 20194-phuong-hai-van.xlsx\n"
        "  doisoat decisions import out/latest/worklists/*.xlsx --db data/doisoat.duckdb",
        formatter_class=raw,
    )
    di.add_argument(
        "files", type=Path, nargs="+", metavar="TỆP.xlsx", help="Danh sách xử lý đã rà soát / worklists"
    )
    di.add_argument(
        "--db", type=Path, metavar="TỆP", help="Tệp DuckDB (mặc định / default: data/doisoat.duckdb)"
    )
    dl = d_sub.add_parser(
        "list",
        help="Số quyết định đã nhập theo ngày / decisions stored, counted by day",
        epilog="Ví dụ / example:\n  doisoat decisions list --db data/doisoat.duckdb",
        formatter_class=raw,
    )
    dl.add_argument(
        "--db", type=Path, metavar="TỆP", help="Tệp DuckDB (mặc định / default: data/doisoat.duckdb)"
    )

    m = sub.add_parser(
        "model",
        help="Mô hình so khớp / match model",
        epilog="Ví dụ / example:\n  doisoat model train --extract vaccination=tiem-chung.csv --out data/model.json",
        formatter_class=raw,
    )
    m_sub = m.add_subparsers(dest="model_command", metavar="LỆNH", title="lệnh / commands")
    mt = m_sub.add_parser(
        "train",
        help="Ước lượng lại trọng số (EM) / re-estimate weights",
        epilog="Ví dụ / example:\n  doisoat model train --extract vaccination=tiem-chung.csv",
        formatter_class=raw,
    )
    mt.add_argument(
        "--extract",
        action="append",
        default=[],
        metavar="LĨNH_VỰC=TỆP",
        required=True,
        help=f"Tệp chuyên ngành để ước lượng, lặp lại được / sector extract, repeatable ({', '.join(sectors)})",
    )
    mt.add_argument(
        "--db", type=Path, metavar="TỆP", help="Tệp DuckDB (mặc định / default: data/doisoat.duckdb)"
    )
    mt.add_argument(
        "--out",
        type=Path,
        metavar="TỆP",
        help="Tệp mô hình / model file (mặc định / default: data/model.json)",
    )
    ms = m_sub.add_parser(
        "show",
        help="Mô hình một lần chạy đã dùng, kèm biểu đồ trọng số / the models a run used, with a weights chart",
        epilog="Ví dụ / example:\n  doisoat model show out/latest",
        formatter_class=raw,
    )
    ms.add_argument(
        "run",
        type=Path,
        nargs="?",
        metavar="THƯ_MỤC",
        help="Thư mục lần chạy (mặc định / default: out/latest)",
    )
    ms.add_argument("--lang", choices=["vi", "en"], default="vi", help=f"Ngôn ngữ / language ({DEFAULT})")
    return p


def _cmd_sample(args) -> int:
    from sample_data.generator import generate

    manifest = generate(args.out, people=args.people, seed=args.seed)
    print(f"Đã sinh dữ liệu mẫu vào {args.out} ({manifest.get('rows_total', '')} dòng chuyên ngành)")
    return 0


def _run_exit(result: dict) -> int:
    if result.get("all_published", result["published"]):
        return EXIT_PUBLISHED
    return EXIT_PARTLY_PUBLISHED if result["published"] else EXIT_NOTHING_PUBLISHED


def _cmd_run_inbox(args, config) -> int:
    from doisoat.errors import UserError

    if args.extract or config.extracts:
        raise UserError(
            "Dùng --inbox hoặc --extract (hay mục extracts của --config), không dùng cả hai. / --inbox and "
            "--extract exclude each other"
        )
    if args.cluster or args.work_dir:
        raise UserError(
            "--cluster/--work-dir chưa dùng được với --inbox: hãy chạy với --extract. / not yet with --inbox"
        )
    if config.models_from is not None:
        raise UserError(
            "--models-from chỉ dùng với --extract (để đối chiếu một lượt), không dùng với --inbox. / --models-from "
            "goes with --extract, not --inbox"
        )
    from flows.inbox import inbox_once

    night = inbox_once(args.inbox, config, args.archive)
    if night.run is not None:
        print_summary(night.run)
    carried = {s["sector"] for s in (night.run or {}).get("sectors", []) if s.get("carried_over")}
    print("Hộp thư / inbox:")
    for line in night.lines(skip=carried):
        print(line)
    return EXIT_PUBLISHED if night.run is None else _run_exit(night.run)


def _cmd_serve(args) -> int:
    from flows.inbox import serve

    serve(args.inbox, _run_config(args), args.archive, cron=args.cron, interval_seconds=args.interval)
    return 0


def _cmd_runs(args) -> int:
    from doisoat import settings
    from doisoat.history import format_runs, list_runs

    if args.runs_command != "list":
        print("Dùng: doisoat runs list [--db TỆP] [--limit N]", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(format_runs(list_runs(args.db or settings.default_db(), args.limit), _sector_labels()))
    return 0


def _sector_labels() -> dict[str, str]:
    from schemas import available_sectors, load_sector

    out = {}
    for name in available_sectors():
        try:
            out[name] = load_sector(name).label_vi
        except Exception:  # a broken sector YAML: its key is still a readable label
            out[name] = name
    return out


def _show_progress() -> None:
    """Step lines on stderr while a run goes (row counts and seconds; never personal data)."""
    import logging

    logger = logging.getLogger("doisoat.progress")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("  %(asctime)s  %(message)s", "%H:%M:%S"))
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False


def _cmd_run(args) -> int:
    from flows.nightly import run_once

    if not args.quiet:
        _show_progress()
    config = _run_config(args)
    if args.inbox:
        return _cmd_run_inbox(args, config)
    if not args.quiet:
        print("Đang đối soát… (khởi động Prefect mất vài giây)", file=sys.stderr)

    # inputs are checked and the locks taken before Prefect starts: a mistake is one line, not a failed flow
    result = run_once(config)
    print_summary(result)
    return _run_exit(result)


def _cmd_evaluate(args) -> int:
    from doisoat.evaluate import evaluate, format_metrics

    print(format_metrics(evaluate(args.truth, args.results), lang=args.lang, by_kind=args.by_kind))
    return 0


def _cmd_reference(args) -> int:
    from doisoat import settings, store
    from doisoat.pipeline import ensure_reference

    if args.ref_command == "units":
        print(_units_text(args.source))
        return 0
    if args.ref_command != "load":
        print("Dùng: doisoat reference load TỆP | doisoat reference units [--source]", file=sys.stderr)
        return 2
    with store.connect(args.db or settings.default_db()) as con:
        info = ensure_reference(con, args.file)
    if info["reloaded"]:
        print(f"Đã nạp dữ liệu dân cư: {info.get('stats')}")
    else:
        print("Dữ liệu dân cư không thay đổi so với lần nạp trước.")
    return 0


def _units_text(source: bool) -> str:
    """What ``doisoat reference units`` prints: the unit tables' counts and, with ``source``, where they come from
    (``doisoat.normalize.units_source()``, the same entry as the run manifest's ``admin_units``)."""
    from doisoat.normalize.units import units_source
    from doisoat.textfmt import fmt_int

    u = units_source()
    day = "/".join(reversed(str(u["effective_date"]).split("-")))
    lines = [
        f"Đơn vị hành chính từ {day}: {fmt_int(u['new_units'])} xã/phường/đặc khu mới; "
        f"{fmt_int(u['old_units'])} xã/phường/thị trấn cũ.",
        f"Chuyển đổi cũ→mới: {fmt_int(u['pairs'])} cặp cho {fmt_int(u['old_wards_in_map'])} xã cũ; "
        f"{fmt_int(u['split_old_wards'])} xã cũ chia cho nhiều xã mới (báo là chưa xác định được xã mới), "
        f"{fmt_int(u['partly_merged_old_wards'])} xã cũ chỉ nhập một phần.",
    ]
    if source:
        missing_old, missing_new = u["old_wards_not_in_map"], u["new_wards_not_in_map"]
        lines += [
            f"Nguồn bảng chuyển đổi: bảng chuyển đổi ĐVHC mới–cũ của Tổng cục Thống kê ({u['office_table']}), "
            f"trong gói {u['conversion_package']} ({u['conversion_module']}, "
            f"SHA-256 {u['conversion_module_sha256']}).",
            f"Nguồn danh sách đơn vị: gói {u['units_package']}.",
            f"SHA-256 các cặp cũ→mới: {u['pairs_sha256']}.",
            f"Xã cũ không có trong bảng chuyển đổi ({fmt_int(len(missing_old))}): {', '.join(missing_old) or '—'}.",
            f"Xã mới không có trong bảng chuyển đổi ({fmt_int(len(missing_new))}): {', '.join(missing_new) or '—'}.",
        ]
    return "\n".join(lines)


def _unusable_file(path: Path) -> str | None:
    """Why a worklist file cannot be opened (missing, a folder, no permission), or None."""
    if not path.exists():
        return f"không tìm thấy tệp {path} / file not found"
    if not path.is_file():
        return f"{path} là thư mục, không phải tệp danh sách xử lý (.xlsx) / not a file"
    try:
        with open(path, "rb"):
            pass
    except OSError as exc:
        return f"không mở được tệp {path}: {exc.strerror} / cannot open"
    return None


def _cmd_decisions(args) -> int:
    from doisoat import settings, store
    from doisoat.decisions import import_worklists, summarize

    if args.decisions_command not in ("import", "list"):
        print("Dùng: doisoat decisions import TỆP.xlsx … | doisoat decisions list", file=sys.stderr)
        return EXIT_BAD_INPUT
    if args.decisions_command == "import":
        # a mistyped name must not pass for "0 decisions": nothing is imported, the command is redone
        problems = [m for m in (_unusable_file(Path(f)) for f in args.files) if m]
        if problems:
            for m in problems:
                print(f"Lỗi: {m}", file=sys.stderr)
            print("Chưa nhập quyết định nào: sửa lệnh rồi chạy lại. / Nothing imported.", file=sys.stderr)
            return EXIT_BAD_INPUT
    db = args.db or settings.default_db()
    if not Path(db).exists():  # connecting would create an empty database and report nothing
        print(
            f"Lỗi: không có cơ sở dữ liệu {db}: hãy chạy đối soát trước (doisoat run) hoặc chỉ đúng tệp bằng --db.",
            file=sys.stderr,
        )
        return EXIT_BAD_INPUT
    if args.decisions_command == "list":
        with store.connect(db) as con:
            print(summarize(con))
        return 0
    with store.connect(db) as con:
        summary = import_worklists(con, args.files)
    print(summary.text())
    return 0 if summary.confirmed + summary.rejected or not summary.skipped else EXIT_BAD_INPUT


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
        _require_reference(con, args.db or settings.default_db())
        records, _ = assemble(ingest_extracts(extracts, {}))
        model = train(con, standardize_records(records), MatchSettings())
    out = args.out or settings.home() / "model.json"
    model.save(out)
    print(f"Đã lưu mô hình vào {out}")
    return 0


def _require_reference(con, db: Path) -> None:
    from doisoat.errors import UserError
    from doisoat.reference import has_reference

    if not has_reference(con):
        raise UserError(
            f"Chưa nạp dữ liệu dân cư vào {db}: hãy chạy 'doisoat reference load TỆP' (hoặc 'doisoat run') trước, "
            "hoặc chỉ đúng tệp bằng --db. / no reference population loaded"
        )


COMMANDS = {
    "sample": _cmd_sample,
    "run": _cmd_run,
    "evaluate": _cmd_evaluate,
    "reference": _cmd_reference,
    "decisions": _cmd_decisions,
    "model": _cmd_model,
    "serve": _cmd_serve,
    "runs": _cmd_runs,
}


def main(argv: list[str] | None = None) -> int:
    from doisoat.errors import DoisoatError

    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return 0
    try:
        return COMMANDS[args.command](args)
    except DoisoatError as exc:
        print(f"Lỗi: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except FileNotFoundError as exc:
        name = exc.filename or str(exc)
        print(f"Lỗi: không tìm thấy tệp '{name}' / file not found", file=sys.stderr)
        return 2
    except (IsADirectoryError, NotADirectoryError, PermissionError) as exc:
        what = "là thư mục, không phải tệp" if isinstance(exc, IsADirectoryError) else "không mở được"
        print(f"Lỗi: '{exc.filename}' {what} ({exc.strerror}) / cannot open", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
