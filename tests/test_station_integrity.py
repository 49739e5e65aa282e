"""A station's data cannot be corrupted by a second process or a careless restart.

- One owner per SQLite station: a second `station run` or `tongban up` for a running
  station is refused, naming the process that serves it.
- `tongban up` stops every host process it started on SIGTERM / SIGHUP (checked by PID
  with psutil), within its 10 s, exits 0, and the next `up` starts afresh; a host whose
  launcher was killed outright stops by itself.
- Case numbers are issued exactly once: 400 concurrent filings through two processes
  serving one station. On PostgreSQL (where two processes may serve a station) all 400
  are filed with 400 distinct numbers; on SQLite the station lock is bypassed to show
  that even then a collision is an error (409/503 with a message), never an overwrite.

Real station processes on the real RabbitMQ; the database is the run's
(TONGBAN_TEST_DATABASE), except the `up` tests, which exercise the SQLite lock.
"""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import eventlet
import psutil
import pytest
import requests
from sqlalchemy import create_engine, text

from deploy.host import LOCK_ENV
from deploy.station_client import StationClient
from tests.support import databases
from tests.support.network import REPO_ROOT, delete_queues, free_port_block, station_queue_names
from shared.stations import Network
from tests.test_case_network import NETWORK, SOUTH_VILLAGE, applicant, filing, running_case_network

FILINGS = 400
AT_ONCE = 40


# -- tongban up: one owner, a clean stop, a fresh start ------------------------------------------
class Up:
    """`tongban up` for the test network of tests/test_case_network.py on SQLite, as an operator runs it."""

    def __init__(self, workdir, base_port, amqp_uri):
        self.workdir = Path(workdir)
        self.base_port = base_port
        self.root = [sys.executable, "-m", "deploy.cli", "--network", str(NETWORK),
                     "--data", str(self.workdir / "data"), "--base-port", str(base_port),
                     "--amqp", amqp_uri, "--sample-users", "sample"]
        self.process = None
        self.output = self.workdir / "up.log"

    def env(self):
        env = {k: v for k, v in os.environ.items() if not k.startswith("TONGBAN_") or k == "TONGBAN_MANAGEMENT_URL"}
        env["PYTHONWARNINGS"] = "ignore::DeprecationWarning"
        return env

    def start(self, timeout=90):
        self.process = subprocess.Popen([*self.root, "up"], stdout=open(self.output, "w"),
                                        stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                        cwd=REPO_ROOT, env=self.env())
        deadline = time.monotonic() + timeout
        while "stations up in" not in self.output.read_text():
            assert self.process.poll() is None, f"tongban up exited:\n{self.output.read_text()}"
            assert time.monotonic() < deadline, f"tongban up did not come up:\n{self.output.read_text()}"
            time.sleep(0.3)
        return self

    def hosts(self):
        """The PIDs of every process `tongban up` started, and of theirs."""
        return {p.pid for p in psutil.Process(self.process.pid).children(recursive=True)}

    def run(self, *args, timeout=60):
        return subprocess.run([*self.root, *args], capture_output=True, text=True, cwd=REPO_ROOT,
                              env=self.env(), timeout=timeout, stdin=subprocess.DEVNULL)

    def signal_and_wait(self, signum, timeout=15):
        started = time.monotonic()
        self.process.send_signal(signum)
        status = self.process.wait(timeout)
        return status, time.monotonic() - started


def gone(pids, timeout):
    """True once none of `pids` runs any more (zombies count as gone)."""
    deadline = time.monotonic() + timeout
    while True:
        alive = [p for p in pids if psutil.pid_exists(p)
                 and psutil.Process(p).status() != psutil.STATUS_ZOMBIE]
        if not alive or time.monotonic() > deadline:
            return not alive
        time.sleep(0.2)


@pytest.fixture
def up(tmp_path, amqp_uri):
    delete_queues(amqp_uri, station_queue_names(Network.load(NETWORK)))
    launcher = Up(tmp_path, free_port_block(len(Network.load(NETWORK).stations)), amqp_uri)
    yield launcher
    if launcher.process is not None and launcher.process.poll() is None:
        pids = launcher.hosts()
        launcher.process.kill()
        for pid in pids:
            try:
                psutil.Process(pid).kill()
            except psutil.NoSuchProcess:
                pass


