"""Due dates of cases in working days: holidays, a supplement pause, an extension, an
immediate item accepted on a day off, and provisional due dates counted across a year
whose holidays are estimated, recomputed once its schedule is published."""
import copy
import datetime as dt
import tempfile
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from services.cases.provisional import ProvisionalDueDates
from services.config import StationInfo
from shared.auth.staffing import COUNTER_USERNAME
from shared.calendar import Schedule, WorkingDayCalendar
from shared.cases import states
from shared.cases.workflow import CaseWorkflow
from shared.catalogue.store import CatalogueStore
from shared.clock import DISTRICT_TZ, set_simulated_now
from shared.db.models import OutboxMessage
from shared.exceptions import Conflict
from shared.messages import CASE_EXTENSION_DECISION, CASE_HANDOVER, CASE_RECORD
from shared.supervision import lights
from shared.stations import VILLAGE as VILLAGE_TIER
from tests.test_case_network import DISTRICT, SOUTH_VILLAGE, CaseNetwork, desk_session, wait_until
from tests.test_case_network import filing as network_filing
from tests.test_case_rules import NETWORK, TZ, FakeCatalogue, filing, item


class MovableClock:
    def __init__(self, day):
        self.moment = dt.datetime.combine(day, dt.time(9, 30), TZ)

    def now(self):
        return self.moment

    def go_to(self, day):
        self.moment = dt.datetime.combine(day, dt.time(10, 0), TZ)


def district_workflow(clock, **item_overrides):
    return CaseWorkflow(NETWORK.station("445203"), NETWORK, FakeCatalogue(item(**item_overrides)),
                        WorkingDayCalendar(), clock.now)


def test_case_accepted_on_the_friday_before_qingming_is_due_after_the_holiday():
    # Friday 2026-04-03; Saturday 4th to Monday 6th are off (清明节): 3 working days are
    # Tuesday 7th, Wednesday 8th, Thursday 9th
    clock = MovableClock(dt.date(2026, 4, 3))
    case = district_workflow(clock, promised_limit_days=3, legal_limit_days=10).file("F1", filing()).case
    assert case["due_date"] == "2026-04-09"
    assert case["legal_due_date"] == "2026-04-20"  # 7-10 April, 13-17 April, then Monday 20th


def test_case_accepted_before_national_day_counts_the_adjusted_saturday():
    # Wednesday 2026-09-30; 1-7 October are off, Saturday 10 October is worked
    clock = MovableClock(dt.date(2026, 9, 30))
    case = district_workflow(clock, promised_limit_days=3).file("F2", filing()).case
    assert case["due_date"] == "2026-10-10"


def test_immediate_item_is_due_the_day_it_is_accepted():
    clock = MovableClock(dt.date(2026, 11, 27))
    case = district_workflow(clock, processing_type="immediate", promised_limit_days=0, legal_limit_days=0,
                             decision_steps=["approve"]).file("F3", filing()).case
    assert case["due_date"] == "2026-11-27" and case["status"] == states.PENDING_APPROVAL


def test_a_five_working_day_supplement_pause_moves_the_due_date_by_five_working_days():
    clock = MovableClock(dt.date(2026, 11, 23))               # Monday
    wf = district_workflow(clock, promised_limit_days=10)
    case = wf.file("P1", filing()).case
    assert case["due_date"] == "2026-12-07"
    clock.go_to(dt.date(2026, 11, 25))                        # Wednesday: the office asks for more
    case = wf.suspend(case, ["M03"], "病历资料不清晰，请重新提供", "陈审查").case
    assert case["status"] == states.SUSPENDED and case["paused_since"] == "2026-11-25"
    with pytest.raises(Conflict):
        wf.decide(case, {"step": "review", "outcome": "pass", "department": "civil_affairs", "operator": "x"})
    clock.go_to(dt.date(2026, 12, 2))                         # next Wednesday: 5 working days later
    assert wf.apply_supplement(case, ["M03"], "林代办", "445203001201")
    assert case["status"] == states.PENDING_REVIEW and "paused_since" not in case
    assert case["paused_working_days"] == 5
    assert case["due_date"] == "2026-12-14"                   # 2026-12-07 + 5 working days
    assert case["pauses"] == [{"from": "2026-11-25", "to": "2026-12-02", "working_days": 5}]


