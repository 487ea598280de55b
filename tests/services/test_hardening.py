"""What a careful user or attacker sends outside the engine, on SQLite and PostgreSQL alike
(docs/semantics.md, sections 1, 5 and 6): case-sensitive name prefixes, control characters in
text and filters, paging that never skips a field, owner scopes by whole segments, the two
purpose filters, history of an unknown field."""

from __future__ import annotations

import pytest

from catalog.domain.model import Edge, Grant
from catalog.errors import BadInput, Forbidden, NotFound
from catalog.services import auth, browse, lineage, policy, taxonomy
from catalog.services.auth import Principal
from catalog.services.fields import FieldInput, grant_purpose, register_fields


def field(name: str, **kw) -> FieldInput:
    return FieldInput(name=name, category=kw.pop("category", "historical"),
                      source=kw.pop("source", "first_party"), owner=kw.pop("owner", "team"),
                      **kw)


def names(cat, principal, **filters) -> list[str]:
    records, _, _ = browse.fields_page(cat, principal, first=500, **filters)
    return [r.name for r in records]


def test_name_prefix_is_case_sensitive(catalog, admin):
    register_fields(catalog, admin, [field(n) for n in
                                     ("case.a.b", "Case.a.b", "CASE.a.c", "casex.a.b")])
    assert names(catalog, admin, prefix="case.") == ["case.a.b"]
    assert names(catalog, admin, prefix="Case") == ["Case.a.b"]
    assert names(catalog, admin, prefix="case") == ["case.a.b", "casex.a.b"]
    assert names(catalog, admin, prefix="c%") == []  # LIKE wildcards are plain characters


@pytest.mark.parametrize("attr", ["owner", "description", "source_system"])
@pytest.mark.parametrize("char", ["\x00", "\x1b", "\x7f", "\ud800"])
def test_control_characters_in_field_text_are_bad_input(catalog, admin, attr, char):
    revision = catalog.index.revision
    with pytest.raises(BadInput, match="control character"):
        register_fields(catalog, admin, [field("crm.a.b", **{attr: f"x{char}y"})])
    assert catalog.index.revision == revision and catalog.index.get("crm.a.b") is None


def test_line_breaks_are_fine_in_descriptions_only(catalog, admin):
    register_fields(catalog, admin, [field("crm.a.b", description="line one\n\tline two\r\n")])
    assert catalog.index.get("crm.a.b").description == "line one\n\tline two\r\n"
    with pytest.raises(BadInput, match="one line"):
        register_fields(catalog, admin, [field("crm.a.c", owner="two\nlines")])


def test_control_characters_in_other_texts_are_bad_input(catalog, admin):
    register_fields(catalog, admin, [field("crm.a.b"), field("crm.a.c")])
    revision = catalog.index.revision
    attempts = [
        lambda: lineage.add_lineages(catalog, admin, [Edge("crm.a.b", "crm.a.c", "copy\x00")]),
        lambda: auth.create_token(catalog, admin, role="reviewer", name="bad\x00name"),
        lambda: policy.upsert_rule(catalog, admin, "r", {"effect": "DENY",
                                                        "description": "a\x00b"}),
        lambda: taxonomy.upsert_key(catalog, admin, kind="purpose", key="service.x",
                                    description="\x00"),
    ]
    for attempt in attempts:
        with pytest.raises(BadInput, match="control character"):
            attempt()
    assert catalog.index.revision == revision


def test_filters_with_control_characters_match_nothing(catalog, admin):
    register_fields(catalog, admin, [field("crm.a.b", owner="team")])
    assert names(catalog, admin, owner="team\x00") == []
    assert names(catalog, admin, prefix="crm\x00") == []
    with pytest.raises(NotFound):
        browse.history_page(catalog, admin, "crm.a.b\x00")
    for cursor in ("AA==", "!!", browse.encode_cursor("x" * 600)):
        with pytest.raises(BadInput, match="invalid cursor"):
            browse.fields_page(catalog, admin, after=cursor)
    for cursor in (browse.encode_cursor("99999999999999999999999"), browse.encode_cursor("-1")):
        with pytest.raises(BadInput, match="invalid cursor"):
            browse.history_page(catalog, admin, "crm.a.b", after=cursor)


def test_history_of_an_unknown_field_is_not_found(catalog, admin):
    register_fields(catalog, admin, [field("crm.a.b")])
    assert browse.history_page(catalog, admin, "crm.a.b")[0]
    for name in ("crm.a.nope", "not a name"):
        with pytest.raises(NotFound, match="not in the catalog"):
            browse.history_page(catalog, admin, name)


def test_history_of_a_field_another_process_registered(catalog, other_catalog, admin):
    catalog.reload()  # loaded now; it will not sync on its own within the test
    catalog.settings = catalog.settings.model_copy(update={"sync_interval": 3600.0})
    register_fields(other_catalog, admin, [field("crm.a.b")])
    assert [e["field"] for e in browse.history_page(catalog, admin, "crm.a.b")[0]] \
        == ["crm.a.b"]


