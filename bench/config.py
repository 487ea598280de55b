"""What one run measures and how long: sizes and durations for the default, --quick and
--large runs, the scratch directory, and what sections share (the HTTP catalog)."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Config:
    workdir: Path
    seed: int = 7
    quick: bool = False
    large: bool = False
    # engine
    engine_size: tuple[int, int] = (100_000, 300_000)
    engine_requests: int = 10_000  # single checks, each distinct (so the cold pass is cold)
    engine_batches: int = 10  # check_many batches of 1,000
    writes: int = 200
    notice_fields: int = 10_000  # the customer notice is timed on a catalog this size
    # http and workers
    http_size: tuple[int, int] = (2_000, 6_000)
    check_pool: int = 5_000  # distinct check bodies the load generator picks from
    many_pool: int = 20  # distinct checkMany bodies of 1,000 requests each
    duration: int = 10  # seconds per measured load run
    warmup: int = 2  # seconds of load before each measured run, not counted
    rounds: int = 2  # measured runs per figure, taken in turns with its reference; best kept
    connections: int = 16  # for the single-check runs; checkMany runs use 1
    loadgen: str = "auto"
    profile: bool = False
    # scale
    scale_size: tuple[int, int] = (100_000, 300_000)
    scale_shapes: tuple[str, ...] = ("warehouse", "deep")
    startup_size: tuple[int, int] = (200_000, 600_000)  # the `startup` section
    lineage_samples: int = 200
    audit_size: tuple[int, int] = (100_000, 300_000)  # the `audit` section's catalog
    scale_writes: int = 100
    started: float = field(default_factory=time.monotonic)
    shared: dict = field(default_factory=dict)  # e.g. the HTTP catalog, built once

    @classmethod
    def make(cls, workdir: Path, *, quick: bool, large: bool, **overrides) -> Config:
        cfg = cls(workdir=workdir, quick=quick, large=large)
        if quick:
            cfg.engine_size = (10_000, 30_000)
            cfg.engine_requests, cfg.engine_batches, cfg.writes = 5_000, 5, 50
            cfg.notice_fields = 2_000
            cfg.http_size, cfg.check_pool, cfg.many_pool = (1_000, 3_000), 2_000, 5
            cfg.duration, cfg.warmup, cfg.rounds = 3, 1, 1
            cfg.scale_size, cfg.lineage_samples, cfg.scale_writes = (10_000, 30_000), 50, 30
            cfg.startup_size = (20_000, 60_000)
            cfg.audit_size = (10_000, 30_000)
        if large:
            cfg.engine_size = cfg.scale_size = cfg.startup_size = (1_000_000, 3_000_000)
        for key, value in overrides.items():
            if value is not None:
                setattr(cfg, key, value)
        return cfg

    def log(self, message: str) -> None:
        elapsed = time.monotonic() - self.started
        print(f"[{elapsed:6.1f}s] {message}", file=sys.stderr, flush=True)
