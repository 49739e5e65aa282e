"""Reading and writing a station's copy of the catalogue.

The district's copy is the master; every other copy is a replica that applies the
master's changes in version order. Both keep the same tables, so the same search and
the same content hash work everywhere.

A change's `kind` says what it writes: "calendar" a year's schedule, "bundle" a bundle
(一件事, shared/catalogue/bundles.py: its whole state, `status` included, under its code in
`item_code`), any other kind (add, edit, delegate, retire) an item.
"""
from sqlalchemy import func, or_, select

from shared.catalogue.content import content_hash
from shared.db.models import Bundle, CalendarSchedule, CatalogueChange, Item
from shared.exceptions import NotFound


BUNDLE = "bundle"  # the kind of a bundle's change


class CatalogueGap(Exception):
    """A change arrived whose predecessors this replica has not seen yet."""

    def __init__(self, have, got):
        super().__init__(f"replica at version {have} received version {got}")
        self.have, self.got = have, got


class CatalogueStore:
    def __init__(self, session):
        self.session = session

    # -- reading -------------------------------------------------------------------
    def version(self):
        return self.session.scalar(select(func.max(CatalogueChange.version))) or 0

    def last_applied_at(self):
        """When this station stored its newest change (UTC, naive)."""
        return self.session.scalar(select(CatalogueChange.applied_at)
                                   .order_by(CatalogueChange.version.desc()).limit(1))

    def get(self, code):
        item = self.session.get(Item, code)
        if item is None:
            raise NotFound(f"no item with code '{code}' in the catalogue")
        return item.payload

    def item_at_version(self, code, version):
        payload = self._payload_at_version(code, version, CatalogueChange.kind != BUNDLE)
        if payload is None:
            raise NotFound(f"item '{code}' did not exist at catalogue version {version}")
        return payload

    def _payload_at_version(self, code, version, kind_filter):
        """The payload of the newest change to `code` at or before `version` (None if none)."""
        return self.session.scalar(
            select(CatalogueChange.payload)
            .where(CatalogueChange.item_code == code, CatalogueChange.version <= version, kind_filter)
            .order_by(CatalogueChange.version.desc()).limit(1))

    def bundle(self, code):
        row = self.session.get(Bundle, code)
        if row is None:
            raise NotFound(f"no bundle with code '{code}' in the catalogue")
        return row.payload

    def bundle_at_version(self, code, version):
        """The bundle as it was at a catalogue version (what a filing made then used)."""
        payload = self._payload_at_version(code, version, CatalogueChange.kind == BUNDLE)
        if payload is None:
            raise NotFound(f"bundle '{code}' did not exist at catalogue version {version}")
        return payload

    def bundles(self, include_retired=False):
        """Every bundle, by code (the active ones unless `include_retired`)."""
        query = select(Bundle).order_by(Bundle.code)
        if not include_retired:
            query = query.where(Bundle.status == "active")
        return [row.payload for row in self.session.scalars(query)]

    def bundle_codes(self):
        return set(self.session.scalars(select(Bundle.code)))

    def items_by_code(self, codes):
        """{code: payload} of those of `codes` in the catalogue (retired ones included)."""
        codes = sorted({c for c in codes if isinstance(c, str)})
        if not codes:
            return {}
        return {row.code: row.payload for row in self.session.scalars(select(Item).where(Item.code.in_(codes)))}

    def search(self, text=None, department=None, category=None, processing_type=None,
               authority_tier=None, include_retired=False, limit=50, offset=0):
        query = select(Item)
        if not include_retired:
            query = query.where(Item.status == "current")
        if text:
            for word in text.split():
                pattern = f"%{_escape_like(word)}%"
                # ILIKE on PostgreSQL, lower() LIKE lower() on SQLite: ASCII letters match
                # either case on both (SQLite's LIKE did; PostgreSQL's LIKE does not)
                query = query.where(or_(Item.search_text.ilike(pattern, escape="\\"),
                                        Item.code.ilike(pattern, escape="\\")))
        if department:
            query = query.where(Item.department == department)
        if category:
            query = query.where(Item.category == category)
        if processing_type:
            query = query.where(Item.processing_type == processing_type)
        if authority_tier:
            query = query.where(Item.authority_tier == authority_tier)
        total = self.session.scalar(select(func.count()).select_from(query.subquery()))
        rows = self.session.scalars(query.order_by(Item.code).limit(limit).offset(offset)).all()
        return total, [row.payload for row in rows]

    def schedule_versions(self):
        """(year, version) of every published schedule: what a cached calendar is keyed on."""
        return tuple(self.session.execute(
            select(CalendarSchedule.year, CalendarSchedule.version).order_by(CalendarSchedule.year)).all())

    def schedules(self):
        return [s.payload for s in self.session.scalars(
            select(CalendarSchedule).order_by(CalendarSchedule.year))]

    def content_hash(self):
        items = [row.payload for row in self.session.scalars(select(Item))]
        return content_hash(items, self.schedules(), self.bundles(include_retired=True))

    def changes_since(self, version, limit=1000):
        rows = self.session.scalars(
            select(CatalogueChange).where(CatalogueChange.version > version)
            .order_by(CatalogueChange.version).limit(limit))
        return [change_to_dict(row) for row in rows]

    # -- writing -------------------------------------------------------------------
    def record(self, kind, item_code, payload, made_at, made_by):
        """Master only: append the next version (the caller holds the write lock)."""
        version = self.version() + 1
        if item_code is not None:
            payload = dict(payload, version=version)
        change = {"version": version, "kind": kind, "item_code": item_code,
                  "payload": payload, "made_at": made_at, "made_by": made_by}
        self._store(change)
        return change

    def apply(self, change):
        """Replica: apply a master change. Returns False for a change already applied;
        raises CatalogueGap when earlier changes are missing."""
        have = self.version()
        if change["version"] <= have:
            return False
        if change["version"] != have + 1:
            raise CatalogueGap(have, change["version"])
        self._store(change)
        return True

    def _store(self, change):
        self.session.add(CatalogueChange(
            version=change["version"], kind=change["kind"], item_code=change["item_code"],
            payload=change["payload"], made_at=change["made_at"], made_by=change["made_by"]))
        payload = change["payload"]
        if change["kind"] == BUNDLE:
            row = self.session.get(Bundle, change["item_code"])
            if row is None:
                row = Bundle(code=change["item_code"])
                self.session.add(row)
            row.version = change["version"]
            row.status = payload["status"]
            row.name = payload["name"]
            row.promised_limit_days = payload["promised_limit_days"]
            row.payload = payload
        elif change["kind"] == "calendar":
            row = self.session.get(CalendarSchedule, payload["year"])
            if row is None:
                self.session.add(CalendarSchedule(year=payload["year"], version=change["version"],
                                                  payload=payload))
            else:
                row.version, row.payload = change["version"], payload
        else:
            row = self.session.get(Item, change["item_code"])
            if row is None:
                row = Item(code=change["item_code"])
                self.session.add(row)
            row.version = change["version"]
            row.status = payload["status"]
            row.name = payload["name"]
            row.department = payload["department"]
            row.category = payload["category"]
            row.processing_type = payload["processing_type"]
            row.authority_tier = payload["authority_tier"]
            row.search_text = " ".join([payload["name"], *payload.get("keywords", [])])
            row.payload = payload
        self.session.flush()


def change_to_dict(row):
    return {"version": row.version, "kind": row.kind, "item_code": row.item_code,
            "payload": row.payload, "made_at": row.made_at, "made_by": row.made_by}


def _escape_like(text):
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
