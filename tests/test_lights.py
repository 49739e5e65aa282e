"""Deadline lights and cards on fixed dates around the 2026 Mid-Autumn and National Day
holidays, as the official calendar gives them:

    Sep 2026                 Oct 2026
    Fri 25 off (中秋)         Thu 1 - Wed 7 off (国庆)
    Sat 26, Sun 27 off       Thu 8, Fri 9 worked
    Mon 28 - Wed 30 worked   Sat 10 worked (调休), Sun 11 off
"""
import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest

from shared.calendar import WorkingDayCalendar
from shared.exceptions import InvalidInput
from shared.supervision import card, light, overdue_working_days
from shared.supervision.lights import is_running, red_card_threshold, working_days_left
from shared.stations import Network, SupervisionPolicy

TZ = ZoneInfo("Asia/Shanghai")
CAL = WorkingDayCalendar()
D = dt.date


def at(day, hour=10):
    return dt.datetime.combine(day, dt.time(hour), tzinfo=TZ).isoformat()


def entry(seq, day, from_status, to_status, action="x"):
    return {"entry_id": f"e{seq}", "seq": seq, "at": at(day), "station": "445203", "actor": "t",
            "action": action, "from_status": from_status, "to_status": to_status, "reason": ""}


def running_case(accepted, due, promised, status="pending_review", **extra):
    history = [entry(1, accepted, None, "accepted", "file"),
               entry(2, accepted, "accepted", status, "start_decision")]
    case = {"case_no": "445203-20260929-0001", "item": {"code": "MZ-002", "promised_limit_days": promised,
                                                       "legal_limit_days": 20},
            "filing_station": "445203", "status": status, "acceptance": "accepted",
            "filed_at": at(accepted, 9), "accepted_at": at(accepted, 9), "due_date": due.isoformat(),
            "history": history}
    case.update(extra)
    return case


def test_the_calendar_is_the_official_one_for_2026():
    assert CAL.source_of(2026) == "official"
    off = [D(2026, 9, 25), D(2026, 9, 26), D(2026, 9, 27), *(D(2026, 10, d) for d in range(1, 8)),
           D(2026, 10, 11)]
    worked = [D(2026, 9, 28), D(2026, 9, 30), D(2026, 10, 8), D(2026, 10, 9), D(2026, 10, 10)]
    assert not any(CAL.is_working_day(d) for d in off)
    assert all(CAL.is_working_day(d) for d in worked)


# Accepted Tue Sep 29 with a 5-day promise: Sep 30 (1), Oct 8 (2), 9 (3), Sat 10 (4), 12 (5).
FIVE_DAY = running_case(D(2026, 9, 29), D(2026, 10, 12), 5)


def test_hand_counted_due_date_agrees_with_the_calendar():
    assert CAL.add_working_days(D(2026, 9, 29), 5) == D(2026, 10, 12)


@pytest.mark.parametrize("today, left, colour", [
    (D(2026, 9, 29), 5, "green"),
    (D(2026, 10, 1), 4, "green"),    # inside the holiday: Oct 8, 9, 10, 12 remain
    (D(2026, 10, 7), 4, "green"),
    (D(2026, 10, 8), 3, "green"),
    (D(2026, 10, 9), 2, "green"),
    (D(2026, 10, 10), 1, "yellow"),  # the worked Saturday: only Mon Oct 12 remains
    (D(2026, 10, 11), 1, "yellow"),  # Sunday off: still one working day left
    (D(2026, 10, 12), 0, "yellow"),  # due today
    (D(2026, 10, 13), None, "red"),
])
def test_light_of_a_five_day_case_through_the_holiday(today, left, colour):
    assert working_days_left(FIVE_DAY, today, CAL) == left
    assert light(FIVE_DAY, today, CAL) == colour


