"""Domain errors. The HTTP layer maps each class to one status code."""


class TongbanError(Exception):
    """Base class: a request the domain refuses, with a message for the user."""

    def __init__(self, message, details=None):
        super().__init__(message)
        self.message = message
        self.details = details or {}


class InvalidInput(TongbanError):
    """The request is malformed or fails validation (HTTP 400)."""


class TooLarge(InvalidInput):
    """A body or uploaded file over its size limit (HTTP 413)."""


class Unprocessable(TongbanError):
    """Well formed, but it contradicts what the request claims to be (HTTP 422): a
    filing's request id that was used for a different filing."""


class Unavailable(TongbanError):
    """The station cannot do this right now; the same request may pass later (HTTP 503)."""


class NotFound(TongbanError):
    """The thing asked for does not exist here (HTTP 404)."""


class Conflict(TongbanError):
    """The request is well formed but the current state forbids it (HTTP 409)."""


class TransitionForbidden(Conflict):
    """A case may not move from its current state by this action."""


class Forbidden(TongbanError):
    """The user may not do this (HTTP 403)."""


class Unauthorized(TongbanError):
    """No valid session (HTTP 401)."""


class TooManyAttempts(TongbanError):
    """Too many failed attempts from this client or on this account (HTTP 429); the
    client may try again after `retry_after` seconds (sent as `Retry-After`)."""

    def __init__(self, message, retry_after, details=None):
        super().__init__(message, details)
        self.retry_after = max(1, int(retry_after))


class PasswordChangeRequired(Forbidden):
    """The user must choose their own password before anything else (HTTP 403,
    error PASSWORD_CHANGE_REQUIRED): their password was chosen by someone else."""
