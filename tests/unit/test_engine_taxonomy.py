"""docs/semantics.md §1-2, as the engine sees them: the seed taxonomy resolves to the
contract's tables, name and key rules, key coverage, rules as data."""

from __future__ import annotations

import pytest

from catalog.domain.names import covers, is_field_name, is_taxonomy_key, key_chain
from catalog.domain.rules import rule_from_spec, rule_to_spec
from catalog.domain.taxonomy import Taxonomy
from catalog.errors import BadInput

SENSITIVITY = {  # docs/semantics.md §2 (seeds/taxonomy.yaml), row by row
    "historical": 2, "historical.purchases": 2, "historical.interactions": 2,
    "historical.browsing": 2,
    "financial": 3, "financial.payment": 3, "financial.credit": 3, "financial.income": 3,
    "professional": 2, "professional.employment": 2, "professional.education": 2,
    "social": 3, "social.family": 3, "social.religion": 4, "social.political": 4,
    "external": 2, "external.demographics": 2, "external.health": 4, "external.biometric": 4,
    "internal": 2, "internal.preferences": 1, "internal.beliefs": 4,
    "tracking": 2, "tracking.contact": 2, "tracking.device": 2, "tracking.location": 3,
    "tracking.location.precise": 3, "tracking.cross_site": 3,
    "unclassified": 4,  # docs/semantics.md §11
}


def test_seed_categories_match_the_contract(taxonomy):
    assert dict(taxonomy.categories) == SENSITIVITY


def test_seed_purposes_channels_sources(taxonomy):
    assert taxonomy.purposes == {
        "service", "service.delivery", "service.support", "service.security",
        "personalization", "personalization.onsite", "personalization.recommendations",
        "marketing", "marketing.direct", "marketing.advertising",
        "analytics", "analytics.aggregate", "analytics.profiling",
        "pricing", "pricing.individual", "sharing", "sharing.partners", "sharing.sale"}
    assert dict(taxonomy.channels) == {
        "email": "private", "in_app": "private", "web": "private", "call_center": "private",
        "internal": "private", "sms": "shared", "push": "shared", "direct_mail": "shared",
        "in_store": "public", "ads": "public"}
    assert taxonomy.sources == {"zero_party", "first_party", "third_party", "derived"}


def test_sub_category_inherits_unless_listed():
    tax = Taxonomy.build(categories={"a": 2, "a.b": None, "a.b.c": None, "a.d": 4,
                                     "a.d.e": None, "a.d.f": 1},
                         purposes=["p"], channels={"c": "private"}, sources=["s"])
    assert dict(tax.categories) == {"a": 2, "a.b": 2, "a.b.c": 2, "a.d": 4, "a.d.e": 4,
                                    "a.d.f": 1}
    assert tax.sensitivity({"a.b.c", "a.d.e"}) == 4
    assert tax.sensitivity(set()) == 0


@pytest.mark.parametrize("categories", [{"a": None}, {"a": 5}, {"a": 0}, {"a": True},
                                        {"a.b": 2}, {"A": 2}])
def test_bad_taxonomy_is_refused(categories):
    with pytest.raises(BadInput):
        Taxonomy.build(categories=categories, purposes=["p"], channels={"c": "private"},
                       sources=["s"])


# -- names (§2) -----------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["crm.customers.email", "dwh.marts.orders.total",
                                  "A-b.C_d.0", "x" * 128 + ".y.z", "CRM.Customers.Email"])
def test_valid_field_names(name):
    assert is_field_name(name)


@pytest.mark.parametrize("name", ["", "a.b", "a..c", ".a.b", "a.b.", "a.b.c\n", "\na.b.c",
                                  "a.b.c ", "a b.c.d", "a.b.c\t", "é.b.c", "a/b.c.d",
                                  "x" * 129 + ".y.z", ".".join(["abc"] * 129), None, 42])
def test_invalid_field_names(name):
    assert not is_field_name(name)


def test_field_name_total_length_limit():
    name = ".".join(["x" * 127] * 4)  # 511 characters
    assert len(name) == 511 and is_field_name(name)
    assert not is_field_name(name + "xx")


@pytest.mark.parametrize("key,ok", [("marketing", True), ("tracking.location.precise", True),
                                    ("cross_site", True), ("Marketing", False),
                                    ("marketing.", False), ("", False),
                                    ("marketing\n", False), ("a-b", False), ("a..b", False)])
def test_taxonomy_keys(key, ok):
    assert is_taxonomy_key(key) is ok


def test_coverage_and_chains():
    assert covers("marketing", "marketing") and covers("marketing", "marketing.direct")
    assert not covers("marketing.direct", "marketing")
    assert not covers("market", "marketing.direct")
    assert not covers("tracking.location", "tracking.locationx")
    assert key_chain("tracking.location.precise") == [
        "tracking.location.precise", "tracking.location", "tracking"]
    assert key_chain("email") == ["email"]


# -- rules as data (§4) -----------------------------------------------------------------------
def test_rule_specs_round_trip(rules):
    for rule in rules:
        assert rule_from_spec(rule.key, rule_to_spec(rule)) == rule


@pytest.mark.parametrize("spec", [
    {"effect": "ALLOW"},
    {"effect": "DENY", "purposes": ["marketing.telepathy"]},
    {"effect": "DENY", "channels": "sms"},
    {"effect": "DENY", "channels": []},
    {"effect": "DENY", "min_sensitivity": 5},
    {"effect": "DENY", "colour": ["red"]},
])
def test_bad_rule_specs_are_refused(taxonomy, spec):
    with pytest.raises(BadInput):
        rule_from_spec("bad-rule", spec, taxonomy)


def test_rule_with_no_criteria_matches_everything(make_index):
    from engine_helpers import F, reasons

    rule = rule_from_spec("always-no", {"effect": "DENY"})
    index = make_index([F("crm.c.x")], rules=[rule])
    assert reasons(index.check("crm.c.x", "service", "email")) == [
        ("POLICY_DENIED", "always-no", None)]
