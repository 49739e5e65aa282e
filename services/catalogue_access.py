"""Dependency providers over a station's copy of the catalogue."""
import logging

from nameko.extensions import DependencyProvider

from services.config import DATABASE_KEY
from shared.calendar import Schedule, WorkingDayCalendar
from shared.catalogue.bundles import all_items, bundle_view
from shared.catalogue.store import CatalogueGap, CatalogueStore
from shared.db.database import get_database

log = logging.getLogger(__name__)


class CatalogueReader:
    """What the counters ask of the catalogue; answered from this station's copy only,
    so it keeps working while the broker is unreachable."""

    def __init__(self, database):
        self.database = database

    def summary(self):
        with self.database.reading() as session:
            store = CatalogueStore(session)
            applied = store.last_applied_at()
            return {"version": store.version(), "content_hash": store.content_hash(),
                    "last_applied_at": applied.isoformat() + "Z" if applied else None}

    def version(self):
        with self.database.reading() as session:
            return CatalogueStore(session).version()

    def search(self, **filters):
        with self.database.reading() as session:
            return CatalogueStore(session).search(**filters)

    def get(self, code):
        with self.database.reading() as session:
            return CatalogueStore(session).get(code)

    def bundles(self, include_retired=False, tier=None):
        """The bundles (一件事), by code; with `tier`, those a counter of that tier accepts."""
        with self.database.reading() as session:
            found = CatalogueStore(session).bundles(include_retired)
        return [b for b in found if tier is None or tier in b["accepting_tiers"]]

    def bundle(self, code, yes=None):
        """A bundle with its items' details and merged materials (shared/catalogue/bundles.py
        bundle_view), for the questionnaire's `yes` answers if given."""
        with self.database.reading() as session:
            store = CatalogueStore(session)
            found = store.bundle(code)
            items = store.items_by_code(all_items(found))
        return bundle_view(found, items, yes)

    def calendar(self):
        with self.database.reading() as session:
            schedules = CatalogueStore(session).schedules()
        return WorkingDayCalendar(Schedule.from_dict(s) for s in schedules)


class CatalogueReplica(CatalogueReader):
    """A replica applies the master's changes strictly in version order."""

    def apply(self, change):
        """True if applied, False if already had; CatalogueGap if earlier ones are missing."""
        with self.database.transaction() as session:
            return CatalogueStore(session).apply(change)

    def apply_in_order(self, changes):
        """A page of changes (a sync's answer) in one transaction: a new station catching
        up on the whole catalogue commits once, not once per change. Stops at a gap,
        keeping what came before it. How many were applied."""
        applied = 0
        with self.database.transaction() as session:
            store = CatalogueStore(session)
            for change in sorted(changes, key=lambda c: c["version"]):
                try:
                    applied += store.apply(change)
                except CatalogueGap as gap:
                    log.warning("catalogue sync: %s; stopping this round", gap)
                    break
        return applied


class Catalogue(DependencyProvider):
    """Read access to the station's catalogue."""

    wrapper = CatalogueReader

    def setup(self):
        self.database = get_database(self.container.config[DATABASE_KEY])

    def get_dependency(self, worker_ctx):
        return self.wrapper(self.database)


class ReplicaCatalogue(Catalogue):
    wrapper = CatalogueReplica
