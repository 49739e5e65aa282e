"""Catalogue rules without a broker: validation, versions, and replicas built from the
master's changes (in-memory SQLite station databases)."""
import datetime as dt
import random

import pytest

from shared.catalogue.editing import CatalogueEditor
from shared.catalogue.schemas import ItemSchema
from shared.catalogue.store import CatalogueGap, CatalogueStore
from shared.exceptions import Conflict, InvalidInput, NotFound
from tests.support.databases import scratch_databases
from tests.support.items import DEPARTMENTS, immediate, item, joint, licence, plan_with_every_kind

CLOCK = lambda: dt.datetime(2026, 9, 30, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))  # noqa: E731


class Catalogue:
    """A station database with the editor over it; each call is one transaction."""

    def __init__(self, db):
        self.db = db

    def edit(self, operation, *args):
        with self.db.transaction() as session:
            editor = CatalogueEditor(CatalogueStore(session), set(DEPARTMENTS), CLOCK)
            return getattr(editor, operation)(*args, "tests")

    def run(self, op):
        """Apply a tests.support.items.Op."""
        with self.db.transaction() as session:
            return op.apply_to(CatalogueEditor(CatalogueStore(session), set(DEPARTMENTS), CLOCK))

    def read(self, method, *args, **kwargs):
        with self.db.reading() as session:
            return getattr(CatalogueStore(session), method)(*args, **kwargs)

    def apply(self, change):
        with self.db.transaction() as session:
            return CatalogueStore(session).apply(change)

    @property
    def version(self):
        return self.read("version")


@pytest.fixture
def master(memory_db):
    return Catalogue(memory_db)


@pytest.fixture
def replica():
    with scratch_databases.database() as db:
        yield Catalogue(db)


def without(data, *keys):
    return {k: v for k, v in data.items() if k not in keys}


# -- refused items -------------------------------------------------------------------
INVALID_ITEMS = {
    "missing name": (without(item("MZ-001"), "name"), ["name"]),
    "promised above legal": (item("MZ-001", legal_limit_days=5, promised_limit_days=8),
                             ["promised_limit_days"]),
    "unknown department": (item("MZ-001", department="space_agency"), ["department"]),
    "licence without core material": (
        licence("SJ-001", materials=[{"code": "A1", "name": "副本", "kind": "secondary"}]),
        ["materials"]),
    "joint with one department": (joint("LB-001", joint_departments=["health"]),
                                  ["joint_departments"]),
    "bad code": (item("mz001"), ["code"]),
    "unknown field": (item("MZ-001", colour="blue"), ["colour"]),
}


@pytest.mark.parametrize("case", INVALID_ITEMS, ids=list(INVALID_ITEMS))
def test_invalid_item_is_refused_naming_the_field(master, case):
    data, fields = INVALID_ITEMS[case]
    master.edit("add", item("OK-001"))
    with pytest.raises(InvalidInput) as refused:
        master.edit("add", data)
    for field in fields:
        assert field in refused.value.details
        assert field in refused.value.message
    assert master.version == 1
    assert master.read("search", include_retired=True)[0] == 1


def test_every_problem_of_an_item_is_named_at_once(master):
    data = without(item("bad code", department="nowhere", category="licence",
                        processing_type="joint", joint_departments=["health"],
                        legal_limit_days=3, promised_limit_days=9,
                        materials=[], colour="red"), "name")
    with pytest.raises(InvalidInput) as refused:
        master.edit("add", data)
    expected = {"code", "name", "department", "joint_departments", "promised_limit_days",
                "materials", "colour"}
    assert expected <= set(refused.value.details)
    for field in expected:
        assert field in refused.value.message
    assert master.version == 0


def test_schema_without_department_list_accepts_any_department():
    loaded = ItemSchema().load(item("MZ-001", department="anything"))
    assert loaded["department"] == "anything"
    assert loaded["fee"] == 0 and loaded["decision_steps"] == ["review", "approve"]


def test_immediate_item_must_promise_zero_days(master):
    with pytest.raises(InvalidInput) as refused:
        master.edit("add", immediate("JB-001", promised_limit_days=2))
    assert "promised_limit_days" in refused.value.details
    assert master.version == 0


def test_invalid_edit_is_refused_and_changes_nothing(master):
    master.edit("add", item("MZ-001"))
    before = master.read("get", "MZ-001")
    with pytest.raises(InvalidInput) as refused:
        master.edit("edit", "MZ-001", {"promised_limit_days": 30, "department": "nowhere"})
    assert {"promised_limit_days", "department"} <= set(refused.value.details)
    with pytest.raises(InvalidInput):
        master.edit("edit", "MZ-001", {"code": "MZ-002"})
    assert master.version == 1
    assert master.read("get", "MZ-001") == before


def test_duplicate_code_is_a_conflict(master):
    master.edit("add", item("MZ-001"))
    with pytest.raises(Conflict):
        master.edit("add", item("MZ-001", name="另一个事项"))
    assert master.version == 1


