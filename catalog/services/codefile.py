"""Catalog-as-code files (docs/semantics.md §12): read YAML into a `Spec`, every entry with the file
and line it came from, so that an error names what to fix. Nothing here touches the database.

A file holds any of the sections `categories`, `purposes`, `channels`, `sources` (taxonomy),
`rules`, `fields` and `lineage`: the formats `catalog seed` reads and `catalog export` writes.
A file with an unknown key, a bad name or a duplicate is refused as a whole.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from catalog.domain.model import Grant
from catalog.domain.names import check_field_name, check_taxonomy_key, check_text
from catalog.errors import BadInput, CatalogError
from catalog.services.fields import normalize_grant

KIND_SECTIONS = {"categories": "category", "purposes": "purpose", "channels": "channel",
                 "sources": "source"}
SECTIONS = (*KIND_SECTIONS, "rules", "fields", "lineage")
FIELD_KEYS = ("name", "category", "source", "owner", "description", "source_system",
              "deprecated", "grants")
GRANT_KEYS = ("purpose", "channels", "requires_consent", "customer_benefit")
EDGE_KEYS = ("upstream", "downstream", "transform")
TAXONOMY_KEYS = {"category": ("sensitivity", "description", "intensity"),
                 "purpose": ("description", "intensity"),
                 "channel": ("privacy", "description"), "source": ("description",)}


class Located(dict):
    """A YAML mapping that remembers the line it starts on."""

    line = 0


class _Loader(yaml.SafeLoader):
    pass


def _mapping(loader: _Loader, node: yaml.MappingNode):
    data = Located()
    data.line = node.start_mark.line + 1
    yield data
    loader.flatten_mapping(node)
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, str | int | float | bool) and key is not None:
            raise BadInput(f"{key_node.start_mark.line + 1}: a key must be plain text")
        if key in data:
            raise BadInput(f"{key_node.start_mark.line + 1}: {key!r} appears twice in one "
                           f"mapping (also on line {_key_line(node, key)}): give it once")
        data[key] = loader.construct_object(value_node, deep=True)


def _key_line(node: yaml.MappingNode, key) -> int:
    return next(k.start_mark.line + 1 for k, _ in node.value if k.value == str(key))


_Loader.add_constructor("tag:yaml.org,2002:map", _mapping)


def read(path: Path) -> Located:
    """A file's top-level mapping; BadInput naming the file (and line) when it is not one."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise BadInput(f"no such file: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInput(f"cannot read {path}: {exc}") from None
    try:
        data = yaml.load(text, Loader=_Loader)  # noqa: S506 (a SafeLoader subclass)
    except CatalogError as exc:  # the loader's, which starts with the line
        raise BadInput(f"{path}:{exc.message}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise BadInput(f"{where}: not valid YAML: {getattr(exc, 'problem', None) or exc}") \
            from None
    if not isinstance(data, Located):
        raise BadInput(f"{path}: expected a mapping at the top level, with sections such as "
                       "fields, lineage, rules, categories")
    return data


@dataclass
class FieldSpec:
    name: str
    stated: dict  # the attributes the file states: category, ..., deprecated, grants
    origin: str


@dataclass
class Spec:
    """What the files say, each entry with its origin `file:line`."""

    taxonomy: dict[tuple[str, str], tuple[dict, str]] = field(default_factory=dict)
    kinds: set[str] = field(default_factory=set)  # taxonomy kinds the files hold
    rules: dict[str, tuple[dict, str]] = field(default_factory=dict)
    fields: dict[str, FieldSpec] = field(default_factory=dict)
    edges: dict[tuple[str, str], tuple[dict, str]] = field(default_factory=dict)
    sections: set[str] = field(default_factory=set)  # the sections the files hold
    per_file: dict[Path, set[str]] = field(default_factory=dict)


def read_files(paths: list[Path]) -> Spec:
    spec = Spec()
    for path in paths:
        data = read(path)
        unknown = [k for k in data if k not in SECTIONS]
        if unknown:
            raise BadInput(f"{path}:{data.line}: unknown section {unknown[0]!r}: a catalog "
                           f"file holds {', '.join(SECTIONS)}")
        spec.per_file[path] = set(data)
        spec.sections.update(data)
        for section, kind in KIND_SECTIONS.items():
            if section in data:
                spec.kinds.add(kind)
                _taxonomy(spec, path, data, section, kind)
        if "rules" in data:
            _rules(spec, path, data)
        for i, item in enumerate(_list(path, data, "fields")):
            _field(spec, path, i, item, data.line)
        for i, item in enumerate(_list(path, data, "lineage")):
            _edge(spec, path, i, item, data.line)
    return spec


def _where(path: Path, node, fallback: int) -> str:
    return f"{path}:{getattr(node, 'line', 0) or fallback}"


def _list(path: Path, data: Located, section: str) -> list:
    items = data.get(section)
    if items is None:
        return []
    if not isinstance(items, list):
        raise BadInput(f"{path}:{data.line}: {section} must be a list of entries")
    return items


def _mapping_of(path: Path, data: Located, section: str) -> Located:
    items = data.get(section)
    if items is None:
        return Located()
    if not isinstance(items, dict):
        raise BadInput(f"{path}:{data.line}: {section} must be a mapping from key to entry")
    return items  # type: ignore[return-value]


def _check_keys(where: str, what: str, item, allowed, required=()) -> None:
    if not isinstance(item, dict) or any(k not in item for k in required):
        raise BadInput(f"{where}: {what} needs " + " and ".join(required))
    unknown = [k for k in item if k not in allowed]
    if unknown:
        raise BadInput(f"{where}: {what} has an unknown key {unknown[0]!r}; use "
                       + ", ".join(allowed))


def _named(where: str, check, *args) -> None:
    try:
        check(*args) if check is not check_text else check(*args[:2], multiline=args[2])
    except CatalogError as exc:
        raise BadInput(f"{where}: {exc.message}") from None


def _taxonomy(spec: Spec, path: Path, data: Located, section: str, kind: str) -> None:
    entries = _mapping_of(path, data, section)
    for key, entry in entries.items():
        where = _where(path, entry, entries.line or data.line)
        entry = Located() if entry is None else entry
        _check_keys(where, f"{kind} {key}", entry, TAXONOMY_KEYS[kind])
        _named(where, check_taxonomy_key, key, f"{kind} key")
        _named(where, check_text, entry.get("description"), f"{kind} {key}: description", True)
        if (kind, key) in spec.taxonomy:
            raise BadInput(f"{where}: {kind} {key} is given twice (also at "
                           f"{spec.taxonomy[(kind, key)][1]}): give it once")
        spec.taxonomy[(kind, key)] = (dict(entry), where)


def _rules(spec: Spec, path: Path, data: Located) -> None:
    entries = _mapping_of(path, data, "rules")
    for key, entry in entries.items():
        where = _where(path, entry, entries.line or data.line)
        if not isinstance(entry, dict):
            raise BadInput(f"{where}: rule {key} must be a mapping with effect and criteria")
        if not isinstance(key, str):
            raise BadInput(f"{where}: rule key {key!r} must be text")
        if key in spec.rules:
            raise BadInput(f"{where}: rule {key} is given twice (also at "
                           f"{spec.rules[key][1]}): give it once")
        spec.rules[key] = (dict(entry), where)


def _field(spec: Spec, path: Path, i: int, item, line: int) -> None:
    where = _where(path, item, line)
    _check_keys(where, f"fields[{i}]", item, FIELD_KEYS, ("name",))
    name = item["name"]
    _named(where, check_field_name, name)
    if name in spec.fields:
        raise BadInput(f"{where}: field {name} is given twice (also at "
                       f"{spec.fields[name].origin}): give it once")
    stated = {}
    for key in ("category", "source", "owner", "description", "source_system"):
        if item.get(key) is not None:
            if not isinstance(item[key], str):
                raise BadInput(f"{where}: field {name}: {key} must be text")
            stated[key] = item[key]
    if item.get("deprecated") is not None:
        if not isinstance(item["deprecated"], bool):
            raise BadInput(f"{where}: field {name}: deprecated must be true or false")
        stated["deprecated"] = item["deprecated"]
    if item.get("grants") is not None:
        stated["grants"] = _grants(path, item.line, f"fields[{i}]", name, item["grants"])
    spec.fields[name] = FieldSpec(name, stated, where)


def _grants(path: Path, line: int, what: str, name: str, grants) -> tuple[Grant, ...]:
    if not isinstance(grants, list):
        raise BadInput(f"{path}:{line}: field {name}: grants must be a list")
    out: dict[str, Grant] = {}
    for j, g in enumerate(grants):
        here = _where(path, g, line)
        _check_keys(here, f"{what}.grants[{j}]", g, GRANT_KEYS, ("purpose",))
        consent = g.get("requires_consent")
        if consent is not None and not isinstance(consent, bool):
            raise BadInput(f"{here}: field {name}: requires_consent must be true or false")
        try:
            grant = normalize_grant(g["purpose"], g.get("channels"), consent,
                                    g.get("customer_benefit"))
        except CatalogError as exc:
            raise BadInput(f"{here}: field {name}: {exc.message}") from None
        if grant.purpose in out:
            raise BadInput(f"{here}: field {name}: purpose {grant.purpose} is granted twice; "
                           "give one grant per purpose")
        out[grant.purpose] = grant
    return tuple(sorted(out.values(), key=lambda g: g.purpose))


def _edge(spec: Spec, path: Path, i: int, item, line: int) -> None:
    where = _where(path, item, line)
    _check_keys(where, f"lineage[{i}]", item, EDGE_KEYS, ("upstream", "downstream"))
    up, down = item["upstream"], item["downstream"]
    _named(where, check_field_name, up)
    _named(where, check_field_name, down)
    if up == down:
        raise BadInput(f"{where}: lineage {up} -> {down} is a self-loop: a field cannot be "
                       "derived from itself")
    transform = item.get("transform")
    _named(where, check_text, transform, f"lineage {up} -> {down}: transform", True)
    if (up, down) in spec.edges:
        raise BadInput(f"{where}: lineage {up} -> {down} is given twice (also at "
                       f"{spec.edges[(up, down)][1]}): give it once")
    stated = {"transform": transform} if "transform" in item else {}
    spec.edges[(up, down)] = (stated, where)
