"""The administrator's pages in a real browser (issue 19): Debian's Chromium driven by
Playwright over a district and a township, each in its own process on the broker
(tests/cases_data/network_admin.yaml).

The district's administrator adds an item with one invalid field (the error is shown in
Chinese next to that field, the other fields keep what was typed), fixes it, previews
the change (the new version number and the changed fields), saves it, delegates it to the
townships (previewed too), and finds both versions in the catalogue's history; the
township's desk shows the new item, fileable there, once the catalogue has reached it.
A window clerk is refused the administrator's pages (403). Users: the administrator adds
one (a one-time temporary password, which must be changed at the first login),
deactivates them (their session ends, they cannot log in), reactivates them, unlocks them
after a lockout, and resets their password. At the township, a message its inbox could
not handle is listed with its reason and retried from the dead-letter page.

Every page is screenshotted at desktop (1280x900) and phone (390x844) width into
$TONGBAN_TEST_OUTPUT/screenshots/admin (default test-output/screenshots/admin)."""
import datetime as dt
import re
import uuid
from pathlib import Path

import pytest
import requests
from playwright.sync_api import expect
from sqlalchemy.orm import Session

from shared.auth.login_guard import LOCKOUT_FAILURES, LoginGuard
from shared.auth.staffing import SAMPLE_PASSWORD
from shared.db.models import utcnow
from shared.messages import dead_letter_queue, inbox_queue
from tests.support.browser import AXE, NEW_PASSWORD, BrowserUser, Screenshots, launch_chromium
from tests.support.network import wait_until
from tests.test_case_network import CaseNetwork
from tests.test_faults import publish, queue_depth

NETWORK = Path(__file__).parent / "cases_data" / "network_admin.yaml"
DISTRICT, TOWNSHIP = "449919", "449919001"
SHOTS = Screenshots("admin")
CODE, NAME = "GL-901", "管理测试证明"
LI_MING_PASSWORD = "Osmanthus-ferry-73-rain-lantern"


@pytest.fixture(scope="module")
def net(amqp_uri):
    network = CaseNetwork(network_path=NETWORK)
    try:
        network.start()
        yield network
    finally:
        network.stop()


@pytest.fixture(scope="module")
def browser():
    yield from launch_chromium(SHOTS, AXE)


class Desk(BrowserUser):
    """One person at a station's web desk, in a browser context of their own."""

    def __init__(self, browser, net, code):
        super().__init__(browser, net.launcher.url_of(code), SHOTS)
        self.code = code

    def click(self, button):
        self.submit(button)

    def field(self, name):
        return self.page.locator(f'[data-field="{name}"]')


@pytest.fixture(scope="module")
def district_admin(browser, net):
    desk = Desk(browser, net, DISTRICT)
    desk.log_in("admin", SAMPLE_PASSWORD, NEW_PASSWORD)
    yield desk
    desk.close()


def api_login(net, code, username, password):
    return requests.post(net.launcher.url_of(code) + "/api/login",
                         json={"username": username, "password": password}, timeout=15)


def catalogue_version(net, code):
    return requests.get(net.launcher.url_of(code) + "/api/catalogue", timeout=10).json()["version"]


