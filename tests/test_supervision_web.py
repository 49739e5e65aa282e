"""The supervision desk (电子监察, issue 19) in a real browser: Debian's Chromium driven by
Playwright over the district's gateway, run in a process of its own on a database (SQLite
file, or PostgreSQL under TONGBAN_TEST_DATABASE=postgresql) holding cases filed on Monday
2026-03-02 and a patrol run eight weeks later (the station's simulated clock says
2026-04-27): two cases long overdue, each with a yellow and a red card; one decided
early; one case filed the week before, green.

The supervisor opens the board, filters the red cases and opens one; the civil affairs
reviewer explains the red card of their case, the supervisor revokes it and it leaves
the month's counts (cards page, big screen, /api/stats); the statistics page's ECharts
charts hold the same figures as the table under each, and the CSV and Excel files too.
The desk's home page links the supervisor to the board, cards, statistics, big screen,
assessment and public board (the last two are opened from there). axe-core (served by the
station) checks every supervision page the test shows, at desktop and phone width: no
serious or critical violation. Pages are screenshotted at both widths into
$TONGBAN_TEST_OUTPUT/screenshots/supervision (tests/support/browser.py)."""
import datetime as dt
import io
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import requests
from kombu import Connection
from nameko.rpc import get_rpc_exchange
from openpyxl import load_workbook
from playwright.sync_api import expect

from deploy.drills.harness import free_port
from district.supervision_desk import SupervisionDesk
from services.config import CLOCK_FILE_KEY, DATABASE_KEY, NETWORK_KEY, STATION_KEY
from services.topology import declare_network
from shared.auth import roles
from shared.clock import DISTRICT_TZ, set_simulated_now
from shared.stations import Network
from tests.support.browser import AXE, ECHARTS, BrowserUser, Screenshots, launch_chromium
from tests.support.inprocess import (  # noqa: F401 (station_url is a fixture)
    DISTRICT, NETWORK_PATH, PASSWORD, filing, station_url,
)

ROOT = Path(__file__).resolve().parent.parent
SHOTS = Screenshots("supervision")
PATROL_DAY = dt.datetime(2026, 4, 27, 10, 0, tzinfo=DISTRICT_TZ)   # a Monday
SERVE = """
import eventlet; eventlet.monkey_patch()
import json, signal, sys
from nameko.containers import ServiceContainer
from district.gateway import DistrictGatewayService
container = ServiceContainer(DistrictGatewayService, json.loads(sys.argv[1]))
signal.signal(signal.SIGTERM, lambda *_: eventlet.spawn(container.stop))
container.start()
print("ready", flush=True)
container.wait()
"""


