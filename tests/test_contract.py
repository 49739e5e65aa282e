"""The contract between stations (issue 14, points 1 and 2; shared/contract.py).

In process, no broker, except the last test: every message the previous release sent
(recorded in tests/data/messages/v1) is still accepted, upgraded and applied with the
effect it had then; a newer release's extra fields are kept in the stored snapshot; an
invalid message changes nothing and, through the inbox's consumer on a broker, goes to
the dead-letter queue with its validation errors as the reason; every message this
release sends validates against its schema; the workflow alone decides what a step
sends, the district's copy and the decided result included.
"""
import contextlib
import copy
import datetime as dt
import json
import time
from pathlib import Path

import pytest
from kombu import Connection, Producer
from sqlalchemy import func, select

from deploy.broker_users import BrokerAdmin, station_uri
from services.cases.service import CaseInboxService
from services.dead_letters import ERROR_HEADER
from services.topology import cases_exchange, dead_letters_of, declare_station, station_inbox
from shared import contract
from shared.cases.store import CaseRepository
from shared.catalogue.store import CatalogueStore
from shared.db.models import AccessAuditEntry, Case, OutboxMessage, ProcessedMessage, StationAlert
from shared.messages import (
    AUDIT_COPY, CASE_ALERT, CASE_HANDOVER, CASE_RECORD, CASE_RESULT, CASE_SUPPLEMENT, CATALOGUE_CHANGE, envelope,
)
from shared.stations import Network
from shared.trust.identities import broker_user
from tests.support import databases
from tests.support.inprocess import FixedClock, service_config, station_url  # noqa: F401 (station_url is a fixture)
from tests.support.message_capture import InProcessNetwork
from tests.support.network import AMQP_URI

HERE = Path(__file__).parent
V1 = sorted((HERE / "data" / "messages" / "v1").glob("*.json"))
NETWORK = Network.load(HERE / "cases_data" / "network_cases.yaml")
DISTRICT, SOUTH, SOUTH_VILLAGE = "449902", "449902001", "449902001201"
# what a message's effect on the receiver's copy of the case is compared on
EFFECT = ("status", "revision", "holder_station", "deciding_station", "materials_submitted", "due_date",
          "legal_due_date", "deficiency", "suspension", "pauses", "extension", "result", "rating", "decisions")


def fixture(name_or_path):
    path = name_or_path if isinstance(name_or_path, Path) else next(p for p in V1 if p.name.startswith(name_or_path))
    return json.loads(path.read_text(encoding="utf-8"))


def catalogue_changes():
    return [fixture(p)["message"] for p in V1 if fixture(p)["message"]["kind"] == CATALOGUE_CHANGE]


def receiver(db, code, at=None):
    """Station `code` on `db`, its catalogue the recorded one (as its replica received it)."""
    clock = FixedClock(dt.datetime.fromisoformat(at)) if at else None  # None: the network's start
    with db.transaction() as session:
        store = CatalogueStore(session)
        for message in catalogue_changes():
            store.apply(contract.load_message(message)["body"])
    return InProcessNetwork(NETWORK, {code: db}, clock)[code]


def effect(case):
    history = [(h["station"], h["action"], h["from_status"], h["to_status"]) for h in case["history"]]
    return {**{k: case.get(k) for k in EFFECT}, "history": history}


def counts(db, *models):
    with db.reading() as session:
        return {m.__tablename__: session.scalar(select(func.count()).select_from(m)) for m in models}


# -- the previous release's messages ------------------------------------------------------
def test_the_recorded_fixtures_cover_every_kind_the_previous_release_sent():
    kinds = {fixture(p)["message"]["kind"] for p in V1}
    assert kinds == {CASE_HANDOVER, CASE_RECORD, CASE_SUPPLEMENT, "case.extension_decision", CASE_ALERT,
                     CATALOGUE_CHANGE, AUDIT_COPY}
    assert all("schema" not in fixture(p)["message"] for p in V1)  # version 1 had no version field
    results = [p.name for p in V1 if fixture(p)["message"]["kind"] == CASE_HANDOVER
               and fixture(p)["message"]["body"]["case"]["status"] == "result_sent"]
    assert len(results) == 2  # the decided result travelling back, in its old form


