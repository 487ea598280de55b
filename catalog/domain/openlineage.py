"""OpenLineage events (spec 2-0-x) as typed models: parse first, map later.

Only what the catalog reads is modelled (run, job, datasets with their `schema` and
`columnLineage` facets); every other key and facet is ignored, as the spec lets clients add
their own. A body that is not an event fails with BadInput naming the place to fix."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic import Field as Attr

from catalog.domain import ol_structs
from catalog.domain.ol_structs import EVENT_TYPES
from catalog.errors import BadInput

MAX_DEPTH = 64  # JSON nesting; real events stay far below (nested struct columns included)
SHOWN_ERRORS = 3


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Transformation(_Model):
    type: str
    subtype: str | None = None
    masking: bool | None = None


class InputField(_Model):
    namespace: str
    name: str
    field: str
    transformations: list[Transformation] | None = None


class ColumnLineageEntry(_Model):
    inputFields: list[InputField]  # noqa: N815 (the spec's spelling)
    transformationType: str | None = None  # noqa: N815 (the older form: IDENTITY, MASKED)


class ColumnLineageFacet(_Model):
    fields: dict[str, ColumnLineageEntry] = {}
    dataset: list[InputField] | None = None  # inputs that affect every output column


class SchemaField(_Model):
    name: str
    type: str | None = None
    description: str | None = None
    fields: list[SchemaField] | None = None  # nested struct fields


class SchemaFacet(_Model):
    fields: list[SchemaField] | None = None


class DatasetFacets(_Model):
    schema_: SchemaFacet | None = Attr(default=None, alias="schema")
    columnLineage: ColumnLineageFacet | None = None  # noqa: N815


class Dataset(_Model):
    namespace: str
    name: str
    facets: DatasetFacets | None = None


class Job(_Model):
    namespace: str
    name: str


class Run(_Model):
    runId: str  # noqa: N815


class RunEvent(_Model):
    eventType: Literal[EVENT_TYPES]  # noqa: N815  # type: ignore[valid-type]
    eventTime: str  # noqa: N815
    run: Run
    job: Job
    inputs: list[Dataset] | None = None
    outputs: list[Dataset] | None = None


class JobEvent(_Model):
    eventTime: str  # noqa: N815
    job: Job
    inputs: list[Dataset] | None = None
    outputs: list[Dataset] | None = None


class DatasetEvent(_Model):
    eventTime: str  # noqa: N815
    dataset: Dataset


# An event the planner reads: these models', or their ol_structs twins (the usual case).
Event = RunEvent | JobEvent | DatasetEvent | ol_structs.RunEvent | ol_structs.JobEvent | \
    ol_structs.DatasetEvent
RUN_EVENTS = (RunEvent, ol_structs.RunEvent)
DATASET_EVENTS = (DatasetEvent, ol_structs.DatasetEvent)
NOT_AN_EVENT = ("not an OpenLineage event: a RunEvent needs eventType, eventTime, run and job; "
                "a JobEvent eventTime and job; a DatasetEvent eventTime and dataset")


def parse_event(data: object) -> Event:
    """A decoded JSON body as an event, or BadInput saying what is wrong. An event that is
    right already comes as the ol_structs twin of its model (cheaper to make)."""
    if not isinstance(data, dict):
        raise BadInput(f"{NOT_AN_EVENT} (got a JSON {type(data).__name__}, not an object)")
    if "dataset" in data:
        model: type[_Model] = DatasetEvent
    elif "run" in data or "eventType" in data:
        model = RunEvent
        if "eventType" not in data:
            raise BadInput("eventType is missing: a RunEvent says which transition it reports, "
                           "one of " + ", ".join(EVENT_TYPES))
    elif "job" in data:
        model = JobEvent
    else:
        raise BadInput(NOT_AN_EVENT)
    check_depth(data)
    fast = ol_structs.convert(data, model.__name__)
    if fast is not None:
        return fast
    try:
        return model.model_validate(data)  # type: ignore[return-value]
    except ValidationError as exc:
        raise BadInput(f"not a valid OpenLineage {model.__name__}: "
                       + "; ".join(_problem(e) for e in exc.errors()[:SHOWN_ERRORS])
                       + (f"; and {exc.error_count() - SHOWN_ERRORS} more problems"
                          if exc.error_count() > SHOWN_ERRORS else "")) from None


def _problem(error: dict) -> str:
    where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error["loc"])
    return f"{where.lstrip('.') or 'the event'}: {error['msg']}"


def check_depth(data: object, limit: int = MAX_DEPTH) -> None:
    """Refuse JSON nested deeper than limit, without recursion of our own: level by level,
    the containers only."""
    level = [data] if type(data) is dict or type(data) is list else []
    depth = 1
    while level:
        if depth > limit:
            raise BadInput(f"the event is nested more than {limit} levels deep: OpenLineage "
                           "events (nested struct columns included) stay far below that")
        deeper: list = []
        keep = deeper.append
        for value in level:
            for v in value.values() if type(value) is dict else value:
                kind = type(v)  # orjson makes plain dicts and lists
                if kind is dict or kind is list:
                    keep(v)
        level = deeper
        depth += 1
