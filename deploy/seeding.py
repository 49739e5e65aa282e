"""Loading the sample catalogue (its items, then its bundles) into the district's master copy."""
from pathlib import Path

import yaml

from shared.catalogue.editing import CatalogueEditor
from shared.catalogue.store import CatalogueStore
from shared.db.database import get_database
import datetime as dt


def load_catalogue_file(path):
    return yaml.safe_load(Path(path).read_text(encoding="utf-8"))["items"]


def load_bundles_file(path):
    """The file's bundles (一件事, shared/catalogue/bundles.py); none if it lists none."""
    return yaml.safe_load(Path(path).read_text(encoding="utf-8")).get("bundles") or []


def seed_catalogue(database_url, network, catalogue_path, made_by="样例数据导入"):
    """Add every item of the file, then every bundle, to an empty master catalogue, in one
    transaction. Returns items added. The changes are not published: every station asks the district
    for what it lacks when it starts (services/catalogue_replica.py), a whole catalogue in
    one answer and one transaction, where a hundred messages to each of 127 stations would
    be a hundred transactions each."""
    database = get_database(database_url)
    with database.reading() as session:
        if CatalogueStore(session).version() > 0:
            return 0
    items, bundles = load_catalogue_file(catalogue_path), load_bundles_file(catalogue_path)
    with database.transaction() as session:
        editor = CatalogueEditor(CatalogueStore(session), set(network.departments),
                                 lambda: dt.datetime.now().astimezone())
        for item in items:
            editor.add(item, made_by)
        for bundle in bundles:
            editor.add_bundle(bundle, made_by)
    return len(items)
