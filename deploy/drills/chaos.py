"""`tongban chaos`: fault drills that count every case. Nothing may be lost or duplicated.

A drill network (district, township, villages; every station in its own OS process) runs
on a private RabbitMQ node of this machine (deploy/drills/harness.py), never on the broker
others use. Scripted village agents (deploy/drills/staff.py) file cases of a district-decided item with review and
approval; scripted back-office staff decide them over HTTP at the district; the agents
deliver the results at the filing villages. Meanwhile one fault is injected:

- `broker`: the district's RabbitMQ node is stopped and started again mid-load;
- `broker-crash`: the same, but the node's Erlang VM gets SIGKILL instead of a stop;
- `district` / `township` / `village`: that station's process gets SIGKILL mid-load and
  is started again.

Every case is then counted from the stations' own databases: sent (committed at the
filing villages), arrived at the district, results back at the filing villages (and
delivered), lost (not at its final state at both ends) and duplicated (any station that
applied a hand-off, a result, a decision or a delivery of it twice).

The tests (tests/test_faults.py) run the same drills with a few hundred cases.
"""
import datetime as dt
import itertools
import tempfile
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import click
import yaml
from sqlalchemy import bindparam, create_engine, text

from deploy.drills.harness import BrokerNode, StationNetwork, free_port_block
from deploy.drills.staff import ScriptedStaff
from deploy.settings import SAMPLE_NETWORK, SAMPLE_USERS, HostSettings
from deploy.station_client import StationClient
from shared.cases.citizen_id import make as make_id

DRILL_DISTRICT = "449905"          # the chaos command's network; the tests use 449904
ITEM = "MZ-002"                    # 最低生活保障申请: district decides, review then approve
MATERIALS = ["M01", "M02", "M03", "M04", "M05"]
AGENT = "演练代办员"
FAULTS = ("broker", "broker-crash", "district", "township", "village")


# -- the drill network --------------------------------------------------------------------
def write_drill_network(path, district_code=DRILL_DISTRICT, townships=1, villages_per_township=2):
    """A small district: its centre, `townships` townships with their villages, and the
    sample district's departments (so that the sample catalogue loads)."""
    sample = yaml.safe_load(Path(SAMPLE_NETWORK).read_text(encoding="utf-8"))
    stations = [{"code": district_code, "tier": "district", "name": "演练区行政服务中心"}]
    for t in range(1, townships + 1):
        township = f"{district_code}{t:03d}"
        stations.append({"code": township, "tier": "township", "name": f"演练第{t}镇公共服务中心"})
        for v in range(1, villages_per_township + 1):
            village = f"{township}{200 + v:03d}"
            stations.append({"code": village, "tier": "village", "name": f"演练{t}-{v}村便民服务站"})
    data = {"district": {"code": district_code, "name": "演练区"},
            "departments": sample["departments"], "stations": stations}
    Path(path).write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return Path(path)


