"""The plan of a simulated district year: who comes when, for what, and what happens to
each case. Pure and deterministic: the same seed and scale give the same plan.

Figures follow the Jiedong 2016 seed: 171,328 applications a year, of which 46,903
licences, 75,602 public services and 48,823 consultations (咨询, answered at the counter
and only counted). Arrivals vary by weekday (Mondays busiest) and by month (quiet around
the Spring Festival, busy in March and September). Most cases are filed at villages.

Each applicant also comes through the station's service hall (issue 17): they arrive at
a time of the day (mornings busier), a share of them having booked an appointment the
working day before, take a ticket for the window type of their item's department, are
called by one of the tier's windows and served for some minutes; a few are away when
called (过号) and take a new ticket. A few residents book and never come (爽约). These
draws come from a random stream of their own (`hall_plan`), so the cases' plan is the
same with or without them.

Online applications (issue 16, `online_plan`, a random stream of its own too): of the
applications for items the catalogue accepts online (`online`: pre_review or full), a
share is made on the portal (`OnlineShares.online`, default 83.23%, Jiedong 2016's share
of licences applied for online) and pre-reviewed at the receiving counter: some are not
acceptable (returned), some need one supplement first, a few are answered after their
one-day limit; a fully online item (全程网办) is then accepted without a visit, the
others pass and the resident comes once with the originals — or twice, when an original
was still missing at that visit (the default share makes at most one visit come out
near the 74.45% of online applications the seed reports). Every planned case carries the
visits the figures should count (`expected_visits`).
"""
import datetime as dt
import random
from dataclasses import dataclass, field

YEAR_TOTALS = {"licence": 46_903, "public_service": 75_602, "consultation": 48_823}
WEEKDAY_FACTOR = [1.25, 1.1, 1.0, 1.0, 0.9, 0.8, 0.8]  # Mon..Sun (a worked weekend day is quieter)
MONTH_FACTOR = [1.0, 0.6, 1.2, 1.0, 0.95, 1.0, 1.05, 1.05, 1.15, 0.85, 1.0, 1.1]
TIER_SHARE = {"village": 0.55, "township": 0.33, "district": 0.12}

P_MISSING = 0.12          # a material is forgotten
P_SUPPLEMENT = 0.9        # ... and brought later (else the counter returns the case)
P_DEFICIENCY = 0.5        # when the item allows 容缺 and only secondary ones are missing
P_SUSPEND = 0.02          # the deciding office asks for more during review (clock paused)
P_REJECT = 0.03
P_OVERRUN = 0.006         # decided after the promised limit
P_RATED = 0.7
SCORES = [(5, 0.80), (4, 0.14), (3, 0.04), (2, 0.015), (1, 0.005)]

# -- the service hall ---------------------------------------------------------------------
P_APPOINTMENT = 0.3       # applicants who booked an appointment the working day before
P_NO_SHOW = 0.03          # away when called: marked no-show, they take a new ticket
P_MISSED_BOOKING = 0.05   # per appointment, another resident books the same half day and never comes
P_MORNING = 0.6           # arrivals in the morning's half day
SERVICE_MINUTES = (5, 20)
NO_SHOW_MINUTES = 3       # a window waits this long before marking a ticket no-show
HALL_CLOSING_MARGIN = 30  # no arrivals in a half day's last minutes
#: windows per window type at a station of each tier
WINDOWS = {"district": 3, "township": 2, "village": 1}
#: the window type of an item's department, where the station has it (else A, 综合受理)
DEPARTMENT_WINDOW = {"market_regulation": "B", "natural_resources": "C", "housing": "C",
                     "human_resources": "D", "medical_security": "D"}


