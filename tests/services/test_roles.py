"""Who may do what (docs/semantics.md §5), enforced by the services: a role acting outside
its rights gets Forbidden and changes nothing."""

from __future__ import annotations

import pytest

from catalog.domain.model import Edge, Grant
from catalog.errors import Forbidden, Unauthenticated
from catalog.services import auth, checks, fields, lineage, policy
from catalog.services.fields import FieldInput

CRM, SHOP = "crm.customers.email", "shop.orders.total"


def new_field(name: str) -> FieldInput:
    return FieldInput(name, category="tracking.contact", source="zero_party", owner="team")


@pytest.fixture
def two_fields(catalog, admin):
    fields.register_fields(catalog, admin, [new_field(CRM), new_field(SHOP)])


@pytest.fixture
def nothing_written(catalog, fresh_description):
    url = str(catalog.settings.database_url)
    before = fresh_description(url)

    def check() -> None:
        assert fresh_description(url) == before
        assert catalog.index.revision == before["revision"]

    return check


WRITES = {
    "register": lambda cat, who: fields.register_fields(cat, who, [new_field(CRM)]),
    "register-new": lambda cat, who: fields.register_fields(cat, who, [new_field(
        "crm.customers.phone")]),
    "deprecate": lambda cat, who: fields.deprecate_field(cat, who, CRM),
    "grant": lambda cat, who: fields.grant_purpose(cat, who, CRM, Grant("service")),
    "revoke": lambda cat, who: fields.revoke_purpose(cat, who, CRM, "service"),
    "add-lineage": lambda cat, who: lineage.add_lineages(cat, who, [Edge(SHOP, CRM)]),
    "remove-lineage": lambda cat, who: lineage.remove_lineage(cat, who, SHOP, CRM),
}


def test_pipelines_and_reviewers_cannot_write(catalog, two_fields, pipeline, reviewer,
                                              nothing_written):
    for name, write in WRITES.items():
        for who in (pipeline, reviewer):
            with pytest.raises(Forbidden):
                write(catalog, who)
                pytest.fail(f"{who.role} may {name}")
    nothing_written()


def test_pipelines_check_and_read_fields_only(catalog, two_fields, pipeline, nothing_written):
    assert not checks.check(catalog, pipeline, CRM, "service", "web").allowed
    assert len(checks.check_many(catalog, pipeline, [(CRM, "service", "web")] * 3)) == 3
    assert checks.get_field(catalog, pipeline, CRM).name == CRM
    for read in (lambda: lineage.lineage(catalog, pipeline, CRM),
                 lambda: policy.list_rules(catalog, pipeline),
                 lambda: checks.usage_matrix(catalog, pipeline, CRM),
                 lambda: policy.upsert_rule(catalog, pipeline, "x", {"effect": "DENY"}),
                 lambda: policy.delete_rule(catalog, pipeline, "helicoptering")):
        with pytest.raises(Forbidden):
            read()
    nothing_written()


def test_no_principal_is_unauthenticated(catalog, two_fields):
    with pytest.raises(Unauthenticated):
        checks.check(catalog, None, CRM, "service", "web")
    with pytest.raises(Unauthenticated):
        fields.grant_purpose(catalog, None, CRM, Grant("service"))


def test_owner_writes_in_scope(catalog, two_fields, owner_of, admin):
    crm = owner_of("crm.")
    fields.register_fields(catalog, crm, [new_field("crm.customers.phone")])
    fields.grant_purpose(catalog, crm, CRM, Grant("service"))
    fields.revoke_purpose(catalog, crm, CRM, "service")
    lineage.add_lineages(catalog, crm, [Edge(SHOP, CRM)])  # downstream in scope
    lineage.remove_lineage(catalog, crm, SHOP, CRM)
    fields.deprecate_field(catalog, crm, "crm.customers.phone")
    assert catalog.index.get("crm.customers.phone").deprecated
    assert lineage.lineage(catalog, crm, SHOP).root == SHOP  # owners read everything


OUT_OF_SCOPE = {
    "register": lambda cat, who: fields.register_fields(cat, who, [new_field(SHOP)]),
    # A batch with one field out of scope writes none of them.
    "register-batch": lambda cat, who: fields.register_fields(
        cat, who, [new_field("crm.customers.phone"), new_field("shop.orders.new")]),
    "grant": lambda cat, who: fields.grant_purpose(cat, who, SHOP, Grant("service")),
    "revoke": lambda cat, who: fields.revoke_purpose(cat, who, SHOP, "service"),
    "deprecate": lambda cat, who: fields.deprecate_field(cat, who, SHOP),
    "add-lineage": lambda cat, who: lineage.add_lineages(cat, who, [Edge(CRM, SHOP)]),
    "add-lineage-batch": lambda cat, who: lineage.add_lineages(
        cat, who, [Edge(SHOP, "crm.customers.x"), Edge(CRM, SHOP)]),
    "remove-lineage": lambda cat, who: lineage.remove_lineage(cat, who, CRM, SHOP),
    "rule": lambda cat, who: policy.upsert_rule(cat, who, "x", {"effect": "DENY"}),
    "token": lambda cat, who: auth.create_token(cat, who, role="owner", scope="crm."),
}


def test_owner_out_of_scope_is_forbidden_and_writes_nothing(catalog, two_fields, owner_of,
                                                            nothing_written):
    for name, write in OUT_OF_SCOPE.items():
        with pytest.raises(Forbidden):
            write(catalog, owner_of("crm."))
            pytest.fail(f"an owner of crm. may {name}")
    nothing_written()


def test_owner_scope_is_a_prefix_of_the_name(catalog, two_fields, owner_of, nothing_written):
    with pytest.raises(Forbidden):
        fields.grant_purpose(catalog, owner_of("crm.customers.phone"), CRM, Grant("service"))
    nothing_written()


def test_reviewer_manages_rules(catalog, two_fields, reviewer, pipeline):
    fields_revision = catalog.index.get(CRM).revision
    rule = policy.upsert_rule(catalog, reviewer, "no-contact-marketing", {
        "effect": "DENY", "categories": ["tracking.contact"], "purposes": ["marketing"],
        "description": "contact details are not for marketing"})
    assert rule in policy.list_rules(catalog, reviewer)
    policy.upsert_rule(catalog, reviewer, "no-contact-marketing", {
        "effect": "REQUIRE_CONSENT", "categories": ["tracking.contact"]})
    rules = {r.key: r for r in policy.list_rules(catalog, reviewer)}
    assert rules["no-contact-marketing"].effect == "REQUIRE_CONSENT"
    assert rules["no-contact-marketing"].purposes is None
    assert policy.delete_rule(catalog, reviewer, "no-contact-marketing") is True
    assert policy.delete_rule(catalog, reviewer, "breaking-bonds") is True
    assert {r.key for r in policy.list_rules(catalog, reviewer)} == {
        "boudoir-topics", "sensitive-data-private-channels", "digging-too-deep",
        "digging-too-deep-cross-site", "helicoptering", "surveillance-pricing",
        "unclassified-data"}
    assert catalog.index.get(CRM).revision == fields_revision  # rules are not fields
