"""Property-based fuzzing of the GraphQL API (hypothesis, hypothesis-graphql): for documents
generated from the schema itself, and for hostile variables sent with fixed documents, the
server never answers 5xx, never answers INTERNAL, and a request whose every root field failed
leaves the catalog revision where it was (docs/semantics.md §8).

Runs on the demo catalog, SQLite and PostgreSQL, with a bounded number of examples per run
(about half a minute in all); derandomized, so a failure shows up again on the next run."""

from __future__ import annotations

import json
import warnings

import hypothesis_graphql
import pytest
from graphql import OperationDefinitionNode, OperationType, parse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

with warnings.catch_warnings():  # starlette's notice about its httpx-based client
    warnings.simplefilter("ignore", DeprecationWarning)
    from starlette.testclient import TestClient

from catalog.api.app import create_app
from catalog.api.graphql.schema import build_schema
from catalog.db import repo
from catalog.services.auth import SYSTEM, create_token

CODES = {"BAD_INPUT", "NOT_FOUND", "CONFLICT", "UNAUTHENTICATED", "FORBIDDEN"}
ROLES = ("admin", "owner", "reviewer", "pipeline")
SKIPPED_ROOTS = {"revokeToken"}  # it would revoke the callers' own tokens: nothing left to test
FUZZ = settings(max_examples=40, deadline=None, derandomize=True, database=None,
                suppress_health_check=list(HealthCheck))


@pytest.fixture
def fuzz_client(demo_catalog):
    app = create_app(demo_catalog, background_sync=False)
    scopes = {"owner": "crm."}
    tokens = {role: create_token(demo_catalog, SYSTEM, role=role, scope=scopes.get(role))[1]
              for role in ROLES}
    return TestClient(app, raise_server_exceptions=False), tokens, demo_catalog


def revision(cat) -> int:
    with cat.engine.connect() as conn:
        return repo.current_revision(conn=conn)


def root_keys(query: str) -> tuple[bool, list[str]]:
    """(is it a mutation, the response keys of its root fields)."""
    op = next(d for d in parse(query).definitions if isinstance(d, OperationDefinitionNode))
    keys = [(s.alias or s.name).value for s in op.selection_set.selections]
    return op.operation == OperationType.MUTATION, keys


def post_and_check(fuzz_client, query: str, variables: dict | None, role: str) -> None:
    client, tokens, cat = fuzz_client
    before = revision(cat)
    body = {"query": query} | ({"variables": variables} if variables is not None else {})
    # json, not orjson: it escapes lone surrogates ("\\ud800") as a hostile client would.
    r = client.post("/graphql", content=json.dumps(body),
                    headers={"Authorization": f"Bearer {tokens[role]}",
                             "Content-Type": "application/json"})
    assert r.status_code < 500, (r.status_code, r.text[:500], query)
    answer = r.json()
    errors = answer.get("errors") or []
    for e in errors:
        assert e.get("extensions", {}).get("code") in CODES, (e, query, variables)
    mutation, keys = root_keys(query)
    data = answer.get("data") or {}
    failed = {e["path"][0] for e in errors if e.get("path")}
    succeeded = [k for k in keys if data.get(k) is not None and k not in failed]
    if not mutation or not succeeded:
        assert revision(cat) == before, (query, variables, errors)


SCHEMA = build_schema()._schema
ROOTS = [name for t in (SCHEMA.query_type, SCHEMA.mutation_type)
         for name in t.fields if name not in SKIPPED_ROOTS]


@FUZZ
@given(data=st.data())
def _fuzz_documents(fuzz_client, data):
    query = data.draw(hypothesis_graphql.from_schema(SCHEMA, fields=ROOTS), label="query")
    role = data.draw(st.sampled_from(ROLES), label="role")
    post_and_check(fuzz_client, query, None, role)


def test_generated_documents(fuzz_client):
    _fuzz_documents(fuzz_client)


# Fixed documents, hostile variables: each request is plausible but for one or two values —
# control characters, surrogates, lookalikes, very long strings, out-of-range numbers — so that
# the hostile value reaches the services and the database rather than an early check.
NAMES = ["crm.customers.email", "crm.customers.fuzz_new", "ml.scores.churn_risk",
         "dwh.marts.audiences.baby_club_member"]
