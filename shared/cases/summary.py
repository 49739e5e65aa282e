"""A case's summary: the few facts of its snapshot that the district's figures, lights
and follow-ups group and count by, as the columns of its row in `cases`
(shared/db/models.py). The one place they are derived: CaseRepository.save keeps them in
the same transaction as the snapshot, migration 0010 filled them in for the cases stored
before, and the record benchmark writes them for its generated cases.

`summary(case)` needs nothing but the snapshot. The actual working days a decided case
took need the district's working-day calendar: `working_days_taken(case, calendar)`
counts them once, when the case is decided, and the row keeps the figure (a change of the
calendar published afterwards does not rewrite decided cases' figures).

The definitions are those of the statistics (shared/supervision/statistics.py):
a case is accepted when `accepted_at` is set, returned when its status or acceptance is
`returned`, decided on the day of the first history entry moving it to `approved` or
`rejected`.
"""
from shared import stations as st
from shared.cases import pre_review, states
from shared.exceptions import InvalidInput
from shared.supervision.lights import as_date, decision_entry

#: the summary's columns, in the order of summary()
COLUMNS = ("filed_date", "filing_tier", "item_name", "item_category", "promised_limit_days",
           "legal_limit_days", "acceptance", "accepted_on", "returned", "paused_since",
           "paused_working_days", "decided_on", "outcome", "rating_score")
#: the columns of online_summary (issue 16, migration 0015): kept apart from COLUMNS, which
#: migration 0010 fills in
ONLINE_COLUMNS = ("online", "visits", "pre_review_answers", "pre_review_on_time")
#: the inputs of working_days_taken: when one of them changes, the figure is counted again
WORKING_DAY_INPUTS = ("accepted_on", "decided_on", "paused_working_days")


def filing_tier(code):
    """The tier of the filing station, None for a code that is not a station's."""
    try:
        return st.tier_of(code)
    except InvalidInput:
        return None


def summary(case):
    """The summary columns of `case` (a snapshot), as a dict."""
    item = case.get("item") or {}
    decision = decision_entry(case)
    rating = case.get("rating") or {}
    return {
        "filed_date": as_date(case["filed_at"]),
        "filing_tier": filing_tier(case["filing_station"]),
        "item_name": item.get("name"),
        "item_category": item.get("category"),
        "promised_limit_days": item.get("promised_limit_days"),
        "legal_limit_days": item.get("legal_limit_days"),
        "acceptance": case.get("acceptance"),
        "accepted_on": as_date(case.get("accepted_at")),
        "returned": states.RETURNED in (case.get("status"), case.get("acceptance")),
        "paused_since": as_date(case.get("paused_since")),
        "paused_working_days": case.get("paused_working_days") or 0,
        "decided_on": as_date(decision["at"]) if decision else None,
        "outcome": decision["to_status"] if decision else None,
        "rating_score": rating.get("score"),
    }


def online_summary(case):
    """The online application's columns of `case` (a snapshot): applied online, the
    resident's visits to a counter, the pre-review's answers and those given within their
    one-day limit (shared/cases/pre_review.py)."""
    answers, on_time = pre_review.answers_on_time(case)
    return {"online": pre_review.is_online(case), "visits": pre_review.visits_of(case),
            "pre_review_answers": answers, "pre_review_on_time": on_time}


def working_days_taken(summary_row, calendar):
    """The working days a decided case took: after the acceptance day up to and including
    the decision day, less the working days its clock was paused, never below 0. None for
    a case not accepted or not decided. `summary_row`: what summary() returned."""
    accepted, decided = summary_row["accepted_on"], summary_row["decided_on"]
    if accepted is None or decided is None:
        return None
    return max(0, calendar.working_days_between(accepted, decided) - summary_row["paused_working_days"])
