"""Login-failure handling (等保 登录失败处理): failed logins counted per username and per
client address in the station's database, growing delays, and a lockout.

- A username may fail FREE_FAILURES times; after that each further attempt must wait
  1, 2, 4, 8... seconds after the last failure (429 with Retry-After, the password is not
  even checked), and the LOCKOUT_FAILURES-th failure locks it for LOCKOUT_MINUTES, or
  until an administrator unlocks it (`POST /api/users/<username>/unlock`).
- A client address may fail ADDRESS_FREE_FAILURES times (counters of a township may
  share one address behind NAT), then waits doubling delays up to ADDRESS_MAX_DELAY:
  trying many usernames from one place slows down just the same. No lockout per address
  (it would lock out the whole counter room).
- Counts older than WINDOW_MINUTES since their last failure start afresh; a successful
  login clears the username's count (not the address's: one good account must not buy
  an attacker more guesses at others).

Usernames are counted whether or not they exist, and a locked or delayed username
answers the same 429 with the same message either way, without checking the password:
the lockout tells an attacker nothing about which usernames exist. The one difference
left is the one the dummy hash already allows for: none. (An administrator sees and
clears locks only of real users.)

Concurrent attempts all checked before the first failure is written may each be
verified: the overshoot is bounded by the Argon2 slots of the process (services/auth.py).
"""
import datetime as dt

from sqlalchemy import delete

from shared.db.models import LoginFailures, utcnow
from shared.exceptions import TooManyAttempts

FREE_FAILURES = 3
LOCKOUT_FAILURES = 10
LOCKOUT_MINUTES = 30
WINDOW_MINUTES = 30
ADDRESS_FREE_FAILURES = 30
ADDRESS_MAX_DELAY = 15 * 60
# rows not failed at for this long are removed now and then (bounded table)
FORGET_AFTER = dt.timedelta(days=1)

LOCKED = ("登录失败次数过多，该账号已被暂时锁定：请 {minutes} 分钟后再试，或请管理员解锁。"
          "Too many failed logins: this account is locked")
SLOW_DOWN = "登录失败次数过多，请 {seconds} 秒后再试。Too many failed logins: wait before trying again"
ADDRESS_SLOW_DOWN = ("本机登录失败次数过多，请 {seconds} 秒后再试。"
                     "Too many failed logins from this address: wait before trying again")


def user_subject(username):
    return f"user:{username.strip().lower()[:100]}"


def address_subject(address):
    return f"address:{(address or 'unknown')[:100]}"


def user_delay(failures):
    """Seconds to wait after the last failure, given the failures so far."""
    return 0 if failures < FREE_FAILURES else 2 ** (failures - FREE_FAILURES)


def address_delay(failures):
    return 0 if failures < ADDRESS_FREE_FAILURES else min(2 ** (failures - ADDRESS_FREE_FAILURES),
                                                          ADDRESS_MAX_DELAY)


class LoginGuard:
    """The counts of one station's database session."""

    def __init__(self, session, now=None):
        self.session = session
        self.now = now or utcnow()

    def _row(self, subject):
        row = self.session.get(LoginFailures, subject)
        if row is not None and row.locked_until is None \
                and row.last_failed_at + dt.timedelta(minutes=WINDOW_MINUTES) <= self.now:
            return None  # a count from long ago: afresh
        if row is not None and row.locked_until is not None and row.locked_until <= self.now:
            return None  # the lockout has run out
        return row

    def check(self, username, address):
        """TooManyAttempts if this username or address must wait (or is locked)."""
        row = self._row(user_subject(username))
        if row is not None:
            if row.locked_until is not None:
                minutes = -(-(row.locked_until - self.now).total_seconds() // 60)
                raise TooManyAttempts(LOCKED.format(minutes=int(minutes)),
                                      (row.locked_until - self.now).total_seconds())
            wait = self._wait(row, user_delay(row.failures))
            if wait > 0:
                raise TooManyAttempts(SLOW_DOWN.format(seconds=wait), wait)
        row = self._row(address_subject(address))
        if row is not None:
            wait = self._wait(row, address_delay(row.failures))
            if wait > 0:
                raise TooManyAttempts(ADDRESS_SLOW_DOWN.format(seconds=wait), wait)

    def _wait(self, row, delay):
        if delay <= 0:
            return 0
        left = (row.last_failed_at + dt.timedelta(seconds=delay) - self.now).total_seconds()
        return int(-(-left // 1)) if left > 0 else 0

    def failed(self, username, address):
        """Count one failure for both; True if the username is now locked."""
        self.session.execute(delete(LoginFailures).where(LoginFailures.last_failed_at < self.now - FORGET_AFTER))
        locked = False
        for subject in (user_subject(username), address_subject(address)):
            row = self._row(subject)
            stored = self.session.get(LoginFailures, subject)
            if row is None and stored is not None:
                self.session.delete(stored)
                self.session.flush()
            if row is None:
                row = LoginFailures(subject=subject, failures=0, last_failed_at=self.now)
                self.session.add(row)
            row.failures += 1
            row.last_failed_at = self.now
            if subject.startswith("user:") and row.failures >= LOCKOUT_FAILURES:
                row.locked_until = self.now + dt.timedelta(minutes=LOCKOUT_MINUTES)
                locked = True
        return locked

    def succeeded(self, username):
        self.clear(username)

    def clear(self, username):
        """Forget the username's failures (a success, or an administrator's unlock);
        how many there were."""
        row = self.session.get(LoginFailures, user_subject(username))
        if row is None:
            return 0
        failures = row.failures
        self.session.delete(row)
        self.session.flush()
        return failures

    def state(self, username):
        """{failures, locked_until} of a username (for its administrator)."""
        row = self._row(user_subject(username))
        if row is None:
            return {"failures": 0, "locked_until": None}
        return {"failures": row.failures,
                "locked_until": row.locked_until.isoformat() + "Z" if row.locked_until else None}