class DrillNetwork(StationNetwork):
    """Every station of `network_path` in its own host process, on broker `amqp_uri`;
    a station process that exits by itself is started again (and counted in `crashes`)."""

    def __init__(self, workdir, network_path, amqp_uri, database_url=None, sweep_seconds=1.0,
                 management_url=None, amqp_ca=None, amqp_cert=None, amqp_key=None):
        """`database_url`: a template with {station} (default: TONGBAN_DATABASE_URL, or
        one SQLite file per station in `workdir`); `management_url`: the broker's
        management API, where the stations' users are made; `amqp_ca`, `amqp_cert`,
        `amqp_key`: TLS files for an amqps:// `amqp_uri` (as `tongban --amqp-ca` ...)."""
        self.workdir = Path(workdir)
        settings = HostSettings(network_path=str(network_path), amqp_uri=amqp_uri,
                                data_dir=str(self.workdir / "data"), management_url=management_url or "",
                                amqp_ca=str(amqp_ca or ""), amqp_cert=str(amqp_cert or ""),
                                amqp_key=str(amqp_key or ""), sweep_seconds=sweep_seconds, sync_seconds=5,
                                sample_users=str(SAMPLE_USERS))  # the agents and approvers of the drill
        if database_url is not None:
            settings.database_url = database_url
        super().__init__(settings, per_process=1, restart_crashed=True, startup_timeout=90)
        settings.base_port = free_port_block(len(self.stations))
        self.district = self.district_code
        self.townships = [s.code for s in self.network.of_tier("township")]
        self.villages = [s.code for s in self.network.of_tier("village")]
        # each call made by the sample user who would make it (deploy/station_client.py)
        self.client = StationClient(self.url, data_dir=settings.data_dir)
        self._engines = {}

    def start(self, timeout=90):
        """Declare the network, seed the catalogue, start every station; wait until each
        answers and has the district's catalogue."""
        super().start()
        self.wait_catalogue(timeout)

    def close(self, grace=20.0):
        super().close(grace)
        for engine in self._engines.values():
            engine.dispose()

    # -- databases -------------------------------------------------------------------
    def engine(self, code):
        if code not in self._engines:
            self._engines[code] = create_engine(self.settings.database_for(code))
        return self._engines[code]

    def query(self, code, sql, **params):
        statement = text(sql)
        for name, value in params.items():
            if isinstance(value, (list, tuple, set, frozenset)):
                statement = statement.bindparams(bindparam(name, expanding=True))
        with self.engine(code).connect() as conn:
            return conn.execute(statement, {k: list(v) if isinstance(v, (set, frozenset)) else v
                                            for k, v in params.items()}).all()

    def outbox_backlog(self):
        """{station: messages committed to its outbox and not yet published}."""
        return {code: self.query(code, "SELECT count(*) FROM outbox WHERE sent_at IS NULL")[0][0]
                for code in self.network.stations}

    def case_numbers(self, code):
        return {row[0] for row in self.query(code, "SELECT case_no FROM cases WHERE filing_station = :s",
                                             s=code)}


# -- the load ----------------------------------------------------------------------------
class CaseLoad:
    """Village agents filing, district staff deciding, agents delivering (deploy/drills/
    staff.py): every call tried again until the station answers (a station may be down
    for a while)."""

    def __init__(self, net, clerks=8, deciders=3):
        self.net = net
        self.clerks = clerks
        self.deciders = deciders
        self.staff = ScriptedStaff(net.url, data_dir=net.settings.data_dir, patience=120)
        self.answered = {}            # case_no -> filing village: filings answered 201
        self.lock = threading.Lock()
        self._serial = itertools.count(1)
        self.run_id = uuid.uuid4().hex[:8]  # request ids unique across drills on one network

    @property
    def failures(self):
        """Calls that failed and were tried again (or were refused), by kind."""
        return self.staff.failures

    # -- agents filing ---------------------------------------------------------------
    def file_one(self, n):
        village = self.net.villages[n % len(self.net.villages)]
        serial = next(self._serial)
        born = dt.date(1950, 1, 1) + dt.timedelta(days=serial % 18000)
        # the clerk sends the same request id when it files again after an unanswered
        # try (a station killed after committing), so the retry answers the first case
        body = {"item_code": ITEM, "materials": MATERIALS, "agent": AGENT,
                "request_id": f"chaos-{self.run_id}-{serial:06d}",
                "applicant": {"name": "演练申请人", "phone": "13800000000", "residence": village,
                              "id_number": make_id(self.net.district, born, serial % 1000)}}
        case = self.staff.file(village, body, patience=300)
        with self.lock:
            self.answered[case["case_no"]] = village

    def file(self, count, on_progress=None, every=None):
        """File `count` cases with `self.clerks` clerks; `on_progress(filed)` is called
        (in a clerk's thread) each time another `every` cases were answered."""
        done = itertools.count(1)

        def work(n):
            self.file_one(n)
            k = next(done)
            if on_progress and every and k % every == 0:
                on_progress(k)
        with ThreadPoolExecutor(self.clerks) as pool:
            list(pool.map(work, range(count)))

    # -- staff -----------------------------------------------------------------------
    def start_staff(self):
        """`deciders` reviewer-approvers at the district, each taking the cases whose
        number hashes to it (so no two race for one case); a counter at each village."""
        for i in range(self.deciders):
            self.staff.at_work(self.staff.decide_worklists, self.net.district,
                               mine=lambda case, i=i: sum(map(ord, case["case_no"])) % self.deciders == i)
        for village in self.net.villages:
            self.staff.at_work(self.staff.deliver_worklist, village)

    def stop_staff(self):
        self.staff.stop()


