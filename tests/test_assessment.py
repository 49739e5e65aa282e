"""The monthly assessment (月度考核, issue 19): figures, scores, rankings and service stars of
a hand-built November 2026, counted by the district's database (shared/supervision/
assessment.py) on SQLite and PostgreSQL, against values worked out BY HAND in the comments
(never with the code under test); the network file's assessment policy; and the public
board (/desk/board) answered without a login by the district's gateway in this process.

The policy of the month: weights on-time 50, early 20, satisfaction 30; deductions yellow
card 2, red card 5, complaint 3; ranked from 2 completed cases; 2 service stars.
    score = 100 * (50*on_time_rate + 20*early_rate + 30*satisfaction) / 100 - deductions
"""
import datetime as dt
import re
from pathlib import Path
from types import SimpleNamespace

import pytest
import requests
from pytest import approx
from kombu import Connection
from nameko.containers import ServiceContainer
from nameko.rpc import get_rpc_exchange

from deploy.drills.harness import free_port
from district.gateway import DistrictGatewayService
from services.config import DATABASE_KEY, NETWORK_KEY, STATION_KEY
from shared.auth.accounts import Accounts
from shared.db.database import forget_databases
from shared.db.models import Case, CaseHistoryEntry, SupervisionAlert
from shared.exceptions import InvalidInput
from shared.stations import Network
from shared.supervision import assessment
from shared.supervision.assessment_policy import AssessmentPolicy
from tests.support import databases

NETWORK_PATH = Path(__file__).parent / "cases_data" / "network_cases.yaml"
NETWORK = Network.load(NETWORK_PATH)
DISTRICT, SOUTH, VILLAGE = "449902", "449902001", "449902001201"
POLICY = AssessmentPolicy.from_dict({"min_completed": 2, "stars": 2})
NOVEMBER = assessment.month("2026-11")
Q4 = assessment.quarter("2026Q4")
D = dt.date


def case(no, station, item, filed, actor, decided=None, due=None, working_days=None, rating=None):
    """A case row of the district's record with its summary columns and its filing entry.
    Item A: 民政 (civil_affairs); item B: 人社 (human_resources)."""
    department, name = {"A": ("civil_affairs", "甲事项"), "B": ("human_resources", "乙事项")}[item]
    case_no = f"{station}-{filed:%Y%m%d}-{no:05d}"
    row = Case(case_no=case_no, item_code=item, department=department, status="completed" if decided else "under_review",
               filing_station=station, deciding_station=station, holder_station=station, held_here=False, revision=1,
               filed_at=dt.datetime.combine(filed, dt.time(9)), due_date=due, departments=f",{department},",
               filed_date=filed, filing_tier=NETWORK.stations[station].tier, item_name=name, item_category="licence",
               promised_limit_days=5, legal_limit_days=20, acceptance="accepted", accepted_on=filed, returned=False,
               paused_working_days=0, decided_on=decided, outcome="approved" if decided else None,
               working_days=working_days, rating_score=rating, snapshot={"case_no": case_no})
    entry = CaseHistoryEntry(entry_id=f"{case_no}-1", case_no=case_no, seq=1, at=f"{filed}T09:00:00+08:00",
                             station=station, actor=actor, action="file", from_status=None, to_status="accepted",
                             reason="")
    return row, entry


