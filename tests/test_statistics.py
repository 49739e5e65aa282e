"""The district's figures, checked against figures known in advance.

Two sets of cases:
* seven hand-dated cases whose every figure is worked out by hand below (the dates cross
  the 2026 Mid-Autumn and National Day holidays: Sep 25-27 and Oct 1-7 off, Sat Oct 10
  worked);
* 200 cases generated from a seeded "outcome sheet": for each case the sheet says first
  what happened (returned, waiting, decided after N working days, paused P days, extended
  E days, rated S, warned, carded...) and the case dict is then built to match. The
  expected figures are computed from the sheet by plain counting, never from the case
  dicts and never with the code under test.
"""
import csv
import datetime as dt
import io
import random
from zoneinfo import ZoneInfo

import pytest

from shared.calendar import WorkingDayCalendar
from shared.stations import Network
from shared.supervision import compute_statistics, format_table, to_csv
from shared.supervision.statistics import FIGURES, GROUPINGS

TZ = ZoneInfo("Asia/Shanghai")
CAL = WorkingDayCalendar()
D = dt.date
START, END = D(2026, 9, 1), D(2026, 10, 31)

NETWORK = Network.from_dict({
    "district": {"code": "445203", "name": "揭东区"},
    "departments": [{"code": c, "name": n} for c, n in [
        ("civil_affairs", "区民政局"), ("housing", "区住房和城乡建设局"), ("ecology", "生态环境分局"),
        ("emergency", "区应急管理局"), ("human_resources", "区人力资源和社会保障局"),
        ("petition", "区信访局")]],
    "stations": [
        {"code": "445203", "tier": "district", "name": "区行政服务中心"},
        {"code": "445203001", "tier": "township", "name": "曲溪街道公共服务中心"},
        {"code": "445203001201", "tier": "village", "name": "东山村便民服务站"},
        {"code": "445203100", "tier": "township", "name": "云路镇公共服务中心"},
        {"code": "445203100201", "tier": "village", "name": "新寮村便民服务站"},
    ]})
STATION_ORDER = ["445203", "445203001", "445203001201", "445203100", "445203100201"]
TIER = {"445203": "district", "445203001": "township", "445203100": "township",
        "445203001201": "village", "445203100201": "village"}

ITEMS = {
    "MZ-002": {"name": "最低生活保障申请", "department": "civil_affairs", "category": "public_service",
               "promised_limit_days": 5, "legal_limit_days": 20},
    "ZJ-011": {"name": "建筑工程施工许可", "department": "housing", "category": "licence",
               "promised_limit_days": 10, "legal_limit_days": 20},
    "HB-003": {"name": "环境影响评价审批", "department": "ecology", "category": "licence",
               "promised_limit_days": 15, "legal_limit_days": 30},
    "YJ-001": {"name": "烟花爆竹零售许可", "department": "emergency", "category": "licence",
               "promised_limit_days": 0, "legal_limit_days": 3},
    "RS-010": {"name": "就业登记", "department": "human_resources", "category": "public_service",
               "promised_limit_days": 0, "legal_limit_days": 5},
    "XF-001": {"name": "信访事项咨询", "department": "petition", "category": "consultation",
               "promised_limit_days": 3, "legal_limit_days": 15},
}


def item(code):
    return {"code": code, "version": 1, **ITEMS[code]}


def iso(day, hour=10, minute=0, tz=TZ):
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=tz).isoformat()


