"""The supervision desk (电子监察) at the district's web desk, in Simplified Chinese:

    /desk/supervision                 live board of running cases by light, with filters
    /desk/supervision/cards           cards (预警、黄牌、红牌) by state; /cards/<id> one card,
                                      its history and the step the user may take
    /desk/supervision/stats           charts (ECharts, served locally) with their tables,
                                      each as CSV (stats.csv?chart=) and Excel (stats.xlsx?chart=)
    /desk/supervision/screen          the supervision centre's big screen, kept current by
                                      static/supervision-screen.js polling screen.json

The supervisor and the administrator see every page; a department's reviewers and
approvers see their department's cards (and explain them). The figures come from the
cases' summary columns and GROUP BY (shared/supervision/board.py, charts.py), never from
the snapshots, so a district year answers quickly.
"""
import json
import urllib.parse

from sqlalchemy import select
from werkzeug.wrappers import Response

from services.http import http, json_response, query_date
from services.web_desk.rendering import REFUSALS, explain, form_of, page, redirect, render, status_of
from shared.auth import permissions
from shared.db.models import Item
from shared.exceptions import InvalidInput, NotFound
from shared.supervision import aggregates, board, card_store, charts
from shared.supervision import cards as rules

BOARD_PAGE = 100
CARDS_PAGE = 50
SCREEN_POLL_MS = 30_000
DONE = {"explain": "说明已提交，等待电子监察审核。", "confirm": "已确认该监察卡。", "revoke": "已撤销该监察卡，不再计入统计。"}


def _month_start(day):
    return day.replace(day=1)