LI, QIAN, WANG, ZHAO, SUN = "李四（staff）", "钱七（staff.b）", "王五（clerk）", "赵六（agent）", "孙八（agent.b）"
MONTH = {
    # the south township: 李四 (s1-s4) and 钱七 (t1, t2), item A
    "s1": (1, SOUTH, "A", D(2026, 11, 2), LI, D(2026, 11, 10), D(2026, 11, 12), 2, 5),   # early, a revoked card
    "s2": (2, SOUTH, "A", D(2026, 11, 3), LI, D(2026, 11, 12), D(2026, 11, 12), 4, 4),   # on time, not early
    "s3": (3, SOUTH, "A", D(2026, 11, 4), LI, D(2026, 11, 20), D(2026, 11, 16), 6, 2),   # late, complaint, yellow
    "s4": (4, SOUTH, "A", D(2026, 11, 25), LI),                                          # running, a warning
    "t1": (5, SOUTH, "A", D(2026, 11, 5), QIAN, D(2026, 11, 11), D(2026, 11, 12), 1, 1),  # early, complaint
    "t2": (6, SOUTH, "A", D(2026, 11, 6), QIAN, D(2026, 11, 12), D(2026, 11, 12), 2, 5),  # on time
    # the district centre: 王五, item B
    "d1": (1, DISTRICT, "B", D(2026, 11, 2), WANG, D(2026, 11, 5), D(2026, 11, 9), 1, 5),
    "d2": (2, DISTRICT, "B", D(2026, 11, 2), WANG, D(2026, 11, 6), D(2026, 11, 9), 2, None),
    "d3": (3, DISTRICT, "B", D(2026, 11, 3), WANG, D(2026, 11, 9), D(2026, 11, 9), 3, 3),
    # the village: 赵六 (v1, v2, v4, and v3 filed in October) and 孙八 (u1)
    "v1": (1, VILLAGE, "A", D(2026, 11, 2), ZHAO, D(2026, 11, 3), D(2026, 11, 4), 0, 5),
    "v2": (2, VILLAGE, "A", D(2026, 11, 30), ZHAO, D(2026, 12, 2), D(2026, 12, 3), 1, 5),  # decided in December
    "v4": (4, VILLAGE, "B", D(2026, 11, 9), ZHAO, D(2026, 11, 25), D(2026, 11, 20), 8),   # late at the district
    "u1": (5, VILLAGE, "A", D(2026, 11, 10), SUN, D(2026, 11, 16), D(2026, 11, 17), 1, 5),
    "v3": (3, VILLAGE, "A", D(2026, 10, 31), ZHAO, D(2026, 11, 2), D(2026, 11, 3), 1, 5),  # October: Q4 only
    "x1": (9, VILLAGE, "A", D(2026, 12, 1), ZHAO, D(2026, 12, 2), D(2026, 12, 3), 0, 1),   # December: Q4 only
}
# (case, kind, the station and department the card was raised against)
ALERTS = [("s1", "yellow_card", SOUTH, "civil_affairs"), ("s3", "yellow_card", SOUTH, "civil_affairs"),
          ("s4", "warning", SOUTH, "civil_affairs"),
          ("v4", "yellow_card", DISTRICT, "human_resources"), ("v4", "red_card", DISTRICT, "human_resources")]
REVOKED_CARDS = [("s1", "yellow_card")]


def build(database):
    numbers = {}
    with database.transaction() as session:
        for key, spec in MONTH.items():
            row, entry = case(*spec)
            numbers[key] = row.case_no
            session.add_all([row, entry])
        session.flush()
        for key, kind, station, department in ALERTS:
            session.add(SupervisionAlert(case_no=numbers[key], kind=kind, department=department, station=station,
                                         raised_at="2026-11-21T09:00:00+08:00", due_date="2026-11-20"))
        from shared.db.models import SupervisionCard  # the cards' states (S1's part of issue 19)
        for key, kind in REVOKED_CARDS:
            session.add(SupervisionCard(case_no=numbers[key], kind=kind, state="revoked", decided_by="监察员",
                                        decided_at="2026-11-22T10:00:00+08:00", decision_reason="系统误报"))
    return numbers


@pytest.fixture
def month_db(memory_db):
    build(memory_db)
    return memory_db


def assessed(database, by, period=NOVEMBER):
    with database.reading() as session:
        return {row["group"]: row for row in assessment.assess(session, period, by, NETWORK, POLICY)}


