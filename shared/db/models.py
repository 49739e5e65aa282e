"""Tables of a station database. Every station has the same schema; a village simply
leaves the district-only tables empty."""
import datetime as dt

from sqlalchemy import (
    JSON, BigInteger, Boolean, Date, DateTime, Index, Integer, LargeBinary, String, Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.sql.expression import false


def utcnow():
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


class Base(DeclarativeBase):
    pass


class CatalogueChange(Base):
    """Every catalogue version, in order: the master's log, copied by each replica."""

    __tablename__ = "catalogue_changes"
    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(16))
    item_code: Mapped[str | None] = mapped_column(String(16), nullable=True)
    payload: Mapped[dict] = mapped_column(JSON)
    made_at: Mapped[str] = mapped_column(String(40))
    made_by: Mapped[str] = mapped_column(String(100), default="")
    applied_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)  # at this station


class Item(Base):
    """The current state of each item (retired ones included)."""

    __tablename__ = "items"
    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(100), index=True)
    department: Mapped[str] = mapped_column(String(40), index=True)
    category: Mapped[str] = mapped_column(String(20))
    processing_type: Mapped[str] = mapped_column(String(20))
    authority_tier: Mapped[str] = mapped_column(String(10))
    search_text: Mapped[str] = mapped_column(Text)
    payload: Mapped[dict] = mapped_column(JSON)


class CalendarSchedule(Base):
    __tablename__ = "calendar_schedules"
    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    version: Mapped[int] = mapped_column(Integer)
    payload: Mapped[dict] = mapped_column(JSON)


#: the columns of the cases' figures index, the period's day first
FIGURE_COLUMNS = ("filed_date", "filing_station", "filing_tier", "department", "item_code", "item_category",
                  "item_name", "accepted_on", "returned", "decided_on", "due_date", "working_days",
                  "promised_limit_days", "legal_limit_days", "rating_score",
                  "online", "visits", "pre_review_answers", "pre_review_on_time", "case_no")  # 0019: online ones


