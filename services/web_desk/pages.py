"""The web desk's pages: logging in and out, the home page by role, the residents'
status page and the stylesheet. The catalogue and case pages are in their own mixins."""
import mimetypes

from werkzeug.wrappers import Response

from services.auth import session_cookie
from services.http import http
from services.web_desk import labels
from services.web_desk.base import DeskBase
from services.web_desk.pages_account import MyAccountPages
from services.web_desk.pages_actions import CaseActionPages
from services.web_desk.pages_admin import StationAdminPages
from services.web_desk.pages_cases import CasePages
from services.web_desk.pages_catalogue import CataloguePages
from services.web_desk.pages_hall import HallPages
from services.web_desk.pages_notice import NoticePages
from services.web_desk.pages_portal import PortalPages, PreReviewPages
from services.web_desk.pages_status import StatusPage
from services.web_desk.rendering import (
    CHANGE_PASSWORD, LOGIN, STATIC, form_of, page, redirect, render, safe_next,
)
from services.web_desk.views import case_rows, worklist_sections
from shared.auth import roles
from shared.cases import states, views
from shared.exceptions import InvalidInput, TooManyAttempts, Unauthorized


class AccountPages(DeskBase):
    @http("GET", "/desk/login")
    def desk_login_form(self, request):
        return render("login.html", **self.desk_context(None, next=safe_next(request.args.get("next")),
                                                        username=""))

    @http("POST", "/desk/login")
    def desk_log_in(self, request):
        try:
            form = form_of(request)
            target = safe_next(form.get("next"))
            with self.access_audit.login(form.get("username", "").strip()) as attempt:  # services/access_audit.py
                session = self.users.log_in({"username": form.get("username", "").strip(),
                                             "password": form.get("password", "")}, request)
                attempt.succeeded(session)
        except (Unauthorized, InvalidInput):
            return render("login.html", 401, **self.desk_context(
                None, next=safe_next(request.form.get("next")), username=request.form.get("username", ""),
                error="用户名或密码错误，请重新输入。"))
        except TooManyAttempts as refused:  # too many failures: wait, or the account is locked
            response = render("login.html", 429, **self.desk_context(
                None, next=safe_next(request.form.get("next")), username=request.form.get("username", ""),
                error=refused.message.split("Too many")[0]))
            response.headers["Retry-After"] = str(refused.retry_after)
            return response
        if session["user"].get("must_change_password"):
            target = CHANGE_PASSWORD
        response = redirect(target)
        response.set_cookie(session_cookie(self.station.code), session["token"], **self.guard.cookie_flags())
        return response

    @http("POST", "/desk/logout")  # a POST, so the form token is checked (a GET or HEAD from another page of the site logged one out)
    def desk_log_out(self, request):
        self.users.log_out(request)
        response = redirect(LOGIN)
        response.delete_cookie(session_cookie(self.station.code), **self.guard.cookie_flags())
        return response

    @http("GET", "/desk/static/<string:name>")
    def desk_static(self, request, name):
        path = STATIC / name
        if "/" in name or name.startswith(".") or not path.is_file():
            return Response("not found", status=404, mimetype="text/plain")
        return Response(path.read_bytes(), mimetype=mimetypes.guess_type(name)[0] or "application/octet-stream",
                        headers={"Cache-Control": "public, max-age=300"})


class HomePages(DeskBase):
    @http("GET", "/desk/")
    @page
    def desk_home(self, request, user):
        role = user["role"]
        context = self.desk_context(user, done=labels.DONE.get(request.args.get("done")))
        if role in roles.COUNTER_ROLES:
            total, rows = self.case_table(user, limit=20, held_here=True)
            return render("home.html", **context, cases=rows, total=total,
                          worklist=self._worklist(user, limit=5))
        if role in roles.DEPARTMENT_ROLES:
            return render("home.html", **context, worklist=self._worklist(user, limit=50))
        return render("home.html", **context)

    @http("GET", "/desk/worklist")
    @page
    def desk_worklist(self, request, user):
        return render("worklist.html", **self.desk_context(user), worklist=self._worklist(user, limit=200),
                      stuck=self._waiting_for_nobody(user))

    def _waiting_for_nobody(self, user):
        """受审分离: the cases held here that no active user of the station may decide."""
        if user["role"] not in roles.DECIDING_ROLES:
            return []
        _, cases = self.desk.list(user, held_here=True, status=list(states.DECIDING), limit=200)
        return views.waiting_for_nobody(cases, self.station.code, self.users.list())

    def _worklist(self, user, limit):
        """[(title, total, rows)]: what waits for this user, held at this station."""
        sections = []
        for title, statuses in worklist_sections(user):
            total, rows = self.case_table(user, limit=limit, held_here=True, status=statuses)
            sections.append((title, total, rows))
        if user["role"] == roles.APPROVER and self.station.is_district:
            sections.append(("延期申请待审批", *self._extension_requests(user, limit)))
        return sections

    def _extension_requests(self, user, limit):
        """Running cases of the approver's departments whose extension waits for them."""
        _, cases = self.desk.list(user, status=[*states.RUNNING, states.SUSPENDED], limit=500)
        waiting = [c for c in cases if views.DECIDE_EXTENSION in views.available_actions(c, user, self.station.code)]
        return len(waiting), case_rows(waiting[:limit], self.light_rule())


class WebDeskPages(AccountPages, MyAccountPages, HomePages, StatusPage, NoticePages, CataloguePages, CasePages,
                   CaseActionPages, HallPages, StationAdminPages, PortalPages, PreReviewPages):
    """Every page of the web desk, mixed into the gateway."""
