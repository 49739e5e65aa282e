"""The service hall's figures (服务大厅统计): how long people waited, how long they were
served, who did not come. Pure: no database, no nameko. This module is the reference;
the district answers with shared/hall/visits.py, the same rows counted by the database
from its `hall_visits` table, and the tests hold the two equal.

What is counted: closed visits, as each station reports them to the district
(`hall.visit`, shared/contract.py): a ticket finished (办结) or marked a no-show (过号),
and an appointment missed (爽约: booked, not cancelled, no ticket taken by the end of its
half day). A ticket still waiting or called is not a closed visit yet.

A visit (a dict) has `station`, `day` (the station's date), `window_type`, `kind`
(walk_in | appointment | priority), `status` (finished | no_show | missed), `booking_no`
(the appointment, or None) and the ticket's `issued_at`, `called_at`, `finished_at`
(UTC: naive datetimes are UTC, aware ones are converted; ISO text is read too).

Groupings (`by`): `station`, `tier` (the station's), `window_type`, `hour` (the
Asia/Shanghai hour the ticket was issued, 0-23; a missed appointment has no ticket and
falls in the group "unknown"), or `none` (the totals row only). Rows come in a stable
order followed by a totals row (`group` None, `name` 合计).

Figures of a row:

tickets
    Tickets closed (finished or no-show).
avg_wait_minutes, p90_wait_minutes
    Waiting time = called_at - issued_at (the first call), over the tickets closed: the
    mean, and the 90th percentile by nearest rank (the smallest waiting time that at
    least 90% of tickets did not exceed: the ceil(0.9 n)-th of the sorted times).
finished
    Tickets finished (served).
avg_service_minutes
    Service time = finished_at - called_at, over the finished tickets (a no-show has none).
no_shows, no_show_rate
    Tickets marked no-show; no_shows / tickets.
priority
    Tickets of the green channel (绿色通道).
appointments, appointments_kept, appointments_missed, kept_rate
    Appointments whose outcome is known: kept (a ticket was issued from it, whatever
    became of the ticket) plus missed; kept_rate = kept / appointments. Cancelled
    appointments are not visits and are not counted.

Times are counted in whole seconds (the database keeps them so); rates and averages are
None when their denominator is 0, and nothing is rounded (`format_table` rounds for
display only).
"""
import csv
import datetime as dt
import io

from shared import stations as st
from shared.clock import DISTRICT_TZ
from shared.supervision.statistics import table_text

HALL_GROUPINGS = ("station", "tier", "window_type", "hour", "none")
KINDS = ("walk_in", "appointment", "priority")
CLOSED_TICKET = ("finished", "no_show")
STATUSES = (*CLOSED_TICKET, "missed")
UNKNOWN = "unknown"
TOTAL_NAME = "合计"

#: every figure of a row, in order, with its column header
HALL_FIGURES = (
    ("tickets", "取号"),
    ("avg_wait_minutes", "平均等候(分)"),
    ("p90_wait_minutes", "90%等候(分)"),
    ("finished", "办结"),
    ("avg_service_minutes", "平均办理(分)"),
    ("no_shows", "过号"),
    ("no_show_rate", "过号率"),
    ("priority", "绿色通道"),
    ("appointments", "预约"),
    ("appointments_kept", "按约到场"),
    ("appointments_missed", "爽约"),
    ("kept_rate", "守约率"),
)
RATES = {"no_show_rate", "kept_rate"}
MINUTES = {"avg_wait_minutes", "p90_wait_minutes", "avg_service_minutes"}
GROUP_HEADERS = {"station": "站点", "tier": "层级", "window_type": "窗口类型", "hour": "取号时段", "none": "范围"}

#: the whole numbers a row's figures are made from (the 90th percentile apart): the
#: groups' totals add up exactly, whether counted here or by the database
TOTALS = ("tickets", "wait_sum", "wait_n", "finished", "service_sum", "service_n", "no_shows", "priority",
          "appointments_kept", "appointments_missed")


