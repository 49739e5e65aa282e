"""Provisional due dates recomputed at a station once their estimated year is known.

A due date counted across a year with neither official data nor a published schedule is
provisional (shared/cases/deadlines.py). When this station stores that year's schedule
(the district when it publishes it, a replica when the change reaches it), every running
case it holds with such dates is recomputed once, through the case desk: one
transaction per case, with a history entry by the system, and — outside the district —
the district's copy queued in the outbox in the same transaction, as for any change.

The sweep is idempotent (a recomputed case is no longer waiting for that year), so it
also runs when a station starts (a schedule stored just before a crash, or a newer
`chinesecalendar` that knows the year). A case that arrives later from another station
is recomputed when it is received (CaseWorkflow.receive_handover).
"""
import logging

from nameko.extensions import DependencyProvider
from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError

from services.cases.desk import CaseDesk
from services.observability import log_context
from services.station_context import station_context
from shared.cases import deadlines, states
from shared.db.models import Case
from shared.exceptions import Conflict
from shared.supervision.lights import RUNNING_STATUSES

log = logging.getLogger(__name__)

ATTEMPTS = 3  # per case, when a counter changed the case at the same moment
_STATUSES = sorted(RUNNING_STATUSES | {states.NEEDS_SUPPLEMENT})


class _NothingToDo(Exception):
    """The case needs no recomputing (any more): roll back, send nothing."""


class ProvisionalDueDates(CaseDesk):
    """The case desk's plumbing (one transaction per change, the district's copy in the
    outbox), used for the system's recomputation of provisional due dates."""

    def candidates(self):
        """Case numbers of the running cases held here whose provisional dates ran
        through a year this station's calendar now knows."""
        with self.database.reading() as session:
            calendar = self._workflow(session).calendar
            rows = session.execute(select(Case.case_no, Case.snapshot).where(
                Case.held_here.is_(True), Case.status.in_(_STATUSES)))
            return [case_no for case_no, snapshot in rows if deadlines.needs_recompute(snapshot, calendar)]

    def recompute_all(self):
        """Recompute every such case; returns the case numbers recomputed."""
        done = [case_no for case_no in self.candidates() if self.recompute(case_no)]
        if done:
            log.info("station %s: due dates of %d case(s) recomputed from the published holiday schedule",
                     self.info.code, len(done))
        return done

    def recompute(self, case_no):
        """Recompute one case if it still needs it; True if it was recomputed."""
        def operation(session, repo, workflow):
            result = workflow.recompute_provisional_due_dates(repo.load(case_no))
            if result is None:
                raise _NothingToDo()
            return result

        for attempt in range(1, ATTEMPTS + 1):
            with log_context(station=self.info.code, case_no=case_no):
                try:
                    self._run(operation)
                    return True
                except _NothingToDo:
                    return False
                except (Conflict, StaleDataError) as exc:  # changed at the counter meanwhile
                    if attempt == ATTEMPTS:
                        log.warning("station %s: due dates of case %s not recomputed (%s); the next "
                                    "sweep will", self.info.code, case_no, exc)
                        return False
                except Exception:
                    log.exception("station %s: recomputing the due dates of case %s failed",
                                  self.info.code, case_no)
                    return False
        return False


def recompute_safely(provisional):
    """Run a sweep; a failure is logged, never raised (the schedule is stored already)."""
    try:
        return provisional.recompute_all()
    except Exception:
        log.exception("station %s: recomputing provisional due dates failed", provisional.info.code)
        return []


class ProvisionalDueDatesProvider(DependencyProvider):
    """Injects the station's ProvisionalDueDates, and sweeps once when the container
    starts."""

    def setup(self):
        self.context = station_context(self.container.config)

    def start(self):
        self.container.spawn_managed_thread(lambda: recompute_safely(make(self.context)))

    def get_dependency(self, worker_ctx):
        return make(self.context)


def make(context):
    """ProvisionalDueDates over a StationContext (services/station_context.py)."""
    return ProvisionalDueDates(context.database, context.relay, context.info, context.clock.now)
