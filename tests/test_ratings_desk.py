"""The 好差评 cycle at the district (district/ratings.py) on the district's database, in
this process without a broker (both databases): a bad rating given at the district's
counter opens a rectification order at the deciding department when the patrol copies it;
the order is answered, followed up and re-rated; an overdue one raises one card; an
unrated case turns default after 7 days; an appeal annuls a rating and the figures change."""
import datetime as dt

import pytest

from district.ratings import RatingDesk
from district.supervision_cards import CardDesk
from shared.auth import roles
from shared.db.models import RatingStep
from shared.exceptions import Conflict, Forbidden, InvalidInput, NotFound
from shared.supervision.cards import RECTIFICATION_CARD, card_id
from tests.support.inprocess import DISTRICT, filing, station_factory  # noqa: F401 (a fixture)

ALL_SJ_001 = ["M01", "M02", "M03"]                    # 区市场监督管理局: review, approve


def completed_case(station):
    """A case filed at the district's window (Monday 2026-03-02), reviewed, approved and
    handed over the same day: completed, held at the district."""
    clerk = station.user(roles.WINDOW_CLERK, username="clerk")
    case_no = station.desk.file(filing("SJ-001", ALL_SJ_001), clerk)["case_no"]
    for step, role in (("review", roles.REVIEWER), ("approve", roles.APPROVER)):
        station.desk.decide(case_no, {"step": step, "outcome": "pass", "department": "market_regulation"},
                            station.user(role, "market_regulation"))
    station.desk.deliver(case_no, {}, clerk)
    return case_no


def rate(station, case_no, **rating):
    return station.desk.rate(case_no, rating, station.user(roles.WINDOW_CLERK, username="clerk"))


@pytest.fixture
def district(station_factory):
    station = station_factory(DISTRICT)
    station.ratings = RatingDesk(station.database, station.info, station.clock)
    station.supervisor = station.user(roles.SUPERVISOR, username="supervisor")
    station.market = station.user(roles.REVIEWER, "market_regulation", username="market")
    return station


def total(station, **period):
    return station.ratings.figures(**period)[-1]


def test_a_very_bad_rating_opens_an_order_that_is_answered_followed_up_and_rerated(district):
    case_no = completed_case(district)
    rated = rate(district, case_no, level="very_dissatisfied", reasons=["efficiency"], comment="审批太慢")
    assert rated["rating"]["score"] == 1 and rated["rating"]["reasons"] == ["efficiency"]
    assert district.ratings.patrol() == {"ratings": [case_no], "defaults": [], "rectifications": [case_no],
                                         "cards": []}
    assert district.ratings.patrol() == {"ratings": [], "defaults": [], "rectifications": [], "cards": []}
    found = district.ratings.rating(district.supervisor, case_no)
    assert found["rating"]["label"] == "非常不满意" and found["rating"]["comment"] == "审批太慢"
    order = found["rectification"]
    # the deciding department's, due five working days after Monday 2026-03-02
    assert (order["office"], order["office_kind"], order["station"], order["state"]) == (
        "market_regulation", "department", DISTRICT, "open")
    assert order["due_date"] == dt.date(2026, 3, 9) and not order["overdue"] and order["light"] == "green"
    assert found["rating"]["reason_labels"] == ["办事效率"]

    # another department, the supervisor and the window clerk may not answer it
    for user in (district.user(roles.REVIEWER, "civil_affairs"), district.supervisor,
                 district.user(roles.WINDOW_CLERK)):
        with pytest.raises(Forbidden):
            district.ratings.act(case_no, {"action": "已约谈审批人员"}, user)
    with pytest.raises(InvalidInput):
        district.ratings.act(case_no, {"action": " "}, district.market)
    with pytest.raises(Conflict):    # no follow-up call before the office acted
        district.ratings.follow_up(case_no, {"answer": "群众表示认可"}, district.supervisor)
    district.clock.advance(days=2)
    acted = district.ratings.act(case_no, {"action": "已优化审批流程，承诺时限压缩至3个工作日"}, district.market)
    assert acted["rectification"]["state"] == "acted"
    assert acted["rectification"]["acted_on"] == dt.date(2026, 3, 4)
    with pytest.raises(Conflict):
        district.ratings.act(case_no, {"action": "再录一次"}, district.market)
    with pytest.raises(Forbidden):
        district.ratings.follow_up(case_no, {"answer": "群众表示认可"}, district.market)
    followed = district.ratings.follow_up(case_no, {"answer": "电话回访，群众表示问题已解决"}, district.supervisor)
    assert followed["rectification"]["state"] == "followed_up"
    closed = district.ratings.rate_rectification(case_no, {"level": "satisfied"}, district.supervisor)
    assert closed["rectification"]["state"] == "closed" and closed["rectification"]["resident_level"] == "satisfied"
    assert [s["action"] for s in closed["history"]] == ["rate", "open", "act", "follow_up", "rate"]

    figures = total(district)
    assert (figures["rated"], figures["bad_reviews"], figures["rectifications"], figures["rectified"],
            figures["rectified_on_time"], figures["followed_up"], figures["resident_satisfied_after"]) == (
        1, 1, 1, 1, 1, 1, 1)


