"""Every station's case inbox: hand-offs, supplements and (at the district) records."""
from services.cases.desk import CaseDeskProvider
from services.handoff import handoff
from services.topology import station_inbox


class CaseInboxService:
    name = "case_inbox"

    desk = CaseDeskProvider()

    @handoff(queue_for_station=station_inbox)
    def on_message(self, message):
        self.desk.receive(message)
