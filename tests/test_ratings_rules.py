"""The rules of the 好差评 cycle (shared/ratings/), plain Python: levels and scores, the
responsible office, the default rating's day, the rectification order's states and limit,
appeals, who may do what, and the figures on a hand-built set."""
import datetime as dt

import pytest

from shared.auth import permissions, roles
from shared.calendar import WorkingDayCalendar
from shared.cases import schemas as case_schemas
from shared.exceptions import Conflict, Forbidden, InvalidInput
from shared.ratings import appeals, figures, levels
from shared.ratings import rectification as orders
from shared.ratings.policy import RatingPolicy, completed_on
from shared.validation import load

CAL = WorkingDayCalendar()
POLICY = RatingPolicy()
DISTRICT = "449902"


# -- levels ------------------------------------------------------------------------------------
@pytest.mark.parametrize("score,level,label", [
    (5, "very_satisfied", "非常满意"), (4, "satisfied", "满意"), (3, "basic", "基本满意"),
    (2, "dissatisfied", "不满意"), (1, "very_dissatisfied", "非常不满意")])
def test_a_score_names_its_level_and_a_level_its_score(score, level, label):
    assert levels.resolve(score=score) == (level, score)
    assert levels.resolve(level=level) == (level, score)
    assert levels.resolve(score, level) == (level, score)
    assert levels.LABELS[level] == label
    assert levels.level_of({"score": score}) == level          # a version-1 rating has only its score
    assert levels.is_bad(level) == (score <= 2)


def test_a_rating_without_level_or_score_or_with_both_disagreeing_is_refused():
    with pytest.raises(InvalidInput):
        levels.resolve()
    with pytest.raises(InvalidInput, match="disagree"):
        levels.resolve(5, "dissatisfied")
    with pytest.raises(InvalidInput):
        levels.resolve(level="great")


def test_the_counter_schema_takes_the_old_score_the_new_level_and_reasons():
    old = load(case_schemas.RatingSchema, {"score": 4})
    assert (old["level"], old["score"], old["reasons"], old["comment"]) == ("satisfied", 4, [], "")
    new = load(case_schemas.RatingSchema, {"level": "dissatisfied", "reasons": ["efficiency", "materials",
                                                                               "efficiency"], "comment": "跑了两次"})
    assert (new["score"], new["reasons"]) == (2, ["efficiency", "materials"])
    for bad, field in (({}, "level"), ({"score": 6}, "score"), ({"level": "ok"}, "level"),
                       ({"score": 2, "reasons": ["rude"]}, "reasons"), ({"score": "5"}, "score"),
                       ({"score": 1, "level": "very_satisfied"}, "level")):
        with pytest.raises(InvalidInput) as refused:
            load(case_schemas.RatingSchema, bad)
        assert field in refused.value.details, (bad, refused.value.details)
    resident = load(case_schemas.ResidentRatingSchema, {"case_no": "449902-20260302-00001", "query_code": "ABCD-2345",
                                                        "level": "very_dissatisfied", "reasons": ["counter_attitude"]})
    assert resident["score"] == 1 and resident["reasons"] == ["counter_attitude"]


def test_a_bad_rating_is_the_counters_only_when_every_reason_is_about_the_counter():
    case = {"department": "civil_affairs", "deciding_station": "449902001", "filing_station": "449902001201"}
    assert orders.order_for(case, ["counter_attitude"], DISTRICT) == ("449902001201", "counter", "449902001201")
    assert orders.order_for(case, ["counter_attitude", "counter_waiting"], DISTRICT)[1] == "counter"
    assert orders.order_for(case, ["counter_attitude", "result"], DISTRICT) == (
        "civil_affairs", "department", "449902001")
    assert orders.order_for(case, [], DISTRICT) == ("civil_affairs", "department", "449902001")
    assert orders.order_for(dict(case, deciding_station=None), ["efficiency"], DISTRICT)[2] == DISTRICT


def test_the_history_line_starts_with_the_score_as_before_and_names_level_and_reasons():
    assert levels.history_text("dissatisfied", ["efficiency", "other"], "太慢") == "评价2分（不满意），原因：办事效率、其他：太慢"
    assert levels.history_text("very_satisfied", [], "") == "评价5分（非常满意）"
    assert levels.label("basic", is_default=True) == "基本满意（默认）"


# -- the default rating ------------------------------------------------------------------------
def test_an_unrated_case_gets_its_default_seven_calendar_days_after_it_was_completed():
    completed = dt.date(2026, 9, 30)                       # the National Day holiday follows: calendar days
    assert POLICY.default_on(completed) == dt.date(2026, 10, 7)
    assert not POLICY.window_closed(completed, dt.date(2026, 10, 6))
    assert POLICY.window_closed(completed, dt.date(2026, 10, 7))
    assert not POLICY.window_closed(None, dt.date(2026, 10, 7))


