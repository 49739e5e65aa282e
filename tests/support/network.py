"""Real stations in separate OS processes, for tests that cross the broker.

`StationNetwork` runs `python -m deploy.cli ... station run CODE...` subprocesses against
the real RabbitMQ, each test network with its own data folder and its own block of free
HTTP ports (under TONGBAN_TEST_DATABASE=postgresql also its own PostgreSQL databases,
dropped when it closes: tests/support/databases.py). Station queues are named by station
code (shared/messages.py), so before a network starts its stations' queues are deleted
(left-overs of an earlier run would otherwise be delivered) and the whole network is
declared again (services/topology.py).

    with StationNetwork(tmp_path) as net:
        net.start()                               # one process per station
        net.post(net.district_code, "/api/catalogue/items", {...})
        net.wait_until(lambda: net.converged(), timeout=10)
        net.stop("449901001001")                  # SIGTERM; kill() sends SIGKILL
        net.start_station("449901001001", sync_seconds=3600)

Every process started here is stopped when the network closes, when the test process
exits, and (on Linux) when the test process dies without cleaning up.
"""
import atexit
import contextlib
import ctypes
import os
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import requests
import yaml
from kombu import Connection, Producer

from deploy.settings import SAMPLE_USERS
from deploy.station_client import StationClient
from deploy.broker_users import StationSecrets, prepare_broker, station_uri
from shared.messages import catalogue_queue, dead_letter_queue, inbox_queue
from shared.stations import Network
from shared.trust.identities import broker_user
from tests.support import databases

REPO_ROOT = Path(__file__).resolve().parents[2]
TEST_DATA = REPO_ROOT / "tests" / "data"
SMALL_NETWORK = TEST_DATA / "network_small.yaml"

AMQP_URI = os.environ.get("TONGBAN_TEST_AMQP_URI", "amqp://guest:guest@127.0.0.1:5672/")
# a broker address nothing listens on: a station configured with it has no broker link
UNREACHABLE_AMQP_URI = "amqp://guest:guest@127.0.0.1:1/"

HTTP_HOST = "127.0.0.1"
HTTP_TIMEOUT = 10
STOP_GRACE_SECONDS = 15

_live_processes = set()


def _kill_leftovers():
    for process in list(_live_processes):
        process.kill()


atexit.register(_kill_leftovers)


