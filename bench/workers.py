"""Section `workers` (issue 5, item 5): the same single-check load as `http` against
`--workers 1` and `--workers 2` of the same server, one after the other; the ratio of their
throughputs is the figure (target >= 1.7 on 2 cores). Each worker keeps its own index and
memoized decisions, so both configurations are primed before the warm-up and the run. The
load generator runs on the same machine and takes CPU from the workers: the note says how many
cores there were and how busy each worker was."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack

from bench import load
from bench.http_checks import http_catalog, many_body, measure
from bench.report import Row
from bench.server import CATALOG_APP, Client, Server

SECTION = "workers"
TARGET = 1.7


def prime_workers(srv: Server, hc, connections: int) -> None:
    """Warm every worker's memoized decisions for the check pool, as the `http` section's
    priming pass does for one: the pool's triples in checkMany batches of 1,000, sent in full
    on each of several concurrent connections, which the workers accept between them."""
    bodies = [many_body(hc.check_triples[i:i + 1000])
              for i in range(0, len(hc.check_triples), 1000)]

    def send_all() -> None:
        client = Client(srv.port, hc.token)
        try:
            for body in bodies:
                status, data, _ = client.post_raw(body)
                if status != 200:
                    raise RuntimeError(f"priming failed: HTTP {status}: {data[:300]!r}")
        finally:
            client.close()

    with ThreadPoolExecutor(connections) as ex:
        for f in [ex.submit(send_all) for _ in range(connections)]:
            f.result()


def run(cfg) -> list[Row]:
    tool = load.choose_tool(cfg.loadgen)
    hc = http_catalog(cfg)
    env = {"CATALOG_DATABASE_URL": hc.db_url}
    conns = max(cfg.connections, 16)
    runs: dict[int, list[load.LoadResult]] = {1: [], 2: []}
    with ExitStack() as stack:
        servers = {}
        for workers in (1, 2):
            servers[workers] = srv = stack.enter_context(Server(
                CATALOG_APP, env=env, workers=workers,
                log_path=cfg.workdir / f"catalog-workers{workers}.log"))
            prime_workers(srv, hc, connections=4 * workers)
        cfg.log(f"workers: --workers 1 and 2 in turns, {tool} with {conns} connections, "
                f"{cfg.rounds} x {cfg.duration} s each")
        for _ in range(cfg.rounds):
            for workers in (1, 2):
                runs[workers].append(measure(cfg, tool, servers[workers], hc.check_pool,
                                             hc.token, conns))
        masters = {w: s.proc.pid for w, s in servers.items()}
    one, two = (max(runs[w], key=lambda r: r.rps) for w in (1, 2))
    busy = {w: sorted((cpu / r.seconds for pid, cpu in r.cpu_by_pid.items()
                       if w == 1 or pid != masters[w]), reverse=True)[:w]
            for w, r in ((1, one), (2, two))}
    ratio = two.rps / one.rps if one.rps else float("nan")
    return [
        Row(SECTION, "check, 2 workers: throughput", two.rps, "req/s",
            f"1 worker {one.rps:,.0f} req/s", ratio, f">= {TARGET}x", ratio >= TARGET,
            note=f"{os.cpu_count()} cores shared with the load generator ({two.tool}); best "
                 f"of {cfg.rounds} runs each, in turns; p50 {two.p50_ms:.2f} ms vs "
                 f"{one.p50_ms:.2f} ms, p99 {two.p99_ms:.2f} ms vs {one.p99_ms:.2f} ms; CPU "
                 f"busy per worker (cores): {', '.join(f'{b:.2f}' for b in busy[2])} vs "
                 f"{busy[1][0]:.2f}; CPU per request {two.cpu_us_per_request:.0f} µs vs "
                 f"{one.cpu_us_per_request:.0f} µs"),
    ]
