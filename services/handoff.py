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
"""
import logging
import traceback

import eventlet
from kombu.exceptions import OperationalError as BrokerError
from nameko.amqp.publish import Publisher
from nameko.messaging import Consumer
from sqlalchemy.exc import OperationalError as DatabaseError

from services.config import STATION_KEY
from services.topology import dead_letter_exchange, dead_letters_of

log = logging.getLogger(__name__)

RETRYABLE = (DatabaseError, BrokerError, ConnectionError, TimeoutError)


class HandoffConsumer(Consumer):
    """Consumes the queue `queue_for_station(station_code)` of the container's station."""

    def __init__(self, queue_for_station, **kwargs):
        self.queue_for_station = queue_for_station
        super().__init__(queue=None, **kwargs)

    def setup(self):
        self.queue = self.queue_for_station(self.container.config[STATION_KEY])
        self.dead_letter_publisher = Publisher(
            self.container.config["AMQP_URI"], declare=[dead_letters_of(self.queue.name)])
        super().setup()

    def handle_message_processed(self, message, result=None, exc_info=None):
        if exc_info is None:
            self.queue_consumer.ack_message(message)
            return
        exc = exc_info[1]
        if isinstance(exc, RETRYABLE):
            log.warning("queue %s: %s; the message will be tried again", self.queue.name, exc)
            eventlet.sleep(0.5)
            self.queue_consumer.requeue_message(message)
            return
        reason = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        log.error("queue %s: message %s moved to the dead-letter queue: %s",
                  self.queue.name, message.properties.get("message_id"), reason)
        try:
            self.dead_letter_publisher.publish(
                message.payload, exchange=dead_letter_exchange, routing_key=self.queue.name,
                message_id=message.properties.get("message_id"),
                headers={"x-tongban-error": reason[:2000], "x-tongban-queue": self.queue.name})
        except Exception:
            log.exception("could not publish to the dead-letter queue; rejecting instead")
            if message.channel.connection:
                message.reject(requeue=False)
            return
        self.queue_consumer.ack_message(message)


handoff = HandoffConsumer.decorator
