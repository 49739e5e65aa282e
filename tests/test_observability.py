"""Observability: log lines bound to a station and a case, and the Prometheus figures of
/api/metrics (services/observability/, services/gateway/metrics.py).

The broker tests use station codes of their own (district 449907, a random township and
village under it), so they neither see nor disturb other tests' queues; their queues are
deleted at the end.
"""
import datetime as dt
import io
import json
import logging
import random
import uuid
from types import SimpleNamespace
from urllib.parse import urlsplit

import eventlet
import pytest
import requests
import yaml
from kombu import Connection, Producer
from nameko.amqp.publish import Publisher, UndeliverableMessage
from nameko.constants import PERSISTENT
from nameko.containers import ServiceContainer
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import update

from deploy.broker_users import BrokerAdmin, station_uri
from deploy.drills.harness import free_port
from services.config import DATABASE_KEY, NETWORK_KEY, STATION_KEY
from services.gateway.metrics import MetricsEndpoints
from services.handoff import handoff
from services.observability.logs import (
    ContextFieldsFilter, bound_fields, case_no_of, configure_logging, log_context, make_handler,
    message_fields,
)
from services.observability.metrics import (
    CONTENT_TYPE, CREATED_AT_HEADER, MetricsCollector, message_age, observe_message_age,
)
from services.relay import Relay
from services.topology import (
    cases_exchange, dead_letter_exchange, declare_station, station_inbox, station_queues,
)
from shared.cases import states
from shared.db import outbox
from shared.db.database import get_database
from shared.db.models import Case, CatalogueChange, OutboxMessage, utcnow
from shared.messages import CASE_HANDOVER, CASE_SUPPLEMENT, CASES_EXCHANGE, CATALOGUE_CHANGE, envelope
from shared.trust.identities import broker_user
from tests.support.network import UNREACHABLE_AMQP_URI

DISTRICT = "449907"


# -- helpers ------------------------------------------------------------------------------
class ListHandler(logging.Handler):
    def __init__(self):
        super().__init__()
        self.records = []
        self.addFilter(ContextFieldsFilter())

    def emit(self, record):
        self.records.append(record)


@pytest.fixture
def probe_logger():
    """A logger of its own (not the root, which pytest captures) and what it wrote."""
    logger = logging.getLogger(f"tests.observability.{random.randrange(10**9)}")
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    stream = io.StringIO()
    logger.addHandler(make_handler("json", stream))
    records = ListHandler()
    logger.addHandler(records)
    yield SimpleNamespace(log=logger, stream=stream, records=records.records)
    logger.handlers.clear()


