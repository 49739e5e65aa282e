"""The process harness: station processes and private RabbitMQ nodes, started and stopped
for the tests, the fault drills and the benchmarks. The one place that spawns a host
process, finds free ports, or waits for something to become true.

    node = BrokerNode.start_new()            # a RabbitMQ node of our own, on free ports
    settings = HostSettings(network_path=..., amqp_uri=node.amqp_uri, data_dir=...)
    net = StationNetwork(settings)           # one host process per station (per_process=1)
    net.start()                              # declares the network, seeds the catalogue, waits
    net.kill("449904001")                    # SIGKILL; stop() sends SIGTERM first
    net.restart("449904001")
    wait_until(lambda: ..., 30, message="the case at the district")
    net.close()
    node.destroy()

Ports. `free_port_block(count)` picks `count` consecutive free ports at random (so that
runs side by side rarely collide), by default below Linux's ephemeral range (32768-60999):
a port free now but in that range can be taken by any outgoing connection (to RabbitMQ,
to PostgreSQL) before the station binds it.

Broker nodes. The fault drills stop, crash and restart "the district's broker". On a
machine whose main node other people use, that must be a node of our own: `BrokerNode`
starts one with its own node name, AMQP, distribution and management ports, data and log
folders, enabled plugins file (the management plugin, through which the stations' broker
users are made) and feature-flags file, and its own config and env files (so nothing is
read from /etc/rabbitmq, whose listener is the main node's port).

    node.amqp_uri                        # amqp://guest:guest@127.0.0.1:<port>/<vhost>
    node.management_url                  # http://127.0.0.1:<management port>
    node = BrokerNode.start_new(tls=TlsFiles(ca, cert, key))   # also a TLS listener:
    node.amqps_uri                       # amqps://guest:guest@127.0.0.1:<TLS port>/<vhost>
    node.restart(down_seconds=3)         # stop the whole node, wait, start it again
    node.restart(hard=True)              # SIGKILL the node's VM, start it again
    node.destroy()                       # stop it and remove its folder
    with private_broker() as node: ...   # started, and destroyed however the block ends

With `tls`, the node also listens for AMQP over TLS (as port 5671 in production,
deploy/compose/rabbitmq.conf): its certificate and key are `tls.cert` and `tls.key`, and
it verifies each client's certificate against `tls.ca`, refusing a client without one.
The plain port stays open on 127.0.0.1 for the administrator and the fault drills.
When run as root the folders (the copies of the TLS files included) are handed to the
`rabbitmq` user, as the packaged `rabbitmq-server` wrapper runs the node as that user.
Persistent messages in durable queues survive every kind of restart: the data folder is
kept until `destroy()`.

Station processes. `StationNetwork` runs `python -m deploy.cli ... station run CODE...`
host processes with the command `tongban up` uses (deploy/launcher.py), each with its log
in <data>/logs/host-<first code>.log. Before it starts, the network's station queues are
deleted (left-overs of an earlier run would otherwise be delivered; queues are named by
station code, shared/messages.py) and the whole network is declared again, with a broker
user per station. Every process started here is stopped when its network closes, when
this process exits, and (on Linux) when this process dies without cleaning up.
"""
import atexit
import contextlib
import ctypes
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path

import requests
from kombu import Connection

from deploy.broker_users import StationSecrets
from deploy.launcher import Launcher, host_command
from deploy.lifecycle import PARENT_ENV
from deploy.settings import ROOT
from shared.messages import catalogue_queue, dead_letter_queue, inbox_queue

HTTP_HOST = "127.0.0.1"
STOP_GRACE_SECONDS = 15


# -- ports and waiting ---------------------------------------------------------------------
def port_is_free(port, host=HTTP_HOST):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def free_port_block(count, low=20000, high=32700, attempts=500):
    """The first of `count` consecutive free ports in low..high, picked at random."""
    rng = random.Random()
    for _ in range(attempts):
        base = rng.randrange(low, high - count)
        if all(port_is_free(base + i) for i in range(count)):
            return base
    raise RuntimeError(f"found no {count} consecutive free ports in {low}..{high}")


def free_port(low=20000, high=32700):
    """One free port, picked at random: a broker node that is down for a moment during a
    drill must not find its port taken by the next node someone else starts."""
    return free_port_block(1, low, high)


def wait_until(predicate, timeout=20.0, interval=0.1, message=None):
    """Poll `predicate` until it returns something true; return that value. A station
    that does not answer yet (requests' errors, a body that is not JSON) counts as not
    yet. AssertionError (with `message`, a text or a function making one) after `timeout` s."""
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


