"""The service hall's figures (issue 17): waiting and service times, no-shows and
appointments, on a hand-built day. The expected values are worked out by hand in the
comments, not with the code under test; the reference (shared/hall/waiting.py) and the
district's database (shared/hall/visits.py, on SQLite and PostgreSQL) must both give them.
The `hall.visit` message that carries a visit to the district: its contract, who may
send it, and the district keeping it once."""
import datetime as dt
from pathlib import Path

import pytest
from pytest import approx
from sqlalchemy import func, select

from services.config import StationInfo
from services.hall_visits import HallVisitInbox
from shared import contract
from shared.clock import DISTRICT_TZ
from shared.db.models import HallVisit, OutboxMessage, ProcessedMessage
from shared.hall import visits as hall_visits
from shared.hall import waiting
from shared.messages import CASES_EXCHANGE, HALL_VISIT, envelope
from shared.stations import Network
from shared.trust import entitlement

NETWORK = Network.load(Path(__file__).parent / "cases_data" / "network_cases.yaml")
DISTRICT, SOUTH, SOUTH_VILLAGE, NORTH_VILLAGE = "449902", "449902001", "449902001201", "449902100201"
MONDAY, TUESDAY = dt.date(2026, 12, 7), dt.date(2026, 12, 8)


def at(day, hhmm):
    """A moment of `day` on the hall's clock (Asia/Shanghai), as ISO text with its offset."""
    hour, minute = map(int, hhmm.split(":"))
    return dt.datetime.combine(day, dt.time(hour, minute), DISTRICT_TZ).isoformat()


def ticket(station, no, kind, status, issued, called, finished=None, day=MONDAY, booking_no=None, case_no=None):
    return {"station": station, "day": day.isoformat(), "window_type": no[0], "kind": kind, "status": status,
            "ticket_no": no, "booking_no": booking_no, "issued_at": at(day, issued), "called_at": at(day, called),
            "finished_at": at(day, finished) if finished else None, "case_no": case_no}


def missed(station, booking_no, window_type="A", day=MONDAY):
    return {"station": station, "day": day.isoformat(), "window_type": window_type, "kind": "appointment",
            "status": "missed", "ticket_no": None, "booking_no": booking_no, "issued_at": None,
            "called_at": None, "finished_at": None, "case_no": None}


def the_day():
    """Monday 7 December 2026 at three halls, and one ticket on Tuesday.
    (wait = called - issued, service = finished - called, in minutes)"""
    village = [
        ticket(SOUTH_VILLAGE, "A001", "walk_in", "finished", "09:00", "09:10", "09:25"),      # wait 10, service 15
        ticket(SOUTH_VILLAGE, "A002", "walk_in", "finished", "09:05", "09:25", "09:35"),      # wait 20, service 10
        ticket(SOUTH_VILLAGE, "A003", "priority", "finished", "09:20", "09:22", "09:30"),     # wait 2, service 8
        ticket(SOUTH_VILLAGE, "A004", "appointment", "finished", "10:00", "10:04", "10:20",
               booking_no="Y261207A001", case_no=f"{SOUTH_VILLAGE}-20261207-00001"),          # wait 4, service 16
        ticket(SOUTH_VILLAGE, "A005", "walk_in", "no_show", "10:30", "11:00"),                # wait 30
        missed(SOUTH_VILLAGE, "Y261207A002"),                                                  # no ticket
    ]
    township = [
        ticket(SOUTH, "A001", "walk_in", "finished", "14:00", "14:45", "15:00"),              # wait 45, service 15
        ticket(SOUTH, "D001", "appointment", "finished", "14:10", "14:16", "14:40",
               booking_no="Y261207D001"),                                                      # wait 6, service 24
        ticket(SOUTH, "D002", "walk_in", "no_show", "14:20", "14:40"),                        # wait 20
        ticket(SOUTH, "D001", "walk_in", "finished", "15:00", "15:05", "15:10", day=TUESDAY),  # another day
    ]
    # the district's window B: twelve tickets issued from 11:00, the k-th (k = 1..12) waited
    # k minutes and was served in 5
    district = [ticket(DISTRICT, f"B{k:03d}", "walk_in", "finished", f"11:{k - 1:02d}", f"11:{2 * k - 1:02d}",
                       f"11:{2 * k + 4:02d}") for k in range(1, 13)]
    return village + township + district


