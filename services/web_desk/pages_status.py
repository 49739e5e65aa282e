"""For residents, without logging in: their case by its number and query code (查询码),
and the rating form once the case is completed. Every lookup is a POST of the form, so
the code never appears in a URL (browser history, proxy logs); the limits and the equal
answers for a wrong code and an unknown case are the API's (services/gateway/residents.py)."""
import math

from services.gateway.residents import client_address
from services.http import http
from services.web_desk.base import DeskBase
from services.web_desk.rendering import REFUSALS, explain, form_of, render, status_of
from shared.cases import query_codes, schemas, views
from shared.exceptions import Conflict, NotFound, TooManyAttempts, Unavailable

FILL_IN = "请填写受理编号和查询码（8 位字母和数字，印在受理时交给您的通知书上）。"
NO_MATCH = "未找到与该受理编号和查询码相符的办件，请核对后再试。"
NO_ANSWER = "暂时无法查询该办件，请稍后再试。"
RATING_REFUSED = "该办件目前不能评价：办结后方可评价，每件只评价一次，并请在受理该办件的站点评价。"
THANKS = "感谢您的评价！"


def too_many(error):
    return f"查询失败次数过多，为保护申请人信息，请 {math.ceil(error.retry_after / 60)} 分钟后再试。"


class StatusPage(DeskBase):
    @http("GET", "/desk/status")
    def desk_status(self, request):
        """The empty form (a code in the query string is ignored: it should not be there)."""
        return render("status.html", **self.desk_context(None, case_no="", query_code=""))

    @http("POST", "/desk/status")
    def desk_status_lookup(self, request):
        form = form_of(request)
        return self._status_page(request, form.get("case_no", "").strip(), form.get("query_code", "").strip())

    @http("POST", "/desk/status/rating")
    def desk_status_rating(self, request):
        form = form_of(request)
        case_no, code = form.get("case_no", "").strip(), form.get("query_code", "").strip()
        data = {"case_no": case_no, "query_code": code, "score": _score(form.get("score")),
                "comment": form.get("comment", "").strip()}
        try:
            case = self.rate_as_resident(data, client_address(request))
        except Conflict:  # not completed yet, rated already, or held at another counter
            return self._status_page(request, case_no, code, error=RATING_REFUSED, status=409,
                                     comment=data["comment"])
        except (TooManyAttempts, Unavailable, NotFound) as error:
            return self._refused(case_no, code, error)
        except REFUSALS as error:
            return self._status_page(request, case_no, code, error=explain(error), status=status_of(error),
                                     comment=data["comment"])
        # answered here, not redirected: the way back to this page would carry the code
        return render("status.html", **self.desk_context(None, case_no=case_no, query_code=code),
                      found=schemas.public_status(case), can_rate=False, done=THANKS)

    def _status_page(self, request, case_no, code, error=None, status=200, **extra):
        context = self.desk_context(None, case_no=case_no, query_code=code, **extra)
        if not case_no or len(case_no) > 40 or query_codes.normalize(code) is None:
            return render("status.html", 400, **context, error=FILL_IN)
        try:
            found, held_here = self.resident_view(case_no, code, client_address(request))
        except (TooManyAttempts, Unavailable, NotFound) as refused:
            return self._refused(case_no, code, refused)
        return render("status.html", status, **context, found=found, error=error,
                      can_rate=views.resident_may_rate(found, held_here))

    def _refused(self, case_no, code, error):
        context = self.desk_context(None, case_no=case_no, query_code=code)
        if isinstance(error, TooManyAttempts):
            response = render("status.html", 429, **context, error=too_many(error))
            response.headers["Retry-After"] = str(error.retry_after)
            return response
        if isinstance(error, Unavailable):
            return render("status.html", 503, **context, error=NO_ANSWER)
        return render("status.html", 404, **context, error=NO_MATCH)


def _score(value):
    """The score chosen on the form; anything else is left for the schema to refuse."""
    return int(value) if value and value.isdigit() else value

