"""Stations of one district in one process, with messages passed by hand instead of a
broker: each station (tests/support/inprocess.py's `InProcessStation`) has its own
database, a CaseDesk and a relay that hands every message it publishes to the network.
`deliver_all()` hands the published messages to their receivers in the order they were
sent, as the broker would, and keeps, for each delivery, the receiver's copy of the case
before and after it.

Used to record the message fixtures of a release (tests/data/messages/) and by the
contract tests that replay them (tests/test_contract.py).
"""
import copy
import datetime as dt
from collections import deque
from dataclasses import dataclass

from shared.catalogue.store import CatalogueStore
from shared.clock import DISTRICT_TZ
from shared.messages import CASES_EXCHANGE, CATALOGUE_EXCHANGE_PREFIX
from tests.support.inprocess import FixedClock, InProcessStation, RecordingRelay

# where the network's clock starts when it is given none: the instant the recorded
# fixtures of tests/data/messages/ start from
CAPTURE_START = dt.datetime(2026, 11, 23, 9, 30, tzinfo=DISTRICT_TZ)


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


class InProcessNetwork:
    def __init__(self, network, databases, clock=None):
        """`databases`: {station code: Database} of the stations that take part."""
        self.network = network
        self.clock = clock or FixedClock(CAPTURE_START)
        self.sent = []
        self.pending = deque()
        self.stations = {code: InProcessStation(code, db, self.clock, RecordingRelay(db, self.publish), network)
                         for code, db in databases.items()}

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
