"""The monthly assessment (月度考核) at the district, and its public board (公示栏):

    GET /api/assessment?month=2026-11&by=station|department|user|item   (or quarter=2026Q4)
        supervisor (or administrator): the period's rows with figures, score and rank,
        the service stars among counter users, and the policy that scored them
    GET /desk/supervision/assessment?month=2026-11&by=station   (or quarter=2026Q4)
        the supervisor's page: the same rows as a table, every figure, ranked and unranked,
        full staff names; `.csv` beside it for Excel (UTF-8 with BOM)
    GET /desk/board?month=2026-11
        no login: the month's service stars, its quarter's, and the rankings of stations,
        departments and counter staff, staff named as the district's policy allows
        (`assessment.show_staff_names`, masked "张*" by default)

Without a month or quarter, the last whole month before the district's today. The figures
are counted by the database (shared/supervision/assessment.py); the database and clock are
the supervision desk's (district/supervision_desk.py).
"""
import csv
import io

from werkzeug.wrappers import Response

from services.http import http, json_response
from services.web_desk.rendering import page, render
from shared.auth import permissions
from shared.exceptions import InvalidInput
from shared.supervision import assessment


def _period(request, today):
    return assessment.period_of(request.args.get("month") or None, request.args.get("quarter") or None, today)


class AssessmentEndpoints:
    @http("GET", "/api/assessment")
    def assessment_rows(self, request):
        permissions.can_supervise(self.users.user(request))
        by = _grouping(request)
        period = _period(request, self.supervision.clock.today())
        network = self.station.network
        policy = network.assessment
        with self.supervision.database.reading() as session:
            rows = assessment.assess(session, period, by, network, policy)
        return json_response({"period": period.as_dict(), "by": by, "policy": policy.as_dict(), "rows": rows,
                              "stars": assessment.stars(rows, policy) if by == "user" else []})

    def _assessed(self, request):
        by = _grouping(request)
        period = _period(request, self.supervision.clock.today())
        network = self.station.network
        with self.supervision.database.reading() as session:
            return by, period, assessment.assess(session, period, by, network, network.assessment)

    @http("GET", "/desk/supervision/assessment")
    @page
    def desk_assessment(self, request, user):
        permissions.can_supervise(user)
        by, period, rows = self._assessed(request)
        policy = self.station.network.assessment
        args = {"by": by, period.kind: period.label}
        return render("assessment.html", **self.desk_context(user), rows=rows, by=by, period=period,
                      policy=policy, stars=assessment.stars(rows, policy) if by == "user" else [],
                      groupings=assessment.GROUP_HEADERS, figures=assessment.FIGURES,
                      csv_query="&".join(f"{k}={v}" for k, v in args.items()))

    @http("GET", "/desk/supervision/assessment.csv")
    @page
    def desk_assessment_csv(self, request, user):
        permissions.can_supervise(user)
        by, period, rows = self._assessed(request)
        return Response(assessment_csv(rows, period), mimetype="text/csv", headers={
            "Content-Disposition": f'attachment; filename="assessment-{period.label}-{by}.csv"',
            "Cache-Control": "no-store"})

    @http("GET", "/desk/board")
    def desk_board(self, request):
        """The public board: no login, like the hall's display."""
        try:
            period = _period(request, self.supervision.clock.today())
            if period.kind != "month":
                raise InvalidInput("公示栏按月查看：请用 month=2026-11")
        except InvalidInput as error:
            return render("error.html", 400, **self.desk_context(None), error=error.message)
        network = self.station.network
        with self.supervision.database.reading() as session:
            shown = assessment.board(session, period, network, network.assessment)
        return render("board.html", **self.desk_context(None), board=shown, policy=network.assessment,
                      previous=_shift(period, -1), following=_shift(period, 1))


def _grouping(request):
    by = request.args.get("by", "station")
    if by not in assessment.GROUPINGS:
        raise InvalidInput(f"query parameter 'by' must be one of {', '.join(assessment.GROUPINGS)}")
    return by


def assessment_csv(rows, period):
    """The rows as CSV for Excel: UTF-8 with a BOM, the figures' Chinese headers, rates unrounded."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["考核期", "分组", "编码", "名称", *(header for _, header in assessment.FIGURES)])
    for row in rows:
        writer.writerow([period.label, assessment.GROUP_HEADERS[row["by"]], row["group"], row["name"],
                         *("" if row.get(key) is None else row.get(key) for key, _ in assessment.FIGURES)])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _shift(period, months):
    """The label of the month `months` away from a month period."""
    index = period.start.year * 12 + period.start.month - 1 + months
    return f"{index // 12:04d}-{index % 12 + 1:02d}"
