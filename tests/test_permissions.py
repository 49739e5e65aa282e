"""Users and roles: every request is made by a logged-in user of the station, and each
role may do only its own work. Every forbidden action answers 403 (401 without a valid
session) and changes nothing: the case, its history, the catalogue stay as they were.
Permission is checked before anything is looked up, so the answer to a forbidden call
does not depend on whether what it names exists."""
import datetime as dt

import pytest
from sqlalchemy import text

from shared.auth import permissions, roles
from shared.auth.accounts import Accounts
from shared.auth.passwords import verify_password
from shared.db.database import get_database
from shared.db.models import User
from shared.exceptions import Forbidden, InvalidInput, Unauthorized
from shared.stations import Network
from shared.cases.citizen_id import make as make_id
from tests.support.desk import form_token
from tests.test_case_network import (
    DISTRICT, NETWORK, NORTH, NORTH_VILLAGE, SOUTH, SOUTH_VILLAGE, completed_case, desk_session, filing,
    running_case_network, wait_until,
)


# -- the rules, without a network --------------------------------------------------------------
def user(role, department=None, username="u"):
    return {"username": username, "name": "测试", "role": role, "department": department, "station": "x"}


def case_of(department, joint=()):
    return {"case_no": "c-1", "item": {"department": department, "joint_departments": list(joint)}}


def test_only_the_departments_reviewer_reviews_and_its_approver_approves():
    civil = case_of("civil_affairs")
    permissions.can_decide(user(roles.REVIEWER, "civil_affairs"), civil, "review", "civil_affairs")
    permissions.can_decide(user(roles.APPROVER, "civil_affairs"), civil, "approve", "civil_affairs")
    for who, step, department in [(user(roles.REVIEWER, "civil_affairs"), "approve", "civil_affairs"),
                                  (user(roles.APPROVER, "civil_affairs"), "review", "civil_affairs"),
                                  (user(roles.REVIEWER, "health"), "review", "civil_affairs"),
                                  (user(roles.REVIEWER, "health"), "review", "health"),
                                  (user(roles.WINDOW_CLERK), "review", "civil_affairs"),
                                  (user(roles.SUPERVISOR), "approve", "civil_affairs"),
                                  (user(roles.ADMINISTRATOR), "approve", "civil_affairs")]:
        with pytest.raises(Forbidden):
            permissions.can_decide(who, civil, step, department)
    # a joint case: each of its departments' approvers decides for their own department
    joint = case_of("housing", ["housing", "civil_affairs"])
    permissions.can_decide(user(roles.APPROVER, "civil_affairs"), joint, "approve", "civil_affairs")
    with pytest.raises(Forbidden):
        permissions.can_decide(user(roles.APPROVER, "civil_affairs"), joint, "approve", "housing")


def test_counter_work_catalogue_and_supervision_belong_to_their_roles():
    for role in roles.ROLES:
        who = user(role, "civil_affairs" if role in roles.DEPARTMENT_ROLES else None)
        checks = {"file": lambda: permissions.can_file(who),
                  "catalogue": lambda: permissions.can_edit_catalogue(who),
                  "supervise": lambda: permissions.can_supervise(who),
                  "dead letters": lambda: permissions.can_handle_dead_letters(who)}
        allowed = {"file": role in roles.COUNTER_ROLES, "catalogue": role == roles.ADMINISTRATOR,
                   "supervise": role in (roles.SUPERVISOR, roles.ADMINISTRATOR),
                   "dead letters": role == roles.ADMINISTRATOR}
        for name, check in checks.items():
            if allowed[name]:
                check()
            else:
                with pytest.raises(Forbidden):
                    check()


def test_village_and_township_staff_decide_what_is_delegated_to_them():
    # which cases: the workflow decides only cases whose deciding station is theirs
    for role in roles.LOCAL_DECIDING_ROLES:
        permissions.can_decide(user(role), case_of("civil_affairs"), "approve", "civil_affairs")
        permissions.can_handle_decision_step(user(role), case_of("civil_affairs"), "suspend")
    with pytest.raises(Forbidden):
        permissions.can_decide_extension(user(roles.TOWNSHIP_STAFF), case_of("civil_affairs"))


def test_whole_id_numbers_only_for_those_deciding_or_at_the_counter():
    assert permissions.sees_full_id(user(roles.VILLAGE_AGENT))
    assert permissions.sees_full_id(user(roles.REVIEWER, "health"))
    assert not permissions.sees_full_id(user(roles.SUPERVISOR))
    assert not permissions.sees_full_id(user(roles.ADMINISTRATOR))


