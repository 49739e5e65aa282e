"""The online service hall in a real browser (issue 16): Debian's Chromium driven by
Playwright over a district, a township and a village, each station in its own process
(tests/cases_data/network_portal.yaml) on the test's RabbitMQ, notices to residents
going through the file channel (TONGBAN_NOTICE_CHANNEL=file:<dir>, one JSON file per
SMS: the test reads the one-time code and every notice there).

A resident, on a phone, finds 城乡居民基本养老保险待遇申领 (RS-005, 网上预审) on the
village's portal, identifies with the SMS code and applies with two of its three
materials uploaded; the village's counter asks for the missing one in one notice; the
resident uploads it; the counter passes the pre-review; the resident comes once with the
originals and the counter accepts the case; it travels to the district, which decides;
the resident is told the result is ready (an SMS in the channel) and the counter hands it
over: 1 visit. A fully online item (异地就医备案, YB-003, 全程网办) is passed online,
decided and sent as an electronic result: 0 visits. The large-type and high-contrast
options stay on from page to page.

axe-core (installed from npm, served by the station) checks every portal page and the
counter's pre-review pages at desktop and phone width: no serious or critical violation.
Every page is screenshotted at 1280x900 and 390x844 into
$TONGBAN_TEST_OUTPUT/screenshots/portal (default test-output/screenshots/portal)."""
import datetime as dt
import json
import os
import re
import tempfile
from pathlib import Path

import pytest
from playwright.sync_api import expect

from shared.auth.staffing import SAMPLE_PASSWORD
from shared.cases.citizen_id import make as make_id
from deploy.drills.harness import wait_until
from tests.support.browser import AXE, DESKTOP, NEW_PASSWORD, PHONE, BrowserUser, Screenshots, launch_chromium
from tests.support.sample_files import jpeg, pdf, png
from tests.test_case_network import CaseNetwork

NETWORK = Path(__file__).parent / "cases_data" / "network_portal.yaml"
DISTRICT, TOWNSHIP, VILLAGE = "449921", "449921001", "449921001201"
SHOTS = Screenshots("portal")
PRE_REVIEW_ITEM, FULL_ITEM = "RS-005", "YB-003"


@pytest.fixture(scope="module")
def notices_dir():
    return Path(tempfile.mkdtemp(prefix="tongban-portal-sms-"))


@pytest.fixture(scope="module")
def net(amqp_uri, notices_dir):
    saved = os.environ.get("TONGBAN_NOTICE_CHANNEL")
    os.environ["TONGBAN_NOTICE_CHANNEL"] = f"file:{notices_dir}"  # the stations' processes inherit it
    network = CaseNetwork(network_path=NETWORK)
    try:
        network.start()
        yield network
    finally:
        network.stop()
        if saved is None:
            os.environ.pop("TONGBAN_NOTICE_CHANNEL", None)
        else:
            os.environ["TONGBAN_NOTICE_CHANNEL"] = saved


@pytest.fixture(scope="module")
def browser():
    yield from launch_chromium(SHOTS, AXE)


class Visitor(BrowserUser):
    """One person at a station in a browser context of their own."""

    def __init__(self, browser, net, station, viewport=DESKTOP):
        super().__init__(browser, net.launcher.url_of(station), SHOTS, viewport, timeout=20_000)
        self.net, self.station = net, station

    def log_in(self, username):
        super().log_in(username, SAMPLE_PASSWORD, NEW_PASSWORD)
        with self.net.client.book.open() as book:  # the test's API calls as this user log in too
            book.set(self.station, username, NEW_PASSWORD)


def sent(notices_dir, mobile, kind=None, case_no=None):
    """The notices the channel took for `mobile` (oldest first)."""
    found = []
    for path in notices_dir.glob("*.json"):
        record = json.loads(path.read_text(encoding="utf-8"))
        if record["mobile"] == mobile and (kind is None or record["kind"] == kind) \
                and (case_no is None or record["case_no"] == case_no):
            found.append(record)
    return sorted(found, key=lambda r: r["created_at"])


def wait_notice(notices_dir, mobile, kind, case_no=None, count=1):
    return wait_until(lambda: (got := sent(notices_dir, mobile, kind, case_no)) and len(got) >= count and got,
                      30, message=f"{count} {kind} notice(s) to {mobile}")


