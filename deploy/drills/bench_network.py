"""`tongban bench network`: the whole sample district on this machine.

Measures how long the network takes to come up, how much memory its host processes use,
how much one village station uses in a process of its own, and how long one catalogue
change takes to reach every station (from the district's commit to each replica's
commit, read from the stations' own records, so polling does not blur the figure).
"""
import datetime as dt
import statistics
import sys
import tempfile
import time

import psutil
import requests

from deploy.drills.harness import StationNetwork
from deploy.drills.staff import ScriptedStaff
from deploy.settings import SAMPLE_USERS


def _rss_mb(pid):
    try:
        return psutil.Process(pid).memory_info().rss / 2**20
    except psutil.NoSuchProcess:
        return 0.0


def _parse(ts):
    value = dt.datetime.fromisoformat(ts.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)


def measure_change(net, item_code, round_no, timeout=30):
    district = net.district_code
    body = {"keywords": ["基准测试", f"第{round_no}轮"]}
    change = ScriptedStaff(net.url, timeout=10, data_dir=net.settings.data_dir).call(
        "edit", "PATCH", district, f"/api/catalogue/items/{item_code}", body).json()  # as the district's administrator
    version, made_at = change["version"], _parse(change["made_at"])
    lags, pending = {}, {s.code for s in net.stations if s.code != district}
    deadline = time.monotonic() + timeout
    session = requests.Session()
    while pending and time.monotonic() < deadline:
        for code in list(pending):
            summary = session.get(net.url(code) + "/api/catalogue", timeout=5).json()
            if summary["version"] >= version:
                lags[code] = (_parse(summary["last_applied_at"]) - made_at).total_seconds()
                pending.discard(code)
        if pending:
            time.sleep(0.05)
    return lags, pending


def run(settings, per_process, rounds, echo):
    settings.data_dir = tempfile.mkdtemp(prefix="tongban-bench-")
    settings.sample_users = settings.sample_users or str(SAMPLE_USERS)
    net = StationNetwork(settings, per_process=per_process, clean_env=False, startup_timeout=300)
    started = time.monotonic()
    try:
        net.start()
        up_seconds = time.monotonic() - started
        time.sleep(3)  # let the start-up catalogue sync settle before measuring memory
        rss = [_rss_mb(p.pid) for p in net.host_processes()]
        echo(f"stations: {len(net.stations)} in {len(rss)} host processes")
        echo(f"up (declare + seed + start + all healthy): {up_seconds:.1f} s")
        echo(f"resident memory, all host processes: {sum(rss):.0f} MB "
             f"(largest process {max(rss):.0f} MB)")
        slowest = []
        for round_no in range(1, rounds + 1):
            lags, missing = measure_change(net, "MZ-002", round_no)
            if missing:
                echo(f"round {round_no}: {len(missing)} stations did not get the change")
                continue
            worst = max(lags, key=lags.get)
            slowest.append(lags[worst])
            echo(f"change {round_no}: all {len(lags)} replicas in {lags[worst]*1000:.0f} ms "
                 f"(median {statistics.median(lags.values())*1000:.0f} ms; slowest {worst})")
        if slowest:
            echo(f"slowest station per change: median {statistics.median(slowest)*1000:.0f} ms, "
                 f"max {max(slowest)*1000:.0f} ms")
        net.close(grace=10)  # free the last village's port and database
        echo(f"one village alone: {measure_lone_village(settings):.0f} MB resident")
    finally:
        net.close(grace=10)


def measure_lone_village(settings):
    """RSS of a process serving a single village (already declared and seeded by the
    full run)."""
    lone = StationNetwork(settings, per_process=1, declare=False, clean_env=False)
    village = lone.network.of_tier("village")[-1]
    try:
        process = lone.start_station(village.code)
        time.sleep(2)
        return _rss_mb(process.pid)
    finally:
        lone.close(grace=20)


if __name__ == "__main__":  # pragma: no cover
    sys.exit("use: tongban bench network")
