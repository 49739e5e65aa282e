"""Logins that resist guessing, sessions that end, and no sample passwords (issue 13).

What an attacker would do, and the defence:
- guess a user's password over and over: after 3 failures each try must wait (429 with
  Retry-After, doubling), the 10th failure locks the username for 30 minutes (even the
  right password is refused) until an administrator unlocks it;
- tell a locked real user from an unknown one: both are counted and answered alike;
- flood one station with wrong passwords (12 at once): the station locks the username,
  and another station of the same host process keeps answering as fast as when idle;
- use a session left open: it ends after 30 idle minutes, and its user can list and end
  their sessions; changing the password ends the others;
- log in with the sample password: every call but changing it is refused (403
  PASSWORD_CHANGE_REQUIRED), a weak new password is refused naming the problem, and a
  station listening beyond loopback refuses to start while sample passwords remain.
"""
import datetime as dt
import os
import re
import shlex
import statistics
import subprocess
import threading
import time
from pathlib import Path

import pytest
import requests
from sqlalchemy import text

from deploy.password_book import FilePasswordBook, password_book
from deploy.station_client import StationClient
from shared.auth import password_policy
from shared.auth.accounts import IDLE_MINUTES, Accounts
from shared.auth.exposure import SamplePasswordsExposed, is_loopback, refuse_sample_passwords_on_open_address
from shared.auth.login_guard import LOCKOUT_FAILURES, LoginGuard
from shared.auth.staffing import SAMPLE_PASSWORD, seed_station
from shared.exceptions import InvalidInput, PasswordChangeRequired, TooManyAttempts, Unauthorized
from shared.stations import Network
from tests.test_case_network import (
    NETWORK, SOUTH, SOUTH_COMMUNITY, SOUTH_VILLAGE, CaseNetwork, wait_until,
)
from tests.support.databases import drop_network_databases, url_template
from tests.support.network import free_port_block

STRONG = "Kapok-lantern-7-river-Shantou"


# -- failure counting, without a network --------------------------------------------------------
def test_failures_bring_doubling_delays_then_a_lockout_alike_for_known_and_unknown_users(memory_db):
    start = dt.datetime(2026, 12, 2, 9, 0, 0)
    answers = {}
    for username in ("agent", "no-such-user"):
        now = start
        waits = []
        for failure in range(LOCKOUT_FAILURES):
            with memory_db.transaction() as session:
                guard = LoginGuard(session, now)
                try:
                    guard.check(username, "10.0.0.9")
                except TooManyAttempts as refused:  # the attacker must wait this long
                    waits.append(refused.retry_after)
                    now += dt.timedelta(seconds=refused.retry_after)
                    LoginGuard(session, now).check(username, "10.0.0.9")  # and then may try
                locked = LoginGuard(session, now).failed(username, "10.0.0.9")
            assert locked == (failure == LOCKOUT_FAILURES - 1)
        assert waits == [1, 2, 4, 8, 16, 32, 64]
        with memory_db.reading() as session:
            with pytest.raises(TooManyAttempts) as refused:  # whatever the password: not even checked
                LoginGuard(session, now + dt.timedelta(minutes=29)).check(username, "10.0.0.77")
            assert refused.value.retry_after == 60
            answers[username] = refused.value.message
            LoginGuard(session, now + dt.timedelta(minutes=30)).check(username, "10.0.0.77")  # ran out
    assert answers["agent"] == answers["no-such-user"] and "锁定" in answers["agent"]


def test_an_administrators_unlock_and_a_success_clear_the_count_but_not_the_addresss(memory_db):
    now = dt.datetime(2026, 12, 2, 9, 0, 0)
    with memory_db.transaction() as session:
        guard = LoginGuard(session, now)
        for _ in range(LOCKOUT_FAILURES):
            guard.failed("agent", "10.0.0.9")
        with pytest.raises(TooManyAttempts):
            guard.check("agent", "10.0.0.8")
        assert guard.clear("agent") == LOCKOUT_FAILURES
        guard.check("agent", "10.0.0.8")
    # one address trying many usernames slows down too (after 30 failures)
    with memory_db.transaction() as session:
        guard = LoginGuard(session, now)
        for i in range(30):
            guard.failed(f"user{i}", "10.0.0.50")
        guard.succeeded("user0")
        with pytest.raises(TooManyAttempts, match="本机登录失败次数过多"):
            guard.check("someone-else", "10.0.0.50")
        guard.check("someone-else", "10.0.0.51")


