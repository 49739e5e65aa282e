"""Request bodies through marshmallow: the loaded data, or InvalidInput naming every
problem ("applicant.phone: ...; materials: ...") with the per-field details."""
import functools

from marshmallow import ValidationError

from shared.exceptions import InvalidInput


@functools.cache
def schema_instance(schema_class):
    """One instance per schema class: building a schema copies its fields (and its nested
    schemas') every time, which costs more than loading a small body. marshmallow 4 keeps
    no per-call state on the instance (its context is a contextvar), so one serves all."""
    return schema_class()


def load(schema, data):
    """`schema` is a Schema class (its shared instance is used) or an instance."""
    if isinstance(schema, type):
        schema = schema_instance(schema)
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
