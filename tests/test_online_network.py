"""An online application made at the district's portal for a village's counter (issue 16),
across real station processes over RabbitMQ, on SQLite or PostgreSQL
(TONGBAN_TEST_DATABASE): the district and one village, each in its own process, the SMS
code through the file channel. The application and its two files reach the village
through the broker; the village's pre-review worklist shows it with its files, verified;
the resident follows it at the district's portal with the number and query code the
district gave; the same message published twice more is still one case; an application
forged by another village in the district's name, and a broken one, are dead-lettered at
the village with their reasons, and file nothing."""
import base64
import datetime as dt
import json
import tempfile
from pathlib import Path

import pytest
import requests
from kombu import Connection
from sqlalchemy import text

from deploy.drills.harness import StationNetwork, wait_until
from services import online_applications
from services.dead_letters import ERROR_HEADER
from shared.cases.citizen_id import make as make_id
from shared.materials_files.store import sha256_of
from shared.messages import dead_letter_queue, inbox_queue
from tests.support.sample_files import jpeg, pdf
from tests.test_case_network import (  # noqa: F401
    AMQP, DISTRICT, NORTH_VILLAGE, SOUTH_VILLAGE, CaseNetwork, desk_session, republish,
)

ITEM = "RS-005"  # 网上预审, accepted at every tier, decided at the district
STATIONS = [DISTRICT, SOUTH_VILLAGE]


@pytest.fixture(scope="module")
def notices_dir():
    return Path(tempfile.mkdtemp(prefix="tongban-online-sms-"))


@pytest.fixture(scope="module")
def net(notices_dir):
    """The district and the south village, each in its own process; their SMS notices go
    to files in `notices_dir` (the processes inherit the channel from the environment)."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv("TONGBAN_NOTICE_CHANNEL", f"file:{notices_dir}")
        network = CaseNetwork()
        network.startup_timeout = 240  # the machine is shared: a station may take long to start
        try:
            StationNetwork.start(network, groups=STATIONS)
            wait_until(lambda: network.get(SOUTH_VILLAGE, "/api/health")["catalogue_hash"]
                       == network.get(DISTRICT, "/api/health")["catalogue_hash"], 180,
                       message="the village has the district's catalogue")
            yield network
        finally:
            network.stop()


def sms_code(notices_dir, mobile):
    """The one-time code the file channel took for `mobile` (the SMS the resident gets)."""
    def newest():
        codes = [json.loads(p.read_text(encoding="utf-8")) for p in notices_dir.glob("*.json")]
        codes = [c for c in codes if c["mobile"] == mobile and c["kind"] == "one_time_code"]
        return codes and max(codes, key=lambda c: c["created_at"])["params"]["code"]
    return wait_until(newest, 30, message=f"an SMS code to {mobile}")


def apply_at_the_district(net, notices_dir, mobile, files):
    portal = net.launcher.url_of(DISTRICT)
    asked = requests.post(portal + "/api/portal/codes", json={"mobile": mobile, "purpose": "apply"}, timeout=10)
    assert asked.status_code == 202, asked.text
    code = sms_code(notices_dir, mobile)
    person = {"name": "许惠敏", "id_number": make_id("449902", dt.date(1961, 2, 3), 17), "phone": mobile,
              "residence": SOUTH_VILLAGE}
    answer = requests.post(portal + "/api/portal/applications", timeout=30, json={
        "item_code": ITEM, "applicant": person, "code": code, "counter": SOUTH_VILLAGE,
        "files": [{"material": m, "filename": name, "content": base64.b64encode(c).decode()}
                  for m, (name, c) in files.items()]})
    assert answer.status_code == 201, answer.text
    return answer.json()


def sent_application(net, case_no):
    """(message id, envelope) of the application in the district's outbox."""
    with net.database(DISTRICT).connect() as conn:
        body = conn.execute(text("SELECT body FROM outbox WHERE message_id = :id"),
                            {"id": online_applications.message_id(case_no)}).scalar_one()
    body = json.loads(body) if isinstance(body, str) else body
    return body["message_id"], body


def handled(net, code, message_id):
    with net.database(code).connect() as conn:
        return conn.execute(text("SELECT count(*) FROM processed_messages WHERE message_id = :id"),
                            {"id": message_id}).scalar_one() == 1


def cases_numbered(net, code, case_no):
    with net.database(code).connect() as conn:
        return conn.execute(text("SELECT count(*) FROM cases WHERE case_no = :no"), {"no": case_no}).scalar_one()