def make_case(n, station, item_code, filed, *, outcome, accepted=None, decided=None, due=None,
              decision="approved", status_after=None, paused_days=0, rating=None, acceptance="accepted",
              filed_at=None):
    """A case snapshot shaped like the workflow's. `outcome` is returned | waiting_supplement |
    running | decided. Dates are dates; `filed_at` overrides the filing timestamp."""
    history = []

    def move(day, to, action, frm):
        history.append({"entry_id": f"{n}-{len(history) + 1}", "seq": len(history) + 1,
                        "at": iso(day, 9 + len(history) % 8), "station": station, "actor": "tester",
                        "action": action, "from_status": frm, "to_status": to, "reason": ""})

    case = {"case_no": f"{station}-{filed:%Y%m%d}-{n:04d}", "item": item(item_code),
            "filing_station": station, "holder_station": station, "status": None,
            "acceptance": None, "filed_at": filed_at or iso(filed, 8, 30), "accepted_at": None,
            "due_date": None, "legal_due_date": None, "decisions": [], "history": history}
    if outcome == "returned":
        move(filed, "returned", "file", None)
        case["status"] = "returned"
        return case
    if outcome == "waiting_supplement":
        move(filed, "needs_supplement", "file", None)
        case["status"] = "needs_supplement"
        return case
    move(accepted, acceptance, "file", None)
    move(accepted, "pending_review", "start_decision", acceptance)
    case.update(acceptance=acceptance, accepted_at=iso(accepted, 8, 45), due_date=due.isoformat(),
                status="pending_review")
    if paused_days:
        case["paused_working_days"] = paused_days
    if outcome == "running":
        return case
    move(decided, decision, "approve" if decision == "approved" else "review", "pending_review")
    move(decided, "result_ready", "result_ready", decision)
    case["status"] = "result_ready"
    if status_after == "completed":
        move(decided, "completed", "deliver", "result_ready")
        case["status"] = "completed"
    if rating is not None:
        case["rating"] = {"score": rating, "comment": "", "at": iso(decided, 17)}
    return case


def alert(case_no, kind, when=D(2026, 10, 20)):
    return {"case_no": case_no, "kind": kind, "department": "civil_affairs", "station": "445203",
            "at": iso(when)}


def by_group(rows):
    return {row["group"]: row for row in rows[:-1]}


def counter_only(expected):
    """Issue 16's figures of cases all filed at a counter before visits were counted:
    none online, one visit each accepted case, no pre-review (tests/test_pre_review_figures.py
    checks them on online cases)."""
    accepted = expected["accepted"]
    return {"online": 0, "online_rate": 0.0 if expected["cases"] else None,
            "zero_visit_share": 0.0 if accepted else None, "at_most_one_visit_share": 1.0 if accepted else None,
            "avg_visits": 1.0 if accepted else None, "pre_review_on_time_rate": None}


def check_row(row, expected):
    expected = {**counter_only(expected), **expected}
    for key, _ in FIGURES:
        want = expected[key]
        assert row[key] == (pytest.approx(want) if isinstance(want, float) else want), key
        if want is None:
            assert row[key] is None, key


# -- seven cases worked out by hand ------------------------------------------------------
def hand_cases():
    return [
        # 1 district, 5-day promise, accepted Thu Sep 24, decided Sat Oct 10 (a worked Saturday):
        #   Sep 28, 29, 30, Oct 8, 9, 10 = 6 working days; due Sep 28, 29, 30, Oct 8, 9 -> Oct 9: late
        make_case(1, "445203", "MZ-002", D(2026, 9, 24), outcome="decided", accepted=D(2026, 9, 24),
                  decided=D(2026, 10, 10), due=D(2026, 10, 9), rating=2, status_after="completed"),
        # 2 village, accepted Wed Sep 30, decided Fri Oct 9: Oct 8, 9 = 2 days; due Oct 8, 9, 10, 12, 13
        make_case(2, "445203001201", "MZ-002", D(2026, 9, 30), outcome="decided", accepted=D(2026, 9, 30),
                  decided=D(2026, 10, 9), due=D(2026, 10, 13), rating=5),
        # 3 village, immediate, accepted and decided Mon Oct 12: 0 days, due that day (on time, not early)
        make_case(3, "445203001201", "RS-010", D(2026, 10, 12), outcome="decided", accepted=D(2026, 10, 12),
                  decided=D(2026, 10, 12), due=D(2026, 10, 12), rating=4, acceptance="accepted_by_commitment"),
        # 4 township, 10-day promise, accepted Mon Sep 21, paused 5 working days, decided Fri Oct 16:
        #   Sep 22-24 (3), 28-30 (6), Oct 8-10 (9), 12-16 (14) -> 14 - 5 = 9 days;
        #   due date moved by the pause: 15 working days after Sep 21 -> Mon Oct 19
        make_case(4, "445203001", "ZJ-011", D(2026, 9, 21), outcome="decided", accepted=D(2026, 9, 21),
                  decided=D(2026, 10, 16), due=D(2026, 10, 19), paused_days=5, decision="rejected"),
        # 5 township, accepted Mon Oct 12, not decided yet
        make_case(5, "445203001", "ZJ-011", D(2026, 10, 12), outcome="running", accepted=D(2026, 10, 12),
                  due=D(2026, 10, 26), acceptance="accepted_with_deficiency"),
        # 6 village of the other township: returned
        make_case(6, "445203100201", "MZ-002", D(2026, 10, 14), outcome="returned"),
        # 7 filed before the period (Aug 31, 23:59 local): not counted anywhere
        make_case(7, "445203", "MZ-002", D(2026, 8, 31), outcome="decided", accepted=D(2026, 8, 31),
                  decided=D(2026, 9, 2), due=D(2026, 9, 7), rating=1,
                  filed_at=iso(D(2026, 8, 31), 23, 59)),
    ]