def test_the_administrator_adds_an_item_fixes_the_field_shown_wrong_delegates_it_and_the_township_sees_it(
        net, browser, district_admin):
    desk = district_admin
    desk.open("/desk/admin", shot="admin-home")
    expect(desk.page.get_by_role("link", name="系统管理").first).to_be_visible()
    desk.open("/desk/admin/items?q=低保", shot="catalogue-search")
    assert desk.page.locator("table.items tbody tr").count() >= 1

    version = catalogue_version(net, DISTRICT)
    desk.open("/desk/admin/items/new")
    desk.page.locator("#f-code").fill(CODE)
    desk.page.locator("#f-name").fill(NAME)
    desk.page.locator("#f-department").select_option("civil_affairs")
    desk.page.locator("#f-category").select_option("public_service")
    desk.page.locator("#f-processing_type").select_option("promised")
    desk.page.locator("#f-legal_limit_days").fill("20")
    desk.page.locator("#f-promised_limit_days").fill("30")  # more than the legal limit: refused
    desk.page.locator('[name="materials.0.code"]').fill("SFZ")
    desk.page.locator('[name="materials.0.name"]').fill("申请人身份证")
    desk.page.locator("#f-keywords").fill("管理 证明")
    desk.click("预览变化")
    assert desk.status() == 400
    error = desk.field("promised_limit_days").locator(".field-error")
    expect(error).to_have_text("承诺时限（30个工作日）不能超过法定时限（20个工作日）。")
    expect(desk.page.locator("#f-promised_limit_days")).to_have_attribute("aria-invalid", "true")
    assert desk.page.locator(".field-error").count() == 1, "only the wrong field is marked"
    # what was typed is still there
    expect(desk.page.locator("#f-name")).to_have_value(NAME)
    expect(desk.page.locator('[name="materials.0.name"]')).to_have_value("申请人身份证")
    assert desk.page.locator("#preview").count() == 0
    desk.shot("item-invalid-field")
    desk.axe("the item form with an error")

    desk.page.locator("#f-promised_limit_days").fill("5")
    desk.click("预览变化")
    assert desk.status() == 200 and desk.page.locator(".field-error").count() == 0
    expect(desk.page.locator("#preview .new-version")).to_have_text(str(version + 1))
    expect(desk.page.locator('#preview tr[data-field="name"] td.after')).to_have_text(NAME)
    expect(desk.page.locator('#preview tr[data-field="promised_limit_days"] td.after')).to_have_text("5")
    assert catalogue_version(net, DISTRICT) == version, "a preview saves nothing"
    desk.shot("item-preview")
    desk.axe("the item form with its preview")
    desk.click(f"确认保存（第 {version + 1} 版）")
    expect(desk.page).to_have_url(re.compile(rf"/desk/admin/items/{CODE}\?done=add"))
    expect(desk.page.locator(".banner.ok")).to_have_text(f"事项已新增，事项目录现为第 {version + 1} 版。")
    assert catalogue_version(net, DISTRICT) == version + 1
    desk.shot("item-added")

    # 下放 to the townships: previewed, then confirmed
    desk.page.get_by_label("镇（街道）").check()
    desk.click("预览下放")
    expect(desk.page.locator("#preview .new-version")).to_have_text(str(version + 2))
    expect(desk.page.locator('#preview tr[data-field="authority_tier"] td.before')).to_have_text("区")
    expect(desk.page.locator('#preview tr[data-field="authority_tier"] td.after')).to_have_text("镇（街道）")
    desk.shot("delegate-preview")
    desk.click(f"确认下放（第 {version + 2} 版）")
    expect(desk.page.locator(".banner.ok")).to_have_text(f"事项已下放，事项目录现为第 {version + 2} 版。")
    expect(desk.page.locator('dd[data-field="authority_tier"]')).to_have_text("镇（街道）")
    item = requests.get(net.launcher.url_of(DISTRICT) + f"/api/items/{CODE}", timeout=10).json()
    assert item["authority_tier"] == "township" and item["promised_limit_days"] == 5

    # the catalogue's history: both versions, each with what it changed
    desk.open(f"/desk/admin/catalogue/history?item={CODE}")
    rows = desk.page.locator("table.history > tbody > tr")
    expect(rows).to_have_count(2)
    delegated = desk.page.locator(f'tr[data-version="{version + 2}"]')
    expect(delegated).to_contain_text("下放")
    expect(delegated.locator('tr[data-field="authority_tier"] td.after')).to_have_text("镇（街道）")
    expect(desk.page.locator(f'tr[data-version="{version + 1}"]')).to_contain_text("新增事项")
    desk.shot("catalogue-history")
    desk.axe("the catalogue's history")

    # the township's desk, once the catalogue has reached it
    wait_until(lambda: catalogue_version(net, TOWNSHIP) == version + 2, 30, message="the township's catalogue")
    staff = Desk(browser, net, TOWNSHIP)
    try:
        staff.log_in("staff", SAMPLE_PASSWORD, NEW_PASSWORD)
        staff.open(f"/desk/items?q={NAME}")
        row = staff.page.locator("table.items tbody tr", has_text=NAME)
        expect(row).to_contain_text("镇（街道）")
        expect(row.get_by_role("link", name="受理")).to_be_visible()  # filed and decided here now
        staff.shot("township-sees-item")
        # a township's staff is no administrator
        staff.open("/desk/admin/users")
        assert staff.status() == 403
    finally:
        staff.close()


