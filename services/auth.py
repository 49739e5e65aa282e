"""Who is asking: session tokens checked against the station's own users."""
import logging

from eventlet import tpool
from eventlet.semaphore import Semaphore
from nameko.extensions import DependencyProvider

from services.config import DATABASE_KEY, SAMPLE_USERS_KEY, station_info
from shared.auth.accounts import Accounts
from shared.auth.passwords import verify_password
from shared.auth.schemas import LoginSchema
from shared.auth.staffing import seed_station
from shared.db.database import get_database
from shared.validation import load

log = logging.getLogger(__name__)


def session_cookie(station_code):
    """The desk's session cookie at this station. Named per station: browsers keep
    cookies per host, not per port, so two stations of one host sharing a name logged
    each other out."""
    return f"tongban_session_{station_code}"

# Argon2 takes tens of milliseconds of CPU on purpose. Run on the eventlet hub it stalls
# every other green thread of the process — every station a host serves — for that long
# per login (a 12-way login flood on one village took another station's median answer
# from 4.6 to 266 ms). It runs in eventlet's pool of OS threads instead (argon2-cffi
# releases the GIL), at most ARGON2_AT_ONCE at a time per process.
ARGON2_AT_ONCE = 2
_argon2_slots = Semaphore(ARGON2_AT_ONCE)


def verify_off_the_hub(password_hash, password):
    with _argon2_slots:
        return tpool.execute(verify_password, password_hash, password)


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

    def _accounts(self, session):
        return Accounts(session, self.info.station, self.info.network)

    def user(self, request):
        """The user making the request, or Unauthorized (401)."""
        with self.database.reading() as session:
            return self._accounts(session).user_of(token_of(request, self.info.code))

    def log_in(self, data):
        request = load(LoginSchema(), data)
        with self.database.reading() as session:
            stale_hash = self._accounts(session).check_password(request["username"], request["password"],
                                                               verify=verify_off_the_hub)
        with self.database.transaction() as session:
            return self._accounts(session).open_session(
                request["username"], request["password"] if stale_hash else None)

    def log_out(self, request):
        token = token_of(request, self.info.code)
        if token:
            with self.database.transaction() as session:
                self._accounts(session).log_out(token)

    def add(self, data):
        with self.database.transaction() as session:
            return self._accounts(session).add(data)

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
        self.desk = UserDesk(database, info)

    def get_dependency(self, worker_ctx):
        return self.desk
