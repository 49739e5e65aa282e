"""一件事一次办: a bundle of catalogue items a resident asks for as one thing (issue 18).

A bundle is a catalogue entry the district owns and versions like an item (a change of
kind "bundle", shared/catalogue/store.py), with:

- `items`: the items always included; `questions`: a short yes/no questionnaire, each
  question listing the items a "yes" adds (「是否设置户外招牌？」 → the sign permit);
- `materials`: the materials several of its items share, each with a `key` (its identity
  across items, e.g. `business_licence`), a name, and `uses`, the item materials it stands
  for ({item, material}: an item's material code). A material a bundle does not declare
  is identified by its normalized name (`material_identity`), so two items' identically
  named papers are also handed in once; `merged_materials` lists the whole set once;
- `promised_limit_days`: the bundle's promise, not longer than the longest legal limit of
  its items; `accepting_tiers`: where it is filed, each one accepting every item;
- `prerequisites`: 互为前置 pairs {item, requires}: `item` normally needs `requires`'s
  result; in a bundle both are decided in parallel and released together;
- `status`: active | retired.

`BundleSchema(items=..., existing=...)` loads a bundle and refuses a bad one naming every
bad field at once; `bundle_problems` is the catalogue rules alone (plain Python). What a
filing needs next: `selected_items` (the items a questionnaire's answers choose) and
`merged_materials` over that selection.
"""
import re
import unicodedata

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from shared.catalogue.schemas import GuideSchema
from shared.stations import TIERS

BUNDLE_STATUSES = ("active", "retired")
MAX_QUESTIONS = 10
CODE = re.compile(r"^B\d{3}$")


class QuestionSchema(Schema):
    class Meta:
        unknown = RAISE

    code = fields.String(required=True, validate=validate.Regexp(r"^Q\d{1,2}$", error="must look like 'Q1'"))
    text = fields.String(required=True, validate=validate.Length(min=2, max=100))
    adds = fields.List(fields.String(), required=True, validate=validate.Length(min=1))


class MaterialUseSchema(Schema):
    class Meta:
        unknown = RAISE

    item = fields.String(required=True)
    material = fields.String(required=True)


class SharedMaterialSchema(Schema):
    class Meta:
        unknown = RAISE

    key = fields.String(required=True, validate=validate.Regexp(
        r"^[a-z][a-z0-9_]{0,39}$", error="a short lower-case name, e.g. 'business_licence'"))
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    uses = fields.List(fields.Nested(MaterialUseSchema), required=True, validate=validate.Length(min=1))


class PrerequisiteSchema(Schema):
    class Meta:
        unknown = RAISE

    item = fields.String(required=True)
    requires = fields.String(required=True)


