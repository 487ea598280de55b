"""`catalog changes`, `catalog simulate FILE`, `catalog log`: time and audit (docs/semantics.md
§9-10) from the command line, through the same services as the API."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import orjson
import typer

from catalog.cli.app import app
from catalog.cli.common import DEFAULT_URL, DatabaseUrl, guarded, open_catalog
from catalog.errors import BadInput
from catalog.services import audit, simulate, timeline
from catalog.services.auth import SYSTEM
from catalog.services.setup import read_yaml


def parse_time(text: str | None, option: str) -> datetime | None:
    if text is None:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise BadInput(f"{option} {text!r} is not a date and time: use ISO 8601, e.g. "
                       "2026-03-03 or 2026-03-03T09:30:00+01:00 (UTC without an offset)") from None


def _json(value) -> str:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


@app.command()
@guarded
def changes(
    after_revision: Annotated[int, typer.Option(
        metavar="N", help="only changes committed after revision N")] = 0,
    first: Annotated[int, typer.Option(
        metavar="N", help="at most N entries (1-1,000), more to finish the last revision")] = 100,
    json: Annotated[bool, typer.Option("--json", help="one JSON object per line")] = False,
    database_url: DatabaseUrl = DEFAULT_URL,
) -> None:
    """Every committed change, oldest first, with what it was before and after."""
    with open_catalog(database_url) as cat:
        entries = timeline.changes(cat, SYSTEM, after_revision, first)
    for e in entries:
        if json:
            typer.echo(_json({**e, "at": e["at"].isoformat()}))
            continue
        target = e["field"] or ""
        if e["other"]:
            target = f"{e['other']} -> {target}"
        typer.echo(f"revision {e['revision']}  {e['at']:%Y-%m-%d %H:%M:%S}  {e['actor']}  "
                   f"{e['action']} {e['entity']} {target}".rstrip())
        for side in ("before", "after"):
            if e[side] is not None:
                typer.echo(f"  {side}: {_json(e[side])}")
    if not entries and not json:
        typer.echo(f"no changes after revision {after_revision}")


@app.command("simulate")
@guarded
def simulate_cmd(
    file: Annotated[Path, typer.Argument(
        metavar="FILE", help="YAML: `changes:` (a list of ChangeInput, as in the API) and "
                             "optionally `checks:` (field, purpose, channel)")],
    database_url: DatabaseUrl = DEFAULT_URL,
) -> None:
    """What would flip if these changes were made? Writes nothing."""
    data = read_yaml(file)
    unknown = set(data) - {"changes", "checks"}
    if unknown or not isinstance(data.get("changes"), list):
        raise BadInput(f"{file}: expected `changes:` (a list) and optionally `checks:`")
    checks = data.get("checks")
    if checks is not None:
        if not isinstance(checks, list) or not all(
                isinstance(c, dict) and {"field", "purpose", "channel"} <= set(c) for c in checks):
            raise BadInput(f"{file}: checks must be a list of {{field, purpose, channel}}")
        checks = [(c["field"], c["purpose"], c["channel"]) for c in checks]
    with open_catalog(database_url) as cat:
        result = simulate.simulate(cat, SYSTEM, data["changes"], checks)
    for f in result.flips:
        verdict = lambda d: "ALLOWED" if d.allowed else "DENIED"  # noqa: E731
        typer.echo(f"{f.before.field} {f.before.purpose} {f.before.channel}: "
                   f"{verdict(f.before)} -> {verdict(f.after)}")
        for r in f.after.reasons:
            typer.echo(f"  {r.code.value}: {r.message}")
    typer.echo(f"{len(result.flips)} decisions flip, of {result.checked} compared at revision "
               f"{result.revision}" + (" (partial: the limits cut it short)"
                                       if result.partial else ""))


@app.command("log")
@guarded
def log_cmd(
    field: Annotated[str | None, typer.Option(metavar="NAME", help="a field or a prefix of "
                                              "whole name segments")] = None,
    purpose: Annotated[str | None, typer.Option(metavar="KEY", help="covers keys below it")
                       ] = None,
    channel: Annotated[str | None, typer.Option(metavar="KEY")] = None,
    caller: Annotated[str | None, typer.Option(metavar="NAME", help="a token's name")] = None,
    allowed: Annotated[bool | None, typer.Option(
        "--allowed/--denied", help="only allowed, or only denied, decisions")] = None,
    since: Annotated[str | None, typer.Option(metavar="TIME", help="inclusive, ISO 8601")
                     ] = None,
    until: Annotated[str | None, typer.Option(metavar="TIME", help="exclusive, ISO 8601")
                     ] = None,
    first: Annotated[int, typer.Option(metavar="N", help="at most N entries (1-500)")] = 100,
    database_url: DatabaseUrl = DEFAULT_URL,
) -> None:
    """The decision log: who asked what, per minute, newest first."""
    with open_catalog(database_url) as cat:
        entries, _, more = audit.decision_log(
            cat, SYSTEM, field=field, purpose=purpose, channel=channel, allowed=allowed,
            caller=caller, since=parse_time(since, "--since"),
            until=parse_time(until, "--until"), first=first)
    for e in entries:
        typer.echo(f"{e.minute:%Y-%m-%d %H:%M}  {e.caller}  {e.field} {e.purpose} {e.channel}"
                   f"  {'allowed' if e.allowed else 'denied'}  {e.count}")
    if not entries:
        typer.echo("no decisions logged for these filters")
    elif more:
        typer.echo("(more: narrow the filters or raise --first)")
