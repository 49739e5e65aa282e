"""The web desk as a browser sees it: every form carries a token (services/web_desk/guard.py)."""
import re

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def form_token(browser, page_url):
    """The form token of the desk page at `page_url`, as `browser` (a requests.Session) gets it."""
    found = TOKEN.search(browser.get(page_url, timeout=10).text)
    assert found, f"no form token on {page_url}"
    return found.group(1)
