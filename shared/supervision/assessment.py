"""The monthly assessment (月度考核): for every station, department, counter user and item,
a month's (or a quarter's) figures, a score by the district's policy, and the rankings and
service stars (服务之星) the public board shows.

Which cases
    As in the district's figures (shared/supervision/statistics.py): the cases FILED in the
    period (district-local filing day), counted as of the data given. So the assessment
    of November and the statistics page of November describe the same cases.

Groupings (`by`)
    `station`: the filing station; `department`: the item's department; `item`: the item
    code; `user`: the counter user who took the case in — the actor of its `file` history
    entry, or for an online application of the pre-review that passed it
    ("张三（zhangsan）", shared/auth/roles.py signed), keyed by filing station and
    username (`449902001:staff`), since every station has its own users. An online
    application not yet passed has no counter user yet.

Figures of a row
    cases, completed (decided), on_time / on_time_rate (decided on or before the due
    date), early / early_rate (strictly before), avg_working_days — as the statistics
    define them; rated, rating_avg, satisfaction (share of rated cases scored 4 or 5);
    complaints: cases rated 1 or 2 (each opens a follow-up, 整改, district/supervision_desk.py);
    yellow_cards, red_cards: the patrol's cards on the period's cases that were not
    revoked by the supervisor (shared/supervision/cards.py states; a card still issued,
    explained or confirmed counts). A card is counted against whom it was raised: the
    station that held the case (the card's `station`) and the card's `department`; by
    item, the case's item; by user, the filer, only when the card was raised against the
    filer's own station (a case forwarded to the district and late there is not the
    village counter's card).

Score (0-100, two decimals)
    base = 100 × Σ weight × rate / Σ weight, over the rates with a value (on_time_rate,
    early_rate, satisfaction; a rate without a denominator, e.g. no rated case, drops out
    with its weight), then the deductions per event are taken off: yellow cards, red cards
    (a red card's case also has its yellow card, so it costs both), complaints; never
    below 0. Weights and deductions are the district's policy (network file `assessment`,
    shared/supervision/assessment_policy.py).

Ranking
    Rows with at least `min_completed` completed cases are ranked by score, highest
    first (equal scores share a rank, the next rank skips: 1, 2, 2, 4); rows below the
    threshold are listed after them, unranked (rank None). Within equal scores rows are
    shown by completed cases (more first), then by key. The service stars are the ranked
    counter users with rank ≤ `stars`.

`assess(session, period, by, network, policy)` counts with SQL aggregates over the cases'
summary columns (the figures index, ix_cases_figures), never the snapshots; `score_rows`
does the scoring and ranking in plain Python, and the tests check both on a hand-built
month.
"""
import datetime as dt
import re
from dataclasses import dataclass

from sqlalchemy import and_, func, literal_column, select
from sqlalchemy import case as when

from shared.db.models import Case, CaseHistoryEntry, SupervisionAlert
from shared.exceptions import InvalidInput
from shared.supervision.assessment_policy import AssessmentPolicy
from shared.supervision.card_store import not_revoked

GROUPINGS = ("station", "department", "user", "item")
GROUP_HEADERS = {"station": "站点", "department": "部门", "user": "窗口人员", "item": "事项"}
CARD_KINDS = {"yellow_card": "yellow_cards", "red_card": "red_cards"}
COMPLAINT_MAX_SCORE = 2      # a rating of 1 or 2 is a complaint (the follow-ups' bad ratings)
# the history entries whose actor is the counter user who took the case in: the filing at a
# counter, or the pre-review that passed an online application (shared/cases/pre_review.py)
FILING_ACTIONS = ("file", "pre_review_pass", "pre_review_pass_online")
TOTALS = ("cases", "completed", "on_time", "early", "working_days_sum", "working_days_n", "rated",
          "rating_sum", "satisfied", "complaints", "yellow_cards", "red_cards")
#: the figures of a row, in the order shown, with their headers
FIGURES = (
    ("cases", "办件数"), ("completed", "办结"), ("on_time_rate", "按时办结率"), ("early_rate", "提前办结率"),
    ("avg_working_days", "平均用时(工作日)"), ("satisfaction", "满意率"), ("rating_avg", "平均评分"),
    ("complaints", "投诉"), ("yellow_cards", "黄牌"), ("red_cards", "红牌"), ("score", "得分"), ("rank", "排名"),
)