@pytest.fixture
def accounts(tmp_path):
    network = Network.load(NETWORK)
    database = get_database(f"sqlite:///{tmp_path / 'station.sqlite3'}")
    with database.transaction() as session:
        Accounts(session, network.station(DISTRICT), network).add(
            {"username": "mz.chen", "name": "陈审查", "role": "reviewer", "department": "civil_affairs",
             "password": "correct-horse"})
    return database, network


def _accounts(session, network):
    return Accounts(session, network.station(DISTRICT), network)


def test_passwords_are_stored_as_argon2_hashes_and_sessions_expire(accounts):
    database, network = accounts
    with database.reading() as session:
        stored = session.get(User, "mz.chen").password_hash
    assert stored.startswith("$argon2id$") and "correct-horse" not in stored
    assert verify_password(stored, "correct-horse") and not verify_password(stored, "wrong-horse")
    with database.reading() as session:
        with pytest.raises(Unauthorized):
            _accounts(session, network).check_password("mz.chen", "wrong-horse")
        with pytest.raises(Unauthorized):
            _accounts(session, network).check_password("nobody", "correct-horse")
    with database.transaction() as session:
        live = _accounts(session, network).open_session("mz.chen")["token"]
        expired = _accounts(session, network).open_session("mz.chen", hours=-1)["token"]
    with database.reading() as session:
        assert _accounts(session, network).user_of(live)["department"] == "civil_affairs"
        with pytest.raises(Unauthorized, match="过期"):
            _accounts(session, network).user_of(expired)
    # a new password ends every session; a deactivated user cannot log in
    with database.transaction() as session:
        _accounts(session, network).set_password("mz.chen", "battery-staple")
    with database.reading() as session:
        with pytest.raises(Unauthorized):
            _accounts(session, network).user_of(live)
    with database.transaction() as session:
        _accounts(session, network).set_active("mz.chen", False)
    with database.reading() as session:
        with pytest.raises(Unauthorized):
            _accounts(session, network).check_password("mz.chen", "battery-staple")


@pytest.mark.parametrize("data,fragment", [
    ({"role": "reviewer"}, "department"),               # a reviewer needs a department
    ({"role": "village_agent"}, "does not work at a district"),
    ({"role": "administrator", "department": "health"}, "only reviewers and approvers"),
    ({"username": "Chen Xiao"}, "username"),
    ({"password": "short"}, "password"),
    ({"role": "mayor"}, "role"),
])
def test_bad_new_users_are_refused(accounts, data, fragment):
    database, network = accounts
    request = {"username": "new.user", "name": "新用户", "role": "supervisor", "password": "long-enough", **data}
    with database.transaction() as session:
        with pytest.raises(InvalidInput, match=fragment):
            _accounts(session, network).add(request)


# -- over the network: 401 and 403, and nothing changed ------------------------------------------
@pytest.fixture(scope="module")
def net():
    # the district's own patrol runs once at start, then not during the tests: what a
    # patrol raised here was raised by the call under test
    with running_case_network(supervision_seconds=3600) as network:
        yield network


def items_materials(net, code):
    return [m["code"] for m in net.get(DISTRICT, f"/api/items/{code}")["materials"]]


def snapshot(net, code, case_no):
    """What a forbidden call must leave as it was: the case's revision, status and history."""
    case = net.call("GET", code, f"/api/cases/{case_no}", as_user="admin").json()
    return case["revision"], case["status"], len(case["history"])


