"""Notices to residents exactly once across a gateway outage and a sender killed in the
middle (issue 16), with real station processes on RabbitMQ (SQLite or PostgreSQL:
TONGBAN_TEST_DATABASE) sending through the HTTP SMS channel (`sms:<url>`,
shared/notices/channels.py) to the local SMS gateway (tests/support/sms_receiver.py),
which delivers one SMS per `out_id` (our notice id) as real gateways do.

- The gateway is down while the counter answers pre-reviews: every answer's notice is
  tried, refused (503) and kept; none is lost. When the gateway is back, the sweep sends
  them; the village's process is killed (SIGKILL) in the middle of that sweep, after the
  gateway took one notice and before the station heard the answer (so before it marked
  it sent). After a restart every notice is sent, the interrupted one again under the
  same notice id, and the resident receives each exactly once.
- The same kill right after a step's commit, while its notice is being sent (the flush
  of the request that wrote it): after the restart it is sent again, received once.

Counted at the gateway by notice id, against the station's notice outbox.
"""
import base64
import datetime as dt
import io
import json
import threading
from pathlib import Path

import pytest
import requests
from sqlalchemy import text

from deploy.drills.harness import wait_until
from shared.cases.citizen_id import make as make_id
from shared.notices.sender import LEASE
from tests.support.sample_files import jpeg, pdf
from tests.support.sms_receiver import SmsReceiver
from tests.test_case_network import running_case_network

NETWORK = Path(__file__).parent / "cases_data" / "network_portal.yaml"
DISTRICT, TOWNSHIP, VILLAGE = "449921", "449921001", "449921001201"
ITEM = "RS-005"  # 网上预审 at the village's counter
SIGN = "测试区政务服务"


class Gateway(SmsReceiver):
    """The local SMS gateway, which can also take one SMS (delivered) and then not answer
    until `release` (the station is killed meanwhile): `hold_after(n)` lets n more SMS
    through answered, then holds the next one."""

    def __init__(self):
        super().__init__()
        self._left = None
        self.held = threading.Event()    # set when an SMS is delivered and its answer held
        self.release = threading.Event()
        self.held_out_id = None

    def hold_after(self, answered):
        with self._lock:
            self._left = answered
            self.held.clear()
            self.release.clear()
            self.held_out_id = None

    def app(self, environ, start_response):
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        environ["wsgi.input"] = io.BytesIO(body)
        answered = []
        response = SmsReceiver.app(self, environ, lambda status, headers, *exc: (
            answered.append(status), start_response(status, headers, *exc))[1])
        hold = False
        if answered and answered[0].startswith("200"):
            with self._lock:
                if self._left is not None:
                    hold, self._left = self._left == 0, (None if self._left == 0 else self._left - 1)
        if hold:
            self.held_out_id = json.loads(body)["out_id"]
            self.held.set()
            self.release.wait(120)   # the station is gone by then: its answer is never read
        return response

    def posts_of(self, out_id):
        return [p for p in list(self.posts) if isinstance(p, dict) and p.get("out_id") == out_id]


@pytest.fixture(scope="module")
def gateway():
    with Gateway() as receiver:
        yield receiver
        receiver.release.set()


@pytest.fixture(scope="module")
def net(amqp_uri, gateway):
    settings = {"TONGBAN_NOTICE_CHANNEL": f"sms:{gateway.url}", "TONGBAN_SMS_APP_KEY": gateway.app_key,
                "TONGBAN_SMS_APP_SECRET": gateway.app_secret, "TONGBAN_SMS_SIGN": SIGN,
                "TONGBAN_NOTICE_SWEEP_SECONDS": "2"}
    with pytest.MonkeyPatch.context() as env:
        for key, value in settings.items():  # the stations' processes inherit them (deploy/settings.py)
            env.setenv(key, value)
        with running_case_network(network_path=NETWORK) as network:
            yield network


_serial = iter(range(40, 1000))


def apply_online(net, gateway, mobile):
    """A resident applies online at the village with the SMS code the gateway delivered."""
    asked = requests.post(net.launcher.url_of(VILLAGE) + "/api/portal/codes", json={"mobile": mobile,
                                                                                     "purpose": "apply"}, timeout=20)
    assert asked.status_code == 202, asked.text
    code = wait_until(lambda: next((p["params"]["code"] for p in list(gateway.delivered.values())
                                    if p["mobile"] == mobile and "code" in p["params"]), None),
                      30, message=f"the code to {mobile}")
    files = [{"material": "M01", "filename": "申请表.pdf", "content": _b64(pdf())},
             {"material": "M02", "filename": "身份证.jpg", "content": _b64(jpeg())}]
    applied = requests.post(net.launcher.url_of(VILLAGE) + "/api/portal/applications", timeout=30, json={
        "item_code": ITEM, "code": code, "files": files,
        "applicant": {"name": "许惠敏", "id_number": make_id("449921", dt.date(1961, 2, 3), next(_serial)),
                      "phone": mobile, "residence": VILLAGE}})
    assert applied.status_code == 201, applied.text
    return applied.json()["case_no"]