# -- by hand --------------------------------------------------------------------------------
# South (s1-s4, t1, t2): 6 cases, 5 completed; on time s1 s2 t1 t2 = 4/5; early s1 t1 = 2/5;
#   working days 2+4+6+1+2 = 15 -> 3; rated 5 (5 4 2 1 5), satisfied 3 -> 3/5; complaints s3 t1 = 2;
#   yellow: s3 (s1's was revoked) = 1.  base 50*0.8 + 20*0.4 + 30*0.6 = 66; 66 - 2 - 6 = 58.00
# District (d1-d3): 3 completed, on time 3/3, early d1 d2 = 2/3, days (1+2+3)/3 = 2, rated 2 (5, 3)
#   satisfied 1/2; the cards of v4 were raised against the district: yellow 1, red 1.
#   base 50 + 13.333 + 15 = 78.333; - 2 - 5 = 71.33
# Village (v1 v2 v4 u1; v3 is October's, x1 December's): 4 completed, on time v1 v2 u1 = 3/4,
#   early 3/4, days (0+1+8+1)/4 = 2.5, rated 3 all satisfied, no complaint, no card of its own.
#   base 37.5 + 15 + 30 = 82.50
# Ranks: village 1, district 2, south 3.
STATIONS = {
    VILLAGE: dict(cases=4, completed=4, on_time_rate=0.75, early_rate=0.75, avg_working_days=2.5, satisfaction=1.0,
                  rating_avg=5.0, complaints=0, yellow_cards=0, red_cards=0, score=82.5, rank=1),
    DISTRICT: dict(cases=3, completed=3, on_time_rate=1.0, early_rate=2 / 3, avg_working_days=2.0, satisfaction=0.5,
                   rating_avg=4.0, complaints=0, yellow_cards=1, red_cards=1, score=71.33, rank=2),
    SOUTH: dict(cases=6, completed=5, on_time_rate=0.8, early_rate=0.4, avg_working_days=3.0, satisfaction=0.6,
                rating_avg=17 / 5, complaints=2, yellow_cards=1, red_cards=0, score=58.0, rank=3),
}
# civil_affairs (item A: s1-s4 t1 t2 v1 v2 u1): 9 cases, 8 completed, on time 7/8, early s1 t1 v1 v2 u1
#   = 5/8, days (2+4+6+1+2+0+1+1)/8 = 17/8, rated 8 (5 4 2 1 5 5 5 5) satisfied 6 = 0.75, complaints 2,
#   yellow s3 = 1.  base 43.75 + 12.5 + 22.5 = 78.75; - 2 - 6 = 70.75
# human_resources (item B: d1-d3 v4): 4 completed, on time 3/4, early 2/4, days (1+2+3+8)/4 = 3.5,
#   rated 2 satisfied 1/2, yellow 1 red 1 (v4).  base 37.5 + 10 + 15 = 62.5; - 7 = 55.50
DEPARTMENTS = {
    "civil_affairs": dict(cases=9, completed=8, on_time_rate=7 / 8, early_rate=5 / 8, avg_working_days=17 / 8,
                          satisfaction=0.75, complaints=2, yellow_cards=1, red_cards=0, score=70.75, rank=1),
    "human_resources": dict(cases=4, completed=4, on_time_rate=0.75, early_rate=0.5, avg_working_days=3.5,
                            satisfaction=0.5, complaints=0, yellow_cards=1, red_cards=1, score=55.5, rank=2),
}
# Counter users (the filer; a card counts only when raised against the filer's own station):
#   王五 d1-d3: 78.333 -> 78.33 (no card: v4's were the district's, but 王五 did not file v4)
#   赵六 v1 v2 v4: on time 2/3, early 2/3, satisfied 2/2; v4's cards were raised against the district,
#     not his village: 33.333 + 13.333 + 30 = 76.67
#   钱七 t1 t2: on time 1, early 1/2, satisfied 1/2 (5 yes, 1 no): 50 + 10 + 15 = 75; complaint t1 -3 = 72.00
#   李四 s1-s4: on time 2/3, early 1/3, satisfied 2/3: 33.333 + 6.667 + 20 = 60; yellow s3 -2, complaint -3 = 55.00
#   孙八 u1: one completed case (below 2): 100, unranked
# Ranks 王五 1, 赵六 2, 钱七 3, 李四 4; stars (2): 王五, 赵六.
USERS = {
    f"{DISTRICT}:clerk": dict(name="王五（clerk）", completed=3, score=78.33, rank=1),
    f"{VILLAGE}:agent": dict(name="赵六（agent）", completed=3, on_time_rate=2 / 3, yellow_cards=0, red_cards=0,
                             score=76.67, rank=2),
    f"{SOUTH}:staff.b": dict(name="钱七（staff.b）", completed=2, complaints=1, score=72.0, rank=3),
    f"{SOUTH}:staff": dict(name="李四（staff）", cases=4, completed=3, complaints=1, yellow_cards=1, score=55.0, rank=4),
    f"{VILLAGE}:agent.b": dict(name="孙八（agent.b）", completed=1, score=100.0, rank=None),
}
# Q4 adds v3 (October, 赵六: early, rated 5) and x1 (December, 赵六: early, rated 1, a complaint):
#   赵六 v1-v4 x1: on time 4/5, early 4/5, rated 4 satisfied 3: 40 + 16 + 22.5 = 78.5, - 3 = 75.50,
#   second after 王五 78.33. The village (v1-v4 u1 x1): 6 completed, on time 5/6, early 5/6,
#   rated 5 satisfied 4: 41.667 + 16.667 + 24 = 82.333, - 3 = 79.33
QUARTER_USERS = {f"{DISTRICT}:clerk": (78.33, 1), f"{VILLAGE}:agent": (75.5, 2)}


