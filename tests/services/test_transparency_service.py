"""Transparency through the services and the database (docs/semantics.md §15), on SQLite and
PostgreSQL: benefits stored and logged, gaps, admin-edited intensities, init filling in the
defaults, the unstatedBenefit criterion, and bad input that changes nothing."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from catalog.db.tables import TaxonomyEntry
from catalog.domain.model import Grant
from catalog.errors import BadInput, Forbidden
from catalog.services import browse, fields, policy, setup, taxonomy, transparency
from catalog.services.fields import FieldInput, normalize_grant
from tests.conftest import make_catalog


def register(cat, admin, name, category, *grants):
    fields.register_fields(cat, admin, [FieldInput(name=name, category=category,
                                                   source="first_party", owner="team",
                                                   grants=tuple(grants))])


def gaps(cat, principal) -> list[tuple[str, str, str]]:
    out, after = [], None
    while True:
        page, after, more = transparency.gaps_page(cat, principal, first=2, after=after)
        out += [(g.field, g.purpose, g.intensity) for g in page]
        if not more:
            return out


def test_gaps_appear_and_disappear_as_benefits_are_stated(catalog, admin, reviewer):
    register(catalog, admin, "crm.c.size", "internal.preferences", Grant("service"),
             Grant("personalization.onsite"), Grant("marketing.direct"), Grant("analytics"))
    register(catalog, admin, "web.px.id", "tracking.cross_site", Grant("service"),
             Grant("personalization.onsite"))
    # analytics covers analytics.profiling: surveillance; onsite is raised by the floor.
    assert gaps(catalog, reviewer) == [
        ("crm.c.size", "analytics", "surveillance"),
        ("crm.c.size", "marketing.direct", "relationship"),
        ("web.px.id", "personalization.onsite", "surveillance")]
    fields.grant_purpose(catalog, admin, "crm.c.size", normalize_grant(
        "marketing.direct", None, False, "  Tells you when your size is back in stock.  "))
    fields.grant_purpose(catalog, admin, "web.px.id", normalize_grant(
        "personalization.onsite", None, False, "   "))  # blank is no benefit
    assert gaps(catalog, reviewer) == [
        ("crm.c.size", "analytics", "surveillance"),
        ("web.px.id", "personalization.onsite", "surveillance")]
    rec = catalog.index.get("crm.c.size")
    assert rec.grant_for("marketing.direct").customer_benefit == \
        "Tells you when your size is back in stock."
    assert catalog.index.get("web.px.id").grant_for("personalization.onsite") \
        .customer_benefit is None
    # Stored: a new process reads it back; the change log carries it.
    other = make_catalog(str(catalog.engine.url.render_as_string(hide_password=False)))
    try:
        assert other.index.get("crm.c.size").grant_for("marketing.direct").customer_benefit \
            == "Tells you when your size is back in stock."
    finally:
        other.close()
    entries, _, _ = browse.history_page(catalog, reviewer, "crm.c.size", first=1)
    assert {"purpose": "marketing.direct", "channels": None, "requiresConsent": False,
            "customerBenefit": "Tells you when your size is back in stock."} in \
        entries[0]["after"]["grants"]
    fields.revoke_purpose(catalog, admin, "crm.c.size", "analytics")
    assert gaps(catalog, reviewer) == [("web.px.id", "personalization.onsite", "surveillance")]


def test_gaps_refuse_pipelines_and_bad_pages(catalog, pipeline, reviewer):
    with pytest.raises(Forbidden):
        transparency.gaps_page(catalog, pipeline)
    with pytest.raises(BadInput, match="first"):
        transparency.gaps_page(catalog, reviewer, first=0)
    for cursor in ("a", browse.encode_cursor("no-separator")):
        with pytest.raises(BadInput, match="cursor"):
            transparency.gaps_page(catalog, reviewer, after=cursor)


@pytest.mark.parametrize("benefit, message", [
    ("x" * 501, "501 characters"),
    ("Remembers your size.\nAnd more.", "U+000A"),
    ("Tab\there", "U+0009"),
    ("bell\x07", "U+0007"),
    (42, "text"),
])
def test_bad_benefits_are_refused_and_change_nothing(catalog, admin, benefit, message):
    register(catalog, admin, "crm.c.size", "internal.preferences", Grant("service"))
    revision = catalog.index.revision
    with pytest.raises(BadInput, match=re.escape(message)):
        fields.grant_purpose(catalog, admin, "crm.c.size",
                             normalize_grant("marketing", None, False, benefit))
    assert catalog.index.revision == revision
    assert catalog.index.get("crm.c.size").grant_for("marketing") is None


def test_five_hundred_characters_are_fine(catalog, admin):
    register(catalog, admin, "crm.c.size", "internal.preferences",
             normalize_grant("marketing", None, False, "é" * 500))
    other = make_catalog(catalog.engine.url.render_as_string(hide_password=False))
    try:
        assert other.index.get("crm.c.size").grants[0].customer_benefit == "é" * 500
    finally:
        other.close()


def test_admin_edits_change_intensity_and_cached_decisions(catalog, admin, reviewer, owner_of):
    register(catalog, admin, "crm.c.size", "internal.preferences", Grant("marketing"))
    before = catalog.index.check("crm.c.size", "marketing.direct", "email")
    assert before.intensity == "relationship" and before.allowed
    taxonomy.upsert_key(catalog, admin, kind="purpose", key="marketing.direct",
                        intensity="surveillance")
    after = catalog.index.check("crm.c.size", "marketing.direct", "email")
    assert after.intensity == "surveillance" and after.allowed
    assert catalog.index.check("crm.c.size", "marketing.advertising", "ads").intensity == \
        "relationship"
    # A category floor, set and inherited.
    taxonomy.upsert_key(catalog, admin, kind="category", key="internal", intensity="relationship")
    assert catalog.index.check("crm.c.size", "analytics.aggregate", "web").intensity == \
        "relationship"
    # Back to inheriting.
    taxonomy.upsert_key(catalog, admin, kind="purpose", key="marketing.direct",
                        intensity="inherit")
    assert catalog.index.check("crm.c.size", "marketing.direct", "email").intensity == \
        "relationship"
    # Other processes follow from the change log.
    other = make_catalog(catalog.engine.url.render_as_string(hide_password=False))
    try:
        assert other.index.check("crm.c.size", "analytics.aggregate", "web").intensity == \
            "relationship"
    finally:
        other.close()
    for bad in ({"kind": "purpose", "key": "marketing", "intensity": "extreme"},
                {"kind": "channel", "key": "email", "intensity": "utility"},
                {"kind": "source", "key": "derived", "intensity": "utility"}):
        with pytest.raises(BadInput, match="intensity"):
            taxonomy.upsert_key(catalog, admin, **bad)
    with pytest.raises(Forbidden):
        taxonomy.upsert_key(catalog, owner_of("crm."), kind="purpose", key="marketing",
                            intensity="utility")
    assert catalog.index.taxonomy.spectrum.purpose_name("marketing") == "relationship"


def test_init_gives_old_catalogs_the_defaults_but_keeps_admin_choices(catalog, admin):
    """A catalog made before intensities existed has NULL everywhere; an admin may already
    have chosen one key's intensity (here: back to inheriting) before the next init."""
    taxonomy.upsert_key(catalog, admin, kind="purpose", key="personalization.onsite",
                        intensity="surveillance")
    taxonomy.upsert_key(catalog, admin, kind="purpose", key="personalization.onsite",
                        intensity="inherit")
    taxonomy.upsert_key(catalog, admin, kind="purpose", key="pricing", intensity="relationship")
    with catalog.engine.begin() as conn:  # as the migration leaves an old catalog
        t = TaxonomyEntry.__table__
        conn.execute(t.update().where(t.c.key != "pricing").values(intensity=None))
    catalog.reload()
    assert catalog.index.taxonomy.spectrum.purpose_name("service") == "surveillance"
    added = setup.init(catalog)
    assert added["taxonomy"] == 0 and added["rules"] == 0
    # 8 purposes and 2 floors in the seeds, less onsite (the admin's) and pricing (set)
    assert added["intensities"] == 8
    s = catalog.index.taxonomy.spectrum
    assert s.purpose_name("service") == "utility"
    assert s.purpose_name("analytics.profiling") == "surveillance"
    assert s.floor_name("tracking.cross_site") == "surveillance"
    assert s.purpose_name("personalization.onsite") == "relationship"  # inherits: admin's
    assert s.purpose_name("pricing") == "relationship"  # the admin's value stays
    assert setup.init(catalog) == {"taxonomy": 0, "rules": 0}