# -- periods -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Period:
    kind: str     # month | quarter
    label: str    # 2026-11 | 2026Q4
    start: dt.date
    end: dt.date  # inclusive

    @property
    def title(self):
        if self.kind == "month":
            return f"{self.start.year}年{self.start.month}月"
        return f"{self.start.year}年第{(self.start.month + 2) // 3}季度"

    def as_dict(self):
        return {"kind": self.kind, "label": self.label, "from": self.start.isoformat(),
                "to": self.end.isoformat(), "title": self.title}


def _month_end(year, month):
    return dt.date(year + month // 12, month % 12 + 1, 1) - dt.timedelta(days=1)


def month(label):
    """The Period of "YYYY-MM"; InvalidInput otherwise."""
    found = re.fullmatch(r"(\d{4})-(\d{2})", label or "")
    if not found or not 1 <= int(found[2]) <= 12 or int(found[1]) < 2000:
        raise InvalidInput(f"month: '{label}' is not a month like 2026-11")
    year, number = int(found[1]), int(found[2])
    return Period("month", f"{year:04d}-{number:02d}", dt.date(year, number, 1), _month_end(year, number))


def quarter(label):
    """The Period of "YYYYQn" (n 1-4); InvalidInput otherwise."""
    found = re.fullmatch(r"(\d{4})[Qq]([1-4])", label or "")
    if not found or int(found[1]) < 2000:
        raise InvalidInput(f"quarter: '{label}' is not a quarter like 2026Q4")
    year, number = int(found[1]), int(found[2])
    first = 3 * number - 2
    return Period("quarter", f"{year:04d}Q{number}", dt.date(year, first, 1), _month_end(year, first + 2))


def period_of(month_label=None, quarter_label=None, today=None):
    """The period asked for: a month or a quarter (not both); neither: the last whole
    month before `today`."""
    if month_label and quarter_label:
        raise InvalidInput("month, quarter: ask for a month or a quarter, not both")
    if quarter_label:
        return quarter(quarter_label)
    if month_label:
        return month(month_label)
    last = (today or dt.date.today()).replace(day=1) - dt.timedelta(days=1)
    return month(f"{last.year:04d}-{last.month:02d}")


def quarter_of(period):
    """The quarter holding a period."""
    return quarter(f"{period.start.year}Q{(period.start.month + 2) // 3}")


# -- figures, score and ranking (plain Python) ---------------------------------------------
def _ratio(part, whole):
    return part / whole if whole else None


def figures(t):
    """A row's figures from its totals (a dict of TOTALS)."""
    return {
        "cases": t["cases"], "completed": t["completed"],
        "on_time": t["on_time"], "on_time_rate": _ratio(t["on_time"], t["completed"]),
        "early": t["early"], "early_rate": _ratio(t["early"], t["completed"]),
        "avg_working_days": _ratio(t["working_days_sum"], t["working_days_n"]),
        "rated": t["rated"], "rating_avg": _ratio(t["rating_sum"], t["rated"]),
        "satisfaction": _ratio(t["satisfied"], t["rated"]),
        "complaints": t["complaints"], "yellow_cards": t["yellow_cards"], "red_cards": t["red_cards"],
    }


def score(row, policy):
    """The row's score (see the module's docstring), None when no weighted rate has a value."""
    rates = {"on_time": row["on_time_rate"], "early": row["early_rate"], "satisfaction": row["satisfaction"]}
    weighed = [(policy.weight(name), rate) for name, rate in rates.items()
               if rate is not None and policy.weight(name) > 0]
    if not weighed:
        return None
    base = 100 * sum(w * rate for w, rate in weighed) / sum(w for w, _ in weighed)
    taken = (row["yellow_cards"] * policy.deduction("yellow_card") + row["red_cards"] * policy.deduction("red_card")
             + row["complaints"] * policy.deduction("complaint"))
    return round(max(0.0, base - taken), 2)


def score_rows(rows, policy):
    """`rows` (each with its figures and `group`) scored and ranked, in the order shown:
    each gets `score`, `ranked` (enough completed cases) and `rank`."""
    for row in rows:
        row["score"] = score(row, policy)
        row["ranked"] = row["completed"] >= policy.min_completed and row["score"] is not None
    ranked = sorted((r for r in rows if r["ranked"]), key=lambda r: (-r["score"], -r["completed"], str(r["group"])))
    others = sorted((r for r in rows if not r["ranked"]), key=lambda r: (-r["completed"], str(r["group"])))
    for position, row in enumerate(ranked, 1):
        same = position > 1 and ranked[position - 2]["score"] == row["score"]
        row["rank"] = ranked[position - 2]["rank"] if same else position
    for row in others:
        row["rank"] = None
    return ranked + others


def stars(rows, policy):
    """The service stars among ranked rows (rank ≤ policy.stars), best first."""
    return [row for row in rows if row["rank"] is not None and row["rank"] <= policy.stars]


# -- counter users' names -----------------------------------------------------------------
SIGNED = re.compile(r"^(?P<name>.*)（(?P<username>[^（）]+)）$")


def parse_signed(actor):
    """(name, username) from "张三（zhangsan）"; (actor, actor) for anything else."""
    found = SIGNED.match(actor or "")
    return (found["name"], found["username"]) if found else (actor, actor)


def masked(name):
    """A staff member's name as the public board shows it by default: "张*", "欧**"."""
    name = (name or "").strip()
    return name[:1] + "*" * max(1, len(name) - 1) if name else "*"


def public_name(row, policy):
    """How the public board names a row: a counter user's masked name (or full name when
    the policy allows it), with the station's name; others by their name."""
    if row["by"] != "user":
        return row["name"]
    shown = row["staff_name"] if policy.show_staff_names else masked(row["staff_name"])
    return f"{shown}（{row['station_name']}）"


# -- the database ---------------------------------------------------------------------------
def _counted(condition):
    return func.coalesce(func.sum(when((condition, 1), else_=0)), 0)


def _case_aggregates():
    return {
        "cases": func.count(),
        "completed": _counted(Case.decided_on.is_not(None)),
        "on_time": _counted(Case.decided_on <= Case.due_date),
        "early": _counted(Case.decided_on < Case.due_date),
        "working_days_sum": func.coalesce(func.sum(Case.working_days), 0),
        "working_days_n": func.count(Case.working_days),
        "rated": func.count(Case.rating_score),
        "rating_sum": func.coalesce(func.sum(Case.rating_score), 0),
        "satisfied": _counted(Case.rating_score >= 4),
        "complaints": _counted(Case.rating_score <= COMPLAINT_MAX_SCORE),
    }


def _filed_in(query, period):
    return query.where(Case.filed_date >= period.start, Case.filed_date <= period.end)


def _filing_entry():
    return and_(CaseHistoryEntry.case_no == Case.case_no, CaseHistoryEntry.action.in_(FILING_ACTIONS))


def _not_revoked(query):
    """Leave out the cards the supervisor revoked (shared/supervision/card_store.py, the
    clause the statistics use too)."""
    return query.where(not_revoked())


def _keys(by):
    """The columns a grouping groups the cases by, and the cards by."""
    if by == "station":
        return [Case.filing_station], [SupervisionAlert.station]
    if by == "department":
        return [Case.department], [SupervisionAlert.department]
    if by == "item":
        return [Case.item_code], [Case.item_code]
    return [Case.filing_station, CaseHistoryEntry.actor], [Case.filing_station, CaseHistoryEntry.actor]


def _key(by, values):
    if by != "user":
        return values[0] if values[0] is not None else "unknown"
    return (values[0], values[1])


def assess(session, period, by="station", network=None, policy=None):
    """The period's rows of `by`, scored and ranked (score_rows), counted by the database."""
    policy = policy or (network.assessment if network is not None else AssessmentPolicy())
    groups, item_names = _totals(session, period, by)
    return _ranked(by, {key: parts[0] for key, parts in groups.items()}, item_names, network, policy)


def assess_with_part(session, period, part, by, network, policy):
    """(rows of `period`, rows of `part`), `part` a period inside `period` (a month of its
    quarter), from one pass over the period's cases: what the board asks for twice."""
    groups, item_names = _totals(session, period, by, part)
    whole = _ranked(by, {key: parts[0] for key, parts in groups.items()}, item_names, network, policy)
    inside = {key: parts[1] for key, parts in groups.items() if parts[1]["cases"] or _cards_of(parts[1])}
    return whole, _ranked(by, inside, item_names, network, policy)


def _cards_of(totals):
    return totals["yellow_cards"] + totals["red_cards"]


def _ranked(by, groups, item_names, network, policy):
    return score_rows([_row(by, key, totals, item_names, network) for key, totals in groups.items()], policy)


def _totals(session, period, by, part=None):
    """({group key: [totals of the period, totals of `part` (None: all zero)]}, {item code: name})."""
    if by not in GROUPINGS:
        raise InvalidInput(f"by: choose one of {', '.join(GROUPINGS)}")
    case_keys, card_keys = _keys(by)
    # with a part, each group is split in two by whether the case was filed in the part
    # (grouped by its name: PostgreSQL takes an expression with parameters in GROUP BY as another one)
    split = [when((and_(Case.filed_date >= part.start, Case.filed_date <= part.end), 1), else_=0).label("in_part")
             ] if part else []
    split_key = [literal_column("in_part")] if part else []
    aggregates = _case_aggregates()
    extra = [func.min(Case.item_name)] if by == "item" else []
    query = select(*case_keys, *split, *aggregates.values(), *extra).select_from(Case)
    if by == "user":
        query = query.join(CaseHistoryEntry, _filing_entry())
    query = _filed_in(query, period).group_by(*case_keys, *split_key)
    groups, item_names = {}, {}
    width = len(case_keys) + len(split)
    for found in session.execute(query):
        found = tuple(found)
        key = _key(by, found)
        parts = groups.setdefault(key, [_zero(), _zero()])
        values = {name: int(v) for name, v in zip(aggregates, found[width:width + len(aggregates)])}
        for into in (parts[0], parts[1]) if split and found[len(case_keys)] else (parts[0],):
            _add(into, values)
        if extra:
            item_names[key] = found[-1]
    cards = select(*card_keys, *split, SupervisionAlert.kind, func.count()).select_from(SupervisionAlert).join(
        Case, Case.case_no == SupervisionAlert.case_no)
    if by == "user":
        cards = cards.join(CaseHistoryEntry, _filing_entry()).where(SupervisionAlert.station == Case.filing_station)
    cards = _not_revoked(_filed_in(cards, period).where(SupervisionAlert.kind.in_(CARD_KINDS)))
    for found in session.execute(cards.group_by(*card_keys, *split_key, SupervisionAlert.kind)):
        found = tuple(found)
        parts = groups.setdefault(_key(by, found), [_zero(), _zero()])
        for into in (parts[0], parts[1]) if split and found[len(case_keys)] else (parts[0],):
            into[CARD_KINDS[found[-2]]] += int(found[-1])
    return groups, item_names


def _add(into, values):
    for name, value in values.items():
        into[name] += value


def _zero():
    return dict.fromkeys(TOTALS, 0)


def _row(by, key, totals, item_names, network):
    row = {"by": by, **figures(totals)}
    if by == "user":
        station, actor = key
        name, username = parse_signed(actor)
        row.update(group=f"{station}:{username}", name=f"{name}（{username}）", staff_name=name, username=username,
                   station=station, station_name=_station_name(station, network))
        return row
    row["group"] = key
    if by == "station":
        row["name"] = _station_name(key, network)
    elif by == "department":
        row["name"] = network.departments[key].name if network is not None and key in network.departments else key
    else:
        row["name"] = item_names.get(key) or key
    return row


def _station_name(code, network):
    return network.stations[code].name if network is not None and code in network.stations else code


#: what the public board shows of a row (a counter user's full name and username only
#: through `public_name`, as the policy allows)
PUBLIC_FIELDS = ("by", "rank", "score", "cases", "completed", "on_time_rate", "early_rate", "avg_working_days",
                 "satisfaction", "rating_avg", "complaints", "yellow_cards", "red_cards", "station_name")


def board(session, period, network, policy=None):
    """What the public board shows for a month: the month's and its quarter's service
    stars, and the month's rankings of stations and departments (ranked rows only), with
    staff named as the policy allows (`public_name`)."""
    policy = policy or network.assessment
    the_quarter = quarter_of(period)

    def public(rows):
        return [{key: row[key] for key in PUBLIC_FIELDS if key in row} | {"name": public_name(row, policy)}
                for row in rows]

    quarter_users, month_users = assess_with_part(session, the_quarter, period, "user", network, policy)
    return {
        "period": period.as_dict(), "quarter": the_quarter.as_dict(),
        "stars": public(stars(month_users, policy)),
        "quarter_stars": public(stars(quarter_users, policy)),
        "stations": public([r for r in assess(session, period, "station", network, policy) if r["rank"]]),
        "departments": public([r for r in assess(session, period, "department", network, policy) if r["rank"]]),
        "users": public([r for r in month_users if r["rank"]]),
    }
