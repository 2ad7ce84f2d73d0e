"""Readable summaries of the match models a run used (``doisoat model show [RUN]``): per sector, where the numbers
came from and the match weight of every comparison level, as Splink's match-weights chart shows them."""

from __future__ import annotations

import json
from pathlib import Path

from doisoat.match.model import MatchModel
from doisoat.textfmt import fmt_int


def _bar(w: float, scale: float = 2.0, width: int = 12) -> str:
    n = min(int(round(abs(w) / scale)), width)
    return ("-" * n).rjust(width) + "|" if w < 0 else " " * width + "|" + "+" * n


def weights_chart(model: MatchModel, lang: str = "vi") -> str:
    """One line per comparison level: m, u, weight in bits and a bar (− left of the axis, + right)."""
    head = "so sánh / mức" if lang == "vi" else "comparison / level"
    lines = [f"{head:34s} {'m':>9s} {'u':>10s} {'bit':>7s}"]
    for name, p in model.comparisons.items():
        for label, m, u, w in zip(p.levels, p.m, p.u, p.weights(), strict=True):
            ws = f"{w:+.2f}".replace(".", ",") if lang == "vi" else f"{w:+.2f}"
            lines.append(f"{name + ' / ' + label:34s} {m:9.4f} {u:10.2e} {ws:>7s} {_bar(float(w))}")
    return "\n".join(lines)


def show_run(run_dir: Path, lang: str = "vi") -> str:
    """The models recorded in a run folder's manifest (``model``), each with its weights chart."""
    manifest = json.loads((Path(run_dir) / "manifest.json").read_text(encoding="utf-8"))
    entries = manifest.get("model") or {}
    if not isinstance(entries, dict) or not entries:
        return "Lần chạy này không ghi mô hình." if lang == "vi" else "This run recorded no model."
    parts = []
    for sector, e in entries.items():
        sessions = ", ".join(
            f"{k}: {fmt_int(v.get('pairs', 0), lang)} cặp, {v.get('em_iterations')} vòng EM"
            + ("" if v.get("converged") else " (chưa hội tụ)")
            for k, v in e.get("sessions", {}).items()
        )
        parts.append(
            f"== {'tất cả lĩnh vực' if sector == '*' else sector}: {e.get('source')} · sha256 {e.get('sha256', '')[:16]}"
            f" · {sessions}"
        )
        for f in e.get("fallbacks", []):
            parts.append(f"   dùng giá trị ban đầu: {f}" if lang == "vi" else f"   fallback: {f}")
        if e.get("file") and (Path(run_dir) / e["file"]).exists():
            parts.append(weights_chart(MatchModel.load(Path(run_dir) / e["file"]), lang))
        parts.append("")
    return "\n".join(parts)
