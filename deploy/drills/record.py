"""`tongban bench record`: a district's record generated straight into a station
database, then the district's figures, case lists and worklists timed on it.

No network and no stations run: `generate` writes case rows (snapshot and summary
columns, the summary derived by shared/cases/summary.py exactly as CaseRepository.save
derives it) and the supervision alerts a patrol would have raised, in bulk inserts. The
record is deterministic for a seed. Its cases are shaped on the sample district's year
(`tongban simulate`, README "Benchmarks"): the sample network's stations and catalogue,
about a fifth filed at the district centre, half at townships, a quarter at villages;
3-4% returned at the counter, some waiting for a material, acceptances with a deficiency
(容缺) or by commitment (告知承诺), suspensions (补正) that move the due date, granted
extensions, a few late decisions and rejections, ratings on most completed cases, joint
items decided by several departments, and the cases of the last weeks still running.

`run` then times, on that database, `/api/stats`' query for the last year of the record
in every grouping, and the pages of case lists and department worklists the desks ask
for, and prints p50/p95 per call.
"""
import datetime as dt
import random
import time
from pathlib import Path

from sqlalchemy import insert

from deploy.drills.bench_cases import percentile

from shared.calendar import Schedule, WorkingDayCalendar
from shared.cases import states
from shared.cases.routing import deciding_departments
from shared.cases.store import CaseRepository
from shared.cases.summary import summary, working_days_taken
from shared.cases.workflow import ITEM_FIELDS
from shared.catalogue.store import CatalogueStore
from shared.db.database import get_database
from shared.db.models import Case, SupervisionAlert
from shared.stations import DISTRICT, TOWNSHIP, VILLAGE, Network
from shared.supervision import aggregates
from shared.supervision.statistics import GROUPINGS

TZ = dt.timezone(dt.timedelta(hours=8))
#: share of cases filed at each tier (the simulated year: 22% / 52% / 26%)
TIER_SHARES = {DISTRICT: 0.22, TOWNSHIP: 0.52, VILLAGE: 0.26}
INSERT_BATCH = 2000
SCORES = (5,) * 70 + (4,) * 24 + (3,) * 3 + (2,) * 2 + (1,)


def load_sample():
    """(network, catalogue items) of the sample district."""
    import yaml

    from deploy.settings import SAMPLE_CATALOGUE, SAMPLE_NETWORK
    items = yaml.safe_load(Path(SAMPLE_CATALOGUE).read_text(encoding="utf-8"))["items"]
    return Network.load(SAMPLE_NETWORK), items


