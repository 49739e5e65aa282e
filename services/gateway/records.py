"""Asks the district about a case this station does not hold (a resident may ask at any
counter). A question, so RPC. The district checks the resident's query code itself and
answers only what the residents' status page shows (shared/cases/schemas.public_status).

The question is bounded: at most LOOKUP_SLOTS at a time per gateway, and an answer
(slot wait included) within TONGBAN_DISTRICT_LOOKUP_SECONDS, so a slow or absent district
never stalls a gateway's workers; without an answer the caller decides from its own copy."""
import logging
import os

import eventlet
from eventlet.semaphore import Semaphore

from services.district_rpc import DistrictRpcProxy

log = logging.getLogger(__name__)
LOOKUP_SECONDS_KEY = "TONGBAN_DISTRICT_LOOKUP_SECONDS"
LOOKUP_SECONDS = 1.0  # the district answers in ~30 ms
LOOKUP_SLOTS = 4


def lookup_seconds(config):
    """The district's time to answer: the container's setting, else the environment's."""
    return float(config.get(LOOKUP_SECONDS_KEY) or os.environ.get(LOOKUP_SECONDS_KEY) or LOOKUP_SECONDS)


class RecordsClient:
    def __init__(self, district_cases, slots, seconds):
        self.district_cases = district_cases
        self.slots = slots
        self.seconds = seconds

    def lookup(self, case_no, query_code):
        """(answered, view): the resident's view of the case from the district's record,
        None when unknown or the code is wrong; answered False when the district did not
        answer in time (or no slot came free)."""
        timer = eventlet.Timeout(self.seconds)
        try:
            with self.slots:
                return True, self.district_cases.find(case_no, query_code)
        except eventlet.Timeout as exc:
            if exc is not timer:
                raise
            log.warning("the district did not answer within %.1f s about case %s", self.seconds, case_no)
        except Exception as exc:  # the broker is down, the district refused: one line, no traceback
            log.warning("could not ask the district about case %s: %s: %s", case_no, type(exc).__name__, exc)
        finally:
            timer.cancel()
        return False, None


class DistrictRecords(DistrictRpcProxy):
    """Injects a RecordsClient for the district's `cases_<district>` service."""

    def __init__(self):
        super().__init__("cases")

    def setup(self):
        super().setup()
        self.slots = Semaphore(LOOKUP_SLOTS)
        self.seconds = lookup_seconds(self.container.config)

    def get_dependency(self, worker_ctx):
        return RecordsClient(super().get_dependency(worker_ctx), self.slots, self.seconds)