def check(found, expected):
    for group, figures in expected.items():
        assert group in found, (group, list(found))
        for name, value in figures.items():
            assert found[group][name] == (approx(value) if isinstance(value, float) else value), (group, name)


def test_stations_are_scored_and_ranked_as_worked_out_by_hand(month_db):
    found = assessed(month_db, "station")
    assert set(found) == set(STATIONS)
    check(found, STATIONS)
    assert found[SOUTH]["name"] == "南街道公共服务中心"


def test_departments_and_items_are_scored_and_ranked_as_worked_out_by_hand(month_db):
    check(assessed(month_db, "department"), DEPARTMENTS)
    items = assessed(month_db, "item")
    assert set(items) == {"A", "B"} and items["A"]["name"] == "甲事项"
    check(items, {"A": DEPARTMENTS["civil_affairs"], "B": DEPARTMENTS["human_resources"]})


def test_counter_users_are_ranked_and_the_stars_are_the_top_ones(month_db):
    found = assessed(month_db, "user")
    assert set(found) == set(USERS)
    check(found, USERS)
    with month_db.reading() as session:
        rows = assessment.assess(session, NOVEMBER, "user", NETWORK, POLICY)
    assert [r["group"] for r in rows] == [f"{DISTRICT}:clerk", f"{VILLAGE}:agent", f"{SOUTH}:staff.b",
                                          f"{SOUTH}:staff", f"{VILLAGE}:agent.b"]
    assert [r["name"] for r in assessment.stars(rows, POLICY)] == ["王五（clerk）", "赵六（agent）"]


def test_a_quarter_counts_its_three_months(month_db):
    users = assessed(month_db, "user", Q4)
    for group, (score, rank) in QUARTER_USERS.items():
        assert (users[group]["score"], users[group]["rank"]) == (approx(score), rank)
    assert assessed(month_db, "station", Q4)[VILLAGE]["score"] == approx(79.33)


def test_a_revoked_card_does_not_count(month_db):
    """s1's yellow card was revoked: south has one yellow card (s3's), not two."""
    assert assessed(month_db, "station")[SOUTH]["yellow_cards"] == 1
    assert assessed(month_db, "department")["civil_affairs"]["yellow_cards"] == 1


def test_equal_scores_share_a_rank_and_the_next_rank_is_skipped():
    def row(group, completed, on_time):
        return {"group": group, "completed": completed, "on_time_rate": on_time, "early_rate": None,
                "satisfaction": None, "complaints": 0, "yellow_cards": 0, "red_cards": 0}
    # on-time rate alone (the other rates have no value): scores 100, 50, 50, 25, and one below 2 completed
    rows = assessment.score_rows([row("d", 4, 0.25), row("b", 2, 0.5), row("c", 4, 0.5), row("a", 2, 1.0),
                                  row("e", 1, 1.0)], POLICY)
    assert [(r["group"], r["score"], r["rank"]) for r in rows] == [
        ("a", 100.0, 1), ("c", 50.0, 2), ("b", 50.0, 2), ("d", 25.0, 4), ("e", 100.0, None)]


