"""Uploaded materials travelling with their case across real station processes over
RabbitMQ (issue 16), on SQLite or PostgreSQL (TONGBAN_TEST_DATABASE): scans filed with a
case at a village's desk reach the district through the township, verified; the district
cannot decide while they are held back, a corrupted copy published as the township is not
kept (dead-lettered, and the file asked again and re-sent), and once every file is in the
district decides and the result goes back to the village."""
import base64
import json
import re

import pytest
import requests
from kombu import Connection
from sqlalchemy import text

from deploy.drills.harness import wait_until
from services.topology import station_inbox
from shared.materials_files.store import sha256_of
from shared.messages import CASE_FILE, dead_letter_queue
from tests.support.desk import TOKEN, form_token
from tests.support.sample_files import jpeg, pdf, png
from deploy.drills.harness import StationNetwork
from tests.test_case_network import (  # noqa: F401
    AMQP, DISTRICT, SOUTH, SOUTH_VILLAGE, CaseNetwork, applicant, desk_session, republish,
)

# the stations a case filed at the south village passes through
ROUTE = [DISTRICT, SOUTH, SOUTH_VILLAGE]


@pytest.fixture(scope="module")
def net():
    network = CaseNetwork()
    network.startup_timeout = 240  # the machine is shared: a station may take long to start
    try:
        StationNetwork.start(network, groups=ROUTE)
        wait_until(lambda: len({network.get(code, "/api/health")["catalogue_hash"] for code in ROUTE}) == 1
                   and network.get(SOUTH_VILLAGE, "/api/health")["catalogue_version"] > 0, 180,
                   message="the route's stations have the district's catalogue")
        yield network
    finally:
        network.stop()


def file_at_the_desk(net, scans):
    """The village agent files MZ-002 on the desk's form with `scans` ({material: (name, bytes)})."""
    desk = desk_session(net, SOUTH_VILLAGE, "agent")
    url = net.launcher.url_of(SOUTH_VILLAGE)
    form = desk.get(url + "/desk/cases/new", params={"item": "MZ-002"}).text
    assert 'enctype="multipart/form-data"' in form and 'name="file_M01"' in form
    fields = {"item_code": "MZ-002", "request_id": re.search(r'name="request_id" value="([0-9a-f]{32})"', form).group(1),
              "materials": ["M01", "M02", "M03", "M04", "M05"], **applicant(SOUTH_VILLAGE),
              "csrf_token": TOKEN.search(form).group(1)}
    files = [(f"file_{m}", (name, content, "application/octet-stream")) for m, (name, content) in scans.items()]
    answer = desk.post(url + "/desk/cases/new", data=fields, files=files, allow_redirects=False, timeout=30)
    assert answer.status_code == 303, answer.text[:2000]
    return desk, answer.headers["Location"].split("/desk/cases/")[1].split("?")[0]


def hold_back_files(net, queue_name):
    """Take the case.file messages out of the stopped district's inbox (the rest stay)."""
    held = []
    with Connection(AMQP) as conn:
        channel = conn.channel()
        while (message := channel.basic_get(queue_name, no_ack=False)) is not None:
            body = json.loads(message.body)
            if body["kind"] == CASE_FILE:
                held.append(body)
                channel.basic_ack(message.delivery_tag)
        channel.close()  # the others, unacknowledged, go back to the queue
    return held


def district_blobs(net):
    with net.database(DISTRICT).connect() as conn:
        return {row[0] for row in conn.execute(text("SELECT sha256 FROM material_blobs"))}


