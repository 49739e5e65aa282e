"""One station's services in the test process, without a broker: the in-process layer
between the pure unit tests and the network tests.

`InProcessStation` is a station of tests/cases_data/network_cases.yaml with its own
database (in-memory SQLite, or a scratch PostgreSQL database under
TONGBAN_TEST_DATABASE=postgresql) holding the sample catalogue (`SAMPLE_CATALOGUE_DB`: seeded
once per run, each station gets a copy; tests/support/databases.py), a `FixedClock` and a
`RecordingRelay`: the outbox works as in production (a change and its messages commit
together), and what the relay would publish is kept in a list instead of going to
RabbitMQ. A message one station sent can be handed to another one's station
(`station.receive(message)`: its desk, or its access-audit inbox for `audit.copy`, as the
inbox service does), which is how a single-station behaviour that starts with a message (a
hand-off, a supplement) is tested here. The same station and relay, with a publish
callback, make the stations of tests/support/message_capture.py's `InProcessNetwork`.

`gateway_config(station)` is the container configuration of the station's gateway or
inbox service for nameko's `container_factory`, on a database URL that a container's
providers reach by `get_database` (a file on SQLite: an in-memory database is private
to its engine).
"""
import contextlib
import datetime as dt
import itertools
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from kombu import Connection
from nameko.rpc import get_rpc_exchange
from sqlalchemy import select

from deploy.seeding import load_catalogue_file
from deploy.settings import SAMPLE_CATALOGUE
from services import online_applications
from services.access_audit import AuditInbox
from services.hall_visits import HallVisitInbox
from services.uploads import MaterialFiles
from services.cases.desk import CaseDesk
from services.config import DATABASE_KEY, NETWORK_KEY, STATION_KEY, StationInfo, load_network
from shared.auth.accounts import Accounts
from shared.cases.citizen_id import make as make_id
from shared.cases.store import CaseRepository
from shared.catalogue.editing import CatalogueEditor
from shared.catalogue.store import CatalogueStore
from shared.db import outbox
from shared.db.database import forget_databases
from shared.contract import CASE_ONLINE_APPLICATION
from shared.db.models import OutboxMessage
from shared.messages import AUDIT_COPY, CASE_FILE, CASE_FILE_REQUEST, HALL_VISIT
from tests.support import databases
from tests.support.network import AMQP_URI

NETWORK_PATH = Path(__file__).resolve().parent.parent / "cases_data" / "network_cases.yaml"
DISTRICT, SOUTH, NORTH = "449902", "449902001", "449902100"
SOUTH_VILLAGE, NORTH_VILLAGE = "449902001201", "449902100201"
TZ = ZoneInfo("Asia/Shanghai")
MONDAY = dt.datetime(2026, 3, 2, 9, 30, tzinfo=TZ)  # a working day
PASSWORD = "desk-test-密码-2026"


class FixedClock:
    """The district's clock at an instant that moves only by hand (`advance`). It answers
    `now()` and `today()` as shared.clock.Clock does, and calling it is `now()`: it is
    also the callable a CaseDesk takes as its clock."""

    def __init__(self, when=MONDAY):
        self.when = when

    def now(self):
        return self.when

    __call__ = now

    def today(self):
        return self.when.date()

    def advance(self, **delta):
        self.when += dt.timedelta(**delta)


class RecordingRelay:
    """The outbox relay without RabbitMQ: `flush` takes the committed, unsent outbox rows,
    hands each to `publish(exchange, routing_key, envelope)` and marks them sent, as the
    real relay does after the broker's confirm. Without a `publish` callback the envelopes
    are kept in `sent` (with the routing key as `to`)."""

    def __init__(self, database, publish=None):
        self.database = database
        self.sent = []
        self.publish = publish or self._keep

    def _keep(self, exchange, routing_key, envelope):
        self.sent.append({**envelope, "to": routing_key})

    def flush(self, message_ids=None, older_than_seconds=None):
        with self.database.reading() as session:
            pending = [(m.message_id, m.exchange, m.routing_key, m.body)
                       for m in outbox.unsent(session, message_ids)]
        for _, exchange, routing_key, body in pending:
            self.publish(exchange, routing_key, body)
        with self.database.transaction() as session:
            outbox.mark_sent(session, [message_id for message_id, *_ in pending])
        return len(pending)

    def of_kind(self, kind, to=None):
        return [m for m in self.sent if m["kind"] == kind and (to is None or m["to"] == to)]


