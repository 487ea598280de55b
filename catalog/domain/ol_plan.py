"""What an OpenLineage event asks of the catalog (docs/semantics.md §11): the fields it names and
the lineage edges its columnLineage facets state. Pure: the service decides what is new."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from catalog.domain.names import is_field_name
from catalog.domain.ol_names import MappingRule, column_namer
from catalog.domain.openlineage import (
    DATASET_EVENTS,
    RUN_EVENTS,
    ColumnLineageFacet,
    Dataset,
    Event,
    InputField,
    SchemaField,
)
from catalog.errors import BadInput

MAX_FIELDS = 10_000  # columns one event may name (as registerFields takes per call)
MAX_EDGES = 100_000  # column-level edges one event may state
NO_LINEAGE = ("FAIL", "ABORT")  # these runs add nothing


@dataclass(frozen=True, slots=True)
class PlannedField:
    name: str
    source: str  # derived (an output column) or first_party (an input, a dataset event's)
    scoped: bool  # the caller's scope must cover it (outputs; a dataset event's columns)
    origin: tuple[str, str, str]  # (namespace, dataset, column) it came from
    type: str | None = None
    text: str | None = None  # the schema facet's description
    job: str | None = None

    @property
    def description(self) -> str:
        """Said only of fields that get registered (most events name known ones)."""
        namespace, dataset, column = self.origin
        about = f"{self.text.strip()} · " if self.text and self.text.strip() else ""
        about += f"found by OpenLineage: column {column} of {dataset} in {namespace}"
        about += f" ({self.type})" if self.type else ""
        return about + (f", job {self.job}" if self.job else "")

    @property
    def source_system(self) -> str | None:
        return self.origin[0] if len(self.origin[0]) <= 200 else None


def shown(origin: tuple[str, str, str]) -> str:
    namespace, dataset, column = origin
    return f"{column!r} of {dataset!r} ({namespace})"


@dataclass
class IngestPlan:
    fields: dict[str, PlannedField] = field(default_factory=dict)
    edges: dict[tuple[str, str], tuple[str, ...]] = field(default_factory=dict)  # -> transforms
    problems: list[str] = field(default_factory=list)  # refused after the scope check
    named: list[str] = field(default_factory=list)  # outputs a FAIL/ABORT names, adds nothing

    @property
    def scoped(self) -> list[str]:
        return [f.name for f in self.fields.values() if f.scoped] + self.named

    def transform(self, edge: tuple[str, str]) -> str | None:
        return ",".join(self.edges[edge]) or None

    def add_field(self, planned: PlannedField) -> bool:
        """False (and a problem noted) when another column maps to the same name."""
        before = self.fields.get(planned.name)
        if before is not None and before.origin != planned.origin:
            self.problems.append(
                f"columns {shown(before.origin)} and {shown(planned.origin)} both map to the "
                f"field name {planned.name}: rename one, or add a mapping rule "
                "(CATALOG_OPENLINEAGE_MAPPING) that keeps them apart")
            return False
        if before is None or (planned.scoped and not before.scoped):
            self.fields[planned.name] = planned  # an output wins over an input of one name
        if len(self.fields) > MAX_FIELDS:
            raise BadInput(f"the event names more than {MAX_FIELDS:,} columns: send at most "
                           f"{MAX_FIELDS:,} per event")
        return True

    def add_edge(self, upstream: str, downstream: str, transforms: tuple[str, ...]) -> None:
        if upstream == downstream:
            return
        edges, key = self.edges, (upstream, downstream)
        have = edges.get(key)
        if have is None:  # the usual: an edge stated once (transforms hold no repeats)
            edges[key] = transforms
        elif transforms:
            new = tuple(t for t in transforms if t not in have)
            if new:
                edges[key] = have + new
        if len(self.edges) > MAX_EDGES:
            raise BadInput(f"the event states more than {MAX_EDGES:,} column-level edges: "
                           "split it")


class _Planner:
    def __init__(self, event: Event, rules: tuple[MappingRule, ...]) -> None:
        self.rules = rules
        self.plan = IngestPlan()
        job = getattr(event, "job", None)
        self.job = f"{job.namespace}/{job.name}" if job else None
        # Column planners by (namespace, dataset, output, scoped): each remembers the columns
        # it planned, so a column named again (the schema facet, then column lineage) changes
        # nothing in the plan.
        self.planners: dict[tuple[str, str, bool, bool], Callable[..., str]] = {}

    def columns(self, ds_namespace: str, ds_name: str, *, output: bool,
                scoped: bool) -> Callable[..., str]:
        """column(name, type_=None, text=None) -> the field name it maps to, planned."""
        key = (ds_namespace, ds_name, output, scoped)
        column = self.planners.get(key)
        if column is None:
            column = self.planners[key] = self._column_planner(ds_namespace, ds_name,
                                                               output, scoped)
        return column

    def _column_planner(self, ds_namespace: str, ds_name: str, output: bool,
                        scoped: bool) -> Callable[..., str]:
        namer = column_namer(ds_namespace, ds_name, self.rules)
        seen: dict[str, str] = {}
        plan, source, job = self.plan, "derived" if output else "first_party", self.job

        def column(name: str, type_: str | None = None, text: str | None = None) -> str:
            field = seen.get(name)
            if field is not None:
                return field
            field = namer(name)
            origin = (ds_namespace, ds_name, name)
            if not is_field_name(field):
                plan.problems.append(
                    f"column {shown(origin)} maps to {field[:120]!r}, which is not a valid "
                    "field name (3+ segments of 1-128 characters, 512 in all): add a mapping "
                    "rule (CATALOG_OPENLINEAGE_MAPPING) for its dataset")
                return field
            if plan.add_field(PlannedField(field, source, scoped, origin, type_, text, job)):
                seen[name] = field  # a collision is reported each time it occurs
            return field

        return column

    def dataset(self, ds: Dataset, *, output: bool, scoped: bool, lineage: bool) -> None:
        facets = ds.facets
        columns: dict[str, None] = {}  # the dataset's output columns, in order
        if facets is not None and facets.schema_ is not None:
            column = self.columns(ds.namespace, ds.name, output=output, scoped=scoped)
            for path, sf in _flatten(facets.schema_.fields or ()):
                columns[column(path, sf.type, sf.description)] = None
        if lineage and facets is not None and facets.columnLineage is not None:
            self.lineage(ds, facets.columnLineage, columns)

    def lineage(self, ds: Dataset, facet: ColumnLineageFacet, columns: dict[str, None]) -> None:
        output = self.columns(ds.namespace, ds.name, output=True, scoped=True)
        add_edge = self.plan.add_edge
        for column, entry in facet.fields.items():
            down = output(column)
            columns[down] = None
            older = f"DIRECT/{entry.transformationType}" if entry.transformationType else None
            for f in entry.inputFields:
                add_edge(self.input(f), down, _transforms(f) or ((older,) if older else ()))
        for f in facet.dataset or ():
            up, transforms = self.input(f), _transforms(f)
            for down in columns:
                add_edge(up, down, transforms)

    def input(self, f: InputField) -> str:
        return self.columns(f.namespace, f.name, output=False, scoped=False)(f.field)


def _transforms(f: InputField) -> tuple[str, ...]:
    """TYPE/SUBTYPE, with /MASKED when masking; in the order given, each once."""
    out: list[str] = []
    for t in f.transformations or ():
        kind, sub = t.type, t.subtype
        text = (f"{kind}/{sub}" if sub else kind) if kind else (sub or "")
        if t.masking:
            text += "/MASKED"
        if text and text not in out:
            out.append(text)
    return tuple(out)


def _flatten(fields: Iterable[SchemaField]) -> list[tuple[str, SchemaField]]:
    """(column path, field) for every schema field, nested struct fields as parent.child."""
    out: list[tuple[str, SchemaField]] = []
    stack = [("", f) for f in reversed(list(fields))]
    while stack:
        parent, f = stack.pop()
        path = f"{parent}.{f.name}" if parent else f.name
        out.append((path, f))
        stack.extend((path, child) for child in reversed(f.fields or ()))
    return out


def plan_event(event: Event, rules: tuple[MappingRule, ...] = ()) -> IngestPlan:
    """The fields and edges an event states. FAIL and ABORT runs state nothing; JobEvents and
    DatasetEvents only fields."""
    planner = _Planner(event, rules)
    if isinstance(event, DATASET_EVENTS):
        planner.dataset(event.dataset, output=False, scoped=True, lineage=False)
        return planner.plan
    if isinstance(event, RUN_EVENTS) and event.eventType in NO_LINEAGE:
        for ds in event.outputs or ():  # the caller's scope must still cover them
            planner.dataset(ds, output=True, scoped=True, lineage=True)
        return IngestPlan(named=planner.plan.scoped)
    for ds in event.inputs or ():
        planner.dataset(ds, output=False, scoped=False, lineage=False)
    for ds in event.outputs or ():
        planner.dataset(ds, output=True, scoped=True, lineage=isinstance(event, RUN_EVENTS))
    return planner.plan
