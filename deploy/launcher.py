"""`tongban up`: prepares the network, starts its host processes and stops them all.

A stop signal (SIGTERM, SIGINT, SIGHUP) to the launcher is passed on to every host it
started; a host still running STOP_SECONDS later is killed, and the launcher's exit
status says so. The hosts are told the launcher's PID (deploy/host.py: PARENT_ENV), so
they stop by themselves if the launcher is killed outright.
"""
import errno
import os
import signal
import socket
import subprocess
import sys
import time

import requests

from deploy.broker_users import prepare_broker
from deploy.lifecycle import PARENT_ENV, STOP_SIGNALS
from deploy.seeding import seed_catalogue
from deploy.settings import SAMPLE_CATALOGUE
from services.config import load_network
from shared.db.ownership import is_held

STOP_SECONDS = 10


class NetworkAlreadyRunning(RuntimeError):
    """A station this launcher would start is already served (its port or database is taken)."""


class Launcher:
    def __init__(self, settings, codes=(), per_process=0):
        self.settings = settings
        self.network = load_network(settings.network_path)
        self.stations = self.network.subset(codes) if codes else list(self.network.stations.values())
        self.per_process = per_process
        self.processes = []
        self.stop_requested = None  # the name of the signal that asked to stop
        self.outcome = []  # (group's first station, how its host ended)

    def catch_stop_signals(self):
        def on_signal(signum, frame):
            if self.stop_requested is None:
                self.stop_requested = signal.Signals(signum).name
        for signum in STOP_SIGNALS:
            signal.signal(signum, on_signal)

    def check_not_running(self):
        """NetworkAlreadyRunning if a station's port is taken or its SQLite database is
        served by another process (a network started before and never stopped)."""
        for station in self.stations:
            held = is_held(station.code, self.settings.database_for(station.code))
            if held is not None:
                raise NetworkAlreadyRunning(str(held))
            port = self.settings.port_for(self.network, station.code)
            if _port_taken(self.settings.http_host, port):
                raise NetworkAlreadyRunning(
                    f"port {port} of station {station.code} ({station.name}) is already in use: is the network "
                    f"already running? Stop it first (SIGTERM to its `tongban up`).")

    def groups(self):
        """Stations per host process: by default the district alone, then each township
        together with its villages."""
        if self.per_process:
            return [self.stations[i:i + self.per_process]
                    for i in range(0, len(self.stations), self.per_process)]
        groups = {}
        for station in self.stations:
            key = station.code if len(station.code) == 6 else station.code[:9]
            groups.setdefault(key, []).append(station)
        return list(groups.values())

    def prepare(self, seed=True):
        """Declare the network on the broker, with every station's broker user; with
        `seed`, load the sample catalogue into an empty district catalogue."""
        prepare_broker(self.settings.amqp_uri, self.network, self.settings.secrets_path(),
                       self.settings.management_url or None, ssl=self.settings.amqp_ssl())
        if seed:
            seed_catalogue(self.settings.database_for(self.network.district_code), self.network,
                           SAMPLE_CATALOGUE)

    def command_for(self, group):
        return host_command(self.settings, [st.code for st in group])

    def spawn(self):
        log_dir = os.path.join(self.settings.data_dir, "logs")
        os.makedirs(log_dir, exist_ok=True)
        for group in self.groups():
            log_path = os.path.join(log_dir, f"host-{group[0].code}.log")
            log_file = open(log_path, "ab")
            process = subprocess.Popen(self.command_for(group), stdout=log_file, stderr=subprocess.STDOUT,
                                       cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                       env={**os.environ, PARENT_ENV: str(os.getpid())})
            self.processes.append((process, group, log_path))

    def url_of(self, code):
        return f"http://{self.settings.http_host}:{self.settings.port_for(self.network, code)}"

    def wait_healthy(self, timeout):
        """Seconds until every station answered its health check; None if a stop
        signal came first."""
        started = time.monotonic()
        pending = {s.code for s in self.stations}
        while pending:
            if self.stop_requested:
                return None
            if time.monotonic() - started > timeout:
                raise RuntimeError(f"{len(pending)} stations did not come up: {sorted(pending)[:5]}...")
            for process, group, log_path in self.processes:
                if process.poll() is not None:
                    raise RuntimeError(f"host process for {group[0].code} exited; see {log_path}")
            for code in list(pending):
                try:
                    if requests.get(self.url_of(code) + "/api/health", timeout=2).ok:
                        pending.discard(code)
                except requests.RequestException:
                    pass
            if pending:
                time.sleep(0.3)
        return time.monotonic() - started

    def wait_catalogue(self, timeout=120):
        """Wait until every station has the district's catalogue version; returns it."""
        session = requests.Session()
        version = session.get(self.url_of(self.network.district_code) + "/api/catalogue", timeout=10).json()["version"]
        deadline = time.monotonic() + timeout
        for station in self.stations:
            while session.get(self.url_of(station.code) + "/api/catalogue", timeout=10).json()["version"] < version:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{station.code} did not receive catalogue version {version}")
                time.sleep(0.2)
        return version

    def print_table(self, echo):
        for station in self.stations:
            echo(f"{station.code:<13} {station.tier:<9} {self.url_of(station.code):<24} {station.name}")

    def watch(self):
        """Until a stop signal, or a host process ends by itself."""
        try:
            while not self.stop_requested and all(p.poll() is None for p, _, _ in self.processes):
                time.sleep(0.2)
        except KeyboardInterrupt:
            self.stop_requested = "SIGINT"

    def stop(self):
        """SIGTERM to every host still running, SIGKILL to those still running
        STOP_SECONDS later. True when every host stopped by itself with status 0."""
        for process, _, _ in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_SECONDS
        clean = True
        for process, group, log_path in self.processes:
            try:
                status = process.wait(max(0.1, deadline - time.monotonic()))
                how = "stopped" if status == 0 else f"exited with status {status} (see {log_path})"
                clean = clean and status == 0
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
                how = f"killed: still running {STOP_SECONDS} s after SIGTERM"
                clean = False
            self.outcome.append((group[0].code, how))
        return clean

    def stop_report(self):
        stopped = sum(1 for _, how in self.outcome if how == "stopped")
        lines = [f"{stopped} of {len(self.outcome)} host processes stopped cleanly"
                 + (f" ({self.stop_requested})" if self.stop_requested else "")]
        lines += [f"  host of {code}: {how}" for code, how in self.outcome if how != "stopped"]
        return "\n".join(lines)


def _port_taken(host, port):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # as the stations bind: a port left in TIME_WAIT is free, one with a listener is not
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return True
            raise
    return False


def host_command(settings, codes, root_args=(), run_args=()):
    """The command line of a host process serving stations `codes` with `settings`;
    `root_args` / `run_args`: more options before `station` / after `run CODES`."""
    s = settings
    return [sys.executable, "-m", "deploy.cli", "--network", s.network_path,
            "--data", s.data_dir, "--amqp", s.amqp_uri, "--base-port", str(s.base_port),
            *(["--database-url", s.database_url] if s.database_url else []),
            *(["--clock-file", s.clock_file] if s.clock_file else []),
            *(["--sample-users", s.sample_users] if s.sample_users else []),
            *(["--broker-secrets", s.broker_secrets] if s.broker_secrets else []),
            *(["--amqp-ca", s.amqp_ca] if s.amqp_ca else []),
            *(["--amqp-cert", s.amqp_cert] if s.amqp_cert else []),
            *(["--amqp-key", s.amqp_key] if s.amqp_key else []),
            "--supervision-seconds", str(s.supervision_seconds), *root_args,
            "station", "run", *codes, *run_args]
