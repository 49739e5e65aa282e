"""A station's figures in the Prometheus text format (GET /api/metrics).

Each scrape reads them afresh into a new registry:

    tongban_station_info{station,tier}                 1
    tongban_broker_up                                  1 if the broker answered this scrape, else 0
    tongban_queue_messages{queue}                      ready messages in the station's inbox, its
                                                       catalogue feed and their dead-letter queues
    tongban_queue_consumers{queue}                     consumers attached to each of those queues
    tongban_cases{status}                              cases in this station's database, by status
    tongban_cases_held{status}                         those of them held (acted on) here
    tongban_outbox_backlog                             outbox messages not yet published
    tongban_outbox_oldest_unsent_age_seconds           age of the oldest of them (0 if none)
    tongban_catalogue_version                          the station's catalogue version
    tongban_inbox_message_age_seconds{queue}           histogram: how old each message was when
                                                       this process's consumer received it

Queue depths come from a passive queue declaration on a short-lived connection; when
the broker cannot be reached the scrape still answers, with `tongban_broker_up 0` and the
database figures. Message ages are kept in the process (since it started) by the
hand-off consumer (services/handoff.py), from the `x-tongban-created-at` header the relay
puts on every message (services/relay.py): the time its outbox row was committed.
"""
import datetime as dt
import threading

from kombu import Connection
from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.metrics_core import GaugeMetricFamily
from sqlalchemy import func, select

from services.config import amqp_ssl
from services.topology import station_queues
from shared.cases.states import LABELS as CASE_STATUSES
from shared.catalogue.store import CatalogueStore
from shared.db import outbox
from shared.db.models import Case, OutboxMessage, utcnow

CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4
CREATED_AT_HEADER = "x-tongban-created-at"
BROKER_TIMEOUT_SECONDS = 2

# from a message handled at once to one that waited out a long broker outage
AGE_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 21600)

_ages = {}  # station code -> its Histogram of message ages, by queue
_ages_lock = threading.Lock()


def _age_histogram(station_code):
    with _ages_lock:
        histogram = _ages.get(station_code)
        if histogram is None:
            histogram = _ages[station_code] = Histogram(
                "tongban_inbox_message_age_seconds",
                "Age of messages when this station's consumers received them (from the commit "
                "of their outbox row), since the process started.",
                ["queue"], buckets=AGE_BUCKETS, registry=None)
        return histogram


def created_at_header(created_at):
    """The header value for an outbox row's `created_at` (naive UTC, shared/db/models.py)."""
    return created_at.replace(tzinfo=dt.timezone.utc).isoformat()


def message_age(headers, now=None):
    """Seconds since the message's outbox row was committed, or None when its headers
    do not say (published by something other than the relay)."""
    value = (headers or {}).get(CREATED_AT_HEADER)
    if not isinstance(value, str):
        return None
    try:
        created = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    if created.tzinfo is None:
        created = created.replace(tzinfo=dt.timezone.utc)
    now = now or dt.datetime.now(dt.timezone.utc)
    return max(0.0, (now - created).total_seconds())


def observe_message_age(station_code, queue_name, headers):
    """Record the age of a message a consumer of `station_code` received from `queue_name`."""
    age = message_age(headers)
    if age is not None:
        _age_histogram(station_code).labels(queue=queue_name).observe(age)
    return age


def queue_depths(amqp_uri, queue_names, timeout=BROKER_TIMEOUT_SECONDS, ssl=None):
    """{queue: (ready messages, consumers)} by passive declaration, leaving out queues
    that do not exist; raises if the broker cannot be reached. `ssl`: TLS options
    (services.config.amqp_ssl)."""
    found = {}
    tls = amqp_ssl({"AMQP_URI": amqp_uri, "AMQP_SSL": ssl})
    with Connection(amqp_uri, connect_timeout=timeout, ssl=tls) as connection:
        connection.ensure_connection(max_retries=0, timeout=timeout)  # one attempt
        channel = connection.channel()
        try:
            for name in queue_names:
                try:
                    _, messages, consumers = channel.queue_declare(queue=name, passive=True)
                except connection.channel_errors:  # 404: the broker closed the channel
                    channel = connection.channel()
                    continue
                found[name] = (messages, consumers)
        finally:
            channel.close()
    return found


