"""The district's numbers for ratings and what follows them (district policy).

* An unrated completed case becomes 「基本满意（默认）」 `DEFAULT_AFTER_DAYS` calendar days
  after the day it was completed (Guangdong's rule): on that day the rating window closes,
  the counter no longer takes a rating and the district's patrol gives the default.
* A rectification order (整改) is due `RECTIFICATION_WORKING_DAYS` working days after the
  day it was opened (day 1 is the first working day after it, as limits count).
* An office may appeal a rating up to `APPEAL_WORKING_DAYS` working days after the day
  the rating reached the district.
"""
import dataclasses
import datetime as dt

from shared.cases import states
from shared.supervision.lights import as_date

DEFAULT_AFTER_DAYS = 7
RECTIFICATION_WORKING_DAYS = 5
APPEAL_WORKING_DAYS = 5


@dataclasses.dataclass(frozen=True)
class RatingPolicy:
    default_after_days: int = DEFAULT_AFTER_DAYS
    rectification_working_days: int = RECTIFICATION_WORKING_DAYS
    appeal_working_days: int = APPEAL_WORKING_DAYS

    def default_on(self, completed_on):
        """The day an unrated case completed on `completed_on` gets its default rating."""
        return completed_on + dt.timedelta(days=self.default_after_days)

    def window_closed(self, completed_on, today):
        """Whether a rating given `today` comes too late (the default stands for it)."""
        return completed_on is not None and today >= self.default_on(completed_on)

    def rectification_due(self, opened_on, calendar):
        return calendar.add_working_days(opened_on, self.rectification_working_days)

    def appeal_due(self, rated_on, calendar):
        return calendar.add_working_days(rated_on, self.appeal_working_days)


def completed_on(case):
    """The district-local day a case was completed (its move into `completed`: the
    result handed over; a rating after it stays at `completed`); None for a case not
    completed."""
    if case.get("status") != states.COMPLETED:
        return None
    for entry in case.get("history") or []:
        if entry.get("to_status") == states.COMPLETED and entry.get("from_status") != states.COMPLETED:
            return as_date(entry["at"])
    return None
