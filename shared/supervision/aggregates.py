"""The district's figures (统计) answered by the database: SQL aggregates over the cases'
summary columns (shared/cases/summary.py), one GROUP BY per grouping and one for the
alerts, instead of reading every case's snapshot.

`statistics(session, start, end, by, network)` returns the rows `compute_statistics`
(shared/supervision/statistics.py, where the figures are defined) returns for the same
cases and alerts: the database counts and sums whole numbers per group, and the rates and
averages are divided here with the same formula (`figures`), so both give exactly the
same values. The working days a decided case took were counted once, when it was
decided (the `working_days` column).
"""
import operator

from sqlalchemy import case as when
from sqlalchemy import func, select

from shared import stations as st
from shared.db.models import Case, SupervisionAlert
from shared.supervision.card_store import not_revoked
from shared.supervision.statistics import (
    ALERT_FIELDS, TOTAL_NAME, TOTALS, check_query, figures, group_names, group_order,
)

#: the column each grouping groups by
GROUP_COLUMNS = {"station": Case.filing_station, "tier": Case.filing_tier, "department": Case.department,
                 "item": Case.item_code, "category": Case.item_category}
UNKNOWN = "unknown"


def _counted(condition):
    return func.coalesce(func.sum(when((condition, 1), else_=0)), 0)


def _sum(expression):
    return func.coalesce(func.sum(expression), 0)


def _case_totals():
    """The aggregates of TOTALS that come from the cases (the alerts are counted apart)."""
    under_promised = Case.promised_limit_days - Case.working_days
    under_legal = Case.legal_limit_days - Case.working_days
    return {
        "cases": func.count(),
        "accepted": _counted(Case.accepted_on.is_not(None)),
        "returned": _counted(Case.returned.is_(True)),
        "completed": _counted(Case.decided_on.is_not(None)),
        "on_time": _counted(Case.decided_on <= Case.due_date),
        "early": _counted(Case.decided_on < Case.due_date),
        "working_days_sum": _sum(Case.working_days),
        "working_days_n": func.count(Case.working_days),
        "under_promised_sum": _sum(under_promised),
        "under_promised_n": func.count(under_promised),
        "under_legal_sum": _sum(under_legal),
        "under_legal_n": func.count(under_legal),
        "rated": func.count(Case.rating_score),
        "rating_sum": _sum(Case.rating_score),
        "satisfied": _counted(Case.rating_score >= 4),
        "below_district": _counted(Case.filing_tier != st.DISTRICT),
        # issue 16: online applications, visits of the accepted cases, pre-review answers
        "online": _counted(Case.online.is_(True)),
        "visits_n": _counted(Case.accepted_on.is_not(None)),
        "visits_sum": _sum(when((Case.accepted_on.is_not(None), func.coalesce(Case.visits, 1)), else_=0)),
        "zero_visits": _counted(Case.accepted_on.is_not(None) & (func.coalesce(Case.visits, 1) == 0)),
        "at_most_one_visit": _counted(Case.accepted_on.is_not(None) & (func.coalesce(Case.visits, 1) <= 1)),
        "pre_review_answers": _sum(Case.pre_review_answers),
        "pre_review_on_time": _sum(Case.pre_review_on_time),
    }


def _period(query, start, end):
    if start is not None:
        query = query.where(Case.filed_date >= start)
    if end is not None:
        query = query.where(Case.filed_date <= end)
    return query


def statistics(session, start=None, end=None, by="none", network=None):
    """The figures of the cases filed from `start` to `end` (dates or ISO strings, both
    inclusive, None for open), one row per group of `by` and a totals row (last), as
    compute_statistics gives them. ValueError for an unknown grouping or a reversed period."""
    start, end = check_query(start, end, by)
    column = GROUP_COLUMNS.get(by)
    aggregates = _case_totals()
    keys = [column] if column is not None else []
    extra = [func.min(Case.item_name)] if by == "item" else []
    query = _period(select(*keys, *aggregates.values(), *extra).select_from(Case), start, end)
    if column is not None:
        query = query.group_by(column)
    groups, item_names = {}, {}
    for found in session.execute(query):
        found = tuple(found)
        key = (found[0] if found[0] is not None else UNKNOWN) if column is not None else None
        values = found[len(keys):len(keys) + len(aggregates)]
        if column is None and values[0] == 0:
            continue  # no case in the period: the totals row alone, all zero
        _add(groups.setdefault(key, _zero()), dict(zip(aggregates, values)))
        if extra:
            item_names.setdefault(key, found[-1])
    alerts = (select(*keys, SupervisionAlert.kind, func.count())
              .join(Case, Case.case_no == SupervisionAlert.case_no)
              .where(SupervisionAlert.kind.in_(ALERT_FIELDS), not_revoked()))  # a revoked card is not counted
    alerts = _period(alerts, start, end).group_by(*keys, SupervisionAlert.kind)
    for found in session.execute(alerts):
        found = tuple(found)
        key = (found[0] if found[0] is not None else UNKNOWN) if column is not None else None
        kind, count = found[-2], found[-1]
        groups[key][ALERT_FIELDS[kind]] += count
    total = _zero()
    for totals in groups.values():
        _add(total, totals)
    rows = []
    if column is not None:
        ordered = group_order(by, groups, network)
        names = group_names(by, ordered, item_names, network)
        rows = [{"by": by, "group": key, "name": names[key], **figures(groups[key])} for key in ordered]
    rows.append({"by": by, "group": None, "name": TOTAL_NAME, **figures(total)})
    return rows


