"""What the Chromium tests share (tests/test_web_desk.py, test_admin_web.py, test_hall_web.py,
test_portal_web.py, test_supervision_web.py): Debian's Chromium under Playwright for a
test module, screenshots numbered in the order taken, and one person's browser context at
a station with the steps every test takes — open a page, read its HTTP status, screenshot
it at desktop and phone width, check it with axe-core (installed from npm at set-up,
served by the station), log in at the desk.

A module's browser fixture:

    SHOTS = Screenshots("hall")       # $TONGBAN_TEST_OUTPUT/screenshots/hall

    @pytest.fixture(scope="module")
    def browser():
        yield from launch_chromium(SHOTS, AXE)
"""
import itertools
import os
import re
from pathlib import Path

import eventlet
import greenlet
import pytest
from playwright.sync_api import expect, sync_playwright


ROOT = Path(__file__).resolve().parent.parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
NEW_PASSWORD = "Mulberry-kiln-58-Jiedong-tide"  # what each sample user chooses at the first login
NODE_MODULES = ROOT / "services" / "web_desk" / "static" / "vendor" / "node_modules"
AXE = NODE_MODULES / "axe-core" / "axe.min.js"
ECHARTS = NODE_MODULES / "echarts" / "dist" / "echarts.min.js"
AXE_URL = "/desk/static/vendor/axe.min.js"
DESKTOP, PHONE = {"width": 1280, "height": 900}, {"width": 390, "height": 844}
# WCAG 2.1 A and AA rules, contrast included; a serious or critical violation fails
AXE_RUN = """() => axe.run(document, {runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}})
  .then(result => result.violations.filter(v => ["serious", "critical"].includes(v.impact))
  .map(v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map(n => n.target.join(" "))})))"""


class Screenshots:
    """A test module's screenshots, numbered in the order taken, in
    $TONGBAN_TEST_OUTPUT/screenshots/<name> (default test-output/screenshots/<name>)."""

    def __init__(self, name):
        self.folder = Path(os.environ.get("TONGBAN_TEST_OUTPUT", ROOT / "test-output")) / "screenshots" / name
        self._numbers = itertools.count(1)

    def clear(self):
        self.folder.mkdir(parents=True, exist_ok=True)
        for old in self.folder.glob("*.png"):
            old.unlink()

    def number(self):
        return next(self._numbers)

    def path(self, number, name, label):
        return str(self.folder / f"{number:02d}-{name}-{label}.png")


def launch_chromium(shots, *needed):
    """Chromium for a test module (a generator for a module-scoped fixture): the test fails
    when Chromium or one of the `needed` files (axe-core, ECharts) is missing; the module's
    old screenshots are removed."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium", pytrace=False)
    for path in needed:
        if not path.is_file():
            pytest.fail(f"{path} is missing: run deploy/bootstrap.sh (npm ci in services/web_desk/static/vendor)",
                        pytrace=False)
    shots.clear()
    manager = sync_playwright()
    playwright = manager.start()
    try:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()
    finally:
        stop_playwright(manager)


def stop_playwright(manager):
    """Stop Playwright under eventlet's monkey-patching (tests/conftest.py).

    Playwright's sync API runs its asyncio loop in a dispatcher greenlet; the loop waits
    on green sockets, and eventlet's hub makes itself the parent of every greenlet that
    waits in it. So when stop() lets the dispatcher run to its end, the dispatcher returns
    to the hub instead of to us, and stop() would never return. A green thread notices
    the dispatcher has ended and switches back to where stop() waits for it."""
    caller = greenlet.getcurrent()
    stopped = False

    def resume():
        while not manager._dispatcher_fiber.dead:
            eventlet.sleep(0.02)
        if not stopped and caller.gr_frame is not None and caller.gr_frame.f_code.co_name == "__exit__":
            caller.switch()
    eventlet.spawn(resume)
    manager.__exit__()
    stopped = True


class BrowserUser:
    """One person at a station (`base`, its URL) in a browser context of their own."""

    def __init__(self, browser, base, shots, viewport=DESKTOP, timeout=15_000):
        self.base, self.shots, self.viewport = base, shots, viewport
        self.context = browser.new_context(locale="zh-CN", viewport=viewport)
        self.context.set_default_timeout(timeout)
        self.page = self.context.new_page()

    def open(self, path, shot=None):
        response = self.page.goto(self.base + path)
        if shot:
            self.shot(shot)
        return response

    def status(self):
        """The HTTP status of the page shown (from the browser's navigation timing)."""
        return self.page.evaluate("performance.getEntriesByType('navigation')[0].responseStatus")

    def shot(self, name):
        """The page as it is, at desktop and at phone width (the same document, resized)."""
        number = self.shots.number()
        for label, size in (("desktop", DESKTOP), ("phone", PHONE)):
            self.page.set_viewport_size(size)
            self.page.screenshot(path=self.shots.path(number, name, label), full_page=True)
        self.page.set_viewport_size(self.viewport)

    def axe(self, name):
        """No serious or critical accessibility violation on this page (axe-core, served
        by the station itself), at desktop and at phone width."""
        if not self.page.evaluate("typeof axe !== 'undefined'"):
            response = self.page.context.request.get(self.base + AXE_URL)
            assert response.status == 200 and "javascript" in response.headers["content-type"]
            self.page.add_script_tag(url=self.base + AXE_URL)
        for size in (DESKTOP, PHONE):
            self.page.set_viewport_size(size)
            violations = self.page.evaluate(AXE_RUN)
            assert violations == [], f"{name} at {size['width']} px: {violations}"
        self.page.set_viewport_size(self.viewport)

    def check(self, name):
        """Screenshots and axe-core, at desktop and at phone width."""
        self.shot(name)
        self.axe(name)

    def submit(self, button):
        self.page.get_by_role("button", name=button).click()

    def log_in(self, username, password, new_password=None):
        """Log in at the desk; with `new_password`, a password someone else chose (the
        sample's, a reset's): the desk asks for one's own first, and gets it."""
        self.open("/desk/login")
        self.page.get_by_label("用户名").fill(username)
        self.page.get_by_label("密码").fill(password)
        self.submit("登录")
        if new_password:
            expect(self.page).to_have_url(re.compile(r"/desk/account/password$"))
            self.page.get_by_label("当前密码").fill(password)
            self.page.get_by_label("新密码", exact=True).fill(new_password)
            self.page.get_by_label("再次输入新密码").fill(new_password)
            self.submit("修改密码")
            expect(self.page.locator(".banner.ok")).to_contain_text("密码已修改")

    def close(self):
        self.context.close()
