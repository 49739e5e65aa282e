"""The district's ratings API (district/ratings_api.py) in this process: the real
DistrictGatewayService on the district's database (both databases), its clock a
simulated clock file moved with the test's. A very bad rating given through the API
opens an order at the patrol; the office answers it, the supervisor follows it up; an
appeal annuls another rating and the figures at /api/ratings/stats change; an overdue
order raises its card; refusals are JSON errors with their status."""
import datetime as dt
from types import SimpleNamespace

import pytest
import requests
from kombu import Connection
from nameko.containers import ServiceContainer
from nameko.rpc import get_rpc_exchange

from deploy.drills.harness import free_port
from district.gateway import DistrictGatewayService
from services.config import CLOCK_FILE_KEY, DATABASE_KEY, NETWORK_KEY, STATION_KEY
from shared.auth import roles
from shared.clock import set_simulated_now
from shared.supervision.cards import RECTIFICATION_CARD
from tests.support.inprocess import DISTRICT, MONDAY, NETWORK_PATH, PASSWORD, station_url  # noqa: F401
from tests.test_ratings_desk import completed_case

USERS = ((roles.SUPERVISOR, None, "supervisor"), (roles.REVIEWER, "market_regulation", "market"),
         (roles.REVIEWER, "civil_affairs", "civil"), (roles.WINDOW_CLERK, None, "clerk"),
         (roles.ADMINISTRATOR, None, "admin"))


@pytest.fixture
def api(amqp_uri, station_url, tmp_path):
    station, url = station_url(DISTRICT)
    clock_file = tmp_path / "clock.json"
    set_simulated_now(clock_file, MONDAY)
    tokens = {}
    for role, department, username in USERS:
        tokens[username] = station.add_user(role, department, username=username)[1]
    with Connection(amqp_uri, connect_timeout=5) as connection:
        get_rpc_exchange({})(connection.default_channel).declare()
    port = free_port()
    container = ServiceContainer(DistrictGatewayService, {
        "AMQP_URI": amqp_uri, "WEB_SERVER_ADDRESS": f"127.0.0.1:{port}", STATION_KEY: DISTRICT,
        NETWORK_KEY: str(NETWORK_PATH), DATABASE_KEY: url, CLOCK_FILE_KEY: str(clock_file)})
    container.start()

    def call(method, path, username=None, body=None, **params):
        headers = {"Authorization": f"Bearer {tokens[username]}"} if username else {}
        return requests.request(method, f"http://127.0.0.1:{port}{path}", json=body, params=params,
                                headers=headers, timeout=10)

    def advance(days):
        station.clock.advance(days=days)
        set_simulated_now(clock_file, station.clock.now())

    try:
        yield SimpleNamespace(call=call, station=station, advance=advance)
    finally:
        container.stop()


def ok(response, status=200):
    assert response.status_code == status, response.text
    return response.json()


def refused(response, status, *fragments):
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    error = response.json()
    assert error["error"] and all(f in error["message"] for f in fragments), error
    return error