# -- private broker nodes ------------------------------------------------------------------
RABBITMQ_SERVER = os.environ.get("TONGBAN_RABBITMQ_SERVER", "rabbitmq-server")
RABBITMQCTL = os.environ.get("TONGBAN_RABBITMQCTL", "rabbitmqctl")


def _port_open(port, host="127.0.0.1"):
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


class BrokerNodeError(RuntimeError):
    pass


@dataclass(frozen=True)
class TlsFiles:
    """A node's TLS listener: the CA its clients' certificates must be signed by, and the
    node's own certificate (PEM, with any intermediate CAs after it) and private key."""
    ca: str
    cert: str
    key: str


NODE_FILE_LIMIT = 65536


class BrokerNode:
    def __init__(self, name, port, dist_port, base_dir, host="localhost", management_port=None, tls=None,
                 tls_port=None):
        self.name = name
        self.tls = tls
        self.tls_port = tls_port if tls else None
        self.management_port = management_port
        self.management_url = f"http://127.0.0.1:{management_port}" if management_port else None
        self.node = f"{name}@{host}"
        self.port = port
        self.dist_port = dist_port
        self.base_dir = Path(base_dir)
        # a virtual host of its own: should another node ever listen on this port while
        # this one is down, clients are refused there instead of talking to a stranger
        self.vhost = name
        self.amqp_uri = f"amqp://guest:guest@127.0.0.1:{port}/{self.vhost}"
        self._watchdog = None

    @property
    def amqps_uri(self):
        """The TLS listener's URI (guest may log in: it is a connection from 127.0.0.1)."""
        if not self.tls:
            raise BrokerNodeError(f"{self.node} has no TLS listener: start it with tls=TlsFiles(...)")
        return f"amqps://guest:guest@127.0.0.1:{self.tls_port}/{self.vhost}"

    @classmethod
    def start_new(cls, prefix="tongban_drill", timeout=90, watch_parent=True, tls=None):
        """Start a fresh node on free ports; with `watch_parent`, a small watchdog stops
        it if this process dies without cleaning up; with `tls` (TlsFiles), a TLS
        listener too (`amqps_uri`)."""
        name = f"{prefix}_{os.getpid()}_{int(time.time() * 1000) % 100000}"
        # the CLI tools talk to a node from ports dist_port+10000..+10010: keep below 55000
        port = free_port(20000, 30000)
        dist_port = free_port(30000, 45000)
        node = cls(name, port, dist_port, tempfile.mkdtemp(prefix=f"{name}-"),
                   management_port=free_port(45000, 50000), tls=tls,
                   tls_port=free_port(20000, 30000) if tls else None)
        node.write_files()
        node.start(timeout)
        node.ctl("add_vhost", node.vhost)
        node.ctl("set_permissions", "-p", node.vhost, "guest", ".*", ".*", ".*")
        if watch_parent:
            node.watch_parent()
        return node

    # -- files -----------------------------------------------------------------------
    @property
    def pid_file(self):
        return self.base_dir / "node.pid"

    def write_files(self):
        (self.base_dir / "mnesia").mkdir(parents=True, exist_ok=True)
        (self.base_dir / "log").mkdir(exist_ok=True)
        plugins = "[rabbitmq_management]" if self.management_port else "[]"
        (self.base_dir / "enabled_plugins").write_text(f"{plugins}.\n")
        management = (f"management.tcp.port = {self.management_port}\nmanagement.tcp.ip = 127.0.0.1\n"
                      if self.management_port else "")
        (self.base_dir / "rabbitmq.conf").write_text(
            management + self._tls_config() +
            f"listeners.tcp.local = 127.0.0.1:{self.port}\n"
            "loopback_users.guest = true\n"
            # the default 50 MB disk alarm would block publishers on a nearly full disk
            "disk_free_limit.absolute = 10MB\n")
        (self.base_dir / "rabbitmq-env.conf").write_text(
            # sourced by the node's start script after Debian's wrapper `su`s to the
            # rabbitmq user, which sets the soft file limit back to 1,024: a node
            # carrying a whole test network (hundreds of connections) needs more
            f"ulimit -n {NODE_FILE_LIMIT} 2>/dev/null || ulimit -n \"$(ulimit -Hn)\"\n"
            "ERL_EPMD_ADDRESS=127.0.0.1\n"
            'export ERL_FLAGS="-kernel inet_dist_use_interface {127,0,0,1}"\n')
        self.base_dir.chmod(0o755)
        if os.geteuid() == 0:
            subprocess.run(["chown", "-R", "rabbitmq:rabbitmq", str(self.base_dir)], check=True)

    def _tls_config(self):
        """The TLS listener's lines of rabbitmq.conf, with copies of the TLS files in the
        node's folder (readable by the user the node runs as)."""
        if not self.tls:
            return ""
        folder = self.base_dir / "tls"
        folder.mkdir(exist_ok=True)
        copies = {}
        for kind, source, mode in (("ca", self.tls.ca, 0o644), ("cert", self.tls.cert, 0o644),
                                   ("key", self.tls.key, 0o600)):
            copies[kind] = folder / f"{kind}.pem"
            shutil.copyfile(source, copies[kind])
            copies[kind].chmod(mode)
        return (f"listeners.ssl.default = 127.0.0.1:{self.tls_port}\n"
                f"ssl_options.cacertfile = {copies['ca']}\n"
                f"ssl_options.certfile = {copies['cert']}\n"
                f"ssl_options.keyfile = {copies['key']}\n"
                # a client must show a certificate signed by the CA, or it is refused
                "ssl_options.verify = verify_peer\n"
                "ssl_options.fail_if_no_peer_cert = true\n")

    def env(self):
        env = dict(os.environ)
        b = self.base_dir
        env.update({
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_MNESIA_BASE": str(b / "mnesia"),
            "RABBITMQ_LOG_BASE": str(b / "log"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(b / "enabled_plugins"),
            "RABBITMQ_FEATURE_FLAGS_FILE": str(b / "feature_flags"),
            "RABBITMQ_CONFIG_FILE": str(b / "rabbitmq.conf"),
            "RABBITMQ_CONF_ENV_FILE": str(b / "rabbitmq-env.conf"),
            "RABBITMQ_PID_FILE": str(self.pid_file),
        })
        return env

    # -- control ---------------------------------------------------------------------
    def ctl(self, *args, timeout=60, check=True):
        result = subprocess.run([RABBITMQCTL, "-n", self.node, *args], env=self.env(),
                                capture_output=True, text=True, timeout=timeout)
        if check and result.returncode != 0:
            raise BrokerNodeError(f"rabbitmqctl {' '.join(args)} on {self.node}: "
                                  f"{(result.stderr or result.stdout).strip()[-600:]}")
        return result

    def pid(self):
        try:
            return int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return None

    def vm_alive(self):
        pid = self.pid()
        if pid is None:
            return False
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True

    def running(self):
        return self.vm_alive() and _port_open(self.port)

    def start(self, timeout=90):
        """Start the node (its data is kept from any earlier run) and wait until it
        accepts AMQP connections."""
        if self.running():
            return
        try:
            self.pid_file.unlink()
        except OSError:
            pass
        subprocess.run([RABBITMQ_SERVER, "-detached"], env=self.env(), check=True,
                       capture_output=True, timeout=30)
        # `await_startup` answers once this node (by name, so not some other node on the
        # port) has booted, listener included; it fails at once while the node has not
        # registered yet, hence the loop. A node that cannot boot (say, its port taken)
        # exits: reported with its log.
        deadline = time.monotonic() + timeout
        while True:
            left = int(deadline - time.monotonic())
            if left <= 0:
                raise BrokerNodeError(f"{self.node} did not start within {timeout} s:\n{self.log_tail(15)}")
            if self.pid_file.exists() and not self.vm_alive():
                raise BrokerNodeError(f"{self.node} exited while starting:\n{self.log_tail(15)}")
            if self.ctl("await_startup", "--timeout", str(left), timeout=left + 10, check=False).returncode == 0:
                return
            time.sleep(0.5)

    def stop(self, timeout=60):
        """Stop the whole node (the Erlang VM exits); its data stays for the next start."""
        if not self.vm_alive():
            return
        pid = self.pid()
        result = self.ctl("stop", str(self.pid_file), timeout=timeout, check=False)
        if result.returncode != 0 and pid is not None:
            self._kill_vm(pid)
        self._wait_vm_gone(pid, timeout)

    def kill(self):
        """Crash the node: SIGKILL its Erlang VM (unlike stop(), nothing is flushed
        politely; confirmed persistent messages are on disk all the same)."""
        pid = self.pid()
        if pid is not None and self.vm_alive():
            self._kill_vm(pid)
            self._wait_vm_gone(pid, 30)

    def restart(self, down_seconds=0.0, hard=False, timeout=90):
        """Stop (or, `hard`, kill) the node, keep it down `down_seconds`, start it again.
        Returns how long the broker was unreachable, in seconds."""
        began = time.monotonic()
        self.kill() if hard else self.stop()
        if down_seconds:
            time.sleep(down_seconds)
        self.start(timeout)
        return time.monotonic() - began

    def stop_app(self):
        self.ctl("stop_app")

    def start_app(self):
        self.ctl("start_app")

    def destroy(self):
        """Stop the node and remove its folder."""
        try:
            self.stop()
        finally:
            if self._watchdog is not None and self._watchdog.poll() is None:
                self._watchdog.kill()
                self._watchdog.wait(5)
            shutil.rmtree(self.base_dir, ignore_errors=True)

    def watch_parent(self):
        """Stop the node (and remove its folder) when this process is gone, however it
        ended; a small shell that polls for it every 2 seconds."""
        script = (f'while kill -0 {os.getpid()} 2>/dev/null; do sleep 2; done; '
                  f'{RABBITMQCTL} -n {self.node} stop {self.pid_file} >/dev/null 2>&1; '
                  f'rm -rf "{self.base_dir}"')
        self._watchdog = subprocess.Popen(["sh", "-c", script], env=self.env(),
                                          stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                          stderr=subprocess.DEVNULL, start_new_session=True)

    @staticmethod
    def _kill_vm(pid):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def _wait_vm_gone(self, pid, timeout):
        deadline = time.monotonic() + timeout
        while pid is not None and time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.1)

    def log_tail(self, lines=30):
        path = self.base_dir / "log" / f"{self.node}.log"
        try:
            return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


