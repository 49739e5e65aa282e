"""What a user at a station may do with a case and is shown of it (shared/cases/views.py),
without a broker: available_actions for the roles, statuses and stations that matter
(受审分离 and a case held elsewhere included), outstanding materials, the masking of the
case view; then that the offer agrees with the rules: for cases in many states, every
action offered succeeds and every action not offered is refused, trying each the way the
case desk does (services/cases/desk.py: the permission checks, then the workflow; and
for materials handed in at another station, the deciding station's check of the sender).
Last, the web desk and the gateway import in either order (no import cycle)."""
import copy
import datetime as dt
import subprocess
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from shared.auth import permissions, roles
from shared.calendar import WorkingDayCalendar
from shared.cases import citizen_id, query_codes, schemas, states, views
from shared.cases.materials import outstanding
from shared.cases.routing import deciding_departments
from shared.cases.workflow import CaseWorkflow
from shared.exceptions import Conflict, Forbidden, InvalidInput, TransitionForbidden
from shared.messages import CASE_SUPPLEMENT
from shared.stations import DISTRICT, Network, tier_of
from shared.trust import entitlement
from tests.test_case_rules import FakeCatalogue, filing, item

ROOT = Path(__file__).resolve().parent.parent
TZ = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 11, 23, 9, 30, tzinfo=TZ)
# 曲溪 forwards at once; 云路 checks each case passing through before sending it on (初审转报)
NETWORK = Network.from_dict({
    "district": {"code": "445203", "name": "揭东区"},
    "departments": [{"code": c, "name": n} for c, n in
                    [("civil_affairs", "区民政局"), ("housing", "区住房和城乡建设局"), ("ecology", "生态环境分局")]],
    "stations": [
        {"code": "445203", "tier": "district", "name": "区行政服务中心"},
        {"code": "445203001", "tier": "township", "name": "曲溪街道公共服务中心"},
        {"code": "445203001201", "tier": "village", "name": "东山村便民服务站"},
        {"code": "445203100", "tier": "township", "name": "云路镇公共服务中心", "forwarding": "checked"},
        {"code": "445203100201", "tier": "village", "name": "新寮村便民服务站"},
    ]})
DISTRICT_CODE, QUXI, DONGSHAN, YUNLU, XINLIAO = "445203", "445203001", "445203001201", "445203100", "445203100201"

TWO_STEP = item()                                                     # the district decides, review then approve
DELEGATED = item(code="MZ-004", name="临时救助申请", authority_tier="township")  # decided at the township
JOINT = item(code="JS-010", name="建设项目联合审批", department="housing", processing_type="joint",
             joint_departments=["housing", "ecology"], decision_steps=["approve"], allows_deficiency=False)
ITEMS = (TWO_STEP, DELEGATED, JOINT)


def person(username, station, role, department=None):
    return {"username": username, "name": f"测试{username}", "role": role, "department": department,
            "station": station, "active": True}


def roster(station):
    """Everyone who may work at `station`: each role of its tier, department roles for
    two departments, and three township staff (受审分离 needs more than one)."""
    tier = tier_of(station)
    people = [person(role, station, role) for role in roles.ROLES
              if tier in roles.TIERS[role] and role not in roles.DEPARTMENT_ROLES]
    if tier == DISTRICT:
        people += [person(f"{role}.{d}", station, role, d) for role in roles.DEPARTMENT_ROLES
                   for d in ("civil_affairs", "housing", "ecology")]
    if station in (QUXI, YUNLU):
        people += [person(f"staff.{n}", station, roles.TOWNSHIP_STAFF) for n in "bc"]
    return people


def who(station, username):
    return next(p for p in roster(station) if p["username"] == username)


def workflow(station):
    return CaseWorkflow(NETWORK.station(station), NETWORK, FakeCatalogue(*ITEMS), WorkingDayCalendar(), lambda: NOW)


def signed(user):
    return roles.signed(user)


# -- cases in the states that matter, made by the workflow ----------------------------------------
def file_at(station, user, code="MZ-002", materials=("M01", "M02", "M03"), residence=DONGSHAN, **extra):
    request = {**filing(materials=materials, code=code, residence=residence, **extra), "agent": signed(user)}
    return workflow(station).file(f"{station}-20261123-00001", request)


