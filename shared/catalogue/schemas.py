"""Marshmallow schemas for catalogue items.

`ItemSchema` validates an item as the district administrator submits it. It needs the
district's department list so that an unknown department is refused by name. Every
problem is reported at once, keyed by field, so the administrator can fix them all.
"""
from marshmallow import (
    EXCLUDE, RAISE, Schema, ValidationError, fields, validate, validates_schema,
)

from shared.stations import TIERS

CATEGORIES = ("licence", "public_service")
PROCESSING_TYPES = ("immediate", "promised", "joint")
MATERIAL_KINDS = ("core", "secondary")
DECISION_STEPS = (("approve",), ("review", "approve"))
ITEM_STATUSES = ("current", "retired")

CATEGORY_NAMES = {"licence": "行政许可", "public_service": "公共服务"}
PROCESSING_TYPE_NAMES = {"immediate": "即办件", "promised": "承诺件", "joint": "联办件"}


class MaterialSchema(Schema):
    class Meta:
        unknown = RAISE

    code = fields.String(required=True, validate=validate.Regexp(r"^[A-Z0-9]{1,8}$"))
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    kind = fields.String(required=True, validate=validate.OneOf(MATERIAL_KINDS))
    copies = fields.Integer(load_default=1, validate=validate.Range(min=1, max=20))


class GuideSchema(Schema):
    class Meta:
        unknown = RAISE

    where = fields.String(load_default="")
    basis = fields.String(load_default="")
    how_long = fields.String(load_default="")
    how_much = fields.String(load_default="")
    notes = fields.String(load_default="")


class ItemSchema(Schema):
    """An item as the district defines it (without catalogue bookkeeping)."""

    class Meta:
        unknown = RAISE
        ordered = True

    code = fields.String(required=True, validate=validate.Regexp(
        r"^[A-Z]{2,4}-\d{3}$", error="must look like 'SJ-001' (2-4 capitals, dash, 3 digits)"))
    name = fields.String(required=True, validate=validate.Length(min=2, max=100))
    department = fields.String(required=True)
    category = fields.String(required=True, validate=validate.OneOf(CATEGORIES))
    processing_type = fields.String(required=True, validate=validate.OneOf(PROCESSING_TYPES))
    joint_departments = fields.List(fields.String(), load_default=list)
    legal_limit_days = fields.Integer(required=True, strict=True, validate=validate.Range(min=0, max=365))
    promised_limit_days = fields.Integer(required=True, strict=True, validate=validate.Range(min=0, max=365))
    fee = fields.Float(load_default=0, validate=validate.Range(min=0))
    authority_tier = fields.String(required=True, validate=validate.OneOf(TIERS))
    accepting_tiers = fields.List(fields.String(validate=validate.OneOf(TIERS)),
                                  load_default=lambda: list(TIERS))
    decision_steps = fields.List(fields.String(), load_default=lambda: ["review", "approve"])
    allows_commitment = fields.Boolean(load_default=False)
    allows_deficiency = fields.Boolean(load_default=False)
    # accepted online (issue 16): none (counter only), pre_review (网上预审: one visit with
    # the originals), full (全程网办: no visit) — shared/cases/pre_review.py
    online = fields.String(load_default="none", validate=validate.OneOf(("none", "pre_review", "full")))
    min_applicant_age = fields.Integer(load_default=None, allow_none=True,
                                       validate=validate.Range(min=0, max=150))
    keywords = fields.List(fields.String(), load_default=list)
    materials = fields.List(fields.Nested(MaterialSchema), load_default=list)
    guide = fields.Nested(GuideSchema, load_default=dict)

    def __init__(self, *args, departments=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.departments = set(departments) if departments is not None else None

    @validates_schema(skip_on_field_errors=False)
    def check_item(self, data, **kwargs):
        errors = {}

        def bad(field, message):
            errors.setdefault(field, []).append(message)

        known = self.departments
        if known is not None and "department" in data and data["department"] not in known:
            bad("department", f"unknown department '{data['department']}'")
        kind = data.get("processing_type")
        joint = data.get("joint_departments") or []
        if kind == "joint":
            if len(joint) < 2:
                bad("joint_departments", "a joint item needs at least two departments")
            if len(set(joint)) != len(joint):
                bad("joint_departments", "a department is listed twice")
            if known is not None:
                for dept in joint:
                    if dept not in known:
                        bad("joint_departments", f"unknown department '{dept}'")
        elif joint:
            bad("joint_departments", "only a joint item lists joint departments")
        legal, promised = data.get("legal_limit_days"), data.get("promised_limit_days")
        if isinstance(legal, int) and isinstance(promised, int) and promised > legal:
            bad("promised_limit_days", f"the promised limit ({promised}) exceeds the legal limit ({legal})")
        if kind == "immediate" and promised not in (None, 0):
            bad("promised_limit_days", "an immediate item is done the same day: the promised limit must be 0")
        steps = tuple(data.get("decision_steps") or ())
        if steps not in DECISION_STEPS:
            bad("decision_steps", "must be ['approve'] or ['review', 'approve']")
        tiers = data.get("accepting_tiers")
        if tiers is not None:
            if not tiers:
                bad("accepting_tiers", "at least one tier must be able to accept the item")
            elif data.get("authority_tier") in TIERS and data["authority_tier"] not in tiers:
                bad("accepting_tiers", "the deciding tier must also be able to accept the item")
        materials = data.get("materials")
        if isinstance(materials, list):
            # runs even when a material failed its own checks, so nothing here may assume
            # a material has all its fields
            materials = [m for m in materials if isinstance(m, dict)]
            codes = [m.get("code") for m in materials]
            if len(set(codes)) != len(codes):
                bad("materials", "material codes must be unique within the item")
            if data.get("category") == "licence" and not any(m.get("kind") == "core" for m in materials):
                bad("materials", "a licence needs at least one core material")
            if data.get("allows_deficiency") and not any(m.get("kind") == "secondary" for m in materials):
                bad("allows_deficiency", "acceptance with deficiency needs at least one secondary material")
        if errors:
            raise ValidationError(errors)


class DelegationSchema(Schema):
    class Meta:
        unknown = RAISE

    authority_tier = fields.String(required=True, validate=validate.OneOf(TIERS))


class ScheduleSchema(Schema):
    class Meta:
        unknown = RAISE

    year = fields.Integer(required=True, strict=True, validate=validate.Range(min=2000, max=2100))
    holidays = fields.List(fields.Date(), load_default=list)
    workdays = fields.List(fields.Date(), load_default=list)


class CatalogueChangeSchema(Schema):
    """A change as it travels to the replicas (event body and `changes_since` answer)."""

    class Meta:
        unknown = EXCLUDE

    version = fields.Integer(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(
        ("add", "edit", "delegate", "retire", "calendar", "bundle")))
    item_code = fields.String(allow_none=True, load_default=None)
    payload = fields.Dict(required=True)
    made_at = fields.String(required=True)
    made_by = fields.String(load_default="")
