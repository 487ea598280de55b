"""catalog.client against a real running server (uvicorn on a loopback port), including one
that answers 503 and one that goes away mid-run: the client fails closed."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from conftest import role_tokens
from live_server import LiveServer, Recorder

from catalog.api.app import create_app
from catalog.client import (
    AsyncCatalogClient,
    CatalogClient,
    CatalogClientError,
    Decision,
    Field,
    Lineage,
    Reason,
)
from catalog.domain.model import Grant
from catalog.services import fields

EMAIL = "crm.customers.email"
BABY = "dwh.marts.audiences.baby_club_member"


@pytest.fixture
def served(demo_catalog) -> Iterator[tuple[str, dict, Recorder, LiveServer]]:
    tokens = role_tokens(demo_catalog)
    recorder = Recorder(create_app(demo_catalog, background_sync=False))
    server = LiveServer(recorder).start()
    try:
        yield server.url, tokens, recorder, server
    finally:
        server.stop()


def test_check_returns_typed_decisions_with_their_proof(served):
    url, tokens, _, _ = served
    with CatalogClient(url, tokens["pipeline"]) as client:
        allowed = client.check(EMAIL, "service.delivery", "email")
        denied = client.check(BABY, "marketing.direct", "email")
    assert isinstance(allowed, Decision) and allowed.allowed and allowed.reasons == ()
    assert allowed.revision >= 1
    assert not denied.allowed and all(isinstance(r, Reason) for r in denied.reasons)
    codes = [r.code for r in denied.reasons]
    assert "UPSTREAM_NOT_PERMITTED" in codes and "POLICY_DENIED" in codes
    upstream = next(r for r in denied.reasons if r.code == "UPSTREAM_NOT_PERMITTED")
    assert upstream.path[0] == BABY and len(upstream.path) >= 2 and upstream.message
    assert next(r for r in denied.reasons if r.code == "POLICY_DENIED").rule
    assert "external.health" in denied.effective_categories


def test_check_many_keeps_order_accepts_mappings_and_tuples_and_splits_big_batches(served):
    url, tokens, recorder, _ = served
    cells = [(EMAIL, "service.delivery", "email"), (BABY, "marketing.direct", "email"),
             ("no.such.field", "service", "email")]
    with CatalogClient(url, tokens["pipeline"]) as client:
        mixed = client.check_many([cells[0], {"field": BABY, "purpose": "marketing.direct",
                                              "channel": "email"}, list(cells[2])])
        assert [(d.field, d.purpose, d.channel) for d in mixed] == cells
        assert [d.allowed for d in mixed] == [True, False, False]

        posts = recorder.posts
        many = [cells[i % 3] for i in range(10_001)]
        answers = client.check_many(many)
    assert recorder.posts - posts == 2  # 10,000 + 1
    assert [(d.field, d.purpose, d.channel) for d in answers] == many
    assert [d.allowed for d in answers] == [i % 3 == 0 for i in range(10_001)]
    assert len(recorder.ports) == 1  # one connection, reused


def test_bad_requests_raise_before_sending(served):
    url, tokens, recorder, _ = served
    with CatalogClient(url, tokens["pipeline"]) as client, \
            pytest.raises(CatalogClientError) as caught:
        client.check_many([{"field": EMAIL, "purpose": "service"}])
    assert caught.value.code == "BAD_INPUT" and recorder.posts == 0


def test_at_least_revision_reads_a_write(served, demo_catalog, admin):
    url, tokens, _, _ = served
    rec = fields.grant_purpose(demo_catalog, admin, EMAIL, Grant("sharing.partners"))
    with CatalogClient(url, tokens["pipeline"]) as client:
        d = client.check(EMAIL, "sharing.partners", "email", at_least_revision=rec.revision)
        assert d.allowed and d.revision >= rec.revision
        assert d.obligations == ("CONSENT_REQUIRED",)
        with pytest.raises(CatalogClientError) as caught:
            client.check(EMAIL, "service", "email", at_least_revision=rec.revision + 100)
    assert caught.value.code == "CONFLICT"


def test_field_and_lineage(served):
    url, tokens, _, _ = served
    with CatalogClient(url, tokens["reviewer"]) as client:
        field = client.field(EMAIL)
        assert isinstance(field, Field) and field.owner and field.grants
        assert client.field("no.such.field") is None
        lineage = client.lineage(BABY, depth=2)
    assert isinstance(lineage, Lineage) and lineage.root == BABY
    assert lineage.nodes[0].name == BABY and lineage.edges and not lineage.partial


def test_errors_carry_the_graphql_code_and_4xx_is_never_retried(served):
    url, tokens, recorder, _ = served
    with CatalogClient(url, "pc_not-a-token") as client, \
            pytest.raises(CatalogClientError) as caught:
        client.check(EMAIL, "service", "email")
    assert caught.value.code == "UNAUTHENTICATED" and caught.value.status == 401
    assert recorder.posts == 1
    with CatalogClient(url, tokens["pipeline"]) as client, \
            pytest.raises(CatalogClientError) as caught:
        client.lineage(EMAIL)
    assert caught.value.code == "FORBIDDEN"
    assert recorder.posts == 2


def test_5xx_is_retried_a_bounded_number_of_times(served):
    url, tokens, recorder, _ = served
    recorder.fail_first = 2
    with CatalogClient(url, tokens["pipeline"], backoff=0.01) as client:
        assert client.check(EMAIL, "service.delivery", "email").allowed
    assert recorder.posts == 3

    recorder.posts, recorder.fail_first = 0, 100
    with CatalogClient(url, tokens["pipeline"], retries=2, backoff=0.01) as client, \
            pytest.raises(CatalogClientError) as caught:
        client.check(EMAIL, "service.delivery", "email")
    assert caught.value.code == "UNAVAILABLE" and "HTTP 503" in caught.value.message
    assert recorder.posts == 3


def test_a_server_that_goes_away_mid_run_fails_closed(served):
    url, tokens, _, server = served
    with CatalogClient(url, tokens["pipeline"], retries=2, backoff=0.01) as client:
        assert client.check(EMAIL, "service.delivery", "email").allowed
        server.stop()
        with pytest.raises(CatalogClientError) as caught:
            client.check(EMAIL, "service.delivery", "email")
        assert caught.value.code == "UNAVAILABLE"
        with pytest.raises(CatalogClientError):
            client.check_many([(EMAIL, "service.delivery", "email")])


def test_async_client(served):
    url, tokens, recorder, _ = served

    async def run():
        async with AsyncCatalogClient(url, tokens["pipeline"]) as client:
            one = await client.check(EMAIL, "service.delivery", "email")
            many = await client.check_many([(BABY, "marketing.direct", "email")] * 3)
            field = await client.field(EMAIL)
            return one, many, field

    one, many, field = asyncio.run(run())
    assert one.allowed and [d.allowed for d in many] == [False] * 3
    assert field.name == EMAIL and recorder.posts == 3


def test_verify_against_a_server(served, tmp_path):
    from typer.testing import CliRunner

    from catalog.cli import app

    url, tokens, recorder, server = served
    uses = tmp_path / "uses.yaml"
    uses.write_text(f"uses:\n  - {{field: {EMAIL}, purpose: service.delivery, channel: email}}\n"
                    f"  - {{field: {BABY}, purpose: marketing.direct, channel: email}}\n")
    runner = CliRunner()
    result = runner.invoke(app, ["verify", str(uses), "--url", url, "--token",
                                 tokens["pipeline"], "--format", "json"])
    assert result.exit_code == 1, result.output
    import json
    body = json.loads(result.stdout)
    assert [d["allowed"] for d in body["decisions"]] == [True, False]
    assert recorder.posts == 1  # one checkMany

    result = runner.invoke(app, ["verify", str(uses), "--url", url, "--token", "pc_bad"])
    assert result.exit_code == 2 and "UNAUTHENTICATED" in result.stderr
    server.stop()
    result = runner.invoke(app, ["verify", str(uses), "--url", url, "--token",
                                 tokens["pipeline"]])
    assert result.exit_code == 2 and "UNAVAILABLE" in result.stderr
