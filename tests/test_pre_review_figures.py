"""The figures of issue 16 (online application rate, shares with 0 and at most 1 visit,
average visits, pre-reviews answered within their limit) on a hand-built set of cases,
each taken through its life by the workflow and stored through CaseRepository.save:
the database's aggregates (shared/supervision/aggregates.py), the reference computation
over snapshots (shared/supervision/statistics.py) and the numbers worked out by hand
below all agree. Runs on SQLite and, with TONGBAN_TEST_DATABASE=postgresql, PostgreSQL."""
import datetime as dt

import pytest

from shared.calendar import WorkingDayCalendar
from shared.cases import states
from shared.cases.store import CaseRepository
from shared.supervision import compute_statistics
from shared.supervision.aggregates import statistics
from shared.supervision.statistics import FIGURES, format_table, to_csv
from tests.test_case_rules import NETWORK, filing
from tests.test_pre_review_rules import MONDAY, Clock, application, workflow

DISTRICT = "445203"
DAY = dt.timedelta(days=1)
ANSWER_PASS = {"answer": "pass"}


def hand_built_cases():
    """Six cases filed at the district on Monday 2026-11-23 (the pre-review limit is
    Tuesday 24th), as (case, what the figures must see)."""
    clock = Clock(MONDAY)
    wf = workflow(DISTRICT, clock)
    cases = []
    # 1. filed at the counter, complete: accepted, 1 visit
    cases.append(wf.file(f"{DISTRICT}-20261123-00001", filing(residence="445203001201")).case)
    # 2. filed at the counter, a material missing, brought back the next day: 2 visits
    case = wf.file(f"{DISTRICT}-20261123-00002", filing(materials=("M01",))).case
    assert case["status"] == states.NEEDS_SUPPLEMENT
    clock.now = MONDAY + DAY
    case = wf.supplement(case, ["M02", "M03"], "王窗口").case
    cases.append(case)
    # 3. fully online, passed online on Monday: accepted, 0 visits, 1 answer on time
    clock.now = MONDAY
    case = wf.apply_online(f"{DISTRICT}-20261123-00003", application(
        code="MZ-005", delivery={"method": "electronic"})).case
    cases.append(wf.answer_pre_review(case, {"answer": "pass_online"}, "王窗口").case)
    # 4. online: a supplement asked on Monday (on time), uploaded on Monday, passed on
    #    Wednesday (late: due Tuesday), accepted with the originals on Thursday: 1 visit
    case = wf.apply_online(f"{DISTRICT}-20261123-00004", application(materials=("M01",))).case
    case = wf.answer_pre_review(case, {"answer": "supplement", "materials": ["M02", "M03"]}, "王窗口").case
    case = wf.resubmit_online(case, ["M02", "M03"]).case
    clock.now = MONDAY + 2 * DAY
    case = wf.answer_pre_review(case, ANSWER_PASS, "王窗口").case
    clock.now = MONDAY + 3 * DAY
    cases.append(wf.accept_with_originals(case, None, "王窗口").case)
    # 5. online, refused on Tuesday (on time): never accepted, no visit counted
    clock.now = MONDAY
    case = wf.apply_online(f"{DISTRICT}-20261123-00005", application()).case
    clock.now = MONDAY + DAY
    cases.append(wf.answer_pre_review(case, {"answer": "refuse", "reason": "非本区户籍"}, "王窗口").case)
    # 6. online, still waiting for its pre-review
    clock.now = MONDAY
    cases.append(wf.apply_online(f"{DISTRICT}-20261123-00006", application()).case)
    return cases


# by hand: 6 cases, 4 online; accepted 1-4 with visits 1, 2, 0, 1; pre-review answers:
# case 3 one (on time), case 4 two (one on time, one late), case 5 one (on time)
EXPECTED = {"cases": 6, "accepted": 4, "returned": 1, "online": 4, "online_rate": 4 / 6,
            "zero_visit_share": 1 / 4, "at_most_one_visit_share": 3 / 4, "avg_visits": 1.0,
            "pre_review_on_time_rate": 3 / 4}


@pytest.fixture
def stored(memory_db):
    cases = hand_built_cases()
    with memory_db.transaction() as session:
        repository = CaseRepository(session, DISTRICT, lambda: WorkingDayCalendar())
        for case in cases:
            repository.save(case, new=True)
    return memory_db, cases


def test_the_hand_built_cases_are_what_the_figures_count():
    cases = hand_built_cases()
    assert [c.get("visits") for c in cases] == [1, 2, 0, 1, 0, 0]
    assert [c["status"] for c in cases] == [states.PENDING_REVIEW, states.PENDING_REVIEW, states.PENDING_APPROVAL,
                                            states.PENDING_REVIEW, states.RETURNED, states.PRE_REVIEW]
    assert [a["within_limit"] for a in cases[3]["pre_review"]["answers"]] == [True, False]


def test_database_and_reference_give_the_hand_counted_figures(stored):
    database, cases = stored
    reference = compute_statistics(cases, WorkingDayCalendar())[-1]
    with database.reading() as session:
        answered = statistics(session)[-1]
    for key, value in EXPECTED.items():
        assert reference[key] == pytest.approx(value), key
        assert answered[key] == pytest.approx(value), key
    assert answered == pytest.approx(reference)


def test_the_summary_columns_kept_by_save(stored):
    from shared.db.models import Case
    database, _ = stored
    with database.reading() as session:
        rows = {r.case_no[-1]: (r.online, r.visits, r.pre_review_answers, r.pre_review_on_time)
                for r in session.query(Case)}
    assert rows == {"1": (False, 1, 0, 0), "2": (False, 2, 0, 0), "3": (True, 0, 1, 1),
                    "4": (True, 1, 2, 1), "5": (True, 0, 1, 1), "6": (True, 0, 0, 0)}


def test_grouped_by_tier_the_database_equals_the_reference(stored):
    database, cases = stored
    with database.reading() as session:
        rows = statistics(session, by="tier", network=NETWORK)
    reference = compute_statistics(cases, WorkingDayCalendar(), by="tier", network=NETWORK)
    assert len(rows) == len(reference)
    for row, expected in zip(rows, reference):
        assert row == pytest.approx(expected)
    assert [r["group"] for r in rows] == ["district", None]


def test_a_case_stored_before_visits_were_counted_counts_one_visit(memory_db):
    case = hand_built_cases()[0]
    del case["visits"]
    with memory_db.transaction() as session:
        CaseRepository(session, DISTRICT, lambda: WorkingDayCalendar()).save(case, new=True)
    with memory_db.reading() as session:
        row = statistics(session)[-1]
    assert (row["avg_visits"], row["zero_visit_share"], row["online_rate"]) == (1.0, 0.0, 0.0)
    assert row["pre_review_on_time_rate"] is None  # no pre-review answered: no rate


def test_the_report_prints_and_exports_the_new_figures(stored):
    database, _ = stored
    with database.reading() as session:
        rows = statistics(session)
    table = format_table(rows, ["online_rate", "zero_visit_share", "at_most_one_visit_share", "avg_visits",
                                "pre_review_on_time_rate"])
    assert "网上申请率" in table and "66.7%" in table and "25.0%" in table and "75.0%" in table
    assert "1.00" in table
    header = to_csv(rows).splitlines()[0].split(",")
    assert {"online_rate", "zero_visit_share", "at_most_one_visit_share", "avg_visits",
            "pre_review_on_time_rate"} <= set(header)
    assert {key for key, _ in FIGURES} >= set(EXPECTED)