# -- counting ----------------------------------------------------------------------------
@dataclass
class Count:
    drill: str
    sent: int = 0                  # committed at the filing villages
    answered: int = 0              # of those, filings the agents got an answer for
    arrived: int = 0               # reached the district
    results_back: int = 0          # result received back at the filing village
    completed: int = 0             # delivered, and the district's record says so
    lost: int = 0                  # sent, not at its final state at both ends
    duplicated: int = 0            # a hand-off, result, decision or delivery applied twice
    seconds: float = 0.0
    fault: str = ""
    fault_error: str = ""          # the fault could not be injected as planned
    crashes: list = field(default_factory=list)       # stations that exited by themselves
    outbox_peak: int = 0           # messages waiting in the stations' outboxes during the fault
    outbox_left: int = 0           # ... and at the end (the sweepers publish them all)
    by_station: dict = field(default_factory=dict)   # village -> (sent, back, lost, duplicated)
    problems: list = field(default_factory=list)     # the first few lost/duplicated cases

    @property
    def ok(self):
        return (self.lost == 0 and self.duplicated == 0 and self.sent > 0 and not self.crashes
                and self.outbox_left == 0 and not self.fault_error)


def _actions(net, code, case_nos, station):
    """{case_no: Counter(action)} of the transitions `station` made, in `code`'s database."""
    rows = net.query(code, "SELECT case_no, action, count(*) FROM case_history "
                           "WHERE station = :st AND case_no IN :nos GROUP BY case_no, action",
                     st=station, nos=sorted(case_nos))
    actions = {}
    for case_no, action, n in rows:
        actions.setdefault(case_no, Counter())[action] = n
    return actions


def _statuses(net, code, case_nos):
    return dict(net.query(code, "SELECT case_no, status FROM cases WHERE case_no IN :nos",
                          nos=sorted(case_nos)))


def final_everywhere(net, sent):
    """The cases of `sent` ({case_no: village}) not yet completed at both ends."""
    pending = set(sent)
    if not pending:
        return pending
    done_district = {no for no, status in _statuses(net, net.district, pending).items()
                     if status == "completed"}
    pending -= done_district
    for village in net.villages:
        mine = {no for no, v in sent.items() if v == village and no in done_district}
        if mine:
            done = {no for no, s in _statuses(net, village, mine).items() if s == "completed"}
            pending |= mine - done
    return pending


def count_cases(net, drill, sent, answered, fault="", seconds=0.0):
    """Count `sent` ({case_no: filing village}) at every station of the trip."""
    c = Count(drill, sent=len(sent), answered=len(set(answered) & set(sent)), fault=fault,
              seconds=seconds)
    nos = set(sent)
    district = net.district
    at_district = _actions(net, district, nos, district)
    statuses = _statuses(net, district, nos)
    by_township = {}
    for township in net.townships:
        by_township.update({no: a for no, a in _actions(net, township, nos, township).items()})
    lost, duplicated = set(), set()
    for village in net.villages:
        mine = {no for no, v in sent.items() if v == village}
        if not mine:
            continue
        at_village = _actions(net, village, mine, village)
        village_status = _statuses(net, village, mine)
        back, dup, gone = 0, set(), set()
        for no in mine:
            here = at_village.get(no, Counter())
            there = at_district.get(no, Counter())
            if here["receive_result"] >= 1:
                back += 1
            # every transition happens once per station on this trip: file, forward,
            # receive, start_decision, review, approve, send_result, receive_result, deliver
            if any(n > 1 for n in list(here.values()) + list(there.values())
                   + list(by_township.get(no, Counter()).values())):
                dup.add(no)
            if (there["receive"] == 0 or village_status.get(no) != "completed"
                    or statuses.get(no) != "completed"):
                gone.add(no)
        c.results_back += back
        c.arrived += sum(1 for no in mine if at_district.get(no, Counter())["receive"] >= 1)
        c.by_station[village] = (len(mine), back, len(gone), len(dup))
        lost |= gone
        duplicated |= dup
    c.completed = len(nos) - len(lost)
    c.lost = len(lost)
    c.duplicated = len(duplicated)
    for no in sorted(lost)[:5]:
        c.problems.append(f"lost {no}: district {statuses.get(no)}, district actions "
                          f"{dict(at_district.get(no, {}))}")
    for no in sorted(duplicated)[:5]:
        c.problems.append(f"duplicated {no}: district {dict(at_district.get(no, {}))}, "
                          f"township {dict(by_township.get(no, {}))}")
    return c


