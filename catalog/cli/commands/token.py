"""`catalog token create|list|revoke`: API tokens (admin tools; the CLI acts as local admin)."""

from __future__ import annotations

from typing import Annotated

import typer

from catalog.cli.app import app
from catalog.cli.common import DEFAULT_URL, DatabaseUrl, guarded, open_catalog
from catalog.errors import NotFound
from catalog.services import auth
from catalog.services.auth import SYSTEM

token_app = typer.Typer(help="Create, list and revoke API tokens.", no_args_is_help=True)
app.add_typer(token_app, name="token")


@token_app.command("create")
@guarded
def create(
    role: Annotated[str, typer.Option(metavar="ROLE", help="admin, owner, reviewer or pipeline")],
    scope: Annotated[str | None, typer.Option(
        metavar="PREFIX", help="owner tokens only: the field-name prefix it may change, "
                               "e.g. 'crm.'")] = None,
    name: Annotated[str | None, typer.Option(
        metavar="LABEL", help="who or what the token is for (shown in the change log)")] = None,
    database_url: DatabaseUrl = DEFAULT_URL,
) -> None:
    """Create a token; it is printed as the last line. Only its hash is stored: copy it now."""
    auth.check_role_scope(role, scope)  # before touching the database
    with open_catalog(database_url) as cat:
        token_id, token = auth.create_token(cat, SYSTEM, role=role, scope=scope, name=name)
    what = role + (f", scope {scope}" if scope else "") + (f", name {name}" if name else "")
    typer.echo(f"created token {token_id} ({what}); only its hash is stored, so copy it now:")
    typer.echo(token)


@token_app.command("list")
@guarded
def list_tokens(database_url: DatabaseUrl = DEFAULT_URL) -> None:
    """List tokens (never the tokens themselves: only their hashes are stored)."""
    with open_catalog(database_url) as cat:
        rows = auth.list_tokens(cat, SYSTEM)
    if not rows:
        typer.echo("no tokens: create one with `catalog token create --role ROLE`")
        return
    typer.echo(f"{'id':>4}  {'role':<8}  {'scope':<16}  {'name':<20}  {'created':<19}  status")
    for r in rows:
        status = f"revoked {r.revoked_at:%Y-%m-%d %H:%M}" if r.revoked_at else "active"
        typer.echo(f"{r.id:>4}  {r.role:<8}  {r.scope or '-':<16}  {r.name or '-':<20}  "
                   f"{r.created_at:%Y-%m-%d %H:%M:%S}  {status}")


@token_app.command("revoke")
@guarded
def revoke(
    token_id: Annotated[int, typer.Argument(
        metavar="ID", help="the id `catalog token list` shows")],
    database_url: DatabaseUrl = DEFAULT_URL,
) -> None:
    """Revoke a token. Servers stop accepting it within CATALOG_TOKEN_CACHE_SECONDS."""
    with open_catalog(database_url) as cat:
        if not auth.revoke_token(cat, SYSTEM, token_id):
            raise NotFound(f"no active token with id {token_id}: see `catalog token list`")
    typer.echo(f"revoked token {token_id}")
