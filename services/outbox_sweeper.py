"""Publishes whatever the outbox still holds: messages whose immediate publish failed
(broker down, process killed between commit and publish). The relay names each message's
case on its log lines; the sweep names the station. It also marks the hall's missed
appointments (services/hall.py)."""
from services.access_audit import BATCH, copy_to_district
from services.config import AUDIT_COPY_KEY, RELAY_SWEEP_KEY, Station
from services.hall import HALL_SWEEP_KEY, Hall
from services.notices import NOTICE_SWEEP_KEY, REMINDER_KEY, Notices, remind_appointments
from services.observability.logs import log_context
from services.relay import OutboxRelay
from services.timers import configured_timer

# a message younger than this is probably being published by the worker that wrote it
SETTLE_SECONDS = 2


class OutboxSweeperService:
    name = "outbox_sweeper"

    relay = OutboxRelay()
    station = Station()
    hall = Hall()
    notices = Notices()

    @configured_timer(RELAY_SWEEP_KEY, 1.0, eager=True)
    def sweep(self):
        with log_context(station=self.relay.station_code):
            self.relay.sweep(settle_seconds=SETTLE_SECONDS)

    @configured_timer(AUDIT_COPY_KEY, 10.0)
    def copy_access_audit(self):
        """The station's access-audit entries to the district, in batches: one message
        per batch of up to BATCH entries, not one per entry (services/access_audit.py)."""
        with log_context(station=self.relay.station_code):
            while copy_to_district(self.relay, self.station) == BATCH:
                pass

    @configured_timer(HALL_SWEEP_KEY, 300.0)
    def mark_missed_appointments(self):
        """Appointments whose half day has ended without a ticket become missed (and the
        district hears of them: shared/hall/visits.py)."""
        with log_context(station=self.relay.station_code):
            self.hall.mark_missed()

    @configured_timer(NOTICE_SWEEP_KEY, 5.0)
    def send_notices(self):
        """Notices to residents still due: a flush that failed, a gateway that was down, a
        sender stopped between a send and its mark (services/notices.py)."""
        with log_context(station=self.relay.station_code):
            self.notices.sweep()

    @configured_timer(REMINDER_KEY, 600.0)
    def remind_appointments(self):
        """The next working day's appointments get their SMS reminder, once, in the day."""
        with log_context(station=self.relay.station_code):
            remind_appointments(self.hall, self.notices)
