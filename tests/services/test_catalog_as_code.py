"""Catalog as code (docs/semantics.md §12): export, apply (one transaction, one revision), prune,
dry run, and files refused as a whole. On SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest

from catalog.domain.model import Edge, Grant
from catalog.errors import BadInput, CatalogError, Conflict, NotFound
from catalog.services import apply_report, auth, fields, lineage, policy, setup
from catalog.services.apply import apply_files
from catalog.services.export import export_yaml


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.fixture
def source(tmp_path: Path, catalog_factory, admin):
    """An SQLite catalog with the demo, a custom taxonomy key and rule, an edited rule, a
    deprecated field and an edge without transform: what an export must carry."""
    cat = catalog_factory(f"sqlite:///{tmp_path / 'source.db'}")
    setup.init(cat)
    setup.load_catalog_file(cat, setup.SEEDS / "demo" / "catalog.yaml")
    extra = write(tmp_path, "extra.yaml", (
        "categories:\n  internal.mood: {sensitivity: 4, description: how someone feels}\n"
        "channels:\n  kiosk: {privacy: public}\n"
        "rules:\n  no-mood: {effect: DENY, categories: [internal.mood]}\n"
        "  breaking-bonds: {effect: REQUIRE_CONSENT, purposes: [sharing, analytics.profiling]}\n"
        "fields:\n  - {name: app.events.mood, category: internal.mood, source: first_party,"
        " owner: app-team, grants: [{purpose: service, requires_consent: true}]}\n"
        "lineage:\n  - {upstream: app.events.mood, downstream: crm.customers.loyalty_tier}\n"))
    apply_files(cat, admin, [extra])
    fields.deprecate_field(cat, admin, "crm.customers.clothing_size")
    return cat


def test_export_then_apply_to_an_empty_catalog_then_export_gives_the_same_bytes(
        source, catalog, tmp_path, admin):
    _, secret = auth.create_token(source, admin, role="pipeline", name="nightly-etl")
    exported = export_yaml(source, admin)
    assert exported == export_yaml(source, admin)  # deterministic
    for absent in ("revision:", "nightly-etl", secret, "created_at", "updated_at"):
        assert absent not in exported
    path = write(tmp_path, "catalog.yaml", exported)

    before = catalog.index.revision
    outcome = apply_files(catalog, admin, [path])
    assert outcome.committed and catalog.index.revision == before + 1  # one revision
    assert export_yaml(catalog, admin) == exported

    again = apply_files(catalog, admin, [path], prune=True)  # equal already: nothing
    assert again.plan.empty and not again.committed
    assert catalog.index.revision == before + 1


def test_apply_states_replace_omitted_stay_and_grants_are_replaced(demo_catalog, tmp_path,
                                                                   admin):
    name = "crm.customers.email"
    old = demo_catalog.index.get(name)
    path = write(tmp_path, "f.yaml", f"fields:\n  - name: {name}\n    owner: new-team\n"
                                     "    grants: [{purpose: service, channels: [email]}]\n")
    apply_files(demo_catalog, admin, [path])
    new = demo_catalog.index.get(name)
    assert new.owner == "new-team" and new.grants == (Grant("service", ("email",)),)
    assert (new.category, new.description, new.source_system) == \
        (old.category, old.description, old.source_system)


def test_prune_deprecates_removes_and_clears_only_the_kinds_the_files_hold(
        demo_catalog, tmp_path, admin):
    index = demo_catalog.index
    rules_before = index.rules
    keep = ["crm.customers.email", "dwh.marts.customer_360.email_hash"]
    path = write(tmp_path, "f.yaml", (
        "fields:\n" + "".join(f"  - {{name: {n}, category: tracking.contact, source: "
                              "first_party, owner: crm-team}\n" for n in keep)
        + f"lineage:\n  - {{upstream: {keep[0]}, downstream: {keep[1]}}}\n"))
    before = index.revision
    outcome = apply_files(demo_catalog, admin, [path], prune=True)
    index = demo_catalog.index
    assert index.revision == before + 1
    assert [n for n in sorted(index.fields) if not index.fields[n].deprecated] == sorted(keep)
    assert len(index.fields) == 64  # deprecated, never deleted
    assert sorted(index.graph.edges()) == [(keep[0], keep[1])]
    assert index.graph.edge(keep[0], keep[1]).transform is None  # cleared: the file lacks it
    email = index.get(keep[0])
    assert email.grants == () and email.description is None  # cleared
    assert index.rules == rules_before  # the files hold no rules: untouched
    assert len(outcome.plan.removed_edges) == 41


def test_prune_of_rules_removes_the_rules_the_files_lack(catalog, tmp_path, admin):
    path = write(tmp_path, "r.yaml", "rules:\n  breaking-bonds: {effect: REQUIRE_CONSENT, "
                                     "purposes: [sharing]}\n")
    apply_files(catalog, admin, [path], prune=True)
    assert [r.key for r in catalog.index.rules] == ["breaking-bonds"]
    assert "marketing" in catalog.index.taxonomy.purposes  # taxonomy keys are never removed


def test_dry_run_writes_nothing_and_names_the_flips(demo_catalog, tmp_path, admin):
    exported = export_yaml(demo_catalog, admin)
    revision = demo_catalog.index.revision
    path = write(tmp_path, "f.yaml", "fields:\n  - name: crm.customers.email\n"
                                     "    grants: [{purpose: service}]\n")
    outcome = apply_files(demo_catalog, admin, [path], dry_run=True)
    assert not outcome.committed and demo_catalog.index.revision == revision
    assert export_yaml(demo_catalog, admin) == exported
    assert demo_catalog.index.get("crm.customers.email").grant_for("analytics.aggregate")

    lines = apply_report.changes(outcome.plan)
    assert lines == ["~ field crm.customers.email (grants: 'analytics.aggregate in internal, "
                     "marketing.direct in email with consent, service in email' -> "
                     "'service')"]
    result = apply_report.flips(demo_catalog.index, outcome.plan)
    cells = {(f.field, f.purpose, f.channel): (f.before.allowed, f.after.allowed)
             for f in result.flips}
    assert cells[("crm.customers.email", "marketing.direct", "email")] == (True, False)
    assert cells[("crm.customers.email", "service.delivery", "sms")] == (False, True)
    # downstream of the changed field too
    assert ("dwh.marts.customer_360.email_hash", "analytics.aggregate", "internal") in cells
    for f in result.flips:  # the same answers as the catalog after a real apply
        assert f.before == demo_catalog.index.check(f.field, f.purpose, f.channel)
    text = apply_report.flip_lines(result)
    assert "crm.customers.email marketing.direct email: ALLOWED -> DENIED" in "\n".join(text)

    apply_files(demo_catalog, admin, [path])
    for f in result.flips:
        assert demo_catalog.index.check(f.field, f.purpose, f.channel).allowed == \
            f.after.allowed


@pytest.mark.parametrize(("text", "error", "fragment"), [
    ("fields:\n  - {name: a.b.c, category: tracking, source: first_party, owner: me,"
     " colour: red}\n", BadInput, "x.yaml:2: fields[0] has an unknown key 'colour'"),
    ("fields:\n  - {name: a.b, category: tracking, source: first_party, owner: me}\n",
     BadInput, "x.yaml:2: invalid field name 'a.b'"),
    ("fields:\n  - {name: a.b.c, category: tracking, source: first_party, owner: me}\n"
     "  - {name: a.b.c, category: tracking, source: first_party, owner: me}\n",
     BadInput, "x.yaml:3: field a.b.c is given twice (also at"),
    ("rules:\n  x: {effect: DENY}\n  x: {effect: DENY}\n", BadInput,
     "x.yaml:3: 'x' appears twice"),
    ("lineage:\n  - {upstream: crm.customers.email, downstream: crm.customers.first_name}\n"
     "  - {upstream: crm.customers.first_name, downstream: crm.customers.email}\n",
     Conflict, "would close a cycle: "),
    ("lineage:\n\n  - {upstream: crm.customers.email, downstream: no.such.field}\n",
     NotFound, "x.yaml:3: lineage crm.customers.email -> no.such.field"),
    ("fields:\n  - {name: a.b.c, category: no.such, source: first_party, owner: me}\n",
     BadInput, "x.yaml:2: unknown category 'no.such'"),
    ("fields:\n  - {name: a.b.c, category: tracking, owner: me}\n", BadInput,
     "x.yaml:2: new field a.b.c needs source"),
    ("widgets: []\n", BadInput, "x.yaml:1: unknown section 'widgets'"),
    ("fields: [\n", BadInput, "not valid YAML"),
])
def test_a_bad_file_is_refused_as_a_whole_naming_file_and_line(demo_catalog, tmp_path, admin,
                                                               text, error, fragment):
    good = write(tmp_path, "good.yaml", "fields:\n  - {name: new.fields.one, category: "
                                        "tracking, source: first_party, owner: me}\n")
    bad = write(tmp_path, "x.yaml", text)
    revision = demo_catalog.index.revision
    with pytest.raises(error) as caught:
        apply_files(demo_catalog, admin, [good, bad])
    assert fragment in caught.value.message
    assert demo_catalog.index.revision == revision
    demo_catalog.reload()
    assert demo_catalog.index.revision == revision
    assert demo_catalog.index.get("new.fields.one") is None


def test_seed_is_one_transaction_a_bad_edge_registers_no_field(catalog, tmp_path):
    path = write(tmp_path, "c.yaml", (
        "fields:\n  - {name: a.b.c, category: tracking, source: first_party, owner: me}\n"
        "lineage:\n  - {upstream: a.b.c, downstream: x.y.z}\n"))
    revision = catalog.index.revision
    with pytest.raises(CatalogError):
        setup.load_catalog_file(catalog, path)
    catalog.reload()
    assert catalog.index.get("a.b.c") is None and catalog.index.revision == revision


def test_seed_keeps_reviewer_edits_of_rules_and_taxonomy(catalog, tmp_path, admin, reviewer):
    policy.upsert_rule(catalog, reviewer, "breaking-bonds",
                       {"effect": "REQUIRE_CONSENT", "purposes": ["sharing", "marketing"]})
    policy.delete_rule(catalog, reviewer, "helicoptering")
    assert setup.init(catalog) == {"taxonomy": 0, "rules": 0}
    rules = {r.key: r for r in catalog.index.rules}
    assert rules["breaking-bonds"].purposes == ("marketing", "sharing")
    assert "helicoptering" not in rules
    # apply, unlike seed, makes the catalog equal the file
    outcome = apply_files(catalog, admin, [setup.SEEDS / "rules.yaml"])
    assert {r.key for r in catalog.index.rules} >= {"helicoptering", "breaking-bonds"}
    assert {r.key for _, r in outcome.plan.rules} == {"helicoptering", "breaking-bonds"}


def test_changes_from_apply_reach_other_processes(demo_catalog, other_catalog, tmp_path, admin):
    other_catalog.reload()
    path = write(tmp_path, "f.yaml", (
        "categories:\n  internal.mood: {sensitivity: 4}\n"
        "fields:\n  - {name: app.events.mood, category: internal.mood, source: first_party,"
        " owner: app-team}\n"
        "lineage:\n  - {upstream: app.events.mood, downstream: crm.customers.email}\n"))
    apply_files(demo_catalog, admin, [path])
    other_catalog.sync()
    assert other_catalog.index.revision == demo_catalog.index.revision
    assert "internal.mood" in other_catalog.index.effective_categories("crm.customers.email")


def test_owner_may_apply_only_within_scope(demo_catalog, tmp_path, owner_of):
    path = write(tmp_path, "f.yaml", "fields:\n  - {name: crm.customers.email, owner: x}\n"
                                     "  - {name: orders.orders.total_amount, owner: x}\n")
    with pytest.raises(CatalogError) as caught:
        apply_files(demo_catalog, owner_of("crm."), [path])
    assert caught.value.code == "FORBIDDEN"
    lineage.add_lineages(demo_catalog, owner_of("crm."),
                         [Edge("orders.orders.total_amount", "crm.customers.loyalty_tier")])
