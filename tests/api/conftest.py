"""Fixtures for the HTTP-level API tests: the app in process (httpx.ASGITransport, so the
Starlette lifespan does not run and the index loads lazily), with one token per role, on
SQLite and PostgreSQL.

- `api`: the demo catalog on a fresh database per test (the shared `demo_catalog` fixture),
  for tests that write.
- `read_api`: the demo catalog on one database per module and backend, for tests that change
  nothing (they may assert so). Building a catalog costs a second or two on PostgreSQL; this
  keeps the suite within its time budget.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
import sqlalchemy as sa
from api_helpers import Api
from sqlalchemy.engine import make_url

from catalog.api.app import create_app
from catalog.db.engine import normalize_url
from catalog.services import setup
from catalog.services.auth import SYSTEM, create_token
from catalog.services.core import Catalog
from catalog.settings import Settings

POSTGRES_ENV = "CATALOG_TEST_POSTGRES_URL"

# name -> (role, scope)
ROLES = {
    "admin": ("admin", None),
    "reviewer": ("reviewer", None),
    "pipeline": ("pipeline", None),
    "owner": ("owner", "crm."),  # the CRM team
    "dwh_owner": ("owner", "dwh.marts."),  # analytics engineering
}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def role_tokens(cat: Catalog) -> dict[str, str]:
    return {name: create_token(cat, SYSTEM, role=role, scope=scope, name=f"test-{name}")[1]
            for name, (role, scope) in ROLES.items()}


async def _api_for(cat: Catalog, tokens: dict[str, str]) -> AsyncIterator[Api]:
    app = create_app(cat, background_sync=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://catalog.test") as client:
        yield Api(client, dict(tokens))


@pytest.fixture
async def api(demo_catalog: Catalog) -> AsyncIterator[Api]:
    """The demo catalog over HTTP, on a fresh database."""
    async for a in _api_for(demo_catalog, role_tokens(demo_catalog)):
        yield a


# -- one demo catalog per module, for tests that change nothing ------------------------------
@pytest.fixture(scope="module",
                params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
                ids=["sqlite", "postgres"])
def shared_database_url(request, tmp_path_factory) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('shared') / 'catalog.db'}"
        return
    server = os.environ.get(POSTGRES_ENV)
    if not server:
        pytest.skip(f"{POSTGRES_ENV} not set: PostgreSQL tests skipped")
    name = f"catalog_t_{uuid.uuid4().hex}"
    admin = sa.create_engine(normalize_url(server), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        yield make_url(normalize_url(server)).set(database=name).render_as_string(
            hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture(scope="module")
def shared_demo(shared_database_url: str) -> Iterator[tuple[Catalog, dict[str, str]]]:
    settings = Settings(database_url=shared_database_url, revision_wait=1.0, sync_interval=0.0)
    cat = Catalog(database_url=shared_database_url, settings=settings)
    try:
        setup.init(cat)
        setup.load_catalog_file(cat, setup.SEEDS / "demo" / "catalog.yaml")
        yield cat, role_tokens(cat)
    finally:
        cat.close()


@pytest.fixture
async def read_api(shared_demo) -> AsyncIterator[Api]:
    """The demo catalog over HTTP, shared by the module's tests: change nothing in it."""
    cat, tokens = shared_demo
    async for a in _api_for(cat, tokens):
        yield a
