"""The district's HTTP API: every station's endpoints plus catalogue editing."""
from district.catalogue_editing import CatalogueEditing
from services.gateway.service import GatewayService
from services.http import http, json_body, json_response


def _operator(request):
    return request.headers.get("X-Tongban-User", "")


class DistrictGatewayService(GatewayService):
    name = "district_gateway"

    catalogue_desk = CatalogueEditing()

    @http("POST", "/api/catalogue/items")
    def add_item(self, request):
        change = self.catalogue_desk.add(json_body(request), _operator(request))
        return json_response(change, 201)

    @http("PATCH", "/api/catalogue/items/<string:code>")
    def edit_item(self, request, code):
        return json_response(self.catalogue_desk.edit(code, json_body(request), _operator(request)))

    @http("POST", "/api/catalogue/items/<string:code>/delegate")
    def delegate_item(self, request, code):
        return json_response(self.catalogue_desk.delegate(code, json_body(request), _operator(request)))

    @http("POST", "/api/catalogue/items/<string:code>/retire")
    def retire_item(self, request, code):
        return json_response(self.catalogue_desk.retire(code, _operator(request)))

    @http("POST", "/api/catalogue/calendar")
    def publish_schedule(self, request):
        return json_response(self.catalogue_desk.publish_schedule(json_body(request), _operator(request)), 201)
