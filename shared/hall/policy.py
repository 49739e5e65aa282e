"""The hall's policy: the network file's optional `hall` section, defaults when absent.

    hall:
      window_types:
        - {code: A, name: 综合受理, tiers: [district, township, village]}
        - {code: B, name: 企业开办, tiers: [district]}
      capacity: {district: 20, township: 8, village: 3}  # appointments per half day and window type
      book_days_ahead: 14     # a resident books from tomorrow up to this many working days ahead
      reminder: true          # list the next working day's appointments for a reminder
      hours: {am: ["09:00", "12:00"], pm: ["13:30", "17:00"]}  # when each half day starts and ends

Every problem is an InvalidInput naming the bad field (hall.window_types[1].code: ...).
"""
import datetime as dt
import re
from dataclasses import dataclass, field

from shared.exceptions import InvalidInput

TIERS = ("district", "township", "village")  # shared/stations.py's, without importing it
HALF_DAYS = ("am", "pm")
HALF_DAY_NAMES = {"am": "上午", "pm": "下午"}


@dataclass(frozen=True)
class WindowType:
    code: str
    name: str
    tiers: tuple


DEFAULT_WINDOW_TYPES = (
    WindowType("A", "综合受理", ("district", "township", "village")),
    WindowType("B", "企业开办", ("district",)),
    WindowType("C", "不动产登记", ("district",)),
    WindowType("D", "社保医保", ("district", "township")),
)
DEFAULT_CAPACITY = (("district", 20), ("township", 8), ("village", 3))
DEFAULT_HOURS = (("am", (dt.time(9, 0), dt.time(12, 0))), ("pm", (dt.time(13, 30), dt.time(17, 0))))
KEYS = {"window_types", "capacity", "book_days_ahead", "reminder", "hours"}


def _bad(path, message):
    raise InvalidInput(f"hall.{path}: {message}")


def _whole(value, low, high):
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def _time(path, value):
    if not (isinstance(value, str) and re.fullmatch(r"\d{2}:\d{2}", value)):
        _bad(path, "a time of day as \"HH:MM\"")
    try:
        return dt.time.fromisoformat(value)
    except ValueError:
        _bad(path, f"'{value}' is not a time of day")


@dataclass(frozen=True)
class HallPolicy:
    window_types: tuple = DEFAULT_WINDOW_TYPES
    capacity: tuple = DEFAULT_CAPACITY        # (tier, appointments per slot) pairs
    book_days_ahead: int = 14
    reminder: bool = True
    hours: tuple = DEFAULT_HOURS              # (half_day, (start, end)) pairs, local time
    _by_code: dict = field(default=None, compare=False, repr=False)

    def __post_init__(self):
        object.__setattr__(self, "_by_code", {w.code: w for w in self.window_types})

    @classmethod
    def from_dict(cls, data):
        if data is None:
            return cls()
        if not isinstance(data, dict):
            raise InvalidInput("hall: a mapping of settings (window_types, capacity, book_days_ahead, reminder, hours)")
        unknown = set(data) - KEYS
        if unknown:
            raise InvalidInput(f"hall: unknown setting(s) {', '.join(sorted(map(str, unknown)))}")
        kwargs = {}
        if "window_types" in data:
            kwargs["window_types"] = cls._window_types(data["window_types"])
        if "capacity" in data:
            kwargs["capacity"] = cls._capacity(data["capacity"])
        if "book_days_ahead" in data:
            if not _whole(data["book_days_ahead"], 1, 90):
                _bad("book_days_ahead", "a whole number of working days from 1 to 90")
            kwargs["book_days_ahead"] = data["book_days_ahead"]
        if "reminder" in data:
            if not isinstance(data["reminder"], bool):
                _bad("reminder", "true or false")
            kwargs["reminder"] = data["reminder"]
        if "hours" in data:
            kwargs["hours"] = cls._hours(data["hours"])
        return cls(**kwargs)

    @staticmethod
    def _window_types(entries):
        if not isinstance(entries, list) or not entries:
            _bad("window_types", "a list of at least one window type {code, name, tiers}")
        found = []
        for i, entry in enumerate(entries):
            path = f"window_types[{i}]"
            if not isinstance(entry, dict) or set(entry) - {"code", "name", "tiers"}:
                _bad(path, "a mapping with code, name and tiers only")
            code = entry.get("code")
            if not (isinstance(code, str) and re.fullmatch(r"[A-Z]", code)):
                _bad(f"{path}.code", "one capital letter (A-Z): it starts the ticket numbers (A023)")
            if code in (w.code for w in found):
                _bad(f"{path}.code", f"'{code}' is listed twice")
            name = entry.get("name")
            if not (isinstance(name, str) and 1 <= len(name.strip()) <= 20):
                _bad(f"{path}.name", "a name of 1 to 20 characters")
            tiers = entry.get("tiers", list(TIERS))
            if not (isinstance(tiers, list) and tiers and all(t in TIERS for t in tiers)):
                _bad(f"{path}.tiers", f"a list of tiers among {', '.join(TIERS)}")
            found.append(WindowType(code, name.strip(), tuple(t for t in TIERS if t in tiers)))
        return tuple(found)

    @staticmethod
    def _capacity(value):
        if not isinstance(value, dict) or set(value) - set(TIERS):
            _bad("capacity", f"a mapping of tiers ({', '.join(TIERS)}) to appointments per slot")
        merged = dict(DEFAULT_CAPACITY)
        for tier, number in value.items():
            if not _whole(number, 0, 500):
                _bad(f"capacity.{tier}", "a whole number of appointments per half day from 0 to 500")
            merged[tier] = number
        return tuple((tier, merged[tier]) for tier in TIERS)

    @staticmethod
    def _hours(value):
        if not isinstance(value, dict) or set(value) - set(HALF_DAYS):
            _bad("hours", "a mapping of am and pm to [start, end] times (\"09:00\")")
        merged = dict(DEFAULT_HOURS)
        for half, span in value.items():
            if not (isinstance(span, list) and len(span) == 2):
                _bad(f"hours.{half}", "[start, end] as two times (\"09:00\")")
            start, end = _time(f"hours.{half}[0]", span[0]), _time(f"hours.{half}[1]", span[1])
            if not start < end:
                _bad(f"hours.{half}", "the start must be before the end")
            merged[half] = (start, end)
        if not merged["am"][1] <= merged["pm"][0]:
            _bad("hours", "the morning must end before the afternoon starts")
        return tuple((half, merged[half]) for half in HALF_DAYS)

    # -- questions ----------------------------------------------------------------------
    def window_types_for(self, tier):
        """The window types a station of `tier` has, in policy order."""
        return [w for w in self.window_types if tier in w.tiers]

    def capacity_for(self, tier):
        return dict(self.capacity)[tier]

    def window_type(self, code, tier=None):
        """The window type `code` (at a station of `tier`), or InvalidInput saying why not."""
        found = self._by_code.get(code)
        if found is None:
            known = ", ".join(w.code for w in (self.window_types_for(tier) if tier else self.window_types))
            raise InvalidInput(f"window_type: no window type '{code}' (窗口类型不存在); known: {known}")
        if tier is not None and tier not in found.tiers:
            known = ", ".join(w.code for w in self.window_types_for(tier))
            raise InvalidInput(f"window_type: this station has no {found.code} {found.name} window "
                               f"(本站不设该类窗口); it has: {known}")
        return found

    def find(self, code):
        """The window type `code`, or None."""
        return self._by_code.get(code)

    def half_day_hours(self, half_day):
        """(start, end) local times of `half_day`."""
        return dict(self.hours)[half_day]
