"""`catalog ingest openlineage FILE` and `catalog ingest schema DATABASE_URL`: fields and
lineage from where pipelines and databases already describe them (docs/semantics.md §11)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import orjson
import typer

from catalog.cli.app import app
from catalog.cli.common import DEFAULT_URL, DatabaseUrl, guarded, open_catalog
from catalog.domain.openlineage import Event, parse_event
from catalog.errors import BadInput
from catalog.services.auth import SYSTEM
from catalog.services.ingest import ingest_events
from catalog.services.schema_import import import_schema

ingest_app = typer.Typer(help="Register fields and lineage from OpenLineage events or from a "
                              "database's schema.", no_args_is_help=True)
app.add_typer(ingest_app, name="ingest")


@ingest_app.command("openlineage")
@guarded
def openlineage(
    file: Annotated[Path, typer.Argument(
        metavar="FILE", help="one OpenLineage event as JSON, or one event per line")],
    database_url: DatabaseUrl = DEFAULT_URL,
) -> None:
    """Ingest OpenLineage events from a file, all in one transaction: unknown columns are
    registered unclassified, column lineage becomes edges. Nothing is written if any event is
    refused."""
    events = read_events(file)
    with open_catalog(database_url) as cat:
        result = ingest_events(cat, SYSTEM, events)
    typer.echo(f"{file}: {len(events)} event{'s' if len(events) != 1 else ''}, "
               f"{result.fields_registered} fields registered (unclassified), "
               f"{result.edges_added} edges added, {result.edges_updated} transforms updated "
               f"(catalog revision {result.revision})")


def read_events(file: Path) -> list[Event]:
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise BadInput(f"cannot read {file}: {exc.strerror}") from None
    try:
        return [parse_event(orjson.loads(data))]
    except orjson.JSONDecodeError:
        pass  # not one document: one event per line
    events = []
    for number, line in enumerate(data.splitlines(), 1):
        if not line.strip():
            continue
        try:
            events.append(parse_event(orjson.loads(line)))
        except orjson.JSONDecodeError as exc:
            raise BadInput(f"{file} line {number} is not JSON ({str(exc).split(':')[0]}): give "
                           "one event, or one event per line") from None
        except BadInput as exc:
            raise BadInput(f"{file} line {number}: {exc.message}") from None
    if not events:
        raise BadInput(f"{file} holds no event")
    return events


@ingest_app.command("schema")
@guarded
def schema(
    source_url: Annotated[str, typer.Argument(
        metavar="DATABASE_URL", help="the database to read: postgresql+psycopg://... or "
                                     "sqlite:///file.db")],
    schema_name: Annotated[str | None, typer.Option(
        "--schema", metavar="NAME", help="the schema to read (default: the database's "
                                         "default, public on PostgreSQL)")] = None,
    prefix: Annotated[str | None, typer.Option(
        metavar="SYSTEM", help="first part of the field names (default: the database's "
                               "name)")] = None,
    deprecate_missing: Annotated[bool, typer.Option(
        "--deprecate-missing", help="deprecate catalog fields whose column is gone")] = False,
    database_url: DatabaseUrl = DEFAULT_URL,
) -> None:
    """Register every column of DATABASE_URL the catalog lacks as SYSTEM.SCHEMA.TABLE.COLUMN,
    unclassified, with a suggested category for its owner (never applied). Existing fields
    stay as they are; fields whose column is gone are listed."""
    with open_catalog(database_url) as cat:
        report = import_schema(cat, SYSTEM, source_url, schema=schema_name, prefix=prefix,
                               deprecate_missing=deprecate_missing)
    typer.echo(f"{report.prefix}: {len(report.registered)} columns registered as "
               f"unclassified, {report.existing} already in the catalog left as they are "
               f"(catalog revision {report.revision})")
    width = max((len(n) for n, _ in report.registered), default=0)
    for name, hint in report.registered:
        typer.echo(f"  {name:<{width}}  suggested: {hint}" if hint else
                   f"  {name:<{width}}  no suggestion: classify it by hand")
    if report.missing:
        verb = "deprecated" if report.deprecated else \
            "still in the catalog; --deprecate-missing deprecates them"
        typer.echo(f"{len(report.missing)} fields whose column is gone ({verb}):")
        for name in report.missing:
            typer.echo(f"  {name}")
