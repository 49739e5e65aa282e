"""The case desk (services/cases/desk.py) in one process: a station's database, the
sample catalogue and a recording relay, no broker. Covers what one station decides by
itself: the materials check, refused filings, request ids, messages handled once,
supplements that wait for their case, and who may do what."""
import pytest

from shared.auth import roles
from shared.cases.separation import RULE_ACCEPTOR, RULE_REVIEWER
from shared.exceptions import Conflict, Forbidden, InvalidInput, NotFound, Unprocessable
from shared.messages import CASE_HANDOVER, CASE_RECORD, CASE_SUPPLEMENT, envelope
from tests.support.inprocess import (  # noqa: F401 (station_factory is a fixture)
    DISTRICT, NORTH_VILLAGE, SOUTH, SOUTH_VILLAGE, applicant, filing, station_factory,
)

ALL_MZ_002 = ["M01", "M02", "M03", "M04", "M05"]


def actions(case):
    return [(h["station"], h["action"], h["to_status"]) for h in case["history"]]


@pytest.fixture
def village(station_factory):
    return station_factory(SOUTH_VILLAGE)


@pytest.fixture
def agent(village):
    return village.user(roles.VILLAGE_AGENT, username="agent")


# -- the materials check --------------------------------------------------------------------
def test_a_complete_filing_is_accepted_and_forwarded_with_one_copy_for_the_district(village, agent):
    case = village.desk.file(filing("MZ-002", ALL_MZ_002), agent)
    assert case["acceptance"] == "accepted" and case["status"] == "forwarded"
    assert case["notice"]["title"] == "受理通知书" and case["due_date"]
    assert case["case_no"].startswith(f"{SOUTH_VILLAGE}-") and case["query_code"]
    assert actions(case) == [(SOUTH_VILLAGE, "file", "accepted"), (SOUTH_VILLAGE, "forward", "forwarded")]
    handovers = village.relay.of_kind(CASE_HANDOVER)
    assert [(m["to"], m["body"]["case"]["case_no"]) for m in handovers] == [(SOUTH, case["case_no"])]
    assert [m["to"] for m in village.relay.of_kind(CASE_RECORD)] == [DISTRICT]
    assert all(m["sender"] == SOUTH_VILLAGE for m in village.relay.sent)
    assert village.outbox_count() == 2  # committed with the case, then marked sent


def test_missing_core_materials_give_one_notice_listing_all_and_a_supplement_accepts(village, agent):
    case = village.desk.file(filing("SJ-001", ["M01"]), agent)
    assert case["status"] == "needs_supplement" and case["acceptance"] is None
    assert case["notice"]["title"] == "一次性告知书" and case["notice"]["missing"] == ["M02", "M03"]
    assert case["due_date"] is None  # the clock has not started
    assert village.relay.of_kind(CASE_HANDOVER) == []  # nothing leaves a waiting case
    supplemented = village.desk.supplement(case["case_no"], {"materials": ["M02", "M03"]}, agent)
    assert supplemented["acceptance"] == "accepted" and supplemented["status"] == "forwarded"
    assert [a[2] for a in actions(supplemented)] == ["needs_supplement", "accepted", "forwarded"]
    with pytest.raises(Conflict, match="needs no supplement"):
        village.desk.supplement(case["case_no"], {"materials": ["M03"]}, agent)


def test_acceptance_with_deficiency_sets_a_due_date_for_the_missing_secondary_material(village, agent):
    case = village.desk.file(filing("SJ-001", ["M01", "M02"], deficiency_promise=True), agent)
    assert case["acceptance"] == "accepted_with_deficiency"
    assert [m["code"] for m in case["deficiency"]["missing"]] == ["M03"] and case["deficiency"]["due_date"]
    assert any("容缺受理" in line for line in case["notice"]["lines"])
    assert actions(case)[0] == (SOUTH_VILLAGE, "file", "accepted_with_deficiency")


def test_acceptance_by_commitment_at_a_township(station_factory):
    township = station_factory(SOUTH)
    staff = township.user(roles.TOWNSHIP_STAFF, username="staff")
    case = township.desk.file(filing("SJ-002", [], commitment=True), staff)
    assert case["acceptance"] == "accepted_by_commitment" and case["status"] == "forwarded"
    assert any("告知承诺" in line for line in case["notice"]["lines"])
    # a township's hand-off to the district is the district's copy: no separate record
    assert [m["to"] for m in township.relay.sent] == [DISTRICT]
    assert township.relay.sent[0]["kind"] == CASE_HANDOVER


