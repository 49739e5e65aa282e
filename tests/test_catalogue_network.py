"""The catalogue across a real network: the district and six replicas (two townships,
four villages), each station in its own OS process, over the real RabbitMQ.

The stations run with a long periodic sync (10 minutes), so what the tests see comes
from the change events, the catch-up a replica makes when an event shows a gap and the
sync it makes when it starts; only the test that says so uses a short periodic sync.
"""
import collections
import time

import pytest

from shared.messages import (
    CATALOGUE_CHANGE, catalogue_exchange_name, catalogue_queue, district_service_name, envelope,
)
from tests.support.items import ChangePlan, immediate, item, joint, licence, plan_with_every_kind
from tests.support.network import UNREACHABLE_AMQP_URI, StationNetwork, close_networks

DISTRICT = "449901"
TOWNSHIPS = ["449901001", "449901002"]
VILLAGES = ["449901001001", "449901001002", "449901002001", "449901002002"]
LONG_SYNC = 600.0


@pytest.fixture(scope="module")
def net(amqp_uri, tmp_path_factory, request):
    network = StationNetwork(tmp_path_factory.mktemp("catalogue-network"), amqp_uri=amqp_uri,
                             sync_seconds=LONG_SYNC)
    try:
        assert network.codes == [DISTRICT, TOWNSHIPS[0], *VILLAGES[:2], TOWNSHIPS[1], *VILLAGES[2:]]
        network.start()  # one OS process per station
        yield network
    finally:
        close_networks([network], failed=getattr(request.session, "tongban_failed", False))


@pytest.fixture(autouse=True)
def running(net):
    """Every station up and every replica level with the district before each test."""
    net.ensure_running()
    wait_converged(net)
    return net


def wait_converged(net, codes=None, timeout=15.0):
    master = net.catalogue_state(DISTRICT)
    net.wait_until(lambda: all(net.catalogue_state(c) == master for c in (codes or net.replicas)),
                   timeout=timeout, message=lambda: describe(net, master))
    return master


def describe(net, master):
    lines = [f"district: {master}"]
    for code in net.replicas:
        try:
            lines.append(f"{code}: {net.catalogue_state(code)}")
        except Exception as exc:  # a station that does not answer
            lines.append(f"{code}: {exc}")
    return "\n".join(lines)


def send(net, op):
    method, path, body, status = op.http
    response = net.request(method, DISTRICT, path, json=body)
    assert response.status_code == status, (op, response.text)
    return response.json()


def test_fifty_changes_reach_every_replica_within_two_seconds(net):
    start_version, _ = net.catalogue_state(DISTRICT)
    ops = plan_with_every_kind("NA", 50)
    kinds = collections.Counter(op.kind for op in ops)
    assert set(kinds) == {"add", "edit", "delegate", "retire"}, kinds

    for op in ops:
        change = send(net, op)
        assert change["kind"] == op.kind and change["item_code"] == op.code
    last_change_at = time.monotonic()
    master = net.catalogue_state(DISTRICT)
    assert master[0] == start_version + 50

    net.wait_until(lambda: all(net.catalogue_state(c) == master for c in net.replicas),
                   timeout=15, interval=0.02, message=lambda: describe(net, master))
    elapsed = time.monotonic() - last_change_at
    print(f"six replicas level with the district {elapsed:.3f} s after the 50th change")
    assert elapsed < 2.0, f"replicas converged {elapsed:.2f} s after the last change"
    # the replicas serve what the district serves
    for code in (TOWNSHIPS[1], VILLAGES[3]):
        assert net.get(code, f"/api/items/{ops[0].code}").json() == \
            net.get(DISTRICT, f"/api/items/{ops[0].code}").json()


