"""Publishes whatever the outbox still holds: messages whose immediate publish failed
(broker down, process killed between commit and publish)."""
from services.config import RELAY_SWEEP_KEY
from services.relay import OutboxRelay
from services.timers import configured_timer

# a message younger than this is probably being published by the worker that wrote it
SETTLE_SECONDS = 2


class OutboxSweeperService:
    name = "outbox_sweeper"

    relay = OutboxRelay()

    @configured_timer(RELAY_SWEEP_KEY, 1.0, eager=True)
    def sweep(self):
        while self.relay.flush(older_than_seconds=SETTLE_SECONDS) > 0:
            pass
