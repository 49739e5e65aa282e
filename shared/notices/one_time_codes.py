"""One-time codes (短信验证码) for the portal: a resident proves a mobile number is theirs.

- 6 digits drawn with `secrets`; only an HMAC-SHA256 of the code (keyed by the station's
  code key, over station, mobile, purpose and code) is stored, so the database alone does
  not give a live code away; the digits travel once, in the `one_time_code` notice, which
  forgets them once sent (shared/notices/outbox.py).
- valid VALID (5 minutes), MAX_TRIES (5) wrong answers kill it, used once; only the newest
  code of a mobile and purpose counts (asking again replaces the previous one).
- limits: at most PER_MOBILE_MINUTE (1) code a minute and PER_MOBILE_HOUR (5) an hour per
  mobile, and PER_ADDRESS_HOUR (20) an hour per client address; beyond them
  TooManyAttempts (429 with Retry-After), nothing stored, nothing sent. Concurrent asks
  for one mobile or from one address are taken one at a time (PostgreSQL: transaction
  advisory locks, as several processes may serve one station; SQLite: its one writer).

The key: TONGBAN_CODE_KEY (any string; the same for every process serving a station) in
the environment or the station's configuration (`set_key`); without it each process makes
a random key at start, so codes asked before a restart no longer verify (the resident
asks again) — fine for one host per station, not for several processes on one database.

Usage (P's portal):

    with database.transaction() as session:       # the ask: POST /api/portal/codes
        notice_id = issue(session, station, mobile, "portal", client)
    notices.flush([notice_id])

    with database.transaction() as session:       # the answer: in a transaction of its own,
        ok = verify(session, mobile, code, "portal")   # committed whatever it says (tries count)
    if not ok:
        raise InvalidInput(WRONG_CODE)
"""
import datetime as dt
import hashlib
import hmac
import math
import os
import re
import secrets

from sqlalchemy import delete, select, text

from shared.db.models import OneTimeCode, utcnow
from shared.exceptions import InvalidInput, TooManyAttempts
from shared.notices import templates
from shared.notices.outbox import add_notice

KEY_ENV = "TONGBAN_CODE_KEY"
DIGITS = 6
VALID = dt.timedelta(minutes=5)
MAX_TRIES = 5
PER_MOBILE_MINUTE = 1
PER_MOBILE_HOUR = 5
PER_ADDRESS_HOUR = 20
MINUTE, HOUR = dt.timedelta(minutes=1), dt.timedelta(hours=1)
KEEP = dt.timedelta(days=1)          # rows older than this are pruned
DEFAULT_PURPOSE = "portal"
_PURPOSE = re.compile(r"^[a-z][a-z0-9_]{0,23}$")
_LOCK_SPACE = 16016                  # advisory lock class of these codes (issue 16)

WRONG_CODE = "验证码不正确或已失效，请重新获取（the code is wrong, used, expired or tried too often: ask for a new one）"
TOO_OFTEN = ("获取验证码过于频繁，请 {seconds} 秒后再试（too many codes asked for this mobile or from this "
             "address: try again in {seconds} seconds）")

_key = os.environ.get(KEY_ENV, "").encode() or secrets.token_bytes(32)


def set_key(secret):
    """Use `secret` (the station's TONGBAN_CODE_KEY) to hash codes; empty: keep the current key."""
    global _key
    if secret:
        _key = secret.encode() if isinstance(secret, str) else bytes(secret)


def new_code():
    return f"{secrets.randbelow(10 ** DIGITS):0{DIGITS}d}"


def code_hash(station, mobile, purpose, code, key=None):
    message = f"{station}|{mobile}|{purpose}|{code}".encode()
    return hmac.new(key or _key, message, hashlib.sha256).hexdigest()