def test_paging_never_skips_a_field_another_process_committed(catalog, other_catalog, admin):
    register_fields(catalog, admin, [field(f"crm.a.f{i}") for i in (0, 2, 4)])
    catalog.settings = catalog.settings.model_copy(update={"sync_interval": 3600.0})
    page, cursor, more = browse.fields_page(catalog, admin, first=1)
    assert [r.name for r in page] == ["crm.a.f0"] and more
    # Another worker commits a field between this worker's syncs.
    register_fields(other_catalog, admin, [field("crm.a.f1"), field("crm.a.f3")])
    seen = ["crm.a.f0"]
    while more:
        page, cursor, more = browse.fields_page(catalog, admin, first=1, after=cursor)
        seen += [r.name for r in page]
    assert seen == [f"crm.a.f{i}" for i in range(5)]


@pytest.mark.parametrize("scope", ["crm", "crm."])
def test_owner_scope_covers_whole_segments(catalog, admin, scope):
    owner = Principal("owner", scope)
    register_fields(catalog, owner, [field("crm.customers.email")])
    for name in ("crm_archive.customers.email", "crmx.a.b"):
        with pytest.raises(Forbidden, match="does not cover"):
            register_fields(catalog, owner, [field(name)])
    deep = Principal("owner", "crm.customers")
    grant_purpose(catalog, deep, "crm.customers.email", Grant("service"))
    with pytest.raises(Forbidden):
        register_fields(catalog, deep, [field("crm.customers_old.email")])


@pytest.mark.parametrize("scope", [".", "crm..x", "crm.*", "", "crm x"])
def test_scopes_are_whole_segments(catalog, admin, scope):
    with pytest.raises(BadInput):
        auth.create_token(catalog, admin, role="owner", scope=scope)


def test_purpose_and_permitted_for(catalog, admin):
    register_fields(catalog, admin, [
        field("crm.a.broad", grants=(Grant("marketing"),)),
        field("crm.a.exact", grants=(Grant("marketing.direct", ("email",)),)),
        field("crm.a.other", grants=(Grant("marketing.advertising"),)),
        field("crm.a.none"),
    ])
    # purpose: what was granted, on the key or below it.
    assert names(catalog, admin, purpose="marketing.direct") == ["crm.a.exact"]
    assert names(catalog, admin, purpose="marketing") == ["crm.a.broad", "crm.a.exact",
                                                          "crm.a.other"]
    # permittedFor: a grant that covers the purpose, on it or above it.
    assert names(catalog, admin, permitted_for="marketing.direct") == ["crm.a.broad",
                                                                       "crm.a.exact"]
    assert names(catalog, admin, permitted_for="marketing") == ["crm.a.broad"]
    with pytest.raises(BadInput):
        names(catalog, admin, permitted_for="nope")


def test_forbidden_names_what_was_asked(catalog, pipeline, reviewer):
    with pytest.raises(Forbidden, match="may not query fields: a pipeline may run check"):
        browse.fields_page(catalog, pipeline)
    with pytest.raises(Forbidden, match="may not query history"):
        browse.history_page(catalog, pipeline, "crm.a.b")
    with pytest.raises(Forbidden, match="may not query tokens"):
        auth.list_tokens(catalog, reviewer)


@pytest.mark.anyio
async def test_a_page_over_http_holds_fields_another_process_committed(catalog, other_catalog,
                                                                      admin):
    """The API pins one snapshot per response; a `fields` page that names a newer field reads
    its lineage from a snapshot that holds it."""
    import httpx

    from catalog.api.app import create_app

    register_fields(catalog, admin, [field("crm.a.f0")])
    catalog.settings = catalog.settings.model_copy(update={"sync_interval": 3600.0})
    catalog.reload()
    register_fields(other_catalog, admin, [field("crm.a.f1"), field("crm.a.f2")])
    lineage.add_lineages(other_catalog, admin, [Edge("crm.a.f1", "crm.a.f2")])
    _, token = auth.create_token(other_catalog, admin, role="reviewer")
    transport = httpx.ASGITransport(app=create_app(catalog, background_sync=False))
    async with httpx.AsyncClient(transport=transport, base_url="http://catalog.test") as client:
        r = await client.post("/graphql", json={
            "query": "{ fields(namePrefix: \"crm.a.\") { nodes { name upstream } } }"},
            headers={"Authorization": f"Bearer {token}"})
    nodes = r.json()["data"]["fields"]["nodes"]
    assert nodes == [{"name": "crm.a.f0", "upstream": []}, {"name": "crm.a.f1", "upstream": []},
                     {"name": "crm.a.f2", "upstream": ["crm.a.f1"]}]
