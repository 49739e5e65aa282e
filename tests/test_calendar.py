"""The working-day calendar: official schedules, published schedules, the fallback."""
import datetime as dt
import logging

import pytest

import shared.calendar
from shared.calendar import Schedule, WorkingDayCalendar

D = dt.date.fromisoformat


@pytest.fixture
def calendar():
    return WorkingDayCalendar()


def fallback_warnings(caplog):
    return [r for r in caplog.records
            if r.levelno == logging.WARNING and "Monday-Friday" in r.getMessage()]


def test_national_day_2026_three_working_days_after_30_september(calendar):
    # 1-7 October are off, 8 and 9 October are working days, Saturday 10 October is
    # the adjusted working day (调休)
    assert calendar.add_working_days(D("2026-09-30"), 3) == D("2026-10-10")
    assert calendar.source_of(2026) == "official"


def test_limit_running_into_an_unpublished_year_falls_back_and_warns_once(calendar, caplog, monkeypatch):
    monkeypatch.setattr(shared.calendar, "_warned_years", set())  # as in a process just started
    caplog.set_level(logging.WARNING, logger="shared.calendar")
    due = calendar.add_working_days(D("2026-12-28"), 10)
    assert due.year == 2027 and due.month == 1
    # 29-31 Dec 2026, then Monday-Friday in 2027 (1 January counted: nothing published)
    assert due == D("2027-01-11")
    assert calendar.source_of(2027) == "fallback"
    warnings = fallback_warnings(caplog)
    assert len(warnings) == 1
    assert "2027" in warnings[0].getMessage()
    # asking again about 2027 does not repeat the warning
    calendar.add_working_days(D("2027-01-04"), 20)
    calendar.is_working_day(D("2027-03-01"))
    assert len(fallback_warnings(caplog)) == 1
    # nor does a new calendar, as every transaction builds one
    WorkingDayCalendar().add_working_days(D("2027-02-01"), 5)
    assert len(fallback_warnings(caplog)) == 1


def test_published_schedule_for_2027_changes_the_result(calendar, caplog):
    caplog.set_level(logging.WARNING, logger="shared.calendar")
    before = calendar.add_working_days(D("2026-12-28"), 10)
    calendar.publish(Schedule(2027, holidays=["2027-01-01"], workdays=[]))
    assert calendar.source_of(2027) == "published"
    after = calendar.add_working_days(D("2026-12-28"), 10)
    assert before == D("2027-01-11")
    assert after == D("2027-01-12")  # New Year's Day is off now
    assert not calendar.is_working_day(D("2027-01-01"))


def test_published_schedule_with_an_adjusted_saturday():
    calendar = WorkingDayCalendar([Schedule(2027, holidays=["2027-02-08", "2027-02-09"],
                                            workdays=["2027-02-06"])])
    assert calendar.is_working_day(D("2027-02-06"))      # Saturday, worked
    assert not calendar.is_working_day(D("2027-02-08"))  # Monday, holiday
    # Friday 5 Feb + 2: Saturday 6 (worked), then Wednesday 10 (8-9 off)
    assert calendar.add_working_days(D("2027-02-05"), 2) == D("2027-02-10")


def test_schedule_refuses_days_of_another_year_or_both_off_and_worked():
    with pytest.raises(ValueError):
        Schedule(2027, holidays=["2026-12-31"])
    with pytest.raises(ValueError):
        Schedule(2027, holidays=["2027-01-01"], workdays=["2027-01-01"])


def test_schedule_round_trips_as_a_dict():
    schedule = Schedule(2027, holidays=["2027-01-01"], workdays=["2027-02-06"])
    again = Schedule.from_dict(schedule.to_dict())
    assert again.to_dict() == schedule.to_dict()
    assert again.holidays == {D("2027-01-01")} and again.workdays == {D("2027-02-06")}


@pytest.mark.parametrize("day, working", [
    ("2026-09-29", True),   # Tuesday
    ("2026-09-19", False),  # Saturday
    ("2026-09-13", False),  # Sunday
    ("2026-10-01", False),  # National Day, a Thursday
    ("2026-10-05", False),  # National Day, a Monday
    ("2026-09-25", False),  # Mid-autumn Festival, a Friday
    ("2026-10-10", True),   # Saturday worked for National Day (调休)
    ("2026-09-20", True),   # Sunday worked for National Day (调休)
    ("2026-10-11", False),  # the Sunday after stays off
    ("2026-02-14", True),   # Saturday worked for the Spring Festival
])
def test_weekends_holidays_and_adjusted_workdays(calendar, day, working):
    assert calendar.is_working_day(D(day)) is working


def test_accepts_datetimes_and_iso_strings(calendar):
    assert calendar.is_working_day("2026-10-10")
    assert calendar.add_working_days(dt.datetime(2026, 9, 30, 16, 45), 3) == D("2026-10-10")


def test_immediate_limit_is_the_same_day(calendar):
    for day in ("2026-09-30", "2026-10-03", "2027-01-01"):
        assert calendar.add_working_days(D(day), 0) == D(day)


def test_negative_limit_is_refused(calendar):
    with pytest.raises(ValueError):
        calendar.add_working_days(D("2026-09-30"), -1)


def test_friday_before_a_holiday(calendar):
    # Friday 3 April 2026; 4-6 April (Sat-Mon) are the Tomb-sweeping holiday
    assert calendar.add_working_days(D("2026-04-03"), 1) == D("2026-04-07")
    assert calendar.working_days_between(D("2026-04-03"), D("2026-04-07")) == 1
    # Friday 18 September 2026: the next working day is the adjusted Sunday 20th
    assert calendar.add_working_days(D("2026-09-18"), 1) == D("2026-09-20")


def test_plain_week_day_one_is_the_next_working_day(calendar):
    # Wednesday 2 September 2026 + 3: Thursday, Friday, Monday
    assert calendar.add_working_days(D("2026-09-02"), 3) == D("2026-09-07")


def test_working_days_between(calendar):
    assert calendar.working_days_between(D("2026-09-30"), D("2026-10-10")) == 3
    assert calendar.working_days_between(D("2026-09-30"), D("2026-09-30")) == 0
    assert calendar.working_days_between(D("2026-10-10"), D("2026-09-30")) == 0
    # across the National Day week: 28, 29, 30 Sep, 8, 9, 10, 12 Oct
    assert calendar.working_days_between(D("2026-09-27"), D("2026-10-12")) == 7
    # a holiday-only span counts nothing
    assert calendar.working_days_between(D("2026-09-30"), D("2026-10-07")) == 0


@pytest.mark.parametrize("start", ["2026-01-05", "2026-04-03", "2026-09-18", "2026-09-30",
                                   "2026-12-21"])
@pytest.mark.parametrize("days", [0, 1, 3, 5, 10, 20])
def test_working_days_between_inverts_add_working_days(calendar, start, days):
    due = calendar.add_working_days(D(start), days)
    assert calendar.working_days_between(D(start), due) == days