def hand_alerts(cases):
    no = [c["case_no"] for c in cases]
    return [alert(no[0], "warning"), alert(no[0], "yellow_card"), alert(no[0], "red_card"),
            alert(no[4], "warning"), alert(no[6], "yellow_card"),          # case 7 is outside
            alert("445203-20261001-9999", "red_card"),                     # no such case
            alert(no[1], "follow_up")]                                    # not a supervision alert


def test_hand_counted_totals():
    cases = hand_cases()
    rows = compute_statistics(cases, CAL, START, END, alerts=hand_alerts(cases), network=NETWORK)
    assert len(rows) == 1
    total = rows[0]
    assert (total["by"], total["group"], total["name"]) == ("none", None, "合计")
    check_row(total, {
        "cases": 6, "accepted": 5, "returned": 1, "completed": 4,
        "completion_rate": 4 / 5,
        "on_time": 3, "on_time_rate": 3 / 4,            # cases 2, 3, 4
        "early": 2, "early_rate": 2 / 4,                # cases 2, 4
        "avg_working_days": (6 + 2 + 0 + 9) / 4,        # 4.25
        "avg_days_under_promised": (-1 + 3 + 0 + 1) / 4,
        "avg_days_under_legal": (14 + 18 + 5 + 11) / 4,
        "warnings": 2, "yellow_cards": 1, "red_cards": 1,
        "rated": 3, "rating_avg": 11 / 3, "satisfied_share": 2 / 3,
        "filed_below_district_share": 5 / 6,
    })


def test_hand_counted_by_station_and_tier():
    cases = hand_cases()
    alerts = hand_alerts(cases)
    rows = compute_statistics(cases, CAL, START, END, by="station", alerts=alerts, network=NETWORK)
    assert [r["group"] for r in rows] == ["445203", "445203001", "445203001201", "445203100201", None]
    assert [r["name"] for r in rows] == ["区行政服务中心", "曲溪街道公共服务中心", "东山村便民服务站",
                                         "新寮村便民服务站", "合计"]
    none = dict(completion_rate=None, on_time=0, on_time_rate=None, early=0, early_rate=None,
                avg_working_days=None, avg_days_under_promised=None, avg_days_under_legal=None,
                rated=0, rating_avg=None, satisfied_share=None)
    g = by_group(rows)
    check_row(g["445203"], dict(
        cases=1, accepted=1, returned=0, completed=1, completion_rate=1.0, on_time=0, on_time_rate=0.0,
        early=0, early_rate=0.0, avg_working_days=6.0, avg_days_under_promised=-1.0,
        avg_days_under_legal=14.0, warnings=1, yellow_cards=1, red_cards=1, rated=1, rating_avg=2.0,
        satisfied_share=0.0, filed_below_district_share=0.0))
    check_row(g["445203001"], dict(
        cases=2, accepted=2, returned=0, completed=1, completion_rate=0.5, on_time=1, on_time_rate=1.0,
        early=1, early_rate=1.0, avg_working_days=9.0, avg_days_under_promised=1.0,
        avg_days_under_legal=11.0, warnings=1, yellow_cards=0, red_cards=0, rated=0, rating_avg=None,
        satisfied_share=None, filed_below_district_share=1.0))
    check_row(g["445203001201"], dict(
        cases=2, accepted=2, returned=0, completed=2, completion_rate=1.0, on_time=2, on_time_rate=1.0,
        early=1, early_rate=0.5, avg_working_days=1.0, avg_days_under_promised=1.5,
        avg_days_under_legal=11.5, warnings=0, yellow_cards=0, red_cards=0, rated=2, rating_avg=4.5,
        satisfied_share=1.0, filed_below_district_share=1.0))
    check_row(g["445203100201"], dict(
        none, cases=1, accepted=0, returned=1, completed=0, warnings=0, yellow_cards=0, red_cards=0,
        filed_below_district_share=1.0))

    tiers = compute_statistics(cases, CAL, START, END, by="tier", alerts=alerts, network=NETWORK)
    assert [r["group"] for r in tiers] == ["district", "township", "village", None]
    assert tiers[2]["name"] == "村（社区）便民服务站"
    village = tiers[2]
    check_row(village, dict(
        cases=3, accepted=2, returned=1, completed=2, completion_rate=1.0, on_time=2, on_time_rate=1.0,
        early=1, early_rate=0.5, avg_working_days=1.0, avg_days_under_promised=1.5,
        avg_days_under_legal=11.5, warnings=0, yellow_cards=0, red_cards=0, rated=2, rating_avg=4.5,
        satisfied_share=1.0, filed_below_district_share=1.0))


