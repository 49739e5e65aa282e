"""The contract between stations: every kind of message they exchange, the envelope it
travels in, the schema of its body and of the case record inside it, and the steps that
bring a message of an earlier release up to this one.

Stations of one district do not all run the same release: a district upgrades its 128
stations over days. So the contract is versioned, and read leniently:

- every envelope carries `schema`, the version of the contract its sender wrote
  (`SCHEMA_VERSION`); an envelope without it is version 1 (the releases before the
  contract);
- `load_message` brings an older message up to this version through one small explicit
  function per step (`UPGRADES`), then loads its body through the kind's schema;
- every schema keeps fields it does not know (marshmallow's INCLUDE on load, and
  `_Open`'s dump keeps them too), so what a newer release added survives here, in the
  stored snapshot and in every copy this station sends on;
- a message that does not validate raises `InvalidMessage`, with the errors by field;
  the inbox's consumer moves it to the dead-letter queue with them as the reason, and
  nothing is changed (services/handoff.py).

How to change the contract (README, "The contract between stations"):

- a new optional field: declare it here (not required, no default) — no new version is
  needed, the previous release keeps it as an unknown field;
- anything else (a field renamed, a new required one, a changed meaning, a new kind that
  replaces an old message): raise `SCHEMA_VERSION` and add the step from the previous
  version to `UPGRADES`; what the previous release cannot read (a new kind) must reach
  only stations already upgraded, so say in which order stations are upgraded — version 2
  sends `case.result`, so the district, which decides most cases, is upgraded last (README).

Plain marshmallow; no nameko, no broker.
"""
import datetime as dt
import uuid

from marshmallow import INCLUDE, Schema, ValidationError, fields, post_dump, validate, validates_schema

from shared.catalogue.schemas import CatalogueChangeSchema
from shared.exceptions import TongbanError
from shared.ratings import levels as rating_levels
from shared.supervision.schemas import AlertSchema
from shared.validation import schema_instance, summary

SCHEMA_VERSION = 2  # version 2: the envelope's `schema`, and `case.result`

# -- the kinds of message ---------------------------------------------------------------
CASE_HANDOVER = "case.handover"      # the receiver becomes the case's holder, on the case's route
CASE_RESULT = "case.result"          # the decided case travels back to its filing station
CASE_RECORD = "case.record"          # a copy for the district's complete record (or the filing counter's)
CASE_SUPPLEMENT = "case.supplement"  # materials handed in at the filing counter
CASE_EXTENSION_DECISION = "case.extension_decision"  # the district's answer to 延期
CASE_ALERT = "case.alert"            # a supervision warning or card for the holding station
CATALOGUE_CHANGE = "catalogue.change"  # one change of the district's catalogue, for every replica
AUDIT_COPY = "audit.copy"            # a batch of a station's access-audit entries, for the district
HALL_VISIT = "hall.visit"            # a closed hall visit (ticket finished / no-show, appointment missed), for the district
CASE_FILE = "case.file"              # one uploaded material's file, to the next station on the case's route
CASE_FILE_REQUEST = "case.file_request"  # a file that arrived corrupted, asked again from the station before


class InvalidMessage(TongbanError):
    """A message that does not follow the contract. `details` are marshmallow's errors by
    field ({"body": {"case": {"revision": ["Not a valid integer."]}}})."""

    def __init__(self, kind, sender, errors):
        super().__init__(f"invalid {kind or 'message'} from station {sender or '?'}: "
                         f"{summary(errors)}", details=errors)


# -- schemas ------------------------------------------------------------------------------
class _Open(Schema):
    """A part of a message: unknown fields (a newer release's) are kept, loaded and dumped."""

    class Meta:
        unknown = INCLUDE

    @post_dump(pass_original=True)
    def keep_unknown(self, data, original, **kwargs):
        if isinstance(original, dict):
            for key, value in original.items():
                if key not in self.fields and key not in data:
                    data[key] = value
        return data


class _IsoText(fields.String):
    """A date or moment as the case keeps it: an ISO 8601 string, checked, kept a string."""
    parse, what = None, ""

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            type(self).parse(text)
        except ValueError:
            raise ValidationError(f"Not a valid ISO 8601 {self.what}.") from None
        return text


