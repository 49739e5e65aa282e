"""The nameko services a village station runs."""
from services.cases.service import CaseInboxService
from services.catalogue_replica import CatalogueReplicaService
from services.gateway.service import GatewayService
from services.outbox_sweeper import OutboxSweeperService

SERVICES = [GatewayService, CatalogueReplicaService, CaseInboxService, OutboxSweeperService]