def test_yellow_days_is_configurable():
    assert light(FIVE_DAY, D(2026, 10, 9), CAL, yellow_days=2) == "yellow"
    assert light(FIVE_DAY, D(2026, 10, 8), CAL, yellow_days=2) == "green"
    assert light(FIVE_DAY, D(2026, 10, 8), CAL, yellow_days=3) == "yellow"
    assert light(FIVE_DAY, D(2026, 10, 10), CAL, yellow_days=0) == "green"
    assert light(FIVE_DAY, D(2026, 10, 12), CAL, yellow_days=0) == "yellow"
    assert light(FIVE_DAY, D(2026, 10, 13), CAL, yellow_days=0) == "red"
    with pytest.raises(ValueError):
        light(FIVE_DAY, D(2026, 10, 9), CAL, yellow_days=-1)


def test_today_may_be_an_aware_datetime_in_any_zone():
    assert light(FIVE_DAY, dt.datetime(2026, 10, 12, 23, 59, tzinfo=TZ), CAL) == "yellow"
    # 16:30 UTC on Oct 12 is 00:30 on Oct 13 in the district
    assert light(FIVE_DAY, dt.datetime(2026, 10, 12, 16, 30, tzinfo=dt.timezone.utc), CAL) == "red"
    assert light(FIVE_DAY, "2026-10-13T08:00:00+08:00", CAL) == "red"


@pytest.mark.parametrize("today, overdue, the_card", [
    (D(2026, 10, 12), 0, None),
    (D(2026, 10, 13), 1, "yellow"),
    (D(2026, 10, 14), 2, "yellow"),
    (D(2026, 10, 15), 3, "red"),     # more than 50% of 5 = 2.5
    (D(2026, 10, 18), 4, "red"),     # Sunday: Oct 13-16; Sat 17 and Sun 18 are off
])
def test_cards_of_a_five_day_case(today, overdue, the_card):
    assert overdue_working_days(FIVE_DAY, today, CAL) == overdue
    assert card(FIVE_DAY, today, CAL) == the_card


def test_red_share_is_configurable():
    assert card(FIVE_DAY, D(2026, 10, 14), CAL, red_share=0.2) == "red"     # 2 > max(1, 1)
    assert card(FIVE_DAY, D(2026, 10, 14), CAL, red_share=0.4) == "yellow"  # 2 > 2 is false
    assert card(FIVE_DAY, D(2026, 10, 15), CAL, red_share=1.0) == "yellow"  # 3 > 5 is false


def test_a_ten_day_case_turns_red_after_five_late_working_days():
    # accepted Tue Sep 22: Sep 23, 24, 28, 29, 30, Oct 8, 9, 10, 12, 13 -> due Tue Oct 13
    case = running_case(D(2026, 9, 22), D(2026, 10, 13), 10)
    assert CAL.add_working_days(D(2026, 9, 22), 10) == D(2026, 10, 13)
    assert card(case, D(2026, 10, 13), CAL) is None
    assert card(case, D(2026, 10, 14), CAL) == "yellow"
    assert overdue_working_days(case, D(2026, 10, 20), CAL) == 5
    assert card(case, D(2026, 10, 20), CAL) == "yellow"
    assert overdue_working_days(case, D(2026, 10, 21), CAL) == 6
    assert card(case, D(2026, 10, 21), CAL) == "red"
    assert card(case, D(2026, 10, 16), CAL, red_share=0.2) == "red"      # 3 > 2
    assert card(case, D(2026, 10, 15), CAL, red_share=0.2) == "yellow"   # 2 > 2 is false


def test_a_case_due_before_the_holiday_is_red_during_it_with_a_yellow_card():
    # a one-day case accepted Tue Sep 29 is due Wed Sep 30
    case = running_case(D(2026, 9, 29), D(2026, 9, 30), 1)
    assert light(case, D(2026, 9, 30), CAL) == "yellow"
    for day in range(1, 8):
        assert light(case, D(2026, 10, day), CAL) == "red"
        assert overdue_working_days(case, D(2026, 10, day), CAL) == 0
        assert card(case, D(2026, 10, day), CAL) == "yellow"
    assert overdue_working_days(case, D(2026, 10, 8), CAL) == 1
    assert card(case, D(2026, 10, 8), CAL) == "yellow"   # threshold max(0.5, 1) = 1
    assert card(case, D(2026, 10, 9), CAL) == "red"


