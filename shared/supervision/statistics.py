"""The district's figures (统计) for a period and a grouping: their definitions, the
reference computation over case snapshots, and their output.

`compute_statistics(cases, calendar, start=None, end=None, by="none", alerts=(),
network=None)` returns one row (a dict) per group, in a stable order, followed by a
totals row for the whole selection. It is the reference: the district answers with
`shared.supervision.aggregates.statistics`, the same rows counted by the database from the
cases' summary columns, and the tests hold the two equal. `format_table(rows)` renders
rows for a terminal and `to_csv(rows)` as CSV text.

Which cases
    A case belongs to the period by the district-local date of `filed_at`:
    `start <= filed date <= end`, both ends inclusive (either may be None: open-ended).
    Everything known about the case is then counted, whenever it happened (a case
    filed on the last day of the period and decided a week later counts as completed):
    the figures describe the cases filed in the period, as of the data given.

Groupings (`by`)
    `station`: the filing station (where the applicant came in); `tier`: that station's
    tier (district, township, village); `department`: the item's department
    (`item.department`); `item`: the item code; `category`: `item.category` (licence,
    public service, ...); `none`: the whole district (only the totals row is returned).

Each row has `by`, `group` (the key: station code, tier, department code, item code or
category; None in the totals row) and `name` (a readable name: from `network` for
stations and departments when given, the item's name, the tier's or category's Chinese
name, "合计" for the totals row), then these figures:

cases
    Cases filed in the period.
accepted
    Cases accepted (`accepted_at` set), whatever the kind of acceptance (accepted,
    accepted with a deficiency, accepted by commitment).
returned
    Cases returned without acceptance (退回件: `status` or `acceptance` is `returned`).
completed
    Cases decided: the history has an entry moving the case to `approved` or
    `rejected`. A rejection is a completed case too (办结 = a decision was issued); the
    date of that entry is the decision date. Whether the result has since been handed
    to the applicant does not matter.
completion_rate
    completed / accepted.
on_time, on_time_rate
    Completed cases decided on or before their `due_date` (the due date as it stands,
    i.e. moved by pauses and granted extensions); the rate is on_time / completed.
early, early_rate
    Completed cases decided strictly before their due date; early / completed.
avg_working_days
    Mean over completed cases of the actual working days: the working days after the
    acceptance date up to and including the decision date
    (`calendar.working_days_between`), minus the working days the clock was paused
    (`paused_working_days`, default 0), never below 0. A case accepted and decided on
    the same day took 0 working days.
avg_days_under_promised
    Mean over completed cases of (item's `promised_limit_days` − actual working days):
    how many working days under the promised limit cases were completed (negative when
    late on average).
avg_days_under_legal
    The same against the item's `legal_limit_days`.
warnings, yellow_cards, red_cards
    Alerts of kind `warning` (due soon), `yellow_card` and `red_card` whose `case_no`
    is one of the cases counted in the row: an alert is attributed to its case's group
    (filing station, item department, ...), not to the department or station named in
    the alert. Alerts for cases outside the period or of other kinds are not counted,
    nor cards the supervisor revoked (`state` "revoked", shared/supervision/cards.py).
rated, rating_avg
    Cases with a rating (`rating.score`, 1-5) and the mean score.
satisfied_share
    Share of rated cases scored 4 or 5.
filed_below_district_share
    Share of the cases filed at a township or village station (not the district centre).
online, online_rate
    Cases applied for online (网上申请: `channel` is `online`, shared/cases/pre_review.py)
    and their share of the cases.
zero_visit_share, at_most_one_visit_share, avg_visits
    Over the accepted cases (any channel): the share whose applicant came to no counter
    at all (零跑动, `visits` 0), at most once (最多跑一次, `visits` <= 1), and the mean
    visits. A case stored before visits were counted was filed at a counter: 1 visit.
pre_review_on_time_rate
    Pre-review answers given within their one-working-day limit, over all the answers
    the cases' pre-reviews got (a case sent back for a supplement is answered twice).

Rates, shares and averages are None when their denominator is 0. Nothing is rounded;
`format_table` rounds for display only.
"""
import csv
import io
import unicodedata

from shared import stations as st
from shared.cases import pre_review, states
from shared.supervision.lights import as_date, decision_date

GROUPINGS = ("station", "tier", "department", "item", "category", "none")

