"""What a station's stateful providers share: who the station is, its database, its
outbox relay and its clock, built once from the container's configuration."""
from dataclasses import dataclass

from services.config import CLOCK_FILE_KEY, DATABASE_KEY, NETWORK_KEY, STATION_KEY, StationInfo, load_network
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
    network = load_network(config[NETWORK_KEY])
    return StationContext(info=StationInfo(network.station(config[STATION_KEY]), network),
                          database=get_database(config[DATABASE_KEY]), relay=make_relay(config),
                          clock=Clock(config.get(CLOCK_FILE_KEY)))
