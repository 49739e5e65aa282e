"""Supervision cards with states (shared/supervision/cards.py, card_store.py,
district/supervision_cards.py): the rules alone; then on the district's database (both
databases) cards the patrol issued are explained, confirmed and revoked, a revoked card
leaves the counts and the statistics; then the HTTP API's answers (statuses, who sees
which cards) with the district's gateway in this process."""
import datetime as dt
from types import SimpleNamespace

import pytest
import requests
from kombu import Connection
from nameko.containers import ServiceContainer
from nameko.rpc import get_rpc_exchange

from deploy.drills.harness import free_port
from district.gateway import DistrictGatewayService
from district.supervision_cards import CardDesk
from district.supervision_desk import SupervisionDesk
from services.config import DATABASE_KEY, NETWORK_KEY, STATION_KEY
from shared.auth import roles
from shared.calendar import WorkingDayCalendar
from shared.exceptions import Conflict, Forbidden, InvalidInput, NotFound
from shared.supervision import aggregates, card_store
from shared.supervision import cards as rules
from tests.support.inprocess import (  # noqa: F401 (station_factory, station_url are fixtures)
    DISTRICT, NETWORK_PATH, PASSWORD, filing, station_factory, station_url,
)

ALL_MZ_002 = ["M01", "M02", "M03", "M04", "M05"]      # 区民政局, promised 20 working days
ALL_SJ_001 = ["M01", "M02", "M03"]                    # 区市场监督管理局, promised 5
CAL = WorkingDayCalendar()


# -- the rules ------------------------------------------------------------------------------------
def test_the_explanation_is_due_two_working_days_after_the_card_and_a_later_one_is_late():
    friday = dt.date(2026, 3, 6)
    assert rules.explain_due(friday, CAL) == dt.date(2026, 3, 10)          # Monday, Tuesday
    assert not rules.explanation_overdue(friday, dt.date(2026, 3, 10), CAL)
    assert rules.explanation_overdue(friday, dt.date(2026, 3, 11), CAL)
    # the May Day holiday (2026-05-01..05) is not counted
    assert rules.explain_due(dt.date(2026, 4, 30), CAL) == dt.date(2026, 5, 7)


@pytest.mark.parametrize("state, action, overdue, expected", [
    ("issued", "explain", False, "explained"),
    ("explained", "confirm", False, "confirmed"),
    ("explained", "revoke", False, "revoked"),
    ("issued", "confirm", True, "confirmed"),       # no explanation came in time
    ("issued", "confirm", False, Conflict),         # the department still has time
    ("issued", "revoke", True, Conflict),           # a revocation rests on an explanation
    ("explained", "explain", False, Conflict),
    ("confirmed", "revoke", False, Conflict),
    ("revoked", "confirm", False, Conflict),
    ("revoked", "explain", False, Conflict),
])
def test_the_card_states_move_only_as_the_rules_allow(state, action, overdue, expected):
    if isinstance(expected, str):
        assert rules.next_state(state, action, overdue) == expected
    else:
        with pytest.raises(expected):
            rules.next_state(state, action, overdue)


def test_who_explains_decides_and_lists():
    reviewer = {"username": "r", "name": "审", "role": roles.REVIEWER, "department": "civil_affairs"}
    other = dict(reviewer, department="health")
    supervisor = {"username": "s", "name": "监", "role": roles.SUPERVISOR, "department": None}
    clerk = {"username": "c", "name": "窗", "role": roles.WINDOW_CLERK, "department": None}
    rules.can_explain(reviewer, "civil_affairs")
    for user in (other, supervisor, clerk):
        with pytest.raises(Forbidden):
            rules.can_explain(user, "civil_affairs")
    rules.can_decide(supervisor)
    for user in (reviewer, clerk):
        with pytest.raises(Forbidden):
            rules.can_decide(user)
    assert rules.listing_department(reviewer) == "civil_affairs"
    assert rules.listing_department(supervisor) is None
    assert rules.listing_department(supervisor, "health") == "health"
    with pytest.raises(Forbidden):
        rules.listing_department(reviewer, "health")
    with pytest.raises(Forbidden):
        rules.listing_department(clerk)
    assert rules.parse_card_id("449902-20260302-00001.red_card") == ("449902-20260302-00001", "red_card")
    for bad in ("nothing", "449902-20260302-00001.purple", ".red_card", ""):
        with pytest.raises(NotFound):
            rules.parse_card_id(bad)