def apply_online(resident, notices_dir, item, name, id_number, mobile, uploads, delivery=None, check=True):
    """The portal's two steps: identity and SMS code, then the materials. Returns the
    case number and the query code shown once."""
    resident.open(f"/portal/items/{item}")
    if check:
        resident.check(f"guide-{item}")
    resident.page.get_by_role("link", name="在线申请").click()
    resident.page.get_by_label("姓名").fill(name)
    resident.page.get_by_label("身份证号").fill(id_number)
    resident.page.get_by_label("手机号码").fill(mobile)
    if check:
        resident.check(f"apply-step1-{item}")
    before = len(sent(notices_dir, mobile, "one_time_code"))
    resident.submit("获取短信验证码")
    expect(resident.page.locator(".banner.ok")).to_contain_text("验证码已发送")
    code = wait_notice(notices_dir, mobile, "one_time_code", count=before + 1)[-1]["params"]["code"]
    resident.page.get_by_label("短信验证码").fill(code)
    resident.page.get_by_label(re.compile("户籍或居住地")).select_option(VILLAGE)
    for material, (filename, content, media_type) in uploads.items():
        resident.page.locator(f"#file-{material}").set_input_files(
            {"name": filename, "mimeType": media_type, "buffer": content})
    if delivery:
        resident.page.locator(f'input[name="delivery"][value="{delivery}"]').check()
    if check:
        resident.check(f"apply-step2-{item}")
    resident.submit("提交申请")
    expect(resident.page.locator("#case-no")).to_be_visible()
    assert resident.status() == 201
    return (resident.page.locator("#case-no").inner_text().strip(),
            resident.page.locator("#query-code").inner_text().strip())


def open_case(resident, case_no, query_code):
    resident.open("/portal/case")
    resident.page.get_by_label("受理编号").fill(case_no)
    resident.page.get_by_label("查询码").fill(query_code)
    resident.submit("查询")
    expect(resident.page.locator("#case-status")).to_be_visible()


def test_apply_online_supplement_once_pass_one_visit_decided_notified_delivered(net, browser, notices_dir):
    name, mobile = "郑秀英", "13922334455"
    id_number = make_id("445203", dt.date(1958, 3, 9), 27)
    clerk = Visitor(browser, net, VILLAGE)
    clerk.log_in("agent")  # first: the test's API calls then log in with the password chosen here
    resident = Visitor(browser, net, VILLAGE, viewport=PHONE)

    # the portal: search, the large-type and high-contrast options, kept in a cookie
    resident.open("/portal/")
    resident.check("portal-home")
    resident.page.get_by_label("搜索事项").fill("养老保险")
    resident.submit("搜索")
    expect(resident.page.locator(".items-list")).to_contain_text("城乡居民基本养老保险待遇申领")
    expect(resident.page.locator(".items-list")).to_contain_text("网上预审")
    resident.submit("大字版")
    expect(resident.page.locator("body")).to_have_class(re.compile("large-type"))
    resident.submit("高对比度")
    expect(resident.page.locator("body")).to_have_class(re.compile("large-type.*high-contrast|high-contrast.*large-type"))
    resident.check("portal-large-contrast")
    resident.open(f"/portal/items/{PRE_REVIEW_ITEM}")
    expect(resident.page.locator("body")).to_have_class(re.compile("high-contrast"))  # kept from page to page
    resident.submit("高对比度")
    resident.submit("大字版")
    expect(resident.page.locator("body")).not_to_have_class(re.compile("large-type|high-contrast"))

    # apply with two of the three materials
    case_no, query_code = apply_online(resident, notices_dir, PRE_REVIEW_ITEM, name, id_number, mobile, {
        "M01": ("申请表.pdf", pdf(), "application/pdf"),
        "M02": ("身份证.jpg", jpeg(), "image/jpeg")})
    assert case_no.startswith(VILLAGE + "-") and re.fullmatch(r"[A-Za-z0-9-]{6,}", query_code)
    resident.check("applied")
    assert not any(query_code in r["text"] for r in sent(notices_dir, mobile))  # never by SMS
    case = net.case(VILLAGE, case_no)
    assert case["status"] == "pre_review" and case["visits"] == 0 and case["channel"] == "online"
    files = net.get(VILLAGE, f"/api/cases/{case_no}/files")
    assert sorted(f["material"] for f in files["files"]) == ["M01", "M02"]

    # the village's counter: the pre-review asks for the missing material in one notice
    clerk.open("/desk/pre-review")
    expect(clerk.page.locator("main")).to_contain_text(case_no)
    clerk.check("counter-pre-review-list")
    clerk.page.get_by_role("link", name=case_no).click()
    clerk.check("counter-pre-review")
    clerk.page.locator('input[name="answer"][value="supplement"]').check()
    boxes = clerk.page.locator('#form-answer input[name="materials"]:checked')
    assert [boxes.nth(i).get_attribute("value") for i in range(boxes.count())] == ["M03"]  # the missing one, ticked
    clerk.page.get_by_label("说明或理由").fill("缺少银行账户信息")
    clerk.submit("提交答复")
    expect(clerk.page.locator(".banner.ok")).to_contain_text("一次性告知")
    expect(clerk.page.locator("#case-status")).to_contain_text("预审待补正")
    [notice] = wait_notice(notices_dir, mobile, "supplement_needed", case_no)
    assert "社会保障卡" in notice["text"] or notice["params"]["materials"] in notice["text"]

    # the resident uploads it from the portal: back to pre-review
    open_case(resident, case_no, query_code)
    expect(resident.page.locator("#form-upload")).to_contain_text("一次性告知")
    resident.check("portal-supplement-asked")
    resident.page.locator("#file-M03").set_input_files({"name": "银行卡.png", "mimeType": "image/png",
                                                        "buffer": png()})
    resident.submit("补传材料")
    expect(resident.page.locator(".banner.ok")).to_contain_text("材料已补传")
    expect(resident.page.locator("#case-status")).to_contain_text("网上预审中")
    resident.check("portal-supplement-uploaded")

    # pass: bring the originals once
    clerk.open(f"/desk/pre-review/{case_no}")
    clerk.page.locator('input[name="answer"][value="pass"]').check()
    clerk.submit("提交答复")
    expect(clerk.page.locator("#case-status")).to_contain_text("待携原件")
    clerk.check("counter-pre-review-passed")
    wait_notice(notices_dir, mobile, "pre_review_answer", case_no)

    # the visit: the counter checks the originals and accepts
    clerk.submit("原件核验无误，受理")
    expect(clerk.page.locator(".banner.ok")).to_contain_text("跑动 1 次")
    expect(clerk.page.locator("#case-visits")).to_have_text("1")
    wait_notice(notices_dir, mobile, "acceptance", case_no)

    # to the district, decided there, back at the village: the resident is told
    net.wait_status(DISTRICT, case_no, "pending_review", timeout=40)
    net.post(DISTRICT, f"/api/cases/{case_no}/decisions",
             {"step": "review", "outcome": "pass", "department": "human_resources", "operator": "审查"})
    net.post(DISTRICT, f"/api/cases/{case_no}/decisions",
             {"step": "approve", "outcome": "pass", "department": "human_resources", "operator": "审批"})
    net.wait_status(VILLAGE, case_no, "result_ready", timeout=40)
    [ready] = wait_notice(notices_dir, mobile, "result_ready", case_no)
    assert "准予许可" in ready["text"]
    net.post(VILLAGE, f"/api/cases/{case_no}/deliver", {})
    done = net.wait_status(DISTRICT, case_no, "completed", timeout=40)
    assert done["visits"] == 1
    open_case(resident, case_no, query_code)
    expect(resident.page.locator("#case-visits")).to_have_text("1 次")
    resident.check("portal-completed")
    clerk.close()
    resident.close()


