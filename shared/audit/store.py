"""The access audit in a station's database. Append-only: this module only inserts into
`access_audit` and reads it (there is no update or delete path, and migration 0008's
trigger refuses both). Copying to the district works on a separate list of unsent entry
ids, which is what gets deleted once a batch is in the outbox."""
from sqlalchemy import delete, func, select

from shared.db.models import AccessAuditEntry, AccessAuditUnsent

COLUMNS = ("entry_id", "station", "at", "kind", "action", "outcome", "username", "role", "case_no", "shown",
           "client", "channel")


def _as_dict(row):
    return {c: getattr(row, c) for c in COLUMNS}


class AuditLog:
    def __init__(self, session):
        self.session = session

    def append(self, entry, copy_to_district=False):
        """Write one entry (shared/audit/entries.new_entry); `copy_to_district`: a station
        below the district, whose entries the district keeps a copy of."""
        self.session.add(AccessAuditEntry(**{c: entry[c] for c in COLUMNS}))
        if copy_to_district:
            self.session.add(AccessAuditUnsent(entry_id=entry["entry_id"]))

    # -- copies to the district ----------------------------------------------------------
    def batch_to_copy(self, limit=500):
        """Up to `limit` entries not yet copied, oldest first, as dicts; they are taken off
        the unsent list here, so the caller puts them in the outbox in the same transaction."""
        rows = self.session.scalars(
            select(AccessAuditEntry).join(AccessAuditUnsent, AccessAuditUnsent.entry_id == AccessAuditEntry.entry_id)
            .order_by(AccessAuditEntry.at, AccessAuditEntry.entry_id).limit(limit)).all()
        entries = [_as_dict(r) for r in rows]
        if entries:
            self.session.execute(delete(AccessAuditUnsent).where(
                AccessAuditUnsent.entry_id.in_([e["entry_id"] for e in entries])))
        return entries

    def unsent_count(self):
        return self.session.scalar(select(func.count()).select_from(AccessAuditUnsent))

    def receive(self, entries):
        """The district keeps a station's copied entries; one it has already (the same
        batch delivered again, or sent twice) is skipped. Returns how many were new."""
        ids = [e["entry_id"] for e in entries]
        known = set(self.session.scalars(select(AccessAuditEntry.entry_id).where(AccessAuditEntry.entry_id.in_(ids))))
        new = [e for e in entries if e["entry_id"] not in known]
        for entry in new:
            self.append(entry)
        return len(new)

    # -- reading -------------------------------------------------------------------------
    def search(self, station=None, username=None, case_no=None, kind=None, start=None, end=None,
               limit=100, offset=0):
        """(total, entries newest first); `start`/`end`: naive UTC datetimes, end excluded."""
        conditions = []
        if station:
            conditions.append(AccessAuditEntry.station == station)
        if username:
            conditions.append(AccessAuditEntry.username == username)
        if case_no:
            conditions.append(AccessAuditEntry.case_no == case_no)
        if kind:
            conditions.append(AccessAuditEntry.kind == kind)
        if start is not None:
            conditions.append(AccessAuditEntry.at >= start)
        if end is not None:
            conditions.append(AccessAuditEntry.at < end)
        total = self.session.scalar(select(func.count()).select_from(AccessAuditEntry).where(*conditions))
        rows = self.session.scalars(select(AccessAuditEntry).where(*conditions)
                                    .order_by(AccessAuditEntry.at.desc(), AccessAuditEntry.entry_id)
                                    .limit(limit).offset(offset))
        return total, [_as_dict(r) for r in rows]
