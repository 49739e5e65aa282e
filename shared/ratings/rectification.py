"""The rectification order (整改) a bad rating opens, plain Python.

    open ──act──> acted ──follow_up──> followed_up ──rate──> closed
                              └──follow_up with the resident's rating──> closed
    open | acted | followed_up ──(the rating annulled on appeal)──> cancelled

* **open**: a bad rating (不满意, 非常不满意) reached the district. The order is the
  responsible office's (shared/ratings/levels.py `responsible`): the department that
  decided the case, or the counter's station when every reason given is about the counter.
  Due `RECTIFICATION_WORKING_DAYS` working days after it was opened (policy.py).
* **act**: the office records what it did (整改情况); after the due date it is still
  taken, and counted as late.
* **follow_up**: the supervisor records the follow-up call (回访) with the resident's
  answer, and may record the resident's rating of the rectification at once (closes it).
* **rate**: the resident's rating of the rectification, recorded later (closes it).
* **cancelled**: the rating was annulled on appeal; the order's steps stay in the history.

An order still open after its due date raises one supervision card
(shared/supervision/cards.py RECTIFICATION_CARD) against the office.

Who may do what is in shared/auth/permissions.py (can_act_on_rectification and the
functions after it); a step the state forbids raises Conflict here.
"""
from shared.exceptions import Conflict, InvalidInput
from shared.ratings.levels import COUNTER as ABOUT_COUNTER, responsible
from shared.supervision.lights import GREEN, RED, YELLOW

OPEN, ACTED, FOLLOWED_UP, CLOSED, CANCELLED = "open", "acted", "followed_up", "closed", "cancelled"
STATES = (OPEN, ACTED, FOLLOWED_UP, CLOSED, CANCELLED)
STATE_LABELS = {OPEN: "待整改", ACTED: "已整改，待回访", FOLLOWED_UP: "已回访，待评价", CLOSED: "已办结",
                CANCELLED: "评价已作废，整改撤销"}
ACT, FOLLOW_UP, RATE, CANCEL = "act", "follow_up", "rate", "cancel"
ACTION_LABELS = {"open": "差评生成整改单", ACT: "录入整改情况", FOLLOW_UP: "录入回访", RATE: "录入整改评价",
                 CANCEL: "评价作废，撤销整改", "card": "整改超期，下发监察卡"}
DEPARTMENT, COUNTER = "department", "counter"
TEXT_MIN, TEXT_MAX = 2, 2000

_NEXT = {(OPEN, ACT): ACTED, (ACTED, FOLLOW_UP): FOLLOWED_UP, (FOLLOWED_UP, RATE): CLOSED}


def next_state(state, action, closes=False):
    """The state `action` moves an order in `state` to (a follow-up with the resident's
    rating, `closes`, goes straight to closed); Conflict with the reason otherwise."""
    if action == CANCEL:
        if state in (CLOSED, CANCELLED):
            raise Conflict(f"整改单{STATE_LABELS[state]}，不能撤销")
        return CANCELLED
    to_state = _NEXT.get((state, action))
    if to_state is None:
        needed = {ACT: "待整改", FOLLOW_UP: "已整改", RATE: "已回访"}[action]
        raise Conflict(f"整改单{STATE_LABELS[state]}：{ACTION_LABELS[action]}须在{needed}时进行")
    return CLOSED if action == FOLLOW_UP and closes else to_state


def order_for(case_row, reasons, district_code):
    """(office, office_kind, station) responsible for a bad rating of a case: its
    department (at the station that decided it, the district when none is recorded), or
    the counter where it was filed when the reasons are all about the counter.
    `case_row`: a dict with department, deciding_station, filing_station."""
    if responsible(reasons) == ABOUT_COUNTER:
        return case_row["filing_station"], COUNTER, case_row["filing_station"]
    return case_row["department"], DEPARTMENT, case_row.get("deciding_station") or district_code


def overdue(order, today):
    """Whether an order is still waiting for its office's action after its due date."""
    return order["state"] == OPEN and today > order["due_date"]


def light(order, today, calendar, yellow_days=1):
    """The order's deadline light, as a running case's (shared/supervision/lights.py):
    'red' once overdue, 'yellow' with at most `yellow_days` working days left, else
    'green'; None once the office has acted (or the order was cancelled)."""
    if order["state"] != OPEN:
        return None
    if today > order["due_date"]:
        return RED
    return YELLOW if calendar.working_days_between(today, order["due_date"]) <= yellow_days else GREEN


def on_time(order):
    """Whether the office acted within the limit (None: it has not acted)."""
    if order.get("acted_on") is None:
        return None
    return order["acted_on"] <= order["due_date"]


def clean_text(value, field):
    text = (value or "").strip()
    if len(text) < TEXT_MIN:
        raise InvalidInput(f"{field}: 请填写（至少 {TEXT_MIN} 个字）", details={field: [f"至少 {TEXT_MIN} 个字"]})
    if len(text) > TEXT_MAX:
        raise InvalidInput(f"{field}: 最多 {TEXT_MAX} 个字", details={field: [f"最多 {TEXT_MAX} 个字"]})
    return text

