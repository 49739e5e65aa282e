"""The notice outbox: a notice to a resident is written in the same transaction as the
change it tells (a case accepted, materials to supplement, a pre-review answer, a result
ready, an appointment tomorrow, a one-time code), like shared/db/outbox.add_message; the
station's notice sender (shared/notices/sender.py, services/notices.py) sends it after
commit, once. A change rolled back takes its notice with it; a committed notice is never
lost (the sender keeps trying, with backoff, until the channel takes it).

Usage, inside the transaction that makes the change:

    notice_id = add_notice(session, "acceptance", case["applicant"]["phone"],
                           {"item": ..., "date": ..., "station": ..., "case_no": ...,
                            "due_date": ...}, case_no=case["case_no"], station=code)

then, after commit, hand the id to the sender (`notices.flush([notice_id])` in a service
with the `Notices()` provider) so it leaves at once; the sender's timer sends whatever a
flush missed.
"""
import uuid

from sqlalchemy import and_, func, select, update

from shared.db.models import ResidentNotice, utcnow
from shared.notices import templates


def add_notice(session, kind, mobile, params, case_no=None, *, station=None, now=None):
    """Queue a notice of `kind` (shared/notices/templates.py KINDS) to `mobile` with its
    template's `params`; its notice id (the gateway's idempotency key). InvalidInput
    (nothing queued) when the kind, the mobile or the params do not fit the template.
    `station` is the station sending it (default: the one that filed `case_no`); `now`
    its creation time (default: now, UTC). It is due at once, by the real time the sender
    goes by, whatever clock `now` came from."""
    chosen, values = templates.check(kind, mobile, params)
    notice_id = uuid.uuid4().hex
    if station is None:
        station = case_no.split("-")[0] if case_no else ""
    session.add(ResidentNotice(
        notice_id=notice_id, station=station[:12], kind=kind, mobile=mobile,
        template_id=chosen.template_id, params=values, case_no=case_no, created_at=now or utcnow(),
        attempts=0, next_attempt_at=utcnow()))
    return notice_id


def _unsent():
    return and_(ResidentNotice.sent_at.is_(None), ResidentNotice.abandoned_at.is_(None))


def due(session, now, notice_ids=None, limit=100):
    """Unsent notices whose next attempt is due, oldest first (or those of `notice_ids`
    among them)."""
    query = select(ResidentNotice).where(_unsent(), ResidentNotice.next_attempt_at <= now)
    if notice_ids is not None:
        query = query.where(ResidentNotice.notice_id.in_(list(notice_ids)))
    return session.scalars(query.order_by(ResidentNotice.id).limit(limit)).all()


def claim(session, notice_id, now, until):
    """Take a due notice for one attempt: its next attempt moves to `until` (a lease), so
    no other sender sends it meanwhile; True if this caller got it. A sender that dies
    while holding it leaves it due again at `until`."""
    result = session.execute(
        update(ResidentNotice)
        .where(ResidentNotice.notice_id == notice_id, _unsent(), ResidentNotice.next_attempt_at <= now)
        .values(next_attempt_at=until, attempts=ResidentNotice.attempts + 1))
    return result.rowcount == 1


def mark_sent(session, notice_id, now):
    """The channel took the notice. A one-time code's digits are not kept once sent."""
    row = session.scalars(select(ResidentNotice).where(ResidentNotice.notice_id == notice_id)).first()
    if row is None or row.sent_at is not None:
        return False
    row.sent_at, row.failed_reason, row.next_attempt_at = now, None, None
    row.params = _forget_code(row.kind, row.params)
    return True


def retry_later(session, notice_id, at, reason):
    session.execute(update(ResidentNotice).where(ResidentNotice.notice_id == notice_id, _unsent())
                    .values(next_attempt_at=at, failed_reason=reason[:200]))


def abandon(session, notice_id, now, reason):
    row = session.scalars(select(ResidentNotice).where(ResidentNotice.notice_id == notice_id, _unsent())).first()
    if row is None:
        return False
    row.abandoned_at, row.next_attempt_at, row.failed_reason = now, None, reason[:200]
    row.params = _forget_code(row.kind, row.params)
    return True


def _forget_code(kind, params):
    if kind == templates.ONE_TIME_CODE and params.get("code"):
        return {**params, "code": "******"}
    return params


def backlog(session):
    """How many notices wait to be sent (for the station's health and metrics)."""
    return session.scalar(select(func.count()).select_from(ResidentNotice).where(_unsent()))


def for_case(session, case_no):
    """The notices of a case, oldest first (for the desk and tests)."""
    return session.scalars(select(ResidentNotice).where(ResidentNotice.case_no == case_no)
                           .order_by(ResidentNotice.id)).all()


def for_mobile(session, mobile):
    return session.scalars(select(ResidentNotice).where(ResidentNotice.mobile == mobile)
                           .order_by(ResidentNotice.id)).all()
