"""The district's HTTP API: every station's endpoints plus catalogue editing."""

from district.audit_desk import AuditEndpoints
from district.catalogue_editing import CatalogueEditing
from district.supervision_desk import Supervision
from services.gateway.service import GatewayService
from services.http import http, json_body, json_response, page_of, query_date
from shared.auth import permissions
from shared.auth.roles import signed
from shared.exceptions import InvalidInput
from shared.supervision.statistics import GROUPINGS




class DistrictGatewayService(AuditEndpoints, GatewayService):
    name = "district_gateway"

    catalogue_desk = CatalogueEditing()
    supervision = Supervision()

    def _editor(self, request):
        """Only administrators edit the catalogue; the change records who did."""
        user = self.users.user(request)
        permissions.can_edit_catalogue(user)
        return signed(user)

    def _supervisor(self, request):
        user = self.users.user(request)
        permissions.can_supervise(user)
        return user

    @http("POST", "/api/catalogue/items")
    def add_item(self, request):
        editor = self._editor(request)
        return json_response(self.catalogue_desk.add(json_body(request), editor), 201)

    @http("PATCH", "/api/catalogue/items/<string:code>")
    def edit_item(self, request, code):
        editor = self._editor(request)
        return json_response(self.catalogue_desk.edit(code, json_body(request), editor))

    @http("POST", "/api/catalogue/items/<string:code>/delegate")
    def delegate_item(self, request, code):
        editor = self._editor(request)
        return json_response(self.catalogue_desk.delegate(code, json_body(request), editor))

    @http("POST", "/api/catalogue/items/<string:code>/retire")
    def retire_item(self, request, code):
        return json_response(self.catalogue_desk.retire(code, self._editor(request)))

    @http("POST", "/api/catalogue/calendar")
    def publish_schedule(self, request):
        editor = self._editor(request)
        return json_response(self.catalogue_desk.publish_schedule(json_body(request), editor), 201)

    # -- supervision (电子监察) ------------------------------------------------------------
    @http("GET", "/api/supervision/lights")
    def deadline_lights(self, request):
        self._supervisor(request)
        limit, offset = page_of(request)
        total, rows = self.supervision.lights_page(request.args.get("light"), limit, offset)
        return json_response({"total": total, "limit": limit, "offset": offset, "cases": rows})

    @http("POST", "/api/supervision/patrol")
    def patrol_now(self, request):
        """Run the deadline patrol now (it also runs on its own timer): administrators only,
        since it raises warnings and cards; the supervisor reads and changes nothing."""
        permissions.can_patrol(self.users.user(request))
        return json_response({"raised": self.supervision.patrol()})

    @http("GET", "/api/supervision/alerts")
    def supervision_alerts(self, request):
        self._supervisor(request)
        limit, offset = page_of(request)
        total, alerts = self.supervision.alerts_page(request.args.get("kind"), request.args.get("department"),
                                                     limit, offset)
        return json_response({"total": total, "limit": limit, "offset": offset, "alerts": alerts})

    @http("GET", "/api/follow-ups")
    def follow_ups(self, request):
        """Supervisors see every follow-up; a department's reviewers and approvers theirs."""
        user = self.users.user(request)
        department = permissions.list_department(user)
        if department is None:
            permissions.can_supervise(user)
        limit, offset = page_of(request)
        total, found = self.supervision.follow_ups(department, limit, offset)
        return json_response({"total": total, "limit": limit, "offset": offset, "follow_ups": found})

    @http("POST", "/api/follow-ups/<string:case_no>")
    def answer_follow_up(self, request, case_no):
        user = self.users.user(request)
        permissions.can_answer_follow_ups(user)
        return json_response(self.supervision.answer_follow_up(case_no, json_body(request), user))

    @http("GET", "/api/stats")
    def statistics(self, request):
        self._supervisor(request)
        by = request.args.get("by", "none")
        if by not in GROUPINGS:
            raise InvalidInput(f"query parameter 'by' must be one of {', '.join(GROUPINGS)}")
        start, end = query_date(request, "from"), query_date(request, "to")
        rows = self.supervision.statistics(start, end, by, self.station.network)
        return json_response({"by": by, "from": start, "to": end, "rows": rows})


