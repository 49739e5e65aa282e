"""The portal's one-time codes over HTTP: `POST /api/portal/codes {"mobile": ...}` sends a
6-digit code to the mobile by SMS (shared/notices/one_time_codes.py) and answers 202 with
the same body for every well-formed mobile number (it tells nothing about whether the
number belongs to anyone known here); a malformed number answers 400; beyond the limits
(1 code a minute and 5 an hour per mobile, 20 an hour per client address) 429 with
Retry-After, nothing sent. The code is checked by the portal's own steps
(`notices.check_code`, or one_time_codes.verify in P's transaction).
"""
from marshmallow import Schema, fields, validate

from services.gateway.residents import client_address, refusal
from services.http import http, json_body, json_response
from services.notices import Notices
from shared.exceptions import TooManyAttempts
from shared.notices import one_time_codes, templates
from shared.validation import load

SENT = ("验证码已发送，请查看短信，5分钟内有效（if the number is right, a code is on its way by SMS; "
        "it is valid for 5 minutes）")


class CodeRequestSchema(Schema):
    mobile = fields.String(required=True, validate=validate.Regexp(
        templates.MOBILE, error="a mainland mobile number: 11 digits starting 13-19 (手机号码)"))
    purpose = fields.String(load_default=one_time_codes.DEFAULT_PURPOSE,
                            validate=validate.Regexp(r"^[a-z][a-z0-9_]{0,23}$", error="a short lower-case name"))


class PortalCodeEndpoints:
    notices = Notices()

    @http("POST", "/api/portal/codes")
    def portal_code(self, request):
        """Send a one-time code to a mobile (public; rate-limited)."""
        body = load(CodeRequestSchema, json_body(request))
        try:
            self.notices.ask_code(body["mobile"], body["purpose"], client_address(request))
        except TooManyAttempts as refused:
            return refusal(refused)
        return json_response({"message": SENT, "valid_seconds": int(one_time_codes.VALID.total_seconds())}, 202)


def code_components(spec):
    spec.components.schema("PortalCodeRequest", schema=CodeRequestSchema)


def code_paths(op, public):
    """The codes' path, built with openapi.py's helpers (`op` is its _op)."""
    return {"/api/portal/codes": {"post": op(
        "send a one-time SMS code (短信验证码, 6 digits, valid 5 minutes, 5 tries) to a mobile for the portal; "
        "202 with the same answer for every well-formed number; 1 code a minute and 5 an hour per mobile, "
        "20 an hour per address, else 429 with Retry-After", ok="202", body_ref="PortalCodeRequest",
        errors=(400, 429), tag="portal", access=public, example={"mobile": "13800138000"})}}
