"""Schemas of the case API: what a counter submits, and what it is shown."""
import copy

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates
from marshmallow.experimental.context import Context

from shared.cases import citizen_id, phone, query_codes
from shared.cases.materials import outstanding
from shared.cases.states import LABELS
from shared.exceptions import InvalidInput
from shared.ratings.schemas import RatingFieldsSchema


def _who():
    """Who did it. The station records the logged-in user instead; a name given here is
    accepted for older clients and ignored."""
    return fields.String(load_default="", validate=validate.Length(max=50),
                         metadata={"description": "ignored: the logged-in user is recorded"})


class ApplicantSchema(Schema):
    class Meta:
        unknown = RAISE

    name = fields.String(required=True, validate=validate.Length(min=1, max=50))
    id_number = fields.String(required=True)
    phone = fields.String(required=True, validate=validate.Regexp(
        r"^(1\d{10}|0\d{2,3}-?\d{7,8})$", error="must be a mobile (11 digits) or landline number"))
    residence = fields.String(required=True, validate=validate.Regexp(
        r"^\d{9}(\d{3})?$", error="must be the code of the applicant's township (9 digits) or village (12 digits)"))

    @validates("id_number")
    def check_id(self, value, **kwargs):
        try:
            citizen_id.validate(value, today=Context.get({}).get("today"))
        except InvalidInput as err:
            raise ValidationError(err.message.split(": ", 1)[-1]) from None


def on_day(today):
    """Load a filing as of the station's date `today` (a date): an ID number whose birth
    date is after it is refused. Without it the district's real date is used.

        with schemas.on_day(clock().date()):
            request = load(schemas.FilingSchema, data)
    """
    return Context({"today": today})


class FilingSchema(Schema):
    class Meta:
        unknown = RAISE

    item_code = fields.String(required=True, validate=validate.Length(min=1, max=16))
    applicant = fields.Nested(ApplicantSchema, required=True)
    materials = fields.List(fields.String(validate=validate.Length(max=8)), load_default=list,
                            validate=validate.Length(max=50))
    agent = _who()
    commitment = fields.Boolean(load_default=False)          # 告知承诺书 signed
    deficiency_promise = fields.Boolean(load_default=False)  # 容缺 promise signed
    note = fields.String(load_default="", validate=validate.Length(max=500))
    # chosen by the client, unique per filing: sent again, it gets the same case back
    request_id = fields.String(load_default=None, validate=validate.Regexp(
        r"^[A-Za-z0-9_.:-]{8,64}$", error="8-64 letters, digits, '_', '.', ':' or '-' (e.g. a UUID)"))
    # the hall's queue ticket the case is filed from (shared/hall/store.py marks its case_no)
    ticket_id = fields.Integer(load_default=None, allow_none=True, strict=True, validate=validate.Range(min=1))


class SupplementSchema(Schema):
    class Meta:
        unknown = RAISE

    materials = fields.List(fields.String(validate=validate.Length(max=8)), required=True,
                            validate=validate.Length(min=1, max=50))
    operator = _who()


class DecisionSchema(Schema):
    class Meta:
        unknown = RAISE

    step = fields.String(required=True, validate=validate.OneOf(("review", "approve")))
    outcome = fields.String(required=True, validate=validate.OneOf(("pass", "reject")))
    department = fields.String(required=True)
    operator = _who()
    reason = fields.String(load_default="", validate=validate.Length(max=1000))


class ReturnSchema(Schema):
    class Meta:
        unknown = RAISE

    reason = fields.String(required=True, validate=validate.Length(min=2, max=1000))
    operator = _who()


class DeliverySchema(Schema):
    class Meta:
        unknown = RAISE

    operator = _who()
    # how the result is handed over (issue 16): at the counter (default, or the online
    # application's choice), by post with its tracking number, or electronically
    method = fields.String(load_default=None, validate=validate.OneOf(("counter", "post", "electronic")))
    tracking_no = fields.String(load_default="", validate=validate.Length(max=40))


class ForwardSchema(Schema):
    class Meta:
        unknown = RAISE

    note = fields.String(load_default="", validate=validate.Length(max=500))
    operator = _who()


