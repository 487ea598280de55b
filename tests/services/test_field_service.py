"""Registering, updating, deprecating, granting and revoking through the services, as the API
and CLI call them. Every failure changes nothing."""

from __future__ import annotations

from dataclasses import replace

import pytest

from catalog.db import repo
from catalog.domain.decision import ReasonCode
from catalog.domain.model import Edge, Grant
from catalog.errors import BadInput, NotFound
from catalog.services import checks, fields, lineage
from catalog.services.fields import FieldInput


def new_field(name: str, **kw) -> FieldInput:
    return FieldInput(name=name, category=kw.pop("category", "historical.purchases"),
                      source=kw.pop("source", "first_party"), owner=kw.pop("owner", "shop"),
                      **kw)


def db_revision(cat) -> int:
    with cat.engine.connect() as conn:
        return repo.current_revision(conn=conn)


def stored(cat, fresh_description) -> dict:
    """The fields as a Catalog freshly loaded from the database sees them."""
    return fresh_description(str(cat.settings.database_url))["fields"]


@pytest.fixture
def unchanged(catalog, fresh_description):
    """Asserts, when called, that nothing was written since the fixture was set up."""
    before = fresh_description(str(catalog.settings.database_url))

    def check() -> None:
        assert db_revision(catalog) == before["revision"] == catalog.index.revision
        assert fresh_description(str(catalog.settings.database_url)) == before

    return check


# -- register -------------------------------------------------------------------------------
def test_register_one(catalog, admin, fresh_description):
    start = catalog.index.revision
    [rec] = fields.register_fields(catalog, admin, [new_field(
        "shop.orders.total", description="order total", source_system="Shopify",
        grants=(Grant("service.delivery", ("internal",)), Grant("analytics")))])
    assert rec.revision == start + 1 == db_revision(catalog)
    assert (rec.name, rec.category, rec.source, rec.owner, rec.description,
            rec.source_system, rec.deprecated) == (
        "shop.orders.total", "historical.purchases", "first_party", "shop", "order total",
        "Shopify", False)
    assert rec.grants == (Grant("analytics"), Grant("service.delivery", ("internal",)))
    assert catalog.index.get("shop.orders.total") == rec
    field = stored(catalog, fresh_description)["shop.orders.total"]
    assert field["grants"] == [
        {"purpose": "analytics", "channels": None, "requiresConsent": False},
        {"purpose": "service.delivery", "channels": ["internal"], "requiresConsent": False}]
    assert field["revision"] == rec.revision


def test_register_many_in_one_commit_in_input_order(catalog, admin):
    start = catalog.index.revision
    names = [f"shop.orders.c{i:03d}" for i in range(50, 0, -1)]
    recs = fields.register_fields(catalog, admin, [new_field(n) for n in names])
    assert [r.name for r in recs] == names
    assert {r.revision for r in recs} == {start + 1}
    assert catalog.index.revision == db_revision(catalog) == start + 1


BAD_ITEMS = {
    "category": new_field("shop.orders.bad", category="no.such.category"),
    "source": new_field("shop.orders.bad", source="fourth_party"),
    "owner": new_field("shop.orders.bad", owner=" "),
    "purpose": new_field("shop.orders.bad", grants=(Grant("marketing.spam"),)),
    "channel": new_field("shop.orders.bad", grants=(Grant("marketing", ("carrier_pigeon",)),)),
    "purpose-twice": new_field("shop.orders.bad", grants=(Grant("marketing"),
                                                          Grant("marketing", ("email",)))),
    "missing": FieldInput("shop.orders.bad", category="historical"),  # no source, no owner
    "empty-segment": new_field("shop..bad"),
    "two-segments": new_field("only.two"),
    "long-owner": new_field("shop.orders.bad", owner="o" * 201),
    "long-source-system": new_field("shop.orders.bad", source_system="s" * 201),
}


def test_a_batch_with_one_bad_item_writes_nothing(catalog, admin, fresh_description):
    fields.register_fields(catalog, admin, [new_field("shop.orders.total")])  # exists before
    revision = catalog.index.revision
    before = fresh_description(str(catalog.settings.database_url))
    for what, bad in BAD_ITEMS.items():
        batch = [new_field("shop.orders.first"),
                 new_field("shop.orders.total", category="financial"), bad,
                 new_field("shop.orders.last")]
        with pytest.raises(BadInput):
            fields.register_fields(catalog, admin, batch)
            pytest.fail(f"a batch with a bad {what} was accepted")
        assert catalog.index.revision == db_revision(catalog) == revision
        for name in ("shop.orders.first", "shop.orders.last", "shop.orders.bad"):
            assert catalog.index.get(name) is None
        assert catalog.index.get("shop.orders.total").category == "historical.purchases"
    assert fresh_description(str(catalog.settings.database_url)) == before


