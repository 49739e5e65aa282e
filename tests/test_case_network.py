"""The case flow across stations, each station in its own OS process, over the real
RabbitMQ: the materials-check outcomes, the trip village → township → district and back,
joint and delegated items, redelivered messages, and a township killed mid-load."""
import contextlib
import datetime as dt
import json
import os
import re
import tempfile
import threading
import time
from pathlib import Path

import pytest
import requests
from kombu import Connection
from sqlalchemy import create_engine, text

from deploy.drills.harness import StationNetwork, free_port_block, wait_until
from deploy.settings import SAMPLE_USERS, HostSettings
from deploy.station_client import StationClient
from services.topology import cases_exchange
from shared.cases.citizen_id import make as make_id
from shared.trust.identities import broker_user
from tests.support.desk import TOKEN, form_token
from tests.support.databases import drop_network_databases, url_template

NETWORK = Path(__file__).parent / "cases_data" / "network_cases.yaml"
AMQP = os.environ.get("TONGBAN_AMQP_URI", "amqp://guest:guest@127.0.0.1:5672/")
DISTRICT, SOUTH, NORTH = "449902", "449902001", "449902100"
SOUTH_VILLAGE, SOUTH_COMMUNITY, NORTH_VILLAGE = "449902001201", "449902001001", "449902100201"


class CaseNetwork(StationNetwork):
    """The case test network, every station in its own process, with the sample
    catalogue and staff; `settings`: more HostSettings (clock_file, supervision_seconds...)."""

    def __init__(self, network_path=NETWORK, **settings):
        super().__init__(HostSettings(network_path=str(network_path), amqp_uri=AMQP,
                                      data_dir=tempfile.mkdtemp(prefix="tongban-cases-"),
                                      # SQLite files in data_dir, or PostgreSQL databases of this
                                      # network (TONGBAN_TEST_DATABASE)
                                      database_url=url_template("cases") or "",
                                      sample_users=str(SAMPLE_USERS), **settings),
                         clean_env=False)  # the stations read some settings from the environment, as in production
        self.district = self.district_code
        # a random free block: two test runs side by side must not pick the same ports
        self.settings.base_port = free_port_block(len(self.stations))
        # each call made by the sample user who would make it (the village's agent...)
        self.client = StationClient(self.url, data_dir=self.settings.data_dir)

    def start(self):
        super().start()
        self.wait_catalogue(30)

    def stop(self, code=None):
        """Stop the process of station `code`, or (no code) the whole network."""
        if code is not None:
            return super().stop(code)
        self.close()
        drop_network_databases(self.settings.database_url)

    def get(self, code, path, **params):
        response = self.client.get(code, path, params=params, timeout=10)
        response.raise_for_status()
        return response.json()

    def call(self, method, code, path, body=None, as_user=None):
        return self.client.request(method, code, path, json=body, as_user=as_user)

    def post(self, code, path, body):
        response = self.call("POST", code, path, body)
        assert response.status_code < 300, response.text
        return response.json()

    def case(self, code, case_no):
        response = self.client.get(code, f"/api/cases/{case_no}", timeout=10)
        return response.json() if response.ok else None

    def wait_status(self, code, case_no, status, timeout=20):
        return wait_until(lambda: (c := self.case(code, case_no)) and c["status"] == status and c,
                          timeout, message=f"{case_no} {status} at {code}")

    def database(self, code):
        return create_engine(self.settings.database_for(code))


@contextlib.contextmanager
def running_case_network(**settings):
    """A started CaseNetwork, stopped however the block ends."""
    network = CaseNetwork(**settings)
    try:
        network.start()
        yield network
    finally:
        network.stop()


@pytest.fixture(scope="module")
def net():
    with running_case_network() as network:
        yield network


_serial = iter(range(1, 10**6))


def applicant(residence=SOUTH_VILLAGE, born=dt.date(1962, 3, 14)):
    return {"name": "黄秀英", "id_number": make_id("449902", born, next(_serial) % 1000),
            "phone": "13800138000", "residence": residence}


