"""The console's field page with a big lineage: how long it takes to render and how large it
is. `python -m bench.console` (from the venv; ./dev setup first).

The catalog: one field whose lineage (both directions, depth 10) holds N fields — an
upstream tree of joins with shared sources (so edges span ranks and cross) and a downstream
fan-out. Served in process (Starlette's TestClient, a signed-in reviewer session): each
figure is the whole request — session lookup, 180-cell matrix, history, lineage, layout,
SVG — median and best of the runs."""

from __future__ import annotations

import argparse
import gc
import gzip
import random
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

from catalog.api.app import create_app
from catalog.domain.model import Edge, Grant
from catalog.services import setup
from catalog.services.auth import SYSTEM, create_token
from catalog.services.core import Catalog
from catalog.services.fields import FieldInput, register_fields
from catalog.services.lineage import add_lineages
from catalog.settings import Settings

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

ROOT = "bench.marts.root"
CATEGORIES = ("historical.purchases", "tracking.contact", "internal.preferences",
              "financial.payment", "historical.browsing")


def build(cat: Catalog, nodes: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    up_n = nodes * 3 // 4
    names = [ROOT] + [f"bench.up{i // 20}.f{i:04d}" for i in range(up_n)] + \
        [f"bench.down{i // 20}.f{i:04d}" for i in range(nodes - 1 - up_n)]
    fields = [FieldInput(n, category=rng.choice(CATEGORIES), source="first_party",
                         owner="bench", grants=(Grant("analytics", None),)
                         if rng.random() < 0.7 else ()) for n in names]
    register_fields(cat, SYSTEM, fields)
    ups, downs = names[1:up_n + 1], names[up_n + 1:]
    edges, level = {}, [ROOT]
    rest = list(ups)
    while rest:  # each level's fields get 1-3 parents from the next level
        nxt, rest = rest[:max(2, len(level) * 2)], rest[max(2, len(level) * 2):]
        for child in level:
            for parent in rng.sample(nxt, min(len(nxt), rng.choice((1, 2, 3)))):
                edges[(parent, child)] = Edge(parent, child, rng.choice(
                    ("join on customer_id", "sum over 30 days", None, "lookup")))
        for parent in nxt:  # every field of the level feeds one at least: all reachable
            if not any(u == parent for u, _ in edges):
                child = rng.choice(level)
                edges[(parent, child)] = Edge(parent, child, "lookup")
        level = nxt
    for i, d in enumerate(downs):
        parent = ROOT if i < 5 else downs[(i - 5) // 3]  # a fan-out tree, depth < 10
        edges[(parent, d)] = Edge(parent, d, "copy")
    add_lineages(cat, SYSTEM, list(edges.values()))


def main(argv: list[str]) -> None:
    p = argparse.ArgumentParser(prog="python -m bench.console", description=__doc__)
    p.add_argument("--nodes", type=int, nargs="+", default=[50, 200, 400],
                   help="fields in the lineage (beyond 200 the picture folds)")
    p.add_argument("--runs", type=int, default=20)
    args = p.parse_args(argv)
    print(f"{'lineage':>8} {'drawn':>6} {'median ms':>10} {'best ms':>8} {'page KB':>8} "
          f"{'gzip KB':>8}")
    for nodes in args.nodes:
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite:///{Path(tmp) / 'bench.db'}"
            cat = Catalog(database_url=url, settings=Settings(database_url=url))
            setup.init(cat)
            build(cat, nodes)
            _, token = create_token(cat, SYSTEM, role="reviewer", name="bench")
            client = TestClient(create_app(cat, background_sync=False),
                                follow_redirects=False)
            client.post("/signin", data={"token": token})
            gc.collect()
            gc.freeze()  # as `catalog serve` does after start-up (catalog/api/app.py)
            address = f"/fields/{ROOT}?depth=10&purpose=analytics.aggregate&channel=web"
            page = client.get(address)
            assert page.status_code == 200, page.text[:500]
            times = []
            for _ in range(args.runs):
                t = time.perf_counter()
                client.get(address)
                times.append((time.perf_counter() - t) * 1000)
            drawn = page.text.count("data-field=")
            print(f"{nodes:>8} {drawn:>6} {statistics.median(times):>10.1f} "
                  f"{min(times):>8.1f} {len(page.content) / 1024:>8.0f} "
                  f"{len(gzip.compress(page.content)) / 1024:>8.0f}")
            cat.close()


if __name__ == "__main__":
    main(sys.argv[1:])
