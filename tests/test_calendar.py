"""The working-day calendar: official schedules, published schedules, estimated years."""
import datetime as dt
import logging

import pytest

import shared.calendar
from shared.calendar import Schedule, WorkingDayCalendar, estimated_schedule, latest_official_year

D = dt.date.fromisoformat


@pytest.fixture
def calendar():
    return WorkingDayCalendar()


def estimate_warnings(caplog):
    return [r for r in caplog.records
            if r.levelno == logging.WARNING and "estimating its statutory holidays" in r.getMessage()]


def test_national_day_2026_three_working_days_after_30_september(calendar):
    # 1-7 October are off, 8 and 9 October are working days, Saturday 10 October is
    # the adjusted working day (调休)
    assert calendar.add_working_days(D("2026-09-30"), 3) == D("2026-10-10")
    assert calendar.source_of(2026) == "official"


def test_limit_running_into_an_unpublished_year_uses_the_estimate_and_warns_once(calendar, caplog, monkeypatch):
    monkeypatch.setattr(shared.calendar, "_warned_years", set())  # as in a process just started
    caplog.set_level(logging.WARNING, logger="shared.calendar")
    due = calendar.add_working_days(D("2026-12-28"), 10)
    # 29-31 Dec 2026; 2027 is estimated: New Year's Day 1-3 January off (as in 2026),
    # then 4-8 January and Monday 11th, Tuesday 12th
    assert due == D("2027-01-12")
    assert calendar.source_of(2027) == "estimated"
    assert calendar.estimated_years(D("2026-12-28"), due) == {2027}
    assert calendar.estimated_years(D("2026-12-01"), D("2026-12-31")) == set()
    warnings = estimate_warnings(caplog)
    assert len(warnings) == 1
    message = warnings[0].getMessage()
    assert "2027" in message and "Spring Festival 02-04..02-12" in message
    # asking again about 2027 does not repeat the warning
    calendar.add_working_days(D("2027-01-04"), 20)
    calendar.is_working_day(D("2027-03-01"))
    assert len(estimate_warnings(caplog)) == 1
    # nor does a new calendar, as every transaction builds one
    WorkingDayCalendar().add_working_days(D("2027-02-01"), 5)
    assert len(estimate_warnings(caplog)) == 1
    # another estimated year warns once for itself
    calendar.is_working_day(D("2028-03-01"))
    assert [r.getMessage()[:37] for r in estimate_warnings(caplog)][1:] == [
        "no official holiday schedule for 2028"]


def test_first_of_january_2027_is_off_on_the_estimate(calendar):
    assert not calendar.is_working_day(D("2027-01-01"))   # a Friday: New Year's Day
    assert calendar.is_working_day(D("2027-01-04"))       # the Monday after
    # an immediate item accepted on New Year's Day is due on Monday 4 January
    assert calendar.due_date(D("2027-01-01"), 0) == D("2027-01-04")


def test_the_2027_spring_festival_is_estimated_from_the_lunar_date_and_2026s_block(calendar):
    # 2026 (the latest official year): 15-23 February off around the new year of 17 February;
    # 2027's lunar new year is 6 February (holidays package): 4-12 February off
    off = [D("2027-02-04") + dt.timedelta(days=i) for i in range(9)]
    assert not any(calendar.is_working_day(d) for d in off)
    assert calendar.is_working_day(D("2027-02-03")) and calendar.is_working_day(D("2027-02-15"))
    # no adjusted working weekend is guessed
    assert not calendar.is_working_day(D("2027-02-13")) and not calendar.is_working_day(D("2027-01-31"))
    # a 20-day legal limit from Monday 25 January no longer runs straight through it
    assert calendar.add_working_days(D("2027-01-25"), 20) == D("2027-03-03")
    # the other festivals of 2027
    for first, last in [("2027-04-04", "2027-04-06"),    # Qingming (5 April)
                        ("2027-05-01", "2027-05-05"),    # Labour Day
                        ("2027-06-09", "2027-06-11"),    # Dragon Boat (9 June)
                        ("2027-09-15", "2027-09-17"),    # Mid-Autumn (15 September)
                        ("2027-10-01", "2027-10-07")]:   # National Day
        day = D(first)
        while day <= D(last):
            assert not calendar.is_working_day(day), day
            day += dt.timedelta(days=1)
    assert calendar.is_working_day(D("2027-06-08")) and calendar.is_working_day(D("2027-09-14"))


def test_the_estimate_of_the_latest_official_year_gives_back_its_days_off():
    """The estimate's rule applied to the year it learns from reproduces that year's
    weekday holidays exactly (the 调休 working weekends aside)."""
    import chinese_calendar
    year = latest_official_year()
    assert year >= 2026
    official = {d for d, name in chinese_calendar.constants.holidays.items()
                if d.year == year and d.weekday() < 5}
    estimated = {d for d in estimated_schedule(year).holidays if d.weekday() < 5}
    assert estimated == official


def test_a_later_estimated_year_takes_its_own_lunar_dates():
    days = estimated_schedule(2030).holidays
    # lunar new year 2030: 3 February, so 1-9 February; Mid-Autumn 12 September
    assert {D("2030-02-01"), D("2030-02-09"), D("2030-09-12")} <= days
    assert D("2030-01-31") not in days and D("2030-02-10") not in days


def test_published_schedule_for_2027_replaces_the_estimate(calendar, caplog):
    caplog.set_level(logging.WARNING, logger="shared.calendar")
    before = calendar.add_working_days(D("2026-12-28"), 10)
    # a schedule that (unlike the estimate) works Saturday 2 January
    calendar.publish(Schedule(2027, holidays=["2027-01-01"], workdays=["2027-01-02"]))
    assert calendar.source_of(2027) == "published"
    assert calendar.estimated_years(D("2026-12-28"), D("2027-01-31")) == set()
    after = calendar.add_working_days(D("2026-12-28"), 10)
    assert before == D("2027-01-12")
    assert after == D("2027-01-11")  # 29-31 Dec, 2 Jan (worked), 4-8 Jan, 11 Jan
    assert not calendar.is_working_day(D("2027-01-01"))
    # the calendar the provisional dates were counted with
    assert calendar.as_estimated([2027]).add_working_days(D("2026-12-28"), 10) == before
    assert calendar.as_estimated([2027]).source_of(2027) == "estimated"


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


def test_adding_no_working_days_is_the_same_day(calendar):
    for day in ("2026-09-30", "2026-10-03", "2027-01-01"):
        assert calendar.add_working_days(D(day), 0) == D(day)


@pytest.mark.parametrize("accepted, due", [
    ("2026-09-30", "2026-09-30"),   # a Wednesday: the same day
    ("2026-11-29", "2026-11-30"),   # a Sunday: the Monday
    ("2026-11-28", "2026-11-30"),   # a Saturday: the Monday
    ("2026-10-03", "2026-10-08"),   # during National Day: the first working day after it
    ("2026-10-10", "2026-10-10"),   # an adjusted working Saturday: the same day
])
def test_immediate_limit_is_the_day_of_acceptance_or_the_next_working_day(calendar, accepted, due):
    assert calendar.due_date(D(accepted), 0) == D(due)


def test_a_limit_counted_from_a_day_off_starts_on_the_next_working_day(calendar):
    # Sunday 29 November 2026 + 3: Monday, Tuesday, Wednesday
    assert calendar.due_date(D("2026-11-29"), 3) == D("2026-12-02")
    assert calendar.due_date(D("2026-11-29"), 1) == D("2026-11-30")


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