# -- one visit --------------------------------------------------------------------------------
def utc(value):
    """A moment as a naive UTC datetime (None stays None); ISO text is parsed."""
    if value is None:
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if value.tzinfo is not None:
        value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return value


def _seconds(start, end):
    if start is None or end is None:
        return None
    return max(0, int((end - start).total_seconds()))


def visit_facts(visit):
    """What the figures group and count a visit by: {tier, hour, wait_seconds,
    service_seconds} (the district stores them beside the visit)."""
    issued, called, finished = utc(visit.get("issued_at")), utc(visit.get("called_at")), utc(visit.get("finished_at"))
    ticket = visit["status"] in CLOSED_TICKET
    hour = None
    if issued is not None:
        hour = issued.replace(tzinfo=dt.timezone.utc).astimezone(DISTRICT_TZ).hour
    return {
        "tier": st.tier_of(visit["station"]),
        "hour": hour,
        "wait_seconds": _seconds(issued, called) if ticket else None,
        "service_seconds": _seconds(called, finished) if visit["status"] == "finished" else None,
    }


def tally(visit, facts=None):
    """One visit's contribution to TOTALS."""
    facts = facts or visit_facts(visit)
    status, ticket = visit["status"], visit["status"] in CLOSED_TICKET
    wait, service = facts["wait_seconds"], facts["service_seconds"]
    return {
        "tickets": int(ticket),
        "wait_sum": wait or 0, "wait_n": int(wait is not None),
        "finished": int(status == "finished"),
        "service_sum": service or 0, "service_n": int(service is not None),
        "no_shows": int(status == "no_show"),
        "priority": int(ticket and visit["kind"] == "priority"),
        "appointments_kept": int(ticket and bool(visit.get("booking_no"))),
        "appointments_missed": int(status == "missed"),
    }


# -- a row ------------------------------------------------------------------------------------
def p90_rank(n):
    """The 1-based rank of the 90th percentile among n sorted values (n >= 1): ceil(0.9 n),
    in whole numbers ((9 n + 9) // 10, as the database computes it)."""
    return (9 * n + 9) // 10


def p90(values):
    """The 90th percentile (nearest rank) of `values`, or None when there are none."""
    ordered = sorted(values)
    return ordered[p90_rank(len(ordered)) - 1] if ordered else None


def figures(t, p90_wait_seconds):
    """A row's figures (HALL_FIGURES) from its totals `t` and its 90th-percentile wait."""
    appointments = t["appointments_kept"] + t["appointments_missed"]
    return {
        "tickets": t["tickets"],
        "avg_wait_minutes": _ratio(t["wait_sum"], t["wait_n"] * 60),
        "p90_wait_minutes": None if p90_wait_seconds is None else p90_wait_seconds / 60,
        "finished": t["finished"],
        "avg_service_minutes": _ratio(t["service_sum"], t["service_n"] * 60),
        "no_shows": t["no_shows"],
        "no_show_rate": _ratio(t["no_shows"], t["tickets"]),
        "priority": t["priority"],
        "appointments": appointments,
        "appointments_kept": t["appointments_kept"],
        "appointments_missed": t["appointments_missed"],
        "kept_rate": _ratio(t["appointments_kept"], appointments),
    }


def _ratio(part, whole):
    return part / whole if whole else None


def zero():
    return dict.fromkeys(TOTALS, 0)


def add(into, totals):
    for key in TOTALS:
        into[key] += int(totals[key])


# -- the groups ---------------------------------------------------------------------------------
def check_query(start, end, by):
    """(start, end) as dates; ValueError for an unknown grouping or a reversed period."""
    if by not in HALL_GROUPINGS:
        raise ValueError(f"cannot group the hall's figures by '{by}': choose one of {', '.join(HALL_GROUPINGS)}")
    start = dt.date.fromisoformat(start) if isinstance(start, str) else start
    end = dt.date.fromisoformat(end) if isinstance(end, str) else end
    if start is not None and end is not None and start > end:
        raise ValueError(f"the period starts ({start}) after it ends ({end})")
    return start, end


