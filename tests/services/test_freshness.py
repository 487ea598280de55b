"""Freshness across processes: a second Catalog on the same database stands for another
worker. Revisions bound what a check may be answered from; indexes kept current by writes and
by catch-up equal one built from scratch."""

from __future__ import annotations

import threading
import time

import pytest

from catalog.db import repo
from catalog.domain.decision import ReasonCode
from catalog.domain.model import Edge, Grant
from catalog.errors import Conflict
from catalog.services import auth, checks, fields, lineage, policy, setup
from catalog.services.fields import FieldInput

SIZE = "crm.customers.clothing_size"  # demo: grants service (every channel), personalization


def url_of(cat) -> str:
    return str(cat.settings.database_url)


def test_a_revoke_is_seen_by_another_catalog_at_its_revision(demo_catalog, catalog_factory,
                                                             admin, pipeline):
    # The other worker never syncs by itself: only atLeastRevision makes it catch up.
    other = catalog_factory(url_of(demo_catalog), sync_interval=3600)
    assert checks.check(other, pipeline, SIZE, "service", "web").allowed
    for _ in range(5):
        revoked = fields.revoke_purpose(demo_catalog, admin, SIZE, "service").revision
        assert other.index.revision < revoked
        decision = checks.check(other, pipeline, SIZE, "service", "web",
                                at_least_revision=revoked)
        assert not decision.allowed and decision.revision >= revoked
        assert [r.code for r in decision.reasons] == [ReasonCode.PURPOSE_NOT_GRANTED]
        assert not any(d.allowed for d in checks.check_many(
            other, pipeline, [(SIZE, "service", c) for c in ("web", "email", "internal")],
            at_least_revision=revoked))
        granted = fields.grant_purpose(demo_catalog, admin, SIZE, Grant("service")).revision
        assert checks.check(other, pipeline, SIZE, "service", "web",
                            at_least_revision=granted).allowed
    # A revision already reached answers at once, from at least that revision.
    fields.revoke_purpose(demo_catalog, admin, SIZE, "service")
    late = catalog_factory(url_of(demo_catalog), sync_interval=3600)
    assert not checks.check(late, pipeline, SIZE, "service", "web",
                            at_least_revision=revoked).allowed


def test_a_revision_never_reached_is_a_conflict(catalog, catalog_factory, pipeline):
    current = catalog.index.revision
    target = current + 100
    started = time.monotonic()
    with pytest.raises(Conflict, match=f"catalog at revision {current}, {target} not reached"):
        catalog.fresh(target)
    waited = time.monotonic() - started
    assert catalog.settings.revision_wait <= waited < catalog.settings.revision_wait + 3
    impatient = catalog_factory(url_of(catalog), revision_wait=0.1)
    with pytest.raises(Conflict):
        checks.check(impatient, pipeline, SIZE, "service", "web", at_least_revision=target)
    with pytest.raises(Conflict):
        checks.check_many(impatient, pipeline, [(SIZE, "service", "web")],
                          at_least_revision=target)
    catalog.fresh(current)  # reached: no wait, no error


def test_fresh_waits_for_a_revision_committed_meanwhile(catalog, catalog_factory, admin):
    """A check for a revision a little ahead of this worker returns once it is there."""
    other = catalog_factory(url_of(catalog), sync_interval=3600)
    other.reload()  # loaded now
    [rec] = fields.register_fields(catalog, admin, [FieldInput(
        "shop.orders.total", category="historical", source="first_party", owner="shop")])
    other.fresh(rec.revision)
    assert other.index.get("shop.orders.total") == rec


def many_writes(cat, admin, reviewer, tmp_path) -> None:
    """Writes of every kind on the demo catalog."""
    fields.register_fields(cat, admin, [
        FieldInput("ml.scores.new_score", category="internal", source="derived",
                   owner="ml-team", grants=(Grant("marketing", ("email",), True),)),
        FieldInput("orders.orders.line_items", category="external.health"),  # upstream change
    ])
    lineage.add_lineages(cat, admin, [
        Edge("crm.customers.birth_date", "ml.scores.churn_risk", "age feature"),
        Edge("dwh.marts.customer_360.lifetime_value", "ml.scores.new_score"),
        Edge("crm.customers.customer_id", "dwh.marts.customer_360.customer_key", "renamed")])
    lineage.remove_lineage(cat, admin, "dwh.marts.orders_enriched.net_amount",
                           "dwh.marts.customer_360.lifetime_value")
    fields.grant_purpose(cat, admin, "payments.transactions.amount",
                         Grant("marketing", ("email",)))
    fields.revoke_purpose(cat, admin, SIZE, "personalization")
    fields.deprecate_field(cat, admin, "crm.customers.gender")
    policy.upsert_rule(cat, reviewer, "breaking-bonds", {"effect": "DENY",
                                                         "purposes": ["sharing"]})
    policy.delete_rule(cat, reviewer, "helicoptering")
    policy.upsert_rule(cat, reviewer, "no-sms", {"effect": "DENY", "channels": ["sms"],
                                                 "min_sensitivity": 2})
    auth.create_token(cat, admin, role="pipeline")
    extra = tmp_path / "extra-taxonomy.yaml"
    extra.write_text("purposes:\n  marketing.loyalty: {}\nchannels:\n  kiosk: {privacy: public}\n")
    assert setup.load_taxonomy_file(cat, extra) == 2
    fields.grant_purpose(cat, admin, SIZE, Grant("marketing.loyalty", ("kiosk",)))


