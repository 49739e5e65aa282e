"""The district's catalogue master: answers replicas asking for the changes they lack."""
from services.catalogue_access import Catalogue
from services.consumers import rpc  # nameko's rpc, surviving a lost broker connection
from services.database import StationDatabase
from shared.catalogue.store import CatalogueStore

MAX_PAGE = 1000


class CatalogueMasterService:
    name = "catalogue"  # served as catalogue_<district code>

    database = StationDatabase()
    catalogue = Catalogue()

    @rpc
    def changes_since(self, version, limit=MAX_PAGE):
        """Every change after `version`, oldest first (at most `limit`)."""
        limit = max(1, min(int(limit), MAX_PAGE))
        with self.database.reading() as session:
            store = CatalogueStore(session)
            return {"version": store.version(), "changes": store.changes_since(int(version), limit)}

    @rpc
    def summary(self):
        return self.catalogue.summary()