@dataclass
class PlannedCase:
    key: int
    day: dt.date                 # filing day
    station: str                 # filing station
    item_code: str
    residence: str
    missing: list = field(default_factory=list)   # material codes left out at filing
    deficiency: bool = False     # asks for 容缺 acceptance
    supplement_after: int = 0    # working days until the missing materials come (0: never)
    suspend_after: int = -1      # working days after acceptance the office suspends (-1: never)
    suspend_for: int = 0
    decide_after: int = 0        # working days from acceptance to the decision
    reject: bool = False
    score: int = 0               # 0: not rated
    # the service hall (hall_plan)
    window_type: str = "A"
    arrival: int = 9 * 60        # minutes after midnight, the hall's local time
    half_day: str = "am"
    appointment: bool = False    # booked the working day before
    no_show: bool = False        # away when first called
    service_minutes: int = 10
    missed_booking: bool = False  # another resident booked this half day and never came
    # online application (online_plan): "" at the counter, else the item's mode
    online: str = ""             # "" | "pre_review" | "full"
    pre_review: str = ""         # the answer: pass | pass_online | refuse
    pre_review_supplement: bool = False  # asked for a supplement first, uploaded the next working day
    pre_review_late: bool = False        # answered after the one-working-day limit
    second_visit: bool = False   # an original missing at the visit: the resident comes back

    @property
    def expected_visits(self):
        """The visits to a counter the case should record (shared/cases/pre_review.py)."""
        if not self.online:
            return 1 + (1 if self.missing and self.supplement_after and not self.deficiency else 0)
        if self.pre_review in ("refuse", "pass_online"):
            return 0
        return 2 if self.second_visit else 1


def working_days_of(year, calendar):
    day, end = dt.date(year, 1, 1), dt.date(year, 12, 31)
    days = []
    while day <= end:
        if calendar.is_working_day(day):
            days.append(day)
        day += dt.timedelta(days=1)
    return days


def daily_counts(days, total, rng):
    weights = [WEEKDAY_FACTOR[d.weekday()] * MONTH_FACTOR[d.month - 1] for d in days]
    scale = total / sum(weights)
    counts, carry = [], 0.0
    for w in weights:
        exact = w * scale * rng.uniform(0.9, 1.1) + carry
        counts.append(int(exact))
        carry = exact - int(exact)
    return counts


def plan_year(year, scale, items, network, calendar, seed=2016, online_shares=None):
    """(cases, consultations per day): every case to file, in filing order."""
    rng = random.Random(seed)
    days = working_days_of(year, calendar)
    by_category = {c: [i for i in items if i["category"] == c] for c in ("licence", "public_service")}
    stations = {tier: [s.code for s in network.of_tier(tier)] for tier in TIER_SHARE}
    villages = stations["village"]
    plans, consultations = [], {}
    per_day = {c: daily_counts(days, round(YEAR_TOTALS[c] * scale), rng) for c in YEAR_TOTALS}
    key = 0
    for index, day in enumerate(days):
        consultations[day] = per_day["consultation"][index]
        arrivals = [c for c in ("licence", "public_service") for _ in range(per_day[c][index])]
        rng.shuffle(arrivals)
        for category in arrivals:
            residence = rng.choice(villages)
            item = _pick_item(rng, by_category[category], residence)
            station = _pick_station(rng, item, residence, network)
            plans.append(_plan_case(rng, key, day, station, item, residence))
            key += 1
    hall_plan(plans, {i["code"]: i for i in items}, network, seed)
    online_plan(plans, {i["code"]: i for i in items}, seed, online_shares)
    return plans, consultations


@dataclass(frozen=True)
class OnlineShares:
    """How online applications go (each a probability; defaults from the seeds)."""
    online: float = 0.8323          # applied for online, of the applications for items accepting it
    refuse: float = 0.02            # not acceptable at pre-review (returned, final)
    supplement: float = 0.2         # one supplement asked before the answer
    late: float = 0.03              # answered after the one-working-day limit
    second_visit: float = 0.26      # an original missing at the visit: a second visit

    def __post_init__(self):
        for name in ("online", "refuse", "supplement", "late", "second_visit"):
            value = getattr(self, name)
            if not 0 <= value <= 1:
                raise ValueError(f"online share {name} must be between 0 and 1, not {value}")