control = st.builds(lambda n, c, i: n[:i] + c + n[i:],
                    st.sampled_from(NAMES + ["team", "copy", "marketing"]),
                    st.sampled_from(["\x00", "\x00", "\x1b", "\ud800", "\x85", "\n"]),
                    st.integers(0, 25))
hostile_text = st.one_of(
    control, control,
    st.sampled_from(["", ".", "a..b", "Crm.customers.email", "x" * 600, "%", "_", "\u202e"]),
    st.text(max_size=30),
)
hostile_int = st.one_of(st.integers(-3, 1000), st.sampled_from([2**31 - 1, 2**31, -2**31 - 1,
                                                                  2**63, 10**30]))
any_value = st.recursive(st.one_of(st.none(), st.booleans(), hostile_int, hostile_text,
                                   st.floats(allow_nan=False)),
                         lambda inner: st.lists(inner, max_size=3)
                         | st.dictionaries(hostile_text, inner, max_size=3), max_leaves=6)


def plausible(**valid):
    """Variables from `valid` (a strategy per name), one or two of them hostile instead."""
    def spoil(names):
        return st.fixed_dictionaries({
            k: (st.one_of(control, hostile_text, hostile_int, any_value) if k in names else v)
            for k, v in valid.items()})
    return st.lists(st.sampled_from(sorted(valid)), min_size=1, max_size=2).flatmap(spoil)


name = st.sampled_from(NAMES)
text = st.sampled_from(["team", "a description", None])
grant = st.fixed_dictionaries({"purpose": st.sampled_from(["marketing", "service.delivery"]),
                               "channels": st.sampled_from([None, ["email"]])})
DOCUMENTS = {
    "query($f: String!, $p: String!, $c: String!, $r: Int) { check(field: $f, purpose: $p, "
    "channel: $c, atLeastRevision: $r) { allowed reasons { code } } }":
        plausible(f=name, p=st.just("marketing.direct"), c=st.just("email"), r=st.none()),
    "query($o: String, $n: String, $p: String, $q: String, $a: String, $first: Int!) { "
    "fields(owner: $o, namePrefix: $n, purpose: $p, permittedFor: $q, after: $a, "
    "first: $first) { nodes { name } pageInfo { endCursor } } }":
        plausible(o=st.sampled_from([None, "team"]), n=st.sampled_from([None, "crm."]),
                  p=st.none(), q=st.sampled_from([None, "marketing.direct"]), a=st.none(),
                  first=st.just(10)),
    "query($f: String!, $a: String, $n: Int!) { history(field: $f, after: $a, first: $n) "
    "{ entries { action } } }": plausible(f=name, a=st.none(), n=st.just(5)),
    "query($f: String!, $d: Int!) { lineage(field: $f, depth: $d) { nodes { name } } }":
        plausible(f=name, d=st.just(3)),
    "mutation($n: String!, $c: String!, $s: String!, $o: String!, $d: String, $x: String, "
    "$g: [GrantInput!]) { registerField(input: {name: $n, category: $c, source: $s, owner: $o, "
    "description: $d, sourceSystem: $x, grants: $g}) { name revision } }":
        plausible(n=name, c=st.sampled_from(["historical", "tracking.contact"]),
                  s=st.sampled_from(["first_party", "derived"]), o=st.just("team"), d=text,
                  x=text, g=st.sampled_from([None, []]) | st.lists(grant, max_size=1)),
    "mutation($f: String!, $g: GrantInput!) { grantPurpose(field: $f, grant: $g) { name } }":
        plausible(f=name, g=grant),
    "mutation($u: String!, $d: String!, $t: String) { addLineage(upstream: $u, downstream: $d, "
    "transform: $t) { transform } }":
        plausible(u=st.just("crm.customers.email"), d=st.just("ml.scores.churn_risk"),
                  t=st.sampled_from([None, "copy"])),
    "mutation($f: String!, $p: String!) { revokePurpose(field: $f, purpose: $p) { name } }":
        plausible(f=name, p=st.just("service")),
}


@settings(FUZZ, max_examples=300)
@given(data=st.data())
def _fuzz_variables(fuzz_client, data):
    query = data.draw(st.sampled_from(sorted(DOCUMENTS)), label="query")
    variables = data.draw(DOCUMENTS[query], label="variables")
    role = data.draw(st.sampled_from(["admin"] * 3 + ["owner", "reviewer"]), label="role")
    post_and_check(fuzz_client, query, variables, role)


def test_hostile_variables(fuzz_client):
    _fuzz_variables(fuzz_client)
