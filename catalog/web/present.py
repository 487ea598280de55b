"""Small presentation helpers the views share: addresses and one-line change summaries."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import quote

from catalog.errors import BadInput


def field_url(name: str, **params: object) -> str:
    query = "&".join(f"{k}={quote(str(v), safe='')}" for k, v in params.items() if v)
    return f"/fields/{quote(name, safe='')}" + (f"?{query}" if query else "")


def summary(entry: dict) -> str:
    """What changed, in a few words: the attributes that differ, grants by purpose."""
    before, after = entry["before"] or {}, entry["after"] or {}
    if entry["entity"] != "field" or not before or not after:
        return ""
    parts = []
    for key in sorted(set(before) | set(after)):
        if key in ("grants", "revision") or before.get(key) == after.get(key):
            continue
        parts.append(f"{key}: {before.get(key)} → {after.get(key)}")
    old = {g["purpose"]: g for g in before.get("grants") or []}
    new = {g["purpose"]: g for g in after.get("grants") or []}
    parts += [f"+{p}" for p in sorted(set(new) - set(old))]
    parts += [f"−{p}" for p in sorted(set(old) - set(new))]
    parts += [f"~{p}" for p in sorted(set(old) & set(new)) if old[p] != new[p]]
    return "; ".join(parts)


def parse_time(raw: str, name: str) -> datetime | None:
    """A since/until form input: ISO 8601 date or time (UTC when it names no zone)."""
    if not raw:
        return None
    try:
        return datetime.fromisoformat(raw)
    except ValueError:
        raise BadInput(f"{name} must be a date or time in ISO 8601 (2026-03-01 or "
                       f"2026-03-01T09:30), not {raw[:40]!r}") from None