def test_hand_counted_by_department_item_and_category():
    cases = hand_cases()
    depts = compute_statistics(cases, CAL, START, END, by="department", network=NETWORK)
    assert [(r["group"], r["name"]) for r in depts] == [
        ("civil_affairs", "区民政局"), ("housing", "区住房和城乡建设局"),
        ("human_resources", "区人力资源和社会保障局"), (None, "合计")]
    # civil affairs: cases 1, 2, 6
    check_row(depts[0], dict(
        cases=3, accepted=2, returned=1, completed=2, completion_rate=1.0, on_time=1, on_time_rate=0.5,
        early=1, early_rate=0.5, avg_working_days=4.0, avg_days_under_promised=1.0,
        avg_days_under_legal=16.0, warnings=0, yellow_cards=0, red_cards=0, rated=2, rating_avg=3.5,
        satisfied_share=0.5, filed_below_district_share=2 / 3))
    items = compute_statistics(cases, CAL, START, END, by="item")
    assert [(r["group"], r["name"]) for r in items] == [
        ("MZ-002", "最低生活保障申请"), ("RS-010", "就业登记"), ("ZJ-011", "建筑工程施工许可"), (None, "合计")]
    assert items[1]["avg_working_days"] == 0 and items[1]["on_time_rate"] == 1.0
    assert items[1]["early_rate"] == 0.0
    cats = compute_statistics(cases, CAL, START, END, by="category")
    assert [(r["group"], r["name"], r["cases"]) for r in cats] == [
        ("licence", "行政许可", 2), ("public_service", "公共服务", 4), (None, "合计", 6)]


def test_the_period_is_by_filing_date_in_the_district_time_zone():
    early = make_case(1, "445203", "MZ-002", D(2026, 9, 1), outcome="returned",
                      filed_at="2026-08-31T16:30:00+00:00")     # 00:30 on Sep 1 in the district
    late = make_case(2, "445203", "MZ-002", D(2026, 8, 31), outcome="returned",
                     filed_at="2026-08-31T15:59:00+00:00")      # 23:59 on Aug 31
    last = make_case(3, "445203", "MZ-002", D(2026, 10, 31), outcome="returned",
                     filed_at="2026-10-31T23:59:59+08:00")
    rows = compute_statistics([early, late, last], CAL, START, END)
    assert rows[-1]["cases"] == 2
    assert compute_statistics([early, late, last], CAL)[-1]["cases"] == 3
    assert compute_statistics([early, late, last], CAL, start="2026-09-01")[-1]["cases"] == 2
    assert compute_statistics([early, late, last], CAL, end=D(2026, 8, 31))[-1]["cases"] == 1


