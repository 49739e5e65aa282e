"""Idempotent consumption: a message id is recorded in the same transaction as its effect."""
from sqlalchemy.exc import IntegrityError

from shared.db.models import ProcessedMessage


def first_time(session, message_id, kind):
    """Record `message_id`; False if it was handled before (the caller then does nothing)."""
    if session.get(ProcessedMessage, message_id) is not None:
        return False
    session.add(ProcessedMessage(message_id=message_id, kind=kind))
    try:
        session.flush()
    except IntegrityError:
        # a concurrent delivery of the same message got there first
        session.rollback()
        return False
    return True