def test_requests_without_a_valid_session_are_refused(net):
    for code, path in [(SOUTH_VILLAGE, "/api/cases"), (DISTRICT, "/api/stats"), (SOUTH, "/api/alerts")]:
        response = net.call("GET", code, path, as_user=False)
        assert response.status_code == 401 and response.json()["error"] == "UNAUTHORIZED"
    garbage = net.client.request("GET", SOUTH_VILLAGE, "/api/cases", as_user=False,
                                 headers={"Authorization": "Bearer not-a-token"})
    assert garbage.status_code == 401
    # a user belongs to one station: the south village agent's token means nothing next door
    token = net.client.token(SOUTH_VILLAGE, "agent")
    elsewhere = net.client.request("GET", NORTH_VILLAGE, "/api/cases", as_user=False,
                                   headers={"Authorization": f"Bearer {token}"})
    assert elsewhere.status_code == 401
    wrong = net.call("POST", SOUTH_VILLAGE, "/api/login", {"username": "agent", "password": "guess"}, as_user=False)
    assert wrong.status_code == 401
    # after logging out the token is dead
    login = net.call("POST", SOUTH, "/api/login",
                     {"username": "staff", "password": net.client.password_of(SOUTH, "staff")}, as_user=False).json()
    assert login["user"]["role"] == "township_staff" and login["user"]["station"] == SOUTH
    bearer = {"Authorization": f"Bearer {login['token']}"}
    assert net.client.request("GET", SOUTH, "/api/me", as_user=False, headers=bearer).json()["username"] == "staff"
    assert net.client.request("POST", SOUTH, "/api/logout", as_user=False, headers=bearer).ok
    assert net.client.request("GET", SOUTH, "/api/me", as_user=False, headers=bearer).status_code == 401
    # the public pages stay public: the catalogue and the residents' status page
    assert net.call("GET", SOUTH_VILLAGE, "/api/items", as_user=False).status_code == 200


def test_every_forbidden_action_answers_403_and_changes_nothing(net):
    civil = net.post(DISTRICT, "/api/cases", filing("MZ-002", items_materials(net, "MZ-002")))
    health = net.post(DISTRICT, "/api/cases", filing("WJ-001", items_materials(net, "WJ-001")))
    assert civil["status"] == health["status"] == "pending_review"
    at_village = net.post(SOUTH_VILLAGE, "/api/cases", filing("MZ-002", ["M01"]))  # waits for materials
    assert at_village["status"] == "needs_supplement"
    no, other, village_no = civil["case_no"], health["case_no"], at_village["case_no"]
    review = {"step": "review", "outcome": "pass", "department": "civil_affairs"}
    approve = {"step": "approve", "outcome": "pass", "department": "civil_affairs"}
    item = {"code": "MZ-901", "name": "越权新增事项", "department": "civil_affairs", "category": "public_service",
            "processing_type": "immediate", "legal_limit_days": 1, "promised_limit_days": 1,
            "authority_tier": "district", "decision_steps": ["approve"],
            "materials": [{"code": "M01", "name": "申请表", "kind": "core"}]}
    forbidden = [
        # (station, user, method, path, body)
        (DISTRICT, "clerk", "POST", f"/api/cases/{no}/decisions", review),            # a window decides
        (DISTRICT, "civil_affairs.approver", "POST", f"/api/cases/{no}/decisions", review),  # wrong step
        (DISTRICT, "health.reviewer", "POST", f"/api/cases/{no}/decisions", review),  # other department
        (DISTRICT, "health.reviewer", "POST", f"/api/cases/{no}/decisions",
         {**review, "department": "health"}),                                          # posing as another
        (DISTRICT, "health.reviewer", "GET", f"/api/cases/{no}", None),               # reads another's case
        (DISTRICT, "health.reviewer", "POST", f"/api/cases/{no}/suspend",
         {"materials": ["M01"], "reason": "越权补正"}),
        (DISTRICT, "civil_affairs.reviewer", "POST", f"/api/cases/{no}/extension/decision",
         {"granted": True, "reason": "越权审批延期"}),                                  # approvers decide that
        (DISTRICT, "supervisor", "POST", f"/api/cases/{no}/decisions", approve),      # reads, never acts
        (DISTRICT, "supervisor", "POST", "/api/cases", filing("MZ-002", ["M01"])),
        (DISTRICT, "admin", "POST", f"/api/cases/{no}/decisions", approve),
        (DISTRICT, "civil_affairs.reviewer", "POST", "/api/cases", filing("MZ-002", ["M01"])),
        (DISTRICT, "civil_affairs.reviewer", "POST", "/api/catalogue/items", item),   # only administrators
        (DISTRICT, "clerk", "POST", "/api/catalogue/items/MZ-002/retire", {}),
        (DISTRICT, "supervisor", "POST", "/api/catalogue/calendar", {"year": 2031, "holidays": [], "workdays": []}),
        (DISTRICT, "clerk", "GET", "/api/stats", None),                                # supervisors' figures
        (DISTRICT, "civil_affairs.approver", "POST", "/api/supervision/patrol", {}),
        (DISTRICT, "supervisor", "GET", "/api/dead-letters", None),                    # administrators'
        (DISTRICT, "clerk", "POST", "/api/users", {"username": "x1", "name": "某", "role": "supervisor",
                                                   "password": "long-enough"}),
        (SOUTH_VILLAGE, "agent", "POST", f"/api/cases/{village_no}/extension/decision",
         {"granted": True, "reason": "越权"}),                                          # the district's
        (SOUTH_VILLAGE, "agent", "GET", "/api/dead-letters", None),
        (SOUTH_VILLAGE, "agent", "GET", "/api/users", None),
        (SOUTH_VILLAGE, "admin", "POST", f"/api/cases/{village_no}/supplement", {"materials": ["M02"]}),
        (SOUTH_VILLAGE, "admin", "POST", "/api/cases", filing("MZ-002", ["M01"])),
        (SOUTH, "staff", "POST", "/api/users", {"username": "x2", "name": "某", "role": "township_staff",
                                                "password": "long-enough"}),
    ]
    version = net.get(DISTRICT, "/api/catalogue")["version"]
    counts = {code: net.call("GET", code, "/api/cases", None, as_user="admin").json()["total"]
              for code in (DISTRICT, SOUTH_VILLAGE)}
    users = {code: len(net.call("GET", code, "/api/users", None, as_user="admin").json()["users"])
             for code in (DISTRICT, SOUTH)}
    before = {c: snapshot(net, code, c) for code, c in [(DISTRICT, no), (DISTRICT, other), (SOUTH_VILLAGE, village_no)]}
    for code, username, method, path, body in forbidden:
        response = net.call(method, code, path, body, as_user=username)
        assert response.status_code == 403, (username, path, response.status_code, response.text)
        assert response.json()["error"] == "FORBIDDEN" and response.json()["message"]
    assert {c: snapshot(net, code, c) for code, c in
            [(DISTRICT, no), (DISTRICT, other), (SOUTH_VILLAGE, village_no)]} == before
    assert net.get(DISTRICT, "/api/catalogue")["version"] == version
    assert {code: net.call("GET", code, "/api/cases", None, as_user="admin").json()["total"]
            for code in (DISTRICT, SOUTH_VILLAGE)} == counts
    assert {code: len(net.call("GET", code, "/api/users", None, as_user="admin").json()["users"])
            for code in (DISTRICT, SOUTH)} == users

    # and each one's own work goes through, recorded under their name
    reviewed = net.call("POST", DISTRICT, f"/api/cases/{no}/decisions", review, as_user="civil_affairs.reviewer")
    assert reviewed.status_code == 200 and reviewed.json()["status"] == "pending_approval"
    assert reviewed.json()["history"][-1]["actor"].endswith("（civil_affairs.reviewer）")
    approved = net.call("POST", DISTRICT, f"/api/cases/{no}/decisions", approve, as_user="civil_affairs.approver")
    assert approved.status_code == 200 and approved.json()["status"] in ("approved", "result_ready")


