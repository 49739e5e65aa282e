"""HTTP calls to stations as the sample staff: logs in once per station and person,
keeps the token, and picks who would make each request (the village's agent files,
the department's approver approves...). Used by the simulation, the benchmarks, the
fault drills and the tests; the web desk's own users log in themselves."""
import threading

import requests

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


class StationClient:
    """requests against stations, each call made by a logged-in user."""

    def __init__(self, url_of, password=SAMPLE_PASSWORD, timeout=30):
        self.url_of = url_of
        self.password = password
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
        response = self.http().post(self.url_of(code) + "/api/login", timeout=self.timeout,
                                    json={"username": username, "password": self.password})
        response.raise_for_status()
        token = response.json()["token"]
        with self.lock:
            self.tokens[key] = token
        return token

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