class Case(Base):
    """This station's copy of a case. `snapshot` is the whole case as the
    contract's CaseRecordSchema declares it (shared/contract.py); the columns beside it
    are what lists and statistics filter on."""

    __tablename__ = "cases"
    case_no: Mapped[str] = mapped_column(String(40), primary_key=True)
    item_code: Mapped[str] = mapped_column(String(16), index=True)
    department: Mapped[str] = mapped_column(String(40), index=True)
    status: Mapped[str] = mapped_column(String(30), index=True)
    filing_station: Mapped[str] = mapped_column(String(12), index=True)
    deciding_station: Mapped[str | None] = mapped_column(String(12), nullable=True, index=True)
    holder_station: Mapped[str] = mapped_column(String(12), index=True)
    held_here: Mapped[bool] = mapped_column(Boolean, default=True)
    revision: Mapped[int] = mapped_column(Integer)
    filed_at: Mapped[dt.datetime] = mapped_column(DateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    due_date: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    # ",dept," for each department that decides the case (the joint ones too), so a
    # department's desk lists its cases with one LIKE
    departments: Mapped[str] = mapped_column(String(400), default="", server_default="")
    # The case's summary (shared/cases/summary.py), kept beside the snapshot by
    # CaseRepository.save in the same transaction: what the district's figures, lights
    # and follow-ups group and count by, so the database answers them with aggregates.
    filed_date: Mapped[dt.date | None] = mapped_column(Date, nullable=True)  # district-local
    filing_tier: Mapped[str | None] = mapped_column(String(12), nullable=True)
    item_name: Mapped[str | None] = mapped_column(String(100), nullable=True)
    item_category: Mapped[str | None] = mapped_column(String(30), nullable=True)
    promised_limit_days: Mapped[int | None] = mapped_column(Integer, nullable=True)
    legal_limit_days: Mapped[int | None] = mapped_column(Integer, nullable=True)
    acceptance: Mapped[str | None] = mapped_column(String(30), nullable=True)  # 容缺, 告知承诺...
    accepted_on: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    returned: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    paused_since: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    paused_working_days: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    decided_on: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    outcome: Mapped[str | None] = mapped_column(String(16), nullable=True)  # approved | rejected
    # working days from acceptance to decision less the paused ones, fixed when decided
    working_days: Mapped[int | None] = mapped_column(Integer, nullable=True)
    rating_score: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # issue 16 (migration 0015): applied online, the resident's visits to a counter, the
    # pre-review's answers and those given within their limit (shared/cases/pre_review.py)
    online: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    visits: Mapped[int | None] = mapped_column(Integer, nullable=True)
    pre_review_answers: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    pre_review_on_time: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    snapshot: Mapped[dict] = mapped_column(JSON)

    __table_args__ = (
        # lists by department and status (GET /api/cases), newest first
        Index("ix_cases_department_status_filed", "department", "status", "filed_at"),
        # every list shows the newest first
        Index("ix_cases_filed_at", "filed_at"),
        # the district's figures (shared/supervision/aggregates.py): a period of filing
        # days, grouped and counted from the index alone; it holds every column they
        # read, because on SQLite the summary columns come after the snapshot in the row
        Index("ix_cases_figures", *FIGURE_COLUMNS),
        # follow-ups: the bad ratings
        Index("ix_cases_rating_score", "rating_score"),
    )
    # Optimistic locking: an update is written only if the row still has the revision it
    # had when it was read (UPDATE ... WHERE revision = <read>), so two processes serving
    # one station (PostgreSQL) cannot overwrite each other's change; the loser gets
    # StaleDataError. The workflow sets the revision itself.
    __mapper_args__ = {"version_id_col": revision, "version_id_generator": False}


class CaseHistoryEntry(Base):
    """Append-only: one row per transition. Rows are never updated or deleted."""

    __tablename__ = "case_history"
    entry_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    case_no: Mapped[str] = mapped_column(String(40), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    at: Mapped[str] = mapped_column(String(40))
    station: Mapped[str] = mapped_column(String(12))
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(40))
    from_status: Mapped[str | None] = mapped_column(String(30), nullable=True)
    to_status: Mapped[str] = mapped_column(String(30))
    reason: Mapped[str] = mapped_column(Text, default="")


class CaseSequence(Base):
    """The last case number handed out per station and day."""

    __tablename__ = "case_sequences"
    station: Mapped[str] = mapped_column(String(12), primary_key=True)
    day: Mapped[str] = mapped_column(String(8), primary_key=True)
    last: Mapped[int] = mapped_column(Integer, default=0)


class PendingCaseUpdate(Base):
    """An update (e.g. a supplement) that reached this station before the case did."""

    __tablename__ = "pending_case_updates"
    message_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    case_no: Mapped[str] = mapped_column(String(40), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    body: Mapped[dict] = mapped_column(JSON)
    received_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class OutboxMessage(Base):
    """A message to publish, written in the same transaction as the change it reports."""

    __tablename__ = "outbox"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                    autoincrement=True)
    message_id: Mapped[str] = mapped_column(String(64), unique=True)
    exchange: Mapped[str] = mapped_column(String(100))
    routing_key: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(40))
    body: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    sent_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)

    __table_args__ = (Index("ix_outbox_unsent", "sent_at", "id"),)


class ProcessedMessage(Base):
    """Ids of messages already handled here: the consumers' idempotency record."""

    __tablename__ = "processed_messages"
    message_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    processed_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class StationAlert(Base):
    """A supervision warning or card received from the district (kept at the station)."""

    __tablename__ = "station_alerts"
    message_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    case_no: Mapped[str] = mapped_column(String(40), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    department: Mapped[str] = mapped_column(String(40))
    text: Mapped[str] = mapped_column(Text)
    raised_at: Mapped[str] = mapped_column(String(40))


class SupervisionAlert(Base):
    """District only: each warning or card raised, at most once per case and kind."""

    __tablename__ = "supervision_alerts"
    case_no: Mapped[str] = mapped_column(String(40), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), primary_key=True)  # warning | yellow_card | red_card
    department: Mapped[str] = mapped_column(String(40), index=True)
    station: Mapped[str] = mapped_column(String(12))
    raised_at: Mapped[str] = mapped_column(String(40))
    due_date: Mapped[str] = mapped_column(String(10))


class FollowUpAnswer(Base):
    """District only: the responsible department's answer to a bad rating (整改)."""

    __tablename__ = "follow_up_answers"
    case_no: Mapped[str] = mapped_column(String(40), primary_key=True)
    department: Mapped[str] = mapped_column(String(40))
    answer: Mapped[str] = mapped_column(Text)
    answered_by: Mapped[str] = mapped_column(String(50))
    answered_at: Mapped[str] = mapped_column(String(40))


