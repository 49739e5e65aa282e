"""What residents may do without logging in: look up their case with its number and
query code (查询码, shared/cases/query_codes.py), and rate it once it is completed.

Guessing is bounded and tells nothing:
- the failures are counted per case number and per client address (shared/cases/
  lookup_limits.py): beyond the limits, 429 with Retry-After;
- a wrong code and an unknown case answer the same body after the same time: every
  failed lookup takes at least `failure_floor` seconds from its start (longer than the
  slowest path — the district's answer, bounded by its timeout, and two hashes), so the
  ~3 ms of a case held here and the ~30 ms of a question to the district look alike;
- lookups are POSTs (nothing secret in URLs or access logs), and a failed one logs one
  line, no traceback (the refusal is answered here, not raised to nameko).
"""
import logging
import time

import eventlet
from eventlet.semaphore import Semaphore

from services import auth, online_applications, query_code_hashing
from services.http import STATUS_BY_ERROR, error_response, http, json_body, json_response
from shared.cases import lookup_limits, query_codes, schemas
from shared.db.models import utcnow
from shared.exceptions import Conflict, NotFound, TooManyAttempts, Unavailable
from shared.validation import load

# A failed lookup is answered after a pause, which holds one of the gateway's workers
# (deploy/host.GATEWAY_WORKERS): at most this many lookups of a station at once, the rest
# answered 429 at once, so a flood of guesses cannot stall the station's other answers.
LOOKUPS_AT_ONCE = 24
LOOKUPS_BUSY = "查询请求过多，请稍后再试：too many lookups at this station at once"
_slots_by_station = {}


def _lookup_slots(station_code):
    return _slots_by_station.setdefault(station_code, Semaphore(LOOKUPS_AT_ONCE))

log = logging.getLogger(__name__)

NO_MATCH = "没有与该受理编号和查询码相符的办件（no case matches this number and this query code）"
NO_ANSWER = ("暂时无法查询该办件，请稍后再试（the district's records did not answer in time and this "
             "station holds no matching copy; try again in a moment）")
POST_ONLY = ("look a case up with POST /api/status and a JSON body {\"case_no\": ..., \"query_code\": ...}: "
             "nothing secret goes in a URL（请以 POST 提交受理编号和查询码）")
# a failed lookup answers no sooner than the district's timeout plus this margin (the
# hashes and the database): with the default timeout of 1 s, after 1.5 s
MIN_MARGIN = 0.25
LOOKUP_REFUSALS = (NotFound, Unavailable, TooManyAttempts)


def client_address(request):
    """Whom the per-address limit counts: the address the login limits see (a local
    reverse proxy's X-Forwarded-For, else the connection's; services/auth.py)."""
    return (auth.client_address(request) or "unknown")[:64]


def refusal(exc):
    """The JSON answer to a refused lookup, without raising it to nameko (which would log
    a traceback for each wrong guess)."""
    status, code = next((s, c) for cls, s, c in STATUS_BY_ERROR if isinstance(exc, cls))
    retry_after = getattr(exc, "retry_after", None)
    return error_response(status, code, exc.message,
                          headers={"Retry-After": str(retry_after)} if retry_after else None)


class ResidentEndpoints:
    def failure_floor(self):
        """Seconds a failed lookup takes at least: longer than its slowest path."""
        seconds = self.district_records.seconds
        return seconds + max(MIN_MARGIN, seconds / 2)

    def resident_view(self, case_no, query_code, client):
        """(what the resident may see of the case, whether it is held here), if
        `query_code` opens it; NotFound (wrong code or no such case alike), Unavailable
        (the district did not answer and this station's copy does not open) or
        TooManyAttempts."""
        started = time.monotonic()
        case_no = case_no.strip()
        slots = _lookup_slots(self.station.code)
        if not slots.acquire(blocking=False):  # the same answer for every case: nothing told
            raise TooManyAttempts(LOOKUPS_BUSY, retry_after=1)
        try:
            return self._look_up(case_no, query_code, client, started)
        finally:
            slots.release()

    def _look_up(self, case_no, query_code, client, started):
        with self.desk.database.transaction() as session:
            attempt = lookup_limits.begin(session, case_no, client, utcnow())
        try:
            found = self._open(case_no, query_codes.normalize(query_code))
        except (NotFound, Unavailable) as refused:
            log.warning("resident lookup refused (%s): case %s from %s", type(refused).__name__, case_no[:40], client)
            eventlet.sleep(max(0.0, self.failure_floor() - (time.monotonic() - started)))
            raise
        with self.desk.database.transaction() as session:
            lookup_limits.succeeded(session, attempt)
        return found

    def _open(self, case_no, code):
        """This station's copy when it holds the case (the district: its record of every
        case), else the district's answer; this station's copy again when the district
        does not answer."""
        case = self.desk.find(case_no)
        held_here = case is not None and case["holder_station"] == self.station.code
        if held_here or self.station.is_district:
            if query_code_hashing.matches(query_codes.seal_of(case), code):
                return schemas.public_status(case), held_here
            if case is not None:
                raise NotFound(NO_MATCH)
            return self._sent(case_no, code)
        answered, view = self.district_records.lookup(case_no, code)
        if view is not None:
            return view, False
        if answered:
            return self._sent(case_no, code)
        if query_code_hashing.matches(query_codes.seal_of(case), code):
            return schemas.public_status(case), False
        raise Unavailable(NO_ANSWER)

    def _sent(self, case_no, code):
        """An application this portal sent to another counter and not yet in the
        district's record: shown as sent (services/online_applications.py); else NotFound."""
        view = online_applications.sent_view(self.desk, case_no, code)
        if view is None:
            raise NotFound(NO_MATCH)
        return view, False

    def rate_as_resident(self, data, client):
        """A completed case rated by its applicant, at the counter that holds it."""
        request = load(schemas.ResidentRatingSchema, data)
        view, held_here = self.resident_view(request["case_no"], request["query_code"], client)
        if not held_here:
            raise Conflict(f"case {view['case_no']} is not held here: rate it at the counter where it "
                           f"was filed ({view['filing_station']})")
        return self.desk.rate_by_resident(view["case_no"], request["score"], request["comment"], request["reasons"])

    @http("POST", "/api/status")
    def resident_status(self, request):
        """For residents, without logging in: the case number and its query code."""
        query = load(schemas.ResidentQuerySchema, json_body(request))
        try:
            return json_response(self.resident_view(query["case_no"], query["query_code"],
                                                    client_address(request))[0])
        except LOOKUP_REFUSALS as refused:
            return refusal(refused)

    @http("GET", "/api/status")
    def resident_status_by_url(self, request):
        """Refused: a query code in a URL stays in browser histories and proxy logs."""
        return error_response(405, "METHOD_NOT_ALLOWED", POST_ONLY, headers={"Allow": "POST"})

    @http("POST", "/api/status/rating")
    def resident_rating(self, request):
        """For residents, without logging in: rate a completed case 1-5 (好差评)."""
        try:
            case = self.rate_as_resident(json_body(request), client_address(request))
        except LOOKUP_REFUSALS as refused:
            return refusal(refused)
        return json_response(schemas.public_status(case))

    @http("POST", "/api/cases/<string:case_no>/query-code")
    def reissue_query_code(self, request, case_no):
        """At the counter holding the case: a new query code for a resident who lost
        theirs (the old one stops working); shown in this answer only."""
        user = self.users.user(request)
        with self.access_audit.change(user, "reissue_query_code", case_no):
            case, code = self.desk.reissue_query_code(case_no, user)
        return json_response({"case_no": case["case_no"], "query_code": code})