# -- on the district's database -------------------------------------------------------------------
def overdue_district(station):
    """Two cases filed at the district's window on MONDAY (2026-03-02), the clock then
    moved 8 weeks on: both are long overdue, and the patrol issues a yellow and a red card
    for each. Returns (case numbers by department, the patrol)."""
    clerk = station.user(roles.WINDOW_CLERK, username="clerk")
    mz = station.desk.file(filing("MZ-002", ALL_MZ_002), clerk)["case_no"]
    sj = station.desk.file(filing("SJ-001", ALL_SJ_001), clerk)["case_no"]
    station.clock.advance(days=56)   # Monday 2026-04-27
    patrol = SupervisionDesk(station.database, station.relay, station.info, station.clock)
    raised = patrol.patrol()
    assert sorted((a["case_no"], a["kind"]) for a in raised) == sorted(
        [(mz, "yellow_card"), (mz, "red_card"), (sj, "yellow_card"), (sj, "red_card")])
    return {"civil_affairs": mz, "market_regulation": sj}, patrol


def card_counts(station, **kwargs):
    with station.database.reading() as session:
        return card_store.counts(session, **kwargs)


def stats_cards(station):
    with station.database.reading() as session:
        total = aggregates.statistics(session, by="none")[-1]
    return total["yellow_cards"], total["red_cards"]


def test_a_card_explained_and_revoked_leaves_the_counts_and_a_confirmed_one_stays(station_factory):
    station = station_factory(DISTRICT)
    cases, patrol = overdue_district(station)
    desk = CardDesk(station.database, station.clock)
    supervisor = station.user(roles.SUPERVISOR, username="supervisor")
    civil = station.user(roles.REVIEWER, "civil_affairs")
    market = station.user(roles.APPROVER, "market_regulation")
    mz_red = rules.card_id(cases["civil_affairs"], "red_card")
    sj_yellow = rules.card_id(cases["market_regulation"], "yellow_card")

    assert card_counts(station) == {None: {"warning": 0, "yellow_card": 2, "red_card": 2}}
    assert stats_cards(station) == (2, 2)
    total, by_state, found = desk.page(supervisor)
    assert total == 4 and by_state == {"issued": 4, "explained": 0, "confirmed": 0, "revoked": 0}
    assert {c["state"] for c in found} == {"issued"}
    assert {c["explain_due"] for c in found} == {"2026-04-29"}
    # a department sees its own cards only
    total, _, found = desk.page(civil)
    assert total == 2 and {c["department"] for c in found} == {"civil_affairs"}

    # the wrong department, the supervisor, an empty text: refused, nothing stored
    with pytest.raises(Forbidden):
        desk.step("explain", mz_red, {"text": "我们来说明"}, market)
    with pytest.raises(Forbidden):
        desk.step("explain", mz_red, {"text": "监察不说明"}, supervisor)
    with pytest.raises(InvalidInput):
        desk.step("explain", mz_red, {"text": " "}, civil)
    with pytest.raises(Conflict):   # a revocation waits for the explanation
        desk.step("revoke", mz_red, {"reason": "误报"}, supervisor)
    assert desk.card(supervisor, mz_red)["state"] == "issued"

    explained = desk.step("explain", mz_red, {"text": "申请人补交材料期间系统未暂停计时，实际未超期"}, civil)
    assert explained["state"] == "explained" and not explained["explained_late"]
    assert explained["explained_by"] == "测试civil_affairs.reviewer（civil_affairs.reviewer）"
    with pytest.raises(Conflict):
        desk.step("explain", mz_red, {"text": "再说明一次"}, civil)
    with pytest.raises(Forbidden):
        desk.step("revoke", mz_red, {"reason": "部门自己撤销"}, civil)
    with pytest.raises(InvalidInput):   # a revocation needs its reason
        desk.step("revoke", mz_red, {}, supervisor)
    revoked = desk.step("revoke", mz_red, {"reason": "经核实，补正期间应暂停计时，撤销红牌"}, supervisor)
    assert revoked["state"] == "revoked" and revoked["decision_reason"] == "经核实，补正期间应暂停计时，撤销红牌"
    assert [(s["action"], s["from_state"], s["to_state"]) for s in revoked["history"]] == [
        ("issue", None, "issued"), ("explain", "issued", "explained"), ("revoke", "explained", "revoked")]
    with pytest.raises(Conflict):
        desk.step("confirm", mz_red, {}, supervisor)

    # the revoked card is gone from the counts and the statistics, not from the list
    assert card_counts(station) == {None: {"warning": 0, "yellow_card": 2, "red_card": 1}}
    assert card_counts(station, by="department") == {
        "civil_affairs": {"warning": 0, "yellow_card": 1, "red_card": 0},
        "market_regulation": {"warning": 0, "yellow_card": 1, "red_card": 1}}
    assert stats_cards(station) == (2, 1)
    assert desk.page(supervisor, state="revoked")[0] == 1

    # three working days later the market department explains late; the supervisor confirms
    station.clock.advance(days=3)   # Thursday 2026-04-30, after the due 04-29
    late = desk.step("explain", sj_yellow, {"text": "窗口人员病假，已补办"}, market)
    assert late["explained_late"] and late["history"][-1]["late"]
    confirmed = desk.step("confirm", sj_yellow, {}, supervisor)
    assert confirmed["state"] == "confirmed" and confirmed["decided_by"].endswith("（supervisor）")
    # the yellow card of the civil affairs case never got its explanation: confirmed as it is
    never = desk.step("confirm", rules.card_id(cases["civil_affairs"], "yellow_card"), {"reason": "逾期未说明"},
                      supervisor)
    assert never["state"] == "confirmed" and never["explanation"] is None
    assert card_counts(station, states=("confirmed",)) == {None: {"warning": 0, "yellow_card": 2, "red_card": 0}}
    assert card_counts(station, start=dt.date(2026, 4, 28)) == {}
    assert card_counts(station, start=dt.date(2026, 4, 27), end=dt.date(2026, 4, 27), by="item") == {
        "MZ-002": {"warning": 0, "yellow_card": 1, "red_card": 0},
        "SJ-001": {"warning": 0, "yellow_card": 1, "red_card": 1}}

    # the patrol raises nothing again, the revoked card included
    assert patrol.patrol() == []
    assert desk.page(supervisor)[1] == {"issued": 1, "explained": 0, "confirmed": 2, "revoked": 1}


