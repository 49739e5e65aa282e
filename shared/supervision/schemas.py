"""The supervision alert as it travels: the district sends it to the station holding the
case, which keeps it and lists it (GET /api/alerts)."""
from marshmallow import RAISE, Schema, fields, validate

ALERT_KINDS = ("warning", "yellow_card", "red_card")


class AlertSchema(Schema):
    class Meta:
        unknown = RAISE

    case_no = fields.String(required=True, validate=validate.Length(min=1, max=40))
    kind = fields.String(required=True, validate=validate.OneOf(ALERT_KINDS))
    department = fields.String(required=True, validate=validate.Length(min=1, max=40))
    at = fields.String(required=True, metadata={"description": "when it was raised (district time, ISO 8601)"})
    text = fields.String(required=True, validate=validate.Length(min=1, max=500))
