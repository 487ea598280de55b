"""Helpers for the HTTP-level API tests: a GraphQL client over httpx that checks, on every
response, that nothing internal leaks (no stack trace, no SQL, no driver names)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import httpx

from catalog.api.app import create_app
from catalog.services.auth import SYSTEM, create_token

# Text that must never reach a caller: stack traces, SQL, the ORM/driver.
LEAKS = ("Traceback", "sqlalchemy", "SELECT", 'File "', "psycopg", "sqlite3")

FIELD_PARTS = """
  name category source owner description sourceSystem deprecated revision
  grants { purpose channels requiresConsent }
  upstream downstream effectiveCategories
"""
DECISION_PARTS = """
  allowed field purpose channel obligations effectiveCategories revision
  reasons { code message rule path }
"""


def assert_no_leak(text: str) -> None:
    for leak in LEAKS:
        assert leak not in text, f"response leaks {leak!r}: {text[:2000]}"


@dataclass
class Api:
    """A GraphQL client for one app. `as_` picks the caller: a key of `tokens`, or None for
    no Authorization header at all."""

    client: httpx.AsyncClient
    tokens: dict[str, str] = field(default_factory=dict)

    def auth(self, as_: str | None) -> dict[str, str]:
        return {} if as_ is None else {"Authorization": f"Bearer {self.tokens[as_]}"}

    async def post(self, query: str, variables: dict | None = None, *, as_: str | None = "admin",
                   operation: str | None = None, headers: dict | None = None) -> httpx.Response:
        body: dict = {"query": query}
        if variables is not None:
            body["variables"] = variables
        if operation is not None:
            body["operationName"] = operation
        r = await self.client.post("/graphql", content=json.dumps(body),
                                   headers={"Content-Type": "application/json",
                                            **self.auth(as_), **(headers or {})})
        assert_no_leak(r.text)
        return r

    async def run(self, query: str, variables: dict | None = None, **kw) -> dict:
        r = await self.post(query, variables, **kw)
        assert r.status_code == 200, r.text
        return r.json()

    async def data(self, query: str, variables: dict | None = None, **kw) -> dict:
        body = await self.run(query, variables, **kw)
        assert not body.get("errors"), body["errors"]
        return body["data"]

    async def error(self, query: str, variables: dict | None = None, *, code: str,
                    **kw) -> dict:
        """The first error of a request expected to fail with `code`; every error has a code
        and a message."""
        body = await self.run(query, variables, **kw)
        errors = body.get("errors")
        assert errors, f"expected {code}, got data {body.get('data')}"
        for e in errors:
            assert e["message"], e
            assert e.get("extensions", {}).get("code"), e
        codes = [e["extensions"]["code"] for e in errors]
        assert code in codes, f"expected {code}, got {errors}"
        return next(e for e in errors if e["extensions"]["code"] == code)

    # -- common reads ---------------------------------------------------------------------
    async def revision(self) -> int:
        return (await self.data("{ revision }"))["revision"]

    async def field(self, name: str) -> dict | None:
        q = f"query($n: String!) {{ field(name: $n) {{ {FIELD_PARTS} }} }}"
        return (await self.data(q, {"n": name}))["field"]

    async def check(self, field: str, purpose: str, channel: str, *, as_: str = "admin",
                    at_least: int | None = None) -> dict:
        q = ("query($f: String!, $p: String!, $c: String!, $r: Int) {"
             " check(field: $f, purpose: $p, channel: $c, atLeastRevision: $r)"
             f" {{ {DECISION_PARTS} }} }}")
        return (await self.data(q, {"f": field, "p": purpose, "c": channel, "r": at_least},
                                as_=as_))["check"]

    async def snapshot(self, *names: str) -> dict:
        """What a forbidden or failed write must leave as it was."""
        return {"revision": await self.revision(),
                "fields": {n: await self.field(n) for n in names}}


def codes(decision: dict) -> list[str]:
    return [r["code"] for r in decision["reasons"]]


@asynccontextmanager
async def served_and_reference(catalog, name: str) -> AsyncIterator[tuple]:
    """The app as served (lean and from-bytes paths on) and the same catalog answered by
    GraphQL execution alone (the reference), both with a pipeline token named `name`."""
    token = create_token(catalog, SYSTEM, role="pipeline", name=name)[1]
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    served = httpx.AsyncClient(transport=httpx.ASGITransport(
        app=create_app(catalog, background_sync=False)), base_url="http://t",
        headers=headers)
    reference = httpx.AsyncClient(transport=httpx.ASGITransport(
        app=create_app(catalog, background_sync=False, lean=False)), base_url="http://t",
        headers=headers)
    async with served, reference:
        yield served, reference


async def answers(clients: tuple, body: bytes) -> tuple[dict, dict]:
    """The served app's and the reference's answers to one body (served_and_reference),
    with the same status."""
    served, reference = clients
    got = await served.post("/graphql", content=body)
    want = await reference.post("/graphql", content=body)
    assert got.status_code == want.status_code
    return got.json(), want.json()
