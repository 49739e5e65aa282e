"""我的账号: a user's own password and sessions at the web desk. A user who must change
their password (the sample staff) is sent to the change page from every other page."""
from services.http import http
from services.web_desk.base import DeskBase
from services.web_desk.rendering import REFUSALS, explain, form_of, page, redirect, render, status_of
from shared.auth.password_policy import MIN_LENGTH
from shared.exceptions import TooManyAttempts, Unauthorized

ACCOUNT = "/desk/account"
CHANGE_PASSWORD = "/desk/account/password"
DONE = {"password": "密码已修改，其他设备上的登录已退出。", "ended": "已退出所选的登录。",
        "others": "其他设备上的登录已全部退出。"}


class MyAccountPages(DeskBase):
    @http("GET", ACCOUNT)
    @page
    def desk_account(self, request, user):
        return self._account_page(request, user)

    def _account_page(self, request, user, status=200, error=None):
        return render("account.html", status, **self.desk_context(
            user, done=DONE.get(request.args.get("done")), error=error),
            sessions=self.users.sessions(request))

    @http("GET", CHANGE_PASSWORD)
    @page
    def desk_password_form(self, request, user):
        return self._password_page(user)

    def _password_page(self, user, status=200, error=None):
        return render("password.html", status, **self.desk_context(user, error=error), min_length=MIN_LENGTH)

    @http("POST", CHANGE_PASSWORD)
    @page
    def desk_change_password(self, request, user):
        form = form_of(request)
        new = form.get("new_password", "")
        if new != form.get("new_password_again", ""):
            return self._password_page(user, 400, "两次输入的新密码不一致，请重新输入。")
        try:
            with self.access_audit.change(user, "change_password"):  # recorded, made or refused
                self.users.change_password(request, {"current_password": form.get("current_password", ""),
                                                     "new_password": new})
        except Unauthorized:  # the current password is wrong (the session itself is fine)
            return self._password_page(user, 401, "当前密码不正确，请重新输入。")
        except TooManyAttempts as refused:
            response = self._password_page(user, 429, refused.message)
            response.headers["Retry-After"] = str(refused.retry_after)
            return response
        except REFUSALS as error:  # the policy's objection, in its own words
            objection = (getattr(error, "details", None) or {}).get("new_password") or [explain(error)]
            return self._password_page(user, status_of(error), objection[0])
        return redirect(f"{ACCOUNT}?done=password")

    @http("POST", "/desk/account/sessions/<string:session_id>/end")
    @page
    def desk_end_session(self, request, user, session_id):
        form_of(request)
        with self.access_audit.change(user, "end_session"):
            self.users.end_session(request, session_id)
        return redirect(f"{ACCOUNT}?done=ended")

    @http("POST", "/desk/account/sessions/end-others")
    @page
    def desk_end_other_sessions(self, request, user):
        form_of(request)
        with self.access_audit.change(user, "end_other_sessions"):
            self.users.end_other_sessions(request)
        return redirect(f"{ACCOUNT}?done=others")
