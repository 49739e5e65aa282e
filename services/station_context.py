"""What a station's stateful providers share: who the station is, its database, its
outbox relay and its clock, built once from the container's configuration."""
from dataclasses import dataclass

from services.config import CLOCK_FILE_KEY, DATABASE_KEY, StationInfo, station_info
from services.relay import Relay, make_relay
from shared.clock import Clock
from shared.db.database import Database, get_database


@dataclass
class StationContext:
    info: StationInfo
    database: Database
    relay: Relay
    clock: Clock


def station_context(config):
    return StationContext(info=station_info(config),
                          database=get_database(config[DATABASE_KEY]), relay=make_relay(config),
                          clock=Clock(config.get(CLOCK_FILE_KEY)))
