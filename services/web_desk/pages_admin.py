"""系统管理: the administrator's pages every station has (the district adds the
catalogue's, district/admin_pages.py):

    GET  /desk/admin                                the administrator's start page
    GET  /desk/admin/users                          the station's users, their lockouts, a form to add one
    POST /desk/admin/users                          add a user: a one-time temporary password is shown
    POST /desk/admin/users/<username>/deactivate    they can no longer log in (sessions end now)
    POST /desk/admin/users/<username>/activate
    POST /desk/admin/users/<username>/reset-password   a new one-time temporary password, shown once
    POST /desk/admin/users/<username>/unlock        forget their failed logins
    GET  /desk/admin/dead-letters                   the messages this station's consumers gave up on
    POST /desk/admin/dead-letters/retry             ids=<id>... : send them back to their queue

Administrators only (a 403 page for anyone else); every POST carries the desk's form
token (checked before the page runs, services/web_desk/guard.py) and is recorded in the
access audit, made or refused. A temporary password is for one login: the user must
choose their own then (the desk sends them to 修改密码 from every page)."""
import logging
from urllib.parse import urlencode

from nameko.extensions import DependencyProvider

from services.config import DATABASE_KEY, station_info
from services.dead_letters import UnknownDeadLetter
from services.http import http
from services.web_desk import admin_forms as forms
from services.web_desk.base import DeskBase
from services.web_desk.rendering import form_of, page, redirect, render
from shared.auth import permissions, roles
from shared.auth.administration import UserAdministration, temporary_password
from shared.db.database import get_database
from shared.exceptions import Conflict, InvalidInput, NotFound, Unavailable

log = logging.getLogger(__name__)

ADMIN = "/desk/admin"
USERS = "/desk/admin/users"
DEAD_LETTERS = "/desk/admin/dead-letters"
DEAD_LETTER_PAGE = 200
USER_DONE = {"deactivate": "已停用 {who}：其登录已全部结束，不能再登录。", "activate": "已启用 {who}。",
             "unlock": "已解锁 {who}：登录失败记录已清除。"}
BROKER_DOWN = "暂时无法连接消息服务器，读取不到死信队列，请稍后再试（或检查本站与消息服务器的连接）。"


class StationUserAdministration(DependencyProvider):
    """Injects a function running `action(UserAdministration)` in one transaction of
    the station's database."""

    def setup(self):
        config = self.container.config
        self.database = get_database(config[DATABASE_KEY])
        self.info = station_info(config)

    def get_dependency(self, worker_ctx):
        def run(action, write=True):
            with (self.database.transaction() if write else self.database.reading()) as session:
                return action(UserAdministration(session, self.info.station, self.info.network))
        return run


def _can_manage_users(user):
    permissions.require(user, "manage_users", roles.ADMINISTRATOR)


