"""Who is asking: session tokens checked against the station's own users; logins
counted and throttled (shared/auth/login_guard.py); a user's own password and sessions."""
import ipaddress
import logging

import eventlet
from eventlet.semaphore import Semaphore
from nameko.extensions import DependencyProvider

from services.config import DATABASE_KEY, SAMPLE_USERS_KEY, station_info
from services.off_the_hub import run_off_the_hub
from shared.auth.accounts import Accounts
from shared.auth.exposure import refuse_sample_passwords_on_open_address
from shared.auth.login_guard import LoginGuard
from shared.auth.passwords import verify_password
from shared.auth.schemas import LoginSchema, PasswordChangeSchema
from shared.auth.staffing import SAMPLE_PASSWORD, seed_station
from shared.db.database import get_database
from shared.exceptions import TooManyAttempts, Unauthorized
from shared.validation import load

log = logging.getLogger(__name__)


def session_cookie(station_code):
    """The desk's session cookie at this station. Named per station: browsers keep
    cookies per host, not per port, so two stations of one host sharing a name logged
    each other out."""
    return f"tongban_session_{station_code}"



# A refused login is answered after a pause (a green thread sleeping costs nothing): a
# client guessing as fast as it is answered makes a few requests a second, not the
# hundreds a second whose handling alone slowed every other station of the host.
FAILED_LOGIN_PAUSE = 0.5     # seconds, after a wrong password
THROTTLED_LOGIN_PAUSE = 1.0  # seconds, before a 429
# Each paused answer holds one of the gateway's workers (deploy/host.GATEWAY_WORKERS): at
# most this many logins of a station are handled at once, the rest answered 429 at once,
# so a flood of wrong passwords cannot hold every worker and stall the station's other
# answers.
LOGINS_AT_ONCE = 24
BUSY_MESSAGE = "登录请求过多，请稍后再试：too many logins at this station at once"


def verify_off_the_hub(password_hash, password):
    return run_off_the_hub(verify_password, password_hash, password)


def client_address(request):
    """The address a request comes from. The `X-Forwarded-For` a reverse proxy adds is
    believed only when the connection comes from this machine (nginx in front of the
    station, listening for the counters); from anywhere else it could be forged."""
    remote = request.remote_addr or ""
    forwarded = request.headers.get("X-Forwarded-For", "")
    try:
        local = ipaddress.ip_address(remote).is_loopback
    except ValueError:
        local = False
    if local and forwarded:
        last = forwarded.split(",")[-1].strip()
        try:
            return str(ipaddress.ip_address(last))
        except ValueError:
            return remote
    return remote


def token_of(request, station_code):
    """The session token. The API takes only `Authorization: Bearer <token>`, which a
    browser never adds by itself, so a page of another site cannot act with the desk's
    cookie (CSRF); the desk's pages take only the cookie."""
    if request.path.startswith("/api/"):
        header = request.headers.get("Authorization", "")
        return header[7:].strip() if header.lower().startswith("bearer ") else ""
    return request.cookies.get(session_cookie(station_code), "")