def test_a_case_is_completed_on_the_day_it_moved_into_completed_not_the_day_it_was_rated():
    history = [{"at": "2026-03-02T09:30:00+08:00", "from_status": None, "to_status": "accepted"},
               {"at": "2026-03-05T23:30:00+00:00", "from_status": "result_ready", "to_status": "completed"},
               {"at": "2026-03-09T10:00:00+08:00", "from_status": "completed", "to_status": "completed"}]
    assert completed_on({"status": "completed", "history": history}) == dt.date(2026, 3, 6)  # district time
    assert completed_on({"status": "result_ready", "history": history[:1]}) is None


# -- rectification orders ----------------------------------------------------------------------
def test_an_order_is_due_five_working_days_after_it_opened():
    assert POLICY.rectification_due(dt.date(2026, 3, 6), CAL) == dt.date(2026, 3, 13)      # Friday -> Friday
    # National Day 10-01..07 is off, Saturday 10-10 is worked (调休): 10-08, 09, 10, 12, 13
    assert POLICY.rectification_due(dt.date(2026, 9, 30), CAL) == dt.date(2026, 10, 13)
    order = {"state": "open", "due_date": dt.date(2026, 3, 13), "acted_on": None}
    assert not orders.overdue(order, dt.date(2026, 3, 13)) and orders.overdue(order, dt.date(2026, 3, 14))
    assert not orders.overdue(dict(order, state="acted"), dt.date(2026, 3, 20))
    assert orders.light(order, dt.date(2026, 3, 10), CAL) == "green"      # Tuesday: 3 working days left
    assert orders.light(order, dt.date(2026, 3, 12), CAL) == "yellow"     # Thursday: one left
    assert orders.light(order, dt.date(2026, 3, 14), CAL) == "red"
    assert orders.light(dict(order, state="acted"), dt.date(2026, 3, 14), CAL) is None
    assert orders.on_time(order) is None
    assert orders.on_time(dict(order, acted_on=dt.date(2026, 3, 13)))
    assert not orders.on_time(dict(order, acted_on=dt.date(2026, 3, 16)))


def test_an_order_moves_open_acted_followed_up_closed_and_is_cancelled_only_before_closing():
    assert orders.next_state("open", "act") == "acted"
    assert orders.next_state("acted", "follow_up") == "followed_up"
    assert orders.next_state("acted", "follow_up", closes=True) == "closed"
    assert orders.next_state("followed_up", "rate") == "closed"
    for state, action in (("open", "follow_up"), ("open", "rate"), ("acted", "act"), ("closed", "rate"),
                          ("cancelled", "act")):
        with pytest.raises(Conflict):
            orders.next_state(state, action)
    assert orders.next_state("acted", "cancel") == "cancelled"
    with pytest.raises(Conflict):
        orders.next_state("closed", "cancel")


def user(role, department=None, username="u"):
    return {"username": username, "name": "测试", "role": role, "department": department}


def test_who_acts_on_an_order_follows_it_up_appeals_and_decides():
    dept = {"office": "civil_affairs", "office_kind": "department", "station": DISTRICT}
    district_counter = {"office": DISTRICT, "office_kind": "counter", "station": DISTRICT}
    village_counter = {"office": "449902001201", "office_kind": "counter", "station": "449902001201"}
    reviewer, other = user(roles.REVIEWER, "civil_affairs"), user(roles.APPROVER, "health")
    supervisor, clerk = user(roles.SUPERVISOR), user(roles.WINDOW_CLERK)
    permissions.can_act_on_rectification(reviewer, dept, DISTRICT)
    permissions.can_appeal_rating(reviewer, dept, DISTRICT)
    for refused, order in ((other, dept), (supervisor, dept), (clerk, dept), (reviewer, district_counter),
                           (supervisor, district_counter), (clerk, village_counter)):
        with pytest.raises(Forbidden):
            permissions.can_act_on_rectification(refused, order, DISTRICT)
    permissions.can_act_on_rectification(clerk, district_counter, DISTRICT)
    permissions.can_act_on_rectification(supervisor, village_counter, DISTRICT)   # on the village's behalf
    with pytest.raises(Forbidden):                   # ...but the supervisor never appeals for it
        permissions.can_appeal_rating(supervisor, village_counter, DISTRICT)
    permissions.can_follow_up_rectification(supervisor)
    permissions.can_decide_rating_appeal(supervisor)
    for refused in (reviewer, clerk, user(roles.ADMINISTRATOR)):
        with pytest.raises(Forbidden):
            permissions.can_follow_up_rectification(refused)
        with pytest.raises(Forbidden):
            permissions.can_decide_rating_appeal(refused)
    assert permissions.rectification_office(reviewer) == "civil_affairs"
    assert permissions.rectification_office(supervisor, "health") == "health"
    with pytest.raises(Forbidden):
        permissions.rectification_office(reviewer, "health")
    with pytest.raises(Forbidden):
        permissions.rectification_office(user(roles.VILLAGE_AGENT))


