"""`catalog ingest openlineage FILE` and `catalog ingest schema DATABASE_URL` (docs/semantics.md
§11), the latter against real databases the tests create (SQLite, and PostgreSQL when it
answers)."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from cli_helpers import assert_one_line_error, index_of
from sqlalchemy.engine import make_url

from catalog.db.engine import normalize_url

FIXTURES = Path(__file__).parents[1] / "fixtures" / "openlineage"
TABLES = """
create table customers (id integer primary key, email text, birth_date date, iban text,
                        lat double precision, lon double precision, nickname text);
create table orders (id integer primary key, customer_id integer, total numeric(12, 2))
"""


def test_ingest_openlineage_file_one_event_per_line(invoke, initialized):
    file = FIXTURES / "dbt_model.jsonl"
    result = invoke("ingest", "openlineage", file, "--database-url", initialized)
    assert result.exit_code == 0, result.output
    assert "2 events, 10 fields registered (unclassified), 8 edges added" in result.stdout
    index = index_of(initialized)
    assert index.get("jaffle.marts.customers.first_order").category == "unclassified"
    assert index.graph.edge("jaffle.staging.stg_orders.order_date",
                            "jaffle.marts.customers.first_order").transform == \
        "DIRECT/AGGREGATION"
    revision = index.revision
    again = invoke("ingest", "openlineage", file, "--database-url", initialized)
    assert "0 fields registered" in again.stdout and f"revision {revision})" in again.stdout


def test_a_bad_line_refuses_the_whole_file(invoke, initialized, tmp_path):
    lines = (FIXTURES / "dbt_model.jsonl").read_text().splitlines()
    broken = json.loads(lines[1])
    del broken["eventType"]
    file = tmp_path / "events.jsonl"
    file.write_text(lines[0] + "\n\n" + json.dumps(broken) + "\n")
    before = index_of(initialized).revision
    assert_one_line_error(invoke("ingest", "openlineage", file, "--database-url", initialized),
                          "line 3", "eventType is missing")
    file.write_text(lines[0] + "\n{oops\n")
    assert_one_line_error(invoke("ingest", "openlineage", file, "--database-url", initialized),
                          "line 2 is not JSON")
    assert index_of(initialized).revision == before


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def source_url(request, tmp_path) -> Iterator[str]:
    """A real database with a few tables, to read the schema of."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'shop.db'}"
        admin = None
    else:
        server = os.environ.get("CATALOG_TEST_POSTGRES_URL")
        if not server:
            pytest.skip("CATALOG_TEST_POSTGRES_URL not set: PostgreSQL tests skipped")
        name = f"shop_{uuid.uuid4().hex[:12]}"
        admin = sa.create_engine(normalize_url(server), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        url = make_url(normalize_url(server)).set(database=name).render_as_string(
            hide_password=False)
    engine = sa.create_engine(normalize_url(url))
    with engine.begin() as conn:
        for statement in TABLES.split(";"):
            conn.exec_driver_sql(statement)
    engine.dispose()
    try:
        yield url
    finally:
        if admin is not None:
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.dispose()


def test_ingest_schema(invoke, initialized, source_url):
    postgres = source_url.startswith("postgres")
    base = "shop.public" if postgres else "shop.main"
    prefix = ["--prefix", "shop"] if postgres else []  # SQLite: the file's name, shop
    # A field the catalog has already, classified by its owner, stays as it is.
    seed = Path(initialized.removeprefix("sqlite:///")).parent / "known.yaml"
    seed.write_text(f"fields:\n  - {{name: {base}.customers.email, category: tracking.contact, "
                    "source: zero_party, owner: crm-team}\n")
    assert invoke("seed", seed, "--database-url", initialized).exit_code == 0

    result = invoke("ingest", "schema", source_url, *prefix, "--database-url", initialized)
    assert result.exit_code == 0, result.output
    assert f"{base}: 9 columns registered as unclassified, 1 already" in result.stdout
    for line in (f"{base}.customers.birth_date  suggested: external.demographics",
                 f"{base}.customers.iban        suggested: financial.payment",
                 f"{base}.customers.lat         suggested: tracking.location.precise",
                 f"{base}.customers.nickname    no suggestion"):
        assert line in result.stdout
    index = index_of(initialized)
    email = index.get(f"{base}.customers.email")
    assert (email.category, email.source, email.owner) == (
        "tracking.contact", "zero_party", "crm-team")
    iban = index.get(f"{base}.customers.iban")
    assert (iban.category, iban.source, iban.owner) == ("unclassified", "first_party", "unowned")
    assert "suggested category: financial.payment" in iban.description
    assert "not applied" in iban.description

    engine = sa.create_engine(normalize_url(source_url))
    with engine.begin() as conn:
        conn.exec_driver_sql("drop table orders")
    engine.dispose()
    again = invoke("ingest", "schema", source_url, *prefix, "--database-url", initialized)
    assert "0 columns registered" in again.stdout
    assert "3 fields whose column is gone (still in the catalog" in again.stdout
    assert not index_of(initialized).get(f"{base}.orders.total").deprecated
    gone = invoke("ingest", "schema", source_url, "--deprecate-missing", "--prefix", "shop",
                  "--database-url", initialized)
    assert "3 fields whose column is gone (deprecated)" in gone.stdout
    assert index_of(initialized).get(f"{base}.orders.total").deprecated


def test_ingest_schema_errors(invoke, initialized, tmp_path):
    assert_one_line_error(invoke("ingest", "schema", f"sqlite:///{tmp_path / 'none.db'}",
                                 "--database-url", initialized), "no database file")
    assert_one_line_error(invoke("ingest", "schema", "postgresql://u:pw@127.0.0.1:1/x",
                                 "--database-url", initialized),
                          "cannot read the schema of postgresql://u:***@127.0.0.1:1/x")