def filing(item_code, materials, residence=SOUTH_VILLAGE, **extra):
    return {"item_code": item_code, "applicant": applicant(residence), "materials": materials,
            "agent": "林代办", **extra}


def actions(case):
    return [(h["station"], h["action"], h["to_status"]) for h in case["history"]]


# -- at one station, over HTTP and the desk ------------------------------------------------------
# (the materials-check outcomes, request ids and refused filings are tested in one process:
# tests/test_desk_service.py and tests/test_gateway_service.py)
def test_unknown_addresses_and_methods_answer_json_under_api_and_a_page_under_desk(net):
    url = net.launcher.url_of(SOUTH_VILLAGE)
    missing = net.http.get(url + "/api/no-such-thing", timeout=10)
    assert missing.status_code == 404 and missing.headers["Content-Type"].startswith("application/json")
    assert missing.json()["error"] == "NOT_FOUND" and "/api/no-such-thing" in missing.json()["message"]
    wrong = net.http.delete(url + "/api/cases", timeout=10)
    assert wrong.status_code == 405 and wrong.json()["error"] == "METHOD_NOT_ALLOWED"
    assert "DELETE" in wrong.json()["message"] and "POST" in wrong.headers["Allow"]
    page = net.http.get(url + "/desk/no-such-page", timeout=10)
    assert page.status_code == 404 and page.headers["Content-Type"].startswith("text/html")
    assert "没有这个页面" in page.text and "南" in page.text  # the station's own name in the layout
    assert "<title>" in page.text and "Werkzeug" not in page.text and "Not Found" not in page.text
    wrong_page = net.http.delete(url + "/desk/login", timeout=10)
    assert wrong_page.status_code == 405 and "该页面不接受这种请求方式" in wrong_page.text


def test_the_desks_filing_form_submitted_twice_files_once(net):
    desk = requests.Session()
    url = net.launcher.url_of(SOUTH_VILLAGE)
    login = desk.post(url + "/desk/login", data={"username": "agent", "password": net.client.password_of(SOUTH_VILLAGE, "agent"),
                                                 "csrf_token": form_token(desk, url + "/desk/login")})
    assert login.ok and f"tongban_session_{SOUTH_VILLAGE}" in desk.cookies
    form = desk.get(url + "/desk/cases/new", params={"item": "MZ-003"}).text
    request_id = re.search(r'name="request_id" value="([0-9a-f]{32})"', form).group(1)
    materials = [m["code"] for m in net.get(DISTRICT, "/api/items/MZ-003")["materials"]]
    person = applicant(SOUTH_VILLAGE)
    fields = {"item_code": "MZ-003", "request_id": request_id, "materials": materials, **person,
              "csrf_token": TOKEN.search(form).group(1)}
    before = net.get(SOUTH_VILLAGE, "/api/cases", scope="all")["total"]
    first = desk.post(url + "/desk/cases/new", data=fields, allow_redirects=False)
    second = desk.post(url + "/desk/cases/new", data=fields, allow_redirects=False)  # a double click
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"]
    assert net.get(SOUTH_VILLAGE, "/api/cases", scope="all")["total"] == before + 1


def test_text_no_station_database_can_store_is_refused_alike(net):
    """SQLite stores NUL characters and text longer than its column; PostgreSQL refuses
    them. Either way the answer is 400 and nothing is stored."""
    before = net.get(SOUTH_VILLAGE, "/api/cases", scope="all")["total"]
    agent_with_nul = filing("MZ-002", ["M01"], agent="林\x00代办")
    for method, code, path, body, headers in [
            ("POST", SOUTH_VILLAGE, "/api/cases", agent_with_nul, None),
            ("GET", SOUTH_VILLAGE, "/api/items?q=%E4%BD%8E%00", None, None),
            ("GET", SOUTH_VILLAGE, "/api/cases/449902001201-20260105-0%000001", None, None),
            ("GET", SOUTH_VILLAGE, "/api/cases?scope=all&department=civil%00", None, None),
            ("POST", DISTRICT, "/api/catalogue/items/MZ-001%00/retire", {}, None)]:
        response = net.client.request(method, code, path, json=body, headers=headers, timeout=10)
        assert response.status_code == 400, (path, response.text)
    assert net.get(SOUTH_VILLAGE, "/api/cases", scope="all")["total"] == before
    assert net.get(DISTRICT, "/api/items/MZ-001")["status"] == "current"


