"""The service hall in a real browser (issue 17): Debian's Chromium driven by Playwright
over a district station in its own process (tests/cases_data/network_hall.yaml), with a
simulated clock the test moves from one day to the next.

A resident books an appointment on the portal (and looks it up, moves it and fails to
with a wrong mobile); the next morning the counter issues the ticket from the
appointment, calls it, and the hall display (left open in a browser of its own) shows
the call without being reloaded; the counter opens the filing form from the ticket and
accepts the case, which remembers its ticket. A walk-in and a priority ticket (an
applicant over 70, by the ID number) in the same queue: the priority one is called
first. axe-core (installed from npm at set-up, served by the station) checks the display,
the residents' pages and the counter's pages: no serious or critical violation.

Every page is screenshotted at desktop (1280x900) and phone (390x844) width into
$TONGBAN_TEST_OUTPUT/screenshots/hall (default test-output/screenshots/hall)."""
import datetime as dt
import re
import tempfile
import time
from pathlib import Path

import pytest
import requests
from playwright.sync_api import expect

from shared.auth.staffing import SAMPLE_PASSWORD
from shared.cases.citizen_id import make as make_id
from shared.clock import DISTRICT_TZ, set_simulated_now
from tests.support.browser import AXE, DESKTOP, NEW_PASSWORD, PHONE, BrowserUser, Screenshots, launch_chromium
from tests.test_case_network import CaseNetwork

NETWORK = Path(__file__).parent / "cases_data" / "network_hall.yaml"
DISTRICT, TOWNSHIP = "449917", "449917001"
SHOTS = Screenshots("hall")
MONDAY = dt.datetime(2026, 11, 30, 10, 0, tzinfo=DISTRICT_TZ)  # a working Monday
TUESDAY = dt.date(2026, 12, 1)
ITEM = "MZ-002"  # 最低生活保障申请, accepted at the district's window


@pytest.fixture(scope="module")
def clock_file():
    path = str(Path(tempfile.mkdtemp(prefix="tongban-hall-clock-")) / "clock.json")
    set_simulated_now(path, MONDAY)
    return path


@pytest.fixture(scope="module")
def net(amqp_uri, clock_file):
    network = CaseNetwork(network_path=NETWORK, clock_file=clock_file)
    try:
        network.start()
        yield network
    finally:
        network.stop()


@pytest.fixture(scope="module")
def browser():
    yield from launch_chromium(SHOTS, AXE)


class Visitor(BrowserUser):
    """One person at the station in a browser context of their own."""

    def __init__(self, browser, net, viewport=DESKTOP):
        super().__init__(browser, net.launcher.url_of(DISTRICT), SHOTS, viewport)
        self.net = net

    def log_in(self, username):
        super().log_in(username, SAMPLE_PASSWORD, NEW_PASSWORD)  # the sample password: change it
        with self.net.client.book.open() as book:  # so the API calls of the test log in too
            book.set(DISTRICT, username, NEW_PASSWORD)


def move_clock(clock_file, when):
    set_simulated_now(clock_file, when)


