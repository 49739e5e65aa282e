"""The HTTP layer: one table maps domain errors to status codes; every error answers
JSON {"error": ..., "message": ...} (and "details" when there are per-field problems).

`StationWebServer` is the one HTTP server of a station's containers: it listens without
port sharing (eventlet's `listen` sets SO_REUSEPORT unless told not to, so a second
process on the same port silently took half the traffic), and answers an unknown
address or a wrong method under /api/ in JSON like every other error (werkzeug's HTML
page otherwise), under /desk/ with the desk's own error page.
"""
import datetime as dt
import json
import logging

import eventlet
from marshmallow import ValidationError
from nameko.exceptions import BadRequest as SignatureMismatch
from nameko.web.handlers import HttpRequestHandler
from nameko.web.server import WebServer, WsgiApp
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Request, Response

from services.config import HTTP_SOCKET_TIMEOUT_KEY, STATION_KEY
from shared.db.migrate import pg_error_code
from shared.exceptions import (
    Conflict, Forbidden, InvalidInput, NotFound, PasswordChangeRequired, TongbanError, TooLarge, TooManyAttempts,
    Unauthorized, Unavailable, Unprocessable,
)

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 256 * 1024
# seconds a connection may stay silent (a request half sent, an idle keep-alive): 300
# half-sent requests used to hold their connections for good
SOCKET_TIMEOUT = 20



class UnsupportedMediaType(InvalidInput):
    """A body the API does not take: anything but application/json (HTTP 415)."""


STATUS_BY_ERROR = [
    # (exception class, status, error code) — first match wins, so subclasses first
    (UnsupportedMediaType, 415, "UNSUPPORTED_MEDIA_TYPE"),
    (TooLarge, 413, "PAYLOAD_TOO_LARGE"),
    (InvalidInput, 400, "INVALID_INPUT"),
    (ValidationError, 400, "INVALID_INPUT"),
    (SignatureMismatch, 400, "INVALID_INPUT"),
    (Unauthorized, 401, "UNAUTHORIZED"),
    (PasswordChangeRequired, 403, "PASSWORD_CHANGE_REQUIRED"),
    (Forbidden, 403, "FORBIDDEN"),
    (NotFound, 404, "NOT_FOUND"),
    (Conflict, 409, "CONFLICT"),
    (Unprocessable, 422, "UNPROCESSABLE"),
    (TooManyAttempts, 429, "TOO_MANY_ATTEMPTS"),
    (Unavailable, 503, "UNAVAILABLE"),
]

# SQLite's answer when another process holds the database's write lock past the busy
# timeout (only possible when the station's lock was bypassed): the request may pass later
BUSY_MESSAGE = "the station's database is busy; nothing was saved — try again in a moment"
CLASH_MESSAGE = ("this change clashed with another one made at the same moment; nothing was saved — "
                 "reload and try again")


def error_response(status, error, message, details=None, headers=None):
    body = {"error": error, "message": message}
    if details:
        body["details"] = details
    return json_response(body, status, headers)


def json_response(data, status=200, headers=None):
    return Response(json.dumps(data, ensure_ascii=False, default=str), status=status,
                    mimetype="application/json", headers=headers)


class StationWebServer(WebServer):
    """nameko's WebServer, listening on its own port only and answering unknown
    addresses and methods the station's way (see the module docstring)."""

    def start(self):
        if not self._starting:
            self._starting = True
            # reuse_port=False: a second process binding this port fails ("Address
            # already in use") instead of sharing the traffic
            self._sock = eventlet.listen(self.bind_addr, reuse_port=False)
            self._sock.settimeout(None)  # as nameko's (kombu issue 838)
            self._serv = self.get_wsgi_server(self._sock, self.get_wsgi_app())
            self._gt = self.container.spawn_managed_thread(self.run)

    def get_wsgi_server(self, sock, wsgi_app, **kwargs):
        # a client that stops sending halfway (slowloris) is dropped after SOCKET_TIMEOUT
        server = super().get_wsgi_server(sock, wsgi_app, **kwargs)
        server.socket_timeout = float(self.container.config.get(HTTP_SOCKET_TIMEOUT_KEY, SOCKET_TIMEOUT))
        return server

    def get_wsgi_app(self):
        return StationWsgiApp(self)