class User(Base):
    """A person who works at this station. Users are never deleted, only deactivated,
    so the names in case histories keep pointing at someone."""

    __tablename__ = "users"
    username: Mapped[str] = mapped_column(String(50), primary_key=True)
    name: Mapped[str] = mapped_column(String(50))
    role: Mapped[str] = mapped_column(String(20))
    department: Mapped[str | None] = mapped_column(String(40), nullable=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    # a password someone else chose (the sample staff's): every call but changing it is
    # refused until the user has set their own (shared/auth/accounts.py)
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    password_changed_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)


class LoginSession(Base):
    """A login. Only the SHA-256 of the token is kept, so the table gives no one a session."""

    __tablename__ = "login_sessions"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    username: Mapped[str] = mapped_column(String(50), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime, index=True)
    # touched at most once a minute while the session is used: 30 idle minutes end it
    last_seen_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    # shown to the user in their list of sessions (where and with what they logged in)
    client_address: Mapped[str] = mapped_column(String(64), default="", server_default="")
    user_agent: Mapped[str] = mapped_column(String(200), default="", server_default="")


class FilingRequest(Base):
    """A filing's request id (chosen by the counter's client) and the case it made: the
    same request sent again, because its answer was lost or the form was submitted
    twice, gets that case back instead of a second one."""

    __tablename__ = "filing_requests"
    request_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    case_no: Mapped[str] = mapped_column(String(40))
    filed_by: Mapped[str] = mapped_column(String(50))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    # shared/cases/filing.py: the same id with another body is refused. Empty for the
    # ids stored before the fingerprint was kept (their repeats are answered as before).
    fingerprint: Mapped[str] = mapped_column(String(64), default="", server_default="")


class AccessAuditEntry(Base):
    """The access audit (shared/audit/): who saw a full ID number or phone, changed a
    case or logged in, when, where from. Append-only: rows are never updated or deleted
    (a database trigger refuses it, migration 0008). A station keeps its own; the
    district also keeps every station's copies, merged by `entry_id`."""

    __tablename__ = "access_audit"
    entry_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    station: Mapped[str] = mapped_column(String(12))
    at: Mapped[dt.datetime] = mapped_column(DateTime)  # UTC
    kind: Mapped[str] = mapped_column(String(20))      # full_view | change | login
    action: Mapped[str] = mapped_column(String(40))
    outcome: Mapped[str] = mapped_column(String(20))
    username: Mapped[str] = mapped_column(String(50))
    role: Mapped[str] = mapped_column(String(20), default="")
    case_no: Mapped[str | None] = mapped_column(String(40), nullable=True)
    shown: Mapped[str] = mapped_column(String(100), default="")
    client: Mapped[str] = mapped_column(String(64), default="")
    channel: Mapped[str] = mapped_column(String(8), default="")  # api | desk

    __table_args__ = (
        Index("ix_access_audit_station_at", "station", "at"),
        Index("ix_access_audit_at", "at"),
        Index("ix_access_audit_username", "username"),
        Index("ix_access_audit_case_no", "case_no"),
    )


class AccessAuditUnsent(Base):
    """A station's audit entries not yet copied to the district (the copier batches
    them into one outbox message and removes them here in the same transaction)."""

    __tablename__ = "access_audit_unsent"
    entry_id: Mapped[str] = mapped_column(String(32), primary_key=True)


class LoginFailures(Base):
    """Failed logins counted per username (known or not, so that a lockout tells nothing
    about which usernames exist) and per client address: `subject` is "user:<name>" or
    "address:<ip>". A success clears the user's row; an administrator's unlock too; a
    row whose last failure is older than the window starts afresh (shared/auth/login_guard.py)."""

    __tablename__ = "login_failures"
    subject: Mapped[str] = mapped_column(String(120), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failed_at: Mapped[dt.datetime] = mapped_column(DateTime, index=True)
    locked_until: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)


class ResidentLookupAttempt(Base):
    """A resident's lookup (case number + query code) not known to have succeeded: the
    failures of the last hour, per case number asked and per client address, limit the
    guesses (shared/cases/lookup_limits.py). A success removes its row; older rows are
    pruned."""

    __tablename__ = "resident_lookup_attempts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_no: Mapped[str] = mapped_column(String(40))
    client: Mapped[str] = mapped_column(String(64))
    at: Mapped[dt.datetime] = mapped_column(DateTime)  # UTC

    __table_args__ = (
        Index("ix_resident_lookup_attempts_case_no_at", "case_no", "at"),
        Index("ix_resident_lookup_attempts_client_at", "client", "at"),
        Index("ix_resident_lookup_attempts_at", "at"),
    )


