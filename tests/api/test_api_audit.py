"""Time and audit over HTTP (docs/semantics.md §9-10): asOf on every execution path, changes,
simulate, decisionLog and overcrowding, their errors and roles. SQLite and PostgreSQL."""

from __future__ import annotations

import base64

import pytest
from api_helpers import DECISION_PARTS

from catalog.services import decision_log

pytestmark = pytest.mark.anyio

EMAIL = "crm.customers.email"
SIZE = "crm.customers.clothing_size"
CHECK_AS_OF = ("query($f: String!, $p: String!, $c: String!, $a: AsOf, $r: Int) {"
               " check(field: $f, purpose: $p, channel: $c, asOf: $a, atLeastRevision: $r)"
               f" {{ {DECISION_PARTS} }} }}")
MANY_AS_OF = ("query($q: [CheckInput!]!, $a: AsOf) { checkMany(requests: $q, asOf: $a)"
              f" {{ {DECISION_PARTS} }} }}")
REVOKE = f'mutation {{ revokePurpose(field: "{SIZE}", purpose: "service") {{ revision }} }}'
SIMULATE = """query($c: [ChangeInput!]!, $k: [CheckInput!]) { simulate(changes: $c, checks: $k) {
  checked partial revision flips { field purpose channel before { allowed revision }
  after { allowed reasons { code } } } } }"""
LOG = """query($f: String, $p: String, $s: DateTime, $u: DateTime, $n: Int!, $a: String) {
  decisionLog(field: $f, purpose: $p, since: $s, until: $u, first: $n, after: $a) {
    nodes { minute caller field purpose channel allowed count }
    pageInfo { endCursor hasNextPage } } }"""


async def test_as_of_answers_from_the_past_on_every_path(api):
    before = await api.revision()
    revoked = (await api.data(REVOKE))["revokePurpose"]["revision"]
    args = {"f": SIZE, "p": "service", "c": "web"}
    now = await api.data(CHECK_AS_OF, args, as_="pipeline")
    assert not now["check"]["allowed"] and now["check"]["revision"] == revoked
    # Variables, inline arguments, checkMany: each answers as of `before`.
    then = await api.data(CHECK_AS_OF, {**args, "a": {"revision": before}}, as_="pipeline")
    assert then["check"]["allowed"] and then["check"]["revision"] == before
    inline = (f'{{ check(field: "{SIZE}", purpose: "service", channel: "web", '
              f'asOf: {{revision: {before}}}) {{ allowed revision }} }}')
    assert (await api.data(inline, as_="pipeline"))["check"] == {"allowed": True,
                                                                 "revision": before}
    many = await api.data(MANY_AS_OF, {"q": [{"field": SIZE, "purpose": "service",
                                              "channel": "web"}] * 2,
                                       "a": {"revision": before}}, as_="pipeline")
    assert [d["allowed"] for d in many["checkMany"]] == [True, True]
    # ... and the same document without asOf still answers from now (no leak).
    assert not (await api.data(CHECK_AS_OF, args, as_="pipeline"))["check"]["allowed"]
    by_time = await api.data(CHECK_AS_OF, {**args, "a": {"time": "2000-01-01T00:00:00"}})
    assert by_time["check"]["revision"] == 0


@pytest.mark.parametrize(("as_of", "at_least", "code"), [
    ({}, None, "BAD_INPUT"),
    ({"revision": 1, "time": "2020-01-01T00:00:00Z"}, None, "BAD_INPUT"),
    ({"revision": -1}, None, "BAD_INPUT"),
    ({"revision": 1}, 1, "BAD_INPUT"),
    ({"revision": 1_000_000}, None, "CONFLICT"),
    ({"time": "2999-01-01T00:00:00Z"}, None, "CONFLICT"),
])
async def test_as_of_bad_input(read_api, as_of, at_least, code):
    args = {"f": SIZE, "p": "service", "c": "web", "a": as_of, "r": at_least}
    error = await read_api.error(CHECK_AS_OF, args, code=code, as_="pipeline")
    assert "asOf" in error["message"] or "revision" in error["message"]


async def test_changes_feed_and_its_roles(read_api):
    data = await read_api.data("{ changes(first: 3) { revision action entity after } }",
                               as_="reviewer")
    assert data["changes"][0]["revision"] == 1
    assert data["changes"][0]["action"] == "upsert_taxonomy_key"
    assert len({e["revision"] for e in data["changes"]}) == 1  # revision 1 is not split
    await read_api.error("{ changes { revision } }", code="FORBIDDEN", as_="pipeline")
    await read_api.error("{ changes(first: 0) { revision } }", code="BAD_INPUT")