def test_empty_selection_has_no_rates():
    rows = compute_statistics([], CAL, START, END, by="station", network=NETWORK)
    assert len(rows) == 1
    total = rows[0]
    assert total["cases"] == 0
    for key in ("completion_rate", "on_time_rate", "early_rate", "avg_working_days",
                "avg_days_under_promised", "avg_days_under_legal", "rating_avg", "satisfied_share",
                "filed_below_district_share"):
        assert total[key] is None


def test_bad_arguments():
    with pytest.raises(ValueError, match="group by"):
        compute_statistics([], CAL, by="weekday")
    with pytest.raises(ValueError, match="starts"):
        compute_statistics([], CAL, D(2026, 10, 1), D(2026, 9, 1))


# -- 200 cases from an outcome sheet ---------------------------------------------------------
def outcome_sheet(seed=20261001):
    """What happened to each of 200 cases, decided before any case dict exists."""
    rng = random.Random(seed)
    days = [D(2026, 8, 20) + dt.timedelta(d) for d in range(80)]        # Aug 20 - Nov 7
    sheet = []
    for n in range(200):
        station = STATION_ORDER[n % 5]
        code = rng.choice(["MZ-002", "MZ-002", "ZJ-011", "HB-003", "YJ-001", "RS-010", "XF-001"])
        filed = rng.choice(days)
        roll = rng.random()
        if code == "XF-001":                 # consultations here are never accepted
            outcome = "returned" if roll < 0.6 else "waiting_supplement"
        elif roll < 0.08:
            outcome = "returned"
        elif roll < 0.13:
            outcome = "waiting_supplement"
        elif roll < 0.28:
            outcome = "running"
        else:
            outcome = "decided"
        promised = ITEMS[code]["promised_limit_days"]
        row = {"n": n, "station": station, "tier": TIER[station], "item": code,
               "department": ITEMS[code]["department"], "category": ITEMS[code]["category"],
               "filed": filed, "outcome": outcome, "in_period": START <= filed <= END,
               "promised": promised, "legal": ITEMS[code]["legal_limit_days"],
               "paused": 0, "extension": 0, "actual": None, "rating": None,
               "acceptance": rng.choice(["accepted", "accepted", "accepted_with_deficiency",
                                         "accepted_by_commitment"]),
               "decision": "rejected" if rng.random() < 0.1 else "approved",
               "warnings": 0, "yellow_cards": 0, "red_cards": 0}
        if outcome in ("running", "decided"):
            row["paused"] = rng.choice([0, 0, 0, 2, 5])
            row["extension"] = rng.choice([0, 0, 0, 0, 3])
            row["warnings"] = 1 if rng.random() < 0.3 else 0
        if outcome == "decided":
            row["actual"] = rng.randrange(0, promised + row["extension"] + 4)
            row["rating"] = rng.choice([None, None, None, 1, 2, 3, 4, 4, 5, 5, 5])
            late_by = row["actual"] - (promised + row["extension"])
            row["yellow_cards"] = 1 if late_by > 0 else 0
            row["red_cards"] = 1 if late_by > 2 else 0
        sheet.append(row)
    # two decisions across the National Day holiday, spelled out
    five_day = {"item": "MZ-002", "department": "civil_affairs", "category": "public_service",
                "promised": 5, "legal": 20, "in_period": True, "outcome": "decided", "extension": 0,
                "warnings": 0, "yellow_cards": 0, "red_cards": 0}
    sheet[0].update(five_day, filed=D(2026, 9, 30), actual=4, paused=0)    # early
    sheet[1].update(five_day, filed=D(2026, 9, 24), actual=6, paused=2)    # one day late
    sheet[1].update(yellow_cards=1)
    return sheet


