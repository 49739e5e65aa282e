"""Who sent a message, as the broker proves it.

Every station publishes with the AMQP `user_id` property set to the user it connected
as (`user_id_of`); RabbitMQ refuses the publish if that is not the connection's own user.
A receiving station accepts a message only when that proven user is the station the
envelope names as its sender (`proven_sender`). A dead letter sent back by an
administrator (`tongban dead-letters retry`) is published by the station itself or by an
administrator's broker user; it carries the sender proven when it first arrived in the
header PROVEN_SENDER_HEADER, which the consumer set when it dead-lettered it.
"""
from kombu.utils.url import parse_url

from shared.trust.identities import station_of_user

PROVEN_SENDER_HEADER = "x-tongban-proven-sender"


class UnprovenSender(Exception):
    """The broker does not vouch for the envelope's sender."""


def user_id_of(amqp_uri):
    """The broker user an AMQP URI connects as: the `user_id` to stamp on publishes."""
    return parse_url(amqp_uri).get("userid") or "guest"


def proven_sender(envelope, properties, headers, receiver):
    """The envelope's sender, if the broker's `user_id` proves it; UnprovenSender else."""
    claimed = envelope.get("sender") if isinstance(envelope, dict) else None
    user_id = (properties or {}).get("user_id")
    if isinstance(user_id, bytes):
        user_id = user_id.decode("utf-8", "replace")
    station = station_of_user(user_id)
    if claimed is not None and station == claimed:
        return claimed
    sent_back = (headers or {}).get(PROVEN_SENDER_HEADER)
    if isinstance(sent_back, bytes):
        sent_back = sent_back.decode("utf-8", "replace")
    if claimed is not None and sent_back == claimed and user_id and station in (receiver, None):
        return claimed  # a dead letter sent back by this station or an administrator
    raise UnprovenSender(
        f"sender not proven: the envelope says {claimed!r}, the broker user that published it is "
        f"{user_id or 'not given'}")
