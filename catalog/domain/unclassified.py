"""The `unclassified` category and the `unclassified-data` rule (docs/semantics.md §11): fields
found by ingestion decide nothing until their owner classifies them. The rule is plain data in
seeds/rules.yaml; this module gives its denial a message that says which field to classify."""

from __future__ import annotations

from catalog.domain.decision import Reason, ReasonCode
from catalog.domain.names import covers

UNCLASSIFIED = "unclassified"
UNCLASSIFIED_RULE = "unclassified-data"
UNOWNED = "unowned"
SHOWN = 5  # unclassified ancestors named in one message


def is_unclassified(category: str) -> bool:
    return covers(UNCLASSIFIED, category)


def unclassified_reason(index, name: str, purpose: str, channel: str) -> Reason:
    """POLICY_DENIED by unclassified-data, naming the unclassified field(s) to classify: the
    field itself, or its nearest unclassified ancestors with the lineage path to each."""
    head = f"rule {UNCLASSIFIED_RULE} denies {purpose} in {channel} for {name}"
    own = is_unclassified(index.get(name).category)
    paths = index.graph.shortest_paths_up(
        name,
        failing=lambda a: is_unclassified(index.get(a).category),
        explore=lambda a: any(map(is_unclassified, index.effective_categories(a))))
    parts, targets = [], [name] if own else []
    if own:
        parts.append(f"{name} is unclassified")
    if paths:
        more = f"; and {len(paths) - SHOWN} more" if len(paths) > SHOWN else ""
        parts.append("it is derived from unclassified "
                     + "; ".join(f"{p[-1]} (via {' -> '.join(p)})" for p in paths[:SHOWN])
                     + more)
        targets += [p[-1] for p in paths[:SHOWN]]
    if not parts:  # the rule was edited to match other categories: say what it matched
        return Reason(ReasonCode.POLICY_DENIED, f"{head}: its effective categories "
                      f"({', '.join(index.effective_categories(name))}) match the rule",
                      rule=UNCLASSIFIED_RULE)
    return Reason(ReasonCode.POLICY_DENIED,
                  f"{head}: {'; '.join(parts)}; classify {', '.join(targets)} (their owners set "
                  f"the real category with registerField) before {name} is used for anything",
                  rule=UNCLASSIFIED_RULE)
