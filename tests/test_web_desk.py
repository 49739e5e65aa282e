"""The web desk (/desk/) in a real browser: Debian's Chromium driven by Playwright over a
district, a township that checks cases before forwarding them and a village, each station
in its own process on the shared RabbitMQ.

One case of a district item decided in two steps (MZ-002 最低生活保障申请), from the
village counter to the district's civil-affairs office and back, every step done by its
own user in their own browser session; and a resident rating their completed case on the
status page, without logging in. Every page visited is screenshotted into
$TONGBAN_TEST_OUTPUT/screenshots/desk (default test-output/screenshots/desk)."""
import datetime as dt
import re
import time
from pathlib import Path

import pytest
from playwright.sync_api import expect

from shared.auth.staffing import SAMPLE_PASSWORD
from shared.cases.citizen_id import make as make_id
from tests.support.browser import NEW_PASSWORD, Screenshots, launch_chromium
from tests.test_case_network import running_case_network

NETWORK = Path(__file__).parent / "cases_data" / "network_desk.yaml"
DISTRICT, TOWNSHIP, VILLAGE = "449903", "449903001", "449903001201"
SHOTS = Screenshots("desk")
MISSING_CORE = "家庭收入及财产情况申报表"  # MZ-002's material M04, a core one


@pytest.fixture(scope="module")
def net(amqp_uri):
    with running_case_network(network_path=NETWORK) as network:
        yield network


@pytest.fixture(scope="module")
def browser():
    yield from launch_chromium(SHOTS)


class Desk:
    """One person at one station's web desk, in a browser context of their own."""

    def __init__(self, browser, net, code):
        self.base = net.launcher.url_of(code)
        self.net, self.code = net, code
        self.context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
        self.context.set_default_timeout(15_000)
        self.page = self.context.new_page()

    def open(self, path, shot=None):
        response = self.page.goto(self.base + path)
        if shot:
            self.shot(shot)
        return response

    def shot(self, name):
        self.page.screenshot(path=str(SHOTS.folder / f"{SHOTS.number():02d}-{name}.png"), full_page=True)

    def log_in(self, username, shot):
        self.open("/desk/login")
        self.fill_login(username, SAMPLE_PASSWORD)
        self.change_sample_password(username)
        expect(self.page.locator(".who .user")).to_be_visible()
        self.shot(shot)

    def change_sample_password(self, username, shot=None):
        """The first login with the sample password lands on 修改密码, whatever was asked
        for; the user sets their own (strong) password and goes on from the home page."""
        expect(self.page).to_have_url(re.compile(r"/desk/account/password$"))
        expect(self.page.locator(".banner.error")).to_contain_text("首次登录请先设置您自己的密码")
        if shot:
            self.shot(shot)
        self.page.get_by_label("当前密码").fill(SAMPLE_PASSWORD)
        self.page.get_by_label("新密码", exact=True).fill(NEW_PASSWORD)
        self.page.get_by_label("再次输入新密码").fill(NEW_PASSWORD)
        self.submit("修改密码", "密码已修改")
        with self.net.client.book.open() as book:  # so the API calls of later tests log in too
            book.set(self.code, username, NEW_PASSWORD)
        self.open("/desk/")

    def submit(self, button, done):
        """Press a form's button; the page it redirects to says it was done."""
        self.page.get_by_role("button", name=button).click()
        expect(self.page.locator(".banner.ok")).to_contain_text(done)

    def fill_login(self, username, password):
        self.page.get_by_label("用户名").fill(username)
        self.page.get_by_label("密码").fill(password)
        self.page.get_by_role("button", name="登录").click()

    def status_label(self):
        return self.page.locator("h1 .status").inner_text()

    def wait_for_case(self, path, label, timeout=30):
        """Open the page until the case shows this status (it travels between stations)."""
        deadline = time.monotonic() + timeout
        while True:
            self.open(path)
            if self.status_label() == label:
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"{path}: still {self.status_label()}, not {label}, after {timeout} s")
            time.sleep(0.3)

    def open_from_worklist(self, case_no, section, shot, timeout=30):
        deadline = time.monotonic() + timeout
        while True:
            self.open("/desk/worklist")
            link = self.page.locator("section", has=self.page.locator("h2", has_text=section)).get_by_role(
                "link", name=case_no)
            if link.count():
                break
            if time.monotonic() > deadline:
                raise AssertionError(f"{case_no} not in the worklist's “{section}” after {timeout} s")
            time.sleep(0.3)
        self.shot(shot)
        link.click()
        expect(self.page.locator(".case-no")).to_have_text(case_no)

    def history_rows(self):
        return self.page.locator("table.history tbody tr").count()

    def close(self):
        self.context.close()


