"""`tongban bench cases`: cases filed at villages, driven to completed by scripted staff.

Phase 1 files N cases as fast as a pool of counter clerks can (closed loop) and reports
cases/s from the first filing to the last result back at a filing village. Phase 2 files
at a fixed rate (default a fifth of phase 1's) and reports latency percentiles from
filing to the result's arrival at the filing station, read from the case history there.
Scripted approvers at the district poll their worklists and decide; scripted agents
deliver results (deploy/drills/staff.py). The same run measures the broker's raw persistent,
confirmed publish-and-consume rate for comparison.
"""
import datetime as dt
import itertools
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import requests
from kombu import Connection, Exchange, Queue

from deploy.drills.harness import StationNetwork
from deploy.drills.staff import ScriptedStaff
from deploy.settings import SAMPLE_USERS
from shared.cases.citizen_id import make as make_id

APPROVER_POLL_SECONDS = 0.02


def _items(net):
    """District-decided promised items with review and approval (the common case)."""
    district = net.url(net.district_code)
    items = requests.get(district + "/api/items", params={"tier": "district", "processing_type": "promised",
                                                          "limit": 500}, timeout=10).json()["items"]
    return [i for i in items if "village" in i["accepting_tiers"] and i["decision_steps"] == ["review", "approve"]
            and not i.get("min_applicant_age")]


class Driver:
    def __init__(self, net):
        self.net = net
        self.villages = [s.code for s in net.stations if s.tier == "village"]
        self.items = _items(net)
        self.filed = {}          # case_no -> village
        self.lock = threading.Lock()
        self.staff = ScriptedStaff(net.url, data_dir=net.settings.data_dir)  # as the sample staff

    def file_one(self, n):
        village = self.villages[n % len(self.villages)]
        item = self.items[n % len(self.items)]
        body = {
            "item_code": item["code"],
            "applicant": {"name": "测试申请人", "id_number": make_id("445203", dt.date(1970, 1, 1)
                                                                   + dt.timedelta(days=n % 9000), n % 1000),
                          "phone": "13800000000", "residence": village},
            "materials": [m["code"] for m in item["materials"]],
        }
        case = self.staff.file(village, body)
        with self.lock:
            self.filed[case["case_no"]] = village

    def approvers(self):
        """One scripted reviewer-approver per department of the item mix, at the district."""
        for department in sorted({i["department"] for i in self.items}):
            self.staff.at_work(self.staff.decide_worklists, self.net.district_code, department,
                               poll=APPROVER_POLL_SECONDS)

    def wait_results(self, case_nos, timeout):
        """Wait until every case is result_ready at its village; returns the missing ones."""
        by_village = {}
        for no in case_nos:
            by_village.setdefault(self.filed[no], set()).add(no)
        deadline = time.monotonic() + timeout
        while by_village and time.monotonic() < deadline:
            for village, pending in list(by_village.items()):
                pending -= {c["case_no"] for c in self.staff.worklist(village, "result_ready")}
                if not pending:
                    del by_village[village]
            time.sleep(0.1)
        return set().union(*by_village.values()) if by_village else set()

    def latencies(self, case_nos):
        values = []
        for no in case_nos:
            case = self.staff.case(self.filed[no], no)
            arrived = next(h["at"] for h in case["history"] if h["action"] == "receive_result")
            values.append((dt.datetime.fromisoformat(arrived)
                           - dt.datetime.fromisoformat(case["filed_at"])).total_seconds())
        return values

    def deliver_all(self, case_nos):
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda no: self.staff.deliver(self.filed[no], no), case_nos))


def cpu_seconds(net):
    """CPU seconds used so far by each host process and by the broker."""
    import psutil
    usage = {}
    for process in net.host_processes():
        times = psutil.Process(process.pid).cpu_times()
        usage[f"host {process.codes[0]} ({len(process.codes)} stations)"] = times.user + times.system
    for proc in psutil.process_iter(["name", "cmdline"]):
        if proc.info["name"] == "beam.smp":
            times = proc.cpu_times()
            usage["rabbitmq"] = usage.get("rabbitmq", 0) + times.user + times.system
    return usage


