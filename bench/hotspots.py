"""`--profile`: the HTTP check load once more against a catalog server running under cProfile
(bench/profiled.py), primed and warmed up as in the measured runs before profiling starts;
then its hot spots by own time and by cumulative time. cProfile slows
the server down, so these runs give no figures for the table: only where the time goes."""

from __future__ import annotations

import io
import os
import pstats
import signal

from bench import load
from bench.http_checks import prime
from bench.report import Row
from bench.server import Server

TOP = 25


def run(cfg, tool: str, hc) -> list[Row]:
    out = cfg.workdir / "check.prof"
    env = {"CATALOG_DATABASE_URL": hc.db_url, "BENCH_PROFILE_OUT": str(out)}
    text = []
    for label, pool, conns in (("check", hc.check_pool, cfg.connections),
                               ("checkMany x1000", hc.many_pool, 1)):
        cfg.log(f"profile: {label} under cProfile for {cfg.duration} s")
        with Server("bench.profiled:app_factory", env=env,
                    log_path=cfg.workdir / "catalog-profile.log") as srv:
            prime(srv.port, hc.token, pool)  # as in the measured runs: warm decisions
            load.run(tool, srv.url, pool, token=hc.token, connections=conns,
                     seconds=cfg.warmup, seed=cfg.seed + 100)
            os.kill(srv.proc.pid, signal.SIGUSR1)  # start profiling
            load.run(tool, srv.url, pool, token=hc.token, connections=conns,
                     seconds=cfg.duration, seed=cfg.seed)
        text.append(hot_spots(out, f"HTTP {label} path"))
    cfg.shared.setdefault("after_table", []).extend(text)
    return []


def hot_spots(path, title: str) -> str:
    buf = io.StringIO()
    stats = pstats.Stats(str(path), stream=buf)
    stats.strip_dirs()
    buf.write(f"\n=== {title}: top {TOP} by own time (tottime) ===\n")
    stats.sort_stats("tottime").print_stats(TOP)
    buf.write(f"\n=== {title}: top {TOP} by cumulative time ===\n")
    stats.sort_stats("cumulative").print_stats(TOP)
    return buf.getvalue()
