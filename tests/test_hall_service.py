"""The service hall at one station, in one process (services/hall.py's HallDesk on the
station's database, shared/hall/store.py underneath), on SQLite or PostgreSQL
(TONGBAN_TEST_DATABASE): concurrent bookings of the last places, two counters calling at
once, numbers across a restart and a new day, appointments moved, cancelled, kept and
missed; then the HTTP API's answers and refusals through the real gateway
(container_factory + web_session).

Concurrency: a SQLite station is one process whose writers queue on the database's write
lock (shared/db/database.py), so its threads go through `transaction()` as the station's
do. On PostgreSQL several processes may serve one station, so each thread there opens a
session of its own without the process's lock: only the database keeps them apart."""
import contextlib
import datetime as dt
import threading

import eventlet
import pytest
from nameko.testing.services import replace_dependencies
from sqlalchemy import event, select

from services.config import AUDIT_COPY_KEY, CLOCK_FILE_KEY, RELAY_SWEEP_KEY
from services.gateway.service import GatewayService
from services.hall import HALL_SWEEP_KEY, HallDesk
from services.outbox_sweeper import OutboxSweeperService
from shared.auth import roles
from shared.cases.citizen_id import make as make_id
from shared.clock import set_simulated_now
from shared.db.database import Database
from shared.db.models import HallSlot, HallTicket
from shared.exceptions import Conflict, Forbidden, InvalidInput, NotFound, TooManyAttempts
from shared.hall.store import SLOT_FULL, HallStore
from shared.messages import CASE_RECORD, HALL_VISIT
from tests.support.databases import ON_POSTGRESQL
from tests.support.inprocess import (  # noqa: F401 (station_url is a fixture)
    DISTRICT, MONDAY, SOUTH_VILLAGE, TZ, declare_rpc_exchange, filing, service_config, station_url,
)

TUESDAY = dt.date(2026, 3, 3)
MOBILE = "13800138000"
_serial = iter(range(1, 1000))


def person(born=dt.date(1985, 6, 1)):
    return make_id("449902", born, next(_serial))


def booking(id_number=None, day=TUESDAY, half_day="am", window_type="A", **extra):
    return {"name": "黄秀英", "id_number": id_number or person(), "mobile": MOBILE, "day": day.isoformat(),
            "half_day": half_day, "window_type": window_type, **extra}


def walk_in(window_type="A", **extra):
    return {"kind": "walk_in", "name": "李建国", "id_number": person(), "window_type": window_type, **extra}


@pytest.fixture
def district(station_url):
    """(InProcessStation of the district on a database a second engine can reach, its HallDesk)."""
    station, _ = station_url(DISTRICT)
    return station, HallDesk(station.database, station.info, station.clock)


@pytest.fixture
def clerk(district):
    return district[0].user(roles.WINDOW_CLERK, username="clerk")


@contextlib.contextmanager
def own_store(station):
    """A HallStore in a transaction of its own, as a concurrent worker has (see the module
    docstring: the process's write lock on SQLite, none on PostgreSQL)."""
    hall = HallDesk(station.database, station.info, station.clock)
    if not ON_POSTGRESQL:
        with station.database.transaction() as session:
            yield hall.store(session)
        return
    session = station.database.sessions()
    try:
        yield hall.store(session)
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def run_together(count, work):
    """Run work(i) in `count` threads released at the same moment; [(i, result or exception)]."""
    barrier = threading.Barrier(count)
    results = [None] * count

    def run(i):
        barrier.wait()
        try:
            results[i] = work(i)
        except Exception as exc:  # noqa: BLE001 (the test sorts them)
            results[i] = exc
    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not any(thread.is_alive() for thread in threads)
    return results


