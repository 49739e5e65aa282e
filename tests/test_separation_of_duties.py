"""Two people for 一审一核 (受审分离, shared/cases/separation.py): whoever accepted a two-step
or joint case may not review or approve it, and its reviewer may not approve it;
immediate items are still decided on the spot by whoever accepted them. First the rule
on cases the workflow makes, without a broker; then over the API on a small network,
doing what the village agent of the issue did (file, approve and deliver their own
case), and the desk's note where nobody else may take the step."""
import datetime as dt
from pathlib import Path

import pytest

from deploy.users import _accounts_do
from shared.auth import permissions, roles
from shared.cases import separation, states, views
from shared.cases.citizen_id import make as make_id
from shared.exceptions import Forbidden
from tests.test_case_network import desk_session, running_case_network, wait_until
from tests.test_case_rules import filing, item, workflow

TOWNSHIP, VILLAGE = "445203001", "445203001201"
TWO_STEP = item(code="MZ-004", name="临时救助申请", authority_tier="township")


def person(username, station=TOWNSHIP, role=roles.TOWNSHIP_STAFF, department=None, active=True):
    return {"username": username, "name": f"测试{username}", "role": role, "department": department,
            "station": station, "active": active}


STAFF, STAFF_B, STAFF_C = person("staff"), person("staff.b"), person("staff.c")


def filed_by(user, request=None, wf=None, code=TWO_STEP):
    """File as the desk does: the filing's agent is the logged-in user's signature."""
    wf = wf or workflow(user["station"], code)
    return wf.file(f"{user['station']}-20261123-00001", {**(request or filing(code="MZ-004")),
                                                         "agent": roles.signed(user)}).case


def decide(case, user, step, department="civil_affairs", outcome="pass", wf=None):
    """What the case desk does: the permission check on the case, then the workflow."""
    permissions.can_decide(user, case, step, department)
    wf = wf or workflow(user["station"], TWO_STEP)
    return wf.decide(case, {"step": step, "outcome": outcome, "department": department,
                            "operator": roles.signed(user), "reason": ""}).case


def refused(case, user, step, department="civil_affairs"):
    with pytest.raises(Forbidden) as refusal:
        permissions.can_decide(user, case, step, department)
    return refusal.value.message


# -- the rule, without a broker ------------------------------------------------------------------
def test_the_acceptor_neither_reviews_nor_approves_and_the_reviewer_does_not_approve():
    case = filed_by(STAFF)
    assert case["status"] == states.PENDING_REVIEW and case["deciding_station"] == TOWNSHIP
    assert refused(case, STAFF, "review").startswith("受审分离：受理人不得审查或审批本人受理的办件")
    assert "受理人不得审查或审批" in refused(case, STAFF, "approve")
    case = decide(case, STAFF_B, "review")
    assert case["status"] == states.PENDING_APPROVAL
    assert refused(case, STAFF_B, "approve").startswith("受审分离：审查人不得审批本人审查的办件")
    assert "受理人" in refused(case, STAFF, "approve")
    case = decide(case, STAFF_C, "approve")
    assert case["status"] == states.RESULT_READY and case["result"]["outcome"] == "approved"
    operators = [d["operator"] for d in case["decisions"]]
    assert operators == [roles.signed(STAFF_B), roles.signed(STAFF_C)]


def test_a_rejection_is_a_decision_too():
    case = filed_by(STAFF)
    refused(case, STAFF, "review")
    with pytest.raises(Forbidden):
        decide(case, STAFF, "review", outcome="reject")


