"""The decision log across real server processes (docs/semantics.md §10): counts from every worker
reach the database in the background and equal the checks sent; stopping a server flushes; with the
log off nothing is written."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from test_api_multiprocess import free_port, serve_command

from catalog.db.tables import DecisionLogRow
from catalog.services.auth import SYSTEM, create_token

pytestmark = pytest.mark.slow

CHECK = ('{ check(field: "crm.customers.email", purpose: "service", channel: "web") '
         '{ allowed } }')
MANY = ('query($q: [CheckInput!]!) { checkMany(requests: $q) { allowed } }')


def logged(cat) -> dict[tuple[str, str], int]:
    t = DecisionLogRow.__table__
    with cat.engine.connect() as conn:
        rows = conn.execute(sa.select(t.c.caller, t.c.purpose, sa.func.sum(t.c.count))
                            .group_by(t.c.caller, t.c.purpose)).all()
    return {(c, p): int(n) for c, p, n in rows}


class Server:
    def __init__(self, database_url: str, tmp_path: Path, workers: int, **env: str) -> None:
        port = free_port()
        self.base = f"http://127.0.0.1:{port}"
        self.log = tmp_path / f"server-{port}.log"
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen(
                serve_command(port, workers), stdout=out, stderr=subprocess.STDOUT,
                env={**os.environ, "CATALOG_DATABASE_URL": database_url, **env},
                start_new_session=True)
        deadline = time.monotonic() + 180  # a loaded machine
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.log.read_text()[-3000:]
            try:
                if httpx.get(f"{self.base}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.1)
        pytest.fail("the server did not start")

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=5)


@pytest.fixture
def servers(database_url, tmp_path):
    started: list[Server] = []

    def start(workers: int = 1, **env: str) -> Server:
        started.append(Server(database_url, tmp_path, workers, **env))
        return started[-1]

    yield start
    for s in started:
        s.stop()


def send(base: str, token: str, singles: int, batches: int) -> None:
    def one(i: int) -> None:
        # A new connection per request, so the kernel spreads them over the workers.
        with httpx.Client(base_url=base, timeout=30,
                          headers={"Authorization": f"Bearer {token}"}) as c:
            if i < singles:
                body = {"query": CHECK}
            else:
                body = {"query": MANY, "variables": {"q": [{
                    "field": "crm.customers.email", "purpose": "marketing.direct",
                    "channel": "email"}] * 10}}
            r = c.post("/graphql", json=body)
            assert r.status_code == 200 and "errors" not in r.json(), r.text

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(one, range(singles + batches)))


def one_backend(database_url: str, wanted: str) -> None:
    """Servers take seconds to start on this shared machine: each test runs on one backend
    (the two-worker one on PostgreSQL when a server is there)."""
    has_pg = bool(os.environ.get("CATALOG_TEST_POSTGRES_URL"))
    backend = "sqlite" if database_url.startswith("sqlite") else "postgres"
    if has_pg and backend != wanted:
        pytest.skip(f"runs on {wanted} only")


def test_counts_from_two_workers_equal_the_checks_sent(database_url, demo_catalog, servers):
    one_backend(database_url, "postgres")
    token = create_token(demo_catalog, SYSTEM, role="pipeline", name="two-workers")[1]
    server = servers(workers=2, CATALOG_DECISION_LOG_FLUSH="0.3")
    send(server.base, token, singles=40, batches=6)
    expected = {("two-workers", "service"): 40, ("two-workers", "marketing.direct"): 60}
    deadline = time.monotonic() + 20
    while logged(demo_catalog) != expected and time.monotonic() < deadline:
        time.sleep(0.2)  # flushed in the background, the server still running
    assert logged(demo_catalog) == expected
    server.stop()
    assert logged(demo_catalog) == expected  # the final flush adds nothing twice


def test_stopping_a_server_flushes_and_off_writes_nothing(database_url, demo_catalog,
                                                          servers):
    one_backend(database_url, "sqlite")
    token = create_token(demo_catalog, SYSTEM, role="pipeline", name="stopping")[1]
    off = servers(CATALOG_DECISION_LOG="off", CATALOG_DECISION_LOG_FLUSH="0.1")
    send(off.base, token, singles=5, batches=1)
    time.sleep(0.5)
    off.stop()
    assert logged(demo_catalog) == {}
    slow = servers(CATALOG_DECISION_LOG_FLUSH="3600")
    send(slow.base, token, singles=7, batches=2)
    assert logged(demo_catalog) == {}  # not yet: the flush is an hour away
    slow.stop()
    assert logged(demo_catalog) == {("stopping", "service"): 7,
                                    ("stopping", "marketing.direct"): 20}
