"""A station's HTTP gateway (services/gateway/service.py) in one process: nameko's
`container_factory` runs the real service on a free port (`web_session`), on the
station's own database; `replace_dependencies` puts in the case desk with a recording
relay and removes the district's RPC lookup (the one dependency that would consume from
RabbitMQ; the residents' lookup across stations stays in tests/test_resident_lookups.py).
Covers the API's answers that need no other station: filing, refusals as JSON
{error, message}, and bad input on every case route."""
import pytest
from nameko.testing.services import replace_dependencies

from services.gateway.service import GatewayService
from shared.auth import roles
from shared.messages import CASE_HANDOVER
from tests.support.inprocess import (  # noqa: F401 (station_url is a fixture)
    DISTRICT, SOUTH, SOUTH_VILLAGE, applicant, declare_rpc_exchange, filing, service_config, station_url,
)

ALL_MZ_002 = ["M01", "M02", "M03", "M04", "M05"]


@pytest.fixture
def gateway(container_factory, web_config, station_url):
    """start(code) -> (InProcessStation, its running gateway container)."""
    declare_rpc_exchange()  # the district's services would have: its reply queue binds to it

    def start(code):
        station, url = station_url(code)
        container = container_factory(GatewayService, service_config(code, url, **web_config))
        replace_dependencies(container, "district_records", desk=station.desk)
        container.start()
        return station
    return start


class Client:
    def __init__(self, web_session, token=None):
        self.web, self.token = web_session, token

    def __call__(self, method, path, body=None, headers=None, **kwargs):
        headers = {**({"Authorization": f"Bearer {self.token}"} if self.token else {}), **(headers or {})}
        return self.web.request(method, path, json=body, headers=headers, timeout=10, **kwargs)


@pytest.fixture
def village(gateway, web_session):
    """(station, the agent's client) of a village whose agent is logged in."""
    station = gateway(SOUTH_VILLAGE)
    _, token = station.add_user(roles.VILLAGE_AGENT, username="agent")
    return station, Client(web_session, token)


def assert_json_error(response, status, *fragments):
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    error = response.json()
    assert set(error) >= {"error", "message"} and error["error"], error
    for fragment in fragments:
        assert fragment in error["message"], error


def test_a_filing_is_answered_201_with_the_case_and_its_hand_off_is_sent(village):
    station, api = village
    response = api("POST", "/api/cases", filing("MZ-002", ALL_MZ_002))
    assert response.status_code == 201, response.text
    case = response.json()
    assert case["status"] == "forwarded" and case["query_code"] and "query_code_hash" not in case
    assert [m["to"] for m in station.relay.of_kind(CASE_HANDOVER)] == [SOUTH]
    again = api("GET", f"/api/cases/{case['case_no']}").json()
    assert again["case_no"] == case["case_no"] and [h["action"] for h in again["history"]] == ["file", "forward"]


@pytest.mark.parametrize("change,status,fragment", [
    ({"item_code": "XX-999"}, 404, "XX-999"),
    ({"applicant": {"id_number": "449902196203140000"}}, 400, "check digit"),
    ({"materials": ["M01", "M77"]}, 400, "M77"),
    ({"surprise": 1}, 400, "surprise"),
    ({"agent": "林\x00代办"}, 400, "NUL"),
    ({"request_id": "x y"}, 400, "request_id"),
])
def test_a_bad_filing_is_a_json_error_naming_the_field_and_nothing_is_stored(village, change, status, fragment):
    station, api = village
    request = filing("MZ-002", ["M01"])
    for key, value in change.items():
        request[key] = {**request[key], **value} if isinstance(value, dict) and key in request else value
    assert_json_error(api("POST", "/api/cases", request), status)
    assert fragment.lower() in api("POST", "/api/cases", request).json()["message"].lower()
    assert api("GET", "/api/cases", params={"scope": "all"}).json()["total"] == 0
    assert station.outbox_count() == 0