def test_a_resident_books_online_and_is_served_from_the_ticket_and_priority_comes_first(net, browser, clock_file):
    resident_id = make_id("445203", dt.date(1980, 4, 12), 41)
    mobile = "13912345678"

    # -- Monday: the resident books Tuesday morning at 综合受理 for MZ-002, on a phone ------
    resident = Visitor(browser, net, viewport=PHONE)
    resident.open(f"/portal/appointments?item={ITEM}", shot="portal-choose-type")
    resident.axe("portal: choose the window type")
    resident.page.get_by_label("办理业务").select_option("A")
    resident.submit("查看可预约时段")
    expect(resident.page.locator("table.slots")).to_be_visible()
    # Monday itself cannot be booked any more: the first day offered is Tuesday
    assert resident.page.locator("table.slots tbody th").first.inner_text().startswith("12月1日")
    resident.shot("portal-slots")
    resident.axe("portal: the slots and the booking form")
    resident.page.locator(f'input[name="slot"][value="{TUESDAY}|am"]').check()
    resident.page.get_by_label("姓名").fill("林秀珍")
    resident.page.get_by_label("身份证号").fill(resident_id)
    resident.page.get_by_label("手机号码").fill("1391234")  # too short: refused, the input kept
    resident.submit("提交预约")
    expect(resident.page.locator(".banner.error")).to_contain_text("手机")
    assert resident.status() == 400
    expect(resident.page.get_by_label("姓名")).to_have_value("林秀珍")
    resident.shot("portal-refused")
    resident.page.locator(f'input[name="slot"][value="{TUESDAY}|am"]').check()
    resident.page.get_by_label("手机号码").fill(mobile)
    resident.submit("提交预约")
    expect(resident.page.locator("#booking-no")).to_be_visible()
    assert resident.status() == 201
    booking_no = resident.page.locator("#booking-no").inner_text().strip()
    assert re.fullmatch(r"Y261201A\d{3}", booking_no), booking_no
    expect(resident.page.locator("#appointment-slot")).to_contain_text("12月1日（周二） 上午")
    facts = resident.page.locator("#appointment").inner_text()
    assert resident_id not in facts and mobile not in facts  # masked on the page
    resident.shot("portal-booked")
    resident.axe("portal: booked")

    # manage it: a wrong mobile finds nothing; the right three move it to the afternoon and back
    resident.open("/portal/appointments/manage")
    resident.page.get_by_label("预约号").fill(booking_no)
    resident.page.get_by_label("身份证号").fill(resident_id)
    resident.page.get_by_label("手机号码").fill("13900000000")
    resident.submit("查询预约")
    expect(resident.page.locator(".banner.error")).to_contain_text("未找到")
    assert resident.status() == 404 and resident.page.locator("#appointment").count() == 0
    resident.shot("portal-manage-no-match")
    resident.page.get_by_label("手机号码").fill(mobile)
    resident.submit("查询预约")
    expect(resident.page.locator("#appointment")).to_contain_text(booking_no)
    assert booking_no not in resident.page.url and resident_id not in resident.page.url  # posted
    resident.shot("portal-manage")
    resident.axe("portal: manage")
    resident.page.locator("#form-move").locator(f'input[name="slot"][value="{TUESDAY}|pm"]').check()
    resident.submit("改到所选时段")
    expect(resident.page.locator(".banner.ok")).to_contain_text("已改期")
    expect(resident.page.locator("#appointment-slot")).to_contain_text("下午")
    resident.shot("portal-moved")
    resident.page.locator("#form-move").locator(f'input[name="slot"][value="{TUESDAY}|am"]').check()
    resident.submit("改到所选时段")
    expect(resident.page.locator("#appointment-slot")).to_contain_text("上午")
    expect(resident.page.locator("#appointment-status")).to_contain_text("已改期 2 次")
    resident.close()

    # -- Tuesday 09:05: the hall opens; the display is on, the counter logs in ---------------
    move_clock(clock_file, dt.datetime.combine(TUESDAY, dt.time(9, 5), DISTRICT_TZ))
    display = Visitor(browser, net)
    display.context.set_default_timeout(20_000)
    display.page.set_viewport_size({"width": 1920, "height": 1080})
    display.viewport = {"width": 1920, "height": 1080}
    display.open("/desk/hall/display")
    expect(display.page.locator("#announce")).to_contain_text("请取号")
    display.shot("display-empty")
    display.axe("display: before the first call")

    clerk = Visitor(browser, net)
    clerk.log_in("clerk")
    clerk.open("/desk/hall?window_type=A&window=3", shot="counter-empty")
    clerk.axe("counter: empty hall")

    # the resident arrives: the ticket from the appointment
    issue(clerk, "appointment", "林秀珍", resident_id, booking_no=booking_no)
    expect(clerk.page.locator("#ticket-number")).to_have_text("A001")
    expect(clerk.page.locator("#people-ahead")).to_contain_text("0")
    paper = clerk.page.locator("#ticket").inner_text()
    assert resident_id not in paper and resident_id[-4:] in paper  # masked
    clerk.shot("ticket-print")
    clerk.axe("printable ticket")
    clerk.page.emulate_media(media="print")
    expect(clerk.page.locator("header.top")).to_be_hidden()
    expect(clerk.page.locator(".print-bar")).to_be_hidden()
    clerk.shot("ticket-print-media")
    clerk.page.emulate_media(media="screen")

    # 09:07: called to window 3; the display shows it without a reload
    move_clock(clock_file, dt.datetime.combine(TUESDAY, dt.time(9, 7), DISTRICT_TZ))
    clerk.open("/desk/hall?window_type=A&window=3")
    expect(clerk.page.locator("#appointments")).to_contain_text(booking_no)
    expect(clerk.page.locator("#appointments")).to_contain_text("已到场取号")
    clerk.submit(re.compile("叫下一位"))
    expect(clerk.page.locator(".banner.ok")).to_contain_text("已叫号")
    expect(clerk.page.locator("#calling .ticket-no")).to_have_text("A001")
    clerk.shot("counter-called")
    expect(display.page.locator("#announce")).to_have_text("请 A001 号到 3 号窗口办理", timeout=20_000)
    expect(display.page.locator("#calls-body")).to_contain_text("A001")
    expect(display.page.locator("#display-clock")).to_contain_text("09:0")  # the station's clock, not the screen's
    assert "林秀珍" not in display.page.locator("body").inner_text()  # no names on the screen
    display.shot("display-called")
    display.axe("display: a call shown")

    # 受理: the filing form of the appointment's item, with the applicant from the ticket
    clerk.page.get_by_role("link", name="受理", exact=True).click()
    expect(clerk.page).to_have_url(re.compile(rf"/desk/cases/new\?item={ITEM}&ticket=\d+$"))
    expect(clerk.page.locator("#from-ticket")).to_contain_text("A001")
    expect(clerk.page.get_by_label("姓名")).to_have_value("林秀珍")
    expect(clerk.page.get_by_label("身份证号")).to_have_value(resident_id)
    if not clerk.page.get_by_label("联系电话").input_value():
        clerk.page.get_by_label("联系电话").fill(mobile)
    clerk.page.get_by_label("户籍所在地代码").fill(TOWNSHIP)
    for box in clerk.page.locator('input[name="materials"]').all():
        box.check()
    clerk.shot("filing-from-ticket")
    clerk.submit("提交受理")
    expect(clerk.page).to_have_url(re.compile(r"/desk/cases/[0-9-]+\?done=file$"))
    case_no = clerk.page.locator(".case-no").inner_text()
    clerk.shot("case-accepted")
    case = net.case(DISTRICT, case_no)
    assert case["status"] in ("accepted", "pending_review"), case["status"]
    assert case.get("ticket_no") == "A001"

    # the hall page shows the ticket's case; 办结
    clerk.open("/desk/hall?window_type=A&window=3")
    expect(clerk.page.locator("#calling")).to_contain_text(case_no)
    move_clock(clock_file, dt.datetime.combine(TUESDAY, dt.time(9, 20), DISTRICT_TZ))
    clerk.submit("办结")
    expect(clerk.page.locator(".banner.ok")).to_contain_text("已办结")
    tickets = net.call("GET", DISTRICT, "/api/hall/tickets?status=finished&window_type=A", as_user="clerk").json()
    finished = next(t for t in tickets["tickets"] if t["ticket_no"] == "A001")
    assert finished["case_no"] == case_no and finished["waiting_seconds"] == 120 and finished["service_seconds"] == 780

    # -- a walk-in, then an applicant over 70: the priority ticket is called first ----------
    walk_in_id = make_id("445203", dt.date(1990, 1, 8), 52)
    elderly_id = make_id("445203", dt.date(1950, 6, 1), 63)
    issue(clerk, "walk_in", "陈建国", walk_in_id)
    expect(clerk.page.locator("#ticket-number")).to_have_text("A002")
    move_clock(clock_file, dt.datetime.combine(TUESDAY, dt.time(9, 22), DISTRICT_TZ))
    issue(clerk, "priority", "黄伯伦", elderly_id)
    expect(clerk.page.locator("#ticket-number")).to_have_text("A003")
    expect(clerk.page.locator("#ticket")).to_contain_text("绿色通道")
    expect(clerk.page.locator("#people-ahead")).to_contain_text("0")  # ahead of the walk-in
    clerk.open("/desk/hall?window_type=A&window=3")
    rows = clerk.page.locator("#waiting tbody tr")
    assert [rows.nth(i).locator("td").first.inner_text() for i in range(rows.count())] == ["A003", "A002"]
    clerk.shot("counter-queue")
    move_clock(clock_file, dt.datetime.combine(TUESDAY, dt.time(9, 25), DISTRICT_TZ))
    clerk.submit(re.compile("叫下一位"))
    expect(clerk.page.locator("#calling .ticket-no")).to_have_text("A003")
    expect(display.page.locator("#announce")).to_have_text("请 A003 号到 3 号窗口办理", timeout=20_000)
    move_clock(clock_file, dt.datetime.combine(TUESDAY, dt.time(9, 30), DISTRICT_TZ))
    clerk.submit("办结")
    clerk.submit(re.compile("叫下一位"))
    expect(clerk.page.locator("#calling .ticket-no")).to_have_text("A002")
    expect(display.page.locator("#announce")).to_have_text("请 A002 号到 3 号窗口办理", timeout=20_000)
    calls = display.page.locator("#calls-body tr td.num")
    assert [calls.nth(i).inner_text() for i in range(calls.count())] == ["A002", "A003", "A001"]
    display.shot("display-three-calls")
    clerk.submit("过号未到")
    expect(clerk.page.locator(".banner.ok")).to_contain_text("过号未到")
    clerk.shot("counter-after-no-show")

    # nobody waits: the call is answered on the page, 404
    clerk.submit(re.compile("叫下一位"))
    expect(clerk.page.locator(".banner.error")).to_contain_text("没有等候")
    assert clerk.status() == 404
    clerk.close()
    display.close()

    # the portal's forms are checked like the desk's: a POST without the form token, or
    # from another site, changes nothing
    base = net.launcher.url_of(DISTRICT)
    forged = requests.post(base + "/portal/appointments/cancel", timeout=10,
                           data={"booking_no": booking_no, "id_number": resident_id, "mobile": mobile})
    assert forged.status_code == 403 and "刷新页面" in forged.text
    elsewhere = requests.post(base + "/portal/appointments/cancel", timeout=10, headers={"Origin": "https://evil.example"},
                              data={"booking_no": booking_no, "id_number": resident_id, "mobile": mobile})
    assert elsewhere.status_code == 403 and "其他网站" in elsewhere.text
    # the queue page is the counters': no session, the login page
    anonymous = requests.get(base + "/desk/hall", timeout=10, allow_redirects=False)
    assert anonymous.status_code == 303 and "/desk/login?next=" in anonymous.headers["Location"]


def issue(clerk, kind, name, id_number, booking_no=None):
    """The counter's 取号 form; lands on the printable ticket."""
    clerk.open("/desk/hall?window_type=A&window=3")
    form = clerk.page.locator("#form-issue")
    form.locator(f'input[name="kind"][value="{kind}"]').check()
    form.get_by_label("业务类型").select_option("A")
    form.get_by_label("姓名").fill(name)
    form.get_by_label("身份证号").fill(id_number)
    if booking_no:
        form.get_by_label(re.compile("预约号")).fill(booking_no)
    clerk.submit("取号并打印")
    expect(clerk.page.locator("#ticket-number")).to_be_visible()