#: every figure of a row, in order, with its column header
FIGURES = (
    ("cases", "办件数"),
    ("accepted", "受理"),
    ("returned", "退回"),
    ("completed", "办结"),
    ("completion_rate", "办结率"),
    ("on_time", "按时办结"),
    ("on_time_rate", "按时办结率"),
    ("early", "提前办结"),
    ("early_rate", "提前办结率"),
    ("avg_working_days", "平均用时(工作日)"),
    ("avg_days_under_promised", "比承诺时限少(日)"),
    ("avg_days_under_legal", "比法定时限少(日)"),
    ("warnings", "预警"),
    ("yellow_cards", "黄牌"),
    ("red_cards", "红牌"),
    ("rated", "评价数"),
    ("rating_avg", "平均评分"),
    ("satisfied_share", "满意率"),
    ("filed_below_district_share", "镇村受理占比"),
    ("online", "网上申请"),
    ("online_rate", "网上申请率"),
    ("zero_visit_share", "零跑动占比"),
    ("at_most_one_visit_share", "最多跑一次占比"),
    ("avg_visits", "平均跑动次数"),
    ("pre_review_on_time_rate", "预审按时答复率"),
)
RATES = {"completion_rate", "on_time_rate", "early_rate", "satisfied_share",
         "filed_below_district_share", "online_rate", "zero_visit_share", "at_most_one_visit_share",
         "pre_review_on_time_rate"}
AVERAGES = {"avg_working_days", "avg_days_under_promised", "avg_days_under_legal", "rating_avg", "avg_visits"}
GROUP_HEADERS = {"station": "受理站点", "tier": "层级", "department": "部门", "item": "事项",
                 "category": "类别", "none": "范围"}
CATEGORY_NAMES = {"licence": "行政许可", "public_service": "公共服务", "consultation": "咨询"}
ALERT_FIELDS = {"warning": "warnings", "yellow_card": "yellow_cards", "red_card": "red_cards"}
TOTAL_NAME = "合计"


class _Tally:
    def __init__(self):
        self.cases = self.accepted = self.returned = self.completed = 0
        self.on_time = self.early = 0
        self.actual = []
        self.under_promised = []
        self.under_legal = []
        self.alerts = {"warnings": 0, "yellow_cards": 0, "red_cards": 0}
        self.scores = []
        self.below_district = 0
        self.online = 0
        self.visits = []  # of the accepted cases
        self.pre_review_answers = self.pre_review_on_time = 0

    def row(self):
        return figures({
            "cases": self.cases, "accepted": self.accepted, "returned": self.returned,
            "completed": self.completed, "on_time": self.on_time, "early": self.early,
            "working_days_sum": sum(self.actual), "working_days_n": len(self.actual),
            "under_promised_sum": sum(self.under_promised), "under_promised_n": len(self.under_promised),
            "under_legal_sum": sum(self.under_legal), "under_legal_n": len(self.under_legal),
            **self.alerts,
            "rated": len(self.scores), "rating_sum": sum(self.scores),
            "satisfied": sum(1 for s in self.scores if s >= 4),
            "below_district": self.below_district,
            "online": self.online, "visits_n": len(self.visits), "visits_sum": sum(self.visits),
            "zero_visits": sum(1 for v in self.visits if v == 0),
            "at_most_one_visit": sum(1 for v in self.visits if v <= 1),
            "pre_review_answers": self.pre_review_answers, "pre_review_on_time": self.pre_review_on_time,
        })


#: the counts and sums a row's figures are made from (`figures`): whole numbers, so the
#: groups' totals add up exactly, whether counted here or by the database
TOTALS = ("cases", "accepted", "returned", "completed", "on_time", "early",
          "working_days_sum", "working_days_n", "under_promised_sum", "under_promised_n",
          "under_legal_sum", "under_legal_n", "warnings", "yellow_cards", "red_cards",
          "rated", "rating_sum", "satisfied", "below_district",
          "online", "visits_n", "visits_sum", "zero_visits", "at_most_one_visit",
          "pre_review_answers", "pre_review_on_time")