def test_an_ineligible_applicant_is_returned_with_a_written_reason_and_nothing_moves_it(village, agent):
    case = village.desk.file(filing("MZ-005", ["M01", "M02", "M03"]), agent)  # needs 80 years of age
    assert case["status"] == "returned" and case["notice"]["title"].startswith("退回")
    assert "未满80周岁" in case["notice"]["reason"]
    with pytest.raises(Conflict):
        village.desk.supplement(case["case_no"], {"materials": ["M01"]}, agent)
    assert village.desk.get(case["case_no"], agent)["status"] == "returned"


def test_the_counter_returns_a_case_waiting_for_materials(village, agent):
    case = village.desk.file(filing("SJ-001", ["M01"]), agent)
    returned = village.desk.return_case(case["case_no"], {"reason": "申请人不再办理，撤回申请"}, agent)
    assert returned["status"] == "returned" and returned["notice"]["reason"] == "申请人不再办理，撤回申请"


# -- refused filings ----------------------------------------------------------------------------
@pytest.mark.parametrize("change,error,fragment", [
    ({"item_code": "XX-999"}, NotFound, "XX-999"),
    ({"applicant": {"id_number": "449902196203140000"}}, InvalidInput, "check digit"),
    ({"materials": ["M01", "M77"]}, InvalidInput, "M77"),
    ({"surprise": 1}, InvalidInput, "surprise"),
    ({"applicant": {"residence": "110101001001"}}, InvalidInput, "applicant.residence"),
    ({"request_id": "x y"}, InvalidInput, "request_id"),
])
def test_a_bad_filing_is_refused_naming_the_field_and_nothing_is_stored(village, agent, change, error, fragment):
    request = filing("MZ-002", ["M01"])
    for key, value in change.items():
        request[key] = {**request[key], **value} if isinstance(value, dict) and key in request else value
    with pytest.raises(error) as refused:
        village.desk.file(request, agent)
    assert fragment in refused.value.message
    assert village.case_count(agent) == 0 and village.outbox_count() == 0 and village.relay.sent == []


def test_a_retired_item_cannot_be_filed(station_factory):
    from shared.catalogue.editing import CatalogueEditor
    from shared.catalogue.store import CatalogueStore
    village = station_factory(NORTH_VILLAGE)
    with village.database.transaction() as session:
        CatalogueEditor(CatalogueStore(session), set(village.network.departments), village.desk.clock).retire(
            "MZ-007", "测试目录")
    agent = village.user(roles.VILLAGE_AGENT, username="agent")
    with pytest.raises(Conflict, match="retired"):
        village.desk.file(filing("MZ-007", ["M01", "M02", "M03", "M04"], residence=NORTH_VILLAGE), agent)
    assert village.case_count(agent) == 0


# -- request ids --------------------------------------------------------------------------------
def test_a_filing_sent_twice_with_its_request_id_makes_one_case(village, agent):
    body = filing("MZ-002", ALL_MZ_002, request_id="counter-7f3a9c21-0001")
    first, again = village.desk.file(body, agent), village.desk.file(dict(reversed(list(body.items()))), agent)
    assert again["case_no"] == first["case_no"] and again["revision"] == first["revision"]
    assert first["query_code"] and again["query_code"] is None  # the query code is shown once
    assert village.case_count(agent) == 1 and len(village.relay.of_kind(CASE_HANDOVER)) == 1
    other = village.desk.file({**body, "request_id": "counter-7f3a9c21-0002"}, agent)
    assert other["case_no"] != first["case_no"] and village.case_count(agent) == 2


def test_a_request_id_reused_for_another_body_or_by_another_user_is_refused(village, agent):
    body = filing("MZ-002", ALL_MZ_002, request_id="counter-5b1e-reused")
    first = village.desk.file(body, agent)
    with pytest.raises(Unprocessable, match="counter-5b1e-reused") as refused:
        village.desk.file({**body, "applicant": applicant()}, agent)
    assert "another filing" in refused.value.message and first["case_no"] in refused.value.message
    colleague = village.user(roles.VILLAGE_AGENT, username="agent.b")
    with pytest.raises(Conflict, match="another user"):
        village.desk.file(body, colleague)
    assert village.case_count(agent) == 1
    assert village.desk.get(first["case_no"], agent)["applicant"]["name"] == body["applicant"]["name"]