def test_retired_item_cannot_be_filed(net):
    net.post(DISTRICT, "/api/catalogue/items/MZ-007/retire", {})
    wait_until(lambda: net.get(NORTH_VILLAGE, "/api/items/MZ-007")["status"] == "retired", 10)
    response = net.call("POST", NORTH_VILLAGE, "/api/cases",
                        filing("MZ-007", ["M01", "M02", "M03", "M04"], residence=NORTH_VILLAGE))
    assert response.status_code == 409 and "retired" in response.json()["message"]


# -- the whole trip ------------------------------------------------------------------------------
def test_village_filed_district_item_travels_up_is_decided_and_returns_to_the_village(net):
    body = filing("MZ-002", ["M01", "M02", "M03", "M04", "M05"])
    filed = net.post(SOUTH_VILLAGE, "/api/cases", body)
    case_no, query_code = filed["case_no"], filed["query_code"]
    net.wait_status(DISTRICT, case_no, "pending_review")
    net.post(DISTRICT, f"/api/cases/{case_no}/decisions",
             {"step": "review", "outcome": "pass", "department": "civil_affairs", "operator": "陈审查"})
    net.post(DISTRICT, f"/api/cases/{case_no}/decisions",
             {"step": "approve", "outcome": "pass", "department": "civil_affairs", "operator": "李审批"})
    ready = net.wait_status(SOUTH_VILLAGE, case_no, "result_ready")
    assert ready["result"]["outcome"] == "approved"
    net.post(SOUTH_VILLAGE, f"/api/cases/{case_no}/deliver", {"operator": "林代办"})
    record = net.wait_status(DISTRICT, case_no, "completed")
    assert actions(record) == [
        (SOUTH_VILLAGE, "file", "accepted"), (SOUTH_VILLAGE, "forward", "forwarded"),
        (SOUTH, "receive", "received"), (SOUTH, "forward", "forwarded"),
        (DISTRICT, "receive", "received"), (DISTRICT, "start_decision", "pending_review"),
        (DISTRICT, "review", "pending_approval"), (DISTRICT, "approve", "approved"),
        (DISTRICT, "send_result", "result_sent"), (SOUTH_VILLAGE, "receive_result", "result_ready"),
        (SOUTH_VILLAGE, "deliver", "completed")]
    assert [h["seq"] for h in record["history"]] == list(range(1, 12))
    # the township kept its own copy with the history up to where it passed the case on
    assert actions(net.case(SOUTH, case_no))[-1] == (SOUTH, "forward", "forwarded")
    # a resident asks at a counter that never saw the case, with the code of their receipt
    status = look_up(net, NORTH_VILLAGE, case_no, query_code)
    assert status.status_code == 200 and status.json()["status"] == "completed" and "id_number" not in status.text
    assert look_up(net, NORTH_VILLAGE, case_no, "ABCD2345").status_code == 404


def test_joint_item_is_decided_in_parallel_and_one_rejection_rejects(net):
    materials = ["M01", "M02", "M03", "M04", "M05", "M06"]
    approved_no = net.post(SOUTH, "/api/cases", filing("WL-001", materials))["case_no"]
    rejected_no = net.post(SOUTH, "/api/cases", filing("WL-001", materials))["case_no"]
    for case_no in (approved_no, rejected_no):
        case = net.wait_status(DISTRICT, case_no, "joint_review")
    departments = case["item"]["joint_departments"]
    assert len(departments) == 3

    def decide(case_no, department, outcome):
        body = {"step": "approve", "outcome": outcome, "department": department, "operator": f"{department}审批员"}
        if outcome == "reject":
            body["reason"] = "消防安全检查不合格"
        return net.call("POST", DISTRICT, f"/api/cases/{case_no}/decisions", body)

    answers = []
    threads = [threading.Thread(target=lambda d=d: answers.append(decide(approved_no, d, "pass")))
               for d in departments]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(a.status_code for a in answers) == [200, 200, 200]
    approved = net.wait_status(SOUTH, approved_no, "result_ready")
    assert approved["result"]["outcome"] == "approved"
    assert sorted(d["department"] for d in approved["decisions"]) == sorted(departments)

    assert decide(rejected_no, departments[0], "pass").status_code == 200
    assert decide(rejected_no, "emergency", "reject").status_code == 200
    rejected = net.wait_status(SOUTH, rejected_no, "result_ready")
    assert rejected["result"]["outcome"] == "rejected"
    assert "消防安全检查不合格" in rejected["result"]["reason"] and "应急管理局" in rejected["result"]["reason"]
    late = decide(rejected_no, departments[1], "pass")
    assert late.status_code == 409