class StationWsgiApp(WsgiApp):
    def __call__(self, environ, start_response):
        request = Request(environ, shallow=True)
        adapter = self.url_map.bind_to_environ(environ)
        try:
            provider, values = adapter.match()
        except HTTPException as exc:  # no such address, or not with this method
            return self.no_route(request, exc)(environ, start_response)
        request.path_values = values
        try:
            response = provider.handle_request(request)
        except HTTPException as exc:
            response = exc
        return response(environ, start_response)

    def no_route(self, request, exc):
        if request.path.startswith("/desk"):
            from services.web_desk.rendering import route_error_page  # the desk needs this module
            return route_error_page(self.server.container.config, exc)
        if exc.code == 405:
            allowed = sorted(m for m in exc.valid_methods or () if m != "HEAD")
            return error_response(405, "METHOD_NOT_ALLOWED",
                                  f"{request.method} is not allowed on {request.path}; use {', '.join(allowed)}",
                                  headers={"Allow": ", ".join(allowed)})
        if exc.code == 404:
            return error_response(404, "NOT_FOUND", f"there is nothing at {request.path} on this station; "
                                                    f"the API is described at /api/openapi.json")
        return exc


class HttpEntrypoint(HttpRequestHandler):
    server = StationWebServer()

    def __init__(self, method, url, **kwargs):
        kwargs.setdefault("expected_exceptions", (TongbanError, ValidationError))
        super().__init__(method, url, **kwargs)

    def handle_request(self, request):
        """/api/ takes JSON bodies only; every POST under /desk/ is checked against
        forgery (services/web_desk/guard.py) before any page runs."""
        request.shallow = False  # as nameko's own handle_request: the body may be read
        if request.path.startswith(("/desk/", "/portal/")):  # the residents' pages are the desk's too
            return self._desk_request(request)
        if request.method in BODY_METHODS and _has_body(request) and not _is_json(request) \
                and not _is_upload(request):
            return self.response_from_exception(UnsupportedMediaType(NOT_JSON_MESSAGE))
        return super().handle_request(request)

    def _desk_request(self, request):
        from services.web_desk import guard  # the desk imports this module
        from services.web_desk.rendering import refusal_page
        config = self.container.config
        if request.method == "POST":
            try:
                guard.check_post(request, config[STATION_KEY])
            except TongbanError as refusal:  # nothing has run
                return refusal_page(config, STATUS_OF_REFUSAL.get(type(refusal), 403), refusal.message)
        return guard.finish(request, super().handle_request(request), config)

    def get_entrypoint_parameters(self, request):
        # PostgreSQL refuses text with NUL in it (SQLite stores it): refuse it in the
        # path and query here, in bodies in json_body()
        if NUL in request.path or any(NUL in k or NUL in v for k, v in request.args.items(multi=True)):
            raise InvalidInput(NUL_MESSAGE)
        return super().get_entrypoint_parameters(request)

    def response_from_exception(self, exc):
        if isinstance(exc, HTTPException):
            return error_response(exc.code, type(exc).__name__.upper(), exc.description)
        for error_class, status, code in STATUS_BY_ERROR:
            if isinstance(exc, error_class):
                if isinstance(exc, ValidationError):
                    return error_response(status, code, _summary(exc.messages), exc.messages)
                retry_after = getattr(exc, "retry_after", None)
                return error_response(status, code, getattr(exc, "message", str(exc)),
                                      getattr(exc, "details", None),
                                      headers={"Retry-After": str(retry_after)} if retry_after else None)
        if isinstance(exc, (IntegrityError, StaleDataError)):
            # two processes serving one station (PostgreSQL) made clashing changes at the
            # same moment: the later one was rolled back, nothing was overwritten
            return error_response(409, "CONFLICT", CLASH_MESSAGE)
        if is_database_busy(exc):
            return error_response(503, "UNAVAILABLE", BUSY_MESSAGE, headers={"Retry-After": "1"})
        if isinstance(exc, DBAPIError) and (pg_error_code(exc) or "").startswith("22"):
            # a PostgreSQL "data exception": a value longer than its column, a number out
            # of range... (SQLite takes them). The transaction was rolled back.
            return error_response(400, "INVALID_INPUT", "a value is too long or out of range")
        return error_response(500, "UNEXPECTED_ERROR", "the server failed to handle this request; "
                                                       "it has been logged")


