"""The district learns about every closed visit to a station's hall, and counts them.

A station closes a visit when a ticket is finished or marked a no-show, or when an
appointment is marked missed. In the same transaction (shared/hall/store.py calls
`report_visit`), a station below the district puts one `hall.visit` message into its
outbox, addressed to the district; the district's own visits are stored at once. The
district's inbox keeps each visit once (`receive_visit`): by message id, and by the
visit's key (station, day, ticket or booking number), so a message delivered twice, or
sent twice, is one row of `hall_visits`.

`statistics(session, start, end, by, network)` answers the hall's figures from those rows
with GROUP BY, the rows `shared.hall.waiting.hall_figures` gives for the same visits
(the definitions are there); the 90th-percentile wait is picked by a window function
(ROW_NUMBER over the group's sorted waits), which SQLite and PostgreSQL both have.

No nameko, no broker.
"""
import datetime as dt

from sqlalchemy import and_, func, select
from sqlalchemy import case as when

from shared.db import outbox
from shared.db.models import HallVisit
from shared.hall import waiting
from shared.messages import CASES_EXCHANGE, HALL_VISIT

#: the column each grouping groups by
GROUP_COLUMNS = {"station": HallVisit.station, "tier": HallVisit.tier, "window_type": HallVisit.window_type,
                 "hour": HallVisit.hour}


