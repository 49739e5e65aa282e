"""The district's catalogue rules: how an item is added, edited, delegated and retired,
and how a bundle (一件事, shared/catalogue/bundles.py) is added, edited and retired.

Each operation validates everything first and only then records one new version, so a
refused change leaves the catalogue exactly as it was.
"""
from marshmallow import ValidationError

from shared.calendar import Schedule
from shared.catalogue.bundles import BundleSchema
from shared.catalogue.schemas import (
    DelegationSchema, ItemSchema, ScheduleSchema,
)
from shared.catalogue.store import BUNDLE
from shared.exceptions import Conflict, InvalidInput, NotFound
from shared.stations import TIER_RANK


def _validated(schema, data, what="item"):
    if not isinstance(data, dict):
        raise InvalidInput("the request body must be a JSON object")
    try:
        return schema.load(data)
    except ValidationError as err:
        raise InvalidInput(_summary(err.messages, what), details=err.messages) from None


def _summary(messages, what="item"):
    parts = []
    for field_name, problems in sorted(messages.items(), key=lambda kv: str(kv[0])):
        if isinstance(problems, dict):
            problems = [f"{k}: {v}" for k, v in problems.items()]
        parts.append(f"{field_name}: {'; '.join(str(p) for p in problems)}")
    return f"invalid {what} — " + " | ".join(parts)


class CatalogueEditor:
    def __init__(self, store, departments, clock):
        self.store = store
        self.departments = departments
        self.clock = clock

    def _schema(self):
        return ItemSchema(departments=self.departments)

    def add(self, data, made_by):
        item = _validated(self._schema(), data)
        try:
            self.store.get(item["code"])
        except NotFound:
            pass
        else:
            raise Conflict(f"an item with code '{item['code']}' already exists (edit it instead)")
        return self._record("add", dict(item, status="current"), made_by)

    def edit(self, code, changes, made_by):
        current = self._current(code)
        if not isinstance(changes, dict):
            raise InvalidInput("the request body must be a JSON object")
        if "code" in changes and changes["code"] != code:
            raise InvalidInput("code: an item's code cannot be changed")
        merged = {k: v for k, v in current.items() if k not in ("status", "version")}
        merged.update(changes)
        item = _validated(self._schema(), merged)
        return self._record("edit", dict(item, status="current"), made_by)

    def delegate(self, code, data, made_by):
        current = self._current(code)
        tier = _validated(DelegationSchema(), data)["authority_tier"]
        if TIER_RANK[tier] <= TIER_RANK[current["authority_tier"]]:
            raise Conflict(f"item '{code}' is decided at the {current['authority_tier']} tier: "
                           f"it can only be delegated to a lower tier")
        item = dict(current, authority_tier=tier)
        if tier not in item["accepting_tiers"]:
            item["accepting_tiers"] = [*item["accepting_tiers"], tier]
        item.pop("version")
        return self._record("delegate", item, made_by)

    def retire(self, code, made_by):
        current = self._current(code)
        item = dict(current, status="retired")
        item.pop("version")
        return self._record("retire", item, made_by)

    def publish_schedule(self, data, made_by):
        loaded = _validated(ScheduleSchema(), data)
        try:
            schedule = Schedule(loaded["year"], loaded["holidays"], loaded["workdays"])
        except ValueError as err:
            raise InvalidInput(f"schedule: {err}") from None
        return self.store.record("calendar", None, schedule.to_dict(), self.clock().isoformat(), made_by)

    # -- bundles (一件事) ------------------------------------------------------------------
    def add_bundle(self, data, made_by):
        if not isinstance(data, dict):
            raise InvalidInput("the request body must be a JSON object")
        schema = self._bundle_schema(data, existing=self.store.bundle_codes())
        bundle = _validated(schema, data, "bundle")
        return self._record_bundle(dict(bundle, status="active"), made_by)

    def edit_bundle(self, code, data, made_by):
        """A new version of the bundle: `data` is the whole bundle (what it leaves out takes
        its default); retiring is `retire_bundle`'s."""
        self._current_bundle(code)
        if not isinstance(data, dict):
            raise InvalidInput("the request body must be a JSON object")
        problems = {}
        if data.get("code", code) != code:
            problems["code"] = ["a bundle's code cannot be changed"]
        if data.get("status", "active") != "active":
            problems["status"] = ["retire a bundle by retiring it, not by editing it"]
        if problems:
            raise InvalidInput(_summary(problems, "bundle"), details=problems)
        bundle = {k: v for k, v in data.items() if k not in ("status", "version")}
        bundle["code"] = code
        bundle = _validated(self._bundle_schema(bundle), bundle, "bundle")
        return self._record_bundle(dict(bundle, status="active"), made_by)

    def retire_bundle(self, code, made_by):
        bundle = dict(self._current_bundle(code), status="retired")
        bundle.pop("version")
        return self._record_bundle(bundle, made_by)

    def _bundle_schema(self, data, existing=None):
        """The schema, with the catalogue's items the bundle names (as sent: not loaded yet)."""
        def listed(value):
            return value if isinstance(value, list) else []
        codes = listed(data.get("items")) + [c for q in listed(data.get("questions")) if isinstance(q, dict)
                                             for c in listed(q.get("adds"))]
        return BundleSchema(items=self.store.items_by_code(codes), existing=existing)

    def _current_bundle(self, code):
        bundle = self.store.bundle(code)
        if bundle["status"] == "retired":
            raise Conflict(f"bundle '{code}' is retired: it can no longer be changed")
        return bundle

    def _record_bundle(self, bundle, made_by):
        return self.store.record(BUNDLE, bundle["code"], bundle, self.clock().isoformat(), made_by)

    def _current(self, code):
        item = self.store.get(code)
        if item["status"] == "retired":
            raise Conflict(f"item '{code}' is retired: it can no longer be changed")
        return item

    def _record(self, kind, item, made_by):
        return self.store.record(kind, item["code"], item, self.clock().isoformat(), made_by)