def test_immediate_items_are_decided_on_the_spot_by_whoever_accepted_them():
    immediate = item(code="RS-001", name="就业失业登记", processing_type="immediate", decision_steps=["approve"],
                     promised_limit_days=0, authority_tier="township")
    case = filed_by(STAFF, filing(code="RS-001"), wf=workflow(TOWNSHIP, immediate), code=immediate)
    assert case["status"] == states.PENDING_APPROVAL and not separation.applies(case)
    case = decide(case, STAFF, "approve", wf=workflow(TOWNSHIP, immediate))
    assert case["status"] == states.RESULT_READY
    # a one-step item is one person's decision as the catalogue declares it (documented)
    one_step = item(code="QX-001", name="一步审批事项", decision_steps=["approve"], authority_tier="township")
    case = filed_by(STAFF, filing(code="QX-001"), wf=workflow(TOWNSHIP, one_step), code=one_step)
    assert not separation.applies(case)
    permissions.can_decide(STAFF, case, "approve", "civil_affairs")


def test_whoever_completed_the_materials_accepted_the_case_as_well():
    wf = workflow(TOWNSHIP, TWO_STEP)
    case = filed_by(STAFF, filing(["M01"], code="MZ-004"), wf=wf)
    assert case["status"] == states.NEEDS_SUPPLEMENT
    case = wf.supplement(case, ["M02", "M03"], roles.signed(STAFF_B)).case
    assert case["status"] == states.PENDING_REVIEW
    assert separation.acceptors(case, TOWNSHIP) == {"staff", "staff.b"}
    refused(case, STAFF, "review")
    refused(case, STAFF_B, "review")
    case = decide(case, STAFF_C, "review")
    # nobody of the three may approve now: the station says so (see the desk tests below)
    for user in (STAFF, STAFF_B, STAFF_C):
        refused(case, user, "approve")


def test_a_case_filed_at_a_village_has_no_acceptor_at_the_deciding_township():
    """The village agent accepted it at another station; the township received it from
    the network, so any of its users may review it and another approve it."""
    agent = person("staff", station=VILLAGE, role=roles.VILLAGE_AGENT)  # the same username, elsewhere
    at_village = filed_by(agent, wf=workflow(VILLAGE, TWO_STEP))
    assert at_village["status"] == states.FORWARDED
    case = workflow(TOWNSHIP, TWO_STEP).receive_handover(at_village, None).case
    assert case["status"] == states.PENDING_REVIEW and case["history"][-1]["actor"] == "system"
    assert separation.acceptors(case, VILLAGE) == {"staff"} and separation.acceptors(case, TOWNSHIP) == set()
    case = decide(case, STAFF, "review")
    assert "审查人不得审批" in refused(case, STAFF, "approve")
    case = decide(case, STAFF_B, "approve")
    assert case["status"] == states.RESULT_SENT and case["holder_station"] == VILLAGE


def test_joint_cases_the_acceptor_gives_no_departments_decision():
    joint = item(code="NY-001", name="农村村民宅基地审批", processing_type="joint",
                 joint_departments=["agriculture", "natural_resources"], department="agriculture",
                 authority_tier="township")
    wf = workflow(TOWNSHIP, joint)
    case = filed_by(STAFF, filing(code="NY-001"), wf=wf, code=joint)
    assert case["status"] == states.JOINT_REVIEW
    for department in joint["joint_departments"]:
        assert "受理人" in refused(case, STAFF, "approve", department)
    # no review step in a joint case: one colleague may give both departments' decisions
    case = decide(case, STAFF_B, "approve", "agriculture", wf=wf)
    case = decide(case, STAFF_B, "approve", "natural_resources", wf=wf)
    assert case["status"] == states.RESULT_READY


def test_at_the_district_the_rule_holds_by_person_not_by_role():
    """A reviewer's account given the approver's role still may not approve what it reviewed."""
    district = "445203"
    clerk = person("clerk", station=district, role=roles.WINDOW_CLERK)
    reviewer = person("civil_affairs.reviewer", station=district, role=roles.REVIEWER, department="civil_affairs")
    wf = workflow(district, item())
    case = filed_by(clerk, filing(), wf=wf, code=item())
    case = decide(case, reviewer, "review", wf=wf)
    promoted = {**reviewer, "role": roles.APPROVER}
    assert "审查人不得审批" in refused(case, promoted, "approve")
    approver = person("civil_affairs.approver", station=district, role=roles.APPROVER, department="civil_affairs")
    assert decide(case, approver, "approve", wf=wf)["status"] == states.RESULT_READY


