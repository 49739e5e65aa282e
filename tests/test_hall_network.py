"""The service hall's figures across the network (issue 17): tickets closed at a village's
hall reach the district's figures (/api/stats), once, even when the broker delivers the
`hall.visit` message again or the village sends it again; a station cannot report
another station's hall. Real station processes over RabbitMQ, on SQLite or PostgreSQL
(TONGBAN_TEST_DATABASE), on a simulated clock so the waiting times are known."""
import datetime as dt
import json
from pathlib import Path

import pytest
from sqlalchemy import text

from deploy.drills.harness import wait_until
from services.topology import station_inbox
from shared.cases.citizen_id import make as make_id
from shared.clock import DISTRICT_TZ, set_simulated_now
from shared.messages import HALL_VISIT, dead_letter_queue, envelope
from tests.test_case_network import republish, running_case_network

NETWORK = Path(__file__).parent / "cases_data" / "network_hall_figures.yaml"
DISTRICT, TOWNSHIP, VILLAGE = "449918", "449918001", "449918001201"
MONDAY = dt.date(2026, 12, 7)


def local(hhmm, day=MONDAY):
    hour, minute = map(int, hhmm.split(":"))
    return dt.datetime.combine(day, dt.time(hour, minute), DISTRICT_TZ)


@pytest.fixture(scope="module")
def net(tmp_path_factory):
    clock_file = str(tmp_path_factory.mktemp("hall-clock") / "clock.json")
    set_simulated_now(clock_file, local("08:30"))
    with running_case_network(network_path=NETWORK, clock_file=clock_file) as network:
        network.clock_file = clock_file
        yield network


def at(net, hhmm):
    set_simulated_now(net.clock_file, local(hhmm))


def hall_figures(net, hall_by="station"):
    answer = net.get(DISTRICT, "/api/stats", **{"from": MONDAY.isoformat(), "to": MONDAY.isoformat(),
                                                 "hall_by": hall_by})
    assert answer["hall_by"] == hall_by
    return {row["group"]: row for row in answer["hall"]}


def visits_at_district(net):
    with net.database(DISTRICT).connect() as conn:
        return conn.execute(text("SELECT station, visit_no, status, wait_seconds, service_seconds FROM hall_visits "
                                 "ORDER BY visit_no")).all()


def processed(net, message_id):
    with net.database(DISTRICT).connect() as conn:
        return conn.execute(text("SELECT count(*) FROM processed_messages WHERE message_id = :id"),
                            {"id": message_id}).scalar()


def test_tickets_closed_at_a_village_reach_the_districts_figures_once(net):
    applicant = {"name": "黄秀英", "id_number": make_id("449918", dt.date(1962, 3, 14), 7)}
    other = {"name": "林建国", "id_number": make_id("449918", dt.date(1980, 5, 2), 8)}
    at(net, "09:00")
    first = net.post(VILLAGE, "/api/hall/tickets", {"kind": "walk_in", "window_type": "A", **applicant})
    at(net, "09:05")
    second = net.post(VILLAGE, "/api/hall/tickets", {"kind": "walk_in", "window_type": "A", **other})
    assert (first["ticket_no"], second["ticket_no"]) == ("A001", "A002")
    at(net, "09:12")
    called = net.post(VILLAGE, "/api/hall/calls", {"window_type": "A", "window": "1"})
    assert called["id"] == first["id"]
    at(net, "09:20")
    net.post(VILLAGE, f"/api/hall/tickets/{first['id']}/finish", {})        # waited 12 min, served 8
    at(net, "09:30")
    assert net.post(VILLAGE, "/api/hall/calls", {"window_type": "A", "window": "1"})["id"] == second["id"]
    at(net, "09:35")
    net.post(VILLAGE, f"/api/hall/tickets/{second['id']}/no-show", {})      # waited 25 min, did not come

    village = wait_until(lambda: (row := hall_figures(net).get(VILLAGE)) and row["tickets"] == 2 and row, 30,
                         message="the village's two tickets in the district's figures")
    assert village["name"] == "统计村便民服务站"
    assert (village["finished"], village["no_shows"], village["no_show_rate"]) == (1, 1, 0.5)
    assert (village["avg_wait_minutes"], village["p90_wait_minutes"], village["avg_service_minutes"]) == \
        (18.5, 25, 8)
    by_hour = hall_figures(net, "hour")
    assert by_hour[9]["tickets"] == 2 and by_hour[9]["name"] == "09:00-10:00"
    assert visits_at_district(net) == [(VILLAGE, "A001", "finished", 720, 480), (VILLAGE, "A002", "no_show", 1500, None)]

    # the broker delivers the village's messages again, and the village sends one again
    # under a new id (a copy re-sent by hand): still two visits, the same figures
    with net.database(VILLAGE).connect() as conn:
        sent = conn.execute(text("SELECT message_id, body, sent_at FROM outbox WHERE kind = :kind ORDER BY id"),
                            {"kind": HALL_VISIT}).all()
    assert len(sent) == 2 and all(sent_at is not None for _, _, sent_at in sent)
    sent = [(message_id, json.loads(body) if isinstance(body, str) else body) for message_id, body, _ in sent]
    for message_id, body in sent:
        republish(net, message_id, body, DISTRICT, times=2)
        republish(net, "again-" + message_id, {**body, "message_id": "again-" + message_id}, DISTRICT, times=1)
    for message_id, _ in sent:
        wait_until(lambda: processed(net, "again-" + message_id) == 1, 30, message="the copy sent again")
    wait_until(lambda: net.queue_depth(station_inbox(DISTRICT).name) == 0, 30, message="the district's inbox empty")
    assert hall_figures(net)[VILLAGE] == village
    assert len(visits_at_district(net)) == 2
    assert net.queue_depth(dead_letter_queue(station_inbox(DISTRICT).name)) == 0  # nothing refused

    # the township reports a ticket of the village's hall: refused, dead-lettered, not counted
    forged = envelope(HALL_VISIT, {**sent[0][1]["body"], "ticket_no": "A009"}, TOWNSHIP)
    republish(net, forged["message_id"], forged, DISTRICT, times=1)
    wait_until(lambda: net.queue_depth(dead_letter_queue(station_inbox(DISTRICT).name)) == 1, 30,
               message="the forged visit in the district's dead-letter queue")
    assert hall_figures(net)[VILLAGE]["tickets"] == 2 and len(visits_at_district(net)) == 2