def test_an_immediate_case_is_due_the_day_it_is_accepted():
    case = running_case(D(2026, 10, 9), D(2026, 10, 9), 0)
    assert light(case, D(2026, 10, 9), CAL) == "yellow"
    assert light(case, D(2026, 10, 10), CAL) == "red"
    assert card(case, D(2026, 10, 10), CAL) == "yellow"    # one working day late
    assert card(case, D(2026, 10, 11), CAL) == "yellow"    # Sunday: still one
    assert overdue_working_days(case, D(2026, 10, 12), CAL) == 2
    assert card(case, D(2026, 10, 12), CAL) == "red"


def test_red_card_threshold_has_a_floor_of_one_working_day():
    assert red_card_threshold(0) == 1
    assert red_card_threshold(1) == 1
    assert red_card_threshold(2) == 1
    assert red_card_threshold(5) == 2.5
    assert red_card_threshold(20, 0.1) == 2
    with pytest.raises(ValueError):
        red_card_threshold(5, -0.5)


def test_a_paused_case_keeps_the_light_it_had_when_it_paused():
    paused = dict(FIVE_DAY, paused_since=at(D(2026, 10, 9)))
    for today in (D(2026, 10, 9), D(2026, 10, 13), D(2026, 11, 30)):
        assert light(paused, today, CAL) == "green"
        assert light(paused, today, CAL, yellow_days=2) == "yellow"
        assert card(paused, today, CAL) is None
        assert overdue_working_days(paused, today, CAL) == 0
    # before the pause date nothing changes
    assert light(paused, D(2026, 10, 1), CAL) == "green"


def test_a_case_paused_while_overdue_keeps_its_red_light_and_card():
    late = dict(FIVE_DAY, paused_since="2026-10-14")
    assert light(late, D(2026, 12, 1), CAL) == "red"
    assert overdue_working_days(late, D(2026, 12, 1), CAL) == 2
    assert card(late, D(2026, 12, 1), CAL) == "yellow"
    later = dict(FIVE_DAY, paused_since=at(D(2026, 10, 15)))
    assert card(later, D(2026, 12, 1), CAL) == "red"


def test_a_suspended_case_is_running_with_its_clock_paused():
    # as the workflow leaves it: status suspended, paused_since the suspension's date
    case = dict(FIVE_DAY, status="suspended", paused_since="2026-10-10",
                suspension={"since": "2026-10-10", "missing": [], "resume_status": "pending_review"})
    assert is_running(case)
    assert light(case, D(2026, 10, 20), CAL) == "yellow"
    assert card(case, D(2026, 10, 20), CAL) is None
    assert light(dict(case, status="needs_supplement"), D(2026, 10, 20), CAL) == "yellow"
    # resumed on Oct 20: paused Oct 12-16, 19, 20 = 7 working days, so the due date moves
    # from Oct 12 to Oct 13-16, 19-21 -> Wed Oct 21 and the light runs again from there
    resumed = dict(FIVE_DAY, due_date="2026-10-21", paused_working_days=7)
    assert CAL.working_days_between(D(2026, 10, 10), D(2026, 10, 20)) == 7
    assert CAL.add_working_days(D(2026, 10, 12), 7) == D(2026, 10, 21)
    assert light(resumed, D(2026, 10, 16), CAL) == "green"
    assert light(resumed, D(2026, 10, 20), CAL) == "yellow"
    assert light(resumed, D(2026, 10, 22), CAL) == "red"


