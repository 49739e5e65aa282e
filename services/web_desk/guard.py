"""The web desk's guard against forged requests (CSRF) and the flags of its cookies.

A page of another site can make the browser POST to the desk, and the browser would
send the desk's cookie with it. Three checks stop that, before any page runs
(`check_post`, called by the HTTP entrypoint for every POST under /desk/):

* **Origin**: a POST whose `Sec-Fetch-Site` is neither `same-origin` nor `none`, or
  whose `Origin` is not this station's own (scheme-less host and port of the `Host`
  header), is refused. Another station on the same host (another port) is another
  origin: refused too. A POST without these headers (an old browser, a script) still
  needs the form token.
* **Form token** (synchronizer token): every form of the desk carries a hidden field
  `csrf_token`, signed with itsdangerous using as key the secret the browser holds for
  this station: the session token when logged in, otherwise a random pre-session key
  kept in the cookie `tongban_form_<station>` (the login form and the residents' rating
  form). Both cookies are HttpOnly, so a page of another site can neither read them nor
  compute a token; a token is valid for MAX_AGE seconds and only at the station whose
  code is in its salt. No server-side secret is needed: the key is the browser's own
  secret, which the station can check.
* **Cookies** are `HttpOnly; SameSite=Strict; Path=/`, so the browser does not send them
  with a request started by another site at all.

`Secure` cookies: production terminates TLS in a proxy in front of the stations, which
talk plain HTTP to it, so a station cannot tell from the connection that the browser
used HTTPS. Set `TONGBAN_SECURE_COOKIES=1` (HostSettings.secure_cookies, the container
key SECURE_COOKIES_KEY) on every station served behind HTTPS: its cookies then carry
`Secure` and the browser never sends them over plain HTTP. `X-Forwarded-Proto` is not
trusted: a client reaching the station directly could send it. A request that came over
TLS to the station itself (`wsgi.url_scheme` https) gets `Secure` cookies anyway. The
proxy must pass the browser's `Host` header through unchanged (nginx: `proxy_set_header
Host $host;`), since the Origin check compares with it.
"""
import logging
import secrets
import urllib.parse

from itsdangerous import BadSignature, URLSafeTimedSerializer
from nameko.extensions import DependencyProvider

from services.auth import session_cookie
from services.config import SECURE_COOKIES_KEY, STATION_KEY
from services.http import MAX_BODY_BYTES
from shared.exceptions import Forbidden, InvalidInput

log = logging.getLogger(__name__)

FIELD = "csrf_token"
# a session lasts at most 10 hours; a form may stay open as long as the session
MAX_AGE = 10 * 3600
_PURPOSE = "desk-form"
_MAX_TOKEN_CHARS = 200
_NEW_KEY = "tongban.new_form_key"  # request.environ: the pre-session key made for this request
SAME_ORIGIN = ("same-origin", "none")  # Sec-Fetch-Site of a page of this origin, or typed/bookmarked

FOREIGN_ORIGIN = "请求来自其他网站，已拒绝。请直接在本站页面上操作。"
BAD_TOKEN = "页面已过期或来源不明，操作未执行。请返回并刷新页面后重新提交。"


def form_key_cookie(station_code):
    """The pre-session key's cookie (the login and rating forms), named per station."""
    return f"tongban_form_{station_code}"


def _serializer(key, station_code):
    return URLSafeTimedSerializer(key, salt=f"tongban-desk-form:{station_code}")


def secure_cookies(config, request=None):
    """Whether this station's cookies carry `Secure` (see the module docstring)."""
    if str(config.get(SECURE_COOKIES_KEY, "")).strip().lower() in ("1", "true", "yes", "on"):
        return True
    return request is not None and request.scheme == "https"


def cookie_flags(config, request=None):
    """The keyword arguments of werkzeug's set_cookie/delete_cookie for a desk cookie."""
    return {"httponly": True, "samesite": "Strict", "path": "/", "secure": secure_cookies(config, request)}


def form_token(request, station_code):
    """The token this request's page puts in its forms: keyed with the session token,
    or the pre-session key (made now, and set as a cookie by `finish`, if the browser
    has none)."""
    key = request.cookies.get(session_cookie(station_code)) or request.cookies.get(form_key_cookie(station_code))
    if not key:
        key = request.environ.get(_NEW_KEY)
        if not key:
            key = request.environ[_NEW_KEY] = secrets.token_urlsafe(32)
    return _serializer(key, station_code).dumps(_PURPOSE)


def _token_valid(request, station_code, token):
    if not token or len(token) > _MAX_TOKEN_CHARS:
        return False
    for cookie in (session_cookie(station_code), form_key_cookie(station_code)):
        key = request.cookies.get(cookie)
        if not key:
            continue
        try:
            if _serializer(key, station_code).loads(token, max_age=MAX_AGE) == _PURPOSE:
                return True
        except BadSignature:  # SignatureExpired too
            continue
    return False


def foreign_origin(request):
    """Why this request comes from another site, or None."""
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None and site not in SAME_ORIGIN:
        return f"Sec-Fetch-Site: {site}"
    origin = request.headers.get("Origin")
    if origin is None:
        return None
    netloc = urllib.parse.urlsplit(origin).netloc.lower() if origin != "null" else ""
    if not netloc or netloc != (request.host or "").lower():
        return f"Origin: {origin[:100]} (this station: {request.host})"
    return None


def check_post(request, station_code):
    """Forbidden (with the desk's Chinese message) unless this POST comes from a page of
    this station, with a valid form token."""
    if (request.content_length or 0) > MAX_BODY_BYTES:
        raise InvalidInput(f"表单过大（最多 {MAX_BODY_BYTES} 字节）")
    foreign = foreign_origin(request)
    if foreign:
        log.warning("web desk: POST %s refused, from another site (%s)", request.path, foreign)
        raise Forbidden(FOREIGN_ORIGIN)
    if not _token_valid(request, station_code, request.form.get(FIELD, "")):
        log.warning("web desk: POST %s refused, missing or invalid form token", request.path)
        raise Forbidden(BAD_TOKEN)


def finish(request, response, config):
    """Set the pre-session key's cookie if this request's page made one."""
    key = request.environ.get(_NEW_KEY)
    if key:
        response.set_cookie(form_key_cookie(config[STATION_KEY]), key, **cookie_flags(config, request))
    return response


class RequestGuard:
    """What a page needs of the guard: its form token and the cookie flags."""

    def __init__(self, request, config):
        self.request = request
        self.config = config

    def form_token(self):
        if self.request is None:
            return ""
        return form_token(self.request, self.config[STATION_KEY])

    def cookie_flags(self):
        return cookie_flags(self.config, self.request)


class DeskGuard(DependencyProvider):
    """Injects the RequestGuard of the worker's HTTP request."""

    def get_dependency(self, worker_ctx):
        request = worker_ctx.args[0] if worker_ctx.args else None
        return RequestGuard(request if hasattr(request, "cookies") else None, self.container.config)