class IsoDate(_IsoText):
    parse, what = dt.date.fromisoformat, "date"


class IsoDateTime(_IsoText):
    parse, what = dt.datetime.fromisoformat, "datetime"


class Amount(fields.Field):
    """A number kept exactly as it came (a fee of 0 stays 0, not 0.0): the receiver
    compares the case's item with its own catalogue's (shared/trust/entitlement.py)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValidationError("Not a valid number.")
        return value


def _int(**kwargs):
    return fields.Integer(strict=True, **kwargs)


def _text(**kwargs):
    return fields.String(**kwargs)


def _optional(field_class, *args, **kwargs):
    return field_class(*args, allow_none=True, **kwargs)


class MaterialRefSchema(_Open):
    """A material of the item, as the case carries it (its item's copy, or one missing)."""
    code = _text(required=True)
    name = _text(required=True)
    kind = _text()
    copies = _int()


class ItemSnapshotSchema(_Open):
    """The item as it was when the case was filed (shared/cases/workflow.py ITEM_FIELDS)."""
    code = _text(required=True)
    name = _text(required=True)
    version = _int(required=True)
    department = _text(required=True)
    category = _text()
    processing_type = _text(required=True)
    joint_departments = fields.List(fields.String())
    decision_steps = fields.List(fields.String(), required=True)
    promised_limit_days = _int(required=True)
    legal_limit_days = _int(required=True)
    authority_tier = _text(required=True)
    allows_commitment = fields.Boolean()
    allows_deficiency = fields.Boolean()
    materials = fields.List(fields.Nested(MaterialRefSchema), required=True)
    fee = _optional(Amount)
    min_applicant_age = _optional(_int)


class ApplicantSnapshotSchema(_Open):
    name = _text(required=True)
    id_number = _text(required=True)
    phone = _text()
    residence = _text(required=True)


class HistoryEntrySchema(_Open):
    """One transition of the case; history is appended to, never edited."""
    entry_id = _text(required=True)
    seq = _int(required=True)
    at = IsoDateTime(required=True)
    station = _text(required=True)
    actor = _text(required=True)
    action = _text(required=True)
    from_status = _optional(_text)
    to_status = _text(required=True)
    reason = _text(required=True)


class DecisionRecordSchema(_Open):
    step = _text(required=True, validate=validate.OneOf(("review", "approve")))
    outcome = _text(required=True, validate=validate.OneOf(("pass", "reject")))
    department = _text(required=True)
    operator = _text(required=True)
    reason = _text()
    at = IsoDateTime(required=True)
    station = _text(required=True)


class CaseResultSchema(_Open):
    """The decision's outcome (审批结果)."""
    outcome = _text(required=True, validate=validate.OneOf(("approved", "rejected")))
    reason = _text()
    decided_at = IsoDateTime(required=True)
    decided_by = _text(required=True)


class DeficiencySchema(_Open):
    """容缺受理: the secondary materials still to come, by their due date."""
    missing = fields.List(fields.Nested(MaterialRefSchema), required=True)
    due_date = IsoDate(required=True)


class SuspensionSchema(_Open):
    """补正: the clock is paused until these materials arrive."""
    resume_status = _text(required=True)
    missing = fields.List(fields.Nested(MaterialRefSchema), required=True)
    since = IsoDate(required=True)
    reason = _text(required=True)


# a pause's first field is called "from", which no Python attribute can be
PauseSchema = _Open.from_dict({"from": IsoDate(required=True), "to": IsoDate(required=True),
                               "working_days": _int(required=True)}, name="PauseSchema")


class ExtensionSchema(_Open):
    """延期: asked for by the deciding office, granted or refused by the district."""
    days = _int(required=True)
    reason = _text(required=True)
    requested_by = _text(required=True)
    requested_at = IsoDateTime(required=True)
    station = _text(required=True)
    status = _text(required=True, validate=validate.OneOf(("requested", "granted", "refused")))
    decided_by = _text()
    decided_at = IsoDateTime()
    decision_reason = _text()


class RatingSnapshotSchema(_Open):
    """好差评: the applicant's rating of the finished case (shared/ratings/levels.py): its
    score 1-5 always (version-1 stations read only the score), and since issue 20 the
    level the score names and the reasons chosen. `by` and `at` are bounded as the
    district's ratings table keeps them (a counter's `by` is at most 50 characters,
    shared/cases/schemas.py RatingSchema), and a level must name the score sent with it."""
    score = _int(required=True, validate=validate.Range(min=1, max=5))
    level = _text(validate=validate.OneOf(rating_levels.LEVELS))
    reasons = fields.List(_text(validate=validate.OneOf(tuple(rating_levels.REASONS))))
    comment = _text()
    by = _text(validate=validate.Length(max=50))
    at = IsoDateTime(required=True, validate=validate.Length(max=40))

    @validates_schema
    def level_names_the_score(self, data, **kwargs):
        if data.get("level") is not None:
            try:
                rating_levels.resolve(data["score"], data["level"])
            except TongbanError as refused:
                raise ValidationError(refused.message, "level") from None


class NoticeSchema(_Open):
    """The paper the counter prints (receipt, one-time supplement notice, return notice)."""
    kind = _text(required=True)
    title = _text(required=True)
    lines = fields.List(fields.String(), required=True)
    missing = fields.List(fields.String())
    reason = _text()


class QueryCodeSealSchema(_Open):
    """The query code's salted hash (shared/cases/query_codes.py): never the code."""
    scheme = _text(required=True)
    n = _int(required=True)
    r = _int(required=True)
    p = _int(required=True)
    salt = _text(required=True)
    hash = _text(required=True)


class FileRefSchema(_Open):
    """A file of one of the case's materials, as the case lists it (shared/materials_files/)."""
    sha256 = _text(required=True, validate=validate.Regexp(r"^[0-9a-f]{64}$"))
    material = _text(required=True, validate=validate.Length(min=1, max=16))
    media_type = _text(required=True)
    size = _int(required=True, validate=validate.Range(min=1))


DELIVERY_METHODS = ("counter", "post", "electronic")  # shared/cases/pre_review.py DELIVERY_METHODS


class OnlineDeliverySchema(_Open):
    """How an online application's result reaches the resident (its choice when applying)."""
    method = _text(required=True, validate=validate.OneOf(DELIVERY_METHODS))
    address = _optional(_text)


class OnlineSchema(_Open):
    """网上申请: the catalogue's online mode of the item and the chosen delivery."""
    mode = _text(required=True, validate=validate.OneOf(("pre_review", "full")))
    delivery = fields.Nested(OnlineDeliverySchema, required=True)


class PreReviewAnswerSchema(_Open):
    """One answer of the receiving counter to a pre-review (shared/cases/pre_review.py)."""
    answer = _text(required=True, validate=validate.OneOf(("pass", "pass_online", "supplement", "refuse")))
    at = IsoDateTime(required=True)
    by = _text(required=True)
    reason = _text()
    due_date = IsoDate(required=True)
    within_limit = fields.Boolean(required=True)
    missing = fields.List(fields.String())


class PreReviewSchema(_Open):
    """网上预审: the answers so far and the limit of the one being waited for."""
    answers = fields.List(fields.Nested(PreReviewAnswerSchema), required=True)
    since = _optional(IsoDate)
    due_date = _optional(IsoDate)


class DeliverySchema(_Open):
    """A result handed over by post (with its tracking number) or electronically."""
    method = _text(required=True, validate=validate.OneOf(DELIVERY_METHODS))
    tracking_no = _optional(_text)
    at = IsoDateTime(required=True)


class CaseRecordSchema(_Open):
    """The case (办件) as every station stores and sends it: the snapshot built by
    `CaseWorkflow.file` and grown by the steps of its life (shared/cases/workflow.py).
    Fields that only some cases have are not required and get no default: a case
    without a rating has no `rating` key."""
    case_no = _text(required=True, validate=validate.Length(min=1, max=40))
    item = fields.Nested(ItemSnapshotSchema, required=True)
    applicant = fields.Nested(ApplicantSnapshotSchema, required=True)
    agent = _text(required=True)
    note = _text()
    filing_station = _text(required=True)
    holder_station = _text(required=True)
    deciding_station = _optional(_text)
    status = _text(required=True)
    acceptance = _optional(_text)
    commitment = fields.Boolean()
    deficiency_promise = fields.Boolean()
    materials_submitted = fields.List(fields.String(), required=True)
    filed_at = IsoDateTime(required=True)
    accepted_at = _optional(IsoDateTime)
    due_date = _optional(IsoDate)
    legal_due_date = _optional(IsoDate)
    provisional_due = fields.Boolean()
    estimated_years = fields.List(_int())
    deficiency = _optional(fields.Nested, DeficiencySchema)
    notice = _optional(fields.Nested, NoticeSchema)
    decisions = fields.List(fields.Nested(DecisionRecordSchema), required=True)
    result = _optional(fields.Nested, CaseResultSchema)
    revision = _int(required=True, validate=validate.Range(min=0))
    history = fields.List(fields.Nested(HistoryEntrySchema), required=True)
    query_code_seal = _optional(fields.Nested, QueryCodeSealSchema)
    suspension = _optional(fields.Nested, SuspensionSchema)
    paused_since = _optional(IsoDate)
    paused_working_days = _int()
    pauses = fields.List(fields.Nested(PauseSchema))
    extension = _optional(fields.Nested, ExtensionSchema)
    rating = _optional(fields.Nested, RatingSnapshotSchema)
    ticket_no = _text(validate=validate.Length(min=1, max=20))  # the hall ticket it was filed from (A023)
    files = fields.List(fields.Nested(FileRefSchema))  # its materials' files, listed when it leaves their station
    visits = _int(validate=validate.Range(min=0))  # 跑动次数; a case stored before issue 16 has none
    channel = _text(validate=validate.OneOf(("online",)))  # an online application; a counter filing has none
    online = fields.Nested(OnlineSchema)
    pre_review = fields.Nested(PreReviewSchema)
    delivery = fields.Nested(DeliverySchema)  # set when the result went by post or electronically


class CaseBodySchema(_Open):
    """case.handover, case.result, case.record: the whole case."""
    case = fields.Nested(CaseRecordSchema, required=True)


class SupplementBodySchema(_Open):
    case_no = _text(required=True, validate=validate.Length(min=1, max=40))
    materials = fields.List(fields.String(), required=True, validate=validate.Length(min=1))
    operator = _text(required=True)
    station = _text(required=True)
    at = IsoDateTime(required=True)


class ExtensionDecisionBodySchema(_Open):
    case_no = _text(required=True, validate=validate.Length(min=1, max=40))
    granted = fields.Boolean(required=True, truthy={True}, falsy={False})
    reason = _text(required=True)
    operator = _text(required=True)
    station = _text(required=True)
    at = IsoDateTime(required=True)


class AlertBodySchema(AlertSchema, _Open):
    """The supervision alert (shared/supervision/schemas.py), kept open to newer fields."""

    class Meta:
        unknown = INCLUDE


class CatalogueChangeBodySchema(CatalogueChangeSchema, _Open):
    """One catalogue change (shared/catalogue/schemas.py), kept open to newer fields. Its
    kind "bundle" (issue 18) is one an earlier release refuses: the district, upgraded
    last, makes bundles only once every station reads them."""

    class Meta:
        unknown = INCLUDE


class AuditCopyBodySchema(_Open):
    """A batch of access-audit entries; each entry is checked by the district's audit
    (shared/audit/entries.py AuditEntrySchema), which refuses the whole copy otherwise."""
    station = _text(required=True)
    entries = fields.List(fields.Dict(), required=True)


class HallVisitBodySchema(_Open):
    """One closed visit to a station's hall (shared/hall/waiting.py counts them): a ticket
    finished or marked a no-show, or an appointment missed. A ticket carries its number and
    times (UTC); a missed appointment carries its booking number and no ticket. An
    appointment's ticket carries its booking number too (booked and kept)."""
    station = _text(required=True)
    day = IsoDate(required=True)  # the station's (Asia/Shanghai) day of the ticket or appointment
    window_type = _text(required=True, validate=validate.Length(min=1, max=2))
    kind = _text(required=True, validate=validate.OneOf(("walk_in", "appointment", "priority")))
    status = _text(required=True, validate=validate.OneOf(("finished", "no_show", "missed")))
    ticket_no = _optional(_text, validate=validate.Length(min=1, max=20))
    booking_no = _optional(_text, validate=validate.Length(min=1, max=20))
    issued_at = _optional(IsoDateTime)
    called_at = _optional(IsoDateTime)
    finished_at = _optional(IsoDateTime)
    case_no = _optional(_text, validate=validate.Length(min=1, max=40))
    priority_reason = _optional(_text)

    @validates_schema
    def _a_ticket_or_a_missed_appointment(self, data, **kwargs):
        if data.get("status") == "missed":
            if not data.get("booking_no") or data.get("ticket_no"):
                raise ValidationError("a missed appointment carries its booking_no and no ticket_no", "status")
            return
        missing = [f for f in ("ticket_no", "issued_at", "called_at") if not data.get(f)]
        if data.get("status") == "finished" and not data.get("finished_at"):
            missing.append("finished_at")
        if missing:
            raise ValidationError(f"a closed ticket carries {', '.join(missing)}", "status")


class CaseFileBodySchema(_Open):
    """One file of a case's material, sent to the next station on the case's route
    (shared/materials_files/transfer.py); `content` is the bytes in base64, and the
    receiver keeps them only if their SHA-256 is `sha256`."""
    case_no = _text(required=True, validate=validate.Length(min=1, max=40))
    deciding_station = _text(required=True)
    sha256 = _text(required=True, validate=validate.Regexp(r"^[0-9a-f]{64}$"))
    material = _text(required=True, validate=validate.Length(min=1, max=16))
    media_type = _text(required=True)
    size = _int(required=True, validate=validate.Range(min=1))
    filename = _text()
    uploaded_by = _text(required=True)
    uploaded_at = IsoDateTime(required=True)
    station = _text(required=True)   # where it was uploaded
    content = _text(required=True)


class FileRequestBodySchema(_Open):
    """A file that arrived corrupted (its hash did not match), asked again from the
    station before on the case's route."""
    case_no = _text(required=True, validate=validate.Length(min=1, max=40))
    deciding_station = _text(required=True)
    sha256 = _text(required=True, validate=validate.Regexp(r"^[0-9a-f]{64}$"))
    material = _text(required=True, validate=validate.Length(min=1, max=16))
    reason = _text(required=True)


CASE_ONLINE_APPLICATION = "case.online_application"  # an online application, from the portal used to its receiving counter


class OnlineApplicationBodySchema(_Open):
    """An online application made at one station's portal (网上办事大厅) for another
    station's counter, which files it in its pre-review worklist as if made at its own
    portal (shared/cases/online_application.py). The case number was given by the portal
    in its own range at the receiver (`<receiver>-<YYYYMMDD>-<portal>-<seq>`); the query
    code travels as its seal only; the files follow as `case.file` messages and are listed
    here (`files`) so the receiver knows what must arrive."""
    case_no = _text(required=True, validate=validate.Length(min=1, max=40))
    portal_station = _text(required=True)     # the sender: whose portal took the application
    receiving_station = _text(required=True)  # the counter the resident chose
    item_code = _text(required=True, validate=validate.Length(min=1, max=16))
    item_version = _int(required=True, validate=validate.Range(min=1))  # the portal's catalogue version
    applicant = fields.Nested(ApplicantSnapshotSchema, required=True)
    delivery = fields.Nested(OnlineDeliverySchema, required=True)
    note = _text()
    materials = fields.List(fields.String(validate=validate.Length(min=1, max=16)), required=True)
    files = fields.List(fields.Nested(FileRefSchema), required=True)
    query_code_seal = fields.Nested(QueryCodeSealSchema, required=True)
    applied_at = IsoDateTime(required=True)
    mobile_verified_at = IsoDateTime(required=True)  # the SMS code checked at the portal


BODIES = {
    CASE_HANDOVER: CaseBodySchema,
    CASE_RESULT: CaseBodySchema,
    CASE_RECORD: CaseBodySchema,
    CASE_SUPPLEMENT: SupplementBodySchema,
    CASE_EXTENSION_DECISION: ExtensionDecisionBodySchema,
    CASE_ALERT: AlertBodySchema,
    CATALOGUE_CHANGE: CatalogueChangeBodySchema,
    AUDIT_COPY: AuditCopyBodySchema,
    HALL_VISIT: HallVisitBodySchema,
    CASE_FILE: CaseFileBodySchema,
    CASE_FILE_REQUEST: FileRequestBodySchema,
    CASE_ONLINE_APPLICATION: OnlineApplicationBodySchema,
}
KINDS = tuple(BODIES)


class EnvelopeSchema(_Open):
    message_id = _text(required=True, validate=validate.Length(min=1, max=64))
    kind = _text(required=True, validate=validate.OneOf(KINDS))
    sender = _text(required=True)
    schema = _int(load_default=1, validate=validate.Range(min=1))
    body = fields.Dict(required=True)


# -- upgrades -------------------------------------------------------------------------------
def _v1_to_v2(message):
    """Version 1 sent a decided result back to the filing station as a `case.handover`
    whose case is in `result_sent`; version 2 sends it as `case.result`.
    Remove this step (and version 1 with it) in the release after the one that
    introduced version 2, once every station of the district runs version 2 or later."""
    case = message["body"].get("case")
    if message["kind"] == CASE_HANDOVER and isinstance(case, dict) and case.get("status") == "result_sent":
        message = {**message, "kind": CASE_RESULT}
    return {**message, "schema": 2}


UPGRADES = {1: _v1_to_v2}  # version n -> n + 1


# -- the two directions ---------------------------------------------------------------------
def new_message_id():
    return uuid.uuid4().hex


def envelope(kind, body, sender, message_id=None):
    """A message of this version of the contract, its body as given."""
    return {"message_id": message_id or new_message_id(), "kind": kind, "sender": sender,
            "schema": SCHEMA_VERSION, "body": body}


def dump_message(kind, body, sender, message_id=None):
    """An outgoing message: the body dumped through its kind's schema (every declared
    field in its declared form, unknown ones kept), in an envelope of this version."""
    if kind not in BODIES:
        raise ValueError(f"unknown message kind '{kind}'")
    return envelope(kind, schema_instance(BODIES[kind]).dump(body), sender, message_id)


def outgoing_errors(message):
    """The contract's errors for a message about to be sent ({} if none): for tests and
    checks, since marshmallow's dump itself validates nothing."""
    errors = schema_instance(EnvelopeSchema).validate(message)
    schema = BODIES.get(message.get("kind"))
    if schema is not None and isinstance(message.get("body"), dict):
        body_errors = schema_instance(schema).validate(message["body"])
        if body_errors:
            errors["body"] = body_errors
    return errors


def load_message(message):
    """An incoming message brought up to this version and loaded through its schemas;
    InvalidMessage (errors by field) if it does not follow the contract. A message of a
    newer version is read as this version: what this release does not know is kept."""
    if not isinstance(message, dict):
        raise InvalidMessage(None, None, {"_schema": ["a message must be a JSON object"]})
    try:
        loaded = schema_instance(EnvelopeSchema).load(message)
    except ValidationError as err:
        raise InvalidMessage(message.get("kind"), message.get("sender"), err.messages) from None
    version = loaded["schema"]
    while version < SCHEMA_VERSION:
        loaded = UPGRADES[version](loaded)
        version = loaded["schema"]
    try:
        body = schema_instance(BODIES[loaded["kind"]]).load(loaded["body"])
    except ValidationError as err:
        raise InvalidMessage(loaded["kind"], loaded["sender"], {"body": err.messages}) from None
    return {**loaded, "body": body}
