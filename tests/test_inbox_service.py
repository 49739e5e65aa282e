"""The case inbox service (services/cases/service.py) in one process: nameko's
`worker_factory` builds the service with the station's real case desk and audit inbox
(recording relays, no broker), and each test hands `on_message` what another station's
relay sent. The broker side of the inbox (acknowledging, requeueing, dead-lettering,
proving the sender) needs RabbitMQ and stays in the network tests (tests/test_trust.py,
tests/test_faults.py)."""
import pytest
from nameko.testing.services import worker_factory

from services.access_audit import AuditInbox, AuditTrail, copy_to_district
from services.cases.service import CaseInboxService
from shared.auth import roles
from shared.messages import CASE_HANDOVER, CASE_RECORD, CASE_SUPPLEMENT, envelope
from shared.trust.entitlement import NotEntitled
from tests.support.inprocess import (  # noqa: F401 (station_factory is a fixture)
    DISTRICT, NORTH_VILLAGE, SOUTH, SOUTH_VILLAGE, filing, station_factory,
)


def inbox_of(station):
    return worker_factory(CaseInboxService, desk=station.desk,
                          audit_inbox=AuditInbox(station.database, station.info))


@pytest.fixture
def stations(station_factory):
    """(village, its township); the village has filed a township item (临时救助) with one
    secondary material promised later (容缺)."""
    village, township = station_factory(SOUTH_VILLAGE), station_factory(SOUTH)
    agent = village.user(roles.VILLAGE_AGENT, username="agent")
    case = village.desk.file(filing("MZ-004", ["M01", "M02", "M03"], deficiency_promise=True), agent)
    assert case["holder_station"] == SOUTH
    return village, township, agent, case


def _plain(message):
    return {k: v for k, v in message.items() if k != "to"}


def test_a_hand_off_received_twice_makes_one_case_and_one_record_for_the_district(stations):
    village, township, _, case = stations
    inbox = inbox_of(township)
    handover = _plain(village.relay.of_kind(CASE_HANDOVER, to=SOUTH)[0])
    inbox.on_message(handover)
    inbox.on_message(handover)  # redelivered by the broker
    staff = township.user(roles.TOWNSHIP_STAFF, username="staff")
    held = township.desk.get(case["case_no"], staff)
    assert held["holder_station"] == SOUTH and held["status"] == "pending_review"
    assert [h["action"] for h in held["history"]].count("receive") == 1
    assert [m["to"] for m in township.relay.of_kind(CASE_RECORD)] == [DISTRICT]


def test_a_supplement_that_overtook_its_case_waits_and_is_applied_on_arrival(stations):
    village, township, agent, case = stations
    village.desk.supplement(case["case_no"], {"materials": ["M04"]}, agent)
    inbox = inbox_of(township)
    inbox.on_message(_plain(village.relay.of_kind(CASE_SUPPLEMENT, to=SOUTH)[0]))
    inbox.on_message(_plain(village.relay.of_kind(CASE_SUPPLEMENT, to=SOUTH)[0]))  # and again
    inbox.on_message(_plain(village.relay.of_kind(CASE_HANDOVER, to=SOUTH)[0]))
    held = township.desk.get(case["case_no"], township.user(roles.TOWNSHIP_STAFF, username="staff"))
    assert held["deficiency"]["missing"] == [] and "M04" in held["materials_submitted"]
    assert [h["action"] for h in held["history"]].count("supplement") == 1


def test_a_record_copy_reaches_the_districts_complete_record_once(stations, station_factory):
    village, _, _, case = stations
    district = station_factory(DISTRICT)
    inbox = inbox_of(district)
    record = _plain(village.relay.of_kind(CASE_RECORD, to=DISTRICT)[0])
    inbox.on_message(record)
    inbox.on_message(record)
    supervisor = district.user(roles.SUPERVISOR, username="supervisor")
    known = district.desk.get(case["case_no"], supervisor)
    assert known["revision"] == case["revision"] and known["holder_station"] == SOUTH
    assert district.case_count(supervisor) == 1 and district.relay.sent == []


def test_a_message_a_station_may_not_send_is_refused_and_changes_nothing(stations):
    village, township, _, case = stations
    inbox = inbox_of(township)
    handover = village.relay.of_kind(CASE_HANDOVER, to=SOUTH)[0]
    forged = envelope(CASE_HANDOVER, handover["body"], NORTH_VILLAGE)  # not on the case's route
    with pytest.raises(NotEntitled):
        inbox.on_message(forged)
    assert township.case_count(township.user(roles.TOWNSHIP_STAFF, username="staff")) == 0
    with pytest.raises(ValueError, match="unknown message kind"):
        inbox.on_message(envelope("case.unheard_of", {}, SOUTH_VILLAGE))


def test_access_audit_copies_go_to_the_audit_inbox_once(stations, station_factory):
    village, _, agent, case = stations
    district = station_factory(DISTRICT)
    AuditTrail(village.database, village.info).full_view(agent, case)
    assert copy_to_district(village.relay, village.info) == 1
    copy = _plain(village.relay.of_kind("audit.copy", to=DISTRICT)[0])
    inbox = inbox_of(district)
    inbox.on_message(copy)
    inbox.on_message(copy)
    total, entries = AuditTrail(district.database, district.info).search(station=SOUTH_VILLAGE)
    assert total == 1 and entries[0]["case_no"] == case["case_no"]
    assert district.case_count(district.user(roles.SUPERVISOR, username="supervisor")) == 0  # not a case message
