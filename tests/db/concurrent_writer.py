"""A writer for the concurrency tests: N grant/revoke writes on one shared field.

Imported by the tests (operations, expected state, run) and run as a separate OS process:

    python concurrent_writer.py DATABASE_URL WORKER N

It prints "ready" once its Catalog is loaded, waits for "go" on stdin, writes, prints the
revisions its writes returned as JSON, waits for "sync" on stdin (the other writers are done
by then), catches up and prints the description of its index as JSON.

    python concurrent_writer.py DATABASE_URL init

prints "ready", waits for "go", runs `catalog init` (setup.init) and prints its result as JSON.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

FIELD = "test.concurrency.target"
# Disjoint purpose keys per worker, so the final state tells whether any write was lost.
PURPOSES = (
    ("service", "service.delivery", "service.support", "marketing", "marketing.direct"),
    ("analytics", "analytics.aggregate", "pricing", "sharing", "sharing.partners"),
)
CHANNELS = ("email", "sms", "web")


def operations(worker: int, n: int) -> tuple[list[tuple], dict[str, tuple[str, ...]]]:
    """The worker's writes, and the grants (purpose -> channels) they leave behind. Every
    write changes the field, so each is exactly one commit."""
    purposes = PURPOSES[worker]
    ops: list[tuple] = []
    state: dict[str, tuple[str, ...]] = {}
    for i in range(n):
        purpose = purposes[i % len(purposes)]
        if purpose in state and i % 4 == 3:
            ops.append(("revoke", purpose))
            del state[purpose]
        else:
            channels = (CHANNELS[i % len(CHANNELS)],)
            assert state.get(purpose) != channels
            ops.append(("grant", purpose, channels))
            state[purpose] = channels
    return ops, state


def run(cat, worker: int, n: int) -> list[int]:
    """Do the worker's writes through the services; the revisions they returned."""
    from catalog.domain.model import Grant
    from catalog.services import fields
    from catalog.services.auth import SYSTEM

    revisions = []
    for op in operations(worker, n)[0]:
        if op[0] == "grant":
            rec = fields.grant_purpose(cat, SYSTEM, FIELD, Grant(op[1], op[2]))
        else:
            rec = fields.revoke_purpose(cat, SYSTEM, FIELD, op[1])
        revisions.append(rec.revision)
    return revisions


def _conftest():
    path = Path(__file__).resolve().parents[1] / "conftest.py"
    spec = importlib.util.spec_from_file_location("catalog_tests_conftest", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def init(url: str) -> None:
    from catalog.services import setup

    cat = _conftest().make_catalog(url)
    print("ready", flush=True)
    if sys.stdin.readline().strip() != "go":
        raise SystemExit("expected go")
    print(json.dumps(setup.init(cat)), flush=True)
    cat.close()


def main(url: str, worker: int, n: int) -> None:
    conftest = _conftest()
    cat = conftest.make_catalog(url)
    cat.reload()  # loaded before the start, so the writes race
    print("ready", flush=True)
    if sys.stdin.readline().strip() != "go":
        raise SystemExit("expected go")
    print(json.dumps(run(cat, worker, n)), flush=True)
    if sys.stdin.readline().strip() != "sync":
        raise SystemExit("expected sync")
    cat.sync()
    print(json.dumps(conftest.describe_index(cat.index)), flush=True)
    cat.close()


if __name__ == "__main__":
    if sys.argv[2] == "init":
        init(sys.argv[1])
    else:
        main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