# the workflow's method that takes in a case handed on (the decided case comes back to
# its filing counter as a message of its own kind, issue 14)
RECEIVERS = {"case.handover": "receive_handover", "case.result": "receive_result"}


def hand_over(result):
    """Deliver each hand-off of `result` to its station, until none is left; the case as
    the last station received it (copies for the district are not followed)."""
    case = result.case
    for message in result.messages:
        if message.kind in RECEIVERS:
            receive = getattr(workflow(message.to), RECEIVERS[message.kind])
            case = hand_over(receive(copy.deepcopy(message.body["case"]), None))
    return case


def filed_at_village(**extra):
    """A district item filed at 东山村, forwarded by 曲溪, waiting for review at the district."""
    return hand_over(file_at(DONGSHAN, who(DONGSHAN, roles.VILLAGE_AGENT), **extra))


def decide(case, station, username, step, department=None, outcome="pass"):
    """The decision on a copy of `case` (the workflow changes the case it is given)."""
    case, user = copy.deepcopy(case), who(station, username)
    permissions.can_decide(user, case, step, department or case["item"]["department"])
    return workflow(station).decide(case, {"step": step, "outcome": outcome, "reason": "不符合条件",
                                           "department": department or case["item"]["department"],
                                           "operator": signed(user)})


def scenarios():
    """{name: (case, station)}: a case as a station holds a copy of it."""
    agent = who(DONGSHAN, roles.VILLAGE_AGENT)
    found = {}
    waiting = file_at(DONGSHAN, agent, materials=("M01",)).case
    found["needs supplement, at the filing village"] = (waiting, DONGSHAN)
    forwarded = file_at(DONGSHAN, agent).case
    found["forwarded, at the filing village (held by the township)"] = (forwarded, DONGSHAN)
    deficient = file_at(DONGSHAN, agent, materials=("M01", "M02"), deficiency_promise=True).case
    found["容缺, forwarded, at the filing village"] = (deficient, DONGSHAN)
    at_district = filed_at_village()
    found["pending review, at the district"] = (at_district, DISTRICT_CODE)
    found["pending review, the district's case seen at the filing village"] = (at_district, DONGSHAN)
    found["容缺, pending review, at the district"] = (filed_at_village(materials=("M01", "M02"),
                                                                     deficiency_promise=True), DISTRICT_CODE)
    reviewed = decide(filed_at_village(), DISTRICT_CODE, "reviewer.civil_affairs", "review").case
    found["pending approval, at the district"] = (reviewed, DISTRICT_CODE)
    deficient_reviewed = decide(filed_at_village(materials=("M01", "M02"), deficiency_promise=True),
                                DISTRICT_CODE, "reviewer.civil_affairs", "review").case
    found["容缺, pending approval, at the district"] = (deficient_reviewed, DISTRICT_CODE)
    suspended = workflow(DISTRICT_CODE).suspend(filed_at_village(), ["M02"], "复印件不清晰",
                                                signed(who(DISTRICT_CODE, "reviewer.civil_affairs"))).case
    found["suspended, at the district"] = (suspended, DISTRICT_CODE)
    found["suspended, the district's case seen at the filing village"] = (suspended, DONGSHAN)
    extension = workflow(DISTRICT_CODE).request_extension(
        filed_at_village(), 5, "需现场核查", signed(who(DISTRICT_CODE, "reviewer.civil_affairs"))).case
    found["extension requested, at the district"] = (extension, DISTRICT_CODE)
    result = hand_over(decide(reviewed, DISTRICT_CODE, "approver.civil_affairs", "approve"))
    found["result ready, at the filing village"] = (result, DONGSHAN)
    found["result ready, the village's case seen at the district"] = (result, DISTRICT_CODE)
    completed = workflow(DONGSHAN).deliver(copy.deepcopy(result), signed(agent)).case
    found["completed, at the filing village"] = (completed, DONGSHAN)
    rated = workflow(DONGSHAN).rate(copy.deepcopy(completed), 5, "", "申请人").case
    found["rated, at the filing village"] = (rated, DONGSHAN)
    returned = workflow(DONGSHAN).return_case(copy.deepcopy(waiting), "申请人撤回申请", signed(agent)).case
    found["returned, at the filing village"] = (returned, DONGSHAN)
    # 新寮村 -> 云路镇, which checks it before sending it on to the district (初审转报)
    checked = hand_over(file_at(XINLIAO, who(XINLIAO, roles.VILLAGE_AGENT), residence=XINLIAO))
    found["received, at a township that checks before forwarding"] = (checked, YUNLU)
    # a township item filed at the township by its own staff: 受审分离 at the township
    delegated = file_at(QUXI, who(QUXI, roles.TOWNSHIP_STAFF), code="MZ-004").case
    found["delegated, pending review, filed by township staff"] = (delegated, QUXI)
    delegated_reviewed = decide(delegated, QUXI, "staff.b", "review").case
    found["delegated, pending approval, reviewed by staff.b"] = (delegated_reviewed, QUXI)
    delegated_extension = workflow(QUXI).request_extension(copy.deepcopy(delegated), 3, "需入户调查",
                                                           signed(who(QUXI, "staff.b"))).case
    found["delegated, extension requested, at the township"] = (delegated_extension, QUXI)
    found["delegated, extension requested, the district's copy"] = (delegated_extension, DISTRICT_CODE)
    joint = hand_over(file_at(DISTRICT_CODE, who(DISTRICT_CODE, roles.WINDOW_CLERK), code="JS-010"))
    found["joint, at the district"] = (joint, DISTRICT_CODE)
    found["joint, housing decided, at the district"] = (
        decide(joint, DISTRICT_CODE, "approver.housing", "approve", "housing").case, DISTRICT_CODE)
    return found