# The expected figures of Monday, by hand.
#   waits (min): village 10 20 2 4 30; township 45 6 20; district 1..12
#   all twenty sorted: 1 2 2 3 4 4 5 6 6 7 8 9 10 10 11 12 20 20 30 45; rank ceil(0.9*20) = 18 -> 20
#   service (min): village 15 10 8 16 = 49; township 15 24 = 39; district 12*5 = 60; total 148 over 18
MONDAY_TOTAL = {"tickets": 20, "avg_wait_minutes": 215 / 20, "p90_wait_minutes": 20, "finished": 18,
                "avg_service_minutes": 148 / 18, "no_shows": 2, "no_show_rate": 0.1, "priority": 1,
                "appointments": 3, "appointments_kept": 2, "appointments_missed": 1, "kept_rate": 2 / 3}
BY_STATION = {
    # twelve waits 1..12: sum 78; rank ceil(10.8) = 11 -> 11
    DISTRICT: {"tickets": 12, "avg_wait_minutes": 6.5, "p90_wait_minutes": 11, "finished": 12,
               "avg_service_minutes": 5, "no_shows": 0, "no_show_rate": 0, "priority": 0, "appointments": 0,
               "appointments_kept": 0, "appointments_missed": 0, "kept_rate": None},
    # waits 45 6 20: sum 71; rank ceil(2.7) = 3 -> 45
    SOUTH: {"tickets": 3, "avg_wait_minutes": 71 / 3, "p90_wait_minutes": 45, "finished": 2,
            "avg_service_minutes": 19.5, "no_shows": 1, "no_show_rate": 1 / 3, "priority": 0, "appointments": 1,
            "appointments_kept": 1, "appointments_missed": 0, "kept_rate": 1},
    # waits 10 20 2 4 30: sum 66; rank ceil(4.5) = 5 -> 30
    SOUTH_VILLAGE: {"tickets": 5, "avg_wait_minutes": 13.2, "p90_wait_minutes": 30, "finished": 4,
                    "avg_service_minutes": 12.25, "no_shows": 1, "no_show_rate": 0.2, "priority": 1,
                    "appointments": 2, "appointments_kept": 1, "appointments_missed": 1, "kept_rate": 0.5},
}
BY_HOUR = {
    9: {"tickets": 3, "avg_wait_minutes": 32 / 3, "p90_wait_minutes": 20, "finished": 3, "avg_service_minutes": 11,
        "no_shows": 0, "appointments": 0},
    10: {"tickets": 2, "avg_wait_minutes": 17, "p90_wait_minutes": 30, "finished": 1, "avg_service_minutes": 16,
         "no_shows": 1, "no_show_rate": 0.5, "appointments": 1, "appointments_kept": 1},
    11: {"tickets": 12, "avg_wait_minutes": 6.5, "p90_wait_minutes": 11, "finished": 12},
    14: {"tickets": 3, "avg_wait_minutes": 71 / 3, "p90_wait_minutes": 45, "finished": 2},
    # the missed appointment took no ticket: no hour
    "unknown": {"tickets": 0, "avg_wait_minutes": None, "p90_wait_minutes": None, "finished": 0,
                "avg_service_minutes": None, "no_show_rate": None, "appointments": 1, "appointments_missed": 1,
                "kept_rate": 0},
}
BY_WINDOW_TYPE = {
    # A: village's five and the township's A001: waits 10 20 2 4 30 45 (sum 111), rank ceil(5.4) = 6 -> 45;
    # service 15 10 8 16 15 = 64 over 5; the missed appointment was for window A
    "A": {"tickets": 6, "avg_wait_minutes": 18.5, "p90_wait_minutes": 45, "finished": 5,
          "avg_service_minutes": 12.8, "no_shows": 1, "no_show_rate": 1 / 6, "priority": 1, "appointments": 2,
          "appointments_kept": 1, "appointments_missed": 1, "kept_rate": 0.5},
    "B": {"tickets": 12, "avg_wait_minutes": 6.5, "p90_wait_minutes": 11, "avg_service_minutes": 5},
    # D: waits 6 20, rank ceil(1.8) = 2 -> 20
    "D": {"tickets": 2, "avg_wait_minutes": 13, "p90_wait_minutes": 20, "finished": 1, "avg_service_minutes": 24,
          "no_shows": 1, "no_show_rate": 0.5, "appointments": 1, "appointments_kept": 1, "kept_rate": 1},
}


