"""The district's clock: real time in China Standard Time, or a simulated time.

A simulated clock reads the current instant from a small JSON file, {"now": "<ISO
datetime>"}, written by a test that fast-forwards time or by `tongban simulate`. Every
station of a host reads the same file, so the whole network agrees on the date.
"""
import datetime as dt
import json
import os
from zoneinfo import ZoneInfo

DISTRICT_TZ = ZoneInfo("Asia/Shanghai")


class Clock:
    def __init__(self, path=None):
        self.path = path
        self._cached = (None, None)  # (mtime_ns, datetime)

    def now(self):
        if self.path:
            try:
                mtime = os.stat(self.path).st_mtime_ns
            except FileNotFoundError:
                return dt.datetime.now(DISTRICT_TZ)
            if self._cached[0] != mtime:
                with open(self.path, encoding="utf-8") as handle:
                    value = dt.datetime.fromisoformat(json.load(handle)["now"])
                if value.tzinfo is None:
                    value = value.replace(tzinfo=DISTRICT_TZ)
                self._cached = (mtime, value)
            return self._cached[1]
        return dt.datetime.now(DISTRICT_TZ)

    def today(self):
        return self.now().date()


def set_simulated_now(path, when):
    """Move a simulated clock (atomically, so readers never see half a file)."""
    tmp = f"{path}.tmp"
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump({"now": when.isoformat()}, handle)
    os.replace(tmp, path)