def test_longest_texts_are_kept_on_every_database(catalog, admin, fresh_description):
    [rec] = fields.register_fields(catalog, admin, [new_field(
        ".".join(["s" * 127] * 4), owner="o" * 200, source_system="s" * 200,
        description="d" * 10_000)])
    assert stored(catalog, fresh_description)[rec.name]["owner"] == "o" * 200
    with pytest.raises(BadInput, match="at most 200"):
        fields.register_fields(catalog, admin, [FieldInput(rec.name, owner="o" * 201)])


def test_duplicate_names_in_one_batch(catalog, admin, unchanged):
    with pytest.raises(BadInput, match="twice"):
        fields.register_fields(catalog, admin, [new_field("shop.orders.total"),
                                                new_field("shop.orders.other"),
                                                new_field("shop.orders.total", owner="x")])
    unchanged()


def test_batch_limits(catalog, admin, pipeline, unchanged):
    too_many = [new_field(f"shop.orders.c{i}") for i in range(10_001)]
    with pytest.raises(BadInput, match="10,000"):
        fields.register_fields(catalog, admin, too_many)
    edges = [Edge(f"shop.orders.a{i}", f"shop.orders.b{i}") for i in range(10_001)]
    with pytest.raises(BadInput, match="10,000"):
        lineage.add_lineages(catalog, admin, edges)
    with pytest.raises(BadInput, match="10,000"):
        checks.check_many(catalog, pipeline, [("a.b.c", "service", "web")] * 10_001)
    assert len(checks.check_many(catalog, pipeline, [("a.b.c", "service", "web")] * 10_000)) \
        == 10_000
    unchanged()


def test_update_replaces_given_attributes_and_keeps_omitted_ones(catalog, admin):
    [first] = fields.register_fields(catalog, admin, [new_field(
        "shop.orders.total", description="order total", source_system="Shopify",
        grants=(Grant("service"),))])
    [updated] = fields.register_fields(catalog, admin, [FieldInput(
        "shop.orders.total", category="financial.payment", owner="finance")])
    assert updated == replace(first, category="financial.payment", owner="finance",
                              revision=first.revision + 1)
    [updated] = fields.register_fields(catalog, admin, [FieldInput(
        "shop.orders.total", description="net total", grants=(Grant("analytics"),))])
    assert (updated.description, updated.grants, updated.source_system) == (
        "net total", (Grant("analytics"),), "Shopify")
    [cleared] = fields.register_fields(catalog, admin, [FieldInput("shop.orders.total",
                                                                   grants=())])
    assert cleared.grants == ()
    assert catalog.index.get("shop.orders.total") == cleared


def test_reregistering_the_same_field_changes_nothing(catalog, admin):
    [first] = fields.register_fields(catalog, admin, [new_field("shop.orders.total")])
    [again] = fields.register_fields(catalog, admin, [new_field("shop.orders.total")])
    assert again == first
    assert catalog.index.revision == db_revision(catalog) == first.revision


def test_a_mixed_batch_commits_only_what_changed(catalog, admin):
    [a, b] = fields.register_fields(catalog, admin, [new_field("shop.orders.a"),
                                                     new_field("shop.orders.b")])
    out = fields.register_fields(catalog, admin, [new_field("shop.orders.a"),
                                                  new_field("shop.orders.b", owner="other"),
                                                  new_field("shop.orders.c")])
    assert [r.revision for r in out] == [a.revision, a.revision + 1, a.revision + 1]
    assert catalog.index.get("shop.orders.a") == a


# -- deprecate ------------------------------------------------------------------------------
def test_deprecate(catalog, admin, pipeline):
    fields.register_fields(catalog, admin, [new_field("shop.orders.total",
                                                      grants=(Grant("service"),))])
    assert checks.check(catalog, pipeline, "shop.orders.total", "service", "web").allowed
    rec = fields.deprecate_field(catalog, admin, "shop.orders.total")
    assert rec.deprecated and rec.revision == catalog.index.revision == db_revision(catalog)
    decision = checks.check(catalog, pipeline, "shop.orders.total", "service", "web")
    assert not decision.allowed
    assert [r.code for r in decision.reasons] == [ReasonCode.FIELD_DEPRECATED]
    assert fields.deprecate_field(catalog, admin, "shop.orders.total") == rec  # idempotent
    assert db_revision(catalog) == rec.revision
    with pytest.raises(NotFound):
        fields.deprecate_field(catalog, admin, "shop.orders.none")


