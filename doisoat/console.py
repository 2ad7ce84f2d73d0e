"""What the console says when a run ends: its publication state per sector, file problems, the headline counts.

Shared by ``doisoat run`` (doisoat.cli) and ``python -m flows.nightly``, so neither imports the other.
"""

from __future__ import annotations

from pathlib import Path


def print_summary(result: dict) -> None:
    """Where the reports are, what was published per sector, every file problem, the headline counts."""
    from doisoat.report.taskforce import MATCHING_NOTE_TITLE, matching_note
    from doisoat.textfmt import fmt_int, fmt_ratio
    from doisoat.vocabulary import STATUS_LABELS

    sectors = result.get("sectors") or []
    held = [s for s in sectors if not s["published"] and not s.get("carried_over")]
    if not result["published"]:
        state = "CHƯA công bố: kiểm tra chất lượng không đạt (xem gate.txt)"
    elif held:
        ran = [s for s in sectors if not s.get("carried_over")]
        state = f"công bố một phần ({len(ran) - len(held)}/{len(ran)} lĩnh vực)"
    else:
        state = "đã công bố"
    print(f"Lượt chạy {result['run_id']}: {state}")
    for s in sectors:
        if s.get("carried_over"):  # not in this run (no new file): the figures in force stay
            print(
                f"  {s['label']}: không có tệp mới; số liệu đang có hiệu lực: lượt {s['in_force']['run_id']}"
            )
            continue
        rate = f"bản ghi đúng {fmt_ratio(s['n_dung'], s['n'])}" if s.get("n") else "không có bản ghi"
        quarantined = f"; {fmt_int(s['n_quarantined'])} bị cách ly" if s.get("n_quarantined") else ""
        if s["published"]:
            print(f"  {s['label']}: công bố — {rate}{quarantined}")
        else:
            since = s.get("in_force")
            kept = f"; số liệu đang có hiệu lực: lượt {since['run_id']}" if since else ""
            print(f"  {s['label']}: CHƯA công bố{kept}")
            for m in s["errors"]:
                print(f"    - {m}")
        for m in s.get("warnings") or []:
            print(f"    - Cảnh báo: {m}")
    messages = result.get("file_messages") or []
    if messages:
        print("Tệp đầu vào / input files:")
        for m in messages:
            print(f"  {m}")
    counts = result.get("status_counts", {})
    total = sum(counts.values())
    parts = [f"{STATUS_LABELS['vi'].get(k, k).lower()} {fmt_int(v)}" for k, v in sorted(counts.items())]
    print(f"Tổng số bản ghi: {fmt_int(total)} ({'; '.join(parts)})")
    note = matching_note(result.get("match_thresholds"))
    if note:
        print(f"{MATCHING_NOTE_TITLE['vi']}: {note}")
    out = Path(result["out_dir"])
    latest = out.parent / "latest"
    if result["published"] and latest.is_symlink() and latest.resolve() == out.resolve():
        print(f"Lượt công bố mới nhất: {latest}")
    print(f"Báo cáo:       {out / 'report' / 'bao-cao.html'}")
    print(f"               {out / 'report' / 'bao-cao.xlsx'}")
    print(f"Danh sách rà soát: {out / 'worklists'}")
    print(f"Kết quả:       {out / 'results.parquet'}")