# -- messages from other stations ---------------------------------------------------------------
def test_a_hand_off_delivered_twice_is_handled_once(station_factory):
    village, township = station_factory(SOUTH_VILLAGE), station_factory(SOUTH)
    agent = village.user(roles.VILLAGE_AGENT, username="agent")
    case = village.desk.file(filing("MZ-004", ["M01", "M02", "M03", "M04"]), agent)  # decided at the township
    handover = village.relay.of_kind(CASE_HANDOVER, to=SOUTH)[0]
    township.receive(handover)
    township.receive(handover)  # the broker delivers it again
    staff = township.user(roles.TOWNSHIP_STAFF, username="staff")
    held = township.desk.get(case["case_no"], staff)
    assert held["holder_station"] == SOUTH and held["status"] == "pending_review"
    assert [a[1] for a in actions(held)].count("receive") == 1
    assert len(township.relay.of_kind(CASE_RECORD, to=DISTRICT)) == 1  # its record is sent once too
    assert township.case_count(staff) == 1


def test_an_older_copy_of_a_case_changes_nothing(station_factory):
    village, township = station_factory(SOUTH_VILLAGE), station_factory(SOUTH)
    agent = village.user(roles.VILLAGE_AGENT, username="agent")
    case = village.desk.file(filing("MZ-004", ["M01", "M02", "M03", "M04"]), agent)
    handover = village.relay.of_kind(CASE_HANDOVER, to=SOUTH)[0]
    township.receive(handover)
    stale = envelope(CASE_HANDOVER, handover["body"], SOUTH_VILLAGE)  # the same copy, republished
    township.receive(stale)
    staff = township.user(roles.TOWNSHIP_STAFF, username="staff")
    assert [a[1] for a in actions(township.desk.get(case["case_no"], staff))].count("receive") == 1


def test_a_supplement_arriving_before_its_case_is_applied_when_the_hand_off_arrives(station_factory):
    village, township = station_factory(SOUTH_VILLAGE), station_factory(SOUTH)
    agent = village.user(roles.VILLAGE_AGENT, username="agent")
    case = village.desk.file(filing("MZ-004", ["M01", "M02", "M03"], deficiency_promise=True), agent)
    assert case["acceptance"] == "accepted_with_deficiency" and case["holder_station"] == SOUTH
    village.desk.supplement(case["case_no"], {"materials": ["M04"]}, agent)  # at the filing counter
    supplement = village.relay.of_kind(CASE_SUPPLEMENT, to=SOUTH)
    assert [m["body"]["materials"] for m in supplement] == [["M04"]]
    township.receive(supplement[0])  # overtakes the hand-off: waits at the township
    staff = township.user(roles.TOWNSHIP_STAFF, username="staff")
    with pytest.raises(NotFound):
        township.desk.get(case["case_no"], staff)
    township.receive(village.relay.of_kind(CASE_HANDOVER, to=SOUTH)[0])
    held = township.desk.get(case["case_no"], staff)
    assert held["deficiency"]["missing"] == [] and "M04" in held["materials_submitted"]
    assert any(h["action"] == "supplement" and "容缺材料已补交" in h["reason"] for h in held["history"])


def test_a_supplement_from_a_station_that_did_not_file_the_case_is_refused(station_factory):
    from shared.trust.entitlement import NotEntitled
    village, township = station_factory(SOUTH_VILLAGE), station_factory(SOUTH)
    agent = village.user(roles.VILLAGE_AGENT, username="agent")
    case = village.desk.file(filing("MZ-004", ["M01", "M02", "M03"], deficiency_promise=True), agent)
    township.receive(village.relay.of_kind(CASE_HANDOVER, to=SOUTH)[0])
    forged = envelope(CASE_SUPPLEMENT, {"case_no": case["case_no"], "materials": ["M04"], "operator": "某人",
                                        "station": NORTH_VILLAGE, "at": "2026-03-02T10:00:00+08:00"}, NORTH_VILLAGE)
    with pytest.raises(NotEntitled):
        township.receive(forged)
    staff = township.user(roles.TOWNSHIP_STAFF, username="staff")
    assert township.desk.get(case["case_no"], staff)["deficiency"]["missing"] != []


