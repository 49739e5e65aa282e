"""Due dates of cases in working days: holidays, a supplement pause, an extension."""
import copy
import datetime as dt

import pytest

from shared.calendar import WorkingDayCalendar
from shared.cases import states
from shared.cases.workflow import CaseWorkflow
from shared.exceptions import Conflict
from shared.messages import CASE_EXTENSION_DECISION
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