def test_a_granted_extension_moves_the_due_date_and_a_second_request_is_refused():
    clock = MovableClock(dt.date(2026, 11, 23))
    wf = district_workflow(clock, promised_limit_days=5)
    case = wf.file("E1", filing()).case
    assert case["due_date"] == "2026-11-30"
    case = wf.request_extension(case, 3, "需现场核查", "陈审查").case
    case = wf.decide_extension(case, True, "同意延期", "区政务办").case
    assert case["extension"]["status"] == "granted" and case["due_date"] == "2026-12-03"
    assert case["history"][-1]["action"] == "extension_granted"
    with pytest.raises(Conflict, match="one extension"):
        wf.request_extension(case, 2, "再次申请", "陈审查")


def test_a_refused_extension_keeps_the_due_date():
    clock = MovableClock(dt.date(2026, 11, 23))
    wf = district_workflow(clock, promised_limit_days=5)
    case = wf.request_extension(wf.file("E2", filing()).case, 3, "需现场核查", "陈审查").case
    case = wf.decide_extension(case, False, "理由不充分", "区政务办").case
    assert case["extension"]["status"] == "refused" and case["due_date"] == "2026-11-30"
    with pytest.raises(Conflict, match="no extension waiting"):
        wf.decide_extension(case, True, "改为同意", "区政务办")


def test_an_extension_of_a_case_held_at_a_township_is_decided_once_and_applied_there():
    clock = MovableClock(dt.date(2026, 11, 23))
    delegated = item(authority_tier="township", promised_limit_days=5)
    township = CaseWorkflow(NETWORK.station("445203001"), NETWORK, FakeCatalogue(delegated),
                            WorkingDayCalendar(), clock.now)
    district = district_workflow(clock, authority_tier="township", promised_limit_days=5)
    held = township.request_extension(township.file("E3", filing()).case, 3, "需现场核查", "曲溪街道受理员").case
    assert held["holder_station"] == "445203001" and held["due_date"] == "2026-11-30"
    record = copy.deepcopy(held)  # the district's copy, from the township's record
    result = district.decide_extension(record, True, "同意延期", "区政务办")
    assert [(m.to, m.kind) for m in result.messages] == [("445203001", CASE_EXTENSION_DECISION)]
    # the copy shows it decided (no second decision) but does not move what the holder owns
    assert result.case["extension"]["status"] == "granted" and result.case["due_date"] == "2026-11-30"
    assert result.case["revision"] == held["revision"]
    with pytest.raises(Conflict, match="no extension waiting"):
        district.decide_extension(result.case, False, "改为不同意", "区政务办")
    assert township.apply_extension_decision(held, result.messages[0].body)
    assert held["extension"]["status"] == "granted" and held["due_date"] == "2026-12-03"
    assert not township.apply_extension_decision(held, result.messages[0].body)  # a redelivery changes nothing
    assert held["due_date"] == "2026-12-03"


# -- an immediate item accepted on a day off -------------------------------------------------
IMMEDIATE = dict(processing_type="immediate", promised_limit_days=0, legal_limit_days=0,
                 decision_steps=["approve"])


def test_immediate_item_filed_on_a_sunday_is_due_on_monday_and_not_late_that_morning():
    clock = MovableClock(dt.date(2026, 11, 29))                      # a Sunday
    case = district_workflow(clock, **IMMEDIATE).file("F4", filing()).case
    assert case["status"] == states.PENDING_APPROVAL
    assert case["due_date"] == case["legal_due_date"] == "2026-11-30"  # Monday
    assert case["provisional_due"] is False
    calendar, monday = WorkingDayCalendar(), dt.date(2026, 11, 30)
    # Monday morning: due today, a yellow light but no card; late on Tuesday
    assert lights.light(case, monday, calendar) == lights.YELLOW
    assert lights.card(case, monday, calendar) is None
    assert lights.card(case, dt.date(2026, 12, 1), calendar) == lights.YELLOW_CARD


