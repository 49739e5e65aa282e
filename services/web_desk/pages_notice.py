"""The printable notice (受理通知书, 一次性告知书, 退回通知书) with the resident's query code
(查询码), shown once, and a new code for a resident who lost theirs.

The station never stores a plain code (shared/cases/query_codes.py). After a filing at
the desk the code rides to the notice in a cookie that only that case's notice page
receives (its Path), HttpOnly and SameSite=Strict, for HANDOVER_SECONDS; the notice
prints it and deletes the cookie, so a second print shows no code. A counter user of
the station holding the case can then issue a new one (it replaces the old)."""
from services.http import http
from services.web_desk.base import DeskBase
from services.web_desk.rendering import REFUSALS, explain, form_of, page, render, status_of
from shared.cases import query_codes, schemas, views
from shared.exceptions import NotFound

HANDOVER_SECONDS = 30 * 60
REISSUED = "已生成新的查询码，原查询码作废。请打印本通知书交给申请人。"


def code_cookie(station_code):
    return f"tongban_query_code_{station_code}"


def notice_path(case_no):
    return f"/desk/cases/{case_no}/notice"


def hand_over(response, case, station_code, flags):
    """After a filing at the desk (`case` as CaseDesk.file answers it, with its plain
    `query_code`): the code goes with the redirect, to the case's notice page only."""
    if case.get("query_code"):
        response.set_cookie(code_cookie(station_code), case["query_code"], max_age=HANDOVER_SECONDS,
                            **{**flags, "path": notice_path(case["case_no"])})
    return response


class NoticePages(DeskBase):
    @http("GET", "/desk/cases/<string:case_no>/notice")
    @page
    def desk_case_notice(self, request, user, case_no):
        code = query_codes.normalize(request.cookies.get(code_cookie(self.station.code)))
        response = self._notice(user, case_no, code)
        if code:  # shown once
            response.delete_cookie(code_cookie(self.station.code),
                                   **{**self.guard.cookie_flags(), "path": notice_path(case_no)})
        return response

    @http("POST", "/desk/cases/<string:case_no>/query-code")
    @page
    def desk_reissue_query_code(self, request, user, case_no):
        form_of(request)
        try:
            with self.access_audit.change(user, "reissue_query_code", case_no):
                _, code = self.desk.reissue_query_code(case_no, user)
        except REFUSALS as error:
            return self.case_page(user, case_no, error=explain(error), status=status_of(error))
        return self._notice(user, case_no, code, done=REISSUED)

    def _notice(self, user, case_no, code, done=None):
        # the notice names the applicant, never their ID number or phone: nothing whole to audit
        stored = self.desk.get(case_no, user)
        case = schemas.masked(stored)
        if not case.get("notice"):
            raise NotFound(f"办件 {case_no} 没有可打印的通知书")
        can_reissue = not code and views.REISSUE_QUERY_CODE in views.available_actions(stored, user,
                                                                                        self.station.code)
        return render("notice.html", **self.desk_context(user), case=case, notice=case["notice"], done=done,
                      query_code=query_codes.display(code) if code else None, can_reissue=can_reissue)
