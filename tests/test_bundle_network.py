"""一件事 bundles across a real network: the district and six replicas, each station in its
own OS process, over the real RabbitMQ (a long periodic sync, so what reaches the
replicas is the change events). A bundle the administrator adds, edits and retires at
the district reaches every replica as the same bundle (same catalogue version and
content hash, same answer at GET /api/bundles/<code>); a bad bundle is refused with 400
naming each field and no replica sees a new version."""
import pytest

from tests.support.items import item, licence
from tests.support.network import StationNetwork, close_networks

DISTRICT = "449901"
LONG_SYNC = 600.0


@pytest.fixture(scope="module")
def net(amqp_uri, tmp_path_factory, request):
    network = StationNetwork(tmp_path_factory.mktemp("bundle-network"), amqp_uri=amqp_uri, sync_seconds=LONG_SYNC)
    try:
        network.start()
        yield network
    finally:
        close_networks([network], failed=getattr(request.session, "tongban_failed", False))


def converged(net):
    master = net.catalogue_state(DISTRICT)
    net.wait_until(lambda: all(net.catalogue_state(c) == master for c in net.replicas), timeout=15.0,
                   message=lambda: f"district {master}: {net.catalogue_states()}")
    return master


def admin(net, method, path, body=None, status=200):
    response = net.request(method, DISTRICT, path, json=body, as_user="admin")
    assert response.status_code == status, response.text
    return response.json()


BUNDLE = {
    "code": "B101", "name": "我要开小餐馆（测试）",
    "guide": {"where": "综合窗口", "how_long": "承诺5个工作日"},
    "items": ["SJ-101", "SJ-102"],
    "questions": [{"code": "Q1", "text": "是否设置户外招牌？", "adds": ["WJ-103"]}],
    "materials": [{"key": "id_card", "name": "申请人身份证",
                   "uses": [{"item": "SJ-101", "material": "ID"}, {"item": "SJ-102", "material": "ID"},
                            {"item": "WJ-103", "material": "ID"}]}],
    "promised_limit_days": 5,
    "accepting_tiers": ["district", "township"],
    "prerequisites": [{"item": "SJ-102", "requires": "SJ-101"}],
}


def test_a_bundle_reaches_every_replica_unchanged_and_a_bad_one_changes_nothing(net):
    admin(net, "POST", "/api/catalogue/items", licence("SJ-101", legal_limit_days=3, promised_limit_days=1), 201)
    admin(net, "POST", "/api/catalogue/items", licence("SJ-102", legal_limit_days=20, promised_limit_days=3), 201)
    admin(net, "POST", "/api/catalogue/items", item("WJ-103", department="health", accepting_tiers=["district",
                                                                                                      "township"]), 201)
    converged(net)
    added = admin(net, "POST", "/api/bundles", BUNDLE, 201)
    edited = admin(net, "PUT", "/api/bundles/B101", dict(BUNDLE, promised_limit_days=4))
    assert edited["version"] == added["version"] + 1
    version, _ = converged(net)
    assert version == edited["version"]
    at_district = net.request("GET", DISTRICT, "/api/bundles/B101", params={"yes": "Q1"}, as_user=False).json()
    assert at_district["promised_limit_days"] == 4 and at_district["selected"] == ["SJ-101", "SJ-102", "WJ-103"]
    for code in net.replicas:
        answer = net.request("GET", code, "/api/bundles/B101", params={"yes": "Q1"}, as_user=False)
        assert answer.status_code == 200 and answer.json() == at_district, code

    response = net.request("POST", DISTRICT, "/api/bundles", as_user="admin", json=dict(
        BUNDLE, code="B102", items=["SJ-101", "XX-999"], promised_limit_days=30, accepting_tiers=["village"]))
    assert response.status_code == 400, response.text
    assert {"items", "promised_limit_days", "accepting_tiers"} <= set(response.json()["details"])
    admin(net, "POST", "/api/bundles/B101/retire")
    version_after, _ = converged(net)
    assert version_after == version + 1  # the retirement only
    for code in net.replicas:
        listed = net.request("GET", code, "/api/bundles", params={"include_retired": "1"}, as_user=False).json()
        assert [(b["code"], b["status"]) for b in listed["bundles"]] == [("B101", "retired")], code