def test_a_rating_about_the_counter_is_the_counters_order_and_a_follow_up_may_close_it(district):
    case_no = completed_case(district)
    rate(district, case_no, score=2, reasons=["counter_attitude"])     # an old client's score
    district.ratings.patrol()
    order = district.ratings.rating(district.supervisor, case_no)["rectification"]
    assert (order["office"], order["office_kind"]) == (DISTRICT, "counter")
    with pytest.raises(Forbidden):
        district.ratings.act(case_no, {"action": "窗口人员已培训"}, district.market)
    district.ratings.act(case_no, {"action": "窗口人员已培训"}, district.user(roles.WINDOW_CLERK, username="clerk"))
    closed = district.ratings.follow_up(case_no, {"answer": "群众认可", "level": "very_satisfied"},
                                        district.supervisor)
    assert closed["rectification"]["state"] == "closed"
    assert district.ratings.rectifications_page(district.supervisor, state="closed")[0] == 1
    assert district.ratings.rectifications_page(district.market)[0] == 0      # not the department's


def test_an_overdue_order_raises_one_card_against_its_office_also_after_a_restart(district):
    case_no = completed_case(district)
    rate(district, case_no, level="dissatisfied")
    district.ratings.patrol()
    district.clock.advance(days=7)                     # Monday 03-09: the due day, not overdue yet
    assert district.ratings.patrol()["cards"] == []
    district.clock.advance(days=1)                     # Tuesday 03-10
    assert district.ratings.patrol()["cards"] == [case_no]
    restarted = RatingDesk(district.database, district.info, district.clock)
    assert restarted.patrol()["cards"] == []
    cards = CardDesk(district.database, district.clock)
    total_cards, _, found = cards.page(district.supervisor, kind=RECTIFICATION_CARD)
    assert total_cards == 1 and found[0]["department"] == "market_regulation"
    # the card takes the cards' own steps: the department explains it
    explained = cards.step("explain", card_id(case_no, RECTIFICATION_CARD), {"text": "承办人休假，已补办"},
                           district.market)
    assert explained["state"] == "explained"
    # the case's own deadline cards are counted apart: a rectification card is not one of them
    with district.database.reading() as session:
        from shared.supervision import card_store
        assert card_store.counts(session) == {}
    # acting late is still taken, and counted late
    district.ratings.act(case_no, {"action": "已整改"}, district.market)
    figures = total(district)
    assert (figures["rectified"], figures["rectified_on_time"], figures["on_time_rate"]) == (1, 0, 0.0)


def test_an_unrated_case_turns_default_after_seven_days_and_is_counted_apart(district):
    case_no = completed_case(district)                 # completed Monday 03-02
    district.clock.advance(days=6)
    assert district.ratings.patrol()["defaults"] == []
    district.clock.advance(days=1)                     # Monday 03-09: seven days on
    with pytest.raises(Conflict, match="rating period is over"):
        rate(district, case_no, score=5)
    assert district.ratings.patrol()["defaults"] == [case_no]
    assert district.ratings.patrol()["defaults"] == []
    found = district.ratings.rating(district.supervisor, case_no)
    assert found["rating"]["label"] == "基本满意（默认）" and found["rating"]["is_default"]
    assert found["rating"]["rated_on"] == dt.date(2026, 3, 9) and found["rectification"] is None
    figures = total(district)
    assert (figures["rated"], figures["defaults"], figures["completed"], figures["participation"]) == (0, 1, 1, 0.0)


