"""The hall's database work at one station: `HallStore(session, station_code, network,
calendar, clock)` on one SQLAlchemy session (the caller's transaction; nothing here
commits). `clock()` answers the station's current time, an aware datetime.

What keeps the data right when several counters and residents act at once (in one
process or, on PostgreSQL, in several):
- a slot's places: `UPDATE hall_slots SET booked = booked + 1 WHERE ... AND booked <
  capacity`; no row changed = the slot is full (409). Two residents never get the last
  place, whatever the interleaving (PostgreSQL re-checks the condition on the row a
  concurrent booking committed);
- numbers (tickets and booking numbers): one upsert `... SET last = last + 1 RETURNING
  last` on a counter row per station, day and window type: they continue after a
  restart and start at 1 on a new day;
- calling: the next waiting ticket is taken with `UPDATE ... WHERE id = :id AND status =
  'waiting'`; no row changed = another counter took it at the same moment, so the next
  one is tried. Two counters never get the same ticket.

Answers are plain dicts ready for JSON (days "YYYY-MM-DD", times ISO in Asia/Shanghai),
with the full ID number and mobile: the HTTP layer masks them (shared/hall/schemas.py).
"""
import datetime as dt
import logging

from sqlalchemy import case, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from shared.cases import lookup_limits
from shared.clock import DISTRICT_TZ
from shared.db.models import Appointment, HallSlot, HallTicket, HallTicketCounter, Item, ResidentLookupAttempt
from shared.exceptions import Conflict, InvalidInput, NotFound, TooManyAttempts
from shared.hall import appointments as rules
from shared.hall import slots as slot_rules
from shared.hall import tickets as ticket_rules
from shared.hall import visits as hall_visits
from shared.hall.policy import HALF_DAY_NAMES, HallPolicy

log = logging.getLogger(__name__)

SLOT_FULL = "该时段已约满，请选择其他时段"
NO_MATCH = ("没有与该预约号、身份证号和手机号相符的预约（no appointment matches this booking number, ID number "
            "and mobile number）")
CALL_TRIES = 50       # tickets taken by other counters before this one gives up (409)
DISPLAY_CALLS = 8     # the display's last calls
TICKET_SERIES, BOOKING_SERIES = "ticket", "booking"
BOOKINGS_PER_ADDRESS = 20  # online bookings tried from one client address within lookup_limits.WINDOW


def _local(when):
    """A naive UTC datetime from the database as ISO text in Asia/Shanghai (or None)."""
    if when is None:
        return None
    return when.replace(tzinfo=dt.timezone.utc).astimezone(DISTRICT_TZ).isoformat(timespec="seconds")


def _seconds(start, end):
    return None if start is None or end is None else int((end - start).total_seconds())


