"""The HTTP API every station serves. Handlers parse, delegate and answer JSON."""
from services.access_audit import AccessAudit
from services.auth import Users
from services.cases.desk import CaseDeskProvider
from services.catalogue_access import Catalogue
from services.config import Station
from services.gateway.broker import BrokerProbe
from services.gateway.bundles import BundleEndpoints
from services.gateway.dead_letters import DeadLetterEndpoints
from services.gateway.hall import HallEndpoints
from services.gateway.metrics import MetricsEndpoints
from services.gateway.my_account import MyAccountEndpoints
from services.gateway.online import OnlineApplicationEndpoints
from services.gateway.openapi import build_spec
from services.gateway.portal_codes import PortalCodeEndpoints
from services.gateway.records import DistrictRecords
from services.gateway.uploads import MaterialFileEndpoints
from services.gateway.residents import ResidentEndpoints
from services.http import http, json_body, json_response, page_of, query_int
from services.web_desk import WebDeskPages
from shared.auth import permissions, roles
from shared.cases import schemas, states, views
from shared.catalogue.schemas import CATEGORIES, PROCESSING_TYPES
from shared.exceptions import InvalidInput
from shared.stations import TIERS

# a search is one LIKE per word: a whole page of words would make the station's database
# scan the catalogue hundreds of times over (a 1,500-word query used to answer 500)
MAX_SEARCH_CHARS = 100
MAX_SEARCH_WORDS = 10


def _choice(request, name, allowed):
    value = request.args.get(name)
    if value is not None and value not in allowed:
        raise InvalidInput(f"query parameter '{name}' must be one of {', '.join(allowed)}")
    return value