def test_department_desks_list_their_own_cases_and_ids_are_masked_where_not_needed(net):
    full = filing("HJ-004", items_materials(net, "HJ-004"))
    case = net.post(DISTRICT, "/api/cases", full)["case_no"]
    joint = net.post(DISTRICT, "/api/cases", filing("ZJ-006", items_materials(net, "ZJ-006")))
    assert joint["status"] == "joint_review"

    def listed(username):
        return {c["case_no"]: c for c in
                net.call("GET", DISTRICT, "/api/cases", None, as_user=username).json()["cases"]}
    ecology, civil, housing = listed("ecology.approver"), listed("civil_affairs.approver"), listed("housing.reviewer")
    assert case in ecology and {c["department"] for c in ecology.values()} == {"ecology"}
    # a joint case is in the queue of each of its departments, and of no other
    assert joint["case_no"] in civil and joint["case_no"] in housing and joint["case_no"] not in ecology
    assert all("*" in c["applicant_id"] for c in ecology.values())  # lists always mask
    whole = full["applicant"]["id_number"]
    # the approver deciding it sees the whole number; the supervisor reading it does not
    assert net.call("GET", DISTRICT, f"/api/cases/{case}", None,
                    as_user="ecology.approver").json()["applicant"]["id_number"] == whole
    masked = net.call("GET", DISTRICT, f"/api/cases/{case}", None,
                      as_user="supervisor").json()["applicant"]["id_number"]
    assert masked != whole and masked[-4:] == whole[-4:] and "*" in masked


