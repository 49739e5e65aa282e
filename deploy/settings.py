"""Where a host finds the broker, the network description and the station databases."""
import os
from dataclasses import dataclass, field
from pathlib import Path

from kombu.utils.url import parse_url

from shared.notices.channels import CHANNEL_KEY
from services.config import (
    AUDIT_COPY_KEY,
    AMQP_SSL_KEY, CLOCK_FILE_KEY, DATABASE_KEY, HTTP_SOCKET_TIMEOUT_KEY, NETWORK_KEY, RELAY_SWEEP_KEY,
    SAMPLE_USERS_KEY, SECURE_COOKIES_KEY, STATION_KEY, SUPERVISION_INTERVAL_KEY, SYNC_INTERVAL_KEY,
    amqp_ssl_options,
)
from services.hall import HALL_SWEEP_KEY

ROOT = Path(__file__).resolve().parent.parent


class NoBrokerIdentity(RuntimeError):
    """A station has no broker user of its own to connect as."""


SAMPLE_NETWORK = ROOT / "district" / "data" / "jiedong.yaml"
SAMPLE_CATALOGUE = ROOT / "district" / "data" / "catalogue.yaml"
SAMPLE_USERS = ROOT / "district" / "data" / "users.yaml"


@dataclass
class HostSettings:
    network_path: str = str(SAMPLE_NETWORK)
    amqp_uri: str = os.environ.get("TONGBAN_AMQP_URI", "amqp://guest:guest@127.0.0.1:5672/")
    data_dir: str = os.environ.get("TONGBAN_DATA", str(ROOT / "var" / "data"))
    # "{station}" is replaced by the station code; the default is one SQLite file each
    database_url: str = os.environ.get("TONGBAN_DATABASE_URL", "")
    # the address stations listen on (0.0.0.0 in a container, to be reachable from outside)
    http_host: str = os.environ.get("TONGBAN_HTTP_HOST", "127.0.0.1")
    base_port: int = int(os.environ.get("TONGBAN_BASE_PORT", "8800"))
    sync_seconds: float = 30.0
    sweep_seconds: float = 1.0
    # how often a station sends its access-audit entries to the district, in batches
    audit_copy_seconds: float = float(os.environ.get("TONGBAN_AUDIT_COPY_SECONDS", "10"))
    # how often a station marks the appointments of ended half days that were not kept as missed
    hall_sweep_seconds: float = float(os.environ.get("TONGBAN_HALL_SWEEP_SECONDS", "300"))
    max_workers: int = 10
    clock_file: str = os.environ.get("TONGBAN_CLOCK_FILE", "")
    supervision_seconds: float = 60.0
    # a names file: each station creates its sample staff when it starts (see shared/auth/staffing.py)
    sample_users: str = ""
    # {station code: broker password} (mode 0600), default broker-secrets.yaml in data_dir:
    # each station connects to `amqp_uri`'s broker as its own user (deploy/broker_users.py)
    broker_secrets: str = os.environ.get("TONGBAN_BROKER_SECRETS", "")
    # the broker's management API, where `tongban network declare` makes the station users
    # (default: http://<amqp_uri's host>:15672)
    management_url: str = os.environ.get("TONGBAN_MANAGEMENT_URL", "")
    # TLS to the broker (an amqps:// URI): the CA that signed the broker's certificate
    # (default: the system's CAs) and this machine's client certificate and key
    amqp_ca: str = os.environ.get("TONGBAN_AMQP_CA", "")
    amqp_cert: str = os.environ.get("TONGBAN_AMQP_CERT", "")
    amqp_key: str = os.environ.get("TONGBAN_AMQP_KEY", "")
    # seconds an HTTP connection may stay silent before the station drops it (slowloris)
    http_socket_timeout: float = float(os.environ.get("TONGBAN_HTTP_SOCKET_TIMEOUT", "20"))
    # behind an HTTPS proxy: the web desk's cookies carry Secure (services/web_desk/guard.py)
    secure_cookies: bool = os.environ.get("TONGBAN_SECURE_COOKIES", "").lower() in ("1", "true", "yes", "on")
    extra: dict = field(default_factory=dict)

    def database_for(self, station_code):
        if self.database_url:
            return self.database_url.format(station=station_code)
        Path(self.data_dir).mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{Path(self.data_dir) / station_code}.sqlite3"

    def secrets_path(self):
        return Path(self.broker_secrets) if self.broker_secrets else Path(self.data_dir) / "broker-secrets.yaml"

    def station_amqp_uri(self, station_code):
        """`amqp_uri` with the station's own broker credentials from the secrets file.
        NoBrokerIdentity if it has none: a station never connects as anyone else."""
        from deploy.broker_users import StationSecrets, station_uri
        from shared.trust.identities import broker_user
        password = StationSecrets(self.secrets_path()).password_of(station_code)
        if password is None:
            if parse_url(self.amqp_uri).get("userid") == broker_user(station_code):
                return self.amqp_uri  # the URI names the station's user already
            raise NoBrokerIdentity(
                f"station {station_code} has no broker identity in {self.secrets_path()}: run "
                f"`tongban network declare` with the broker administrator's --amqp URI (or give the station's "
                f"own user in --amqp)")
        return station_uri(self.amqp_uri, station_code, password)

    def amqp_ssl(self):
        """The TLS options of every broker connection made with these settings (None for
        amqp://); ValueError for TLS files with an amqp:// URI."""
        return amqp_ssl_options(self.amqp_uri, self.amqp_ca or None, self.amqp_cert or None,
                                self.amqp_key or None)

    def port_for(self, network, station_code):
        return self.base_port + list(network.stations).index(station_code)

    def container_config(self, network, station_code):
        config = {
            "AMQP_URI": self.station_amqp_uri(station_code),
            "WEB_SERVER_ADDRESS": f"{self.http_host}:{self.port_for(network, station_code)}",
            "max_workers": self.max_workers,
            "HEARTBEAT": 60,
            HTTP_SOCKET_TIMEOUT_KEY: self.http_socket_timeout,
            SECURE_COOKIES_KEY: self.secure_cookies,
            STATION_KEY: station_code,
            NETWORK_KEY: self.network_path,
            DATABASE_KEY: self.database_for(station_code),
            SYNC_INTERVAL_KEY: self.sync_seconds,
            RELAY_SWEEP_KEY: self.sweep_seconds,
            AUDIT_COPY_KEY: self.audit_copy_seconds,
            HALL_SWEEP_KEY: self.hall_sweep_seconds,
            SUPERVISION_INTERVAL_KEY: self.supervision_seconds,
        }
        tls = self.amqp_ssl()
        if tls:  # nameko's consumers and RPC proxies read it, and our own connections (amqp_ssl)
            config[AMQP_SSL_KEY] = tls
        if self.clock_file:
            config[CLOCK_FILE_KEY] = self.clock_file
        if self.sample_users:
            config[SAMPLE_USERS_KEY] = self.sample_users
        # notices to residents: the configured channel (TONGBAN_NOTICE_CHANNEL, e.g. a real
        # SMS gateway), else one JSON file per notice under the data folder, so a
        # development district shows what its residents would receive
        config.setdefault(CHANNEL_KEY, os.environ.get(CHANNEL_KEY)
                          or f"file:{Path(self.data_dir) / 'notices' / station_code}")
        config.update(self.extra)
        return config
