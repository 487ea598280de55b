"""Settings: one class, CATALOG_ prefix, built on first use (nothing at import time)."""

from __future__ import annotations

from functools import lru_cache

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CATALOG_", extra="ignore")

    database_url: str = "sqlite:///catalog.db"
    # How stale a plain check (no atLeastRevision) may be: other processes' writes are picked
    # up at most this many seconds after they commit.
    sync_interval: float = 0.5
    # How long a check with atLeastRevision waits for that revision before CONFLICT.
    revision_wait: float = 5.0
    introspection: bool = True
    max_body_bytes: int = 5_000_000
    token_cache_seconds: float = 5.0
    # GET /metrics (Prometheus); off hides it.
    metrics: bool = True
    # OpenLineage name mapping rules: a YAML list of {namespace, dataset_prefix, field_prefix},
    # or the path of a YAML file that holds one (docs/semantics.md §11).
    openlineage_mapping: str | None = None
    # The decision log (docs/semantics.md §10): on/off, seconds between flushes, days kept.
    decision_log: bool = True
    decision_log_flush: float = 5.0
    decision_log_days: int = 90


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
