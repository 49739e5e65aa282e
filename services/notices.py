"""Notices to residents for the station's services: the `Notices()` dependency provider
and the `NoticeDesk` it injects.

- A worker that wrote notices (shared/notices/outbox.add_notice, in its change's
  transaction) calls `notices.flush(notice_ids)` right after its commit, so they leave at
  once; the station's housekeeping timer (services/outbox_sweeper.py, every
  TONGBAN_NOTICE_SWEEP_SECONDS, 5 by default) sends whatever is still due (a flush that
  failed, a gateway that was down, a process killed between the send and the mark).
- `ask_code` / `check_code`: the portal's one-time codes (shared/notices/one_time_codes.py),
  each in a transaction of its own.

Configuration (the container's config, else the environment):
  TONGBAN_NOTICE_CHANNEL   file:<dir> (development) or sms:<url>; unset: notices wait
  TONGBAN_SMS_APP_KEY, TONGBAN_SMS_APP_SECRET, TONGBAN_SMS_SIGN   for sms:
  TONGBAN_CODE_KEY         the key one-time codes are hashed with (the same for every
                           process of a station)
  TONGBAN_NOTICE_SWEEP_SECONDS   how often the sweep runs (5)
  TONGBAN_REMINDER_SECONDS       how often appointment reminders are queued (600)
"""
import logging
import os

from nameko.extensions import DependencyProvider

from services.config import DATABASE_KEY, STATION_KEY
from services.sweep_gates import sweep_gate
from shared.db.database import get_database
from shared.notices import channels, one_time_codes, reminders
from shared.notices.outbox import add_notice, backlog
from shared.notices.sender import NoticeSender

log = logging.getLogger(__name__)

NOTICE_SWEEP_KEY = "TONGBAN_NOTICE_SWEEP_SECONDS"
REMINDER_KEY = "TONGBAN_REMINDER_SECONDS"
# how long a sweep that left nothing unsent may be skipped (what a killed process of the
# same station left claimed is due again after the sender's LEASE anyway)
NOTICE_RECHECK_SECONDS = 30.0
SETTINGS = (channels.CHANNEL_KEY, channels.APP_KEY_KEY, channels.APP_SECRET_KEY, channels.SIGN_KEY,
            one_time_codes.KEY_ENV)


def settings_of(config):
    """The notice settings: the container's configuration first, then the environment."""
    return {key: config.get(key) or os.environ.get(key, "") for key in SETTINGS}


class NoticeDesk:
    def __init__(self, database, sender, station_code):
        self.database = database
        self.sender = sender
        self.station_code = station_code

    @property
    def _sweep_gate(self):
        return sweep_gate(self.database, "notices", NOTICE_RECHECK_SECONDS)

    def flush(self, notice_ids):
        """Send these notices now; what the channel does not take waits for the timer."""
        try:
            sent = self.sender.flush(notice_ids)
        except Exception:  # the database or the channel: the timer sends them later
            log.exception("station %s: sending notices right after commit failed; the sweep will",
                          self.station_code)
            sent = 0
        if sent < len([n for n in notice_ids or () if n]):
            self._sweep_gate.wake()
        return sent

    def sweep(self):
        """Send what is due (the station's timer). Skipped while nothing waits: after a
        look that left no notice unsent, until a flush in this process leaves one behind
        or NOTICE_RECHECK_SECONDS have passed (services/sweep_gates.py)."""
        gate = self._sweep_gate
        if not gate.begin():
            return 0
        try:
            sent = self.sender.sweep()
            if self.backlog():   # due later (a backoff), or being sent by another process
                gate.wake()
            return sent
        except BaseException:
            gate.wake()
            raise

    def add(self, kind, mobile, params, case_no=None):
        """One notice in a transaction of its own, sent at once (for a change that is not
        itself in this station's database); its notice id."""
        with self.database.transaction() as session:
            notice_id = add_notice(session, kind, mobile, params, case_no, station=self.station_code)
        self.flush([notice_id])
        return notice_id

    def ask_code(self, mobile, purpose=one_time_codes.DEFAULT_PURPOSE, client=""):
        """A one-time code for `mobile`, sent at once (TooManyAttempts beyond the limits)."""
        with self.database.transaction() as session:
            notice_id = one_time_codes.issue(session, self.station_code, mobile, purpose, client)
        self.flush([notice_id])
        return notice_id

    def check_code(self, mobile, code, purpose=one_time_codes.DEFAULT_PURPOSE):
        """Whether `code` is `mobile`'s live code (used up if so; a wrong one counts a try)."""
        with self.database.transaction() as session:
            return one_time_codes.verify(session, mobile, code, purpose)

    def backlog(self):
        with self.database.reading() as session:
            return backlog(session)


def remind_appointments(hall, notices):
    """Queue the hall's appointment reminders due now (shared/notices/reminders.py) and send
    them: `hall` is the station's HallDesk (services/hall.py), `notices` its NoticeDesk."""
    with hall.database.transaction() as session:
        queued = reminders.queue_reminders(hall.store(session), hall.info.station.name)
    if queued:
        log.info("station %s: %d appointment reminder(s) queued", notices.station_code, len(queued))
        notices.flush(queued)
    return queued


def make_notice_desk(config):
    settings = settings_of(config)
    one_time_codes.set_key(settings[one_time_codes.KEY_ENV])
    station_code = config[STATION_KEY]
    database = get_database(config[DATABASE_KEY])
    channel = channels.channel_from(settings[channels.CHANNEL_KEY], settings)
    return NoticeDesk(database, NoticeSender(database, channel, station_code), station_code)


class Notices(DependencyProvider):
    """Injects the station's NoticeDesk."""

    def setup(self):
        self.desk = make_notice_desk(self.container.config)

    def get_dependency(self, worker_ctx):
        return self.desk