# --- the service hall (issue 17; shared/hall/) ---------------------------------------

class HallSlot(Base):
    """A bookable half day for one window type at this station: `capacity` appointments,
    `booked` of them taken. A row is made when the slot is first booked (the capacity
    comes from the hall policy then); booking is `UPDATE ... SET booked = booked + 1
    WHERE booked < capacity`, so two residents never get the last place."""

    __tablename__ = "hall_slots"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    station: Mapped[str] = mapped_column(String(12))
    day: Mapped[dt.date] = mapped_column(Date)
    half_day: Mapped[str] = mapped_column(String(2))      # am | pm
    window_type: Mapped[str] = mapped_column(String(2))   # A, B, ...
    capacity: Mapped[int] = mapped_column(Integer)
    booked: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (
        Index("uq_hall_slots_slot", "station", "day", "half_day", "window_type", unique=True),
    )


class Appointment(Base):
    """A resident's appointment (预约). booked -> kept | cancelled | missed; a move keeps
    the row and its booking number and changes the slot (`moves` counts them,
    `moved_from` keeps the last slot left as "YYYY-MM-DD am")."""

    __tablename__ = "hall_appointments"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    station: Mapped[str] = mapped_column(String(12))
    booking_no: Mapped[str] = mapped_column(String(20))
    day: Mapped[dt.date] = mapped_column(Date)
    half_day: Mapped[str] = mapped_column(String(2))
    window_type: Mapped[str] = mapped_column(String(2))
    item_code: Mapped[str | None] = mapped_column(String(16), nullable=True)
    name: Mapped[str] = mapped_column(String(50))
    id_number: Mapped[str] = mapped_column(String(18))
    mobile: Mapped[str] = mapped_column(String(11))
    status: Mapped[str] = mapped_column(String(12), default="booked")  # booked|kept|cancelled|missed
    channel: Mapped[str] = mapped_column(String(8), default="online")   # online | counter
    booked_by: Mapped[str] = mapped_column(String(50), default="")      # the counter's username
    booked_at: Mapped[dt.datetime] = mapped_column(DateTime)            # UTC
    moves: Mapped[int] = mapped_column(Integer, default=0)
    moved_from: Mapped[str] = mapped_column(String(20), default="")
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)  # kept/cancelled/missed
    ticket_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    reminded_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)

    __table_args__ = (
        Index("uq_hall_appointments_booking_no", "station", "booking_no", unique=True),
        Index("ix_hall_appointments_day_status", "station", "day", "status"),
        Index("ix_hall_appointments_id_number", "id_number"),
    )


class HallTicketCounter(Base):
    """The last number given per station, day and window type: `series` "ticket" for
    queue tickets (A001..), "booking" for booking numbers. Numbers come from
    `UPDATE ... SET last = last + 1`, so they continue after a restart and start at 1
    on a new day."""

    __tablename__ = "hall_ticket_counters"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    station: Mapped[str] = mapped_column(String(12))
    day: Mapped[dt.date] = mapped_column(Date)
    window_type: Mapped[str] = mapped_column(String(2))
    series: Mapped[str] = mapped_column(String(8), default="ticket")
    last: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (
        Index("uq_hall_ticket_counters", "station", "day", "window_type", "series", unique=True),
    )


