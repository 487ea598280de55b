"""`catalog ingest schema`: the columns of a real database as catalog fields (docs/semantics.md
§11).

Every column the catalog lacks is registered `unclassified` (source first_party, owner
unowned), with a suggested category in its description for the owner to confirm; nothing is
applied without them. Existing fields are left as they are. Fields under the import's prefix
whose column is gone are reported, and deprecated only when asked. One transaction."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from catalog.db.reflect import Reflected, reflect, shown
from catalog.domain.names import is_field_name
from catalog.domain.ol_names import sanitize
from catalog.domain.suggest import Suggestion, suggest
from catalog.domain.unclassified import UNCLASSIFIED, UNOWNED
from catalog.errors import BadInput
from catalog.services.auth import Principal, require
from catalog.services.core import Catalog
from catalog.services.fields import FieldInput, check_batch, register_in, save_in


@dataclass
class SchemaReport:
    prefix: str  # every name of this import starts with prefix + "."
    revision: int = 0
    registered: list[tuple[str, Suggestion | None]] = field(default_factory=list)
    existing: int = 0
    missing: list[str] = field(default_factory=list)
    deprecated: list[str] = field(default_factory=list)


def import_schema(cat: Catalog, principal: Principal, url: str, *, schema: str | None = None,
                  prefix: str | None = None, deprecate_missing: bool = False) -> SchemaReport:
    cat.index  # noqa: B018  (the catalog must answer before the source is read)
    found = reflect(url, schema)
    system = prefix if prefix is not None else sanitize(found.database.lower())
    base = f"{system}.{sanitize(found.schema.lower())}"
    if not is_field_name(f"{base}.t"):
        raise BadInput(f"cannot name fields {base}.<table>.<column>: pass --prefix SYSTEM, a "
                       "field-name prefix of letters, digits, '_', '-' and '.'")
    columns = _named(found, base)
    check_batch(list(columns), "columns")
    for name in columns:
        require(principal, "write", name)
    report = SchemaReport(base)
    with cat.write(principal.actor) as txn:
        index = cat.index
        new = [name for name in columns if index.get(name) is None]
        report.existing = len(columns) - len(new)
        inputs = []
        for name in new:
            col, hint = columns[name]
            report.registered.append((name, hint))
            inputs.append(FieldInput(
                name, category=UNCLASSIFIED, source="first_party", owner=UNOWNED,
                source_system=system[:200], description=_describe(url, found, col, hint)))
        register_in(txn, index, inputs)
        report.missing = sorted(n for n, rec in index.fields.items()
                                if n.startswith(base + ".") and n not in columns
                                and not rec.deprecated)
        if deprecate_missing:
            for name in report.missing:
                require(principal, "write", name)
                before = index.get(name)
                save_in(txn, index, before, replace(before, deprecated=True), "deprecate")
            report.deprecated = list(report.missing)
    report.revision = txn.revision if txn.log else cat.index.revision
    return report


def _named(found: Reflected, base: str) -> dict:
    """field name -> (column, suggestion); two columns of one name refused, naming both."""
    out: dict = {}
    for col in found.columns:
        name = f"{base}.{sanitize(col.table.lower())}.{sanitize(col.name.lower())}"
        if not is_field_name(name):
            raise BadInput(f"column {col.name!r} of table {col.table!r} maps to {name[:120]!r}, "
                           "not a valid field name (segments of at most 128 characters, 512 in "
                           "all): choose a shorter --prefix")
        if name in out:
            other = out[name][0]
            raise BadInput(f"columns {other.table}.{other.name} and {col.table}.{col.name} both "
                           f"map to the field name {name}: rename one of them")
        out[name] = (col, suggest(col.name, col.type))
    return out


def _describe(url: str, found: Reflected, col, hint: Suggestion | None) -> str:
    text = (f"found in {shown(url)}: column {col.name} of {found.schema}.{col.table} "
            f"({col.type}); unclassified until its owner sets the category")
    if hint is not None:
        text += f"; suggested category: {hint.category} ({hint.why}), not applied"
    return text