def database_figures(session):
    """What the station's database says: cases by status (all, held here), the outbox
    backlog and its oldest message, and the catalogue version."""
    by_status = dict(session.execute(select(Case.status, func.count()).group_by(Case.status)).all())
    held = dict(session.execute(select(Case.status, func.count()).where(Case.held_here.is_(True))
                                .group_by(Case.status)).all())
    oldest = session.scalar(select(func.min(OutboxMessage.created_at)).where(OutboxMessage.sent_at.is_(None)))
    return {"cases": by_status, "held": held, "backlog": outbox.backlog(session) or 0,
            "oldest_unsent_age": max(0.0, (utcnow() - oldest).total_seconds()) if oldest else 0.0,
            "catalogue_version": CatalogueStore(session).version()}


def _gauge(name, documentation, value=None, labels=(), values=None):
    """A gauge family: one unlabelled `value`, or {label value(s): value} in `values`."""
    family = GaugeMetricFamily(name, documentation, value=value, labels=list(labels) if values is not None else None)
    for key, number in (values or {}).items():
        family.add_metric(list(key) if isinstance(key, tuple) else [key], number)
    return family


class _Scrape:
    """A prometheus_client collector over one reading of a station."""

    def __init__(self, station, db, depths, queues):
        self.station, self.db, self.depths, self.queues = station, db, depths, queues

    def collect(self):
        s, db, depths = self.station, self.db, self.depths
        yield _gauge("tongban_station_info", "The station these figures are about.",
                     labels=("station", "tier"), values={(s.code, s.tier): 1})
        yield _gauge("tongban_broker_up", "1 if the broker answered this scrape, else 0.",
                     value=0 if depths is None else 1)
        if depths is not None:
            yield _gauge("tongban_queue_messages", "Messages ready in the station's own queues.",
                         labels=("queue",), values={q: depths[q][0] for q in self.queues if q in depths})
            yield _gauge("tongban_queue_consumers", "Consumers attached to the station's own queues.",
                         labels=("queue",), values={q: depths[q][1] for q in self.queues if q in depths})
        statuses = list(CASE_STATUSES) + sorted(set(db["cases"]) - set(CASE_STATUSES))
        yield _gauge("tongban_cases", "Cases in this station's database, by status.", labels=("status",),
                     values={status: db["cases"].get(status, 0) for status in statuses})
        yield _gauge("tongban_cases_held", "Cases held (acted on) at this station, by status.",
                     labels=("status",), values={status: db["held"].get(status, 0) for status in statuses})
        yield _gauge("tongban_outbox_backlog", "Outbox messages not yet published.", value=db["backlog"])
        yield _gauge("tongban_outbox_oldest_unsent_age_seconds",
                     "Age of the oldest outbox message not yet published (0 if none).",
                     value=db["oldest_unsent_age"])
        yield _gauge("tongban_catalogue_version", "The station's catalogue version.",
                     value=db["catalogue_version"])
        histogram = _ages.get(s.code)
        if histogram is not None:
            yield from histogram.collect()


class MetricsCollector:
    """Reads one station's figures on each `scrape()`."""

    def __init__(self, database, amqp_uri, station, broker_timeout=BROKER_TIMEOUT_SECONDS, ssl=None):
        """`station`: a services.config.StationInfo (code, tier, is_district); `ssl`: the
        broker connection's TLS options (services.config.amqp_ssl)."""
        self.database = database
        self.amqp_uri = amqp_uri
        self.ssl = ssl
        self.station = station
        self.broker_timeout = broker_timeout
        self.queues = [q.name for q in station_queues(station.code, station.is_district)]

    def registry(self):
        """A fresh CollectorRegistry holding this scrape's figures."""
        with self.database.reading() as session:
            db = database_figures(session)
        try:
            depths = queue_depths(self.amqp_uri, self.queues, self.broker_timeout, self.ssl)
        except Exception:
            depths = None
        registry = CollectorRegistry(auto_describe=False)
        registry.register(_Scrape(self.station, db, depths, self.queues))
        return registry

    def scrape(self):
        """The figures in the Prometheus text format (version 0.0.4), as bytes."""
        return generate_latest(self.registry())