class HallTicket(Base):
    """A queue ticket (取号): waiting -> called -> finished | no_show. Times are UTC.
    waiting time = called_at - issued_at (the first call); service time = finished_at -
    called_at (none for a no-show); `announced_at` is the latest call or recall (the
    display's order)."""

    __tablename__ = "hall_tickets"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    station: Mapped[str] = mapped_column(String(12))
    day: Mapped[dt.date] = mapped_column(Date)            # Asia/Shanghai day of issue
    window_type: Mapped[str] = mapped_column(String(2))
    number: Mapped[int] = mapped_column(Integer)
    ticket_no: Mapped[str] = mapped_column(String(8))     # "A023"
    kind: Mapped[str] = mapped_column(String(12))         # walk_in | appointment | priority
    appointment_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    applicant_name: Mapped[str] = mapped_column(String(50))
    id_number: Mapped[str] = mapped_column(String(18))
    priority_reason: Mapped[str | None] = mapped_column(String(12), nullable=True)  # elderly | disabled
    status: Mapped[str] = mapped_column(String(10), default="waiting")
    issued_at: Mapped[dt.datetime] = mapped_column(DateTime)
    issued_by: Mapped[str] = mapped_column(String(50), default="")
    called_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    announced_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    window: Mapped[str | None] = mapped_column(String(8), nullable=True)
    called_by: Mapped[str | None] = mapped_column(String(50), nullable=True)
    recalls: Mapped[int] = mapped_column(Integer, default=0)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    no_show_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    case_no: Mapped[str | None] = mapped_column(String(40), nullable=True)
    sent_to_district: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    __table_args__ = (
        Index("uq_hall_tickets_number", "station", "day", "window_type", "number", unique=True),
        Index("ix_hall_tickets_queue", "station", "day", "window_type", "status"),
        Index("ix_hall_tickets_announced", "station", "day", "announced_at"),
    )


class HallVisit(Base):
    """District only: one closed visit to a station's hall, from the stations' `hall.visit`
    messages (and the district's own tickets): a ticket finished or marked a no-show, or
    an appointment missed. `visit_no` is the ticket number ("A023"), or the booking number
    of a missed appointment (which has no ticket). The hall's figures
    (shared/hall/visits.py) group and count these rows; `tier`, `hour` (Asia/Shanghai hour
    of issue), `wait_seconds` and `service_seconds` are derived on arrival
    (shared/hall/waiting.py visit_facts) so the database can GROUP BY them."""

    __tablename__ = "hall_visits"
    station: Mapped[str] = mapped_column(String(12), primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)           # the station's day
    visit_no: Mapped[str] = mapped_column(String(20), primary_key=True)
    tier: Mapped[str] = mapped_column(String(12))
    window_type: Mapped[str] = mapped_column(String(2))
    kind: Mapped[str] = mapped_column(String(12))       # walk_in | appointment | priority
    status: Mapped[str] = mapped_column(String(10))     # finished | no_show | missed
    booking_no: Mapped[str | None] = mapped_column(String(20), nullable=True)
    issued_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)   # UTC
    called_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    hour: Mapped[int | None] = mapped_column(Integer, nullable=True)
    wait_seconds: Mapped[int | None] = mapped_column(Integer, nullable=True)
    service_seconds: Mapped[int | None] = mapped_column(Integer, nullable=True)
    case_no: Mapped[str | None] = mapped_column(String(40), nullable=True)
    received_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)

    __table_args__ = (
        # the figures of a period of days, grouped by station, window type or hour
        Index("ix_hall_visits_figures", "day", "station", "tier", "window_type", "hour", "status", "kind",
              "wait_seconds", "service_seconds"),
    )


# --- notices to residents and one-time codes (issue 16; shared/notices/) -------------

class ResidentNotice(Base):
    """A notice to a resident (an SMS), written in the transaction of the change it
    tells (shared/notices/outbox.add_notice) and sent once by the station's notice sender
    (services/notices.py). `notice_id` is the gateway's idempotency key (out_id): a
    notice sent but not yet marked is sent again with the same id, and the gateway keeps
    one. Unsent: sent_at and abandoned_at are NULL; due when next_attempt_at <= now (a
    sender claims a row by moving next_attempt_at forward before it sends). Times UTC."""

    __tablename__ = "resident_notices"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    notice_id: Mapped[str] = mapped_column(String(36))
    station: Mapped[str] = mapped_column(String(12))
    kind: Mapped[str] = mapped_column(String(24))          # shared/notices/templates.py KINDS
    mobile: Mapped[str] = mapped_column(String(11))
    template_id: Mapped[str] = mapped_column(String(32))
    params: Mapped[dict] = mapped_column(JSON)
    case_no: Mapped[str | None] = mapped_column(String(40), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    sent_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    failed_reason: Mapped[str | None] = mapped_column(String(200), nullable=True)  # the last failure
    abandoned_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)

    __table_args__ = (
        Index("uq_resident_notices_notice_id", "notice_id", unique=True),
        Index("ix_resident_notices_due", "sent_at", "abandoned_at", "next_attempt_at"),
        Index("ix_resident_notices_case_no", "case_no"),
    )