def test_two_steps_on_one_card_at_once_one_passes(station_factory):
    """Two supervisors' decisions read the same explained card: the compare-and-set lets one through."""
    station = station_factory(DISTRICT)
    cases, _ = overdue_district(station)
    desk = CardDesk(station.database, station.clock)
    supervisor = station.user(roles.SUPERVISOR, username="supervisor")
    card = rules.card_id(cases["civil_affairs"], "yellow_card")
    desk.step("explain", card, {"text": "已说明情况"}, station.user(roles.REVIEWER, "civil_affairs"))
    with station.database.reading() as second:  # the second decision read the card first...
        stale_card = card_store.CardStore(second, CAL, station.clock.today()).card(card)
    desk.step("confirm", card, {}, supervisor)  # ...then the first one was written
    with station.database.transaction() as session:
        late = card_store.CardStore(session, CAL, station.clock.today())
        with pytest.raises(Conflict):
            late._step(stale_card, "revoke", supervisor, station.clock.now(), "撤销", False,
                       decided_by="x", decided_at="y", decision_reason="撤销")
    assert desk.card(supervisor, card)["state"] == "confirmed"
    assert [s["action"] for s in desk.card(supervisor, card)["history"]] == ["issue", "explain", "confirm"]


# -- the API ---------------------------------------------------------------------------------------
@pytest.fixture
def district_api(amqp_uri, station_url):
    """The district's gateway in this process on a district holding the patrol's four cards."""
    station, url = station_url(DISTRICT)
    cases, _ = overdue_district(station)
    for role, department, username in ((roles.SUPERVISOR, None, "supervisor"),
                                       (roles.REVIEWER, "civil_affairs", "civil"),
                                       (roles.APPROVER, "market_regulation", "market"),
                                       (roles.WINDOW_CLERK, None, "clerk")):
        station.add_user(role, department, username=username)
    with Connection(amqp_uri, connect_timeout=5) as connection:
        get_rpc_exchange({})(connection.default_channel).declare()
    port = free_port()
    container = ServiceContainer(DistrictGatewayService, {
        "AMQP_URI": amqp_uri, "WEB_SERVER_ADDRESS": f"127.0.0.1:{port}", STATION_KEY: DISTRICT,
        NETWORK_KEY: str(NETWORK_PATH), DATABASE_KEY: url})
    container.start()
    try:
        yield SimpleNamespace(url=f"http://127.0.0.1:{port}", cases=cases, station=station)
    finally:
        container.stop()