# -- versions --------------------------------------------------------------------------
def test_add_edit_delegate_retire_each_make_a_new_version(master):
    added = master.edit("add", item("MZ-001"))
    assert (added["version"], added["kind"]) == (1, "add")
    edited = master.edit("edit", "MZ-001", {"name": "最低生活保障申请", "fee": 5})
    assert (edited["version"], edited["kind"]) == (2, "edit")
    delegated = master.edit("delegate", "MZ-001", {"authority_tier": "township"})
    assert (delegated["version"], delegated["kind"]) == (3, "delegate")
    retired = master.edit("retire", "MZ-001")
    assert (retired["version"], retired["kind"]) == (4, "retire")
    assert master.version == 4

    current = master.read("get", "MZ-001")
    assert current["status"] == "retired" and current["version"] == 4
    assert current["name"] == "最低生活保障申请" and current["authority_tier"] == "township"
    # a case keeps the item as it was when it was filed
    assert master.read("item_at_version", "MZ-001", 1)["name"] == item("MZ-001")["name"]
    assert master.read("item_at_version", "MZ-001", 3)["status"] == "current"
    with pytest.raises(NotFound):
        master.read("item_at_version", "MZ-001", 0)
    # retired items are kept, only hidden from the default search
    assert master.read("search")[0] == 0
    assert master.read("search", include_retired=True)[0] == 1


def test_retired_item_cannot_be_changed(master):
    master.edit("add", item("MZ-001"))
    master.edit("retire", "MZ-001")
    with pytest.raises(Conflict):
        master.edit("edit", "MZ-001", {"name": "复活的事项"})
    with pytest.raises(Conflict):
        master.edit("delegate", "MZ-001", {"authority_tier": "township"})
    with pytest.raises(Conflict):
        master.edit("retire", "MZ-001")
    assert master.version == 2


def test_unknown_item_cannot_be_changed(master):
    with pytest.raises(NotFound):
        master.edit("edit", "MZ-404", {"name": "不存在"})
    assert master.version == 0


def test_delegation_only_goes_down(master):
    master.edit("add", item("MZ-001", accepting_tiers=["district"]))
    with pytest.raises(Conflict):
        master.edit("delegate", "MZ-001", {"authority_tier": "district"})
    delegated = master.edit("delegate", "MZ-001", {"authority_tier": "township"})
    # the tier that now decides can also accept it
    assert delegated["payload"]["accepting_tiers"] == ["district", "township"]
    for tier in ("district", "township"):
        with pytest.raises(Conflict):
            master.edit("delegate", "MZ-001", {"authority_tier": tier})
    with pytest.raises(InvalidInput):
        master.edit("delegate", "MZ-001", {"authority_tier": "province"})
    master.edit("delegate", "MZ-001", {"authority_tier": "village"})
    with pytest.raises(Conflict):
        master.edit("delegate", "MZ-001", {"authority_tier": "township"})
    assert master.version == 3
    assert master.read("get", "MZ-001")["authority_tier"] == "village"


def test_published_schedule_is_a_version_and_changes_the_hash(master):
    master.edit("add", item("MZ-001"))
    before = master.read("content_hash")
    change = master.edit("publish_schedule", {"year": 2027, "holidays": ["2027-01-01"]})
    assert (change["version"], change["kind"], change["item_code"]) == (2, "calendar", None)
    assert master.read("schedules") == [{"year": 2027, "holidays": ["2027-01-01"], "workdays": []}]
    assert master.read("content_hash") != before
    with pytest.raises(InvalidInput):
        master.edit("publish_schedule", {"year": 2027, "holidays": ["2026-12-31"]})
    assert master.version == 2


# -- replicas --------------------------------------------------------------------------
def test_apply_duplicate_returns_false_and_gap_raises(master, replica):
    master.edit("add", item("MZ-001"))
    master.edit("edit", "MZ-001", {"fee": 3})
    master.edit("add", licence("SJ-001"))
    first, second, third = master.read("changes_since", 0)
    assert replica.apply(first) is True
    assert replica.apply(first) is False
    with pytest.raises(CatalogueGap) as gap:
        replica.apply(third)
    assert (gap.value.have, gap.value.got) == (1, 3)
    assert replica.version == 1
    assert replica.apply(second) is True and replica.apply(third) is True
    assert replica.apply(second) is False
    assert replica.version == 3


def test_replica_fed_shuffled_changes_has_the_master_hash(master, replica):
    for op in plan_with_every_kind("HX", 60, seed=7):
        master.run(op)
    master.edit("publish_schedule", {"year": 2027, "holidays": ["2027-01-01"],
                                     "workdays": ["2027-02-06"]})
    changes = master.read("changes_since", 0)
    assert [c["version"] for c in changes] == list(range(1, 62))

    shuffled = changes * 2  # every event delivered twice
    random.Random(3).shuffle(shuffled)
    gaps = 0
    for change in shuffled:
        try:
            replica.apply(change)
        except CatalogueGap:
            gaps += 1
            # what the replica service does: ask for what it lacks, apply in order
            for missing in master.read("changes_since", replica.version):
                assert replica.apply(missing) is True
    assert gaps > 0
    assert replica.version == master.version == 61
    assert replica.read("content_hash") == master.read("content_hash")
    assert replica.read("schedules") == master.read("schedules")
    assert replica.read("search", include_retired=True) == master.read("search", include_retired=True)


def test_hash_tells_different_catalogues_apart(master, replica):
    master.edit("add", item("MZ-001"))
    replica.apply(master.read("changes_since", 0)[0])
    assert replica.read("content_hash") == master.read("content_hash")
    master.edit("edit", "MZ-001", {"fee": 1})
    assert replica.read("content_hash") != master.read("content_hash")
