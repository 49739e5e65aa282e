"""Catalogue items and sequences of catalogue changes for tests.

`item()` and friends build valid items (for the departments of tests/data/network_small.yaml);
`ChangePlan` produces a reproducible mix of add / edit / delegate / retire operations that
respects the catalogue's rules (only current items change, delegation only goes down), so
the same plan can be sent over HTTP to a district or applied to a `CatalogueEditor`.
"""
import random
from dataclasses import dataclass

# the departments of tests/data/network_small.yaml
DEPARTMENTS = ("civil_affairs", "human_resources", "market_regulation", "health", "agriculture")

LOWER_TIER = {"district": "township", "township": "village"}


def item(code, **overrides):
    """A valid promised public service decided at the district, accepted everywhere."""
    data = {
        "code": code,
        "name": f"测试事项{code}",
        "department": "civil_affairs",
        "category": "public_service",
        "processing_type": "promised",
        "legal_limit_days": 20,
        "promised_limit_days": 10,
        "authority_tier": "district",
        "accepting_tiers": ["district", "township", "village"],
        "materials": [
            {"code": "ID", "name": "申请人身份证", "kind": "core", "copies": 1},
            {"code": "HK", "name": "户口簿", "kind": "secondary", "copies": 1},
        ],
        "keywords": ["测试"],
        "guide": {"where": "各级便民服务窗口", "how_long": "10个工作日", "how_much": "不收费"},
    }
    data.update(overrides)
    return data


def licence(code, **overrides):
    return item(code, **{"category": "licence", "department": "market_regulation",
                         "name": f"许可事项{code}", **overrides})


def immediate(code, **overrides):
    return item(code, **{"processing_type": "immediate", "legal_limit_days": 5,
                         "promised_limit_days": 0, "department": "human_resources",
                         "name": f"即办事项{code}", **overrides})


def joint(code, **overrides):
    return item(code, **{"category": "licence", "processing_type": "joint",
                         "department": "market_regulation",
                         "joint_departments": ["market_regulation", "health"],
                         "legal_limit_days": 30, "promised_limit_days": 15,
                         "name": f"联办事项{code}", **overrides})


KINDS_OF_ITEM = (item, licence, immediate, joint)


@dataclass
class Op:
    """One catalogue operation, as the district's HTTP API takes it."""

    kind: str   # add | edit | delegate | retire
    code: str
    body: dict | None = None

    @property
    def http(self):
        """(method, path, json body, expected status)."""
        if self.kind == "add":
            return "POST", "/api/catalogue/items", self.body, 201
        if self.kind == "edit":
            return "PATCH", f"/api/catalogue/items/{self.code}", self.body, 200
        if self.kind == "delegate":
            return "POST", f"/api/catalogue/items/{self.code}/delegate", self.body, 200
        if self.kind == "retire":
            return "POST", f"/api/catalogue/items/{self.code}/retire", None, 200
        raise ValueError(self.kind)

    def apply_to(self, editor, made_by="tests"):
        """Apply with a shared.catalogue.editing.CatalogueEditor; returns the change."""
        if self.kind == "add":
            return editor.add(self.body, made_by)
        if self.kind == "edit":
            return editor.edit(self.code, self.body, made_by)
        if self.kind == "delegate":
            return editor.delegate(self.code, self.body, made_by)
        return editor.retire(self.code, made_by)


class ChangePlan:
    """A reproducible stream of valid catalogue operations on items `PREFIX-NNN`."""

    WEIGHTS = {"add": 4, "edit": 3, "delegate": 2, "retire": 1}

    def __init__(self, prefix, seed=0):
        if not (prefix.isalpha() and prefix.isupper() and 2 <= len(prefix) <= 4):
            raise ValueError("an item code prefix is 2-4 capital letters")
        self.prefix = prefix
        self.random = random.Random(seed)
        self.items = {}  # code -> {"tier": ..., "status": ..., "edits": n}
        self.next_number = 1

    def current(self):
        return [code for code, state in self.items.items() if state["status"] == "current"]

    def operations(self, count):
        return [self._next() for _ in range(count)]

    def _next(self):
        current = self.current()
        candidates = {
            "add": self.next_number <= 999,
            "edit": bool(current),
            "delegate": any(self.items[c]["tier"] in LOWER_TIER for c in current),
            # keep a few current items around so edits stay possible
            "retire": len(current) > 3,
        }
        kinds = [k for k, ok in candidates.items() if ok]
        kind = self.random.choices(kinds, weights=[self.WEIGHTS[k] for k in kinds])[0]
        return getattr(self, f"_{kind}")(current)

    def _add(self, _current):
        code = f"{self.prefix}-{self.next_number:03d}"
        self.next_number += 1
        factory = KINDS_OF_ITEM[(self.next_number - 2) % len(KINDS_OF_ITEM)]
        body = factory(code)
        if factory is item:
            body["department"] = self.random.choice(DEPARTMENTS)
        self.items[code] = {"tier": body["authority_tier"], "status": "current", "edits": 0}
        return Op("add", code, body)

    def _edit(self, current):
        code = self.random.choice(current)
        state = self.items[code]
        state["edits"] += 1
        n = state["edits"]
        body = {"name": f"测试事项{code}（第{n}次修订）", "fee": float(n),
                "keywords": ["测试", f"修订{n}"]}
        return Op("edit", code, body)

    def _delegate(self, current):
        code = self.random.choice([c for c in current if self.items[c]["tier"] in LOWER_TIER])
        tier = LOWER_TIER[self.items[code]["tier"]]
        self.items[code]["tier"] = tier
        return Op("delegate", code, {"authority_tier": tier})

    def _retire(self, current):
        code = self.random.choice(current)
        self.items[code]["status"] = "retired"
        return Op("retire", code)


def plan_with_every_kind(prefix, count, seed=0):
    """`count` operations that include at least one of each kind (tries seeds from `seed`)."""
    for attempt in range(seed, seed + 100):
        ops = ChangePlan(prefix, attempt).operations(count)
        if {op.kind for op in ops} == {"add", "edit", "delegate", "retire"}:
            return ops
    raise AssertionError(f"no plan of {count} operations has every kind")
