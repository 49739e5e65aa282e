"""Online applications and their pre-review (网上预审) as plain Python: the state machine's
new states, every answer of the counter, the one-day limit, the notices each answer
writes, and the visits a case records (shared/cases/pre_review.py)."""
import datetime as dt

import pytest

from shared.cases import pre_review, states
from shared.cases.workflow import CaseWorkflow
from shared.calendar import WorkingDayCalendar
from shared.exceptions import Conflict, InvalidInput, TransitionForbidden
from shared.messages import CASE_HANDOVER, CASE_RECORD, CASE_RESULT
from shared.supervision import lights
from tests.test_case_rules import NETWORK, TZ, FakeCatalogue, filing, item

VILLAGE, TOWNSHIP, DISTRICT = "445203001201", "445203001", "445203"
MONDAY = dt.datetime(2026, 11, 23, 9, 30, tzinfo=TZ)   # a working day
ONLINE = item(code="MZ-002", online="pre_review")
FULL = item(code="MZ-005", name="高龄老人津贴申请", online="full", decision_steps=["approve"],
            materials=[{"code": "M01", "name": "申请表", "kind": "core", "copies": 1},
                       {"code": "M02", "name": "身份证", "kind": "core", "copies": 1}])
COUNTER_ONLY = item(code="MZ-001", name="内地居民结婚登记", online="none")


class Clock:
    def __init__(self, now):
        self.now = now

    def __call__(self):
        return self.now


def workflow(station, clock):
    return CaseWorkflow(NETWORK.station(station), NETWORK, FakeCatalogue(ONLINE, FULL, COUNTER_ONLY),
                        WorkingDayCalendar(), clock)


def application(materials=("M01", "M02"), code="MZ-002", **extra):
    request = filing(materials=materials, code=code, **extra)
    request["agent"] = "申请人（网上申请）"
    return request


def apply(clock=None, station=VILLAGE, **kwargs):
    clock = clock or Clock(MONDAY)
    return workflow(station, clock), clock, workflow(station, clock).apply_online(
        f"{station}-20261123-00001", application(**kwargs))


# -- the state machine ----------------------------------------------------------------
def test_pre_review_states_allow_only_the_answers_and_the_visit():
    assert states.PRE_REVIEW in states.ALLOWED[None]
    assert set(states.ALLOWED[states.PRE_REVIEW]) == {states.PRE_REVIEW_SUPPLEMENT, states.PRE_REVIEW_PASSED,
                                                      states.RETURNED, *states.ACCEPTANCE_OUTCOMES}
    assert states.ALLOWED[states.PRE_REVIEW_SUPPLEMENT] == (states.PRE_REVIEW, states.RETURNED)
    # a passed pre-review waits for the visit: it is neither routed nor decided before it
    with pytest.raises(TransitionForbidden):
        states.check(states.PRE_REVIEW_PASSED, states.FORWARDED)
    with pytest.raises(TransitionForbidden):
        states.check(states.PRE_REVIEW, states.PENDING_REVIEW)
    for state in states.ONLINE_WAITING:
        assert states.LABELS[state]


# -- applying ------------------------------------------------------------------------
def test_an_online_application_waits_for_pre_review_with_a_one_working_day_limit():
    wf, clock, result = apply()
    case = result.case
    assert case["status"] == states.PRE_REVIEW and case["channel"] == "online"
    assert case["visits"] == 0 and pre_review.visits_of(case) == 0
    assert case["accepted_at"] is None and case["holder_station"] == VILLAGE
    assert case["pre_review"]["since"] == "2026-11-23" and case["pre_review"]["due_date"] == "2026-11-24"
    assert case["due_date"] == "2026-11-24"  # supervised while it waits
    # the district's record of it goes with the step, as for any case
    assert [(m.to, m.kind) for m in result.messages] == [(DISTRICT, CASE_RECORD)]
    assert lights.is_running(case)
    calendar = WorkingDayCalendar()
    assert lights.light(case, dt.date(2026, 11, 23), calendar) == lights.YELLOW
    assert lights.light(case, dt.date(2026, 11, 25), calendar) == lights.RED
    assert lights.card(case, dt.date(2026, 11, 25), calendar) == lights.YELLOW_CARD


def test_an_application_on_friday_evening_is_due_on_monday():
    friday = dt.datetime(2026, 11, 27, 21, 0, tzinfo=TZ)
    _, _, result = apply(Clock(friday))
    assert result.case["pre_review"]["due_date"] == "2026-11-30"


