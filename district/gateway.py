"""The district's HTTP API: every station's endpoints plus catalogue editing."""
from contextlib import contextmanager

from district.admin_pages import CatalogueAdminPages
from district.assessment_desk import AssessmentEndpoints
from district.audit_desk import AuditEndpoints
from district.catalogue_editing import CatalogueEditing
from district.ratings_api import RatingEndpoints
from district.supervision_cards import CardEndpoints
from district.supervision_pages import SupervisionPages
from district.supervision_desk import Supervision
from services.gateway.bundles import BundleEditingEndpoints
from services.gateway.service import GatewayService
from services.hall_visits import HallVisitInboxProvider
from services.http import http, json_body, json_response, page_of, query_date
from shared.auth import permissions
from shared.auth.roles import signed
from shared.exceptions import InvalidInput
from shared.hall.waiting import HALL_GROUPINGS
from shared.supervision.statistics import GROUPINGS


class DistrictGatewayService(SupervisionPages, CardEndpoints, RatingEndpoints, AssessmentEndpoints, AuditEndpoints,
                             CatalogueAdminPages, BundleEditingEndpoints, GatewayService):
    name = "district_gateway"

    catalogue_desk = CatalogueEditing()
    supervision = Supervision()
    hall_visits = HallVisitInboxProvider()

    @contextmanager
    def _catalogue_change(self, request, action):
        """Only administrators edit the catalogue: yields the editor's signature, which
        the change records; the access audit records the attempt, made or refused."""
        user = self.users.user(request)
        with self.access_audit.change(user, action):
            permissions.can_edit_catalogue(user)
            yield signed(user)

    def _supervisor(self, request):
        user = self.users.user(request)
        permissions.can_supervise(user)
        return user

    @http("POST", "/api/catalogue/items")
    def add_item(self, request):
        with self._catalogue_change(request, "add_item") as editor:
            added = self.catalogue_desk.add(json_body(request), editor)
        return json_response(added, 201)

    @http("PATCH", "/api/catalogue/items/<string:code>")
    def edit_item(self, request, code):
        with self._catalogue_change(request, "edit_item") as editor:
            return json_response(self.catalogue_desk.edit(code, json_body(request), editor))

    @http("POST", "/api/catalogue/items/<string:code>/delegate")
    def delegate_item(self, request, code):
        with self._catalogue_change(request, "delegate_item") as editor:
            return json_response(self.catalogue_desk.delegate(code, json_body(request), editor))

    @http("POST", "/api/catalogue/items/<string:code>/retire")
    def retire_item(self, request, code):
        with self._catalogue_change(request, "retire_item") as editor:
            return json_response(self.catalogue_desk.retire(code, editor))

    @http("POST", "/api/catalogue/calendar")
    def publish_schedule(self, request):
        with self._catalogue_change(request, "publish_calendar") as editor:
            published = self.catalogue_desk.publish_schedule(json_body(request), editor)
        return json_response(published, 201)

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
        user = self.users.user(request)
        with self.access_audit.change(user, "run_patrol"):
            permissions.can_patrol(user)
            raised = self.supervision.patrol()
            ratings = self.ratings.patrol()  # the ratings' step (district/ratings.py)
        return json_response({"raised": raised, "ratings": ratings})

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
        with self.access_audit.change(user, "answer_follow_up", case_no):
            permissions.can_answer_follow_ups(user)
            answered = self.supervision.answer_follow_up(case_no, json_body(request), user)
        return json_response(answered)

    @http("GET", "/api/stats")
    def statistics(self, request):
        self._supervisor(request)
        by = request.args.get("by", "none")
        if by not in GROUPINGS:
            raise InvalidInput(f"query parameter 'by' must be one of {', '.join(GROUPINGS)}")
        start, end = query_date(request, "from"), query_date(request, "to")
        rows = self.supervision.statistics(start, end, by, self.station.network)
        # the service halls' figures of the same days (shared/hall/waiting.py), grouped by
        # `hall_by`: as `by` when the halls know that grouping, else the district's totals
        hall_by = request.args.get("hall_by", by if by in HALL_GROUPINGS else "none")
        if hall_by not in HALL_GROUPINGS:
            raise InvalidInput(f"query parameter 'hall_by' must be one of {', '.join(HALL_GROUPINGS)}")
        hall = self.hall_visits.statistics(start, end, hall_by, self.station.network)
        return json_response({"by": by, "from": start, "to": end, "rows": rows, "hall_by": hall_by, "hall": hall})


