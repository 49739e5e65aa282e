"""A station's cases in its database: the case rows, their history, numbering."""
import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm.attributes import flag_modified

from shared.calendar import Schedule, WorkingDayCalendar
from shared.cases import states
from shared.cases.routing import deciding_departments
from shared.cases.summary import WORKING_DAY_INPUTS, online_summary, summary, working_days_taken
from shared.catalogue.store import CatalogueStore
from shared.db.models import Case, CaseHistoryEntry, CaseSequence, PendingCaseUpdate, utcnow
from shared.exceptions import NotFound


class CaseRepository:
    def __init__(self, session, station_code, calendar_source=None):
        """`calendar_source()`: the district's working-day calendar, asked for when a
        decided case is saved (the case desk keeps one built); without it the calendar
        is read from this session's catalogue."""
        self.session = session
        self.station_code = station_code
        self._calendar_source = calendar_source
        self._working_days_calendar = None

    def next_case_no(self, day):
        """station code + date + sequence: unique in the district without asking anyone.

        The day's counter is incremented by the database in one statement (an upsert
        that returns the new value), never read and written back: two transactions, in
        one process or in two, can never be handed the same number. On PostgreSQL the
        counter's row stays locked until the filing commits, so numbers are handed out
        in commit order; a filing that rolls back leaves a gap, never a duplicate."""
        key = day.strftime("%Y%m%d")
        return f"{self.station_code}-{key}-{self.next_number(key):05d}"

    def next_number(self, key):
        """The next number of this station's counter `key` (a day, YYYYMMDD, for its own
        cases; shared/cases/online_application.py keeps another for its portal's)."""
        dialect = self.session.get_bind().dialect.name
        insert = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}[dialect]
        statement = insert(CaseSequence).values(station=self.station_code, day=key, last=1)
        statement = statement.on_conflict_do_update(
            index_elements=[CaseSequence.station, CaseSequence.day],
            set_={"last": CaseSequence.last + 1},
        ).returning(CaseSequence.last)
        return self.session.execute(statement).scalar_one()

    def find(self, case_no):
        row = self.session.get(Case, case_no)
        return None if row is None else row.snapshot

    def load(self, case_no):
        case = self.find(case_no)
        if case is None:
            raise NotFound(f"no case {case_no} at this station")
        return case

    def save(self, case, new=False):
        """Store `case`. `new`: a case filed here, which must not exist yet — it is
        inserted, and a row already holding that number makes IntegrityError instead of
        being overwritten. Otherwise the row is inserted or updated; an update is
        written only if nobody changed the row since this session read it (the
        revision check on `Case`, StaleDataError otherwise)."""
        row = None if new else self.session.get(Case, case["case_no"])
        stored_revision = 0
        if row is None:
            row = Case(case_no=case["case_no"])
            self.session.add(row)
        else:
            stored_revision = row.revision
        row.item_code = case["item"]["code"]
        row.department = case["item"]["department"]
        row.departments = "," + ",".join(deciding_departments(case)) + ","
        row.status = case["status"]
        row.filing_station = case["filing_station"]
        row.deciding_station = case.get("deciding_station")
        row.holder_station = case["holder_station"]
        row.held_here = case["holder_station"] == self.station_code
        row.revision = case["revision"]
        row.filed_at = dt.datetime.fromisoformat(case["filed_at"]).replace(tzinfo=None)
        row.due_date = dt.date.fromisoformat(case["due_date"]) if case.get("due_date") else None
        self._summarise(row, case)
        row.updated_at = utcnow()
        row.snapshot = case
        flag_modified(row, "snapshot")
        self._append_history(case, stored_revision)
        self.session.flush()

    def _summarise(self, row, case):
        """Keep the row's summary columns (shared/cases/summary.py) with the snapshot. The
        working days a decided case took are counted on the district's calendar when it
        is decided (or when what they depend on changes), not on every save."""
        columns = summary(case)
        recount = any(getattr(row, key) != columns[key] for key in WORKING_DAY_INPUTS)
        for key, value in {**columns, **online_summary(case)}.items():
            setattr(row, key, value)
        if columns["decided_on"] is None:
            row.working_days = None
        elif recount or row.working_days is None:
            row.working_days = working_days_taken(columns, self._calendar())

    def _calendar(self):
        """The district's working-day calendar, read once per repository (before the row
        being saved is flushed)."""
        if self._working_days_calendar is None:
            with self.session.no_autoflush:
                if self._calendar_source is not None:
                    self._working_days_calendar = self._calendar_source()
                else:
                    schedules = CatalogueStore(self.session).schedules()
                    self._working_days_calendar = WorkingDayCalendar(Schedule.from_dict(s) for s in schedules)
        return self._working_days_calendar

    def _append_history(self, case, stored_revision):
        """Store the entries this station has not stored yet. A case's history is linear
        (only its holder appends), so what is stored is exactly the first
        `stored_revision` entries; a stale copy (lower revision) adds nothing."""
        for entry in case["history"][stored_revision:]:
            self.session.add(CaseHistoryEntry(
                entry_id=entry["entry_id"], case_no=case["case_no"], seq=entry["seq"], at=entry["at"],
                station=entry["station"], actor=entry["actor"], action=entry["action"],
                from_status=entry["from_status"], to_status=entry["to_status"], reason=entry["reason"]))

    def history(self, case_no):
        rows = self.session.scalars(select(CaseHistoryEntry).where(CaseHistoryEntry.case_no == case_no)
                                    .order_by(CaseHistoryEntry.seq, CaseHistoryEntry.at))
        return [{"entry_id": r.entry_id, "seq": r.seq, "at": r.at, "station": r.station, "actor": r.actor,
                 "action": r.action, "from_status": r.from_status, "to_status": r.to_status,
                 "reason": r.reason} for r in rows]

    def list(self, status=None, held_here=None, filed_here=None, department=None, deciding_here=None,
             involving=None, limit=50, offset=0):
        """`department`: the item's own department; `involving`: any department deciding
        the case (a joint case is in the list of each of its departments)."""
        query = select(Case)
        if status:
            status = list(status) if isinstance(status, (list, tuple)) else [status]
            condition = Case.status.in_(status)
            if self.session.get_bind().dialect.name == "sqlite" and not set(status) & set(states.FINAL):
                # a worklist: cases stay in these statuses only while they are worked on,
                # so they are few; told so, SQLite finds them by the status index and
                # sorts them, instead of walking every case newest first
                condition = func.unlikely(condition)
            query = query.where(condition)
        if held_here is not None:
            query = query.where(Case.held_here.is_(held_here))
        if filed_here:
            query = query.where(Case.filing_station == self.station_code)
        if deciding_here:
            query = query.where(Case.deciding_station == self.station_code)
        if department:
            query = query.where(Case.department == department)
        if involving:
            query = query.where(Case.departments.contains(f",{involving},", autoescape=True))
        total = self.session.scalar(select(func.count()).select_from(query.subquery()))
        rows = self.session.scalars(query.order_by(Case.filed_at.desc(), Case.case_no.desc())
                                    .limit(limit).offset(offset))
        return total, [r.snapshot for r in rows]

    # updates that arrived before their case
    def park(self, message_id, case_no, kind, body):
        if self.session.get(PendingCaseUpdate, message_id) is None:
            self.session.add(PendingCaseUpdate(message_id=message_id, case_no=case_no, kind=kind, body=body))

    def parked(self, case_no, kind):
        return self.session.scalars(select(PendingCaseUpdate).where(PendingCaseUpdate.case_no == case_no,
                                                                    PendingCaseUpdate.kind == kind)
                                    .order_by(PendingCaseUpdate.received_at)).all()

    def unpark(self, update):
        self.session.delete(update)
