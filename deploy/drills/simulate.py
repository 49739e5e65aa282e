"""`tongban simulate`: a year of the sample district, replayed against the real network
on a simulated clock.

The plan (shared/simulation.py) says who comes to which counter on which day for which
item and what then happens. The driver moves the network's clock day by day and, for
each day: brings missing materials or returns cases that waited too long, books the
next day's appointments, runs the day's service halls (the clock moves minute by minute
through the day: applicants arrive and take tickets, each window calls the next ticket
its station gives it, files the applicant's case and finishes the ticket after the
planned minutes; a few are away when called and take a new ticket), lets offices
suspend cases and resume them, makes the decisions that are due (review and approval,
or every joint department), delivers results and records ratings, and finally runs the
district's deadline patrol. At the end it prints the district's statistics for the
year, the service halls' by tier among them.
"""
import base64
import datetime as dt
import heapq
import itertools
import json
import os
import tempfile
import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
from tqdm import tqdm

from deploy.drills.harness import StationNetwork
from deploy.drills.staff import ScriptedStaff, StaffError
from deploy.settings import SAMPLE_USERS
from shared.auth.staffing import department_username
from shared.calendar import WorkingDayCalendar
from shared.cases.citizen_id import make as make_id
from shared.clock import DISTRICT_TZ, set_simulated_now
from shared.hall import waiting
from shared.hall.tickets import priority_reason
from shared.simulation import NO_SHOW_MINUTES, WINDOWS, plan_year
from shared.stations import DISTRICT, tier_of
from shared.supervision.statistics import format_table

