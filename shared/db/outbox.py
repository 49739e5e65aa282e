"""The transactional outbox: messages are written in the same transaction as the state
change they announce, and a relay publishes them after commit."""
from sqlalchemy import select, update

from shared.db.models import OutboxMessage, utcnow
from shared.contract import dump_message


def add_message(session, exchange, routing_key, kind, body, sender, message_id=None):
    """Queue one message; its body is dumped through its kind's schema, in an envelope of
    this release's contract version (shared/contract.py): the one place outgoing
    messages are made. `message_id`: one the sender can find again (else a new one)."""
    message = dump_message(kind, body, sender, message_id)
    session.add(OutboxMessage(
        message_id=message["message_id"], exchange=exchange, routing_key=routing_key,
        kind=kind, body=message))
    return message["message_id"]


def unsent(session, message_ids=None, older_than=None, limit=500):
    query = select(OutboxMessage).where(OutboxMessage.sent_at.is_(None))
    if message_ids is not None:
        query = query.where(OutboxMessage.message_id.in_(list(message_ids)))
    if older_than is not None:
        query = query.where(OutboxMessage.created_at <= older_than)
    return session.scalars(query.order_by(OutboxMessage.id).limit(limit)).all()


def mark_sent(session, message_ids):
    if message_ids:
        session.execute(update(OutboxMessage)
                        .where(OutboxMessage.message_id.in_(list(message_ids)))
                        .values(sent_at=utcnow()))


def backlog(session):
    from sqlalchemy import func
    return session.scalar(select(func.count()).select_from(OutboxMessage)
                          .where(OutboxMessage.sent_at.is_(None)))