# -- grant and revoke -----------------------------------------------------------------------
def test_grant_replaces_the_grant_for_the_same_purpose(catalog, admin, pipeline):
    fields.register_fields(catalog, admin, [new_field(
        "shop.orders.total", grants=(Grant("service"), Grant("marketing.direct", ("email",))))])
    rec = fields.grant_purpose(catalog, admin, "shop.orders.total",
                               Grant("marketing.direct", ("sms", "web"), True))
    assert rec.grants == (Grant("marketing.direct", ("sms", "web"), True), Grant("service"))
    allowed = checks.check(catalog, pipeline, "shop.orders.total", "marketing.direct", "web")
    assert allowed.allowed and allowed.obligations == ("CONSENT_REQUIRED",)
    denied = checks.check(catalog, pipeline, "shop.orders.total", "marketing.direct", "email")
    assert [r.code for r in denied.reasons] == [ReasonCode.CHANNEL_NOT_PERMITTED]


def test_grant_errors(catalog, admin, unchanged):
    with pytest.raises(NotFound):
        fields.grant_purpose(catalog, admin, "shop.orders.none", Grant("service"))
    unchanged()
    fields.register_fields(catalog, admin, [new_field("shop.orders.total")])
    revision = db_revision(catalog)
    with pytest.raises(BadInput):
        fields.grant_purpose(catalog, admin, "shop.orders.total", Grant("nope"))
    with pytest.raises(BadInput):
        fields.grant_purpose(catalog, admin, "shop.orders.total", Grant("service", ("fax",)))
    with pytest.raises(BadInput):
        fields.normalize_grant("service", [], False)
    assert db_revision(catalog) == revision and catalog.index.get("shop.orders.total").grants == ()


def test_revoke(catalog, admin, pipeline):
    fields.register_fields(catalog, admin, [new_field(
        "shop.orders.total", grants=(Grant("service"), Grant("analytics")))])
    rec = fields.revoke_purpose(catalog, admin, "shop.orders.total", "service")
    assert rec.grants == (Grant("analytics"),)
    assert not checks.check(catalog, pipeline, "shop.orders.total", "service", "web").allowed
    revision = db_revision(catalog)
    with pytest.raises(NotFound, match="no grant for service"):
        fields.revoke_purpose(catalog, admin, "shop.orders.total", "service")
    with pytest.raises(NotFound):  # a covering grant is not the grant
        fields.revoke_purpose(catalog, admin, "shop.orders.total", "analytics.aggregate")
    with pytest.raises(BadInput):
        fields.revoke_purpose(catalog, admin, "shop.orders.total", "no.such.purpose")
    with pytest.raises(NotFound):
        fields.revoke_purpose(catalog, admin, "shop.orders.none", "service")
    assert db_revision(catalog) == revision == catalog.index.revision


# -- Field.revision -------------------------------------------------------------------------
def test_field_revision_moves_with_grants_deprecation_and_edges(catalog, admin,
                                                                fresh_description):
    recs = fields.register_fields(catalog, admin, [new_field("shop.orders.a"),
                                                   new_field("shop.orders.b"),
                                                   new_field("shop.orders.c")])
    r0 = recs[0].revision

    a, b, c = "shop.orders.a", "shop.orders.b", "shop.orders.c"

    def revisions() -> tuple[int, int, int]:
        """(a, b, c) revisions, the same in this index and in the database."""
        mine = tuple(catalog.index.get(n).revision for n in (a, b, c))
        in_db = stored(catalog, fresh_description)
        assert mine == tuple(in_db[n]["revision"] for n in (a, b, c))
        return mine

    assert revisions() == (r0, r0, r0)
    fields.grant_purpose(catalog, admin, a, Grant("service"))
    assert revisions() == (r0 + 1, r0, r0)
    lineage.add_lineages(catalog, admin, [Edge(a, b)])
    assert revisions() == (r0 + 2, r0 + 2, r0)
    lineage.add_lineages(catalog, admin, [Edge(a, b, "copy")])
    assert revisions() == (r0 + 3, r0 + 3, r0)
    fields.deprecate_field(catalog, admin, c)
    assert revisions() == (r0 + 3, r0 + 3, r0 + 4)
    fields.revoke_purpose(catalog, admin, a, "service")
    assert revisions() == (r0 + 5, r0 + 3, r0 + 4)
    lineage.remove_lineage(catalog, admin, a, b)
    assert revisions() == (r0 + 6, r0 + 6, r0 + 4)
    # A grant upstream changes b's decisions but not b itself: b's revision stays.
    lineage.add_lineages(catalog, admin, [Edge(a, b)])
    fields.grant_purpose(catalog, admin, a, Grant("analytics"))
    assert revisions() == (r0 + 8, r0 + 7, r0 + 4)