def test_item_delegated_to_townships_filed_at_the_district_goes_to_the_applicants_township(net):
    body = filing("MZ-004", ["M01", "M02", "M03", "M04"], residence=NORTH_VILLAGE)
    case = net.post(DISTRICT, "/api/cases", body)
    assert case["deciding_station"] == NORTH and case["holder_station"] == NORTH
    at_township = net.wait_status(NORTH, case["case_no"], "pending_review")
    assert actions(at_township)[1] == (DISTRICT, "route_down", "forwarded")
    net.post(NORTH, f"/api/cases/{case['case_no']}/decisions",
             {"step": "review", "outcome": "pass", "department": "civil_affairs", "operator": "镇民政办"})
    net.post(NORTH, f"/api/cases/{case['case_no']}/decisions",
             {"step": "approve", "outcome": "pass", "department": "civil_affairs", "operator": "镇分管领导"})
    back = net.wait_status(DISTRICT, case["case_no"], "result_ready")
    assert back["result"]["decided_by"] == NORTH


# -- delivery guarantees ----------------------------------------------------------------------------
def outbox_messages(net, station, kind, to, case_no):
    with net.database(station).connect() as conn:
        rows = conn.execute(text("SELECT message_id, body FROM outbox WHERE kind = :kind AND routing_key = :to"),
                            {"kind": kind, "to": to}).all()
    import json
    found = []
    for message_id, body in rows:
        body = json.loads(body) if isinstance(body, str) else body
        if body["body"]["case"]["case_no"] == case_no:
            found.append((message_id, body))
    return found


def republish(net, message_id, body, routing_key, times=2):
    """Publish a message again as its sender would (its own broker user, validated)."""
    sender = body["sender"]
    with Connection(net.settings.station_amqp_uri(sender), transport_options={"confirm_publish": True}) as conn:
        producer = conn.Producer()
        for _ in range(times):
            producer.publish(body, exchange=cases_exchange, routing_key=routing_key, message_id=message_id,
                             delivery_mode=2, user_id=broker_user(sender))


def test_redelivered_forward_and_result_change_nothing(net):
    case_no = net.post(SOUTH_VILLAGE, "/api/cases", filing("MZ-002", ["M01", "M02", "M03", "M04", "M05"]))["case_no"]
    net.wait_status(DISTRICT, case_no, "pending_review")
    [(message_id, forward)] = outbox_messages(net, SOUTH_VILLAGE, "case.handover", SOUTH, case_no)
    republish(net, message_id, forward, SOUTH)
    # and the same forward under a new message id (e.g. re-sent by hand): the newer copy wins
    republish(net, "another-" + message_id, forward, SOUTH, times=1)
    for step in ("review", "approve"):
        net.post(DISTRICT, f"/api/cases/{case_no}/decisions",
                 {"step": step, "outcome": "pass", "department": "civil_affairs", "operator": "审批员"})
    net.wait_status(SOUTH_VILLAGE, case_no, "result_ready")
    [(result_id, result)] = outbox_messages(net, DISTRICT, "case.result", SOUTH_VILLAGE, case_no)
    republish(net, result_id, result, SOUTH_VILLAGE)
    time.sleep(1.5)  # give the duplicates time to be (not) applied
    village = net.case(SOUTH_VILLAGE, case_no)
    assert [a[1] for a in actions(village)].count("receive_result") == 1
    assert len(village["decisions"]) == 2
    township = net.case(SOUTH, case_no)
    assert [a[1] for a in actions(township)].count("receive") == 1
    district = net.case(DISTRICT, case_no)
    assert [a[1] for a in actions(district)].count("receive") == 2  # township and district, once each
    assert len(district["decisions"]) == 2
    assert net.get(DISTRICT, "/api/cases", scope="all", limit=500)["cases"].count  # listable
    with net.database(DISTRICT).connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM cases WHERE case_no = :n"), {"n": case_no}).scalar() == 1
        entries = conn.execute(text("SELECT count(*) FROM case_history WHERE case_no = :n"), {"n": case_no}).scalar()
    assert entries == len(district["history"])


