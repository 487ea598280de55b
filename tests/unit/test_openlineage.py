"""OpenLineage parsing, name mapping, transforms and planning (docs/semantics.md §11): pure, by
table."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from catalog.domain.ol_names import (
    MappingRule,
    field_name,
    namespace_host,
    parse_rules,
    sanitize,
)
from catalog.domain.ol_plan import MAX_FIELDS, plan_event
from catalog.domain.openlineage import parse_event
from catalog.domain.suggest import suggest
from catalog.errors import BadInput

FIXTURES = Path(__file__).parents[1] / "fixtures" / "openlineage"
RULES = (MappingRule("public.", "crm.", "postgres://crm-db:5432"),
         MappingRule("analytics.marts.", "dwh.marts."))


@pytest.mark.parametrize(("namespace", "dataset", "column", "expected"), [
    ("postgres://db:5432", "shop.public.customers", "email", "shop.public.customers.email"),
    ("postgres://db:5432", "public.Customers", "E-Mail", "public.customers.e-mail"),
    ("postgres://db:5432", "customers", "email", "db.customers.email"),  # host prefix
    ("file:///tmp/x", "orders", "id", "file.orders.id"),  # no host: the scheme
    ("spark_ns", "t", "c", "spark_ns.t.c"),  # no URI at all: the namespace
    ("s3://bucket", "/data/orders.parquet", "total amount", "_data_orders.parquet.total_amount"),
    ("postgres://db:5432", "a..b", "c", "a._.b.c"),  # an empty segment becomes _
    ("postgres://crm-db:5432", "public.customers", "Email", "crm.customers.Email"),  # rule
    ("postgres://other:5432", "public.customers", "email", "public.customers.email"),  # ns
    ("anything://x", "analytics.marts.orders", "net", "dwh.marts.orders.net"),  # any ns
])
def test_field_names(namespace, dataset, column, expected):
    assert field_name(namespace, dataset, column, RULES) == expected


def test_sanitize_keeps_dots_and_dashes():
    assert sanitize("a b.c-d.é") == "a_b.c-d._"


def test_mapping_rules_from_yaml_text_or_file(tmp_path):
    text = "- {namespace: 'postgres://crm-db:5432', dataset_prefix: public., field_prefix: crm.}"
    assert parse_rules(text) == (MappingRule("public.", "crm.", "postgres://crm-db:5432"),)
    path = tmp_path / "mapping.yaml"
    path.write_text(text)
    assert parse_rules(str(path)) == parse_rules(text)
    for bad in ("{a: 1}", "- {field_prefix: x.}", "- {dataset_prefix: a, field_prefix: b, x: 1}",
                "- [", str(tmp_path / "missing.yaml")):
        with pytest.raises(BadInput, match="CATALOG_OPENLINEAGE_MAPPING|mapping"):
            parse_rules(bad)


def event(**outputs_facets) -> dict:
    return {"eventType": "COMPLETE", "eventTime": "2026-01-01T00:00:00Z",
            "run": {"runId": "r"}, "job": {"namespace": "j", "name": "job"},
            "inputs": [], "outputs": [{"namespace": "ns", "name": "out.t",
                                       "facets": outputs_facets}]}


def lineage(fields: dict, dataset: list | None = None) -> dict:
    facet: dict = {"fields": fields}
    if dataset is not None:
        facet["dataset"] = dataset
    return facet


def inp(field, *transformations, name="src.t"):
    return {"namespace": "ns", "name": name, "field": field,
            "transformations": list(transformations)}


@pytest.mark.parametrize(("entry", "expected"), [
    ({"inputFields": [inp("a", {"type": "DIRECT", "subtype": "IDENTITY"})]}, "DIRECT/IDENTITY"),
    ({"inputFields": [inp("a", {"type": "DIRECT", "subtype": "AGGREGATION", "masking": True})]},
     "DIRECT/AGGREGATION/MASKED"),
    ({"inputFields": [inp("a", {"type": "INDIRECT", "subtype": "FILTER"},
                          {"type": "DIRECT", "subtype": "TRANSFORMATION"})]},
     "INDIRECT/FILTER,DIRECT/TRANSFORMATION"),
    ({"inputFields": [inp("a")], "transformationType": "IDENTITY"}, "DIRECT/IDENTITY"),
    ({"inputFields": [inp("a")], "transformationType": "MASKED"}, "DIRECT/MASKED"),
    ({"inputFields": [inp("a", {"type": "INDIRECT"})]}, "INDIRECT"),
    ({"inputFields": [inp("a")]}, None),
])
def test_transforms(entry, expected):
    plan = plan_event(parse_event(event(columnLineage=lineage({"x": entry}))))
    assert list(plan.edges) == [("src.t.a", "out.t.x")]
    assert plan.transform(("src.t.a", "out.t.x")) == expected


def test_dataset_level_inputs_reach_every_output_column():
    facets = {"schema": {"fields": [{"name": "x"}, {"name": "y"}]},
              "columnLineage": lineage({"x": {"inputFields": [inp("a")]}},
                                       [inp("f", {"type": "INDIRECT", "subtype": "FILTER"})])}
    plan = plan_event(parse_event(event(**facets)))
    assert {e: plan.transform(e) for e in plan.edges} == {
        ("src.t.a", "out.t.x"): None,
        ("src.t.f", "out.t.x"): "INDIRECT/FILTER",
        ("src.t.f", "out.t.y"): "INDIRECT/FILTER"}
    assert {n: f.source for n, f in plan.fields.items()} == {
        "out.t.x": "derived", "out.t.y": "derived", "src.t.a": "first_party",
        "src.t.f": "first_party"}
    assert plan.scoped == ["out.t.x", "out.t.y"]


def test_an_input_equal_to_its_output_adds_no_edge():
    facets = {"columnLineage": lineage({"x": {"inputFields": [inp("x", name="out.t")]}})}
    assert plan_event(parse_event(event(**facets))).edges == {}


def test_collisions_after_sanitizing_name_both():
    facets = {"schema": {"fields": [{"name": "Email"}, {"name": "email"}]}}
    plan = plan_event(parse_event(event(**facets)))
    assert len(plan.problems) == 1
    assert "'Email' of 'out.t'" in plan.problems[0] and "'email' of 'out.t'" in plan.problems[0]


@pytest.mark.parametrize("kind", ["FAIL", "ABORT"])
def test_failed_runs_add_nothing(kind):
    body = event(columnLineage=lineage({"x": {"inputFields": [inp("a")]}}))
    body["eventType"] = kind
    plan = plan_event(parse_event(body))
    assert plan.fields == {} and plan.edges == {}
    assert plan.scoped == ["out.t.x"]  # still named: an owner's scope must cover it


def test_job_and_dataset_events_register_columns_without_lineage():
    facets = {"schema": {"fields": [{"name": "x"}]},
              "columnLineage": lineage({"x": {"inputFields": [inp("a")]}})}
    job = {k: v for k, v in event(**facets).items() if k not in ("run", "eventType")}
    plan = plan_event(parse_event(job))
    assert list(plan.fields) == ["out.t.x"] and plan.edges == {}
    ds = {"eventTime": "2026-01-01T00:00:00Z",
          "dataset": {"namespace": "ns", "name": "d.t", "facets": facets}}
    plan = plan_event(parse_event(ds))
    assert list(plan.fields) == ["d.t.x"] and plan.edges == {}
    assert plan.scoped == ["d.t.x"]


@pytest.mark.parametrize(("body", "fragment"), [
    ([], "got a JSON list"),
    ({"producer": "x"}, "not an OpenLineage event"),
    ({k: v for k, v in event().items() if k != "eventType"}, "eventType is missing"),
    ({**event(), "eventType": "DONE"}, "eventType"),
    ({**event(), "run": {}}, "run.runId: Field required"),
    (event(columnLineage={"fields": [1, 2]}), "outputs[0].facets.columnLineage.fields"),
    (event(schema={"fields": {"a": 1}}), "outputs[0].facets.schema.fields"),
    (event(columnLineage={"fields": {"x": {"inputFields": [{"name": "t"}]}}}),
     "inputFields[0].namespace: Field required"),
])
def test_malformed_events_say_what_is_wrong(body, fragment):
    with pytest.raises(BadInput) as err:
        parse_event(body)
    assert fragment in err.value.message


def test_deeply_nested_json_is_refused():
    deep: dict = {"name": "c"}
    for _ in range(200):
        deep = {"name": "c", "fields": [deep]}
    with pytest.raises(BadInput, match="nested more than"):
        parse_event(event(schema={"fields": [deep]}))


def test_more_than_the_column_limit_is_refused():
    fields = [{"name": f"c{i}"} for i in range(MAX_FIELDS + 1)]
    with pytest.raises(BadInput, match="more than 10,000 columns"):
        plan_event(parse_event(event(schema={"fields": fields})))


def test_other_facets_and_keys_are_ignored():
    body = json.loads((FIXTURES / "spark_join_filter.json").read_text())
    plan = plan_event(parse_event(body))
    assert "sales.orders.shipping.city" in plan.fields  # nested struct fields
    assert plan.transform(("sales.customers.email", "sales.orders_enriched.customer_email")) \
        == "DIRECT/TRANSFORMATION/MASKED"
    assert plan.transform(("sales.orders.status", "sales.orders_enriched.total_amount")) \
        == "INDIRECT/FILTER"


@pytest.mark.parametrize(("column", "type_", "category"), [
    ("email", "text", "tracking.contact"),
    ("customerEmailAddress", "varchar", "tracking.contact"),
    ("phone_number", "text", "tracking.contact"),
    ("birth_date", "date", "external.demographics"),
    ("gender", "text", "external.demographics"),
    ("iban", "varchar(34)", "financial.payment"),
    ("card_number", "text", "financial.payment"),
    ("lat", "double precision", "tracking.location.precise"),
    ("lon", "double precision", "tracking.location.precise"),
    ("position", "geometry(Point,4326)", "tracking.location.precise"),
    ("client", "inet", "tracking.device"),
    ("ip_address", "text", "tracking.device"),
    ("salary", "numeric", "financial.income"),
    ("religion", "text", "social.religion"),
    ("latest_order_id", "int", "historical.purchases"),
    ("id", "integer", None),
    ("usage_count", "integer", None),
])
def test_suggested_categories(column, type_, category):
    hint = suggest(column, type_)
    assert (hint.category if hint else None) == category


def reference_field_name(namespace: str, dataset: str, column: str, rules=()) -> str:
    """field_name as first written: the whole name sanitized at once."""
    for rule in rules:
        if rule.applies(namespace, dataset):
            rest = dataset[len(rule.dataset_prefix):]
            return sanitize(f"{rule.field_prefix}{rest}.{column}")
    name = sanitize(f"{dataset}.{column}".lower())
    if name.count(".") < 2:
        name = f"{sanitize(namespace_host(namespace).lower())}.{name}"
    return name


NAME_TEXT = st.text(alphabet=st.sampled_from("aZ9_-. é/ΣΑİK"), max_size=12)


@settings(max_examples=500, deadline=None)
@given(st.sampled_from(["postgres://crm-db:5432", "spark_ns", "file:///x", "s3://b"]),
       st.one_of(NAME_TEXT, st.sampled_from(["public.", "analytics.marts."]).flatmap(
           lambda p: NAME_TEXT.map(lambda t: p + t))), NAME_TEXT)
def test_names_are_made_per_dataset_as_whole_names_were(namespace, dataset, column):
    # The planner works out a dataset's part of the names once (column_namer).
    for rules in ((), RULES):
        assert field_name(namespace, dataset, column, rules) == \
            reference_field_name(namespace, dataset, column, rules)


# -- the fast way in (ol_structs): the same models, the same plans --------------------------
def _shape(annotation) -> str:
    """An annotation's text with the classes' modules left out."""
    text = str(annotation).replace("typing.", "")
    for module in ("catalog.domain.openlineage.", "catalog.domain.ol_structs."):
        text = text.replace(module, "")
    return text


def test_the_structs_mirror_the_pydantic_models():
    from typing import get_type_hints

    import msgspec

    from catalog.domain import ol_structs, openlineage

    models = {m.__name__: m for m in vars(openlineage).values() if isinstance(m, type)
              and issubclass(m, openlineage._Model) and m is not openlineage._Model}
    assert set(models) == {n for n, s in vars(ol_structs).items() if isinstance(s, type)
                           and issubclass(s, ol_structs._Struct) and s is not
                           ol_structs._Struct}
    for name, model in models.items():
        struct = getattr(ol_structs, name)
        hints = get_type_hints(struct)
        theirs = {f.encode_name: (f.name, f.required, f.default_factory()
                                  if f.default_factory is not msgspec.NODEFAULT else f.default)
                  for f in msgspec.structs.fields(struct)}
        ours = {(info.alias or key): (key, info.is_required(),
                                      msgspec.NODEFAULT if info.is_required() else info.default)
                for key, info in model.model_fields.items()}
        assert theirs == ours, name
        for key, info in model.model_fields.items():
            assert _shape(hints[key]) == _shape(info.annotation), (name, key)


def _slow(data: dict):
    """The event as the pydantic models make it (what every event was before ol_structs)."""
    from catalog.domain import openlineage

    model = (openlineage.DatasetEvent if "dataset" in data else openlineage.RunEvent
             if "run" in data or "eventType" in data else openlineage.JobEvent)
    return model.model_validate(data)


def _bodies() -> list[dict]:
    bodies = [json.loads((FIXTURES / "spark_join_filter.json").read_text()),
              json.loads((FIXTURES / "audience_filtered_on_pregnancy.json").read_text())]
    bodies += [json.loads(line) for line in
               (FIXTURES / "dbt_model.jsonl").read_text().splitlines() if line.strip()]
    lineage_facet = lineage({
        "x": {"inputFields": [inp("a"), {**inp("b"), "transformations": [
            {"type": "DIRECT", "subtype": "AGGREGATION", "masking": True}]}]},
        "y": {"inputFields": [{"namespace": "ns", "name": "in.t", "field": "a"}],
              "transformationType": "IDENTITY"}})
    lineage_facet["dataset"] = [{**inp("f"), "transformations": [{"type": "INDIRECT"}]}]
    nested = {"fields": [{"name": "s", "fields": [{"name": "t", "type": "int",
                                                     "description": "d"}]}]}
    bodies += [event(schema=nested, columnLineage=lineage_facet),
               {**event(columnLineage=lineage_facet), "eventType": "FAIL"},
               {k: v for k, v in event(schema=nested).items() if k not in ("run", "eventType")},
               {"eventTime": "t", "dataset": {"namespace": "ns", "name": "d.t",
                                              "facets": {"schema": nested}}},
               # lax values pydantic accepts and strict conversion refuses: the slow way
               event(columnLineage=lineage({"x": {"inputFields": [{**inp("a"), "transformations": [
                   {"type": "DIRECT", "masking": "true"}]}]}})),
               {**event(), "extra": {"deep": [1, {"x": None}]}, "schema_": 1}]
    return bodies


def test_fast_and_slow_parsing_plan_the_same():
    from catalog.domain import ol_structs

    fast = 0
    for body in _bodies():
        parsed = parse_event(body)
        fast += type(parsed) in ol_structs.STRUCTS.values()
        assert plan_event(parsed) == plan_event(_slow(body))
        assert plan_event(parsed, RULES) == plan_event(_slow(body), RULES)
    assert fast == len(_bodies()) - 1  # all but the lax masking
