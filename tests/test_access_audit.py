"""Personal data and the access audit (issue 13, point 6).

Unit and in-process tests first: phone numbers masked wherever ID numbers are; a full
view of a case written to the audit, with who, role, station, case and client address;
logins good and bad; the audit append-only in the database itself; entries copied to
the district in batches through the outbox, kept once there, and refused when a station
sends entries in another station's name; the supervisor's CSV. Then one small network
(its own broker node when TONGBAN_TEST_AMQP_URI points at one): a full-ID view and a
failed login at a village reach the district's audit, which only the supervisor reads.
"""
import datetime as dt
import os
from pathlib import Path
from types import SimpleNamespace

import pytest
import requests
from sqlalchemy import select, text
from sqlalchemy.exc import DatabaseError, IntegrityError
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from services.access_audit import BATCH, AuditInbox, AuditTrail, copy_to_district
from services.config import StationInfo
from shared.audit import entries as audit
from shared.audit.access import can_read_audit
from shared.audit.export import csv_bytes
from shared.audit.store import AuditLog
from shared.cases import schemas
from shared.cases.citizen_id import make as make_id
from shared.cases.views import case_view
from shared.db.models import OutboxMessage
from shared.exceptions import Forbidden, TooManyAttempts, Unauthorized
from shared.messages import AUDIT_COPY, envelope
from shared.stations import Network
from shared.trust import entitlement

NETWORK = Network.load(Path(__file__).parent / "cases_data" / "network_cases.yaml")
DISTRICT, SOUTH, SOUTH_VILLAGE, NORTH_VILLAGE = "449902", "449902001", "449902001201", "449902100201"
ID_NUMBER = make_id("449902", dt.date(1962, 3, 14), 4)
PHONE = "13812345678"

AGENT = {"username": "agent", "name": "林代办", "role": "village_agent", "department": None}
SUPERVISOR = {"username": "supervisor", "name": "监察员", "role": "supervisor", "department": None}
ADMIN = {"username": "admin", "name": "管理员", "role": "administrator", "department": None}
CLERK = {"username": "clerk", "name": "窗口", "role": "window_clerk", "department": None}


def info(code):
    return StationInfo(NETWORK.station(code), NETWORK)


def request_from(address, path="/api/cases/x"):
    return Request(EnvironBuilder(path=path, environ_base={"REMOTE_ADDR": address}).get_environ())


def a_case(holder=SOUTH_VILLAGE, case_no=f"{SOUTH_VILLAGE}-20260105-00001"):
    return {"case_no": case_no, "holder_station": holder, "filing_station": SOUTH_VILLAGE, "status": "accepted",
            "item": {"code": "MZ-002", "name": "最低生活保障申请", "department": "civil_affairs"},
            "applicant": {"name": "黄秀英", "id_number": ID_NUMBER, "phone": PHONE, "residence": SOUTH_VILLAGE},
            "acceptance": "accepted", "deciding_station": DISTRICT, "filed_at": "2026-01-05T09:30:00+08:00"}


def entries_in(db, **filters):
    with db.reading() as session:
        return AuditLog(session).search(**filters)[1]


# -- phone numbers masked like ID numbers ------------------------------------------------------
def test_phone_numbers_are_masked_in_every_list_line_and_masked_view():
    line = schemas.summary(a_case())
    assert line["applicant_phone"] == "138****5678" and PHONE not in str(line)
    assert line["applicant_id"].endswith(ID_NUMBER[-4:]) and ID_NUMBER not in str(line)
    view = schemas.masked(a_case())
    assert view["applicant"]["phone"] == "138****5678" and view["applicant"]["id_number"] != ID_NUMBER
    assert schemas.masked({**a_case(), "applicant": {**a_case()["applicant"], "phone": "0755-12345678"}}
                          )["applicant"]["phone"] == "075*-****5678"