def test_township_killed_mid_load_loses_and_duplicates_nothing(net):
    total = 200
    filed = []
    villages = [SOUTH_VILLAGE, SOUTH_COMMUNITY]

    def file_many(start, count):
        for n in range(start, start + count):
            filed.append(net.post(villages[n % 2], "/api/cases",
                                  filing("MZ-002", ["M01", "M02", "M03", "M04", "M05"],
                                         residence=villages[n % 2]))["case_no"])

    file_many(0, 60)
    net.kill(SOUTH)                     # SIGKILL while cases are in flight through it
    file_many(60, 100)                  # the villages keep filing while the township is down
    net.restart(SOUTH)
    file_many(160, 40)
    assert len(set(filed)) == total

    def arrived():
        listed = net.get(DISTRICT, "/api/cases", scope="held", status="pending_review", limit=500)["cases"]
        return {c["case_no"] for c in listed} >= set(filed)
    wait_until(arrived, timeout=90, interval=0.5, message="all 200 cases at the district")
    with net.database(DISTRICT).connect() as conn:
        rows = conn.execute(text(
            "SELECT case_no, count(*) FROM case_history WHERE action = 'receive' AND station = :d "
            "GROUP BY case_no"), {"d": DISTRICT}).all()
        received = {no: n for no, n in rows if no in set(filed)}
        cases = conn.execute(text("SELECT count(*) FROM cases WHERE case_no LIKE :p OR case_no LIKE :q"),
                             {"p": f"{SOUTH_VILLAGE}-%", "q": f"{SOUTH_COMMUNITY}-%"}).scalar()
    assert len(received) == total and set(received.values()) == {1}, "each case received exactly once"
    for case_no in filed[55:70]:  # those around the kill: one pass through the township each
        township_steps = [a for a in actions(net.case(DISTRICT, case_no)) if a[0] == SOUTH]
        assert [a[1] for a in township_steps] == ["receive", "forward"]
    assert cases >= total


# -- the district's back office at the web desk -------------------------------------------------
def desk_session(net, code, username):
    desk = requests.Session()
    response = desk.post(net.launcher.url_of(code) + "/desk/login",
                         data={"username": username, "password": net.client.password_of(code, username),
                               "csrf_token": form_token(desk, net.launcher.url_of(code) + "/desk/login")})
    assert response.ok and f"tongban_session_{code}" in desk.cookies
    return desk


def test_desk_shows_each_joint_departments_state_and_the_approvers_extension_requests(net):
    materials = [m["code"] for m in net.get(DISTRICT, "/api/items/ZJ-006")["materials"]]
    joint = net.post(DISTRICT, "/api/cases", filing("ZJ-006", materials))["case_no"]
    net.post(DISTRICT, f"/api/cases/{joint}/decisions", {"step": "approve", "outcome": "pass", "department": "housing"})
    page = desk_session(net, DISTRICT, "civil_affairs.approver").get(
        net.launcher.url_of(DISTRICT) + f"/desk/cases/{joint}").text
    assert "并联审批" in page
    assert re.search(r"区住房和城乡建设局：\s*通过", page) and re.search(r"区民政局：\s*待审批", page)

    materials = [m["code"] for m in net.get(DISTRICT, "/api/items/MZ-002")["materials"]]
    late = net.post(DISTRICT, "/api/cases", filing("MZ-002", materials))["case_no"]
    asked = net.call("POST", DISTRICT, f"/api/cases/{late}/extension", {"days": 3, "reason": "需入户核查家庭经济状况"},
                     as_user="civil_affairs.reviewer")
    assert asked.status_code == 200 and asked.json()["extension"]["status"] == "requested"
    worklist = desk_session(net, DISTRICT, "civil_affairs.approver").get(
        net.launcher.url_of(DISTRICT) + "/desk/worklist").text
    section = worklist[worklist.index("延期申请待审批"):]
    assert late in section and joint not in section
    other = desk_session(net, DISTRICT, "health.approver").get(net.launcher.url_of(DISTRICT) + "/desk/worklist").text
    assert late not in other