# -- drills ------------------------------------------------------------------------------
def run_drill(net, fault, cases, broker=None, fault_at=0.4, down_seconds=3.0, timeout=300,
              clerks=8, echo=print):
    """File `cases` cases and drive them to completed while injecting `fault` once
    `fault_at` of them were filed; count them. `broker`: the BrokerNode for "broker"."""
    if fault not in FAULTS:
        raise ValueError(f"fault must be one of {', '.join(FAULTS)}")
    before = {v: net.case_numbers(v) for v in net.villages}
    crashes_before = len(net.crashes)
    load = CaseLoad(net, clerks=clerks)
    load.start_staff()
    injected = threading.Event()
    notes, peak, errors = [], [], []
    target = {"district": net.district, "township": net.townships[0],
              "village": net.villages[0]}.get(fault)

    def inject(_filed):
        if injected.is_set():
            return
        injected.set()
        began = time.monotonic()
        try:
            if fault in ("broker", "broker-crash"):
                broker.stop() if fault == "broker" else broker.kill()
                time.sleep(down_seconds)
                peak.append(sum(net.outbox_backlog().values()))
                broker.start()
                notes.append(f"broker {broker.node} {'stopped' if fault == 'broker' else 'killed (SIGKILL)'}"
                             f" and back in {time.monotonic() - began:.1f} s")
            else:
                net.kill(target)
                time.sleep(down_seconds)
                peak.append(sum(net.outbox_backlog().values()))
                net.restart(target)
                notes.append(f"{fault} {target} killed (SIGKILL) and back in "
                             f"{time.monotonic() - began:.1f} s")
        except Exception as exc:  # the drill goes on, and does not pass
            errors.append(f"injecting the fault failed: {type(exc).__name__}: {exc}")

    started = time.monotonic()
    fault_thread = []

    def on_progress(filed):
        if filed >= cases * fault_at and not injected.is_set() and not fault_thread:
            thread = threading.Thread(target=inject, args=(filed,), daemon=True)
            fault_thread.append(thread)
            thread.start()

    try:
        load.file(cases, on_progress=on_progress, every=1)
        for thread in fault_thread:
            thread.join(180)
        if not injected.is_set():
            raise RuntimeError("the fault was never injected")
        filed_seconds = time.monotonic() - started
        sent = {}
        for village in net.villages:
            for no in net.case_numbers(village) - before[village]:
                sent[no] = village
        deadline = time.monotonic() + timeout
        pending = final_everywhere(net, sent)
        while pending and time.monotonic() < deadline:
            time.sleep(0.5)
            pending = final_everywhere(net, sent)
        seconds = time.monotonic() - started
        left_deadline = time.monotonic() + 10
        while sum(net.outbox_backlog().values()) and time.monotonic() < left_deadline:
            time.sleep(0.5)
    finally:
        load.stop_staff()
    result = count_cases(net, fault_label(fault, net), sent, load.answered,
                         fault="; ".join(notes), seconds=seconds)
    result.crashes = net.crashes[crashes_before:]
    result.fault_error = "; ".join(errors)
    result.outbox_peak = max(peak, default=0)
    result.outbox_left = sum(net.outbox_backlog().values())
    echo(f"{result.drill}: {'; '.join(notes)}; {cases} cases filed in {filed_seconds:.1f} s, all final "
         f"after {seconds:.1f} s; calls retried or refused: {dict(load.failures) or 'none'}")
    return result