# -- appeals -----------------------------------------------------------------------------------
def test_only_a_residents_bad_rating_is_appealed_once_within_five_working_days():
    bad = {"level": "very_dissatisfied", "is_default": False, "annulled": False}
    opened = dt.date(2026, 3, 6)
    due = POLICY.appeal_due(opened, CAL)
    assert due == dt.date(2026, 3, 13)
    appeals.check_appealable(bad, None, due, due)
    with pytest.raises(Conflict, match="期限"):
        appeals.check_appealable(bad, None, due + dt.timedelta(days=1), due)
    with pytest.raises(Conflict, match="一次"):
        appeals.check_appealable(bad, "upheld", opened, due)
    with pytest.raises(Conflict, match="差评"):
        appeals.check_appealable(dict(bad, level="satisfied"), None, opened, due)
    with pytest.raises(Conflict, match="差评"):
        appeals.check_appealable(dict(bad, level="basic", is_default=True), None, opened, due)
    with pytest.raises(Conflict, match="作废"):
        appeals.check_appealable(dict(bad, annulled=True), None, opened, due)


def test_the_supervisor_upholds_or_annuls_once_and_an_annulment_needs_its_reason():
    assert appeals.decided_state("pending", "uphold", "") == "upheld"
    assert appeals.decided_state("pending", "annul", "恶意差评，有录音为证") == "annulled"
    with pytest.raises(InvalidInput):
        appeals.decided_state("pending", "annul", " ")
    with pytest.raises(InvalidInput):
        appeals.decided_state("pending", "maybe", "x")
    with pytest.raises(Conflict):
        appeals.decided_state("upheld", "annul", "改判")


# -- figures on a hand-built set -------------------------------------------------------------
def _rating(case_no, level, is_default=False, annulled=False, department="civil_affairs"):
    return {"case_no": case_no, "level": level, "is_default": is_default, "annulled": annulled,
            "department": department}


def _order(case_no, acted_on=None, followed_up_on=None, resident_level=None, due=dt.date(2026, 3, 13)):
    return {"case_no": case_no, "state": "open", "due_date": due, "acted_on": acted_on,
            "followed_up_on": followed_up_on, "resident_level": resident_level}


HAND_SET = [
    _rating("c1", "very_satisfied"), _rating("c2", "very_satisfied"), _rating("c3", "satisfied"),
    _rating("c4", "basic"), _rating("c5", "dissatisfied"), _rating("c6", "very_dissatisfied"),
    _rating("c7", "very_dissatisfied", annulled=True),         # annulled on appeal: left out
    _rating("c8", "basic", is_default=True), _rating("c9", "basic", is_default=True),
    _rating("c10", "dissatisfied", department="health"),
]
ORDERS = [
    _order("c5", acted_on=dt.date(2026, 3, 12), followed_up_on=dt.date(2026, 3, 16), resident_level="satisfied"),
    _order("c6", acted_on=dt.date(2026, 3, 16)),                 # late
    _order("c7", acted_on=dt.date(2026, 3, 10), followed_up_on=dt.date(2026, 3, 11)),   # its rating annulled
    _order("c10"),
]
APPEALS = [{"case_no": "c6", "state": "upheld"}, {"case_no": "c7", "state": "annulled"},
           {"case_no": "c10", "state": "pending"}, {"case_no": "elsewhere", "state": "annulled"}]


def test_the_figures_of_a_hand_built_set():
    found = figures.figures(HAND_SET, ORDERS, APPEALS)
    # 7 real ratings counted (c7 annulled), 2 defaults: 7 of 9 completed cases rated
    assert (found["rated"], found["defaults"], found["annulled"], found["completed"]) == (7, 2, 1, 9)
    assert found["participation"] == round(7 / 9, 4)
    assert found["by_level"] == {"very_satisfied": 2, "satisfied": 1, "basic": 1, "dissatisfied": 2,
                                 "very_dissatisfied": 1}
    assert (found["satisfied"], found["satisfied_share"]) == (4, round(4 / 7, 4))
    assert (found["bad_reviews"], found["bad_review_rate"]) == (3, round(3 / 7, 4))
    # orders of c5, c6, c10 (c7's rating annulled): two acted, one of them on time, one followed up
    assert (found["rectifications"], found["rectified"], found["rectification_rate"]) == (3, 2, round(2 / 3, 4))
    assert (found["rectified_on_time"], found["on_time_rate"]) == (1, round(1 / 3, 4))
    assert (found["followed_up"], found["follow_up_rate"]) == (1, round(1 / 3, 4))
    assert found["resident_satisfied_after"] == 1
    # appeals of this set: c6 upheld, c7 annulled, c10 pending
    assert (found["appeals"], found["appeals_decided"], found["appeals_annulled"], found["appeals_upheld"]) == (
        3, 2, 1, 1)
    assert found["appeal_success_rate"] == 0.5
    assert set(found) == set(figures.FIGURES)


def test_the_figures_grouped_and_of_nothing():
    by_department = figures.grouped(HAND_SET, ORDERS, APPEALS, key=lambda r: r["department"])
    assert by_department["health"]["rated"] == 1 and by_department["health"]["rectifications"] == 1
    assert by_department["health"]["appeals"] == 1 and by_department["health"]["rectified"] == 0
    assert by_department["civil_affairs"]["rated"] == 6 and by_department["civil_affairs"]["rectifications"] == 2
    empty = figures.figures([])
    assert empty["rated"] == 0 and empty["participation"] is None and empty["on_time_rate"] is None