def call(api, method, path, username=None, body=None, **params):
    headers = {}
    if username:
        token = requests.post(api.url + "/api/login", json={"username": username, "password": PASSWORD},
                              timeout=10).json()["token"]
        headers["Authorization"] = f"Bearer {token}"
    return requests.request(method, api.url + path, json=body, params=params, headers=headers, timeout=10)


def test_the_card_api_answers_each_step_and_refuses_with_the_right_status(district_api):
    api = district_api
    mz_red = rules.card_id(api.cases["civil_affairs"], "red_card")
    listed = call(api, "GET", "/api/supervision/cards", "supervisor")
    assert listed.status_code == 200 and listed.json()["total"] == 4
    assert call(api, "GET", "/api/supervision/cards", "civil").json()["total"] == 2
    assert call(api, "GET", "/api/supervision/cards", "civil", department="health").status_code == 403
    assert call(api, "GET", "/api/supervision/cards", "clerk").status_code == 403
    assert call(api, "GET", "/api/supervision/cards").status_code == 401
    assert call(api, "GET", "/api/supervision/cards", "supervisor", state="lost").status_code == 400
    assert call(api, "GET", "/api/supervision/cards", "supervisor",
                department="market_regulation", station=DISTRICT).json()["total"] == 2

    path = f"/api/supervision/cards/{mz_red}"
    assert call(api, "POST", path + "/explain", "market", {"text": "不是本部门"}).status_code == 403
    assert call(api, "POST", path + "/explain", "supervisor", {"text": "监察不说明"}).status_code == 403
    assert call(api, "POST", path + "/explain", "civil", {"text": ""}).status_code == 400
    assert call(api, "POST", path + "/explain", "civil", {"text": "好", "extra": 1}).status_code == 400
    assert call(api, "POST", path + "/revoke", "supervisor", {"reason": "误报"}).status_code == 409
    assert call(api, "POST", "/api/supervision/cards/nope.red_card/explain", "civil",
                {"text": "没有这张卡"}).status_code == 404
    done = call(api, "POST", path + "/explain", "civil", {"text": "补正期间未暂停计时"})
    assert done.status_code == 200 and done.json()["state"] == "explained"
    assert call(api, "POST", path + "/explain", "civil", {"text": "再说明"}).status_code == 409
    assert call(api, "POST", path + "/revoke", "civil", {"reason": "自己撤销"}).status_code == 403
    assert call(api, "POST", path + "/revoke", "supervisor", {}).status_code == 400
    before = call(api, "GET", "/api/stats", "supervisor").json()["rows"][-1]
    revoked = call(api, "POST", path + "/revoke", "supervisor", {"reason": "经核实撤销"})
    assert revoked.status_code == 200 and revoked.json()["state"] == "revoked"
    after = call(api, "GET", "/api/stats", "supervisor").json()["rows"][-1]
    assert (before["red_cards"], after["red_cards"]) == (2, 1)
    card = call(api, "GET", path, "supervisor").json()
    assert [s["action"] for s in card["history"]] == ["issue", "explain", "revoke"]
    assert call(api, "GET", path, "market").status_code == 403
    assert call(api, "GET", "/api/supervision/cards", "supervisor", state="revoked").json()["by_state"] == {
        "issued": 3, "explained": 0, "confirmed": 0, "revoked": 1}
