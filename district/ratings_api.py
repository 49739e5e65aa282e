"""The district's API of the 好差评 cycle (district/ratings.py), mixed into its gateway:

    GET  /api/rectifications?state=&office=&limit=&offset=   orders (整改单) this user may see
    POST /api/rectifications/<case_no>/action     {action}            the office: what it did
    POST /api/rectifications/<case_no>/follow-up  {answer, level?}    the supervisor: 回访
    POST /api/rectifications/<case_no>/rating     {level}             the supervisor: the resident's rating of it
    GET  /api/ratings/<case_no>                   the rating, its order, its appeal, every step
    POST /api/ratings/<case_no>/appeal            {reason}            the office: 申诉
    POST /api/ratings/<case_no>/appeal/decision   {decision, reason}  the supervisor: uphold | annul
    GET  /api/rating-appeals?state=&limit=&offset=
    GET  /api/ratings/stats?from=&to=&by=none|department|filing_station   the rating figures

Refusals are the station's JSON errors (services/http.py); every change is written to
the access audit, made or refused. Who may do what: shared/auth/permissions.py.
"""
from services.http import http, json_body, json_response, page_of, query_date
from district.ratings import Ratings


class RatingEndpoints:
    ratings = Ratings()

    @http("GET", "/api/rectifications")
    def rectifications(self, request):
        user = self.users.user(request)
        limit, offset = page_of(request)
        total, by_state, found = self.ratings.rectifications_page(
            user, request.args.get("state") or None, request.args.get("office") or None, limit, offset)
        return json_response({"total": total, "limit": limit, "offset": offset, "by_state": by_state,
                              "rectifications": found})

    @http("POST", "/api/rectifications/<string:case_no>/action")
    def rectification_action(self, request, case_no):
        return self._rating_change(request, "act_on_rectification", case_no, self.ratings.act)

    @http("POST", "/api/rectifications/<string:case_no>/follow-up")
    def rectification_follow_up(self, request, case_no):
        return self._rating_change(request, "follow_up_rectification", case_no, self.ratings.follow_up)

    @http("POST", "/api/rectifications/<string:case_no>/rating")
    def rectification_rating(self, request, case_no):
        return self._rating_change(request, "rate_rectification", case_no, self.ratings.rate_rectification)

    @http("GET", "/api/ratings/stats")
    def rating_figures(self, request):
        self._supervisor(request)
        by = request.args.get("by", "none")
        start, end = query_date(request, "from"), query_date(request, "to")
        return json_response({"by": by, "from": start, "to": end, "rows": self.ratings.figures(start, end, by)})

    @http("GET", "/api/ratings/<string:case_no>")
    def rating_record(self, request, case_no):
        return json_response(self.ratings.rating(self.users.user(request), case_no))

    @http("POST", "/api/ratings/<string:case_no>/appeal")
    def rating_appeal(self, request, case_no):
        return self._rating_change(request, "appeal_rating", case_no, self.ratings.appeal, 201)

    @http("POST", "/api/ratings/<string:case_no>/appeal/decision")
    def rating_appeal_decision(self, request, case_no):
        return self._rating_change(request, "decide_rating_appeal", case_no, self.ratings.decide_appeal)

    @http("GET", "/api/rating-appeals")
    def rating_appeals(self, request):
        user = self.users.user(request)
        limit, offset = page_of(request)
        total, found = self.ratings.appeals_page(user, request.args.get("state") or None, limit, offset)
        return json_response({"total": total, "limit": limit, "offset": offset, "appeals": found})

    def _rating_change(self, request, action, case_no, step, status=200):
        user = self.users.user(request)
        with self.access_audit.change(user, action, case_no[:40]):
            return json_response(step(case_no, json_body(request), user), status)
