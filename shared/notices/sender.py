"""Sends the notice outbox (shared/notices/outbox.py) through a channel, each notice once.

For each due notice: claim it (its next attempt moves LEASE ahead and its attempts count
one more, in a transaction of its own), send it through the channel outside any
transaction, then mark it sent — or due again after a backoff (BACKOFF doubling from 15
seconds to 30 minutes) with the channel's reason — in another transaction.

Exactly once, with the gateway's help: a sender that dies between the send and the mark
leaves the notice claimed; LEASE later it is due again and is sent again with the same
notice id, which the gateway takes as its idempotency key (out_id) and does not deliver
twice (the file channel overwrites the same file). A gateway that is down delays
notices; none is dropped: a notice is retried until the channel takes it, except a
one-time code, whose notice is given up (abandoned, with the reason) after CODE_ATTEMPTS
tries, by when the code has expired. The sender goes by real time (`clock`, naive UTC),
not a station's simulated clock.
"""
import datetime as dt
import logging

from shared.db.models import utcnow
from shared.notices import outbox, templates
from shared.notices.channels import Delivery

log = logging.getLogger(__name__)

LEASE = dt.timedelta(seconds=60)     # longer than a channel may take (channels.TIMEOUT)
FIRST_BACKOFF = 15                   # seconds; doubles each failed attempt
MAX_BACKOFF = 30 * 60
CODE_ATTEMPTS = 4                    # 15 + 30 + 60 s of retries: past them the code is nearly dead
BATCH = 50


def backoff(attempts):
    """Seconds to wait after the `attempts`-th failed attempt."""
    return min(MAX_BACKOFF, FIRST_BACKOFF * 2 ** max(0, attempts - 1))


def _as_dict(row):
    return {"notice_id": row.notice_id, "kind": row.kind, "template_id": row.template_id, "mobile": row.mobile,
            "params": dict(row.params), "case_no": row.case_no, "created_at": row.created_at,
            "attempts": row.attempts}


class NoticeSender:
    def __init__(self, database, channel, station="", clock=utcnow):
        self.database = database
        self.channel = channel          # None: nothing configured, notices wait in the outbox
        self.station = station
        self.clock = clock
        self._warned = False

    def flush(self, notice_ids):
        """Send these notices now (right after the commit that wrote them)."""
        notice_ids = [n for n in notice_ids or () if n]
        return self.send_due(notice_ids) if notice_ids else 0

    def send_due(self, notice_ids=None):
        """Send the due notices (or those of `notice_ids`), up to BATCH; how many the
        channel took."""
        if self.channel is None:
            if not self._warned:
                log.warning("station %s: no notice channel configured (TONGBAN_NOTICE_CHANNEL): notices to "
                            "residents wait in the outbox", self.station)
                self._warned = True
            return 0
        now = self.clock()
        with self.database.reading() as session:
            candidates = [row.notice_id for row in outbox.due(session, now, notice_ids, BATCH)]
        sent = 0
        for notice_id in candidates:
            notice = self._claim(notice_id)
            if notice is None:
                continue
            delivery = self._send(notice)
            if delivery.ok:
                self._mark_sent(notice)
                sent += 1
            else:
                self._failed(notice, delivery.reason)
        return sent

    def sweep(self):
        """Send everything due, batch after batch (the station's timer)."""
        total = 0
        while True:
            sent = self.send_due()
            total += sent
            if sent < BATCH:
                return total

    def _claim(self, notice_id):
        now = self.clock()
        with self.database.transaction() as session:
            if not outbox.claim(session, notice_id, now, now + LEASE):
                return None          # another sender has it, or it was sent meanwhile
            [row] = outbox.due(session, now + LEASE, [notice_id], 1)
            notice = _as_dict(row)
            if notice["kind"] == templates.ONE_TIME_CODE and notice["attempts"] > CODE_ATTEMPTS:
                outbox.abandon(session, notice_id, now, f"given up after {CODE_ATTEMPTS} attempts: the code has "
                                                        f"expired; last failure: {row.failed_reason or ''}")
                log.error("station %s: one-time code notice %s not sent after %d attempts (%s)",
                          self.station, notice_id, CODE_ATTEMPTS, row.failed_reason)
                return None
        return notice

    def _send(self, notice):
        try:
            return self.channel.send(notice)
        except Exception as exc:  # a channel's bug or an unexpected answer: try again later
            log.exception("station %s: notice %s: the channel failed", self.station, notice["notice_id"])
            return Delivery(False, f"channel error: {type(exc).__name__}: {exc}"[:200])

    def _mark_sent(self, notice):
        with self.database.transaction() as session:
            outbox.mark_sent(session, notice["notice_id"], self.clock())

    def _failed(self, notice, reason):
        wait = backoff(notice["attempts"])
        log.warning("station %s: notice %s (%s) not sent, attempt %d (%s); next try in %d s", self.station,
                    notice["notice_id"], notice["kind"], notice["attempts"], reason, wait)
        with self.database.transaction() as session:
            outbox.retry_later(session, notice["notice_id"], self.clock() + dt.timedelta(seconds=wait), reason)
