"""Working days on the official Chinese calendar.

Weekends and public holidays are off; the weekend days the State Council moves to make
up for a holiday (调休) are working days. Years the `chinesecalendar` package knows come
from it; the district can publish a further year (or correct one) as a schedule that
travels with the catalogue. For a year with neither, the calendar falls back to
Monday-Friday and logs a warning once for that year.

Limits are counted as the regulations count them: day 1 of a limit is the first working
day after the day of acceptance, so an item with a 3-day limit accepted on a Wednesday
before a plain weekend is due the following Monday. A limit of 0 (an immediate item) is
due the day it is accepted.
"""
import datetime as dt
import functools
import logging

import chinese_calendar

log = logging.getLogger(__name__)


class Schedule:
    """One year's official schedule: the days off that would otherwise be working days
    and the weekend days that are worked."""

    def __init__(self, year, holidays=(), workdays=()):
        self.year = int(year)
        self.holidays = {_as_date(d) for d in holidays}
        self.workdays = {_as_date(d) for d in workdays}
        for day in self.holidays | self.workdays:
            if day.year != self.year:
                raise ValueError(f"{day} is not in year {self.year}")
        both = self.holidays & self.workdays
        if both:
            raise ValueError(f"days both off and worked: {sorted(both)}")

    def to_dict(self):
        return {
            "year": self.year,
            "holidays": sorted(d.isoformat() for d in self.holidays),
            "workdays": sorted(d.isoformat() for d in self.workdays),
        }

    @classmethod
    def from_dict(cls, data):
        return cls(data["year"], data.get("holidays", ()), data.get("workdays", ()))

    def is_working_day(self, day):
        if day in self.workdays:
            return True
        if day in self.holidays:
            return False
        return day.weekday() < 5


def _as_date(value):
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))


# years the fallback has been logged for, in this process: calendars are rebuilt for
# every transaction, the warning is given once
_warned_years = set()


class WorkingDayCalendar:
    def __init__(self, schedules=()):
        self._schedules = {s.year: s for s in schedules}

    def publish(self, schedule):
        self._schedules[schedule.year] = schedule

    def source_of(self, year):
        """Where the rules for `year` come from: 'published', 'official' or 'fallback'."""
        if year in self._schedules:
            return "published"
        if year in _official_years():
            return "official"
        return "fallback"

    def is_working_day(self, day):
        day = _as_date(day)
        source = self.source_of(day.year)
        if source == "published":
            return self._schedules[day.year].is_working_day(day)
        if source == "official":
            return chinese_calendar.is_workday(day)
        if day.year not in _warned_years:
            _warned_years.add(day.year)
            log.warning(
                "no official holiday schedule for %s: counting Monday-Friday as working days "
                "until the district publishes that year's schedule", day.year)
        return day.weekday() < 5

    def add_working_days(self, start, days):
        """The date `days` working days after `start` (day 1 is the first working day
        after `start`); 0 gives `start` itself."""
        day = _as_date(start)
        if days < 0:
            raise ValueError("a limit cannot be negative")
        remaining = days
        while remaining:
            day += dt.timedelta(days=1)
            if self.is_working_day(day):
                remaining -= 1
        return day

    def working_days_between(self, start, end):
        """Working days after `start` up to and including `end` (0 when end <= start).
        It is the inverse of add_working_days when `end` is a working day."""
        start, end = _as_date(start), _as_date(end)
        count, day = 0, start
        while day < end:
            day += dt.timedelta(days=1)
            if self.is_working_day(day):
                count += 1
        return count


@functools.lru_cache(maxsize=1)
def _official_years():
    holidays = chinese_calendar.constants.holidays
    return frozenset(d.year for d in holidays)