def check(row, expected):
    for key, value in expected.items():
        assert row[key] == (value if value is None else approx(value)), (row["group"], key)


def by_group(rows):
    assert rows[-1]["group"] is None and rows[-1]["name"] == "合计"
    return {row["group"]: row for row in rows[:-1]}, rows[-1]


def in_database(db, visits):
    with db.transaction() as session:
        for visit in visits:
            hall_visits.store_visit(session, visit)


FIGURES = [
    ("the reference", lambda db, **q: waiting.hall_figures(the_day(), network=NETWORK, **q)),
    ("the database", lambda db, **q: _from_database(db, **q)),
]


def _from_database(db, **query):
    with db.reading() as session:
        return hall_visits.statistics(session, network=NETWORK, **query)


@pytest.fixture
def day_db(memory_db):
    in_database(memory_db, the_day())
    return memory_db


@pytest.mark.parametrize("name,figures", FIGURES, ids=[f[0] for f in FIGURES])
def test_a_hand_built_day_gives_the_hand_counted_figures(name, figures, day_db):
    monday = {"start": MONDAY, "end": MONDAY}
    (total,) = figures(day_db, **monday)
    check(total, MONDAY_TOTAL)

    groups, total = by_group(figures(day_db, by="station", **monday))
    assert list(groups) == [DISTRICT, SOUTH, SOUTH_VILLAGE]  # the network's order
    assert groups[SOUTH_VILLAGE]["name"] == NETWORK.stations[SOUTH_VILLAGE].name
    for code, expected in BY_STATION.items():
        check(groups[code], expected)
    check(total, MONDAY_TOTAL)

    groups, total = by_group(figures(day_db, by="tier", **monday))
    assert list(groups) == ["district", "township", "village"]
    for tier, code in (("district", DISTRICT), ("township", SOUTH), ("village", SOUTH_VILLAGE)):
        check(groups[tier], BY_STATION[code])

    groups, total = by_group(figures(day_db, by="hour", **monday))
    assert list(groups) == [9, 10, 11, 14, "unknown"]
    assert groups[9]["name"] == "09:00-10:00"
    for hour, expected in BY_HOUR.items():
        check(groups[hour], expected)
    check(total, MONDAY_TOTAL)

    groups, total = by_group(figures(day_db, by="window_type", **monday))
    assert list(groups) == ["A", "B", "D"]
    for code, expected in BY_WINDOW_TYPE.items():
        check(groups[code], expected)

    # without a period Tuesday's ticket counts too: 21 tickets, waits + 5 (sum 220), still rank 19 of 21 -> 20
    (total,) = figures(day_db)
    check(total, {"tickets": 21, "avg_wait_minutes": 220 / 21, "p90_wait_minutes": 20, "finished": 19,
                  "avg_service_minutes": 153 / 19})
    (total,) = figures(day_db, start=TUESDAY)
    check(total, {"tickets": 1, "avg_wait_minutes": 5, "p90_wait_minutes": 5, "no_show_rate": 0, "kept_rate": None})
    (total,) = figures(day_db, start="2027-01-01")
    check(total, {"tickets": 0, "avg_wait_minutes": None, "p90_wait_minutes": None, "appointments": 0})


