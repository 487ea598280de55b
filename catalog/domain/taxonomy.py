"""The taxonomy: categories (with sensitivity), purposes, channels (with privacy), sources.

Keys are hierarchical (docs/semantics.md §1): a key covers every key below it. A
sub-category inherits its parent's sensitivity unless it states its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from catalog.domain.intensity import Spectrum, check_intensity
from catalog.domain.names import check_taxonomy_key, key_chain
from catalog.errors import BadInput

PRIVACY_LEVELS = ("private", "shared", "public")
KINDS = ("category", "purpose", "channel", "source")


@dataclass(frozen=True)
class Taxonomy:
    categories: Mapping[str, int]  # key -> resolved sensitivity 1..4
    purposes: frozenset[str]
    channels: Mapping[str, str]  # key -> privacy level
    sources: frozenset[str]
    descriptions: Mapping[tuple[str, str], str] = field(default_factory=dict, compare=False)
    # Stated intensities (semantics §15): ("purpose", key) -> intensity, ("category", key) ->
    # floor; unstated keys inherit. `spectrum` holds them resolved.
    intensities: Mapping[tuple[str, str], str] = field(default_factory=dict)
    spectrum: Spectrum | None = field(default=None, compare=False, repr=False)

    @classmethod
    def build(
        cls,
        *,
        categories: Mapping[str, int | None],
        purposes: list[str] | Mapping[str, object],
        channels: Mapping[str, str],
        sources: list[str] | Mapping[str, object],
        descriptions: Mapping[tuple[str, str], str] | None = None,
        intensities: Mapping[tuple[str, str], str | None] | None = None,
    ) -> Taxonomy:
        """Validate a taxonomy and resolve inherited sensitivities."""
        for kind, keys in (("category", categories), ("purpose", purposes),
                           ("channel", channels), ("source", sources)):
            for key in keys:
                check_taxonomy_key(key, f"{kind} key")
                parent = key.rpartition(".")[0]
                if parent and parent not in keys:
                    raise BadInput(f"{kind} {key!r} has no parent {parent!r}: add {parent!r} first")
        resolved: dict[str, int] = {}
        for key in sorted(categories, key=lambda k: k.count(".")):
            own = categories[key]
            if own is None:
                parent = key.rpartition(".")[0]
                if not parent:
                    raise BadInput(f"category {key!r} needs a sensitivity (1-4)")
                own = resolved[parent]
            if not isinstance(own, int) or isinstance(own, bool) or not 1 <= own <= 4:
                raise BadInput(f"category {key!r}: sensitivity must be 1, 2, 3 or 4, not {own!r}")
            resolved[key] = own
        for key, privacy in channels.items():
            if privacy not in PRIVACY_LEVELS:
                raise BadInput(f"channel {key!r}: privacy must be one of "
                               + ", ".join(PRIVACY_LEVELS))
        stated = {}
        for (kind, key), value in (intensities or {}).items():
            if value is None:
                continue
            if kind not in ("purpose", "category"):
                raise BadInput(f"{kind} {key!r}: only purposes and categories have an intensity")
            if key not in (purposes if kind == "purpose" else categories):
                raise BadInput(f"intensity for unknown {kind} {key!r}")
            stated[(kind, key)] = check_intensity(value, f"{kind} {key!r}")
        spectrum = Spectrum({p: stated.get(("purpose", p)) for p in purposes},
                            {c: stated.get(("category", c)) for c in categories}, resolved)
        return cls(
            categories=MappingProxyType(resolved),
            purposes=frozenset(purposes),
            channels=MappingProxyType(dict(channels)),
            sources=frozenset(sources),
            descriptions=MappingProxyType(dict(descriptions or {})),
            intensities=MappingProxyType(stated),
            spectrum=spectrum,
        )

    def keys(self, kind: str) -> frozenset[str] | Mapping[str, object]:
        return {"category": self.categories, "purpose": self.purposes,
                "channel": self.channels, "source": self.sources}[kind]

    def require(self, kind: str, key: object) -> str:
        """Return key if the taxonomy holds it, else a BAD_INPUT naming the known keys."""
        known = self.keys(kind)
        if not isinstance(key, str) or key not in known:
            sample = ", ".join(sorted(known)[:12])
            raise BadInput(f"unknown {kind} {repr(key)[:80]}: use one of {sample}"
                           + (", ..." if len(known) > 12 else ""))
        return key

    def sensitivity(self, categories: frozenset[str] | set[str]) -> int:
        return max((self.categories.get(c, 0) for c in categories), default=0)

    @staticmethod
    def chain(key: str) -> list[str]:
        return key_chain(key)