# -- ratings (好差评) and follow-ups of bad ones (整改) ----------------------------------------------
def look_up(net, station, case_no, query_code):
    """A resident's lookup (POST, nothing secret in the URL)."""
    return net.call("POST", station, "/api/status", {"case_no": case_no, "query_code": query_code}, as_user=False)


def completed_case(net, station=SOUTH_VILLAGE):
    """A civil-affairs case filed at `station`, approved at the district and handed over;
    returns (case number, its query code)."""
    body = filing("MZ-002", ["M01", "M02", "M03", "M04", "M05"])
    filed = net.post(station, "/api/cases", body)
    case_no = filed["case_no"]
    net.wait_status(DISTRICT, case_no, "pending_review")
    for step in ("review", "approve"):
        net.post(DISTRICT, f"/api/cases/{case_no}/decisions",
                 {"step": step, "outcome": "pass", "department": "civil_affairs"})
    net.wait_status(station, case_no, "result_ready")
    return case_no, filed["query_code"]


def test_a_resident_rates_their_case_once_by_number_and_query_code(net):
    case_no, query_code = completed_case(net)

    def rate(code=SOUTH_VILLAGE, **fields):
        return net.call("POST", code, "/api/status/rating",
                        {"case_no": case_no, "query_code": query_code, "score": 2, **fields}, as_user=False)

    early = rate(comment="还没拿到结果")
    assert early.status_code == 409 and "only a completed case" in early.json()["message"]
    net.post(SOUTH_VILLAGE, f"/api/cases/{case_no}/deliver", {})
    before = net.case(SOUTH_VILLAGE, case_no)
    refused = {
        "wrong query code": (rate(query_code="ABCD2345" if query_code != "ABCD2345" else "ABCD2346"), 404,
                             "no case matches"),
        "score out of range": (rate(score=6), 400, "score"),
        "score as text": (rate(score="5"), 400, "score"),
        "malformed code": (rate(query_code="12"), 400, "query_code"),
        "unknown field": (rate(operator="林代办"), 400, "operator"),
        "at a counter that does not hold it": (rate(NORTH_VILLAGE), 409, SOUTH_VILLAGE),
    }
    for what, (response, status, fragment) in refused.items():
        assert response.status_code == status and fragment in response.json()["message"], (what, response.text)
    assert net.case(SOUTH_VILLAGE, case_no) == before  # nothing of it was stored

    rated = rate(comment="等了很久才通知领取")
    assert rated.status_code == 200 and rated.json()["rating"] == 2 and "id_number" not in rated.text
    case = net.case(SOUTH_VILLAGE, case_no)
    assert case["rating"]["score"] == 2 and case["rating"]["comment"] == "等了很久才通知领取"
    assert case["history"][-1]["action"] == "rate" and case["history"][-1]["actor"] == "申请人（自助评价）"
    again = rate(score=5)
    assert again.status_code == 409 and "already been rated" in again.json()["message"]
    assert net.case(SOUTH_VILLAGE, case_no)["rating"]["score"] == 2
    # asked at another counter, the answer comes from the district's record
    wait_until(lambda: look_up(net, NORTH_VILLAGE, case_no, query_code).json()["rating"] == 2, 10,
               message="the rating in the district's record")