class UserDesk:
    def __init__(self, database, info):
        self.database = database
        self.info = info
        self.login_slots = Semaphore(LOGINS_AT_ONCE)

    def _accounts(self, session):
        return Accounts(session, self.info.station, self.info.network)

    def user(self, request):
        """The user making the request, or Unauthorized (401); PasswordChangeRequired
        (403) while they must change their password, but for that change and logging out.
        The session's idle time restarts (written at most once a minute)."""
        token = token_of(request, self.info.code)
        with self.database.reading() as session:
            accounts = self._accounts(session)
            user, login = accounts.session_of(token, request.path)
            touch = accounts.needs_touch(login)
            view = accounts.view(user)
        if touch:
            with self.database.transaction() as session:
                self._accounts(session).touch(token)
        return view

    def log_in(self, data, request=None):
        """A new session for a right password; TooManyAttempts (429) while the username
        or the client's address must wait or is locked (nothing checked then),
        Unauthorized (401) for a wrong one, counted. Each outcome passes through
        `login_attempted`."""
        login = load(LoginSchema, data)
        if not self.login_slots.acquire(blocking=False):
            raise TooManyAttempts(BUSY_MESSAGE, retry_after=1)
        try:
            return self._log_in(login["username"], login["password"], request)
        finally:
            self.login_slots.release()

    def _log_in(self, username, password, request):
        address = client_address(request) if request is not None else ""
        try:
            with self.database.reading() as session:
                LoginGuard(session).check(username, address)
        except TooManyAttempts:
            self.login_attempted(username, address, "throttled")
            eventlet.sleep(THROTTLED_LOGIN_PAUSE)
            raise
        try:
            with self.database.reading() as session:
                stale_hash = self._accounts(session).check_password(username, password, verify=verify_off_the_hub)
        except Unauthorized:
            with self.database.transaction() as session:
                locked = LoginGuard(session).failed(username, address)
            self.login_attempted(username, address, "locked" if locked else "failed")
            eventlet.sleep(FAILED_LOGIN_PAUSE)
            raise
        with self.database.transaction() as session:
            LoginGuard(session).succeeded(username)
            opened = self._accounts(session).open_session(
                username, password if stale_hash else None, client_address=address,
                user_agent=request.headers.get("User-Agent", "") if request is not None else "")
        self.login_attempted(username, address, "success")
        return opened

    def login_attempted(self, username, address, outcome):
        """Every login attempt ends here: `outcome` is "success", "failed" (wrong password,
        unknown or deactivated user — the same to the caller), "locked" (this failure
        locked the username) or "throttled" (refused with 429, nothing checked). The
        access audit records the same outcomes around the call to log_in, from what it
        raises (services/access_audit.py, AuditTrail.login); here they are logged."""
        if outcome != "success":
            log.info("station %s: login %s for %r from %s", self.info.code, outcome, username[:50], address)

    def change_password(self, request, data):
        """The user's own change: the current password again, the policy for the new
        one; their other sessions end (this one stays). The current password is counted
        like a login's (a stolen session must not guess it without limit)."""
        token = token_of(request, self.info.code)
        change = load(PasswordChangeSchema, data)
        user = self.user(request)
        address = client_address(request)
        with self.database.reading() as session:
            LoginGuard(session).check(user["username"], address)
        try:
            with self.database.reading() as session:
                self._accounts(session).check_password(user["username"], change["current_password"],
                                                       verify=verify_off_the_hub)
        except Unauthorized:
            with self.database.transaction() as session:
                LoginGuard(session).failed(user["username"], address)
            raise Unauthorized("当前密码不正确：the current password is wrong") from None
        with self.database.transaction() as session:
            accounts = self._accounts(session)
            ended = accounts.change_own_password(user["username"], change["new_password"], current_token=token,
                                                 forbidden=(SAMPLE_PASSWORD, change["current_password"]))
            return {"changed": True, "other_sessions_ended": ended,
                    "user": accounts.view(accounts.get(user["username"]))}

    def sessions(self, request):
        user = self.user(request)
        with self.database.reading() as session:
            return self._accounts(session).sessions(user["username"], token_of(request, self.info.code))

    def end_session(self, request, which):
        user = self.user(request)
        with self.database.transaction() as session:
            return self._accounts(session).end_session(user["username"], which)

    def end_other_sessions(self, request):
        user = self.user(request)
        with self.database.transaction() as session:
            return self._accounts(session).end_sessions(user["username"], keep=token_of(request, self.info.code))

    def unlock(self, username):
        """An administrator's unlock: the username's failures are forgotten."""
        with self.database.transaction() as session:
            self._accounts(session).get(username)  # 404 for no such user
            return {"username": username, "unlocked": True, "failures_cleared": LoginGuard(session).clear(username)}

    def log_out(self, request):
        token = token_of(request, self.info.code)
        if token:
            with self.database.transaction() as session:
                self._accounts(session).log_out(token)

    def add(self, data):
        """A user an administrator adds: the password the administrator chose is for
        the first login only, so the new user must choose their own then."""
        with self.database.transaction() as session:
            return self._accounts(session).add(data, must_change_password=True)

    def list(self):
        with self.database.reading() as session:
            return self._accounts(session).list()


class Users(DependencyProvider):
    """Injects the station's UserDesk."""

    def setup(self):
        config = self.container.config
        info = station_info(config)
        database = get_database(config[DATABASE_KEY])
        if config.get(SAMPLE_USERS_KEY):
            made = seed_station(database, info.station, info.network, config[SAMPLE_USERS_KEY])
            if made:
                log.info("station %s: %d sample users created", info.code, made)
        # nameko's default WEB_SERVER_ADDRESS listens on every address
        refuse_sample_passwords_on_open_address(database, info.code, config.get("WEB_SERVER_ADDRESS", "0.0.0.0:8000"),
                                                SAMPLE_PASSWORD)
        self.desk = UserDesk(database, info)

    def get_dependency(self, worker_ctx):
        return self.desk
