"""nameko's message consumers, made to survive a broker that goes away.

When the broker restarts (or the link to it drops) while a worker is running, the
worker finishes and nameko acknowledges its message on the connection that has died.
That raises a socket error (BrokenPipeError, ConnectionResetError) which nameko's
`QueueConsumer` does not catch (it catches only py-amqp's own ConnectionError), and an
uncaught error in a worker's result handling kills the whole container: a station went
on answering HTTP with no consumer left on its inbox, and the district's RPC services
died the same way. Here such an error is logged and ignored; the broker has already
taken the unacknowledged message back and delivers it again once the consumer has
reconnected (kombu does that by itself), and the consumers are idempotent.

A message that cannot be decoded at all (not JSON) makes kombu raise inside the
consuming loop, which also kills the container, and the broker then hands the message
to the next consumer to start. Here it goes to the entrypoint's `undecodable(message,
reason)` if it has one (services/handoff.py: the dead-letter queue), else it is
rejected (the queue's dead-letter exchange, if any, keeps it).

`rpc` is nameko's `rpc` entrypoint on top of these.
"""
import logging
from functools import partial

from amqp.exceptions import AMQPError
from kombu.exceptions import OperationalError as BrokerError
from nameko.messaging import QueueConsumer
from nameko.rpc import Rpc, RpcConsumer

log = logging.getLogger(__name__)

# what settling a message, or replying, on a connection that has gone away may raise
LOST_CONNECTION = (OSError, AMQPError, BrokerError)


def settle(action, message, what):
    """`action(message)` (ack, requeue, reject); a lost connection is only logged."""
    try:
        action(message)
    except LOST_CONNECTION as exc:
        log.warning("could not %s message %s (%s: %s); the broker delivers it again",
                    what, message.properties.get("message_id"), type(exc).__name__, exc)


class SafeQueueConsumer(QueueConsumer):
    def ack_message(self, message):
        settle(super().ack_message, message, "acknowledge")

    def requeue_message(self, message):
        settle(super().requeue_message, message, "requeue")

    def get_consumers(self, consumer_cls, channel):
        consumers = super().get_consumers(consumer_cls, channel)
        for provider, consumer in self._consumers.items():
            consumer.on_decode_error = partial(self._undecodable, provider)
        return consumers

    def _undecodable(self, provider, message, exc):
        reason = f"undecodable message: {type(exc).__name__}: {exc}"
        handler = getattr(provider, "undecodable", None)
        if handler is not None:
            self.container.spawn_managed_thread(partial(handler, message, reason),
                                                identifier=f"{type(provider).__name__}.undecodable")
            return
        log.error("queue %s: message %s rejected: %s", getattr(provider.queue, "name", "?"),
                  message.properties.get("message_id"), reason)
        settle(lambda m: m.reject(requeue=False), message, "reject")


class SafeRpcConsumer(RpcConsumer):
    queue_consumer = SafeQueueConsumer()

    def handle_result(self, message, result, exc_info):
        try:
            return super().handle_result(message, result, exc_info)
        except LOST_CONNECTION as exc:
            # the reply is lost with the connection; the request is delivered again
            log.warning("could not reply to %s (%s: %s); the request will be delivered again",
                        message.delivery_info.get("routing_key"), type(exc).__name__, exc)
            return result, exc_info


class SafeRpc(Rpc):
    rpc_consumer = SafeRpcConsumer()


rpc = SafeRpc.decorator