def test_a_full_view_is_audited_and_a_masked_one_shows_no_phone(memory_db):
    trail = AuditTrail(memory_db, info(SOUTH_VILLAGE), request_from("10.1.2.3"))
    shown = case_view(a_case(), AGENT, SOUTH_VILLAGE, trail.full_view)
    assert shown["applicant"]["id_number"] == ID_NUMBER and shown["applicant"]["phone"] == PHONE
    [entry] = entries_in(memory_db)
    assert entry["kind"] == audit.FULL_VIEW and entry["username"] == "agent" and entry["role"] == "village_agent"
    assert entry["station"] == SOUTH_VILLAGE and entry["case_no"] == a_case()["case_no"]
    assert entry["client"] == "10.1.2.3" and entry["channel"] == "api" and entry["shown"] == "id_number,phone"
    assert abs(entry["at"] - audit.utc_now()) < dt.timedelta(minutes=1)
    # a supervisor, or a counter looking at a case held elsewhere: masked, nothing to audit
    for user, holder in ((SUPERVISOR, SOUTH_VILLAGE), (AGENT, DISTRICT)):
        masked = case_view(a_case(holder=holder), user, SOUTH_VILLAGE, trail.full_view)
        assert masked["applicant"]["phone"] == "138****5678" and ID_NUMBER not in str(masked)
    assert len(entries_in(memory_db)) == 1


def test_logins_and_changes_are_recorded_good_or_bad(memory_db):
    trail = AuditTrail(memory_db, info(SOUTH_VILLAGE), request_from("10.9.9.9", "/desk/login"))
    with pytest.raises(Unauthorized):
        with trail.login("agent"):
            raise Unauthorized("用户名或密码不正确（或账号已停用）")
    with pytest.raises(TooManyAttempts):
        with trail.login("=cmd|' /C calc'!A0"):
            raise TooManyAttempts("登录失败次数过多", 60)
    with trail.login("agent") as attempt:
        attempt.succeeded({"token": "t", "user": AGENT})
    with pytest.raises(Forbidden):
        with trail.change(AGENT, "decide", "C-1"):
            raise Forbidden("不能审批自己受理的办件")
    with trail.change(AGENT, "file") as change:
        change.case_no = "C-2"
    found = sorted((e["kind"], e["action"], e["outcome"], e["username"], e["case_no"] or "")
                   for e in entries_in(memory_db))
    assert found == [("change", "decide", "refused", "agent", "C-1"), ("change", "file", "ok", "agent", "C-2"),
                     ("login", "login", "failed", "agent", ""), ("login", "login", "ok", "agent", ""),
                     ("login", "login", "throttled", "=cmd|' /C calc'!A0", "")]
    assert {e["client"] for e in entries_in(memory_db)} == {"10.9.9.9"}
    assert {e["channel"] for e in entries_in(memory_db)} == {"desk"}


def test_the_client_behind_the_stations_own_proxy_is_recorded_and_a_forged_forward_is_not(memory_db):
    def recorded(remote, forwarded):
        request = Request(EnvironBuilder(path="/api/cases/x", headers={"X-Forwarded-For": forwarded},
                                         environ_base={"REMOTE_ADDR": remote}).get_environ())
        trail = AuditTrail(memory_db, info(SOUTH_VILLAGE), request)
        with trail.login("agent") as attempt:
            attempt.succeeded({"user": AGENT})
        return entries_in(memory_db, username="agent")[0]["client"]
    assert recorded("127.0.0.1", "203.0.113.9") == "203.0.113.9"  # nginx on the station's machine
    assert recorded("10.0.0.7", "203.0.113.9") == "10.0.0.7"       # anyone else may not say where they are


def test_the_audit_is_append_only_in_the_database_itself(memory_db):
    trail = AuditTrail(memory_db, info(SOUTH_VILLAGE), request_from("10.1.2.3"))
    trail.full_view(AGENT, a_case())
    for statement in ("UPDATE access_audit SET username = 'someone_else'", "DELETE FROM access_audit"):
        with pytest.raises((DatabaseError, IntegrityError), match="append-only"):
            with memory_db.transaction() as session:
                session.execute(text(statement))
    assert [e["username"] for e in entries_in(memory_db)] == ["agent"]
    assert not any(hasattr(AuditLog, name) for name in ("update", "delete", "remove", "edit"))


