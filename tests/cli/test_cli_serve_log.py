"""`catalog serve` as a user starts it (docs/semantics.md §7): no log line per request by default,
`--access-log` turns uvicorn's on; start-up and shutdown are logged either way."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from catalog.services.auth import SYSTEM, create_token
from catalog.services.core import Catalog

pytestmark = pytest.mark.slow
CATALOG = Path(sys.executable).parent / "catalog"
CHECK = '{ check(field: "a.b.c", purpose: "service", channel: "email") { allowed } }'


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve_and_ask(url: str, token: str, log: Path, *extra: str) -> str:
    """Start `catalog serve`, answer three checks, stop it (Ctrl-C); its output."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CATALOG_")}
    with log.open("wb") as out:
        proc = subprocess.Popen([str(CATALOG), "serve", "--port", str(port), "--database-url",
                                 url, *extra], stdout=out, stderr=subprocess.STDOUT, env=env,
                                start_new_session=True)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, log.read_text()
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.1)
        for _ in range(3):
            r = httpx.post(f"{base}/graphql", json={"query": CHECK},
                           headers={"Authorization": f"Bearer {token}"}, timeout=30)
            assert r.status_code == 200 and r.json()["data"]["check"]["allowed"] is False
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    return log.read_text()


def test_serve_logs_no_line_per_request_unless_asked(initialized: str, tmp_path: Path):
    cat = Catalog(database_url=initialized)
    try:
        token = create_token(cat, SYSTEM, role="pipeline", name="log-test")[1]
    finally:
        cat.close()
    quiet = serve_and_ask(initialized, token, tmp_path / "quiet.log")
    assert "Application startup complete" in quiet and "Shutting down" in quiet, quiet
    assert "POST /graphql" not in quiet and "GET /healthz" not in quiet, quiet

    loud = serve_and_ask(initialized, token, tmp_path / "loud.log", "--access-log")
    assert "Application startup complete" in loud and "Shutting down" in loud, loud
    assert loud.count('"POST /graphql HTTP/1.1" 200') == 3, loud
