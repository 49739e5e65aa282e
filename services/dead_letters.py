"""Dead letters: the messages a station's consumers gave up on, and retrying them.

A consumer that fails on a message for good (services/handoff.py) moves it to its
queue's dead-letter queue `<queue>.dead`, with the reason in the header
`x-tongban-error` (or, when the broker dead-lettered it, in `x-death`). Nothing consumes
those queues: the messages wait there for an administrator, who lists them
(`tongban dead-letters list`, `GET /api/dead-letters`) and, once the cause is dealt
with, sends them back to the queue they came from (`tongban dead-letters retry`,
`POST /api/dead-letters/retry`). Every consumer is idempotent on the message id, so a
retry never applies a message twice; a message that fails again is dead-lettered again,
with its retry count.

Listing takes each message without acknowledging it and gives it back when the channel
closes, so the queue is unchanged (a message listed is marked redelivered, nothing else).
"""
import datetime as dt
import hashlib
import json
import re
from dataclasses import asdict, dataclass, field

from amqp.exceptions import ChannelError
from kombu import Connection, Exchange, Queue

from services.config import amqp_ssl
from services.sender_proof import user_id_of
from services.topology import station_queues
from shared.cases import phone
from shared.cases.citizen_id import mask
from shared.messages import dead_letter_queue

ERROR_HEADER = "x-tongban-error"
QUEUE_HEADER = "x-tongban-queue"
FAILED_AT_HEADER = "x-tongban-failed-at"
RETRIES_HEADER = "x-tongban-retries"
RETRIED_AT_HEADER = "x-tongban-retried-at"
# headers about the failure that a retried message does not carry back
_FAILURE_HEADERS = {ERROR_HEADER, FAILED_AT_HEADER, "x-death", "x-first-death-exchange",
                    "x-first-death-queue", "x-first-death-reason", "x-last-death-exchange",
                    "x-last-death-queue", "x-last-death-reason"}
MIN_ID_PREFIX = 6
DEFAULT_LIMIT = 1000
_ID_NUMBER = re.compile(r"(?<![0-9])[0-9]{17}[0-9Xx](?![0-9A-Za-z])")
_PHONE = re.compile(r'("phone": ")([^"]*)(")')


class UnknownDeadLetter(ValueError):
    """No dead letter has this id."""


@dataclass
class DeadLetter:
    id: str                   # the message id (or "sha1-" + a digest of a body without one)
    station: str
    queue: str                # the queue it failed on, where a retry sends it
    kind: str | None
    case_no: str | None
    reason: str
    failed_at: str | None
    retries: int
    sender: str | None
    size: int
    preview: str = ""
    _message: object = field(default=None, repr=False, compare=False)

    def to_dict(self):
        data = asdict(self)
        data.pop("_message")
        return data


def original_queues(station_code, is_district):
    """The queues of a station that have dead-letter queues (inbox, catalogue feed)."""
    return [q.name for q in station_queues(station_code, is_district) if not q.name.endswith(".dead")]


def network_queues(network, station_code=None):
    """[(station code, queue name)] of every station of `network` (or just one)."""
    codes = [station_code] if station_code else list(network.stations)
    return [(code, name) for code in codes
            for name in original_queues(code, code == network.district_code)]


def _header_text(value):
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value


def _describe(station, queue, message):
    headers = message.headers or {}
    body = message.body if isinstance(message.body, bytes) else str(message.body).encode()
    try:
        payload = message.decode()
    except Exception as exc:  # an undecodable body is shown as raw bytes
        payload, decode_error = None, exc
    else:
        decode_error = None
    envelope = payload if isinstance(payload, dict) else {}
    inner = envelope.get("body") if isinstance(envelope.get("body"), dict) else {}
    case = inner.get("case") if isinstance(inner.get("case"), dict) else {}
    case_no = case.get("case_no") or inner.get("case_no")
    message_id = message.properties.get("message_id") or envelope.get("message_id")
    reason = _header_text(headers.get(ERROR_HEADER))
    if not reason:
        deaths = headers.get("x-death") or []
        reason = (f"dead-lettered by the broker: {_header_text(deaths[0].get('reason'))}"
                  if deaths else "no reason recorded")
    if decode_error is not None and "undecodable" not in reason:
        reason += f" (body not decodable: {decode_error})"
    preview = (json.dumps(payload, ensure_ascii=False, default=str) if payload is not None
               else body[:200].decode("utf-8", "replace"))
    preview = _ID_NUMBER.sub(lambda m: mask(m.group(0)), preview)  # citizen IDs stay masked
    preview = _PHONE.sub(lambda m: m.group(1) + phone.mask(m.group(2)) + m.group(3), preview)  # and phones
    return DeadLetter(
        id=str(message_id) if message_id else "sha1-" + hashlib.sha1(body).hexdigest()[:16],
        station=station, queue=_header_text(headers.get(QUEUE_HEADER)) or queue,
        kind=envelope.get("kind") if isinstance(envelope.get("kind"), str) else None,
        case_no=case_no if isinstance(case_no, str) else None,
        reason=reason, failed_at=_header_text(headers.get(FAILED_AT_HEADER)),
        retries=int(headers.get(RETRIES_HEADER) or 0),
        sender=envelope.get("sender") if isinstance(envelope.get("sender"), str) else None,
        size=len(body), preview=preview[:300], _message=message)