@pytest.mark.parametrize("path", V1, ids=[p.stem for p in V1])
def test_a_recorded_v1_message_is_upgraded_and_applied_as_it_was_then(path, memory_db):
    recorded = fixture(path)
    message = recorded["message"]
    loaded = contract.load_message(copy.deepcopy(message))
    assert loaded["schema"] == contract.SCHEMA_VERSION
    old_result = message["kind"] == CASE_HANDOVER and message["body"]["case"]["status"] == "result_sent"
    assert loaded["kind"] == (CASE_RESULT if old_result else message["kind"])

    if message["kind"] == CATALOGUE_CHANGE:
        # a replica that has every earlier change takes this one
        with memory_db.transaction() as session:
            store = CatalogueStore(session)
            for earlier in catalogue_changes():
                if earlier["body"]["version"] < message["body"]["version"]:
                    store.apply(contract.load_message(earlier)["body"])
            assert store.apply(loaded["body"])
            assert store.version() == message["body"]["version"]
        return

    station = receiver(memory_db, recorded["receiver"], recorded["delivered_at"])
    if recorded["receiver_case_before"] is not None:
        with memory_db.transaction() as session:
            CaseRepository(session, station.code).save(copy.deepcopy(recorded["receiver_case_before"]), new=True)
    station.receive(copy.deepcopy(message))

    if message["kind"] == AUDIT_COPY:
        with memory_db.reading() as session:
            kept = session.scalars(select(AccessAuditEntry.entry_id)).all()
        assert sorted(kept) == sorted(e["entry_id"] for e in message["body"]["entries"])
    elif message["kind"] == CASE_ALERT:
        with memory_db.reading() as session:
            alert = session.get(StationAlert, message["message_id"])
            assert (alert.case_no, alert.kind) == (message["body"]["case_no"], message["body"]["kind"])
    else:
        assert effect(station.case(recorded["case_no"])) == effect(recorded["receiver_case_after"])
    assert counts(memory_db, ProcessedMessage) == {"processed_messages": 1}


# -- a newer release ----------------------------------------------------------------------
def newer_release(message):
    """`message` as a later release might send it: a higher version, and fields this
    release does not know in the envelope, the body, the case and its parts."""
    newer = copy.deepcopy(message)
    newer.update(schema=contract.SCHEMA_VERSION + 1, trace_id="t-1")
    body = newer["body"]
    body["priority"] = "urgent"
    case = body["case"]
    case["visits"] = 1
    case["attachments"] = [{"sha256": "ab" * 32, "name": "申请书.pdf"}]
    case["applicant"]["email"] = "huang@example.cn"
    case["history"][-1]["device"] = "kiosk-3"
    case["pauses"] = [{"from": "2026-11-20", "to": "2026-11-21", "working_days": 1, "why": "节假日调整"}]
    # (not in `item`: the case's item must equal the receiver's catalogue item at its version)
    return newer


def test_a_newer_releases_extra_fields_are_accepted_and_kept_in_the_stored_snapshot(memory_db):
    recorded = fixture("08-case.record")  # the district's first copy of a case filed at a village
    station = receiver(memory_db, DISTRICT, recorded["delivered_at"])
    station.receive(newer_release(recorded["message"]))
    stored = station.case(recorded["case_no"])
    assert stored["visits"] == 1 and stored["attachments"][0]["name"] == "申请书.pdf"
    assert stored["applicant"]["email"] == "huang@example.cn"
    assert stored["history"][-1]["device"] == "kiosk-3" and stored["pauses"][0]["why"] == "节假日调整"
    # and they go on with the case: what this station sends keeps them
    sent = contract.dump_message(CASE_RECORD, {"case": stored}, DISTRICT)
    assert sent["body"]["case"]["visits"] == 1 and sent["body"]["case"]["history"][-1]["device"] == "kiosk-3"
    assert contract.outgoing_errors(sent) == {}


def test_a_newer_releases_handover_is_applied_with_its_extra_fields(memory_db):
    recorded = fixture("07-case.handover")  # village -> township
    station = receiver(memory_db, SOUTH, recorded["delivered_at"])
    station.receive(newer_release(recorded["message"]))
    stored = station.case(recorded["case_no"])
    assert stored["status"] == recorded["receiver_case_after"]["status"]
    assert stored["visits"] == 1 and [h.get("device") for h in stored["history"]].count("kiosk-3") == 1
    with memory_db.reading() as session:
        onward = session.scalars(select(OutboxMessage.body).where(OutboxMessage.kind == CASE_HANDOVER)).one()
    assert onward["schema"] == contract.SCHEMA_VERSION
    assert onward["body"]["case"]["visits"] == 1  # handed on to the district with the case