class BundleSchema(Schema):
    """A bundle as the district defines it (without `version`). `items`: the catalogue's
    items by code (their payloads, retired ones included) or a callable code -> payload or
    None; `existing`: the codes of bundles already in the catalogue (adding one refuses
    them), None when editing."""

    class Meta:
        unknown = RAISE
        ordered = True

    code = fields.String(required=True, validate=validate.Regexp(
        CODE, error="must look like 'B001' (B and 3 digits)"))
    name = fields.String(required=True, validate=validate.Length(min=2, max=100))
    guide = fields.Nested(GuideSchema, load_default=dict)
    keywords = fields.List(fields.String(), load_default=list)
    items = fields.List(fields.String(), load_default=list)
    questions = fields.List(fields.Nested(QuestionSchema), load_default=list,
                            validate=validate.Length(max=MAX_QUESTIONS))
    materials = fields.List(fields.Nested(SharedMaterialSchema), load_default=list)
    promised_limit_days = fields.Integer(required=True, strict=True, validate=validate.Range(min=0, max=365))
    accepting_tiers = fields.List(fields.String(validate=validate.OneOf(TIERS)), required=True)
    prerequisites = fields.List(fields.Nested(PrerequisiteSchema), load_default=list)
    status = fields.String(load_default="active", validate=validate.OneOf(BUNDLE_STATUSES))

    def __init__(self, *args, items=None, existing=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.lookup = items.get if isinstance(items, dict) else items
        self.existing = set(existing) if existing is not None else None

    @validates_schema(skip_on_field_errors=False)
    def check_bundle(self, data, **kwargs):
        errors = bundle_problems(data, self.lookup or (lambda code: None), self.existing)
        if errors:
            raise ValidationError(errors)


def bundle_problems(bundle, item_of, existing=None):
    """{field: [problem, ...]} of a bundle against the catalogue; {} when it is good.
    `item_of(code)` is an item's payload or None. Runs on whatever parts of the bundle
    loaded, so nothing here may assume a field is present or well formed."""
    errors = {}

    def bad(field, message):
        errors.setdefault(field, []).append(message)

    code = bundle.get("code")
    if existing is not None and code in existing:
        bad("code", f"a bundle with code '{code}' already exists (edit it instead)")

    questions = [q for q in bundle.get("questions") or () if isinstance(q, dict)]
    always = [c for c in bundle.get("items") or () if isinstance(c, str)]
    known = {}  # code -> payload of every current item the bundle names

    def check_item(field, item_code):
        item = item_of(item_code)
        if item is None:
            bad(field, f"unknown item '{item_code}'")
        elif item.get("status") == "retired":
            bad(field, f"item '{item_code}' is retired")
        else:
            known[item_code] = item

    for item_code in _duplicates(always):
        bad("items", f"item '{item_code}' is listed twice")
    for item_code in dict.fromkeys(always):
        check_item("items", item_code)
    for item_code in _duplicates([q.get("code") for q in questions if q.get("code")]):
        bad("questions", f"question code '{item_code}' is used twice")
    for question in questions:
        adds = [c for c in question.get("adds") or () if isinstance(c, str)]
        name = question.get("code", "?")
        for item_code in _duplicates(adds):
            bad("questions", f"{name}: item '{item_code}' is listed twice")
        for item_code in dict.fromkeys(adds):
            if item_code in always:
                bad("questions", f"{name}: item '{item_code}' is always included: a question cannot add it")
            else:
                check_item("questions", item_code)
    in_bundle = set(always) | {c for q in questions for c in q.get("adds") or () if isinstance(c, str)}
    if "items" in bundle and len(in_bundle) < 2:
        bad("items", "a bundle needs at least two items (always included or added by a question)")

    limit = bundle.get("promised_limit_days")
    if isinstance(limit, int) and known:
        longest = max(known.values(), key=lambda i: i.get("legal_limit_days", 0))
        if limit > longest.get("legal_limit_days", 0):
            bad("promised_limit_days",
                f"the bundle's limit ({limit}) is longer than the longest legal limit of its items "
                f"({longest['legal_limit_days']}, {longest['code']})")

    tiers = bundle.get("accepting_tiers")
    if isinstance(tiers, list):
        if not tiers:
            bad("accepting_tiers", "at least one tier must be able to accept the bundle")
        for tier in tiers:
            refusing = sorted(c for c, item in known.items() if tier not in item.get("accepting_tiers", ()))
            if tier in TIERS and refusing:
                bad("accepting_tiers", f"the {tier} tier cannot accept {', '.join(refusing)}")

    pairs = [p for p in bundle.get("prerequisites") or () if isinstance(p, dict)]
    for pair in _duplicates([(p.get("item"), p.get("requires")) for p in pairs]):
        bad("prerequisites", f"'{pair[0]}' requires '{pair[1]}' is listed twice")
    for pair in pairs:
        for item_code in (pair.get("item"), pair.get("requires")):
            if item_code is not None and item_code not in in_bundle:
                bad("prerequisites", f"item '{item_code}' is not in the bundle")
        if pair.get("item") is not None and pair.get("item") == pair.get("requires"):
            bad("prerequisites", f"item '{pair['item']}' cannot require itself")

    shared = [m for m in bundle.get("materials") or () if isinstance(m, dict)]
    for key in _duplicates([m.get("key") for m in shared if m.get("key")]):
        bad("materials", f"material key '{key}' is used twice")
    claimed = {}
    for material in shared:
        key = material.get("key", "?")
        for use in material.get("uses") or ():
            if not isinstance(use, dict) or "item" not in use or "material" not in use:
                continue
            item_code, material_code = use["item"], use["material"]
            if item_code not in in_bundle:
                bad("materials", f"{key}: item '{item_code}' is not in the bundle")
                continue
            item = known.get(item_code)
            if item is not None and material_code not in {m.get("code") for m in item.get("materials", ())}:
                bad("materials", f"{key}: item '{item_code}' has no material '{material_code}'")
            if (item_code, material_code) in claimed:
                bad("materials", f"{key}: {item_code} {material_code} is already listed "
                                 f"as '{claimed[item_code, material_code]}'")
            claimed.setdefault((item_code, material_code), key)
    return {field: list(dict.fromkeys(problems)) for field, problems in errors.items()}


def _duplicates(values):
    seen, twice = set(), []
    for value in values:
        if value in seen and value not in twice:
            twice.append(value)
        seen.add(value)
    return twice


# -- what a filing builds on -------------------------------------------------------------

def all_items(bundle):
    """Every item code the bundle may contain: the always-included ones, then each
    question's, in order, once."""
    codes = list(bundle.get("items", ()))
    for question in bundle.get("questions", ()):
        codes += question["adds"]
    return list(dict.fromkeys(codes))


def selected_items(bundle, yes):
    """The items a filing contains: the always-included ones plus those of every question
    answered yes (`yes`: the question codes answered yes). An unknown question code is a
    ValueError (the caller names it)."""
    known = {q["code"] for q in bundle.get("questions", ())}
    unknown = sorted(set(yes) - known)
    if unknown:
        raise ValueError(f"bundle '{bundle['code']}' has no question {', '.join(unknown)}")
    codes = list(bundle.get("items", ()))
    for question in bundle.get("questions", ()):
        if question["code"] in yes:
            codes += question["adds"]
    return list(dict.fromkeys(codes))


def material_identity(name):
    """The identity of a material a bundle does not declare: its name with width,
    case, spaces and punctuation normalized, so 「营业执照」 and 「营业执照 」 are one."""
    text = unicodedata.normalize("NFKC", name or "").lower()
    return "".join(ch for ch in text if not (ch.isspace() or unicodedata.category(ch).startswith("P")))


def merged_materials(bundle, items, codes=None):
    """The bundle's materials, each once: [{key, name, kind, copies, uses: [{item,
    material}], items: [codes]}] over `codes` (default: every item the bundle may contain;
    `items`: code -> payload). Declared shared materials first, in their order; then every
    other material by its normalized name (key "name:<identity>"), in item order. A
    material is core if any item needs it as core; copies are the most any item asks."""
    codes = all_items(bundle) if codes is None else list(codes)
    chosen = set(codes)
    declared = {}
    for shared in bundle.get("materials", ()):
        for use in shared["uses"]:
            declared[(use["item"], use["material"])] = shared
    merged = {}
    for shared in bundle.get("materials", ()):
        if any(use["item"] in chosen for use in shared["uses"]):
            merged[shared["key"]] = {"key": shared["key"], "name": shared["name"], "kind": None, "copies": 1,
                                     "uses": [], "items": []}
    for code in codes:
        for material in (items.get(code) or {}).get("materials", ()):
            shared = declared.get((code, material["code"]))
            if shared is not None:
                entry = merged[shared["key"]]
            else:
                key = "name:" + material_identity(material["name"])
                entry = merged.setdefault(key, {"key": key, "name": material["name"], "kind": None, "copies": 1,
                                                "uses": [], "items": []})
            entry["uses"].append({"item": code, "material": material["code"]})
            if code not in entry["items"]:
                entry["items"].append(code)
            entry["kind"] = "core" if "core" in (entry["kind"], material.get("kind")) else material.get("kind")
            entry["copies"] = max(entry["copies"], material.get("copies", 1))
    return [dict(entry, kind=entry["kind"] or "core") for entry in merged.values() if entry["uses"]]


def prerequisites_within(bundle, codes):
    """The 互为前置 pairs among `codes` (a filing's items): both decided in parallel,
    their results released together."""
    chosen = set(codes)
    return [p for p in bundle.get("prerequisites", ()) if p["item"] in chosen and p["requires"] in chosen]


def limit_saving(bundle, items, codes=None):
    """Working days the bundle's promise saves against the sum of its items' promised
    limits (each item done one after the other), over `codes` (default: every item)."""
    codes = all_items(bundle) if codes is None else codes
    total = sum((items.get(code) or {}).get("promised_limit_days", 0) for code in codes)
    return max(0, total - bundle["promised_limit_days"])


def bundle_view(bundle, items, yes=None):
    """A bundle as a counter reads it: the bundle, each of its items' name, department,
    limits and whether a question adds it, the merged materials and the working days its
    promise saves; with `yes` (question codes answered yes), for that selection only
    (`selected`), else for every item it may contain."""
    codes = all_items(bundle) if yes is None else selected_items(bundle, yes)
    conditional = {code for q in bundle.get("questions", ()) for code in q["adds"]}
    return dict(
        bundle,
        selected=codes,
        item_details=[{"code": code, "name": items[code]["name"], "department": items[code]["department"],
                       "authority_tier": items[code]["authority_tier"],
                       "legal_limit_days": items[code]["legal_limit_days"],
                       "promised_limit_days": items[code]["promised_limit_days"],
                       "status": items[code].get("status", "current"),
                       "conditional": code in conditional}
                      for code in codes if code in items],
        merged_materials=merged_materials(bundle, items, codes),
        prerequisites_selected=prerequisites_within(bundle, codes),
        days_saved=limit_saving(bundle, items, codes))
