"""Policy rules as data (docs/semantics.md §2). A rule matches when every criterion it
states matches; a list criterion matches when any listed key covers a value of the field or
request."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from catalog.domain.names import check_taxonomy_key, check_text, covers
from catalog.errors import BadInput

EFFECTS = ("DENY", "REQUIRE_CONSENT")
CRITERIA = ("categories", "sources", "purposes", "channels")


@dataclass(frozen=True, slots=True)
class PolicyRule:
    key: str
    effect: str
    description: str = ""
    min_sensitivity: int | None = None
    categories: tuple[str, ...] | None = None
    sources: tuple[str, ...] | None = None
    purposes: tuple[str, ...] | None = None
    channels: tuple[str, ...] | None = None
    # docs/semantics.md §15: True matches only when the field's own governing grant for the purpose
    # states no customer benefit (no grant: none stated); False only when it states one.
    unstated_benefit: bool | None = None

    def matches(self, *, categories: Iterable[str], sources: Iterable[str], sensitivity: int,
                purpose: str, channel: str, benefit_stated: bool = False) -> bool:
        if self.min_sensitivity is not None and sensitivity < self.min_sensitivity:
            return False
        if self.unstated_benefit is not None and self.unstated_benefit == benefit_stated:
            return False
        if self.purposes is not None and not _any_covers(self.purposes, (purpose,)):
            return False
        if self.channels is not None and not _any_covers(self.channels, (channel,)):
            return False
        if self.categories is not None and not _any_covers(self.categories, categories):
            return False
        if self.sources is not None and not _any_covers(self.sources, sources):
            return False
        return True

    def explain(self) -> str:
        parts = []
        if self.min_sensitivity is not None:
            parts.append(f"sensitivity >= {self.min_sensitivity}")
        for name in CRITERIA:
            keys = getattr(self, name)
            if keys is not None:
                parts.append(f"{name[:-1] if name != 'categories' else 'category'} in "
                             + ", ".join(keys))
        if self.unstated_benefit is not None:
            parts.append("no customer benefit stated" if self.unstated_benefit
                         else "a customer benefit stated")
        return "; ".join(parts) or "always"


def _any_covers(listed: tuple[str, ...], values: Iterable[str]) -> bool:
    return any(covers(k, v) for v in values for k in listed)


def rule_from_spec(key: str, spec: Mapping[str, object], taxonomy=None) -> PolicyRule:
    """Build a rule from its YAML/GraphQL form, checking every key against the taxonomy."""
    check_taxonomy_key(key.replace("-", "_"), "rule key")
    effect = spec.get("effect")
    if effect not in EFFECTS:
        raise BadInput(f"rule {key!r}: effect must be DENY or REQUIRE_CONSENT, not {effect!r}")
    unknown = set(spec) - {"effect", "description", "min_sensitivity", "unstated_benefit",
                           *CRITERIA}
    if unknown:
        raise BadInput(f"rule {key!r}: unknown criteria {sorted(unknown)}; use min_sensitivity, "
                       + ", ".join(CRITERIA) + ", unstated_benefit")
    unstated = spec.get("unstated_benefit")
    if unstated is not None and not isinstance(unstated, bool):
        raise BadInput(f"rule {key!r}: unstated_benefit must be true or false, not {unstated!r}")
    sens = spec.get("min_sensitivity")
    if sens is not None and (not isinstance(sens, int) or isinstance(sens, bool)
                             or not 1 <= sens <= 4):
        raise BadInput(f"rule {key!r}: min_sensitivity must be 1-4, not {sens!r}")
    lists: dict[str, tuple[str, ...] | None] = {}
    for name in CRITERIA:
        value = spec.get(name)
        if value is None:
            lists[name] = None
            continue
        if isinstance(value, str) or not value:
            raise BadInput(f"rule {key!r}: {name} must be a non-empty list of keys")
        kind = {"categories": "category", "sources": "source", "purposes": "purpose",
                "channels": "channel"}[name]
        lists[name] = tuple(sorted({taxonomy.require(kind, v) if taxonomy else
                                    check_taxonomy_key(v, kind) for v in value}))
    description = str(spec.get("description") or "")
    check_text(description, f"rule {key!r}: description", multiline=True)
    return PolicyRule(key=key, effect=str(effect), description=description,
                      min_sensitivity=sens, unstated_benefit=unstated,
                      **lists)  # type: ignore[arg-type]


def rule_to_spec(rule: PolicyRule) -> dict[str, object]:
    spec: dict[str, object] = {"effect": rule.effect}
    if rule.description:
        spec["description"] = rule.description
    if rule.min_sensitivity is not None:
        spec["min_sensitivity"] = rule.min_sensitivity
    for name in CRITERIA:
        if getattr(rule, name) is not None:
            spec[name] = list(getattr(rule, name))
    if rule.unstated_benefit is not None:
        spec["unstated_benefit"] = rule.unstated_benefit
    return spec
