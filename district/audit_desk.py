"""The access audit at the district, for its supervisor (电子监察) only:

    GET /api/audit?station=&username=&case_no=&kind=&from=&to=&limit=&offset=
    GET /api/audit.csv?...   the same entries as a CSV file for Excel (UTF-8 with BOM)
    GET /desk/audit, /desk/audit.csv   the same at the web desk (the browser has no Bearer token)

Every station's entries are here: the district's own, and the copies every station
sends (services/access_audit.py). `from` and `to` are days in the district's time
(both included); entries come newest first.
"""
import datetime as dt
import re
import urllib.parse

from werkzeug.wrappers import Response

from services.http import http, json_response, query_date, query_int
from services.web_desk.rendering import page, render
from shared.audit.access import can_read_audit
from shared.audit.entries import KIND_LABELS, KINDS, OUTCOME_LABELS, SHOWN_LABELS, as_message
from shared.audit.export import csv_bytes, local_time
from shared.auth import roles
from shared.clock import DISTRICT_TZ
from shared.exceptions import InvalidInput

CSV_MAX_ROWS = 50_000
DESK_PAGE_SIZE = 100
FILTERS = ("station", "username", "case_no", "kind", "from", "to")


def _text(request, name, pattern=None, max_length=50):
    value = request.args.get(name) or None
    if value is not None and (len(value) > max_length or (pattern and not re.fullmatch(pattern, value))):
        raise InvalidInput(f"query parameter '{name}' is not a valid {name}")
    return value


def _utc_start_of(day):
    local = dt.datetime.combine(day, dt.time(), tzinfo=DISTRICT_TZ)
    return local.astimezone(dt.timezone.utc).replace(tzinfo=None)


def audit_filters(request):
    """The search's filters from the query string (InvalidInput naming a bad one)."""
    kind = request.args.get("kind") or None
    if kind is not None and kind not in KINDS:
        raise InvalidInput(f"query parameter 'kind' must be one of {', '.join(KINDS)}")
    start, end = query_date(request, "from"), query_date(request, "to")
    if start and end and end < start:
        raise InvalidInput("query parameter 'to' is before 'from'")
    return {
        "station": _text(request, "station", r"\d{6}(\d{3}){0,2}", 12),
        "username": _text(request, "username"),
        "case_no": _text(request, "case_no", max_length=40),
        "kind": kind,
        "start": _utc_start_of(start) if start else None,
        "end": _utc_start_of(end + dt.timedelta(days=1)) if end else None,
    }


class AuditEndpoints:
    @http("GET", "/api/audit")
    def access_audit_entries(self, request):
        can_read_audit(self.users.user(request))
        filters = audit_filters(request)
        limit = query_int(request, "limit", 100, 1, 500)
        offset = query_int(request, "offset", 0, 0, 100_000_000)
        total, entries = self.access_audit.search(**filters, limit=limit, offset=offset)
        return json_response({"total": total, "limit": limit, "offset": offset,
                              "entries": [as_message(e) for e in entries]})

    @http("GET", "/api/audit.csv")
    def access_audit_csv(self, request):
        can_read_audit(self.users.user(request))
        return self._audit_csv(request)

    def _audit_csv(self, request):
        filters = audit_filters(request)
        limit = query_int(request, "limit", CSV_MAX_ROWS, 1, CSV_MAX_ROWS)
        offset = query_int(request, "offset", 0, 0, 100_000_000)
        total, entries = self.access_audit.search(**filters, limit=limit, offset=offset)
        body = csv_bytes(entries, station_name=self.station_name, role_name=lambda r: roles.LABELS.get(r, r))
        today = dt.datetime.now(DISTRICT_TZ).strftime("%Y%m%d")
        return Response(body, status=200, mimetype="text/csv", headers={
            "Content-Disposition": f'attachment; filename="access-audit-{self.station.code}-{today}.csv"',
            "X-Total-Count": str(total), "Cache-Control": "no-store"})

    @http("GET", "/desk/audit")
    @page
    def desk_audit(self, request, user):
        can_read_audit(user)
        filters = audit_filters(request)
        offset = query_int(request, "offset", 0, 0, 100_000_000)
        total, entries = self.access_audit.search(**filters, limit=DESK_PAGE_SIZE, offset=offset)
        for entry in entries:
            entry["local_time"] = local_time(entry["at"])
            entry["shown_label"] = "、".join(SHOWN_LABELS.get(f, f) for f in entry["shown"].split(",") if f)
        args = {name: request.args.get(name, "") for name in FILTERS}
        return render("audit.html", **self.desk_context(user), entries=entries, total=total, offset=offset,
                      page_size=DESK_PAGE_SIZE, args=args, kinds=KIND_LABELS, outcomes=OUTCOME_LABELS,
                      query=urllib.parse.urlencode({k: v for k, v in args.items() if v}))

    @http("GET", "/desk/audit.csv")
    @page
    def desk_audit_csv(self, request, user):
        can_read_audit(user)
        return self._audit_csv(request)