def test_an_administrator_adds_a_user_who_can_then_log_in(net):
    added = net.call("POST", NORTH, "/api/users", {"username": "beizhen.li", "name": "李晓东",
                                                   "role": "township_staff", "password": "north-2026"},
                     as_user="admin")
    assert added.status_code == 201 and "password" not in added.json()
    login = net.call("POST", NORTH, "/api/login", {"username": "beizhen.li", "password": "north-2026"},
                     as_user=False)
    assert login.status_code == 200 and login.json()["user"]["name"] == "李晓东"
    # the administrator knows that password: the new user must choose their own first
    assert login.json()["user"]["must_change_password"] is True
    bearer = {"Authorization": f"Bearer {login.json()['token']}"}
    held_back = net.client.request("GET", NORTH, "/api/cases", as_user=False, headers=bearer)
    assert held_back.status_code == 403 and held_back.json()["error"] == "PASSWORD_CHANGE_REQUIRED"
    changed = net.client.request("POST", NORTH, "/api/me/password", as_user=False, headers=bearer,
                                 json={"current_password": "north-2026", "new_password": "Lxd-beizhen-窗口-7291"})
    assert changed.status_code == 200, changed.text
    assert net.client.request("GET", NORTH, "/api/cases", as_user=False, headers=bearer).status_code == 200
    again = net.call("POST", NORTH, "/api/users", {"username": "beizhen.li", "name": "李晓东",
                                                   "role": "township_staff", "password": "north-2026"},
                     as_user="admin")
    assert again.status_code == 409


# -- the deadline patrol changes things: administrators only -------------------------------------
def test_the_supervisor_cannot_run_the_patrol_an_administrator_can(net):
    item = {"code": "JC-101", "name": "巡查权限测试事项", "department": "civil_affairs",
            "category": "public_service", "processing_type": "promised", "legal_limit_days": 3,
            "promised_limit_days": 1, "authority_tier": "district", "decision_steps": ["review", "approve"],
            "materials": [{"code": "M01", "name": "申请表", "kind": "core"}]}
    net.post(DISTRICT, "/api/catalogue/items", item)
    wait_until(lambda: net.call("GET", DISTRICT, "/api/items/JC-101", as_user=False).ok, 10,
               message="the new item at the district")
    case_no = net.post(DISTRICT, "/api/cases", filing("JC-101", ["M01"]))["case_no"]
    # due on the next working day: yellow, so a patrol would raise a warning
    lights = {r["case_no"]: r["light"] for r in
              net.call("GET", DISTRICT, "/api/supervision/lights", as_user="supervisor").json()["cases"]}
    assert lights[case_no] == "yellow"

    def raised():
        return {(a["case_no"], a["kind"]) for a in
                net.call("GET", DISTRICT, "/api/supervision/alerts", as_user="supervisor").json()["alerts"]}
    before = raised()
    station_before = net.call("GET", DISTRICT, "/api/alerts", as_user="clerk").json()["alerts"]
    for username in ("supervisor", "civil_affairs.approver", "clerk"):
        refused = net.call("POST", DISTRICT, "/api/supervision/patrol", {}, as_user=username)
        assert refused.status_code == 403 and refused.json()["error"] == "FORBIDDEN", (username, refused.text)
    assert "监察巡查" in refused.json()["message"]
    assert raised() == before and (case_no, "warning") not in before
    assert net.call("GET", DISTRICT, "/api/alerts", as_user="clerk").json()["alerts"] == station_before

    done = net.call("POST", DISTRICT, "/api/supervision/patrol", {}, as_user="admin")
    assert done.status_code == 200, done.text
    assert (case_no, "warning") in {(a["case_no"], a["kind"]) for a in done.json()["raised"]}
    assert (case_no, "warning") in raised()
    # the supervisor still reads what the patrol raised
    assert net.call("GET", DISTRICT, "/api/supervision/alerts", as_user="supervisor").status_code == 200
    # the access audit has the catalogue change and every try at the patrol, made or refused
    with net.database(DISTRICT).connect() as conn:
        changes = set(conn.execute(text(
            "SELECT username, action, outcome FROM access_audit WHERE kind = 'change' "
            "AND action IN ('add_item', 'run_patrol')")).all())
    assert {("admin", "add_item", "ok"), ("admin", "run_patrol", "ok"), ("supervisor", "run_patrol", "refused"),
            ("clerk", "run_patrol", "refused"), ("civil_affairs.approver", "run_patrol", "refused")} <= changes


