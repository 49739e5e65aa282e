"""Trust between stations: every station its own broker user, senders proven by RabbitMQ's
validated user-id, and each message accepted only from the station entitled to send it.

Unit tests of the rules (shared/trust/), then forgeries tried against a real network on
the real RabbitMQ, each with a village's own valid credentials — as a compromised village
PC would — and each checked to have changed nothing at its target.
"""
import json
import re
import time
import uuid

import pytest
from amqp.exceptions import AccessRefused, NotAllowed, PreconditionFailed
from kombu import Connection, Producer, Queue

from services.sender_proof import PROVEN_SENDER_HEADER, UnprovenSender, proven_sender
from services.topology import cases_exchange, catalogue_exchange
from shared.messages import (
    CASE_HANDOVER, CASE_RECORD, CASE_SUPPLEMENT, CATALOGUE_CHANGE, RPC_EXCHANGE, catalogue_queue,
    dead_letter_queue, envelope, inbox_queue,
)
from shared.trust import entitlement
from shared.trust.identities import broker_user, permissions_for, rpc_topic_permissions, station_of_user
from tests.test_case_network import (
    DISTRICT, NORTH, NORTH_VILLAGE, SOUTH, SOUTH_VILLAGE, filing, running_case_network,
)

FULL = ["M01", "M02", "M03", "M04", "M05"]


# -- the rules, without a broker -------------------------------------------------------------------
def test_a_broker_user_names_one_station():
    assert broker_user(SOUTH_VILLAGE) == f"st-{SOUTH_VILLAGE}"
    assert station_of_user(f"st-{SOUTH_VILLAGE}") == SOUTH_VILLAGE
    for other in ("guest", "st-", "st-12345", "st-4499020012011", None, b"st-449902"):
        assert station_of_user(other) is None


def test_permissions_give_a_station_its_own_queues_and_only_the_district_the_catalogue():
    configure, write, read = permissions_for(SOUTH_VILLAGE)
    own = [inbox_queue(SOUTH_VILLAGE), catalogue_queue(SOUTH_VILLAGE),
           dead_letter_queue(inbox_queue(SOUTH_VILLAGE))]
    assert all(re.match(read, name) for name in own)
    others = [inbox_queue(NORTH_VILLAGE), catalogue_queue(SOUTH), inbox_queue(DISTRICT),
              f"rpc-cases_{DISTRICT}", f"rpc.reply-{NORTH_VILLAGE}.gateway-{uuid.uuid4()}"]
    assert not any(re.match(pattern, name) for name in others for pattern in (configure, write, read))
    assert re.match(configure, f"rpc.reply-{SOUTH_VILLAGE}.gateway-{uuid.uuid4()}")
    # nobody but the district publishes catalogue changes; no station binds the shared exchanges
    assert not re.match(write, catalogue_exchange(DISTRICT).name)
    assert re.match(permissions_for(DISTRICT)[1], catalogue_exchange(DISTRICT).name)
    assert not re.match(read, cases_exchange.name) and not re.match(read, catalogue_exchange(DISTRICT).name)
    assert not re.match(configure, cases_exchange.name) and not re.match(configure, RPC_EXCHANGE)
    # on the RPC exchange: call the district's services, bind only reply keys
    topic_write, topic_read = rpc_topic_permissions(SOUTH_VILLAGE)
    assert re.match(topic_write, f"cases_{DISTRICT}.find") and not re.match(topic_write, str(uuid.uuid4()))
    assert re.match(topic_read, str(uuid.uuid4()))
    assert not any(re.match(topic_read, key) for key in ("#", f"cases_{DISTRICT}.*", "*"))


def case(no_at=SOUTH_VILLAGE, holder=SOUTH, deciding=DISTRICT, status="forwarded", revision=2):
    return {"case_no": f"{no_at}-20261202-00001", "filing_station": no_at, "holder_station": holder,
            "deciding_station": deciding, "status": status, "revision": revision}


