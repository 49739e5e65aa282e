"""The catalogue replica every township and village runs.

It applies the district's change events from the station's own durable queue, and asks
the district for "changes since my version" when it starts, every sync interval, and
whenever an event shows a gap, so a station that was down or lost events converges by
itself. Once it has stored a year's holiday schedule, the running cases held here whose
due dates estimated that year are recomputed (services/cases/provisional.py).
"""
import logging

import eventlet
from nameko.dependency_providers import Config

from services.cases.provisional import ProvisionalDueDatesProvider, recompute_safely
from services.catalogue_access import ReplicaCatalogue
from services.config import SYNC_INTERVAL_KEY, Station
from services.district_rpc import DistrictRpcProxy
from services.handoff import handoff
from services.timers import configured_timer
from services.topology import station_catalogue_feed
from shared.catalogue.store import CatalogueGap
from shared.contract import load_message
from shared.trust.entitlement import check_from_district

log = logging.getLogger(__name__)

SYNC_PAGE = 1000
RPC_TIMEOUT_SECONDS = 10


class CatalogueReplicaService:
    name = "catalogue_replica"

    station = Station()
    catalogue = ReplicaCatalogue()
    district_catalogue = DistrictRpcProxy("catalogue")
    config = Config()
    provisional = ProvisionalDueDatesProvider()  # also sweeps once at start-up

    @handoff(queue_for_station=station_catalogue_feed)
    def on_catalogue_change(self, message):
        # through the contract first: a change that does not validate is dead-lettered
        # with its errors (shared/contract.py); the broker proved the sender
        # (services/handoff.py); only the district may change the catalogue, whatever
        # the broker's permissions let through
        message = load_message(message)
        check_from_district(message["sender"], self.station.code, message["kind"])
        change = message["body"]
        try:
            if self.catalogue.apply(change) and change["kind"] == "calendar":
                recompute_safely(self.provisional)
        except CatalogueGap as gap:
            log.info("station %s: %s; asking the district for what is missing",
                     self.station.code, gap)
            self._catch_up()

    @configured_timer(SYNC_INTERVAL_KEY, 30, eager=True)
    def sync_with_district(self):
        """At start-up and every interval. A failed attempt is retried with a growing pause
        (the first one may run before this container's RPC reply queue is ready), up to
        the sync interval."""
        delay, waited = 0.5, 0.0
        while not self._catch_up(timeout=2 if waited == 0 else RPC_TIMEOUT_SECONDS):
            if waited >= self.station_sync_interval():
                return
            eventlet.sleep(delay)
            waited += delay
            delay = min(delay * 2, 10)

    def station_sync_interval(self):
        return float(self.config.get(SYNC_INTERVAL_KEY, 30))

    def _catch_up(self, timeout=RPC_TIMEOUT_SECONDS):
        """Fetch and apply what the district has beyond this replica; False if it failed."""
        schedules = False  # a holiday schedule among what was applied
        try:
            while True:
                with eventlet.Timeout(timeout):
                    answer = self.district_catalogue.changes_since(
                        self.catalogue.version(), SYNC_PAGE)
                applied = self.catalogue.apply_in_order(answer["changes"])
                schedules |= bool(applied) and any(c["kind"] == "calendar" for c in answer["changes"])
                if len(answer["changes"]) < SYNC_PAGE or not applied:
                    return True
        except (eventlet.Timeout, Exception) as exc:  # the district may be unreachable
            log.warning("station %s: catalogue sync failed (%s); will retry",
                        self.station.code, exc)
            return False
        finally:
            if schedules:
                recompute_safely(self.provisional)
