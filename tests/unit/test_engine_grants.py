"""docs/semantics.md §1 and §3 (steps 3, 4 and 6): hierarchical coverage of purposes and
channels, the most specific grant governs (on the field and on its ancestors), consent
obligations."""

from __future__ import annotations

import pytest
from engine_helpers import CONSENT, E, F, G, codes, reasons

from catalog.domain.index import governing_grant

FIELD = "crm.customers.pref"


def only(make_index, *grants, **kw):
    index = make_index([F(FIELD, grants=grants)], **kw)
    return lambda purpose, channel: index.check(FIELD, purpose, channel)


# -- purposes ---------------------------------------------------------------------------------
def test_grant_on_parent_covers_children(make_index):
    check = only(make_index, G("marketing"))
    for p in ("marketing", "marketing.direct", "marketing.advertising"):
        assert check(p, "email").allowed, p
    assert codes(check("personalization", "email")) == ["PURPOSE_NOT_GRANTED"]


def test_grant_on_child_does_not_cover_parent_or_siblings(make_index):
    check = only(make_index, G("marketing.direct"))
    assert check("marketing.direct", "email").allowed
    assert codes(check("marketing", "email")) == ["PURPOSE_NOT_GRANTED"]
    assert codes(check("marketing.advertising", "email")) == ["PURPOSE_NOT_GRANTED"]


def test_purpose_coverage_is_by_segment_not_prefix(make_index, taxonomy):
    # "service" must not cover a hypothetical "services"-like sibling: covered keys are
    # "service" and "service.*" only. The seed has none, so build one.
    from catalog.domain.taxonomy import Taxonomy

    tax = Taxonomy.build(categories=dict(taxonomy.categories),
                         purposes=[*taxonomy.purposes, "servicex"],
                         channels=dict(taxonomy.channels), sources=list(taxonomy.sources))
    index = make_index([F(FIELD, grants=[G("service")])], taxonomy=tax)
    assert index.check(FIELD, "service.security", "web").allowed
    assert codes(index.check(FIELD, "servicex", "web")) == ["PURPOSE_NOT_GRANTED"]


# -- channels ---------------------------------------------------------------------------------
def test_no_channel_list_covers_every_channel(make_index, taxonomy):
    check = only(make_index, G("service"))
    for c in taxonomy.channels:
        assert check("service.delivery", c).allowed, c


def test_channel_list_is_inherited_by_sub_purposes(make_index):
    check = only(make_index, G("marketing", ["email", "sms"]))
    for p in ("marketing", "marketing.direct", "marketing.advertising"):
        assert check(p, "email").allowed and check(p, "sms").allowed
        assert codes(check(p, "push")) == ["CHANNEL_NOT_PERMITTED"]


def test_channel_hierarchy_both_ways(make_index, ext_taxonomy):
    """With channels web > web.mobile > web.mobile.app: a grant on web covers web.mobile; a
    grant on web.mobile does not cover web."""
    rules = []
    broad = only(make_index, G("marketing", ["web"]), taxonomy=ext_taxonomy, rules=rules)
    assert broad("marketing", "web.mobile").allowed
    assert broad("marketing", "web.mobile.app").allowed
    assert codes(broad("marketing", "webshop")) == ["CHANNEL_NOT_PERMITTED"]  # not below web
    narrow = only(make_index, G("marketing", ["web.mobile"]), taxonomy=ext_taxonomy,
                  rules=rules)
    assert narrow("marketing", "web.mobile.app").allowed
    assert codes(narrow("marketing", "web")) == ["CHANNEL_NOT_PERMITTED"]
    assert codes(narrow("marketing", "email")) == ["CHANNEL_NOT_PERMITTED"]


# -- the most specific grant governs ------------------------------------------------------------
def test_most_specific_grant_governs(make_index):
    check = only(make_index, G("marketing", ["email"]), G("marketing.direct", ["sms"]))
    assert check("marketing.direct", "sms").allowed
    assert reasons(check("marketing.direct", "email")) == [
        ("CHANNEL_NOT_PERMITTED", None, None)]
    assert check("marketing.advertising", "email").allowed
    assert codes(check("marketing.advertising", "sms")) == ["CHANNEL_NOT_PERMITTED"]
    assert check("marketing", "email").allowed
    assert codes(check("marketing", "sms")) == ["CHANNEL_NOT_PERMITTED"]


def test_most_specific_grant_may_widen(make_index):
    check = only(make_index, G("marketing", ["email"]), G("marketing.direct"))
    assert check("marketing.direct", "push").allowed
    assert codes(check("marketing.advertising", "push")) == ["CHANNEL_NOT_PERMITTED"]


def test_most_specific_grant_three_levels(make_index, ext_taxonomy):
    check = only(make_index, G("marketing", ["email"]), G("marketing.direct", ["sms"]),
                 G("marketing.direct.newsletter", ["web"]), taxonomy=ext_taxonomy, rules=[])
    assert check("marketing.direct.newsletter", "web").allowed
    assert codes(check("marketing.direct.newsletter", "sms")) == ["CHANNEL_NOT_PERMITTED"]
    assert codes(check("marketing.direct.newsletter", "email")) == ["CHANNEL_NOT_PERMITTED"]
    assert check("marketing.direct", "sms").allowed


def test_channel_message_names_the_governing_grant(make_index):
    check = only(make_index, G("marketing", ["email"]), G("marketing.direct", ["sms"]))
    msg = check("marketing.direct", "email").reasons[0].message
    assert "marketing.direct" in msg and "sms" in msg and "email" in msg


