"""What residents may do without logging in: look up their case with its number and the
last 4 characters of the applicant's ID number, and rate it once it is completed."""
from services.http import http, json_body, json_response
from shared.cases import schemas
from shared.cases.citizen_id import digits_match
from shared.exceptions import Conflict, NotFound
from shared.validation import load

NO_MATCH = "no case matches this number and these ID digits"


class ResidentEndpoints:
    def resident_view(self, case_no, id_last4):
        """(what the resident may see of the case, whether it is held here), from this
        station's copy or else the district's record, if the ID digits match; one answer
        for "no such case" and "wrong digits", so nothing leaks."""
        case = self.desk.find(case_no)
        if case is not None and case["holder_station"] == self.station.code:
            if not digits_match(case, id_last4):
                raise NotFound(NO_MATCH)
            return schemas.public_status(case), True
        view = self.district_records.lookup(case_no, id_last4)  # the district checks the digits
        if view is None and case is not None and digits_match(case, id_last4):
            view = schemas.public_status(case)  # the district did not answer: this station's copy
        if view is None:
            raise NotFound(NO_MATCH)
        return view, False

    def rate_as_resident(self, data):
        """A completed case rated by its applicant, at the counter that holds it."""
        request = load(schemas.ResidentRatingSchema(), data)
        view, held_here = self.resident_view(request["case_no"], request["id_last4"])
        if not held_here:
            raise Conflict(f"case {view['case_no']} is not held here: rate it at the counter where it "
                           f"was filed ({view['filing_station']})")
        return self.desk.rate_by_resident(view["case_no"], request["score"], request["comment"])

    @http("GET", "/api/status")
    def resident_status(self, request):
        """For residents, without logging in: the case number and the last 4 characters
        of the applicant's ID number."""
        query = load(schemas.ResidentQuerySchema(), {k: request.args.get(k, "") for k in ("case_no", "id_last4")})
        return json_response(self.resident_view(query["case_no"], query["id_last4"])[0])

    @http("POST", "/api/status/rating")
    def resident_rating(self, request):
        """For residents, without logging in: rate a completed case 1-5 (好差评)."""
        return json_response(schemas.public_status(self.rate_as_resident(json_body(request))))