def test_a_fully_online_item_is_accepted_at_once_and_needs_no_visit(net, browser, notices_dir):
    name, mobile = "蔡锦城", "13766778899"
    id_number = make_id("445203", dt.date(1972, 8, 15), 33)
    resident = Visitor(browser, net, VILLAGE, viewport=PHONE)
    case_no, query_code = apply_online(resident, notices_dir, FULL_ITEM, name, id_number, mobile, {
        "M01": ("身份证.png", png(), "image/png"),
        "M02": ("备案表.pdf", pdf(), "application/pdf")}, delivery="electronic")
    clerk = Visitor(browser, net, VILLAGE)
    clerk.log_in("agent.b")
    clerk.open(f"/desk/pre-review/{case_no}")
    clerk.page.locator('input[name="answer"][value="pass_online"]').check()
    clerk.submit("提交答复")
    expect(clerk.page.locator(".banner.ok")).to_contain_text("全程网办")
    wait_notice(notices_dir, mobile, "acceptance", case_no)
    net.wait_status(DISTRICT, case_no, "pending_approval", timeout=40)
    net.post(DISTRICT, f"/api/cases/{case_no}/decisions",
             {"step": "approve", "outcome": "pass", "department": "medical_security", "operator": "审批"})
    net.wait_status(VILLAGE, case_no, "result_ready", timeout=40)
    wait_notice(notices_dir, mobile, "result_ready", case_no)
    net.post(VILLAGE, f"/api/cases/{case_no}/deliver", {})  # the electronic result the application chose
    done = net.wait_status(DISTRICT, case_no, "completed", timeout=40)
    assert done["visits"] == 0 and done["delivery"]["method"] == "electronic"
    open_case(resident, case_no, query_code)
    expect(resident.page.locator("#case-visits")).to_have_text("0 次")
    resident.check("portal-fully-online-completed")
    clerk.close()
    resident.close()