def test_the_index_after_writes_equals_a_fresh_one(demo_catalog, admin, reviewer, tmp_path,
                                                   describe_index, fresh_description):
    start = demo_catalog.index.revision
    many_writes(demo_catalog, admin, reviewer, tmp_path)
    mine = describe_index(demo_catalog.index)
    assert mine["revision"] > start
    assert mine == fresh_description(url_of(demo_catalog))


def test_sync_catches_up_with_another_catalogs_writes(demo_catalog, other_catalog, admin,
                                                      reviewer, pipeline, tmp_path,
                                                      describe_index, fresh_description):
    start = other_catalog.index.revision
    assert checks.check(other_catalog, pipeline, SIZE, "personalization", "web").allowed

    many_writes(demo_catalog, admin, reviewer, tmp_path)
    assert other_catalog.index.revision == start  # not yet
    other_catalog.sync()
    assert other_catalog.index.revision == demo_catalog.index.revision > start
    caught_up = describe_index(other_catalog.index)
    assert caught_up == fresh_description(url_of(demo_catalog))
    assert not caught_up["decisions"][f"{SIZE}|personalization|web"][0]
    assert "helicoptering" not in caught_up["rules"] and "no-sms" in caught_up["rules"]
    assert "marketing.loyalty" in caught_up["taxonomy"]["purposes"]
    assert "dwh.marts.orders_enriched.net_amount" not in \
        caught_up["fields"]["dwh.marts.customer_360.lifetime_value"]["upstream"]


def test_a_write_sees_the_other_catalogs_commits_first(demo_catalog, catalog_factory, admin):
    """Validation runs on the index caught up inside the write lock, not on a stale one."""
    other = catalog_factory(url_of(demo_catalog), sync_interval=3600)
    other.reload()
    a, b = "shop.orders.a", "shop.orders.b"
    fields.register_fields(demo_catalog, admin, [
        FieldInput(n, category="historical", source="first_party", owner="shop")
        for n in (a, b)])
    lineage.add_lineages(demo_catalog, admin, [Edge(a, b)])
    assert other.index.get(a) is None  # stale, and it does not know yet
    with pytest.raises(Conflict, match=f"{b} -> {a} -> {b}"):
        lineage.add_lineages(other, admin, [Edge(b, a)])
    # A grant from the stale worker keeps the other worker's grants (no lost update).
    fields.grant_purpose(demo_catalog, admin, SIZE, Grant("analytics", ("internal",)))
    stale = catalog_factory(url_of(demo_catalog), sync_interval=3600)
    stale.reload()
    fields.grant_purpose(demo_catalog, admin, SIZE, Grant("pricing"))
    rec = fields.grant_purpose(stale, admin, SIZE, Grant("sharing", ("email",)))
    assert {g.purpose for g in rec.grants} >= {"analytics", "pricing", "sharing", "service"}
    with demo_catalog.engine.connect() as conn:
        assert repo.current_revision(conn=conn) == rec.revision


def test_every_decision_matches_the_state_at_its_revision(demo_catalog, catalog_factory,
                                                          admin, pipeline):
    """Readers in this process and in another one check while a writer flips a grant. Each
    decision must be what the catalog said at the revision it carries, and a check with
    atLeastRevision r must carry r or later."""
    other = catalog_factory(url_of(demo_catalog), sync_interval=3600)
    other.reload()
    flips = 40
    start = demo_catalog.index.revision
    state = {start: True}  # revision -> allowed after that commit
    published = [start]  # revisions whose write has returned
    seen: list[tuple[int, bool, int]] = []  # (asked at least, allowed, decision revision)
    done = threading.Event()
    errors: list[BaseException] = []

    def writer() -> None:
        try:
            for i in range(flips):
                if i % 2 == 0:
                    rec = fields.revoke_purpose(demo_catalog, admin, SIZE, "service")
                else:
                    rec = fields.grant_purpose(demo_catalog, admin, SIZE, Grant("service"))
                state[rec.revision] = i % 2 == 1
                published.append(rec.revision)
                time.sleep(0.005)  # a write takes ~1 ms: let the readers see most revisions
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            done.set()

    def reader(cat, use_at_least: bool) -> None:
        try:
            while not done.is_set():
                asked = published[-1] if use_at_least else None
                d = checks.check(cat, pipeline, SIZE, "service", "web", at_least_revision=asked)
                seen.append((asked or 0, d.allowed, d.revision))
                time.sleep(0.002)  # leave the writer some of the GIL
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer),
               threading.Thread(target=reader, args=(demo_catalog, False)),
               threading.Thread(target=reader, args=(demo_catalog, True)),
               threading.Thread(target=reader, args=(other, True))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    assert sorted(state) == list(range(start, start + flips + 1))
    assert len(seen) > flips
    for asked, allowed, revision in seen:
        assert revision >= asked
        assert allowed == state[revision], (asked, allowed, revision)