def figures(t):
    """A row's figures (FIGURES) from its totals `t` (a dict of TOTALS)."""
    return {
        "cases": t["cases"],
        "accepted": t["accepted"],
        "returned": t["returned"],
        "completed": t["completed"],
        "completion_rate": _ratio(t["completed"], t["accepted"]),
        "on_time": t["on_time"],
        "on_time_rate": _ratio(t["on_time"], t["completed"]),
        "early": t["early"],
        "early_rate": _ratio(t["early"], t["completed"]),
        "avg_working_days": _ratio(t["working_days_sum"], t["working_days_n"]),
        "avg_days_under_promised": _ratio(t["under_promised_sum"], t["under_promised_n"]),
        "avg_days_under_legal": _ratio(t["under_legal_sum"], t["under_legal_n"]),
        "warnings": t["warnings"],
        "yellow_cards": t["yellow_cards"],
        "red_cards": t["red_cards"],
        "rated": t["rated"],
        "rating_avg": _ratio(t["rating_sum"], t["rated"]),
        "satisfied_share": _ratio(t["satisfied"], t["rated"]),
        "filed_below_district_share": _ratio(t["below_district"], t["cases"]),
        "online": t["online"],
        "online_rate": _ratio(t["online"], t["cases"]),
        "zero_visit_share": _ratio(t["zero_visits"], t["visits_n"]),
        "at_most_one_visit_share": _ratio(t["at_most_one_visit"], t["visits_n"]),
        "avg_visits": _ratio(t["visits_sum"], t["visits_n"]),
        "pre_review_on_time_rate": _ratio(t["pre_review_on_time"], t["pre_review_answers"]),
    }


def _ratio(part, whole):
    return part / whole if whole else None


def _tier(code, network):
    if network is not None and code in network.stations:
        return network.stations[code].tier
    return st.tier_of(code)


def _group_key(case, by, network):
    """The group of `case`: never None (None marks the totals row), "unknown" when the
    case lacks the field."""
    if by == "none":
        return None
    key = _raw_group_key(case, by, network)
    return "unknown" if key is None else key


def _raw_group_key(case, by, network):
    item = case.get("item") or {}
    if by == "station":
        return case["filing_station"]
    if by == "tier":
        return _tier(case["filing_station"], network)
    if by == "department":
        return item.get("department")
    if by == "item":
        return item.get("code")
    return item.get("category")


def _score(case):
    """The rating's score: a rating is {score, comment, by, at} (shared/contract.py)."""
    return (case.get("rating") or {}).get("score")


def _count(tally, case, calendar, network):
    tally.cases += 1
    if _tier(case["filing_station"], network) != st.DISTRICT:
        tally.below_district += 1
    if case.get("status") == states.RETURNED or case.get("acceptance") == states.RETURNED:
        tally.returned += 1
    if case.get("accepted_at"):
        tally.accepted += 1
        tally.visits.append(pre_review.visits_of(case))
    tally.online += pre_review.is_online(case)
    answers, on_time = pre_review.answers_on_time(case)
    tally.pre_review_answers += answers
    tally.pre_review_on_time += on_time
    decided = decision_date(case)
    if decided is not None:
        tally.completed += 1
        item = case.get("item") or {}
        accepted = as_date(case.get("accepted_at"))
        due = as_date(case.get("due_date"))
        if due is not None:
            tally.on_time += decided <= due
            tally.early += decided < due
        if accepted is not None:
            actual = max(0, calendar.working_days_between(accepted, decided)
                         - (case.get("paused_working_days") or 0))
            tally.actual.append(actual)
            if item.get("promised_limit_days") is not None:
                tally.under_promised.append(item["promised_limit_days"] - actual)
            if item.get("legal_limit_days") is not None:
                tally.under_legal.append(item["legal_limit_days"] - actual)
    score = _score(case)
    if score is not None:
        tally.scores.append(score)


def _in_period(case, start, end):
    filed = as_date(case["filed_at"])
    return (start is None or filed >= start) and (end is None or filed <= end)


def group_names(by, keys, item_names, network):
    """{key: readable name} of the groups `keys`; `item_names`: {item code: name}."""
    names = {}
    for key in keys:
        name = key
        if by == "station" and network is not None and key in network.stations:
            name = network.stations[key].name
        elif by == "tier":
            name = st.TIER_NAMES.get(key, key)
        elif by == "department" and network is not None and key in network.departments:
            name = network.departments[key].name
        elif by == "item":
            name = item_names.get(key) or key
        elif by == "category":
            name = CATEGORY_NAMES.get(key, key)
        names[key] = name
    return names


def group_order(by, keys, network):
    """The groups `keys` in the order the rows are shown."""
    if by == "station" and network is not None:
        position = {code: n for n, code in enumerate(network.stations)}
        return sorted(keys, key=lambda k: (position.get(k, len(position)), str(k)))
    if by == "tier":
        return sorted(keys, key=lambda k: (st.TIER_RANK.get(k, len(st.TIERS)), str(k)))
    return sorted(keys, key=lambda k: (k is None, str(k)))


