"""Prefect flows: thin orchestration over :mod:`doisoat.pipeline`."""

from doisoat.settings import configure_prefect_env

configure_prefect_env()  # before anything imports prefect
