"""Uploaded materials travelling with their case across real station processes over
RabbitMQ (issue 16), on SQLite or PostgreSQL (TONGBAN_TEST_DATABASE): scans filed with a
case at a village's desk reach the district through the township, verified; the district
cannot decide while they are held back, a corrupted copy published as the township is not
kept (dead-lettered, and the file asked again and re-sent), and once every file is in the
district decides and the result goes back to the village.

The remote village (deploy/remote-village.sh, tests/test_remote_village.py): a case with
scans is filed, and one more scan uploaded late, at a village on its own RabbitMQ node
while its WAN link is cut; one file's bytes are changed in transit (in the village node's
uplink queue, before the link carries it); when the link returns the township refuses the
changed copy, asks the village again, and every file reaches the district verified, with
the same bytes as scanned; the district lists the late one like the others and decides; a
file changed afterwards in the district's store is refused (409), not shown."""
import base64
import json
import os
import re
import shutil

import pytest
import requests
from kombu import Connection
from sqlalchemy import create_engine, text

from deploy.broker_users import StationSecrets, station_uri
from deploy.drills.harness import wait_until
from deploy.remote_village import uplink_queue
from deploy.seeding import seed_catalogue
from deploy.settings import SAMPLE_CATALOGUE
from services.topology import cases_exchange, station_inbox
from shared.materials_files.store import sha256_of
from shared.messages import CASE_FILE, dead_letter_queue, inbox_queue
from tests.support.desk import TOKEN
from tests.support.sample_files import jpeg, pdf, png
from deploy.drills.harness import StationNetwork
from tests.support.network import queue_depth
from tests.test_case_network import (  # noqa: F401
    AMQP, DISTRICT, SOUTH, SOUTH_VILLAGE, CaseNetwork, applicant, desk_session, republish,
)
from tests.test_remote_village import (
    DISTRICT as R_DISTRICT, NETWORK as REMOTE_NETWORK, TOWNSHIP as R_TOWNSHIP, VILLAGE as R_VILLAGE, RemoteNode,
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


def file_at_the_desk(net, scans, code=SOUTH_VILLAGE):
    """The village agent files MZ-002 on the desk's form with `scans` ({material: (name, bytes)})."""
    desk = desk_session(net, code, "agent")
    url = net.launcher.url_of(code)
    form = desk.get(url + "/desk/cases/new", params={"item": "MZ-002"}).text
    assert 'enctype="multipart/form-data"' in form and 'name="file_M01"' in form
    fields = {"item_code": "MZ-002", "request_id": re.search(r'name="request_id" value="([0-9a-f]{32})"', form).group(1),
              "materials": ["M01", "M02", "M03", "M04", "M05"], **applicant(code),
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


# -- a remote village on its own node, its link cut --------------------------------------------
REMOTE_NODE = "tongban_rvfiles@localhost"  # not the remote-village test's node: both may run at once


@pytest.fixture
def remote_files_node(amqp_uri):
    assert os.geteuid() == 0 and shutil.which("rabbitmq-server"), \
        "a second RabbitMQ node needs root and rabbitmq-server on this machine"
    node = RemoteNode(amqp_uri)
    node.env["RV_NODENAME"] = REMOTE_NODE
    node.run("stop", "--purge")  # what an earlier, interrupted run left behind
    yield node
    node.run("stop", "--purge")


def tamper_in_uplink(node_uri, village, material):
    """Take the village's case.file of `material` out of its node's uplink queue and put it
    back with one byte of the file changed (still valid base64, same announced hash and
    size), as a link that corrupts what it carries would. The original digest."""
    with Connection(node_uri, transport_options={"confirm_publish": True}) as conn:
        channel = conn.channel()
        others, found = [], None
        while (message := channel.basic_get(uplink_queue(village), no_ack=False)) is not None:
            body = json.loads(message.body)
            if found is None and body["kind"] == CASE_FILE and body["body"]["material"] == material:
                found = (message, body)
            else:
                others.append(message)
        assert found is not None, f"no case.file of {material} waiting in the uplink"
        message, body = found
        content = bytearray(base64.b64decode(body["body"]["content"]))
        content[len(content) // 2] ^= 0x01
        body["body"]["content"] = base64.b64encode(bytes(content)).decode()
        # back on the village's own exchange, as its relay published it (same user, id and key)
        conn.Producer(channel).publish(json.dumps(body), exchange=cases_exchange.name,
                                       routing_key=message.delivery_info["routing_key"],
                                       content_type="application/json", delivery_mode=2,
                                       **{k: v for k, v in message.properties.items()
                                          if k in ("message_id", "user_id", "headers")})
        channel.basic_ack(message.delivery_tag)
        for other in others:  # the rest stay, in their order
            channel.basic_reject(other.delivery_tag, requeue=True)
        channel.close()
    return body["body"]["sha256"]


def test_files_cross_a_cut_remote_link_verified_and_a_changed_copy_is_refused_and_sent_again(
        remote_files_node, station_network_factory):
    net = station_network_factory("uploads-remote", network=REMOTE_NETWORK, sync_seconds=5)
    net.prepare()
    seed_catalogue(net.database_url(R_DISTRICT), net.network, SAMPLE_CATALOGUE)
    remote_files_node.env["RV_BROKER_SECRETS"] = str(net.secrets_path)
    remote_files_node.run("start")
    node_uri = remote_files_node.amqp_uri
    with Connection(node_uri) as connection:  # a fresh node: nothing waits there
        connection.default_channel.queue_purge(queue=uplink_queue(R_VILLAGE))
    net.start([[R_DISTRICT, R_TOWNSHIP]])
    net.start_station(R_VILLAGE, amqp_uri=node_uri)
    net.wait_until(lambda: net.converged([R_TOWNSHIP, R_VILLAGE]), timeout=60, message=lambda: net.catalogue_states())

    # -- the link is cut; the village files a case with its scans, and one more scan late ------
    remote_files_node.run("cut")
    scans = {"M01": ("身份证.png", png()), "M02": ("户口簿.pdf", pdf("hukou")), "M03": ("照片.jpg", jpeg())}
    _, case_no = file_at_the_desk(net, scans, R_VILLAGE)
    village_case = net.get(R_VILLAGE, f"/api/cases/{case_no}").json()
    assert village_case["status"] == "forwarded" and len(village_case["files"]) == 3
    late = ("收入证明.pdf", pdf("income", padding=300))
    # uploaded late, after the case went on (the test client sends JSON only: the raw body by hand)
    token = net.client.token(R_VILLAGE, "agent")
    uploaded = requests.post(net.url(R_VILLAGE) + f"/api/cases/{case_no}/materials/M04", params={"filename": late[0]},
                             data=late[1], timeout=10,
                             headers={"Content-Type": "application/pdf", "Authorization": f"Bearer {token}"})
    assert uploaded.status_code == 201, uploaded.text
    scans["M04"] = late
    digests = {m: sha256_of(content) for m, (_, content) in scans.items()}
    # everything waits in the village node's uplink: the hand-off, the district's copy, four files
    net.wait_until(lambda: queue_depth(node_uri, uplink_queue(R_VILLAGE)) >= 6, timeout=30,
                   message=lambda: f"{queue_depth(node_uri, uplink_queue(R_VILLAGE))} messages in the uplink")
    assert net.get(R_TOWNSHIP, f"/api/cases/{case_no}").status_code == 404

    # one file's bytes are changed on the way (the same hash and size announced)
    village_uri = station_uri(node_uri, R_VILLAGE, StationSecrets(net.secrets_path).password_of(R_VILLAGE))
    assert tamper_in_uplink(village_uri, R_VILLAGE, "M02") == digests["M02"]

    # -- the link returns ----------------------------------------------------------------------
    remote_files_node.run("restore")
    township_dead = dead_letter_queue(inbox_queue(R_TOWNSHIP))
    net.wait_until(lambda: net.queue_depth(township_dead) == 1, timeout=90, message="changed copy dead-lettered")

    def at_district():
        listing = net.get(R_DISTRICT, f"/api/cases/{case_no}/files")
        return listing.json() if listing.status_code == 200 else {"files": [], "missing": ["case"]}

    net.wait_until(lambda: len(at_district()["files"]) == 4 and not at_district()["missing"], timeout=120,
                   message=lambda: f"at the district: {at_district()}")
    listing = at_district()
    assert sorted((f["material"], f["sha256"], f["received_from"]) for f in listing["files"]) == sorted(
        (m, d, R_TOWNSHIP) for m, d in digests.items())
    assert all(f["verified_at"] for f in listing["files"])
    for material, digest in digests.items():  # the bytes scanned, byte for byte
        shown = net.get(R_DISTRICT, f"/api/cases/{case_no}/files/{digest}")
        assert shown.status_code == 200 and shown.content == scans[material][1], material
    # the changed copy was never kept, at the township nor at the district
    with Connection(net.amqp_uri) as conn:
        dead = conn.channel().basic_get(township_dead, no_ack=True)
    assert "not the one announced; not kept" in dead.headers["x-tongban-error"]
    changed = json.loads(dead.body)["body"]
    assert changed["material"] == "M02" and sha256_of(base64.b64decode(changed["content"])) != digests["M02"]
    for code in (R_TOWNSHIP, R_DISTRICT):
        engine = create_engine(net.database_url(code))
        with engine.connect() as conn:
            kept = {row[0] for row in conn.execute(text("SELECT sha256 FROM material_blobs"))}
        engine.dispose()
        assert kept == set(digests.values()), code
    # the township asked the village again, once; the village's copy is the one kept
    engine = create_engine(net.database_url(R_TOWNSHIP))
    with engine.connect() as conn:
        asked = conn.execute(text("SELECT routing_key FROM outbox WHERE kind = 'case.file_request'")).scalars().all()
    engine.dispose()
    assert asked == [R_VILLAGE]

    # the late scan is on the district's case page like the others; the district decides
    page = desk_session(net, R_DISTRICT, "civil_affairs.reviewer").get(
        net.url(R_DISTRICT) + f"/desk/cases/{case_no}", timeout=10).text
    for digest in digests.values():
        assert f"/desk/cases/{case_no}/files/{digest}" in page
    assert "在途" not in page
    for step, operator in (("review", "陈审查"), ("approve", "李审批")):
        answer = net.post(R_DISTRICT, f"/api/cases/{case_no}/decisions",
                          {"step": step, "outcome": "pass", "department": "civil_affairs", "operator": operator})
        assert answer.status_code == 200, answer.text
    net.wait_until(lambda: net.get(R_VILLAGE, f"/api/cases/{case_no}").json()["status"] == "result_ready",
                   timeout=60, message="the result back at the village")
    # a copy changed in the district's store after it was kept is not shown as the file
    engine = create_engine(net.database_url(R_DISTRICT))
    with engine.begin() as conn:
        conn.execute(text("UPDATE material_blobs SET content = :content WHERE sha256 = :digest"),
                     {"content": jpeg()[:-1] + b"\x00", "digest": digests["M03"]})
    engine.dispose()
    damaged = net.get(R_DISTRICT, f"/api/cases/{case_no}/files/{digests['M03']}")
    assert damaged.status_code == 409 and "存储已损坏" in damaged.json()["message"]
    # nothing else dead-lettered, nothing left in the uplink
    net.wait_until(lambda: queue_depth(node_uri, uplink_queue(R_VILLAGE)) == 0, timeout=20)
    assert not any(net.dead_letter_counts().values()), net.dead_letter_counts()