class OneTimeCode(Base):
    """A 6-digit code sent to a mobile (shared/notices/one_time_codes.py): only its keyed
    hash is kept; valid until expires_at, for `tries` wrong answers at most, used once.
    Rows of the last hour also count the codes asked per mobile and per client address."""

    __tablename__ = "one_time_codes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    station: Mapped[str] = mapped_column(String(12))
    mobile: Mapped[str] = mapped_column(String(11))
    purpose: Mapped[str] = mapped_column(String(24))
    code_hash: Mapped[str] = mapped_column(String(64))
    client: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime)
    tries: Mapped[int] = mapped_column(Integer, default=0)
    used_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)

    __table_args__ = (
        Index("ix_one_time_codes_mobile", "mobile", "created_at"),
        Index("ix_one_time_codes_client", "client", "created_at"),
    )


# --- uploaded materials' files (issue 16; shared/materials_files/) -------------------

class MaterialBlob(Base):
    """The bytes of an uploaded file, once per content: the primary key is the SHA-256 of
    `content` (hex), so the same scan uploaded twice, or for two cases, is kept once.
    Kept in the station's database (bytea on PostgreSQL, a BLOB on SQLite) rather than in
    files beside it: a file and its row commit or roll back together (a refused upload
    leaves nothing), and the database's backup holds them."""

    __tablename__ = "material_blobs"
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(Integer)
    content: Mapped[bytes] = mapped_column(LargeBinary)
    stored_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class MaterialFile(Base):
    """One file of one material of a case at this station: uploaded here (`station` is
    this station's code) or received from the station before this one on the case's route
    (`station`: where it was uploaded), its content verified against `sha256` before it was
    kept (`verified_at`). One row per case, material and content."""

    __tablename__ = "material_files"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_no: Mapped[str] = mapped_column(String(40))
    material: Mapped[str] = mapped_column(String(16))        # the item's material code (M01)
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    media_type: Mapped[str] = mapped_column(String(40))      # application/pdf | image/jpeg | image/png
    filename: Mapped[str] = mapped_column(String(120), default="")
    uploaded_by: Mapped[str] = mapped_column(String(100))
    uploaded_at: Mapped[dt.datetime] = mapped_column(DateTime)   # UTC, at the station it was uploaded
    station: Mapped[str] = mapped_column(String(12))         # where it was uploaded
    received_from: Mapped[str | None] = mapped_column(String(12), nullable=True)  # None: uploaded here
    verified_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)

    __table_args__ = (
        Index("uq_material_files_case_file", "case_no", "material", "sha256", unique=True),
    )


class SupervisionCard(Base):
    """District only: where a supervision alert (a warning or a card, SupervisionAlert)
    stands after it was issued (shared/supervision/cards.py). An alert without a row here
    is `issued`: the patrol writes only the alert, and the first step adds the row.
    `state`: explained (the responsible department wrote why), confirmed or revoked by
    the supervisor; a revoked card is not counted in the figures."""

    __tablename__ = "supervision_cards"
    case_no: Mapped[str] = mapped_column(String(40), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    state: Mapped[str] = mapped_column(String(12), index=True)
    explanation: Mapped[str | None] = mapped_column(Text, nullable=True)
    explained_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    explained_at: Mapped[str | None] = mapped_column(String(40), nullable=True)
    explained_late: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    decided_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    decided_at: Mapped[str | None] = mapped_column(String(40), nullable=True)
    decision_reason: Mapped[str | None] = mapped_column(Text, nullable=True)


class SupervisionCardStep(Base):
    """District only, append-only: one row per step taken on a card after it was issued
    (explain, confirm, revoke), who took it, when and with what text. The issue itself
    is the SupervisionAlert row."""

    __tablename__ = "supervision_card_steps"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                    autoincrement=True)
    case_no: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(20))
    action: Mapped[str] = mapped_column(String(12))      # explain | confirm | revoke
    from_state: Mapped[str] = mapped_column(String(12))
    to_state: Mapped[str] = mapped_column(String(12))
    actor: Mapped[str] = mapped_column(String(100))
    username: Mapped[str] = mapped_column(String(50))
    at: Mapped[str] = mapped_column(String(40))
    text: Mapped[str] = mapped_column(Text, default="")
    late: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    __table_args__ = (Index("ix_supervision_card_steps_card", "case_no", "kind", "id"),)


