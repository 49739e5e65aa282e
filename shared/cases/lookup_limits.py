"""How many times a resident's lookup (case number + query code) may fail.

Every lookup is written down before its code is checked and crossed out when the code
was right, so what stays are the failures (and lookups still running: a burst of
concurrent guesses counts in full). Within the last WINDOW, at most PER_CASE failures
per case number — counted for any number asked, existing or not, so a refusal tells
nothing about which numbers exist — and PER_ADDRESS per client address; beyond that the
lookup is refused with TooManyAttempts, and the refused attempt is not counted, so the
resident's right code works again once the window has passed. Plain Python on a
SQLAlchemy session; `now` is a naive UTC datetime.
"""
import datetime as dt
import math

from sqlalchemy import delete, select

from shared.db.models import ResidentLookupAttempt
from shared.exceptions import TooManyAttempts

WINDOW = dt.timedelta(hours=1)
PER_CASE = 5
PER_ADDRESS = 30


def begin(session, case_no, client, now):
    """Count this lookup as failed until `succeeded` says otherwise; its id. Raises
    TooManyAttempts (nothing counted) when the case number or the address has used up
    its failures."""
    since = now - WINDOW
    session.execute(delete(ResidentLookupAttempt).where(ResidentLookupAttempt.at <= since))
    waits = [_wait(session, ResidentLookupAttempt.case_no == case_no, PER_CASE, since, now),
             _wait(session, ResidentLookupAttempt.client == client, PER_ADDRESS, since, now)]
    wait = max(w for w in waits)
    if wait > 0:
        minutes = math.ceil(wait / 60)
        raise TooManyAttempts(f"查询失败次数过多，请 {minutes} 分钟后再试（too many failed lookups for this "
                              f"case number or from this address: try again in {minutes} minutes）", wait)
    attempt = ResidentLookupAttempt(case_no=case_no, client=client, at=now)
    session.add(attempt)
    session.flush()
    return attempt.id


def succeeded(session, attempt_id):
    """The code was right: this lookup is not a failure."""
    session.execute(delete(ResidentLookupAttempt).where(ResidentLookupAttempt.id == attempt_id))


def _wait(session, condition, limit, since, now):
    """Seconds until fewer than `limit` failures matching `condition` are in the window."""
    times = session.scalars(select(ResidentLookupAttempt.at).where(condition, ResidentLookupAttempt.at > since)
                            .order_by(ResidentLookupAttempt.at)).all()
    if len(times) < limit:
        return 0
    return math.ceil((times[len(times) - limit] + WINDOW - now).total_seconds())