def test_deductions_never_take_the_score_below_zero():
    row = {"on_time_rate": 0.1, "early_rate": 0.0, "satisfaction": None, "complaints": 9, "yellow_cards": 3,
           "red_cards": 1}
    assert assessment.score(row, POLICY) == 0.0


def test_periods_are_months_or_quarters_and_bad_ones_are_refused():
    assert (NOVEMBER.start, NOVEMBER.end, NOVEMBER.title) == (D(2026, 11, 1), D(2026, 11, 30), "2026年11月")
    assert (Q4.start, Q4.end, Q4.title) == (D(2026, 10, 1), D(2026, 12, 31), "2026年第4季度")
    assert assessment.month("2024-02").end == D(2024, 2, 29)
    assert assessment.period_of(today=D(2027, 1, 15)).label == "2026-12"
    for bad in ("2026-13", "2026-1", "11-2026", ""):
        with pytest.raises(InvalidInput, match="month"):
            assessment.month(bad)
    with pytest.raises(InvalidInput, match="quarter"):
        assessment.quarter("2026Q5")
    with pytest.raises(InvalidInput, match="not both"):
        assessment.period_of("2026-11", "2026Q4")


def test_the_policy_comes_from_the_network_file_with_defaults_and_named_mistakes():
    default = Network.load(NETWORK_PATH).assessment
    assert default.as_dict() == {"weights": {"on_time": 50, "early": 20, "satisfaction": 30},
                                 "deductions": {"yellow_card": 2, "red_card": 5, "complaint": 3},
                                 "min_completed": 10, "stars": 3, "show_staff_names": False}
    policy = AssessmentPolicy.from_dict({"weights": {"early": 0}, "deductions": {"complaint": 1.5},
                                         "show_staff_names": True})
    assert (policy.weight("on_time"), policy.weight("early"), policy.deduction("complaint")) == (50, 0, 1.5)
    for bad, field in [({"weights": {"speed": 1}}, "assessment.weights"), ({"weights": {"on_time": -1}},
                       "assessment.weights.on_time"), ({"weights": {"on_time": 0, "early": 0, "satisfaction": 0}},
                       "assessment.weights"), ({"stars": "3"}, "assessment.stars"),
                       ({"show_staff_names": "yes"}, "assessment.show_staff_names"), ({"colour": 1}, "colour"),
                       ({"min_completed": 0}, "assessment.min_completed")]:
        with pytest.raises(InvalidInput, match=re.escape(field)):
            AssessmentPolicy.from_dict(bad)


def test_staff_are_masked_unless_the_policy_names_them():
    row = {"by": "user", "staff_name": "欧阳修", "station_name": "南岭村便民服务站", "name": "欧阳修（agent）"}
    assert assessment.public_name(row, POLICY) == "欧**（南岭村便民服务站）"
    assert assessment.public_name(row, AssessmentPolicy(show_staff_names=True)) == "欧阳修（南岭村便民服务站）"
    assert assessment.parse_signed("张三（zhangsan）") == ("张三", "zhangsan")
    assert assessment.masked("张三") == "张*"


# -- the district's gateway: the API and the public board ------------------------------------
PASSWORD = "Assess-test-Passw0rd-2026"