# -- copies to the district ---------------------------------------------------------------------
class OutboxOnly:
    """The relay's part copy_to_district uses: its database, and flush (whose publishing
    is services/relay.py's, tested with the broker elsewhere)."""

    def __init__(self, database):
        self.database = database
        self.flushed = []

    def flush(self, ids):
        self.flushed.append(ids)


def test_entries_go_to_the_district_in_batches_through_the_outbox(memory_db):
    trail = AuditTrail(memory_db, info(SOUTH_VILLAGE), request_from("10.1.2.3"))
    for n in range(BATCH * 2 + 7):
        trail.full_view(AGENT, a_case(case_no=f"{SOUTH_VILLAGE}-20260105-{n:05d}"))
    relay = OutboxOnly(memory_db)
    assert [copy_to_district(relay, info(SOUTH_VILLAGE)) for _ in range(4)] == [BATCH, BATCH, 7, 0]
    with memory_db.reading() as session:
        messages = [SimpleNamespace(kind=m.kind, routing_key=m.routing_key, body=m.body)
                    for m in session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))]
        assert AuditLog(session).unsent_count() == 0
    assert [(m.kind, m.routing_key) for m in messages] == [(AUDIT_COPY, DISTRICT)] * 3
    assert [len(m.body["body"]["entries"]) for m in messages] == [BATCH, BATCH, 7]
    assert len({e["entry_id"] for m in messages for e in m.body["body"]["entries"]}) == BATCH * 2 + 7
    assert len(relay.flushed) == 3
    # the district's own entries stay at home: nothing to copy
    AuditTrail(memory_db, info(DISTRICT), None).full_view(CLERK, a_case(holder=DISTRICT))
    assert copy_to_district(relay, info(DISTRICT)) == 0


def copy_message(sender, entries, station=None):
    return envelope(AUDIT_COPY, {"station": station or sender, "entries": entries}, sender)


def station_entries(db, code, n=3):
    trail = AuditTrail(db, info(code), request_from("10.1.2.3"))
    for i in range(n):
        trail.full_view(AGENT, a_case(case_no=f"{code}-20260105-{i:05d}"))
    with db.transaction() as session:
        return [audit.as_message(e) for e in AuditLog(session).batch_to_copy()]


def test_a_copy_reaches_the_district_and_is_kept_once(memory_db, tmp_path):
    from shared.db.database import Database
    village_db = Database(f"sqlite:///{tmp_path / 'village.sqlite3'}")
    village_db.create_schema()
    entries = station_entries(village_db, SOUTH_VILLAGE)
    inbox = AuditInbox(memory_db, info(DISTRICT))
    message = copy_message(SOUTH_VILLAGE, entries)
    assert inbox.receive(message) == 3
    assert inbox.receive(message) == 0  # redelivered
    assert inbox.receive(copy_message(SOUTH_VILLAGE, entries)) == 0  # sent twice (crash before marked sent)
    kept = entries_in(memory_db, station=SOUTH_VILLAGE)
    assert sorted(e["entry_id"] for e in kept) == sorted(e["entry_id"] for e in entries)
    assert {e["client"] for e in kept} == {"10.1.2.3"}