@contextlib.contextmanager
def private_broker(prefix="tongban_test", timeout=90, tls=None):
    """A fresh node on free ports (with `tls`, a TlsFiles, a TLS listener too); stopped
    and its folder removed afterwards (or, should this process die, by the node's
    watchdog)."""
    node = BrokerNode.start_new(prefix=prefix, timeout=timeout, tls=tls)
    try:
        yield node
    finally:
        node.destroy()


# -- the broker's queues -------------------------------------------------------------------
def station_queue_names(network):
    """Every queue the stations of `network` own on the broker."""
    names = []
    for code in network.stations:
        own = [inbox_queue(code)]
        if code != network.district_code:
            own.append(catalogue_queue(code))
        names += own + [dead_letter_queue(name) for name in own]
    return names


def delete_queues(amqp_uri, names, ssl=None):
    with Connection(amqp_uri, connect_timeout=5, ssl=ssl) as connection:
        channel = connection.default_channel
        for name in names:
            channel.queue_delete(queue=name)  # deleting a missing queue is not an error


def queue_depth(amqp_uri, name, ssl=None):
    """Messages ready in queue `name` (0 if it does not exist)."""
    with Connection(amqp_uri, connect_timeout=5, ssl=ssl) as connection:
        try:
            _, count, _ = connection.default_channel.queue_declare(queue=name, passive=True)
        except Exception:
            return 0
        return count