def cases_from_sheet(sheet):
    cases, alerts = [], []
    for row in sheet:
        n, filed, outcome = row["n"], row["filed"], row["outcome"]
        if outcome in ("returned", "waiting_supplement"):
            case = make_case(n, row["station"], row["item"], filed, outcome=outcome)
        else:
            # the due date moved by the pause and the extension; the decision took `actual`
            # working days of work plus the paused ones (the calendar only places the dates)
            due = CAL.add_working_days(filed, row["promised"] + row["paused"] + row["extension"])
            decided = (CAL.add_working_days(filed, row["actual"] + row["paused"])
                       if outcome == "decided" else None)
            case = make_case(n, row["station"], row["item"], filed, outcome=outcome, accepted=filed,
                             decided=decided, due=due, paused_days=row["paused"], rating=row["rating"],
                             acceptance=row["acceptance"], decision=row["decision"],
                             status_after="completed" if row["rating"] or n % 3 == 0 else None)
            if outcome == "running" and n % 3 == 0:     # suspended for more materials (补正)
                case["history"].append(dict(case["history"][-1], entry_id=f"{n}-s", seq=3,
                                            from_status="pending_review", to_status="suspended"))
                case.update(status="suspended", paused_since=case["history"][-1]["at"][:10])
        cases.append(case)
        for kind, count in (("warning", row["warnings"]), ("yellow_card", row["yellow_cards"]),
                            ("red_card", row["red_cards"])):
            alerts += [alert(case["case_no"], kind)] * count
    alerts.append(alert("445203-20260101-0000", "warning"))
    return cases, alerts


def expected_figures(rows):
    """Plain counting over outcome-sheet rows."""
    accepted = [r for r in rows if r["outcome"] in ("running", "decided")]
    done = [r for r in rows if r["outcome"] == "decided"]
    on_time = [r for r in done if r["actual"] <= r["promised"] + r["extension"]]
    early = [r for r in done if r["actual"] < r["promised"] + r["extension"]]
    rated = [r["rating"] for r in rows if r["rating"] is not None]

    def share(part, whole):
        return part / whole if whole else None

    def mean(values):
        return sum(values) / len(values) if values else None

    return {
        "cases": len(rows),
        "accepted": len(accepted),
        "returned": sum(r["outcome"] == "returned" for r in rows),
        "completed": len(done),
        "completion_rate": share(len(done), len(accepted)),
        "on_time": len(on_time),
        "on_time_rate": share(len(on_time), len(done)),
        "early": len(early),
        "early_rate": share(len(early), len(done)),
        "avg_working_days": mean([r["actual"] for r in done]),
        "avg_days_under_promised": mean([r["promised"] - r["actual"] for r in done]),
        "avg_days_under_legal": mean([r["legal"] - r["actual"] for r in done]),
        "warnings": sum(r["warnings"] for r in rows),
        "yellow_cards": sum(r["yellow_cards"] for r in rows),
        "red_cards": sum(r["red_cards"] for r in rows),
        "rated": len(rated),
        "rating_avg": mean(rated),
        "satisfied_share": share(sum(s >= 4 for s in rated), len(rated)),
        "filed_below_district_share": share(sum(r["tier"] != "district" for r in rows), len(rows)),
    }


SHEET = outcome_sheet()
CASES, ALERTS = cases_from_sheet(SHEET)


def test_the_sheet_covers_what_the_figures_must_handle():
    period = [r for r in SHEET if r["in_period"]]
    assert len(SHEET) == 200 and 20 <= len(SHEET) - len(period) <= 80
    outcomes = {r["outcome"] for r in period}
    assert outcomes == {"returned", "waiting_supplement", "running", "decided"}
    done = [r for r in period if r["outcome"] == "decided"]
    assert any(r["actual"] > r["promised"] + r["extension"] for r in done)     # late
    assert any(r["actual"] == r["promised"] + r["extension"] for r in done)    # on the due date
    assert any(r["paused"] for r in done) and any(r["extension"] for r in done)
    assert any(r["decision"] == "rejected" for r in done)
    assert any(c["status"] == "suspended" for c, r in zip(CASES, SHEET) if r["in_period"])
    assert {r["rating"] for r in done} >= {None, 1, 2, 3, 4, 5}
    # decisions across the National Day holiday
    crossing = [c for c, r in zip(CASES, SHEET) if r["outcome"] == "decided" and r["filed"] < D(2026, 10, 1)
                and any(e["to_status"] in ("approved", "rejected") and e["at"] > "2026-10-08" for e in c["history"])]
    assert len(crossing) >= 3
    # the two spelled-out cases: Sep 30 + 4 working days = Oct 8, 9, 10, 12 -> Mon Oct 12;
    # Sep 24 + 6 + 2 paused = Sep 28, 29, 30, Oct 8, 9, 10, 12, 13 -> Tue Oct 13
    assert CASES[0]["history"][2]["at"].startswith("2026-10-12")
    assert CASES[1]["history"][2]["at"].startswith("2026-10-13")


