"""Request bodies through marshmallow: the loaded data, or InvalidInput naming every
problem ("applicant.phone: ...; materials: ...") with the per-field details."""
from marshmallow import ValidationError

from shared.exceptions import InvalidInput


def load(schema, data):
    try:
        return schema.load(data)
    except ValidationError as err:
        raise InvalidInput(summary(err.messages), details=err.messages) from None


def summary(messages, prefix=""):
    """marshmallow's nested errors on one line: 'applicant.phone: ...; materials: ...'."""
    parts = []
    for key, value in messages.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            parts.append(summary(value, prefix=f"{name}."))
        else:
            parts.append(f"{name}: {' '.join(str(v) for v in value)}")
    return "; ".join(parts)
