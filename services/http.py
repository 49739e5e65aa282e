"""The HTTP layer: one table maps domain errors to status codes; every error answers
JSON {"error": ..., "message": ...} (and "details" when there are per-field problems)."""
import json

from marshmallow import ValidationError
from nameko.exceptions import BadRequest as SignatureMismatch
from nameko.web.handlers import HttpRequestHandler
from sqlalchemy.exc import DBAPIError
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from shared.db.migrate import pg_error_code
from shared.exceptions import (
    Conflict, Forbidden, InvalidInput, NotFound, TongbanError, Unauthorized,
)

MAX_BODY_BYTES = 256 * 1024

STATUS_BY_ERROR = [
    # (exception class, status, error code) — first match wins, so subclasses first
    (InvalidInput, 400, "INVALID_INPUT"),
    (ValidationError, 400, "INVALID_INPUT"),
    (SignatureMismatch, 400, "INVALID_INPUT"),
    (Unauthorized, 401, "UNAUTHORIZED"),
    (Forbidden, 403, "FORBIDDEN"),
    (NotFound, 404, "NOT_FOUND"),
    (Conflict, 409, "CONFLICT"),
]


def error_response(status, error, message, details=None):
    body = {"error": error, "message": message}
    if details:
        body["details"] = details
    return json_response(body, status)


def json_response(data, status=200, headers=None):
    return Response(json.dumps(data, ensure_ascii=False, default=str), status=status,
                    mimetype="application/json", headers=headers)


class HttpEntrypoint(HttpRequestHandler):
    def __init__(self, method, url, **kwargs):
        kwargs.setdefault("expected_exceptions", (TongbanError, ValidationError))
        super().__init__(method, url, **kwargs)

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
                return error_response(status, code, getattr(exc, "message", str(exc)),
                                      getattr(exc, "details", None))
        if isinstance(exc, DBAPIError) and (pg_error_code(exc) or "").startswith("22"):
            # a PostgreSQL "data exception": a value longer than its column, a number out
            # of range... (SQLite takes them). The transaction was rolled back.
            return error_response(400, "INVALID_INPUT", "a value is too long or out of range")
        return error_response(500, "UNEXPECTED_ERROR", "the server failed to handle this request; "
                                                       "it has been logged")


http = HttpEntrypoint.decorator


def _summary(messages):
    if isinstance(messages, dict):
        return "; ".join(f"{k}: {v}" for k, v in messages.items())
    return str(messages)


def json_body(request):
    """The request's JSON object, or InvalidInput naming what is wrong with it."""
    length = request.content_length
    if length is not None and length > MAX_BODY_BYTES:
        raise InvalidInput(f"request body too large ({length} bytes; at most {MAX_BODY_BYTES})")
    raw = request.get_data(cache=True)
    if len(raw) > MAX_BODY_BYTES:
        raise InvalidInput(f"request body too large (at most {MAX_BODY_BYTES} bytes)")
    if not raw:
        raise InvalidInput("the request needs a JSON body")
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as err:
        raise InvalidInput(f"the body is not valid JSON: {err}") from None
    if not isinstance(data, dict):
        raise InvalidInput("the body must be a JSON object")
    if _has_nul(data):
        raise InvalidInput(NUL_MESSAGE)
    return data


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