def group_key(by, visit, facts):
    if by == "none":
        return None
    key = visit["station"] if by == "station" else visit["window_type"] if by == "window_type" else facts[by]
    return UNKNOWN if key is None else key


def group_order(by, keys, network=None):
    if by == "station" and network is not None:
        position = {code: n for n, code in enumerate(network.stations)}
        return sorted(keys, key=lambda k: (position.get(k, len(position)), str(k)))
    if by == "tier":
        return sorted(keys, key=lambda k: (st.TIER_RANK.get(k, len(st.TIERS)), str(k)))
    if by == "hour":
        return sorted(keys, key=lambda k: (k == UNKNOWN, k if k != UNKNOWN else 0))
    return sorted(keys, key=str)


def group_name(by, key, network=None):
    if by == "station" and network is not None and key in network.stations:
        return network.stations[key].name
    if by == "tier":
        return st.TIER_NAMES.get(key, key)
    if by == "window_type":
        names = _window_type_names(network)
        return f"{key} {names[key]}" if key in names else key
    if by == "hour":
        return "未取号(爽约)" if key == UNKNOWN else f"{key:02d}:00-{key + 1:02d}:00"
    return key


def _window_type_names(network):
    """{code: name} from the network's hall policy, when it has one."""
    policy = getattr(network, "hall", None)
    types = getattr(policy, "window_types", None) or ()
    names = {}
    for entry in types:
        code = entry.get("code") if isinstance(entry, dict) else getattr(entry, "code", None)
        name = entry.get("name") if isinstance(entry, dict) else getattr(entry, "name", None)
        if code:
            names[code] = name or code
    return names


def rows_of(by, groups, waits_p90, total, total_p90, network=None):
    """The rows of `groups` ({key: totals}) and the totals row, in order."""
    rows = []
    if by != "none":
        for key in group_order(by, groups, network):
            rows.append({"by": by, "group": key, "name": group_name(by, key, network),
                         **figures(groups[key], waits_p90.get(key))})
    rows.append({"by": by, "group": None, "name": TOTAL_NAME, **figures(total, total_p90)})
    return rows


def hall_figures(visits, start=None, end=None, by="none", network=None):
    """The hall's figures of the visits whose day is from `start` to `end` (dates or ISO
    text, both inclusive, None for open): one row per group of `by` and a totals row
    (last). Counted visit by visit: the reference for shared/hall/visits.py."""
    start, end = check_query(start, end, by)
    groups, waits, all_waits, total = {}, {}, [], zero()
    for visit in visits:
        day = visit["day"] if isinstance(visit["day"], dt.date) else dt.date.fromisoformat(visit["day"])
        if (start is not None and day < start) or (end is not None and day > end):
            continue
        facts = visit_facts(visit)
        key = group_key(by, visit, facts)
        counted = tally(visit, facts)
        add(groups.setdefault(key, zero()), counted)
        add(total, counted)
        if facts["wait_seconds"] is not None:
            waits.setdefault(key, []).append(facts["wait_seconds"])
            all_waits.append(facts["wait_seconds"])
    return rows_of(by, groups, {k: p90(v) for k, v in waits.items()}, total, p90(all_waits), network)


# -- output ---------------------------------------------------------------------------------------
def _display(key, value):
    if value is None:
        return "—"
    if key in RATES:
        return f"{value * 100:.1f}%"
    if key in MINUTES:
        return f"{value:.1f}"
    return str(value)


def format_table(rows):
    """A plain-text table of hall rows for a terminal (rates as percentages, minutes
    with one decimal, "—" where a figure has no value)."""
    by = rows[0]["by"] if rows else "none"
    header = [GROUP_HEADERS.get(by, "分组")] + [title for _, title in HALL_FIGURES]
    return table_text(header, rows, lambda row: [_display(k, row.get(k)) for k, _ in HALL_FIGURES])


def to_csv(rows):
    """CSV text of hall rows: by, group, name and every figure by its key, unrounded."""
    columns = ["by", "group", "name", *(key for key, _ in HALL_FIGURES)]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: ("" if row.get(k) is None else row.get(k)) for k in columns})
    return out.getvalue()
