"""Name and text rules (docs/semantics.md §1): field names, taxonomy keys, free text."""

from __future__ import annotations

import re

from catalog.errors import BadInput

_SEGMENT = r"[A-Za-z0-9_-]{1,128}"
FIELD_NAME_RE = re.compile(rf"^{_SEGMENT}(?:\.{_SEGMENT}){{2,}}\Z")
TAXONOMY_KEY_RE = re.compile(r"^[a-z0-9_]+(?:\.[a-z0-9_]+)*\Z")
MAX_FIELD_NAME = 512
MAX_KEY = 200


def is_field_name(name: object) -> bool:
    return isinstance(name, str) and len(name) <= MAX_FIELD_NAME and bool(FIELD_NAME_RE.match(name))


def check_field_name(name: object) -> str:
    if not is_field_name(name):
        shown = repr(name)[:80]
        raise BadInput(
            f"invalid field name {shown}: use at least 3 dot-separated segments "
            "(system.dataset.column) of ASCII letters, digits, '_' or '-', "
            "1-128 characters each, 512 in all"
        )
    return name  # type: ignore[return-value]


def is_taxonomy_key(key: object) -> bool:
    return isinstance(key, str) and len(key) <= MAX_KEY and bool(TAXONOMY_KEY_RE.match(key))


def check_taxonomy_key(key: object, kind: str = "taxonomy key") -> str:
    if not is_taxonomy_key(key):
        raise BadInput(
            f"invalid {kind} {repr(key)[:80]}: use lower-case dot-separated words "
            "such as 'tracking.location.precise'"
        )
    return key  # type: ignore[return-value]


def key_chain(key: str) -> list[str]:
    """The key and every key above it, most specific first: a.b.c, a.b, a."""
    parts = key.split(".")
    return [".".join(parts[:i]) for i in range(len(parts), 0, -1)]


def covers(general: str, specific: str) -> bool:
    """A key covers itself and every key below it."""
    return specific == general or specific.startswith(general + ".")


# Control characters (C0, DEL, C1) and unpaired surrogates: PostgreSQL refuses NUL, a
# surrogate cannot be encoded, and the rest only hide what a text says.
_SINGLE_LINE_BAD = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_MULTI_LINE_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


def has_control(text: str) -> bool:
    """True when text holds a character no stored text may hold."""
    return _SINGLE_LINE_BAD.search(text) is not None


def check_text(value: str | None, label: str, *, multiline: bool = False) -> str | None:
    """value, or BadInput when it holds a control character (tab, line feed and carriage
    return are allowed in multi-line texts) or an unpaired surrogate."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise BadInput(f"{label} must be a string, not {type(value).__name__}")
    bad = (_MULTI_LINE_BAD if multiline else _SINGLE_LINE_BAD).search(value)
    if bad is not None:
        raise BadInput(f"{label} holds the control character U+{ord(bad.group()):04X} at "
                       f"position {bad.start()}: remove it"
                       + ("" if multiline else " (this text is one line)"))
    return value
