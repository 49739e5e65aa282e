"""The district's supervision patrol (电子监察), driven by a timer."""
from district.supervision_desk import Supervision
from services.config import SUPERVISION_INTERVAL_KEY
from services.timers import configured_timer


class SupervisionService:
    name = "supervision"

    supervision = Supervision()

    @configured_timer(SUPERVISION_INTERVAL_KEY, 60, eager=True)
    def patrol(self):
        self.supervision.patrol()