def test_unstated_benefit_rules_are_stored_and_enforced(catalog, admin, reviewer):
    register(catalog, admin, "crm.c.size", "internal.preferences", Grant("marketing"),
             normalize_grant("personalization", None, False, "Shows your size first."))
    register(catalog, admin, "crm.c.brand", "internal.preferences", Grant("personalization"))
    policy.upsert_rule(catalog, reviewer, "transparency-mandate", {
        "effect": "DENY", "unstated_benefit": True,
        "purposes": ["marketing", "personalization"]})
    assert not catalog.index.check("crm.c.size", "marketing.direct", "web").allowed
    assert catalog.index.check("crm.c.size", "personalization.onsite", "web").allowed
    assert not catalog.index.check("crm.c.brand", "personalization.onsite", "web").allowed
    # Stating the benefit lifts the denial (the decision cache follows the grant).
    fields.grant_purpose(catalog, admin, "crm.c.brand", normalize_grant(
        "personalization", None, False, "Shows your favourite brands first."))
    assert catalog.index.check("crm.c.brand", "personalization.onsite", "web").allowed
    other = make_catalog(catalog.engine.url.render_as_string(hide_password=False))
    try:
        rule = next(r for r in other.index.rules if r.key == "transparency-mandate")
        assert rule.unstated_benefit is True
        assert not other.index.check("crm.c.size", "marketing.direct", "web").allowed
    finally:
        other.close()


