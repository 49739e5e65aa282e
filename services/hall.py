"""The station's service hall for its services: the `Hall()` dependency provider and the
`HallDesk` it injects, a narrow wrapper that runs each operation in one transaction of
its own on the station's database (shared/hall/store.py does the work), checks who may
do it, and loads request bodies through shared/hall/schemas.py.

Answers are the store's plain dicts with the full ID number and mobile; whoever shows
them masks them (the gateway through the answer schemas, the desk pages likewise).

The station's housekeeping service (services/outbox_sweeper.py) calls `mark_missed`
every few minutes (HALL_SWEEP_KEY): appointments of ended half days not kept are missed.
"""
import datetime as dt
import logging

from nameko.extensions import DependencyProvider

from services.station_context import station_context
from services.sweep_gates import sweep_gate
from shared.auth import roles
from shared.calendar import Schedule, WorkingDayCalendar
from shared.catalogue.store import CatalogueStore
from shared.exceptions import Forbidden, InvalidInput
from shared.hall import schemas
from shared.hall.appointments import half_days_ended
from shared.hall.store import HallStore
from shared.validation import load

log = logging.getLogger(__name__)

HALL_SWEEP_KEY = "TONGBAN_HALL_SWEEP_SECONDS"  # how often missed appointments are marked
MISSED_RECHECK_SECONDS = 600.0


def require_counter(user):
    """Forbidden unless `user` works at a counter (窗口人员) of this station."""
    if user is None or user.get("role") not in roles.COUNTER_ROLES:
        who = f"{user.get('name', '')}（{user.get('username', '')}）" if user else "未登录用户"
        raise Forbidden(f"{who}不能操作排队叫号：only counter staff (窗口人员) issue and call tickets")