def test_a_real_rating_arriving_after_the_default_takes_its_place(district):
    case_no = completed_case(district)
    district.clock.advance(days=3)
    rate(district, case_no, score=4)                   # rated on Thursday 03-05 at the counter...
    with district.database.transaction() as session:   # ...its record reaching the district's ledger later
        from shared.db.models import Case
        row = session.get(Case, case_no)
        held_back = row.rating_score
        row.rating_score = None
    district.clock.advance(days=5)
    assert district.ratings.patrol()["defaults"] == [case_no]
    with district.database.transaction() as session:
        session.get(Case, case_no).rating_score = held_back
    assert district.ratings.patrol()["ratings"] == [case_no]
    found = district.ratings.rating(district.supervisor, case_no)
    assert found["rating"]["level"] == "satisfied" and not found["rating"]["is_default"]
    assert [s["action"] for s in found["history"]] == ["default", "replace_default", "rate"]
    assert (total(district)["rated"], total(district)["defaults"]) == (1, 0)


def test_an_appeal_annuls_a_rating_the_figures_leave_it_and_the_history_keeps_it(district):
    kept, annulled = completed_case(district), completed_case(district)
    rate(district, kept, level="dissatisfied", reasons=["result"])
    rate(district, annulled, level="very_dissatisfied", comment="乱评")
    district.ratings.patrol()
    before = total(district)
    assert (before["rated"], before["bad_reviews"], before["rectifications"]) == (2, 2, 2)

    with pytest.raises(Forbidden):
        district.ratings.appeal(annulled, {"reason": "申请人办件前已表示要给差评"},
                                district.user(roles.REVIEWER, "civil_affairs"))
    district.ratings.appeal(annulled, {"reason": "申请人办件前已表示要给差评，有录音"}, district.market)
    with pytest.raises(Conflict, match="一次"):
        district.ratings.appeal(annulled, {"reason": "再次申诉"}, district.market)
    district.ratings.appeal(kept, {"reason": "结果依法作出"}, district.market)
    assert district.ratings.appeals_page(district.supervisor, state="pending")[0] == 2
    with pytest.raises(Forbidden):
        district.ratings.decide_appeal(annulled, {"decision": "annul", "reason": "x"}, district.market)
    with pytest.raises(InvalidInput):
        district.ratings.decide_appeal(annulled, {"decision": "annul"}, district.supervisor)
    decided = district.ratings.decide_appeal(annulled, {"decision": "annul", "reason": "经核实属恶意评价"},
                                             district.supervisor)
    assert decided["appeal"]["state"] == "annulled" and decided["rating"]["annulled"]
    assert decided["rectification"]["state"] == "cancelled"
    assert [s["action"] for s in decided["history"]] == ["rate", "open", "appeal", "annul", "cancel"]
    district.ratings.decide_appeal(kept, {"decision": "uphold"}, district.supervisor)
    with pytest.raises(Conflict):
        district.ratings.decide_appeal(kept, {"decision": "annul", "reason": "改判"}, district.supervisor)

    after = total(district)
    assert (after["rated"], after["bad_reviews"], after["rectifications"], after["annulled"]) == (1, 1, 1, 1)
    assert (after["appeals"], after["appeals_annulled"], after["appeals_upheld"]) == (2, 1, 1)
    with district.database.reading() as session:    # every step of the annulled rating is kept
        assert session.query(RatingStep).filter(RatingStep.case_no == annulled).count() == 5


def test_an_appeal_after_five_working_days_or_of_a_good_rating_is_refused(district):
    bad, good = completed_case(district), completed_case(district)
    rate(district, bad, level="dissatisfied")
    rate(district, good, level="satisfied")
    district.ratings.patrol()                          # opened Monday 03-02: appeal by Monday 03-09
    with pytest.raises(NotFound):
        district.ratings.appeal(good, {"reason": "不认可"}, district.market)
    district.clock.advance(days=8)
    with pytest.raises(Conflict, match="期限"):
        district.ratings.appeal(bad, {"reason": "不认可"}, district.market)
    with pytest.raises(NotFound):
        district.ratings.rating(district.supervisor, "449902-20260302-99999")


def test_the_figures_by_department_and_period(district):
    first = completed_case(district)
    rate(district, first, score=5)
    district.clock.advance(days=1)
    second = completed_case(district)
    rate(district, second, score=1)
    district.ratings.patrol()
    rows = district.ratings.figures(by="department")
    assert [r["group"] for r in rows] == ["market_regulation", "total"]
    assert rows[0]["rated"] == 2 and rows[0]["satisfied_share"] == 0.5 and rows[0]["bad_review_rate"] == 0.5
    only_monday = total(district, start=dt.date(2026, 3, 2), end=dt.date(2026, 3, 2))
    assert only_monday["rated"] == 1 and only_monday["rectifications"] == 0
    with pytest.raises(InvalidInput):
        district.ratings.figures(by="weather")
    with pytest.raises(InvalidInput):
        district.ratings.figures(start=dt.date(2026, 3, 3), end=dt.date(2026, 3, 2))


