"""一件事 bundles over HTTP (services/gateway/bundles.py), in this process on both databases:
the real DistrictGatewayService on the district's database and a village's
GatewayService on its own. The administrator adds, edits (PUT, a new version) and
retires bundles at the district; a bad bundle answers 400 naming each bad field and the
catalogue version is unchanged; anyone else is refused 403; the village answers
GET /api/bundles and /api/bundles/<code> from its replica once it applied the district's
changes (as its sync does)."""
from types import SimpleNamespace

import pytest
import requests
from kombu import Connection
from nameko.containers import ServiceContainer
from nameko.rpc import get_rpc_exchange

from deploy.drills.harness import free_port
from deploy.seeding import load_bundles_file
from deploy.settings import SAMPLE_CATALOGUE
from district.gateway import DistrictGatewayService
from services.config import DATABASE_KEY, NETWORK_KEY, STATION_KEY
from services.gateway.service import GatewayService
from services.topology import declare_network
from shared.auth import roles
from shared.catalogue.store import CatalogueStore
from shared.stations import Network
from tests.support.inprocess import DISTRICT, NETWORK_PATH, SOUTH_VILLAGE, station_url  # noqa: F401

SAMPLE = {b["code"]: b for b in load_bundles_file(SAMPLE_CATALOGUE)}
USERS = ((roles.ADMINISTRATOR, None, "admin"), (roles.SUPERVISOR, None, "supervisor"),
         (roles.WINDOW_CLERK, None, "clerk"), (roles.REVIEWER, "market_regulation", "market"))


def start(service, code, url, amqp_uri):
    port = free_port()
    container = ServiceContainer(service, {
        "AMQP_URI": amqp_uri, "WEB_SERVER_ADDRESS": f"127.0.0.1:{port}", STATION_KEY: code,
        NETWORK_KEY: str(NETWORK_PATH), DATABASE_KEY: url})
    container.start()
    return container, f"http://127.0.0.1:{port}"


@pytest.fixture
def api(amqp_uri, station_url):
    declare_network(amqp_uri, Network.load(str(NETWORK_PATH)))  # the catalogue's exchange, for the relay
    with Connection(amqp_uri, connect_timeout=5) as connection:
        get_rpc_exchange({})(connection.default_channel).declare()
    district, district_url = station_url(DISTRICT)
    village, village_url = station_url(SOUTH_VILLAGE)
    tokens = {username: district.add_user(role, department, username=username)[1]
              for role, department, username in USERS}
    containers = [start(DistrictGatewayService, DISTRICT, district_url, amqp_uri),
                  start(GatewayService, SOUTH_VILLAGE, village_url, amqp_uri)]
    urls = {"district": containers[0][1], "village": containers[1][1]}

    def call(method, path, username=None, body=None, at="district", **params):
        headers = {"Authorization": f"Bearer {tokens[username]}"} if username else {}
        return requests.request(method, urls[at] + path, json=body, params=params, headers=headers, timeout=10)

    def version(station=district):
        with station.database.reading() as session:
            return CatalogueStore(session).version()

    def sync():
        """What the village's catalogue sync does: apply what the district has beyond it."""
        with district.database.reading() as session:
            changes = CatalogueStore(session).changes_since(version(village))
        with village.database.transaction() as session:
            store = CatalogueStore(session)
            return sum(store.apply(change) for change in changes)

    try:
        yield SimpleNamespace(call=call, version=version, sync=sync, district=district, village=village)
    finally:
        for container, _ in containers:
            container.stop()


def ok(response, status=200):
    assert response.status_code == status, response.text
    return response.json()


def refused(response, status):
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    error = response.json()
    assert error["error"] and error["message"], error
    return error


