"""Supervision over the real network on a simulated clock: lights, one warning per case
sent to the station holding it, yellow and red cards, and nothing raised twice after
the district restarts."""
import datetime as dt
import tempfile
import time
from pathlib import Path

import pytest

from shared.clock import DISTRICT_TZ, set_simulated_now
from tests.test_case_network import (
    DISTRICT, SOUTH, SOUTH_VILLAGE, CaseNetwork, filing, wait_until,
)


def watched_item(code, promised, tier="district"):
    return {"code": code, "name": f"监察测试事项{code}", "department": "civil_affairs",
            "category": "public_service", "processing_type": "promised", "legal_limit_days": promised * 3,
            "promised_limit_days": promised, "authority_tier": tier, "decision_steps": ["review", "approve"],
            "materials": [{"code": "M01", "name": "申请表", "kind": "core"}]}


@pytest.fixture(scope="module")
def net():
    clock_file = str(Path(tempfile.mkdtemp(prefix="tongban-clock-")) / "clock.json")
    set_simulated_now(clock_file, dt.datetime(2026, 11, 23, 9, 0, tzinfo=DISTRICT_TZ))  # a Monday
    network = CaseNetwork(clock_file=clock_file, supervision_seconds=0.3)
    network.clock_file = clock_file
    try:
        network.start()
        yield network
    finally:
        network.stop()


def go_to(net, day):
    set_simulated_now(net.clock_file, dt.datetime.combine(day, dt.time(9, 0), DISTRICT_TZ))


def alerts(net):
    return {(a["case_no"], a["kind"]) for a in net.get(DISTRICT, "/api/supervision/alerts")["alerts"]}


def test_lights_warnings_and_cards_are_raised_once_each_even_across_a_restart(net):
    for item in (watched_item("JC-001", 2), watched_item("JC-002", 4), watched_item("JC-003", 2, "township")):
        net.post(DISTRICT, "/api/catalogue/items", item)
    wait_until(lambda: net.get(SOUTH_VILLAGE, "/api/catalogue")["version"]
               == net.get(DISTRICT, "/api/catalogue")["version"], 10)
    a = net.post(SOUTH_VILLAGE, "/api/cases", filing("JC-001", ["M01"]))["case_no"]   # due Wed 25th
    b = net.post(SOUTH_VILLAGE, "/api/cases", filing("JC-002", ["M01"]))["case_no"]   # due Fri 27th
    c = net.post(SOUTH_VILLAGE, "/api/cases", filing("JC-003", ["M01"]))["case_no"]   # township, due 25th
    net.wait_status(DISTRICT, a, "pending_review")
    net.wait_status(DISTRICT, b, "pending_review")
    net.wait_status(SOUTH, c, "pending_review")
    wait_until(lambda: net.case(DISTRICT, c) and net.case(DISTRICT, c)["status"] == "pending_review", 10)
    lights = {r["case_no"]: r["light"] for r in net.get(DISTRICT, "/api/supervision/lights")["cases"]}
    assert lights[a] == lights[b] == lights[c] == "green"
    time.sleep(1)
    assert alerts(net) == set()

    go_to(net, dt.date(2026, 11, 24))  # A and C: one working day left; B: three
    wait_until(lambda: alerts(net) == {(a, "warning"), (c, "warning")}, 10, message="warnings for A and C")
    # the warning reaches the station holding the case: the district for A, the township for C
    wait_until(lambda: any(x["case_no"] == c and x["kind"] == "warning"
                           for x in net.get(SOUTH, "/api/alerts")["alerts"]), 10)
    assert any(x["case_no"] == a for x in net.get(DISTRICT, "/api/alerts")["alerts"])
    lights = {r["case_no"]: r["light"] for r in net.get(DISTRICT, "/api/supervision/lights")["cases"]}
    assert (lights[a], lights[b], lights[c]) == ("yellow", "green", "yellow")

    # the district restarts between two patrols of the same day: nothing is raised again
    net.kill(DISTRICT)
    net.restart(DISTRICT)
    time.sleep(2)  # several patrols after the restart
    assert alerts(net) == {(a, "warning"), (c, "warning")}
    assert [x["kind"] for x in station_alerts(net, SOUTH, c)] == ["warning"]
    assert [x["kind"] for x in station_alerts(net, DISTRICT, a)] == ["warning"]

    go_to(net, dt.date(2026, 11, 26))  # A, C one day late: yellow cards; B due tomorrow: warning
    wait_until(lambda: alerts(net) >= {(a, "yellow_card"), (c, "yellow_card"), (b, "warning")}, 10)

    go_to(net, dt.date(2026, 11, 30))  # A, C three days late (> half of 2): red; B one day late: yellow
    expected = {(a, "warning"), (a, "yellow_card"), (a, "red_card"), (b, "warning"), (b, "yellow_card"),
                (c, "warning"), (c, "yellow_card"), (c, "red_card")}
    wait_until(lambda: alerts(net) == expected, 10, message="all cards")
    lights = {r["case_no"]: r["light"] for r in net.get(DISTRICT, "/api/supervision/lights")["cases"]}
    assert lights[a] == lights[b] == lights[c] == "red"

    net.kill(DISTRICT)
    net.restart(DISTRICT)
    time.sleep(2)  # several patrols after the restart
    raised = net.get(DISTRICT, "/api/supervision/alerts")["alerts"]
    assert len(raised) == len(expected) and {(x["case_no"], x["kind"]) for x in raised} == expected
    # each station holding a case got each of its alerts exactly once
    assert sorted(x["kind"] for x in station_alerts(net, SOUTH, c)) == ["red_card", "warning", "yellow_card"]
    assert sorted(x["kind"] for x in station_alerts(net, DISTRICT, a)) == ["red_card", "warning", "yellow_card"]
    assert sorted(x["kind"] for x in station_alerts(net, DISTRICT, b)) == ["warning", "yellow_card"]


def station_alerts(net, station, case_no):
    return [x for x in net.get(station, "/api/alerts")["alerts"] if x["case_no"] == case_no]