def fault_label(fault, net):
    return {"broker": "district's RabbitMQ restarted",
            "broker-crash": "district's RabbitMQ killed and restarted",
            "district": f"district {net.district} SIGKILLed",
            "township": f"township {net.townships[0]} SIGKILLed",
            "village": f"village {net.villages[0]} SIGKILLed"}[fault]


TABLE_HEADER = ("| drill | cases sent | arrived at district | results back at filing villages "
                "| lost | duplicated | time | passed |")


def table(results):
    lines = [TABLE_HEADER, "|---|---:|---:|---:|---:|---:|---:|---|"]
    for r in results:
        lines.append(f"| {r.drill} | {r.sent} | {r.arrived} | {r.results_back} | {r.lost} | "
                     f"{r.duplicated} | {r.seconds:.0f} s | {'yes' if r.ok else 'NO'} |")
    return "\n".join(lines)


def describe(result):
    """Per-station lines: what was counted at each filing village and at the district."""
    lines = [f"{result.drill}: sent {result.sent} (answered {result.answered}), arrived at the district "
             f"{result.arrived}, results back {result.results_back}, completed {result.completed}, "
             f"lost {result.lost}, duplicated {result.duplicated}",
             f"  outboxes: {result.outbox_peak} message(s) waiting during the fault, "
             f"{result.outbox_left} left at the end"]
    for village, (sent, back, lost, dup) in sorted(result.by_station.items()):
        lines.append(f"  filing station {village}: sent {sent}, results back {back}, "
                     f"lost {lost}, duplicated {dup}")
    lines += [f"  ! {p}" for p in result.problems]
    if result.fault_error:
        lines.append(f"  ! {result.fault_error}")
    lines += [f"  ! station {code} exited by itself (exit code {rc}) and was started again"
              for code, rc in result.crashes]
    return "\n".join(lines)


def run(settings, cases, kill_cases, faults, down_seconds, echo):
    """The chaos command: one private broker node, one drill network, the drills in turn."""
    workdir = Path(tempfile.mkdtemp(prefix="tongban-chaos-"))
    network_path = write_drill_network(workdir / "network.yaml")
    echo(f"starting a private RabbitMQ node (work folder {workdir})")
    broker = BrokerNode.start_new(prefix="tongban_chaos")
    net = DrillNetwork(workdir, network_path, broker.amqp_uri, database_url=settings.database_url,
                       management_url=broker.management_url)
    results = []
    try:
        echo(f"node {broker.node} on {broker.amqp_uri}; starting {len(net.network.stations)} stations")
        net.start()
        for fault in faults:
            count = cases if fault == "broker" else kill_cases
            result = run_drill(net, fault, count, broker=broker, down_seconds=down_seconds,
                               timeout=max(300, count), echo=echo)
            echo(describe(result))
            results.append(result)
    finally:
        net.close()
        broker.destroy()
        echo(f"station logs and databases: {workdir}")
    echo("")
    echo(table(results))
    return results


# -- the command -------------------------------------------------------------------------
@click.command("chaos")
@click.option("--cases", type=int, default=2000, show_default=True,
              help="Cases filed in the broker-restart drill.")
@click.option("--kill-cases", type=int, default=600, show_default=True,
              help="Cases filed in each of the other drills.")
@click.option("--drill", "drills", multiple=True, type=click.Choice(FAULTS),
              help="Run only these drills (repeatable; default: all, in this order: "
                   + ", ".join(FAULTS) + ").")
@click.option("--down-seconds", type=float, default=5.0, show_default=True,
              help="How long the broker or the killed station stays down.")
@click.pass_context
def chaos(ctx, cases, kill_cases, drills, down_seconds):
    """Fault drills on a private broker node: restart the district's RabbitMQ, SIGKILL
    each kind of station, mid-load; count every case (sent, arrived, lost, duplicated)."""
    results = run(ctx.obj, cases, kill_cases, drills or FAULTS, down_seconds, click.echo)
    if not all(r.ok for r in results):
        raise click.ClickException("a drill did not pass (cases lost or duplicated, a station "
                                   "that crashed, or messages left in an outbox): see above")