def test_the_90th_percentile_is_the_nearest_rank():
    assert [waiting.p90_rank(n) for n in (1, 2, 9, 10, 11, 19, 20, 21, 70, 100)] == \
        [1, 2, 9, 9, 10, 18, 18, 19, 63, 90]
    assert waiting.p90([]) is None
    assert waiting.p90([7]) == 7
    assert waiting.p90(list(range(100, 0, -1))) == 90


def test_a_reversed_period_or_an_unknown_grouping_is_refused(memory_db):
    with memory_db.reading() as session:
        with pytest.raises(ValueError, match="after it ends"):
            hall_visits.statistics(session, start=TUESDAY, end=MONDAY)
        with pytest.raises(ValueError, match="window_type"):
            hall_visits.statistics(session, by="department")


def test_the_tables_show_minutes_and_rates():
    rows = waiting.hall_figures(the_day(), start=MONDAY, end=MONDAY, by="window_type", network=NETWORK)
    table = waiting.format_table(rows)
    lines = table.splitlines()
    assert lines[0].split()[:4] == ["窗口类型", "取号", "平均等候(分)", "90%等候(分)"]
    total = lines[-1].split()
    assert total[:4] == ["合计", "20", "10.8", "20.0"] and total[-1] == "66.7%"
    csv = waiting.to_csv(rows).splitlines()
    assert csv[0].startswith("by,group,name,tickets,avg_wait_minutes,p90_wait_minutes")
    assert csv[-1].startswith("window_type,,合计,20,10.75,20.0,18,")


# -- the message that carries a visit to the district -----------------------------------------------
def visit_message(sender, body):
    return envelope(HALL_VISIT, body, sender)


def test_the_contract_requires_a_closed_ticket_or_a_missed_appointment():
    good = [ticket(SOUTH_VILLAGE, "A001", "walk_in", "finished", "09:00", "09:10", "09:25"),
            ticket(SOUTH_VILLAGE, "A005", "walk_in", "no_show", "10:30", "11:00"),
            missed(SOUTH_VILLAGE, "Y261207A002")]
    for body in good:
        assert contract.outgoing_errors(visit_message(SOUTH_VILLAGE, body)) == {}
        assert contract.load_message(visit_message(SOUTH_VILLAGE, body))["body"]["status"] == body["status"]
    bad = [
        ({**good[0], "finished_at": None}, "finished_at"),
        ({**good[1], "called_at": None}, "called_at"),
        ({**good[2], "booking_no": None}, "booking_no"),
        ({**good[2], "ticket_no": "A009"}, "no ticket_no"),
        ({**good[0], "status": "waiting"}, "Must be one of"),
        ({**good[0], "kind": "vip"}, "Must be one of"),
        ({**good[0], "issued_at": "9 o'clock"}, "ISO 8601"),
        ({k: v for k, v in good[0].items() if k != "day"}, "day"),
    ]
    for body, reason in bad:
        with pytest.raises(contract.InvalidMessage, match=reason):
            contract.load_message(visit_message(SOUTH_VILLAGE, body))


def test_only_a_station_itself_tells_the_district_about_its_own_hall():
    own = ticket(SOUTH_VILLAGE, "A004", "appointment", "finished", "10:00", "10:04", "10:20",
                 booking_no="Y261207A001", case_no=f"{SOUTH_VILLAGE}-20261207-00001")
    entitlement.check(HALL_VISIT, SOUTH_VILLAGE, DISTRICT, own)
    entitlement.check(HALL_VISIT, SOUTH, DISTRICT, {**own, "station": SOUTH, "case_no": None})
    refusals = [
        (NORTH_VILLAGE, DISTRICT, own, "comes only from that station"),              # another station's visit
        (SOUTH_VILLAGE, SOUTH, own, "to the district"),                              # not to the township
        (DISTRICT, DISTRICT, {**own, "station": DISTRICT}, "to the district"),       # the district keeps its own
        ("449903001201", DISTRICT, {**own, "station": "449903001201"}, "to the district"),  # another district
        (SOUTH_VILLAGE, DISTRICT, {**own, "case_no": f"{NORTH_VILLAGE}-20261207-00001"}, "did not file"),
    ]
    for sender, receiver, body, reason in refusals:
        with pytest.raises(entitlement.NotEntitled, match=reason):
            entitlement.check(HALL_VISIT, sender, receiver, body)


