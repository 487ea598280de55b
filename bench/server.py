"""Servers under test, on loopback only: uvicorn in a child process (its own session, so it and
its workers stop with it), a free port, a readiness probe, RSS; plus seeding a database through
the services, and a small keep-alive HTTP client for the sequential measurements."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import orjson

from bench.synth import SynthCatalog
from catalog.domain.model import FieldRecord
from catalog.services import setup
from catalog.services.auth import SYSTEM, create_token
from catalog.services.core import Catalog
from catalog.services.fields import FieldInput, register_fields
from catalog.services.lineage import add_lineages
from catalog.settings import Settings

HOST = "127.0.0.1"
ROOT = Path(__file__).resolve().parents[1]
CATALOG_APP = "catalog.api.app:app_factory"
FLOOR_APP = "bench.floor:app_factory"
BATCH = 10_000


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


class Server:
    """`uvicorn --factory APP` on 127.0.0.1 with the settings every server here shares."""

    def __init__(self, app: str, *, env: dict[str, str], log_path: Path, workers: int = 1):
        self.app, self.workers, self.log_path = app, workers, log_path
        self.port = free_port()
        self.env = {**os.environ, **env,
                    "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT),
                                                                os.environ.get("PYTHONPATH")]))}
        self.proc: subprocess.Popen | None = None
        self.started_at = 0.0

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def command(self) -> list[str]:
        cmd = [sys.executable, "-m", "uvicorn", "--factory", self.app, "--host", HOST,
               "--port", str(self.port), "--no-access-log", "--log-level", "warning"]
        return cmd + (["--workers", str(self.workers)] if self.workers > 1 else [])

    def start(self, timeout: float = 120) -> float:
        """Start and wait for GET /healthz to answer 200; returns the seconds that took."""
        log = self.log_path.open("ab")
        self.started_at = time.perf_counter()
        self.proc = subprocess.Popen(self.command(), cwd=ROOT, env=self.env, stdout=log,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     start_new_session=True)
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.app} exited with {self.proc.returncode}; see "
                                   f"{self.log_path}:\n{tail(self.log_path)}")
            if healthy(self.port):
                return time.perf_counter() - self.started_at
            time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"{self.app} did not answer /healthz within {timeout:.0f} s; see "
                           f"{self.log_path}")

    def rss_mb(self) -> float:
        """Resident memory of the server and its worker processes, MiB."""
        if self.proc is None:
            return float("nan")
        pids = [self.proc.pid, *children(self.proc.pid)]
        return sum(rss_kb(p) for p in pids) / 1024

    def cpu_seconds(self) -> dict[int, float]:
        """CPU time used so far (user + system) by the server process and each worker."""
        if self.proc is None:
            return {}
        return {p: cpu_seconds(p) for p in [self.proc.pid, *children(self.proc.pid)]}

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)  # its own session: only what we started
            self.proc.wait(timeout=10)

    def __enter__(self) -> Server:
        if self.proc is None:
            self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def healthy(port: int) -> bool:
    try:
        conn = http.client.HTTPConnection(HOST, port, timeout=2)
        conn.request("GET", "/healthz")
        ok = conn.getresponse().status == 200
        conn.close()
        return ok
    except OSError:
        return False


def rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children(pid: int) -> list[int]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


def tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


class Client:
    """One keep-alive connection; post() returns (parsed JSON, response bytes, seconds)."""

    def __init__(self, port: int, token: str | None = None, timeout: float = 600):
        self.conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
        self.headers = {"Content-Type": "application/json"}
        if token:
            self.headers["Authorization"] = f"Bearer {token}"

    def post_raw(self, body: bytes, path: str = "/graphql") -> tuple[int, bytes, float]:
        t0 = time.perf_counter()
        self.conn.request("POST", path, body=body, headers=self.headers)
        resp = self.conn.getresponse()
        data = resp.read()
        return resp.status, data, time.perf_counter() - t0

    def graphql(self, query: str, variables: dict | None = None) -> tuple[dict, int, float]:
        body = orjson.dumps({"query": query, "variables": variables or {}})
        status, data, seconds = self.post_raw(body)
        out = orjson.loads(data)
        if status != 200 or out.get("errors"):
            raise RuntimeError(f"HTTP {status}: {data[:500]!r}")
        return out["data"], len(data), seconds

    def close(self) -> None:
        self.conn.close()


# -- databases -------------------------------------------------------------------------------
def open_catalog(db_url: str) -> Catalog:
    return Catalog(database_url=db_url, settings=Settings(database_url=db_url))


def init_database(db_url: str) -> None:
    """`catalog init`: schema and the default taxonomy and rules."""
    cat = open_catalog(db_url)
    try:
        setup.init(cat)
    finally:
        cat.close()


def token(db_url: str, role: str) -> str:
    cat = open_catalog(db_url)
    try:
        return create_token(cat, SYSTEM, role=role, name=f"bench-{role}")[1]
    finally:
        cat.close()


def seed_database(db_url: str, synth: SynthCatalog) -> None:
    """init, then the synthetic catalog through the services, in batches of 10,000."""
    cat = open_catalog(db_url)
    try:
        setup.init(cat)
        for i in range(0, len(synth.fields), BATCH):
            register_fields(cat, SYSTEM, [field_input(f) for f in synth.fields[i:i + BATCH]])
        for i in range(0, len(synth.edges), BATCH):
            add_lineages(cat, SYSTEM, synth.edges[i:i + BATCH])
    finally:
        cat.close()


def field_input(f: FieldRecord) -> FieldInput:
    return FieldInput(name=f.name, category=f.category, source=f.source, owner=f.owner,
                      description=f.description, source_system=f.source_system, grants=f.grants)
