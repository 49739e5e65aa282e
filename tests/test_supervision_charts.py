"""The supervision desk's charts (shared/supervision/charts.py) are rolled up from two
GROUP BYs (aggregates.several: by filing day, added into months; by department, station
and tier, added into each of the three): on a generated record of a few hundred cases in
every state, each rolled-up grouping equals the figures `aggregates.statistics` counts
for that grouping alone (held equal to the reference computation over snapshots by
tests/test_record_at_scale.py), each month equals that month's totals, and the charts'
tables show those figures. On SQLite, or PostgreSQL under TONGBAN_TEST_DATABASE=postgresql."""
import datetime as dt

import pytest

from shared.supervision import aggregates, charts
from tests.test_record_at_scale import NETWORK, record  # noqa: F401 (record is a fixture)

PERIODS = [(dt.date(2026, 1, 1), dt.date(2026, 12, 31)), (dt.date(2026, 3, 15), dt.date(2026, 5, 10)),
           (dt.date(2026, 12, 20), dt.date(2026, 12, 31)), (dt.date(2027, 1, 1), dt.date(2027, 2, 1))]


def _chart_figures(row):
    return {key: row[key] for key in ("cases", "completed", "on_time_rate", "early_rate", "avg_working_days",
                                      "avg_days_under_promised", "avg_days_under_legal")}


@pytest.mark.parametrize("start, end", PERIODS)
def test_the_rolled_up_groupings_and_months_equal_their_own_group_by(record, start, end):  # noqa: F811
    database, cases, _ = record
    with database.reading() as session:
        rolled = aggregates.several(session, start, end, network=NETWORK)
        for by in aggregates.ROLLED_UP:
            assert rolled[by] == aggregates.statistics(session, start, end, by=by, network=NETWORK), by
        months = {first.strftime("%Y-%m"): aggregates.statistics(session, first, last, by="none")[-1]
                  for first, last in charts.months(start, end)}
        assert rolled["months"] == {month: row for month, row in months.items() if row["cases"]}
        # the charts ask for the few totals they draw: the same figures
        few = aggregates.several(session, start, end, network=NETWORK, totals=charts.CHART_TOTALS)
        for by in aggregates.ROLLED_UP:
            assert [_chart_figures(r) for r in few[by]] == [_chart_figures(r) for r in rolled[by]], by
        tables = charts.chart_tables(session, start, end, NETWORK)
    trend = {row["month"]: row for row in tables["trend"]["rows"]}
    assert list(trend) == list(months)
    for month, row in months.items():
        assert (trend[month]["cases"], trend[month]["completed"]) == (row["cases"], row["completed"])
    by_department = {r["group"]: r for r in rolled["department"] if r["group"] is not None}
    assert [r["cases"] for r in tables["department"]["rows"]] == [r["cases"] for r in by_department.values()]
    if start.year == 2026:
        assert sum(row["cases"] for row in months.values()) > 0
