"""The ingestion service (docs/semantics.md §11): one write per event or file, edges that see the
fields the same write registered, roles and scopes, and the default taxonomy and rule that
`catalog init` adds to existing catalogs."""

from __future__ import annotations

import shutil

import pytest

from catalog.domain.model import Edge, Grant
from catalog.domain.openlineage import parse_event
from catalog.errors import Conflict, Forbidden
from catalog.services import setup
from catalog.services.fields import FieldInput, register_in
from catalog.services.ingest import ingest_events
from catalog.services.lineage import add_edges_in


def run_event(output: str, column: str, inputs: list[tuple[str, str]],
              kind: str = "COMPLETE") -> object:
    return parse_event(run_body(output, column, inputs, kind))


def run_body(output: str, column: str, inputs: list[tuple[str, str]],
             kind: str = "COMPLETE") -> dict:
    return {
        "eventType": kind, "eventTime": "2026-11-30T00:00:00Z", "run": {"runId": "r"},
        "job": {"namespace": "test", "name": output},
        "outputs": [{"namespace": "ns", "name": output, "facets": {"columnLineage": {
            "fields": {column: {"inputFields": [
                {"namespace": "ns", "name": d, "field": c,
                 "transformations": [{"type": "DIRECT", "subtype": "IDENTITY"}]}
                for d, c in inputs]}}}}}]}


def test_edges_see_fields_registered_earlier_in_the_same_write(catalog, admin):
    new = [FieldInput(n, category="unclassified", source="derived", owner="unowned")
           for n in ("a.b.c", "a.b.d")]
    with catalog.write(admin.actor) as txn:
        register_in(txn, catalog.index, new)
        added, updated = add_edges_in(txn, catalog.index, [Edge("a.b.c", "a.b.d", "x")])
    assert (len(added), updated) == (1, [])
    assert catalog.index.upstream("a.b.d") == ["a.b.c"]


def test_a_file_is_one_transaction(catalog, admin):
    before = catalog.index.revision
    result = ingest_events(catalog, admin, [
        run_event("s.t", "x", [("src.t", "a")], "START"),
        run_event("s.t", "y", [("s.t", "x")]),
        run_event("s.u", "z", [("s.t", "y")])])
    assert (result.revision, result.fields_registered, result.edges_added) == (
        before + 1, 4, 3)
    with pytest.raises(Conflict, match="cycle"):
        ingest_events(catalog, admin, [run_event("n.t", "new", [("src.t", "a")]),
                                       run_event("src.t", "a", [("s.u", "z")])])
    assert catalog.index.get("n.t.new") is None
    assert catalog.index.revision == before + 1


def test_failed_runs_and_replays_commit_nothing(catalog, admin):
    event = run_event("s.t", "x", [("src.t", "a")])
    first = ingest_events(catalog, admin, [event])
    for again in (event, run_event("s.t", "x", [("src.t", "b")], "FAIL")):
        result = ingest_events(catalog, admin, [again])
        assert (result.revision, result.fields_registered, result.edges_added) == (
            first.revision, 0, 0)


def test_a_new_transform_replaces_the_old_and_no_transform_keeps_it(catalog, admin):
    ingest_events(catalog, admin, [run_event("s.t", "x", [("src.t", "a")])])
    plain = parse_event({"eventType": "COMPLETE", "eventTime": "2026-11-30T00:00:00Z",
                         "run": {"runId": "r"}, "job": {"namespace": "j", "name": "n"},
                         "outputs": [{"namespace": "ns", "name": "s.t", "facets": {
                             "columnLineage": {"fields": {"x": {"inputFields": [
                                 {"namespace": "ns", "name": "src.t", "field": "a"}]}}}}}]})
    assert ingest_events(catalog, admin, [plain]).edges_updated == 0
    assert catalog.index.graph.edge("src.t.a", "s.t.x").transform == "DIRECT/IDENTITY"
    body = run_body("s.t", "x", [("src.t", "a")])
    body["outputs"][0]["facets"]["columnLineage"]["fields"]["x"]["inputFields"][0][
        "transformations"] = [{"type": "DIRECT", "subtype": "IDENTITY", "masking": True}]
    assert ingest_events(catalog, admin, [parse_event(body)]).edges_updated == 1
    assert catalog.index.graph.edge("src.t.a", "s.t.x").transform == "DIRECT/IDENTITY/MASKED"


def test_roles_and_scopes(catalog, reviewer, pipeline, owner_of):
    event = run_event("crm.t", "x", [("other.t", "a")])
    for who in (reviewer, pipeline, owner_of("dwh.")):
        with pytest.raises(Forbidden):
            ingest_events(catalog, who, [event])
    # An owner registers inputs outside its scope as placeholders.
    assert ingest_events(catalog, owner_of("crm."), [event]).fields_registered == 2
    assert catalog.index.get("other.t.a").owner == "unowned"


def test_init_adds_unclassified_to_existing_catalogs(bare_catalog, tmp_path):
    old = tmp_path / "seeds"
    shutil.copytree(setup.SEEDS, old)
    taxonomy = (old / "taxonomy.yaml").read_text().splitlines(keepends=True)
    (old / "taxonomy.yaml").write_text("".join(
        line for line in taxonomy if not line.startswith("  unclassified:")))
    rules = (old / "rules.yaml").read_text()
    (old / "rules.yaml").write_text(rules[:rules.index("  unclassified-data:")])
    setup.init(bare_catalog, old)  # a catalog made before ingestion existed
    assert "unclassified" not in bare_catalog.index.taxonomy.categories
    assert setup.init(bare_catalog) == {"taxonomy": 1, "rules": 1}
    assert bare_catalog.index.taxonomy.categories["unclassified"] == 4
    assert "unclassified-data" in {r.key for r in bare_catalog.index.rules}


