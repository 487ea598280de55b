"""The change log: every committed write is recorded under the next revision; all rows of a
commit share it; before/after hold the JSON of the thing changed."""

from __future__ import annotations

import orjson
import pytest
import sqlalchemy as sa

from catalog.db import repo
from catalog.domain.model import Edge, Grant
from catalog.errors import BadInput, NotFound
from catalog.services import fields, lineage, policy
from catalog.services.fields import FieldInput


def log_rows(engine: sa.Engine, after_revision: int = 0) -> list:
    with engine.connect() as conn:
        return list(conn.execute(sa.text(
            "SELECT id, revision, actor, action, entity, field, other, before, after "
            "FROM change_log WHERE revision > :r ORDER BY id"), {"r": after_revision}))


def state_revision(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return repo.current_revision(conn=conn)


def js(text: str | None):
    return None if text is None else orjson.loads(text)


def new_field(name: str, **kw) -> FieldInput:
    return FieldInput(name=name, category=kw.pop("category", "historical.purchases"),
                      source=kw.pop("source", "first_party"), owner=kw.pop("owner", "shop"),
                      **kw)


def test_each_commit_gets_the_next_revision(catalog, admin, reviewer):
    engine = catalog.engine
    start = state_revision(engine)
    assert start == catalog.index.revision

    returned = []
    recs = fields.register_fields(catalog, admin, [
        new_field("shop.orders.total", description="order total"),
        new_field("shop.orders.items"),
        new_field("dwh.marts.orders.value", source="derived")])
    returned.append({r.revision for r in recs})
    returned.append({fields.grant_purpose(catalog, admin, "shop.orders.total",
                                          Grant("analytics", ("internal",))).revision})
    lineage.add_lineages(catalog, admin, [
        Edge("shop.orders.total", "dwh.marts.orders.value", "sum"),
        Edge("shop.orders.items", "dwh.marts.orders.value")])
    returned.append({catalog.index.get("dwh.marts.orders.value").revision})
    returned.append({fields.revoke_purpose(catalog, admin, "shop.orders.total",
                                           "analytics").revision})
    lineage.remove_lineage(catalog, admin, "shop.orders.items", "dwh.marts.orders.value")
    returned.append({catalog.index.get("shop.orders.items").revision})
    returned.append({fields.deprecate_field(catalog, admin, "shop.orders.items").revision})
    policy.upsert_rule(catalog, reviewer, "no-sale", {"effect": "DENY",
                                                      "purposes": ["sharing.sale"]})
    returned.append({catalog.index.revision})
    policy.delete_rule(catalog, reviewer, "no-sale")
    returned.append({catalog.index.revision})

    # Each call committed once, under the next revision, and returned it.
    assert returned == [{start + i} for i in range(1, 9)]
    assert state_revision(engine) == start + 8 == catalog.index.revision

    rows = log_rows(engine, start)
    by_revision: dict[int, list] = {}
    for row in rows:
        by_revision.setdefault(row.revision, []).append(row)
    assert sorted(by_revision) == list(range(start + 1, start + 9))
    assert [r.revision for r in rows] == sorted(r.revision for r in rows)  # id order
    actions = {rev: [(r.action, r.entity, r.field, r.other) for r in rs]
               for rev, rs in by_revision.items()}
    assert actions == {
        start + 1: [("register", "field", "shop.orders.total", None),
                    ("register", "field", "shop.orders.items", None),
                    ("register", "field", "dwh.marts.orders.value", None)],
        start + 2: [("grant", "field", "shop.orders.total", None)],
        start + 3: [("add_lineage", "edge", "dwh.marts.orders.value", "shop.orders.total"),
                    ("add_lineage", "edge", "dwh.marts.orders.value", "shop.orders.items")],
        start + 4: [("revoke", "field", "shop.orders.total", None)],
        start + 5: [("remove_lineage", "edge", "dwh.marts.orders.value", "shop.orders.items")],
        start + 6: [("deprecate", "field", "shop.orders.items", None)],
        start + 7: [("upsert_rule", "rule", None, None)],
        start + 8: [("delete_rule", "rule", None, None)],
    }
    assert all(r.actor == admin.actor for r in rows if r.entity != "rule")
    assert all(r.actor == reviewer.actor for r in rows if r.entity == "rule")

    first = by_revision[start + 1][0]
    assert js(first.before) is None
    assert js(first.after) == {
        "name": "shop.orders.total", "category": "historical.purchases",
        "source": "first_party", "owner": "shop", "description": "order total",
        "sourceSystem": None, "deprecated": False, "grants": []}
    grant = by_revision[start + 2][0]
    assert js(grant.before)["grants"] == []
    assert js(grant.after)["grants"] == [
        {"purpose": "analytics", "channels": ["internal"], "requiresConsent": False}]
    assert {k: v for k, v in js(grant.after).items() if k != "grants"} == \
        {k: v for k, v in js(grant.before).items() if k != "grants"}
    edge = by_revision[start + 3][0]
    assert (js(edge.before), js(edge.after)) == (None, {
        "upstream": "shop.orders.total", "downstream": "dwh.marts.orders.value",
        "transform": "sum"})
    revoke = by_revision[start + 4][0]
    assert (js(revoke.before)["grants"], js(revoke.after)["grants"]) == (
        js(grant.after)["grants"], [])
    removed = by_revision[start + 5][0]
    assert js(removed.before)["upstream"] == "shop.orders.items" and removed.after is None
    deprecated = by_revision[start + 6][0]
    assert (js(deprecated.before)["deprecated"], js(deprecated.after)["deprecated"]) == \
        (False, True)
    upsert, delete = by_revision[start + 7][0], by_revision[start + 8][0]
    assert js(upsert.before) is None
    assert js(upsert.after) == {"key": "no-sale", "effect": "DENY", "purposes": ["sharing.sale"]}
    assert js(delete.before) == js(upsert.after) and delete.after is None


def test_writes_that_change_nothing_or_fail_leave_no_trace(catalog, admin):
    fields.register_fields(catalog, admin, [new_field("shop.orders.total")])
    fields.grant_purpose(catalog, admin, "shop.orders.total", Grant("service"))
    engine = catalog.engine
    revision = state_revision(engine)
    count = len(log_rows(engine))

    # No-ops: the same grant again, the same registration, deprecating twice.
    fields.grant_purpose(catalog, admin, "shop.orders.total", Grant("service"))
    fields.register_fields(catalog, admin, [new_field("shop.orders.total")])
    fields.register_fields(catalog, admin, [FieldInput("shop.orders.total")])
    # Failures.
    with pytest.raises(NotFound):
        fields.revoke_purpose(catalog, admin, "shop.orders.total", "marketing")
    with pytest.raises(BadInput):
        fields.register_fields(catalog, admin, [new_field("shop.orders.new"),
                                                new_field("shop.orders.bad", category="nope")])
    with pytest.raises(NotFound):
        lineage.add_lineages(catalog, admin, [Edge("shop.orders.total", "shop.orders.none")])

    assert state_revision(engine) == revision == catalog.index.revision
    assert len(log_rows(engine)) == count


def test_history_pages_newest_first(catalog, admin):
    fields.register_fields(catalog, admin, [new_field("shop.orders.total"),
                                            new_field("shop.orders.other")])
    for purpose in ("service", "analytics", "marketing"):
        fields.grant_purpose(catalog, admin, "shop.orders.total", Grant(purpose))
    lineage.add_lineages(catalog, admin, [Edge("shop.orders.total", "shop.orders.other")])
    at = {"downstream": ["shop.orders.other"], "upto": catalog.index.revision}
    with catalog.engine.connect() as conn:
        page1 = repo.history(conn=conn, field="shop.orders.total", first=3, after=None, **at)
        page2 = repo.history(conn=conn, field="shop.orders.total", first=3,
                             after=page1[-1].id, **at)
    actions = [r.action for r in page1 + page2]
    assert actions == ["add_lineage", "grant", "grant", "grant", "register"]
    assert [r.revision for r in page1 + page2] == sorted(
        (r.revision for r in page1 + page2), reverse=True)


def test_history_of_an_upstream_field_shows_every_edge_from_it(catalog, other_catalog, admin):
    # The change log indexes only removed edges by upstream: the others are found from the
    # lineage graph. Added, changed, removed, removed and added again, and added by another
    # process this one has not caught up with: all in the upstream field's history.
    from catalog.services import browse
    names = ["shop.orders.total", "shop.orders.a", "shop.orders.b", "shop.orders.c",
             "shop.orders.d"]
    fields.register_fields(catalog, admin, [new_field(n) for n in names])
    total, a, b, c, d = names
    lineage.add_lineages(catalog, admin, [Edge(total, a), Edge(total, b), Edge(total, c)])
    lineage.add_lineages(catalog, admin, [Edge(total, a, "DIRECT/IDENTITY")])
    lineage.remove_lineage(catalog, admin, total, b)
    lineage.remove_lineage(catalog, admin, total, c)
    lineage.add_lineages(catalog, admin, [Edge(total, c, "again")])
    catalog.settings = catalog.settings.model_copy(update={"sync_interval": 3600.0})
    catalog.sync()
    lineage.add_lineages(other_catalog, admin, [Edge(total, d)])
    lineage.add_lineages(other_catalog, admin, [Edge(a, b)])  # not an edge of total's

    seen, cursor = [], None
    while True:  # pages of two, newest first
        entries, cursor, more = browse.history_page(catalog, admin, total, first=2,
                                                    after=cursor)
        seen += [(e["action"], e["field"], e["other"]) for e in entries]
        if not more:
            break
    assert seen == [("add_lineage", d, total), ("add_lineage", c, total),
                    ("remove_lineage", c, total), ("remove_lineage", b, total),
                    ("update_lineage", a, total), ("add_lineage", c, total),
                    ("add_lineage", b, total), ("add_lineage", a, total),
                    ("register", total, None)]
