"""Working days on the official Chinese calendar.

Weekends and public holidays are off; the weekend days the State Council moves to make
up for a holiday (调休) are working days. Years the `chinesecalendar` package knows come
from it; the district can publish a further year (or correct one) as a schedule that
travels with the catalogue. For a year with neither, the calendar *estimates* the
statutory holidays (New Year's Day, Spring Festival, Qingming, Labour Day, Dragon Boat,
Mid-Autumn, National Day) and logs a warning once for that year:

* each festival's anchor date in that year comes from the `holidays` package (its China
  calendar computes the lunar dates and the Qingming solar term); New Year's Day, Labour
  Day and National Day are 1 January, 1 May and 1 October;
* around it, the festival takes the block of days off it had in the latest year
  `chinesecalendar` knows: the same offset from the anchor and the same length (the
  days that year's schedule names after the festival, weekend days inside the block
  included);
* weekends stay off; the adjusted working weekends (调休) cannot be known and are not
  guessed, so an estimated year has a few more days off than the real one will have.

Due dates computed across an estimated year are provisional (shared/cases/deadlines.py).

Limits are counted as the regulations count them: day 1 of a limit is the first working
day after the day of acceptance, so an item with a 3-day limit accepted on a Wednesday
before a plain weekend is due the following Monday. A limit of 0 (an immediate item) is
due the day it is accepted, or the next working day when it is accepted on a day off
(`due_date`).
"""
import datetime as dt
import functools
import logging

import chinese_calendar
import holidays as holidays_package

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


# the festivals estimated for a year with no official data, as chinesecalendar names
# them, with how to find the festival's anchor date in a year: a fixed (month, day), or
# the words the `holidays` package's China calendar (in English) names the day with
FESTIVALS = (
    (chinese_calendar.Holiday.new_years_day, (1, 1)),
    (chinese_calendar.Holiday.spring_festival, "spring festival"),
    (chinese_calendar.Holiday.tomb_sweeping_day, "tomb-sweeping"),
    (chinese_calendar.Holiday.labour_day, (5, 1)),
    (chinese_calendar.Holiday.dragon_boat_festival, "dragon boat"),
    (chinese_calendar.Holiday.mid_autumn_festival, "mid-autumn"),
    (chinese_calendar.Holiday.national_day, (10, 1)),
)
# a festival's days off lie within this many days of its anchor
_BLOCK_REACH = 20

# years the estimate has been logged for, in this process: calendars are rebuilt for
# every transaction, the warning is given once
_warned_years = set()


class WorkingDayCalendar:
    """`schedules`: the district's published schedules. `estimated_years`: years to
    estimate even if a schedule or official data exist (the calendar a provisional due
    date was computed with, see `as_estimated`)."""

    def __init__(self, schedules=(), estimated_years=()):
        self._schedules = {s.year: s for s in schedules}
        self._forced_estimates = frozenset(int(y) for y in estimated_years)

    def publish(self, schedule):
        self._schedules[schedule.year] = schedule

    def as_estimated(self, years):
        """This calendar as it was while `years` had neither official data nor a
        published schedule."""
        return WorkingDayCalendar(self._schedules.values(), self._forced_estimates | set(years))

    def source_of(self, year):
        """Where the rules for `year` come from: 'published', 'official' or 'estimated'."""
        if year in self._forced_estimates:
            return "estimated"
        if year in self._schedules:
            return "published"
        if year in _official_years():
            return "official"
        return "estimated"

    def estimated_years(self, start, end):
        """The estimated years a count from `start` to `end` (either order) runs through."""
        start, end = sorted((_as_date(start), _as_date(end)))
        return {year for year in range(start.year, end.year + 1) if self.source_of(year) == "estimated"}

    def is_working_day(self, day):
        day = _as_date(day)
        source = self.source_of(day.year)
        if source == "published":
            return self._schedules[day.year].is_working_day(day)
        if source == "official":
            return chinese_calendar.is_workday(day)
        if day.year not in _warned_years and day.year not in self._forced_estimates:
            _warned_years.add(day.year)
            log.warning(
                "no official holiday schedule for %s: estimating its statutory holidays (%s); "
                "due dates that run through %s are provisional until the district publishes "
                "that year's schedule", day.year, estimated_schedule(day.year).summary(), day.year)
        return estimated_schedule(day.year).is_working_day(day)

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

    def next_working_day(self, day):
        """`day` itself if it is a working day, else the first working day after it."""
        day = _as_date(day)
        while not self.is_working_day(day):
            day += dt.timedelta(days=1)
        return day

    def due_date(self, accepted, days):
        """The due date of a limit of `days` working days for a case accepted on
        `accepted`: day 1 is the first working day after it; a limit of 0 (an immediate
        item) is due that day, or the next working day when it is a day off."""
        if days == 0:
            return self.next_working_day(accepted)
        return self.add_working_days(accepted, days)

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


def latest_official_year():
    return max(_official_years())


class EstimatedSchedule(Schedule):
    """A year's statutory holidays as estimated (see the module's docstring)."""

    def __init__(self, year, holidays=(), blocks=()):
        super().__init__(year, holidays)
        self.blocks = blocks  # (festival name, first day, last day) within this year

    def summary(self):
        return "; ".join(f"{name} {first:%m-%d}" + (f"..{last:%m-%d}" if last != first else "")
                         for name, first, last in self.blocks) or "none known"


@functools.lru_cache(maxsize=None)
def estimated_schedule(year):
    """The estimated days off of `year` (weekends aside)."""
    days, blocks = set(), []
    for festival, anchor_rule in FESTIVALS:
        offset, length = _festival_block(festival, anchor_rule)
        if length == 0:
            continue
        # a festival of the year before or after may reach into this one (a New Year
        # block beginning on 30 December)
        for anchor_year in (year - 1, year, year + 1):
            anchor = _anchor(anchor_rule, anchor_year)
            if anchor is None:
                continue
            block = [anchor + dt.timedelta(days=offset + i) for i in range(length)]
            inside = [d for d in block if d.year == year]
            if inside:
                days.update(inside)
                blocks.append((festival.value, inside[0], inside[-1]))
    return EstimatedSchedule(year, sorted(days), sorted(blocks, key=lambda b: b[1]))


@functools.lru_cache(maxsize=None)
def _festival_block(festival, anchor_rule):
    """(offset from the anchor, length in days) of the festival's days off in the latest
    year chinesecalendar knows; (0, 0) if that year has none named after it."""
    year = latest_official_year()
    anchor = _anchor(anchor_rule, year)
    if anchor is None:
        return 0, 0
    reach = dt.timedelta(days=_BLOCK_REACH)
    named = [day for day, name in chinese_calendar.constants.holidays.items()
             if name == festival.value and anchor - reach <= day <= anchor + reach]
    if not named:
        return 0, 0
    first, last = min(named), max(named)
    return (first - anchor).days, (last - first).days + 1


@functools.lru_cache(maxsize=None)
def _china_holidays(year):
    """{date: English name} of the `holidays` package's China calendar for `year`."""
    try:
        return dict(holidays_package.China(years=year, language="en_US"))
    except Exception as exc:  # a year the package does not cover
        log.warning("no lunar dates for %s from the holidays package (%s)", year, exc)
        return {}


def _anchor(rule, year):
    """The festival's anchor date in `year` (None if the lunar date is not known)."""
    if isinstance(rule, tuple):
        return dt.date(year, *rule)
    days = [day for day, name in _china_holidays(year).items()
            if rule in name.lower() and "eve" not in name.lower() and day.year == year]
    return min(days) if days else None