def select(letters, ids):
    """The letters whose id is one of `ids` or starts with one of them (at least
    MIN_ID_PREFIX characters). ValueError for an id matching nothing or two messages."""
    chosen = []
    for wanted in ids:
        if len(wanted) < MIN_ID_PREFIX:
            raise ValueError(f"'{wanted}': give at least {MIN_ID_PREFIX} characters of the id")
        matches = [d for d in letters if d.id == wanted] or [d for d in letters if d.id.startswith(wanted)]
        if not matches:
            raise UnknownDeadLetter(f"no dead letter with id '{wanted}'")
        if len({d.id for d in matches}) > 1:
            raise ValueError(f"'{wanted}' matches several dead letters: "
                             + ", ".join(sorted({d.id for d in matches})))
        chosen += [d for d in matches if d not in chosen]
    return chosen


class DeadLetterBox:
    """The dead-letter queues of some stations' queues on one broker."""

    def __init__(self, amqp_uri, queues, connect_timeout=5, ssl=None):
        """`ssl`: the connection's TLS options (services.config.amqp_ssl), None for amqp://."""
        self.amqp_uri = amqp_uri
        self.ssl = ssl
        self.queues = list(queues)   # [(station code, original queue name)]
        self.connect_timeout = connect_timeout

    def _connection(self):
        return Connection(self.amqp_uri, connect_timeout=self.connect_timeout,
                          ssl=amqp_ssl({"AMQP_URI": self.amqp_uri, "AMQP_SSL": self.ssl}),
                          transport_options={"confirm_publish": True})

    def _browse(self, connection, station, queue, limit):
        """(channel, [DeadLetter]) holding up to `limit` messages of `queue`'s dead-letter
        queue unacknowledged; closing the channel gives back those not acknowledged."""
        channel = connection.channel()
        bound = Queue(dead_letter_queue(queue), no_declare=True)(channel)
        letters = []
        try:
            while len(letters) < limit:
                message = bound.get(no_ack=False, accept=["json", "application/json", "text/plain",
                                                         "application/data", "application/octet-stream"])
                if message is None:
                    break
                letters.append(_describe(station, queue, message))
        except ChannelError:  # the queue does not exist (the network was never declared)
            channel = None
        return channel, letters

    def _count(self, connection, queue):
        """How many messages wait in `queue`'s dead-letter queue (0 if it does not exist)."""
        channel = connection.channel()
        try:
            return channel.queue_declare(queue=dead_letter_queue(queue), passive=True).message_count
        except ChannelError:
            return 0
        finally:
            _close(channel)

    def page(self, limit=DEFAULT_LIMIT, offset=0):
        """(total, letters): the dead letters from the `offset`-th on, at most `limit` of
        them, and how many there are in all. The queues are counted without taking
        anything; a queue wholly before the offset is not browsed, so at most
        offset + limit messages of one queue are held (and given back)."""
        letters = []
        with self._connection() as connection:
            connection.ensure_connection(max_retries=1)
            counts = [(station, queue, self._count(connection, queue)) for station, queue in self.queues]
            skip = offset
            for station, queue, count in counts:
                if len(letters) >= limit:
                    break
                if skip >= count:
                    skip -= count
                    continue
                channel, found = self._browse(connection, station, queue, skip + limit - len(letters))
                letters += found[skip:]
                skip = 0
                _close(channel)
        return sum(count for _, _, count in counts), letters

    def list(self, limit=DEFAULT_LIMIT):
        letters = []
        with self._connection() as connection:
            connection.ensure_connection(max_retries=1)
            for station, queue in self.queues:
                channel, found = self._browse(connection, station, queue, limit - len(letters))
                letters += found
                _close(channel)
                if len(letters) >= limit:
                    break
        return letters

    def retry(self, ids=None, limit=DEFAULT_LIMIT):
        """Send the dead letters `ids` (every one when None) back to their queues.
        Returns the letters sent back. ValueError (before anything is sent) for an id
        that matches nothing or is ambiguous."""
        retried = []
        with self._connection() as connection:
            connection.ensure_connection(max_retries=1)
            held = []
            try:
                letters = []
                for station, queue in self.queues:
                    channel, found = self._browse(connection, station, queue, limit - len(letters))
                    if found:  # held until the end, so that no message is taken twice
                        held.append(channel)
                    else:
                        _close(channel)
                    letters += found
                chosen = letters if ids is None else select(letters, ids)
                producer = connection.Producer(channel=connection.channel())
                user_id = user_id_of(self.amqp_uri)  # the broker checks it: who sent it back
                now = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
                for letter in chosen:
                    message = letter._message
                    headers = {k: v for k, v in (message.headers or {}).items() if k not in _FAILURE_HEADERS}
                    headers[RETRIES_HEADER] = letter.retries + 1
                    headers[RETRIED_AT_HEADER] = now
                    # straight to the queue it failed on, through the default exchange;
                    # confirmed, and refused (mandatory) if that queue does not exist
                    producer.publish(
                        message.body, exchange=Exchange(""), routing_key=letter.queue,
                        content_type=message.content_type or "application/octet-stream",
                        content_encoding=message.content_encoding or "binary",
                        message_id=message.properties.get("message_id"), headers=headers,
                        delivery_mode=2, mandatory=True, user_id=user_id)
                    message.ack()
                    retried.append(letter)
                _close(producer.channel)
            finally:
                for channel in held:
                    _close(channel)
        return retried


def _close(channel):
    if channel is not None:
        try:
            channel.close()
        except Exception:
            pass
