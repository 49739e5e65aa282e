"""Asks the district about a case this station does not hold (a resident may ask at any
counter). A question, so RPC. The district checks the resident's ID digits itself and
answers only what the residents' status page shows (shared/cases/schemas.public_status)."""
import logging

import eventlet

from services.district_rpc import DistrictRpcProxy

log = logging.getLogger(__name__)
LOOKUP_SECONDS = 5


class RecordsClient:
    def __init__(self, district_cases):
        self.district_cases = district_cases

    def lookup(self, case_no, id_last4):
        """The resident's view of the case from the district's record, or None (unknown,
        wrong digits, or the district did not answer in time)."""
        try:
            with eventlet.Timeout(LOOKUP_SECONDS):
                return self.district_cases.find(case_no, id_last4)
        except (eventlet.Timeout, Exception) as exc:
            log.warning("could not ask the district about case %s: %s", case_no, exc)
            return None


class DistrictRecords(DistrictRpcProxy):
    """Injects a RecordsClient for the district's `cases_<district>` service."""

    def __init__(self):
        super().__init__("cases")

    def get_dependency(self, worker_ctx):
        return RecordsClient(super().get_dependency(worker_ctx))