def test_immediate_item_filed_during_national_day_is_due_on_the_first_working_day_after():
    clock = MovableClock(dt.date(2026, 10, 3))
    case = district_workflow(clock, **IMMEDIATE).file("F5", filing()).case
    assert case["due_date"] == "2026-10-08"


def test_immediate_item_filed_on_new_years_day_2027_is_due_monday_4_january_provisionally():
    clock = MovableClock(dt.date(2027, 1, 1))                        # a Friday, estimated off
    case = district_workflow(clock, **IMMEDIATE).file("F6", filing()).case
    assert case["due_date"] == "2027-01-04"
    assert case["provisional_due"] is True and case["estimated_years"] == [2027]


# -- provisional due dates ------------------------------------------------------------------
def test_a_2027_filing_skips_the_estimated_spring_festival_and_is_provisional():
    # Monday 25 January 2027; the estimated Spring Festival keeps 4-12 February off
    clock = MovableClock(dt.date(2027, 1, 25))
    case = district_workflow(clock, promised_limit_days=10, legal_limit_days=20).file("S1", filing()).case
    assert case["due_date"] == "2027-02-17"        # 26-29 Jan, 1-3 Feb, then 15-17 Feb (not 8 Feb)
    assert case["legal_due_date"] == "2027-03-03"  # not 22 February
    assert case["provisional_due"] is True and case["estimated_years"] == [2027]


def test_a_case_within_an_official_year_is_not_provisional():
    clock = MovableClock(dt.date(2026, 11, 23))
    case = district_workflow(clock, promised_limit_days=5, legal_limit_days=20).file("S2", filing()).case
    assert case["provisional_due"] is False and case["estimated_years"] == []


def test_a_deficiency_date_alone_across_the_new_year_makes_the_case_provisional():
    # Tuesday 29 December 2026, a one-day item accepted with deficiency: due 30 December,
    # but the missing material is due 5 working days later, in January 2027
    clock = MovableClock(dt.date(2026, 12, 29))
    case = district_workflow(clock, promised_limit_days=1, legal_limit_days=1).file(
        "S3", filing(materials=("M01", "M02"), deficiency_promise=True)).case
    assert case["acceptance"] == states.ACCEPTED_WITH_DEFICIENCY
    assert case["due_date"] == "2026-12-30" and case["deficiency"]["due_date"] == "2027-01-06"
    assert case["provisional_due"] is True


SCHEDULE_2027 = Schedule(  # an invented official schedule: the Spring Festival 6-14 February,
    2027, holidays=["2027-01-01", "2027-02-08", "2027-02-09", "2027-02-10", "2027-02-11",
                    "2027-02-12"],
    workdays=["2027-02-20"])  # with Saturday 20 February worked


def published_calendar():
    return WorkingDayCalendar([SCHEDULE_2027])


def test_the_holder_recomputes_provisional_dates_once_with_one_history_entry():
    clock = MovableClock(dt.date(2027, 1, 25))
    case = district_workflow(clock, promised_limit_days=10, legal_limit_days=20).file("S4", filing()).case
    revision = case["revision"]
    clock.go_to(dt.date(2027, 1, 27))
    known = CaseWorkflow(NETWORK.station("445203"), NETWORK, FakeCatalogue(item()), published_calendar(), clock.now)
    result = known.recompute_provisional_due_dates(case)
    assert result is not None and result.messages == []
    # 10 working days: 26-29 Jan, 1-5 Feb (4 and 5 Feb worked now), then 15 Feb (8-12 off)
    assert case["due_date"] == "2027-02-15"
    # 20: ... 15 Feb (10), 16-19 Feb (14), Saturday 20th worked (15), 22-26 Feb (20)
    assert case["legal_due_date"] == "2027-02-26"
    assert case["provisional_due"] is False and case["estimated_years"] == []
    entry = case["history"][-1]
    assert case["revision"] == revision + 1
    assert (entry["actor"], entry["action"], entry["station"]) == ("system", "recompute_due_dates", "445203")
    assert entry["from_status"] == entry["to_status"] == case["status"]
    assert "2027年" in entry["reason"]
    assert "办结期限 2027-02-17 → 2027-02-15" in entry["reason"]
    assert "法定期限 2027-03-03 → 2027-02-26" in entry["reason"]
    # once: asking again changes nothing
    assert known.recompute_provisional_due_dates(case) is None
    assert case["revision"] == revision + 1


