"""Templates, responses and the small helpers every page of the web desk shares."""
import functools
import logging
import urllib.parse
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from werkzeug.wrappers import Response

from services.http import MAX_BODY_BYTES, NUL, NUL_MESSAGE, STATUS_BY_ERROR
from services.web_desk import labels
from shared.exceptions import Conflict, Forbidden, InvalidInput, NotFound, PasswordChangeRequired, Unauthorized

log = logging.getLogger(__name__)
HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"
# what a page shows as a message (an expired session goes to the login page instead)
REFUSALS = (InvalidInput, Forbidden, NotFound, Conflict)
LOGIN = "/desk/login"
# where a user who must choose their own password is sent from every page
CHANGE_PASSWORD = "/desk/account/password"
HOME = "/desk/"

environment = Environment(loader=FileSystemLoader(str(HERE / "templates")),
                          autoescape=select_autoescape(["html"]), trim_blocks=True, lstrip_blocks=True)
environment.filters.update(labels.FILTERS)
environment.globals.update(labels.GLOBALS)


def render(template, status=200, **context):
    html = environment.get_template(template).render(**context)
    return Response(html, status=status, mimetype="text/html",
                    headers={"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff",
                             "X-Frame-Options": "DENY", "Referrer-Policy": "same-origin"})


def redirect(location, status=303):
    """After a POST, 303 See Other: the browser GETs the new page, so reloading it
    repeats nothing."""
    return Response("", status=status, headers={"Location": location, "Cache-Control": "no-store"})


def safe_next(target):
    """Only pages of this desk: never an address elsewhere (open redirect)."""
    if target and target.startswith("/desk/") and not target.startswith("//") and "\\" not in target:
        return target
    return HOME


def login_redirect(request):
    here = request.full_path.rstrip("?") if request.method == "GET" else request.path
    return redirect(f"{LOGIN}?{urllib.parse.urlencode({'next': safe_next(here)})}")


def status_of(error):
    """The HTTP status of a domain error (the API's own table)."""
    return next((status for cls, status, _ in STATUS_BY_ERROR if isinstance(error, cls)), 500)


def explain(error):
    """A refusal's message for the banner: per-field problems in Chinese where known."""
    if isinstance(error, InvalidInput):
        if error.details:
            return labels.message_of(error.details)
        field, _, text = error.message.partition(": ")
        if text and field.rsplit(".", 1)[-1] in labels.FIELDS:
            return labels.message_of({field.rsplit(".", 1)[-1]: [text]})
    return error.message


def form_of(request, limit=MAX_BODY_BYTES):
    """The submitted form (a MultiDict), refused like the API refuses a body. Its form
    token and origin were checked before the page ran (HttpEntrypoint, guard.check_post).
    `limit`: a larger one for a form that carries files (the filing form's scans)."""
    if (request.content_length or 0) > limit:
        raise InvalidInput(f"表单过大（最多 {limit} 字节）")
    form = request.form
    if any(NUL in key or NUL in value for key, value in form.items(multi=True)):
        raise InvalidInput(NUL_MESSAGE)
    return form


def page(handler):
    """A page handler `handler(self, request, user, **path)`: the logged-in user is
    passed in; without a session the browser goes to the login page (and comes back);
    a user who must change their password goes to that page, whatever they asked for;
    a refusal (400/403/404/409) is shown as a page with the message in a red banner."""
    @functools.wraps(handler)
    def wrapper(self, request, **path):
        try:
            user = self.users.user(request)
        except Unauthorized:
            return login_redirect(request)
        except PasswordChangeRequired:
            return redirect(CHANGE_PASSWORD)
        try:
            return handler(self, request, user, **path)
        except Unauthorized:
            return login_redirect(request)
        except REFUSALS as error:
            return render("error.html", status_of(error), **self.desk_context(user), error=explain(error))
        except Exception:  # a page, not the API's JSON; logged as the API logs it
            log.exception("web desk: %s %s failed", request.method, request.path)
            return render("error.html", 500, **self.desk_context(user), error="系统出错，已记录，请稍后再试。")
    return wrapper


def refusal_page(config, status, message):
    """The desk's error page shown before any page runs (no user): an unknown address,
    a forged POST (services/web_desk/guard.py)."""
    from services.config import station_info
    info = station_info(config)
    return render("error.html", status, station=info, user=None, error=message,
                  station_name=lambda code: getattr(info.network.stations.get(code), "name", code),
                  department_name=lambda code: getattr(info.network.departments.get(code), "name", code))


def route_error_page(config, exc):
    """The desk's page for an address it does not have (404) or a method a page does
    not take (405), shown without a user (the server answers before any page runs)."""
    message = "没有这个页面。" if exc.code == 404 else "该页面不接受这种请求方式。"
    response = refusal_page(config, exc.code, message)
    if exc.code == 405 and exc.valid_methods:
        response.headers["Allow"] = ", ".join(sorted(m for m in exc.valid_methods if m != "HEAD"))
    return response
