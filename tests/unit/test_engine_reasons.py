"""docs/semantics.md §3: every reason code, fail-closed unknown names, no short-circuit,
reason order."""

from __future__ import annotations

import pytest
from engine_helpers import CONSENT, E, F, G, codes, reasons

from catalog.domain.decision import CODE_ORDER, Decision, ReasonCode

FIELD = "crm.customers.email"


@pytest.fixture
def index(make_index):
    return make_index([F(FIELD), F("crm.customers.old", deprecated=True),
                       F("crm.customers.bare", grants=())], revision=7)


# -- step 1: unknown names ------------------------------------------------------------------
def test_reason_codes_are_declared_in_contract_order():
    assert [c.value for c in ReasonCode] == [
        "UNKNOWN_FIELD", "UNKNOWN_PURPOSE", "UNKNOWN_CHANNEL", "FIELD_DEPRECATED",
        "PURPOSE_NOT_GRANTED", "CHANNEL_NOT_PERMITTED", "UPSTREAM_NOT_PERMITTED",
        "POLICY_DENIED"]
    assert sorted(ReasonCode, key=CODE_ORDER.__getitem__) == list(ReasonCode)


def test_unknown_field(index):
    d = index.check("crm.customers.nope", "marketing.direct", "email")
    assert not d.allowed
    assert codes(d) == ["UNKNOWN_FIELD"]
    assert d.obligations == () and d.effective_categories == ()
    assert (d.field, d.purpose, d.channel, d.revision) == (
        "crm.customers.nope", "marketing.direct", "email", 7)
    assert "crm.customers.nope" in d.reasons[0].message


def test_unknown_purpose(index):
    d = index.check(FIELD, "marketing.telepathy", "email")
    assert not d.allowed and codes(d) == ["UNKNOWN_PURPOSE"]
    assert d.reasons[0].rule is None and d.reasons[0].path is None


def test_unknown_channel(index):
    d = index.check(FIELD, "marketing", "carrier_pigeon")
    assert not d.allowed and codes(d) == ["UNKNOWN_CHANNEL"]


def test_all_three_unknown_reported_in_order(index):
    d = index.check("x.y.z", "nope", "nada")
    assert codes(d) == ["UNKNOWN_FIELD", "UNKNOWN_PURPOSE", "UNKNOWN_CHANNEL"]


def test_unknown_stops_there(index):
    # The deprecated, grant-less field would otherwise collect more reasons.
    d = index.check("crm.customers.old", "marketing.nope", "email")
    assert codes(d) == ["UNKNOWN_PURPOSE"]
    d = index.check("crm.customers.bare", "sharing.sale", "pigeon")
    assert codes(d) == ["UNKNOWN_CHANNEL"]
    assert d.obligations == ()  # breaking-bonds would match sharing: no, we stopped


def test_names_are_case_sensitive_and_exact(index):
    assert codes(index.check(FIELD.upper(), "marketing", "email")) == ["UNKNOWN_FIELD"]
    assert codes(index.check(FIELD, "Marketing", "email")) == ["UNKNOWN_PURPOSE"]
    assert codes(index.check(FIELD, "marketing", "EMAIL")) == ["UNKNOWN_CHANNEL"]
    # A key below a known purpose is still unknown: the taxonomy lists what exists.
    assert codes(index.check(FIELD, "marketing.direct.extra", "email")) == ["UNKNOWN_PURPOSE"]
    assert codes(index.check(FIELD, "marketing.", "email")) == ["UNKNOWN_PURPOSE"]


WEIRD = ["", " ", ".", "..", "a.b", "a..b.c", "crm.customers.email ", " crm.customers.email",
         "crm.customers.email\n", "\x00", "☃.☃.☃", "x" * 10_000, "marketing\n", "%s", "{}",
         "'; drop table fields; --", "email.", ".email"]