# -- invalid messages -----------------------------------------------------------------------
def invalid_record():
    message = copy.deepcopy(fixture("08-case.record")["message"])
    message["body"]["case"]["revision"] = "3"
    del message["body"]["case"]["case_no"]
    return message


def test_an_invalid_message_is_refused_with_its_errors_by_field_and_nothing_changes(memory_db):
    station = receiver(memory_db, DISTRICT)
    before = counts(memory_db, Case, ProcessedMessage, OutboxMessage)
    with pytest.raises(contract.InvalidMessage) as refused:
        station.receive(invalid_record())
    assert refused.value.details == {"body": {"case": {"revision": ["Not a valid integer."],
                                                       "case_no": ["Missing data for required field."]}}}
    assert "body.case.revision: Not a valid integer." in refused.value.message
    assert counts(memory_db, Case, ProcessedMessage, OutboxMessage) == before


@pytest.mark.parametrize("breakage, field", [
    (lambda m: m.pop("message_id"), "message_id"),
    (lambda m: m.update(schema="2"), "schema"),
    (lambda m: m["body"].update(materials="M03"), "body.materials"),
    (lambda m: m["body"].update(at="yesterday"), "body.at"),
])
def test_a_broken_envelope_or_body_names_the_field(breakage, field):
    message = copy.deepcopy(fixture("11-case.supplement")["message"])
    breakage(message)
    with pytest.raises(contract.InvalidMessage, match=f"{field}: "):
        contract.load_message(message)


@pytest.mark.parametrize("forged, errors", [
    ({"by": "某" * 150}, {"by": ["Longer than maximum length 50."]}),
    ({"at": "2026-11-24T09:30:00.123456+08:00:00.000000"}, {"at": ["Longer than maximum length 40."]}),
    ({"score": 5, "level": "very_dissatisfied"},
     {"level": ["score 5 and level very_dissatisfied disagree (very_dissatisfied is 1)"]}),
])
def test_a_forged_rating_that_the_districts_ledger_cannot_keep_is_refused_and_nothing_changes(
        forged, errors, memory_db):
    """As the red-team's village did: a case.record whose rating has a 150-character `by`, an
    `at` longer than the ledger's column, or a score the level contradicts; the district
    refuses it at the contract, so it never reaches the case nor the ratings' patrol."""
    station = receiver(memory_db, DISTRICT, at="2026-11-24T10:00:00+08:00")
    message = copy.deepcopy(fixture("15-case.record-rate")["message"])
    message["body"]["case"]["rating"].update(forged)
    before = counts(memory_db, Case, ProcessedMessage, OutboxMessage)
    with pytest.raises(contract.InvalidMessage) as refused:
        station.receive(message)
    assert refused.value.details == {"body": {"case": {"rating": errors}}}
    assert counts(memory_db, Case, ProcessedMessage, OutboxMessage) == before
    ok = copy.deepcopy(fixture("15-case.record-rate")["message"])
    ok["body"]["case"]["rating"].update({"score": 1, "level": "very_dissatisfied", "by": "某" * 50})
    assert contract.load_message(ok)["body"]["case"]["rating"]["by"] == "某" * 50


# a district of its own for the dead-letter test: broker users are shared by every virtual
# host, so its village's user must be one no other test's stations use
LONE_DISTRICT, LONE_VILLAGE = "449931", "449931001201"


@pytest.fixture
def lone_district(tmp_path):
    """(network file, administrator's URI, the village's URI): a district of one township
    and one village, on a virtual host of the test broker made for this test."""
    network = tmp_path / "network.yaml"
    network.write_text(json.dumps({
        "district": {"code": LONE_DISTRICT, "name": "契约测试区"},
        "departments": [{"code": "civil_affairs", "name": "区民政局"}],
        "stations": [{"code": LONE_DISTRICT, "tier": "district", "name": "契约测试区行政服务中心"},
                     {"code": LONE_DISTRICT + "001", "tier": "township", "name": "契约街道"},
                     {"code": LONE_VILLAGE, "tier": "village", "name": "契约村"}]}, ensure_ascii=False),
        encoding="utf-8")
    admin = BrokerAdmin(AMQP_URI)
    vhost = f"contract-{contract.new_message_id()[:8]}"
    admin._put(f"vhosts/{vhost}", {})
    admin._put(f"permissions/{vhost}/{admin.auth[0]}", {"configure": ".*", "write": ".*", "read": ".*"})
    admin_uri = AMQP_URI.rsplit("/", 1)[0] + "/" + vhost
    password = contract.new_message_id()
    BrokerAdmin(admin_uri).ensure_station_user(LONE_VILLAGE, password)
    yield network, admin_uri, station_uri(admin_uri, LONE_VILLAGE, password)
    for path in (f"vhosts/{vhost}", f"users/{broker_user(LONE_VILLAGE)}"):
        admin.http.delete(f"{admin.base}/api/{path}", auth=admin.auth, timeout=admin.timeout)