# -- appointments ----------------------------------------------------------------------------
def test_twenty_concurrent_bookings_for_the_last_three_places_give_exactly_three(district):
    station, hall = district
    for _ in range(17):  # capacity 20 at the district
        hall.book(booking())
    people = [person() for _ in range(20)]

    def book(i):
        with own_store(station) as store:
            return store.book("黄秀英", people[i], MOBILE, TUESDAY, "am", "A")
    results = run_together(20, book)

    booked = [r for r in results if isinstance(r, dict)]
    refused = [r for r in results if not isinstance(r, dict)]
    assert len(booked) == 3, results
    assert all(isinstance(r, Conflict) and r.message == SLOT_FULL for r in refused), refused
    assert len({b["booking_no"] for b in booked}) == 3
    with station.database.reading() as session:
        assert session.scalars(select(HallSlot.booked)).all() == [20]
    assert len(hall.appointments(station.user(roles.WINDOW_CLERK), TUESDAY)) == 20
    slot = next(s for s in hall.slots(TUESDAY, 1, "A") if s["half_day"] == "am")
    assert (slot["booked"], slot["free"], slot["open"]) == (20, 0, False)


def test_booking_numbers_and_the_rules_a_booking_meets(district):
    station, hall = district
    first = hall.book(booking(window_type="C"))
    second = hall.book(booking(window_type="C", half_day="pm"))
    assert (first["booking_no"], second["booking_no"]) == ("Y260303C001", "Y260303C002")
    assert first["status"] == "booked" and first["channel"] == "online" and first["starts_at"].endswith("+08:00")
    with pytest.raises(Conflict, match="当天已有预约"):  # one appointment per person and day
        hall.book(booking(first["id_number"], half_day="pm"))
    with pytest.raises(InvalidInput, match="非工作日"):
        hall.book(booking(day=dt.date(2026, 3, 7)))  # a Saturday
    with pytest.raises(InvalidInput, match="最早可预约"):  # residents book from tomorrow
        hall.book(booking(day=MONDAY.date(), half_day="pm"))
    with pytest.raises(InvalidInput, match="mobile"):
        hall.book(booking(mobile="12345"))
    with pytest.raises(InvalidInput, match="check digit"):
        hall.book(booking("449902198506010000"))
    with pytest.raises(InvalidInput, match="item_code"):
        hall.book(booking(item_code="XX-999"))
    # a counter books this afternoon for the resident in front of it
    clerk = station.user(roles.WINDOW_CLERK, username="clerk")
    today = hall.book(booking(day=MONDAY.date(), half_day="pm", item_code="MZ-002"), clerk)
    assert today["channel"] == "counter" and today["item_code"] == "MZ-002"
    with pytest.raises(Forbidden):
        hall.book(booking(), station.user(roles.REVIEWER, "civil_affairs"))


def test_an_appointment_is_opened_by_all_three_credentials_and_guesses_are_limited(district):
    station, hall = district
    made = hall.book(booking())
    credentials = {"booking_no": made["booking_no"], "id_number": made["id_number"], "mobile": MOBILE}
    assert hall.lookup(credentials, "10.0.0.1")["booking_no"] == made["booking_no"]
    for wrong in ({"mobile": "13900139000"}, {"id_number": person()}, {"booking_no": "Y260303A099"}):
        with pytest.raises(NotFound, match="没有与该预约号"):
            hall.lookup({**credentials, **wrong}, "10.0.0.1")
    for _ in range(3):  # with the two wrong ones above, 5 failures on this booking number
        with pytest.raises(NotFound):
            hall.lookup({**credentials, "mobile": "13900139000"}, "10.0.0.2")
    # 5 failures on one booking number within the hour: even the right credentials wait
    with pytest.raises(TooManyAttempts, match="预约查询失败次数过多") as refused:
        hall.lookup(credentials, "10.0.0.3")
    assert refused.value.retry_after > 0
    station.clock.advance(hours=1, minutes=1)
    assert hall.lookup(credentials, "10.0.0.3")["status"] == "booked"