def test_the_administrator_adds_edits_and_retires_and_the_village_answers_from_its_replica(api):
    call = api.call
    start_version = api.version()
    added = ok(call("POST", "/api/bundles", "admin", SAMPLE["B001"]), 201)
    assert (added["kind"], added["item_code"], added["version"]) == ("bundle", "B001", start_version + 1)
    assert added["made_by"] and added["payload"]["status"] == "active"
    ok(call("POST", "/api/bundles", "admin", SAMPLE["B002"]), 201)
    edited = ok(call("PUT", "/api/bundles/B001", "admin", dict(SAMPLE["B001"], promised_limit_days=4)))
    assert edited["version"] == start_version + 3 and edited["payload"]["promised_limit_days"] == 4

    # the village has not synced yet: no bundles; then the district's changes, as they are
    assert ok(call("GET", "/api/bundles", at="village")) == {"total": 0, "bundles": []}
    assert api.sync() == 3
    listed = ok(call("GET", "/api/bundles", at="village"))
    assert [b["code"] for b in listed["bundles"]] == ["B001", "B002"]
    assert listed["bundles"] == ok(call("GET", "/api/bundles"))["bundles"]
    # B001 (district and township only) is not offered at a village counter
    assert ok(call("GET", "/api/bundles", at="village", tier="village"))["total"] == 0

    shown = ok(call("GET", "/api/bundles/B001", at="village"))
    assert shown["name"] == "我要开餐馆" and shown["promised_limit_days"] == 4 and shown["version"] == start_version + 3
    assert shown["selected"] == ["SJ-005", "SJ-002", "ZJ-008", "ZJ-002", "HJ-002"]
    licence = next(m for m in shown["merged_materials"] if m["key"] == "business_licence")
    assert licence["items"] == ["SJ-002", "ZJ-008", "ZJ-002"]
    assert {d["code"]: d["conditional"] for d in shown["item_details"]}["ZJ-008"] is True
    answered = ok(call("GET", "/api/bundles/B001", at="village", yes="Q1"))
    assert answered["selected"] == ["SJ-005", "SJ-002", "ZJ-008"]
    assert next(m for m in answered["merged_materials"] if m["key"] == "business_licence")["items"] == \
        ["SJ-002", "ZJ-008"]
    assert "Q9" in refused(call("GET", "/api/bundles/B001", at="village", yes="Q1,Q9"), 400)["message"]
    refused(call("GET", "/api/bundles/B404", at="village"), 404)
    refused(call("GET", "/api/bundles", at="village", tier="province"), 400)

    retired = ok(call("POST", "/api/bundles/B002/retire", "admin"))
    assert retired["payload"]["status"] == "retired"
    api.sync()
    assert [b["code"] for b in ok(call("GET", "/api/bundles", at="village"))["bundles"]] == ["B001"]
    assert ok(call("GET", "/api/bundles", at="village", include_retired="1"))["total"] == 2
    refused(call("PUT", "/api/bundles/B002", "admin", SAMPLE["B002"]), 409)
    # the village edits nothing: the editing routes are the district's
    assert call("POST", "/api/bundles", "admin", SAMPLE["B003"], at="village").status_code in (401, 404, 405)


def test_a_bad_bundle_is_400_naming_each_bad_field_and_the_version_is_unchanged(api):
    call = api.call
    ok(call("POST", "/api/bundles", "admin", SAMPLE["B003"]), 201)
    before = api.version()
    bad = dict(SAMPLE["B001"], code="B003", items=["SJ-005", "XX-404"], promised_limit_days=400,
               accepting_tiers=["district", "village"],
               prerequisites=[{"item": "WL-004", "requires": "SJ-005"}])
    error = refused(call("POST", "/api/bundles", "admin", bad), 400)
    assert {"code", "items", "promised_limit_days", "accepting_tiers", "prerequisites"} <= set(error["details"])
    for fragment in ("already exists", "XX-404", "promised_limit_days", "village tier cannot accept", "WL-004"):
        assert fragment in error["message"], error["message"]
    too_long = refused(call("PUT", "/api/bundles/B003", "admin", dict(SAMPLE["B003"], promised_limit_days=4)), 400)
    assert "longest legal limit" in too_long["message"] and set(too_long["details"]) == {"promised_limit_days"}
    refused(call("PUT", "/api/bundles/B003", "admin", dict(SAMPLE["B003"], code="B099")), 400)
    refused(call("POST", "/api/bundles", "admin", ["B001"]), 400)
    assert api.version() == before
    assert ok(call("GET", "/api/bundles/B003"))["promised_limit_days"] == SAMPLE["B003"]["promised_limit_days"]


@pytest.mark.parametrize("username", ["supervisor", "clerk", "market"])
def test_only_an_administrator_edits_bundles(api, username):
    call = api.call
    ok(call("POST", "/api/bundles", "admin", SAMPLE["B004"]), 201)
    before = api.version()
    refused(call("POST", "/api/bundles", username, SAMPLE["B005"]), 403)
    refused(call("PUT", "/api/bundles/B004", username, SAMPLE["B004"]), 403)
    refused(call("POST", "/api/bundles/B004/retire", username), 403)
    refused(call("POST", "/api/bundles", None, SAMPLE["B005"]), 401)
    assert api.version() == before
    assert ok(call("GET", "/api/bundles/B004"))["status"] == "active"
