"""The outbox relay: publishes committed outbox messages with publisher confirms.

A worker that committed messages calls `flush(ids)` right after its commit, so hand-offs
leave at once; a timer in each station sweeps whatever is still unsent (a crash between
commit and publish, a broker that was down), so nothing committed stays behind. A
message may be published twice (crash after publish, before it is marked sent); every
consumer is idempotent on the message id, so that is harmless.

Each message carries the time its outbox row was committed (header
`x-tongban-created-at`), from which the receiving station measures its age; the log lines
about a message name the station, the message and its case.
"""
import datetime as dt
import logging

from kombu import Exchange
from nameko.amqp.publish import Publisher, UndeliverableMessage
from nameko.constants import PERSISTENT
from nameko.extensions import DependencyProvider

from services.observability.logs import log_context, message_fields
from services.observability.metrics import CREATED_AT_HEADER, created_at_header
from services.sender_proof import user_id_of
from services.sweep_gates import sweep_gate
from services.topology import cases_exchange, dead_letter_exchange
from shared.messages import CATALOGUE_EXCHANGE_PREFIX
from shared.db import outbox
from shared.db.database import get_database
from shared.db.models import utcnow
from services.config import DATABASE_KEY, STATION_KEY, amqp_ssl

log = logging.getLogger(__name__)

# how long a sweep that found nothing may be skipped: what another process of the same
# station left in the outbox when it was killed goes out within this time
OUTBOX_RECHECK_SECONDS = 10.0

_EXCHANGES = {e.name: e for e in (cases_exchange, dead_letter_exchange)}


class Relay:
    def __init__(self, database, publisher, station_code):
        self.database = database
        self.publisher = publisher
        self.station_code = station_code

    def flush(self, message_ids=None, older_than_seconds=None):
        """Publish unsent messages (those named, or all older than the given age).
        Returns how many were published; a broker failure leaves them for the sweep."""
        older_than = None
        if older_than_seconds is not None:
            older_than = utcnow() - dt.timedelta(seconds=older_than_seconds)
        pending, sent = [], []
        try:
            with self.database.reading() as session:
                pending = [(m.message_id, m.exchange, m.routing_key, m.body, m.created_at)
                           for m in outbox.unsent(session, message_ids, older_than)]
            for message_id, exchange, routing_key, body, created_at in pending:
                with log_context(station=self.station_code, **message_fields(body)):
                    if not self._publish(message_id, exchange, routing_key, body, created_at,
                                         waiting=len(pending) - len(sent)):
                        break
                sent.append(message_id)
            if sent:
                with self.database.transaction() as session:
                    outbox.mark_sent(session, sent)
        except BaseException:
            self._sweep_gate.wake()
            raise
        if len(sent) < len(pending):  # left for the sweep: it must look
            self._sweep_gate.wake()
        return len(sent)

    @property
    def _sweep_gate(self):
        return sweep_gate(self.database, "outbox", OUTBOX_RECHECK_SECONDS)

    def sweep(self, settle_seconds):
        """Publish what the outbox still holds, older than `settle_seconds` (younger ones
        are probably being published by the worker that wrote them); the station's timer.
        Skipped while nothing in this process left anything behind, up to
        OUTBOX_RECHECK_SECONDS (services/sweep_gates.py). How many were published."""
        if not self._sweep_gate.begin():
            return 0
        total = 0
        while True:
            published = self.flush(older_than_seconds=settle_seconds)
            total += published
            if published == 0:
                break
        with self.database.reading() as session:
            if outbox.backlog(session):  # younger than settle_seconds, or refused: look again
                self._sweep_gate.wake()
        return total

    def _publish(self, message_id, exchange, routing_key, body, created_at, waiting):
        """Publish one outbox message; False (logged) if it could not be."""
        try:
            # a case hand-off must reach a queue or stay in the outbox; catalogue
            # changes fan out to whichever replicas exist (the rest catch up by sync)
            self.publisher.publish(
                body, exchange=_EXCHANGES.get(exchange) or Exchange(exchange),
                routing_key=routing_key, message_id=message_id,
                headers={CREATED_AT_HEADER: created_at_header(created_at)},
                mandatory=not exchange.startswith(CATALOGUE_EXCHANGE_PREFIX))
        except UndeliverableMessage:
            log.error("station %s: message %s has no queue to go to (routing key %s); "
                      "it stays in the outbox", self.station_code, message_id, routing_key)
            return False
        except Exception as exc:  # broker unreachable: the sweep will try again
            log.warning("station %s: publishing failed (%s); %d message(s) wait in the outbox",
                        self.station_code, exc, waiting)
            return False
        return True


def make_relay(config):
    # user_id: the broker checks it is this connection's user, so receivers know the sender
    publisher = Publisher(
        config["AMQP_URI"], use_confirms=True, delivery_mode=PERSISTENT, retry=True,
        retry_policy={"max_retries": 2, "interval_start": 0.2, "interval_step": 0.5,
                      "interval_max": 1},
        user_id=user_id_of(config["AMQP_URI"]), ssl=amqp_ssl(config))
    return Relay(get_database(config[DATABASE_KEY]), publisher, config[STATION_KEY])


class OutboxRelay(DependencyProvider):
    """Injects the station's outbox relay."""

    def setup(self):
        self.relay = make_relay(self.container.config)

    def get_dependency(self, worker_ctx):
        return self.relay
