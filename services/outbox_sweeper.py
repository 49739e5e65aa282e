"""Publishes whatever the outbox still holds: messages whose immediate publish failed
(broker down, process killed between commit and publish). The relay names each message's
case on its log lines; the sweep names the station."""
from services.config import RELAY_SWEEP_KEY
from services.observability.logs import log_context
from services.relay import OutboxRelay
from services.timers import configured_timer

# a message younger than this is probably being published by the worker that wrote it
SETTLE_SECONDS = 2


class OutboxSweeperService:
    name = "outbox_sweeper"

    relay = OutboxRelay()

    @configured_timer(RELAY_SWEEP_KEY, 1.0, eager=True)
    def sweep(self):
        with log_context(station=self.relay.station_code):
            while self.relay.flush(older_than_seconds=SETTLE_SECONDS) > 0:
                pass
