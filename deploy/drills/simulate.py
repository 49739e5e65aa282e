"""`tongban simulate`: a year of the sample district, replayed against the real network
on a simulated clock.

The plan (shared/simulation.py) says who comes to which counter on which day for which
item and what then happens. The driver moves the network's clock day by day and, for
each day: brings missing materials or returns cases that waited too long, files the
day's arrivals, lets offices suspend cases and resume them, makes the decisions that
are due (review and approval, or every joint department), delivers results and records
ratings, and finally runs the district's deadline patrol. At the end it prints the
district's statistics for the year.
"""
import datetime as dt
import tempfile
import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tqdm import tqdm

from deploy.drills.harness import StationNetwork
from deploy.drills.staff import ScriptedStaff
from deploy.settings import SAMPLE_USERS
from shared.auth.staffing import department_username
from shared.calendar import WorkingDayCalendar
from shared.cases.citizen_id import make as make_id
from shared.clock import DISTRICT_TZ, set_simulated_now
from shared.simulation import plan_year
from shared.stations import DISTRICT, tier_of
from shared.supervision.statistics import format_table

WORKERS = 12
WAIT_SECONDS = 60


class SimulationError(RuntimeError):
    pass


class Simulation:
    def __init__(self, net, clock_file, plans, items, calendar, echo):
        self.net = net
        self.clock_file = clock_file
        self.plans = plans
        self.items = {i["code"]: i for i in items}
        self.calendar = calendar
        self.echo = echo
        self.staff = ScriptedStaff(net.url, timeout=60, data_dir=net.settings.data_dir)  # as the sample staff
        self.agenda = defaultdict(list)   # working-day index -> [(phase, function, args)]
        self.days = []
        self.case_no = {}                 # plan key -> case number
        self.counts = defaultdict(int)
        self.lock = threading.Lock()

    # -- HTTP ------------------------------------------------------------------------------
    def post(self, station, path, body, as_user=None):
        return self.staff.act(station, path, body, as_user=as_user)

    def get_case(self, station, case_no):
        return self.staff.case(station, case_no)

    def wait_for(self, station, case_no, statuses):
        deadline = time.monotonic() + WAIT_SECONDS
        while time.monotonic() < deadline:
            case = self.get_case(station, case_no)
            if case and case["holder_station"] == station and case["status"] in statuses:
                return case
            time.sleep(0.05)
        raise SimulationError(f"case {case_no} did not reach {statuses} at {station}")

    def count(self, what):
        with self.lock:
            self.counts[what] += 1

    # -- the calendar of events ---------------------------------------------------------------
    def schedule(self, index, phase, function, *args):
        with self.lock:
            self.agenda[index].append((phase, function, args))

    def _take(self, index):
        with self.lock:
            return self.agenda.pop(index, [])

    def run(self):
        year = self.plans[0].day.year if self.plans else dt.date.today().year
        day = dt.date(year, 1, 1)
        while len(self.days) < 400:  # the year, and what spills into the next one
            if self.calendar.is_working_day(day):
                self.days.append(day)
            day += dt.timedelta(days=1)
        index_of = {d: i for i, d in enumerate(self.days)}
        for plan in self.plans:
            self.schedule(index_of[plan.day], 1, self.file, plan)
        index = 0
        progress = tqdm(total=len(self.plans), unit="case", desc="simulating", mininterval=1)
        with ThreadPoolExecutor(WORKERS) as pool:
            while self.agenda:
                self.set_clock(self.days[index], 9)
                # a day's events may schedule more for the same day (an immediate item is
                # decided and delivered on the day it is filed): run until none are left
                while events := self._take(index):
                    for phase in sorted({e[0] for e in events}):
                        batch = [e for e in events if e[0] == phase]
                        for future in [pool.submit(f, index, *args) for _, f, args in batch]:
                            future.result()
                        if phase == 1:
                            progress.update(len(batch))
                self.set_clock(self.days[index], 17)
                self.post(self.net.district_code, "/api/supervision/patrol", {})
                index += 1
        progress.close()
        return self.days[index - 1] if index else None

    def set_clock(self, day, hour):
        set_simulated_now(self.clock_file, dt.datetime.combine(day, dt.time(hour, 0), DISTRICT_TZ))

    # -- what people do ---------------------------------------------------------------------------
    def file(self, index, plan):
        item = self.items[plan.item_code]
        materials = [m["code"] for m in item["materials"] if m["code"] not in plan.missing]
        born = dt.date(1950, 1, 1) + dt.timedelta(days=plan.key % 15000)
        body = {"item_code": plan.item_code, "materials": materials,
                "deficiency_promise": plan.deficiency,
                "applicant": {"name": "模拟申请人", "id_number": make_id(plan.residence[:6], born, plan.key % 1000),
                              "phone": "13800000000", "residence": plan.residence}}
        case = self.staff.file(plan.station, body)
        self.case_no[plan.key] = case["case_no"]
        self.count(f"filed:{case['status'] if case['status'] in ('needs_supplement', 'returned') else 'accepted'}")
        if case["status"] == "needs_supplement":
            if plan.supplement_after:
                self.schedule(index + plan.supplement_after, 0, self.supplement, plan)
            else:
                self.schedule(index + 5, 0, self.give_up, plan)
        elif case["status"] != "returned":
            self.after_acceptance(index, plan, case)

    def after_acceptance(self, index, plan, case):
        decide_at = index + plan.decide_after
        if plan.deficiency and plan.supplement_after:
            self.schedule(index + plan.supplement_after, 0, self.bring_deficient, plan)
        if plan.suspend_after >= 0 and case["item"]["processing_type"] != "immediate":
            self.schedule(index + plan.suspend_after, 2, self.suspend, plan, case["deciding_station"])
            decide_at += plan.suspend_for
        self.schedule(max(decide_at, index), 3, self.decide, plan, case["deciding_station"])

    def supplement(self, index, plan):
        case = self.post(plan.station, f"/api/cases/{self.case_no[plan.key]}/supplement",
                         {"materials": plan.missing})
        self.count("supplemented")
        self.after_acceptance(index, plan, case)

    def bring_deficient(self, index, plan):
        self.post(plan.station, f"/api/cases/{self.case_no[plan.key]}/supplement",
                  {"materials": plan.missing})

    def give_up(self, index, plan):
        self.post(plan.station, f"/api/cases/{self.case_no[plan.key]}/return",
                  {"reason": "逾期未补正材料，申请人放弃办理"})
        self.count("returned after waiting")

    def suspend(self, index, plan, decider):
        case_no = self.case_no[plan.key]
        case = self.wait_for(decider, case_no, ("pending_review", "pending_approval", "joint_review"))
        material = case["item"]["materials"][0]["code"]
        # at the district the department's reviewer asks; at a township its staff
        self.post(decider, f"/api/cases/{case_no}/suspend", {"materials": [material], "reason": "材料内容需补充说明"},
                  as_user=reviewer_of(decider, case))
        self.count("suspended")
        self.schedule(index + plan.suspend_for, 0, self.resume, plan, material)

    def resume(self, index, plan, material):
        case_no = self.case_no[plan.key]
        self.wait_for_copy(plan.station, case_no, "suspended")
        self.post(plan.station, f"/api/cases/{case_no}/supplement", {"materials": [material]})

    def wait_for_copy(self, station, case_no, status):
        deadline = time.monotonic() + WAIT_SECONDS
        while time.monotonic() < deadline:
            case = self.get_case(station, case_no)
            if case and case["status"] == status:
                return case
            time.sleep(0.05)
        raise SimulationError(f"the copy of case {case_no} at {station} never showed {status}")

    def decide(self, index, plan, decider):
        case_no = self.case_no[plan.key]
        case = self.wait_for(decider, case_no, ("pending_review", "pending_approval", "joint_review"))
        item = case["item"]
        blocked = bool((case.get("deficiency") or {}).get("missing"))
        reject = plan.reject or blocked
        reason = "容缺材料逾期未补齐" if blocked else "经审查不符合条件"
        if case["status"] == "joint_review":
            # one department's rejection rejects a joint case; none may approve a case whose
            # 容缺 materials are still missing, so a rejected one is rejected straight away
            departments = item["joint_departments"][:1] if reject else item["joint_departments"]
            for department in departments:
                self.staff.decide(decider, case_no, "approve", department, "reject" if reject else "pass",
                                  reason if reject else "")
        else:
            steps = ["review", "approve"] if case["status"] == "pending_review" else ["approve"]
            for n, step in enumerate(steps):
                outcome = "reject" if reject and n == len(steps) - 1 else "pass"
                self.staff.decide(decider, case_no, step, item["department"], outcome,
                                  reason if outcome == "reject" else "")
        self.count("rejected" if reject else "approved")
        self.schedule(index + (0 if item["processing_type"] == "immediate" else 1), 4, self.deliver, plan)

    def deliver(self, index, plan):
        case_no = self.case_no[plan.key]
        self.wait_for(plan.station, case_no, ("result_ready",))
        self.staff.deliver(plan.station, case_no)
        if plan.score:
            self.post(plan.station, f"/api/cases/{case_no}/rating", {"score": plan.score, "by": "申请人"})
        self.count("delivered")


