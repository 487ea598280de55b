"""Schema migration and seed loading: what `catalog init`, `seed` and `demo` do."""

from __future__ import annotations

from pathlib import Path

import yaml
from alembic import command
from alembic.config import Config

from catalog.db import repo
from catalog.db.engine import SQLITE_IMMEDIATE
from catalog.domain.model import Edge
from catalog.domain.rules import rule_from_spec, rule_to_spec
from catalog.errors import BadInput
from catalog.services.auth import SYSTEM, Principal, require
from catalog.services.core import Catalog, load_taxonomy
from catalog.services.fields import FieldInput, normalize_grant, register_fields
from catalog.services.lineage import add_lineages

ROOT = Path(__file__).resolve().parents[2]
SEEDS = ROOT / "seeds"
KIND_SECTIONS = {"categories": "category", "purposes": "purpose", "channels": "channel",
                 "sources": "source"}


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
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
    try:
        data = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise BadInput(f"no such seed file: {path}") from None
    except yaml.YAMLError as exc:
        raise BadInput(f"{path} is not valid YAML: {str(exc).splitlines()[0]}") from None
    if not isinstance(data, dict):
        raise BadInput(f"{path}: expected a mapping at the top level")
    return data


def load_taxonomy_file(cat: Catalog, path: Path, principal: Principal = SYSTEM) -> int:
    """Add taxonomy keys the database lacks; keys it has stay as they are. Returns how many
    were added."""
    require(principal, "manage_taxonomy")
    data = _taxonomy_data(path)
    added = 0
    with cat.write(principal.actor) as txn:
        have = {(r.kind, r.key) for r in repo.load_taxonomy_rows(conn=txn.conn)}
        for kind, key, spec in data:
            if (kind, key) in have:
                continue
            repo.upsert_taxonomy_entry(
                conn=txn.conn, kind=kind, key=key, sensitivity=spec.get("sensitivity"),
                privacy=spec.get("privacy"), description=spec.get("description"),
                intensity=spec.get("intensity"))
            added += 1
        if added:
            load_taxonomy(txn.conn)  # validates the whole taxonomy before it commits
            txn.taxonomy_changed = True
            txn.log.append({"action": "load_taxonomy", "entity": "taxonomy",
                            "after": {"file": path.name, "added": added}})
    return added


def fill_intensities(cat: Catalog, path: Path, principal: Principal = SYSTEM) -> int:
    """Give the file's intensity to each key the database has without one, unless an admin
    has set that key's intensity (even back to inheriting: the change log says so). Catalogs
    made before intensities existed (CONTRACT §15) get the defaults this way. Returns how
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
            filled.append(f"{kind} {key}: {spec['intensity']}")
        if filled:
            load_taxonomy(txn.conn)  # validates the values before it commits
            txn.taxonomy_changed = True
            txn.log.append({"action": "fill_intensities", "entity": "taxonomy",
                            "after": {"file": path.name, "intensities": filled}})
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
    require(principal, "manage_rules")
    data = read_yaml(path)
    rules = [rule_from_spec(key, spec or {}, cat.index.taxonomy)
             for key, spec in (data.get("rules") or {}).items()]
    added = 0
    with cat.write(principal.actor) as txn:
        have = {r.key for r in cat.index.rules}  # caught up inside the write lock
        have |= repo.deleted_rule_keys(conn=txn.conn)
        for rule in rules:
            if rule.key in have:
                continue
            repo.upsert_rule(conn=txn.conn, rule=rule)
            txn.log.append({"action": "upsert_rule", "entity": "rule", "after":
                            {"key": rule.key, **rule_to_spec(rule)}})
            added += 1
        txn.rules_changed = bool(added)
    return added


def init(cat: Catalog, seeds: Path = SEEDS) -> dict[str, int]:
    migrate(cat)
    cat.reload()
    out = {"taxonomy": load_taxonomy_file(cat, seeds / "taxonomy.yaml"),
           "rules": load_rules_file(cat, seeds / "rules.yaml")}
    filled = fill_intensities(cat, seeds / "taxonomy.yaml")
    if filled:  # only in a catalog made before intensities existed
        out["intensities"] = filled
    return out


def _entries(path: Path, where: str, items, *keys: str) -> list[dict]:
    """items as a list of mappings that hold keys, or BadInput naming the entry to fix."""
    if not isinstance(items, list):
        raise BadInput(f"{path}: {where} must be a list")
    for i, item in enumerate(items):
        if not isinstance(item, dict) or any(k not in item for k in keys):
            raise BadInput(f"{path}: {where}[{i}] needs " + " and ".join(keys))
    return items


def load_catalog_file(cat: Catalog, path: Path, principal: Principal = SYSTEM) -> dict[str, int]:
    """Register the fields and lineage of a catalog YAML file (see seeds/demo/)."""
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
    fields = register_fields(cat, principal, inputs) if inputs else []
    deprecated = [s["name"] for s in data.get("fields") or [] if s.get("deprecated")]
    if edges:
        add_lineages(cat, principal, edges)
    from catalog.services.fields import deprecate_field
    for name in deprecated:
        deprecate_field(cat, principal, name)
    return {"fields": len(fields), "lineage": len(edges)}