def test_an_invalid_message_goes_to_the_dead_letter_queue_with_its_errors(
        container_factory, station_url, lone_district):  # noqa: F811
    network, admin_uri, village_uri = lone_district
    with Connection(admin_uri) as admin:
        declare_station(admin, LONE_DISTRICT, True)
    station, url = station_url(DISTRICT)  # (its database; the container serves the lone district)
    container = container_factory(CaseInboxService, service_config(
        LONE_DISTRICT, url, AMQP_URI=admin_uri, TONGBAN_NETWORK=str(network)))
    container.start()
    message = invalid_record()
    message.update(message_id=contract.new_message_id(), sender=LONE_VILLAGE)
    with Connection(village_uri) as village:
        Producer(village.channel()).publish(
            message, exchange=cases_exchange, routing_key=LONE_DISTRICT, serializer="json", delivery_mode=2,
            message_id=message["message_id"], user_id=broker_user(LONE_VILLAGE), mandatory=True)

    with Connection(admin_uri) as admin:
        queue = dead_letters_of(station_inbox(LONE_DISTRICT).name)(admin.default_channel)
        deadline = time.monotonic() + 20
        got = None
        while got is None and time.monotonic() < deadline:
            got = queue.get(no_ack=True)
            if got is None:
                time.sleep(0.2)
    assert got is not None, "the invalid message did not reach the dead-letter queue"
    reason = got.headers[ERROR_HEADER]
    assert reason.startswith(f"invalid case.record from station {LONE_VILLAGE}: ")
    assert "body.case.revision: Not a valid integer." in reason
    assert "body.case.case_no: Missing data for required field." in reason
    assert json.loads(got.body)["message_id"] == message["message_id"]
    assert counts(station.database, Case, ProcessedMessage, OutboxMessage) == {
        "cases": 0, "processed_messages": 0, "outbox": 0}


# -- what this release sends ---------------------------------------------------------------
def test_every_message_this_release_sends_validates_against_its_schema():
    """The whole recorded flow, run again with this release: every message validates,
    is of this version, and the decided results travel as case.result."""
    import tests.data.messages.capture as capture
    with contextlib.ExitStack() as stack:
        net = capture.run({code: stack.enter_context(databases.scratch_databases.database())
                           for code in capture.STATIONS})
    assert {sent.message["kind"] for sent in net.sent} == set(contract.KINDS)
    for sent in net.sent:
        assert sent.message["schema"] == contract.SCHEMA_VERSION
        assert contract.outgoing_errors(sent.message) == {}, sent.message["kind"]
    results = [s for s in net.sent if s.message["kind"] == CASE_RESULT]
    assert len(results) == 2 and all(s.case_after["status"] == "result_ready" for s in results)
    assert not any(s.message["kind"] == CASE_HANDOVER and s.message["body"]["case"]["status"] == "result_sent"
                   for s in net.sent)


def test_envelope_builds_a_message_of_this_version():
    message = envelope(CASE_SUPPLEMENT, {"case_no": "x"}, SOUTH_VILLAGE, message_id="m1")
    assert message == {"message_id": "m1", "kind": CASE_SUPPLEMENT, "sender": SOUTH_VILLAGE,
                       "schema": contract.SCHEMA_VERSION, "body": {"case_no": "x"}}