http = HttpEntrypoint.decorator


def is_database_busy(exc):
    return isinstance(exc, DBAPIError) and "database is locked" in str(getattr(exc, "orig", exc))


def _summary(messages):
    if isinstance(messages, dict):
        return "; ".join(f"{k}: {v}" for k, v in messages.items())
    return str(messages)


# a browser's form or a text/plain body never reaches a handler of the API: a page of
# another site can send those without asking (no CORS preflight), JSON it cannot
BODY_METHODS = ("POST", "PUT", "PATCH", "DELETE")
NOT_JSON_MESSAGE = "the API takes only JSON bodies: send Content-Type: application/json"
STATUS_OF_REFUSAL = {InvalidInput: 400, Forbidden: 403}


def _is_upload(request):
    """A material's file sent raw to its upload route (services/gateway/uploads.py): PDF,
    JPEG, PNG or octet-stream bodies, which no other site's page can send without asking."""
    from services.gateway.uploads import is_upload
    return is_upload(request)


def _has_body(request):
    return bool(request.content_length) or "chunked" in request.headers.get("Transfer-Encoding", "").lower()


def _is_json(request):
    return request.mimetype == "application/json"


def json_body(request, limit=MAX_BODY_BYTES):
    """The request's JSON object, or InvalidInput naming what is wrong with it (415 for
    a body that is not application/json). `limit`: a larger one for a body that carries
    files (services/gateway/online.py)."""
    length = request.content_length
    if length is not None and length > limit:
        raise InvalidInput(f"request body too large ({length} bytes; at most {limit})")
    raw = request.get_data(cache=True)
    if len(raw) > limit:
        raise InvalidInput(f"request body too large (at most {limit} bytes)")
    if not raw:
        raise InvalidInput("the request needs a JSON body")
    if not _is_json(request):
        raise UnsupportedMediaType(NOT_JSON_MESSAGE)
    if _nesting(raw) > MAX_NESTING:
        raise InvalidInput(f"the body is nested too deeply (at most {MAX_NESTING} levels of objects and lists)")
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as err:
        raise InvalidInput(f"the body is not valid JSON: {err}") from None
    if not isinstance(data, dict):
        raise InvalidInput("the body must be a JSON object")
    if _has_nul(data):
        raise InvalidInput(NUL_MESSAGE)
    return data


# no request of the API nests deeper than a few levels; Python's JSON parser recurses, so
# a body nested 100,000 deep used to end in a RecursionError (500)
MAX_NESTING = 32


def _nesting(raw):
    """How deep the brackets of a JSON text go (brackets inside strings ignored)."""
    depth = deepest = 0
    in_string = escaped = False
    for byte in raw:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x7B, 0x5B):  # { [
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > MAX_NESTING:
                    return deepest
        elif byte in (0x7D, 0x5D):
            depth -= 1
    return deepest


NUL = "\x00"
NUL_MESSAGE = "text may not contain the NUL character (U+0000)"


def _has_nul(value):
    if isinstance(value, str):
        return NUL in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


def query_int(request, name, default, low, high):
    raw = request.args.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InvalidInput(f"query parameter '{name}' must be a whole number") from None
    if not low <= value <= high:
        raise InvalidInput(f"query parameter '{name}' must be between {low} and {high}")
    return value


# every list answers a page: at most MAX_PAGE rows, from at most MAX_OFFSET on
DEFAULT_PAGE = 100
MAX_PAGE = 500
MAX_OFFSET = 1_000_000


def page_of(request, default=DEFAULT_PAGE, most=MAX_PAGE, furthest=MAX_OFFSET):
    """(limit, offset) of a list's query (`?limit=&offset=`), bounded."""
    return query_int(request, "limit", default, 1, most), query_int(request, "offset", 0, 0, furthest)


def query_date(request, name):
    """The query parameter `name` as a date (2026-01-31), None when absent."""
    raw = request.args.get(name)
    if raw is None:
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise InvalidInput(f"query parameter '{name}' must be a date like 2026-01-31") from None