def test_governing_grant_helper():
    grants = [G("marketing", ["email"]), G("marketing.direct", ["sms"]), G("service")]
    assert governing_grant(grants, "marketing.direct").purpose == "marketing.direct"
    assert governing_grant(grants, "marketing.advertising").purpose == "marketing"
    assert governing_grant(grants, "marketing").purpose == "marketing"
    assert governing_grant(grants, "service.support").purpose == "service"
    assert governing_grant(grants, "sharing") is None
    assert governing_grant(grants, "marketingx") is None


def test_most_specific_grant_governs_upstream(make_index):
    """Step 4 applies step 3 to each ancestor: its own most specific grant governs."""
    up, down = "src.raw.up", "dwh.mart.down"
    index = make_index([F(up, grants=[G("marketing", ["email"]), G("marketing.direct", ["sms"])]),
                        F(down)], [E(up, down)])
    assert index.check(down, "marketing.direct", "sms").allowed
    assert index.check(down, "marketing.advertising", "email").allowed
    d = index.check(down, "marketing.direct", "email")
    assert reasons(d) == [("UPSTREAM_NOT_PERMITTED", None, (down, up))]
    assert "marketing.direct" in d.reasons[0].message


def test_purpose_cannot_be_laundered_through_derivation(make_index):
    """The derived field grants everything; its source only service: still denied."""
    index = make_index([F("crm.raw.phone", category="tracking.contact",
                          grants=[G("service")]),
                        F("dwh.derived.phone_hash", source="derived"),
                        F("ml.features.phone_score", source="derived")],
                       [E("crm.raw.phone", "dwh.derived.phone_hash"),
                        E("dwh.derived.phone_hash", "ml.features.phone_score")])
    d = index.check("ml.features.phone_score", "marketing.direct", "email")
    assert reasons(d) == [("UPSTREAM_NOT_PERMITTED", None, (
        "ml.features.phone_score", "dwh.derived.phone_hash", "crm.raw.phone"))]
    assert index.check("ml.features.phone_score", "service", "email").allowed


# -- consent obligations --------------------------------------------------------------------
def test_consent_from_breaking_bonds(make_index):
    check = only(make_index, G("sharing"))
    d = check("sharing.partners", "email")
    assert d.allowed and d.obligations == (CONSENT,)


def test_consent_from_own_grant(make_index):
    check = only(make_index, G("marketing", consent=True), G("service"))
    d = check("marketing.direct", "email")
    assert d.allowed and d.reasons == () and d.obligations == (CONSENT,)
    assert check("service", "email").obligations == ()


def test_consent_from_ancestor_governing_grant(make_index):
    up, mid, down = "src.raw.up", "dwh.mid.x", "dwh.mart.down"
    index = make_index([F(up, grants=[G("marketing", consent=True)]), F(mid), F(down)],
                       [E(up, mid), E(mid, down)])
    for name in (up, mid, down):
        d = index.check(name, "marketing.advertising", "web")
        assert d.allowed and d.obligations == (CONSENT,), name
        assert index.check(name, "service", "web").obligations == ()


def test_consent_grant_not_covering_channel_adds_nothing(make_index):
    """A consent grant whose channels do not cover C asks nothing for C (it fails instead)."""
    up, down = "src.raw.up", "dwh.mart.down"
    index = make_index([F(up, grants=[G("marketing", ["email"], consent=True)]), F(down)],
                       [E(up, down)])
    d = index.check(down, "marketing", "web")
    assert codes(d) == ["UPSTREAM_NOT_PERMITTED"] and d.obligations == ()
    assert index.check(down, "marketing", "email").obligations == (CONSENT,)
    own = only(make_index, G("marketing", ["email"], consent=True))
    assert own("marketing", "web").obligations == ()


def test_consent_only_from_the_governing_grant(make_index):
    """A consent grant shadowed by a more specific grant without consent asks nothing."""
    up, down = "src.raw.up", "dwh.mart.down"
    index = make_index([F(up, grants=[G("marketing", consent=True), G("marketing.direct")]),
                        F(down)], [E(up, down)])
    assert index.check(down, "marketing.direct", "email").obligations == ()
    assert index.check(down, "marketing.advertising", "email").obligations == (CONSENT,)
    assert index.check(up, "marketing.direct", "email").obligations == ()
    assert index.check(up, "marketing", "email").obligations == (CONSENT,)


def test_consent_not_from_descendants(make_index):
    up, down = "src.raw.up", "dwh.mart.down"
    index = make_index([F(up), F(down, grants=[G("marketing", consent=True)])], [E(up, down)])
    assert index.check(up, "marketing", "email").obligations == ()
    assert index.check(down, "marketing", "email").obligations == (CONSENT,)


def test_consent_obligation_appears_once(make_index):
    up, down = "src.raw.up", "dwh.mart.down"
    index = make_index([F(up, grants=[G("sharing", consent=True)]),
                        F(down, grants=[G("sharing", consent=True)])], [E(up, down)])
    d = index.check(down, "sharing.partners", "email")
    assert d.allowed and d.obligations == (CONSENT,)


@pytest.mark.parametrize("consent", [False, True])
def test_obligations_never_deny(make_index, consent):
    check = only(make_index, G("sharing", consent=consent), G("marketing", consent=consent))
    assert check("sharing.sale", "email").allowed
    assert check("marketing.direct", "email").allowed
