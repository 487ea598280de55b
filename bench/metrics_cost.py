"""Section `metrics` (issue 13): what /metrics costs on the check path. The same catalog and
request pools as the `http` section, served by two single-worker servers that differ only in
CATALOG_METRICS (on, in prometheus-client's multiprocess mode as `catalog serve` runs it; and
off), measured in turns. Target: metrics on costs under 3% (throughput and server CPU per
request), for check and for checkMany x1000."""

from __future__ import annotations

import time
from collections import deque
from contextlib import ExitStack

from bench import load
from bench.http_checks import http_catalog, measure, prime
from bench.report import Row
from bench.server import CATALOG_APP, Server

SECTION = "metrics"
TARGET = 0.03


def run(cfg) -> list[Row]:
    tool = load.choose_tool(cfg.loadgen)
    hc = http_catalog(cfg)
    metrics_dir = cfg.workdir / "metrics"
    metrics_dir.mkdir(exist_ok=True)
    envs = {"on": {"CATALOG_DATABASE_URL": hc.db_url, "CATALOG_METRICS": "on",
                   "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)},
            "off": {"CATALOG_DATABASE_URL": hc.db_url, "CATALOG_METRICS": "off"}}
    cfg.log(f"metrics: two catalog servers (metrics on / off), {tool}, {cfg.rounds} x "
            f"{cfg.duration} s per figure, in turns")
    runs: dict[tuple[str, str], list[load.LoadResult]] = {}
    with ExitStack() as stack:
        servers = {k: stack.enter_context(Server(CATALOG_APP, env=env,
                                                 log_path=cfg.workdir / f"metrics-{k}.log"))
                   for k, env in envs.items()}
        for srv in servers.values():
            prime(srv.port, hc.token, hc.check_pool)
            prime(srv.port, hc.token, hc.many_pool)
        for _ in range(cfg.rounds):
            for mode, srv in servers.items():
                runs.setdefault(("check", mode), []).append(
                    measure(cfg, tool, srv, hc.check_pool, hc.token, cfg.connections))
                runs.setdefault(("many", mode), []).append(
                    measure(cfg, tool, srv, hc.many_pool, hc.token, 1))
    rows = hot_path_rows(cfg, hc, min(r.cpu_us_per_request for r in runs[("check", "off")]))
    for what, label in (("check", "check"), ("many", "checkMany x1000")):
        on = max(runs[(what, "on")], key=lambda r: r.rps)
        off = max(runs[(what, "off")], key=lambda r: r.rps)
        cost = 1 - on.rps / off.rps if off.rps else float("nan")
        rows.append(Row(SECTION, f"{label}: throughput, metrics on", on.rps, "req/s",
                        f"off {off.rps:,.1f} req/s", cost, f"< {TARGET:.0%}", cost < TARGET,
                        note=f"ratio = throughput lost with metrics on; best of {cfg.rounds} "
                             f"runs of {cfg.duration} s each, on and off in turns; {hc.size}"))
        cpu_on = min(r.cpu_us_per_request for r in runs[(what, "on")])
        cpu_off = min(r.cpu_us_per_request for r in runs[(what, "off")])
        cpu_cost = cpu_on / cpu_off - 1 if cpu_off else float("nan")
        rows.append(Row(SECTION, f"{label}: server CPU per request, metrics on", cpu_on, "µs",
                        f"off {cpu_off:,.0f} µs", cpu_cost, f"< {TARGET:.0%}",
                        cpu_cost < TARGET,
                        note="ratio = extra CPU per request with metrics on (least of the "
                             "runs); steadier than throughput on a busy machine"))
    return rows


def hot_path_rows(cfg, hc, cpu_off_us: float) -> list[Row]:
    """The work metrics add, timed in process (steady on a busy machine, unlike the HTTP
    figures): per request, what the endpoint and services.checks do (a timestamp, a scope
    entry, two O(1) deque appends); per decision, what the flush does later."""
    from catalog.api.graphql.schema import get_schema
    from catalog.api.metrics import Metrics
    from catalog.services.core import Catalog

    cat = Catalog(database_url=hc.db_url)
    try:
        cat.reload()
        schema = get_schema(True)._schema
        metrics = Metrics(cat, set(schema.query_type.fields))
        decisions = [cat.index.check(*t) for t in hc.check_triples[:1000]]
        n = 200_000
        scope: dict = {}
        seen = cat.seen = deque()
        query = "query { check }"
        start = time.process_time()  # CPU time: what a busy machine does not inflate
        for i in range(n):  # the request path: endpoint and checks
            started = time.perf_counter()
            scope["catalog.query"] = query
            if seen is not None:
                seen.append(decisions[i % 1000])
            metrics.request(scope.get("catalog.query"), started)
        per_request_ns = (time.process_time() - start) / n * 1e9
        start = time.process_time()
        metrics.flush()
        flush_ns = (time.process_time() - start) / n * 1e9
    finally:
        cat.close()
    share = (per_request_ns + flush_ns) / (cpu_off_us * 1000) if cpu_off_us else float("nan")
    return [Row(SECTION, "check: work metrics add per request (in process)",
                per_request_ns + flush_ns, "ns", f"server CPU per check {cpu_off_us:,.0f} µs",
                share, f"< {TARGET:.0%}", share < TARGET,
                note=f"{per_request_ns:,.0f} ns on the request path (timestamp, scope entry, "
                     f"two deque appends) + {flush_ns:,.0f} ns in the flush thread, per "
                     f"request of one decision; {n:,} requests timed in process (CPU time)")]
