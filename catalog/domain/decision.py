"""Decision values: what a check answers, with its proof."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class ReasonCode(StrEnum):
    # Declaration order is the order reasons are sorted in (docs/semantics.md §3).
    UNKNOWN_FIELD = "UNKNOWN_FIELD"
    UNKNOWN_PURPOSE = "UNKNOWN_PURPOSE"
    UNKNOWN_CHANNEL = "UNKNOWN_CHANNEL"
    FIELD_DEPRECATED = "FIELD_DEPRECATED"
    PURPOSE_NOT_GRANTED = "PURPOSE_NOT_GRANTED"
    CHANNEL_NOT_PERMITTED = "CHANNEL_NOT_PERMITTED"
    UPSTREAM_NOT_PERMITTED = "UPSTREAM_NOT_PERMITTED"
    POLICY_DENIED = "POLICY_DENIED"


CODE_ORDER = {code: i for i, code in enumerate(ReasonCode)}
CONSENT_REQUIRED = "CONSENT_REQUIRED"


@dataclass(frozen=True, slots=True)
class Reason:
    code: ReasonCode
    message: str
    rule: str | None = None
    path: tuple[str, ...] | None = None

    def sort_key(self) -> tuple:
        return (CODE_ORDER[self.code], self.rule or "", self.path or ())


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    field: str
    purpose: str
    channel: str
    reasons: tuple[Reason, ...]
    obligations: tuple[str, ...]
    effective_categories: tuple[str, ...]
    revision: int
    intensity: str | None = None  # docs/semantics.md §15; None only when the purpose is unknown


@dataclass(frozen=True, slots=True)
class Verdict:
    """A decision without the revision: what the index caches, valid until an input changes."""

    reasons: tuple[Reason, ...]
    obligations: tuple[str, ...]
    effective_categories: tuple[str, ...]
    intensity: str | None = None

    def at(self, field: str, purpose: str, channel: str, revision: int) -> Decision:
        return Decision(not self.reasons, field, purpose, channel, self.reasons,
                        self.obligations, self.effective_categories, revision, self.intensity)
