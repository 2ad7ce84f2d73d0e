"""doisoat: reconcile Vietnamese sector extracts against the population database (Đề án 06)."""

__version__ = "0.1.0"
