"""docs/semantics.md §2: each of the seven default rules fires, and a near miss where it
does not.

Every field here grants every purpose on every channel, so whatever denies is a rule."""

from __future__ import annotations

import pytest
from engine_helpers import CONSENT, RULE_KEYS, E, F, G, reasons

FIELD = "crm.customers.x"


def policy(d) -> list[str]:
    return [r.rule for r in d.reasons if r.code.value == "POLICY_DENIED"]


@pytest.fixture
def one(make_index):
    """one(category, source) -> check(purpose, channel) on a single fully granted field."""

    def make(category: str = "internal.preferences", source: str = "first_party"):
        index = make_index([F(FIELD, category=category, source=source)])
        return lambda purpose, channel: index.check(FIELD, purpose, channel)

    return make


def test_seed_rules_are_those_of_the_contract(rules):
    assert sorted(r.key for r in rules) == sorted(RULE_KEYS)
    effects = {r.key: r.effect for r in rules}
    assert effects.pop("breaking-bonds") == "REQUIRE_CONSENT"
    assert set(effects.values()) == {"DENY"}


def test_harmless_field_is_allowed_everywhere(make_index, taxonomy):
    index = make_index([F(FIELD)])
    for p in taxonomy.purposes:
        for c in taxonomy.channels:
            d = index.check(FIELD, p, c)
            assert d.allowed, (p, c, reasons(d))
            assert d.obligations == ((CONSENT,) if p.startswith("sharing") else ())


# -- boudoir-topics: sensitivity >= 4; marketing, personalization, pricing, sharing,
#    analytics.profiling -----------------------------------------------------------------
@pytest.mark.parametrize("purpose", ["marketing", "marketing.direct", "marketing.advertising",
                                     "personalization.onsite", "pricing", "pricing.individual",
                                     "sharing.partners", "analytics.profiling"])
@pytest.mark.parametrize("category", ["external.health", "external.biometric",
                                      "social.religion", "social.political", "internal.beliefs"])
def test_boudoir_topics_fires(one, purpose, category):
    d = one(category)(purpose, "email")
    assert "boudoir-topics" in policy(d) and not d.allowed
    if purpose != "pricing.individual" or not category.startswith("external"):
        assert policy(d) == ["boudoir-topics"]


def test_boudoir_topics_near_misses(one):
    health = one("external.health")
    # Purposes the rule does not list, nor cover: analytics (the parent of
    # analytics.profiling), analytics.aggregate, service.
    for purpose in ("analytics", "analytics.aggregate", "service", "service.support"):
        assert health(purpose, "email").allowed, purpose
    # Sensitivity 3 is not enough.
    assert one("financial.credit")("marketing.direct", "email").allowed
    assert one("social.family")("personalization.onsite", "email").allowed


def test_boudoir_topics_through_lineage(make_index):
    """A field derived from a health field is as sensitive as it."""
    index = make_index([F("med.raw.pregnancy", category="external.health"),
                        F("dwh.scores.baby_club", category="internal.preferences",
                          source="derived")],
                       [E("med.raw.pregnancy", "dwh.scores.baby_club")])
    d = index.check("dwh.scores.baby_club", "marketing.direct", "email")
    assert reasons(d) == [("POLICY_DENIED", "boudoir-topics", None)]
    assert d.effective_categories == ("external.health", "internal.preferences")
    assert index.sensitivity("dwh.scores.baby_club") == 4
    assert index.check("dwh.scores.baby_club", "analytics.aggregate", "email").allowed


# -- sensitive-data-private-channels: sensitivity >= 3; sms, push, direct_mail, in_store, ads
@pytest.mark.parametrize("channel", ["sms", "push", "direct_mail", "in_store", "ads"])
def test_sensitive_data_private_channels_fires(one, channel):
    d = one("financial.payment")("service.delivery", channel)
    assert policy(d) == ["sensitive-data-private-channels"]


@pytest.mark.parametrize("channel", ["email", "in_app", "web", "call_center", "internal"])
def test_sensitive_data_private_channels_near_miss_private_channel(one, channel):
    assert one("financial.payment")("service.delivery", channel).allowed


def test_sensitive_data_private_channels_near_miss_sensitivity(one):
    assert one("historical.purchases")("service.delivery", "sms").allowed
    assert one("tracking.contact")("service.delivery", "ads").allowed


# -- digging-too-deep: source third_party; personalization, marketing -----------------------
@pytest.mark.parametrize("purpose", ["personalization", "personalization.recommendations",
                                     "marketing", "marketing.advertising"])
def test_digging_too_deep_fires(one, purpose):
    assert policy(one(source="third_party")(purpose, "email")) == ["digging-too-deep"]


def test_digging_too_deep_near_misses(one):
    bought = one(source="third_party")
    assert bought("analytics.aggregate", "internal").allowed
    assert bought("service.support", "email").allowed
    for source in ("zero_party", "first_party", "derived"):
        assert one(source=source)("marketing.direct", "email").allowed


