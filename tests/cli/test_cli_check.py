"""`catalog check` on the demo catalog (cases from seeds/demo/README.md): exit 0 when allowed,
1 when denied, 2 on error; the decision printed for people with its proof."""

from __future__ import annotations

import pytest
from cli_helpers import assert_one_line_error

from catalog.services.setup import SEEDS
from catalog.settings import get_settings

DEMO_CATALOG = SEEDS / "demo" / "catalog.yaml"

ALLOWED = [
    ("crm.customers.email", "service.delivery", "email"),
    ("ml.scores.next_best_product", "personalization.recommendations", "web"),
    ("ml.scores.churn_risk", "service.support", "call_center"),
    ("shop.app.devices.gps_location", "service.delivery", "in_app"),
    ("dwh.marts.attribution.ad_touchpoints", "analytics.aggregate", "internal"),
]
DENIED = [
    (("ml.scores.pregnancy_likelihood", "personalization.recommendations", "web"),
     ["POLICY_DENIED", "rule: boudoir-topics", "external.health"]),
    (("crm.customers.fax_number", "service.support", "call_center"), ["FIELD_DEPRECATED"]),
    (("crm.customers.phone", "service.security", "call_center"), ["CHANNEL_NOT_PERMITTED"]),
    (("nobody.has.this", "service", "email"), ["UNKNOWN_FIELD"]),
    (("crm.customers.email", "world_domination", "email"), ["UNKNOWN_PURPOSE"]),
]


@pytest.mark.parametrize("request_", ALLOWED, ids=lambda r: " ".join(r))
def test_allowed_exits_0(invoke, demo_url, request_):
    result = invoke("check", *request_, "--database-url", demo_url)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("ALLOWED")
    assert "reasons:" not in result.stdout


@pytest.mark.parametrize(("request_", "expected"), DENIED, ids=lambda r: " ".join(r)
                         if isinstance(r, tuple) else "")
def test_denied_exits_1(invoke, demo_url, request_, expected):
    result = invoke("check", *request_, "--database-url", demo_url)
    assert result.exit_code == 1, result.output
    assert result.stdout.startswith("DENIED")
    for text in expected:
        assert text in result.stdout


def test_denial_shows_every_reason_with_path_obligations_and_revision(invoke, demo_url):
    result = invoke("check", "dwh.marts.audiences.baby_club_member", "marketing.direct",
                    "email", "--database-url", demo_url)
    assert result.exit_code == 1
    out = result.stdout
    assert "1. UPSTREAM_NOT_PERMITTED:" in out
    assert ("path: dwh.marts.audiences.baby_club_member -> ml.scores.pregnancy_likelihood -> "
            "dwh.marts.customer_360.purchase_categories_12m -> "
            "dwh.marts.orders_enriched.product_categories -> orders.orders.line_items") in out
    assert "2. POLICY_DENIED:" in out and "rule: boudoir-topics" in out
    assert "obligations: CONSENT_REQUIRED" in out
    assert "effective categories: external.health, historical.purchases, " \
           "internal.preferences" in out
    assert "revision: " in out


def test_at_least_revision(invoke, demo_url, monkeypatch):
    reached = invoke("check", "crm.customers.email", "service.delivery", "email",
                     "--at-least-revision", "1", "--database-url", demo_url)
    assert reached.exit_code == 0, reached.output

    monkeypatch.setenv("CATALOG_REVISION_WAIT", "0.2")
    get_settings.cache_clear()
    try:
        result = invoke("check", "crm.customers.email", "service.delivery", "email",
                        "--at-least-revision", "1000000", "--database-url", demo_url)
    finally:
        get_settings.cache_clear()
    assert_one_line_error(result, "1000000 not reached")


def test_check_on_uninitialized_database(invoke, db_url, tmp_path):
    (tmp_path / "cli-test.db").touch()  # exists, but holds no schema
    result = invoke("check", "a.b.c", "service", "email", "--database-url", db_url)
    assert_one_line_error(result, "catalog init")


def test_exit_codes_on_every_database(invoke, database_url):
    """The same on SQLite and PostgreSQL (the shared database_url fixture)."""
    for args in (["init"], ["seed", str(DEMO_CATALOG)]):
        assert invoke(*args, "--database-url", database_url).exit_code == 0
    allowed = invoke("check", *ALLOWED[0], "--database-url", database_url)
    denied = invoke("check", *DENIED[0][0], "--database-url", database_url)
    assert (allowed.exit_code, denied.exit_code) == (0, 1), allowed.output + denied.output
