"""Every station's case inbox: hand-offs, supplements and (at the district) records, the
stations' access-audit copies and their halls' visits, the files of cases' materials, and
online applications made at another station's portal for this counter."""
from services import online_applications
from services.access_audit import AuditInboxProvider
from services.cases.desk import CaseDeskProvider
from services.hall_visits import HallVisitInboxProvider
from services.handoff import handoff
from services.topology import station_inbox
from services.uploads import MaterialFilesProvider
from shared.contract import CASE_ONLINE_APPLICATION
from shared.messages import AUDIT_COPY, CASE_FILE, CASE_FILE_REQUEST, HALL_VISIT


class CaseInboxService:
    name = "case_inbox"

    desk = CaseDeskProvider()
    audit_inbox = AuditInboxProvider()
    hall_visits = HallVisitInboxProvider()
    material_files = MaterialFilesProvider()

    @handoff(queue_for_station=station_inbox)
    def on_message(self, message):
        if message.get("kind") == AUDIT_COPY:
            self.audit_inbox.receive(message)
        elif message.get("kind") == HALL_VISIT:
            self.hall_visits.receive(message)
        elif message.get("kind") in (CASE_FILE, CASE_FILE_REQUEST):
            self.material_files.receive(message)
        elif message.get("kind") == CASE_ONLINE_APPLICATION:
            online_applications.receive(self.desk, message)
        else:
            self.desk.receive(message)