def test_a_handover_comes_only_from_the_station_before_on_the_route_or_the_decider_with_the_result():
    entitlement.check_handover(SOUTH_VILLAGE, SOUTH, case())                       # forwarded up
    entitlement.check_handover(SOUTH, DISTRICT, case(holder=DISTRICT))              # and on
    entitlement.check_result(DISTRICT, SOUTH_VILLAGE, case(holder=SOUTH_VILLAGE, status="result_sent"))
    entitlement.check_handover(DISTRICT, SOUTH, case(no_at=DISTRICT, holder=SOUTH, deciding=SOUTH))  # down
    refused = [
        (NORTH_VILLAGE, SOUTH, case()),                         # not on the route
        (NORTH, DISTRICT, case(holder=DISTRICT)),               # another township
        (SOUTH_VILLAGE, DISTRICT, case(holder=DISTRICT)),       # skipping a tier
        (SOUTH_VILLAGE, SOUTH, case(holder=DISTRICT)),          # not making the receiver the holder
        (NORTH_VILLAGE, SOUTH_VILLAGE, case(holder=SOUTH_VILLAGE)),  # a "result" not from the decider
        (NORTH_VILLAGE, NORTH, {**case(), "case_no": f"{NORTH_VILLAGE}-1", "holder_station": NORTH}),
    ]
    for sender, receiver, body in refused:
        with pytest.raises(entitlement.NotEntitled, match=f"from station {sender}"):
            entitlement.check_handover(sender, receiver, body)
    # a decided result travels as its own kind (case.result), from the decider only
    for check, sender, receiver, body in [
        (entitlement.check_handover, DISTRICT, SOUTH_VILLAGE, case(holder=SOUTH_VILLAGE, status="result_sent")),
        (entitlement.check_result, NORTH_VILLAGE, SOUTH_VILLAGE, case(holder=SOUTH_VILLAGE, status="result_sent")),
        (entitlement.check_result, DISTRICT, SOUTH, case(holder=SOUTH, status="result_sent")),
    ]:
        with pytest.raises(entitlement.NotEntitled, match=f"from station {sender}"):
            check(sender, receiver, body)


def test_a_record_at_the_district_comes_from_the_holder_by_the_districts_own_record():
    known = case(holder=SOUTH)
    entitlement.check_record(SOUTH_VILLAGE, DISTRICT, case(), None)       # a new case, from its filer
    entitlement.check_record(SOUTH, DISTRICT, case(revision=3), known)     # from the holder
    with pytest.raises(entitlement.WaitForRecord):                         # a new holder: wait and see
        entitlement.check_record(DISTRICT[:6] + "100", DISTRICT, case(holder=DISTRICT[:6] + "100"), known)
    for sender, body, on_record in [
        (NORTH_VILLAGE, case(holder=NORTH_VILLAGE), known),               # someone else's case
        (SOUTH, case(revision=9), case(holder=DISTRICT)),                 # the district holds it
        (NORTH_VILLAGE, case(), None),                                    # not its filer
    ]:
        with pytest.raises((entitlement.NotEntitled, entitlement.WaitForRecord)):
            entitlement.check_record(sender, DISTRICT, body, on_record)
    with pytest.raises(entitlement.NotEntitled):
        entitlement.check_record(SOUTH, DISTRICT, case(revision=9), case(holder=DISTRICT))


def test_supplements_come_from_the_filing_counter_and_district_messages_from_the_district():
    body = {"case_no": f"{SOUTH_VILLAGE}-20261202-00001", "station": SOUTH_VILLAGE}
    entitlement.check_supplement(SOUTH_VILLAGE, body, None)
    with pytest.raises(entitlement.NotEntitled):
        entitlement.check_supplement(NORTH_VILLAGE, {**body, "station": NORTH_VILLAGE}, None)
    entitlement.check_from_district(DISTRICT, SOUTH_VILLAGE, CATALOGUE_CHANGE)
    with pytest.raises(entitlement.NotEntitled, match="only from the district"):
        entitlement.check_from_district(SOUTH, SOUTH_VILLAGE, CATALOGUE_CHANGE)