def reviewer_of(station, case):
    """Who asks for more materials on a case being decided at `station`."""
    if tier_of(station) == DISTRICT:
        return department_username(case["item"]["department"], "reviewer")
    return None  # the township's staff, picked by the client


def run(settings, scale, seed, year, per_process, echo):
    settings.data_dir = tempfile.mkdtemp(prefix="tongban-simulate-")
    clock_file = str(Path(settings.data_dir) / "clock.json")
    set_simulated_now(clock_file, dt.datetime(year, 1, 1, 8, 0, tzinfo=DISTRICT_TZ))
    settings.clock_file = clock_file
    settings.supervision_seconds = 3600  # the driver runs the patrol at the end of each day
    settings.sample_users = settings.sample_users or str(SAMPLE_USERS)
    net = StationNetwork(settings, per_process=per_process, clean_env=False, startup_timeout=300)
    started = time.monotonic()
    try:
        net.start()
        code = net.district_code
        net.wait_catalogue()
        staff = ScriptedStaff(net.url, timeout=600, data_dir=settings.data_dir)
        items = staff.call("read", "GET", code, "/api/items", params={"limit": 500}).json()["items"]
        calendar = WorkingDayCalendar()
        plans, consultations = plan_year(year, scale, items, net.network, calendar, seed)
        echo(f"{len(net.stations)} stations up; simulating {year} at scale {scale}: {len(plans)} cases "
             f"and {sum(consultations.values())} consultations (answered at the counter, counted only)")
        simulation = Simulation(net, clock_file, plans, items, calendar, echo)
        last_day = simulation.run()
        _settle()
        period = {"from": f"{year}-01-01", "to": f"{year}-12-31"}

        def stats(**by):
            return staff.call("read", "GET", code, "/api/stats", params={**period, **by}).json()["rows"]
        totals, by_category, by_tier = stats(), stats(by="category"), stats(by="tier")
        echo(f"simulated up to {last_day}; wall time {time.monotonic() - started:.0f} s")
        echo("actions: " + ", ".join(f"{k} {v}" for k, v in sorted(simulation.counts.items())))
        echo(format_table(by_category[:-1] + by_tier))
        return totals[-1], simulation.counts
    finally:
        net.close(grace=10)


def _settle(seconds=3):
    """Give the last records time to reach the district."""
    time.sleep(seconds)
