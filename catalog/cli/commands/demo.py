"""`catalog demo`: init, load the demo catalog (seeds/demo/), a token per role, then serve."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated

import typer

from catalog.cli.app import app
from catalog.cli.commands.init import initialize
from catalog.cli.commands.serve import Host, Port, browser_url, run_server
from catalog.cli.common import (
    catalog_command,
    fail,
    guarded,
    is_memory,
    no_new_file_on_failure,
    open_catalog,
    remove_sqlite_file,
    shown_path,
    shown_url,
    sqlite_path,
)
from catalog.errors import Unauthenticated
from catalog.services import auth, setup
from catalog.services import demo as demo_state
from catalog.services.auth import SYSTEM
from catalog.services.core import Catalog

DEMO_URL = "sqlite:///demo.db"
DEMO_CATALOG = setup.SEEDS / "demo" / "catalog.yaml"
ROLE_SCOPES = {"admin": None, "owner": "crm.", "reviewer": None, "pipeline": None}
EXAMPLES = (
    ("Why may the baby-club audience not be e-mailed?",
     'query {\n  check(field: "dwh.marts.audiences.baby_club_member",\n'
     '        purpose: "marketing.direct", channel: "email") {\n'
     "    allowed reasons { code message rule path } obligations effectiveCategories revision\n"
     "  }\n}"),
    ("Where does the churn score come from?",
     'query {\n  lineage(field: "ml.scores.churn_risk", direction: UPSTREAM, depth: 5) {\n'
     "    nodes { name category owner grants { purpose channels requiresConsent } }\n"
     "    edges { upstream downstream transform }\n  }\n}"),
)


@app.command()
@guarded
def demo(
    database_url: Annotated[str, typer.Option(
        "--database-url", envvar="CATALOG_DATABASE_URL", metavar="URL",
        help="where the demo catalog lives (else CATALOG_DATABASE_URL, else demo.db: a file "
        "of its own, so the demo never fills a catalog.db you work with)")] = DEMO_URL,
    host: Host = "127.0.0.1",
    port: Port = 8000,
    fresh: Annotated[bool, typer.Option(
        "--fresh", help="delete the demo SQLite database (and its tokens) first")] = False,
    serve: Annotated[bool, typer.Option(
        "--serve/--no-serve", help="start the server after setting up")] = True,
) -> None:
    """Set up and serve the seeded demo catalog, printing how to start.

    Runs init, loads the demo catalog (Northwind Outfitters, seeds/demo/README.md), creates a
    token per role (or reuses those kept next to the SQLite file), prints the console's and
    GraphiQL's URLs,
    the tokens and example queries, then serves."""
    if is_memory(database_url) and serve:
        fail("the demo needs a database file or server: an in-memory SQLite database lives in "
             "one process only")
    if fresh:
        remove_sqlite_files(database_url)
    with no_new_file_on_failure(database_url), open_catalog(database_url, create=True) as cat:
        for line in initialize(cat, database_url):
            typer.echo(line)
        typer.echo(load_demo(cat))
        tokens, kept_in = demo_tokens(cat, database_url)
    typer.echo("")
    for line in instructions(database_url, host, port, tokens, kept_in):
        typer.echo(line)
    if serve:
        run_server(database_url, host=host, port=port)


def load_demo(cat: Catalog) -> str:
    """Load the demo catalog the first time; on later starts leave it, and a user's edits to
    it, as they are. The line that says which."""
    wanted = setup.read_catalog_file(DEMO_CATALOG)
    readme = shown_path(DEMO_CATALOG.with_name("README.md"))
    if not demo_state.is_loaded(cat, wanted):
        counts = setup.load_catalog_file(cat, DEMO_CATALOG)  # one transaction
        return (f"demo catalog: {counts['fields']} fields, {counts['lineage']} lineage edges "
                f"loaded (catalog revision {cat.index.revision}); see {readme}")
    changed = demo_state.changed_fields(cat, wanted)
    if not changed:
        return (f"demo catalog: already loaded, as shipped (catalog revision "
                f"{cat.index.revision}); see {readme}")
    shown = ", ".join(changed[:10]) + (f" and {len(changed) - 10} more" if len(changed) > 10
                                       else "")
    return (f"demo catalog: already loaded; kept as it is, with your changes to "
            f"{len(changed)} of its fields ({shown}); --fresh starts over from the demo")


def remove_sqlite_files(database_url: str) -> None:
    path = sqlite_path(database_url)
    if path is None:
        if is_memory(database_url):
            return  # nothing kept
        fail("--fresh deletes an SQLite file; for PostgreSQL drop and recreate the database")
    remove_sqlite_file(path)
    Path(f"{path}.tokens").unlink(missing_ok=True)


def demo_tokens(cat: Catalog, database_url: str) -> tuple[dict[str, str], Path | None]:
    """A token per role: the ones kept next to the SQLite file when they still work, else new
    ones (kept there for the next start; with PostgreSQL, new ones each start)."""
    path = sqlite_path(database_url)
    store = Path(f"{path}.tokens") if path is not None else None
    kept = read_tokens(store)
    tokens = {}
    for role, scope in ROLE_SCOPES.items():
        token = kept.get(role)
        if token is None or not still_valid(cat, token, role, scope):
            _, token = auth.create_token(cat, SYSTEM, role=role, scope=scope, name=f"demo {role}")
        tokens[role] = token
    if store is not None and tokens != kept:
        store.write_text(json.dumps(tokens, indent=2) + "\n")
        os.chmod(store, 0o600)
    return tokens, store


def read_tokens(store: Path | None) -> dict[str, str]:
    try:
        data = json.loads(store.read_text()) if store is not None else {}
    except (OSError, ValueError):
        return {}
    return {k: v for k, v in data.items() if isinstance(v, str)} if isinstance(data, dict) else {}


def still_valid(cat: Catalog, token: str, role: str, scope: str | None) -> bool:
    try:
        principal = cat.authenticator.authenticate(token)
    except Unauthenticated:
        return False
    return principal.role == role and principal.scope == scope


def instructions(database_url: str, host: str, port: int, tokens: dict[str, str],
                 kept_in: Path | None) -> list[str]:
    url = browser_url(host, port)
    lines = [f"Open the reviewer console in a browser: {browser_url(host, port, '/')}",
             f"  and sign in with the reviewer token: {tokens['reviewer']}",
             f"GraphiQL (with a token in its headers pane): {url}", "",
             "Tokens, one per role" + (f" (kept in {kept_in}):" if kept_in else ":")]
    for role, token in tokens.items():
        scope = ROLE_SCOPES[role]
        lines.append(f"  {role:<9}{token}" + (f"   (scope {scope})" if scope else ""))
    lines += ["", "Paste into GraphiQL's headers pane (swap in another role's token to see "
              "what it may not do):",
              "  " + json.dumps({"Authorization": f"Bearer {tokens['admin']}"}), ""]
    for title, query in EXAMPLES:
        lines += [f"# {title}", query, ""]
    lines += ["The same from a shell:",
              f"  curl -s {url} -H 'Authorization: Bearer {tokens['pipeline']}' "
              "-H 'Content-Type: application/json' -d '{\"query\": \"{ check(field: "
              "\\\"crm.customers.email\\\", purpose: \\\"service.delivery\\\", channel: "
              "\\\"email\\\") { allowed } }\"}'",
              f"  {catalog_command()} check dwh.marts.audiences.baby_club_member "
              f"marketing.direct email --database-url {shown_url(database_url)}",
              "", f"More checks to try: {shown_path(DEMO_CATALOG.with_name('README.md'))}. "
              "Stop the server with Ctrl+C."]
    return lines