@pytest.mark.parametrize("how", [
    pytest.param("sigterm-events-wait-in-its-queue", id="sigterm-queued-events"),
    pytest.param("sigkill-events-lost-periodic-sync", id="sigkill-lost-events-periodic-sync"),
])
def test_stopped_village_catches_up_by_itself(net, how):
    """A village is down while 20 changes are made, then starts again and catches up
    with nothing but its own queue (SIGTERM) or, when its events were lost (SIGKILL and
    a purged queue), with its periodic sync."""
    village, prefix, sync_seconds, timeout = {
        "sigterm-events-wait-in-its-queue": (VILLAGES[0], "NB", 3600, 15),
        "sigkill-events-lost-periodic-sync": (VILLAGES[1], "NC", 2, 30),
    }[how]
    if how.startswith("sigterm"):
        assert net.stop(village) == 0
    else:
        net.kill(village)
    before, _ = net.catalogue_state(DISTRICT)

    for op in ChangePlan(prefix, seed=11).operations(20):
        send(net, op)
    master = net.catalogue_state(DISTRICT)
    assert master[0] == before + 20
    queue = catalogue_queue(village)
    # the broker keeps the village's events in its durable queue while it is down
    net.wait_until(lambda: net.queue_depth(queue) >= 20, timeout=5)
    if "events-lost" in how:
        # ... unless they are lost: then only the district can tell what is missing
        net.purge(queue)
        assert net.queue_depth(queue) == 0
    # the other replicas are not held up by the stopped one
    wait_converged(net, [c for c in net.replicas if c != village])

    net.start_station(village, sync_seconds=sync_seconds)
    net.wait_until(lambda: net.catalogue_state(village) == master, timeout=timeout,
                   message=lambda: describe(net, master))
    net.wait_until(lambda: net.queue_depth(queue) == 0, timeout=10)
    assert net.catalogue_state(village) == master


def test_events_twice_and_out_of_order_leave_every_replica_identical(net):
    lagging = [VILLAGES[2], VILLAGES[3]]
    assert net.stop_all(lagging) == {code: 0 for code in lagging}
    before, _ = net.catalogue_state(DISTRICT)
    for op in plan_with_every_kind("ND", 12, seed=5):
        send(net, op)
    master = net.catalogue_state(DISTRICT)
    # the stopped villages lose the district's own events: all they will receive is the
    # copies below, newest first
    net.purge(*[catalogue_queue(code) for code in lagging])

    with net.rpc() as rpc:
        master_service = getattr(rpc, district_service_name("catalogue", DISTRICT))
        answer = master_service.changes_since(before, 1000)
    changes = answer["changes"]
    assert [c["version"] for c in changes] == list(range(before + 1, master[0] + 1))
    messages = [envelope(CATALOGUE_CHANGE, change, DISTRICT) for change in changes]
    copies = list(reversed(messages)) * 2  # out of order, and every message twice
    net.publish(catalogue_exchange_name(DISTRICT), copies, as_station=DISTRICT)

    net.start(lagging, sync_seconds=3600)
    net.wait_until(lambda: all(net.queue_depth(catalogue_queue(c)) == 0 for c in net.replicas),
                   timeout=15)
    wait_converged(net)
    summaries = net.catalogue_states()
    assert all(s == master for s in summaries.values()), summaries
    # nothing was given up on
    assert not any(net.dead_letter_counts().values()), net.dead_letter_counts()


def test_invalid_item_over_http_is_refused_naming_each_field(net):
    before = net.catalogue_states()
    bad = {key: value for key, value in licence("bad-code").items() if key != "name"}
    bad.update(department="space_agency", processing_type="joint", joint_departments=["health"],
               legal_limit_days=5, promised_limit_days=9, colour="blue",
               materials=[{"code": "A1", "name": "复印件", "kind": "secondary"}])
    response = net.post(DISTRICT, "/api/catalogue/items", bad)
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["error"] == "INVALID_INPUT"
    fields = ["code", "name", "department", "joint_departments", "promised_limit_days",
              "materials", "colour"]
    for field in fields:
        assert field in body["message"], (field, body["message"])
        assert field in body["details"], (field, body["details"])
    assert net.catalogue_state(DISTRICT) == before[DISTRICT]

    # a bad edit of an existing item, and a body that is not JSON, are refused too
    send(net, ChangePlan("NE").operations(1)[0])
    after_add = net.catalogue_state(DISTRICT)
    response = net.patch(DISTRICT, "/api/catalogue/items/NE-001",
                         {"promised_limit_days": 99, "department": "nowhere"})
    assert response.status_code == 400, response.text
    assert {"promised_limit_days", "department"} <= set(response.json()["details"])
    not_json = {"Content-Type": "application/json"}
    response = net.http.post(net.url(DISTRICT) + "/api/catalogue/items", data=b"{not json",
                             headers=not_json, timeout=10)
    assert response.status_code == 401  # who asks is checked before what is asked
    response = net.http.post(net.url(DISTRICT) + "/api/catalogue/items", data=b"{not json", timeout=10,
                             headers={**not_json, "Authorization": f"Bearer {net.client.token(DISTRICT, 'admin')}"})
    assert response.status_code == 400 and "JSON" in response.json()["message"]
    response = net.post(DISTRICT, "/api/catalogue/items/NE-001/delegate",
                        {"authority_tier": "district"})
    assert response.status_code == 409, response.text

    assert net.catalogue_state(DISTRICT) == after_add
    assert after_add[0] == before[DISTRICT][0] + 1
    assert net.get(DISTRICT, "/api/catalogue").json()["version"] == after_add[0]


