"""doisoat: reconcile Vietnamese sector extracts against the population database (Đề án 06)."""

import os as _os

# polars' allocator (jemalloc) keeps freed pages for a while; a run frees gigabytes between steps, so hand them back
# at once to keep the peak down (measured: bench/RESULTS.md). Must be set before polars is first imported; a value
# already in the environment wins.
_os.environ.setdefault("_RJEM_MALLOC_CONF", "dirty_decay_ms:0,muzzy_decay_ms:0")

__version__ = "0.1.0"
