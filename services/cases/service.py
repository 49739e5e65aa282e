"""Every station's case inbox: hand-offs, supplements and (at the district) records and
the stations' access-audit copies."""
from services.access_audit import AuditInboxProvider
from services.cases.desk import CaseDeskProvider
from services.handoff import handoff
from services.topology import station_inbox
from shared.messages import AUDIT_COPY


class CaseInboxService:
    name = "case_inbox"

    desk = CaseDeskProvider()
    audit_inbox = AuditInboxProvider()

    @handoff(queue_for_station=station_inbox)
    def on_message(self, message):
        if message.get("kind") == AUDIT_COPY:
            self.audit_inbox.receive(message)
        else:
            self.desk.receive(message)