def json_lines(stream):
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def figures(text):
    """{(name, frozenset(labels)): value} of a Prometheus text exposition."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return found


def value(found, name, **labels):
    return found[(name, frozenset(labels.items()))]


@pytest.fixture
def stations(amqp_uri):
    """A township and a village of their own under district 449907, their queues
    declared; deleted afterwards."""
    township = f"{DISTRICT}{random.randrange(100, 999)}"
    village = f"{township}{random.randrange(100, 999)}"
    with Connection(amqp_uri, connect_timeout=5) as connection:
        declare_station(connection, village, is_district=False)
    yield SimpleNamespace(township=township, village=village,
                          info=SimpleNamespace(code=village, tier="village", is_district=False))
    with Connection(amqp_uri, connect_timeout=5) as connection:
        for queue in station_queues(village, is_district=False):
            connection.default_channel.queue_delete(queue=queue.name)


def network_file(tmp_path, township, village):
    path = tmp_path / "network.yaml"
    path.write_text(yaml.safe_dump({
        "district": {"code": DISTRICT, "name": "观测测试区"},
        "departments": [{"code": "civil_affairs", "name": "区民政局"}],
        "stations": [{"code": DISTRICT, "tier": "district", "name": "观测测试区行政服务中心"},
                     {"code": township, "tier": "township", "name": "观测街道公共服务中心"},
                     {"code": village, "tier": "village", "name": "观测社区便民服务站"}],
    }, allow_unicode=True), encoding="utf-8")
    return path


def add_case(session, case_no, status, held_here):
    session.add(Case(case_no=case_no, item_code="ITEM01", department="civil_affairs", status=status,
                     filing_station="449907001001", holder_station="449907001001" if held_here else DISTRICT,
                     held_here=held_here, revision=1, filed_at=utcnow(), snapshot={"case_no": case_no}))


# -- logs ---------------------------------------------------------------------------------
def test_json_line_carries_station_and_case_no_only_while_bound(probe_logger):
    probe_logger.log.info("before")
    with log_context(station="449907", case_no="449907-20260105-0001"):
        probe_logger.log.warning("forwarded to %s", "449907001", extra={"attempt": 2})
        with log_context(message_id="m1", kind=CASE_HANDOVER, case_no=None):
            probe_logger.log.info("inner")
    probe_logger.log.info("after")
    before, about, inner, after = json_lines(probe_logger.stream)
    assert list(before) == ["time", "level", "logger", "message"]
    assert list(about)[:6] == ["time", "level", "logger", "message", "station", "case_no"]
    assert about["level"] == "WARNING" and about["message"] == "forwarded to 449907001"
    assert about["station"] == "449907" and about["case_no"] == "449907-20260105-0001"
    assert about["attempt"] == 2
    assert dt.datetime.fromisoformat(about["time"]).tzinfo is not None
    # nested: adds message id and kind, None unbinds the case
    assert inner["station"] == "449907" and inner["message_id"] == "m1" and "case_no" not in inner
    assert "station" not in after and bound_fields() == {}


def test_text_format_shows_bound_fields_in_brackets():
    stream = io.StringIO()
    handler = make_handler("text", stream)
    logger = logging.getLogger("tests.observability.text")
    logger.propagate, logger.handlers = False, [handler]
    logger.setLevel(logging.INFO)
    with log_context(station="449907", case_no="449907-20260105-0002"):
        logger.info("accepted")
    logger.info("idle")
    first, second = stream.getvalue().splitlines()
    assert first.endswith("INFO tests.observability.text [station=449907 case_no=449907-20260105-0002]: accepted")
    assert second.endswith("INFO tests.observability.text: idle")


def test_configure_logging_replaces_root_handlers():
    root = logging.getLogger()
    saved, level = list(root.handlers), root.level
    try:
        assert configure_logging(logging.INFO, "auto", io.StringIO()) == "json"  # not a terminal
        assert len(root.handlers) == 1
        assert configure_logging(logging.INFO, "text", io.StringIO()) == "text"
        with pytest.raises(ValueError):
            configure_logging(logging.INFO, "xml")
    finally:
        root.handlers[:] = saved
        root.setLevel(level)


def test_unknown_field_is_refused():
    with pytest.raises(TypeError):
        with log_context(case="x"):
            pass


def test_fields_do_not_leak_between_green_threads(probe_logger):
    """Each green thread has its own context: many workers handling different cases at
    once, switching in between, each logs only its own case; a thread spawned inside a
    bound block starts with nothing bound."""
    def worker(n):
        with log_context(station="449907", case_no=f"case-{n}"):
            for step in range(3):
                eventlet.sleep(random.random() / 200)
                probe_logger.log.info("worker %d step %d", n, step)
            spawned.append(eventlet.spawn(bound_fields))

    spawned = []
    pool = eventlet.GreenPool()
    for n in range(20):
        pool.spawn(worker, n)
    pool.waitall()
    lines = json_lines(probe_logger.stream)
    assert len(lines) == 60
    for line in lines:
        n = int(line["message"].split()[1])
        assert line["case_no"] == f"case-{n}", line
    assert [gt.wait() for gt in spawned] == [{}] * 20
    assert bound_fields() == {}


def test_case_number_of_a_message():
    assert case_no_of(envelope(CASE_HANDOVER, {"case": {"case_no": "A-1"}}, "x")) == "A-1"
    assert case_no_of(envelope(CASE_SUPPLEMENT, {"case_no": "A-2", "materials": []}, "x")) == "A-2"
    assert case_no_of(envelope(CATALOGUE_CHANGE, {"version": 3}, "x")) is None
    assert case_no_of("not a message") is None
    fields = message_fields(envelope(CASE_HANDOVER, {"case": {"case_no": "A-1"}}, "x", message_id="m9"))
    assert fields == {"message_id": "m9", "kind": CASE_HANDOVER, "case_no": "A-1"}


class FailingPublisher:
    def __init__(self, error):
        self.error = error

    def publish(self, body, **kwargs):
        raise self.error


@pytest.mark.parametrize("error, level", [(ConnectionError("broker down"), logging.WARNING),
                                          (UndeliverableMessage(), logging.ERROR)])
def test_relay_failure_is_logged_with_the_case(memory_db, error, level):
    with memory_db.transaction() as session:
        message_id = outbox.add_message(session, CASES_EXCHANGE, "449907001", CASE_HANDOVER,
                                        {"case": {"case_no": "449907001001-20260105-0003"}}, "449907001001")
    relay = Relay(memory_db, FailingPublisher(error), "449907001001")
    handler = ListHandler()
    logging.getLogger("services.relay").addHandler(handler)
    try:
        assert relay.flush() == 0
    finally:
        logging.getLogger("services.relay").removeHandler(handler)
    record, = handler.records
    assert record.levelno == level
    assert record.station == "449907001001" and record.case_no == "449907001001-20260105-0003"
    assert record.kind == CASE_HANDOVER and record.message_id == message_id


# -- metrics ------------------------------------------------------------------------------
def test_message_age_from_the_relay_header():
    now = dt.datetime(2026, 1, 5, 8, 0, 10, tzinfo=dt.timezone.utc)
    assert message_age({CREATED_AT_HEADER: "2026-01-05T08:00:07.500000+00:00"}, now) == 2.5
    assert message_age({CREATED_AT_HEADER: "2026-01-05T08:00:07.5"}, now) == 2.5  # naive: UTC
    assert message_age({}, now) is None
    assert message_age({CREATED_AT_HEADER: "yesterday"}, now) is None
    assert message_age(None, now) is None


def test_collector_reads_the_database_and_the_queues(memory_db, amqp_uri, stations):
    with memory_db.transaction() as session:
        add_case(session, "C-1", states.PENDING_REVIEW, held_here=True)
        add_case(session, "C-2", states.PENDING_REVIEW, held_here=True)
        add_case(session, "C-3", states.FORWARDED, held_here=False)
        add_case(session, "C-4", states.COMPLETED, held_here=True)
        for version in (1, 2, 3):
            session.add(CatalogueChange(version=version, kind="add", item_code=f"I{version}", payload={},
                                        made_at="2026-01-05T08:00:00"))
        ids = [outbox.add_message(session, CASES_EXCHANGE, DISTRICT, CASE_HANDOVER,
                                  {"case": {"case_no": f"C-{n}"}}, stations.village) for n in range(3)]
    with memory_db.transaction() as session:
        outbox.mark_sent(session, ids[:1])
        session.execute(update(OutboxMessage).where(OutboxMessage.message_id == ids[1])
                        .values(created_at=utcnow() - dt.timedelta(seconds=90)))
    inbox = station_inbox(stations.village).name
    with Connection(amqp_uri, connect_timeout=5, transport_options={"confirm_publish": True}) as connection:
        producer = Producer(connection)
        for n in range(3):
            producer.publish({"n": n}, exchange=cases_exchange, routing_key=stations.village, serializer="json")
        producer.publish({"n": 9}, exchange=dead_letter_exchange, routing_key=inbox, serializer="json")

    found = figures(MetricsCollector(memory_db, amqp_uri, stations.info).scrape().decode())
    assert value(found, "tongban_broker_up") == 1
    assert value(found, "tongban_queue_messages", queue=inbox) == 3
    assert value(found, "tongban_queue_messages", queue=inbox + ".dead") == 1
    feed = f"tongban.station.{stations.village}.catalogue"
    assert value(found, "tongban_queue_messages", queue=feed) == 0
    assert value(found, "tongban_queue_messages", queue=feed + ".dead") == 0
    assert value(found, "tongban_queue_consumers", queue=inbox) == 0
    assert value(found, "tongban_cases", status=states.PENDING_REVIEW) == 2
    assert value(found, "tongban_cases", status=states.FORWARDED) == 1
    assert value(found, "tongban_cases", status=states.APPROVED) == 0  # every status, 0 when none
    assert value(found, "tongban_cases_held", status=states.PENDING_REVIEW) == 2
    assert value(found, "tongban_cases_held", status=states.FORWARDED) == 0
    assert value(found, "tongban_cases_held", status=states.COMPLETED) == 1
    assert value(found, "tongban_outbox_backlog") == 2
    assert 89 <= value(found, "tongban_outbox_oldest_unsent_age_seconds") < 120
    assert value(found, "tongban_catalogue_version") == 3
    assert value(found, "tongban_station_info", station=stations.village, tier="village") == 1


def test_collector_without_a_broker_still_reports_the_database(memory_db):
    station = SimpleNamespace(code="449907001001", tier="village", is_district=False)
    started = dt.datetime.now()
    found = figures(MetricsCollector(memory_db, UNREACHABLE_AMQP_URI, station).scrape().decode())
    assert (dt.datetime.now() - started).total_seconds() < 5
    assert value(found, "tongban_broker_up") == 0
    assert not [key for key in found if key[0] == "tongban_queue_messages"]
    assert value(found, "tongban_outbox_backlog") == 0
    assert value(found, "tongban_outbox_oldest_unsent_age_seconds") == 0
    assert value(found, "tongban_cases", status=states.COMPLETED) == 0


def test_message_ages_are_kept_per_station(memory_db):
    mine = SimpleNamespace(code=f"{DISTRICT}{random.randrange(10**6):06d}", tier="village", is_district=False)
    other = SimpleNamespace(code=f"{DISTRICT}{random.randrange(10**6):06d}", tier="village", is_district=False)
    created = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=3)).isoformat()
    observe_message_age(mine.code, "q", {CREATED_AT_HEADER: created})
    assert observe_message_age(mine.code, "q", {}) is None  # no header: not counted
    found = figures(MetricsCollector(memory_db, UNREACHABLE_AMQP_URI, mine).scrape().decode())
    assert value(found, "tongban_inbox_message_age_seconds_count", queue="q") == 1
    assert 3 <= value(found, "tongban_inbox_message_age_seconds_sum", queue="q") < 10
    assert value(found, "tongban_inbox_message_age_seconds_bucket", queue="q", le="2.5") == 0
    assert value(found, "tongban_inbox_message_age_seconds_bucket", queue="q", le="5.0") == 1
    found = figures(MetricsCollector(memory_db, UNREACHABLE_AMQP_URI, other).scrape().decode())
    assert not [key for key in found if key[0].startswith("tongban_inbox_message_age")]


# -- the hand-off consumer, fed by the relay, in a real nameko container -------------------
_handled = []


class HandoffProbe:
    name = "observability_probe"

    @handoff(queue_for_station=station_inbox)
    def on_message(self, message):
        before = bound_fields()
        eventlet.sleep(0.05)  # the other message's worker runs meanwhile
        logging.getLogger("tests.observability.handoff").info("handled")
        _handled.append((message["message_id"], before, bound_fields()))


def test_handoff_worker_logs_with_its_message_and_records_its_age(memory_db, amqp_uri, stations):
    cases = {}
    with memory_db.transaction() as session:
        cases[outbox.add_message(session, CASES_EXCHANGE, stations.village, CASE_HANDOVER,
                                 {"case": {"case_no": "449907-20260105-0007"}}, DISTRICT)] = "449907-20260105-0007"
        cases[outbox.add_message(session, CASES_EXCHANGE, stations.village, CASE_SUPPLEMENT,
                                 {"case_no": "449907-20260105-0008"}, DISTRICT)] = "449907-20260105-0008"
        session.flush()
        session.execute(update(OutboxMessage).values(created_at=utcnow() - dt.timedelta(seconds=2)))
    # the relay publishes as the district does: its own broker user, validated by the broker
    district_uri = station_uri(amqp_uri, DISTRICT, "probe-" + uuid.uuid4().hex)
    BrokerAdmin(amqp_uri).ensure_station_user(DISTRICT, urlsplit(district_uri).password)
    relay = Relay(memory_db, Publisher(district_uri, use_confirms=True, delivery_mode=PERSISTENT,
                                       user_id=broker_user(DISTRICT)), DISTRICT)
    handler = ListHandler()
    probe_log = logging.getLogger("tests.observability.handoff")
    probe_log.addHandler(handler)
    probe_log.setLevel(logging.INFO)
    _handled.clear()
    container = ServiceContainer(HandoffProbe, {"AMQP_URI": amqp_uri, STATION_KEY: stations.village})
    container.start()
    try:
        assert relay.flush() == 2
        with eventlet.Timeout(10):
            while len(_handled) < 2:
                eventlet.sleep(0.05)
    finally:
        container.stop()
        probe_log.removeHandler(handler)
    for message_id, before, after in _handled:
        kind = CASE_HANDOVER if cases[message_id].endswith("7") else CASE_SUPPLEMENT
        expected = {"station": stations.village, "case_no": cases[message_id], "message_id": message_id,
                    "kind": kind}
        assert before == expected and after == expected
    assert sorted((r.case_no, r.station) for r in handler.records) == sorted(
        (case_no, stations.village) for case_no in cases.values())
    found = figures(MetricsCollector(memory_db, amqp_uri, stations.info).scrape().decode())
    inbox = station_inbox(stations.village).name
    assert value(found, "tongban_inbox_message_age_seconds_count", queue=inbox) == 2
    assert 4 <= value(found, "tongban_inbox_message_age_seconds_sum", queue=inbox) < 30
    assert value(found, "tongban_queue_messages", queue=inbox) == 0


# -- GET /api/metrics ---------------------------------------------------------------------
class MetricsOnly(MetricsEndpoints):
    name = "observability_metrics"


def test_metrics_endpoint_answers_prometheus_text(tmp_path, amqp_uri, stations):
    port = free_port()
    url = f"sqlite:///{tmp_path / 'station.sqlite3'}"
    with get_database(url).transaction() as session:
        add_case(session, "C-9", states.RESULT_READY, held_here=True)
    config = {"AMQP_URI": amqp_uri, "WEB_SERVER_ADDRESS": f"127.0.0.1:{port}", STATION_KEY: stations.village,
              NETWORK_KEY: str(network_file(tmp_path, stations.township, stations.village)), DATABASE_KEY: url}
    container = ServiceContainer(MetricsOnly, config)
    container.start()
    try:
        response = requests.get(f"http://127.0.0.1:{port}/api/metrics", timeout=10)
    finally:
        container.stop()
    assert response.status_code == 200
    assert response.headers["Content-Type"] == CONTENT_TYPE
    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    found = figures(response.text)
    assert value(found, "tongban_broker_up") == 1
    assert value(found, "tongban_cases_held", status=states.RESULT_READY) == 1
    assert value(found, "tongban_queue_messages", queue=station_inbox(stations.village).name) == 0
    assert value(found, "tongban_station_info", station=stations.village, tier="village") == 1


def test_station_process_logs_json_and_serves_metrics(station_network_factory):
    """A real station process: its log lines are JSON objects, and its gateway's
    /api/metrics answers with its figures."""
    net = station_network_factory("observability", root_args=("--log-format", "json"), network={
        "district": {"code": DISTRICT, "name": "观测测试区"},
        "departments": [{"code": "civil_affairs", "name": "区民政局"}],
        "stations": [{"code": DISTRICT, "tier": "district", "name": "观测测试区行政服务中心"}]})
    process, = net.start()
    lines = [line for line in process.log_path.read_text(encoding="utf-8").splitlines() if line.startswith("{")]
    assert lines, process.log_tail()
    for line in lines:
        entry = json.loads(line)
        assert {"time", "level", "logger", "message"} <= set(entry)

    response = net.http.get(net.url(DISTRICT) + "/api/metrics", timeout=10)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == CONTENT_TYPE
    found = figures(response.text)
    assert value(found, "tongban_broker_up") == 1
    assert value(found, "tongban_station_info", station=DISTRICT, tier="district") == 1
    inbox = station_inbox(DISTRICT).name
    assert value(found, "tongban_queue_messages", queue=inbox) == 0
    assert value(found, "tongban_queue_messages", queue=inbox + ".dead") == 0
    assert value(found, "tongban_queue_consumers", queue=inbox) >= 1  # the station's case inbox
    assert value(found, "tongban_cases", status=states.ACCEPTED) == 0
    assert value(found, "tongban_outbox_backlog") == 0