SCENARIOS = scenarios()


def offered(name, username):
    case, station = SCENARIOS[name]
    return views.available_actions(case, who(station, username), station)


# -- available_actions, role by role -------------------------------------------------------------------
def test_the_counter_of_a_case_waiting_for_materials_takes_them_returns_it_or_reissues_its_code():
    actions = offered("needs supplement, at the filing village", roles.VILLAGE_AGENT)
    assert set(actions) == {"supplement", "return", "reissue_query_code"}
    assert [m["code"] for m in actions["supplement"]["materials"]] == ["M02", "M03"]
    assert offered("needs supplement, at the filing village", roles.ADMINISTRATOR) == {}


def test_the_filing_counter_takes_missing_materials_wherever_the_case_is_and_nothing_else():
    assert offered("forwarded, at the filing village (held by the township)", roles.VILLAGE_AGENT) == {}
    actions = offered("容缺, forwarded, at the filing village", roles.VILLAGE_AGENT)
    assert set(actions) == {"supplement"} and [m["code"] for m in actions["supplement"]["materials"]] == ["M03"]
    actions = offered("suspended, the district's case seen at the filing village", roles.VILLAGE_AGENT)
    assert set(actions) == {"supplement"} and [m["code"] for m in actions["supplement"]["materials"]] == ["M02"]
    # a case held elsewhere: nothing but that, whatever its state
    assert offered("pending review, the district's case seen at the filing village", roles.VILLAGE_AGENT) == {}


def test_the_departments_review_and_approve_their_own_cases_only():
    name = "pending review, at the district"
    assert offered(name, "reviewer.civil_affairs") == {
        "review": {"departments": ["civil_affairs"], "outcomes": ["pass", "reject"]},
        "suspend": {"materials": TWO_STEP["materials"]}, "request_extension": {}}
    assert set(offered(name, "approver.civil_affairs")) == {"suspend", "request_extension"}
    assert offered(name, "reviewer.housing") == {} and offered(name, "approver.housing") == {}
    assert offered(name, roles.SUPERVISOR) == {} and offered(name, roles.ADMINISTRATOR) == {}
    # the window holds the case but neither filed it nor decides it: a new query code only
    assert offered(name, roles.WINDOW_CLERK) == {"reissue_query_code": {}}
    assert offered("pending approval, at the district", "approver.civil_affairs")["approve"] == {
        "departments": ["civil_affairs"], "outcomes": ["pass", "reject"]}
    assert "approve" not in offered("pending approval, at the district", "reviewer.civil_affairs")