def report_cpu(before, after, seconds, echo):
    echo(f"CPU during phase 1 ({seconds:.1f} s wall, 2 cores = {2*seconds:.0f} core-seconds available):")
    for name in sorted(after, key=lambda n: -(after[n] - before.get(n, 0))):
        used = after[name] - before.get(name, 0)
        echo(f"  {name:<40} {used:6.1f} s  ({used/seconds*100:4.0f}% of one core)")


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def broker_rate(amqp_uri, count=3000):
    """Persistent messages with publisher confirms, one at a time (as the relay publishes),
    then consumed with acks: messages per second each way."""
    queue_name = f"tongban.bench.{uuid.uuid4().hex[:8]}"
    exchange = Exchange("", type="direct")
    queue = Queue(queue_name, durable=True, auto_delete=False)
    body = {"case": {"history": [{"reason": "x" * 200}] * 8, "item": {"materials": ["y" * 40] * 5}}}
    with Connection(amqp_uri, transport_options={"confirm_publish": True}) as conn:
        producer = conn.Producer()
        queue(conn.default_channel).declare()
        started = time.monotonic()
        for _ in range(count):
            producer.publish(body, exchange=exchange, routing_key=queue_name, delivery_mode=2)
        publish_rate = count / (time.monotonic() - started)
        received = 0

        def on_message(_body, message):
            nonlocal received
            message.ack()
            received += 1

        started = time.monotonic()
        with conn.Consumer(queue, callbacks=[on_message], prefetch_count=10):
            while received < count:
                conn.drain_events(timeout=10)
        consume_rate = count / (time.monotonic() - started)
        queue(conn.default_channel).delete()
    return publish_rate, consume_rate


def run(settings, cases, concurrency, rate, villages, echo):
    settings.data_dir = tempfile.mkdtemp(prefix="tongban-bench-cases-")
    settings.sample_users = settings.sample_users or str(SAMPLE_USERS)
    net = StationNetwork(settings, [v.code for v in settings_villages(settings, villages)], per_process=0,
                         clean_env=False, startup_timeout=300)
    try:
        net.start()
        net.wait_catalogue()
        driver = Driver(net)
        echo(f"{len(net.stations)} stations ({len(driver.villages)} villages) in "
             f"{len(net.host_processes())} host processes; {len(driver.items)} items in the mix")
        driver.approvers()
        # phase 1: throughput
        counter = itertools.count()
        cpu_before = cpu_seconds(net)
        started = time.monotonic()
        with ThreadPoolExecutor(concurrency) as pool:
            list(pool.map(driver.file_one, [next(counter) for _ in range(cases)]))
        filing_seconds = time.monotonic() - started
        phase1 = list(driver.filed)
        missing = driver.wait_results(phase1, timeout=600)
        total_seconds = time.monotonic() - started
        throughput = (len(phase1) - len(missing)) / total_seconds
        echo(f"phase 1: {len(phase1)} cases filed in {filing_seconds:.1f} s "
             f"({len(phase1)/filing_seconds:.0f} filed/s); all results back at the villages after "
             f"{total_seconds:.1f} s: {throughput:.0f} cases/s end to end; missing {len(missing)}")
        report_cpu(cpu_before, cpu_seconds(net), total_seconds, echo)
        lat1 = driver.latencies(phase1)
        echo(f"phase 1 latency filing->result at filing station: p50 {percentile(lat1, 50)*1000:.0f} ms, "
             f"p99 {percentile(lat1, 99)*1000:.0f} ms")
        # phase 2: latency at a fixed rate
        rate = rate or max(1.0, throughput / 5)
        count2 = max(50, int(rate * 20))
        before = set(driver.filed)
        interval = 1.0 / rate
        next_at = time.monotonic()
        with ThreadPoolExecutor(concurrency) as pool:
            for _ in range(count2):
                now = time.monotonic()
                if next_at > now:
                    time.sleep(next_at - now)
                pool.submit(driver.file_one, next(counter))
                next_at += interval
        phase2 = [no for no in driver.filed if no not in before]
        missing2 = driver.wait_results(phase2, timeout=300)
        lat2 = driver.latencies([no for no in phase2 if no not in missing2])
        echo(f"phase 2: {len(phase2)} cases at {rate:.0f}/s; latency filing->result at filing station: "
             f"p50 {percentile(lat2, 50)*1000:.0f} ms, p95 {percentile(lat2, 95)*1000:.0f} ms, "
             f"p99 {percentile(lat2, 99)*1000:.0f} ms, max {max(lat2)*1000:.0f} ms; missing {len(missing2)}")
        driver.staff.stop()
        driver.deliver_all(phase1 + phase2)
        echo(f"delivered: {len(phase1) + len(phase2)} cases completed")
        pub, con = broker_rate(settings.amqp_uri)
        echo(f"broker alone, same run: {pub:.0f} persistent confirmed publishes/s (one at a time), "
             f"{con:.0f} consumed+acked/s")
    finally:
        net.close(grace=10)


def settings_villages(settings, count):
    from services.config import load_network
    network = load_network(settings.network_path)
    villages = network.of_tier("village")
    if count:
        step = max(1, len(villages) // count)
        villages = villages[::step][:count]
    return villages