def test_only_administrators_open_the_administrators_pages(net, browser):
    clerk = Desk(browser, net, DISTRICT)
    try:
        clerk.log_in("clerk", SAMPLE_PASSWORD, NEW_PASSWORD)
        expect(clerk.page.get_by_role("link", name="系统管理")).to_have_count(0)
        for path in ("/desk/admin", "/desk/admin/items", "/desk/admin/items/new", "/desk/admin/calendar",
                     "/desk/admin/catalogue/history", "/desk/admin/users", "/desk/admin/dead-letters"):
            clerk.open(path)
            assert clerk.status() == 403, path
            expect(clerk.page.locator(".banner.error")).to_contain_text("不能")
        clerk.shot("clerk-refused")
    finally:
        clerk.close()


def test_the_administrator_adds_deactivates_unlocks_and_resets_a_user(net, browser, district_admin):
    desk = district_admin
    desk.open("/desk/admin/users", shot="users")
    desk.page.locator("#f-username").fill("Li Ming")  # capitals and a space: refused
    desk.page.locator("#f-name").fill("李明")
    desk.page.locator("#f-role").select_option("window_clerk")
    desk.click("新增用户")
    assert desk.status() == 400
    expect(desk.field("username").locator(".field-error")).to_have_text(
        "用户名为2至50位小写字母、数字或“. _ -”，以字母或数字开头。")
    expect(desk.page.locator("#f-name")).to_have_value("李明")
    desk.shot("user-invalid-field")
    desk.axe("the users page with an error")
    desk.page.locator("#f-username").fill("li.ming")
    desk.click("新增用户")
    temporary = desk.page.locator("#temporary-password").inner_text().strip()
    assert len(temporary) == 14
    desk.shot("user-added")

    # the new user's first login: the temporary password works once, then their own
    li = Desk(browser, net, DISTRICT)
    try:
        li.log_in("li.ming", temporary, LI_MING_PASSWORD)
        li.open("/desk/")
        expect(li.page.locator(".who .user")).to_have_text("李明")

        # deactivated: their session ends at once, and they cannot log in
        desk.open("/desk/admin/users")
        desk.page.get_by_role("button", name="停用：李明").click()
        expect(desk.page.locator(".banner.ok")).to_contain_text("已停用 李明（li.ming）")
        expect(desk.page.locator('tr[data-username="li.ming"] .state')).to_contain_text("已停用")
        desk.shot("user-deactivated")
        li.open("/desk/")
        expect(li.page).to_have_url(re.compile(r"/desk/login"))
        assert api_login(net, DISTRICT, "li.ming", LI_MING_PASSWORD).status_code == 401

        desk.page.get_by_role("button", name="启用：李明").click()
        expect(desk.page.locator(".banner.ok")).to_contain_text("已启用 李明（li.ming）")
        assert api_login(net, DISTRICT, "li.ming", LI_MING_PASSWORD).status_code == 200

        # locked out after too many failures (as the login guard records them) ...
        with Session(net.database(DISTRICT)) as session:
            guard = LoginGuard(session, now=utcnow())
            for _ in range(LOCKOUT_FAILURES):
                guard.failed("li.ming", "10.9.8.7")
            session.commit()
        assert api_login(net, DISTRICT, "li.ming", LI_MING_PASSWORD).status_code == 429
        desk.open("/desk/admin/users")
        expect(desk.page.locator('tr[data-username="li.ming"] .state')).to_contain_text("已锁定")
        desk.shot("user-locked")
        # ... and unlocked by the administrator
        desk.page.get_by_role("button", name="解锁：李明").click()
        expect(desk.page.locator(".banner.ok")).to_contain_text("已解锁 李明（li.ming）")
        expect(desk.page.locator('tr[data-username="li.ming"] .state')).not_to_contain_text("已锁定")
        assert api_login(net, DISTRICT, "li.ming", LI_MING_PASSWORD).status_code == 200

        # a forgotten password: a new temporary one, the old one no longer works
        desk.page.get_by_role("button", name="重置密码：李明").click()
        again = desk.page.locator("#temporary-password").inner_text().strip()
        assert again != temporary and len(again) == 14
        desk.shot("user-password-reset")
        assert api_login(net, DISTRICT, "li.ming", LI_MING_PASSWORD).status_code == 401
        li.log_in("li.ming", again, LI_MING_PASSWORD + "-2")
    finally:
        li.close()