class Catalogue:
    """A receiver's catalogue with one item at version 3 (as CatalogueStore answers)."""
    ITEM = {"code": "MZ-002", "name": "最低生活保障申请", "version": 3, "department": "civil_affairs",
            "category": "public_service", "processing_type": "promised", "joint_departments": [],
            "decision_steps": ["review", "approve"], "promised_limit_days": 15, "legal_limit_days": 30,
            "authority_tier": "district", "allows_commitment": False, "allows_deficiency": True,
            "materials": [{"code": "M01", "name": "身份证", "kind": "core", "copies": 1}], "fee": 0,
            "min_applicant_age": None, "status": "current", "accepting_tiers": ["village"]}

    def __init__(self, version=5):
        self._version = version

    def version(self):
        return self._version

    def item_at_version(self, code, version):
        from shared.exceptions import NotFound
        if code != "MZ-002" or version < 3:
            raise NotFound(code)
        return dict(self.ITEM)


def test_the_item_a_case_carries_must_be_the_receivers_catalogue_item_at_that_version():
    from shared.cases.workflow import ITEM_FIELDS
    filed = {**case(), "item": {k: Catalogue.ITEM.get(k) for k in ITEM_FIELDS}}
    entitlement.check_item(SOUTH_VILLAGE, filed, Catalogue())
    shortened = {**filed, "item": {**filed["item"], "promised_limit_days": 1}}
    with pytest.raises(entitlement.NotEntitled, match="promised_limit_days"):
        entitlement.check_item(SOUTH_VILLAGE, shortened, Catalogue())
    moved = {**filed, "item": {**filed["item"], "authority_tier": "village", "extra": 1}}
    with pytest.raises(entitlement.NotEntitled, match="authority_tier"):
        entitlement.check_item(SOUTH_VILLAGE, moved, Catalogue())
    with pytest.raises(entitlement.NotEntitled, match="did not have"):
        entitlement.check_item(SOUTH_VILLAGE, {**filed, "item": {**filed["item"], "code": "XX-1"}}, Catalogue())
    with pytest.raises(entitlement.CatalogueBehind):  # not yet at that version here: tried again later
        entitlement.check_item(SOUTH_VILLAGE, filed, Catalogue(version=2))


def test_the_proven_sender_is_the_broker_user_or_a_dead_letter_sent_back():
    message = {"sender": SOUTH_VILLAGE}
    assert proven_sender(message, {"user_id": f"st-{SOUTH_VILLAGE}"}, {}, DISTRICT) == SOUTH_VILLAGE
    for properties in ({}, {"user_id": f"st-{NORTH_VILLAGE}"}, {"user_id": "st-449902"}):
        with pytest.raises(UnprovenSender):
            proven_sender(message, properties, {}, DISTRICT)
    # sent back by the receiving station (or an administrator) with the proof it had
    sent_back = {PROVEN_SENDER_HEADER: SOUTH_VILLAGE}
    assert proven_sender(message, {"user_id": f"st-{DISTRICT}"}, sent_back, DISTRICT) == SOUTH_VILLAGE
    assert proven_sender(message, {"user_id": "guest"}, sent_back, DISTRICT) == SOUTH_VILLAGE
    with pytest.raises(UnprovenSender):  # another station cannot "send back" someone else's message
        proven_sender(message, {"user_id": f"st-{NORTH_VILLAGE}"}, sent_back, DISTRICT)


# -- forgeries against a real network ------------------------------------------------------------------
@pytest.fixture(scope="module")
def net():
    with running_case_network() as network:
        yield network


def as_station(net, code):
    """A broker connection with station `code`'s own credentials, as on its PC."""
    return Connection(net.settings.station_amqp_uri(code), connect_timeout=5,
                      transport_options={"confirm_publish": True})


def catalogue_state(net, code):
    summary = net.get(code, "/api/catalogue")
    return summary["version"], summary["content_hash"]


def catalogue_states(net):
    return {station.code: catalogue_state(net, station.code) for station in net.launcher.stations}


def publish_as(net, code, exchange, routing_key, message, user_id=None):
    with as_station(net, code) as connection:
        producer = Producer(connection.channel())
        producer.publish(message, exchange=exchange, routing_key=routing_key, serializer="json",
                         delivery_mode=2, message_id=message.get("message_id"),
                         user_id=user_id or broker_user(code), mandatory=True)