class HallStore:
    def __init__(self, session, station_code, network, calendar, clock):
        self.session = session
        self.station_code = station_code
        self.network = network
        self.tier = network.station(station_code).tier
        self.policy = getattr(network, "hall", None) or HallPolicy()
        self.calendar = calendar
        self.clock = clock
        self.message_ids = []  # outbox messages this store queued: the caller publishes them after commit

    def _report(self, visit):
        message_id = hall_visits.report_visit(self.session, self.station_code, self.network.district_code, visit)
        if message_id is not None:
            self.message_ids.append(message_id)

    # -- time ---------------------------------------------------------------------------
    def now(self):
        """The station's time, aware, in Asia/Shanghai."""
        return self.clock().astimezone(DISTRICT_TZ)

    def today(self):
        return self.now().date()

    def _utcnow(self):
        return self.now().astimezone(dt.timezone.utc).replace(tzinfo=None)

    # -- numbers ------------------------------------------------------------------------
    def _next_number(self, day, window_type, series):
        """The next number of `series` for `day` and `window_type`, from one upsert."""
        dialect = self.session.get_bind().dialect.name
        insert = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}[dialect]
        statement = insert(HallTicketCounter).values(station=self.station_code, day=day, window_type=window_type,
                                                     series=series, last=1)
        statement = statement.on_conflict_do_update(
            index_elements=[HallTicketCounter.station, HallTicketCounter.day, HallTicketCounter.window_type,
                            HallTicketCounter.series],
            set_={"last": HallTicketCounter.last + 1},
        ).returning(HallTicketCounter.last)
        return self.session.execute(statement).scalar_one()

    # -- slots --------------------------------------------------------------------------
    def slots(self, start, days, window_type=None):
        """The slots from `start` for `days` days: the pure slots with `booked`, `free`
        and `open` (a resident may book it now)."""
        found = slot_rules.slots(self.calendar, self.policy, self.tier, start, days, window_type)
        if not found:
            return []
        end = start + dt.timedelta(days=days)
        rows = self.session.execute(
            select(HallSlot.day, HallSlot.half_day, HallSlot.window_type, HallSlot.booked)
            .where(HallSlot.station == self.station_code, HallSlot.day >= start, HallSlot.day < end)).all()
        booked = {(r.day, r.half_day, r.window_type): r.booked for r in rows}
        first, last = slot_rules.booking_window(self.calendar, self.policy, self.today())
        answer = []
        for slot in found:
            taken = booked.get((slot["day"], slot["half_day"], slot["window_type"]), 0)
            answer.append({**slot, "day": slot["day"].isoformat(), "booked": taken,
                           "free": max(0, slot["capacity"] - taken),
                           "open": first <= slot["day"] <= last and taken < slot["capacity"]})
        return answer

    def _slot_id(self, day, half_day, window_type):
        """The slot's row id, made (with no place booked) if it is not there yet."""
        where = (HallSlot.station == self.station_code, HallSlot.day == day, HallSlot.half_day == half_day,
                 HallSlot.window_type == window_type)
        found = self.session.scalar(select(HallSlot.id).where(*where))
        if found is not None:
            return found
        try:
            with self.session.begin_nested():  # a concurrent first booking may make it too
                row = HallSlot(station=self.station_code, day=day, half_day=half_day, window_type=window_type,
                               capacity=self.policy.capacity_for(self.tier), booked=0)
                self.session.add(row)
            return row.id
        except IntegrityError:
            return self.session.scalar(select(HallSlot.id).where(*where))

    def _take_place(self, day, half_day, window_type):
        """One place of the slot, or Conflict when it is full: a conditional UPDATE."""
        slot_id = self._slot_id(day, half_day, window_type)
        capacity = self.policy.capacity_for(self.tier)
        taken = self.session.execute(
            update(HallSlot).where(HallSlot.id == slot_id, HallSlot.booked < capacity)
            .values(booked=HallSlot.booked + 1, capacity=capacity)
            .execution_options(synchronize_session=False)).rowcount
        if taken != 1:
            raise Conflict(SLOT_FULL, {"slot": [f"{day} {half_day} {window_type}: full"]})

    def _give_back_place(self, day, half_day, window_type):
        self.session.execute(
            update(HallSlot).where(HallSlot.station == self.station_code, HallSlot.day == day,
                                   HallSlot.half_day == half_day, HallSlot.window_type == window_type,
                                   HallSlot.booked > 0)
            .values(booked=HallSlot.booked - 1).execution_options(synchronize_session=False))

    # -- appointments -------------------------------------------------------------------
    def book(self, name, id_number, mobile, day, half_day, window_type, item_code=None, user=None):
        """A new appointment (the resident's own when `user` is None, else booked by that
        counter user): InvalidInput for a slot that does not exist or may not be booked
        now, Conflict when it is full or the person already holds one that day."""
        now = self.now()
        slot_rules.check_slot(self.calendar, self.policy, self.tier, day, half_day, window_type)
        rules.check_bookable(self.calendar, self.policy, now, day, half_day, by_counter=user is not None)
        if item_code:
            item = self.session.get(Item, item_code)
            if item is None or item.status != "current":
                raise InvalidInput(f"item_code: no current item '{item_code}' in the catalogue (事项不存在或已停办)")
        held = self.session.scalar(select(Appointment.booking_no).where(
            Appointment.station == self.station_code, Appointment.id_number == id_number,
            Appointment.day == day, Appointment.status == rules.BOOKED))
        if held:
            raise Conflict(f"this ID number already holds appointment {held} on {day} (当天已有预约，"
                           f"请改约或取消原预约)")
        self._take_place(day, half_day, window_type)
        number = self._next_number(day, window_type, BOOKING_SERIES)
        row = Appointment(station=self.station_code, booking_no=rules.booking_no(day, window_type, number),
                          day=day, half_day=half_day, window_type=window_type, item_code=item_code or None,
                          name=name, id_number=id_number, mobile=mobile, status=rules.BOOKED,
                          channel=rules.COUNTER if user else rules.ONLINE,
                          booked_by=user["username"] if user else "", booked_at=self._utcnow(),
                          moves=0, moved_from="")
        self.session.add(row)
        self.session.flush()
        log.info("appointment %s booked for %s %s %s at %s", row.booking_no, day, half_day, window_type,
                 self.station_code)
        return self.appointment_view(row)

    def _appointment(self, booking_no, lock=False):
        query = select(Appointment).where(Appointment.station == self.station_code,
                                          Appointment.booking_no == booking_no)
        row = self.session.scalars(query.with_for_update() if lock else query).first()
        if row is None:
            raise NotFound(f"no appointment {booking_no} at this station (预约号不存在)")
        return row

    def appointment(self, booking_no):
        return self.appointment_view(self._appointment(booking_no))

    def begin_attempt(self, booking_no, client):
        """Count a resident's try at an appointment as failed until attempt_succeeded;
        TooManyAttempts (429) beyond the limits of shared/cases/lookup_limits.py, per
        booking number and per client address. Commit it before checking."""
        try:
            return lookup_limits.begin(self.session, f"hall:{booking_no}"[:40], client, self._utcnow())
        except TooManyAttempts as refused:
            minutes = -(-refused.retry_after // 60)
            raise TooManyAttempts(f"预约查询失败次数过多，请 {minutes} 分钟后再试（too many failed tries for this "
                                  f"booking number or from this address: try again in {minutes} minutes）",
                                  refused.retry_after) from None

    def count_online_booking(self, client):
        """Count a resident's booking try from `client` (kept as a row of the lookup
        attempts, keyed "hb:<address>", pruned with them); TooManyAttempts (429) beyond
        BOOKINGS_PER_ADDRESS within the window. Commit it before booking."""
        now = self._utcnow()
        since = now - lookup_limits.WINDOW
        key = f"hb:{client}"[:40]
        self.session.execute(delete(ResidentLookupAttempt).where(ResidentLookupAttempt.at <= since))
        times = self.session.scalars(select(ResidentLookupAttempt.at).where(
            ResidentLookupAttempt.case_no == key, ResidentLookupAttempt.at > since)
            .order_by(ResidentLookupAttempt.at)).all()
        if len(times) >= BOOKINGS_PER_ADDRESS:
            wait = max(1, int((times[len(times) - BOOKINGS_PER_ADDRESS] + lookup_limits.WINDOW - now).total_seconds()))
            minutes = -(-wait // 60)
            raise TooManyAttempts(f"预约请求过多，请 {minutes} 分钟后再试（too many bookings from this address: try "
                                  f"again in {minutes} minutes）", wait)
        self.session.add(ResidentLookupAttempt(case_no=key, client="", at=now))

    def attempt_succeeded(self, attempt_id):
        lookup_limits.succeeded(self.session, attempt_id)

    def verify(self, booking_no, id_number, mobile):
        """The appointment if all three match, else NotFound (the same answer for an
        unknown booking number and a wrong ID or mobile)."""
        row = self.session.scalars(select(Appointment).where(
            Appointment.station == self.station_code, Appointment.booking_no == booking_no)).first()
        if row is None or row.id_number != id_number or row.mobile != mobile:
            raise NotFound(NO_MATCH)
        return self.appointment_view(row)

    def move(self, booking_no, day, half_day, user=None):
        """The appointment moved to `day`'s `half_day` (same window type, same booking
        number), until its slot starts; the new slot must have a place."""
        row = self._appointment(booking_no, lock=True)
        now = self.now()
        rules.check_changeable(self.policy, self.appointment_view(row, raw=True), now)
        if (row.day, row.half_day) == (day, half_day):
            raise InvalidInput("day: the appointment is already for this slot (已是该时段)")
        slot_rules.check_slot(self.calendar, self.policy, self.tier, day, half_day, row.window_type)
        rules.check_bookable(self.calendar, self.policy, now, day, half_day, by_counter=user is not None)
        self._take_place(day, half_day, row.window_type)
        self._give_back_place(row.day, row.half_day, row.window_type)
        row.moved_from = f"{row.day.isoformat()} {row.half_day}"
        row.moves += 1
        row.day, row.half_day = day, half_day
        self.session.flush()
        log.info("appointment %s moved from %s to %s %s", booking_no, row.moved_from, day, half_day)
        return self.appointment_view(row)

    def cancel(self, booking_no, user=None):
        """Cancelled until its slot starts; the place is free again."""
        row = self._appointment(booking_no, lock=True)
        rules.check_changeable(self.policy, self.appointment_view(row, raw=True), self.now())
        self._give_back_place(row.day, row.half_day, row.window_type)
        row.status, row.closed_at = rules.CANCELLED, self._utcnow()
        self.session.flush()
        log.info("appointment %s cancelled", booking_no)
        return self.appointment_view(row)

    def appointments(self, day=None, status=None):
        """The station's appointments of `day` (today when None), by slot and number."""
        query = select(Appointment).where(Appointment.station == self.station_code,
                                          Appointment.day == (day or self.today()))
        if status:
            query = query.where(Appointment.status == status)
        rows = self.session.scalars(query.order_by(Appointment.half_day, Appointment.window_type,
                                                   Appointment.booking_no)).all()
        return [self.appointment_view(r) for r in rows]

    def mark_missed(self):
        """Appointments of half days that have ended and were not kept become missed; how
        many."""
        now = self.now()
        rows = self.session.scalars(select(Appointment).where(
            Appointment.station == self.station_code, Appointment.status == rules.BOOKED,
            Appointment.day <= now.date())).all()
        missed = [r for r in rows if rules.is_missed(self.policy, r.day, r.half_day, now)]
        for row in missed:
            row.status, row.closed_at = rules.MISSED, self._utcnow()
            self._report(hall_visits.visit_of_missed_appointment(row))
        if missed:
            log.info("%d appointment(s) at %s marked missed", len(missed), self.station_code)
        return len(missed)

    def reminders_due(self):
        """The appointments to remind today: those booked for the next working day (no
        notice channel to residents exists yet: the desk shows this list)."""
        if not self.policy.reminder:
            return []
        return self.appointments(rules.reminder_day(self.calendar, self.today()), rules.BOOKED)

    def appointment_view(self, row, raw=False):
        kind = self.policy.find(row.window_type)
        view = {
            "booking_no": row.booking_no, "station": row.station,
            "day": row.day if raw else row.day.isoformat(), "half_day": row.half_day,
            "half_day_name": HALF_DAY_NAMES.get(row.half_day, row.half_day),
            "window_type": row.window_type, "window_type_name": kind.name if kind else row.window_type,
            "item_code": row.item_code, "name": row.name, "id_number": row.id_number, "mobile": row.mobile,
            "status": row.status, "status_name": rules.STATUS_NAMES.get(row.status, row.status),
            "channel": row.channel, "booked_by": row.booked_by, "booked_at": _local(row.booked_at),
            "moves": row.moves, "moved_from": row.moved_from, "closed_at": _local(row.closed_at),
            "ticket_id": row.ticket_id,
        }
        if not raw:
            start = slot_rules.slot_start(self.policy, row.day, row.half_day)
            view["starts_at"] = start.isoformat(timespec="minutes")
            view["ends_at"] = slot_rules.slot_end(self.policy, row.day, row.half_day).isoformat(timespec="minutes")
        return view

    # -- tickets ------------------------------------------------------------------------
    def issue(self, kind, name, id_number, window_type=None, booking_no=None, disabled=False, user=None):
        """A new ticket for today. `appointment`: the booking number's appointment, for
        today and this ID number, is marked kept and its window type used. `priority`:
        70 or older by the ID number, or `disabled`. One waiting ticket per ID number and
        window type (real-name tickets are not hoarded)."""
        if kind not in ticket_rules.KINDS:
            raise InvalidInput(f"kind: one of {', '.join(ticket_rules.KINDS)}")
        now, utcnow = self.now(), self._utcnow()
        today = now.date()
        appointment, reason = None, None
        if kind == ticket_rules.APPOINTMENT:
            if not booking_no:
                raise InvalidInput("booking_no: an appointment ticket needs the booking number (预约号)")
            appointment = self._appointment(booking_no, lock=True)
            if appointment.id_number != id_number:
                raise InvalidInput(f"id_number: appointment {booking_no} was booked with another ID number "
                                   f"(预约号与身份证号不符)")
            if appointment.status != rules.BOOKED:
                raise Conflict(f"appointment {booking_no} is {rules.STATUS_NAMES[appointment.status]}: "
                               f"no ticket can be issued from it")
            if appointment.day != today:
                raise Conflict(f"appointment {booking_no} is for {appointment.day} "
                               f"{HALF_DAY_NAMES[appointment.half_day]}, not today (非当日预约，请现场取号或改约)")
            window_type = appointment.window_type
            name = name or appointment.name
        elif kind == ticket_rules.PRIORITY:
            reason = ticket_rules.check_priority(id_number, today, disabled)
        if not window_type:
            raise InvalidInput("window_type: which window type the ticket is for (窗口类型)")
        kind_of_window = self.policy.window_type(window_type, self.tier)
        if not name:
            raise InvalidInput("name: the applicant's name (实名取号)")
        holding = self.session.scalar(select(HallTicket.ticket_no).where(
            HallTicket.station == self.station_code, HallTicket.day == today,
            HallTicket.window_type == window_type, HallTicket.id_number == id_number,
            HallTicket.status == ticket_rules.WAITING))
        if holding:
            raise Conflict(f"this ID number already holds ticket {holding}, still waiting (已取号 {holding}，"
                           f"请勿重复取号)")
        number = self._next_number(today, window_type, TICKET_SERIES)
        row = HallTicket(station=self.station_code, day=today, window_type=window_type, number=number,
                         ticket_no=ticket_rules.ticket_no(window_type, number), kind=kind,
                         appointment_id=appointment.id if appointment else None, applicant_name=name,
                         id_number=id_number, priority_reason=reason, status=ticket_rules.WAITING,
                         issued_at=utcnow, issued_by=user["username"] if user else "", recalls=0,
                         sent_to_district=False)
        self.session.add(row)
        self.session.flush()
        if appointment is not None:
            appointment.status, appointment.closed_at, appointment.ticket_id = rules.KEPT, utcnow, row.id
        log.info("ticket %s (%s) issued at %s", row.ticket_no, kind, self.station_code)
        return {**self.ticket_view(row), "window_type_name": kind_of_window.name,
                "people_ahead": self.people_ahead(row)}

    def people_ahead(self, row):
        """Waiting tickets of the same window type that will be called before `row`."""
        if row.status != ticket_rules.WAITING:
            return 0
        rank = ticket_rules.RANK[row.kind]
        waiting = self.session.execute(select(HallTicket.kind, HallTicket.issued_at, HallTicket.number).where(
            HallTicket.station == self.station_code, HallTicket.day == row.day,
            HallTicket.window_type == row.window_type, HallTicket.status == ticket_rules.WAITING,
            HallTicket.id != row.id)).all()
        mine = (rank, row.issued_at, row.number)
        return sum(1 for w in waiting if (ticket_rules.RANK[w.kind], w.issued_at, w.number) < mine)

    def _ticket(self, ticket_id):
        row = self.session.get(HallTicket, ticket_id)
        if row is None or row.station != self.station_code:
            raise NotFound(f"no ticket {ticket_id} at this station (排队号不存在)")
        return row

    def ticket(self, ticket_id):
        row = self._ticket(ticket_id)
        return {**self.ticket_view(row), "people_ahead": self.people_ahead(row)}

    def tickets(self, status=None, window_type=None, day=None):
        """Today's (or `day`'s) tickets; waiting ones in calling order, the rest newest
        call first."""
        if status is not None and status not in ticket_rules.STATUSES:
            raise InvalidInput(f"status: one of {', '.join(ticket_rules.STATUSES)}")
        if window_type is not None:
            self.policy.window_type(window_type, self.tier)
        query = select(HallTicket).where(HallTicket.station == self.station_code,
                                         HallTicket.day == (day or self.today()))
        if status:
            query = query.where(HallTicket.status == status)
        if window_type:
            query = query.where(HallTicket.window_type == window_type)
        rows = self.session.scalars(query).all()
        waiting = sorted((r for r in rows if r.status == ticket_rules.WAITING),  # the calling order, then issue
                         key=lambda r: (ticket_rules.RANK[r.kind], r.issued_at, r.id))
        others = sorted((r for r in rows if r.status != ticket_rules.WAITING),
                        key=lambda r: (r.announced_at or r.issued_at, r.id), reverse=True)
        return [self.ticket_view(r) for r in waiting + others]

    def call_next(self, window_type, window, user=None):
        """The next waiting ticket of `window_type`, called to `window`; NotFound when
        nobody waits. Taken with a compare-and-set UPDATE, retried when another counter
        took that ticket at the same moment."""
        self.policy.window_type(window_type, self.tier)
        window = str(window).strip()
        if not window or len(window) > 8:
            raise InvalidInput("window: the window's number or name (1 to 8 characters), e.g. 3")
        today = self.today()
        order = case({ticket_rules.PRIORITY: 0, ticket_rules.APPOINTMENT: 1}, value=HallTicket.kind, else_=2)
        for _ in range(CALL_TRIES):
            candidate = self.session.scalar(
                select(HallTicket.id).where(HallTicket.station == self.station_code, HallTicket.day == today,
                                            HallTicket.window_type == window_type,
                                            HallTicket.status == ticket_rules.WAITING)
                .order_by(order, HallTicket.issued_at, HallTicket.number).limit(1))
            if candidate is None:
                raise NotFound(f"nobody is waiting for window type {window_type} (当前无人等候)")
            utcnow = self._utcnow()
            taken = self.session.execute(
                update(HallTicket).where(HallTicket.id == candidate, HallTicket.status == ticket_rules.WAITING)
                .values(status=ticket_rules.CALLED, called_at=utcnow, announced_at=utcnow, window=window,
                        called_by=user["username"] if user else "")
                .execution_options(synchronize_session=False)).rowcount
            if taken == 1:
                row = self._ticket(candidate)
                self.session.refresh(row)
                log.info("ticket %s called to window %s", row.ticket_no, window)
                return self.ticket_view(row)
        raise Conflict("other counters kept taking the next ticket at the same moment; call again")

    def _called(self, ticket_id, action):
        row = self._ticket(ticket_id)
        if row.status != ticket_rules.CALLED:
            raise Conflict(f"ticket {row.ticket_no} is {ticket_rules.STATUS_NAMES[row.status]}: only a called "
                           f"ticket can be {action}")
        return row

    def recall(self, ticket_id, user=None):
        """Announce a called ticket again (the display shows it as the newest call)."""
        row = self._called(ticket_id, "recalled")
        row.recalls += 1
        row.announced_at = self._utcnow()
        self.session.flush()
        return self.ticket_view(row)

    def no_show(self, ticket_id, user=None):
        row = self._called(ticket_id, "marked as not come")
        row.status, row.no_show_at = ticket_rules.NO_SHOW, self._utcnow()
        self.session.flush()
        self._ticket_closed(row)
        return self.ticket_view(row)

    def finish(self, ticket_id, case_no=None, user=None):
        row = self._called(ticket_id, "finished")
        if case_no:
            self._remember_case(row, case_no)
        row.status, row.finished_at = ticket_rules.FINISHED, self._utcnow()
        self.session.flush()
        self._ticket_closed(row)
        return self.ticket_view(row)

    def attach_case(self, ticket_id, case_no):
        """The case filed from this ticket (CaseDesk.file, in the filing's transaction):
        the ticket must be called or finished, and not already hold another case."""
        row = self._ticket(ticket_id)
        if row.status not in (ticket_rules.CALLED, ticket_rules.FINISHED):
            raise Conflict(f"ticket {row.ticket_no} is {ticket_rules.STATUS_NAMES[row.status]}: a case is filed "
                           f"from a called ticket")
        self._remember_case(row, case_no)
        self.session.flush()
        return self.ticket_view(row)

    def _remember_case(self, row, case_no):
        if row.case_no and row.case_no != case_no:
            raise Conflict(f"ticket {row.ticket_no} already belongs to case {row.case_no}")
        row.case_no = case_no

    def _ticket_closed(self, ticket):
        """Called in the same transaction when a ticket is finished or marked no-show
        (`ticket` is the HallTicket row, already updated). The district's copy of the
        visit (H3: the `hall.visit` outbox message) is added here."""
        appointment = self.session.get(Appointment, ticket.appointment_id) if ticket.appointment_id else None
        self._report(hall_visits.visit_of_ticket(ticket, appointment.booking_no if appointment else None))
        ticket.sent_to_district = True

    def display(self):
        """What the hall's big screen shows: the last calls (ticket number, window, time;
        no names) and how many wait per window type of the station."""
        today = self.today()
        calls = self.session.execute(
            select(HallTicket.ticket_no, HallTicket.window, HallTicket.window_type, HallTicket.announced_at,
                   HallTicket.recalls)
            .where(HallTicket.station == self.station_code, HallTicket.day == today,
                   HallTicket.announced_at.is_not(None))
            .order_by(HallTicket.announced_at.desc(), HallTicket.id.desc()).limit(DISPLAY_CALLS)).all()
        counts = dict(self.session.execute(
            select(HallTicket.window_type, func.count()).where(
                HallTicket.station == self.station_code, HallTicket.day == today,
                HallTicket.status == ticket_rules.WAITING).group_by(HallTicket.window_type)).all())
        return {
            "station": self.station_code, "day": today.isoformat(),
            "now": self.now().isoformat(timespec="seconds"),
            "calls": [{"ticket_no": c.ticket_no, "window": c.window, "window_type": c.window_type,
                       "called_at": _local(c.announced_at), "recalls": c.recalls} for c in calls],
            "waiting": [{"window_type": w.code, "name": w.name, "waiting": counts.get(w.code, 0)}
                        for w in self.policy.window_types_for(self.tier)],
        }

    def ticket_view(self, row):
        kind = self.policy.find(row.window_type)
        return {
            "id": row.id, "station": row.station, "day": row.day.isoformat(), "ticket_no": row.ticket_no,
            "number": row.number, "window_type": row.window_type,
            "window_type_name": kind.name if kind else row.window_type,
            "kind": row.kind, "kind_name": ticket_rules.KIND_NAMES[row.kind],
            "priority_reason": row.priority_reason, "appointment_id": row.appointment_id,
            "applicant_name": row.applicant_name, "id_number": row.id_number,
            "status": row.status, "status_name": ticket_rules.STATUS_NAMES[row.status],
            "issued_at": _local(row.issued_at), "issued_by": row.issued_by,
            "called_at": _local(row.called_at), "announced_at": _local(row.announced_at),
            "window": row.window, "called_by": row.called_by, "recalls": row.recalls,
            "finished_at": _local(row.finished_at), "no_show_at": _local(row.no_show_at),
            "waiting_seconds": _seconds(row.issued_at, row.called_at),
            "service_seconds": _seconds(row.called_at, row.finished_at),
            "case_no": row.case_no,
        }