def count(db, model):
    with db.reading() as session:
        return session.scalar(select(func.count()).select_from(model))


def test_the_district_keeps_a_visit_once_however_often_it_arrives(memory_db):
    inbox = HallVisitInbox(memory_db, StationInfo(NETWORK.station(DISTRICT), NETWORK))
    body = ticket(SOUTH_VILLAGE, "A002", "walk_in", "finished", "09:05", "09:25", "09:35")
    message = visit_message(SOUTH_VILLAGE, body)
    assert inbox.receive(message) is True
    assert inbox.receive(message) is False                              # redelivered
    assert inbox.receive(visit_message(SOUTH_VILLAGE, body)) is True    # sent again under a new id
    assert count(memory_db, HallVisit) == 1 and count(memory_db, ProcessedMessage) == 2
    with memory_db.reading() as session:
        row = session.get(HallVisit, (SOUTH_VILLAGE, MONDAY, "A002"))
        # 09:05 in Shanghai is 01:05 UTC; waited 20 minutes, served 10
        assert (row.issued_at, row.hour, row.wait_seconds, row.service_seconds, row.tier) == \
            (dt.datetime(2026, 12, 7, 1, 5), 9, 1200, 600, "village")
    (total,) = inbox.statistics()
    assert (total["tickets"], total["avg_wait_minutes"]) == (1, 20)
    # a forged visit is refused and nothing is kept
    with pytest.raises(entitlement.NotEntitled):
        inbox.receive(visit_message(NORTH_VILLAGE, {**body, "ticket_no": "A003"}))
    assert count(memory_db, HallVisit) == 1


class _Ticket:
    def __init__(self, **values):
        self.__dict__.update(values)


def test_a_closed_ticket_goes_to_the_districts_outbox_and_the_districts_own_is_kept_at_once(memory_db):
    closed = _Ticket(station=SOUTH_VILLAGE, day=MONDAY, window_type="A", kind="priority", status="finished",
                     ticket_no="A003", issued_at=dt.datetime(2026, 12, 7, 1, 20), called_at=dt.datetime(2026, 12, 7, 1, 22),
                     finished_at=dt.datetime(2026, 12, 7, 1, 30), case_no=None, priority_reason="elderly")
    body = hall_visits.visit_of_ticket(closed)
    assert body["issued_at"] == "2026-12-07T01:20:00+00:00" and body["finished_at"] == "2026-12-07T01:30:00+00:00"
    with memory_db.transaction() as session:
        message_id = hall_visits.report_visit(session, SOUTH_VILLAGE, DISTRICT, body)
    with memory_db.reading() as session:
        sent = session.scalars(select(OutboxMessage)).one()
        assert (sent.message_id, sent.exchange, sent.routing_key, sent.kind) == (message_id, CASES_EXCHANGE,
                                                                                 DISTRICT, HALL_VISIT)
        assert contract.outgoing_errors(sent.body) == {} and sent.body["sender"] == SOUTH_VILLAGE
    assert count(memory_db, HallVisit) == 0

    at_district = _Ticket(**{**closed.__dict__, "station": DISTRICT, "status": "no_show", "finished_at": None})
    with memory_db.transaction() as session:
        assert hall_visits.report_visit(session, DISTRICT, DISTRICT, hall_visits.visit_of_ticket(at_district)) is None
    assert count(memory_db, OutboxMessage) == 1 and count(memory_db, HallVisit) == 1
    with memory_db.reading() as session:
        (total,) = hall_visits.statistics(session)
    assert (total["tickets"], total["no_shows"], total["priority"], total["avg_wait_minutes"]) == (1, 1, 1, 2)
