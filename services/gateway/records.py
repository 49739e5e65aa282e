"""Asks the district for a case this station does not hold (a resident may ask at any
counter). A question, so RPC; a short-lived proxy, since such questions are rare."""
import logging

import eventlet
from nameko.extensions import DependencyProvider
from nameko.standalone.rpc import ClusterRpcProxy

from services.config import STATION_KEY
from shared.messages import district_service_name
from shared.stations import ancestor_at

log = logging.getLogger(__name__)


class RecordsClient:
    def __init__(self, config):
        self.config = config
        district = ancestor_at(config[STATION_KEY], "district")
        self.service = district_service_name("cases", district)

    def lookup(self, case_no):
        try:
            with eventlet.Timeout(5):
                with ClusterRpcProxy({"AMQP_URI": self.config["AMQP_URI"]}) as cluster:
                    return getattr(cluster, self.service).find(case_no)
        except (eventlet.Timeout, Exception) as exc:
            log.warning("could not ask the district about case %s: %s", case_no, exc)
            return None


class DistrictRecords(DependencyProvider):
    def setup(self):
        self.client = RecordsClient(self.container.config)

    def get_dependency(self, worker_ctx):
        return self.client