@pytest.fixture
def district(amqp_uri, tmp_path):
    """The district's gateway in this process on a database holding the hand-built month
    (a file on SQLite; a scratch database on PostgreSQL), the test network with its
    default policy but 2 completed cases to be ranked and 2 stars."""
    text = NETWORK_PATH.read_text(encoding="utf-8") + "assessment: {min_completed: 2, stars: 2}\n"
    network_file = tmp_path / "network.yaml"
    network_file.write_text(text, encoding="utf-8")
    network = Network.load(network_file)
    with Connection(amqp_uri, connect_timeout=5) as connection:  # made by a district's RPC services otherwise
        get_rpc_exchange({})(connection.default_channel).declare()
    with databases.scratch_databases.database(sqlite_file=tmp_path / "district.sqlite3") as db:
        build(db)
        with db.transaction() as session:
            accounts = Accounts(session, network.station(DISTRICT), network)
            for username, role in (("supervisor", "supervisor"), ("clerk", "window_clerk")):
                accounts.add({"username": username, "name": "测试员", "role": role, "department": None,
                              "password": PASSWORD})
        port = free_port()
        container = ServiceContainer(DistrictGatewayService, {
            "AMQP_URI": amqp_uri, "WEB_SERVER_ADDRESS": f"127.0.0.1:{port}", STATION_KEY: DISTRICT,
            NETWORK_KEY: str(network_file), DATABASE_KEY: db.url})
        container.start()
        try:
            yield SimpleNamespace(url=f"http://127.0.0.1:{port}")
        finally:
            container.stop()
            forget_databases(lambda url: url == db.url)


def login(district, username):
    response = requests.post(district.url + "/api/login", json={"username": username, "password": PASSWORD},
                             timeout=10)
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


def test_the_public_board_shows_the_month_without_a_login_and_masks_staff(district):
    response = requests.get(district.url + "/desk/board", params={"month": "2026-11"}, timeout=10)
    assert response.status_code == 200, response.text
    html = response.text
    stars = re.search(r'<section class="card" id="stars">(.*?)</section>', html, re.S).group(1)
    assert re.findall(r"<strong>(.*?)</strong>", stars) == ["王*（测试二区行政服务中心）", "赵*（南岭村便民服务站）"]
    quarter = re.search(r'id="quarter-stars">(.*?)</section>', html, re.S).group(1)
    assert "2026年第4季度服务之星" in quarter
    assert re.findall(r"<strong>(.*?)</strong>", quarter) == ["王*（测试二区行政服务中心）", "赵*（南岭村便民服务站）"]
    stations = re.search(r'id="rank-stations">(.*?)</table>', html, re.S).group(1)
    assert re.findall(r"<tr><td>(\d+)</td><td>([^<]+)</td><td>([\d.]+)</td>", stations) == [
        ("1", "南岭村便民服务站", "82.50"), ("2", "测试二区行政服务中心", "71.33"), ("3", "南街道公共服务中心", "58.00")]
    for full_name in ("王五", "赵六", "李四", "钱七", "clerk", "staff.b"):
        assert full_name not in html
    assert requests.get(district.url + "/desk/board", params={"month": "2026-13"}, timeout=10).status_code == 400
    latest = requests.get(district.url + "/desk/board", timeout=10)  # the last whole month on the district's clock
    assert latest.status_code == 200 and re.search(r"\d{4}年\d{1,2}月服务之星", latest.text)


def test_the_assessment_api_answers_the_supervisor_and_refuses_others(district):
    supervisor = login(district, "supervisor")
    answer = requests.get(district.url + "/api/assessment", params={"month": "2026-11", "by": "user"},
                          headers=supervisor, timeout=10)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["period"]["from"] == "2026-11-01" and body["policy"]["min_completed"] == 2
    assert [(r["name"], r["score"], r["rank"]) for r in body["rows"]][:2] == [("王五（clerk）", 78.33, 1),
                                                                              ("赵六（agent）", 76.67, 2)]
    assert [r["name"] for r in body["stars"]] == ["王五（clerk）", "赵六（agent）"]
    quarter = requests.get(district.url + "/api/assessment", params={"quarter": "2026Q4", "by": "station"},
                           headers=supervisor, timeout=10).json()
    assert {r["group"]: r["score"] for r in quarter["rows"]}[VILLAGE] == approx(79.33)
    refused = requests.get(district.url + "/api/assessment", headers=login(district, "clerk"), timeout=10)
    assert refused.status_code == 403 and refused.json()["error"]
    bad = requests.get(district.url + "/api/assessment", params={"by": "colour"}, headers=supervisor, timeout=10)
    assert bad.status_code == 400 and "by" in bad.json()["message"]
    assert requests.get(district.url + "/api/assessment", timeout=10).status_code == 401