def test_an_approval_waiting_for_deficiency_materials_may_only_reject():
    assert offered("容缺, pending approval, at the district", "approver.civil_affairs")["approve"]["outcomes"] == [
        "reject"]
    # the review is not held back by them
    assert offered("容缺, pending review, at the district", "reviewer.civil_affairs")["review"]["outcomes"] == [
        "pass", "reject"]


def test_a_suspended_case_waits_for_materials_and_may_still_ask_for_an_extension():
    name = "suspended, at the district"
    assert set(offered(name, "reviewer.civil_affairs")) == {"request_extension"}
    assert offered("extension requested, at the district", "reviewer.civil_affairs").get("request_extension") is None


def test_the_district_decides_extensions_also_for_cases_held_elsewhere():
    assert offered("extension requested, at the district", "approver.civil_affairs")["decide_extension"] == {"days": 5}
    assert "decide_extension" not in offered("extension requested, at the district", "reviewer.civil_affairs")
    assert "decide_extension" not in offered("extension requested, at the district", "approver.housing")
    assert set(offered("delegated, extension requested, the district's copy", "approver.civil_affairs")) == {
        "decide_extension"}
    # at the township, nobody decides an extension
    assert all("decide_extension" not in offered("delegated, extension requested, at the township", p["username"])
               for p in roster(QUXI))


def test_a_checking_township_forwards_and_the_others_never_do():
    assert set(offered("received, at a township that checks before forwarding", roles.TOWNSHIP_STAFF)) == {
        "forward", "reissue_query_code"}
    assert offered("received, at a township that checks before forwarding", roles.TOWNSHIP_STAFF)["forward"] == {
        "deciding_station": DISTRICT_CODE}
    assert "forward" not in offered("received, at a township that checks before forwarding", roles.ADMINISTRATOR)


def test_separation_of_duties_leaves_the_acceptor_and_the_reviewer_out():
    name = "delegated, pending review, filed by township staff"
    assert "review" not in offered(name, roles.TOWNSHIP_STAFF)             # accepted it
    assert {"suspend", "request_extension"} <= set(offered(name, roles.TOWNSHIP_STAFF))
    assert offered(name, "staff.b")["review"]["departments"] == ["civil_affairs"]
    name = "delegated, pending approval, reviewed by staff.b"
    assert "approve" not in offered(name, roles.TOWNSHIP_STAFF) and "approve" not in offered(name, "staff.b")
    assert "approve" in offered(name, "staff.c")


def test_joint_departments_each_approve_once():
    name = "joint, at the district"
    assert offered(name, "approver.housing")["approve"]["departments"] == ["housing"]
    assert offered(name, "approver.ecology")["approve"]["departments"] == ["ecology"]
    assert "approve" not in offered(name, "approver.civil_affairs") and "review" not in offered(name, "reviewer.housing")
    decided = "joint, housing decided, at the district"
    assert "approve" not in offered(decided, "approver.housing")
    assert offered(decided, "approver.ecology")["approve"]["departments"] == ["ecology"]


def test_the_counter_delivers_then_records_one_rating():
    assert set(offered("result ready, at the filing village", roles.VILLAGE_AGENT)) == {"deliver", "reissue_query_code"}
    assert offered("result ready, the village's case seen at the district", roles.WINDOW_CLERK) == {}
    assert set(offered("completed, at the filing village", roles.VILLAGE_AGENT)) == {"rate", "reissue_query_code"}
    assert set(offered("rated, at the filing village", roles.VILLAGE_AGENT)) == {"reissue_query_code"}
    assert set(offered("returned, at the filing village", roles.VILLAGE_AGENT)) == {"reissue_query_code"}


def test_a_resident_rates_a_completed_case_once_and_only_where_it_is_held():
    completed = {"status": states.COMPLETED, "rating": None}
    assert views.resident_may_rate(completed, held_here=True)
    assert not views.resident_may_rate(completed, held_here=False)
    assert not views.resident_may_rate({**completed, "rating": 5}, held_here=True)
    assert not views.resident_may_rate({**completed, "status": states.RESULT_READY}, held_here=True)


