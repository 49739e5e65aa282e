"""The supervision desk's charts (统计图表) as tables: what each chart draws, from the
district's figures (shared/supervision/aggregates.py, counted by the database), and the
same tables as CSV and Excel files. The page draws every chart from its table, and shows
the table beside it, so both show the same figures.

Charts of a period (`start`..`end`, cases by filing date):

* `trend`      — by month: cases filed, completed, on-time and early-completion rates (%)
* `department` — by department: cases, on-time and early-completion rates (%)
* `station`    — by filing station: the same
* `tier`       — by tier: cases filed and completed
* `days`       — by department: average working days taken against the average promised
                 and legal limits of the cases completed (limit = days taken + days under it)
"""
import csv
import datetime as dt
import io

from openpyxl import Workbook
from openpyxl.styles import Font

from shared.supervision import aggregates

CHARTS = ("trend", "department", "station", "tier", "days")
MAX_MONTHS = 36
#: the totals the charts' figures are made of (the database sums only these)
CHART_TOTALS = ("cases", "completed", "on_time", "early", "working_days_sum", "working_days_n",
                "under_promised_sum", "under_promised_n", "under_legal_sum", "under_legal_n")


def _pct(value):
    return None if value is None else round(value * 100, 1)


def _num(value):
    return None if value is None else round(value, 2)


def months(start, end):
    """[(first day, last day)] of every month from start's to end's, clipped to them."""
    found, day = [], start.replace(day=1)
    while day <= end:
        following = (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
        found.append((max(day, start), min(following - dt.timedelta(days=1), end)))
        day = following
    return found


def _rates(rows):
    return [{"name": r["name"], "cases": r["cases"], "completed": r["completed"],
             "on_time_rate": _pct(r["on_time_rate"]), "early_rate": _pct(r["early_rate"])}
            for r in rows if r["group"] is not None]


RATE_COLUMNS = [("name", "名称"), ("cases", "办件数"), ("completed", "办结"), ("on_time_rate", "按时办结率(%)"),
                ("early_rate", "提前办结率(%)")]


def chart_tables(session, start, end, network=None):
    """{key: {"title", "columns": [(field, header)], "rows": [dict], "kind", "x", "series"}}
    for every chart of CHARTS over the cases filed from `start` to `end`."""
    spans = months(start, end)
    if len(spans) > MAX_MONTHS:
        from shared.exceptions import InvalidInput
        raise InvalidInput(f"period: at most {MAX_MONTHS} months")
    # one GROUP BY (month, department, station, tier) rolled up into every chart's groups
    rolled = aggregates.several(session, start, end, network=network, totals=CHART_TOTALS)
    empty = aggregates.figures(aggregates._zero())
    trend = []
    for first, last in spans:
        total = rolled["months"].get(first.strftime("%Y-%m"), empty)
        trend.append({"month": first.strftime("%Y-%m"), "cases": total["cases"], "completed": total["completed"],
                      "on_time_rate": _pct(total["on_time_rate"]), "early_rate": _pct(total["early_rate"])})
    by_department, by_station, by_tier = rolled["department"], rolled["station"], rolled["tier"]
    days = []
    for r in by_department:
        if r["group"] is None:
            continue
        taken = r["avg_working_days"]
        days.append({"name": r["name"], "avg_working_days": _num(taken),
                     "promised": _num(None if taken is None or r["avg_days_under_promised"] is None
                                      else taken + r["avg_days_under_promised"]),
                     "legal": _num(None if taken is None or r["avg_days_under_legal"] is None
                                   else taken + r["avg_days_under_legal"])})
    return {
        "trend": {"title": "月度趋势：办件量与按时、提前办结率", "kind": "line", "x": "month",
                  "columns": [("month", "月份"), ("cases", "办件数"), ("completed", "办结"),
                              ("on_time_rate", "按时办结率(%)"), ("early_rate", "提前办结率(%)")],
                  "series": [("cases", "办件数", "bar"), ("completed", "办结", "bar"),
                             ("on_time_rate", "按时办结率(%)", "line"), ("early_rate", "提前办结率(%)", "line")],
                  "rows": trend},
        "department": {"title": "各部门按时、提前办结率", "kind": "bar", "x": "name", "columns": RATE_COLUMNS,
                       "series": [("on_time_rate", "按时办结率(%)", "bar"), ("early_rate", "提前办结率(%)", "bar")],
                       "rows": _rates(by_department)},
        "station": {"title": "各受理站点按时、提前办结率", "kind": "bar", "x": "name", "columns": RATE_COLUMNS,
                    "series": [("on_time_rate", "按时办结率(%)", "bar"), ("early_rate", "提前办结率(%)", "bar")],
                    "rows": _rates(by_station)},
        "tier": {"title": "各层级办件量", "kind": "bar", "x": "name",
                 "columns": [("name", "层级"), ("cases", "办件数"), ("completed", "办结")],
                 "series": [("cases", "办件数", "bar"), ("completed", "办结", "bar")],
                 "rows": [{"name": r["name"], "cases": r["cases"], "completed": r["completed"]}
                          for r in by_tier if r["group"] is not None]},
        "days": {"title": "平均办理用时与承诺、法定时限（工作日）", "kind": "bar", "x": "name",
                 "columns": [("name", "部门"), ("avg_working_days", "平均用时"), ("promised", "平均承诺时限"),
                             ("legal", "平均法定时限")],
                 "series": [("avg_working_days", "平均用时", "bar"), ("promised", "平均承诺时限", "bar"),
                            ("legal", "平均法定时限", "bar")],
                 "rows": days},
    }


def _cells(table):
    yield [header for _, header in table["columns"]]
    for row in table["rows"]:
        yield ["" if row.get(field) is None else row.get(field) for field, _ in table["columns"]]


def to_csv(table):
    """The table as CSV bytes for Excel (UTF-8 with BOM)."""
    out = io.StringIO()
    writer = csv.writer(out)
    for cells in _cells(table):
        writer.writerow(cells)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_xlsx(table, sheet_title):
    """The table as an Excel workbook (bytes), its title in the first row."""
    book = Workbook()
    sheet = book.active
    sheet.title = sheet_title[:31]
    sheet.append([table["title"]])
    sheet["A1"].font = Font(bold=True)
    for i, cells in enumerate(_cells(table)):
        sheet.append(cells)
        if i == 0:
            for cell in sheet[sheet.max_row]:
                cell.font = Font(bold=True)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
