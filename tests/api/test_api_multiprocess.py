"""Freshness across real server processes on one database (docs/semantics.md §4): after a
revoke has returned revision r on one server, a check with atLeastRevision r on any other
server (or any worker of a multi-worker server) never allows what was revoked."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from catalog.services.auth import SYSTEM, create_token

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent
FIELD, PURPOSE, CHANNEL = "crm.customers.email", "service", "email"
GRANT = {"purpose": PURPOSE, "channels": ["email"]}

REVOKE = ("mutation($f: String!, $p: String!) { revokePurpose(field: $f, purpose: $p) "
          "{ revision } }")
GRANT_Q = ("mutation($f: String!, $g: GrantInput!) { grantPurpose(field: $f, grant: $g) "
           "{ revision } }")
CHECK = ("query($r: Int) { check(field: \"crm.customers.email\", purpose: \"service.delivery\", "
         "channel: \"email\", atLeastRevision: $r) { allowed revision reasons { code } } }")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve_command(port: int, workers: int) -> list[str]:
    try:
        import catalog.cli.commands.serve  # noqa: F401
        return [str(BIN / "catalog"), "serve", "--host", "127.0.0.1", "--port", str(port),
                "--workers", str(workers)]
    except ImportError:  # the CLI command is not there: run uvicorn as it would
        return [sys.executable, "-m", "uvicorn", "--factory", "catalog.api.app:app_factory",
                "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]


@pytest.fixture
def start_server(database_url: str, tmp_path: Path) -> Iterator[Callable[..., list[str]]]:
    """Start `catalog serve` on the test database; returns base URLs. Every server started
    is stopped (its whole process group: uvicorn workers too) at teardown, before the
    database is dropped."""
    procs: list[subprocess.Popen] = []

    def spawn(workers: int) -> tuple[subprocess.Popen, str, Path]:
        port = free_port()
        log_path = tmp_path / f"server-{port}.log"
        env = {**os.environ, "CATALOG_DATABASE_URL": database_url}
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(serve_command(port, workers), env=env, stdout=log,
                                    stderr=subprocess.STDOUT, start_new_session=True)
        procs.append(proc)
        return proc, f"http://127.0.0.1:{port}", log_path

    def wait_until_up(proc: subprocess.Popen, base: str, log_path: Path) -> str:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                pytest.fail(f"server exited with {proc.returncode}:\n"
                            + log_path.read_text()[-3000:])
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    return base
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        pytest.fail(f"{base} did not answer /healthz within 90 s")

    def start(count: int = 1, workers: int = 1) -> list[str]:
        """Start `count` servers at once (they take seconds to import) and wait for all."""
        spawned = [spawn(workers) for _ in range(count)]
        return [wait_until_up(*s) for s in spawned]

    try:
        yield start
    finally:
        for proc in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)


def gql(client: httpx.Client, token: str, query: str, variables: dict) -> dict:
    r = client.post("/graphql", json={"query": query, "variables": variables},
                    headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert not body.get("errors"), body["errors"]
    return body["data"]


def revoke(client, token) -> int:
    return gql(client, token, REVOKE, {"f": FIELD, "p": PURPOSE})["revokePurpose"]["revision"]


def grant(client, token) -> int:
    return gql(client, token, GRANT_Q, {"f": FIELD, "g": GRANT})["grantPurpose"]["revision"]


def check(client, token, revision: int) -> dict:
    d = gql(client, token, CHECK, {"r": revision})["check"]
    assert d["revision"] >= revision
    return d


def tokens(cat) -> tuple[str, str]:
    return (create_token(cat, SYSTEM, role="admin", name="mp-admin")[1],
            create_token(cat, SYSTEM, role="pipeline", name="mp-pipeline")[1])


def test_a_revoke_on_one_server_holds_at_its_revision_on_another(demo_catalog, start_server):
    admin, pipeline = tokens(demo_catalog)
    one, two = start_server(count=2)
    with httpx.Client(base_url=one, timeout=30) as c1, \
            httpx.Client(base_url=two, timeout=30) as c2:
        assert check(c2, pipeline, 0)["allowed"] is True
        for _ in range(20):
            r = revoke(c1, admin)
            d = check(c2, pipeline, r)
            assert d["allowed"] is False, f"allowed at revision {d['revision']} after revoke {r}"
            assert [x["code"] for x in d["reasons"]] == ["PURPOSE_NOT_GRANTED"]
            r = grant(c1, admin)
            assert check(c2, pipeline, r)["allowed"] is True
        # The other way round too: writes on two, checks on one.
        r = revoke(c2, admin)
        assert check(c1, pipeline, r)["allowed"] is False


def test_every_worker_of_a_multi_worker_server_honours_the_revision(database_url, demo_catalog,
                                                                   start_server):
    if database_url.startswith("sqlite") and os.environ.get("CATALOG_TEST_POSTGRES_URL"):
        pytest.skip("one multi-worker run is enough; it runs on PostgreSQL")
    admin, pipeline = tokens(demo_catalog)
    [base] = start_server(workers=2)
    def fresh_check(revision: int) -> dict:
        # A new connection per request, so the kernel spreads them over the workers.
        with httpx.Client(base_url=base, timeout=30) as c:
            return check(c, pipeline, revision)

    with ThreadPoolExecutor(max_workers=8) as pool:
        for round_ in range(4):
            with httpx.Client(base_url=base, timeout=30) as c:
                r = revoke(c, admin) if round_ % 2 == 0 else grant(c, admin)
            for d in pool.map(fresh_check, [r] * 16):
                assert d["allowed"] is (round_ % 2 == 1), (round_, r, d)
