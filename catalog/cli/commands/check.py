"""`catalog check FIELD PURPOSE CHANNEL`: one decision, printed for people."""

from __future__ import annotations

from typing import Annotated

import typer

from catalog.cli.app import app
from catalog.cli.commands.audit import parse_time
from catalog.cli.common import DEFAULT_URL, DatabaseUrl, guarded, open_catalog
from catalog.domain.decision import Decision
from catalog.services import checks
from catalog.services.auth import SYSTEM
from catalog.services.timeline import AsOf


@app.command()
@guarded
def check(
    field: Annotated[str, typer.Argument(metavar="FIELD", help="e.g. crm.customers.email")],
    purpose: Annotated[str, typer.Argument(metavar="PURPOSE", help="e.g. marketing.direct")],
    channel: Annotated[str, typer.Argument(metavar="CHANNEL", help="e.g. email")],
    at_least_revision: Annotated[int | None, typer.Option(
        metavar="N", help="answer from catalog revision N or later (waits up to "
                          "CATALOG_REVISION_WAIT seconds)")] = None,
    as_of: Annotated[str | None, typer.Option(
        metavar="REVISION|TIMESTAMP", help="answer as the catalog stood at that revision, or "
                                           "at that time (ISO 8601, UTC without an offset)")
    ] = None,
    database_url: DatabaseUrl = DEFAULT_URL,
) -> None:
    """May FIELD be used for PURPOSE in CHANNEL? Exit 0 when allowed, 1 when denied."""
    when = parse_as_of(as_of)
    with open_catalog(database_url) as cat:
        decision = checks.check(cat, SYSTEM, field, purpose, channel, at_least_revision, when)
    for line in describe(decision):
        typer.echo(line)
    raise typer.Exit(0 if decision.allowed else 1)


def describe(d: Decision, *, color: bool = True) -> list[str]:
    """d: a decision of the engine or of catalog.client (same attributes)."""
    verdict = "ALLOWED" if d.allowed else "DENIED"
    if color:
        verdict = typer.style(verdict, fg="green" if d.allowed else "red", bold=True)
    lines = [f"{verdict}: {d.field} for {d.purpose} in {d.channel}"]
    if d.reasons:
        lines.append("reasons:")
    for i, reason in enumerate(d.reasons, 1):
        lines.append(f"  {i}. {reason.code}: {reason.message}")
        if reason.rule:
            lines.append(f"     rule: {reason.rule}")
        if reason.path:
            lines.append(f"     path: {' -> '.join(reason.path)}")
    lines.append(f"obligations: {', '.join(d.obligations) or 'none'}")
    lines.append(f"effective categories: {', '.join(d.effective_categories) or 'none'}")
    lines.append(f"intensity: {d.intensity or 'unknown'}")
    lines.append(f"revision: {d.revision}")
    return lines


def parse_as_of(text: str | None) -> AsOf | None:
    if text is None:
        return None
    if text.lstrip("-").isdigit():
        return AsOf(revision=int(text))
    return AsOf(time=parse_time(text, "--as-of"))