# -- the password policy --------------------------------------------------------------------------
@pytest.mark.parametrize("password, problem", [
    ("Ab3$xyz", "至少 10 个字符"),
    ("password123!", "太容易被猜到"),
    ("1234567890", "太容易被猜到"),
    ("qwertyuiop", "太容易被猜到"),
    ("chenxiaoyan2026", "太容易被猜到"),   # the user's own name and a year
    (SAMPLE_PASSWORD, "示例"),
])
def test_weak_passwords_are_refused_naming_the_problem(password, problem):
    with pytest.raises(InvalidInput) as refused:
        password_policy.check(password, ("chenxy", "chenxiaoyan"), forbidden=(SAMPLE_PASSWORD,))
    assert problem in refused.value.message and refused.value.details["new_password"]
    password_policy.check(STRONG, ("chenxy", "chenxiaoyan"), forbidden=(SAMPLE_PASSWORD,))


# -- sessions and the forced change, without a network ----------------------------------------
@pytest.fixture
def station_db(memory_db):
    network = Network.load(NETWORK)
    station = network.station(SOUTH_VILLAGE)
    seed_station(memory_db, station, network)
    return memory_db, station, network


def test_a_sample_user_may_only_change_their_password_which_ends_their_other_sessions(station_db):
    database, station, network = station_db
    with database.transaction() as session:
        accounts = Accounts(session, station, network)
        first = accounts.open_session("agent")["token"]
        second = accounts.open_session("agent")["token"]
        for path in ("/api/cases", "/api/me/sessions", "/desk/", "/desk/account"):
            with pytest.raises(PasswordChangeRequired):
                accounts.user_of(first, path)
        for path in ("/api/me", "/api/me/password", "/api/logout", "/desk/account/password"):
            assert accounts.user_of(first, path)["must_change_password"] is True
        with pytest.raises(InvalidInput, match="示例"):
            accounts.change_own_password("agent", SAMPLE_PASSWORD, first, forbidden=(SAMPLE_PASSWORD,))
        assert accounts.change_own_password("agent", STRONG, first) == 1
        assert accounts.user_of(first, "/api/cases")["must_change_password"] is False
        with pytest.raises(Unauthorized):
            accounts.user_of(second, "/api/me")


def test_a_session_ends_after_30_idle_minutes_and_is_touched_at_most_once_a_minute(station_db):
    database, station, network = station_db
    with database.transaction() as session:
        accounts = Accounts(session, station, network)
        token = accounts.open_session("admin")["token"]
        _, login = accounts.session_of(token)
        opened = login.last_seen_at
        assert not accounts.needs_touch(login, opened + dt.timedelta(seconds=59))
        assert accounts.needs_touch(login, opened + dt.timedelta(seconds=60))
        accounts.session_of(token, now=opened + dt.timedelta(minutes=IDLE_MINUTES - 1))
        accounts.touch(token, now=opened + dt.timedelta(minutes=IDLE_MINUTES - 1))
        accounts.session_of(token, now=opened + dt.timedelta(minutes=2 * IDLE_MINUTES - 2))  # used meanwhile
        with pytest.raises(Unauthorized, match="未操作"):
            accounts.session_of(token, now=opened + dt.timedelta(minutes=2 * IDLE_MINUTES))


def test_a_station_on_an_open_address_refuses_to_start_with_sample_passwords(station_db):
    database, station, network = station_db
    assert is_loopback("127.0.0.1") and is_loopback("localhost") and not is_loopback("0.0.0.0")
    refuse_sample_passwords_on_open_address(database, station.code, "127.0.0.1:8800", SAMPLE_PASSWORD)

    def named():
        with pytest.raises(SamplePasswordsExposed) as refused:
            refuse_sample_passwords_on_open_address(database, station.code, "0.0.0.0:8800", SAMPLE_PASSWORD)
        return str(refused.value).split("sample password: ")[1].split(". Each")[0].split(", ")

    assert {"admin", "agent"} <= set(named())
    with database.transaction() as session:
        accounts = Accounts(session, station, network)
        accounts.change_own_password("agent", STRONG)
        accounts.set_password("admin", SAMPLE_PASSWORD)  # not flagged, but still the sample one
    assert "admin" in named() and "agent" not in named()
    with database.transaction() as session:
        accounts = Accounts(session, station, network)
        for username in named():
            if username != "admin":
                accounts.change_own_password(username, STRONG + username)
        accounts.set_active("admin", False)
    refuse_sample_passwords_on_open_address(database, station.code, "0.0.0.0:8800", SAMPLE_PASSWORD)


