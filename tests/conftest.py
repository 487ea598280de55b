"""Shared fixtures for every DB-backed test (db, services, api, cli).

Each test gets a fresh throwaway database: an SQLite file under tmp_path, and, when
CATALOG_TEST_POSTGRES_URL names a server (.ci/run sets it), a PostgreSQL database
catalog_t_<hex> created for the test (ahead of time, in the background) and dropped WITH
(FORCE) after it (in batches: much faster). Nothing ever touches a catalog.db in the
working directory.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from catalog.db.engine import normalize_url
from catalog.services import setup
from catalog.services.auth import SYSTEM, Principal
from catalog.services.core import Catalog
from catalog.settings import Settings, get_settings

POSTGRES_ENV = "CATALOG_TEST_POSTGRES_URL"
POSTGRES_SKIP = "CATALOG_TEST_POSTGRES_URL not set: PostgreSQL tests skipped (.ci/run sets it)"
DEMO_CATALOG = setup.SEEDS / "demo" / "catalog.yaml"


@pytest.fixture(autouse=True, scope="session")
def _no_working_directory_database(tmp_path_factory) -> Iterator[None]:
    """Point the default database URL at a throwaway file, so code that falls back to
    settings (CLI, alembic env.py) never creates ./catalog.db."""
    path = tmp_path_factory.mktemp("default-db") / "catalog.db"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CATALOG_DATABASE_URL", f"sqlite:///{path}")
        get_settings.cache_clear()
        yield
    get_settings.cache_clear()


# -- databases ------------------------------------------------------------------------------
# A test that uses the `catalog` fixture gets its database already initialized: a copy of one
# that `catalog init` set up once per session (migrations take longer than most tests). The
# fixture then runs init again, which changes nothing. Any other test gets an empty database.
def wants_initialized(request) -> bool:
    return "catalog" in request.fixturenames


def initialize(database_url: str) -> None:
    cat = make_catalog(database_url)
    try:
        setup.init(cat)
    finally:
        cat.close()


class PostgresDatabases:
    """Throwaway PostgreSQL databases, created ahead in background threads and dropped in
    batches. CREATE and DROP DATABASE take one to several seconds each here (a DROP waits for
    a checkpoint); run together, many share that wait and finish in well under a second."""

    SPARE = 5  # databases created ahead, per kind
    DROP_BATCH = 25  # every DROP waits for a checkpoint: the more share one, the better

    def __init__(self, server_url: str) -> None:
        self.server = make_url(normalize_url(server_url))
        self.admin = sa.create_engine(self.server, isolation_level="AUTOCOMMIT",
                                      poolclass=NullPool)
        self.creating = ThreadPoolExecutor(4, thread_name_prefix="catalog-test-create")
        self.dropper = ThreadPoolExecutor(1, thread_name_prefix="catalog-test-drop")
        self.ready: dict[bool, deque[Future]] = {False: deque(), True: deque()}
        self.unused: list[str] = []  # given back, not dropped yet
        self.dropping: list[Future] = []
        self.template: str | None = None  # an initialized database, copied for `catalog`

    def _create(self, template: str | None = None) -> str:
        name = f"catalog_t_{uuid.uuid4().hex}"
        with self.admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"'
                                 + (f' TEMPLATE "{template}"' if template else ""))
        return name

    def _drop(self, name: str) -> None:
        with self.admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def _drop_together(self, names: list[str]) -> None:
        with ThreadPoolExecutor(len(names), thread_name_prefix="catalog-test-drop") as pool:
            for future in [pool.submit(self._drop, name) for name in names]:
                future.result()

    def take(self, initialized: bool = False) -> str:
        """The name of a fresh database: empty, or as `catalog init` leaves it."""
        template = None
        if initialized:
            if self.template is None:
                self.template = self._create()
                initialize(self.url(self.template))  # closes every connection to it
            template = self.template
        ready = self.ready[initialized]
        while len(ready) <= self.SPARE:
            ready.append(self.creating.submit(self._create, template))
        return ready.popleft().result()

    def url(self, name: str) -> str:
        return self.server.set(database=name).render_as_string(hide_password=False)

    def give_back(self, name: str) -> None:
        self.unused.append(name)
        if len(self.unused) >= self.DROP_BATCH:
            batch, self.unused = self.unused, []
            self.dropping.append(self.dropper.submit(self._drop_together, batch))

    def close(self) -> None:
        errors = []
        for future in [*self.ready[False], *self.ready[True]]:
            try:
                self.unused.append(future.result())
            except Exception as exc:  # noqa: BLE001  (reported below)
                errors.append(exc)
        if self.template is not None:
            self.unused.append(self.template)
        for i in range(0, len(self.unused), self.DROP_BATCH):
            self.dropping.append(self.dropper.submit(
                self._drop_together, self.unused[i:i + self.DROP_BATCH]))
        for future in self.dropping:
            try:
                future.result()
            except Exception as exc:  # noqa: BLE001
                errors.append(exc)
        self.creating.shutdown()
        self.dropper.shutdown()
        self.admin.dispose()
        if errors:
            raise RuntimeError(f"throwaway PostgreSQL databases not dropped: {errors}")


@pytest.fixture(scope="session")
def _postgres_databases() -> Iterator[PostgresDatabases | None]:
    server = os.environ.get(POSTGRES_ENV)
    if not server:
        yield None
        return
    databases = PostgresDatabases(server)
    try:
        yield databases
    finally:
        databases.close()


@pytest.fixture
def _postgres_database(request, _postgres_databases: PostgresDatabases | None) -> Iterator[str]:
    if _postgres_databases is None:
        pytest.skip(POSTGRES_SKIP)
    name = _postgres_databases.take(initialized=wants_initialized(request))
    try:
        yield _postgres_databases.url(name)
    finally:
        _postgres_databases.give_back(name)


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory) -> Path:
    """An SQLite database file as `catalog init` leaves it."""
    path = tmp_path_factory.mktemp("template") / "catalog.db"
    initialize(f"sqlite:///{path}")
    return path


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
                ids=["sqlite", "postgres"])
def database_url(request, tmp_path: Path) -> str:
    """A URL to a fresh, empty throwaway database (no schema yet)."""
    if request.param == "postgres":
        return request.getfixturevalue("_postgres_database")
    path = tmp_path / "catalog-test.db"
    if wants_initialized(request):
        template = request.getfixturevalue("_sqlite_template")
        for suffix in ("", "-wal"):  # every connection to it is closed: no -shm needed
            if template.with_name(template.name + suffix).exists():
                shutil.copyfile(template.with_name(template.name + suffix),
                                path.with_name(path.name + suffix))
    return f"sqlite:///{path}"


# -- catalogs -------------------------------------------------------------------------------
def make_catalog(database_url: str, **overrides) -> Catalog:
    """A Catalog on database_url as a test wants it: short waits, no staleness."""
    settings = Settings(**{"database_url": database_url, "revision_wait": 1.0,
                           "sync_interval": 0.0, **overrides})
    return Catalog(database_url=database_url, settings=settings)


@pytest.fixture
def bare_catalog(database_url: str) -> Iterator[Catalog]:
    """A Catalog on the empty database: no schema yet (for migration tests)."""
    cat = make_catalog(database_url)
    try:
        yield cat
    finally:
        cat.close()


@pytest.fixture
def catalog(database_url: str) -> Iterator[Catalog]:
    """An initialized catalog (schema, default taxonomy and rules), no fields."""
    cat = make_catalog(database_url)
    try:
        setup.init(cat)
        yield cat
    finally:
        cat.close()


@pytest.fixture
def demo_catalog(catalog: Catalog) -> Catalog:
    """The catalog with the demo fields and lineage of seeds/demo/catalog.yaml."""
    setup.load_catalog_file(catalog, DEMO_CATALOG)
    return catalog


@pytest.fixture
def catalog_factory() -> Iterator[Callable[..., Catalog]]:
    """Makes more Catalogs (another 'process' each) on a database; closes them at teardown.
    Keyword arguments override the test settings."""
    made: list[Catalog] = []

    def make(database_url: str, **settings) -> Catalog:
        cat = make_catalog(database_url, **settings)
        made.append(cat)
        return cat

    yield make
    for cat in made:
        cat.close()


@pytest.fixture
def other_catalog(catalog: Catalog, catalog_factory) -> Catalog:
    """A second Catalog on the same database, standing for another process."""
    return catalog_factory(str(catalog.settings.database_url))


# -- principals -----------------------------------------------------------------------------
@pytest.fixture
def admin() -> Principal:
    return SYSTEM


@pytest.fixture
def reviewer() -> Principal:
    return Principal("reviewer", name="test-reviewer")


@pytest.fixture
def pipeline() -> Principal:
    return Principal("pipeline", name="test-pipeline")


@pytest.fixture
def owner_of() -> Callable[[str], Principal]:
    def make(scope: str) -> Principal:
        return Principal("owner", scope)

    return make


# -- comparing indexes ----------------------------------------------------------------------
def describe_index(index) -> dict:
    """Everything an index answers from, as plain JSON-able data: two indexes that describe
    equal answer every question the same way. Includes check() over every field x purpose x
    channel."""
    from catalog.db.records import field_json
    from catalog.domain.rules import rule_to_spec

    tax = index.taxonomy
    fields = {}
    for name in sorted(index.fields):
        rec = index.fields[name]
        fields[name] = {**field_json(rec), "revision": rec.revision,
                        "upstream": index.upstream(name), "downstream": index.downstream(name),
                        "effectiveCategories": list(index.effective_categories(name)),
                        "effectiveSources": list(index.effective_sources(name)),
                        "sensitivity": index.sensitivity(name)}
    edges = sorted([u, d, index.graph.edge(u, d).transform] for u, d in index.graph.edges())
    decisions = {}
    for name in sorted(index.fields):
        for purpose in sorted(tax.purposes):
            for channel in sorted(tax.channels):
                d = index.check(name, purpose, channel)
                decisions[f"{name}|{purpose}|{channel}"] = [
                    d.allowed, [[r.code.value, r.message, r.rule, list(r.path or ())]
                                for r in d.reasons],
                    list(d.obligations), list(d.effective_categories), d.revision,
                    d.intensity]
    return {
        "revision": index.revision,
        "taxonomy": {"categories": dict(sorted(tax.categories.items())),
                     "purposes": sorted(tax.purposes),
                     "channels": dict(sorted(tax.channels.items())),
                     "sources": sorted(tax.sources),
                     "intensities": {f"{kind} {key}": v for (kind, key), v
                                     in sorted(tax.intensities.items())}},
        "rules": {r.key: rule_to_spec(r) for r in index.rules},
        "fields": fields,
        "edges": edges,
        "decisions": decisions,
    }


def fresh_description(database_url: str) -> dict:
    """describe_index of a Catalog freshly built from the database."""
    cat = make_catalog(database_url)
    try:
        cat.reload()
        return describe_index(cat.index)
    finally:
        cat.close()


@pytest.fixture(name="describe_index")
def describe_index_fixture() -> Callable:
    return describe_index


@pytest.fixture(name="fresh_description")
def fresh_description_fixture() -> Callable[[str], dict]:
    return fresh_description