def test_items_not_accepted_online_and_bad_deliveries_are_refused():
    wf = workflow(VILLAGE, Clock(MONDAY))
    with pytest.raises(Conflict, match="不受理网上申请"):
        wf.apply_online("x-1", application(code="MZ-001"))
    with pytest.raises(InvalidInput, match="only items handled fully online"):
        wf.apply_online("x-2", application(delivery={"method": "post", "address": "东山村1号"}))
    with pytest.raises(InvalidInput, match="needs the address"):
        wf.apply_online("x-3", application(code="MZ-005", delivery={"method": "post"}))
    with pytest.raises(InvalidInput, match="not materials of item"):
        wf.apply_online("x-4", application(materials=("M01", "M09")))


def test_a_counter_filing_is_one_visit_and_a_case_from_before_counts_one():
    wf = workflow(VILLAGE, Clock(MONDAY))
    case = wf.file(f"{VILLAGE}-20261123-00002", filing()).case
    assert case["visits"] == 1 and "channel" not in case
    older = dict(case)
    del older["visits"]
    assert pre_review.visits_of(older) == 1


# -- answers ---------------------------------------------------------------------------
def test_supplement_lists_everything_missing_in_one_notice_and_the_upload_restarts_the_review():
    wf, clock, result = apply(materials=("M01", "M02"))
    case = result.case
    answered = wf.answer_pre_review(case, {"answer": "supplement", "materials": ["M02", "M03"],
                                           "reason": "身份证照片不清晰"}, "王窗口")
    case = answered.case
    assert case["status"] == states.PRE_REVIEW_SUPPLEMENT
    assert case["notice"]["kind"] == "supplement" and case["notice"]["missing"] == ["M02", "M03"]
    assert case["materials_submitted"] == ["M01"]  # the unclear one is asked for again
    assert case["due_date"] is None  # the resident's turn: no limit runs
    [notice] = answered.notices
    assert notice["kind"] == pre_review.NOTICE_SUPPLEMENT and notice["mobile"] == "13800138000"
    assert notice["params"]["materials"] == "身份证、病历资料" and notice["case_no"] == case["case_no"]
    assert case["pre_review"]["answers"][0]["within_limit"] is True
    # uploading only part of the list is refused: one notice, one complete answer
    with pytest.raises(Conflict, match="尚缺：病历资料"):
        wf.resubmit_online(case, ["M02"])
    assert case["status"] == states.PRE_REVIEW_SUPPLEMENT
    clock.now = MONDAY + dt.timedelta(days=1)
    case = wf.resubmit_online(case, ["M02", "M03"]).case
    assert case["status"] == states.PRE_REVIEW and case["materials_submitted"] == ["M01", "M02", "M03"]
    assert case["pre_review"]["due_date"] == "2026-11-25" and case["visits"] == 0


def test_pass_waits_for_one_visit_and_the_counter_accepts_with_the_originals():
    wf, clock, result = apply(materials=("M01", "M02", "M03"))
    answered = wf.answer_pre_review(result.case, {"answer": "pass"}, "王窗口")
    case = answered.case
    assert case["status"] == states.PRE_REVIEW_PASSED and case["accepted_at"] is None
    assert [n["kind"] for n in answered.notices] == [pre_review.NOTICE_ANSWER]
    assert "携带原件" in answered.notices[0]["params"]["answer"]
    assert not lights.is_running(case)  # waiting for the resident, not the counter
    clock.now = MONDAY + dt.timedelta(days=2)
    accepted = wf.accept_with_originals(case, None, "王窗口")
    case = accepted.case
    assert case["status"] == states.FORWARDED and case["acceptance"] == states.ACCEPTED
    assert case["visits"] == 1 and case["accepted_at"].startswith("2026-11-25")
    assert [(m.to, m.kind) for m in accepted.messages] == [(TOWNSHIP, CASE_HANDOVER), (DISTRICT, CASE_RECORD)]
    assert [n["kind"] for n in accepted.notices] == [pre_review.NOTICE_ACCEPTANCE]
    # only once: it is accepted (and on its way to the township) now
    with pytest.raises(Conflict, match="held by station 445203001"):
        wf.accept_with_originals(case, None, "王窗口")


def test_originals_missing_at_the_visit_need_a_supplement_and_the_return_is_a_second_visit():
    wf, clock, result = apply(materials=("M01", "M02", "M03"))
    case = wf.answer_pre_review(result.case, {"answer": "pass"}, "王窗口").case
    # the counter finds two originals missing: the uploads do not stand for them
    case = wf.accept_with_originals(case, ["M01"], "王窗口").case
    assert case["status"] == states.NEEDS_SUPPLEMENT and case["visits"] == 1
    case = wf.supplement(case, ["M02", "M03"], "王窗口").case
    assert case["acceptance"] == states.ACCEPTED and case["visits"] == 2


def test_pass_fully_online_accepts_at_once_without_a_visit():
    wf, clock, result = apply(code="MZ-005", materials=("M01", "M02"),
                              delivery={"method": "post", "address": "东山村幸福路8号"})
    answered = wf.answer_pre_review(result.case, {"answer": "pass_online"}, "王窗口")
    case = answered.case
    assert case["acceptance"] == states.ACCEPTED and case["visits"] == 0
    assert case["status"] == states.FORWARDED and case["due_date"] is not None
    assert [n["kind"] for n in answered.notices] == [pre_review.NOTICE_ACCEPTANCE]
    assert case["history"][-2]["action"] == "pre_review_pass_online"


