# %% [markdown]
# # Rà soát của cán bộ quản lý dữ liệu
# What a data steward looks at first: how many records need action per commune and why, most urgent first.
# IDs are never shown here; the worklists (XLSX per commune) hold the masked values and the decision column.

# %%
import os
from pathlib import Path

import polars as pl

from doisoat import settings
from doisoat.reasons import REASONS, message
from doisoat.textfmt import fmt_int

run_dir = Path(os.environ.get("DOISOAT_RUN", settings.runs_root() / "latest"))
results = pl.read_parquet(run_dir / "results.parquet")

# %% [markdown]
# ## Lý do cần xử lý, khẩn cấp nhất trước

# %%
reasons = (
    results.select("reasons")
    .explode("reasons")
    .drop_nulls()
    .filter(pl.col("reasons").is_in([c for c, r in REASONS.items() if r.dimension != "info"]))
    .group_by("reasons")
    .len()
    .with_columns(
        pl.col("reasons").replace_strict({c: r.urgency for c, r in REASONS.items()}).alias("urgency")
    )
    .sort("urgency", "len", descending=[False, True])
)
for code, n, _ in reasons.iter_rows():
    print(f"{message(code)}: {fmt_int(n)}")

# %% [markdown]
# ## Xã có nhiều bản ghi cần xử lý nhất

# %%
worklists = sorted(p.name for p in (run_dir / "worklists").glob("*.xlsx"))
print(f"{len(worklists)} tệp danh sách rà soát trong {run_dir / 'worklists'}")
busiest = (
    results.filter(pl.col("status") != "matched")
    .group_by("commune_code_std")
    .len()
    .sort("len", descending=True)
)
for code, n in busiest.head(5).iter_rows():
    print(f"Mã xã {code or 'chưa xác định'}: {fmt_int(n)} bản ghi chưa khớp")

# %% [markdown]
# ## Quyết định đã áp dụng ở lần chạy này
# Records linked by an earlier steward decision (pass `steward`, imported with `doisoat decisions import`).

# %%
by_steward = results.filter(pl.col("match_pass") == "steward")
print(f"{fmt_int(by_steward.height)} bản ghi được ghép theo quyết định của cán bộ rà soát")
