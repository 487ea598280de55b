"""`catalog serve`: the GraphQL API (uvicorn), GraphiQL at /graphql in a browser."""

from __future__ import annotations

import importlib.util
import inspect
import os
import shutil
import tempfile
from typing import Annotated

import typer

from catalog.cli.app import app
from catalog.cli.common import DEFAULT_URL, DatabaseUrl, fail, guarded, is_memory, open_catalog
from catalog.settings import get_settings

APP_FACTORY = "catalog.api.app:app_factory"
WORKER_HEALTHCHECK_SECONDS = 60
METRICS_DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"  # read by prometheus-client (api/metrics.py)

Host = Annotated[str, typer.Option(
    metavar="HOST", help="address to listen on (0.0.0.0 for every interface)")]
Port = Annotated[int, typer.Option(min=1, max=65535, metavar="PORT", help="port to listen on")]


@app.command()
@guarded
def serve(
    host: Host = "127.0.0.1",
    port: Port = 8000,
    workers: Annotated[int, typer.Option(
        min=1, metavar="N", help="worker processes; each keeps its own index in step with the "
                                 "database")] = 1,
    access_log: Annotated[bool, typer.Option(
        "--access-log", help="log one line per request (off by default: it costs about a "
                             "quarter of the check throughput; errors and start/stop are "
                             "logged either way)")] = False,
    database_url: DatabaseUrl = DEFAULT_URL,
) -> None:
    """Serve the API: POST /graphql (token needed), GraphiQL on GET /graphql, GET /healthz."""
    run_server(database_url, host=host, port=port, workers=workers, access_log=access_log)


def run_server(database_url: str, *, host: str, port: int, workers: int = 1,
               access_log: bool = False) -> None:
    """Check the database first (one clear line instead of a failing worker), then run uvicorn;
    workers read the URL from CATALOG_DATABASE_URL like every other setting."""
    if is_memory(database_url):
        fail("an in-memory SQLite database lives in one process only: serve a file "
             "(sqlite:///catalog.db) or PostgreSQL")
    with open_catalog(database_url) as cat:
        cat.reload()  # reachable, and holds a catalog
    if importlib.util.find_spec("catalog.api.app") is None:
        fail("the API module catalog.api.app is missing from this installation")
    os.environ["CATALOG_DATABASE_URL"] = database_url
    get_settings.cache_clear()
    import uvicorn  # here, not at import time: the other commands do not need it

    # /metrics adds up every worker's values (prometheus-client's multiprocess mode): each
    # server gets a fresh directory for them, set before the workers (and prometheus-client,
    # which reads it when imported) start, and removed when it stops.
    metrics_dir = tempfile.mkdtemp(prefix="catalog-metrics-")
    os.environ[METRICS_DIR_ENV] = metrics_dir
    try:
        uvicorn.run(APP_FACTORY, factory=True, host=host, port=port, workers=workers,
                    access_log=access_log, **worker_patience(uvicorn.run))
    finally:
        os.environ.pop(METRICS_DIR_ENV, None)
        shutil.rmtree(metrics_dir, ignore_errors=True)


def worker_patience(run) -> dict:
    """uvicorn >= 0.36 kills a worker that does not answer its supervisor's ping within 5 s,
    which a worker still importing on a busy machine fails, over and over; give it a minute."""
    if "timeout_worker_healthcheck" in inspect.signature(run).parameters:
        return {"timeout_worker_healthcheck": WORKER_HEALTHCHECK_SECONDS}
    return {}


def browser_url(host: str, port: int, path: str = "/graphql") -> str:
    """Where a browser on this machine reaches a server listening on host:port."""
    if host in ("0.0.0.0", "::", ""):
        host = "127.0.0.1"
    elif ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}{path}"
