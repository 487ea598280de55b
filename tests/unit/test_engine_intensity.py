"""Decision.intensity (docs/semantics.md §15): the defaults, inheritance, floors, and that it never
changes what is allowed. Pure engine; no database."""

from __future__ import annotations

import copy

import pytest
from engine_helpers import TAXONOMY_SPEC, G, seed_rules, taxonomy_from_spec
from hypothesis import given, settings
from hypothesis import strategies as st

from catalog.domain.model import FieldRecord
from catalog.domain.rules import rule_from_spec
from catalog.domain.taxonomy import Taxonomy
from catalog.errors import BadInput

# docs/semantics.md §15, spelled out per key (children inherit unless listed).
DEFAULT_PURPOSES = {
    "service": "utility", "service.delivery": "utility", "service.support": "utility",
    "service.security": "utility",
    "personalization": "relationship", "personalization.onsite": "utility",
    "personalization.recommendations": "relationship",
    "marketing": "relationship", "marketing.direct": "relationship",
    "marketing.advertising": "relationship",
    "analytics": "utility", "analytics.aggregate": "utility",
    "analytics.profiling": "surveillance",
    "pricing": "surveillance", "pricing.individual": "surveillance",
    "sharing": "surveillance", "sharing.partners": "surveillance",
    "sharing.sale": "surveillance",
}
FLOORED = {"tracking.cross_site", "tracking.location.precise", "social.religion",
           "social.political", "external.health", "external.biometric", "internal.beliefs",
           "unclassified"}


def field(name: str, category: str, *grants) -> FieldRecord:
    return FieldRecord(name, category, "first_party", "team", grants=tuple(grants))


def test_the_default_taxonomy_states_every_contract_intensity(taxonomy):
    assert set(DEFAULT_PURPOSES) == set(taxonomy.purposes)
    for purpose, expected in DEFAULT_PURPOSES.items():
        assert taxonomy.spectrum.purpose_name(purpose) == expected, purpose


@pytest.mark.parametrize("purpose", sorted(DEFAULT_PURPOSES))
def test_a_low_category_takes_the_purpose_intensity(make_index, purpose):
    index = make_index([field("crm.c.size", "internal.preferences", G(purpose))])
    decision = index.check("crm.c.size", purpose, "web")
    assert decision.intensity == DEFAULT_PURPOSES[purpose]


@pytest.mark.parametrize("category", sorted(FLOORED))
@pytest.mark.parametrize("purpose", sorted(DEFAULT_PURPOSES))
def test_floors_raise_every_purpose_outside_service(make_index, taxonomy, category, purpose):
    index = make_index([field("a.b.c", category, G(purpose))])
    expected = DEFAULT_PURPOSES[purpose] if purpose.startswith("service") else "surveillance"
    assert index.check("a.b.c", purpose, "web").intensity == expected
    assert taxonomy.spectrum.floor_name(category) == "surveillance"


def test_no_other_default_category_has_a_floor(taxonomy):
    for category in taxonomy.categories:
        if category not in FLOORED:
            assert taxonomy.spectrum.floor_name(category) is None, category


def test_floors_come_through_lineage(make_index):
    index = make_index([field("web.px.id", "tracking.cross_site", G("analytics")),
                        field("dwh.m.visits", "historical.browsing", G("analytics"))],
                       edges=[_edge("web.px.id", "dwh.m.visits")])
    assert index.check("dwh.m.visits", "analytics.aggregate", "internal").intensity == \
        "surveillance"
    assert index.check("dwh.m.visits", "service", "internal").intensity == "utility"


def _edge(u, d):
    from catalog.domain.model import Edge
    return Edge(u, d)


def spec_with(purposes=None, categories=None) -> dict:
    spec = copy.deepcopy(TAXONOMY_SPEC)
    for key, value in (purposes or {}).items():
        spec["purposes"].setdefault(key, {})
        spec["purposes"][key] = {**(spec["purposes"][key] or {}), "intensity": value}
    for key, value in (categories or {}).items():
        spec["categories"].setdefault(key, {})
        spec["categories"][key] = {**(spec["categories"][key] or {}), "intensity": value}
    return spec


def test_children_inherit_unless_they_state_their_own():
    spec = spec_with(purposes={"marketing.direct.newsletter": None,
                               "marketing.advertising.retargeting": "surveillance"},
                     categories={"historical.purchases.returns": None,
                                 "tracking.cross_site.fingerprint": None,
                                 "historical.browsing": "relationship"})
    spec["purposes"]["marketing.direct.newsletter"] = {}
    spec["categories"]["historical.purchases.returns"] = {}
    spec["categories"]["tracking.cross_site.fingerprint"] = {}
    s = taxonomy_from_spec(spec).spectrum
    assert s.purpose_name("marketing.direct.newsletter") == "relationship"
    assert s.purpose_name("marketing.advertising.retargeting") == "surveillance"
    assert s.purpose_name("marketing.advertising") == "relationship"
    assert s.floor_name("tracking.cross_site.fingerprint") == "surveillance"
    assert s.floor_name("historical.purchases.returns") is None
    assert s.floor_name("historical.browsing") == "relationship"
    assert s.of_decision("analytics.aggregate", frozenset({"historical.browsing"})) == \
        "relationship"