def test_signatures_are_read_back_to_usernames():
    assert separation.username_of(roles.signed({"name": "林晓燕", "username": "agent.b"})) == "agent.b"
    assert separation.username_of("张（小）三（zs-1）") == "zs-1"
    assert separation.username_of("system") is None
    assert separation.username_of(None) is None


# -- the sample staff and the sample client --------------------------------------------------------
def test_villages_and_townships_have_three_people_who_decide_and_the_client_uses_them_in_turn():
    from deploy.station_client import acting_username
    from shared.auth.staffing import station_staff
    from tests.test_case_rules import NETWORK
    for code, role in ((TOWNSHIP, roles.TOWNSHIP_STAFF), (VILLAGE, roles.VILLAGE_AGENT)):
        people = [p for p in station_staff(NETWORK, NETWORK.station(code)) if p["role"] == role]
        assert len(people) == 3 and len({p["name"] for p in people}) == 3
        assert people == [p for p in station_staff(NETWORK, NETWORK.station(code)) if p["role"] == role]
        counter = people[0]["username"]
        path = "/api/cases/x/decisions"
        reviewer = acting_username(code, "POST", path, {"step": "review", "department": "civil_affairs"})
        approver = acting_username(code, "POST", path, {"step": "approve", "department": "civil_affairs"})
        assert acting_username(code, "POST", "/api/cases", {}) == counter  # files (accepts)
        assert len({counter, reviewer, approver}) == 3 and {reviewer, approver} <= {p["username"] for p in people}


# -- the desk: no form for the acceptor or reviewer, and a note when nobody else can ---------------
def test_the_desk_offers_the_form_to_colleagues_only_and_names_them():
    case = filed_by(STAFF)
    staff = [STAFF, STAFF_B, STAFF_C, person("admin", role=roles.ADMINISTRATOR)]
    actions = views.available_actions(case, STAFF, TOWNSHIP)
    assert views.available_actions(case, STAFF_B, TOWNSHIP)["review"]["departments"] == ["civil_affairs"]
    assert "review" not in actions and "suspend" in actions  # the acceptor may still ask for materials
    note = views.decision_note(case, STAFF, TOWNSHIP, staff)
    assert note.startswith("受审分离：受理人不得审查或审批本人受理的办件")
    assert roles.signed(STAFF_B) in note and roles.signed(STAFF_C) in note
    assert views.decision_note(case, STAFF_B, TOWNSHIP, staff) is None
    assert views.waiting_for_nobody([case], TOWNSHIP, staff) == []


def test_a_station_without_another_eligible_user_says_so():
    case = decide(filed_by(STAFF), STAFF_B, "review")
    # staff.c is away (deactivated): nobody at the station may approve
    staff = [STAFF, STAFF_B, person("staff.c", active=False)]
    for user in (STAFF, STAFF_B):
        note = views.decision_note(case, user, TOWNSHIP, staff)
        assert note.endswith("本站暂无其他可审批人员，请联系乡镇/区级。"), note
        assert "approve" not in views.available_actions(case, user, TOWNSHIP)
    stuck = views.waiting_for_nobody([case], TOWNSHIP, staff)
    assert [no for no, _ in stuck] == [case["case_no"]]
    assert stuck[0][1].startswith("本站暂无其他可审批人员，请联系乡镇/区级（受审分离")
    assert views.waiting_for_nobody([case], TOWNSHIP, [*staff, STAFF_C]) == []


# -- over the API, on a small network ------------------------------------------------------------
NETWORK_FILE = Path(__file__).parent / "cases_data" / "network_separation.yaml"
N_DISTRICT, N_TOWNSHIP, N_VILLAGE = "449911", "449911001", "449911001201"
MZ_004 = ["M01", "M02", "M03", "M04"]  # 临时救助申请: two steps, delegated to townships


