"""Configuration keys of a station's containers, and a provider that reads them."""
from nameko.extensions import DependencyProvider

STATION_KEY = "TONGBAN_STATION"          # the station code this container serves
NETWORK_KEY = "TONGBAN_NETWORK"          # path of the district's YAML description
DATABASE_KEY = "TONGBAN_DATABASE_URL"    # this station's database
SYNC_INTERVAL_KEY = "TONGBAN_CATALOGUE_SYNC_SECONDS"
RELAY_SWEEP_KEY = "TONGBAN_RELAY_SWEEP_SECONDS"
CLOCK_FILE_KEY = "TONGBAN_CLOCK_FILE"    # a simulated clock's file (tests, simulation)
SUPERVISION_INTERVAL_KEY = "TONGBAN_SUPERVISION_SECONDS"
# the sample staff's names file: a station started with it creates its sample users
SAMPLE_USERS_KEY = "TONGBAN_SAMPLE_USERS"


class StationInfo:
    def __init__(self, station, network):
        self.station = station
        self.network = network

    @property
    def code(self):
        return self.station.code

    @property
    def tier(self):
        return self.station.tier

    @property
    def is_district(self):
        return self.station.code == self.network.district_code


_networks = {}


def load_network(path):
    from shared.stations import Network
    if path not in _networks:
        _networks[path] = Network.load(path)
    return _networks[path]


def station_info(config):
    """Which station a container's configuration is for, in its network."""
    network = load_network(config[NETWORK_KEY])
    return StationInfo(network.station(config[STATION_KEY]), network)


class Station(DependencyProvider):
    """Injects which station this container serves and the network it is part of."""

    def setup(self):
        self.info = station_info(self.container.config)

    def get_dependency(self, worker_ctx):
        return self.info
