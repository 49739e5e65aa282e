"""Every station's case inbox: hand-offs, supplements and (at the district) records, the
stations' access-audit copies and their halls' visits."""
from services.access_audit import AuditInboxProvider
from services.cases.desk import CaseDeskProvider
from services.hall_visits import HallVisitInboxProvider
from services.handoff import handoff
from services.topology import station_inbox
from shared.messages import AUDIT_COPY, HALL_VISIT


class CaseInboxService:
    name = "case_inbox"

    desk = CaseDeskProvider()
    audit_inbox = AuditInboxProvider()
    hall_visits = HallVisitInboxProvider()

    @handoff(queue_for_station=station_inbox)
    def on_message(self, message):
        if message.get("kind") == AUDIT_COPY:
            self.audit_inbox.receive(message)
        elif message.get("kind") == HALL_VISIT:
            self.hall_visits.receive(message)
        else:
            self.desk.receive(message)