def test_the_actions_are_declared_for_the_api():
    actions = offered("needs supplement, at the filing village", roles.VILLAGE_AGENT)
    dumped = views.ActionsSchema().dump(actions)
    assert set(dumped) == {"supplement", "return", "reissue_query_code"} and dumped["return"] == {}
    assert dumped["supplement"]["materials"][0] == {"code": "M02", "name": "身份证", "kind": "core", "copies": 1}


# -- outstanding ------------------------------------------------------------------------------------
def test_outstanding_lists_what_the_case_still_waits_for():
    assert [m["code"] for m in outstanding(SCENARIOS["needs supplement, at the filing village"][0])] == ["M02", "M03"]
    assert outstanding(SCENARIOS["forwarded, at the filing village (held by the township)"][0]) == []
    assert [m["code"] for m in outstanding(SCENARIOS["容缺, forwarded, at the filing village"][0])] == ["M03"]
    assert [m["code"] for m in outstanding(SCENARIOS["suspended, at the district"][0])] == ["M02"]
    both = {**SCENARIOS["suspended, at the district"][0],
            "deficiency": {"missing": [TWO_STEP["materials"][2]], "due_date": "2026-11-30"}}
    assert [m["code"] for m in outstanding(both)] == ["M03", "M02"]
    # once the suspension's materials are in, the case resumes and waits for nothing
    case = copy.deepcopy(SCENARIOS["suspended, at the district"][0])
    workflow(DISTRICT_CODE).apply_supplement(case, ["M02"], "林代办（agent）", DONGSHAN)
    assert case["status"] == states.PENDING_REVIEW and outstanding(case) == []


def test_residents_are_told_to_bring_the_outstanding_materials():
    for name in ("needs supplement, at the filing village", "容缺, forwarded, at the filing village",
                 "suspended, at the district", "pending review, at the district"):
        case = SCENARIOS[name][0]
        assert schemas.public_status(case)["to_bring"] == [m["name"] for m in outstanding(case)], name


# -- the case view ----------------------------------------------------------------------------------
class Recorder:
    def __init__(self):
        self.views = []

    def __call__(self, user, case):
        self.views.append((user["username"], case["case_no"]))


def test_the_view_shows_the_whole_id_and_phone_only_to_those_acting_on_the_case_here_and_records_it():
    case = query_codes.attach(copy.deepcopy(SCENARIOS["pending review, at the district"][0]), "scrypt$sealed")
    id_number, phone = case["applicant"]["id_number"], case["applicant"]["phone"]
    record = Recorder()
    shown = views.case_view(case, who(DISTRICT_CODE, "reviewer.civil_affairs"), DISTRICT_CODE, record)
    assert shown["applicant"]["id_number"] == id_number and shown["applicant"]["phone"] == phone
    assert record.views == [("reviewer.civil_affairs", case["case_no"])]
    assert query_codes.seal_of(shown) is None and query_codes.seal_of(case) == "scrypt$sealed"
    for user, station in ((who(DISTRICT_CODE, roles.SUPERVISOR), DISTRICT_CODE),
                          (who(DONGSHAN, roles.VILLAGE_AGENT), DONGSHAN)):  # not a deciding role; not held there
        masked = views.case_view(case, user, station, record)
        assert masked["applicant"]["id_number"] == citizen_id.mask(id_number) != id_number
        assert masked["applicant"]["phone"] == "138****8000" and query_codes.seal_of(masked) is None
    assert len(record.views) == 1
    assert case["applicant"]["id_number"] == id_number  # the stored case is left as it was


# -- the offer agrees with the rules ------------------------------------------------------------------
REFUSED = (Forbidden, Conflict, TransitionForbidden, InvalidInput, entitlement.NotEntitled)


