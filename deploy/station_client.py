"""HTTP calls to stations as the sample staff: logs in once per station and person,
keeps the token, and picks who would make each request (the village's agent files,
the department's approver approves...). Used by the simulation, the benchmarks, the
fault drills and the tests; the web desk's own users log in themselves.

A sample user must choose their own password at the first login: the client does so
with a random strong one, kept in the network's password book (deploy/password_book.py)
for every other client of that network."""
import http.client
import secrets
import threading

import requests

from deploy.password_book import password_book

from shared.auth.staffing import COUNTER_USERNAME, LOCAL_DECIDERS, SAMPLE_PASSWORD, department_username
from shared.auth import roles
from shared.stations import DISTRICT, tier_of


def acting_username(code, method, path, body=None):
    """The sample user who would make this request at station `code`, or None for the
    public endpoints. A request that depends on the case's department (suspending,
    extensions, follow-ups at the district) needs the user named explicitly."""
    tier = tier_of(code)
    body = body if isinstance(body, dict) else {}
    if method == "GET" and (path.startswith(("/api/items", "/api/catalogue", "/api/status", "/api/health",
                                              "/api/openapi.json", "/api/metrics"))):
        return None
    if path.startswith("/api/status"):
        return None  # residents: their case number and ID digits, no login
    if path.startswith(("/api/catalogue", "/api/dead-letters", "/api/users", "/api/supervision/patrol")):
        return "admin"  # the supervisor reads; running a patrol changes things
    if path.startswith(("/api/supervision", "/api/stats", "/api/follow-ups")):
        return "supervisor"
    if path.endswith("/decisions") and tier == DISTRICT:
        role = roles.REVIEWER if body.get("step") == "review" else roles.APPROVER
        return department_username(body.get("department", ""), role)
    if path.endswith("/decisions") and tier != DISTRICT:
        # delegated items: not the one who accepted (the counter), and the approver is
        # not the reviewer (受审分离, shared/cases/separation.py)
        return LOCAL_DECIDERS[tier][1 if body.get("step") == "review" else 2]
    if path.endswith(("/suspend", "/extension", "/forward")) and tier != DISTRICT:
        return COUNTER_USERNAME[tier]  # township staff decide delegated items
    if method == "GET" and tier == DISTRICT:
        return "supervisor"  # reads everything
    return COUNTER_USERNAME[tier]


def new_password():
    """A password for a sample user nobody types: 144 random bits."""
    return "tb-" + secrets.token_urlsafe(18)


class StationClient:
    """requests against stations, each call made by a logged-in user. `data_dir`: the
    network's data directory, where its password book is shared by every client of
    the network (without one, this process's book in memory)."""

    def __init__(self, url_of, password=SAMPLE_PASSWORD, timeout=30, data_dir=None, book=None,
                 changes_passwords=True):
        self.url_of = url_of
        # False for a person's own account (`tongban report`): a password they must
        # change is theirs to choose (the station answers 403 PASSWORD_CHANGE_REQUIRED)
        self.changes_passwords = changes_passwords
        self.password = password  # the sample password, before a user has changed it
        self.book = book if book is not None else password_book(data_dir)
        self.timeout = timeout
        self.tokens = {}
        self.lock = threading.Lock()
        self.local = threading.local()

    def http(self):
        if not hasattr(self.local, "session"):
            self.local.session = requests.Session()
        return self.local.session

    def reset_connection(self):
        self.local.session = requests.Session()

    def token(self, code, username, fresh=False):
        key = (code, username)
        with self.lock:
            if not fresh and key in self.tokens:
                return self.tokens[key]
        token, _ = self._log_in(code, username)
        with self.lock:
            self.tokens[key] = token
        return token

    def password_of(self, code, username):
        """The user's password now (changed from the sample one first if it still must
        be): for tests that log in themselves, at the desk or with their own requests."""
        return self._log_in(code, username)[1]

    def _log_in(self, code, username):
        """(token, password): logs in with the book's password, else the sample one;
        a user who must change it gets a new random one, written to the book, all while
        the book is held (so two clients never both change it)."""
        url = self.url_of(code)
        with self.book.open() as book:
            known = book.get(code, username)
            response = None
            for password in dict.fromkeys(p for p in (known, self.password) if p):
                response = self.http().post(url + "/api/login", timeout=self.timeout,
                                            json={"username": username, "password": password})
                if response.status_code == 401:
                    continue  # the book is older than the station's database
                response.raise_for_status()
                login = response.json()
                if login["user"].get("must_change_password") and self.changes_passwords:
                    chosen = new_password()
                    changed = self.http().post(url + "/api/me/password", timeout=self.timeout,
                                               headers={"Authorization": f"Bearer {login['token']}"},
                                               json={"current_password": password, "new_password": chosen})
                    changed.raise_for_status()
                    book.set(code, username, chosen)
                    password = chosen
                elif password != known:
                    book.set(code, username, password)
                return login["token"], password
            response.raise_for_status()

    def headers(self, code, username):
        return {"Authorization": f"Bearer {self.token(code, username)}"}

    def request(self, method, code, path, json=None, params=None, headers=None, as_user=None,
                timeout=None):
        """`as_user`: a username, False for no login, None to pick the sample user."""
        username = acting_username(code, method, path, json) if as_user is None else as_user
        headers = dict(headers or {})
        ours = bool(username) and "Authorization" not in headers  # a token this client keeps

        def send(fresh=False):
            if ours:
                headers["Authorization"] = f"Bearer {self.token(code, username, fresh=fresh)}"
            try:
                return self.http().request(method, self.url_of(code) + path, json=json, params=params,
                                           headers=headers, timeout=timeout or self.timeout)
            except requests.ConnectionError as exc:
                if not _closed_while_idle(exc):
                    raise
                # the station closed this kept-alive connection for its silence
                # (TONGBAN_HTTP_SOCKET_TIMEOUT) just as the request went out: it read
                # nothing of it, so sending it again on a new connection is safe
                return self.http().request(method, self.url_of(code) + path, json=json, params=params,
                                           headers=headers, timeout=timeout or self.timeout)
        response = send()
        if response.status_code == 401 and ours:
            # the station's database was replaced, or the session expired: log in again
            response = send(fresh=True)
        return response

    def get(self, code, path, params=None, **kw):
        return self.request("GET", code, path, params=params, **kw)

    def post(self, code, path, json=None, **kw):
        return self.request("POST", code, path, json=json, **kw)

    def patch(self, code, path, json=None, **kw):
        return self.request("PATCH", code, path, json=json, **kw)


def _closed_while_idle(exc):
    """A request that found its kept-alive connection closed by the server before any
    answer (http.client's RemoteDisconnected, wrapped by urllib3 and requests)."""
    reason = exc.args[0] if exc.args else None
    causes = getattr(reason, "args", ())
    return any(isinstance(c, http.client.RemoteDisconnected) for c in causes)