def check_query(start, end, by):
    """(start, end) as dates; ValueError for an unknown grouping or a reversed period."""
    if by not in GROUPINGS:
        raise ValueError(f"cannot group by '{by}': choose one of {', '.join(GROUPINGS)}")
    start, end = as_date(start), as_date(end)
    if start is not None and end is not None and start > end:
        raise ValueError(f"the period starts ({start}) after it ends ({end})")
    return start, end


def compute_statistics(cases, calendar, start=None, end=None, by="none", alerts=(), network=None):
    """The district's figures for the cases filed from `start` to `end` (dates, both
    inclusive, None for open), one row per group of `by` plus a totals row (last),
    counted case by case over snapshots. See the module docstring for the definitions.

    This is the reference computation: it states the definitions in plain Python and the
    tests check the product's figures against it (tests/test_record_at_scale.py). The
    district answers from its cases' summary columns with SQL aggregates instead
    (shared/supervision/aggregates.py): at a year's 120,000 cases this took two minutes."""
    start, end = check_query(start, end, by)
    groups, total = {}, _Tally()
    first_case, group_of_case = {}, {}
    for case in cases:
        if not _in_period(case, start, end):
            continue
        key = _group_key(case, by, network)
        _count(total, case, calendar, network)
        if by != "none":
            _count(groups.setdefault(key, _Tally()), case, calendar, network)
            first_case.setdefault(key, case)
        group_of_case[case["case_no"]] = key
    for alert in alerts or ():
        field = ALERT_FIELDS.get(alert.get("kind"))
        if field is None or alert.get("case_no") not in group_of_case or alert.get("state") == "revoked":
            continue  # other kinds, other cases, and cards the supervisor revoked
        total.alerts[field] += 1
        if by != "none":
            groups[group_of_case[alert["case_no"]]].alerts[field] += 1
    rows = []
    if by != "none":
        keys = group_order(by, groups, network)
        names = group_names(by, keys, {k: (c.get("item") or {}).get("name") for k, c in first_case.items()},
                            network)
        rows = [{"by": by, "group": key, "name": names[key], **groups[key].row()} for key in keys]
    rows.append({"by": by, "group": None, "name": TOTAL_NAME, **total.row()})
    return rows


# -- output ---------------------------------------------------------------------------
def _display(key, value):
    if value is None:
        return "—"
    if key in RATES:
        return f"{value * 100:.1f}%"
    if key in AVERAGES:
        return f"{value:.2f}"
    return str(value)


def _width(text):
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text, width, right):
    gap = " " * (width - _width(text))
    return gap + text if right else text + gap


def format_table(rows, figures=None):
    """A plain-text table of `rows` for a terminal (rates as percentages, averages with
    two decimals, "—" where a figure has no value). `figures` picks columns (keys of
    FIGURES); all by default."""
    keys = list(figures) if figures else [key for key, _ in FIGURES]
    headers = dict(FIGURES)
    by = rows[0]["by"] if rows else "none"
    header = [GROUP_HEADERS.get(by, "分组")] + [headers.get(k, k) for k in keys]
    return table_text(header, rows, lambda row: [_display(k, row.get(k)) for k in keys])


def table_text(header, rows, cells):
    """Lay `rows` out under `header` in aligned columns (wide characters count double):
    each row's group name first, then `cells(row)`; a rule under the header and above the
    totals row (the one without a group)."""
    body = [[str(row["name"] if row["name"] is not None else row["group"])] + cells(row) for row in rows]
    widths = [max(_width(line[n]) for line in [header, *body]) for n in range(len(header))]

    def render(line):
        return "  ".join(_pad(cell, widths[n], right=n > 0) for n, cell in enumerate(line)).rstrip()

    rule = "  ".join("-" * w for w in widths)
    lines = [render(header), rule]
    for row, line in zip(rows, body):
        if row["group"] is None and len(rows) > 1:
            lines.append(rule)
        lines.append(render(line))
    return "\n".join(lines) + "\n"


def to_csv(rows):
    """CSV text of `rows`: columns by, group, name and every figure, by their keys;
    values unrounded, empty where None. The totals row has an empty group."""
    columns = ["by", "group", "name", *(key for key, _ in FIGURES)]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: ("" if row.get(k) is None else row.get(k)) for k in columns})
    return out.getvalue()
