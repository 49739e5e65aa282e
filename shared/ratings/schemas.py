"""Schemas at the boundaries of the rating cycle: the rating a counter or a resident sends
(`RatingFieldsSchema`, mixed into shared/cases/schemas.py's RatingSchema and
ResidentRatingSchema), and the district API's bodies for rectifications and appeals."""
from marshmallow import RAISE, Schema, ValidationError, fields, post_load, validate, validates_schema

from shared.exceptions import InvalidInput
from shared.ratings import appeals, levels
from shared.ratings import rectification as orders


class RatingFieldsSchema(Schema):
    """A rating: a `level` (very_satisfied … very_dissatisfied) or, as old clients send it,
    a `score` 1-5 (5 非常满意 … 1 非常不满意), or both if they agree; optional reasons
    from the fixed list and a comment. Loaded, it has both `level` and `score`."""
    score = fields.Integer(strict=True, validate=validate.Range(min=1, max=5),
                           metadata={"description": "1-5: 5 非常满意 … 1 非常不满意 (or give `level`)"})
    level = fields.String(validate=validate.OneOf(levels.LEVELS),
                          metadata={"description": "非常满意 … 非常不满意 as " + " | ".join(levels.LEVELS)})
    reasons = fields.List(fields.String(validate=validate.OneOf(tuple(levels.REASONS))), load_default=list,
                          validate=validate.Length(max=len(levels.REASONS)),
                          metadata={"description": "reasons from the fixed list: " + ", ".join(
                              f"{code} ({label})" for code, (label, _) in levels.REASONS.items())})
    comment = fields.String(load_default="", validate=validate.Length(max=levels.COMMENT_MAX))

    @validates_schema
    def level_or_score(self, data, **kwargs):
        try:
            levels.resolve(data.get("score"), data.get("level"))
        except InvalidInput as refused:
            raise ValidationError(str(refused), "level") from None

    @post_load
    def both(self, data, **kwargs):
        data["level"], data["score"] = levels.resolve(data.get("score"), data.get("level"))
        data["reasons"] = list(dict.fromkeys(data["reasons"]))  # each once, in the order given
        return data


class _Strict(Schema):
    class Meta:
        unknown = RAISE


class ActionSchema(_Strict):
    """整改情况: what the office did."""
    action = fields.String(required=True, validate=validate.Length(max=orders.TEXT_MAX))


class FollowUpSchema(_Strict):
    """回访: the resident's answer on the follow-up call, and (if they gave it then) their
    rating of the rectification."""
    answer = fields.String(required=True, validate=validate.Length(max=orders.TEXT_MAX))
    level = fields.String(validate=validate.OneOf(levels.LEVELS))


class ResidentLevelSchema(_Strict):
    """The resident's rating of the rectification, recorded after the follow-up call."""
    level = fields.String(required=True, validate=validate.OneOf(levels.LEVELS))


class AppealSchema(_Strict):
    reason = fields.String(required=True, validate=validate.Length(max=orders.TEXT_MAX))


class AppealDecisionSchema(_Strict):
    decision = fields.String(required=True, validate=validate.OneOf(tuple(appeals.DECISIONS)))
    reason = fields.String(load_default="", validate=validate.Length(max=orders.TEXT_MAX))
