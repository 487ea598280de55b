"""`python -m bench` (`./dev bench`): run the selected sections and print one table."""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

from bench import (
    audit,
    engine,
    http_checks,
    ingest,
    load,
    metrics_cost,
    scale,
    startup,
    workers,
)
from bench.config import Config
from bench.report import Row, render, save

SECTIONS = {"engine": engine.run, "http": http_checks.run, "scale": scale.run,
            "startup": startup.run,
            "workers": workers.run,
            "ingest": ingest.run,
            "audit": audit.run,
            "metrics": metrics_cost.run,
            }
RESULTS = Path(__file__).resolve().parent / "results" / "latest.json"


def size(text: str) -> tuple[int, int]:
    try:
        fields, edges = (int(x.replace("_", "").replace(",", "")) for x in text.split(":"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r}: give FIELDS:EDGES, e.g. 100000:300000") from None
    return fields, edges


def sections(text: str) -> list[str]:
    names = [s.strip() for s in text.split(",") if s.strip()]
    unknown = [s for s in names if s not in SECTIONS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"unknown sections {unknown}: use "
                                         + ",".join(SECTIONS))
    return names


def parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="./dev bench", description=__doc__ + " See bench/README.md.")
    p.add_argument("--only", type=sections, default=list(SECTIONS),
                   help="comma-separated sections (default: all): " + ",".join(SECTIONS))
    size_group = p.add_mutually_exclusive_group()
    size_group.add_argument("--quick", action="store_true",
                            help="small sizes and short runs: a smoke run of a few minutes")
    size_group.add_argument("--large", action="store_true",
                            help="engine and scale at 1M fields / 3M edges (long)")
    p.add_argument("--duration", type=int, help="seconds per measured load run (10; quick 3)")
    p.add_argument("--warmup", type=int, help="seconds of load before each run (2; quick 1)")
    p.add_argument("--rounds", type=int,
                   help="measured runs per HTTP figure, in turns with the reference; the best "
                        "is kept (2; quick 1)")
    p.add_argument("--connections", type=int, help="connections for single checks (16)")
    p.add_argument("--loadgen", choices=("auto", "wrk", "python"), default="auto",
                   help="auto: wrk when installed, else the Python generator")
    p.add_argument("--engine-size", type=size, metavar="FIELDS:EDGES")
    p.add_argument("--http-size", type=size, metavar="FIELDS:EDGES")
    p.add_argument("--scale-size", type=size, metavar="FIELDS:EDGES")
    p.add_argument("--audit-size", type=size, metavar="FIELDS:EDGES",
                   help="the catalog of `audit` (100000:300000; quick 10000:30000)")
    p.add_argument("--startup-size", type=size, metavar="FIELDS:EDGES",
                   help="the deep catalog of `startup` (200000:600000; --large 1000000:3000000)")
    p.add_argument("--shapes", type=lambda v: tuple(v.split(",")), metavar="SHAPES",
                   help="catalog shapes of `scale`: warehouse,deep (both)")
    p.add_argument("--seed", type=int, help="seed of the synthetic catalogs (7)")
    p.add_argument("--profile", action="store_true",
                   help="after `http`, profile the server's check path (cProfile) and print "
                        "its hot spots")
    p.add_argument("--json", type=Path, default=RESULTS,
                   help="also write the rows as JSON here (default bench/results/latest.json)")
    p.add_argument("--keep", action="store_true",
                   help="keep the scratch directory (databases, pools, server logs)")
    return p.parse_args(argv)


def stop_on_sigterm() -> None:
    """SIGTERM ends the run like Ctrl-C: servers are stopped and the scratch directory goes."""
    def handler(signum, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, handler)


def main(argv: list[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    stop_on_sigterm()
    workdir = Path(tempfile.mkdtemp(prefix="catalog-bench-"))
    cfg = Config.make(workdir, quick=args.quick, large=args.large, duration=args.duration,
                      warmup=args.warmup, rounds=args.rounds, connections=args.connections,
                      loadgen=args.loadgen,
                      engine_size=args.engine_size, http_size=args.http_size,
                      scale_size=args.scale_size, scale_shapes=args.shapes,
                      startup_size=args.startup_size, audit_size=args.audit_size,
                      seed=args.seed,
                      profile=args.profile)
    mode = "quick" if args.quick else "large" if args.large else "default"
    needs_http = any(s in args.only for s in ("http", "workers", "ingest", "metrics"))
    tool = load.choose_tool(args.loadgen) if needs_http else "-"
    load_before = os.getloadavg()[0]
    cfg.log(f"bench ({mode}): {', '.join(args.only)}; scratch {workdir}; load average "
            f"{load_before:.2f}")
    rows: list[Row] = []
    failed = []
    try:
        for name in args.only:
            t0 = time.monotonic()
            try:
                rows += SECTIONS[name](cfg)
            except KeyboardInterrupt:  # Ctrl-C or SIGTERM: print what was measured so far
                failed.append(name)
                rows.append(Row(name, "interrupted", None))
                cfg.log(f"{name}: interrupted")
                break
            except Exception as exc:  # report it and go on with the other sections
                failed.append(name)
                rows.append(Row(name, "section failed", None, note=f"{type(exc).__name__}: "
                                f"{exc}"[:600]))
                cfg.log(f"{name}: failed: {exc!r}")
            cfg.log(f"{name}: done in {time.monotonic() - t0:.0f} s")
    finally:
        if args.keep:
            cfg.log(f"scratch kept: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)

    elapsed = time.monotonic() - cfg.started
    meta = {"mode": mode, "sections": args.only, "load_generator": tool,
            "cores": os.cpu_count(), "python": platform.python_version(),
            "machine": platform.platform(), "seconds": round(elapsed, 1),
            "load_average_before": round(load_before, 2),
            "load_average_after": round(os.getloadavg()[0], 2),
            "when": time.strftime("%Y-%m-%d %H:%M:%S")}
    title = (f"Purpose Catalog bench ({mode}) - {time.strftime('%Y-%m-%d %H:%M')}, "
             f"{os.cpu_count()} cores, Python {platform.python_version()}, load generator: "
             f"{tool}, {elapsed:.0f} s, load average {load_before:.1f} before / "
             f"{os.getloadavg()[0]:.1f} after")
    print(render(rows, title))
    for text in cfg.shared.get("after_table", []):
        print(text)
    if args.json:
        save(rows, meta, args.json)
        cfg.log(f"rows written to {args.json}")
    return 130 if any(r.figure == "interrupted" for r in rows) else 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