class RatingRecord(Base):
    """District only: one rating per case (好差评, shared/ratings/): the level the resident
    gave, copied from the case's record when it reaches the district, or 「基本满意（默认）」
    given by the patrol to a case left unrated 7 days after completion (`is_default`,
    counted apart). `annulled` once an appeal succeeded: the row stays, the figures leave it."""

    __tablename__ = "ratings"
    case_no: Mapped[str] = mapped_column(String(40), primary_key=True)
    level: Mapped[str] = mapped_column(String(20))
    score: Mapped[int] = mapped_column(Integer)
    reasons: Mapped[str] = mapped_column(Text, default="", server_default="")   # codes, comma-separated
    comment: Mapped[str] = mapped_column(Text, default="", server_default="")
    is_default: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    rated_by: Mapped[str] = mapped_column(String(100), default="", server_default="")
    rated_at: Mapped[str] = mapped_column(String(40))
    rated_on: Mapped[dt.date] = mapped_column(Date)   # district-local
    department: Mapped[str] = mapped_column(String(40))
    deciding_station: Mapped[str | None] = mapped_column(String(12), nullable=True)
    filing_station: Mapped[str] = mapped_column(String(12))
    annulled: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    __table_args__ = (Index("ix_ratings_rated_on", "rated_on"), Index("ix_ratings_department", "department"))


class Rectification(Base):
    """District only: the rectification order (整改) a bad rating opened for the office
    responsible (a department, or the counter's station), due in working days
    (shared/ratings/rectification.py): the office's action, the follow-up call (回访)
    with the resident's answer, the resident's rating of the rectification."""

    __tablename__ = "rectifications"
    case_no: Mapped[str] = mapped_column(String(40), primary_key=True)
    office: Mapped[str] = mapped_column(String(40), index=True)
    office_kind: Mapped[str] = mapped_column(String(12))     # department | counter
    station: Mapped[str] = mapped_column(String(12))         # the deciding or the counter's station
    state: Mapped[str] = mapped_column(String(12), index=True)
    opened_at: Mapped[str] = mapped_column(String(40))
    opened_on: Mapped[dt.date] = mapped_column(Date)
    due_date: Mapped[dt.date] = mapped_column(Date)
    action: Mapped[str | None] = mapped_column(Text, nullable=True)
    acted_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    acted_on: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    follow_up: Mapped[str | None] = mapped_column(Text, nullable=True)
    followed_up_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    followed_up_on: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    resident_level: Mapped[str | None] = mapped_column(String(20), nullable=True)
    card_raised: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class RatingAppeal(Base):
    """District only: an office's appeal (申诉) against a rating, and the supervisor's
    decision (upheld: the rating stands; annulled: it leaves the figures)."""

    __tablename__ = "rating_appeals"
    case_no: Mapped[str] = mapped_column(String(40), primary_key=True)
    office: Mapped[str] = mapped_column(String(40))
    reason: Mapped[str] = mapped_column(Text)
    appealed_by: Mapped[str] = mapped_column(String(100))
    appealed_at: Mapped[str] = mapped_column(String(40))
    state: Mapped[str] = mapped_column(String(12), index=True)
    decided_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    decided_at: Mapped[str | None] = mapped_column(String(40), nullable=True)
    decision_reason: Mapped[str | None] = mapped_column(Text, nullable=True)


class RatingStep(Base):
    """District only, append-only: every step on a rating, its rectification or its
    appeal (who, when, what), so an annulled rating's history is kept."""

    __tablename__ = "rating_steps"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                    autoincrement=True)
    case_no: Mapped[str] = mapped_column(String(40))
    action: Mapped[str] = mapped_column(String(20))
    actor: Mapped[str] = mapped_column(String(100))
    at: Mapped[str] = mapped_column(String(40))
    text: Mapped[str] = mapped_column(Text, default="", server_default="")

    __table_args__ = (Index("ix_rating_steps_case", "case_no", "id"),)


class Bundle(Base):
    """The current state of each bundle (一件事, issue 18), retired ones included: written
    only by applying the catalogue's change log (kind "bundle"), at every station.
    `payload` is the bundle as shared/catalogue/bundles.py validated it."""

    __tablename__ = "bundles"
    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(100), index=True)
    promised_limit_days: Mapped[int] = mapped_column(Integer)
    payload: Mapped[dict] = mapped_column(JSON)