def test_a_very_bad_rating_through_the_api_is_rectified_followed_up_and_an_appeal_changes_the_figures(api):
    call = api.call
    bad, annulled, good = (completed_case(api.station) for _ in range(3))
    # rated at the counter: a level with reasons, and an old client's score
    rated = ok(call("POST", f"/api/cases/{bad}/rating", "clerk",
                    {"level": "very_dissatisfied", "reasons": ["efficiency"], "comment": "审批太慢"}))
    assert rated["rating"]["score"] == 1 and rated["rating"]["level"] == "very_dissatisfied"
    ok(call("POST", f"/api/cases/{annulled}/rating", "clerk", {"score": 2}))
    ok(call("POST", f"/api/cases/{good}/rating", "clerk", {"score": 5}))
    refused(call("POST", f"/api/cases/{good}/rating", "clerk", {"score": 5}), 409, "already been rated")
    refused(call("POST", f"/api/cases/{bad}/rating", "clerk", {"level": "meh"}), 400, "level")

    patrol = ok(call("POST", "/api/supervision/patrol", "admin"))
    assert sorted(patrol["ratings"]["rectifications"]) == sorted([bad, annulled])

    listed = ok(call("GET", "/api/rectifications", "market"))
    assert listed["total"] == 2 and listed["by_state"]["open"] == 2
    assert {o["due_date"] for o in listed["rectifications"]} == {"2026-03-09"}
    assert ok(call("GET", "/api/rectifications", "civil"))["total"] == 0
    refused(call("GET", "/api/rectifications", "civil", office="market_regulation"), 403)
    refused(call("GET", "/api/rectifications", "supervisor", state="lost"), 400, "state")
    assert call("GET", "/api/rectifications").status_code == 401

    # the office answers, the supervisor calls back and records the resident's rating
    refused(call("POST", f"/api/rectifications/{bad}/action", "civil", {"action": "已整改"}), 403, "market_regulation")
    refused(call("POST", f"/api/rectifications/{bad}/action", "market", {"surprise": 1}), 400, "surprise")
    refused(call("POST", f"/api/rectifications/{bad}/follow-up", "supervisor", {"answer": "认可"}), 409)
    acted = ok(call("POST", f"/api/rectifications/{bad}/action", "market", {"action": "已优化审批流程"}))
    assert acted["rectification"]["state"] == "acted"
    refused(call("POST", f"/api/rectifications/{bad}/follow-up", "market", {"answer": "认可"}), 403)
    closed = ok(call("POST", f"/api/rectifications/{bad}/follow-up", "supervisor",
                     {"answer": "电话回访，群众认可整改", "level": "satisfied"}))
    assert closed["rectification"]["state"] == "closed"
    refused(call("POST", "/api/rectifications/449902-20260302-99999/action", "market", {"action": "已整改"}), 404)

    # an appeal annuls the other bad rating
    appealed = ok(call("POST", f"/api/ratings/{annulled}/appeal", "market", {"reason": "申请人事先声称要给差评"}), 201)
    assert appealed["appeal"]["state"] == "pending"
    refused(call("POST", f"/api/ratings/{annulled}/appeal", "market", {"reason": "再申诉"}), 409, "一次")
    assert ok(call("GET", "/api/rating-appeals", "supervisor", state="pending"))["total"] == 1
    refused(call("POST", f"/api/ratings/{annulled}/appeal/decision", "market", {"decision": "annul"}), 403)
    refused(call("POST", f"/api/ratings/{annulled}/appeal/decision", "supervisor", {"decision": "annul"}), 400,
            "reason")
    before = ok(call("GET", "/api/ratings/stats", "supervisor"))["rows"][-1]
    assert (before["rated"], before["bad_reviews"], before["annulled"]) == (3, 2, 0)
    decided = ok(call("POST", f"/api/ratings/{annulled}/appeal/decision", "supervisor",
                      {"decision": "annul", "reason": "经核实属恶意评价"}))
    assert decided["rating"]["annulled"] and decided["rectification"]["state"] == "cancelled"

    stats = ok(call("GET", "/api/ratings/stats", "supervisor", by="department"))
    after = stats["rows"][-1]
    assert stats["rows"][0]["group"] == "market_regulation" and after["group"] == "total"
    assert (after["rated"], after["bad_reviews"], after["annulled"], after["appeals_annulled"]) == (2, 1, 1, 1)
    assert (after["satisfied_share"], after["rectification_rate"], after["follow_up_rate"]) == (0.5, 1.0, 1.0)
    refused(call("GET", "/api/ratings/stats", "market"), 403)
    refused(call("GET", "/api/ratings/stats", "supervisor", by="weather"), 400, "by")
    history = ok(call("GET", f"/api/ratings/{annulled}", "supervisor"))["history"]
    assert [h["action"] for h in history] == ["rate", "open", "appeal", "annul", "cancel"]
    refused(call("GET", "/api/ratings/449902-20260302-99999", "supervisor"), 404)


def test_an_overdue_order_raises_its_card_once_and_an_unrated_case_turns_default(api):
    call = api.call
    late, unrated = completed_case(api.station), completed_case(api.station)
    ok(call("POST", f"/api/cases/{late}/rating", "clerk", {"level": "dissatisfied", "reasons": ["materials"]}))
    ok(call("POST", "/api/supervision/patrol", "admin"))
    api.advance(8)                                    # Tuesday 03-10: the order was due 03-09
    patrol = ok(call("POST", "/api/supervision/patrol", "admin"))["ratings"]
    assert patrol["cards"] == [late] and patrol["defaults"] == [unrated]
    again = ok(call("POST", "/api/supervision/patrol", "admin"))["ratings"]
    assert again["cards"] == [] and again["defaults"] == []
    cards = ok(call("GET", "/api/supervision/cards", "supervisor", kind=RECTIFICATION_CARD))
    assert cards["total"] == 1 and cards["cards"][0]["department"] == "market_regulation"
    overdue = ok(call("GET", "/api/rectifications", "supervisor"))["rectifications"][0]
    assert overdue["overdue"] and overdue["light"] == "red"
    default = ok(call("GET", f"/api/ratings/{unrated}", "supervisor"))["rating"]
    assert default["label"] == "基本满意（默认）" and default["rated_on"] == "2026-03-09"
    total = ok(call("GET", "/api/ratings/stats", "supervisor", **{"from": "2026-03-01", "to": "2026-03-31"}))["rows"][-1]
    assert (total["rated"], total["defaults"], total["participation"]) == (1, 1, 0.5)
    assert dt.date.fromisoformat(default["rated_on"]) - dt.date(2026, 3, 2) == dt.timedelta(days=7)