def test_a_purpose_with_no_intensity_in_its_chain_counts_as_surveillance():
    spec = copy.deepcopy(TAXONOMY_SPEC)
    spec["purposes"]["research"] = {}
    spec["purposes"]["research.surveys"] = {}
    s = taxonomy_from_spec(spec).spectrum
    assert s.purpose_name("research") == s.purpose_name("research.surveys") == "surveillance"


def test_sensitivity_four_is_a_surveillance_floor_whatever_it_states():
    s = taxonomy_from_spec(spec_with(categories={"external.health": "utility"})).spectrum
    assert s.floor_name("external.health") == "surveillance"
    assert s.of_decision("personalization.onsite", frozenset({"external.health"})) == \
        "surveillance"
    assert s.of_decision("service.support", frozenset({"external.health"})) == "utility"


def test_unknown_keys_and_values(make_index):
    index = make_index([field("crm.c.size", "tracking.cross_site", G("service"))])
    assert index.check("crm.c.size", "no.such", "web").intensity is None
    assert index.check("no.such.field", "marketing.direct", "web").intensity == "relationship"
    # An unknown channel still knows the field's categories: the floor applies.
    assert index.check("crm.c.size", "marketing.direct", "fax").intensity == "surveillance"


@pytest.mark.parametrize("intensities", [
    {("purpose", "marketing"): "extreme"},
    {("purpose", "marketing"): "Surveillance"},
    {("category", "tracking"): 3},
    {("channel", "email"): "utility"},
    {("purpose", "no.such"): "utility"},
])
def test_bad_intensities_are_refused(taxonomy, intensities):
    with pytest.raises(BadInput, match="intensity"):
        Taxonomy.build(categories=dict(taxonomy.categories), purposes=list(taxonomy.purposes),
                       channels=dict(taxonomy.channels), sources=list(taxonomy.sources),
                       intensities=intensities)


def test_decisions_are_the_same_with_or_without_intensities(make_index, taxonomy, rules):
    """Intensity never changes allowed, reasons or obligations."""
    plain = Taxonomy.build(categories=dict(taxonomy.categories),
                           purposes=list(taxonomy.purposes), channels=dict(taxonomy.channels),
                           sources=list(taxonomy.sources))
    fields = [field(f"s.d.f{i}", c, *(G(p) for p in DEFAULT_PURPOSES if len(p) % 3 == i % 3))
              for i, c in enumerate(sorted(taxonomy.categories))]
    a = make_index(fields)
    b = make_index(fields, taxonomy=plain, rules=seed_rules(plain))
    for f in fields:
        for p in sorted(taxonomy.purposes):
            for c in sorted(taxonomy.channels):
                x, y = a.check(f.name, p, c), b.check(f.name, p, c)
                assert (x.allowed, x.reasons, x.obligations) == \
                    (y.allowed, y.reasons, y.obligations)
                assert y.intensity in ("surveillance", "utility")  # no stated intensities


# -- unstatedBenefit --------------------------------------------------------------------------
MANDATE = {"effect": "DENY", "unstated_benefit": True,
           "purposes": ["marketing", "personalization"]}


@settings(max_examples=60, deadline=None)
@given(benefits=st.lists(st.sampled_from([None, "Shows you your size first."]),
                         min_size=4, max_size=4),
       purpose=st.sampled_from(["marketing.direct", "personalization.onsite", "service"]))
def test_the_mandate_denies_exactly_the_unstated_grants(taxonomy, rules, benefits, purpose):
    from catalog.domain.index import CatalogIndex
    mandate = rule_from_spec("transparency-mandate", MANDATE, taxonomy)
    # Same category and source for all: one effective profile, so the rule cache must tell
    # them apart by the benefit of each field's own grant.
    fields = [field(f"crm.c.f{i}", "internal.preferences",
                    G("marketing"), _with_benefit(G("personalization"), b),
                    _with_benefit(G("marketing.direct"), b), G("service"))
              for i, b in enumerate(benefits)]
    index = CatalogIndex.build(taxonomy, [*rules, mandate], fields, [])
    for f, benefit in zip(fields, benefits, strict=True):
        d = index.check(f.name, purpose, "email")
        denied = "transparency-mandate" in [r.rule for r in d.reasons]
        assert denied == (not purpose.startswith("service") and benefit is None)


def _with_benefit(grant, benefit):
    from dataclasses import replace
    return replace(grant, customer_benefit=benefit)


def test_unstated_false_matches_only_stated_and_no_grant_counts_as_unstated(taxonomy, rules):
    from catalog.domain.index import CatalogIndex
    stated = rule_from_spec("stated", {"effect": "REQUIRE_CONSENT", "unstated_benefit": False},
                            taxonomy)
    unstated = rule_from_spec("unstated", {"effect": "DENY", "unstated_benefit": True},
                              taxonomy)
    index = CatalogIndex.build(taxonomy, [stated, unstated], [
        field("crm.c.a", "internal.preferences", _with_benefit(G("marketing"), "Offers.")),
        field("crm.c.b", "internal.preferences", G("service"))], [])
    a = index.check("crm.c.a", "marketing.direct", "email")
    assert a.allowed and a.obligations == ("CONSENT_REQUIRED",)
    b = index.check("crm.c.b", "marketing.direct", "email")  # no grant: unstated
    assert [r.rule for r in b.reasons if r.rule] == ["unstated"]
    assert not b.obligations
    with pytest.raises(BadInput, match="unstated_benefit"):
        rule_from_spec("x", {"effect": "DENY", "unstated_benefit": "yes"}, taxonomy)