class InProcessStation:
    """Station `code` on `database`: its CaseDesk and access-audit inbox, with `clock` (a
    callable returning the district's time; a FixedClock at MONDAY when not given) and
    `relay` (a RecordingRelay of its own when not given), in `network` (a
    shared.stations.Network; tests/cases_data/network_cases.yaml when not given)."""

    def __init__(self, code, database, clock=None, relay=None, network=None):
        self.network = network or load_network(str(NETWORK_PATH))
        self.info = StationInfo(self.network.station(code), self.network)
        self.code = code
        self.database = database
        self.clock = clock or FixedClock()
        self.relay = relay or RecordingRelay(database)
        self.desk = CaseDesk(database, self.relay, self.info, self.clock)
        self.audit_inbox = AuditInbox(database, self.info)
        self.hall_visits = HallVisitInbox(database, self.info)
        self.material_files = MaterialFiles(database, self.relay, self.info, self.clock)

    def user(self, role, department=None, username=None, name=None):
        """A user as the desk receives them from the login (services/auth.py)."""
        username = username or (f"{department}.{role}" if department else role)
        return {"username": username, "name": name or f"测试{username}", "role": role,
                "department": department, "station": self.code}

    def add_user(self, role, department=None, username=None):
        """A stored user with an open session: (user view, bearer token)."""
        username = username or (f"{department}.{role}" if department else role)
        with self.database.transaction() as session:
            accounts = Accounts(session, self.info.station, self.network)
            accounts.add({"username": username, "name": f"测试{username}", "role": role,
                          "department": department, "password": PASSWORD})
            opened = accounts.open_session(username)
        return opened["user"], opened["token"]

    def receive(self, message):
        """Hand `message` (an envelope as another station's relay sent it, `to` and all) to
        this station, as its inbox service does (services/cases/service.py): an access-audit
        copy to the audit inbox, any other kind to the desk."""
        message = {k: v for k, v in message.items() if k != "to"}
        if message.get("kind") == AUDIT_COPY:
            return self.audit_inbox.receive(message)
        if message.get("kind") == HALL_VISIT:
            return self.hall_visits.receive(message)
        if message.get("kind") in (CASE_FILE, CASE_FILE_REQUEST):
            return self.material_files.receive(message)
        if message.get("kind") == CASE_ONLINE_APPLICATION:
            return online_applications.receive(self.desk, message)
        return self.desk.receive(message)

    def case(self, case_no):
        """This station's stored copy of case `case_no` (None: it has none)."""
        with self.database.reading() as session:
            return CaseRepository(session, self.code).find(case_no)

    def outbox_count(self):
        with self.database.reading() as session:
            return len(session.scalars(select(OutboxMessage.message_id)).all())

    def case_count(self, user):
        return self.desk.list(user, limit=1)[0]


def seed_catalogue(database):
    """The sample catalogue, added in one transaction at a fixed time, so that every
    station seeded here holds the same items at the same versions (as replicas do)."""
    network = load_network(str(NETWORK_PATH))
    with database.transaction() as session:
        editor = CatalogueEditor(CatalogueStore(session), set(network.departments), lambda: MONDAY)
        for item in load_catalogue_file(SAMPLE_CATALOGUE):
            editor.add(item, "测试目录")


SAMPLE_CATALOGUE_DB = databases.Template("catalogue", seed_catalogue)


_serial = itertools.count(1)


def applicant(residence=SOUTH_VILLAGE, born=dt.date(1962, 3, 14)):
    return {"name": "黄秀英", "id_number": make_id("449902", born, next(_serial) % 1000),
            "phone": "13800138000", "residence": residence}


def filing(item_code, materials, residence=SOUTH_VILLAGE, **extra):
    return {"item_code": item_code, "applicant": applicant(residence), "materials": list(materials),
            "agent": "林代办", **extra}


@pytest.fixture
def station_factory():
    """make(code) -> an InProcessStation on a copy of SAMPLE_CATALOGUE_DB of its own;
    the copies are closed (and dropped, on PostgreSQL) when the test ends."""
    with contextlib.ExitStack() as stack:
        def make(code, now=MONDAY):
            database = stack.enter_context(databases.scratch_databases.database(SAMPLE_CATALOGUE_DB))
            return InProcessStation(code, database, FixedClock(now))
        yield make


@pytest.fixture
def station_url(tmp_path):
    """make(code) -> (InProcessStation, database URL) for a service container: a SQLite
    file, or a scratch PostgreSQL database. The container's engines are disposed at the end."""
    urls = []
    with contextlib.ExitStack() as stack:
        def make(code, now=MONDAY):
            database = stack.enter_context(databases.scratch_databases.database(
                SAMPLE_CATALOGUE_DB, sqlite_file=tmp_path / f"{code}.sqlite3"))
            url = database.url
            urls.append(url)
            return InProcessStation(code, database, FixedClock(now)), url
        yield make
        forget_databases(lambda url: url in urls)


def declare_rpc_exchange(amqp_uri=AMQP_URI):
    """nameko's RPC exchange on the test broker, as the district's services declare it.
    A station's RPC reply queue binds to it without declaring it (services/district_rpc.py),
    so a station service started on a broker no district has run on would retry that
    bind for ever."""
    with Connection(amqp_uri) as connection:
        get_rpc_exchange({"AMQP_URI": amqp_uri})(connection.default_channel).declare()


def service_config(code, url, **extra):
    """A container's configuration for station `code` on the database at `url`. AMQP_URI
    is the test broker's; the services tested in process consume from it only their RPC
    replies (see declare_rpc_exchange)."""
    return {STATION_KEY: code, NETWORK_KEY: str(NETWORK_PATH), DATABASE_KEY: url, "AMQP_URI": AMQP_URI, **extra}
