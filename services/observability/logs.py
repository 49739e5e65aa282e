"""Structured logs: every line about a case says which station and which case.

    with log_context(station="445203", case_no="445203-20260105-0001"):
        log.info("forwarded")   # the record carries station and case_no

`log_context` binds fields in a `contextvars.ContextVar`. greenlet gives every green
thread its own context (a new one starts empty, it does not inherit its spawner's), so
fields bound while one worker handles a case never show on another worker's lines. A
worker that should start with fields bound elsewhere is given them explicitly
(`services/handoff.py` does this for the worker handling an inbox message).

`ContextFieldsFilter`, installed on the handlers by `configure_logging`, copies the bound
fields onto each LogRecord; the JSON formatter writes one object per line
(time, level, logger, message, then station, case_no, message_id, kind when bound), the
text formatter shows them in brackets: `[station=445203 case_no=445203-20260105-0001]`.
"""
import contextvars
import datetime as dt
import logging
import sys
from contextlib import contextmanager

from pythonjsonlogger.json import JsonFormatter

# the fields log_context binds, in the order the text format shows them
FIELDS = ("station", "case_no", "message_id", "kind")
FORMATS = ("auto", "json", "text")

_bound = contextvars.ContextVar("tongban_log_fields", default={})


@contextmanager
def log_context(**fields):
    """Bind `fields` (station, case_no, message_id, kind) to every log line written in
    this green thread until the block ends. Nested blocks add to (or replace) the outer
    block's fields; a field given as None is unbound inside the block."""
    unknown = set(fields) - set(FIELDS)
    if unknown:
        raise TypeError(f"log_context: unknown field(s) {', '.join(sorted(unknown))}; "
                        f"use {', '.join(FIELDS)}")
    merged = {**_bound.get(), **fields}
    token = _bound.set({k: str(v) for k, v in merged.items() if v is not None})
    try:
        yield
    finally:
        _bound.reset(token)


def bound_fields():
    """The fields bound in this green thread (a copy)."""
    return dict(_bound.get())


def case_no_of(envelope):
    """The case number a message (shared/messages.py envelope) is about, or None: a
    hand-off or record carries the whole case, a supplement or alert its number."""
    body = envelope.get("body") if isinstance(envelope, dict) else None
    if not isinstance(body, dict):
        return None
    case = body.get("case")
    if isinstance(case, dict) and case.get("case_no"):
        return case["case_no"]
    return body.get("case_no") or None


def message_fields(envelope):
    """log_context fields for a message: its id, kind and case number."""
    if not isinstance(envelope, dict):
        return {"message_id": None, "kind": None, "case_no": None}
    return {"message_id": envelope.get("message_id"), "kind": envelope.get("kind"),
            "case_no": case_no_of(envelope)}


class ContextFieldsFilter(logging.Filter):
    """Copies the fields bound by log_context onto each record (a field passed in the
    call's `extra` wins). Install it on handlers: a logger's own filters do not see
    records propagated from its children."""

    def filter(self, record):
        for name, value in _bound.get().items():
            if not hasattr(record, name):
                setattr(record, name, value)
        return True


def _iso_time(record):
    return dt.datetime.fromtimestamp(record.created, dt.timezone.utc).isoformat(timespec="milliseconds")


class JsonLineFormatter(JsonFormatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, the
    bound fields, then any `extra` and the traceback (exc_info)."""

    def __init__(self):
        super().__init__(["asctime", "levelname", "name", "message"],
                         rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
                         json_ensure_ascii=False)

    def formatTime(self, record, datefmt=None):
        return _iso_time(record)

    def process_log_record(self, log_data):
        """The bound fields right after the message, before any `extra`."""
        first = ("time", "level", "logger", "message", *FIELDS)
        ordered = {key: log_data[key] for key in first if key in log_data}
        ordered.update((key, value) for key, value in log_data.items() if key not in ordered)
        return ordered


class TextFormatter(logging.Formatter):
    """`<time> <LEVEL> <logger> [station=... case_no=...]: <message>`."""

    def __init__(self):
        super().__init__("%(asctime)s %(levelname)s %(name)s%(tongban_fields)s: %(message)s")

    def formatMessage(self, record):
        present = [f"{name}={getattr(record, name)}" for name in FIELDS
                   if getattr(record, name, None) is not None]
        fields = f" [{' '.join(present)}]" if present else ""
        return self._fmt % {**record.__dict__, "tongban_fields": fields}


def resolve_format(fmt, stream=None):
    """"json" or "text"; "auto" is text on a terminal and json otherwise (a station
    process writing to a file, journald or a container log)."""
    if fmt not in FORMATS:
        raise ValueError(f"log format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    if fmt != "auto":
        return fmt
    stream = stream or sys.stderr
    isatty = getattr(stream, "isatty", None)
    return "text" if isatty is not None and isatty() else "json"


def make_handler(fmt, stream=None):
    """A stream handler writing `fmt` ("json" or "text") lines with the bound fields."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonLineFormatter() if fmt == "json" else TextFormatter())
    handler.addFilter(ContextFieldsFilter())
    return handler


def configure_logging(level=logging.WARNING, fmt="auto", stream=None):
    """Send the root logger's records to `stream` (stderr) in `fmt` ("json", "text" or
    "auto"), replacing the handlers it had. Returns the format used."""
    fmt = resolve_format(fmt, stream)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(make_handler(fmt, stream))
    root.setLevel(level)
    return fmt