SEARCH_ITEMS = [
    item("SE-001", name="生育登记服务", department="health", keywords=["生育", "登记"]),
    licence("SE-002", name="食品经营许可"),
    immediate("SE-003", name="社会保障卡补领"),
    joint("SE-004", name="餐饮店开办联办"),
    item("SE-005", name="婚姻登记证明补办", department="civil_affairs"),
]


def codes_of(response):
    assert response.status_code == 200, response.text
    return [i["code"] for i in response.json()["items"]]


def test_village_search_with_filters_and_without_broker(net, station_network_factory):
    for data in SEARCH_ITEMS:
        assert net.post(DISTRICT, "/api/catalogue/items", data).status_code == 201
    assert net.post(DISTRICT, "/api/catalogue/items/SE-002/delegate",
                    {"authority_tier": "township"}).status_code == 200
    assert net.post(DISTRICT, "/api/catalogue/items/SE-005/retire", {}).status_code == 200
    master = wait_converged(net)
    village = VILLAGES[3]

    searches = [
        ({"q": "SE-"}, ["SE-001", "SE-002", "SE-003", "SE-004"]),
        ({"q": "登记"}, ["SE-001"]),
        ({"q": "登记", "include_retired": "1"}, ["SE-001", "SE-005"]),
        ({"q": "生育 服务"}, ["SE-001"]),
        ({"q": "SE-", "department": "market_regulation"}, ["SE-002", "SE-004"]),
        ({"q": "SE-", "category": "licence"}, ["SE-002", "SE-004"]),
        ({"q": "SE-", "category": "public_service"}, ["SE-001", "SE-003"]),
        ({"q": "SE-", "processing_type": "immediate"}, ["SE-003"]),
        ({"q": "SE-", "processing_type": "joint"}, ["SE-004"]),
        ({"q": "SE-", "tier": "township"}, ["SE-002"]),
        ({"q": "SE-", "tier": "district", "category": "public_service",
          "department": "health"}, ["SE-001"]),
        ({"q": "没有这个事项"}, []),
    ]

    def check_searches(station_net):
        for params, expected in searches:
            assert codes_of(station_net.get(village, "/api/items", params)) == expected, params
        # filters without text: every item matches the filter, and the answer is the district's
        for params in ({"department": "health"}, {"category": "licence"},
                       {"processing_type": "promised"}, {"tier": "village"}):
            response = station_net.get(village, "/api/items", params)
            key, value = next(iter(params.items()))
            field = {"tier": "authority_tier"}.get(key, key)
            assert all(i[field] == value for i in response.json()["items"]), params
            assert response.json() == net.get(DISTRICT, "/api/items", params).json()
        assert station_net.get(village, "/api/items", {"category": "pets"}).status_code == 400
        assert station_net.get(village, "/api/items/SE-003").json()["name"] == "社会保障卡补领"

    check_searches(net)
    health = net.get(village, "/api/health").json()
    assert health["broker_connected"] is True

    # the same village, with its synced database, when its broker link is unusable
    isolated = station_network_factory("isolated-village", network=net.network_path,
                                       amqp_uri=UNREACHABLE_AMQP_URI, declare=False)
    net.copy_database(village, isolated.database_url(village))
    isolated.start_station(village, sync_seconds=3600)
    health = isolated.get(village, "/api/health").json()
    assert health["broker_connected"] is False
    assert (health["catalogue_version"], health["catalogue_hash"]) == \
        master
    check_searches(isolated)
    assert isolated.catalogue_state(village) == master
    # a host whose broker is unreachable does not stop on SIGTERM (deploy/host.py waits
    # for every container to start before it listens for signals): end it outright
    isolated.kill(village)


def test_village_whose_events_were_lost_catches_up_at_start_up(net):
    """The sync a replica makes when it starts is enough on its own: the village's
    events are lost while it is down and its periodic sync is an hour away.
    (Last in the module: when it fails, the village stays behind.)"""
    village = VILLAGES[2]
    net.kill(village)
    for op in ChangePlan("NF", seed=13).operations(20):
        send(net, op)
    master = net.catalogue_state(DISTRICT)
    net.purge(catalogue_queue(village))
    net.start_station(village, sync_seconds=3600)
    # the start-up sync answers within a second; 8 s is less than its RPC timeout, so
    # the periodic timer cannot be what gets the village there
    net.wait_until(lambda: net.catalogue_state(village) == master, timeout=8,
                   message=lambda: describe(net, master))
