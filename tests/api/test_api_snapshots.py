"""Readers never wait for writers and never see half a write (issue 8, item 4): while a
writer thread commits big lineage batches (and has batches with a cycle refused), every
GraphQL response reads one snapshot: its check, its fields and its lineage all show the
revision the response names, and no edge of a refused batch ever shows."""

from __future__ import annotations

import asyncio
import threading

import pytest

from catalog.domain.model import Edge, Grant
from catalog.errors import Conflict
from catalog.services import fields, lineage
from catalog.services.auth import SYSTEM
from catalog.services.fields import FieldInput

N, ROUNDS, FIRST = 400, 4, 40
NAMES = [f"dwh.deep.t.f{i:04d}" for i in range(N)]
X = NAMES[300]
FORBIDDEN = (NAMES[10], NAMES[20])  # only ever in refused batches

QUERY = """query($x: String!, $a: String!, $b: String!) {
  revision
  x: field(name: $x) { revision upstream }
  a: field(name: $a) { downstream }
  b: field(name: $b) { upstream }
  check(field: $x, purpose: "service", channel: "email") { revision }
  lineage(field: $x, depth: 2) { edges { upstream downstream } }
}"""


def batch(k: int) -> list[Edge]:
    """Round k gives every field from FIRST on one more parent: f[i-1-k] -> f[i] (deep)."""
    return [Edge(NAMES[i - 1 - k], NAMES[i]) for i in range(FIRST, N)]


def writer(cat, log: list[tuple[int, int]], errors: list) -> None:
    try:
        for k in range(ROUNDS):
            lineage.add_lineages(cat, SYSTEM, batch(k))
            log.append((cat.index.revision, k))
            bad = [Edge(*FORBIDDEN), *batch(k + ROUNDS)[:50], Edge(NAMES[-1], NAMES[FIRST])]
            try:
                lineage.add_lineages(cat, SYSTEM, bad)
            except Conflict:
                pass
            else:  # pragma: no cover
                errors.append("a batch with a cycle was accepted")
    except Exception as err:  # pragma: no cover
        errors.append(repr(err))


@pytest.mark.anyio
async def test_every_response_reads_one_snapshot(api, demo_catalog):
    cat = demo_catalog
    fields.register_fields(cat, SYSTEM, [
        FieldInput(n, category="historical.purchases", source="first_party", owner="dwh",
                   grants=(Grant("service"),)) for n in NAMES])
    start = cat.index.revision
    log: list[tuple[int, int]] = []
    errors: list = []
    thread = threading.Thread(target=writer, args=(cat, log, errors))
    thread.start()
    seen = []
    variables = {"x": X, "a": FORBIDDEN[0], "b": FORBIDDEN[1]}
    while thread.is_alive() or not seen:
        seen.append(await api.data(QUERY, variables))
        await asyncio.sleep(0)
    thread.join()
    seen.append(await api.data(QUERY, variables))
    assert not errors, errors
    assert len(log) == ROUNDS

    revisions = set()
    for data in seen:
        rev = data["revision"]
        revisions.add(rev)
        assert data["check"]["revision"] == rev
        assert start <= data["x"]["revision"] <= rev
        # Exactly the parents committed at or before the response's revision: nothing newer,
        # nothing missing, whatever the writer did while the response was being made.
        want = sorted(NAMES[300 - 1 - k] for r, k in log if r <= rev)
        assert data["x"]["upstream"] == want, (rev, log)
        assert sorted(e["upstream"] for e in data["lineage"]["edges"]
                      if e["downstream"] == X) == want
        assert FORBIDDEN[1] not in data["a"]["downstream"]
        assert FORBIDDEN[0] not in data["b"]["upstream"]
    assert len(revisions) >= 2  # the reads did overlap the writes