def desk_login(district, username):
    """A browser logged in at the desk through its login form."""
    browser = requests.Session()
    page = browser.get(district.url + "/desk/login", timeout=10).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    response = browser.post(district.url + "/desk/login", allow_redirects=False, timeout=10,
                            data={"username": username, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 303, response.text
    return browser


def test_the_supervisor_reads_the_assessment_at_the_desk_and_downloads_it(district):
    browser = desk_login(district, "supervisor")
    html = browser.get(district.url + "/desk/supervision/assessment", params={"month": "2026-11", "by": "user"},
                       timeout=10).text
    assert 'href="/desk/supervision/assessment">月度考核</a>' in html
    assert "服务之星：王五（clerk）（测试二区行政服务中心，78.33 分）、赵六（agent）（南岭村便民服务站，76.67 分）" in html
    table = re.search(r'<table class="cases" id="assessment">(.*?)</table>', html, re.S).group(1)
    ranks = re.findall(r"<td>([^<]+)<br>.*?<td>(78\.33|76\.67|72\.00|55\.00|100\.00)</td>\s*<td>([^<]+)</td>", table, re.S)
    assert ranks == [("王五（clerk）", "78.33", "1"), ("赵六（agent）", "76.67", "2"), ("钱七（staff.b）", "72.00", "3"),
                     ("李四（staff）", "55.00", "4"), ("孙八（agent.b）", "100.00", "不参与排名")]
    download = browser.get(district.url + "/desk/supervision/assessment.csv",
                           params={"quarter": "2026Q4", "by": "station"}, timeout=10)
    assert download.status_code == 200 and download.content.startswith("\ufeff".encode())
    lines = download.content.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("考核期,分组,编码,名称,办件数,办结,按时办结率")
    village = next(line.split(",") for line in lines if f",{VILLAGE}," in line)
    assert village[:6] == ["2026Q4", "站点", VILLAGE, "南岭村便民服务站", "6", "6"] and village[-2:] == ["79.33", "1"]
    refused = desk_login(district, "clerk").get(district.url + "/desk/supervision/assessment", timeout=10)
    assert refused.status_code == 403 and "月度考核" not in refused.text.split("<main>")[0]


@pytest.mark.parametrize("by", assessment.GROUPINGS)
def test_a_month_counted_inside_its_quarter_gives_the_same_rows_as_alone(month_db, by):
    """The board counts the quarter once and the month inside it (assess_with_part)."""
    with month_db.reading() as session:
        quarter_rows, month_rows = assessment.assess_with_part(session, Q4, NOVEMBER, by, NETWORK, POLICY)
        assert quarter_rows == assessment.assess(session, Q4, by, NETWORK, POLICY)
        assert month_rows == assessment.assess(session, NOVEMBER, by, NETWORK, POLICY)


def test_an_online_application_counts_for_the_counter_user_whose_pre_review_passed_it(memory_db):
    row, _ = case(7, SOUTH, "A", D(2026, 11, 9), QIAN, D(2026, 11, 12), D(2026, 11, 13), 2, 5)
    steps = [("apply_online", "申请人（网上申请）"), ("pre_review_supplement", QIAN), ("pre_review_pass", QIAN)]
    with memory_db.transaction() as session:
        session.add(row)
        session.add_all(CaseHistoryEntry(entry_id=f"{row.case_no}-{n}", case_no=row.case_no, seq=n,
                                         at=f"2026-11-09T1{n}:00:00+08:00", station=SOUTH, actor=actor, action=action,
                                         from_status=None, to_status="x", reason="")
                        for n, (action, actor) in enumerate(steps, 1))
    found = assessed(memory_db, "user")
    assert list(found) == [f"{SOUTH}:staff.b"]
    assert (found[f"{SOUTH}:staff.b"]["cases"], found[f"{SOUTH}:staff.b"]["early_rate"]) == (1, 1.0)