WORKERS = 12
WAIT_SECONDS = 60
# the file an online applicant uploads for each material (a one-page PDF)
SAMPLE_PDF = base64.b64encode(
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n").decode()


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
        self.booking_no = {}              # plan key -> booking number (appointments)
        self.hall_end = {}                # day index -> the minute the day's halls closed
        self.came_back = set()            # plan keys that took a new ticket after a no-show
        self.filings = {}                 # plan key -> the filing under way while they are served
        self.serial = itertools.count()
        self.counts = defaultdict(int)
        self.lock = threading.Lock()
        self.resident = requests.Session()  # the residents' phones (the portal's public API)
        self.query_code = {}              # plan key -> the query code an online application showed

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
        by_day = defaultdict(list)
        for plan in self.plans:
            if plan.online:  # applied on the portal; the counter sees them when they bring the originals
                self.schedule(index_of[plan.day], 0, self.apply_online, plan)
                continue
            by_day[index_of[plan.day]].append(plan)
            if plan.appointment and index_of[plan.day] > 0:  # booked the working day before
                self.schedule(index_of[plan.day] - 1, 0, self.book, plan)
        for index, plans in by_day.items():
            self.schedule(index, 1, self.hall_day, plans)
        index = 0
        progress = tqdm(total=sum(not p.online for p in self.plans), unit="case", desc="simulating", mininterval=1)
        with ThreadPoolExecutor(WORKERS) as pool, ThreadPoolExecutor(WORKERS) as self.pool, \
                ThreadPoolExecutor(WORKERS) as self.filing_pool:
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
                            progress.update(sum(len(args[0]) for _, _, args in batch))
                # the patrol after the halls have closed (a busy hall may serve past 17:00)
                self.set_clock(self.days[index], 17, max(0, self.hall_end.get(index, 0) + 1 - 17 * 60))
                self.post(self.net.district_code, "/api/supervision/patrol", {})
                index += 1
        progress.close()
        return self.days[index - 1] if index else None

    def set_clock(self, day, hour, minutes=0):
        moment = dt.datetime.combine(day, dt.time(hour, 0), DISTRICT_TZ) + dt.timedelta(minutes=minutes)
        set_simulated_now(self.clock_file, moment)

    # -- the service hall -------------------------------------------------------------------------
    def applicant(self, plan):
        born = dt.date(1950, 1, 1) + dt.timedelta(days=plan.key % 15000)
        return {"name": "模拟申请人", "id_number": make_id(plan.residence[:6], born, plan.key % 1000),
                "phone": "13800000000", "residence": plan.residence}, born

    def book(self, index, plan):
        """The applicant books tomorrow's half day at the counter (and, now and then,
        another resident books the same half day and never comes: 爽约)."""
        person, _ = self.applicant(plan)
        slot = {"day": plan.day.isoformat(), "half_day": plan.half_day, "window_type": plan.window_type,
                "item_code": plan.item_code}
        try:
            booked = self.post(plan.station, "/api/hall/appointments",
                               {"name": person["name"], "id_number": person["id_number"], "mobile": "13800138000",
                                **slot})
        except StaffError:  # the slot is full: they come without an appointment
            self.count("hall: appointment refused (slot full)")
            return
        self.booking_no[plan.key] = booked["booking_no"]
        self.count("hall: appointments booked")
        if plan.missed_booking:
            other = make_id(plan.residence[:6], dt.date(1975, 6, 1), (plan.key + 500) % 1000)
            try:
                self.post(plan.station, "/api/hall/appointments",
                          {"name": "模拟预约人", "id_number": other, "mobile": "13800138001", **slot})
                self.count("hall: appointments booked, never kept")
            except StaffError:
                pass

    def hall_day(self, index, plans):
        """The day's service halls, minute by minute: at each minute the windows that
        have finished free up, arrivals take tickets, and each free window calls the next
        ticket its station gives it (priority, then appointments, then walk-ins), files
        that applicant's case and finishes the ticket `service_minutes` later. Stations
        act side by side within a minute, each one's steps in a fixed order; a case is
        filed while its applicant is served (the clock moves on meanwhile), and its
        ticket finished once it is."""
        day = self.days[index]
        events = []  # (minute, order, plan key, serial, station, what, payload): finishes before arrivals
        for plan in sorted(plans, key=lambda p: (p.arrival, p.key)):
            heapq.heappush(events, (plan.arrival, 1, plan.key, next(self.serial), plan.station, "arrive", plan))
        free = {}      # (station, window type) -> free window numbers
        waiting_at = defaultdict(int)
        tickets = {}   # (station, ticket id) -> plan
        last = 9 * 60
        while events:
            minute = events[0][0]
            now = []
            while events and events[0][0] == minute:
                now.append(heapq.heappop(events))
            last = max(last, minute)
            self.set_clock(day, 0, minute)
            by_station = defaultdict(list)
            for event in now:
                by_station[event[4]].append(event)
            jobs = [self.pool.submit(self.hall_minute, index, minute, station, sorted(found, key=lambda e: e[1:3]),
                                     free, waiting_at, tickets)
                    for station, found in sorted(by_station.items())]
            for job in jobs:
                for event in job.result():
                    heapq.heappush(events, event)
        self.hall_end[index] = last

    def hall_minute(self, index, minute, station, events, free, waiting_at, tickets):
        """One station's steps at one minute; returns the events they schedule."""
        later, touched = [], set()
        for _, _, _, _, _, what, payload in events:
            if what == "arrive":
                plan = payload
                key = (station, plan.window_type)
                if key not in free:
                    free[key] = [str(n) for n in range(WINDOWS[tier_of(station)], 0, -1)]
                ticket = self.take_ticket(plan, retry=False)
                tickets[(station, ticket["id"])] = plan
                waiting_at[key] += 1
                touched.add(key)
            elif what == "finish":
                plan, ticket_id, window = payload
                self.filings.pop(plan.key).result()  # the case filed while the applicant was served
                self.post(station, f"/api/hall/tickets/{ticket_id}/finish", {"case_no": self.case_no[plan.key]})
                free[(station, plan.window_type)].append(window)
                touched.add((station, plan.window_type))
            elif what == "away":  # the window gives up on the ticket; its holder takes a new one
                plan, ticket_id, window = payload
                self.post(station, f"/api/hall/tickets/{ticket_id}/no-show", {})
                self.count("hall: no-shows")
                ticket = self.take_ticket(plan, retry=True)
                tickets[(station, ticket["id"])] = plan
                waiting_at[(station, plan.window_type)] += 1
                free[(station, plan.window_type)].append(window)
                touched.add((station, plan.window_type))
        for key in sorted(touched):
            while waiting_at[key] and free[key]:
                window = free[key].pop()
                called = self.post(station, "/api/hall/calls", {"window_type": key[1], "window": window})
                waiting_at[key] -= 1
                plan = tickets[(station, called["id"])]
                if plan.no_show and plan.key not in self.came_back:
                    later.append((minute + NO_SHOW_MINUTES, 0, plan.key, next(self.serial), station, "away",
                                  (plan, called["id"], window)))
                    continue
                self.filings[plan.key] = self.filing_pool.submit(self.file, index, plan)
                later.append((minute + plan.service_minutes, 0, plan.key, next(self.serial), station, "finish",
                              (plan, called["id"], window)))
        return later

    def take_ticket(self, plan, retry):
        """A ticket for `plan`'s applicant: from their appointment, in the green channel
        when 70 or older, else as a walk-in (and a walk-in again after a no-show)."""
        person, _ = self.applicant(plan)
        body = {"name": person["name"], "id_number": person["id_number"], "window_type": plan.window_type,
                "kind": "walk_in"}
        if retry:
            self.came_back.add(plan.key)
        elif plan.key in self.booking_no:
            body.update(kind="appointment", booking_no=self.booking_no[plan.key])
        elif priority_reason(person["id_number"], plan.day) == "elderly":
            body["kind"] = "priority"
        ticket = self.post(plan.station, "/api/hall/tickets", body)
        self.count(f"hall: tickets {body['kind']}")
        return ticket

    # -- online applications (issue 16) -----------------------------------------------------------
    def resident_post(self, plan, path, body):
        """A resident's call to the portal's API from their own phone: each applicant has an
        address of their own (as the local proxy forwards it: services/auth.py)."""
        address = f"10.{(plan.key >> 16) & 255}.{(plan.key >> 8) & 255}.{plan.key & 255}"
        response = self.resident.post(self.net.url(plan.station) + path, json=body, timeout=60,
                                      headers={"X-Forwarded-For": address})
        if response.status_code >= 300:
            raise SimulationError(f"{plan.station} {path}: {response.status_code} {response.text}")
        return response.json()

    def mobile_of(self, plan):
        return f"139{plan.key:08d}"

    def sms_code(self, plan):
        """The one-time code the station sent (the file channel under the data folder)."""
        folder = Path(self.net.settings.data_dir) / "notices" / plan.station
        mobile = self.mobile_of(plan)
        deadline = time.monotonic() + WAIT_SECONDS
        while time.monotonic() < deadline:
            for path in folder.glob("*.json"):
                try:
                    record = json.loads(path.read_text(encoding="utf-8"))
                except (OSError, ValueError):
                    continue
                if record.get("mobile") == mobile and record.get("kind") == "one_time_code":
                    return record["params"]["code"]
            time.sleep(0.1)
        raise SimulationError(f"no SMS code for {mobile} at {plan.station}")

    def apply_online(self, index, plan):
        """The resident applies on the portal of their counter with their files; one
        material is left out when the pre-review is to ask for it."""
        item = self.items[plan.item_code]
        # the plan's counter fields are not this applicant's: what is missing is the pre-review's
        plan.missing, plan.deficiency, plan.supplement_after = [], False, 0
        person = dict(self.applicant(plan)[0], phone=self.mobile_of(plan))
        self.resident_post(plan, "/api/portal/codes", {"mobile": person["phone"], "purpose": "apply"})
        code = self.sms_code(plan)
        materials = [m["code"] for m in item["materials"]]
        left_out = materials[-1:] if plan.pre_review_supplement else []
        files = [{"material": m, "filename": f"{m}.pdf", "content": SAMPLE_PDF} for m in materials if m not in left_out]
        delivery = {"method": "electronic"} if plan.online == "full" else {"method": "counter"}
        case = self.resident_post(plan, "/api/portal/applications", {
            "item_code": plan.item_code, "applicant": person, "code": code, "delivery": delivery, "files": files,
            "counter": plan.station})  # the counter planned (by default the resident's own village would be)
        self.case_no[plan.key] = case["case_no"]
        self.query_code[plan.key] = case["query_code"]
        self.count(f"online: applied ({plan.online})")
        self.schedule(index + (2 if plan.pre_review_late else 0), 2, self.pre_review, plan, left_out)

    def pre_review(self, index, plan, left_out):
        case_no = self.case_no[plan.key]
        if left_out:  # one notice listing what is missing; the resident uploads it the next working day
            self.post(plan.station, f"/api/cases/{case_no}/pre-review", {"answer": "supplement", "materials": left_out})
            self.count("online: supplement asked")
            self.schedule(index + 1, 0, self.upload_online, plan, left_out)
            return
        min_age = self.items[plan.item_code].get("min_applicant_age")
        born = self.applicant(plan)[1]
        too_young = bool(min_age) and (self.days[index] - born).days < min_age * 365.25
        if plan.pre_review == "refuse" or too_young:  # the counter sees the age in the ID number
            self.post(plan.station, f"/api/cases/{case_no}/pre-review",
                      {"answer": "refuse", "reason": "申请人不符合申请条件" + ("（年龄）" if too_young else "")})
            self.count("online: refused")
            return
        case = self.post(plan.station, f"/api/cases/{case_no}/pre-review", {"answer": plan.pre_review})
        self.count(f"online: {plan.pre_review}")
        if plan.pre_review == "pass_online":
            self.after_acceptance(index, plan, case)
        else:
            self.schedule(index + 1, 0, self.visit_with_originals, plan)

    def upload_online(self, index, plan, left_out):
        files = [{"material": m, "filename": f"{m}.pdf", "content": SAMPLE_PDF} for m in left_out]
        self.resident_post(plan, f"/api/portal/applications/{self.case_no[plan.key]}/materials",
                           {"query_code": self.query_code[plan.key], "files": files})
        self.schedule(index, 2, self.pre_review, plan, [])

    def visit_with_originals(self, index, plan):
        """The resident's visit: the originals checked; one still at home the second time."""
        item = self.items[plan.item_code]
        brought = [m["code"] for m in item["materials"]]
        missing = brought[:1] if plan.second_visit else []
        case = self.post(plan.station, f"/api/cases/{self.case_no[plan.key]}/originals",
                         {"materials": [m for m in brought if m not in missing]})
        if missing:  # the counter unticks it: the usual one-time notice, the resident comes back
            plan.missing, plan.supplement_after = missing, 1
            self.count("online: second visit")
            self.schedule(index + 1, 0, self.supplement, plan)
        else:
            self.after_acceptance(index, plan, case)

    # -- what people do ---------------------------------------------------------------------------
    def file(self, index, plan):
        item = self.items[plan.item_code]
        materials = [m["code"] for m in item["materials"] if m["code"] not in plan.missing]
        body = {"item_code": plan.item_code, "materials": materials,
                "deficiency_promise": plan.deficiency, "applicant": self.applicant(plan)[0]}
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


def run(settings, scale, seed, year, per_process, echo, online_shares=None):
    settings.data_dir = tempfile.mkdtemp(prefix="tongban-simulate-")
    clock_file = str(Path(settings.data_dir) / "clock.json")
    set_simulated_now(clock_file, dt.datetime(year, 1, 1, 8, 0, tzinfo=DISTRICT_TZ))
    settings.clock_file = clock_file
    settings.supervision_seconds = 3600  # the driver runs the patrol at the end of each day
    # missed appointments are marked by the stations' housekeeping timer: often, since a
    # simulated day passes in seconds
    os.environ["TONGBAN_HALL_SWEEP_SECONDS"] = "1"  # read by the host processes (deploy/settings.py)
    settings.sample_users = settings.sample_users or str(SAMPLE_USERS)
    net = StationNetwork(settings, per_process=per_process, clean_env=False, startup_timeout=600)
    started = time.monotonic()
    try:
        net.start()
        code = net.district_code
        net.wait_catalogue(timeout=300)  # 127 stations asking at once, on a busy machine
        staff = ScriptedStaff(net.url, timeout=600, data_dir=settings.data_dir)
        items = staff.call("read", "GET", code, "/api/items", params={"limit": 500}).json()["items"]
        calendar = WorkingDayCalendar()
        plans, consultations = plan_year(year, scale, items, net.network, calendar, seed, online_shares)
        echo(f"{len(net.stations)} stations up; simulating {year} at scale {scale}: {len(plans)} cases "
             f"and {sum(consultations.values())} consultations (answered at the counter, counted only)")
        simulation = Simulation(net, clock_file, plans, items, calendar, echo)
        last_day = simulation.run()
        _settle()
        period = {"from": f"{year}-01-01", "to": f"{year}-12-31"}

        def stats(**by):
            return staff.call("read", "GET", code, "/api/stats", params={**period, **by}).json()["rows"]
        totals, by_category = stats(), stats(by="category")
        by_tier = staff.call("read", "GET", code, "/api/stats", params={**period, "by": "tier"}).json()
        echo(f"simulated up to {last_day}; wall time {time.monotonic() - started:.0f} s")
        echo("actions: " + ", ".join(f"{k} {v}" for k, v in sorted(simulation.counts.items())))
        echo(format_table(by_category[:-1] + by_tier["rows"]))
        echo("服务大厅（取号、等候、办理）\n" + waiting.format_table(by_tier["hall"]))
        return totals[-1], simulation.counts, by_tier["hall"]
    finally:
        net.close(grace=10)


def _settle(seconds=3):
    """Give the last records time to reach the district."""
    time.sleep(seconds)
