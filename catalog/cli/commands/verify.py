"""`catalog verify USES.yaml`: check a pipeline's declared uses, for a CI step (docs/semantics.md
§12).

Against a server (--url, --token; through catalog.client) or else the database. Exit 0 when
every use is allowed, 1 when any is denied, 2 on error (nothing decided)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from dataclasses import asdict
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from catalog.cli.app import app
from catalog.cli.commands.check import describe
from catalog.cli.common import DEFAULT_URL, DatabaseUrl, guarded, open_catalog
from catalog.errors import BadInput
from catalog.services import checks, codefile
from catalog.services.auth import SYSTEM

USE_KEYS = ("field", "purpose", "channel")


class Format(StrEnum):
    text = "text"
    json = "json"
    junit = "junit"


@app.command()
@guarded
def verify(
    uses: Annotated[Path, typer.Argument(
        metavar="USES.yaml", help="the pipeline's declared uses: "
                                  "uses: [{field, purpose, channel}, ...]")],
    url: Annotated[str | None, typer.Option(
        "--url", metavar="URL", help="check against the server at URL (with --token) instead "
                                     "of the database")] = None,
    token: Annotated[str | None, typer.Option(
        "--token", metavar="TOKEN", envvar="CATALOG_TOKEN",
        help="the API token for --url (else CATALOG_TOKEN)")] = None,
    output_format: Annotated[Format, typer.Option(
        "--format", help="text for people, json for machines, junit for CI test reports")]
    = Format.text,
    database_url: DatabaseUrl = DEFAULT_URL,
) -> None:
    """Check every declared use; exit 0 when all are allowed, 1 when any is denied."""
    name, requests = read_uses(uses)
    if url is not None:
        decisions = _from_server(url, token, requests)
    else:
        with open_catalog(database_url) as cat:
            decisions = checks.check_many(cat, SYSTEM, requests)
    emit = {"text": _text, "json": _json, "junit": _junit}[output_format.value]
    typer.echo(emit(name, decisions))
    raise typer.Exit(0 if all(d.allowed for d in decisions) else 1)


def read_uses(path: Path) -> tuple[str, list[tuple[str, str, str]]]:
    data = codefile.read(path)
    unknown = [k for k in data if k not in ("uses", "pipeline")]
    if unknown or not isinstance(data.get("uses"), list):
        raise BadInput(f"{path}:{data.line}: expected `uses: [{{field, purpose, channel}}, "
                       "...]` (and optionally `pipeline: NAME`)"
                       + (f", not {unknown[0]!r}" if unknown else ""))
    requests = []
    for i, item in enumerate(data["uses"]):
        where = f"{path}:{getattr(item, 'line', data.line)}"
        if not isinstance(item, dict) or set(item) != set(USE_KEYS) or \
                not all(isinstance(item[k], str) for k in USE_KEYS):
            raise BadInput(f"{where}: uses[{i}] must have exactly field, purpose and channel, "
                           "each a string")
        requests.append((item["field"], item["purpose"], item["channel"]))
    if not requests:
        raise BadInput(f"{path}: declares no uses")
    name = data.get("pipeline")
    return (name if isinstance(name, str) else path.stem), requests


def _from_server(url: str, token: str | None, requests) -> list:
    from catalog.client import CatalogClient, CatalogClientError

    if not token:
        raise BadInput("--url needs --token (or CATALOG_TOKEN): a pipeline or reviewer token")
    try:
        with CatalogClient(url, token) as client:
            return client.check_many(requests)
    except CatalogClientError as exc:
        raise BadInput(f"{url}: {exc}") from None


def _text(name: str, decisions) -> str:
    denied = sum(not d.allowed for d in decisions)
    blocks = ["\n".join(describe(d)) for d in decisions]
    return "\n\n".join([*blocks, f"{name}: {len(decisions)} uses, {denied} denied"])


def _json(name: str, decisions) -> str:
    def plain(d) -> dict:
        out = asdict(d)
        out["reasons"] = [{**asdict(r), "code": str(r.code)} for r in d.reasons]
        return out

    return json.dumps({"pipeline": name, "allowed": all(d.allowed for d in decisions),
                       "decisions": [plain(d) for d in decisions]}, indent=2)


def _junit(name: str, decisions) -> str:
    failures = sum(not d.allowed for d in decisions)
    suites = ET.Element("testsuites", name="catalog verify", tests=str(len(decisions)),
                        failures=str(failures))
    suite = ET.SubElement(suites, "testsuite", name=name, tests=str(len(decisions)),
                          failures=str(failures), errors="0", skipped="0")
    for d in decisions:
        case = ET.SubElement(suite, "testcase", classname=name,
                             name=f"{d.field} for {d.purpose} in {d.channel}")
        if not d.allowed:
            reasons = "; ".join(f"{r.code}: {r.message}" for r in d.reasons)
            failure = ET.SubElement(case, "failure", type="DENIED",
                                    message=f"DENIED: {reasons}")
            failure.text = "\n".join(describe(d, color=False))
    ET.indent(suites)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True)