def _check(mobile, purpose):
    if not isinstance(mobile, str) or not templates.MOBILE.match(mobile):
        raise InvalidInput("mobile: a mainland mobile number, 11 digits starting 13-19（手机号码格式不正确）")
    if not isinstance(purpose, str) or not _PURPOSE.match(purpose):
        raise InvalidInput("purpose: a short lower-case name such as 'portal'")


def _one_at_a_time(session, *keys):
    """On PostgreSQL, hold a transaction advisory lock per key (mobile first, then
    address: always in this order, so two asks never wait on each other in a circle)."""
    if session.get_bind().dialect.name != "postgresql":
        return
    for key in keys:
        number = int.from_bytes(hashlib.sha256(key.encode()).digest()[:4], "big", signed=True)
        session.execute(text("SELECT pg_advisory_xact_lock(:space, :key)"), {"space": _LOCK_SPACE, "key": number})


def _wait(times, limit, window, now):
    """Seconds until fewer than `limit` of `times` (ascending) are within `window`."""
    recent = [t for t in times if t > now - window]
    if len(recent) < limit:
        return 0
    return max(1, math.ceil((recent[len(recent) - limit] + window - now).total_seconds()))


def issue(session, station, mobile, purpose=DEFAULT_PURPOSE, client="", now=None, key=None):
    """A new code for `mobile`, sent by a `one_time_code` notice written in this
    transaction: its notice id (flush it after commit). TooManyAttempts (nothing stored)
    beyond the limits; InvalidInput for a malformed mobile or purpose."""
    _check(mobile, purpose)
    now = now or utcnow()
    client = (client or "unknown")[:64]
    _one_at_a_time(session, f"m:{mobile}", f"a:{client}")
    session.execute(delete(OneTimeCode).where(OneTimeCode.created_at <= now - KEEP))
    by_mobile = session.scalars(select(OneTimeCode.created_at).where(
        OneTimeCode.mobile == mobile, OneTimeCode.created_at > now - HOUR).order_by(OneTimeCode.created_at)).all()
    by_client = session.scalars(select(OneTimeCode.created_at).where(
        OneTimeCode.client == client, OneTimeCode.created_at > now - HOUR).order_by(OneTimeCode.created_at)).all()
    wait = max(_wait(by_mobile, PER_MOBILE_MINUTE, MINUTE, now), _wait(by_mobile, PER_MOBILE_HOUR, HOUR, now),
               _wait(by_client, PER_ADDRESS_HOUR, HOUR, now))
    if wait:
        raise TooManyAttempts(TOO_OFTEN.format(seconds=wait), wait)
    code = new_code()
    session.add(OneTimeCode(station=station, mobile=mobile, purpose=purpose,
                            code_hash=code_hash(station, mobile, purpose, code, key), client=client,
                            created_at=now, expires_at=now + VALID, tries=0))
    minutes = int(VALID.total_seconds() // 60)
    return add_notice(session, templates.ONE_TIME_CODE, mobile, {"code": code, "minutes": str(minutes)},
                      station=station, now=now)


def verify(session, mobile, code, purpose=DEFAULT_PURPOSE, now=None, key=None):
    """Whether `code` is the newest live code of `mobile` for `purpose`; a right code is
    used up, a wrong one counts a try. Commit the transaction whatever the answer (a
    rolled-back try would not count)."""
    now = now or utcnow()
    try:
        _check(mobile, purpose)
    except InvalidInput:
        return False
    row = session.scalars(select(OneTimeCode).where(
        OneTimeCode.mobile == mobile, OneTimeCode.purpose == purpose)
        .order_by(OneTimeCode.created_at.desc(), OneTimeCode.id.desc()).limit(1).with_for_update()).first()
    if row is None or row.used_at is not None or row.expires_at <= now or row.tries >= MAX_TRIES:
        return False
    given = (code or "").strip() if isinstance(code, str) else ""
    if hmac.compare_digest(code_hash(row.station, mobile, purpose, given, key), row.code_hash):
        row.used_at = now
        return True
    row.tries += 1
    return False