def test_a_running_station_refuses_a_second_process_and_a_second_up(up):
    up.start()
    hosts = up.hosts()
    second = up.run("station", "run", SOUTH_VILLAGE, "--port", str(free_port_block(1)))
    assert second.returncode != 0
    assert f"station {SOUTH_VILLAGE} is already being served by process" in second.stderr
    holder = int(second.stderr.split("by process ")[1].split()[0])
    assert holder in hosts
    again = up.run("up", timeout=90)
    assert again.returncode == 1 and "is already being served by process" in again.stderr, again
    # nothing was started beside the running network, and it still answers
    assert up.hosts() == hosts and up.process.poll() is None
    status, _ = up.signal_and_wait(signal.SIGTERM)
    assert status == 0


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
def test_a_stop_signal_to_up_stops_every_host_and_the_next_up_starts_afresh(up, signum):
    up.start()
    first = up.hosts()
    assert len(first) == 3  # the district alone, each township with its villages
    status, took = up.signal_and_wait(signum)
    assert status == 0, up.output.read_text()
    assert took < 11 and gone(first, timeout=0.5), f"still running: {first}"
    assert "3 of 3 host processes stopped cleanly" in up.output.read_text()
    up.start()
    second = up.hosts()
    assert len(second) == 3 and not (second & first)
    status, _ = up.signal_and_wait(signal.SIGTERM)
    assert status == 0 and gone(second, timeout=0.5)


def test_hosts_stop_by_themselves_when_their_launcher_is_killed(up):
    up.start()
    hosts = up.hosts()
    up.process.kill()
    up.process.wait(5)
    assert gone(hosts, timeout=10), f"hosts still running without their launcher: {hosts}"


# -- case numbers issued exactly once ----------------------------------------------------------------
def test_concurrent_filings_through_two_processes_of_one_station_never_share_a_number(tmp_path):
    with running_case_network() as net:
        launcher = net.launcher
        station = launcher.network.station(SOUTH_VILLAGE)
        second_port = free_port_block(1)
        env = {**os.environ, "PYTHONWARNINGS": "ignore::DeprecationWarning"}
        if not databases.ON_POSTGRESQL:
            env[LOCK_ENV] = "off"  # what the lock prevents: two processes on one SQLite file
        log = open(tmp_path / "second.log", "ab")
        second = subprocess.Popen([*launcher.command_for([station]), "--port", str(second_port)],
                                  stdout=log, stderr=subprocess.STDOUT, env=env, cwd=REPO_ROOT)
        try:
            second_url = f"http://127.0.0.1:{second_port}"
            clients = [net.client, StationClient(lambda code: second_url, data_dir=net.settings.data_dir)]
            deadline = time.monotonic() + 60
            while not _healthy(second_url):
                assert second.poll() is None, (tmp_path / "second.log").read_text()
                assert time.monotonic() < deadline, "the second process did not come up"
                time.sleep(0.3)
            before = _case_numbers(net.settings.database_for(SOUTH_VILLAGE))
            people = [{**applicant(SOUTH_VILLAGE), "name": f"居民{i:03d}"} for i in range(FILINGS)]

            def file(i):
                body = {**filing("MZ-002", ["M01", "M02", "M03", "M04", "M05"]), "applicant": people[i]}
                response = clients[i % 2].post(SOUTH_VILLAGE, "/api/cases", body, timeout=120)
                return i, response.status_code, response.json()

            answers = list(eventlet.GreenPool(AT_ONCE).imap(file, range(FILINGS)))
        finally:
            second.send_signal(signal.SIGTERM)
            second.wait(20)
        filed = {body["case_no"]: i for i, status, body in answers if status == 201}
        refused = [(status, body) for _, status, body in answers if status != 201]
        # every 201 handed out its own number
        assert len(filed) == sum(1 for _, status, _ in answers if status == 201)
        if databases.ON_POSTGRESQL:
            assert refused == [] and len(filed) == FILINGS
        for status, body in refused:  # only with two processes on one SQLite file
            assert status in (409, 503) and body["error"] in ("CONFLICT", "UNAVAILABLE") and body["message"], \
            (status, body)
        # the station holds exactly the cases it answered 201 for, each the resident it was filed for
        stored = _case_numbers(net.settings.database_for(SOUTH_VILLAGE))
        new = {no: name for no, name in stored.items() if no not in before}
        assert set(new) == set(filed)
        assert all(new[no] == people[i]["name"] for no, i in filed.items())


def _healthy(url):
    try:
        return requests.get(url + "/api/health", timeout=2).ok
    except requests.RequestException:
        return False


def _case_numbers(database_url):
    """{case_no: applicant's name} of every case stored at the station."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT case_no, snapshot FROM cases")).all()
    finally:
        engine.dispose()
    return {no: (snap if isinstance(snap, dict) else json.loads(snap))["applicant"]["name"] for no, snap in rows}