@pytest.mark.parametrize("status", ["accepted", "accepted_with_deficiency", "accepted_by_commitment",
                                    "forwarded", "received", "pending_review", "pending_approval",
                                    "joint_review", "suspended"])
def test_every_running_status_has_a_light(status):
    case = running_case(D(2026, 9, 29), D(2026, 10, 12), 5, status=status)
    assert light(case, D(2026, 10, 13), CAL) == "red"


def test_a_joint_case_with_some_departments_still_to_decide_is_running():
    case = running_case(D(2026, 9, 29), D(2026, 10, 12), 5, status="joint_review")
    case["history"].append(entry(3, D(2026, 10, 9), "joint_review", "joint_review", "approve"))
    assert light(case, D(2026, 10, 9), CAL) == "green"


def test_cases_not_running_have_no_light_and_no_card():
    not_accepted = {"case_no": "n1", "status": "needs_supplement", "accepted_at": None, "due_date": None,
                    "item": {"promised_limit_days": 5}, "history": [
                        entry(1, D(2026, 9, 29), None, "needs_supplement", "file")]}
    returned = dict(not_accepted, status="returned", history=[
        entry(1, D(2026, 9, 29), None, "returned", "file")])
    approved = running_case(D(2026, 9, 29), D(2026, 10, 12), 5, status="result_sent")
    approved["history"] += [entry(3, D(2026, 10, 14), "pending_approval", "approved", "approve"),
                            entry(4, D(2026, 10, 14), "approved", "result_sent", "send_result")]
    rejected = running_case(D(2026, 9, 29), D(2026, 10, 12), 5, status="completed")
    rejected["history"] += [entry(3, D(2026, 10, 9), "pending_review", "rejected", "review"),
                            entry(4, D(2026, 10, 9), "rejected", "result_ready", "result_ready"),
                            entry(5, D(2026, 10, 10), "result_ready", "completed", "deliver")]
    for case in (not_accepted, returned, approved, rejected):
        assert not is_running(case)
        assert light(case, D(2026, 10, 20), CAL) is None
        assert card(case, D(2026, 10, 20), CAL) is None
    assert overdue_working_days(not_accepted, D(2026, 10, 20), CAL) == 0
    assert overdue_working_days(returned, D(2026, 10, 20), CAL) == 0
    # a decided case: how late the decision came (Oct 13, 14), not how late it is today
    assert overdue_working_days(approved, D(2026, 10, 20), CAL) == 2
    assert overdue_working_days(rejected, D(2026, 10, 20), CAL) == 0


def test_a_decision_recorded_in_history_stops_the_clock_even_if_the_status_lags():
    case = running_case(D(2026, 9, 29), D(2026, 10, 12), 5, status="pending_approval")
    case["history"].append(entry(3, D(2026, 10, 9), "pending_approval", "approved", "approve"))
    assert light(case, D(2026, 10, 20), CAL) is None


def test_the_thresholds_are_the_districts_policy_from_its_network_file():
    base = {"district": {"code": "449909", "name": "测试区"}, "stations": [{"code": "449909", "name": "区中心"}]}
    assert Network.from_dict(base).supervision == SupervisionPolicy(yellow_days=1, red_share=0.5)
    policy = Network.from_dict({**base, "supervision": {"yellow_days": 2, "red_share": 0.2}}).supervision
    assert light(FIVE_DAY, D(2026, 10, 9), CAL, policy.yellow_days) == "yellow"
    assert card(FIVE_DAY, D(2026, 10, 14), CAL, policy.red_share) == "red"
    for bad, fragment in [({"yellow_days": -1}, "yellow_days"), ({"yellow_days": "2"}, "yellow_days"),
                          ({"red_share": 0}, "red_share"), ({"red_share": True}, "red_share"),
                          ({"red_days": 3}, "unknown setting(s) red_days")]:
        with pytest.raises(InvalidInput, match=re.escape(fragment)):
            Network.from_dict({**base, "supervision": bad})
