"""What the user endpoints and `tongban users` accept, and how a user is shown."""
from marshmallow import RAISE, Schema, fields, validate

from shared.auth import roles
from shared.auth.passwords import MIN_LENGTH


class NewUserSchema(Schema):
    class Meta:
        unknown = RAISE

    username = fields.String(required=True, validate=validate.Regexp(
        r"^[a-z0-9][a-z0-9._-]{1,49}$",
        error="2-50 characters: lower-case letters, digits, '.', '_' or '-', starting with a letter or digit"))
    name = fields.String(required=True, validate=validate.Length(min=1, max=40))
    role = fields.String(required=True, validate=validate.OneOf(roles.ROLES))
    department = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=40))
    password = fields.String(required=True, load_only=True, validate=validate.Length(min=MIN_LENGTH, max=200))


class LoginSchema(Schema):
    class Meta:
        unknown = RAISE

    username = fields.String(required=True, validate=validate.Length(min=1, max=50))
    password = fields.String(required=True, validate=validate.Length(min=1, max=200))


class UserSchema(Schema):
    username = fields.String()
    name = fields.String()
    role = fields.String()
    role_label = fields.Function(lambda u: roles.LABELS.get(u.role, u.role))
    department = fields.String(allow_none=True)
    station = fields.String()
    active = fields.Boolean()
    must_change_password = fields.Boolean()


class PasswordChangeSchema(Schema):
    """A user's own change: the current password proves it is them (a session left open
    at a counter is not enough); the new one must pass shared/auth/password_policy.py."""

    class Meta:
        unknown = RAISE

    current_password = fields.String(required=True, validate=validate.Length(min=1, max=200))
    new_password = fields.String(required=True, validate=validate.Length(min=1, max=200))
