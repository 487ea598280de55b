"""Admins extend the taxonomy; the index follows; bad keys are refused and change nothing."""

from __future__ import annotations

import pytest

from catalog.domain.model import Grant
from catalog.errors import BadInput, Forbidden
from catalog.services import fields, taxonomy
from catalog.services.fields import FieldInput


def test_a_new_category_takes_effect_and_inherits_sensitivity(catalog, admin):
    taxonomy.upsert_key(catalog, admin, kind="category", key="external.health.pregnancy")
    assert catalog.index.taxonomy.categories["external.health.pregnancy"] == 4
    fields.register_fields(catalog, admin, [FieldInput(
        name="ml.scores.baby", category="external.health.pregnancy", source="derived",
        owner="ml", grants=(Grant("marketing"),))])
    decision = catalog.index.check("ml.scores.baby", "marketing.direct", "email")
    assert [r.rule for r in decision.reasons] == ["boudoir-topics"]


def test_raising_a_sensitivity_recomputes_decisions(catalog, admin):
    fields.register_fields(catalog, admin, [FieldInput(
        name="crm.c.size", category="internal.preferences", source="zero_party", owner="crm",
        grants=(Grant("marketing"),))])
    assert catalog.index.check("crm.c.size", "marketing.direct", "sms").allowed
    taxonomy.upsert_key(catalog, admin, kind="category", key="internal.preferences",
                        sensitivity=3)
    denied = catalog.index.check("crm.c.size", "marketing.direct", "sms")
    assert [r.rule for r in denied.reasons] == ["sensitive-data-private-channels"]


@pytest.mark.parametrize("kwargs", [
    {"kind": "colour", "key": "red"},
    {"kind": "category", "key": "Not.Lower"},
    {"kind": "category", "key": "nowhere.child"},  # no parent
    {"kind": "category", "key": "gadgets"},  # a top-level category needs a sensitivity
    {"kind": "category", "key": "gadgets", "sensitivity": 9},
    {"kind": "channel", "key": "fax"},  # a channel needs a privacy
    {"kind": "channel", "key": "fax", "privacy": "secret"},
    {"kind": "purpose", "key": "research", "privacy": "private"},
])
def test_bad_keys_are_refused_and_change_nothing(catalog, admin, kwargs):
    revision = catalog.index.revision
    with pytest.raises(BadInput):
        taxonomy.upsert_key(catalog, admin, **kwargs)
    assert catalog.index.revision == revision
    catalog.reload()
    assert catalog.index.revision == revision


def test_only_admins_manage_the_taxonomy(catalog, reviewer):
    with pytest.raises(Forbidden):
        taxonomy.upsert_key(catalog, reviewer, kind="purpose", key="research")


def test_omitted_values_of_an_existing_key_stay(catalog, admin):
    taxonomy.upsert_key(catalog, admin, kind="category", key="internal.preferences",
                        description="sizes, brands")
    assert catalog.index.taxonomy.categories["internal.preferences"] == 1
    taxonomy.upsert_key(catalog, admin, kind="channel", key="sms", description="texts")
    assert catalog.index.taxonomy.channels["sms"] == "shared"


def test_a_deleted_default_rule_stays_deleted_after_init(catalog, admin):
    from catalog.services import policy, setup
    policy.delete_rule(catalog, admin, "breaking-bonds")
    revision = catalog.index.revision
    assert setup.init(catalog) == {"taxonomy": 0, "rules": 0}
    assert "breaking-bonds" not in {r.key for r in catalog.index.rules}
    assert catalog.index.revision == revision
    policy.upsert_rule(catalog, admin, "breaking-bonds",
                       {"effect": "REQUIRE_CONSENT", "purposes": ["sharing"]})
    policy.delete_rule(catalog, admin, "breaking-bonds")
    policy.upsert_rule(catalog, admin, "breaking-bonds",
                       {"effect": "REQUIRE_CONSENT", "purposes": ["sharing"]})
    assert "breaking-bonds" in {r.key for r in catalog.index.rules}
