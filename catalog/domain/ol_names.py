"""From OpenLineage (namespace, dataset, column) to catalog field names (docs/semantics.md §11).

Rules are data (CATALOG_OPENLINEAGE_MAPPING): the first rule whose namespace equals the
dataset's (or that names none) and whose dataset_prefix starts the dataset name replaces that
prefix with field_prefix. Without a match the name is `<dataset>.<column>`, lower-cased and
sanitized, prefixed with the namespace's host (or scheme) while it has fewer than 3 segments."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

import yaml

from catalog.errors import BadInput

_OTHER = re.compile(r"[^A-Za-z0-9_.-]")
RULE_KEYS = {"namespace", "dataset_prefix", "field_prefix"}


@dataclass(frozen=True, slots=True)
class MappingRule:
    dataset_prefix: str
    field_prefix: str
    namespace: str | None = None  # None: any namespace

    def applies(self, namespace: str, dataset: str) -> bool:
        return (self.namespace is None or self.namespace == namespace) and \
            dataset.startswith(self.dataset_prefix)


def sanitize(text: str) -> str:
    """Every character other than ASCII letters, digits, '_', '-' and '.' becomes '_'; an empty
    segment becomes '_'."""
    out = _OTHER.sub("_", text)
    if out and ".." not in out and out[0] != "." and out[-1] != ".":
        return out  # no empty segment (the usual name)
    return ".".join(seg or "_" for seg in out.split("."))


def namespace_host(namespace: str) -> str:
    """The host of a namespace URI (postgres://db:5432 -> db), else its scheme (file:///x ->
    file), else the namespace itself."""
    try:
        parts = urlsplit(namespace)
        host = parts.hostname
    except ValueError:  # e.g. a malformed port
        parts, host = None, None
    return host or (parts.scheme if parts and parts.scheme and "://" in namespace else "") \
        or namespace


def field_name(namespace: str, dataset: str, column: str,
               rules: Iterable[MappingRule] = ()) -> str:
    return column_namer(namespace, dataset, rules)(column)


def column_namer(namespace: str, dataset: str,
                 rules: Iterable[MappingRule] = ()) -> Callable[[str], str]:
    """field_name(namespace, dataset, column, rules) as a function of the column, the
    dataset's part worked out once (an event names tens of columns of a dataset). Sanitizing
    goes character by character and segment by segment, so sanitize(f"{a}.{b}") is
    f"{sanitize(a)}.{sanitize(b)}"."""
    for rule in rules:
        if rule.applies(namespace, dataset):
            head = sanitize(f"{rule.field_prefix}{dataset[len(rule.dataset_prefix):]}")
            return lambda column: f"{head}.{sanitize(column)}"
    head = sanitize(dataset.lower())
    dots = head.count(".")

    def name(column: str) -> str:
        tail = sanitize(column.lower())
        if dots + tail.count(".") < 1:  # fewer than 3 segments: the namespace's host first
            return f"{sanitize(namespace_host(namespace).lower())}.{head}.{tail}"
        return f"{head}.{tail}"

    return name


def parse_rules(text: str | None, where: str = "CATALOG_OPENLINEAGE_MAPPING") -> tuple[
        MappingRule, ...]:
    """Rules from YAML: a list of {namespace, dataset_prefix, field_prefix}, or a string naming
    a YAML file that holds that list."""
    if not text or not text.strip():
        return ()
    try:
        data = yaml.safe_load(text)
        if isinstance(data, str):
            where = data
            with open(data, encoding="utf-8") as f:
                data = yaml.safe_load(f)
    except OSError as exc:
        raise BadInput(f"{where}: cannot read the mapping file: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise BadInput(f"{where} is not valid YAML: {str(exc).splitlines()[0]}") from None
    if data is None:
        return ()
    if not isinstance(data, list):
        raise BadInput(f"{where}: expected a YAML list of {{namespace, dataset_prefix, "
                       "field_prefix}}")
    rules = []
    for i, item in enumerate(data):
        if not isinstance(item, dict) or set(item) - RULE_KEYS or \
                not isinstance(item.get("dataset_prefix"), str) or \
                not isinstance(item.get("field_prefix"), str) or \
                not isinstance(item.get("namespace", ""), str):
            raise BadInput(f"{where}[{i}]: each rule is a mapping with dataset_prefix and "
                           "field_prefix (strings) and optionally namespace")
        rules.append(MappingRule(item["dataset_prefix"], item["field_prefix"],
                                 item.get("namespace")))
    return tuple(rules)
