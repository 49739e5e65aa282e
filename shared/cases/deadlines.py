"""Provisional due dates: a case's dates computed across a year whose holidays were
estimated (shared/calendar.py), and their recomputation once the year is known.

A case carries

* `provisional_due`: true while its due date, legal due date or deficiency due date
  runs through an estimated year (the desk shows 「按预估节假日计算」 beside them);
* `estimated_years`: those years, so the calendar the dates were computed with can be
  rebuilt exactly (`WorkingDayCalendar.as_estimated`).

When one of those years becomes known (the district publishes its schedule, or a newer
`chinesecalendar` knows it), the station holding the running case recomputes each date
once, keeping the number of working days it stood for:

    n = old_calendar.working_days_between(accepted, date)
    new_date = new_calendar.add_working_days(accepted, n)

except a limit of 0 (an immediate item, never paused nor extended), which stays "the
acceptance day, or the next working day". The case stays provisional while a date still
runs through a year that is still estimated.
"""
import datetime as dt

from shared.supervision.lights import is_running

PROVISIONAL = "provisional_due"
ESTIMATED_YEARS = "estimated_years"
LABELS = {"due_date": "办结期限", "legal_due_date": "法定期限", "deficiency": "容缺材料补交期限"}


def accepted_day(case):
    """The day the case was accepted, as the workflow counted it (the date of the
    district-local acceptance time)."""
    return dt.datetime.fromisoformat(case["accepted_at"]).date()


def due_dates(case):
    """{field: date} of the case's dates counted from its acceptance; the deficiency
    date under the key 'deficiency'."""
    dates = {}
    for field in ("due_date", "legal_due_date"):
        if case.get(field):
            dates[field] = dt.date.fromisoformat(case[field])
    deficiency = case.get("deficiency") or {}
    if deficiency.get("due_date"):
        dates["deficiency"] = dt.date.fromisoformat(deficiency["due_date"])
    return dates


def mark(case, calendar):
    """Set the case's provisional mark from its dates as they are now. True if provisional."""
    if not case.get("accepted_at"):
        return False
    accepted = accepted_day(case)
    years = set()
    for day in due_dates(case).values():
        years |= calendar.estimated_years(accepted, day)
    case[PROVISIONAL] = bool(years)
    case[ESTIMATED_YEARS] = sorted(years)
    return bool(years)


def years_now_known(case, calendar):
    """The case's estimated years that `calendar` no longer estimates."""
    return [y for y in case.get(ESTIMATED_YEARS) or () if calendar.source_of(y) != "estimated"]


def needs_recompute(case, calendar):
    """A running case with provisional dates, one of whose estimated years is now known."""
    return bool(case.get(PROVISIONAL) and is_running(case) and years_now_known(case, calendar))


def _limit_was_zero(case, field):
    """Whether the date is that of a 0-day limit as it was set at acceptance."""
    if case.get("paused_working_days") or case.get("pauses") or case.get("suspension"):
        return False
    item = case["item"]
    if field == "due_date":
        granted = (case.get("extension") or {}).get("status") == "granted"
        return item.get("promised_limit_days") == 0 and not granted
    if field == "legal_due_date":
        return item.get("legal_limit_days") == 0
    return False


def recompute(case, calendar):
    """Recompute the case's provisional dates on `calendar` (which knows more years than
    the one they were computed with) and mark it again. Returns {field: (old, new)}
    for every date, changed or not (ISO strings)."""
    old_calendar = calendar.as_estimated(case.get(ESTIMATED_YEARS) or ())
    accepted = accepted_day(case)
    changes = {}
    for field, day in due_dates(case).items():
        if _limit_was_zero(case, field):
            new = calendar.next_working_day(accepted)
        else:
            new = calendar.add_working_days(accepted, old_calendar.working_days_between(accepted, day))
        changes[field] = (day.isoformat(), new.isoformat())
        if field == "deficiency":
            case["deficiency"]["due_date"] = new.isoformat()
        else:
            case[field] = new.isoformat()
    mark(case, calendar)
    return changes


def describe(changes, known_years, still_estimated):
    """The history entry's text: which years became known and each date, old → new."""
    years = "、".join(f"{y}年" for y in known_years)
    parts = []
    for field in ("due_date", "legal_due_date", "deficiency"):
        if field in changes:
            old, new = changes[field]
            parts.append(f"{LABELS[field]} {old} → {new}" if old != new else f"{LABELS[field]} {new}（不变）")
    text = f"按{years}公布的节假日安排重新计算期限：" + "；".join(parts)
    if still_estimated:
        text += "；" + "、".join(f"{y}年" for y in still_estimated) + "节假日仍为预估，待公布后再次计算"
    return text