def test_a_station_forging_another_stations_audit_entries_is_refused(memory_db, tmp_path):
    from shared.db.database import Database
    village_db = Database(f"sqlite:///{tmp_path / 'village.sqlite3'}")
    village_db.create_schema()
    south = station_entries(village_db, SOUTH_VILLAGE, 2)
    inbox = AuditInbox(memory_db, info(DISTRICT))
    forged_entry = {**south[0], "entry_id": "f" * 32, "username": "north_agent_blamed"}
    forgeries = [
        # the north village sends the south village's entries, in its own envelope or the south's
        copy_message(NORTH_VILLAGE, south),
        copy_message(NORTH_VILLAGE, south, station=SOUTH_VILLAGE),
        # its own batch with one entry in the south village's name
        copy_message(NORTH_VILLAGE, [{**forged_entry, "station": NORTH_VILLAGE}, forged_entry]),
        # the district's name is not a station's to borrow
        copy_message(NORTH_VILLAGE, [{**forged_entry, "station": DISTRICT}]),
        # an entry with a field the schema does not know, or too long
        copy_message(SOUTH_VILLAGE, [{**south[0], "entry_id": "e" * 32, "extra": "x"}]),
        copy_message(SOUTH_VILLAGE, [{**south[0], "entry_id": "d" * 32, "username": "x" * 51}]),
    ]
    for message in forgeries:
        with pytest.raises(entitlement.NotEntitled, match="refused"):
            inbox.receive(message)
    assert entries_in(memory_db) == []
    # the rule itself, as the consumer's dispatch applies it
    with pytest.raises(entitlement.NotEntitled, match=f"entries of station\\(s\\) {SOUTH_VILLAGE}"):
        entitlement.check(AUDIT_COPY, NORTH_VILLAGE, DISTRICT, {"station": NORTH_VILLAGE, "entries": south})
    with pytest.raises(entitlement.NotEntitled, match="to the district"):
        entitlement.check(AUDIT_COPY, SOUTH_VILLAGE, SOUTH, {"station": SOUTH_VILLAGE, "entries": south})
    entitlement.check(AUDIT_COPY, SOUTH_VILLAGE, DISTRICT, {"station": SOUTH_VILLAGE, "entries": south})
    assert inbox.receive(copy_message(SOUTH_VILLAGE, south)) == 2


# -- reading it at the district -----------------------------------------------------------------
def test_only_the_supervisor_reads_the_audit_and_the_csv_opens_in_excel():
    can_read_audit(SUPERVISOR)
    for user in (ADMIN, CLERK, AGENT, {**AGENT, "role": "approver", "department": "civil_affairs"}):
        with pytest.raises(Forbidden, match="访问审计"):
            can_read_audit(user)
    entry = audit.new_entry(SOUTH_VILLAGE, audit.LOGIN, "login", audit.FAILED, "=HYPERLINK(\"http://x\")",
                            client="10.0.0.8", channel="desk", at=dt.datetime(2026, 1, 5, 1, 30))
    data = csv_bytes([entry], station_name=lambda code: "南村便民服务站")
    assert data.startswith(b"\xef\xbb\xbf")  # the BOM: Excel reads UTF-8
    rows = data.decode("utf-8-sig").splitlines()
    assert rows[0].startswith("时间,站点编码,站点,用户名")
    assert rows[1].startswith(f"2026-01-05 09:30:00,{SOUTH_VILLAGE},南村便民服务站,\"'=HYPERLINK(")
    assert "登录,login,失败" in rows[1]


# -- on a small network ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def net():
    from tests.test_case_network import running_case_network
    os.environ["TONGBAN_AUDIT_COPY_SECONDS"] = "1"
    try:
        with running_case_network() as network:
            yield network
    finally:
        os.environ.pop("TONGBAN_AUDIT_COPY_SECONDS", None)


def district_audit(net, path="/api/audit", as_user="supervisor", **params):
    response = net.client.get(DISTRICT, path, params=params, as_user=as_user, timeout=10)
    assert response.status_code == 200, response.text
    return response.json() if path == "/api/audit" else response