@pytest.fixture(scope="module")
def net(amqp_uri):
    with running_case_network(network_path=NETWORK_FILE) as network:
        yield network


def applying(code, materials, residence=N_VILLAGE):
    return {"item_code": code, "materials": materials,
            "applicant": {"name": "黄秀英", "id_number": make_id(N_DISTRICT, dt.date(1962, 3, 14), next(_serial)),
                          "phone": "13800138000", "residence": residence}}


_serial = iter(range(100, 999))


def decision(step, outcome="pass", department="civil_affairs"):
    return {"step": step, "outcome": outcome, "department": department,
            "reason": "" if outcome == "pass" else "不符合条件"}


def decide_as(net, code, case_no, username, step, department="civil_affairs"):
    return net.call("POST", code, f"/api/cases/{case_no}/decisions", decision(step, department=department),
                    as_user=username)


def assert_refused(net, code, case_no, username, step, rule, department="civil_affairs"):
    before = net.case(code, case_no)
    response = decide_as(net, code, case_no, username, step, department)
    assert response.status_code == 403, response.text
    assert response.json()["error"] == "FORBIDDEN" and rule in response.json()["message"], response.text
    after = net.case(code, case_no)
    assert (after["status"], after["revision"], after["decisions"]) == \
        (before["status"], before["revision"], before["decisions"])  # nothing changed


ACCEPTOR_RULE = "受审分离：受理人不得审查或审批本人受理的办件"
REVIEWER_RULE = "受审分离：审查人不得审批本人审查的办件"


def test_the_township_filer_may_not_review_or_approve_their_own_case(net):
    case = net.call("POST", N_TOWNSHIP, "/api/cases", applying("MZ-004", MZ_004), as_user="staff").json()
    case_no = case["case_no"]
    assert case["status"] == "pending_review" and case["deciding_station"] == N_TOWNSHIP
    assert_refused(net, N_TOWNSHIP, case_no, "staff", "review", ACCEPTOR_RULE)
    assert_refused(net, N_TOWNSHIP, case_no, "staff", "approve", ACCEPTOR_RULE)
    assert decide_as(net, N_TOWNSHIP, case_no, "staff.b", "review").json()["status"] == "pending_approval"
    assert_refused(net, N_TOWNSHIP, case_no, "staff.b", "approve", REVIEWER_RULE)
    assert_refused(net, N_TOWNSHIP, case_no, "staff", "approve", ACCEPTOR_RULE)
    approved = decide_as(net, N_TOWNSHIP, case_no, "staff.c", "approve")
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "result_ready"
    assert [d["operator"].rsplit("（", 1)[1] for d in approved.json()["decisions"]] == ["staff.b）", "staff.c）"]