_drained = {}  # station code -> [(envelope, reason)] taken from its inbox's dead-letter queue


def dead_letters(net, code):
    """[(envelope, reason)] that reached `code`'s inbox dead-letter queue so far."""
    found = _drained.setdefault(code, [])
    with Connection(net.settings.amqp_uri) as connection:
        queue = Queue(dead_letter_queue(inbox_queue(code)), no_declare=True)(connection.channel())
        while (message := queue.get(no_ack=True)) is not None:
            found.append((json.loads(message.body), message.headers.get("x-tongban-error", "")))
    return found


def wait_dead_letter(net, code, message_id, timeout=15):
    """The reason `code` gave for dead-lettering message `message_id`."""
    deadline = time.monotonic() + timeout
    while True:
        for body, reason in dead_letters(net, code):
            if body.get("message_id") == message_id:
                return reason
        if time.monotonic() > deadline:
            raise AssertionError(f"message {message_id} was not dead-lettered at {code}: {_drained.get(code)}")
        time.sleep(0.2)


@pytest.fixture(scope="module")
def pending(net):
    """A case filed at the south village, waiting for review at the district."""
    filed = net.post(SOUTH_VILLAGE, "/api/cases", filing("MZ-002", FULL))
    case = net.wait_status(DISTRICT, filed["case_no"], "pending_review")
    return {**case, "query_code": filed["query_code"]}  # shown once, in the filing's answer


def test_a_village_cannot_read_or_bind_another_stations_queues(net):
    for queue in (inbox_queue(NORTH_VILLAGE), catalogue_queue(NORTH_VILLAGE), inbox_queue(DISTRICT)):
        with as_station(net, SOUTH_VILLAGE) as connection:
            with pytest.raises(AccessRefused):
                Queue(queue, no_declare=True)(connection.channel()).get()
    with as_station(net, SOUTH_VILLAGE) as connection:  # nor copy another station's hand-offs
        channel = connection.channel()
        spy = f"rpc.reply-{SOUTH_VILLAGE}.spy-{uuid.uuid4()}"  # a queue it may make
        channel.queue_declare(spy, auto_delete=True)
        with pytest.raises(AccessRefused):
            channel.queue_bind(spy, cases_exchange.name, NORTH_VILLAGE)
    with as_station(net, SOUTH_VILLAGE) as connection:  # nor listen to the district's RPC calls
        channel = connection.channel()
        spy = f"rpc.reply-{SOUTH_VILLAGE}.spy-{uuid.uuid4()}"
        channel.queue_declare(spy, auto_delete=True)
        with pytest.raises(AccessRefused):
            channel.queue_bind(spy, RPC_EXCHANGE, f"cases_{DISTRICT}.*")


def test_the_broker_refuses_a_forged_sender_and_a_catalogue_change_from_a_village(net, pending):
    before = catalogue_state(net, DISTRICT)
    change = envelope(CATALOGUE_CHANGE, {"version": before[0] + 1, "kind": "edit", "item_code": "MZ-002",
                                         "payload": {"fee": 200}}, DISTRICT)
    with pytest.raises(PreconditionFailed):  # claims to be the district: user_id is checked
        publish_as(net, SOUTH_VILLAGE, cases_exchange, DISTRICT, envelope(CASE_RECORD, {"case": pending},
                                                                           DISTRICT), user_id=f"st-{DISTRICT}")
    with pytest.raises((AccessRefused, NotAllowed)):  # may not write the catalogue exchange
        publish_as(net, SOUTH_VILLAGE, catalogue_exchange(DISTRICT), "", change)
    time.sleep(1)
    assert catalogue_states(net) == {code: before for code in catalogue_states(net)}
    # the district's own change afterwards reaches every replica, which all agree again
    response = net.client.request("PATCH", DISTRICT, "/api/catalogue/items/MZ-002", json={"fee": 0})
    assert response.status_code == 200, response.text
    deadline = time.monotonic() + 30
    while len(set(catalogue_states(net).values())) != 1 or catalogue_state(net, DISTRICT)[0] == before[0]:
        assert time.monotonic() < deadline, catalogue_states(net)
        time.sleep(0.3)