@pytest.mark.parametrize("weird", WEIRD)
def test_weird_inputs_fail_closed(index, weird):
    for f, p, c, want in [(weird, "marketing", "email", ["UNKNOWN_FIELD"]),
                          (FIELD, weird, "email", ["UNKNOWN_PURPOSE"]),
                          (FIELD, "marketing", weird, ["UNKNOWN_CHANNEL"]),
                          (weird, weird, weird,
                           ["UNKNOWN_FIELD", "UNKNOWN_PURPOSE", "UNKNOWN_CHANNEL"])]:
        d = index.check(f, p, c)
        assert isinstance(d, Decision)
        assert not d.allowed and codes(d) == want and d.obligations == ()
        # Asked again (now possibly from a cache): the same answer.
        assert index.check(f, p, c) == d


@pytest.mark.parametrize("weird", [None, 0, 1.5, b"crm.customers.email"])
def test_non_string_inputs_fail_closed(index, weird):
    d = index.check(weird, "marketing", "email")
    assert not d.allowed and codes(d) == ["UNKNOWN_FIELD"]
    d = index.check(FIELD, weird, weird)
    assert codes(d) == ["UNKNOWN_PURPOSE", "UNKNOWN_CHANNEL"]


def test_empty_catalog_fails_closed(make_index):
    index = make_index([])
    assert codes(index.check("", "", "")) == ["UNKNOWN_FIELD", "UNKNOWN_PURPOSE",
                                              "UNKNOWN_CHANNEL"]
    assert codes(index.check("a.b.c", "service", "email")) == ["UNKNOWN_FIELD"]


# -- steps 2-3 --------------------------------------------------------------------------------
def test_allowed_decision(index):
    d = index.check(FIELD, "marketing.direct", "email")
    assert d.allowed and d.reasons == () and d.obligations == ()
    assert d.effective_categories == ("internal.preferences",)
    assert d.revision == 7


def test_field_deprecated(index):
    d = index.check("crm.customers.old", "marketing.direct", "email")
    assert not d.allowed and codes(d) == ["FIELD_DEPRECATED"]
    assert "crm.customers.old" in d.reasons[0].message


def test_deprecated_does_not_hide_other_reasons(make_index):
    index = make_index([F("crm.customers.old", grants=(), deprecated=True)])
    d = index.check("crm.customers.old", "service", "email")
    assert codes(d) == ["FIELD_DEPRECATED", "PURPOSE_NOT_GRANTED"]


def test_undeprecating_clears_the_reason(make_index):
    index = make_index([F("crm.customers.old", deprecated=True)])
    assert codes(index.check("crm.customers.old", "service", "email")) == ["FIELD_DEPRECATED"]
    index = index.apply(fields=[F("crm.customers.old")], revision=2)
    d = index.check("crm.customers.old", "service", "email")
    assert d.allowed and d.revision == 2


def test_purpose_not_granted(make_index):
    index = make_index([F(FIELD, grants=[G("service")])])
    d = index.check(FIELD, "marketing.direct", "email")
    assert not d.allowed
    assert reasons(d) == [("PURPOSE_NOT_GRANTED", None, None)]
    assert FIELD in d.reasons[0].message and "marketing.direct" in d.reasons[0].message
    assert index.check(FIELD, "service.delivery", "email").allowed


def test_channel_not_permitted(make_index):
    index = make_index([F(FIELD, grants=[G("marketing", ["email", "web"])])])
    d = index.check(FIELD, "marketing.direct", "in_app")
    assert reasons(d) == [("CHANNEL_NOT_PERMITTED", None, None)]
    assert "in_app" in d.reasons[0].message
    assert index.check(FIELD, "marketing.direct", "web").allowed


# -- step 4 ------------------------------------------------------------------------------------
def test_upstream_not_permitted(make_index):
    up, down = "src.raw.a", "dwh.mart.b"
    index = make_index([F(up, grants=[G("service")]), F(down)], [E(up, down)])
    d = index.check(down, "marketing", "email")
    assert reasons(d) == [("UPSTREAM_NOT_PERMITTED", None, (down, up))]
    assert up in d.reasons[0].message and down in d.reasons[0].message
    # The upstream field's own check says why it fails.
    assert reasons(index.check(up, "marketing", "email")) == [
        ("PURPOSE_NOT_GRANTED", None, None)]
    assert index.check(down, "service.support", "email").allowed


