"""Scripted staff: the people of a running network, played over HTTP by one driver for the
fault drills, the benchmarks and the simulation.

Village agents file cases, back-office reviewers and approvers decide them, counters
deliver the results. Each call is made by the sample user of the station who would make
it (deploy/station_client.py: the village's agent files, the department's reviewer
reviews...). Staff can also work by themselves in threads, polling their worklists:

    staff = ScriptedStaff(net.url, data_dir=settings.data_dir)
    case = staff.file(village, {"item_code": ..., "applicant": {...}, "materials": [...]})
    staff.at_work(staff.decide_worklists, district)      # a reviewer-approver at the district
    staff.at_work(staff.deliver_worklist, village)       # the village's counter
    ...
    staff.stop()

With `patience` (seconds), a call its station does not answer, or answers with a server
error, is tried again until the station answers (a station may be down during a drill);
each such try is counted in `failures`.
"""
import threading
import time
from collections import Counter

import requests

from deploy.station_client import StationClient

# a worklist's two steps: review, then approval (an item with one step starts at approval)
DECISION_STEPS = (("pending_review", "review"), ("pending_approval", "approve"))


class StaffError(RuntimeError):
    """A station refused what the staff asked of it."""


class ScriptedStaff:
    def __init__(self, url_of, data_dir=None, timeout=30, patience=0.0):
        self.client = StationClient(url_of, timeout=timeout, data_dir=data_dir)
        self.patience = patience
        self.failures = Counter()      # calls tried again, by kind and what went wrong
        self.stopping = threading.Event()
        self.threads = []

    # -- one call --------------------------------------------------------------------
    def call(self, kind, method, station, path, body=None, params=None, as_user=None, patience=None):
        """The station's answer; None when, with patience, it never answered in time (or
        the staff were told to stop: then only filings are still tried again)."""
        patience = self.patience if patience is None else patience
        deadline = time.monotonic() + patience
        while True:
            try:
                response = self.client.request(method, station, path, json=body, params=params, as_user=as_user)
                if response.status_code < 500 or not patience:
                    return response
                self.failures[f"{kind}: HTTP {response.status_code}"] += 1
            except requests.RequestException:
                if not patience:
                    raise
                self.failures[f"{kind}: no answer"] += 1
                self.client.reset_connection()
            if time.monotonic() > deadline or self.stopping.is_set() and kind != "file":
                return None
            time.sleep(0.3)

    def act(self, station, path, body, as_user=None, kind="act", patience=None):
        """POST what a person does at `station`; its answer (JSON), StaffError if refused."""
        response = self.call(kind, "POST", station, path, body, as_user=as_user, patience=patience)
        if response is None or response.status_code >= 300:
            raise StaffError(f"{station} {path}: "
                             + (f"{response.status_code} {response.text}" if response is not None else "no answer"))
        return response.json()

    # -- what people do --------------------------------------------------------------
    def file(self, station, body, patience=None):
        """A village agent (or a counter) files a case: the new case."""
        return self.act(station, "/api/cases", body, kind="file", patience=patience)

    def case(self, station, case_no):
        """Station `station`'s copy of the case, or None."""
        response = self.call("read", "GET", station, f"/api/cases/{case_no}")
        return response.json() if response is not None and response.ok else None

    def worklist(self, station, status, department=None, limit=500):
        """The cases `station` holds in `status` (of `department`)."""
        params = {"scope": "held", "status": status, "limit": limit,
                  **({"department": department} if department else {})}
        response = self.call("list", "GET", station, "/api/cases", params=params)
        return response.json()["cases"] if response is not None and response.ok else []

    def decide(self, station, case_no, step, department, outcome="pass", reason=""):
        """One decision: `step` review or approve (a joint case's department approves)."""
        return self.act(station, f"/api/cases/{case_no}/decisions",
                        {"step": step, "outcome": outcome, "department": department, "reason": reason},
                        kind="decide")

    def deliver(self, station, case_no):
        """The filing counter hands the result to the applicant."""
        return self.act(station, f"/api/cases/{case_no}/deliver", {}, kind="deliver")

    # -- staff at work ---------------------------------------------------------------
    def at_work(self, duty, *args, **kwargs):
        """Run `duty` in a thread of its own until stop()."""
        thread = threading.Thread(target=duty, args=args, kwargs=kwargs, daemon=True)
        thread.start()
        self.threads.append(thread)
        return thread

    def decide_worklists(self, station, department=None, mine=None, poll=0.1):
        """Review, then approve, every case `station` holds (of `department`; that
        `mine(case)` accepts, so that several deciders never race for one case), passing
        each, until stop()."""
        while not self.stopping.is_set():
            busy = False
            for status, step in DECISION_STEPS:
                for case in self.worklist(station, status, department):
                    if mine is None or mine(case):
                        busy = True
                        self._attempt(self.decide, station, case["case_no"], step, case["department"])
            if not busy:
                time.sleep(poll)

    def deliver_worklist(self, station, poll=0.1):
        """Deliver every result that comes back to `station`, until stop()."""
        while not self.stopping.is_set():
            cases = self.worklist(station, "result_ready")
            for case in cases:
                self._attempt(self.deliver, station, case["case_no"])
            if not cases:
                time.sleep(poll)

    def _attempt(self, action, *args):
        """One step by staff at work: a refusal (another clerk was first, the station went
        down) is counted, and the worklist will show the case again if it is still due."""
        try:
            action(*args)
        except (StaffError, requests.RequestException) as exc:
            self.failures[f"{action.__name__}: {type(exc).__name__}"] += 1

    def stop(self, timeout=40):
        self.stopping.set()
        for thread in self.threads:
            thread.join(timeout)