def test_the_password_book_is_shared_through_its_file_and_kept_private(tmp_path):
    first, second = FilePasswordBook(tmp_path / "book.yaml"), FilePasswordBook(tmp_path / "book.yaml")
    with first.open() as book:
        book.set("449902001201", "agent", "tb-secret")
    with second.open() as book:
        assert book.get("449902001201", "agent") == "tb-secret"
    assert (tmp_path / "book.yaml").stat().st_mode & 0o777 == 0o600
    assert password_book() is password_book()


# -- against running stations -------------------------------------------------------------------
@pytest.fixture(scope="module")
def net():
    network = CaseNetwork()
    # the township and its villages served by one host process, as in production
    network.launcher.per_process = 0
    try:
        network.start()
        yield network
    finally:
        network.stop()


def login(net, code, username, password):
    return net.http.post(net.launcher.url_of(code) + "/api/login", json={"username": username, "password": password},
                         timeout=30)


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def test_the_sample_password_must_be_changed_before_anything_else(net):
    url = net.launcher.url_of(SOUTH)
    first = login(net, SOUTH, "admin", SAMPLE_PASSWORD)
    assert first.status_code == 200 and first.json()["user"]["must_change_password"] is True
    token = first.json()["token"]
    other = login(net, SOUTH, "admin", SAMPLE_PASSWORD).json()["token"]
    refused = net.http.get(url + "/api/users", headers=bearer(token), timeout=10)
    assert refused.status_code == 403 and refused.json()["error"] == "PASSWORD_CHANGE_REQUIRED"
    weak = net.http.post(url + "/api/me/password", headers=bearer(token), timeout=30,
                         json={"current_password": SAMPLE_PASSWORD, "new_password": "1234567890"})
    assert weak.status_code == 400 and "太容易被猜到" in weak.json()["message"]
    wrong = net.http.post(url + "/api/me/password", headers=bearer(token), timeout=30,
                          json={"current_password": "not-it-at-all", "new_password": STRONG})
    assert wrong.status_code == 401
    changed = net.http.post(url + "/api/me/password", headers=bearer(token), timeout=30,
                            json={"current_password": SAMPLE_PASSWORD, "new_password": STRONG})
    assert changed.status_code == 200 and changed.json()["other_sessions_ended"] == 1
    assert net.http.get(url + "/api/users", headers=bearer(token), timeout=10).status_code == 200
    assert net.http.get(url + "/api/me", headers=bearer(other), timeout=10).status_code == 401
    assert login(net, SOUTH, "admin", SAMPLE_PASSWORD).status_code == 401
    assert login(net, SOUTH, "admin", STRONG).json()["user"]["must_change_password"] is False
    with net.database(SOUTH).connect() as conn:  # the station's access audit has both tries
        tries = conn.execute(text("SELECT outcome FROM access_audit WHERE username = 'admin' "
                                  "AND action = 'change_password' ORDER BY at")).scalars().all()
    assert tries == ["refused", "refused", "ok"]  # too weak, wrong current password, changed


def test_a_user_lists_their_sessions_without_tokens_and_ends_them(net):
    password = net.client.password_of(SOUTH_COMMUNITY, "agent")
    url = net.launcher.url_of(SOUTH_COMMUNITY)
    tokens = [login(net, SOUTH_COMMUNITY, "agent", password).json()["token"] for _ in range(3)]
    listed = net.http.get(url + "/api/me/sessions", headers=bearer(tokens[0]), timeout=10).json()["sessions"]
    assert len(listed) >= 3 and sum(s["current"] for s in listed) == 1
    assert not any(t in str(listed) for t in tokens)
    current = next(s for s in listed if s["current"])
    assert current["client_address"] == "127.0.0.1" and current["last_seen_at"]
    mine = {s["id"] for s in listed}
    # ending another user's or an unknown session: 404
    admin_token = net.client.token(SOUTH_COMMUNITY, "admin")
    assert net.http.delete(url + f"/api/me/sessions/{next(iter(mine))}", headers=bearer(admin_token),
                           timeout=10).status_code == 404
    other = next(s for s in listed if not s["current"])
    assert net.http.delete(url + f"/api/me/sessions/{other['id']}", headers=bearer(tokens[0]),
                           timeout=10).json() == {"ended": 1}
    still = [net.http.get(url + "/api/me", headers=bearer(t), timeout=10).status_code for t in tokens]
    assert still.count(401) == 1 and still[0] == 200
    ended = net.http.post(url + "/api/me/sessions/end-others", headers=bearer(tokens[0]), timeout=10).json()
    assert ended["ended"] >= 1
    assert [net.http.get(url + "/api/me", headers=bearer(t), timeout=10).status_code for t in tokens] \
        == [200, 401, 401]