def test_digging_too_deep_through_lineage(make_index):
    index = make_index([F("ext.broker.income", source="third_party"),
                        F("dwh.scores.affluence", source="derived")],
                       [E("ext.broker.income", "dwh.scores.affluence")])
    assert index.effective_sources("dwh.scores.affluence") == ("derived", "third_party")
    assert policy(index.check("dwh.scores.affluence", "personalization", "web")) == [
        "digging-too-deep"]


# -- digging-too-deep-cross-site: category tracking.cross_site; personalization, marketing ----
def test_digging_too_deep_cross_site_fires(one):
    check = one("tracking.cross_site")
    assert policy(check("marketing.direct", "email")) == ["digging-too-deep-cross-site"]
    assert policy(check("personalization.onsite", "web")) == ["digging-too-deep-cross-site"]


def test_digging_too_deep_cross_site_near_misses(one):
    assert one("tracking.cross_site")("analytics.aggregate", "internal").allowed
    assert one("tracking.device")("marketing.direct", "email").allowed
    assert one("tracking")("personalization.onsite", "web").allowed


# -- helicoptering: category tracking.location; marketing; sms, push, in_store -------------
@pytest.mark.parametrize("channel", ["sms", "push", "in_store"])
@pytest.mark.parametrize("category", ["tracking.location", "tracking.location.precise"])
def test_helicoptering_fires(one, category, channel):
    # Location is sensitivity 3, so those channels are also out for any purpose.
    assert policy(one(category)("marketing.direct", channel)) == [
        "helicoptering", "sensitive-data-private-channels"]


def test_helicoptering_fires_alone_when_location_is_less_sensitive(make_index, taxonomy, rules):
    from catalog.domain.taxonomy import Taxonomy

    tax = Taxonomy.build(categories={**dict(taxonomy.categories), "tracking.location": 2,
                                     "tracking.location.precise": 2},
                         purposes=list(taxonomy.purposes), channels=dict(taxonomy.channels),
                         sources=list(taxonomy.sources))
    index = make_index([F(FIELD, category="tracking.location.precise")], taxonomy=tax)
    assert reasons(index.check(FIELD, "marketing", "push")) == [
        ("POLICY_DENIED", "helicoptering", None)]
    assert index.check(FIELD, "service", "push").allowed


def test_helicoptering_near_misses(one):
    loc = one("tracking.location")
    assert loc("marketing.direct", "email").allowed            # channel not listed
    assert policy(loc("marketing.direct", "direct_mail")) == [  # shared, but not listed
        "sensitive-data-private-channels"]
    assert policy(loc("service.delivery", "sms")) == [          # purpose not listed
        "sensitive-data-private-channels"]
    assert one("tracking.device")("marketing.direct", "sms").allowed  # category not covered


# -- surveillance-pricing: tracking, historical.browsing, financial, external; pricing.individual
@pytest.mark.parametrize("category", ["tracking", "tracking.contact", "tracking.device",
                                      "historical.browsing", "financial", "financial.income",
                                      "external.demographics"])
def test_surveillance_pricing_fires(one, category):
    assert policy(one(category)("pricing.individual", "web")) == ["surveillance-pricing"]


def test_surveillance_pricing_with_special_category(one):
    assert policy(one("external.health")("pricing.individual", "web")) == [
        "boudoir-topics", "surveillance-pricing"]


def test_surveillance_pricing_near_misses(one):
    assert one("historical.browsing")("pricing", "web").allowed  # parent purpose: not covered
    assert one("historical.purchases")("pricing.individual", "web").allowed
    assert one("historical")("pricing.individual", "web").allowed  # rule lists only browsing
    assert one("professional.employment")("pricing.individual", "web").allowed
    assert one("tracking.device")("analytics.aggregate", "web").allowed


# -- breaking-bonds: sharing -> REQUIRE_CONSENT ------------------------------------------------
@pytest.mark.parametrize("purpose", ["sharing", "sharing.partners", "sharing.sale"])
def test_breaking_bonds_requires_consent_but_allows(one, purpose):
    d = one()(purpose, "email")
    assert d.allowed and d.reasons == ()
    assert d.obligations == (CONSENT,)


def test_breaking_bonds_near_miss(one):
    for purpose in ("marketing.direct", "analytics.aggregate", "service"):
        d = one()(purpose, "email")
        assert d.allowed and d.obligations == ()


def test_breaking_bonds_obligation_does_not_replace_a_grant(make_index):
    index = make_index([F(FIELD, grants=[G("service")])])
    d = index.check(FIELD, "sharing.partners", "email")
    assert reasons(d) == [("PURPOSE_NOT_GRANTED", None, None)]
    assert d.obligations == (CONSENT,)
