"""What-if (docs/semantics.md §9): simulate equals apply, writes nothing, leaves the live index
alone."""

from __future__ import annotations

import threading

import pytest

from catalog.domain.model import Edge, Grant
from catalog.services import checks, fields, lineage, policy, simulate
from catalog.services.fields import FieldInput

EMAIL = "crm.customers.email"
SIZE = "crm.customers.clothing_size"

CHANGE_SETS = {
    "grant": [{"grantPurpose": {"field": EMAIL, "grant": {"purpose": "marketing",
                                                          "channels": ["email", "sms"]}}}],
    "revoke": [{"revokePurpose": {"field": SIZE, "purpose": "service"}}],
    "deprecate-and-rule": [{"deprecateField": SIZE},
                           {"upsertPolicyRule": {"key": "no-sms", "rule": {
                               "effect": "DENY", "channels": ["sms"]}}}],
    "delete-rule": [{"deletePolicyRule": "boudoir-topics"}],
    "register-and-edge": [
        {"registerField": {"name": "crm.t.new", "category": "internal.preferences",
                           "source": "zero_party", "owner": "t",
                           "grants": [{"purpose": "service", "channels": None}]}},
        {"addLineage": {"upstream": SIZE, "downstream": "crm.t.new"}}],
}


def all_cells(cat) -> list[tuple[str, str, str]]:
    index = cat.index
    tax = index.taxonomy
    leaves = sorted(p for p in tax.purposes if not any(q.startswith(p + ".")
                                                       for q in tax.purposes))
    return [(f, p, c) for f in sorted({*index.fields, "crm.t.new"}) for p in leaves
            for c in sorted(tax.channels)]


def apply_for_real(cat, admin, changes) -> None:
    for change in changes:
        (kind, v), = change.items()
        if kind == "grantPurpose":
            g = v["grant"]
            fields.grant_purpose(cat, admin, v["field"], fields.normalize_grant(
                g["purpose"], g.get("channels"), g.get("requiresConsent")))
        elif kind == "revokePurpose":
            fields.revoke_purpose(cat, admin, v["field"], v["purpose"])
        elif kind == "deprecateField":
            fields.deprecate_field(cat, admin, v)
        elif kind == "upsertPolicyRule":
            policy.upsert_rule(cat, admin, v["key"], v["rule"])
        elif kind == "deletePolicyRule":
            policy.delete_rule(cat, admin, v)
        elif kind == "registerField":
            fields.register_fields(cat, admin, [FieldInput(
                v["name"], v["category"], v["source"], v["owner"], grants=tuple(
                    Grant(g["purpose"], g["channels"]) for g in v["grants"]))])
        elif kind == "addLineage":
            lineage.add_lineages(cat, admin, [Edge(v["upstream"], v["downstream"])])


def strip(d):
    return (d.allowed, d.reasons, d.obligations, d.effective_categories)


@pytest.mark.parametrize("name", sorted(CHANGE_SETS))
def test_simulate_equals_apply(demo_catalog, admin, reviewer, name):
    changes = CHANGE_SETS[name]
    revision = demo_catalog.index.revision
    cells = all_cells(demo_catalog)
    before = {(d.field, d.purpose, d.channel): d for d in demo_catalog.index.check_many(cells)}
    sim = simulate.simulate(demo_catalog, reviewer, changes)
    assert demo_catalog.index.revision == revision == sim.revision  # nothing written
    assert not sim.partial and sim.checked > 0
    apply_for_real(demo_catalog, admin, changes)
    after = {(d.field, d.purpose, d.channel): d for d in demo_catalog.index.check_many(cells)}
    changed = sorted(k for k in cells if before[k].allowed != after[k].allowed)
    flips = [(f.before.field, f.before.purpose, f.before.channel) for f in sim.flips]
    assert flips == changed  # exactly the cells that flip, ordered by field, purpose, channel
    assert changed, "the change set should flip something"
    for f in sim.flips:
        key = (f.before.field, f.before.purpose, f.before.channel)
        assert strip(f.before) == strip(before[key])
        assert strip(f.after) == strip(after[key])


