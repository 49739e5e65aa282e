"""What residents may do without logging in: look up their case with its number and the
last 4 characters of the applicant's ID number, and rate it once it is completed."""
import hmac

from services.http import http, json_body, json_response
from shared.cases import schemas
from shared.exceptions import Conflict, NotFound
from shared.validation import load

NO_MATCH = "no case matches this number and these ID digits"


class ResidentEndpoints:
    def resident_case(self, case_no, id_last4):
        """The case, from this station or else the district's record, if the ID digits
        match; one answer for "no such case" and "wrong digits", so nothing leaks."""
        case = self.desk.find(case_no)
        if case is None or case["holder_station"] != self.station.code:
            case = self.district_records.lookup(case_no) or case
        if case is None or not hmac.compare_digest(case["applicant"]["id_number"][-4:].upper(),
                                                   id_last4.upper()):
            raise NotFound(NO_MATCH)
        return case

    def rate_as_resident(self, data):
        """A completed case rated by its applicant, at the counter that holds it."""
        request = load(schemas.ResidentRatingSchema(), data)
        case = self.resident_case(request["case_no"], request["id_last4"])
        if case["holder_station"] != self.station.code:
            raise Conflict(f"case {case['case_no']} is held at station {case['holder_station']}: "
                           f"rate it there (the counter where it was filed)")
        return self.desk.rate_by_resident(case["case_no"], request["score"], request["comment"])

    @http("GET", "/api/status")
    def resident_status(self, request):
        """For residents, without logging in: the case number and the last 4 characters
        of the applicant's ID number."""
        query = load(schemas.ResidentQuerySchema(), {k: request.args.get(k, "") for k in ("case_no", "id_last4")})
        return json_response(schemas.public_status(self.resident_case(query["case_no"], query["id_last4"])))

    @http("POST", "/api/status/rating")
    def resident_rating(self, request):
        """For residents, without logging in: rate a completed case 1-5 (好差评)."""
        return json_response(schemas.public_status(self.rate_as_resident(json_body(request))))
