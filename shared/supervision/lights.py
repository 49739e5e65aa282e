"""Deadline lights and cards (电子监察), computed from a case snapshot.

Plain functions over the case dict; nothing here sends anything. The supervision timer
calls them for every running case and decides what to send.

Definitions (all day counts are working days on the district's calendar, counted as
`WorkingDayCalendar.working_days_between` counts them: the days after the first date up
to and including the second):

* **running**: the case has been accepted (`accepted_at` set), has not been decided (no
  history entry moves it to `approved` or `rejected`) and its status is one of the
  acceptance outcomes, `forwarded`, `received` or a deciding status (`pending_review`,
  `pending_approval`, `joint_review`). A case suspended for more materials (`suspended`,
  补正) is running too, with its clock paused (as is an accepted case sent back to
  `needs_supplement`, should that ever happen). Cases not
  accepted yet, returned, or decided (whatever happened after the decision) are not
  running: they have no light and no card.
* **clock date**: the day the light is computed for. It is `today`, except for a case
  whose clock is paused (`paused_since` set): then it is the day the pause began (or
  `today`, if that is earlier), so a paused case keeps the light it had when it paused.
* **light**: `red` when the clock date is after `due_date` (overdue); `yellow` when at
  most `yellow_days` working days remain (remaining = working days after the clock date
  up to and including the due date, so a case due today has 0 left and a case due on
  the next working day has 1); `green` otherwise.
* **overdue working days**: working days after `due_date` up to and including the clock
  date (0 while not overdue). A case due on a Friday is overdue (red) on Saturday, but
  by 0 working days until Monday.
* **card**: a running case that is overdue (red light) has a `yellow` card; it has a
  `red` card when it is overdue by more than `red_share` × its promised limit working
  days, with a floor of one working day: the red-card threshold is
  `max(red_share × promised_limit_days, 1)`. So an immediate item (limit 0) or a
  one-day item gets a yellow card when its due date passes and a red card once it is
  two working days late, rather than a red card on its first late day; from a limit of
  two days on (with the default share of 0.5) the floor makes no difference.
"""
import datetime as dt

from shared.cases import states

GREEN, YELLOW, RED = "green", "yellow", "red"
YELLOW_CARD, RED_CARD = "yellow", "red"

#: statuses of an accepted case that is still on its way to a decision
RUNNING_STATUSES = frozenset((*states.ACCEPTANCE_OUTCOMES, states.FORWARDED, states.RECEIVED,
                              *states.DECIDING, states.SUSPENDED))
DECISIONS = (states.APPROVED, states.REJECTED)

#: the district's time zone: stored datetimes are local (+08:00); others are converted
DISTRICT_TZ = dt.timezone(dt.timedelta(hours=8))


def as_date(value):
    """The district-local date of a date, datetime or ISO string (None stays None)."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value) if len(value) > 10 else dt.date.fromisoformat(value)
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(DISTRICT_TZ)
        return value.date()
    if isinstance(value, dt.date):
        return value
    raise TypeError(f"not a date: {value!r}")


def decision_entry(case):
    """The history entry that records the decision (approved or rejected), or None."""
    for entry in case.get("history") or ():
        if entry.get("to_status") in DECISIONS:
            return entry
    return None


def decision_date(case):
    entry = decision_entry(case)
    return as_date(entry["at"]) if entry else None


def is_decided(case):
    return decision_entry(case) is not None


def is_running(case):
    if case.get("status") == states.PRE_REVIEW:
        # an online application waiting for its pre-review: its one-working-day limit is
        # the case's due_date until answered (shared/cases/pre_review.py)
        return bool(case.get("due_date"))
    if not case.get("accepted_at") or not case.get("due_date") or is_decided(case):
        return False
    return case.get("status") in RUNNING_STATUSES or case.get("status") == states.NEEDS_SUPPLEMENT


def clock_date(case, today):
    """`today`, or the day the case's clock was paused if it is paused."""
    today = as_date(today)
    paused = as_date(case.get("paused_since"))
    return min(today, paused) if paused is not None else today


def working_days_left(case, today, calendar):
    """Working days left before the due date (0 on the due date), None when overdue or
    not running."""
    if not is_running(case):
        return None
    day, due = clock_date(case, today), as_date(case["due_date"])
    if day > due:
        return None
    return calendar.working_days_between(day, due)


def light(case, today, calendar, yellow_days=1):
    """'green' | 'yellow' | 'red' for a running case, None for any other case."""
    if yellow_days < 0:
        raise ValueError("yellow_days cannot be negative")
    if not is_running(case):
        return None
    if clock_date(case, today) > as_date(case["due_date"]):
        return RED
    left = working_days_left(case, today, calendar)
    return YELLOW if left <= yellow_days else GREEN


def overdue_working_days(case, today, calendar):
    """How many working days a case is past its due date.

    For a running case, as of its clock date; for a decided case, as of the day it was
    decided (how late the decision came); 0 for any other case and when not overdue.
    """
    if not case.get("due_date"):
        return 0
    if is_running(case):
        day = clock_date(case, today)
    else:
        day = decision_date(case)
        if day is None:
            return 0
    return calendar.working_days_between(as_date(case["due_date"]), day)


def red_card_threshold(promised_limit_days, red_share=0.5):
    """Overdue working days a case may reach before its yellow card turns red."""
    if red_share < 0:
        raise ValueError("red_share cannot be negative")
    return max(red_share * (promised_limit_days or 0), 1)


def card(case, today, calendar, red_share=0.5):
    """None | 'yellow' | 'red': the card a running case deserves today."""
    if light(case, today, calendar) != RED:
        return None
    late = overdue_working_days(case, today, calendar)
    limit = (case.get("item") or {}).get("promised_limit_days") or 0
    if case.get("status") == states.PRE_REVIEW:
        limit = 1  # the pre-review's limit (shared/cases/pre_review.py LIMIT_DAYS)
    return RED_CARD if late > red_card_threshold(limit, red_share) else YELLOW_CARD
