"""Configuration keys of a station's containers, and a provider that reads them."""
import ssl

from nameko.extensions import DependencyProvider

STATION_KEY = "TONGBAN_STATION"          # the station code this container serves
NETWORK_KEY = "TONGBAN_NETWORK"          # path of the district's YAML description
DATABASE_KEY = "TONGBAN_DATABASE_URL"    # this station's database
SYNC_INTERVAL_KEY = "TONGBAN_CATALOGUE_SYNC_SECONDS"
RELAY_SWEEP_KEY = "TONGBAN_RELAY_SWEEP_SECONDS"
AUDIT_COPY_KEY = "TONGBAN_AUDIT_COPY_SECONDS"  # how often access-audit entries go to the district
HTTP_SOCKET_TIMEOUT_KEY = "TONGBAN_HTTP_SOCKET_TIMEOUT"  # seconds a connection may stay silent
# "1" on a station served behind HTTPS (a TLS proxy): its cookies carry Secure
# (services/web_desk/guard.py)
SECURE_COOKIES_KEY = "TONGBAN_SECURE_COOKIES"
CLOCK_FILE_KEY = "TONGBAN_CLOCK_FILE"    # a simulated clock's file (tests, simulation)
SUPERVISION_INTERVAL_KEY = "TONGBAN_SUPERVISION_SECONDS"
# the sample staff's names file: a station started with it creates its sample users
SAMPLE_USERS_KEY = "TONGBAN_SAMPLE_USERS"
# nameko's own key (nameko.constants.AMQP_SSL_CONFIG_KEY): the TLS options of every broker
# connection, nameko's consumers and RPC proxies and ours alike (amqp_ssl)
AMQP_SSL_KEY = "AMQP_SSL"


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


def amqp_ssl_options(amqp_uri, ca=None, cert=None, key=None):
    """The TLS options (kombu's and py-amqp's `ssl`) of a connection to `amqp_uri`: None
    for amqp://; for amqps://, the broker's certificate verified against the CA file `ca`
    (the system's CAs when not given) and its host name against the URI's, and `cert`
    (with `key`, unless the cert file holds the key) shown as this client's certificate.
    ValueError for TLS files with a plain amqp:// URI: they would be silently unused."""
    scheme = (amqp_uri or "").split("://", 1)[0].lower()
    if scheme != "amqps":
        if ca or cert or key:
            raise ValueError(f"TLS files given, but the broker URI is {scheme}://: use amqps:// (port 5671)")
        return None
    if key and not cert:
        raise ValueError("a client key without a client certificate")
    # server_hostname None: kombu puts the URI's host name there, so that it is checked
    options = {"cert_reqs": ssl.CERT_REQUIRED, "server_hostname": None}
    if ca:
        options["ca_certs"] = str(ca)
    if cert:
        options["certfile"] = str(cert)
    if key:
        options["keyfile"] = str(key)
    return options


def amqp_ssl(config):
    """The TLS options of the broker connections a container with `config` makes (a fresh
    dict: kombu fills in the host name), or None for a plain amqp:// broker. Every
    connection and publisher of ours takes them from here, as nameko's own do from
    config["AMQP_SSL"] (deploy/settings.py puts them there)."""
    options = config.get(AMQP_SSL_KEY)
    if options:
        return dict(options)
    return amqp_ssl_options(config.get("AMQP_URI", ""))