def logged_in(browser, net, code, username, shot):
    desk = Desk(browser, net, code)
    desk.log_in(username, shot)
    return desk


def test_a_case_from_the_village_counter_to_the_district_and_back(net, browser):
    agent = Desk(browser, net, VILLAGE)

    # no session: the login page, which comes back to the page asked for
    agent.open("/desk/", shot="login")
    assert "/desk/login?next=%2Fdesk%2F" in agent.page.url
    agent.fill_login("agent", "wrong-password")
    expect(agent.page.locator(".banner.error")).to_contain_text("用户名或密码错误")
    expect(agent.page.get_by_label("用户名")).to_have_value("agent")
    agent.shot("login-wrong-password")
    agent.fill_login("agent", SAMPLE_PASSWORD)
    # the sample password is everyone's: nothing else until the agent has chosen their own
    agent.open("/desk/cases")
    agent.change_sample_password("agent", shot="change-sample-password")
    expect(agent.page).to_have_url(re.compile(r"/desk/$"))
    expect(agent.page.locator(".who .role")).to_have_text("村（社区）代办员")
    cookie = next(c for c in agent.context.cookies() if c["name"].startswith("tongban_session_"))
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["path"] == "/"
    agent.shot("village-home")

    # search, read the guide, print the item's one-time notice
    agent.page.get_by_label("查找事项").fill("低保")
    agent.page.get_by_role("button", name="查询").click()
    agent.shot("items-search")
    agent.page.get_by_role("link", name="最低生活保障申请", exact=True).click()
    expect(agent.page.locator("table.materials")).to_contain_text(MISSING_CORE)
    agent.shot("item-guide")
    agent.page.get_by_role("link", name="打印一次性告知书").click()
    expect(agent.page.locator(".paper-title")).to_have_text("一次性告知书")
    agent.shot("item-print")
    agent.page.get_by_role("link", name="返回").click()

    # file it with a core material missing; a refused form keeps what was typed
    agent.page.get_by_role("link", name="受理此事项").click()
    expect(agent.page.get_by_label("户籍所在地代码")).to_have_value(VILLAGE)
    id_number = make_id(DISTRICT, dt.date(1968, 5, 6), 27)
    agent.page.get_by_label("姓名").fill("陈桂芳")
    agent.page.get_by_label("身份证号").fill(id_number)
    agent.page.get_by_label("联系电话").fill("12345")
    for name in ("最低生活保障申请书", "申请人及共同生活家庭成员居民身份证、户口簿", "家庭经济状况核对授权书",
                 "残疾人证、病历资料等特殊困难证明"):
        agent.page.get_by_label(name).check()
    agent.shot("filing-form")
    agent.page.get_by_role("button", name="提交受理").click()
    expect(agent.page.locator(".banner.error")).to_be_visible()
    expect(agent.page.locator(".field-error")).to_contain_text("手机")
    expect(agent.page.get_by_label("姓名")).to_have_value("陈桂芳")
    expect(agent.page.get_by_label("最低生活保障申请书")).to_be_checked()
    agent.shot("filing-form-refused")
    agent.page.get_by_label("联系电话").fill("13800138000")
    agent.page.get_by_role("button", name="提交受理").click()
    expect(agent.page).to_have_url(re.compile(r"/desk/cases/[0-9-]+\?done=file$"))
    case_no = agent.page.locator(".case-no").inner_text()
    case_path = f"/desk/cases/{case_no}"
    assert agent.status_label() == "待补正"
    agent.shot("case-needs-supplement")

    # the one-time supplement notice lists what is missing, and prints without the desk around it
    agent.page.get_by_role("link", name="打印一次性告知书").click()
    paper = agent.page.locator("article.paper")
    expect(paper).to_contain_text(MISSING_CORE)
    assert "最低生活保障申请书" not in paper.inner_text()  # brought, so not asked for
    query_code = paper.locator(".query-code").inner_text()  # printed this once, for the resident
    agent.shot("supplement-notice")
    agent.page.emulate_media(media="print")
    expect(agent.page.locator("header.top")).to_be_hidden()
    expect(agent.page.locator(".print-bar")).to_be_hidden()
    agent.shot("supplement-notice-print")
    agent.page.emulate_media(media="screen")

    # later: the material is brought; accepted and forwarded to the township
    agent.open(case_path)
    agent.page.locator("#form-supplement").get_by_label(MISSING_CORE).check()
    agent.submit("登记补交", "补交材料已登记")
    assert agent.status_label() == "已转报"
    rows = agent.history_rows()
    assert rows == 3  # filed (needs supplement), supplemented (accepted), forwarded
    agent.shot("case-supplemented")
    agent.page.reload()  # after POST → redirect → GET, a reload repeats nothing
    assert agent.history_rows() == rows
    assert agent.page.locator("#history-count").inner_text() == str(rows)

    # the township checks it and forwards it from its worklist
    staff = logged_in(browser, net, TOWNSHIP, "staff", "township-home")
    staff.open_from_worklist(case_no, "待初审转报", "township-worklist")
    assert staff.status_label() == "已接收"
    staff.shot("township-case")
    staff.page.get_by_label("初审意见（可选）").fill("材料齐全，同意上报")
    staff.submit(re.compile("初审通过"), "已转报")
    staff.shot("township-forwarded")
    staff.close()

    # another department's reviewer may not see it: a red banner, 403
    other = logged_in(browser, net, DISTRICT, "health.reviewer", "other-department-home")
    response = other.open(case_path, shot="other-department-forbidden")
    assert response.status == 403
    expect(other.page.locator(".banner.error")).to_contain_text("只能查看本部门的办件")
    other.close()

    # the district's civil-affairs reviewer: a rejection needs its reason, then passes it
    reviewer = logged_in(browser, net, DISTRICT, "civil_affairs.reviewer", "reviewer-home")
    reviewer.open_from_worklist(case_no, "待审查", "reviewer-worklist")
    reviewer.page.get_by_role("button", name="不通过").click()
    expect(reviewer.page.locator(".banner.error")).to_contain_text("须写明理由")
    assert reviewer.status_label() == "待审查"
    reviewer.shot("reviewer-reject-without-reason")
    reviewer.page.get_by_label("意见（不通过时必填）").fill("家庭收入低于当地低保标准，符合条件")
    reviewer.submit("审查通过", "决定已记录")
    assert reviewer.status_label() == "待审批"
    reviewer.shot("reviewer-passed")
    reviewer.close()

    approver = logged_in(browser, net, DISTRICT, "civil_affairs.approver", "approver-home")
    approver.open_from_worklist(case_no, "待审批", "approver-worklist")
    approver.submit("审批通过", "决定已记录")
    approver.shot("approver-approved")
    approver.close()

    # back at the village: the result is ready; hand it over and record the rating
    agent.wait_for_case(case_path, "待领取")
    agent.shot("village-result-ready")
    agent.page.get_by_role("link", name="打印审批结果").click()
    expect(agent.page.locator(".paper-title")).to_have_text("准予许可决定书")
    agent.shot("result-print")
    agent.open(case_path)
    agent.submit("已交付申请人", "办结")
    assert agent.status_label() == "已办结"
    agent.shot("village-delivered")
    agent.page.get_by_label("5 分").check()
    agent.page.get_by_label("评价意见（可选）").fill("在村里就办好了，很方便")
    agent.submit("提交评价", "评价已记录")
    expect(agent.page.locator("table.facts")).to_contain_text("5 分：在村里就办好了，很方便")
    rows = agent.history_rows()
    agent.shot("village-rated")
    agent.page.reload()
    assert agent.history_rows() == rows and agent.page.locator("#form-rate").count() == 0
    agent.open("/desk/cases", shot="village-cases")
    agent.page.get_by_role("button", name="退出登录").click()
    expect(agent.page).to_have_url(re.compile(r"/desk/login$"))
    agent.open(case_path)
    assert "/desk/login?next=" in agent.page.url
    agent.close()

    # a resident asks, without logging in: the number and the query code printed on the notice
    resident = Desk(browser, net, VILLAGE)
    status = look_up(resident, case_no, query_code, shot="resident-status")
    assert status == 200 and query_code not in resident.page.url  # posted, not in the URL
    expect(resident.page.locator("#status-result")).to_contain_text("已办结")
    expect(resident.page.locator("#status-result")).not_to_contain_text(id_number[-4:])
    status = look_up(resident, case_no, "ABCD-2345", shot="resident-status-wrong-code")
    assert status == 404 and resident.page.locator("#status-result").count() == 0
    resident.close()


