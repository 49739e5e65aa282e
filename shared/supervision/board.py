"""The supervision desk's live board and big screen, read from the cases' summary columns
(no snapshot): the running cases with their light, filtered and paged; the counts by light;
today's filings; the townships' load.

A case's light here is shared/supervision/lights.py's rule applied to the columns the case
row keeps beside its snapshot: `due_date`, and `paused_since` for a clock paused by a
supplement (补正): the clock date is today, or the day the pause began if earlier; red when
the clock date is after the due date, yellow when at most `yellow_days` working days remain,
green otherwise (tests/test_supervision_web.py checks the board against the patrol's lights).
"""
import datetime as dt

from sqlalchemy import func, literal_column, select

from shared import stations as st
from shared.cases import states
from shared.db.models import Case
from shared.exceptions import InvalidInput
from shared.supervision.lights import GREEN, RED, YELLOW

COLOURS = (RED, YELLOW, GREEN)
LIGHT_LABELS = {RED: "红灯（已超期）", YELLOW: "黄灯（即将到期）", GREEN: "绿灯（正常）"}
RUNNING = (*states.RUNNING, states.SUSPENDED)
FILTERS = ("light", "station", "tier", "department", "item", "due_from", "due_to")


def light_of(due_date, paused_since, today, calendar, yellow_days):
    """The light of a running case from its columns (the rule of lights.light)."""
    if due_date is None:
        return None
    day = min(today, paused_since) if paused_since is not None else today
    if day > due_date:
        return RED
    return YELLOW if calendar.working_days_between(day, due_date) <= yellow_days else GREEN


def _lights(today, calendar, yellow_days):
    """light_of for `today`, remembered per (due date, pause): the running cases share
    a few dozen due dates, so each light is counted on the calendar once."""
    known = {}

    def lights(due_date, paused_since):
        key = (due_date, paused_since)
        if key not in known:
            known[key] = light_of(due_date, paused_since, today, calendar, yellow_days)
        return known[key]
    return lights


def board_filters(args):
    """The board's filters from a query string (a dict-like); InvalidInput naming a bad one."""
    found = {name: (args.get(name) or "").strip() or None for name in FILTERS}
    if found["light"] and found["light"] not in COLOURS:
        raise InvalidInput(f"light: must be one of {', '.join(COLOURS)}")
    if found["tier"] and found["tier"] not in (st.DISTRICT, st.TOWNSHIP, st.VILLAGE):
        raise InvalidInput("tier: must be district, township or village")
    for name in ("due_from", "due_to"):
        if found[name]:
            try:
                found[name] = dt.date.fromisoformat(found[name])
            except ValueError:
                raise InvalidInput(f"{name}: not a date (2026-01-31)") from None
    for name in ("station", "department", "item"):
        if found[name] and len(found[name]) > 40:
            raise InvalidInput(f"{name}: too long")
    return found


def is_running(session):
    """The SQL condition of a running case. On SQLite it is marked selective
    (likelihood): its planner, knowing only the average rows per status, would otherwise
    read the whole table for the few hundred running cases of a year's record instead of
    the status index (PostgreSQL knows each status' share and uses the index)."""
    condition = Case.status.in_(RUNNING)
    if session.get_bind().dialect.name == "sqlite":
        return func.likelihood(condition, literal_column("0.01"))
    return condition


def _running(session, filters):
    query = (select(Case.case_no, Case.item_code, Case.item_name, Case.department, Case.holder_station,
                    Case.filing_station, Case.filing_tier, Case.status, Case.due_date, Case.paused_since)
             .where(is_running(session)))
    if filters.get("station"):
        query = query.where((Case.holder_station == filters["station"]) | (Case.filing_station == filters["station"]))
    if filters.get("tier"):
        query = query.where(Case.filing_tier == filters["tier"])
    if filters.get("department"):
        query = query.where(Case.department == filters["department"])
    if filters.get("item"):
        query = query.where(Case.item_code == filters["item"])
    if filters.get("due_from"):
        query = query.where(Case.due_date >= filters["due_from"])
    if filters.get("due_to"):
        query = query.where(Case.due_date <= filters["due_to"])
    return query


def board(session, filters, today, calendar, yellow_days, limit=100, offset=0):
    """{"counts": {light: n}, "total": n, "rows": [...]}: the running cases the filters
    select (all lights counted; `rows` the page of the asked light, red first, then the
    soonest due)."""
    counts = dict.fromkeys(COLOURS, 0)
    rows = []
    lights = _lights(today, calendar, yellow_days)
    for r in session.execute(_running(session, filters)):
        colour = lights(r.due_date, r.paused_since)
        if colour is None:
            continue
        counts[colour] += 1
        if filters.get("light") in (None, colour):
            rows.append({"case_no": r.case_no, "item_code": r.item_code, "item_name": r.item_name,
                         "department": r.department, "holder_station": r.holder_station,
                         "filing_station": r.filing_station, "tier": r.filing_tier, "status": r.status,
                         "due_date": r.due_date, "paused": r.paused_since is not None, "light": colour})
    rows.sort(key=lambda row: (COLOURS.index(row["light"]), row["due_date"], row["case_no"]))
    return {"counts": counts, "total": len(rows), "rows": rows[offset:offset + limit]}


def filed_on(session, day):
    """Cases filed on `day` (district-local), by the filing tier."""
    found = dict.fromkeys((st.DISTRICT, st.TOWNSHIP, st.VILLAGE), 0)
    query = select(Case.filing_tier, func.count()).where(Case.filed_date == day).group_by(Case.filing_tier)
    for tier, n in session.execute(query):
        found[tier or "unknown"] = int(n)
    return found


def township_load(session, network, today, calendar, yellow_days):
    """[{code, name, running, red, yellow}] for every township of the network (its
    villages included: a case held at a village counts for its township), in code order."""
    townships = sorted(code for code, s in network.stations.items() if s.tier == st.TOWNSHIP)
    load = {code: {"code": code, "name": network.stations[code].name, "running": 0, RED: 0, YELLOW: 0}
            for code in townships}
    lights = _lights(today, calendar, yellow_days)
    # counted by the database per (holder, due date, pause): a few hundred groups, each lit once
    query = (select(Case.holder_station, Case.due_date, Case.paused_since, func.count())
             .where(is_running(session)).group_by(Case.holder_station, Case.due_date, Case.paused_since))
    for holder, due, paused, n in session.execute(query):
        township = load.get((holder or "")[:9])
        if township is None:
            continue
        township["running"] += n
        colour = lights(due, paused)
        if colour in (RED, YELLOW):
            township[colour] += n
    return list(load.values())