async def test_simulate_over_http(read_api):
    revision = await read_api.revision()
    changes = [{"revokePurpose": {"field": SIZE, "purpose": "service"}}]
    checks = [{"field": SIZE, "purpose": "service", "channel": c} for c in ("web", "ads")]
    sim = (await read_api.data(SIMULATE, {"c": changes, "k": checks},
                               as_="reviewer"))["simulate"]
    assert sim["checked"] == 2 and not sim["partial"] and sim["revision"] == revision
    assert [(f["channel"], f["before"]["allowed"], f["after"]["allowed"])
            for f in sim["flips"]] == [("ads", True, False), ("web", True, False)]
    assert sim["flips"][0]["after"]["reasons"][0]["code"] == "PURPOSE_NOT_GRANTED"
    assert await read_api.revision() == revision
    await read_api.error(SIMULATE, {"c": changes}, code="FORBIDDEN", as_="pipeline")
    await read_api.error(SIMULATE, {"c": [{"deprecateField": "crm.no.such"}]},
                         code="NOT_FOUND")
    await read_api.error(SIMULATE, {"c": [{}]}, code="BAD_INPUT")
    await read_api.error(SIMULATE, {"c": [{"addLineage": {
        "upstream": "dwh.marts.audiences.baby_club_member",
        "downstream": "orders.orders.line_items"}}]}, code="CONFLICT")


async def test_the_decision_log_counts_every_path_and_pages(api, demo_catalog):
    recorder = decision_log.recorder_of(demo_catalog)
    assert recorder is not None
    q = {"f": EMAIL, "p": "service", "c": "web"}
    await api.data(CHECK_AS_OF, q, as_="pipeline")  # the lean path
    await api.data(CHECK_AS_OF, {**q, "a": {"revision": 1}}, as_="pipeline")  # strawberry
    await api.data(f'{{ a: check(field: "{EMAIL}", purpose: "service", channel: "web") '
                   f'{{ allowed }} b: checkMany(requests: [{{field: "{SIZE}", '
                   'purpose: "marketing.direct", channel: "sms"}]) { allowed } }', as_="owner")
    await api.data(f'{{ usageMatrix(field: "{EMAIL}") {{ allowed }} }}')  # not counted
    recorder.flush()
    page = (await api.data(LOG, {"n": 2}, as_="reviewer"))["decisionLog"]
    assert len(page["nodes"]) == 2 and page["pageInfo"]["hasNextPage"]
    rest = (await api.data(LOG, {"n": 10, "a": page["pageInfo"]["endCursor"]},
                           as_="reviewer"))["decisionLog"]
    nodes = page["nodes"] + rest["nodes"]
    assert not rest["pageInfo"]["hasNextPage"]
    assert sorted((n["caller"], n["field"], n["purpose"], n["channel"], n["count"])
                  for n in nodes) == [
        ("test-owner", SIZE, "marketing.direct", "sms", 1),
        ("test-owner", EMAIL, "service", "web", 1),
        ("test-pipeline", EMAIL, "service", "web", 2)]
    assert nodes[0]["minute"].endswith(":00+00:00")
    only = (await api.data(LOG, {"n": 10, "p": "marketing"}, as_="admin"))["decisionLog"]
    assert [n["field"] for n in only["nodes"]] == [SIZE]


@pytest.mark.parametrize(("variables", "code"), [
    ({"n": 10, "s": "2026-02-01T00:00:00Z", "u": "2026-01-01T00:00:00Z"}, "BAD_INPUT"),
    ({"n": 10, "a": "%%%"}, "BAD_INPUT"),
    ({"n": 10, "a": base64.urlsafe_b64encode(b'["2026-01-01", 1, 2]').decode()}, "BAD_INPUT"),
    ({"n": 0}, "BAD_INPUT"),
])
async def test_decision_log_bad_input(read_api, variables, code):
    await read_api.error(LOG, variables, code=code, as_="reviewer")


@pytest.mark.parametrize("role", ["pipeline", "owner"])
async def test_decision_log_and_overcrowding_are_for_reviewers_and_admins(read_api, role):
    await read_api.error(LOG, {"n": 1}, code="FORBIDDEN", as_=role)
    await read_api.error("{ overcrowding { channel } }", code="FORBIDDEN", as_=role)