def attempts(action, case, user, station):
    """Each way to try `action` as the case desk would ([(label, run)], run() raises
    when refused). An action offered is tried as offered; one not offered with every
    department that could decide and every material of the item."""
    wf = workflow(station)
    me = signed(user)
    details = views.available_actions(case, user, station).get(action)
    items = [m["code"] for m in case["item"]["materials"]]

    def counter(check_action, run):
        def attempt(c):
            permissions.can_act_at_counter(user, check_action)
            return run(c)
        return attempt

    if action == "supplement":
        materials = [m["code"] for m in details["materials"]] if details else items

        def supplement(c):
            result = wf.supplement(c, materials, me)
            for message in result.messages:  # materials handed in elsewhere: the decider checks the sender
                if message.kind == CASE_SUPPLEMENT:
                    entitlement.check_supplement(station, message.body, c)
        return [(materials, counter("supplement", supplement))]
    if action == "return":
        return [("", counter("return", lambda c: wf.return_case(c, "申请人撤回申请", me)))]
    if action in ("deliver", "rate", "reissue_query_code"):
        run = {"deliver": lambda c: wf.deliver(c, me), "rate": lambda c: wf.rate(c, 4, "", "申请人"),
               "reissue_query_code": lambda c: wf.replace_query_code(c, "scrypt$new", me)}[action]
        return [("", counter(action, run))]
    if action == "forward":
        def forward(c):
            permissions.require(user, "forward", roles.TOWNSHIP_STAFF)
            return wf.forward(c, me, "")
        return [("", forward)]
    if action in views.DECISION_STEPS:
        departments = details["departments"] if details else sorted({*deciding_departments(case), "housing"})
        outcomes = details["outcomes"] if details else ["pass", "reject"]

        def deciding(department, outcome):
            def decision(c):
                permissions.can_give_decision(user, action, department)
                permissions.can_decide(user, c, action, department)
                return wf.decide(c, {"step": action, "outcome": outcome, "department": department,
                                     "reason": "材料不实", "operator": me})
            return decision
        return [((d, o), deciding(d, o)) for d in departments for o in outcomes]
    if action in ("suspend", "request_extension"):
        def step(c):
            permissions.require(user, action, *roles.DECIDING_ROLES)
            permissions.can_handle_decision_step(user, c, action)
            if action == "suspend":
                return wf.suspend(c, [items[0]], "材料不清晰", me)
            return wf.request_extension(c, 5, "需现场核查", me)
        return [("", step)]
    if action == "decide_extension":
        def extension(c):
            if tier_of(station) != DISTRICT:
                raise Forbidden("extensions are granted or refused by the district")
            permissions.require(user, "decide_extension", roles.APPROVER)
            permissions.can_decide_extension(user, c)
            return wf.decide_extension(c, True, "同意", me)
        return [("", extension)]
    raise AssertionError(f"no way to try {action}")


def outcome_of(run, case):
    try:
        run(copy.deepcopy(case))
    except REFUSED as refusal:
        return refusal
    return None


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_every_action_offered_succeeds_and_every_other_is_refused(name):
    case, station = SCENARIOS[name]
    disagreements = []
    for user in roster(station):
        actions = views.available_actions(case, user, station)
        for action in views.ACTIONS:
            for label, run in attempts(action, case, user, station):
                refusal = outcome_of(run, case)
                if action in actions and refusal is not None:
                    disagreements.append(f"{user['username']} offered {action} {label}, refused: {refusal}")
                if action not in actions and refusal is None:
                    disagreements.append(f"{user['username']} not offered {action} {label}, but it succeeds")
    assert disagreements == []


def test_an_approval_pass_not_offered_for_missing_deficiency_materials_is_refused():
    case, station = SCENARIOS["容缺, pending approval, at the district"]
    with pytest.raises(Conflict, match="容缺"):
        decide(case, station, "approver.civil_affairs", "approve", outcome="pass")


# -- no import cycle --------------------------------------------------------------------------------
@pytest.mark.parametrize("first, second", [("services.web_desk", "services.gateway.service"),
                                           ("services.gateway.service", "services.web_desk")])
def test_the_web_desk_and_the_gateway_import_in_either_order(first, second):
    probe = f"import {first}, {second}; import services.web_desk.pages_cases, shared.cases.views"
    result = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


def test_the_web_desk_does_not_import_the_gateway():
    """It used to import the gateway's case view inside a function to dodge a cycle."""
    for path in (ROOT / "services" / "web_desk").glob("*.py"):
        assert "services.gateway.service" not in path.read_text(encoding="utf-8"), path.name