def _zero():
    return dict.fromkeys(TOTALS, 0)


def _add(into, totals):
    for key, value in totals.items():
        into[key] += int(value)


#: the groupings `several` rolls up from its one GROUP BY
ROLLED_UP = ("department", "station", "tier")


def _grouped(session, keys, start, end, totals=TOTALS):
    """{key tuple: {total: n}} of the cases filed from `start` to `end` grouped by `keys`
    (SQL expressions), their alerts counted by a second GROUP BY (asked only when an
    alert total is among `totals`); only the `totals` named are counted and present."""
    aggregates = {name: value for name, value in _case_totals().items() if name in totals}
    fields, width = list(aggregates), len(keys)
    query = _period(select(*keys, *aggregates.values()).select_from(Case), start, end).group_by(*keys)
    cells = {}
    for found in session.execute(query):
        found = tuple(found)
        cells[found[:width]] = dict(zip(fields, map(int, found[width:])))
    if not set(ALERT_FIELDS.values()) & set(totals):
        return cells
    alerts = (select(*keys, SupervisionAlert.kind, func.count())
              .join(Case, Case.case_no == SupervisionAlert.case_no)
              .where(SupervisionAlert.kind.in_(ALERT_FIELDS), not_revoked()))  # a revoked card is not counted
    alerts = _period(alerts, start, end).group_by(*keys, SupervisionAlert.kind)
    for found in session.execute(alerts):
        found = tuple(found)
        _add_some(cells.setdefault(found[:width], {}), {ALERT_FIELDS[found[width]]: int(found[width + 1])})
    return cells


def _add_some(into, totals):
    """Add `totals` (some of TOTALS) into `into`, which holds some of TOTALS."""
    for key, value in totals.items():
        into[key] = into.get(key, 0) + value


def several(session, start, end, network=None, totals=TOTALS):
    """The figures `statistics` gives for the cases filed from `start` to `end` grouped by
    each of ROLLED_UP, and per filing month (totals rows only), from two GROUP BYs (by
    filing day, which needs no sort on the figures index; by department, station and
    tier, a couple of thousand groups) rolled up here:
    the totals are whole-number counts and sums, so adding the groups' gives exactly what
    a GROUP BY of each grouping gives. {"months": {"YYYY-MM": totals row}, by: rows}.
    `totals`: the TOTALS to count (the figures made of others are 0 or None), so a caller
    that shows a few figures has the database sum only those."""
    start, end = check_query(start, end, "none")
    fields = [name for name in TOTALS if name in totals]
    zero = [0] * len(fields)

    def values(some):  # the totals as a list in the order of `fields`
        return [some.get(name, 0) for name in fields]

    def add(into, key, counted):  # added in C
        into[key] = list(map(operator.add, into.get(key, zero), counted))

    # by filing day, which the figures index gives in order (no sort), added up into months here
    months = {}
    for (day,), some in _grouped(session, [Case.filed_date], start, end, totals).items():
        if day is not None:
            add(months, f"{day:%Y-%m}", values(some))
    cells = _grouped(session, [Case.department, Case.filing_station, Case.filing_tier], start, end, totals)
    position = {"department": 0, "station": 1, "tier": 2}
    rolled = {by: {} for by in ROLLED_UP}
    total = {}
    for key, some in cells.items():
        counted = values(some)
        add(total, None, counted)
        for by in ROLLED_UP:
            group = key[position[by]]
            add(rolled[by], group if group is not None else UNKNOWN, counted)

    def row(by, group, name, counted):
        return {"by": by, "group": group, "name": name, **figures({**_zero(), **dict(zip(fields, counted))})}
    found = {"months": {month: row("none", None, TOTAL_NAME, counted) for month, counted in months.items()}}
    total_row = row("none", None, TOTAL_NAME, total.get(None, zero))
    for by in ROLLED_UP:
        groups = rolled[by]
        ordered = group_order(by, groups, network)
        names = group_names(by, ordered, {}, network)
        found[by] = [row(by, key, names[key], groups[key]) for key in ordered]
        found[by].append({**total_row, "by": by})
    return found
