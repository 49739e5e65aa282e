"""Forged requests and unbounded lists (issue 13, points 3 and 7).

The district's gateway runs in this process (a nameko container on its own port, its
SQLite database in a temporary directory, the test broker). Each test does what a page
of another site would make the browser do, or what a client asking for everything at
once would, and checks that the station refuses it and that nothing changed:

- a `text/plain` POST to the API with the administrator's desk cookie and a foreign
  Origin (what a form of another site can send without asking) creates no user; the
  desk's cookie alone is nobody on the API; the API takes JSON bodies only (415);
- a desk form POSTed without its token, with another session's token or from another
  origin is refused with 403 and a Chinese page, before any page runs; the same form
  with the token from the desk's own page works;
- the cookies are HttpOnly and SameSite=Strict, and Secure when the station is told it
  is served over HTTPS;
- every list (follow-ups, lights, alerts, the station's alerts, dead letters) answers a
  page: total, limit, offset, a bounded limit.
"""
import datetime as dt
import json
import re
import uuid
from pathlib import Path
from types import SimpleNamespace

import pytest
import requests
from kombu import Connection
from nameko.containers import ServiceContainer
from nameko.rpc import get_rpc_exchange
from sqlalchemy import func, select
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from deploy.drills.harness import free_port
from district.gateway import DistrictGatewayService
from services.auth import session_cookie
from services.config import DATABASE_KEY, NETWORK_KEY, SECURE_COOKIES_KEY, STATION_KEY
from services.dead_letters import original_queues
from services.topology import declare_network
from services.web_desk.guard import cookie_flags, form_key_cookie
from shared.auth.accounts import Accounts
from shared.db.database import get_database
from shared.cases import states
from shared.cases.summary import summary
from shared.db.models import Case, FollowUpAnswer, LoginSession, StationAlert, SupervisionAlert, User
from shared.messages import dead_letter_queue
from shared.stations import Network

NETWORK = Path(__file__).parent / "data" / "network_small.yaml"
PASSWORD = "Csrf-test-Passw0rd-2026"
STAFF = [("admin", "管理员", "administrator", None), ("supervisor", "监察员", "supervisor", None),
         ("clerk", "窗口员", "window_clerk", None),
         ("civil_affairs.reviewer", "审查员", "reviewer", "civil_affairs")]
EVIL = "http://evil.example"


@pytest.fixture(scope="module")
def district(amqp_uri, tmp_path_factory):
    """The district's gateway in this process, with its own users (no sample passwords)."""
    network = Network.load(str(NETWORK))
    code = network.district_code
    declare_network(amqp_uri, network)
    with Connection(amqp_uri, connect_timeout=5) as connection:  # made by a district's RPC services otherwise
        get_rpc_exchange({})(connection.default_channel).declare()
    db_url = f"sqlite:///{tmp_path_factory.mktemp('csrf') / 'district.sqlite3'}"
    db = get_database(db_url)
    with db.transaction() as session:
        accounts = Accounts(session, network.station(code), network)
        for username, name, role, department in STAFF:
            accounts.add({"username": username, "name": name, "role": role, "department": department,
                          "password": PASSWORD})
    port = free_port()
    config = {"AMQP_URI": amqp_uri, "WEB_SERVER_ADDRESS": f"127.0.0.1:{port}", STATION_KEY: code,
              NETWORK_KEY: str(NETWORK), DATABASE_KEY: db_url}
    container = ServiceContainer(DistrictGatewayService, config)
    container.start()
    try:
        yield SimpleNamespace(url=f"http://127.0.0.1:{port}", origin=f"http://127.0.0.1:{port}", port=port,
                              db=db, code=code, network=network, amqp_uri=amqp_uri)
    finally:
        container.stop()


def api_token(district, username):
    response = requests.post(district.url + "/api/login", json={"username": username, "password": PASSWORD},
                             timeout=10)
    assert response.status_code == 200, response.text
    return response.json()["token"]


def token_in(html):
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "the page has no form token"
    return found.group(1)