@pytest.mark.parametrize("by", GROUPINGS)
def test_every_figure_of_200_cases_in_every_grouping(by):
    rows = compute_statistics(CASES, CAL, START, END, by=by, alerts=ALERTS, network=NETWORK)
    period = [r for r in SHEET if r["in_period"]]
    check_row(rows[-1], expected_figures(period))
    assert rows[-1]["group"] is None and rows[-1]["name"] == "合计"
    if by == "none":
        assert len(rows) == 1
        return
    groups = {}
    for r in period:
        groups.setdefault(r[by], []).append(r)
    got = by_group(rows)
    assert set(got) == set(groups)
    for key, members in groups.items():
        check_row(got[key], expected_figures(members))
        assert got[key]["by"] == by
    # the groups partition the totals
    for key in ("cases", "accepted", "returned", "completed", "warnings", "yellow_cards", "red_cards"):
        assert sum(r[key] for r in rows[:-1]) == rows[-1][key]


def test_group_order_and_names():
    stations = compute_statistics(CASES, CAL, START, END, by="station", network=NETWORK)
    assert [r["group"] for r in stations[:-1]] == STATION_ORDER
    tiers = compute_statistics(CASES, CAL, START, END, by="tier")
    assert [r["group"] for r in tiers[:-1]] == ["district", "township", "village"]
    cats = compute_statistics(CASES, CAL, START, END, by="category")
    assert [(r["group"], r["name"]) for r in cats[:-1]] == [
        ("consultation", "咨询"), ("licence", "行政许可"), ("public_service", "公共服务")]
    consult = cats[0]
    assert consult["accepted"] == 0 and consult["completion_rate"] is None and consult["on_time_rate"] is None
    depts = compute_statistics(CASES, CAL, START, END, by="department")
    assert depts[0]["name"] == "civil_affairs"            # no network: the code is the name
    items = compute_statistics(CASES, CAL, START, END, by="item")
    assert {r["group"]: r["name"] for r in items[:-1]}["HB-003"] == "环境影响评价审批"


def test_csv_carries_every_figure_unrounded():
    rows = compute_statistics(CASES, CAL, START, END, by="tier", alerts=ALERTS, network=NETWORK)
    parsed = list(csv.DictReader(io.StringIO(to_csv(rows))))
    assert list(parsed[0]) == ["by", "group", "name", *(k for k, _ in FIGURES)]
    assert len(parsed) == len(rows)
    for row, line in zip(rows, parsed):
        for key, _ in FIGURES:
            if row[key] is None:
                assert line[key] == ""
            else:
                assert float(line[key]) == row[key]
    assert parsed[-1]["group"] == "" and parsed[-1]["name"] == "合计"


def test_table_lists_each_group_and_the_totals():
    cases = hand_cases()
    rows = compute_statistics(cases, CAL, START, END, by="station", alerts=hand_alerts(cases),
                              network=NETWORK)
    table = format_table(rows)
    lines = table.splitlines()
    assert lines[0].startswith("受理站点")
    for header in ("办结率", "按时办结率", "提前办结率", "平均用时(工作日)", "黄牌", "红牌", "满意率"):
        assert header in lines[0]
    assert len(lines) == 2 + 4 + 2            # header, rule, 4 stations, rule, totals
    total = lines[-1]
    assert total.startswith("合计")
    assert "80.0%" in total and "75.0%" in total and "4.25" in total and "83.3%" in total
    returned_only = next(line for line in lines if line.startswith("新寮村"))
    assert "—" in returned_only
    narrow = format_table(rows, figures=["cases", "completion_rate"])
    assert narrow.splitlines()[0].split() == ["受理站点", "办件数", "办结率"]