def test_no_default_rule_uses_the_benefit(catalog):
    assert all(r.unstated_benefit is None for r in catalog.index.rules)


def test_the_demo_notice_lists_only_allowed_uses(demo_catalog, reviewer, pipeline):
    notice = transparency.build_notice(demo_catalog, reviewer)
    assert notice.tiers["utility"] and notice.tiers["relationship"]
    index = demo_catalog.index
    for tier, entries in notice.tiers.items():
        for cat_key, entry in entries.items():
            for use in entry.uses.values():
                for channel in use.channels:
                    assert any(
                        d.allowed and d.intensity == tier and cat_key in d.effective_categories
                        for d in (index.check(f, use.purpose, channel) for f in index.fields))
    with pytest.raises(Forbidden):
        transparency.build_notice(demo_catalog, pipeline)


def test_gaps_of_the_demo(demo_catalog, reviewer):
    found = gaps(demo_catalog, reviewer)
    assert ("ml.scores.price_sensitivity", "pricing.individual", "surveillance") in found
    assert all(i in ("relationship", "surveillance") for *_, i in found)
    with demo_catalog.engine.connect() as conn:
        stated = conn.execute(sa.text("SELECT count(*) FROM field_grant WHERE "
                                      "customer_benefit IS NOT NULL")).scalar_one()
    assert stated > 100


def test_field_transparency_agrees_with_the_gaps(demo_catalog, reviewer, pipeline):
    """What the field page shows: every grant's intensity, and exactly the field's gaps."""
    index = demo_catalog.index
    listed = gaps(demo_catalog, reviewer)
    for name in index.fields:
        levels, own = transparency.field_transparency(demo_catalog, reviewer, name)
        assert set(levels) == {g.purpose for g in index.get(name).grants}
        assert [(g.field, g.purpose, g.intensity) for g in own] == \
            [row for row in listed if row[0] == name]
        assert all(levels[g.purpose] == g.intensity for g in own)
    assert transparency.field_transparency(demo_catalog, reviewer, "no.such.field") == ({}, [])
    with pytest.raises(Forbidden):
        transparency.field_transparency(demo_catalog, pipeline, "crm.customers.email")


def test_current_notice_is_built_once_per_revision(demo_catalog, admin, reviewer, pipeline):
    first = transparency.current_notice(demo_catalog, reviewer)
    assert transparency.current_notice(demo_catalog, reviewer) is first
    fields.grant_purpose(demo_catalog, admin, "crm.customers.email", normalize_grant(
        "personalization.onsite", ("web",), False, "Shows your saved addresses."))
    after = transparency.current_notice(demo_catalog, reviewer)
    assert after is not first and after.revision > first.revision
    built = transparency.build_notice(demo_catalog, reviewer)
    assert after.tiers == built.tiers
    with pytest.raises(Forbidden):
        transparency.current_notice(demo_catalog, pipeline)
