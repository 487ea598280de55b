"""`catalog export`: the whole catalog as YAML (docs/semantics.md §12), in the format `catalog
apply` reads. Everything is sorted, and nothing that changes without the catalog changing (revision,
time, tokens) is written, so two exports of the same catalog are byte-identical."""

from __future__ import annotations

import yaml

from catalog.db import repo
from catalog.domain.model import Edge, FieldRecord, Grant
from catalog.domain.rules import rule_to_spec
from catalog.services.auth import Principal, require
from catalog.services.codefile import KIND_SECTIONS
from catalog.services.core import Catalog

HEADER = ("# Purpose Catalog export: taxonomy, rules, fields with grants, lineage.\n"
          "# Make a catalog equal to it with `catalog apply FILE --prune`.\n")


def export_yaml(cat: Catalog, principal: Principal) -> str:
    require(principal, "read")
    with cat.engine.connect() as conn, conn.begin():  # one snapshot of everything
        rows = repo.load_taxonomy_rows(conn=conn)
        rules = repo.load_rules(conn=conn)
        fields = repo.load_fields(conn=conn)
        edges = list(repo.load_edges(conn=conn))
    doc: dict = {}
    for section, kind in KIND_SECTIONS.items():
        doc[section] = {r.key: _taxonomy_entry(r) for r in sorted(rows, key=lambda r: r.key)
                        if r.kind == kind}
    doc["rules"] = {r.key: rule_to_spec(r) for r in sorted(rules, key=lambda r: r.key)}
    doc["fields"] = [_field(f) for f in sorted(fields, key=lambda f: f.name)]
    doc["lineage"] = [_edge(e) for e in sorted(edges, key=lambda e: (e.downstream, e.upstream))]
    return HEADER + yaml.dump(doc, Dumper=_Dumper, sort_keys=False, default_flow_style=False,
                              allow_unicode=True, width=1_000_000)


class Flow(dict):
    """A mapping written on one line: {purpose: marketing, channels: [email]}."""


class _Dumper(yaml.SafeDumper):
    pass


def _flow_list(dumper: yaml.SafeDumper, items: list):
    flow = all(isinstance(i, str | int | bool) for i in items)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", items, flow_style=flow)


_Dumper.add_representer(list, _flow_list)
_Dumper.add_representer(Flow, lambda d, m: d.represent_mapping("tag:yaml.org,2002:map", m,
                                                                 flow_style=True))


def _taxonomy_entry(row) -> dict:
    entry = Flow()
    for attr in ("sensitivity", "privacy", "description", "intensity"):
        if getattr(row, attr) is not None:
            entry[attr] = getattr(row, attr)
    return entry


def _field(rec: FieldRecord) -> dict:
    out: dict = {"name": rec.name, "category": rec.category, "source": rec.source,
                 "owner": rec.owner}
    for attr in ("description", "source_system"):
        if getattr(rec, attr) is not None:
            out[attr] = getattr(rec, attr)
    if rec.deprecated:
        out["deprecated"] = True
    out["grants"] = [_grant(g) for g in sorted(rec.grants, key=lambda g: g.purpose)]
    return out


def _grant(g: Grant) -> dict:
    out = Flow(purpose=g.purpose)
    if g.channels is not None:
        out["channels"] = sorted(g.channels)
    if g.requires_consent:
        out["requires_consent"] = True
    if g.customer_benefit is not None:
        out["customer_benefit"] = g.customer_benefit
    return out


def _edge(e: Edge) -> dict:
    out = Flow(upstream=e.upstream, downstream=e.downstream)
    if e.transform is not None:
        out["transform"] = e.transform
    return out