def stored_edges(cat) -> set[tuple[str, str]]:
    from catalog.db import repo
    with cat.engine.connect() as conn:
        return {(e.upstream, e.downstream) for e in repo.load_edges(conn=conn)}


def test_edges_name_the_right_rows_after_a_write_rolled_back(catalog, other_catalog, admin):
    # A process keeps the field ids its commits used (the busy sources of a pipeline are
    # looked up once): never an id from a write that rolled back, which the database may
    # give to another field (SQLite reuses the largest rowid) while another process
    # registers the name.
    field = FieldInput("s.t.x", category="unclassified", source="derived", owner="unowned")
    with pytest.raises(RuntimeError), catalog.write(admin.actor) as txn:
        register_in(txn, catalog.index, [field])
        raise RuntimeError("refused after the insert")
    assert catalog.index.get("s.t.x") is None
    ingest_events(catalog, admin, [run_event("o.t", "y", [("s.t", "other")])])
    ingest_events(other_catalog, admin, [run_event("o.t", "z", [("s.t", "x")])])
    ingest_events(catalog, admin, [run_event("o.t", "w", [("s.t", "x"), ("s.t", "other")])])
    assert stored_edges(catalog) == {("s.t.other", "o.t.y"), ("s.t.x", "o.t.z"),
                                     ("s.t.x", "o.t.w"), ("s.t.other", "o.t.w")}
    catalog.reload()  # and the index built from the database agrees
    assert catalog.index.upstream("o.t.w") == ["s.t.other", "s.t.x"]


def index_state(cat) -> dict:
    """What the index answers from, as plain values: records (revisions included), parents
    with transforms, children, derived state, and a few decisions."""
    index = cat.index
    names = sorted(index.fields)
    return {
        "revision": index.revision,
        "fields": {n: index.get(n) for n in names},
        "parents": {n: dict(index.graph.up.get(n, {})) for n in names},
        "children": {n: sorted(index.graph.down.get(n, ())) for n in names},
        "derived": {n: index._derived(n) for n in names},
        "decisions": {(n, p): index.check(n, p, "email") for n in names
                      for p in ("marketing.direct", "analytics.aggregate")},
    }


def wide_event(output: str, columns: int, source: str, status: str, kind: str = "COMPLETE",
               masked: bool = False) -> object:
    """Columns copied from source one to one, all filtered on source's status column (a
    dataset-level input: one upstream gaining a child per output column in one write)."""
    return parse_event({
        "eventType": kind, "eventTime": "2026-11-30T00:00:00Z", "run": {"runId": "r"},
        "job": {"namespace": "test", "name": output},
        "inputs": [{"namespace": "ns", "name": source}],
        "outputs": [{"namespace": "ns", "name": output, "facets": {
            "schema": {"fields": [{"name": f"c{j}"} for j in range(columns)]},
            "columnLineage": {
                "fields": {f"c{j}": {"inputFields": [{
                    "namespace": "ns", "name": source, "field": f"c{j}", "transformations": [
                        {"type": "DIRECT", "subtype": "IDENTITY", "masking": masked}]}]}
                    for j in range(columns)},
                "dataset": [{"namespace": "ns", "name": source, "field": status,
                             "transformations": [{"type": "INDIRECT", "subtype": "FILTER"}]}]}}}]})


def test_the_index_after_ingestion_equals_one_built_from_the_database(catalog, other_catalog,
                                                                       admin):
    grant = Grant("marketing", ("email",))
    register_in_write(catalog, admin, [
        FieldInput("src.a.c0", category="tracking.contact", source="first_party",
                   owner="crm", grants=(grant,)),
        FieldInput("src.a.status", category="historical.purchases", source="first_party",
                   owner="crm", grants=(grant, Grant("analytics")))])
    events = [
        wide_event("mart.one", 6, "src.a", "status"),  # into known and new sources
        wide_event("mart.two", 4, "mart.one", "c5"),  # a chain: outputs read in turn
        wide_event("mart.one", 6, "src.a", "status"),  # a replay: nothing
        wide_event("mart.one", 6, "src.a", "status", masked=True),  # transforms change
        # status columns of a dataset registered later: new nodes placed after the outputs
        # they feed, so the order is repaired (Pearce-Kelly) in the middle of a write that
        # also gives one upstream many children
        wide_event("mart.one", 3, "late.src", "status"),
        wide_event("mart.three", 5, "mart.two", "c0", kind="RUNNING"),
    ]
    for event in events:
        ingest_events(catalog, admin, [event])
    with pytest.raises(Conflict, match="cycle"):  # refused whole: nothing of it stays
        ingest_events(catalog, admin, [wide_event("src.a", 2, "mart.three", "c1")])
    ingest_events(catalog, admin, [wide_event("mart.four", 3, "mart.three", "c4"),
                                   wide_event("mart.five", 2, "mart.four", "c0")])
    assert catalog.index.graph.is_topological()
    live = index_state(catalog)
    assert len(live["fields"]) > 30 and live["parents"]["mart.one.c0"] == {
        "src.a.c0": "DIRECT/IDENTITY/MASKED", "src.a.status": "INDIRECT/FILTER",
        "late.src.status": "INDIRECT/FILTER", "late.src.c0": "DIRECT/IDENTITY"}
    other_catalog.reload()
    assert index_state(other_catalog) == live
    catalog.reload()
    assert index_state(catalog) == live


def register_in_write(cat, principal, inputs) -> None:
    with cat.write(principal.actor) as txn:
        register_in(txn, cat.index, inputs)
