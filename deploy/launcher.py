"""`tongban up`: prepares the network and starts its host processes."""
import os
import signal
import subprocess
import sys
import time

import requests

from deploy.seeding import seed_catalogue
from deploy.settings import SAMPLE_CATALOGUE
from services.config import load_network
from services.topology import declare_network


class Launcher:
    def __init__(self, settings, codes=(), per_process=0):
        self.settings = settings
        self.network = load_network(settings.network_path)
        self.stations = self.network.subset(codes) if codes else list(self.network.stations.values())
        self.per_process = per_process
        self.processes = []

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

    def prepare(self):
        declare_network(self.settings.amqp_uri, self.network)
        seed_catalogue(self.settings.database_for(self.network.district_code), self.network,
                       SAMPLE_CATALOGUE)

    def command_for(self, group):
        s = self.settings
        return [sys.executable, "-m", "deploy.cli", "--network", s.network_path,
                "--data", s.data_dir, "--amqp", s.amqp_uri, "--base-port", str(s.base_port),
                *(["--database-url", s.database_url] if s.database_url else []),
                *(["--clock-file", s.clock_file] if s.clock_file else []),
                *(["--sample-users", s.sample_users] if s.sample_users else []),
                "--supervision-seconds", str(s.supervision_seconds),
                "station", "run", *[st.code for st in group]]

    def spawn(self):
        log_dir = os.path.join(self.settings.data_dir, "logs")
        os.makedirs(log_dir, exist_ok=True)
        for group in self.groups():
            log_path = os.path.join(log_dir, f"host-{group[0].code}.log")
            log_file = open(log_path, "ab")
            process = subprocess.Popen(self.command_for(group), stdout=log_file, stderr=subprocess.STDOUT,
                                       cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
            self.processes.append((process, group, log_path))

    def url_of(self, code):
        return f"http://{self.settings.http_host}:{self.settings.port_for(self.network, code)}"

    def wait_healthy(self, timeout):
        started = time.monotonic()
        pending = {s.code for s in self.stations}
        while pending:
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
        try:
            while all(p.poll() is None for p, _, _ in self.processes):
                time.sleep(1)
        except KeyboardInterrupt:
            pass

    def stop(self):
        for process, _, _ in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 25
        for process, _, _ in self.processes:
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
