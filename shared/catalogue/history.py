"""What changed in the catalogue, version by version: the administrator's preview of a
change before it is saved, and the catalogue's history (CatalogueChange rows), each with
the fields it changed.

An item's change is compared with the item as it was just before (its previous change);
a published calendar with the previous schedule of the same year. The bookkeeping field
`version` is not a change of its own.
"""
from sqlalchemy import func, select

from shared.db.models import CatalogueChange

# the order an item's fields are shown in (ItemSchema's), then any other
ITEM_FIELDS = ("code", "name", "department", "category", "processing_type", "joint_departments",
               "legal_limit_days", "promised_limit_days", "fee", "authority_tier", "accepting_tiers",
               "decision_steps", "allows_commitment", "allows_deficiency", "min_applicant_age", "keywords",
               "materials", "guide", "status")
SCHEDULE_FIELDS = ("year", "holidays", "workdays")
NOT_COMPARED = {"version"}


def changed_fields(before, after, order=ITEM_FIELDS):
    """[{"field", "before", "after"}] of the fields whose values differ (a field missing
    on one side is None there), in `order` then alphabetically."""
    before, after = before or {}, after or {}
    names = [n for n in (set(before) | set(after)) if n not in NOT_COMPARED]
    rank = {name: i for i, name in enumerate(order)}
    names.sort(key=lambda n: (rank.get(n, len(rank)), n))
    return [{"field": n, "before": before.get(n), "after": after.get(n)}
            for n in names if _normal(before.get(n)) != _normal(after.get(n))]


def _normal(value):
    # 3 and 3.0 are the same fee; an absent list, guide or text is an empty one
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):  # a guide with empty texts is no guide
        value = {k: _normal(v) for k, v in value.items() if _normal(v) is not None}
    if value is None or (isinstance(value, (list, dict, str)) and not value):
        return None
    return value


def change_preview(change, before):
    """The preview of a change not saved yet: its new version and what it changes."""
    order = SCHEDULE_FIELDS if change["kind"] == "calendar" else ITEM_FIELDS
    return {"version": change["version"], "kind": change["kind"], "item_code": change["item_code"],
            "changes": changed_fields(before, change["payload"], order)}


def _previous_payload(session, row):
    if row.kind == "calendar":
        year = (row.payload or {}).get("year")
        earlier = session.scalars(select(CatalogueChange).where(
            CatalogueChange.kind == "calendar", CatalogueChange.version < row.version)
            .order_by(CatalogueChange.version.desc()))
        return next((c.payload for c in earlier if (c.payload or {}).get("year") == year), None)
    return session.scalar(select(CatalogueChange.payload).where(
        CatalogueChange.item_code == row.item_code, CatalogueChange.version < row.version)
        .order_by(CatalogueChange.version.desc()).limit(1))


def history_page(session, item_code=None, kind=None, limit=30, offset=0):
    """(total, entries) newest first: each change with what it changed."""
    query = select(CatalogueChange)
    if item_code:
        query = query.where(CatalogueChange.item_code == item_code)
    if kind:
        query = query.where(CatalogueChange.kind == kind)
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    rows = session.scalars(query.order_by(CatalogueChange.version.desc()).limit(limit).offset(offset)).all()
    entries = []
    for row in rows:
        order = SCHEDULE_FIELDS if row.kind == "calendar" else ITEM_FIELDS
        payload = row.payload or {}
        entries.append({"version": row.version, "kind": row.kind, "item_code": row.item_code,
                        "name": payload.get("name"), "year": payload.get("year"),
                        "made_at": row.made_at, "made_by": row.made_by,
                        "changes": changed_fields(_previous_payload(session, row), payload, order)})
    return total, entries