class StationAdminPages(DeskBase):
    user_administration = StationUserAdministration()

    @http("GET", ADMIN)
    @page
    def admin_home(self, request, user):
        _can_manage_users(user)
        return render("admin_home.html", **self.desk_context(user))

    # -- users --------------------------------------------------------------------------------
    def _roles_here(self):
        return {role: label for role, label in forms.ROLE_CHOICES.items()
                if self.station.tier in roles.TIERS[role]}

    def _users_page(self, user, status=200, values=None, errors=None, done=None):
        errors = errors or {}
        people = self.user_administration(lambda admin: admin.list(), write=False)
        return render("admin_users.html", status, **self.desk_context(user, done=done, error=errors.get("")),
                      people=people, values=values or {}, errors=errors, role_choices=self._roles_here(),
                      departments=self.station.network.departments, labels=forms.USER_LABELS)

    @http("GET", USERS)
    @page
    def admin_users(self, request, user):
        _can_manage_users(user)
        done = None
        kind, who = request.args.get("done"), request.args.get("who", "")[:50]
        if kind in USER_DONE:
            done = USER_DONE[kind].format(who=who)
        return self._users_page(user, done=done)

    @http("POST", USERS)
    @page
    def admin_user_add(self, request, user):
        _can_manage_users(user)
        body = forms.user_from_form(form_of(request))
        password = temporary_password()
        try:
            with self.access_audit.change(user, "add_user"):
                added = self.users.add({**body, "password": password})
        except (InvalidInput, Conflict) as refused:
            return self._users_page(user, 400, body, forms.error_fields(refused, forms.USER_LABELS))
        return render("admin_user_password.html", **self.desk_context(user), person=added, password=password,
                      added=True)

    @http("POST", f"{USERS}/<string:username>/deactivate")
    @page
    def admin_user_deactivate(self, request, user, username):
        return self._set_active(request, user, username, False)

    @http("POST", f"{USERS}/<string:username>/activate")
    @page
    def admin_user_activate(self, request, user, username):
        return self._set_active(request, user, username, True)

    def _set_active(self, request, user, username, active):
        _can_manage_users(user)
        form_of(request)
        with self.access_audit.change(user, "activate_user" if active else "deactivate_user"):
            person = self.user_administration(lambda admin: admin.set_active(username, active, user["username"]))
        return self._back_to_users("activate" if active else "deactivate", person)

    @http("POST", f"{USERS}/<string:username>/unlock")
    @page
    def admin_user_unlock(self, request, user, username):
        _can_manage_users(user)
        form_of(request)
        with self.access_audit.change(user, "unlock_user"):
            self.user_administration(lambda admin: admin.unlock(username))
            person = self.user_administration(lambda admin: admin.get(username), write=False)
        return self._back_to_users("unlock", person)

    @http("POST", f"{USERS}/<string:username>/reset-password")
    @page
    def admin_user_reset_password(self, request, user, username):
        _can_manage_users(user)
        form_of(request)
        with self.access_audit.change(user, "reset_password"):
            person = self.user_administration(lambda admin: admin.reset_password(username, user["username"]))
        return render("admin_user_password.html", **self.desk_context(user), person=person,
                      password=person["temporary_password"], added=False)

    def _back_to_users(self, kind, person):
        return redirect(f"{USERS}?{urlencode({'done': kind, 'who': person['name'] + '（' + person['username'] + '）'})}")

    # -- dead letters -------------------------------------------------------------------------
    @http("GET", DEAD_LETTERS)
    @page
    def admin_dead_letters(self, request, user):
        permissions.can_handle_dead_letters(user)
        retried = request.args.get("retried", "")
        done = f"已重新投递 {retried} 条消息；若仍然失败，会带着新的重试次数回到这里。" if retried.isdigit() else None
        error, total, letters = None, 0, []
        try:
            total, letters = self.dead_letter_box.page(limit=DEAD_LETTER_PAGE, offset=0)
        except Exception as exc:  # the broker is unreachable: the page says so
            log.warning("web desk: dead letters of %s unreadable: %s", self.station.code, exc)
            error = BROKER_DOWN
        return render("admin_dead_letters.html", 503 if error else 200,
                      **self.desk_context(user, done=done, error=error), letters=letters, total=total,
                      page_size=DEAD_LETTER_PAGE)

    @http("POST", f"{DEAD_LETTERS}/retry")
    @page
    def admin_dead_letters_retry(self, request, user):
        form = form_of(request)
        ids = [i for i in form.getlist("ids") if i][:DEAD_LETTER_PAGE]
        try:
            with self.access_audit.change(user, "retry_dead_letters"):  # recorded, made or refused
                permissions.can_handle_dead_letters(user)
                if not ids or not all(len(i) <= 64 for i in ids):
                    raise InvalidInput("请先勾选要重新投递的消息。")
                try:
                    retried = self.dead_letter_box.retry(ids)
                except UnknownDeadLetter:
                    raise NotFound("所选消息已不在死信队列中（可能已被重新投递），请刷新页面。") from None
                except ValueError as exc:
                    raise InvalidInput(f"消息编号不正确：{exc}") from None
                except Exception as exc:  # the broker is unreachable: nothing was sent back
                    log.warning("web desk: dead letters of %s not retried: %s", self.station.code, exc)
                    raise Unavailable(BROKER_DOWN) from None
        except Unavailable as down:
            return render("error.html", 503, **self.desk_context(user), error=down.message)
        return redirect(f"{DEAD_LETTERS}?retried={len(retried)}")