def test_simulate_with_checks_compares_exactly_those(demo_catalog, admin, reviewer):
    asked = [(SIZE, "service", "web"), (SIZE, "service", "sms"), (EMAIL, "service", "web"),
             ("no.such.field", "service", "web")]
    sim = simulate.simulate(demo_catalog, reviewer, CHANGE_SETS["revoke"], asked)
    assert sim.checked == 4
    before = demo_catalog.index.check_many(asked)
    apply_for_real(demo_catalog, admin, CHANGE_SETS["revoke"])
    after = demo_catalog.index.check_many(asked)
    changed = sorted((b.field, b.channel) for b, a in zip(before, after, strict=True)
                     if a.allowed != b.allowed)
    assert [(f.before.field, f.before.channel) for f in sim.flips] == changed == \
        [(SIZE, "sms"), (SIZE, "web")]


@pytest.mark.parametrize(("changes", "code"), [
    ([{"grantPurpose": {"field": "crm.no.such", "grant": {"purpose": "service"}}}], "NOT_FOUND"),
    ([{"grantPurpose": {"field": EMAIL, "grant": {"purpose": "nope"}}}], "BAD_INPUT"),
    ([{"revokePurpose": {"field": EMAIL, "purpose": "pricing"}}], "NOT_FOUND"),
    ([{"addLineage": {"upstream": "dwh.marts.audiences.baby_club_member",
                      "downstream": "orders.orders.line_items"}}], "CONFLICT"),
    ([{"addLineage": {"upstream": EMAIL, "downstream": EMAIL}}], "BAD_INPUT"),
    ([{"deletePolicyRule": "no-such-rule"}], "NOT_FOUND"),
    ([{"upsertPolicyRule": {"key": "r", "rule": {"effect": "MAYBE"}}}], "BAD_INPUT"),
    ([{"registerField": {"name": "bad name", "category": "internal", "source": "zero_party",
                         "owner": "t"}}], "BAD_INPUT"),
    ([{"deprecateField": SIZE, "grantPurpose": {"field": EMAIL,
                                                "grant": {"purpose": "service"}}}], "BAD_INPUT"),
    ([{}], "BAD_INPUT"),
    # The whole simulation fails on its second change, though the first is fine.
    ([{"deprecateField": SIZE}, {"deprecateField": "crm.no.such"}], "NOT_FOUND"),
])
def test_an_invalid_change_fails_with_its_mutation_error_and_writes_nothing(
        demo_catalog, reviewer, changes, code):
    revision = demo_catalog.index.revision
    before = demo_catalog.index.check(SIZE, "service", "web")
    with pytest.raises(Exception) as caught:
        simulate.simulate(demo_catalog, reviewer, changes)
    assert getattr(caught.value, "code", None) == code, caught.value
    demo_catalog.sync()
    assert demo_catalog.index.revision == revision
    assert demo_catalog.index.check(SIZE, "service", "web") == before
    assert not demo_catalog.index.get(SIZE).deprecated


def test_pipelines_may_not_simulate(demo_catalog, pipeline):
    with pytest.raises(Exception, match="may not"):
        simulate.simulate(demo_catalog, pipeline, CHANGE_SETS["grant"])


def test_the_live_index_is_untouched_while_simulations_run(demo_catalog, reviewer, pipeline):
    cells = all_cells(demo_catalog)[:2000]
    expected = checks.check_many(demo_catalog, pipeline, cells)
    stop = threading.Event()
    seen: list[bool] = []

    def checker() -> None:
        while not stop.is_set():
            seen.append(checks.check_many(demo_catalog, pipeline, cells) == expected)

    thread = threading.Thread(target=checker)
    thread.start()
    try:
        for name in sorted(CHANGE_SETS) * 3:
            simulate.simulate(demo_catalog, reviewer, CHANGE_SETS[name])
    finally:
        stop.set()
        thread.join()
    assert seen and all(seen)


def test_the_engine_allowed_shortcut_agrees_with_check(demo_catalog):
    index = demo_catalog.index
    cells = [*all_cells(demo_catalog), ("no.such.field", "service", "web"),
             (EMAIL, "nope", "web"), (EMAIL, "service", "nope")]
    assert [index.allowed(*c) for c in cells] == [index.check(*c).allowed for c in cells]
