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
Pages are screenshotted into $TONGBAN_TEST_OUTPUT/screenshots/supervision."""
import datetime as dt
import io
import itertools
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import requests
from openpyxl import load_workbook
from playwright.sync_api import expect, sync_playwright

from deploy.drills.harness import free_port
from district.supervision_desk import SupervisionDesk
from services.config import CLOCK_FILE_KEY, DATABASE_KEY, NETWORK_KEY, STATION_KEY
from shared.auth import roles
from shared.clock import DISTRICT_TZ, set_simulated_now
from tests.support.inprocess import (  # noqa: F401 (station_url is a fixture)
    DISTRICT, NETWORK_PATH, PASSWORD, filing, station_url,
)
from tests.test_web_desk import CHROMIUM, CHROMIUM_ARGS, stop_playwright

ROOT = Path(__file__).resolve().parent.parent
SCREENSHOTS = Path(os.environ.get("TONGBAN_TEST_OUTPUT", ROOT / "test-output")) / "screenshots" / "supervision"
ECHARTS = ROOT / "services" / "web_desk" / "static" / "vendor" / "node_modules" / "echarts" / "dist" / "echarts.min.js"
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
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium", pytrace=False)
    if not ECHARTS.is_file():
        pytest.fail(f"{ECHARTS} is missing: run deploy/bootstrap.sh (npm ci in services/web_desk/static/vendor)",
                    pytrace=False)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for old in SCREENSHOTS.glob("*.png"):
        old.unlink()
    manager = sync_playwright()
    playwright = manager.start()
    try:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()
    finally:
        stop_playwright(manager)


_shots = itertools.count(1)


class Person:
    def __init__(self, browser, base, username):
        self.base = base
        self.context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
        self.context.set_default_timeout(15_000)
        self.page = self.context.new_page()
        self.page.goto(base + "/desk/login")
        self.page.get_by_label("用户名").fill(username)
        self.page.get_by_label("密码").fill(PASSWORD)
        self.page.get_by_role("button", name="登录").click()
        expect(self.page).to_have_url(re.compile(r"/desk/$"))

    def open(self, path):
        response = self.page.goto(self.base + path)
        assert response.status == 200, (path, response.status)

    def shot(self, name):
        self.page.screenshot(path=str(SCREENSHOTS / f"{next(_shots):02d}-{name}.png"), full_page=True)

    def month_counts(self):
        self.open("/desk/supervision/cards")
        return {kind: int(self.page.locator(f'#month-counts strong[data-kind="{kind}"]').inner_text())
                for kind in ("yellow_card", "red_card", "warning")}


def test_the_supervisor_watches_filters_and_the_card_is_explained_revoked_and_uncounted(district, browser):
    base, red = district["base"], district["red"]
    supervisor = Person(browser, base, "supervisor")
    page = supervisor.page

    # the board: two red cases, one green; the red filter; drill-down to a case
    page.get_by_role("link", name="电子监察", exact=True).click()
    expect(page).to_have_url(re.compile(r"/desk/supervision$"))
    assert page.locator('.tile[data-light="red"] .n').inner_text() == "2"
    assert page.locator('.tile[data-light="green"] .n').inner_text() == "1"
    supervisor.shot("board")
    page.locator("#board-filters").get_by_label("时限").select_option("red")
    page.locator("#board-filters").get_by_role("button", name="筛选").click()
    expect(page).to_have_url(re.compile(r"light=red"))
    rows = page.locator("#board tbody tr")
    expect(rows).to_have_count(2)
    assert set(rows.evaluate_all("rows => rows.map(r => r.dataset.light)")) == {"red"}
    assert district["green"] not in page.locator("#board").inner_text()
    supervisor.shot("board-red")
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
    supervisor.shot("cards")

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
    reviewer.shot("card-explained")

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
    supervisor.shot("card-revoked")
    assert supervisor.month_counts() == {"yellow_card": 2, "red_card": 1, "warning": 0}
    stats = page.context.request.get(base + "/desk/supervision/screen.json").json()
    assert stats["cards_this_month"] == {"warning": 0, "yellow_card": 2, "red_card": 1}
    assert stats["lights"] == {"red": 2, "yellow": 0, "green": 1}

    # the big screen
    supervisor.open("/desk/supervision/screen")
    assert page.locator("#cards-red_card").inner_text() == "1"
    assert page.locator("#light-red").inner_text() == "2"
    assert page.locator("#townships li").count() >= 1
    supervisor.shot("screen")

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
    supervisor.shot("stats")

    csv = page.context.request.get(base + "/desk/supervision/stats.csv?chart=tier&from=2026-03-01&to=2026-04-30")
    assert csv.status == 200 and csv.body().decode("utf-8-sig").splitlines()[:2] == ["层级,办件数,办结", "区行政服务中心,4,1"]
    xlsx = page.context.request.get(base + "/desk/supervision/stats.xlsx?chart=trend&from=2026-03-01&to=2026-04-30")
    assert xlsx.status == 200
    sheet = load_workbook(io.BytesIO(xlsx.body())).active
    assert [row[:2] for row in sheet.iter_rows(min_row=2, values_only=True)] == [
        ("月份", "办件数"), ("2026-03", 3), ("2026-04", 1)]
