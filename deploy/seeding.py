"""Loading the sample catalogue into the district's master copy."""
from pathlib import Path

import yaml

from shared.catalogue.editing import CatalogueEditor
from shared.catalogue.store import CatalogueStore
from shared.db import outbox
from shared.db.database import get_database
from shared.messages import CATALOGUE_CHANGE, catalogue_exchange_name
import datetime as dt


def load_catalogue_file(path):
    return yaml.safe_load(Path(path).read_text(encoding="utf-8"))["items"]


def seed_catalogue(database_url, network, catalogue_path, made_by="样例数据导入"):
    """Add every item of the file to an empty master catalogue. Returns items added."""
    database = get_database(database_url)
    with database.reading() as session:
        if CatalogueStore(session).version() > 0:
            return 0
    added = 0
    for item in load_catalogue_file(catalogue_path):
        with database.transaction() as session:
            editor = CatalogueEditor(CatalogueStore(session), set(network.departments),
                                     lambda: dt.datetime.now().astimezone())
            change = editor.add(item, made_by)
            outbox.add_message(session, catalogue_exchange_name(network.district_code), "", CATALOGUE_CHANGE, change,
                               network.district_code)
        added += 1
    return added