def test_only_the_holder_recomputes():
    clock = MovableClock(dt.date(2027, 1, 25))
    held = item(authority_tier="township", promised_limit_days=10)
    township = CaseWorkflow(NETWORK.station("445203001"), NETWORK, FakeCatalogue(held), WorkingDayCalendar(),
                            clock.now)
    case = township.file("S5", filing(code="MZ-002")).case
    assert case["holder_station"] == "445203001" and case["provisional_due"]
    district = CaseWorkflow(NETWORK.station("445203"), NETWORK, FakeCatalogue(held), published_calendar(),
                            clock.now)
    copy_at_district = copy.deepcopy(case)
    assert district.recompute_provisional_due_dates(copy_at_district) is None
    assert copy_at_district == case


def test_a_case_arriving_after_the_schedule_is_recomputed_on_receipt():
    clock = MovableClock(dt.date(2027, 1, 25))
    village = CaseWorkflow(NETWORK.station("445203001201"), NETWORK, FakeCatalogue(item(promised_limit_days=10)),
                           WorkingDayCalendar(), clock.now)
    sent = village.file("S6", filing()).case
    assert sent["provisional_due"] and sent["due_date"] == "2027-02-17"
    # the township already knows 2027's schedule when the case reaches it
    township = CaseWorkflow(NETWORK.station("445203001"), NETWORK, FakeCatalogue(item()), published_calendar(),
                            clock.now)
    result = township.receive_handover(copy.deepcopy(sent), None)
    case = result.case
    assert [h["action"] for h in case["history"][-3:]] == ["receive", "recompute_due_dates", "forward"]
    assert case["due_date"] == "2027-02-15" and not case["provisional_due"]
    assert [(m.to, m.kind) for m in result.messages] == [("445203", CASE_HANDOVER)]


def test_a_case_across_two_estimated_years_stays_provisional_until_both_are_known():
    clock = MovableClock(dt.date(2027, 12, 20))
    case = district_workflow(clock, promised_limit_days=5, legal_limit_days=20).file("S7", filing()).case
    assert case["estimated_years"] == [2027, 2028]
    known_2027 = CaseWorkflow(NETWORK.station("445203"), NETWORK, FakeCatalogue(item()), published_calendar(),
                              clock.now)
    assert known_2027.recompute_provisional_due_dates(case) is not None
    assert case["provisional_due"] is True and case["estimated_years"] == [2028]
    assert "2028年节假日仍为预估" in case["history"][-1]["reason"]
    assert known_2027.recompute_provisional_due_dates(case) is None  # 2028 is still unknown


def test_an_immediate_case_accepted_on_an_estimated_holiday_that_turns_out_to_be_worked():
    clock = MovableClock(dt.date(2027, 2, 4))  # a Thursday, off on the estimate
    case = district_workflow(clock, **IMMEDIATE).file("S8", filing()).case
    assert case["due_date"] == "2027-02-15" and case["provisional_due"]
    known = CaseWorkflow(NETWORK.station("445203"), NETWORK, FakeCatalogue(item()), published_calendar(),
                         clock.now)
    known.recompute_provisional_due_dates(case)
    assert case["due_date"] == "2027-02-04"  # a working day after all: due that day


# -- recomputed at a station, with its database and outbox -----------------------------------
VILLAGE = "445203001201"


class OutboxOnly:
    """A relay that leaves every message in the outbox (no broker in this test): what
    the station committed is read from its outbox table."""

    def flush(self, message_ids=None, older_than_seconds=None):
        return 0


def add_to_catalogue(db, *changes):
    with db.transaction() as session:
        store = CatalogueStore(session)
        for kind, code, payload in changes:
            store.record(kind, code, payload, "2027-01-01T00:00:00+08:00", "test")