def desk_login(district, username):
    """A browser logged in at the desk through its login form."""
    browser = requests.Session()
    token = token_in(browser.get(district.url + "/desk/login", timeout=10).text)
    response = browser.post(district.url + "/desk/login", allow_redirects=False, timeout=10,
                            data={"username": username, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 303, response.text
    assert session_cookie(district.code) in browser.cookies
    return browser


def logged_in(district, browser):
    """Whether the browser's desk session still works (the home page, not the login page)."""
    response = browser.get(district.url + "/desk/", allow_redirects=False, timeout=10)
    return response.status_code == 200


def sessions_of(district, username):
    with district.db.reading() as session:
        return session.scalar(select(func.count()).select_from(LoginSession).where(LoginSession.username == username))


def user_exists(district, username):
    with district.db.reading() as session:
        return session.get(User, username) is not None


# -- the API: Bearer only, JSON only -------------------------------------------------------------
def test_a_text_plain_post_with_the_admins_cookie_from_another_site_creates_no_user(district):
    token = api_token(district, "admin")
    new_user = {"username": "mallory", "name": "冒名", "role": "administrator", "password": "Mallory-Passw0rd-99"}
    # what a form of another site sends: text/plain, the browser's cookie, a foreign Origin
    forged = requests.post(district.url + "/api/users", data=json.dumps(new_user), timeout=10,
                           headers={"Content-Type": "text/plain", "Origin": EVIL,
                                    "Cookie": f"{session_cookie(district.code)}={token}"})
    assert forged.status_code in (401, 415), forged.text
    assert forged.json()["error"] in ("UNAUTHORIZED", "UNSUPPORTED_MEDIA_TYPE")
    # with the cookie but a JSON body (which another site cannot send without asking): still nobody
    cookie_only = requests.post(district.url + "/api/users", json=new_user, timeout=10,
                                headers={"Cookie": f"{session_cookie(district.code)}={token}", "Origin": EVIL})
    assert cookie_only.status_code == 401, cookie_only.text
    # even with the administrator's Bearer token, a body that is not JSON is refused before anything runs
    for content_type, body in (("text/plain", json.dumps(new_user)),
                               ("application/x-www-form-urlencoded", "username=mallory&role=administrator"),
                               ("multipart/form-data; boundary=x", "--x\r\n\r\nmallory\r\n--x--\r\n")):
        refused = requests.post(district.url + "/api/users", data=body, timeout=10,
                                headers={"Content-Type": content_type, "Authorization": f"Bearer {token}"})
        assert refused.status_code == 415, (content_type, refused.text)
        assert refused.json()["error"] == "UNSUPPORTED_MEDIA_TYPE" and "application/json" in refused.json()["message"]
    assert not user_exists(district, "mallory")
    # the administrator's own client, with the token and JSON, still adds users
    made = requests.post(district.url + "/api/users", json={**new_user, "username": "zhang.wei", "name": "张伟"},
                         headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert made.status_code == 201, made.text
    assert user_exists(district, "zhang.wei")


def test_the_desks_cookie_alone_is_nobody_on_the_api(district):
    browser = desk_login(district, "admin")
    assert logged_in(district, browser)
    me = browser.get(district.url + "/api/me", timeout=10)
    assert me.status_code == 401 and me.json()["error"] == "UNAUTHORIZED"
    users = browser.get(district.url + "/api/users", timeout=10)
    assert users.status_code == 401
    token = browser.cookies[session_cookie(district.code)]  # the same session, as a Bearer token
    assert requests.get(district.url + "/api/me", headers={"Authorization": f"Bearer {token}"},
                        timeout=10).json()["username"] == "admin"


# -- the desk: form tokens and origins -----------------------------------------------------------
def test_desk_forms_without_their_token_are_refused_before_any_page_runs(district):
    browser = desk_login(district, "clerk")
    sessions = sessions_of(district, "clerk")
    # logging out is a change: without a token, with a made-up one, with another user's
    other = desk_login(district, "supervisor")
    others_token = token_in(other.get(district.url + "/desk/", timeout=10).text)
    for fields in ({}, {"csrf_token": "forged"}, {"csrf_token": others_token}, {"csrf_token": ""}):
        refused = browser.post(district.url + "/desk/logout", data=fields, allow_redirects=False, timeout=10)
        assert refused.status_code == 403, (fields, refused.status_code)
        assert "页面已过期或来源不明，操作未执行" in refused.text and refused.headers["Content-Type"].startswith("text/html")
    assert logged_in(district, browser) and sessions_of(district, "clerk") == sessions
    # a case form: refused for the token before the case is even looked up (403, not 404)
    action = browser.post(district.url + "/desk/cases/449901-20260101-0001/deliver", data={}, timeout=10,
                          allow_redirects=False)
    assert action.status_code == 403 and "操作未执行" in action.text
    # a text/plain body (what a form of another site can send) has no token either
    plain = browser.post(district.url + "/desk/logout", data="csrf_token=x", allow_redirects=False, timeout=10,
                         headers={"Content-Type": "text/plain"})
    assert plain.status_code == 403 and logged_in(district, browser)
    # the login form too: a right password without the form's token opens no session
    stranger = requests.Session()
    before = sessions_of(district, "admin")
    login = stranger.post(district.url + "/desk/login", data={"username": "admin", "password": PASSWORD},
                          allow_redirects=False, timeout=10)
    assert login.status_code == 403 and session_cookie(district.code) not in stranger.cookies
    assert sessions_of(district, "admin") == before


def test_a_desk_post_from_another_origin_is_refused_even_with_its_token(district):
    browser = desk_login(district, "clerk")
    token = token_in(browser.get(district.url + "/desk/", timeout=10).text)
    other_station = f"http://127.0.0.1:{district.port + 1}"  # another station of the same host
    for headers in ({"Origin": EVIL}, {"Origin": other_station}, {"Origin": "null"},
                    {"Sec-Fetch-Site": "cross-site"}, {"Sec-Fetch-Site": "same-site"},
                    {"Origin": district.origin, "Sec-Fetch-Site": "same-site"}):
        refused = browser.post(district.url + "/desk/logout", data={"csrf_token": token}, headers=headers,
                               allow_redirects=False, timeout=10)
        assert refused.status_code == 403, (headers, refused.status_code)
        assert "请求来自其他网站" in refused.text
    assert logged_in(district, browser)


def test_the_desks_own_forms_still_work(district):
    browser = desk_login(district, "clerk")  # the login form, with its token
    page = browser.get(district.url + "/desk/", timeout=10).text
    assert 'action="/desk/logout"' in page
    # a link or an image of another page of the site cannot log anyone out: logout is a form's POST
    for method in ("GET", "HEAD"):
        assert browser.request(method, district.url + "/desk/logout", allow_redirects=False,
                               timeout=10).status_code == 405
    assert logged_in(district, browser)
    # a browser sends its own origin and Sec-Fetch-Site: same-origin
    done = browser.post(district.url + "/desk/logout", data={"csrf_token": token_in(page)}, allow_redirects=False,
                        headers={"Origin": district.origin, "Sec-Fetch-Site": "same-origin"}, timeout=10)
    assert done.status_code == 303 and done.headers["Location"] == "/desk/login"
    assert not logged_in(district, browser)
    # logged out, the login page is bound to the browser's pre-session key and works again
    assert form_key_cookie(district.code) in browser.cookies
    token = token_in(browser.get(district.url + "/desk/login", timeout=10).text)
    again = browser.post(district.url + "/desk/login", data={"username": "clerk", "password": PASSWORD,
                                                              "csrf_token": token}, allow_redirects=False, timeout=10)
    assert again.status_code == 303 and logged_in(district, browser)


def test_the_desks_cookies_are_httponly_and_samesite_strict(district):
    browser = requests.Session()
    page = browser.get(district.url + "/desk/login", timeout=10)
    form_key = page.headers["Set-Cookie"]
    assert form_key.startswith(form_key_cookie(district.code) + "=")
    login = browser.post(district.url + "/desk/login", allow_redirects=False, timeout=10,
                         data={"username": "clerk", "password": PASSWORD, "csrf_token": token_in(page.text)})
    session = login.headers["Set-Cookie"]
    assert session.startswith(session_cookie(district.code) + "=")
    for cookie in (form_key, session):
        flags = {part.strip().lower() for part in cookie.split(";")[1:]}
        assert {"httponly", "samesite=strict", "path=/"} <= flags and "secure" not in flags  # plain HTTP here


def test_cookies_are_secure_behind_https():
    plain = Request(EnvironBuilder(path="/desk/login").get_environ())
    assert cookie_flags({}, plain)["secure"] is False
    # the TLS proxy in front of the station: the station is told so
    for told in (True, "1", "true"):
        assert cookie_flags({SECURE_COOKIES_KEY: told}, plain) == {
            "httponly": True, "samesite": "Strict", "path": "/", "secure": True}
    # a client's X-Forwarded-Proto is not believed; a TLS connection to the station itself is
    forwarded = Request(EnvironBuilder(path="/desk/login", headers={"X-Forwarded-Proto": "https"}).get_environ())
    assert cookie_flags({SECURE_COOKIES_KEY: False}, forwarded)["secure"] is False
    direct = Request(EnvironBuilder(path="/desk/login", base_url="https://station.example/").get_environ())
    assert cookie_flags({}, direct)["secure"] is True


# -- paging: every list answers a page -----------------------------------------------------------
def _case(case_no, status, due, department="civil_affairs", rating=None, filed=None):
    filed = filed or dt.datetime(2026, 1, 5, 9, 0)
    snapshot = {"case_no": case_no, "status": status, "accepted_at": filed.isoformat(), "due_date": due.isoformat(),
                "history": [], "filed_at": filed.isoformat(), "filing_station": DISTRICT_CODE,
                "item": {"code": "MZ-002", "name": "低保申请", "department": department, "promised_limit_days": 10}}
    if rating:
        snapshot["rating"] = {"score": rating, "comment": "测试", "at": filed.isoformat()}
    # the row as CaseRepository.save writes it: its summary columns beside the snapshot
    return Case(case_no=case_no, item_code="MZ-002", department=department, status=status,
                filing_station=DISTRICT_CODE, holder_station=DISTRICT_CODE, held_here=True, revision=1,
                filed_at=filed, due_date=due, snapshot=snapshot, **summary(snapshot))


DISTRICT_CODE = "449901"


@pytest.fixture(scope="module")
def lists(district):
    """What each list holds: running cases of every light, bad and good ratings (one
    answered), the district's alerts, the station's alerts and dead letters."""
    today = dt.date.today()
    lights = {"red": [today - dt.timedelta(days=d) for d in (30, 20, 10)],
              "green": [today + dt.timedelta(days=d) for d in (60, 70, 80, 90)]}
    expected = {"red": [], "green": [], "follow_ups": [], "alerts": [], "station_alerts": []}
    with district.db.transaction() as session:
        n = 0
        for colour, days in lights.items():
            for due in days:
                n += 1
                case_no = f"{DISTRICT_CODE}-20260105-{n:04d}"
                session.add(_case(case_no, states.PENDING_REVIEW, due))
                expected[colour].append(case_no)
        for i, score in enumerate((1, 2, 5, 1, 4, 2, 1), start=1):
            case_no = f"{DISTRICT_CODE}-20251201-{i:04d}"
            session.add(_case(case_no, states.COMPLETED, today, rating=score,
                              filed=dt.datetime(2025, 12, 1, 8, 0) + dt.timedelta(hours=i)))
            if score <= 2:
                expected["follow_ups"].append(case_no)
        session.add(FollowUpAnswer(case_no=expected["follow_ups"][0], department="civil_affairs", answer="已整改",
                                   answered_by="civil_affairs.reviewer", answered_at="2025-12-02T09:00:00"))
        for i, case_no in enumerate(expected["red"] + expected["green"][:2]):
            session.add(SupervisionAlert(case_no=case_no, kind="yellow_card", department="civil_affairs",
                                         station=DISTRICT_CODE, raised_at=f"2026-01-0{i + 1}T09:00:00",
                                         due_date="2026-01-01"))
            expected["alerts"].append(case_no)
            message_id = f"alert-{i}"
            session.add(StationAlert(message_id=message_id, case_no=case_no, kind="yellow_card",
                                     department="civil_affairs", text="黄牌", raised_at=f"2026-01-0{i + 1}T09:00:00"))
            expected["station_alerts"].append(case_no)
    # dead letters in the district's inbox's dead-letter queue (what a consumer gave up on)
    inbox = original_queues(district.code, True)[0]
    with Connection(district.amqp_uri, connect_timeout=5) as connection:
        connection.default_channel.queue_purge(dead_letter_queue(inbox))
        producer = connection.Producer()
        expected["dead_letters"] = []
        for i in range(7):
            message_id = f"dead-{i:02d}-{uuid.uuid4().hex[:8]}"
            producer.publish({"kind": "case.handover", "body": {"case_no": f"X-{i}"}}, routing_key=dead_letter_queue(inbox),
                             exchange="", message_id=message_id, serializer="json",
                             headers={"x-tongban-error": "test: gave up"})
            expected["dead_letters"].append(message_id)
    expected["dead_letters"].sort()
    return expected


def walk(district, path, key, token, size):
    """Every row of a list, page by page; checks each page's total, limit and offset."""
    seen, offset, total = [], 0, None
    while True:
        page = requests.get(district.url + path, params={"limit": size, "offset": offset}, timeout=10,
                            headers={"Authorization": f"Bearer {token}"})
        assert page.status_code == 200, page.text
        body = page.json()
        assert body["limit"] == size and body["offset"] == offset and len(body[key]) <= size
        assert total is None or body["total"] == total
        total = body["total"]
        if not body[key]:
            break
        seen += body[key]
        offset += size
    assert len(seen) == total
    return seen


@pytest.mark.parametrize("path,key,user", [
    ("/api/supervision/lights", "cases", "supervisor"),
    ("/api/supervision/alerts", "alerts", "supervisor"),
    ("/api/follow-ups", "follow_ups", "supervisor"),
    ("/api/alerts", "alerts", "clerk"),
    ("/api/dead-letters", "dead_letters", "admin"),
])
def test_every_list_answers_a_bounded_page(district, lists, path, key, user):
    token = api_token(district, user)
    headers = {"Authorization": f"Bearer {token}"}
    for bad in ({"limit": 0}, {"limit": 1001}, {"limit": "all"}, {"offset": -1}, {"offset": 10 ** 9}):
        refused = requests.get(district.url + path, params=bad, headers=headers, timeout=10)
        assert refused.status_code == 400 and refused.json()["error"] == "INVALID_INPUT", (bad, refused.text)
    rows = walk(district, path, key, token, 2)
    if key == "cases":
        assert [r["case_no"] for r in rows] == lists["red"] + lists["green"]  # soonest due first
        assert [r["light"] for r in rows] == ["red"] * 3 + ["green"] * 4
    elif key == "follow_ups":
        assert [r["case_no"] for r in rows] == lists["follow_ups"][::-1]  # newest first
        assert [r["status"] for r in rows] == ["open"] * (len(rows) - 1) + ["answered"]
    elif key == "dead_letters":
        assert sorted(r["id"] for r in rows) == lists["dead_letters"]
        assert all(r["reason"] == "test: gave up" for r in rows)
    elif path == "/api/alerts":
        assert [r["case_no"] for r in rows] == lists["station_alerts"][::-1]  # newest first
    else:
        assert [r["case_no"] for r in rows] == lists["alerts"]  # in the order raised
    # the default page is bounded too
    default = requests.get(district.url + path, headers=headers, timeout=10).json()
    assert default["offset"] == 0 and 1 <= default["limit"] <= 500 and default["total"] == len(rows)


def test_the_lights_of_one_colour_are_paged_too(district, lists):
    token = api_token(district, "supervisor")
    for colour in ("red", "green"):
        rows = walk(district, f"/api/supervision/lights?light={colour}", "cases", token, 2)
        assert [r["case_no"] for r in rows] == lists[colour] and {r["light"] for r in rows} == {colour}
    assert walk(district, "/api/supervision/lights?light=yellow", "cases", token, 2) == []
    purple = requests.get(district.url + "/api/supervision/lights", params={"light": "purple"}, timeout=10,
                          headers={"Authorization": f"Bearer {token}"})
    assert purple.status_code == 400 and "light" in purple.json()["message"]