class SuspendSchema(Schema):
    class Meta:
        unknown = RAISE

    materials = fields.List(fields.String(validate=validate.Length(max=8)), required=True,
                            validate=validate.Length(min=1, max=50))
    reason = fields.String(required=True, validate=validate.Length(min=2, max=1000))
    operator = _who()


class ExtensionRequestSchema(Schema):
    class Meta:
        unknown = RAISE

    days = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=60))
    reason = fields.String(required=True, validate=validate.Length(min=2, max=1000))
    operator = _who()


class ExtensionDecisionSchema(Schema):
    class Meta:
        unknown = RAISE

    granted = fields.Boolean(required=True, truthy={True}, falsy={False})
    reason = fields.String(required=True, validate=validate.Length(min=2, max=1000))
    operator = _who()


class FollowUpAnswerSchema(Schema):
    class Meta:
        unknown = RAISE

    answer = fields.String(required=True, validate=validate.Length(min=2, max=2000))
    operator = _who()


class RatingSchema(RatingFieldsSchema):
    """好差评 at the counter: a level or a score 1-5, reasons, comment (shared/ratings/schemas.py)."""
    class Meta:
        unknown = RAISE

    by = fields.String(load_default="申请人", validate=validate.Length(min=1, max=50))


class ResidentQuerySchema(Schema):
    """How residents find their case without logging in: its number and the query code
    (查询码) printed on their receipt (shared/cases/query_codes.py)."""
    class Meta:
        unknown = RAISE

    case_no = fields.String(required=True, validate=validate.Length(min=1, max=40))
    query_code = fields.String(required=True, validate=validate.Length(min=1, max=20))

    @validates("query_code")
    def check_query_code(self, value, **kwargs):
        if query_codes.normalize(value) is None:
            raise ValidationError(query_codes.FORMAT_MESSAGE.split(": ", 1)[-1])


class ResidentRatingSchema(ResidentQuerySchema, RatingFieldsSchema):
    """A resident rating their completed case themselves (case number + query code)."""


def masked(case):
    """A copy of the case with the applicant's ID number and phone masked."""
    view = copy.deepcopy(case)
    view["applicant"]["id_number"] = citizen_id.mask(view["applicant"]["id_number"])
    view["applicant"]["phone"] = phone.mask(view["applicant"].get("phone"))
    return view


def summary(case):
    """The line a list shows (ID and phone masked)."""
    return {
        "case_no": case["case_no"],
        "item_code": case["item"]["code"],
        "item_name": case["item"]["name"],
        "department": case["item"]["department"],
        "applicant_name": case["applicant"]["name"],
        "applicant_id": citizen_id.mask(case["applicant"]["id_number"]),
        "applicant_phone": phone.mask(case["applicant"].get("phone")),
        "status": case["status"],
        "acceptance": case.get("acceptance"),
        "filing_station": case["filing_station"],
        "holder_station": case["holder_station"],
        "deciding_station": case.get("deciding_station"),
        "filed_at": case["filed_at"],
        "due_date": case.get("due_date"),
    }


def public_status(case):
    """What a resident sees, asking with the case number and query code: nothing personal
    but the masked name. Not the printed notice (it greets the applicant by full name),
    only the materials still to bring; the result's outcome, not its written reasons."""
    name = case["applicant"]["name"]
    result = case.get("result")
    return {
        "case_no": case["case_no"],
        "item_name": case["item"]["name"],
        "applicant_name": name[:1] + "*" * (len(name) - 1),
        "status": case["status"],
        "status_label": LABELS.get(case["status"], case["status"]),
        "filing_station": case["filing_station"],
        "due_date": case.get("due_date"),
        "result": {"outcome": result["outcome"], "decided_at": result.get("decided_at")} if result else None,
        "to_bring": _to_bring(case),
        "updated_at": case["history"][-1]["at"] if case.get("history") else case["filed_at"],
        "rating": (case.get("rating") or {}).get("score"),
    }


def _to_bring(case):
    """Names of the materials the applicant still has to bring, in the item's order."""
    codes = {m["code"] for m in outstanding(case)}
    return [m["name"] for m in case["item"]["materials"] if m["code"] in codes]
