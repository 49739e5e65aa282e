"""The nameko services the district centre runs."""
from district.catalogue_master import CatalogueMasterService
from district.gateway import DistrictGatewayService
from services.outbox_sweeper import OutboxSweeperService

SERVICES = [DistrictGatewayService, CatalogueMasterService, OutboxSweeperService]