def test_move_and_cancel_until_the_slot_starts_and_the_places_follow(district):
    station, hall = district
    made = hall.book(booking())
    credentials = {"booking_no": made["booking_no"], "id_number": made["id_number"], "mobile": MOBILE}
    moved = hall.move({**credentials, "day": "2026-03-04", "half_day": "pm"}, "10.0.0.1")
    assert (moved["booking_no"], moved["day"], moved["half_day"]) == (made["booking_no"], "2026-03-04", "pm")
    assert moved["moves"] == 1 and moved["moved_from"] == "2026-03-03 am"
    free = {(s["day"], s["half_day"]): s["booked"] for s in hall.slots(TUESDAY, 2, "A")}
    assert free[("2026-03-03", "am")] == 0 and free[("2026-03-04", "pm")] == 1
    with pytest.raises(InvalidInput, match="非工作日"):
        hall.move({**credentials, "day": "2026-03-08", "half_day": "am"}, "10.0.0.1")
    station.clock.when = dt.datetime(2026, 3, 4, 13, 30, tzinfo=TZ)  # the slot starts
    with pytest.raises(Conflict, match="不能改约或取消"):
        hall.cancel(credentials, "10.0.0.1")
    station.clock.when = dt.datetime(2026, 3, 4, 13, 29, tzinfo=TZ)
    cancelled = hall.cancel(credentials, "10.0.0.1")
    assert cancelled["status"] == "cancelled"
    assert {(s["day"], s["half_day"]): s["booked"] for s in hall.slots(TUESDAY, 2, "A")}[("2026-03-04", "pm")] == 0
    with pytest.raises(Conflict, match="已取消"):
        hall.cancel(credentials, "10.0.0.1")


def test_an_appointment_ticket_keeps_the_appointment_and_one_not_kept_is_missed(district, clerk):
    station, hall = district
    kept = hall.book(booking())
    forgotten = hall.book(booking(half_day="pm"))
    later = hall.book(booking(day=dt.date(2026, 3, 4)))
    assert [a["booking_no"] for a in hall.reminders_due(clerk)] == [kept["booking_no"], forgotten["booking_no"]]
    station.clock.when = dt.datetime(2026, 3, 3, 8, 40, tzinfo=TZ)
    with pytest.raises(InvalidInput, match="预约号与身份证号不符"):
        hall.issue({"kind": "appointment", "booking_no": kept["booking_no"], "id_number": person()}, clerk)
    with pytest.raises(Conflict, match="非当日预约"):
        hall.issue({"kind": "appointment", "booking_no": later["booking_no"], "id_number": later["id_number"]}, clerk)
    ticket = hall.issue({"kind": "appointment", "booking_no": kept["booking_no"], "id_number": kept["id_number"]},
                        clerk)
    assert (ticket["ticket_no"], ticket["kind"], ticket["applicant_name"]) == ("A001", "appointment", "黄秀英")
    assert hall.appointment(kept["booking_no"], clerk)["status"] == "kept"
    with pytest.raises(Conflict, match="已到场取号"):
        hall.issue({"kind": "appointment", "booking_no": kept["booking_no"], "id_number": kept["id_number"]}, clerk)

    station.clock.when = dt.datetime(2026, 3, 3, 16, 59, tzinfo=TZ)
    assert hall.mark_missed() == 0
    station.clock.when = dt.datetime(2026, 3, 3, 17, 0, tzinfo=TZ)  # the afternoon is over
    assert hall.mark_missed() == 1
    statuses = {a["booking_no"]: a["status"] for a in hall.appointments(clerk, TUESDAY)}
    assert statuses == {kept["booking_no"]: "kept", forgotten["booking_no"]: "missed"}
    assert hall.appointment(later["booking_no"], clerk)["status"] == "booked"