class CatalogueEndpoints:
    """The catalogue API of a station, answered from its own copy."""

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

    @http("GET", "/api/openapi.json")
    def openapi(self, request):
        return json_response(build_spec(self.station.is_district))

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
        text = request.args.get("q")
        if text is not None and (len(text) > MAX_SEARCH_CHARS or len(text.split()) > MAX_SEARCH_WORDS):
            raise InvalidInput(f"query parameter 'q' is too long: at most {MAX_SEARCH_CHARS} characters "
                               f"and {MAX_SEARCH_WORDS} words")
        total, items = self.catalogue.search(
            text=text,
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


class AccountEndpoints:
    """Logging in and out, and the station's users (for its administrator)."""

    @http("POST", "/api/login")
    def log_in(self, request):
        body = json_body(request)
        with self.access_audit.login(body.get("username") if isinstance(body, dict) else None) as attempt:
            session = self.users.log_in(body, request)
            attempt.succeeded(session)
        return json_response(session)

    @http("POST", "/api/logout")
    def log_out(self, request):
        self.users.log_out(request)
        return json_response({"logged_out": True})

    @http("GET", "/api/me")
    def who_am_i(self, request):
        return json_response(self.users.user(request))

    @http("GET", "/api/users")
    def list_users(self, request):
        permissions.require(self.users.user(request), "manage_users", roles.ADMINISTRATOR)
        return json_response({"users": self.users.list()})

    @http("POST", "/api/users")
    def add_user(self, request):
        administrator = self.users.user(request)
        with self.access_audit.change(administrator, "add_user"):
            permissions.require(administrator, "manage_users", roles.ADMINISTRATOR)
            added = self.users.add(json_body(request))
        return json_response(added, 201)


class CaseEndpoints:
    """The case API of a station. Every call but the residents' status page needs a
    logged-in user of this station; the case desk checks what their role allows."""

    @http("POST", "/api/cases")
    def file_case(self, request):
        user = self.users.user(request)
        with self.access_audit.change(user, "file") as change:
            case = self.desk.file(json_body(request), user)
            change.case_no = case["case_no"]
        return json_response(self._case_answer(case, user), 201)

    @http("GET", "/api/cases")
    def list_cases(self, request):
        user = self.users.user(request)
        limit = query_int(request, "limit", 50, 1, 500)
        offset = query_int(request, "offset", 0, 0, 10_000_000)
        scope = _choice(request, "scope", ("held", "filed", "deciding", "all")) or "held"
        status = request.args.get("status")
        if status is not None and status not in states.LABELS:
            raise InvalidInput(f"query parameter 'status': unknown status '{status}'")
        department = request.args.get("department")
        total, cases = self.desk.list(
            user, status=status, department=department, limit=limit, offset=offset,
            held_here=True if scope == "held" else None,
            filed_here=scope == "filed", deciding_here=scope == "deciding")
        return json_response({"total": total, "limit": limit, "offset": offset,
                              "cases": [schemas.summary(c) for c in cases]})

    @http("GET", "/api/cases/<string:case_no>")
    def get_case(self, request, case_no):
        user = self.users.user(request)
        view = self._case_answer(self.desk.get(case_no, user), user)
        view["history"] = self.desk.history(case_no, user)
        return json_response(view)

    def _case_answer(self, case, user):
        """The case as this user is shown it (shared/cases/views.py: ID number and phone
        masked unless they act on it here, a full view written to the access audit), with
        `actions`: what they may do with it now (views.ActionsSchema)."""
        here = self.station.code
        return {**views.case_view(case, user, here, self.access_audit.full_view),
                "actions": views.ActionsSchema().dump(views.available_actions(case, user, here))}

    def _act(self, request, operation, case_no):
        user = self.users.user(request)
        with self.access_audit.change(user, operation.__name__, case_no):
            case = operation(case_no, json_body(request), user)
        return json_response(self._case_answer(case, user))

    @http("POST", "/api/cases/<string:case_no>/supplement")
    def supplement_case(self, request, case_no):
        return self._act(request, self.desk.supplement, case_no)

    @http("POST", "/api/cases/<string:case_no>/return")
    def return_case(self, request, case_no):
        return self._act(request, self.desk.return_case, case_no)

    @http("POST", "/api/cases/<string:case_no>/forward")
    def forward_case(self, request, case_no):
        return self._act(request, self.desk.forward, case_no)

    @http("POST", "/api/cases/<string:case_no>/decisions")
    def decide_case(self, request, case_no):
        return self._act(request, self.desk.decide, case_no)

    @http("POST", "/api/cases/<string:case_no>/deliver")
    def deliver_case(self, request, case_no):
        return self._act(request, self.desk.deliver, case_no)

    @http("POST", "/api/cases/<string:case_no>/suspend")
    def suspend_case(self, request, case_no):
        return self._act(request, self.desk.suspend, case_no)

    @http("POST", "/api/cases/<string:case_no>/extension")
    def request_extension(self, request, case_no):
        return self._act(request, self.desk.request_extension, case_no)

    @http("POST", "/api/cases/<string:case_no>/extension/decision")
    def decide_extension(self, request, case_no):
        return self._act(request, self.desk.decide_extension, case_no)

    @http("POST", "/api/cases/<string:case_no>/rating")
    def rate_case(self, request, case_no):
        return self._act(request, self.desk.rate, case_no)

    @http("GET", "/api/alerts")
    def station_alerts(self, request):
        """Warnings and cards the district raised about cases held here."""
        self.users.user(request)
        limit, offset = page_of(request)
        total, alerts = self.desk.alerts(limit, offset)
        return json_response({"total": total, "limit": limit, "offset": offset, "alerts": alerts})


class GatewayService(CatalogueEndpoints, BundleEndpoints, AccountEndpoints, MyAccountEndpoints, CaseEndpoints, ResidentEndpoints,
                     HallEndpoints, PortalCodeEndpoints, OnlineApplicationEndpoints, DeadLetterEndpoints, MetricsEndpoints, MaterialFileEndpoints,
                     WebDeskPages):
    name = "gateway"

    users = Users()
    access_audit = AccessAudit()
    station = Station()
    catalogue = Catalogue()
    broker = BrokerProbe()
    desk = CaseDeskProvider()
    district_records = DistrictRecords()