def test_pass_fully_online_is_refused_for_a_pre_review_item_and_for_missing_materials():
    wf, _, result = apply(materials=("M01", "M02", "M03"))
    with pytest.raises(Conflict, match="不是全程网办事项"):
        wf.answer_pre_review(result.case, {"answer": "pass_online"}, "王窗口")
    wf, _, result = apply(code="MZ-005", materials=("M01",))
    with pytest.raises(Conflict, match="不能全程网办受理"):
        wf.answer_pre_review(result.case, {"answer": "pass_online"}, "王窗口")


def test_refuse_needs_a_written_reason_and_is_final():
    wf, _, result = apply()
    with pytest.raises(InvalidInput, match="reason"):
        wf.answer_pre_review(result.case, {"answer": "refuse", "reason": "  "}, "王窗口")
    answered = wf.answer_pre_review(result.case, {"answer": "refuse", "reason": "申请人户籍不在本区"}, "王窗口")
    case = answered.case
    assert case["status"] == states.RETURNED and case["notice"]["reason"] == "申请人户籍不在本区"
    assert answered.notices[0]["params"]["reason"] == "申请人户籍不在本区"
    with pytest.raises(Conflict, match="not waiting for a pre-review"):
        wf.answer_pre_review(case, {"answer": "pass"}, "王窗口")


def test_an_answer_after_the_limit_is_recorded_late_and_unknown_answers_are_refused():
    wf, clock, result = apply()
    with pytest.raises(InvalidInput, match="answer: choose one of"):
        wf.answer_pre_review(result.case, {"answer": "maybe"}, "王窗口")
    clock.now = MONDAY + dt.timedelta(days=2)  # Wednesday: the limit was Tuesday
    case = wf.answer_pre_review(result.case, {"answer": "pass"}, "王窗口").case
    assert pre_review.answers_on_time(case) == (1, 0)


def test_only_the_receiving_counter_answers():
    _, _, result = apply()
    other = workflow("445203100201", Clock(MONDAY))
    with pytest.raises(Conflict, match="held by station"):
        other.answer_pre_review(result.case, {"answer": "pass"}, "李窗口")


# -- to the end: decided, notified, delivered ------------------------------------------------
def test_a_fully_online_case_decided_at_the_receiving_station_notifies_and_is_posted():
    wf, clock, result = apply(station=DISTRICT, code="MZ-005", materials=("M01", "M02"),
                              delivery={"method": "post", "address": "东山村幸福路8号"})
    case = wf.answer_pre_review(result.case, {"answer": "pass_online"}, "王窗口").case
    assert case["status"] == states.PENDING_APPROVAL
    decided = wf.decide(case, {"step": "approve", "outcome": "pass", "department": "civil_affairs",
                               "operator": "陈审批"})
    assert decided.case["status"] == states.RESULT_READY
    [notice] = decided.notices
    assert notice["kind"] == pre_review.NOTICE_RESULT and notice["params"]["outcome"] == "准予许可"
    with pytest.raises(InvalidInput, match="tracking number"):
        wf.deliver(decided.case, "王窗口")
    case = wf.deliver(decided.case, "王窗口", tracking_no="SF1234567890").case
    assert case["status"] == states.COMPLETED and case["delivery"]["method"] == "post"
    assert case["visits"] == 0


def test_a_result_back_at_the_receiving_village_writes_the_result_notice():
    wf, clock, result = apply(materials=("M01", "M02", "M03"))
    case = wf.answer_pre_review(result.case, {"answer": "pass"}, "王窗口").case
    case = wf.accept_with_originals(case, None, "王窗口").case
    # the district decides it and sends it back (as the network does, by case.result)
    district = workflow(DISTRICT, clock)
    township = workflow(TOWNSHIP, clock)
    case = township.receive_handover(case, None).case
    case = district.receive_handover(case, None).case
    case = district.decide(case, {"step": "review", "outcome": "pass", "department": "civil_affairs",
                                  "operator": "审查员"}).case
    decided = district.decide(case, {"step": "approve", "outcome": "pass", "department": "civil_affairs",
                                     "operator": "审批员"})
    assert [m.kind for m in decided.messages] == [CASE_RESULT]
    back = wf.receive_result(decided.case, None)
    assert back.case["status"] == states.RESULT_READY
    assert [n["kind"] for n in back.notices] == [pre_review.NOTICE_RESULT]
    done = wf.deliver(back.case, "王窗口").case
    assert done["status"] == states.COMPLETED and done["visits"] == 1 and "delivery" not in done
