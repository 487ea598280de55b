"""Small presentation helpers the views share: addresses and one-line change summaries."""

from __future__ import annotations

from urllib.parse import quote


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
