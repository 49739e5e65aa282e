"""The nameko services the district centre runs."""
from district.case_records import CaseRecordsService
from district.catalogue_master import CatalogueMasterService
from district.gateway import DistrictGatewayService
from district.supervision import SupervisionService
from services.cases.service import CaseInboxService
from services.outbox_sweeper import OutboxSweeperService

SERVICES = [DistrictGatewayService, CatalogueMasterService, CaseRecordsService, CaseInboxService,
            OutboxSweeperService, SupervisionService]