def test_a_locked_known_user_answers_like_an_unknown_one_until_an_administrator_unlocks(net):
    password = net.client.password_of(SOUTH_COMMUNITY, "admin")
    answers = {}
    for username in ("admin", "nobody-here"):
        responses = [login(net, SOUTH_COMMUNITY, username, "wrong-password-guess") for _ in range(4)]
        answers[username] = [(r.status_code, r.json(), r.headers.get("Retry-After")) for r in responses]
    assert answers["admin"] == answers["nobody-here"], answers
    assert [status for status, _, _ in answers["admin"]] == [401, 401, 401, 429]
    # the lockout: the right password is refused while it lasts
    _lock(net, SOUTH_COMMUNITY, "admin")
    _lock(net, SOUTH_COMMUNITY, "nobody-here")
    locked = login(net, SOUTH_COMMUNITY, "admin", password)
    unknown = login(net, SOUTH_COMMUNITY, "nobody-here", "wrong-password-guess")
    assert locked.status_code == unknown.status_code == 429
    assert locked.json() == unknown.json() and "锁定" in locked.json()["message"]
    assert int(locked.headers["Retry-After"]) > 25 * 60
    # only an administrator unlocks (one already logged in when the attack began)
    url = net.launcher.url_of(SOUTH_COMMUNITY)
    agent_token = net.client.token(SOUTH_COMMUNITY, "agent")
    assert net.http.post(url + "/api/users/admin/unlock", headers=bearer(agent_token),
                         timeout=10).status_code == 403
    admin_token = _admin_session_via_database(net, SOUTH_COMMUNITY)
    assert net.http.post(url + "/api/users/nobody-here/unlock", headers=bearer(admin_token),
                         timeout=10).status_code == 404
    unlocked = net.http.post(url + "/api/users/admin/unlock", headers=bearer(admin_token), timeout=10)
    assert unlocked.status_code == 200 and unlocked.json()["failures_cleared"] >= LOCKOUT_FAILURES
    assert login(net, SOUTH_COMMUNITY, "admin", password).status_code == 200


def _lock(net, code, username):
    """Fail until the username is locked. Waiting the doubling delays out over HTTP takes
    over two minutes, so the rest of the failures are counted straight into the station's
    database, as the login would count them."""
    from shared.auth.login_guard import LoginGuard as Guard
    from shared.db.database import get_database
    database = get_database(net.settings.database_for(code))
    with database.transaction() as session:
        guard = Guard(session)
        while not guard.failed(username, "192.0.2.1"):
            pass


def _admin_session_via_database(net, code):
    """A session of the station's administrator, opened as a login would (the lockout
    refuses the login itself): an administrator already at work when the attack began."""
    from shared.db.database import get_database
    network = Network.load(NETWORK)
    with get_database(net.settings.database_for(code)).transaction() as session:
        return Accounts(session, network.station(code), network).open_session("admin")["token"]


