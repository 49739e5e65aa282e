"""One access-audit entry: plain data, the same at the station that wrote it and in the
copy the district keeps."""
import datetime as dt
import uuid

from marshmallow import RAISE, Schema, fields, validate

# what happened
FULL_VIEW = "full_view"   # a full ID number or phone was shown
CHANGE = "change"         # a case (or a user) was changed, or a change was refused
LOGIN = "login"           # a login, successful or not
KINDS = (FULL_VIEW, CHANGE, LOGIN)

# how it ended
OK = "ok"
REFUSED = "refused"       # a change the rules refused (403, 409, 400...)
FAILED = "failed"         # a wrong username or password
THROTTLED = "throttled"   # too many attempts (429): not even checked
OUTCOMES = (OK, REFUSED, FAILED, THROTTLED)

KIND_LABELS = {FULL_VIEW: "查看完整身份信息", CHANGE: "变更", LOGIN: "登录"}
OUTCOME_LABELS = {OK: "成功", REFUSED: "被拒绝", FAILED: "失败", THROTTLED: "尝试过多被拒"}
SHOWN_LABELS = {"id_number": "身份证号", "phone": "联系电话"}

# what a full case view shows whole (shared/cases/schemas.py masks them elsewhere)
PERSONAL_FIELDS = ("id_number", "phone")


def utc_now():
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def new_entry(station, kind, action, outcome, username, role="", case_no=None, shown=(), client="",
              channel="", at=None):
    """An entry as a dict (`at`: a naive UTC datetime, now by default). Texts a client
    chose (a username tried at login) are cut to their column's length."""
    return {
        "entry_id": uuid.uuid4().hex,
        "station": station,
        "at": at or utc_now(),
        "kind": kind,
        "action": action[:40],
        "outcome": outcome,
        "username": (username or "")[:50],
        "role": (role or "")[:20],
        "case_no": case_no[:40] if case_no else None,
        "shown": ",".join(shown),
        "client": (client or "")[:64],
        "channel": channel,
    }


def shown_in(case):
    """The personal fields a full view of `case` shows (those it has)."""
    applicant = case.get("applicant") or {}
    return tuple(f for f in PERSONAL_FIELDS if applicant.get(f))


def as_message(entry):
    """The entry in a message body (JSON): the time as ISO 8601 UTC."""
    return {**entry, "at": entry["at"].isoformat(timespec="microseconds") + "Z"}


class AuditEntrySchema(Schema):
    """An entry in a copy a station sends the district: nothing else, nothing longer
    than its column (the district's own checks, whatever the station's code did)."""
    class Meta:
        unknown = RAISE

    entry_id = fields.String(required=True, validate=validate.Regexp(r"^[0-9a-f]{32}$"))
    station = fields.String(required=True, validate=validate.Regexp(r"^\d{6}(\d{3}){0,2}$"))
    at = fields.AwareDateTime(required=True, default_timezone=dt.timezone.utc)
    kind = fields.String(required=True, validate=validate.OneOf(KINDS))
    action = fields.String(required=True, validate=validate.Length(max=40))
    outcome = fields.String(required=True, validate=validate.OneOf(OUTCOMES))
    username = fields.String(required=True, validate=validate.Length(max=50))
    role = fields.String(required=True, validate=validate.Length(max=20))
    case_no = fields.String(required=True, allow_none=True, validate=validate.Length(max=40))
    shown = fields.String(required=True, validate=validate.Length(max=100))
    client = fields.String(required=True, validate=validate.Length(max=64))
    channel = fields.String(required=True, validate=validate.Length(max=8))


def from_message(data):
    """An entry from a message body, validated (marshmallow's ValidationError if not);
    `at` back to a naive UTC datetime."""
    entry = AuditEntrySchema().load(data)
    entry["at"] = entry["at"].astimezone(dt.timezone.utc).replace(tzinfo=None)
    return entry