def test_a_dead_letter_is_listed_with_its_reason_and_retried_from_the_page(net, browser):
    inbox = inbox_queue(TOWNSHIP)
    letter_id = "garbage-" + uuid.uuid4().hex[:12]
    publish(net, b"\x00\x01 this is not JSON {", TOWNSHIP, DISTRICT, message_id=letter_id,
            content_type="application/json", content_encoding="utf-8")
    wait_until(lambda: queue_depth(net, dead_letter_queue(inbox)) >= 1, 20, message="the dead letter")
    admin = Desk(browser, net, TOWNSHIP)
    try:
        admin.log_in("admin", SAMPLE_PASSWORD, NEW_PASSWORD)
        admin.open("/desk/admin/dead-letters", shot="dead-letters")
        admin.axe("the dead letters")
        row = admin.page.locator(f'tr[data-id="{letter_id}"]')
        expect(row.locator(".reason")).to_contain_text("undecodable")
        expect(row.locator(".retries")).to_have_text("0")
        row.get_by_role("button", name=re.compile("重新投递：")).click()
        expect(admin.page.locator(".banner.ok")).to_contain_text("已重新投递 1 条消息")
        admin.shot("dead-letter-retried")

        # still not JSON: it fails again and comes back, its retry counted
        def back_again():
            admin.open("/desk/admin/dead-letters")
            retries = admin.page.locator(f'tr[data-id="{letter_id}"] .retries')
            return retries.count() == 1 and retries.inner_text() == "1"
        wait_until(back_again, 30, message="the retried letter back in the dead-letter queue")
        admin.shot("dead-letter-back")
    finally:
        admin.close()


def test_the_administrator_publishes_a_years_holidays_after_fixing_a_day_of_another_year(net, district_admin):
    desk = district_admin
    version = catalogue_version(net, DISTRICT)
    desk.open("/desk/admin/calendar")
    desk.page.locator("#f-year").fill("2029")
    desk.page.locator("#f-holidays").fill("2029-01-01 2028-10-01")  # the second is of another year
    desk.page.locator("#f-workdays").fill("2029-02-10")
    desk.click("预览")
    assert desk.status() == 400
    expect(desk.field("holidays").locator(".field-error")).to_have_text("2028-10-01 不在 2029 年。")
    expect(desk.page.locator("#f-workdays")).to_have_value("2029-02-10")
    desk.shot("calendar-invalid-field")
    desk.axe("the calendar with an error")
    desk.page.locator("#f-holidays").fill("2029-01-01, 2029-02-12")
    desk.click("预览")
    expect(desk.page.locator("#preview .new-version")).to_have_text(str(version + 1))
    expect(desk.page.locator('#preview tr[data-field="holidays"] td.after')).to_have_text("2029-01-01、2029-02-12")
    desk.click(f"确认发布（第 {version + 1} 版）")
    expect(desk.page.locator(".banner.ok")).to_have_text(f"节假日安排已发布，事项目录现为第 {version + 1} 版。")
    expect(desk.page.locator("table.schedules")).to_contain_text("2029-02-10")
    desk.shot("calendar-published")
    wait_until(lambda: catalogue_version(net, TOWNSHIP) == version + 1, 30, message="the schedule at the township")


def test_an_administrators_post_without_the_desks_form_token_changes_nothing(net, district_admin):
    desk = district_admin
    request = desk.page.context.request  # the administrator's own cookies
    for path in ("/desk/admin/users/clerk/deactivate", "/desk/admin/users/clerk/reset-password",
                 "/desk/admin/items/MZ-002/retire", "/desk/admin/dead-letters/retry"):
        refused = request.post(desk.base + path, form={"step": "save", "ids": "x" * 12}, max_redirects=0)
        assert refused.status == 403 and "操作未执行" in refused.text(), path
    desk.open("/desk/admin/users")
    expect(desk.page.locator('tr[data-username="clerk"] .state')).to_contain_text("启用")
    assert requests.get(net.launcher.url_of(DISTRICT) + "/api/items/MZ-002", timeout=10).json()["status"] == "current"