def test_a_login_flood_locks_the_user_and_does_not_slow_another_station_of_the_host(net):
    """16 clients at once guess the village agent's password at one village; another
    village served by the same host process, and the village itself, keep their median
    catalogue search within 2x of idle (the village's paused refusals used to hold all
    its workers)."""
    target, neighbour = SOUTH_VILLAGE, SOUTH_COMMUNITY
    password = net.client.password_of(target, "agent")
    probe = requests.Session()

    def latencies(n, code=neighbour):
        search = net.launcher.url_of(code) + "/api/items"
        timings = []
        for _ in range(n):
            started = time.perf_counter()
            assert probe.get(search, params={"q": "证明", "limit": 20}, timeout=10).ok
            timings.append(time.perf_counter() - started)
            time.sleep(0.02)
        return timings

    latencies(10), latencies(10, target)  # warm up
    idle, idle_here = statistics.median(latencies(60)), statistics.median(latencies(60, target))
    stop = threading.Event()
    statuses = []

    def guess(i):
        session = requests.Session()
        n = 0
        while not stop.is_set():
            n += 1
            response = session.post(net.launcher.url_of(target) + "/api/login", timeout=30,
                                    json={"username": "agent", "password": f"guess-{i}-{n}"})
            statuses.append(response.status_code)

    threads = [threading.Thread(target=guess, args=(i,)) for i in range(16)]
    for thread in threads:
        thread.start()
    try:
        wait_until(lambda: len(statuses) >= 24, 30, message="the flood under way")
        flooded = statistics.median(latencies(60))
        flooded_here = statistics.median(latencies(60, target))
    finally:
        stop.set()
        for thread in threads:
            thread.join(30)
    assert set(statuses) <= {401, 429} and statuses.count(429) > statuses.count(401), \
        (statuses.count(401), statuses.count(429))
    assert flooded <= 2 * idle + 0.002, (idle, flooded)  # 2 ms: timer noise at sub-ms medians
    assert flooded_here <= 2 * idle_here + 0.002, (idle_here, flooded_here)
    refused = login(net, target, "agent", password)  # the right password, too late
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1


def test_clients_of_one_network_share_the_passwords_they_chose(net):
    fresh = StationClient(net.launcher.url_of, data_dir=net.settings.data_dir)
    token = fresh.token(SOUTH_COMMUNITY, "agent")  # the password net.client chose, read from the book
    assert net.http.get(net.launcher.url_of(SOUTH_COMMUNITY) + "/api/cases", headers=bearer(token),
                        timeout=10).status_code == 200
    with FilePasswordBook(f"{net.settings.data_dir}/sample-passwords.yaml").open() as entries:
        assert entries.get(SOUTH_COMMUNITY, "agent") not in (None, SAMPLE_PASSWORD)


def test_a_station_listening_on_every_address_with_sample_users_does_not_start(net, tmp_path):
    command = net.launcher.command_for([net.launcher.network.station(SOUTH_VILLAGE)])
    secrets = str(net.settings.data_dir) + "/broker-secrets.yaml"
    command = [*command[:command.index("station")], "--broker-secrets", secrets,
               "station", "run", SOUTH_VILLAGE, "--port", str(free_port_block(1))]
    # a new database, so its sample users are new: SQLite files in tmp_path, or on
    # PostgreSQL a database of its own, made by the station and dropped afterwards
    command[command.index("--data") + 1] = str(tmp_path)
    template = url_template("open")
    if "--database-url" in command:
        command[command.index("--database-url") + 1] = template
    env = {**os.environ, "TONGBAN_HTTP_HOST": "0.0.0.0"}
    try:
        run = subprocess.run(command, capture_output=True, text=True, timeout=120, env=env)
    finally:
        drop_network_databases(template)
    assert run.returncode != 0
    output = run.stdout + run.stderr
    assert "still have the sample password: admin, agent" in output, output[-3000:]


# -- no default secrets in the deployment examples -----------------------------------------------
DEPLOY = Path(__file__).resolve().parent.parent / "deploy"


def test_compose_requires_its_passwords_and_the_systemd_units_refuse_the_placeholders(tmp_path):
    compose = (DEPLOY / "compose.yaml").read_text(encoding="utf-8")
    assert not re.search(r"\$\{\w*PASSWORD\w*:-", compose)  # no fallback for any password
    assert re.findall(r"\$\{(\w*PASSWORD\w*):\?", compose)
    example = tmp_path / "tongban.env"
    example.write_text((DEPLOY / "examples" / "district.env").read_text(encoding="utf-8"))
    for unit in ("tongban-station@.service", "tongban-network.service"):
        line = next(line for line in (DEPLOY / "systemd" / unit).read_text().splitlines()
                    if line.startswith("ExecStartPre="))
        shell, flag, script = shlex.split(line.split("=", 1)[1])
        script = script.replace("/etc/tongban/tongban.env", str(example)).replace("%i", "445203")
        refused = subprocess.run([shell, flag, script], capture_output=True, text=True)
        assert refused.returncode == 1 and "CHANGE-ME" in refused.stderr
        example.write_text(example.read_text().replace("CHANGE-ME", "a-real-secret"))
        assert subprocess.run([shell, flag, script]).returncode == 0
        example.write_text((DEPLOY / "examples" / "district.env").read_text(encoding="utf-8"))
