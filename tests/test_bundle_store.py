"""一件事 bundles in the versioned catalogue, on both databases: the district's seed adds the
sample bundles with its items in one transaction; a bundle's add, edit and retire are
versions of the catalogue that a replica applies (from the sync's answer or from the
change event, through the contract) to the same bundle as the master's; a refused
bundle leaves the version, the log and the bundles as they were."""
import datetime as dt

import pytest

from deploy.seeding import load_bundles_file, load_catalogue_file, seed_catalogue
from deploy.settings import SAMPLE_CATALOGUE, SAMPLE_NETWORK
from shared.catalogue.editing import CatalogueEditor
from shared.catalogue.store import CatalogueStore
from shared.contract import dump_message, load_message
from shared.exceptions import Conflict, InvalidInput, NotFound
from shared.messages import CATALOGUE_CHANGE
from shared.stations import Network
from tests.support.databases import scratch_databases

NETWORK = Network.load(str(SAMPLE_NETWORK))
CLOCK = lambda: dt.datetime(2026, 12, 3, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))  # noqa: E731


class Catalogue:
    def __init__(self, db):
        self.db = db

    def edit(self, operation, *args):
        with self.db.transaction() as session:
            editor = CatalogueEditor(CatalogueStore(session), set(NETWORK.departments), CLOCK)
            return getattr(editor, operation)(*args, "管理员甲")

    def read(self, method, *args, **kwargs):
        with self.db.reading() as session:
            return getattr(CatalogueStore(session), method)(*args, **kwargs)

    def apply(self, change):
        with self.db.transaction() as session:
            return CatalogueStore(session).apply(change)


def seeded(db):
    """The sample catalogue's items, as the district's seed adds them, without bundles."""
    catalogue = Catalogue(db)
    with db.transaction() as session:
        editor = CatalogueEditor(CatalogueStore(session), set(NETWORK.departments), CLOCK)
        for item in load_catalogue_file(SAMPLE_CATALOGUE):
            editor.add(item, "样例")
    return catalogue


@pytest.fixture
def master(memory_db):
    return seeded(memory_db)


@pytest.fixture
def replica():
    with scratch_databases.database() as db:
        yield Catalogue(db)


def sample_bundle(code="B001"):
    return next(b for b in load_bundles_file(SAMPLE_CATALOGUE) if b["code"] == code)


def test_the_seed_adds_the_sample_bundles_with_the_items_in_one_go_and_a_replica_syncs_them(tmp_path, replica):
    with scratch_databases.database(sqlite_file=tmp_path / "district.sqlite3") as db:
        added = seed_catalogue(db.url, NETWORK, SAMPLE_CATALOGUE)
        district = Catalogue(db)
        items, bundles = load_catalogue_file(SAMPLE_CATALOGUE), load_bundles_file(SAMPLE_CATALOGUE)
        assert added == len(items)
        assert district.read("version") == len(items) + len(bundles)
        assert [b["code"] for b in district.read("bundles")] == sorted(b["code"] for b in bundles)
        assert all(b["status"] == "active" for b in district.read("bundles"))
        assert seed_catalogue(db.url, NETWORK, SAMPLE_CATALOGUE) == 0  # only into an empty catalogue
        # a starting station takes the whole catalogue by sync: items and bundles alike
        for change in district.read("changes_since", 0):
            assert replica.apply(change) is True
        assert replica.read("bundles") == district.read("bundles")
        assert replica.read("content_hash") == district.read("content_hash")


def test_add_edit_retire_are_versions_a_replica_applies_to_the_masters_bundle(master, replica):
    start = master.read("version")
    hash_without = master.read("content_hash")
    added = master.edit("add_bundle", sample_bundle())
    assert (added["version"], added["kind"], added["item_code"]) == (start + 1, "bundle", "B001")
    assert added["payload"]["version"] == start + 1 and added["payload"]["status"] == "active"
    assert master.read("content_hash") != hash_without
    edited = master.edit("edit_bundle", "B001", dict(sample_bundle(), promised_limit_days=4,
                                                     name="我要开餐馆（小餐饮）"))
    assert edited["payload"]["version"] == start + 2 and edited["payload"]["promised_limit_days"] == 4
    retired = master.edit("retire_bundle", "B001")
    assert retired["payload"]["status"] == "retired" and master.read("version") == start + 3

    for change in master.read("changes_since", 0):
        replica.apply(change)
    assert replica.read("version") == master.read("version")
    assert replica.read("bundle", "B001") == master.read("bundle", "B001")
    assert replica.read("bundles", include_retired=True) == master.read("bundles", include_retired=True)
    assert replica.read("bundles") == [] == master.read("bundles")
    assert replica.read("content_hash") == master.read("content_hash")
    # a filing made at an earlier version keeps that version's bundle
    assert replica.read("bundle_at_version", "B001", start + 1)["promised_limit_days"] == 5
    assert replica.read("bundle_at_version", "B001", start + 2)["name"] == "我要开餐馆（小餐饮）"
    with pytest.raises(NotFound):
        replica.read("bundle_at_version", "B001", start)
    # a bundle's code is not an item's version
    with pytest.raises(NotFound):
        replica.read("item_at_version", "B001", start + 3)
    # retired: it cannot be edited again, and its code is not free
    with pytest.raises(Conflict):
        master.edit("edit_bundle", "B001", sample_bundle())
    with pytest.raises(InvalidInput, match="already exists"):
        master.edit("add_bundle", sample_bundle())


def test_a_change_event_through_the_contract_applies_unchanged(master, replica):
    for change in master.read("changes_since", 0):
        replica.apply(change)
    change = master.edit("add_bundle", sample_bundle("B004"))
    message = load_message(dump_message(CATALOGUE_CHANGE, change, NETWORK.district_code))
    assert message["body"] == change
    assert replica.apply(message["body"]) is True
    assert replica.read("bundle", "B004") == master.read("bundle", "B004")


@pytest.mark.parametrize("operation,args", [
    ("add_bundle", (dict(sample_bundle("B002"), items=["SJ-005", "XX-404"], promised_limit_days=99,
                         accepting_tiers=["village"]),)),
    ("add_bundle", ("not a bundle",)),
    ("edit_bundle", ("B002", dict(sample_bundle("B002"), items=["MZ-001"], questions=[]))),
    ("edit_bundle", ("B002", dict(sample_bundle("B002"), code="B099"))),
    ("edit_bundle", ("B002", dict(sample_bundle("B002"), status="retired"))),
])
def test_a_refused_bundle_leaves_the_catalogue_as_it_was(master, operation, args):
    master.edit("add_bundle", sample_bundle("B002"))
    before = (master.read("version"), master.read("content_hash"), master.read("bundles", include_retired=True))
    with pytest.raises(InvalidInput) as refused:
        master.edit(operation, *args)
    assert (master.read("version"), master.read("content_hash"),
            master.read("bundles", include_retired=True)) == before
    if operation == "add_bundle" and isinstance(args[0], dict):
        assert {"items", "promised_limit_days", "accepting_tiers", "code"} <= set(refused.value.details)
        assert "XX-404" in refused.value.message and "village" in refused.value.message


def test_a_bundle_naming_an_item_retired_since_is_refused_when_edited(master):
    master.edit("add_bundle", sample_bundle("B012"))
    master.edit("retire", "ZJ-008")
    with pytest.raises(InvalidInput, match="'ZJ-008' is retired"):
        master.edit("edit_bundle", "B012", sample_bundle("B012"))
    assert master.read("bundle", "B012")["questions"][0]["adds"] == ["ZJ-008"]
