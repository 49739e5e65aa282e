"""The HTTP API every station serves. Handlers parse, delegate and answer JSON."""
from services.cases.desk import CaseDeskProvider
from services.catalogue_access import Catalogue
from services.config import Station
from services.gateway.broker import BrokerProbe
from services.gateway.dead_letters import DeadLetterEndpoints
from services.gateway.openapi import build_spec
from services.gateway.records import DistrictRecords
from services.http import http, json_body, json_response, query_int
from shared.cases import schemas, states
from shared.catalogue.schemas import CATEGORIES, PROCESSING_TYPES
from shared.exceptions import InvalidInput, NotFound
from shared.stations import TIERS


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


class CaseEndpoints:
    """The case API of a station."""

    @http("POST", "/api/cases")
    def file_case(self, request):
        case = self.desk.file(json_body(request))
        return json_response(_case_view(case, self.station.code), 201)

    @http("GET", "/api/cases")
    def list_cases(self, request):
        limit = query_int(request, "limit", 50, 1, 500)
        offset = query_int(request, "offset", 0, 0, 10_000_000)
        scope = _choice(request, "scope", ("held", "filed", "deciding", "all")) or "held"
        status = request.args.get("status")
        if status is not None and status not in states.LABELS:
            raise InvalidInput(f"query parameter 'status': unknown status '{status}'")
        department = request.args.get("department")
        total, cases = self.desk.list(
            status=status, department=department, limit=limit, offset=offset,
            held_here=True if scope == "held" else None,
            filed_here=scope == "filed", deciding_here=scope == "deciding")
        return json_response({"total": total, "limit": limit, "offset": offset,
                              "cases": [schemas.summary(c) for c in cases]})

    @http("GET", "/api/cases/<string:case_no>")
    def get_case(self, request, case_no):
        case = self.desk.get(case_no)
        view = _case_view(case, self.station.code)
        view["history"] = self.desk.history(case_no)
        return json_response(view)

    @http("POST", "/api/cases/<string:case_no>/supplement")
    def supplement_case(self, request, case_no):
        case = self.desk.supplement(case_no, json_body(request))
        return json_response(_case_view(case, self.station.code))

    @http("POST", "/api/cases/<string:case_no>/return")
    def return_case(self, request, case_no):
        return json_response(_case_view(self.desk.return_case(case_no, json_body(request)), self.station.code))

    @http("POST", "/api/cases/<string:case_no>/decisions")
    def decide_case(self, request, case_no):
        return json_response(_case_view(self.desk.decide(case_no, json_body(request)), self.station.code))

    @http("POST", "/api/cases/<string:case_no>/deliver")
    def deliver_case(self, request, case_no):
        return json_response(_case_view(self.desk.deliver(case_no, json_body(request)), self.station.code))

    @http("POST", "/api/cases/<string:case_no>/suspend")
    def suspend_case(self, request, case_no):
        return json_response(_case_view(self.desk.suspend(case_no, json_body(request)), self.station.code))

    @http("POST", "/api/cases/<string:case_no>/extension")
    def request_extension(self, request, case_no):
        return json_response(_case_view(self.desk.request_extension(case_no, json_body(request)),
                                        self.station.code))

    @http("POST", "/api/cases/<string:case_no>/extension/decision")
    def decide_extension(self, request, case_no):
        return json_response(_case_view(self.desk.decide_extension(case_no, json_body(request)),
                                        self.station.code))

    @http("POST", "/api/cases/<string:case_no>/rating")
    def rate_case(self, request, case_no):
        return json_response(_case_view(self.desk.rate(case_no, json_body(request)), self.station.code))

    @http("GET", "/api/alerts")
    def station_alerts(self, request):
        """Warnings and cards the district raised about cases held here."""
        return json_response({"alerts": self.desk.alerts(query_int(request, "limit", 100, 1, 1000))})

    @http("GET", "/api/status")
    def resident_status(self, request):
        case_no = request.args.get("case_no", "")
        last4 = request.args.get("id_last4", "").upper()
        if not case_no or len(last4) != 4:
            raise InvalidInput("give case_no and id_last4 (the last 4 characters of the ID number)")
        case = self.desk.find(case_no)
        if case is None or case["holder_station"] != self.station.code:
            case = self.district_records.lookup(case_no) or case
        if case is None or case["applicant"]["id_number"][-4:] != last4:
            # the same answer for "no such case" and "wrong digits": nothing leaks
            raise NotFound("no case matches this number and these ID digits")
        return json_response(schemas.public_status(case))


def _case_view(case, station_code):
    """The whole case; the ID number is shown in full only where the case is held (the
    counter or office acting on it), masked everywhere else."""
    return case if case["holder_station"] == station_code else schemas.masked(case)


class GatewayService(CatalogueEndpoints, CaseEndpoints, DeadLetterEndpoints):
    name = "gateway"

    station = Station()
    catalogue = Catalogue()
    broker = BrokerProbe()
    desk = CaseDeskProvider()
    district_records = DistrictRecords()