def test_a_request_id_reused_for_another_filing_is_422(village):
    _, api = village
    body = filing("MZ-002", ALL_MZ_002, request_id="counter-5b1e-reused")
    first = api("POST", "/api/cases", body).json()
    assert api("POST", "/api/cases", body).json()["case_no"] == first["case_no"]
    assert_json_error(api("POST", "/api/cases", {**body, "applicant": applicant()}), 422, "counter-5b1e-reused")
    assert api("GET", "/api/cases", params={"scope": "all"}).json()["total"] == 1


def test_without_a_session_or_with_the_wrong_role_the_answer_is_a_json_refusal(gateway, web_session):
    district = gateway(DISTRICT)
    _, reviewer = district.add_user(roles.REVIEWER, "civil_affairs")
    _, clerk = district.add_user(roles.WINDOW_CLERK, username="clerk")
    assert_json_error(Client(web_session)("POST", "/api/cases", filing("MZ-002", ALL_MZ_002)), 401)
    assert_json_error(Client(web_session, "not-a-token")("GET", "/api/cases"), 401)
    assert_json_error(Client(web_session, reviewer)("POST", "/api/cases", filing("MZ-002", ALL_MZ_002)), 403, "不能受理办件")
    assert_json_error(Client(web_session, clerk)("GET", "/api/users"), 403, "不能管理用户")
    case = Client(web_session, clerk)("POST", "/api/cases", filing("SJ-001", ["M01", "M02", "M03"])).json()
    assert_json_error(Client(web_session, reviewer)("GET", f"/api/cases/{case['case_no']}"), 403, "只能查看本部门的办件")
    assert_json_error(Client(web_session, reviewer)(
        "POST", f"/api/cases/{case['case_no']}/decisions",
        {"step": "review", "outcome": "pass", "department": "market_regulation"}), 403, "本部门")


CASE_ROUTES = ["supplement", "return", "forward", "decisions", "deliver", "suspend", "extension",
               "extension/decision", "rating"]
# what a village agent is refused with before any case is looked up (their role), or a
# body that asks for nothing (delivery) meeting an unknown case
REFUSED_FIRST = {"forward": 403, "extension/decision": 403, "deliver": 404}


@pytest.mark.parametrize("route", CASE_ROUTES)
def test_bad_input_on_every_case_route_is_a_json_4xx(village, route):
    station, api = village
    case = api("POST", "/api/cases", filing("SJ-001", ["M01"])).json()
    path = f"/api/cases/{case['case_no']}/{route}"
    revision = station.desk.get(case["case_no"], station.user(roles.VILLAGE_AGENT, username="agent"))["revision"]
    assert_json_error(api("POST", path, {"surprise": 1}), 400 if route not in ("forward", "extension/decision")
                      else 403)
    assert_json_error(api("POST", path), 400, "JSON body")
    assert_json_error(api("POST", path, data="not json", headers={"Content-Type": "text/plain"}), 415)
    assert_json_error(api("POST", path, data="[1, 2", headers={"Content-Type": "application/json"}), 400)
    assert_json_error(api("POST", f"/api/cases/449902001201-20260302-99999/{route}", {}),
                      REFUSED_FIRST.get(route, 400))
    after = station.desk.get(case["case_no"], station.user(roles.VILLAGE_AGENT, username="agent"))
    assert after["revision"] == revision


@pytest.mark.parametrize("path", [
    "/api/cases?limit=0", "/api/cases?limit=abc", "/api/cases?scope=everything", "/api/cases?status=flying",
    "/api/items?category=nonsense", "/api/items?department=no_such", "/api/items?q=" + "词 " * 20,
    "/api/items?q=%E4%BD%8E%00", "/api/alerts?offset=-1",
])
def test_bad_query_parameters_are_a_json_400(village, path):
    _, api = village
    assert_json_error(api("GET", path), 400)


def test_unknown_addresses_and_methods_answer_json(village):
    _, api = village
    assert_json_error(api("GET", "/api/no-such-thing"), 404, "/api/no-such-thing")
    assert_json_error(api("GET", "/api/items/XX-999"), 404, "XX-999")
    assert_json_error(api("GET", "/api/cases/449902001201-20260302-99999"), 404)
    wrong = api("DELETE", "/api/cases")
    assert_json_error(wrong, 405, "DELETE")
    assert "POST" in wrong.headers["Allow"]
