"""Schema migration and seed loading: what `catalog init`, `seed` and `demo` do."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config

from catalog import resources
from catalog.db import repo
from catalog.db.engine import SQLITE_IMMEDIATE
from catalog.domain.model import Edge
from catalog.errors import BadInput
from catalog.services import codefile
from catalog.services.apply import apply_files
from catalog.services.auth import SYSTEM, Principal, require
from catalog.services.codefile import KIND_SECTIONS
from catalog.services.core import Catalog, load_taxonomy
from catalog.services.fields import FieldInput, normalize_grant

SEEDS = resources.seeds_dir()


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(resources.migrations_dir()))
    return cfg


def migrate(cat: Catalog, revision: str = "head") -> None:
    """Upgrade the schema (alembic) and make sure the revision row exists."""
    cfg = alembic_config()
    # Several `catalog init` at once on a new database must not all create the tables.
    with cat.engine.connect() as conn:
        conn.execution_options(**{SQLITE_IMMEDIATE: True})
        with conn.begin():
            repo.lock_migrations(conn=conn)
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)
            repo.ensure_state(conn=conn)


def read_yaml(path: Path) -> dict:
    return codefile.read(path)


def added_from(outcome, path: Path | None = None) -> dict[str, int]:
    """How many taxonomy keys and rules a seed added (from one of its files, if given)."""
    spec, plan = outcome.spec, outcome.plan

    def ours(origin: str) -> bool:
        return path is None or origin.rpartition(":")[0] == str(path)

    return {"taxonomy": sum(1 for b, a in plan.taxonomy if b is None
                            and ours(spec.taxonomy[(a["kind"], a["key"])][1])),
            "rules": sum(1 for b, r in plan.rules if b is None and ours(spec.rules[r.key][1]))}


def load_taxonomy_file(cat: Catalog, path: Path, principal: Principal = SYSTEM) -> int:
    """Add taxonomy keys the database lacks; keys it has stay as they are. Returns how many
    were added."""
    unknown = set(read_yaml(path)) - set(KIND_SECTIONS)
    if unknown:
        raise BadInput(f"{path}: unknown sections {sorted(unknown)}; use "
                       + ", ".join(KIND_SECTIONS))
    return added_from(apply_files(cat, principal, [path], seed=True))["taxonomy"]


def fill_intensities(cat: Catalog, path: Path, principal: Principal = SYSTEM) -> int:
    """Give the file's intensity to each key the database has without one, unless an admin
    has set that key's intensity (even back to inheriting: the change log says so). Catalogs
    made before intensities existed (docs/semantics.md §15) get the defaults this way. Returns how
    many keys were given one."""
    require(principal, "manage_taxonomy")
    data = _taxonomy_data(path)
    filled = []
    with cat.write(principal.actor) as txn:
        have = {(r.kind, r.key): r for r in repo.load_taxonomy_rows(conn=txn.conn)}
        edited = repo.taxonomy_intensity_edits(conn=txn.conn)
        for kind, key, spec in data:
            row = have.get((kind, key))
            if row is None or row.intensity is not None or spec.get("intensity") is None \
                    or (kind, key) in edited:
                continue
            repo.set_taxonomy_intensity(conn=txn.conn, kind=kind, key=key,
                                        intensity=spec["intensity"])
            filled.append({"kind": kind, "key": key, "intensity": spec["intensity"]})
        if filled:
            load_taxonomy(txn.conn)  # validates the values before it commits
            txn.taxonomy_changed = True
            # "keys" as a baseline holds them, so that as-of replay (timeline) sees them.
            txn.log.append({"action": "fill_intensities", "entity": "taxonomy",
                            "after": {"file": path.name, "keys": filled}})
    return len(filled)


def _taxonomy_data(path: Path) -> list[tuple[str, str, dict]]:
    data = read_yaml(path)
    unknown = set(data) - set(KIND_SECTIONS)
    if unknown:
        raise BadInput(f"{path}: unknown sections {sorted(unknown)}; use "
                       + ", ".join(KIND_SECTIONS))
    return [(kind, key, spec or {}) for section, kind in KIND_SECTIONS.items()
            for key, spec in (data.get(section) or {}).items()]


def load_rules_file(cat: Catalog, path: Path, principal: Principal = SYSTEM) -> int:
    """Add the rules the database lacks; rules it has (perhaps edited by a reviewer) stay, and
    rules a reviewer deleted stay deleted."""
    return added_from(apply_files(cat, principal, [path], seed=True))["rules"]


def init(cat: Catalog, seeds: Path = SEEDS) -> dict[str, int]:
    """Migrate, then add the default taxonomy and rules the catalog lacks (one revision)."""
    if seeds == SEEDS:
        resources.require("seeds")
    migrate(cat)
    cat.reload()
    files = [seeds / "taxonomy.yaml", seeds / "rules.yaml"]
    out = added_from(apply_files(cat, SYSTEM, files, seed=True))
    filled = fill_intensities(cat, seeds / "taxonomy.yaml")
    if filled:  # only in a catalog made before intensities existed
        out["intensities"] = filled
    return out


def load_catalog_file(cat: Catalog, path: Path, principal: Principal = SYSTEM) -> dict[str, int]:
    """Register the fields and lineage of a catalog YAML file (see seeds/demo/), in one
    transaction: a bad edge leaves no field registered."""
    outcome = apply_files(cat, principal, [path], seed=True)
    return {"fields": len(outcome.spec.fields), "lineage": len(outcome.spec.edges)}


def _entries(path: Path, where: str, items, *keys: str) -> list[dict]:
    """items as a list of mappings that hold keys, or BadInput naming the entry to fix."""
    if not isinstance(items, list):
        raise BadInput(f"{path}: {where} must be a list")
    for i, item in enumerate(items):
        if not isinstance(item, dict) or any(k not in item for k in keys):
            raise BadInput(f"{path}: {where}[{i}] needs " + " and ".join(keys))
    return items


@dataclass(frozen=True)
class CatalogFile:
    """What a catalog YAML file (see seeds/demo/) asks for."""

    fields: list[FieldInput]
    edges: list[Edge]
    deprecated: list[str]


def read_catalog_file(path: Path) -> CatalogFile:
    data = read_yaml(path)
    inputs = []
    for i, spec in enumerate(data.get("fields") or []):
        if not isinstance(spec, dict) or "name" not in spec:
            raise BadInput(f"{path}: fields[{i}] needs at least a name")
        grants = spec.get("grants")
        inputs.append(FieldInput(
            name=spec["name"], category=spec.get("category"), source=spec.get("source"),
            owner=spec.get("owner"), description=spec.get("description"),
            source_system=spec.get("source_system"),
            grants=None if grants is None else tuple(
                normalize_grant(g["purpose"], g.get("channels"), g.get("requires_consent"),
                                g.get("customer_benefit"))
                for g in _entries(path, f"fields[{i}].grants", grants, "purpose"))))
    edges = [Edge(e["upstream"], e["downstream"], e.get("transform"))
             for e in _entries(path, "lineage", data.get("lineage") or [],
                               "upstream", "downstream")]
    deprecated = [s["name"] for s in data.get("fields") or [] if s.get("deprecated")]
    return CatalogFile(inputs, edges, deprecated)