def _die_with_parent():
    """preexec_fn: the child gets SIGKILL when the test process dies (Linux only)."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except Exception:
        pass


def port_is_free(port, host=HTTP_HOST):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def free_port_block(count, low=20000, high=32700, attempts=500):
    """The first port of `count` consecutive free ports, picked at random so that test
    runs side by side rarely collide. Below Linux's ephemeral range (32768-60999): a port
    free now but in that range can be taken by any outgoing connection (to RabbitMQ, to
    PostgreSQL) before the station binds it."""
    rng = random.Random()
    for _ in range(attempts):
        base = rng.randrange(low, high - count)
        if all(port_is_free(base + i) for i in range(count)):
            return base
    raise RuntimeError(f"found no {count} consecutive free ports")


def station_queue_names(network):
    """Every queue the stations of `network` own on the broker."""
    names = []
    for code in network.stations:
        own = [inbox_queue(code)]
        if code != network.district_code:
            own.append(catalogue_queue(code))
        names += own + [dead_letter_queue(name) for name in own]
    return names


def delete_queues(amqp_uri, names):
    with Connection(amqp_uri, connect_timeout=5) as connection:
        channel = connection.default_channel
        for name in names:
            channel.queue_delete(queue=name)  # deleting a missing queue is not an error


def queue_depth(amqp_uri, name):
    """Messages ready in queue `name` (0 if it does not exist)."""
    with Connection(amqp_uri, connect_timeout=5) as connection:
        try:
            _, count, _ = connection.default_channel.queue_declare(queue=name, passive=True)
        except Exception:
            return 0
        return count


def check_broker(amqp_uri=AMQP_URI, timeout=5):
    """None when the broker answers, else a message saying why not."""
    try:
        with Connection(amqp_uri, connect_timeout=timeout) as connection:
            connection.ensure_connection(max_retries=2, interval_start=0.5, timeout=timeout)
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


class StationProcess:
    """One host process running one or more stations."""

    def __init__(self, codes, command, log_path, env, cwd):
        self.codes = tuple(codes)
        self.command = command
        self.log_path = Path(log_path)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "ab")
        self._log.write(f"\n=== {time.strftime('%H:%M:%S')} {' '.join(command)}\n".encode())
        self._log.flush()
        self.popen = subprocess.Popen(
            command, stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env=env, cwd=cwd,
            preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None)
        _live_processes.add(self)

    @property
    def pid(self):
        return self.popen.pid

    def alive(self):
        return self.popen.poll() is None

    def terminate(self, grace=STOP_GRACE_SECONDS):
        """SIGTERM, then SIGKILL if it has not exited within `grace` seconds.
        Returns the exit code."""
        if self.alive():
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(grace)
            except subprocess.TimeoutExpired:
                self.popen.kill()
        return self._reap()

    def kill(self):
        if self.alive():
            self.popen.kill()
        return self._reap()

    def _reap(self):
        try:
            code = self.popen.wait(10)
        finally:
            _live_processes.discard(self)
            if not self._log.closed:
                self._log.close()
        return code

    def log_tail(self, lines=40):
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


class StationNetwork:
    """A test network of real station processes. See the module docstring."""

    def __init__(self, workdir, network=SMALL_NETWORK, amqp_uri=AMQP_URI, sync_seconds=30.0,
                 base_port=None, root_args=(), run_args=(), declare=True,
                 startup_timeout=60.0, management_url=None):
        """`network`: a YAML path, or a dict written to `workdir`/network.yaml.
        `root_args` / `run_args`: extra options before `station` / after `run CODES`.
        `declare=False` leaves the broker alone (a network whose AMQP URI is unusable)."""
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        if isinstance(network, dict):
            path = self.workdir / "network.yaml"
            path.write_text(yaml.safe_dump(network, allow_unicode=True, sort_keys=False),
                            encoding="utf-8")
            network = path
        self.network_path = Path(network).resolve()
        self.network = Network.load(self.network_path)
        self.codes = list(self.network.stations)
        self.district_code = self.network.district_code
        self.amqp_uri = amqp_uri
        self.sync_seconds = sync_seconds
        self.root_args = tuple(root_args)
        self.run_args = tuple(run_args)
        self.declare = declare
        self.management_url = management_url  # of the broker at amqp_uri (default: its host, port 15672)
        self.startup_timeout = startup_timeout
        self.data_dir = self.workdir / "data"
        self.log_dir = self.workdir / "logs"
        self.data_dir.mkdir(exist_ok=True)
        self.base_port = base_port or free_port_block(len(self.codes))
        # None: an SQLite file per station in data_dir; else PostgreSQL databases of this network
        self.database_template = databases.url_template()
        self.processes = {}  # station code -> the StationProcess running it
        self._all_processes = []
        self._prepared = False
        self.http = requests.Session()
        # every call is made by the sample user who would make it (deploy/station_client.py)
        self.client = StationClient(self.url, timeout=HTTP_TIMEOUT, data_dir=self.data_dir)

    # -- context -------------------------------------------------------------------
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- the broker ------------------------------------------------------------------
    def prepare(self):
        """Delete this network's station queues and declare the network afresh, with a
        broker user for every station (its password in data_dir/broker-secrets.yaml,
        where the stations find it). `declare=False`: only the passwords."""
        if self.declare:
            delete_queues(self.amqp_uri, station_queue_names(self.network))
            prepare_broker(self.amqp_uri, self.network, self.secrets_path, self.management_url)
        else:
            StationSecrets(self.secrets_path).ensure(list(self.network.stations))
        self._prepared = True

    @property
    def secrets_path(self):
        return self.data_dir / "broker-secrets.yaml"

    def queue_depth(self, name):
        return queue_depth(self.amqp_uri, name)

    def dead_letter_counts(self):
        """Messages waiting in every dead-letter queue of this network's stations."""
        return {name: self.queue_depth(name) for name in station_queue_names(self.network)
                if name.endswith(".dead")}

    def purge(self, *queue_names):
        with Connection(self.amqp_uri, connect_timeout=5) as connection:
            channel = connection.default_channel
            return sum(channel.queue_purge(queue=name) or 0 for name in queue_names)

    def station_amqp_uri(self, code):
        """The broker as station `code` connects to it, with its own credentials."""
        return station_uri(self.amqp_uri, code, StationSecrets(self.secrets_path).password_of(code))

    def publish(self, exchange, bodies, routing_key="", headers=None, as_station=None):
        """Publish each of `bodies` (JSON; an envelope's "message_id" becomes the
        message id) to the exchange named `exchange` as persistent messages, in order,
        each confirmed by the broker. `as_station`: as that station does, with its own
        broker user as the validated `user_id` (receivers accept nothing else)."""
        uri = self.station_amqp_uri(as_station) if as_station else self.amqp_uri
        user_id = {"user_id": broker_user(as_station)} if as_station else {}
        with Connection(uri, connect_timeout=5, transport_options={"confirm_publish": True}) as connection:
            producer = Producer(connection)
            for body in bodies:
                message_id = body.get("message_id") if isinstance(body, dict) else None
                producer.publish(body, exchange=exchange, routing_key=routing_key,
                                 serializer="json", delivery_mode=2, message_id=message_id,
                                 headers=headers or {}, retry=True, **user_id)

    @contextlib.contextmanager
    def rpc(self, timeout=10):
        """A nameko ClusterRpcProxy on this network's broker."""
        from nameko.standalone.rpc import ClusterRpcProxy
        with ClusterRpcProxy({"AMQP_URI": self.amqp_uri}, timeout=timeout) as proxy:
            yield proxy

    # -- processes -----------------------------------------------------------------
    def command(self, codes, sync_seconds=None, amqp_uri=None, root_args=(), run_args=()):
        sync = self.sync_seconds if sync_seconds is None else sync_seconds
        return [sys.executable, "-m", "deploy.cli", "-v",
                "--network", str(self.network_path), "--data", str(self.data_dir),
                "--amqp", amqp_uri or self.amqp_uri, "--base-port", str(self.base_port),
                *(["--database-url", self.database_template] if self.database_template else []),
                "--sample-users", str(SAMPLE_USERS),
                *self.root_args, *root_args,
                "station", "run", *codes, "--sync-seconds", str(sync),
                *self.run_args, *run_args]

    def _env(self):
        env = {k: v for k, v in os.environ.items() if not k.startswith("TONGBAN_")}
        env["PYTHONUNBUFFERED"] = "1"
        env["PYTHONWARNINGS"] = "ignore::DeprecationWarning"
        return env

    def start(self, groups=None, wait=True, **options):
        """Start stations: `groups` is None (every station in its own process), a list of
        codes (each in its own process) or a list of lists of codes (one process each).
        Waits until every started station answers /api/health."""
        if groups is None:
            groups = self.codes
        groups = [[g] if isinstance(g, str) else list(g) for g in groups]
        started = [self.start_station(group, wait=False, **options) for group in groups]
        if wait:
            self.wait_healthy([code for p in started for code in p.codes])
        return started

    def start_station(self, codes, wait=True, sync_seconds=None, amqp_uri=None,
                      root_args=(), run_args=()):
        """Start one host process for `codes` (a code or a list of codes)."""
        if not self._prepared:
            self.prepare()
        codes = [codes] if isinstance(codes, str) else list(codes)
        for code in codes:
            self.network.station(code)
            running = self.processes.get(code)
            if running is not None and running.alive():
                raise RuntimeError(f"station {code} is already running (pid {running.pid})")
        process = StationProcess(
            codes, self.command(codes, sync_seconds, amqp_uri, root_args, run_args),
            self.log_dir / f"host-{codes[0]}.log", self._env(), str(REPO_ROOT))
        self._all_processes.append(process)
        for code in codes:
            self.processes[code] = process
        if wait:
            self.wait_healthy(codes)
        return process

    def ensure_running(self, **options):
        """Start again, each in its own process, any started station whose process has
        exited (so one failed test does not take the next ones down with it)."""
        dead = [code for code, process in self.processes.items() if not process.alive()]
        if dead:
            self.start(dead, **options)
        return dead

    def process_of(self, code):
        try:
            return self.processes[code]
        except KeyError:
            raise KeyError(f"station {code} was not started by this network") from None

    def stop(self, code, grace=STOP_GRACE_SECONDS):
        """SIGTERM the process running `code` (and any station sharing it); SIGKILL if
        it has not exited after `grace` seconds. Returns its exit code."""
        return self.process_of(code).terminate(grace)

    def stop_all(self, codes, grace=STOP_GRACE_SECONDS):
        """Stop the processes of several stations at once; {code: exit code}."""
        processes = {code: self.process_of(code) for code in codes}
        for process in set(processes.values()):
            if process.alive():
                process.popen.send_signal(signal.SIGTERM)
        return {code: process.terminate(grace) for code, process in processes.items()}

    def kill(self, code):
        """SIGKILL the process running `code`."""
        return self.process_of(code).kill()

    def restart(self, code, hard=False, wait=True, **options):
        """Stop (SIGKILL when `hard`) and start again the process running `code`,
        with the same stations; `options` as for start_station."""
        process = self.process_of(code)
        process.kill() if hard else process.terminate()
        return self.start_station(list(process.codes), wait=wait, **options)

    def wait_healthy(self, codes=None, timeout=None):
        codes = list(codes or self.processes)
        timeout = self.startup_timeout if timeout is None else timeout
        deadline = time.monotonic() + timeout
        pending = set(codes)
        while pending:
            for code in list(pending):
                process = self.processes.get(code)
                if process is not None and not process.alive():
                    raise RuntimeError(f"the process of station {code} exited with "
                                       f"{process.popen.returncode}:\n{process.log_tail()}")
                try:
                    if self.http.get(self.url(code) + "/api/health", timeout=5).status_code == 200:
                        pending.discard(code)
                except requests.RequestException:
                    pass
            if pending:
                if time.monotonic() > deadline:
                    tails = "\n".join(f"--- {c}\n{self.processes[c].log_tail(15)}"
                                      for c in sorted(pending) if c in self.processes)
                    raise TimeoutError(f"stations not healthy after {timeout} s: "
                                       f"{sorted(pending)}\n{tails}")
                time.sleep(0.2)

    def close(self, grace=5.0):
        """Stop every process this network started: SIGTERM, then SIGKILL for those
        still running after `grace` seconds."""
        alive = [p for p in self._all_processes if p.alive()]
        for process in alive:
            process.popen.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + grace
        for process in alive:
            try:
                process.popen.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
            process.kill()
        for process in self._all_processes:
            process.kill()
        self.http.close()
        databases.drop_network_databases(self.database_template)

    def log_tails(self, lines=30):
        return "\n".join(f"--- {p.codes} ({p.log_path})\n{p.log_tail(lines)}"
                         for p in self._all_processes)

    # -- HTTP ------------------------------------------------------------------------
    def port(self, code):
        return self.base_port + self.codes.index(code)

    def url(self, code):
        return f"http://{HTTP_HOST}:{self.port(code)}"

    def request(self, method, code, path, json=None, params=None, headers=None, as_user=None):
        """`as_user`: a username of the station, False for no login, None for the sample
        user who would make this request (see deploy/station_client.py)."""
        return self.client.request(method, code, path, json=json, params=params, headers=headers,
                                   as_user=as_user, timeout=HTTP_TIMEOUT)

    def get(self, code, path, params=None, as_user=None):
        return self.request("GET", code, path, params=params, as_user=as_user)

    def post(self, code, path, json=None, headers=None, as_user=None):
        return self.request("POST", code, path, json=json, headers=headers, as_user=as_user)

    def patch(self, code, path, json=None, headers=None, as_user=None):
        return self.request("PATCH", code, path, json=json, headers=headers, as_user=as_user)

    def catalogue_summary(self, code):
        """{"version": ..., "content_hash": ...} of `code`'s copy of the catalogue."""
        response = self.get(code, "/api/catalogue")
        response.raise_for_status()
        return response.json()

    def catalogue_state(self, code):
        """(version, content_hash) of `code`'s copy: what replicas must agree on."""
        summary = self.catalogue_summary(code)
        return summary["version"], summary["content_hash"]

    def catalogue_states(self, codes=None):
        return {code: self.catalogue_state(code) for code in (codes or self.codes)}

    @property
    def replicas(self):
        return [code for code in self.codes if code != self.district_code]

    def converged(self, codes=None):
        """True when every replica in `codes` (default: all) has the district's hash."""
        master = self.catalogue_state(self.district_code)
        return all(self.catalogue_state(code) == master for code in (codes or self.replicas))

    # -- databases -------------------------------------------------------------------
    def database_url(self, code):
        """Station `code`'s database: its SQLite file, or its PostgreSQL database."""
        return databases.station_url(self.database_template, self.data_dir, code)

    def database_path(self, code):
        return self.data_dir / f"{code}.sqlite3"

    def copy_database(self, code, destination):
        """A consistent copy of `code`'s database (safe while it runs), to an SQLite file
        `destination`, or to a new database whose URL is `destination`."""
        if self.database_template or str(destination).startswith("postgresql"):
            return databases.copy_database(self.database_url(code), str(destination))
        destination = Path(str(destination).removeprefix("sqlite:///"))
        destination.parent.mkdir(parents=True, exist_ok=True)
        source = sqlite3.connect(f"file:{self.database_path(code)}?mode=ro", uri=True)
        target = sqlite3.connect(destination)
        try:
            source.backup(target)
        finally:
            target.close()
            source.close()
        return destination

    # -- waiting ---------------------------------------------------------------------
    @staticmethod
    def wait_until(predicate, timeout=10.0, interval=0.05, message=None):
        """Poll `predicate` until it returns something true; return that value.
        AssertionError (with `message`, or the last exception) after `timeout` s."""
        deadline = time.monotonic() + timeout
        last_error = None
        while True:
            try:
                value = predicate()
            except (requests.RequestException, ValueError) as exc:
                value, last_error = None, exc
            if value:
                return value
            if time.monotonic() > deadline:
                detail = message() if callable(message) else message
                raise AssertionError(f"not true after {timeout} s: {detail or predicate}"
                                     + (f" (last error: {last_error})" if last_error else ""))
            time.sleep(interval)


def close_networks(networks, failed=False):
    """Close every network; after a failure first print the tails of the stations' logs."""
    for net in networks:
        try:
            if failed:
                print(f"\nstation logs under {net.workdir}:\n{net.log_tails(20)}")
        finally:
            net.close()