# -- who may do what ----------------------------------------------------------------------------
def test_roles_that_do_not_work_at_a_counter_cannot_file_or_supplement(station_factory):
    district = station_factory(DISTRICT)
    clerk = district.user(roles.WINDOW_CLERK, username="clerk")
    case = district.desk.file(filing("SJ-001", ["M01"]), clerk)
    for user in (district.user(roles.REVIEWER, "civil_affairs"), district.user(roles.SUPERVISOR, username="supervisor"),
                 district.user(roles.ADMINISTRATOR, username="admin")):
        with pytest.raises(Forbidden, match="不能受理办件"):
            district.desk.file(filing("MZ-002", ALL_MZ_002), user)
        with pytest.raises(Forbidden, match="不能补交材料"):
            district.desk.supplement(case["case_no"], {"materials": ["M02"]}, user)
    assert district.case_count(clerk) == 1


def test_a_department_decides_only_for_itself_and_only_at_the_step_of_its_role(station_factory):
    district = station_factory(DISTRICT)
    clerk = district.user(roles.WINDOW_CLERK, username="clerk")
    case = district.desk.file(filing("SJ-001", ["M01", "M02", "M03"]), clerk)
    assert case["status"] == "pending_review"
    review = {"step": "review", "outcome": "pass", "department": "market_regulation"}
    with pytest.raises(Forbidden, match="本部门"):
        district.desk.decide(case["case_no"], review, district.user(roles.REVIEWER, "civil_affairs"))
    with pytest.raises(Forbidden, match="审查决定"):
        district.desk.decide(case["case_no"], review, district.user(roles.APPROVER, "market_regulation"))
    with pytest.raises(Forbidden, match="只能查看本部门的办件"):
        district.desk.get(case["case_no"], district.user(roles.REVIEWER, "civil_affairs"))
    with pytest.raises(Forbidden, match="不能作出审批决定"):
        district.desk.decide(case["case_no"], review, clerk)
    reviewed = district.desk.decide(case["case_no"], review, district.user(roles.REVIEWER, "market_regulation"))
    assert reviewed["status"] == "pending_approval"


def test_only_the_district_decides_extensions(station_factory):
    township = station_factory(SOUTH)
    staff = township.user(roles.TOWNSHIP_STAFF, username="staff")
    case = township.desk.file(filing("MZ-004", ["M01", "M02", "M03", "M04"]), staff)
    with pytest.raises(Forbidden, match="district"):
        township.desk.decide_extension(case["case_no"], {"granted": True, "reason": "同意延期"}, staff)


def test_a_case_decided_elsewhere_cannot_be_decided_at_the_filing_station(village, agent):
    case = village.desk.file(filing("MZ-002", ALL_MZ_002), agent)  # held by the township now
    colleague = village.user(roles.VILLAGE_AGENT, username="agent.b")  # not the acceptor
    with pytest.raises(Conflict):
        village.desk.decide(case["case_no"], {"step": "review", "outcome": "pass", "department": "civil_affairs"},
                            colleague)
    assert village.desk.get(case["case_no"], agent)["revision"] == case["revision"]


def test_the_acceptor_does_not_review_and_the_reviewer_does_not_approve(station_factory):
    township = station_factory(SOUTH)
    staff, staff_b, staff_c = (township.user(roles.TOWNSHIP_STAFF, username=u) for u in ("staff", "staff.b", "staff.c"))
    case = township.desk.file(filing("MZ-004", ["M01", "M02", "M03", "M04"]), staff)
    review = {"step": "review", "outcome": "pass", "department": "civil_affairs"}
    approve = {**review, "step": "approve"}
    with pytest.raises(Forbidden, match=RULE_ACCEPTOR):
        township.desk.decide(case["case_no"], review, staff)
    township.desk.decide(case["case_no"], review, staff_b)
    with pytest.raises(Forbidden, match=RULE_REVIEWER):
        township.desk.decide(case["case_no"], approve, staff_b)
    with pytest.raises(Forbidden, match=RULE_ACCEPTOR):
        township.desk.decide(case["case_no"], approve, staff)
    approved = township.desk.decide(case["case_no"], approve, staff_c)
    assert approved["status"] not in ("pending_review", "pending_approval")