def _b64(content):
    return base64.b64encode(content).decode()


def outbox(net, case_nos):
    """The village's notices of these cases: {notice_id: (case_no, kind, sent?)}."""
    engine = net.database(VILLAGE)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT notice_id, case_no, kind, sent_at FROM resident_notices")).all()
    finally:
        engine.dispose()
    return {r[0]: (r[1], r[2], r[3] is not None) for r in rows if r[1] in case_nos}


def received_once(gateway, notices):
    """Each notice delivered exactly once by the gateway, under its own id, and nothing
    else delivered for these cases."""
    delivered = [p for p in list(gateway.delivered.values()) if p["params"].get("case_no") in
                 {case_no for case_no, _, _ in notices.values()}]
    assert sorted(p["out_id"] for p in delivered) == sorted(notices)
    return delivered


def test_notices_wait_out_a_gateway_outage_and_a_sender_killed_mid_sweep_and_arrive_once(net, gateway):
    mobiles = ["13600000101", "13600000102", "13600000103"]
    cases = [apply_online(net, gateway, mobile) for mobile in mobiles]

    # -- the gateway is down while the counter answers: every notice is tried and kept ----------
    gateway.down(10 ** 6)
    before = len(gateway.posts)
    for case_no, answer in zip(cases, ("pass", "supplement", "pass")):
        body = {"answer": answer, **({"materials": ["M03"]} if answer == "supplement" else {})}
        net.post(VILLAGE, f"/api/cases/{case_no}/pre-review", body)
    notices = wait_until(lambda: (n := outbox(net, set(cases))) and len(n) == 3 and n, 30,
                         message="three notices in the village's outbox")
    wait_until(lambda: {p.get("out_id") for p in gateway.posts[before:] if isinstance(p, dict)} >= set(notices),
               60, message="every notice tried while the gateway is down")
    assert not any(sent for _, _, sent in notices.values())
    assert not [p for p in gateway.delivered.values() if p["out_id"] in notices]

    # -- the gateway is back; the sweep sends one, is killed while the second is at the gateway --
    gateway.hold_after(1)
    gateway.down(0)
    assert gateway.held.wait(90), "the sweep did not send the notices after the gateway came back"
    net.kill(VILLAGE)
    gateway.release.set()
    held = gateway.held_out_id
    assert held in notices
    interrupted = outbox(net, set(cases))
    assert interrupted[held][2] is False  # taken by the gateway, but not marked sent: the station died first
    net.start_station(VILLAGE)

    # after the restart: the rest at once, the interrupted one after its lease; each received once
    wait_until(lambda: all(sent for _, _, sent in outbox(net, set(cases)).values()), LEASE.total_seconds() + 90,
               interval=1, message=lambda: f"notices still unsent: {outbox(net, set(cases))}")
    final = outbox(net, set(cases))
    assert set(final) == set(notices)
    received_once(gateway, final)
    assert len(gateway.posts_of(held)) >= 2  # tried during the outage, taken, and sent again after the restart
    kinds = sorted(kind for _, kind, _ in final.values())
    assert kinds == ["pre_review_answer", "pre_review_answer", "supplement_needed"]
    for mobile, case_no in zip(mobiles, cases):
        texts = [p for p in gateway.texts_to(mobile) if p["params"].get("case_no") == case_no]
        assert len(texts) == 1, (mobile, texts)


def answer_quietly(net, case_no):
    try:
        net.call("POST", VILLAGE, f"/api/cases/{case_no}/pre-review", {"answer": "pass"})
    except requests.RequestException:
        pass  # the station is killed while this request waits for its notice to be sent


def test_a_sender_killed_between_send_and_mark_sends_again_under_the_same_id_received_once(net, gateway):
    net.ensure_running()
    case_no = apply_online(net, gateway, "13600000104")
    # the answer's notice leaves right after the commit (the request's flush): held at the gateway
    gateway.hold_after(0)
    answering = threading.Thread(target=answer_quietly, args=(net, case_no), daemon=True)
    answering.start()
    assert gateway.held.wait(60), "the answer's notice did not reach the gateway"
    net.kill(VILLAGE)
    gateway.release.set()
    answering.join(15)
    [(notice_id, (_, kind, sent))] = outbox(net, {case_no}).items()
    assert gateway.held_out_id == notice_id and kind == "pre_review_answer" and not sent
    assert net.start_station(VILLAGE)
    assert net.case(VILLAGE, case_no)["status"] == "pre_review_passed"  # the step itself was committed
    wait_until(lambda: all(s for _, _, s in outbox(net, {case_no}).values()), LEASE.total_seconds() + 90,
               interval=1, message="the interrupted notice sent after the restart")
    received_once(gateway, outbox(net, {case_no}))
    assert len(gateway.posts_of(notice_id)) == 2  # the gateway saw it twice, delivered it once
    assert len([p for p in gateway.texts_to("13600000104") if p["params"].get("case_no") == case_no]) == 1
