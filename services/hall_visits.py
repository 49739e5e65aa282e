"""The district's side of the halls' figures: the `hall.visit` messages of every station
(shared/hall/visits.py), kept once each; and the figures /api/stats answers with.

The case inbox (services/cases/service.py) hands a `hall.visit` here. A message that does
not follow the contract, or that a station sends about another station's hall, is
refused (InvalidMessage / NotEntitled: dead-lettered by services/handoff.py with the
reason) and nothing is kept.
"""
from nameko.extensions import DependencyProvider

from services.config import DATABASE_KEY, station_info
from shared.contract import load_message
from shared.db.database import get_database
from shared.db.inbox import first_time
from shared.hall import visits
from shared.trust.entitlement import check_hall_visit


class HallVisitInbox:
    def __init__(self, database, info):
        self.database = database
        self.info = info

    def receive(self, message):
        """Keep the visit a station reports, once: True if kept now, False if this
        message was handled before."""
        message = load_message(message)
        sender, body = message["sender"], message["body"]
        check_hall_visit(sender, self.info.code, body)
        with self.database.transaction() as session:
            if not first_time(session, message["message_id"], message["kind"]):
                return False
            visits.store_visit(session, body)
        return True

    def statistics(self, start=None, end=None, by="none", network=None):
        with self.database.reading() as session:
            return visits.statistics(session, start=start, end=end, by=by, network=network)


class HallVisitInboxProvider(DependencyProvider):
    def setup(self):
        config = self.container.config
        self.inbox = HallVisitInbox(get_database(config[DATABASE_KEY]), station_info(config))

    def get_dependency(self, worker_ctx):
        return self.inbox