def test_the_residents_status_page_takes_a_rating_once(net):
    case_no, query_code = completed_case(net)
    net.post(SOUTH_VILLAGE, f"/api/cases/{case_no}/deliver", {})
    resident = requests.Session()
    url = net.launcher.url_of(SOUTH_VILLAGE)

    def post(path, form):
        """Submit a form of the status page as the browser would (with its form token)."""
        token = re.search(r'name="csrf_token" value="([^"]*)"', resident.get(url + "/desk/status").text).group(1)
        return resident.post(url + path, data={**form, "csrf_token": token}, allow_redirects=False)

    page = post("/desk/status", {"case_no": case_no, "query_code": query_code})
    assert page.ok and "提交评价" in page.text
    form = {"case_no": case_no, "query_code": query_code, "comment": "村里就能办"}
    no_score = post("/desk/status/rating", form)
    assert no_score.status_code == 400 and "提交评价" in no_score.text and "村里就能办" in no_score.text
    assert net.case(SOUTH_VILLAGE, case_no).get("rating") is None
    thanks = post("/desk/status/rating", {**form, "score": "5"})  # answered in place: no code in a URL
    assert thanks.status_code == 200 and "Location" not in thanks.headers
    assert "感谢您的评价" in thanks.text and "5 分" in thanks.text and "提交评价" not in thanks.text
    twice = post("/desk/status/rating", {**form, "score": "1"})
    assert twice.status_code == 409 and "每件只评价一次" in twice.text
    assert net.case(SOUTH_VILLAGE, case_no)["rating"]["score"] == 5


def test_a_bad_rating_opens_a_follow_up_only_its_department_answers_once(net):
    bad, bad_code = completed_case(net)
    good, good_code = completed_case(net)
    for case_no, code, score in ((bad, bad_code, 1), (good, good_code, 4)):
        net.post(SOUTH_VILLAGE, f"/api/cases/{case_no}/deliver", {})
        net.post(SOUTH_VILLAGE, "/api/status/rating", {"case_no": case_no, "query_code": code, "score": score,
                                                       "comment": "窗口说明不清楚" if score == 1 else ""})

    def follow_ups(user):
        return {f["case_no"]: f for f in net.call("GET", DISTRICT, "/api/follow-ups", as_user=user).json()["follow_ups"]}

    # the ratings reach the district with the filing station's record
    wait_until(lambda: bad in follow_ups("civil_affairs.reviewer"), 15, message="the follow-up at the district")
    opened = follow_ups("civil_affairs.reviewer")[bad]
    assert (opened["status"], opened["score"], opened["department"], opened["comment"]) == \
        ("open", 1, "civil_affairs", "窗口说明不清楚")
    wait_until(lambda: net.case(DISTRICT, good)["rating"], 15, message="the good rating at the district")
    assert good not in follow_ups("supervisor")  # 4 is satisfied: nothing to follow up
    assert bad in follow_ups("supervisor") and bad not in follow_ups("housing.reviewer")

    def answer(case_no, user, text="已约谈窗口人员，完善一次性告知单"):
        return net.call("POST", DISTRICT, f"/api/follow-ups/{case_no}", {"answer": text}, as_user=user)

    for user in ("housing.reviewer", "supervisor", "admin"):
        assert answer(bad, user).status_code == 403, user
    assert answer(good, "civil_affairs.approver").status_code == 404
    assert answer(bad, "civil_affairs.approver", text=" ").status_code == 400
    assert follow_ups("supervisor")[bad]["status"] == "open"
    assert answer(bad, "civil_affairs.approver").status_code == 200
    again = answer(bad, "civil_affairs.reviewer", text="再次答复")
    assert again.status_code == 409 and "already been answered" in again.json()["message"]
    closed = follow_ups("supervisor")[bad]
    assert (closed["status"], closed["answer"], closed["answered_by"]) == \
        ("answered", "已约谈窗口人员，完善一次性告知单", "civil_affairs.approver")


def test_statistics_refuse_a_period_that_ends_before_it_starts(net):
    response = net.call("GET", DISTRICT, "/api/stats?from=2026-12-31&to=2026-01-01")
    assert response.status_code == 400 and "'from' (2026-12-31) is after 'to' (2026-01-01)" in response.json()["message"]
    assert net.call("GET", DISTRICT, "/api/stats?from=2026-01-01&to=2026-12-31").status_code == 200
