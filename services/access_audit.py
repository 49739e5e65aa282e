"""The access audit at a station: the one way handlers record what they showed or did.

    self.access_audit.full_view(user, case)              # before a full ID/phone is shown
    with self.access_audit.change(user, "decide", case_no): ...   # a change, made or refused
    with self.access_audit.change(user, "file") as change:        # a filing: its number once made
        case = self.desk.file(...); change.case_no = case["case_no"]
    with self.access_audit.login(username) as attempt:            # a login, good or bad
        session = self.users.log_in(body); attempt.succeeded(session)

The client address and the channel (api or desk) come from the request the worker
handles, so a handler passes neither. An entry is written in its own transaction before
the answer leaves: if it cannot be written, the full view is not shown either.

At a station below the district, `copy_to_district` (the outbox sweeper's timer) puts
the entries not yet copied into one `audit.copy` outbox message per batch; at the
district, `AuditInbox.receive` keeps them, once, from the station they belong to.
"""
import logging
from contextlib import contextmanager

from marshmallow import ValidationError
from nameko.extensions import DependencyProvider
from werkzeug.wrappers import Request

from services.auth import client_address
from services.config import DATABASE_KEY, station_info
from shared.audit import entries as audit
from shared.audit.store import AuditLog
from shared.contract import load_message
from shared.db import outbox
from shared.db.database import get_database
from shared.db.inbox import first_time
from shared.exceptions import InvalidInput, TongbanError, TooManyAttempts, Unauthorized
from shared.messages import AUDIT_COPY, CASES_EXCHANGE
from shared.trust.entitlement import NotEntitled, check_audit_copy

log = logging.getLogger(__name__)

BATCH = 500  # entries per copy message


class ChangeRecord:
    def __init__(self, case_no):
        self.case_no = case_no


class LoginAttempt:
    role = ""

    def succeeded(self, session):
        """The session log_in returned: the entry names the user's role."""
        self.role = ((session or {}).get("user") or {}).get("role") or ""


class AuditTrail:
    def __init__(self, database, info, request=None):
        self.database = database
        self.info = info
        # as the login limits see it: a local proxy's X-Forwarded-For, else the connection's
        self.client = client_address(request) if request is not None else ""
        self.channel = ("desk" if request.path.startswith("/desk") else "api") if request is not None else ""

    def _write(self, kind, action, outcome, username, role="", case_no=None, shown=()):
        entry = audit.new_entry(self.info.code, kind, action, outcome, username, role, case_no, shown,
                                self.client, self.channel)
        with self.database.transaction() as session:
            AuditLog(session).append(entry, copy_to_district=not self.info.is_district)
        return entry

    def full_view(self, user, case, action="view_case"):
        """`user` is about to be shown `case` with the ID number and phone whole."""
        self._write(audit.FULL_VIEW, action, audit.OK, user["username"], user["role"], case["case_no"],
                    audit.shown_in(case))

    @contextmanager
    def change(self, user, action, case_no=None):
        """Around a change: recorded as made, or as refused (and the refusal raised on).
        Yields the record, whose `case_no` a filing sets once the case has its number."""
        record = ChangeRecord(case_no)
        try:
            yield record
        except TongbanError:
            self._write(audit.CHANGE, action, audit.REFUSED, user["username"], user["role"], record.case_no)
            raise
        self._write(audit.CHANGE, action, audit.OK, user["username"], user["role"], record.case_no)

    @contextmanager
    def login(self, username):
        """Around a login with `username` (as typed): good, wrong, or too many attempts."""
        attempt = LoginAttempt()
        username = username if isinstance(username, str) else ""
        try:
            yield attempt
        except TooManyAttempts:
            self._write(audit.LOGIN, "login", audit.THROTTLED, username)
            raise
        except (Unauthorized, InvalidInput):
            self._write(audit.LOGIN, "login", audit.FAILED, username)
            raise
        self._write(audit.LOGIN, "login", audit.OK, username, attempt.role)

    def search(self, **filters):
        with self.database.reading() as session:
            return AuditLog(session).search(**filters)


class AccessAudit(DependencyProvider):
    """Injects the AuditTrail of this station and the request being handled."""

    def setup(self):
        config = self.container.config
        self.info = station_info(config)
        self.database = get_database(config[DATABASE_KEY])

    def get_dependency(self, worker_ctx):
        request = worker_ctx.args[0] if worker_ctx.args and isinstance(worker_ctx.args[0], Request) else None
        return AuditTrail(self.database, self.info, request)


def copy_to_district(relay, info, limit=BATCH):
    """Put up to `limit` entries not yet copied into one outbox message to the district
    and publish it; returns how many entries went into it (0: none waiting)."""
    if info.is_district:
        return 0
    with relay.database.transaction() as session:
        batch = AuditLog(session).batch_to_copy(limit)
        if not batch:
            return 0
        message_id = outbox.add_message(
            session, CASES_EXCHANGE, info.network.district_code, AUDIT_COPY,
            {"station": info.code, "entries": [audit.as_message(e) for e in batch]}, info.code)
    relay.flush([message_id])
    log.info("station %s: %d access-audit entries queued for the district", info.code, len(batch))
    return len(batch)


class AuditInbox:
    """The district's side: copies of the stations' entries."""

    def __init__(self, database, info):
        self.database = database
        self.info = info

    def receive(self, message):
        """Keep a copy once (by message id, and by entry id), from the station whose
        entries they are; NotEntitled (dead-lettered, nothing kept) otherwise. The copy is
        loaded through the contract first (shared/contract.py: InvalidMessage otherwise)."""
        message = load_message(message)
        sender, body = message["sender"], message["body"]
        check_audit_copy(sender, self.info.code, body)
        try:
            entries = [audit.from_message(e) for e in body["entries"]]
        except ValidationError as exc:
            raise NotEntitled(f"refused an access-audit copy from station {sender}: {exc.messages}") from None
        with self.database.transaction() as session:
            if not first_time(session, message["message_id"], message["kind"]):
                return 0
            return AuditLog(session).receive(entries)


class AuditInboxProvider(DependencyProvider):
    def setup(self):
        config = self.container.config
        self.inbox = AuditInbox(get_database(config[DATABASE_KEY]), station_info(config))

    def get_dependency(self, worker_ctx):
        return self.inbox
