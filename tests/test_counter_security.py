"""Security at the counter, part of it: what an attacker's bad requests and guesses get.

- a JSON body nested deeper than any request needs, and a search of a page of words,
  are refused with 400 (they used to end in 500);
- a client that sends half a request and waits (slowloris) is dropped after the
  station's socket timeout;
- a login for an unknown or deactivated user does the same Argon2 work as a wrong
  password (a dummy hash), so timing does not tell which usernames exist, and Argon2
  runs off the eventlet hub.
"""
import os
import socket
import statistics
import time

import pytest
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from services.auth import FAILED_LOGIN_PAUSE
from services.http import MAX_NESTING, json_body
from shared.auth.accounts import Accounts
from shared.auth.passwords import dummy_hash, hash_password
from shared.db.models import User
from shared.exceptions import InvalidInput, Unauthorized
from shared.stations import Network
from tests.test_case_network import SOUTH_VILLAGE, running_case_network

SOCKET_TIMEOUT = 3


def request_with(body):
    return Request(EnvironBuilder(method="POST", data=body, content_type="application/json").get_environ())


def test_a_body_nested_too_deep_is_refused_before_it_is_parsed():
    assert json_body(request_with(b'{"a": ' + b"[" * (MAX_NESTING - 2) + b"]" * (MAX_NESTING - 2) + b"}"))
    for deep in (b'{"a": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", b"[" * 100_000):
        with pytest.raises(InvalidInput, match="nested too deeply"):
            json_body(request_with(deep))
    # brackets inside strings are text, not nesting
    assert json_body(request_with(b'{"note": "' + b"[" * 500 + b'"}'))["note"] == "[" * 500


def test_an_unknown_user_is_checked_against_a_dummy_hash_like_a_wrong_password(memory_db):
    network = Network.load("tests/data/network_small.yaml")
    station = network.station(network.district_code)
    with memory_db.transaction() as session:
        session.add(User(username="clerk", name="窗口", role="window_clerk", department=None,
                         password_hash=hash_password("right-password-1"), active=True))
        session.add(User(username="gone", name="离职", role="window_clerk", department=None,
                         password_hash=hash_password("right-password-2"), active=False))
    checked = []

    def verify(password_hash, password):
        checked.append(password_hash)
        return password_hash != dummy_hash() and password.startswith("right")

    with memory_db.reading() as session:
        accounts = Accounts(session, station, network)
        for username, password in (("nobody", "right-password-1"), ("gone", "right-password-2"),
                                   ("clerk", "wrong")):
            with pytest.raises(Unauthorized):
                accounts.check_password(username, password, verify=verify)
        assert checked[:2] == [dummy_hash(), dummy_hash()] and checked[2] != dummy_hash()
        assert accounts.check_password("clerk", "right-password-1", verify=verify) is False


@pytest.fixture(scope="module")
def net():
    # the station processes read it from their environment, as in production
    os.environ["TONGBAN_HTTP_SOCKET_TIMEOUT"] = str(SOCKET_TIMEOUT)
    try:
        with running_case_network() as network:
            yield network
    finally:
        os.environ.pop("TONGBAN_HTTP_SOCKET_TIMEOUT", None)


def test_deep_json_and_long_searches_answer_400_over_http(net):
    deep = b'{"item_code": ' + b"[" * 5000 + b"]" * 5000 + b"}"
    token = net.client.token(SOUTH_VILLAGE, "agent")
    response = net.http.post(net.launcher.url_of(SOUTH_VILLAGE) + "/api/cases", data=deep, timeout=10,
                             headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"})
    assert response.status_code == 400 and "nested too deeply" in response.json()["message"]
    words = " ".join(["低保"] * 300)
    response = net.http.get(net.launcher.url_of(SOUTH_VILLAGE) + "/api/items", params={"q": words}, timeout=10)
    assert response.status_code == 400 and "'q' is too long" in response.json()["message"]
    assert net.http.get(net.launcher.url_of(SOUTH_VILLAGE) + "/api/items", params={"q": "低保 申请"},
                        timeout=10).status_code == 200


def test_a_half_sent_request_is_dropped_after_the_socket_timeout(net):
    host, port = net.launcher.url_of(SOUTH_VILLAGE).split("//")[1].split(":")
    slow = [socket.create_connection((host, int(port)), timeout=SOCKET_TIMEOUT * 4) for _ in range(20)]
    started = time.monotonic()
    for sock in slow:
        sock.sendall(b"GET /api/health HTTP/1.1\r\nHost: station\r\nX-Slow: ")  # and nothing more
    for sock in slow:
        assert sock.recv(1024) == b""  # the station closed it
        sock.close()
    assert time.monotonic() - started < SOCKET_TIMEOUT * 3
    # the station still answers everyone else
    assert net.http.get(net.launcher.url_of(SOUTH_VILLAGE) + "/api/health", timeout=10).ok


def test_a_login_for_an_unknown_user_takes_as_long_as_a_wrong_password(net):
    url = net.launcher.url_of(SOUTH_VILLAGE) + "/api/login"

    def timed(username):
        started = time.perf_counter()
        response = net.http.post(url, json={"username": username, "password": "not-the-password"}, timeout=10)
        assert response.status_code == 401 and response.json()["message"] == "用户名或密码不正确（或账号已停用）"
        # every refusal waits the same pause (services/auth.py); what differs is the work before it
        return time.perf_counter() - started - FAILED_LOGIN_PAUSE

    def known_once():
        # after 3 failures a username must wait (tests/test_logins.py): its administrator unlocks it
        assert net.client.post(SOUTH_VILLAGE, "/api/users/agent/unlock", as_user="admin").ok
        return timed("agent")

    # taken in turns, so that both medians see the same load: CI runs another pass of the
    # suite beside this one, and a burst of it would otherwise land on one side only
    known, unknown = [], []
    for i in range(15):
        known.append(known_once())
        unknown.append(timed(f"no-such-user-{i}"))
    known, unknown = statistics.median(known), statistics.median(unknown)
    # both verify one Argon2 hash (tens of ms); without the dummy hash the unknown user
    # answered in a few milliseconds
    assert unknown > known * 0.6, (known, unknown)