def check_broker(amqp_uri, timeout=5):
    """None when the broker answers, else a message saying why not."""
    try:
        with Connection(amqp_uri, connect_timeout=timeout) as connection:
            connection.ensure_connection(max_retries=2, interval_start=0.5, timeout=timeout)
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


# -- station processes ---------------------------------------------------------------------
_live_processes = set()


def _kill_leftovers():
    for process in list(_live_processes):
        process.kill()


atexit.register(_kill_leftovers)


def die_with_parent():
    """preexec_fn: the child gets SIGKILL when the process that started it dies (Linux only)."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except Exception:
        pass


class StationProcess:
    """One host process running one or more stations, its output appended to `log_path`."""

    def __init__(self, codes, command, log_path, env, cwd=ROOT):
        self.codes = tuple(codes)
        self.command = command
        self.log_path = Path(log_path)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "ab")
        self._log.write(f"\n=== {time.strftime('%H:%M:%S')} {' '.join(command)}\n".encode())
        self._log.flush()
        self.popen = subprocess.Popen(
            command, stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env=env, cwd=str(cwd),
            preexec_fn=die_with_parent if sys.platform.startswith("linux") else None)
        _live_processes.add(self)

    @property
    def pid(self):
        return self.popen.pid

    @property
    def returncode(self):
        return self.popen.poll()

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
        """SIGKILL: no clean-up of any kind. Returns the exit code."""
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
    """Host processes for the stations of `settings`' network (all, or `codes` and their
    parents), `per_process` stations each (1: each station alone; 0: as `tongban up`
    groups them, the district alone and each township with its villages).

    `root_args` / `run_args`: extra options before `station` / after `run CODES`.
    `declare=False` leaves the broker alone (a network whose AMQP URI is unusable): only
    the stations' broker passwords are made. `seed`: load the sample catalogue into the
    district first. `clean_env`: the processes get no TONGBAN_* variables of this process
    (everything they need is on their command line), else this process's environment, as
    `tongban up` passes it. `restart_crashed`: what systemd's Restart=always does in
    production (deploy/systemd): a process that exits by itself is started again, and
    the exit is recorded in `crashes`; one stopped or killed here stays down until
    started again."""

    def __init__(self, settings, codes=(), per_process=1, root_args=(), run_args=(), declare=True,
                 seed=True, clean_env=True, startup_timeout=60.0, restart_crashed=False):
        self.settings = settings
        self.launcher = Launcher(settings, codes, per_process)
        self.network = self.launcher.network
        self.stations = self.launcher.stations
        self.codes = list(self.network.stations)
        self.district_code = self.network.district_code
        self.root_args = tuple(root_args)
        self.run_args = tuple(run_args)
        self.declare = declare
        self.seed = seed
        self.clean_env = clean_env
        self.startup_timeout = startup_timeout
        self.log_dir = Path(settings.data_dir) / "logs"
        self.processes = {}          # station code -> the StationProcess running it
        self.held_down = set()       # stations stopped on purpose, until started again
        self.crashes = []            # (code, exit code): processes that exited by themselves
        self._all_processes = []
        self._prepared = False
        self._lock = threading.RLock()
        self._stopping = threading.Event()
        self.http = requests.Session()
        if restart_crashed:
            threading.Thread(target=self._supervise, daemon=True).start()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- the broker ------------------------------------------------------------------
    def prepare(self):
        """Delete this network's station queues and declare the network afresh, with a
        broker user for every station (its password in the settings' secrets file, where
        the stations find it); with `seed`, the sample catalogue at the district."""
        if self.declare:
            delete_queues(self.settings.amqp_uri, station_queue_names(self.network), self.settings.amqp_ssl())
            self.launcher.prepare(seed=self.seed)
        else:
            StationSecrets(self.settings.secrets_path()).ensure(list(self.network.stations))
        self._prepared = True

    def queue_depth(self, name):
        return queue_depth(self.settings.amqp_uri, name, self.settings.amqp_ssl())

    # -- processes -------------------------------------------------------------------
    def command(self, codes, sync_seconds=None, amqp_uri=None, root_args=(), run_args=()):
        settings = self.settings
        if amqp_uri:
            settings = replace(settings, amqp_uri=amqp_uri)
        sync = settings.sync_seconds if sync_seconds is None else sync_seconds
        return host_command(
            settings, codes, root_args=(*self.root_args, *root_args),
            run_args=("--sync-seconds", str(sync), *self.run_args, *run_args))

    def _env(self):
        if self.clean_env:
            env = {k: v for k, v in os.environ.items() if not k.startswith("TONGBAN_")}
        else:
            env = dict(os.environ)
        env.update({"PYTHONUNBUFFERED": "1", "PYTHONWARNINGS": "ignore::DeprecationWarning",
                    PARENT_ENV: str(os.getpid())})  # a host stops by itself once we are gone
        return env

    def start(self, groups=None, wait=True, **options):
        """Start stations: `groups` is None (this network's stations, grouped by
        `per_process`), a list of codes (each in its own process) or a list of lists of
        codes (one process each). With `wait`, until every one answers /api/health."""
        if groups is None:
            groups = [[s.code for s in group] for group in self.launcher.groups()]
        groups = [[g] if isinstance(g, str) else list(g) for g in groups]
        started = [self.start_station(group, wait=False, **options) for group in groups]
        if wait:
            self.wait_healthy([code for p in started for code in p.codes])
        return started

    def start_station(self, codes, wait=True, sync_seconds=None, amqp_uri=None, root_args=(), run_args=()):
        """Start one host process for `codes` (a code or a list of codes)."""
        if not self._prepared:
            self.prepare()
        codes = [codes] if isinstance(codes, str) else list(codes)
        with self._lock:
            for code in codes:
                self.network.station(code)
                running = self.processes.get(code)
                if running is not None and running.alive():
                    raise RuntimeError(f"station {code} is already running (pid {running.pid})")
            process = StationProcess(codes, self.command(codes, sync_seconds, amqp_uri, root_args, run_args),
                                     self.log_dir / f"host-{codes[0]}.log", self._env())
            self._all_processes.append(process)
            for code in codes:
                self.processes[code] = process
                self.held_down.discard(code)
        if wait:
            self.wait_healthy(codes)
        return process

    def _supervise(self):
        while not self._stopping.wait(0.5):
            with self._lock:
                for code, process in list(self.processes.items()):
                    if (not process.alive() and code not in self.held_down and process.codes[0] == code
                            and not self._stopping.is_set()):
                        self.crashes.append((code, process.returncode))
                        try:
                            self.start_station(list(process.codes), wait=False)
                        except Exception as exc:  # tried again on the next round
                            self.crashes.append((code, f"not started again: {exc}"))

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

    def host_processes(self):
        """The processes running now, one per host."""
        return [p for p in dict.fromkeys(self.processes.values()) if p.alive()]

    def stop(self, code, grace=STOP_GRACE_SECONDS):
        """SIGTERM the process running `code` (and any station sharing it); SIGKILL if
        it has not exited after `grace` seconds. Returns its exit code."""
        process = self.process_of(code)
        self.held_down.update(process.codes)
        return process.terminate(grace)

    def stop_all(self, codes, grace=STOP_GRACE_SECONDS):
        """Stop the processes of several stations at once; {code: exit code}."""
        processes = {code: self.process_of(code) for code in codes}
        for process in set(processes.values()):
            self.held_down.update(process.codes)
            if process.alive():
                process.popen.send_signal(signal.SIGTERM)
        return {code: process.terminate(grace) for code, process in processes.items()}

    def kill(self, code):
        """SIGKILL the process running `code`. Returns its exit code."""
        process = self.process_of(code)
        self.held_down.update(process.codes)
        return process.kill()

    def restart(self, code, hard=False, wait=True, **options):
        """Stop (SIGKILL when `hard`) and start again the process running `code`, with
        the same stations; `options` as for start_station."""
        process = self.process_of(code)
        self.held_down.update(process.codes)
        process.kill() if hard else process.terminate()
        return self.start_station(list(process.codes), wait=wait, **options)

    def healthy(self, code):
        try:
            return self.http.get(self.url(code) + "/api/health", timeout=5).status_code == 200
        except requests.RequestException:
            return False

    def wait_healthy(self, codes=None, timeout=None):
        """Until every station of `codes` (default: every started one) answers
        /api/health; RuntimeError at once if one's process has exited."""
        codes = list(codes or self.processes)
        timeout = self.startup_timeout if timeout is None else timeout
        deadline = time.monotonic() + timeout
        pending = set(codes)
        while pending:
            for code in list(pending):
                process = self.processes.get(code)
                if process is not None and not process.alive():
                    raise RuntimeError(f"the process of station {code} exited with "
                                       f"{process.returncode}:\n{process.log_tail()}")
                if self.healthy(code):
                    pending.discard(code)
            if pending:
                if time.monotonic() > deadline:
                    tails = "\n".join(f"--- {c}\n{self.processes[c].log_tail(15)}"
                                      for c in sorted(pending) if c in self.processes)
                    raise TimeoutError(f"stations not healthy after {timeout} s: "
                                       f"{sorted(pending)}\n{tails}")
                time.sleep(0.2)

    def wait_catalogue(self, timeout=120):
        """Until every station of this network has the district's catalogue version."""
        return self.launcher.wait_catalogue(timeout)

    def close(self, grace=5.0):
        """Stop every process this network started: SIGTERM, then SIGKILL for those
        still running after `grace` seconds."""
        self._stopping.set()
        with self._lock:
            alive = [p for p in self._all_processes if p.alive()]
            for process in alive:
                process.popen.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + grace
            for process in alive:
                try:
                    process.popen.wait(max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    pass
            for process in self._all_processes:
                process.kill()
        self.http.close()

    def log_tail(self, code, lines=40):
        process = self.processes.get(code)
        return process.log_tail(lines) if process else ""

    def log_tails(self, lines=30):
        return "\n".join(f"--- {p.codes} ({p.log_path})\n{p.log_tail(lines)}"
                         for p in dict.fromkeys(self._all_processes))

    # -- addresses -------------------------------------------------------------------
    def port(self, code):
        return self.settings.port_for(self.network, code)

    def url(self, code):
        return self.launcher.url_of(code)

    def database_url(self, code):
        return self.settings.database_for(code)

