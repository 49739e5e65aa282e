"""The district's supervision patrol (电子监察), driven by a timer. Each warning or card
raised is logged with its case number and the station holding the case."""
import logging

from district.ratings import Ratings
from district.supervision_desk import Supervision
from services.config import SUPERVISION_INTERVAL_KEY
from services.observability.logs import log_context
from services.timers import configured_timer
from shared.messages import CASE_ALERT

log = logging.getLogger(__name__)


class SupervisionService:
    name = "supervision"

    supervision = Supervision()
    ratings = Ratings()

    @configured_timer(SUPERVISION_INTERVAL_KEY, 60, eager=True)
    def patrol(self):
        with log_context(station=self.supervision.info.code):
            for alert in self.supervision.patrol():
                with log_context(case_no=alert["case_no"], message_id=alert["message_id"],
                                 kind=CASE_ALERT if alert["message_id"] else None):
                    log.info("%s raised against %s for the case held at station %s",
                             alert["kind"], alert["department"], alert["station"])
            # the ratings' step (好差评): new ratings, defaults after 7 days, overdue rectifications
            done = self.ratings.patrol()
            if any(done.values()):
                log.info("ratings: %d copied, %d defaults given, %d rectifications opened, %d cards raised",
                         len(done["ratings"]), len(done["defaults"]), len(done["rectifications"]),
                         len(done["cards"]))