class SupervisionPages:
    """Mixed into the district's gateway (its `supervision`, `cards`, `station`, `users`)."""

    def _today(self):
        return self.supervision.clock.today()

    # -- the board ------------------------------------------------------------------------------
    @http("GET", "/desk/supervision")
    @page
    def desk_supervision_board(self, request, user):
        permissions.can_supervise(user)
        filters = board.board_filters(request.args)
        offset = int(request.args["offset"]) if request.args.get("offset", "").isdigit() else 0
        network = self.station.network
        with self.supervision.database.reading() as session:
            found = board.board(session, filters, self._today(), self.supervision.calendar(session),
                                self.supervision.yellow_days, limit=BOARD_PAGE, offset=offset)
        args = {name: request.args.get(name, "") for name in board.FILTERS}
        query = urllib.parse.urlencode({k: v for k, v in args.items() if v and k != "light"})
        return render("supervision_board.html", **self.desk_context(user), board=found, args=args, query=query,
                      offset=offset, page_size=BOARD_PAGE, labels=board.LIGHT_LABELS,
                      stations=sorted(network.stations.values(), key=lambda s: s.code),
                      departments=sorted(network.departments.values(), key=lambda d: d.code),
                      items=self._items())

    def _items(self):
        """[(code, name)] of the catalogue's items, for the board's item filter."""
        with self.supervision.database.reading() as session:
            return [tuple(row) for row in session.execute(select(Item.code, Item.name).order_by(Item.code))]

    # -- cards ----------------------------------------------------------------------------------
    @http("GET", "/desk/supervision/cards")
    @page
    def desk_supervision_cards(self, request, user):
        filters = {name: (request.args.get(name) or None) for name in ("state", "kind", "department", "station")}
        offset = int(request.args["offset"]) if request.args.get("offset", "").isdigit() else 0
        total, by_state, found = self.cards.page(user, limit=CARDS_PAGE, offset=offset, **filters)
        today = self._today()
        month = self.cards.counts(start=_month_start(today), end=today)
        month_counts = month.get(None, dict.fromkeys(rules.KINDS, 0))
        args = {name: request.args.get(name, "") for name in filters}
        return render("supervision_cards.html", **self.desk_context(user), cards=found, total=total,
                      by_state=by_state, args=args, offset=offset, page_size=CARDS_PAGE, month=month_counts,
                      month_label=today.strftime("%Y年%m月"), kinds=rules.KIND_LABELS, states=rules.STATE_LABELS,
                      done=DONE.get(request.args.get("done")),
                      query=urllib.parse.urlencode({k: v for k, v in args.items() if v and k != "state"}),
                      departments=sorted(self.station.network.departments.values(), key=lambda d: d.code))

    @http("GET", "/desk/supervision/cards/<string:card_id>")
    @page
    def desk_supervision_card(self, request, user, card_id):
        return self._card_page(user, card_id, done=DONE.get(request.args.get("done")))

    def _card_page(self, user, card_id, status=200, **extra):
        card = self.cards.card(user, card_id)
        offered = rules.actions_for(user, card, card["explanation_overdue"])
        return render("supervision_card.html", status, **self.desk_context(user), card=card, offered=offered,
                      kinds=rules.KIND_LABELS, states=rules.STATE_LABELS, actions=rules.ACTION_LABELS, **extra)

    @http("POST", "/desk/supervision/cards/<string:card_id>/<string:action>")
    @page
    def desk_supervision_card_step(self, request, user, card_id, action):
        if action not in rules.ACTIONS:
            raise NotFound("没有这个操作")
        form = form_of(request)
        data = {"text": form.get("text", "")} if action == rules.EXPLAIN else {"reason": form.get("reason", "")}
        try:
            self._card_step(request, action, card_id, data)
        except REFUSALS as error:
            return self._card_page(user, card_id, status_of(error), error=explain(error), form=data, failed=action)
        return redirect(f"/desk/supervision/cards/{urllib.parse.quote(card_id)}?done={action}")

    # -- statistics with charts -----------------------------------------------------------------
    def _period(self, request):
        today = self._today()
        start = query_date(request, "from") or today.replace(month=1, day=1)
        end = query_date(request, "to") or today
        if end < start:
            raise InvalidInput("query parameter 'to' is before 'from'")
        return start, end

    def _tables(self, start, end):
        with self.supervision.database.reading() as session:
            return charts.chart_tables(session, start, end, self.station.network)

    @http("GET", "/desk/supervision/stats")
    @page
    def desk_supervision_stats(self, request, user):
        permissions.can_supervise(user)
        start, end = self._period(request)
        tables = self._tables(start, end)
        data = {key: {"kind": t["kind"], "x": t["x"], "series": t["series"], "rows": t["rows"]}
                for key, t in tables.items()}
        return render("supervision_stats.html", **self.desk_context(user), tables=tables, start=start, end=end,
                      data_json=json.dumps(data, ensure_ascii=False, default=str).replace("</", "<\\/"),
                      query=urllib.parse.urlencode({"from": start.isoformat(), "to": end.isoformat()}))

    @http("GET", "/desk/supervision/stats.csv")
    @page
    def desk_supervision_stats_csv(self, request, user):
        return self._export(request, user, "csv")

    @http("GET", "/desk/supervision/stats.xlsx")
    @page
    def desk_supervision_stats_xlsx(self, request, user):
        return self._export(request, user, "xlsx")

    def _export(self, request, user, fmt):
        permissions.can_supervise(user)
        chart = request.args.get("chart")
        if chart not in charts.CHARTS:
            raise InvalidInput(f"query parameter 'chart' must be one of {', '.join(charts.CHARTS)}")
        start, end = self._period(request)
        table = self._tables(start, end)[chart]
        name = f"supervision-{chart}-{start:%Y%m%d}-{end:%Y%m%d}.{fmt}"
        if fmt == "csv":
            body, mimetype = charts.to_csv(table), "text/csv"
        else:
            body = charts.to_xlsx(table, chart)
            mimetype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        return Response(body, status=200, mimetype=mimetype, headers={
            "Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"})

    # -- the big screen -------------------------------------------------------------------------
    def _screen(self):
        today = self._today()
        network = self.station.network
        with self.supervision.database.reading() as session:
            calendar = self.supervision.calendar(session)
            yellow_days = self.supervision.yellow_days
            lights = board.board(session, {}, today, calendar, yellow_days, limit=0)["counts"]
            filed = board.filed_on(session, today)
            month_cards = card_store.counts(session, start=_month_start(today), end=today).get(
                None, dict.fromkeys(rules.KINDS, 0))
            month = aggregates.statistics(session, start=_month_start(today), end=today, by="none")[-1]
            townships = board.township_load(session, network, today, calendar, yellow_days)
        return {"today": today.isoformat(), "now": self.supervision.clock.now().isoformat(),
                "filed_today": sum(filed.values()), "filed_by_tier": filed, "lights": lights,
                "cards_this_month": month_cards,
                "satisfaction": {"rated": month["rated"], "rating_avg": month["rating_avg"],
                                 "satisfied_share": month["satisfied_share"]},
                "townships": townships}

    @http("GET", "/desk/supervision/screen")
    @page
    def desk_supervision_screen(self, request, user):
        permissions.can_supervise(user)
        return render("supervision_screen.html", **self.desk_context(user), screen=self._screen(),
                      poll_ms=SCREEN_POLL_MS, kinds=rules.KIND_LABELS)

    @http("GET", "/desk/supervision/screen.json")
    def desk_supervision_screen_json(self, request):
        permissions.can_supervise(self.users.user(request))
        return json_response(self._screen(), headers={"Cache-Control": "no-store"})