# -- tickets and calling ---------------------------------------------------------------------
def test_priority_then_appointments_then_walk_ins_and_people_ahead(district, clerk):
    station, hall = district
    appointment = hall.book(booking(day=MONDAY.date(), half_day="pm"), clerk)
    first = hall.issue(walk_in(), clerk)
    elderly = hall.issue({"kind": "priority", "name": "王奶奶", "id_number": person(dt.date(1950, 1, 1)),
                          "window_type": "A"}, clerk)
    booked = hall.issue({"kind": "appointment", "booking_no": appointment["booking_no"],
                         "id_number": appointment["id_number"]}, clerk)
    disabled = hall.issue({**walk_in(), "kind": "priority", "disabled": True}, clerk)
    second = hall.issue(walk_in(), clerk)
    assert [t["ticket_no"] for t in (first, elderly, booked, disabled, second)] == [
        "A001", "A002", "A003", "A004", "A005"]
    assert [t["people_ahead"] for t in (first, elderly, booked, disabled, second)] == [0, 0, 1, 1, 4]
    assert (elderly["priority_reason"], disabled["priority_reason"]) == ("elderly", "disabled")
    with pytest.raises(InvalidInput, match="不符合绿色通道条件"):
        hall.issue({**walk_in(), "kind": "priority"}, clerk)
    with pytest.raises(Conflict, match="请勿重复取号"):
        hall.issue({**walk_in(), "id_number": second["id_number"]}, clerk)
    with pytest.raises(InvalidInput, match="窗口类型不存在"):
        hall.issue(walk_in("Z"), clerk)

    called = [hall.call_next({"window_type": "A", "window": "3"}, clerk)["ticket_no"] for _ in range(5)]
    assert called == ["A002", "A004", "A003", "A001", "A005"]
    with pytest.raises(NotFound, match="当前无人等候"):
        hall.call_next({"window_type": "A", "window": "3"}, clerk)


def test_recall_no_show_finish_and_the_display(district, clerk):
    station, hall = district
    one, two, three = (hall.issue(walk_in(), clerk) for _ in range(3))
    hall.issue(walk_in("B"), clerk)
    a = hall.call_next({"window_type": "A", "window": "3"}, clerk)
    station.clock.advance(minutes=2)
    b = hall.call_next({"window_type": "A", "window": "5"}, clerk)
    station.clock.advance(minutes=1)
    assert hall.recall(a["id"], clerk)["recalls"] == 1
    shown = hall.display()
    assert [(c["ticket_no"], c["window"]) for c in shown["calls"]] == [("A001", "3"), ("A002", "5")]
    assert {w["window_type"]: w["waiting"] for w in shown["waiting"]} == {"A": 1, "B": 1, "C": 0, "D": 0}
    assert "黄" not in str(shown) and "李" not in str(shown) and one["id_number"] not in str(shown)

    station.clock.advance(minutes=6)
    finished = hall.finish(a["id"], {"case_no": "449902-20260302-00001"}, clerk)
    assert finished["status"] == "finished" and finished["case_no"] == "449902-20260302-00001"
    assert finished["waiting_seconds"] == 0 and finished["service_seconds"] == 9 * 60
    gone = hall.no_show(b["id"], clerk)
    assert gone["status"] == "no_show" and gone["service_seconds"] is None and gone["waiting_seconds"] == 120
    for act in (hall.recall, hall.no_show):
        with pytest.raises(Conflict, match="only a called ticket"):
            act(b["id"], clerk)
    with pytest.raises(Conflict, match="only a called ticket"):
        hall.finish(three["id"], {}, clerk)
    with pytest.raises(NotFound):
        hall.recall(999, clerk)
    assert [t["ticket_no"] for t in hall.tickets(clerk, status="waiting")] == ["A003", "B001"]
    with pytest.raises(Forbidden, match="排队叫号"):
        hall.call_next({"window_type": "A", "window": "3"}, station.user(roles.SUPERVISOR))
    assert two["ticket_no"] == "A002"


def test_two_counters_calling_at_the_same_moment_get_different_tickets(district, clerk):
    station, hall = district
    issued = [hall.issue(walk_in(), clerk)["id"] for _ in range(12)]

    def call(i):
        with own_store(station) as store:
            return store.call_next("A", str(i + 1), user={"username": f"counter{i}"})["id"]
    results = run_together(12, call)
    assert sorted(results) == sorted(issued), results
    with station.database.reading() as session:
        rows = session.execute(select(HallTicket.status, HallTicket.window)).all()
    assert {r.status for r in rows} == {"called"} and len({r.window for r in rows}) == 12