def test_publishing_2027_recomputes_the_village_case_once_and_queues_the_districts_copy(memory_db):
    clock = MovableClock(dt.date(2027, 1, 25))
    local = item(code="CJ-001", name="村级证明", authority_tier="village", promised_limit_days=10,
                 legal_limit_days=20, decision_steps=["approve"])
    add_to_catalogue(memory_db, ("add", "CJ-001", local))
    station = ProvisionalDueDates(memory_db, OutboxOnly(), StationInfo(NETWORK.station(VILLAGE), NETWORK),
                                  clock.now)
    agent = {"username": "lin", "name": "林代办", "role": "village_agent", "station": VILLAGE,
             "department": None}
    filed = station.file(filing(code="CJ-001"), agent)
    case_no = filed["case_no"]
    assert filed["holder_station"] == VILLAGE and filed["status"] == states.PENDING_APPROVAL
    assert filed["provisional_due"] and filed["due_date"] == "2027-02-17"
    assert station.candidates() == []  # nothing is known about 2027 yet

    add_to_catalogue(memory_db, ("calendar", None, SCHEDULE_2027.to_dict()))
    assert station.candidates() == [case_no]
    assert station.recompute_all() == [case_no]
    case = station.get(case_no, agent)
    assert case["due_date"] == "2027-02-15" and case["legal_due_date"] == "2027-02-26"
    assert not case["provisional_due"]
    entries = [h for h in station.history(case_no, agent) if h["action"] == "recompute_due_dates"]
    assert len(entries) == 1 and entries[0]["actor"] == "system"
    # the district's copy is in the outbox, committed with the change
    assert district_records(memory_db, case_no)[-1]["due_date"] == "2027-02-15"

    # publishing 2027 again (a correction) or sweeping again adds nothing
    add_to_catalogue(memory_db, ("calendar", None, SCHEDULE_2027.to_dict()))
    assert station.recompute_all() == []
    assert [h["action"] for h in station.history(case_no, agent)].count("recompute_due_dates") == 1
    assert len(district_records(memory_db, case_no)) == 2  # filing, recompute


def district_records(db, case_no):
    with db.reading() as session:
        rows = session.scalars(select(OutboxMessage).where(OutboxMessage.routing_key == "445203")
                               .order_by(OutboxMessage.id))
        bodies = [row.body for row in rows]
    return [b["body"]["case"] for b in bodies
            if b["kind"] == CASE_RECORD and b["body"]["case"]["case_no"] == case_no]


def test_the_district_recomputes_the_cases_it_holds_when_it_publishes_the_schedule(memory_db):
    from district.catalogue_editing import CatalogueDesk
    clock = MovableClock(dt.date(2027, 1, 25))
    add_to_catalogue(memory_db, ("add", "MZ-002", item(promised_limit_days=10, legal_limit_days=20)))
    district = ProvisionalDueDates(memory_db, OutboxOnly(), StationInfo(NETWORK.station("445203"), NETWORK),
                                   clock.now)
    clerk = {"username": "chen", "name": "陈窗口", "role": "window_clerk", "station": "445203",
             "department": None}
    case_no = district.file(filing(), clerk)["case_no"]
    assert district.get(case_no, clerk)["provisional_due"]
    editing = CatalogueDesk(memory_db, OutboxOnly(), set(NETWORK.departments), "445203", district)
    admin = "管理员（admin）"
    editing.publish_schedule(SCHEDULE_2027.to_dict(), admin)
    case = district.get(case_no, clerk)
    assert case["due_date"] == "2027-02-15" and not case["provisional_due"]
    assert [h["action"] for h in case["history"]].count("recompute_due_dates") == 1
    editing.publish_schedule(SCHEDULE_2027.to_dict(), admin)  # published again: nothing more
    assert district.get(case_no, clerk)["revision"] == case["revision"]


# -- over the real network ------------------------------------------------------------------
def local_item(code, tier, promised=10, legal=20):
    return {"code": code, "name": f"期限测试事项{code}", "department": "civil_affairs",
            "category": "public_service", "processing_type": "promised", "legal_limit_days": legal,
            "promised_limit_days": promised, "authority_tier": tier, "decision_steps": ["approve"],
            "materials": [{"code": "M01", "name": "申请表", "kind": "core"}]}