def test_a_village_agent_no_longer_files_approves_and_delivers_their_own_two_step_case(net):
    """The issue's finding, with a two-step item the district delegates to villages."""
    added = net.call("POST", N_DISTRICT, "/api/catalogue/items", {
        "code": "CJ-901", "name": "村级两步审批测试事项", "department": "civil_affairs", "category": "public_service",
        "processing_type": "promised", "legal_limit_days": 10, "promised_limit_days": 5,
        "authority_tier": "village", "decision_steps": ["review", "approve"],
        "materials": [{"code": "M01", "name": "申请表", "kind": "core"}]}, as_user="admin")
    assert added.status_code == 201, added.text
    version = net.get(N_DISTRICT, "/api/catalogue")["version"]
    wait_until(lambda: net.get(N_VILLAGE, "/api/catalogue")["version"] == version, 30,
               message="the new item at the village")

    case = net.call("POST", N_VILLAGE, "/api/cases", applying("CJ-901", ["M01"]), as_user="agent").json()
    case_no = case["case_no"]
    assert case["status"] == "pending_review" and case["deciding_station"] == N_VILLAGE
    assert_refused(net, N_VILLAGE, case_no, "agent", "approve", ACCEPTOR_RULE)
    assert_refused(net, N_VILLAGE, case_no, "agent", "review", ACCEPTOR_RULE)
    reviewed = decide_as(net, N_VILLAGE, case_no, "agent.b", "review")
    assert reviewed.status_code == 200, reviewed.text
    assert_refused(net, N_VILLAGE, case_no, "agent.b", "approve", REVIEWER_RULE)
    assert decide_as(net, N_VILLAGE, case_no, "agent.c", "approve").json()["status"] == "result_ready"
    # handing the result over is counter work: the agent who filed it does that
    delivered = net.call("POST", N_VILLAGE, f"/api/cases/{case_no}/deliver", {}, as_user="agent")
    assert delivered.status_code == 200 and delivered.json()["status"] == "completed", delivered.text

    # the third agent is away: nobody at the village may approve the next one, and the
    # desk says so instead of offering the form
    stuck = net.call("POST", N_VILLAGE, "/api/cases", applying("CJ-901", ["M01"]), as_user="agent").json()
    assert decide_as(net, N_VILLAGE, stuck["case_no"], "agent.b", "review").status_code == 200
    _accounts_do(net.settings, N_VILLAGE, lambda accounts: accounts.set_active("agent.c", False))
    url = net.launcher.url_of(N_VILLAGE)
    worklist = desk_session(net, N_VILLAGE, "agent").get(url + "/desk/worklist")
    assert worklist.ok and 'id="separation-notes"' in worklist.text
    assert stuck["case_no"] in worklist.text and "本站暂无其他可审批人员，请联系乡镇/区级" in worklist.text
    page = desk_session(net, N_VILLAGE, "agent.b").get(url + f"/desk/cases/{stuck['case_no']}")
    assert page.ok and 'id="decide-note"' in page.text and 'id="form-decide"' not in page.text
    assert REVIEWER_RULE in page.text and "本站暂无其他可审批人员" in page.text
    assert_refused(net, N_VILLAGE, stuck["case_no"], "agent.b", "approve", REVIEWER_RULE)
    assert_refused(net, N_VILLAGE, stuck["case_no"], "agent", "approve", ACCEPTOR_RULE)


def test_immediate_items_are_still_decided_on_the_spot(net):
    at_village = net.call("POST", N_VILLAGE, "/api/cases", applying("MZ-006", ["M01", "M02"]), as_user="agent").json()
    assert at_village["status"] == "pending_approval" and at_village["deciding_station"] == N_VILLAGE
    done = decide_as(net, N_VILLAGE, at_village["case_no"], "agent", "approve")
    assert done.status_code == 200 and done.json()["status"] == "result_ready", done.text
    at_township = net.call("POST", N_TOWNSHIP, "/api/cases", applying("RS-001", ["M01", "M02"]),
                           as_user="staff").json()
    done = decide_as(net, N_TOWNSHIP, at_township["case_no"], "staff", "approve", "human_resources")
    assert done.status_code == 200 and done.json()["status"] == "result_ready", done.text


def test_a_village_case_is_reviewed_and_approved_by_two_township_users(net):
    """Accepted at the village; at the township nobody accepted it (it came over the
    network), so its first user may review, but then not approve."""
    filed = net.call("POST", N_VILLAGE, "/api/cases", applying("MZ-004", MZ_004), as_user="agent").json()
    case_no = filed["case_no"]
    net.wait_status(N_TOWNSHIP, case_no, "pending_review")
    assert decide_as(net, N_TOWNSHIP, case_no, "staff", "review").status_code == 200
    assert_refused(net, N_TOWNSHIP, case_no, "staff", "approve", REVIEWER_RULE)
    assert decide_as(net, N_TOWNSHIP, case_no, "staff.b", "approve").status_code == 200
    net.wait_status(N_VILLAGE, case_no, "result_ready")