class HallDesk:
    def __init__(self, database, info, clock, relay=None):
        self.database = database
        self.info = info
        self.clock = clock                       # () -> aware datetime
        self.relay = relay                       # publishes the district's hall.visit messages after commit
        self._calendar_cache = ((), None)

    # -- plumbing -----------------------------------------------------------------------
    def _calendar(self, session):
        """The district's working-day calendar, rebuilt only when a schedule changed."""
        store = CatalogueStore(session)
        versions = store.schedule_versions()
        cached_versions, calendar = self._calendar_cache
        if calendar is None or versions != cached_versions:
            calendar = WorkingDayCalendar(Schedule.from_dict(s) for s in store.schedules())
            self._calendar_cache = (versions, calendar)
        return calendar

    def store(self, session):
        """A HallStore on `session` (for the case desk's filing transaction, and tests)."""
        return HallStore(session, self.info.code, self.info.network, self._calendar(session), self.clock)

    def _write(self, act):
        with self.database.transaction() as session:
            store = self.store(session)
            answer = act(store)
        if store.message_ids and self.relay is not None:  # else the outbox sweeper publishes them
            self.relay.flush(store.message_ids)
        return answer

    def _read(self, act):
        with self.database.reading() as session:
            return act(self.store(session))

    def _body(self, schema, data):
        with schemas.on_day(self.clock().date()):
            return load(schema, data if data is not None else {})

    @property
    def policy(self):
        return self.info.network.hall

    def window_types(self):
        """The window types of this station: [{code, name}]."""
        return [{"code": w.code, "name": w.name} for w in self.policy.window_types_for(self.info.tier)]

    # -- slots and appointments (residents, and counters for them) ------------------------
    def slots(self, start=None, days=14, window_type=None):
        """Slots from `start` (a date; default: tomorrow) for `days` days."""
        start = start or (self.clock().date() + dt.timedelta(days=1))
        return self._read(lambda store: store.slots(start, days, window_type))

    def book(self, data, user=None, client=None):
        """A resident's booking (user None), or a counter's for a resident. A resident's
        tries are counted per `client` address (20 an hour, then 429)."""
        if user is not None:
            require_counter(user)
        body = self._body(schemas.BookingSchema, data)
        if user is None and client is not None:
            self._write(lambda store: store.count_online_booking(client))
        return self._write(lambda store: store.book(user=user, **body))

    def _opened(self, body, client):
        """The appointment the three credentials open; every try counted until it matched
        (lookup limits: per booking number and per client address)."""
        with self.database.transaction() as session:
            attempt = self.store(session).begin_attempt(body["booking_no"], client)
        with self.database.transaction() as session:
            store = self.store(session)
            found = store.verify(body["booking_no"], body["id_number"], body["mobile"])
            store.attempt_succeeded(attempt)
        return found

    def lookup(self, data, client):
        body = self._body(schemas.CredentialsSchema, data)
        return self._opened(body, client)

    def move(self, data, client, user=None):
        body = self._body(schemas.MoveSchema, data)
        self._opened(body, client)
        return self._write(lambda store: store.move(body["booking_no"], body["day"], body["half_day"], user=user))

    def cancel(self, data, client, user=None):
        body = self._body(schemas.CredentialsSchema, data)
        self._opened(body, client)
        return self._write(lambda store: store.cancel(body["booking_no"], user=user))

    def appointments(self, user, day=None, status=None):
        """A day's appointments at this station (counters)."""
        require_counter(user)
        return self._read(lambda store: store.appointments(day, status))

    def appointment(self, booking_no, user):
        require_counter(user)
        return self._read(lambda store: store.appointment(booking_no))

    def reminders_due(self, user):
        """The next working day's appointments to remind (no SMS channel exists yet)."""
        require_counter(user)
        return self._read(lambda store: store.reminders_due())

    def mark_missed(self):
        """The station's timer: appointments of ended half days not kept become missed.
        Looks only when a half day has ended since the last look (or MISSED_RECHECK_SECONDS
        later): nothing else makes an appointment missable (services/sweep_gates.py)."""
        gate = sweep_gate(self.database, "missed-appointments", MISSED_RECHECK_SECONDS)
        if not gate.begin(marker=half_days_ended(self.policy, self.clock())):
            return 0
        try:
            return self._write(lambda store: store.mark_missed())
        except BaseException:
            gate.wake()
            raise

    # -- tickets and calling (counters) --------------------------------------------------
    def issue(self, data, user):
        require_counter(user)
        body = self._body(schemas.TicketRequestSchema, data)
        return self._write(lambda store: store.issue(user=user, **body))

    def tickets(self, user, status=None, window_type=None):
        require_counter(user)
        return self._read(lambda store: store.tickets(status=status, window_type=window_type))

    def ticket(self, ticket_id, user=None):
        """One ticket of today or earlier, with the people ahead of it. Without a user:
        the printed ticket's page (the caller shows PrintedTicketSchema's fields only)."""
        if user is not None:
            require_counter(user)
        return self._read(lambda store: store.ticket(_ticket_id(ticket_id)))

    def call_next(self, data, user):
        require_counter(user)
        body = self._body(schemas.CallSchema, data)
        return self._write(lambda store: store.call_next(body["window_type"], body["window"], user=user))

    def recall(self, ticket_id, user):
        require_counter(user)
        return self._write(lambda store: store.recall(_ticket_id(ticket_id), user=user))

    def no_show(self, ticket_id, user):
        require_counter(user)
        return self._write(lambda store: store.no_show(_ticket_id(ticket_id), user=user))

    def finish(self, ticket_id, data, user):
        require_counter(user)
        body = self._body(schemas.FinishSchema, data)
        return self._write(lambda store: store.finish(_ticket_id(ticket_id), body["case_no"], user=user))

    def display(self):
        """The big screen's answer: last calls and the number waiting; no names."""
        return self._read(lambda store: store.display())


def _ticket_id(value):
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise InvalidInput(f"ticket id: a whole number, not '{value}'") from None
    if number < 1:
        raise InvalidInput("ticket id: a whole number from 1")
    return number


class Hall(DependencyProvider):
    """Injects the station's HallDesk (one per container; a transaction per call)."""

    def setup(self):
        context = station_context(self.container.config)
        self.hall = HallDesk(context.database, context.info, context.clock.now, context.relay)

    def get_dependency(self, worker_ctx):
        return self.hall