def look_up(resident, case_no, query_code, shot):
    """Fill in the status page's form and send it (a POST); the HTTP status of the page
    that answered. (Read from the browser's navigation timing: Playwright's
    expect_response calls its predicate in the dispatcher greenlet, which hung under
    eventlet's monkey-patching.)"""
    resident.open("/desk/status")
    resident.page.get_by_label("受理编号").fill(case_no)
    resident.page.get_by_label("查询码").fill(query_code)
    resident.page.get_by_role("button", name="查询").click()
    resident.page.wait_for_selector("#status-result, .banner.error")  # the answer's page, either way
    resident.shot(shot)
    return resident.page.evaluate("performance.getEntriesByType('navigation')[0].responseStatus")


def test_a_resident_rates_their_completed_case_on_the_status_page(net, browser):
    """Filed at the district's own counter and decided there (over the API); the applicant
    then rates it themselves, without logging in, on the status page."""
    id_number = make_id(DISTRICT, dt.date(1975, 9, 12), 31)
    materials = [m["code"] for m in net.get(DISTRICT, "/api/items/MZ-002")["materials"]]
    filed = net.post(DISTRICT, "/api/cases", {
        "item_code": "MZ-002", "materials": materials,
        "applicant": {"name": "郑丽娟", "id_number": id_number, "phone": "13922223333", "residence": VILLAGE}})
    case_no, query_code = filed["case_no"], filed["query_code"]  # the filing's answer shows it once
    for step in ("review", "approve"):
        net.post(DISTRICT, f"/api/cases/{case_no}/decisions", {"step": step, "outcome": "pass",
                                                               "department": "civil_affairs"})
    net.post(DISTRICT, f"/api/cases/{case_no}/deliver", {})

    resident = Desk(browser, net, DISTRICT)
    look_up(resident, case_no, query_code, shot="resident-rating-form")
    expect(resident.page.locator("#status-result")).to_contain_text("已办结")
    resident.page.get_by_label("2 分 不满意").check()
    resident.page.get_by_label("意见建议（选填）").fill("材料清单写得不清楚，跑了两趟")
    resident.submit("提交评价", "感谢您的评价")
    expect(resident.page.locator("#status-result")).to_contain_text("2 分")
    assert resident.page.locator("#rating").count() == 0  # rated once: the form is gone
    resident.shot("resident-rated")
    look_up(resident, case_no, query_code, shot="resident-rated-again")
    expect(resident.page.locator("#status-result")).to_contain_text("2 分")
    assert resident.page.locator("#rating").count() == 0
    resident.close()
    case = net.case(DISTRICT, case_no)
    assert case["rating"]["score"] == 2 and case["rating"]["comment"] == "材料清单写得不清楚，跑了两趟"
    # a rating of 2 opens a follow-up for civil affairs at the district
    follow_ups = net.call("GET", DISTRICT, "/api/follow-ups", as_user="civil_affairs.approver").json()["follow_ups"]
    assert [(f["case_no"], f["status"]) for f in follow_ups if f["case_no"] == case_no] == [(case_no, "open")]
