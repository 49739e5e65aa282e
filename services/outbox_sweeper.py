"""Publishes whatever the outbox still holds: messages whose immediate publish failed
(broker down, process killed between commit and publish). The relay names each message's
case on its log lines; the sweep names the station."""
from services.access_audit import BATCH, copy_to_district
from services.config import AUDIT_COPY_KEY, RELAY_SWEEP_KEY, Station
from services.observability.logs import log_context
from services.relay import OutboxRelay
from services.timers import configured_timer

# a message younger than this is probably being published by the worker that wrote it
SETTLE_SECONDS = 2


class OutboxSweeperService:
    name = "outbox_sweeper"

    relay = OutboxRelay()
    station = Station()

    @configured_timer(RELAY_SWEEP_KEY, 1.0, eager=True)
    def sweep(self):
        with log_context(station=self.relay.station_code):
            while self.relay.flush(older_than_seconds=SETTLE_SECONDS) > 0:
                pass

    @configured_timer(AUDIT_COPY_KEY, 10.0)
    def copy_access_audit(self):
        """The station's access-audit entries to the district, in batches: one message
        per batch of up to BATCH entries, not one per entry (services/access_audit.py)."""
        with log_context(station=self.relay.station_code):
            while copy_to_district(self.relay, self.station) == BATCH:
                pass