@pytest.fixture
def district(amqp_uri, station_url):
    """The district's gateway (its own process) over the overdue cases and their cards."""
    station, url = station_url(DISTRICT)
    clerk = station.user(roles.WINDOW_CLERK, username="clerk")
    overdue = {"civil_affairs": station.desk.file(filing("MZ-002", ["M01", "M02", "M03", "M04", "M05"]), clerk),
               "market_regulation": station.desk.file(filing("SJ-001", ["M01", "M02", "M03"]), clerk)}
    done = station.desk.file(filing("SJ-001", ["M01", "M02", "M03"]), clerk)["case_no"]
    station.clock.advance(days=2)    # decided on the Wednesday, before its due date: early
    for step, role in (("review", roles.REVIEWER), ("approve", roles.APPROVER)):
        station.desk.decide(done, {"step": step, "outcome": "pass", "department": "market_regulation"},
                            station.user(role, "market_regulation"))
    station.clock.advance(days=47)   # Monday 2026-04-20: a case due in 20 working days, green on the 27th
    green = station.desk.file(filing("MZ-002", ["M01", "M02", "M03", "M04", "M05"]), clerk)
    station.clock.advance(days=7)
    raised = SupervisionDesk(station.database, station.relay, station.info, station.clock).patrol()
    assert len(raised) == 4
    for role, department, username in ((roles.SUPERVISOR, None, "supervisor"),
                                       (roles.REVIEWER, "civil_affairs", "civil")):
        station.add_user(role, department, username=username)
    # the broker's exchanges, which set-up declares and a district's RPC services make (the test's own
    # broker may be new)
    declare_network(amqp_uri, Network.load(str(NETWORK_PATH)))
    with Connection(amqp_uri, connect_timeout=5) as connection:
        get_rpc_exchange({})(connection.default_channel).declare()
    clock_file = str(Path(tempfile.mkdtemp(prefix="tongban-supervision-clock-")) / "clock.json")
    set_simulated_now(clock_file, PATROL_DAY)
    port = free_port()
    config = {"AMQP_URI": amqp_uri, "WEB_SERVER_ADDRESS": f"127.0.0.1:{port}", STATION_KEY: DISTRICT,
              NETWORK_KEY: str(NETWORK_PATH), DATABASE_KEY: url, CLOCK_FILE_KEY: clock_file}
    process = subprocess.Popen([sys.executable, "-W", "ignore", "-c", SERVE, json.dumps(config)], cwd=ROOT,
                               stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout.readline().strip() == "ready"
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                requests.get(base + "/desk/login", timeout=2)
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        yield {"base": base, "red": {d: c["case_no"] for d, c in overdue.items()}, "green": green["case_no"]}
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def browser():
    yield from launch_chromium(SHOTS, AXE, ECHARTS)


class Person(BrowserUser):
    """A district user logged in at the desk; every supervision page they are shown is
    screenshotted and checked with axe-core (`check`)."""

    def __init__(self, browser, base, username):
        super().__init__(browser, base, SHOTS)
        self.log_in(username, PASSWORD)
        expect(self.page).to_have_url(re.compile(r"/desk/$"))

    def open(self, path):
        response = super().open(path)
        assert response.status == 200, (path, response.status)

    def month_counts(self):
        self.open("/desk/supervision/cards")
        return {kind: int(self.page.locator(f'#month-counts strong[data-kind="{kind}"]').inner_text())
                for kind in ("yellow_card", "red_card", "warning")}


def test_the_supervisor_watches_filters_and_the_card_is_explained_revoked_and_uncounted(district, browser):
    base, red = district["base"], district["red"]
    supervisor = Person(browser, base, "supervisor")
    page = supervisor.page

    # the desk's home leads the supervisor to every supervision page
    links = page.locator("#supervision-links a")
    hrefs = links.evaluate_all("links => links.map(a => a.getAttribute('href'))")
    assert dict(zip(links.all_inner_texts(), hrefs)) == {
        "实时监察：办件亮灯": "/desk/supervision", "监察卡：预警与黄红牌": "/desk/supervision/cards",
        "统计图表": "/desk/supervision/stats", "监察大屏": "/desk/supervision/screen",
        "月度考核": "/desk/supervision/assessment", "公示栏（公开）": "/desk/board"}
    supervisor.check("home")

    # the board: two red cases, one green; the red filter; drill-down to a case
    page.get_by_role("link", name="电子监察", exact=True).click()
    expect(page).to_have_url(re.compile(r"/desk/supervision$"))
    assert page.locator('.tile[data-light="red"] .n').inner_text() == "2"
    assert page.locator('.tile[data-light="green"] .n').inner_text() == "1"
    supervisor.check("board")
    page.locator("#board-filters").get_by_label("时限").select_option("red")
    page.locator("#board-filters").get_by_role("button", name="筛选").click()
    expect(page).to_have_url(re.compile(r"light=red"))
    rows = page.locator("#board tbody tr")
    expect(rows).to_have_count(2)
    assert set(rows.evaluate_all("rows => rows.map(r => r.dataset.light)")) == {"red"}
    assert district["green"] not in page.locator("#board").inner_text()
    supervisor.check("board-red")
    page.locator("#board-filters").get_by_label("部门").select_option("civil_affairs")
    page.locator("#board-filters").get_by_role("button", name="筛选").click()
    expect(rows).to_have_count(1)
    page.get_by_role("link", name=red["civil_affairs"]).click()
    expect(page).to_have_url(re.compile(re.escape(f"/desk/cases/{red['civil_affairs']}") + "$"))
    expect(page.locator("main, body").first).to_contain_text(red["civil_affairs"])
    expect(page.locator("h1")).to_contain_text("最低生活保障申请")
    supervisor.shot("case")

    # the month's cards before: 2 yellow, 2 red
    assert supervisor.month_counts() == {"yellow_card": 2, "red_card": 2, "warning": 0}
    supervisor.check("cards")

    # the civil affairs reviewer sees their department's cards only, and explains the red one
    reviewer = Person(browser, base, "civil")
    reviewer.page.get_by_role("link", name="监察卡", exact=True).click()
    cards = reviewer.page.locator("#cards tbody tr")
    expect(cards).to_have_count(2)
    card_id = f"{red['civil_affairs']}.red_card"
    reviewer.page.locator(f'tr[data-card="{card_id}"]').get_by_role("link", name="查看处理").click()
    reviewer.page.get_by_label("说明（超期原因及整改措施）").fill("申请人补正材料期间未暂停计时，已更正")
    reviewer.page.get_by_role("button", name="提交说明").click()
    expect(reviewer.page.locator(".banner.ok")).to_contain_text("说明已提交")
    assert reviewer.page.locator("#card-state").get_attribute("data-state") == "explained"
    reviewer.check("card-explained")

    # the supervisor revokes it without a reason (refused, shown), then with one
    supervisor.open(f"/desk/supervision/cards/{card_id}")
    expect(page.locator("#card-history li")).to_have_count(2)
    page.get_by_role("button", name="撤销监察卡").click()
    expect(page.locator(".banner.error")).to_be_visible()
    assert page.locator("#card-state").get_attribute("data-state") == "explained"
    page.get_by_label("意见（撤销时必填）").fill("经核实，补正期间应暂停计时，撤销红牌")
    page.get_by_role("button", name="撤销监察卡").click()
    expect(page.locator(".banner.ok")).to_contain_text("已撤销")
    assert page.locator("#card-state").get_attribute("data-state") == "revoked"
    assert page.locator("#card-history li").evaluate_all("items => items.map(i => i.dataset.action)") == [
        "issue", "explain", "revoke"]
    supervisor.check("card-revoked")
    assert supervisor.month_counts() == {"yellow_card": 2, "red_card": 1, "warning": 0}
    stats = page.context.request.get(base + "/desk/supervision/screen.json").json()
    assert stats["cards_this_month"] == {"warning": 0, "yellow_card": 2, "red_card": 1}
    assert stats["lights"] == {"red": 2, "yellow": 0, "green": 1}

    # the big screen
    supervisor.open("/desk/supervision/screen")
    assert page.locator("#cards-red_card").inner_text() == "1"
    assert page.locator("#light-red").inner_text() == "2"
    assert page.locator("#townships li").count() >= 1
    supervisor.check("screen")

    # the statistics: every chart holds the figures of its table
    supervisor.open("/desk/supervision/stats?from=2026-03-01&to=2026-04-30")
    page.wait_for_function("() => typeof echarts !== 'undefined' && "
                           "echarts.getInstanceByDom(document.getElementById('chart-trend'))")
    for key in ("trend", "department", "station", "tier", "days"):
        series = page.evaluate(f"""() => echarts.getInstanceByDom(document.getElementById('chart-{key}'))
            .getOption().series.map(s => ({{name: s.name, data: s.data}}))""")
        assert series and any(v not in (None, 0) for s in series for v in s["data"]), (key, series)
        headers = page.locator(f"#table-{key} thead th").all_inner_texts()
        for s in series:
            column = headers.index(s["name"]) + 1
            cells = page.locator(f"#table-{key} tbody tr td:nth-child({column})").all_inner_texts()
            assert [None if c == "—" else float(c) for c in cells] == [
                None if v is None else float(v) for v in s["data"]], (key, s["name"])
    trend = page.evaluate("""() => echarts.getInstanceByDom(document.getElementById('chart-trend'))
        .getOption().series.find(s => s.name === '办件数').data""")
    assert trend == [3, 1]   # March: the two overdue cases and the early one; April: the green one
    supervisor.check("stats")

    # the month's assessment and the public board, from the home page's links
    for name, path in (("assessment", "/desk/supervision/assessment"), ("public-board", "/desk/board")):
        supervisor.open("/desk/")
        page.locator("#supervision-links").locator(f'a[href="{path}"]').click()
        expect(page).to_have_url(re.compile(re.escape(path) + "$"))
        assert supervisor.status() == 200, path
        supervisor.check(name)

    csv = page.context.request.get(base + "/desk/supervision/stats.csv?chart=tier&from=2026-03-01&to=2026-04-30")
    assert csv.status == 200 and csv.body().decode("utf-8-sig").splitlines()[:2] == ["层级,办件数,办结", "区行政服务中心,4,1"]
    xlsx = page.context.request.get(base + "/desk/supervision/stats.xlsx?chart=trend&from=2026-03-01&to=2026-04-30")
    assert xlsx.status == 200
    sheet = load_workbook(io.BytesIO(xlsx.body())).active
    assert [row[:2] for row in sheet.iter_rows(min_row=2, values_only=True)] == [
        ("月份", "办件数"), ("2026-03", 3), ("2026-04", 1)]