def test_forged_case_messages_are_dead_lettered_and_change_nothing(net, pending):
    case_no = pending["case_no"]
    forged_result = {**pending, "status": "approved", "revision": pending["revision"] + 5,
                     "holder_station": NORTH_VILLAGE,
                     "result": {"outcome": "approved", "reason": "", "decided_by": DISTRICT,
                                "decided_at": "2026-12-02T10:00:00+08:00"}}
    forgeries = [
        # a record at the district, from a village that does not hold the case
        (DISTRICT, envelope(CASE_RECORD, {"case": forged_result}, NORTH_VILLAGE), "the district holds"),
        # a record claiming to be from the district, published with the village's own user
        (DISTRICT, envelope(CASE_RECORD, {"case": forged_result}, DISTRICT), "sender not proven"),
        # a hand-off to the district from a station not on the case's route
        (DISTRICT, envelope(CASE_HANDOVER, {"case": {**forged_result, "holder_station": DISTRICT}},
                            NORTH_VILLAGE), "route"),
        # a decided "result" handed to the filing village by another village
        (SOUTH_VILLAGE, envelope(CASE_HANDOVER, {"case": {**forged_result, "holder_station": SOUTH_VILLAGE,
                                                          "status": "result_sent"}}, NORTH_VILLAGE), "route"),
        # materials for someone else's case
        (DISTRICT, envelope(CASE_SUPPLEMENT, {"case_no": case_no, "materials": ["M01"], "operator": "x",
                                              "station": NORTH_VILLAGE, "at": "2026-12-02T09:00:00+08:00"},
                            NORTH_VILLAGE), "filing station"),
        # a catalogue change slipped into a replica's inbox
        (NORTH, envelope(CATALOGUE_CHANGE, {"version": 999}, NORTH_VILLAGE), "unknown message kind"),
    ]
    catalogue_before = catalogue_states(net)
    for target, message, _ in forgeries:
        # claiming to be the district is refused by the broker itself ...
        with pytest.raises(PreconditionFailed):
            publish_as(net, NORTH_VILLAGE, cases_exchange, target, message, user_id=f"st-{DISTRICT}")
        # ... and under its own name the village's message reaches the target, which refuses it
        publish_as(net, NORTH_VILLAGE, cases_exchange, target, message)
    for target, message, reason in forgeries:
        assert reason in wait_dead_letter(net, target, message["message_id"])
    # nothing changed at any target
    after = net.case(DISTRICT, case_no)
    assert after["revision"] == pending["revision"] and after["status"] == "pending_review"
    assert net.case(SOUTH_VILLAGE, case_no)["status"] == "forwarded"
    assert catalogue_states(net) == catalogue_before
    # and the real work still goes through
    for step in ("review", "approve"):
        net.post(DISTRICT, f"/api/cases/{case_no}/decisions",
                 {"step": step, "outcome": "pass", "department": "civil_affairs"})
    assert net.wait_status(SOUTH_VILLAGE, case_no, "result_ready")["result"]["outcome"] == "approved"


def test_the_districts_case_lookup_answers_only_the_residents_view_with_the_right_query_code(net, pending):
    from nameko.standalone.rpc import ClusterRpcProxy
    with ClusterRpcProxy({"AMQP_URI": net.settings.amqp_uri}, timeout=10) as cluster:
        service = getattr(cluster, f"cases_{DISTRICT}")
        assert service.find(pending["case_no"], "ABCD2345") is None
        # the last 4 ID characters, which every staff list shows, no longer open a case
        assert service.find(pending["case_no"], pending["applicant"]["id_number"][-4:]) is None
        view = service.find(pending["case_no"], pending["query_code"])
    assert view["case_no"] == pending["case_no"] and view["status"]
    assert "applicant" not in view and pending["applicant"]["id_number"] not in json.dumps(view, ensure_ascii=False)
    assert pending["applicant"]["phone"] not in json.dumps(view, ensure_ascii=False)