# -- what a station sends -------------------------------------------------------------------
def _iso(moment):
    """A naive UTC datetime (as the hall's tables keep them) as ISO text with its offset."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return moment.astimezone(dt.timezone.utc).isoformat()


def visit_of_ticket(ticket, booking_no=None):
    """The `hall.visit` body of a closed ticket (a HallTicket row, finished or no_show);
    `booking_no`: the appointment it was issued from, if any."""
    return {
        "station": ticket.station, "day": ticket.day.isoformat(), "window_type": ticket.window_type,
        "kind": ticket.kind, "status": ticket.status, "ticket_no": ticket.ticket_no, "booking_no": booking_no,
        "issued_at": _iso(ticket.issued_at), "called_at": _iso(ticket.called_at),
        "finished_at": _iso(ticket.finished_at) if ticket.status == "finished" else None,
        "case_no": ticket.case_no or None, "priority_reason": ticket.priority_reason or None,
    }


def visit_of_missed_appointment(appointment):
    """The `hall.visit` body of an appointment marked missed (an Appointment row)."""
    return {"station": appointment.station, "day": appointment.day.isoformat(),
            "window_type": appointment.window_type, "kind": "appointment", "status": "missed",
            "ticket_no": None, "booking_no": appointment.booking_no, "issued_at": None, "called_at": None,
            "finished_at": None, "case_no": None}


def report_visit(session, station_code, district_code, visit):
    """Tell the district about a closed visit, in the caller's transaction: the district
    stores its own at once (None); any other station queues one `hall.visit` message
    (its id is returned; the outbox sweeper publishes it, or the caller's relay.flush)."""
    if station_code == district_code:
        store_visit(session, visit)
        return None
    return outbox.add_message(session, CASES_EXCHANGE, district_code, HALL_VISIT, visit, station_code)


# -- what the district keeps ------------------------------------------------------------------
def store_visit(session, visit):
    """Keep one visit (a `hall.visit` body), once per (station, day, visit number): a
    second copy replaces the first's values. Returns the row."""
    day = visit["day"] if isinstance(visit["day"], dt.date) else dt.date.fromisoformat(visit["day"])
    visit_no = visit.get("ticket_no") or visit["booking_no"]
    facts = waiting.visit_facts(visit)
    values = dict(
        tier=facts["tier"], window_type=visit["window_type"], kind=visit["kind"], status=visit["status"],
        booking_no=visit.get("booking_no") or None, issued_at=waiting.utc(visit.get("issued_at")),
        called_at=waiting.utc(visit.get("called_at")), finished_at=waiting.utc(visit.get("finished_at")),
        hour=facts["hour"], wait_seconds=facts["wait_seconds"], service_seconds=facts["service_seconds"],
        case_no=visit.get("case_no") or None)
    row = session.get(HallVisit, (visit["station"], day, visit_no))
    if row is None:
        row = HallVisit(station=visit["station"], day=day, visit_no=visit_no, **values)
        session.add(row)
    else:
        for key, value in values.items():
            setattr(row, key, value)
    session.flush()
    return row


# -- the figures --------------------------------------------------------------------------------
def _counted(condition):
    return func.coalesce(func.sum(when((condition, 1), else_=0)), 0)


def _sum(expression):
    return func.coalesce(func.sum(expression), 0)


def _aggregates():
    """TOTALS (shared/hall/waiting.py) as SQL aggregates over hall_visits."""
    ticket = HallVisit.status.in_(waiting.CLOSED_TICKET)
    return {
        "tickets": _counted(ticket),
        "wait_sum": _sum(HallVisit.wait_seconds),
        "wait_n": func.count(HallVisit.wait_seconds),
        "finished": _counted(HallVisit.status == "finished"),
        "service_sum": _sum(HallVisit.service_seconds),
        "service_n": func.count(HallVisit.service_seconds),
        "no_shows": _counted(HallVisit.status == "no_show"),
        "priority": _counted(and_(ticket, HallVisit.kind == "priority")),
        "appointments_kept": _counted(and_(ticket, HallVisit.booking_no.is_not(None))),
        "appointments_missed": _counted(HallVisit.status == "missed"),
    }


def _period(query, start, end):
    if start is not None:
        query = query.where(HallVisit.day >= start)
    if end is not None:
        query = query.where(HallVisit.day <= end)
    return query


def _key(column, found):
    if column is None:
        return None
    return waiting.UNKNOWN if found is None else found


def _p90_waits(session, column, start, end):
    """{group key: the group's 90th-percentile wait in seconds}: the wait whose rank r in
    the group's sorted waits is ceil(0.9 n), i.e. 10 (r - 1) < 9 n <= 10 r (whole numbers,
    no division)."""
    partition = [column] if column is not None else []
    rank = func.row_number().over(partition_by=partition or None, order_by=HallVisit.wait_seconds)
    n = func.count().over(partition_by=partition or None)
    ranked = _period(select(*(column.label("g") for column in partition), HallVisit.wait_seconds.label("wait"),
                            rank.label("r"), n.label("n"))
                     .where(HallVisit.wait_seconds.is_not(None)), start, end).subquery()
    keys = [ranked.c.g] if partition else []
    query = select(*keys, ranked.c.wait).where(10 * (ranked.c.r - 1) < 9 * ranked.c.n,
                                               9 * ranked.c.n <= 10 * ranked.c.r)
    found = {}
    for row in session.execute(query):
        row = tuple(row)
        found[_key(column, row[0]) if partition else None] = row[-1]
    return found


def statistics(session, start=None, end=None, by="none", network=None):
    """The hall's figures of the visits whose day is from `start` to `end` (dates or ISO
    text, inclusive, None for open), one row per group of `by` and a totals row (last),
    as shared.hall.waiting.hall_figures gives them. ValueError for an unknown grouping
    or a reversed period."""
    start, end = waiting.check_query(start, end, by)
    column = GROUP_COLUMNS.get(by)
    aggregates = _aggregates()
    keys = [column] if column is not None else []
    query = _period(select(*keys, *aggregates.values()).select_from(HallVisit), start, end)
    if column is not None:
        query = query.group_by(column)
    groups, total = {}, waiting.zero()
    for found in session.execute(query):
        found = tuple(found)
        values = dict(zip(aggregates, found[len(keys):]))
        if column is None:
            if not any(values.values()):
                continue
        waiting.add(groups.setdefault(_key(column, found[0]) if keys else None, waiting.zero()), values)
        waiting.add(total, values)
    waits = _p90_waits(session, column, start, end)
    total_p90 = waits.get(None) if column is None else _p90_waits(session, None, start, end).get(None)
    if column is None:
        groups = {}
    return waiting.rows_of(by, groups, waits, total, total_p90, network)