# -- permission before lookup: 403 whether or not the thing exists --------------------------------
def test_a_supervisor_answering_a_follow_up_is_refused_whether_or_not_one_is_open(net):
    bad, query_code = completed_case(net)
    net.post(SOUTH_VILLAGE, f"/api/cases/{bad}/deliver", {})
    net.call("POST", SOUTH_VILLAGE, "/api/status/rating",
             {"case_no": bad, "query_code": query_code, "score": 1, "comment": "办事太慢"}, as_user=False)

    def follow_ups():
        return {f["case_no"]: f for f in
                net.call("GET", DISTRICT, "/api/follow-ups", as_user="supervisor").json()["follow_ups"]}
    wait_until(lambda: bad in follow_ups(), 15, message="the follow-up at the district")
    running = net.post(DISTRICT, "/api/cases", filing("MZ-002", ["M01"]))["case_no"]  # no follow-up
    answer = {"answer": "已整改"}
    for username in ("supervisor", "admin", "clerk"):
        for case_no, body in [(bad, answer),                              # open
                              (running, answer),                          # a case without one
                              ("449902-20200101-00001", answer),          # no such case
                              (bad, {}), (bad, {"answer": " "})]:          # and whatever the body
            response = net.call("POST", DISTRICT, f"/api/follow-ups/{case_no}", body, as_user=username)
            assert response.status_code == 403, (username, case_no, body, response.status_code, response.text)
            assert response.json()["error"] == "FORBIDDEN"
    assert follow_ups()[bad]["status"] == "open"
    # the department's own people: 404 where there is nothing to answer, 200 where there is
    nothing = net.call("POST", DISTRICT, f"/api/follow-ups/{running}", answer, as_user="civil_affairs.approver")
    assert nothing.status_code == 404
    done = net.call("POST", DISTRICT, f"/api/follow-ups/{bad}", answer, as_user="civil_affairs.approver")
    assert done.status_code == 200 and follow_ups()[bad]["status"] == "answered"


def test_the_desks_filing_form_refuses_a_supervisor_before_looking_up_the_item(net):
    desk = desk_session(net, DISTRICT, "supervisor")
    url = net.launcher.url_of(DISTRICT) + "/desk/cases/new"
    before = net.call("GET", DISTRICT, "/api/cases", None, as_user="admin").json()["total"]
    for item_code in ("MZ-002", "XX-999"):
        response = desk.post(url, data={"item_code": item_code, "name": "黄秀英",
                                        "csrf_token": form_token(desk, net.launcher.url_of(DISTRICT) + "/desk/")},
                             allow_redirects=False)
        assert response.status_code == 403, (item_code, response.status_code)
    assert net.call("GET", DISTRICT, "/api/cases", None, as_user="admin").json()["total"] == before


# -- a citizen ID number's birth date: from 1900 to today -------------------------------------------
def test_an_id_number_born_in_the_future_or_before_1900_is_refused_and_nothing_filed(net):
    today = dt.date.today()
    before = net.call("GET", SOUTH_VILLAGE, "/api/cases", None, as_user="admin").json()["total"]
    for born, words in [(today + dt.timedelta(days=3 * 366), "in the future"), (dt.date(1899, 12, 31), "before 1900")]:
        request = filing("MZ-002", ["M01"], request_id=f"born-{born:%Y%m%d}")
        request["applicant"]["id_number"] = make_id("449902", born, 7)
        response = net.call("POST", SOUTH_VILLAGE, "/api/cases", request)
        assert response.status_code == 400, response.text
        body = response.json()
        assert body["error"] == "INVALID_INPUT" and body["message"].startswith("applicant.id_number: ")
        assert words in body["message"] and str(born) in body["message"]
        assert list(body["details"]) == ["applicant"] and list(body["details"]["applicant"]) == ["id_number"]
    assert net.call("GET", SOUTH_VILLAGE, "/api/cases", None, as_user="admin").json()["total"] == before
    # a baby born yesterday may have a case filed for them
    newborn = filing("MZ-002", ["M01"])
    newborn["applicant"]["id_number"] = make_id("449902", today - dt.timedelta(days=1), 8)
    assert net.call("POST", SOUTH_VILLAGE, "/api/cases", newborn).status_code == 201