# -- the workflow decides every message of a step ---------------------------------------------
def test_the_district_copy_is_decided_by_the_workflow():
    from tests.test_case_rules import filing, item, workflow
    village, district_code = "445203001201", "445203"
    filed = workflow(village, item()).file(f"{village}-20261123-00001", filing())
    # forwarded to the township: the hand-off, and a copy for the district's record
    assert [(m.to, m.kind) for m in filed.messages] == [("445203001", CASE_HANDOVER), (district_code, CASE_RECORD)]
    assert filed.messages[1].body["case"] is filed.case
    # at the township, the hand-off goes to the district itself: no separate copy
    at_township = workflow("445203001", item()).receive_handover(copy.deepcopy(filed.case), None)
    assert [(m.to, m.kind) for m in at_township.messages] == [(district_code, CASE_HANDOVER)]
    # at the district nothing is copied to itself; the result goes back as case.result
    district = workflow(district_code, item())
    at_district = district.receive_handover(copy.deepcopy(at_township.case), None)
    assert at_district.messages == []
    district.decide(at_district.case, {"step": "review", "outcome": "pass", "department": "civil_affairs",
                                       "operator": "审查员"})
    decided = district.decide(at_district.case, {"step": "approve", "outcome": "pass",
                                                 "department": "civil_affairs", "operator": "审批员"})
    assert [(m.to, m.kind) for m in decided.messages] == [(village, CASE_RESULT)]
    # back at the village: ready for the applicant, and the district's copy says so
    back = workflow(village, item()).receive_result(copy.deepcopy(decided.case), filed.case)
    assert back.case["status"] == "result_ready"
    assert [(m.to, m.kind) for m in back.messages] == [(district_code, CASE_RECORD)]


# -- the case record of an online application (issue 16) -----------------------------------
def online_case_with_files():
    """A fully online case (全程网办): a supplement asked and uploaded, passed online,
    decided at the district, its result posted; two uploaded files listed."""
    import hashlib
    from tests.test_pre_review_rules import DISTRICT as DISTRICT_16, TOWNSHIP, Clock, MONDAY, application, workflow
    clock = Clock(MONDAY)
    village = workflow("445203001201", clock)
    case = village.apply_online("445203001201-20261123-00001", application(
        code="MZ-005", materials=("M01", "M02"), delivery={"method": "post", "address": "东山村幸福路8号"})).case
    case = village.answer_pre_review(case, {"answer": "supplement", "materials": ["M02"], "reason": "身份证照片不清晰"},
                                     "王窗口").case
    case = village.resubmit_online(case, ["M02"]).case
    case = village.answer_pre_review(case, {"answer": "pass_online"}, "王窗口").case
    case["files"] = [{"sha256": hashlib.sha256(content).hexdigest(), "material": material,
                      "media_type": media_type, "size": len(content)}
                     for material, media_type, content in (("M01", "application/pdf", b"%PDF-1.4 form"),
                                                           ("M02", "image/jpeg", b"\xff\xd8\xff id card"))]
    case = workflow(TOWNSHIP, clock).receive_handover(case, None).case
    district = workflow(DISTRICT_16, clock)
    case = district.receive_handover(case, None).case
    case = district.decide(case, {"step": "approve", "outcome": "pass", "department": "civil_affairs",
                                  "operator": "陈审批"}).case
    case = village.receive_result(case, None).case
    return village.deliver(case, "王窗口", tracking_no="SF1234567890").case


def test_an_online_pre_reviewed_case_with_files_validates_and_round_trips():
    case = online_case_with_files()
    assert case["channel"] == "online" and case["visits"] == 0 and case["online"]["mode"] == "full"
    assert [a["answer"] for a in case["pre_review"]["answers"]] == ["supplement", "pass_online"]
    assert case["delivery"]["method"] == "post" and len(case["files"]) == 2
    # issue 16's fields are declared, not merely kept as unknown ones
    for field in ("visits", "channel", "online", "pre_review", "delivery", "files"):
        assert field in contract.CaseRecordSchema._declared_fields, field
    message = contract.dump_message(CASE_RECORD, {"case": case}, SOUTH_VILLAGE)
    assert contract.outgoing_errors(message) == {}
    loaded = contract.load_message(json.loads(json.dumps(message, ensure_ascii=False)))
    assert loaded["body"]["case"] == case
    # and what is declared is checked: a wrong answer, delivery or visit count names its field
    for path, value, field in ((("pre_review", "answers", 0, "answer"), "maybe", "answer"),
                               (("delivery", "method"), "pigeon", "method"),
                               (("online", "delivery", "method"), "pigeon", "method"),
                               (("visits",), -1, "visits"),
                               (("files", 0, "sha256"), "not-a-digest", "sha256")):
        broken = copy.deepcopy(message)
        target = broken["body"]["case"]
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
        with pytest.raises(contract.InvalidMessage) as refused:
            contract.load_message(broken)
        assert field in json.dumps(refused.value.details), path
