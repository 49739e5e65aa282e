"""Dependency provider for the district administrator's catalogue edits.

Each edit is one transaction: validate, record the new version, put the change event in
the outbox; after commit the relay publishes it to every replica's queue. After a year's
holiday schedule is published, the running cases the district holds whose due dates
estimated that year are recomputed (services/cases/provisional.py); each replica does the
same for its own cases when the schedule reaches it."""
import datetime as dt

from services.cases.provisional import ProvisionalDueDatesProvider, make, recompute_safely
from services.config import DATABASE_KEY, NETWORK_KEY, load_network
from services.relay import make_relay
from shared.catalogue.editing import CatalogueEditor
from shared.catalogue.store import CatalogueStore
from shared.db import outbox
from shared.db.database import get_database
from shared.messages import CATALOGUE_CHANGE, catalogue_exchange_name


def _now():
    return dt.datetime.now().astimezone()


def record_change(database, departments, district_code, operation, *args):
    """One edit in one transaction: the new version and its change event in the outbox.
    (change, the event's message id). Published at once by the gateway's relay; from the
    command line (`tongban catalogue bundle-add`), by the running district's relay sweep."""
    with database.transaction() as session:
        editor = CatalogueEditor(CatalogueStore(session), departments, _now)
        change = getattr(editor, operation)(*args)
        message_id = outbox.add_message(session, catalogue_exchange_name(district_code), "", CATALOGUE_CHANGE,
                                        change, district_code)
    return change, message_id


class CatalogueDesk:
    def __init__(self, database, relay, departments, district_code, provisional=None):
        self.database = database
        self.relay = relay
        self.departments = departments
        self.district_code = district_code
        self.provisional = provisional  # ProvisionalDueDates of the district's own cases

    def _change(self, operation, *args):
        change, message_id = record_change(self.database, self.departments, self.district_code, operation, *args)
        self.relay.flush([message_id])
        return change

    def add(self, data, made_by):
        return self._change("add", data, made_by)

    def edit(self, code, data, made_by):
        return self._change("edit", code, data, made_by)

    def delegate(self, code, data, made_by):
        return self._change("delegate", code, data, made_by)

    def retire(self, code, made_by):
        return self._change("retire", code, made_by)

    def add_bundle(self, data, made_by):
        return self._change("add_bundle", data, made_by)

    def edit_bundle(self, code, data, made_by):
        return self._change("edit_bundle", code, data, made_by)

    def retire_bundle(self, code, made_by):
        return self._change("retire_bundle", code, made_by)

    def publish_schedule(self, data, made_by):
        change = self._change("publish_schedule", data, made_by)
        if self.provisional is not None:
            recompute_safely(self.provisional)
        return change


class CatalogueEditing(ProvisionalDueDatesProvider):
    """Injects the CatalogueDesk (district only); as a ProvisionalDueDatesProvider, it
    also sweeps the district's provisional due dates once when the container starts."""

    def setup(self):
        super().setup()
        config = self.container.config
        self.database = get_database(config[DATABASE_KEY])
        self.network = load_network(config[NETWORK_KEY])
        self.relay = make_relay(config)

    def get_dependency(self, worker_ctx):
        return CatalogueDesk(self.database, self.relay,
                             set(self.network.departments), self.network.district_code,
                             make(self.context))
