"""Stations of one district in one process, with messages passed by hand instead of a
broker: each station has its own database, a CaseDesk and a relay that records every
message it publishes. `deliver_all()` hands the recorded messages to their receivers in
the order they were sent, as the broker would, and keeps, for each delivery, the
receiver's copy of the case before and after it.

Used to record the message fixtures of a release (tests/data/messages/) and by the
contract tests that replay them (tests/test_contract.py).
"""
import copy
import datetime as dt
from collections import deque
from dataclasses import dataclass

from services.access_audit import AuditInbox
from services.cases.desk import CaseDesk
from services.config import StationInfo
from shared.cases.store import CaseRepository
from shared.catalogue.store import CatalogueStore
from shared.clock import DISTRICT_TZ
from shared.db import outbox
from shared.messages import AUDIT_COPY, CASES_EXCHANGE, CATALOGUE_EXCHANGE_PREFIX


class FixedClock:
    """The district's clock, moved by hand."""

    def __init__(self, when=dt.datetime(2026, 11, 23, 9, 30, tzinfo=DISTRICT_TZ)):
        self.when = when

    def now(self):
        return self.when

    def today(self):
        return self.when.date()

    def advance(self, **delta):
        self.when += dt.timedelta(**delta)


@dataclass
class Sent:
    """One published message, and what its delivery did at the receiver."""
    exchange: str
    routing_key: str
    message: dict
    receiver: str = None
    case_before: dict = None
    case_after: dict = None
    delivered_at: str = None


class RecordingRelay:
    """A station's relay: publishing is recording (and marking the outbox rows sent)."""

    def __init__(self, database, station_code, network):
        self.database = database
        self.station_code = station_code
        self.network = network

    def flush(self, message_ids=None, older_than_seconds=None):
        with self.database.transaction() as session:
            rows = outbox.unsent(session, message_ids)
            for row in rows:
                self.network.publish(row.exchange, row.routing_key, row.body)
            outbox.mark_sent(session, [row.message_id for row in rows])
        return len(rows)


class InProcessStation:
    def __init__(self, code, network, database):
        self.code = code
        self.network = network
        self.database = database
        self.info = StationInfo(network.network.station(code), network.network)
        self.relay = RecordingRelay(database, code, network)
        self.desk = CaseDesk(database, self.relay, self.info, network.clock.now)
        self.audit_inbox = AuditInbox(database, self.info)

    def case(self, case_no):
        with self.database.reading() as session:
            return CaseRepository(session, self.code).find(case_no)

    def receive(self, message):
        """As the station's inbox service does (services/cases/service.py)."""
        if message.get("kind") == AUDIT_COPY:
            return self.audit_inbox.receive(message)
        return self.desk.receive(message)


class InProcessNetwork:
    def __init__(self, network, databases, clock=None):
        """`databases`: {station code: Database} of the stations that take part."""
        self.network = network
        self.clock = clock or FixedClock()
        self.sent = []
        self.pending = deque()
        self.stations = {code: InProcessStation(code, self, db) for code, db in databases.items()}

    def __getitem__(self, code):
        return self.stations[code]

    def publish(self, exchange, routing_key, message):
        sent = Sent(exchange, routing_key, copy.deepcopy(message))
        self.sent.append(sent)
        self.pending.append(sent)

    def deliver_all(self):
        """Deliver every pending message (and those their delivery sends), in order."""
        while self.pending:
            sent = self.pending.popleft()
            if sent.exchange == CASES_EXCHANGE:
                self._deliver_case_message(sent)
            elif sent.exchange.startswith(CATALOGUE_EXCHANGE_PREFIX):
                for station in self.stations.values():
                    if not station.info.is_district:
                        with station.database.transaction() as session:
                            CatalogueStore(session).apply(copy.deepcopy(sent.message["body"]))

    def _deliver_case_message(self, sent):
        station = self.stations.get(sent.routing_key)
        if station is None:
            return
        sent.receiver = station.code
        sent.delivered_at = self.clock.now().isoformat()
        case_no = case_no_of(sent.message)
        if case_no:
            sent.case_before = station.case(case_no)
        station.receive(copy.deepcopy(sent.message))  # a receiver may change what it is given
        if case_no:
            sent.case_after = station.case(case_no)


def case_no_of(message):
    body = message.get("body") or {}
    if isinstance(body.get("case"), dict):
        return body["case"].get("case_no")
    return body.get("case_no")