def online_plan(plans, items, seed, shares=None):
    """Mark the applications made online and how their pre-review goes, from a random
    stream of their own; nothing else of the plan changes (an online application's
    supplement is the pre-review's, its `missing` is not used; its one visit, when it has
    one, goes through the hall as the plan's hall fields say)."""
    shares = shares or OnlineShares()
    rng = random.Random(f"online-{seed}")
    for plan in plans:
        mode = items[plan.item_code].get("online") or "none"
        draws = [rng.random() for _ in range(5)]  # the same draws per case whatever the shares
        plan.online, plan.pre_review, plan.second_visit = "", "", False
        plan.pre_review_supplement = plan.pre_review_late = False
        if mode == "none" or draws[0] >= shares.online:
            continue
        plan.online = mode  # the counter's fields (missing, hall visit) stay for the driver's counter path
        plan.pre_review_supplement = draws[1] < shares.supplement
        plan.pre_review_late = draws[2] < shares.late
        if draws[3] < shares.refuse:
            plan.pre_review = "refuse"
        elif mode == "full":
            plan.pre_review = "pass_online"
        else:
            plan.pre_review = "pass"
            plan.second_visit = draws[4] < shares.second_visit
    return plans


def window_type_for(item, tier, policy):
    """The window type a station of `tier` serves `item` at."""
    wanted = DEPARTMENT_WINDOW.get(item.get("department"), "A")
    return wanted if wanted in {w.code for w in policy.window_types_for(tier)} else "A"


def hall_plan(plans, items, network, seed, appointment_share=P_APPOINTMENT):
    """Give each planned case its visit to the hall, from a random stream of its own."""
    rng = random.Random(f"hall-{seed}")
    policy = network.hall
    hours = dict(policy.hours)
    for plan in plans:
        tier = network.station(plan.station).tier
        plan.window_type = window_type_for(items[plan.item_code], tier, policy)
        plan.half_day = "am" if rng.random() < P_MORNING else "pm"
        start, end = hours[plan.half_day]
        first, last = start.hour * 60 + start.minute, end.hour * 60 + end.minute - HALL_CLOSING_MARGIN
        plan.arrival = rng.randint(first, max(first, last))
        plan.appointment = rng.random() < appointment_share
        plan.no_show = rng.random() < P_NO_SHOW
        plan.service_minutes = rng.randint(*SERVICE_MINUTES)
        plan.missed_booking = plan.appointment and rng.random() < P_MISSED_BOOKING
    return plans


def _pick_item(rng, items, residence):
    return rng.choice(items)


def _pick_station(rng, item, residence, network):
    for _ in range(10):
        tier = rng.choices(list(TIER_SHARE), weights=list(TIER_SHARE.values()))[0]
        if tier in item["accepting_tiers"]:
            break
    else:
        tier = item["accepting_tiers"][0]
    if tier == "village":
        return residence
    if tier == "township":
        return residence[:9]
    return network.district_code


def _plan_case(rng, key, day, station, item, residence):
    plan = PlannedCase(key=key, day=day, station=station, item_code=item["code"], residence=residence)
    if rng.random() < P_MISSING and item["materials"]:
        forgotten = rng.choice(item["materials"])
        plan.missing = [forgotten["code"]]
        if forgotten["kind"] == "secondary" and item.get("allows_deficiency") and rng.random() < P_DEFICIENCY:
            plan.deficiency = True
        plan.supplement_after = rng.randint(1, 3) if rng.random() < P_SUPPLEMENT else 0
    promised = item["promised_limit_days"]
    if promised == 0:
        plan.decide_after = 0
    elif rng.random() < P_OVERRUN:
        plan.decide_after = promised + rng.randint(1, max(2, promised))
    else:
        plan.decide_after = max(1, round(promised * rng.uniform(0.1, 0.55)))
    if promised > 2 and rng.random() < P_SUSPEND:
        plan.suspend_after = rng.randint(0, plan.decide_after - 1) if plan.decide_after > 1 else 0
        plan.suspend_for = rng.randint(2, 5)
    if plan.deficiency:
        plan.decide_after = max(plan.decide_after, plan.supplement_after or 0)
    plan.reject = rng.random() < P_REJECT
    if rng.random() < P_RATED:
        plan.score = rng.choices([s for s, _ in SCORES], weights=[w for _, w in SCORES])[0]
    return plan