def test_a_rating_recorded_by_a_version_1_station_score_only_is_read_by_its_level(district):
    case_no = completed_case(district)
    rate(district, case_no, score=2)
    with district.database.transaction() as session:   # as a station of the release before levels stored it
        from shared.db.models import Case
        row = session.get(Case, case_no)
        snapshot = dict(row.snapshot)
        snapshot["rating"] = {k: v for k, v in snapshot["rating"].items() if k not in ("level", "reasons")}
        row.snapshot = snapshot
    assert district.ratings.patrol()["rectifications"] == [case_no]
    found = district.ratings.rating(district.supervisor, case_no)
    assert (found["rating"]["level"], found["rating"]["reasons"]) == ("dissatisfied", [])
    assert found["rectification"]["office"] == "market_regulation"


def poison(station, case_no, **rating):
    """As a record stored before the contract bounded a rating's fields (the red-team's
    forged case.record): the case's stored rating is changed in place."""
    from shared.db.models import Case
    with station.database.transaction() as session:
        row = session.get(Case, case_no)
        snapshot = dict(row.snapshot)
        snapshot["rating"] = {**snapshot["rating"], **rating}
        row.snapshot = snapshot


def test_a_rating_the_ledger_cannot_keep_is_left_out_and_every_other_rating_is_copied(district, caplog):
    """One bad record must not stop the district's whole ratings patrol: on PostgreSQL a
    150-character `by` does not fit `ratings.rated_by` (String(100)); an `at` that is no
    moment fails on both databases. Each is logged and left out; the others are copied."""
    from tests.support.databases import ON_POSTGRESQL
    long_by, no_moment, good = completed_case(district), completed_case(district), completed_case(district)
    rate(district, long_by, score=5)
    poison(district, long_by, by="某" * 150, level="very_dissatisfied")
    rate(district, no_moment, score=1)
    poison(district, no_moment, at="2026-03-02T25:99:00+08:00")
    rate(district, good, level="dissatisfied", reasons=["efficiency"])
    copied = [long_by, good] if not ON_POSTGRESQL else [good]   # SQLite keeps a String(100) longer
    for _ in range(2):    # left out again at the next patrol, and the good one not copied twice
        done = district.ratings.patrol()
        assert (done["ratings"], done["rectifications"]) == (copied, copied)
        copied = []
    assert district.ratings.rating(district.supervisor, good)["rectification"]["office"] == "market_regulation"
    with pytest.raises(NotFound):
        district.ratings.rating(district.supervisor, no_moment)
    left_out = [r.getMessage() for r in caplog.records if "cannot be copied" in r.getMessage()]
    assert any(no_moment in m for m in left_out) and (any(long_by in m for m in left_out) == ON_POSTGRESQL)
    with district.database.reading() as session:
        assert {s.case_no for s in session.query(RatingStep)} == (
            {good} if ON_POSTGRESQL else {good, long_by})


def test_a_department_reads_only_its_own_ratings_and_cannot_tell_which_others_exist(district):
    """As the red-team did: civil affairs read market regulation's good rating (no order)
    and its default one; a 404 for an unrated case against a 403 for a rated one told
    them which cases were rated. Now both are refused alike."""
    good, unrated = completed_case(district), completed_case(district)
    rate(district, good, score=5, comment="很好")
    district.clock.advance(days=8)
    assert district.ratings.patrol()["defaults"] == [unrated]
    civil = district.user(roles.REVIEWER, "civil_affairs", username="civil")
    refusals = []
    for case_no in (good, unrated, "449902-20260302-99999"):
        with pytest.raises(Forbidden) as refused:
            district.ratings.rating(civil, case_no)
        refusals.append(refused.value.message)
    assert len(set(refusals)) == 1 and "civil_affairs" in refusals[0]
    assert district.ratings.rating(district.market, good)["rating"]["comment"] == "很好"
    assert district.ratings.rating(district.market, unrated)["rating"]["is_default"]
    with pytest.raises(Forbidden):   # a role that reads no ratings is refused before any read
        district.ratings.rating(district.user(roles.VILLAGE_AGENT, username="agent"), "449902-20260302-99999")
    with pytest.raises(NotFound):
        district.ratings.rating(district.supervisor, "449902-20260302-99999")