def test_scans_reach_the_district_verified_a_corrupted_copy_is_refused_and_the_district_decides(net):
    scans = {"M01": ("身份证.png", png()), "M02": ("户口簿.pdf", pdf("hukou")), "M03": ("照片.jpg", jpeg())}
    digests = {m: sha256_of(content) for m, (_, content) in scans.items()}
    inbox = station_inbox(DISTRICT).name
    net.stop(DISTRICT)  # the case and its files wait in the district's queue
    desk, case_no = file_at_the_desk(net, scans)
    village_case = net.case(SOUTH_VILLAGE, case_no)
    assert sorted((f["material"], f["sha256"]) for f in village_case["files"]) == sorted(digests.items())
    page = desk.get(net.launcher.url_of(SOUTH_VILLAGE) + f"/desk/cases/{case_no}", timeout=10).text
    assert "材料文件" in page and f"/desk/cases/{case_no}/files/{digests['M02']}" in page and "<iframe" in page
    shown = desk.get(net.launcher.url_of(SOUTH_VILLAGE) + f"/desk/cases/{case_no}/files/{digests['M01']}", timeout=10)
    assert shown.content == scans["M01"][1] and shown.headers["Content-Type"] == "image/png"
    assert shown.headers["X-Content-Type-Options"] == "nosniff"

    # the township passes the case and its files on; the files are held back from the district
    wait_until(lambda: (c := net.case(SOUTH, case_no)) and c["status"] == "forwarded", 90, message="forwarded")
    wait_until(lambda: len(net.get(SOUTH, f"/api/cases/{case_no}/files")["files"]) == 3, 90, message="at township")
    wait_until(lambda: net.queue_depth(inbox) >= 4, 90, message="case and files queued for the district")
    held = hold_back_files(net, inbox)
    assert sorted(m["body"]["material"] for m in held) == ["M01", "M02", "M03"]
    assert all(m["sender"] == SOUTH for m in held)
    net.start_station(DISTRICT)
    net.wait_status(DISTRICT, case_no, "pending_review", timeout=120)
    refused = net.call("POST", DISTRICT, f"/api/cases/{case_no}/decisions",
                       {"step": "review", "outcome": "pass", "department": "civil_affairs"})
    assert refused.status_code == 409 and "材料文件尚未全部到达本站并通过校验" in refused.json()["message"]
    assert len(net.get(DISTRICT, f"/api/cases/{case_no}/files")["missing"]) == 3

    # a corrupted copy, published as the township (its own broker user): not kept, dead-lettered,
    # asked again; the township sends the genuine file, which is kept verified
    genuine = next(m for m in held if m["body"]["material"] == "M01")
    forged = base64.b64encode(png(shade=0x11)).decode()
    tampered = {**genuine, "message_id": genuine["message_id"][:-4] + "dead", "body": {**genuine["body"], "content": forged}}
    republish(net, tampered["message_id"], tampered, DISTRICT, times=1)
    wait_until(lambda: net.queue_depth(dead_letter_queue(inbox)) == 1, 90, message="tampered copy dead-lettered")
    wait_until(lambda: [f["material"] for f in net.get(DISTRICT, f"/api/cases/{case_no}/files")["files"]] == ["M01"],
               90, message="M01 asked again and re-sent by the township")
    assert sha256_of(png(shade=0x11)) not in district_blobs(net)
    with Connection(AMQP) as conn:
        dead = conn.channel().basic_get(dead_letter_queue(inbox), no_ack=True)
    assert "not the one announced; not kept" in dead.headers["x-tongban-error"]
    still = net.call("POST", DISTRICT, f"/api/cases/{case_no}/decisions",
                     {"step": "review", "outcome": "pass", "department": "civil_affairs"})
    assert still.status_code == 409 and "户口簿" in still.json()["message"]

    # the other files arrive (their first copies, held until now): the district decides
    for message in held:
        if message["body"]["material"] != "M01":
            republish(net, message["message_id"], message, DISTRICT, times=2)  # delivered twice: kept once
    wait_until(lambda: not net.get(DISTRICT, f"/api/cases/{case_no}/files")["missing"], 90, message="all files in")
    at_district = net.get(DISTRICT, f"/api/cases/{case_no}/files")["files"]
    assert sorted((f["material"], f["sha256"], f["received_from"]) for f in at_district) == sorted(
        (m, d, SOUTH) for m, d in digests.items())
    assert district_blobs(net) >= set(digests.values())
    net.post(DISTRICT, f"/api/cases/{case_no}/decisions",
             {"step": "review", "outcome": "pass", "department": "civil_affairs", "operator": "陈审查"})
    net.post(DISTRICT, f"/api/cases/{case_no}/decisions",
             {"step": "approve", "outcome": "pass", "department": "civil_affairs", "operator": "李审批"})
    assert net.wait_status(SOUTH_VILLAGE, case_no, "result_ready", timeout=90)["result"]["outcome"] == "approved"
