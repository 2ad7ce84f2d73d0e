# %% [markdown]
# # Số liệu cho báo cáo Tổ công tác Đề án 06
# Reads the latest published run (or the run folder in `DOISOAT_RUN`) and prints the figures the task force pastes
# into its report: per sector the verification rate (đúng / total) and the four dimensions, in Vietnamese format.
# Percent-format script: opens as a notebook in Jupyter (jupytext) or VS Code, runs as plain Python in the tests.

# %%
import os
from pathlib import Path

import polars as pl

from doisoat import settings
from doisoat.report.taskforce import build_report
from doisoat.textfmt import fmt_ratio

run_dir = Path(os.environ.get("DOISOAT_RUN", settings.runs_root() / "latest"))
results = pl.read_parquet(run_dir / "results.parquet")
print(f"Lượt chạy: {results['run_id'][0]} — {results.height:,} bản ghi".replace(",", "."))

# %% [markdown]
# ## Tỷ lệ xác thực theo lĩnh vực (đúng / tổng số bản ghi)

# %%
per_sector = (
    results.group_by("sector")
    .agg(pl.len().alias("n"), pl.col("dung").fill_null(False).sum().alias("n_dung"))
    .sort("sector")
)
for sector, n, n_dung in per_sector.iter_rows():
    print(f"{sector}: {fmt_ratio(n_dung, n)}")

# %% [markdown]
# ## Câu sẵn sàng đưa vào báo cáo

# %%
labels = {
    "civil_status": "Hộ tịch",
    "social_protection": "An sinh xã hội",
    "vaccination": "Tiêm chủng",
    "insurance": "Bảo hiểm xã hội, bảo hiểm y tế",
}
report = build_report(results, None, labels, {"run_id": results["run_id"][0]})
for sentence in report.sentences:
    print("-", sentence)