def test_a_counter_that_loses_the_race_for_a_ticket_takes_the_next_one(district, clerk):
    """The compare-and-set at work: just after counter 1 chose the first waiting ticket and
    before its UPDATE, counter 2 calls and commits; counter 1's UPDATE changes no row and it
    takes the next ticket instead of the same one."""
    station, hall = district
    first, second = hall.issue(walk_in(), clerk), hall.issue(walk_in(), clerk)
    engine = station.database.engine
    state = {"fired": False, "other": None}

    def before(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("UPDATE HALL_TICKETS") and not state["fired"]:
            state["fired"] = True
            other = station.database.sessions()
            try:
                state["other"] = HallStore(other, DISTRICT, station.info.network, hall._calendar(other),
                                           station.clock).call_next("A", "7")
                other.commit()
            finally:
                other.close()
    event.listen(engine, "before_cursor_execute", before)
    try:
        session = station.database.sessions()
        try:
            mine = hall.store(session).call_next("A", "3")
            session.commit()
        finally:
            session.close()
    finally:
        event.remove(engine, "before_cursor_execute", before)
    assert state["other"]["ticket_no"] == first["ticket_no"] and state["other"]["window"] == "7"
    assert mine["ticket_no"] == second["ticket_no"] and mine["window"] == "3"


def test_numbers_continue_after_a_restart_and_start_again_the_next_day(district, clerk):
    station, hall = district
    assert [hall.issue(walk_in(), clerk)["ticket_no"] for _ in range(2)] == ["A001", "A002"]
    assert hall.issue(walk_in("D"), clerk)["ticket_no"] == "D001"
    # the station restarts: a new engine on the same database, a new provider
    restarted = Database(station.database.url)
    restarted.ready = True
    try:
        again = HallDesk(restarted, station.info, station.clock)
        assert again.issue(walk_in(), clerk)["ticket_no"] == "A003"
        station.clock.advance(days=1)
        assert again.issue(walk_in(), clerk)["ticket_no"] == "A001"
        assert again.issue(walk_in("D"), clerk)["ticket_no"] == "D001"
        assert [t["ticket_no"] for t in again.tickets(clerk)] == ["A001", "D001"]  # today's only
    finally:
        restarted.engine.dispose()


# -- the HTTP API ----------------------------------------------------------------------------
@pytest.fixture
def api(container_factory, web_config, web_session, station_url):
    """(station, call(method, path, body=None, token=None)) of the district's gateway with
    the station's HallDesk (its fixed clock) in place of the provider's."""
    declare_rpc_exchange()
    station, url = station_url(DISTRICT)
    container = container_factory(GatewayService, service_config(DISTRICT, url, **web_config))
    replace_dependencies(container, "district_records", desk=station.desk,
                         hall=HallDesk(station.database, station.info, station.clock))
    container.start()

    def call(method, path, body=None, token=None, **kwargs):
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return web_session.request(method, path, json=body, headers=headers, timeout=10, **kwargs)
    return station, call


def assert_json_error(response, status, *fragments):
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    error = response.json()
    assert set(error) >= {"error", "message"} and error["error"], error
    for fragment in fragments:
        assert fragment in error["message"], error


def test_the_api_books_refuses_full_slots_and_days_off_and_masks_what_it_shows(api):
    station, call = api
    village_id = person()
    slots = call("GET", "/api/hall/slots", params={"from": "2026-03-03", "days": 7, "window_type": "B"})
    assert slots.status_code == 200, slots.text
    days = sorted({s["day"] for s in slots.json()["slots"]})
    assert days == ["2026-03-03", "2026-03-04", "2026-03-05", "2026-03-06", "2026-03-09"]
    assert [w["code"] for w in slots.json()["window_types"]] == ["A", "B", "C", "D"]
    assert_json_error(call("GET", "/api/hall/slots", params={"days": 100}), 400, "days")

    made = call("POST", "/api/hall/appointments", booking(village_id))
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["booking_no"] == "Y260303A001" and body["mobile"] == "138****8000"
    assert body["id_number"] == village_id[:3] + "*" * 11 + village_id[-4:]
    assert_json_error(call("POST", "/api/hall/appointments", booking(day=dt.date(2026, 3, 8))), 400, "非工作日")
    assert_json_error(call("POST", "/api/hall/appointments", {**booking(), "surprise": 1}), 400, "surprise")
    with station.database.transaction() as session:  # the slot's other places are taken
        session.execute(HallSlot.__table__.update().values(booked=20))
    assert_json_error(call("POST", "/api/hall/appointments", booking()), 409, "该时段已约满，请选择其他时段")

    credentials = {"booking_no": body["booking_no"], "id_number": village_id, "mobile": MOBILE}
    found = call("POST", "/api/hall/appointments/lookup", credentials)
    assert found.status_code == 200 and found.json()["status"] == "booked"
    assert_json_error(call("POST", "/api/hall/appointments/lookup", {**credentials, "mobile": "13900139000"}), 404,
                      "没有与该预约号")
    moved = call("POST", "/api/hall/appointments/move", {**credentials, "day": "2026-03-05", "half_day": "pm"})
    assert moved.status_code == 200 and moved.json()["moved_from"] == "2026-03-03 am"
    assert call("POST", "/api/hall/appointments/cancel", credentials).json()["status"] == "cancelled"
    for _ in range(4):  # 5 failures with the one above
        call("POST", "/api/hall/appointments/lookup", {**credentials, "mobile": "13900139000"})
    limited = call("POST", "/api/hall/appointments/lookup", credentials)
    assert_json_error(limited, 429, "预约查询失败次数过多")
    assert int(limited.headers["Retry-After"]) > 0


def test_the_api_issues_and_calls_tickets_for_counters_only(api):
    station, call = api
    _, clerk = station.add_user(roles.WINDOW_CLERK, username="clerk")
    _, reviewer = station.add_user(roles.REVIEWER, "civil_affairs")
    assert_json_error(call("POST", "/api/hall/tickets", walk_in()), 401)
    assert_json_error(call("POST", "/api/hall/tickets", walk_in(), token=reviewer), 403, "排队叫号")
    assert_json_error(call("POST", "/api/hall/calls", {"window_type": "A", "window": "3"}, token=clerk), 404,
                      "当前无人等候")
    issued = call("POST", "/api/hall/tickets", walk_in(), token=clerk)
    assert issued.status_code == 201, issued.text
    ticket = issued.json()
    assert ticket["ticket_no"] == "A001" and ticket["people_ahead"] == 0 and "*" in ticket["id_number"]
    assert_json_error(call("POST", "/api/hall/tickets", {**walk_in(), "kind": "vip"}, token=clerk), 400, "kind")
    listed = call("GET", "/api/hall/tickets", params={"status": "waiting"}, token=clerk).json()["tickets"]
    assert [t["ticket_no"] for t in listed] == ["A001"]
    called = call("POST", "/api/hall/calls", {"window_type": "A", "window": "3"}, token=clerk).json()
    assert called["ticket_no"] == "A001" and called["status"] == "called" and called["window"] == "3"
    assert call("POST", f"/api/hall/tickets/{ticket['id']}/recall", token=clerk).json()["recalls"] == 1
    display = call("GET", "/api/hall/display")
    assert display.status_code == 200
    assert [(c["ticket_no"], c["window"]) for c in display.json()["calls"]] == [("A001", "3")]
    assert "李建国" not in display.text
    finished = call("POST", f"/api/hall/tickets/{ticket['id']}/finish", {}, token=clerk)
    assert finished.status_code == 200 and finished.json()["status"] == "finished"
    assert_json_error(call("POST", f"/api/hall/tickets/{ticket['id']}/no-show", token=clerk), 409, "only a called")
    assert_json_error(call("POST", "/api/hall/tickets/999/recall", token=clerk), 404)
    spec = call("GET", "/api/openapi.json").json()
    assert {"/api/hall/slots", "/api/hall/calls", "/api/hall/display"} <= set(spec["paths"])


# -- a case filed from a ticket ----------------------------------------------------------------
def test_a_case_filed_from_a_called_ticket_remembers_it_and_the_ticket_its_case(station_url):
    station, _ = station_url(SOUTH_VILLAGE)
    hall = HallDesk(station.database, station.info, station.clock)
    agent = station.user(roles.VILLAGE_AGENT, username="agent")
    waiting = hall.issue(walk_in(), agent)
    with pytest.raises(Conflict, match="a case is filed from a called ticket"):
        station.desk.file(filing("MZ-002", ["M01", "M02", "M03", "M04", "M05"], ticket_id=waiting["id"]), agent)
    assert station.case_count(agent) == 0 and hall.ticket(waiting["id"], agent)["case_no"] is None
    called = hall.call_next({"window_type": "A", "window": "1"}, agent)
    case = station.desk.file(filing("MZ-002", ["M01", "M02", "M03", "M04", "M05"], ticket_id=called["id"]), agent)
    assert case["ticket_no"] == "A001" and station.case(case["case_no"])["ticket_no"] == "A001"
    assert hall.ticket(called["id"], agent)["case_no"] == case["case_no"]
    # the district's copy carries the ticket number too
    assert [m["body"]["case"].get("ticket_no") for m in station.relay.of_kind(CASE_RECORD)] == ["A001"]
    with pytest.raises(Conflict, match="already belongs to case"):
        station.desk.file(filing("MZ-002", ["M01", "M02", "M03", "M04", "M05"], ticket_id=called["id"]), agent)
    with pytest.raises(NotFound, match="排队号不存在"):
        station.desk.file(filing("MZ-002", ["M01", "M02", "M03", "M04", "M05"], ticket_id=999), agent)
    with pytest.raises(InvalidInput, match="ticket_id"):
        station.desk.file(filing("MZ-002", ["M01"], ticket_id="A001"), agent)
    assert station.case_count(agent) == 1
    finished = hall.finish(called["id"], {}, agent)
    assert finished["case_no"] == case["case_no"] and finished["status"] == "finished"


def test_the_stations_housekeeping_timer_marks_missed_appointments(container_factory, station_url, tmp_path):
    station, url = station_url(DISTRICT)
    hall = HallDesk(station.database, station.info, station.clock)
    made = hall.book(booking())
    clock_file = tmp_path / "clock.json"
    set_simulated_now(clock_file, dt.datetime(2026, 3, 3, 12, 1, tzinfo=TZ))  # Tuesday's morning is over
    container = container_factory(OutboxSweeperService, service_config(
        DISTRICT, url, **{HALL_SWEEP_KEY: 0.05, RELAY_SWEEP_KEY: 60, AUDIT_COPY_KEY: 60,
                          CLOCK_FILE_KEY: str(clock_file)}))
    container.start()
    clerk = station.user(roles.WINDOW_CLERK)
    for _ in range(400):  # until the timer has run (a bound, not a speed assert)
        if hall.appointment(made["booking_no"], clerk)["status"] != "booked":
            break
        eventlet.sleep(0.05)
    assert hall.appointment(made["booking_no"], clerk)["status"] == "missed"


def test_a_closed_ticket_is_published_to_the_district_after_its_commit(station_url):
    station, _ = station_url(SOUTH_VILLAGE)
    hall = HallDesk(station.database, station.info, station.clock, station.relay)
    agent = station.user(roles.VILLAGE_AGENT, username="agent")
    for _ in range(2):
        hall.issue(walk_in(), agent)
    first = hall.call_next({"window_type": "A", "window": "1"}, agent)
    assert station.relay.of_kind(HALL_VISIT) == []  # nothing closed yet
    hall.finish(first["id"], {}, agent)
    second = hall.call_next({"window_type": "A", "window": "1"}, agent)
    hall.no_show(second["id"], agent)
    sent = station.relay.of_kind(HALL_VISIT, to=DISTRICT)
    assert [(m["body"]["ticket_no"], m["body"]["status"]) for m in sent] == [("A001", "finished"), ("A002", "no_show")]
    assert station.outbox_count() == 2