def test_a_full_id_view_and_a_failed_login_at_a_village_reach_the_districts_audit(net):
    from tests.test_case_network import filing, wait_until
    # materials missing: the case stays at the village's counter, which sees it whole
    case = net.post(SOUTH_VILLAGE, "/api/cases", filing("MZ-002", ["M01"]))
    case_no = case["case_no"]
    assert case["status"] == "needs_supplement"
    seen = net.get(SOUTH_VILLAGE, f"/api/cases/{case_no}")
    assert seen["applicant"]["phone"] == "13800138000" and "*" not in seen["applicant"]["id_number"]
    wrong = net.http.post(net.launcher.url_of(SOUTH_VILLAGE) + "/api/login",
                          json={"username": "agent", "password": "not-the-password"}, timeout=10)
    assert wrong.status_code == 401
    # lists mask the phone
    listed = net.get(SOUTH_VILLAGE, "/api/cases", scope="filed")["cases"]
    assert any(c["case_no"] == case_no and c["applicant_phone"] == "138****8000" for c in listed)

    views = wait_until(lambda: district_audit(net, station=SOUTH_VILLAGE, case_no=case_no, kind="full_view")["entries"],
                       30, message="the village's full view at the district")
    assert views[0]["username"] == "agent" and views[0]["role"] == "village_agent"
    assert views[0]["shown"] == "id_number,phone" and views[0]["client"] == "127.0.0.1"
    failed = wait_until(lambda: [e for e in district_audit(net, station=SOUTH_VILLAGE, kind="login")["entries"]
                                 if e["outcome"] == "failed" and e["username"] == "agent"],
                        30, message="the failed login at the district")
    assert failed[0]["client"] == "127.0.0.1" and failed[0]["channel"] == "api"
    page = district_audit(net, station=SOUTH_VILLAGE, limit=1)
    assert page["limit"] == 1 and len(page["entries"]) == 1 and page["total"] >= 3

    csv = district_audit(net, "/api/audit.csv", case_no=case_no)
    assert csv.headers["Content-Type"].startswith("text/csv") and "attachment" in csv.headers["Content-Disposition"]
    assert csv.content.startswith(b"\xef\xbb\xbf") and case_no in csv.content.decode("utf-8-sig")
    for username in ("admin", "clerk"):
        for path in ("/api/audit", "/api/audit.csv"):
            refused = net.client.get(DISTRICT, path, as_user=username, timeout=10)
            assert refused.status_code == 403, (username, path, refused.text)
            assert SOUTH_VILLAGE not in refused.text

    # the same at the web desk, with the supervisor's session in the desk's cookie
    desk = net.launcher.url_of(DISTRICT) + "/desk/audit"
    for username, status in (("supervisor", 200), ("clerk", 403), ("admin", 403)):
        cookies = {f"tongban_session_{DISTRICT}": net.client.token(DISTRICT, username)}
        shown = net.http.get(desk, params={"case_no": case_no}, cookies=cookies, timeout=10)
        assert shown.status_code == status and (case_no in shown.text) == (status == 200), username
        download = net.http.get(desk + ".csv", params={"case_no": case_no}, cookies=cookies, timeout=10)
        assert download.status_code == status
        assert download.content.startswith(b"\xef\xbb\xbf") == (status == 200)


def test_a_failed_login_at_the_desk_reaches_the_districts_audit(net):
    import re
    from tests.test_case_network import wait_until
    browser = requests.Session()
    desk = net.launcher.url_of(SOUTH_VILLAGE) + "/desk/login"
    token = re.search(r'name="csrf_token" value="([^"]+)"', browser.get(desk, timeout=10).text).group(1)
    refused = browser.post(desk, data={"username": "desk-guess", "password": "x" * 12, "csrf_token": token},
                           headers={"Origin": net.launcher.url_of(SOUTH_VILLAGE)}, timeout=10)
    assert refused.status_code == 401 and "用户名或密码错误" in refused.text
    at_desk = wait_until(lambda: district_audit(net, station=SOUTH_VILLAGE, username="desk-guess")["entries"],
                         30, message="the desk's failed login at the district")
    assert (at_desk[0]["kind"], at_desk[0]["outcome"], at_desk[0]["channel"]) == ("login", "failed", "desk")
