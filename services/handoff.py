"""An entrypoint for durable hand-off queues that never silently drops a message.

nameko's own `Consumer` acknowledges a message even when its handler raised (unless
`requeue_on_error`, which would spin forever on a poison message). Here:

- the handler succeeded: the message is acknowledged;
- the handler failed for a reason that may pass (database locked, broker hiccup): the
  message is requeued and tried again;
- the handler failed for any other reason: the message is published, with the reason in
  its headers, to the queue's dead-letter queue, and only then acknowledged. An
  administrator can see it there and retry it (`tongban dead-letters`). If even that
  publish fails the message is rejected, and the broker routes it to the same
  dead-letter queue through the queue's dead-letter exchange.
- the message cannot even be decoded (not JSON): it goes to the dead-letter queue the
  same way, byte for byte (services/consumers.py would otherwise reject it).
- the broker does not prove the sender the envelope names (services/sender_proof.py), or
  the handler finds that this sender may not send it (shared/trust/entitlement.py): the
  message goes to the dead-letter queue with the reason, and nothing is changed.
- the message does not follow the contract between stations (shared/contract.py): it goes
  to the dead-letter queue with the validation errors, field by field, as the reason, and
  nothing is changed.

The queue is used, never declared: the network's administrator declares it (a station's
broker user may not bind queues to the shared exchanges).

Acknowledging on a connection that died while the worker ran is safe here
(services/consumers.py): nameko's own QueueConsumer let the socket error kill the
container, so a broker restart left a station's inbox without a consumer.

Every log line written while a message is handled carries the station, the message id
and kind, and the case number when the message is about a case
(services/observability/logs.py); the message's age on arrival goes to the station's
`tongban_inbox_message_age_seconds` (services/observability/metrics.py).
"""
import contextvars
import datetime as dt
import logging
import traceback
from functools import partial

import eventlet
from kombu.exceptions import OperationalError as BrokerError
from nameko.amqp.publish import Publisher
from nameko.containers import ContainerBeingKilled
from nameko.messaging import Consumer
from sqlalchemy.exc import InterfaceError as DatabaseLinkError
from sqlalchemy.exc import OperationalError as DatabaseError
from sqlalchemy.orm.exc import StaleDataError

from services.config import STATION_KEY, amqp_ssl
from services.consumers import SafeQueueConsumer, settle
from services.dead_letters import ERROR_HEADER, FAILED_AT_HEADER, QUEUE_HEADER, RETRIES_HEADER
from services.observability.logs import log_context, message_fields
from services.observability.metrics import observe_message_age
from services.sender_proof import PROVEN_SENDER_HEADER, UnprovenSender, proven_sender, user_id_of
from services.topology import dead_letter_exchange
from shared.contract import InvalidMessage
from shared.trust.entitlement import CatalogueBehind, NotEntitled

log = logging.getLogger(__name__)

# pg8000 reports a lost or refused database connection as an InterfaceError; a case
# changed meanwhile by another process serving the station (StaleDataError, see
# shared/db/models.py) is read again on the next try; a case filed under a catalogue
# version this station has not received yet waits for it (CatalogueBehind)
RETRYABLE = (DatabaseError, DatabaseLinkError, StaleDataError, CatalogueBehind, BrokerError, ConnectionError,
             TimeoutError)

class HandoffConsumer(Consumer):
    """Consumes the queue `queue_for_station(station_code)` of the container's station."""

    queue_consumer = SafeQueueConsumer()

    def __init__(self, queue_for_station, **kwargs):
        self.queue_for_station = queue_for_station
        super().__init__(queue=None, **kwargs)

    def setup(self):
        self.station_code = self.container.config[STATION_KEY]
        self.queue = self.queue_for_station(self.station_code, passive=True)
        amqp_uri = self.container.config["AMQP_URI"]
        # mandatory: a dead-letter queue that does not exist must not swallow the message
        self.dead_letter_publisher = Publisher(amqp_uri, mandatory=True, user_id=user_id_of(amqp_uri),
                                               ssl=amqp_ssl(self.container.config))
        super().setup()

    def handle_message(self, body, message):
        """As nameko's, but the worker starts with this message's log fields bound: a new
        green thread does not inherit its spawner's context (greenlet), so it is given a
        copy of the one bound here before it first runs."""
        station = self.container.config[STATION_KEY]
        with log_context(station=station, **message_fields(body)):
            observe_message_age(station, self.queue.name, message.headers)
            try:
                proven_sender(body, message.properties, message.headers, station)
            except UnprovenSender as exc:
                self.dead_letter(message, str(exc))
                return
            try:
                worker_ctx = self.container.spawn_worker(
                    self, (body,), {}, context_data=self.unpack_message_headers(message),
                    handle_result=partial(self.handle_result, message))
            except ContainerBeingKilled:
                self.queue_consumer.requeue_message(message)
                return
            # nameko 2.14 keeps the worker's green thread here; spawned, not yet started
            worker_thread = self.container._worker_threads.get(worker_ctx)
            if worker_thread is not None:
                worker_thread.gr_context = contextvars.copy_context()

    def handle_message_processed(self, message, result=None, exc_info=None):
        if exc_info is None:
            self.queue_consumer.ack_message(message)
            return
        exc = exc_info[1]
        if isinstance(exc, (NotEntitled, InvalidMessage)):
            self.dead_letter(message, exc.message)
            return
        if isinstance(exc, RETRYABLE):
            log.warning("queue %s: %s; the message will be tried again", self.queue.name, exc)
            eventlet.sleep(0.5)
            self.queue_consumer.requeue_message(message)
            return
        reason = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        self.dead_letter(message, reason)

    def undecodable(self, message, reason):
        with log_context(station=self.container.config[STATION_KEY],
                         message_id=message.properties.get("message_id")):
            self.dead_letter(message, reason, raw=True)

    def dead_letter(self, message, reason, raw=False):
        """Move `message` to the dead-letter queue with `reason` (`raw`: its body as
        received, for a message that could not be decoded). A message whose sender was
        proven keeps that proof in a header, so that an administrator can send it back."""
        log.error("queue %s: message %s moved to the dead-letter queue: %s",
                  self.queue.name, message.properties.get("message_id"), reason)
        headers = {ERROR_HEADER: reason[:2000], QUEUE_HEADER: self.queue.name,
                   FAILED_AT_HEADER: dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}
        retries = (message.headers or {}).get(RETRIES_HEADER)
        if retries is not None:  # a message sent back by an administrator failed again
            headers[RETRIES_HEADER] = retries
        if not raw:
            try:
                headers[PROVEN_SENDER_HEADER] = proven_sender(
                    message.payload, message.properties, message.headers, self.station_code)
            except UnprovenSender:
                pass
        if raw:  # passed on byte for byte, with its own content type
            body = message.body
            content = {"content_type": message.content_type or "application/octet-stream",
                       "content_encoding": message.content_encoding or "binary"}
        else:
            body, content = message.payload, {}
        try:
            self.dead_letter_publisher.publish(
                body, exchange=dead_letter_exchange, routing_key=self.queue.name,
                message_id=message.properties.get("message_id"), headers=headers, **content)
        except Exception:
            log.exception("could not publish to the dead-letter queue; rejecting instead")
            if message.channel.connection:
                settle(lambda m: m.reject(requeue=False), message, "reject")
            return
        self.queue_consumer.ack_message(message)


handoff = HandoffConsumer.decorator
