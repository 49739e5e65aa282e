"""The HTTP API every station serves. Handlers parse, delegate and answer JSON."""
from services.catalogue_access import Catalogue
from services.config import Station
from services.gateway.broker import BrokerProbe
from services.http import http, json_response, query_int
from shared.catalogue.schemas import PROCESSING_TYPES, CATEGORIES
from shared.exceptions import InvalidInput
from shared.stations import TIERS


def _choice(request, name, allowed):
    value = request.args.get(name)
    if value is not None and value not in allowed:
        raise InvalidInput(f"query parameter '{name}' must be one of {', '.join(allowed)}")
    return value


class GatewayService:
    name = "gateway"

    station = Station()
    catalogue = Catalogue()
    broker = BrokerProbe()

    @http("GET", "/api/health")
    def health(self, request):
        summary = self.catalogue.summary()
        return json_response({
            "station": self.station.code,
            "name": self.station.station.name,
            "tier": self.station.tier,
            "catalogue_version": summary["version"],
            "catalogue_hash": summary["content_hash"],
            "broker_connected": self.broker.connected(),
        })

    @http("GET", "/api/catalogue")
    def catalogue_summary(self, request):
        return json_response(self.catalogue.summary())

    @http("GET", "/api/items")
    def search_items(self, request):
        limit = query_int(request, "limit", 50, 1, 500)
        offset = query_int(request, "offset", 0, 0, 1_000_000)
        department = request.args.get("department")
        if department is not None and department not in self.station.network.departments:
            raise InvalidInput(f"unknown department '{department}'")
        total, items = self.catalogue.search(
            text=request.args.get("q"),
            department=department,
            category=_choice(request, "category", CATEGORIES),
            processing_type=_choice(request, "processing_type", PROCESSING_TYPES),
            authority_tier=_choice(request, "tier", TIERS),
            include_retired=request.args.get("include_retired") in ("1", "true", "yes"),
            limit=limit, offset=offset)
        return json_response({"total": total, "limit": limit, "offset": offset, "items": items})

    @http("GET", "/api/items/<string:code>")
    def get_item(self, request, code):
        return json_response(self.catalogue.get(code))