class RecordGenerator:
    """Case snapshots and alerts of a district record, deterministic for `seed`.
    `end`: the last filing day (the record's "today"); `years`: how far back it goes;
    `rare`: a factor on the share of the rarer outcomes (returns, waiting for materials,
    容缺 and 告知承诺, suspensions, extensions, late decisions, rejections, warnings), so
    a test's few hundred cases hold them all; `first`: the number of the first case."""

    def __init__(self, network, items, calendar, end, years=1, seed=2026, rare=1.0, first=0):
        self.rare, self.first = rare, first
        self.network, self.calendar, self.end = network, calendar, end
        self.start = end - dt.timedelta(days=round(365.25 * years) - 1)
        self.rng = random.Random(seed)
        self.stations = {tier: [s for s in network.stations.values() if s.tier == tier] for tier in TIER_SHARES}
        self.items = {tier: [dict(i, version=1) for i in items if tier in i.get("accepting_tiers", ())]
                      for tier in TIER_SHARES}
        self.days = (self.end - self.start).days + 1

    def case(self, n):
        """(snapshot, alerts) of the n-th case."""
        rng = self.rng
        tier = rng.choices(list(TIER_SHARES), weights=list(TIER_SHARES.values()))[0]
        station = rng.choice(self.stations[tier]).code
        item = rng.choice(self.items[tier])
        item = {k: item.get(k) for k in ITEM_FIELDS}
        filed = self.start + dt.timedelta(days=int(n * self.days / self.count))
        filed_at = dt.datetime.combine(filed, dt.time(8 + rng.randrange(9), rng.randrange(60)), TZ)
        case_no = f"{station}-{filed:%Y%m%d}-{self.first + n:06d}"
        district = self.network.district_code
        deciding = district if item["authority_tier"] == DISTRICT else station
        case = {"case_no": case_no, "item": item, "agent": "", "note": "",
                "applicant": {"name": "样例申请人", "id_number": "", "phone": "", "residence": ""},
                "filing_station": station, "holder_station": station, "deciding_station": deciding,
                "status": None, "acceptance": None, "materials_submitted": [m["code"] for m in item["materials"]],
                "filed_at": filed_at.isoformat(), "accepted_at": None, "due_date": None, "legal_due_date": None,
                "decisions": [], "history": [], "revision": 0}
        clock = [filed_at]

        def move(action, to, days=0, reason=""):
            at = clock[0]
            if days:
                at = dt.datetime.combine(self.calendar.add_working_days(at.date(), days), at.timetz())
            at += dt.timedelta(minutes=rng.randrange(1, 30))
            clock[0] = at
            case["history"].append({"entry_id": f"{case_no}-{len(case['history']) + 1}",
                                    "seq": len(case["history"]) + 1, "at": at.isoformat(), "station": station,
                                    "actor": "样例工作人员", "action": action, "from_status": case["status"],
                                    "to_status": to, "reason": reason})
            case["status"] = to
            case["revision"] += 1
            return at

        roll = rng.random() / self.rare
        if roll < 0.026:
            move("file", states.RETURNED, reason="材料不符合要求")
            case["acceptance"] = states.RETURNED
            return case, []
        if roll < 0.04:
            move("file", states.NEEDS_SUPPLEMENT, reason="缺少材料")
            if filed < self.end - dt.timedelta(days=30):
                move("return", states.RETURNED, days=5, reason="逾期未补齐材料")
            return case, []
        acceptance = states.ACCEPTED
        if item.get("allows_deficiency") and rng.random() < 0.1 * self.rare:
            acceptance = states.ACCEPTED_WITH_DEFICIENCY
        elif item.get("allows_commitment") and rng.random() < 0.1 * self.rare:
            acceptance = states.ACCEPTED_BY_COMMITMENT
        accepted_at = move("file", acceptance)
        accepted = accepted_at.date()
        promised = item["promised_limit_days"] or 0
        case.update(acceptance=acceptance, accepted_at=accepted_at.isoformat(),
                    legal_due_date=self.calendar.add_working_days(accepted, item["legal_limit_days"] or 0).isoformat())
        if deciding != station:
            move("forward", states.FORWARDED)
        paused = rng.choice((1, 2, 3, 5)) if promised and rng.random() < 0.015 * self.rare else 0
        extension = rng.choice((3, 5)) if promised and rng.random() < 0.01 * self.rare else 0
        due = self.calendar.add_working_days(accepted, promised + paused + extension)
        case["due_date"] = due.isoformat()
        # working days of work: mostly well inside the promise, a few late
        late = rng.random() < 0.006 * self.rare
        actual = promised + rng.randrange(1, 4) if late else rng.randrange(0, max(promised, 0) // 2 + 1)
        steps = item["decision_steps"] or ["approve"]
        first = states.PENDING_REVIEW if steps[0] == "review" else states.PENDING_APPROVAL
        move("start_decision", first)
        if paused:
            move("suspend", states.SUSPENDED, reason="补正材料")
            case["paused_since"] = clock[0].date().isoformat()
            if self.calendar.add_working_days(clock[0].date(), paused) > self.end:
                return case, self._alerts(case, rng, promised, late)
            move("resume", first, days=paused)
            case.pop("paused_since")
            case["paused_working_days"] = paused
            case["pauses"] = [{"from": case["history"][-2]["at"], "to": case["history"][-1]["at"],
                               "working_days": paused}]
        if extension:
            case["extension"] = {"days": extension, "reason": "情况复杂", "status": "granted"}
        decided_on = self.calendar.add_working_days(accepted, actual + paused)
        if decided_on > self.end:
            return case, self._alerts(case, rng, promised, late)
        rejected = rng.random() < 0.03 * self.rare
        if first == states.PENDING_REVIEW:
            move("review", states.PENDING_APPROVAL)
        clock[0] = max(clock[0], dt.datetime.combine(decided_on, dt.time(15), TZ))
        move("reject" if rejected else "approve", states.REJECTED if rejected else states.APPROVED)
        case["decisions"] = [{"step": "approve", "outcome": "reject" if rejected else "pass",
                              "department": item["department"]}]
        move("result_ready", states.RESULT_READY)
        if clock[0].date() < self.end or rng.random() < 0.5:
            move("deliver", states.COMPLETED)
            if rng.random() < 0.7:
                case["rating"] = {"score": rng.choice(SCORES), "comment": "", "by": "applicant",
                                  "at": clock[0].isoformat()}
        return case, self._alerts(case, rng, promised, late)

    def _alerts(self, case, rng, promised, late):
        kinds = ["warning"] if rng.random() < 0.034 * self.rare else []
        if late:
            kinds.append("yellow_card")
            if rng.random() < 0.45:
                kinds.append("red_card")
        return [{"case_no": case["case_no"], "kind": kind, "department": case["item"]["department"],
                 "station": case["holder_station"], "raised_at": case["filed_at"],
                 "due_date": case["due_date"]} for kind in kinds]

    def generate(self, count):
        """Yield (snapshot, alerts) for `count` cases, filed evenly over the record's days."""
        self.count = count
        for n in range(count):
            yield self.case(n)


def case_row(case, calendar, station_code):
    """The `cases` row of a snapshot, as CaseRepository.save writes it."""
    columns = summary(case)
    return {"case_no": case["case_no"], "item_code": case["item"]["code"], "department": case["item"]["department"],
            "departments": "," + ",".join(deciding_departments(case)) + ",", "status": case["status"],
            "filing_station": case["filing_station"], "deciding_station": case.get("deciding_station"),
            "holder_station": case["holder_station"], "held_here": case["holder_station"] == station_code,
            "revision": case["revision"],
            "filed_at": dt.datetime.fromisoformat(case["filed_at"]).replace(tzinfo=None),
            "due_date": dt.date.fromisoformat(case["due_date"]) if case.get("due_date") else None,
            "updated_at": dt.datetime.now(), "snapshot": case,
            **columns, "working_days": working_days_taken(columns, calendar)}


def calendar_of(database):
    with database.reading() as session:
        return WorkingDayCalendar(Schedule.from_dict(s) for s in CatalogueStore(session).schedules())


def generate(database, network, items, count, years=1, seed=2026, end=dt.date(2026, 12, 31), echo=print):
    """Write a record of `count` cases into `database` (held at the district); returns
    the generator (its start and end days)."""
    calendar = calendar_of(database)
    generator = RecordGenerator(network, items, calendar, end, years, seed)
    cases, alerts = [], []
    started, written = time.perf_counter(), 0

    def flush():
        nonlocal written
        with database.transaction() as session:
            session.execute(insert(Case), cases)
            if alerts:
                session.execute(insert(SupervisionAlert), alerts)
        written += len(cases)
        cases.clear()
        alerts.clear()

    for case, raised in generator.generate(count):
        # at the district every record copy is held elsewhere except the district's own
        case["holder_station"] = case["filing_station"]
        cases.append(case_row(case, calendar, network.district_code))
        alerts.extend(raised)
        if len(cases) >= INSERT_BATCH:
            flush()
            if written % 50000 == 0:
                echo(f"  {written:,} cases written ({time.perf_counter() - started:.0f} s)")
    if cases:
        flush()
    echo(f"{count:,} cases written in {time.perf_counter() - started:.1f} s")
    return generator


def timed(call, times):
    spent = []
    for n in range(times):
        began = time.perf_counter()
        call(n)
        spent.append(time.perf_counter() - began)
    return spent


def measure(database, network, start, end, repeat=5, pages=40):
    """[(what, p50 s, p95 s, calls)]: the district's figures for `start`..`end` in every
    grouping, and pages of case lists and worklists. `pages`: calls per list (0: the figures only)."""
    results = []
    departments = list(network.departments)
    with database.reading() as session:
        for by in GROUPINGS:
            spent = timed(lambda _: aggregates.statistics(session, start, end, by, network), repeat)
            results.append((f"/api/stats by={by} ({start}..{end})", spent))
        cases = CaseRepository(session, network.district_code)
        lists = [
            ("case list, newest first (page of 50)", lambda n: cases.list(limit=50, offset=50 * (n % 4))),
            ("case list of a department and status", lambda n: cases.list(
                department=departments[n % len(departments)], status=states.COMPLETED, limit=50)),
            ("worklist: a department's cases awaiting review", lambda n: cases.list(
                involving=departments[n % len(departments)], status=[states.PENDING_REVIEW], limit=50)),
            ("worklist: awaiting approval or joint review", lambda n: cases.list(
                involving=departments[n % len(departments)],
                status=[states.PENDING_APPROVAL, states.JOINT_REVIEW, states.SUSPENDED], limit=50)),
            ("worklist: results to hand out at a station", lambda n: cases.list(
                held_here=True, status=[states.RESULT_READY], limit=50)),
        ]
        for what, call in lists if pages else ():
            results.append((what, timed(call, pages)))
    return [(what, percentile(spent, 50), percentile(spent, 95), len(spent)) for what, spent in results]


def format_results(results):
    width = max(len(what) for what, *_ in results)
    lines = [f"{'call':<{width}}  {'p50':>9}  {'p95':>9}  calls", "-" * (width + 30)]
    lines += [f"{what:<{width}}  {p50 * 1000:>6.1f} ms  {p95 * 1000:>6.1f} ms  {calls}"
              for what, p50, p95, calls in results]
    return "\n".join(lines)


def run(database_url, count, years, seed, echo=print):
    """Generate the record into an empty database at `database_url` and time the calls."""
    network, items = load_sample()
    database = get_database(database_url)
    with database.reading() as session:
        if session.query(Case).limit(1).count():
            raise SystemExit(f"{database_url} already holds cases: give an empty database")
    echo(f"generating {count:,} cases over {years} year(s) into {database_url}")
    generator = generate(database, network, items, count, years, seed, echo=echo)
    if database.engine.dialect.name == "postgresql":
        # what autovacuum does after a bulk load: statistics for the planner, and the
        # visibility map that lets counts and figures be read from the indexes alone
        with database.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("VACUUM ANALYZE cases")
            connection.exec_driver_sql("VACUUM ANALYZE supervision_alerts")
    else:
        with database.engine.connect() as connection:
            connection.exec_driver_sql("ANALYZE")
    last_year = max(generator.start, generator.end - dt.timedelta(days=364))
    echo(format_results(measure(database, network, last_year, generator.end)))
    if years > 1:
        echo(format_results(measure(database, network, generator.start, generator.end, repeat=3, pages=0)))
