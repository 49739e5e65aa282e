"""Schemas of the hall's API: the bodies residents and counters send, and the answers
(ID numbers, mobiles and, for the public, names masked)."""
from marshmallow import RAISE, Schema, ValidationError, fields, post_load, validate, validates
from marshmallow.experimental.context import Context

from shared.cases import citizen_id, phone
from shared.exceptions import InvalidInput
from shared.hall import tickets as ticket_rules
from shared.hall.policy import HALF_DAYS
from shared.validation import schema_instance

MOBILE = validate.Regexp(r"^1[3-9]\d{9}$", error="a mainland mobile number: 11 digits starting 13-19 (手机号码)")
BOOKING_NO = validate.Regexp(r"^Y\d{6}[A-Z]\d{3,4}$", error="a booking number like Y261204A007 (预约号)")


def on_day(today):
    """Load a body as of the station's date: an ID number born after it is refused."""
    return Context({"today": today})


class _Strict(Schema):
    class Meta:
        unknown = RAISE


class _Person(_Strict):
    id_number = fields.String(required=True)

    @validates("id_number")
    def check_id(self, value, **kwargs):
        try:
            citizen_id.validate(value, today=Context.get({}).get("today"))
        except InvalidInput as err:
            raise ValidationError(err.message.split(": ", 1)[-1]) from None

    @post_load
    def normalise_id(self, data, **kwargs):
        data["id_number"] = data["id_number"].strip().upper()
        return data


class BookingSchema(_Person):
    """POST /api/hall/appointments"""
    name = fields.String(required=True, validate=validate.Length(min=1, max=50))
    mobile = fields.String(required=True, validate=MOBILE)
    day = fields.Date(required=True)
    half_day = fields.String(required=True, validate=validate.OneOf(HALF_DAYS))
    window_type = fields.String(required=True, validate=validate.Regexp(r"^[A-Z]$", error="one capital letter"))
    item_code = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=16))


class CredentialsSchema(_Person):
    """What opens an appointment: all three must match."""
    booking_no = fields.String(required=True, validate=BOOKING_NO)
    mobile = fields.String(required=True, validate=MOBILE)


class MoveSchema(CredentialsSchema):
    day = fields.Date(required=True)
    half_day = fields.String(required=True, validate=validate.OneOf(HALF_DAYS))


class TicketRequestSchema(_Person):
    """POST /api/hall/tickets (counters)."""
    kind = fields.String(required=True, validate=validate.OneOf(ticket_rules.KINDS))
    name = fields.String(load_default="", validate=validate.Length(max=50))
    window_type = fields.String(load_default=None, allow_none=True,
                                validate=validate.Regexp(r"^[A-Z]$", error="one capital letter"))
    booking_no = fields.String(load_default=None, allow_none=True, validate=BOOKING_NO)
    disabled = fields.Boolean(load_default=False)


class CallSchema(_Strict):
    window_type = fields.String(required=True, validate=validate.Regexp(r"^[A-Z]$", error="one capital letter"))
    window = fields.String(required=True, validate=validate.Length(min=1, max=8))


class FinishSchema(_Strict):
    case_no = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=40))


class SlotsQuerySchema(Schema):
    """GET /api/hall/slots?from=YYYY-MM-DD&days=N&window_type=A"""
    start = fields.Date(data_key="from", load_default=None)
    days = fields.Integer(load_default=14, validate=validate.Range(min=1, max=62))
    window_type = fields.String(load_default=None, validate=validate.Regexp(r"^[A-Z]$", error="one capital letter"))


# -- answers ----------------------------------------------------------------------------
class SlotSchema(Schema):
    day = fields.String()
    half_day = fields.String()
    half_day_name = fields.String()
    window_type = fields.String()
    window_type_name = fields.String()
    capacity = fields.Integer()
    booked = fields.Integer()
    free = fields.Integer()
    open = fields.Boolean(metadata={"description": "a resident may book it now"})


class AppointmentSchema(Schema):
    """An appointment as its holder (or a counter) sees it: ID number and mobile masked."""
    booking_no = fields.String()
    day = fields.String()
    half_day = fields.String()
    half_day_name = fields.String()
    starts_at = fields.String()
    ends_at = fields.String()
    window_type = fields.String()
    window_type_name = fields.String()
    item_code = fields.String(allow_none=True)
    name = fields.String()
    id_number = fields.Function(lambda a: citizen_id.mask(a["id_number"]))
    mobile = fields.Function(lambda a: phone.mask(a["mobile"]))
    status = fields.String()
    status_name = fields.String()
    channel = fields.String()
    booked_at = fields.String()
    moves = fields.Integer()
    moved_from = fields.String()


class TicketSchema(Schema):
    """A ticket as counters see it (ID number masked)."""
    id = fields.Integer()
    day = fields.String()
    ticket_no = fields.String()
    window_type = fields.String()
    window_type_name = fields.String()
    kind = fields.String()
    kind_name = fields.String()
    priority_reason = fields.String(allow_none=True)
    applicant_name = fields.String()
    id_number = fields.Function(lambda t: citizen_id.mask(t["id_number"]))
    status = fields.String()
    status_name = fields.String()
    issued_at = fields.String()
    called_at = fields.String(allow_none=True)
    window = fields.String(allow_none=True)
    recalls = fields.Integer()
    finished_at = fields.String(allow_none=True)
    waiting_seconds = fields.Integer(allow_none=True)
    service_seconds = fields.Integer(allow_none=True)
    case_no = fields.String(allow_none=True)
    people_ahead = fields.Integer()


class PrintedTicketSchema(Schema):
    """What a printed ticket shows: the name masked too."""
    ticket_no = fields.String()
    window_type_name = fields.String()
    kind_name = fields.String()
    applicant_name = fields.Function(lambda t: ticket_rules.mask_name(t["applicant_name"]))
    id_number = fields.Function(lambda t: citizen_id.mask(t["id_number"]))
    issued_at = fields.String()
    people_ahead = fields.Integer()


def dump(schema_class, data, many=False):
    return schema_instance(schema_class).dump(data, many=many)