def test_upstream_channel_not_permitted_is_upstream_reason(make_index):
    up, down = "src.raw.a", "dwh.mart.b"
    index = make_index([F(up, grants=[G("marketing", ["email"])]), F(down)], [E(up, down)])
    assert reasons(index.check(down, "marketing", "web")) == [
        ("UPSTREAM_NOT_PERMITTED", None, (down, up))]
    assert index.check(down, "marketing", "email").allowed


# -- step 6 ------------------------------------------------------------------------------------
def test_policy_denied(make_index):
    index = make_index([F(FIELD, category="external.health")])
    d = index.check(FIELD, "marketing.direct", "email")
    assert reasons(d) == [("POLICY_DENIED", "boudoir-topics", None)]
    assert "boudoir-topics" in d.reasons[0].message


# -- all together ------------------------------------------------------------------------------
def test_every_failing_condition_is_reported_and_sorted(make_index):
    """Deprecated, no own grant, two failing ancestors (one via channel, one via purpose) and
    five matching DENY rules: all of them, in code order, then rule, then path."""
    f = "app.scores.final"
    fields = [
        F(f, category="tracking.location.precise", source="third_party",
          grants=[G("service")], deprecated=True),
        F("app.input.zz", category="external.health"),                              # passes
        F("app.input.bb", category="tracking.cross_site", grants=[G("service")]),   # fails P
        F("app.input.aa", grants=[G("marketing", ["email"])]),                       # fails C
        F("app.input.cc"),                                                           # passes
    ]
    edges = [E("app.input.zz", f), E("app.input.bb", "app.input.cc"), E("app.input.cc", f),
             E("app.input.aa", f)]
    index = make_index(fields, edges)
    d = index.check(f, "marketing.direct", "sms")
    assert not d.allowed
    assert reasons(d) == [
        ("FIELD_DEPRECATED", None, None),
        ("PURPOSE_NOT_GRANTED", None, None),
        ("UPSTREAM_NOT_PERMITTED", None, (f, "app.input.aa")),
        ("UPSTREAM_NOT_PERMITTED", None, (f, "app.input.cc", "app.input.bb")),
        ("POLICY_DENIED", "boudoir-topics", None),
        ("POLICY_DENIED", "digging-too-deep", None),
        ("POLICY_DENIED", "digging-too-deep-cross-site", None),
        ("POLICY_DENIED", "helicoptering", None),
        ("POLICY_DENIED", "sensitive-data-private-channels", None),
    ]
    assert d.obligations == ()
    assert d.effective_categories == ("external.health", "internal.preferences",
                                      "tracking.cross_site", "tracking.location.precise")
    assert all(r.message for r in d.reasons)
    assert [r.sort_key() for r in d.reasons] == sorted(r.sort_key() for r in d.reasons)


def test_grant_and_upstream_reasons_are_independent(make_index):
    """Own channel failure and an upstream purpose failure at once."""
    index = make_index([F("a.b.up", grants=[G("service")]),
                        F("a.b.down", grants=[G("marketing", ["web"])])],
                       [E("a.b.up", "a.b.down")])
    assert reasons(index.check("a.b.down", "marketing", "email")) == [
        ("CHANNEL_NOT_PERMITTED", None, None),
        ("UPSTREAM_NOT_PERMITTED", None, ("a.b.down", "a.b.up"))]


def test_obligation_on_denied_decision_is_still_reported(make_index):
    index = make_index([F(FIELD, category="external.health")])
    d = index.check(FIELD, "sharing.sale", "email")
    assert reasons(d) == [("POLICY_DENIED", "boudoir-topics", None)]
    assert d.obligations == (CONSENT,) and not d.allowed


def test_revision_follows_the_index(make_index):
    index = make_index([F(FIELD)], revision=3)
    assert index.check(FIELD, "service", "email").revision == 3
    index = index.apply(revision=9)
    d = index.check(FIELD, "service", "email")  # cached verdict, new revision
    assert d.revision == 9 and d.allowed
    assert index.check("x.y.z", "service", "email").revision == 9