@pytest.fixture(scope="module")
def network_in_2027(amqp_uri):
    """The case-flow test district (tests/test_case_network.py), each station in its own
    process over RabbitMQ, on a simulated clock: Monday 25 January 2027."""
    clock_file = str(Path(tempfile.mkdtemp(prefix="tongban-clock-")) / "clock.json")
    set_simulated_now(clock_file, dt.datetime(2027, 1, 25, 9, 0, tzinfo=DISTRICT_TZ))
    network = CaseNetwork(clock_file=clock_file)
    try:
        network.start()
        yield network
    finally:
        network.stop()


def test_publishing_2027_at_the_district_recomputes_provisional_cases_where_they_are_held(network_in_2027):
    net = network_in_2027
    net.post(DISTRICT, "/api/catalogue/items", local_item("QX-001", "village"))
    net.post(DISTRICT, "/api/catalogue/items", local_item("QX-002", "district"))
    version = net.get(DISTRICT, "/api/catalogue")["version"]
    wait_until(lambda: net.get(SOUTH_VILLAGE, "/api/catalogue")["version"] == version, 15)

    at_village = net.post(SOUTH_VILLAGE, "/api/cases", network_filing("QX-001", ["M01"]))
    at_district = net.post(DISTRICT, "/api/cases", network_filing("QX-002", ["M01"]))
    village_no, district_no = at_village["case_no"], at_district["case_no"]
    for case in (at_village, at_district):
        assert case["provisional_due"] is True and case["estimated_years"] == [2027]
        assert (case["due_date"], case["legal_due_date"]) == ("2027-02-17", "2027-03-03")
    assert at_village["holder_station"] == SOUTH_VILLAGE and at_district["holder_station"] == DISTRICT
    # the district's copy of the village's case, and the desk's label
    wait_until(lambda: (c := net.case(DISTRICT, village_no)) and c["provisional_due"], 15,
               message="the district's copy of the village case")
    desk = desk_session(net, SOUTH_VILLAGE, COUNTER_USERNAME[VILLAGE_TIER])
    page = desk.get(net.launcher.url_of(SOUTH_VILLAGE) + f"/desk/cases/{village_no}")
    assert page.ok and "按预估节假日计算" in page.text

    net.post(DISTRICT, "/api/catalogue/calendar", SCHEDULE_2027.to_dict())

    def recomputed(code, case_no):
        case = net.case(code, case_no)
        return case if case and case["due_date"] == "2027-02-15" and not case["provisional_due"] else None
    village_case = wait_until(lambda: recomputed(SOUTH_VILLAGE, village_no), 20,
                              message="the village's case recomputed at the village")
    district_copy = wait_until(lambda: recomputed(DISTRICT, village_no), 20,
                               message="the district's copy of the village case updated")
    district_case = wait_until(lambda: recomputed(DISTRICT, district_no), 20,
                               message="the district's own case recomputed")
    for case, holder in ((village_case, SOUTH_VILLAGE), (district_copy, SOUTH_VILLAGE),
                         (district_case, DISTRICT)):
        assert case["legal_due_date"] == "2027-02-26"
        entries = [h for h in case["history"] if h["action"] == "recompute_due_dates"]
        assert len(entries) == 1, case["history"]
        assert (entries[0]["station"], entries[0]["actor"]) == (holder, "system")
        assert "办结期限 2027-02-17 → 2027-02-15" in entries[0]["reason"]
    assert district_copy["revision"] == village_case["revision"]
    page = desk.get(net.launcher.url_of(SOUTH_VILLAGE) + f"/desk/cases/{village_no}")
    assert page.ok and "按预估节假日计算" not in page.text and "重算期限" in page.text

    # published again (a correction): nothing is recomputed a second time
    net.post(DISTRICT, "/api/catalogue/calendar", SCHEDULE_2027.to_dict())
    version = net.get(DISTRICT, "/api/catalogue")["version"]
    wait_until(lambda: net.get(SOUTH_VILLAGE, "/api/catalogue")["version"] == version, 15)
    time.sleep(1.0)
    assert net.case(SOUTH_VILLAGE, village_no)["revision"] == village_case["revision"]
    assert net.case(DISTRICT, village_no)["revision"] == village_case["revision"]
    assert net.case(DISTRICT, district_no)["revision"] == district_case["revision"]