def test_applied_at_the_district_for_the_village_counter_it_waits_there_with_its_files_once(net, notices_dir):
    files = {"M01": ("申请表.pdf", pdf("online")), "M02": ("身份证.jpg", jpeg())}
    answer = apply_at_the_district(net, notices_dir, "13622223333", files)
    case_no, query_code = answer["case_no"], answer["query_code"]
    assert case_no.startswith(f"{SOUTH_VILLAGE}-") and f"-{DISTRICT}-" in case_no
    assert answer["status"] == "submitted" and answer["filing_station"] == SOUTH_VILLAGE

    # at the village: in its pre-review worklist, with both files verified
    case = net.wait_status(SOUTH_VILLAGE, case_no, "pre_review", timeout=90)
    assert case["filing_station"] == case["holder_station"] == SOUTH_VILLAGE and case["online"]["portal"] == DISTRICT
    wait_until(lambda: not net.get(SOUTH_VILLAGE, f"/api/cases/{case_no}/files")["missing"], 90,
               message="the files at the village")
    kept = net.get(SOUTH_VILLAGE, f"/api/cases/{case_no}/files")["files"]
    assert sorted((f["material"], f["sha256"], f["received_from"]) for f in kept) == sorted(
        (m, sha256_of(c), DISTRICT) for m, (_, c) in files.items())
    desk = desk_session(net, SOUTH_VILLAGE, "agent")
    worklist = desk.get(net.launcher.url_of(SOUTH_VILLAGE) + "/desk/pre-review", timeout=10).text
    assert case_no in worklist
    page = desk.get(net.launcher.url_of(SOUTH_VILLAGE) + f"/desk/pre-review/{case_no}", timeout=10).text
    assert all(sha256_of(c) in page for _, c in files.values())

    # the resident follows it at the district's portal (the district's record of the village's case)
    def status_at_the_portal():
        found = requests.post(net.launcher.url_of(DISTRICT) + "/api/status", timeout=10,
                              json={"case_no": case_no, "query_code": query_code})
        return found.ok and found.json()
    shown = wait_until(lambda: (s := status_at_the_portal()) and s["status"] == "pre_review" and s, 60,
                       message="the case at the district's portal")
    assert shown["filing_station"] == SOUTH_VILLAGE

    # the same message twice more: still one case, at the village and in the district's record
    # (and once under another message id, as if re-sent by hand: seen handled once it is recorded)
    message_id, envelope = sent_application(net, case_no)
    republish(net, message_id, envelope, SOUTH_VILLAGE, times=2)
    republish(net, "again-" + message_id, {**envelope, "message_id": "again-" + message_id}, SOUTH_VILLAGE, times=1)
    inbox = inbox_queue(SOUTH_VILLAGE)
    wait_until(lambda: net.queue_depth(inbox) == 0 and handled(net, SOUTH_VILLAGE, "again-" + message_id), 60,
               message="the village has handled the copies")
    assert cases_numbered(net, SOUTH_VILLAGE, case_no) == 1 and cases_numbered(net, DISTRICT, case_no) == 1
    assert net.case(SOUTH_VILLAGE, case_no)["revision"] == case["revision"]
    assert net.queue_depth(dead_letter_queue(inbox)) == 0

    # the village's counter answers it like any application of its own portal
    passed = net.post(SOUTH_VILLAGE, f"/api/cases/{case_no}/pre-review", {"answer": "pass"})
    assert passed["status"] == "pre_review_passed"


def test_a_forged_or_broken_application_is_dead_lettered_at_the_village(net, notices_dir):
    answer = apply_at_the_district(net, notices_dir, "13622224444", {"M01": ("申请表.pdf", pdf("second"))})
    net.wait_status(SOUTH_VILLAGE, answer["case_no"], "pre_review", timeout=90)
    _, envelope = sent_application(net, answer["case_no"])
    dead = dead_letter_queue(inbox_queue(SOUTH_VILLAGE))
    before = net.queue_depth(dead)
    number = f"{SOUTH_VILLAGE}-20260302-{DISTRICT}-99999"  # in the district's range, never given
    # another village, with its own valid broker user, passing an application off as the district's
    forged = {**envelope, "message_id": "forged-1", "sender": NORTH_VILLAGE,
              "body": {**envelope["body"], "case_no": number}}
    republish(net, "forged-1", forged, SOUTH_VILLAGE, times=1)
    # and the district sending one without its applicant
    broken = {**envelope, "message_id": "broken-1",
              "body": {k: v for k, v in {**envelope["body"], "case_no": number}.items() if k != "applicant"}}
    republish(net, "broken-1", broken, SOUTH_VILLAGE, times=1)
    wait_until(lambda: net.queue_depth(dead) == before + 2, 60, message="both dead-lettered")
    reasons = []
    with Connection(AMQP) as conn:
        channel = conn.channel()
        while (message := channel.basic_get(dead, no_ack=True)) is not None:
            reasons.append((message.properties.get("message_id"), message.headers[ERROR_HEADER]))
    reasons = dict(reasons)
    assert "only portal" in reasons["forged-1"] or "range" in reasons["forged-1"], reasons
    assert "applicant" in reasons["broken-1"], reasons
    assert cases_numbered(net, SOUTH_VILLAGE, number) == 0
