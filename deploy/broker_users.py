"""Every station's own broker user, made and kept up to date through RabbitMQ's
management API (shared/trust/identities.py says what each may do).

    secrets = StationSecrets(path)            # {station code: password}, mode 0600
    BrokerAdmin(admin_amqp_uri).ensure_station_users(network, secrets)

Idempotent: users, permissions and topic permissions are PUT every time (the broker
keeps one of each); a station without a password in the secrets file gets a new random
one. `rotate` gives chosen stations new passwords: the station must then restart with the
new file (its open connections keep working until they close).
"""
import os
import secrets as random_secrets
import tempfile
import urllib.parse
from pathlib import Path

import requests
import yaml
from kombu.utils.url import parse_url

from shared.messages import RPC_EXCHANGE
from shared.trust.identities import broker_user, permissions_for, rpc_topic_permissions

MANAGEMENT_PORT = 15672


class StationSecrets:
    """Broker passwords by station code, in a YAML file only its owner may read. A
    station's own machine needs only its own line."""

    def __init__(self, path):
        self.path = Path(path)

    def load(self):
        if not self.path.exists():
            return {}
        mode = self.path.stat().st_mode & 0o077
        if mode:
            raise PermissionError(f"{self.path} may be read by others (mode {oct(self.path.stat().st_mode)[-3:]}): "
                                  f"chmod 600 it")
        data = yaml.safe_load(self.path.read_text(encoding="utf-8")) or {}
        return {str(code): str(password) for code, password in data.items()}

    def password_of(self, code):
        return self.load().get(code)

    def save(self, passwords):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".broker-secrets-")
        with os.fdopen(handle, "w", encoding="utf-8") as out:  # mkstemp makes it 0600
            yaml.safe_dump(dict(sorted(passwords.items())), out)
        os.replace(tmp, self.path)

    def ensure(self, codes, rotate=()):
        """Every code has a password (new ones for `rotate`); returns them all."""
        passwords = self.load()
        changed = False
        for code in codes:
            if code not in passwords or code in rotate:
                passwords[code] = random_secrets.token_urlsafe(24)
                changed = True
        if changed:
            self.save(passwords)
        return passwords


def station_uri(base_uri, station_code, password):
    """`base_uri` (host, port, virtual host, options) with the station's own credentials."""
    parts = urllib.parse.urlsplit(base_uri)
    host = parts.hostname or "localhost"
    netloc = f"{urllib.parse.quote(broker_user(station_code), safe='')}:{urllib.parse.quote(password, safe='')}@" \
             f"{host}{f':{parts.port}' if parts.port else ''}"
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


class BrokerAdmin:
    """RabbitMQ's management API, with an administrator's credentials."""

    def __init__(self, admin_amqp_uri, management_url=None, timeout=10):
        url = parse_url(admin_amqp_uri)
        self.vhost = url.get("virtual_host") or "/"
        self.auth = (url.get("userid") or "guest", url.get("password") or "guest")
        self.base = (management_url or os.environ.get("TONGBAN_MANAGEMENT_URL")
                     or f"http://{url.get('hostname') or 'localhost'}:{MANAGEMENT_PORT}").rstrip("/")
        self.timeout = timeout
        self.http = requests.Session()

    def _put(self, path, body):
        response = self.http.put(f"{self.base}/api/{path}", json=body, auth=self.auth, timeout=self.timeout)
        if response.status_code not in (201, 204):
            raise RuntimeError(f"the broker's management API refused PUT /api/{path}: "
                               f"{response.status_code} {response.text[:200]}")

    def ensure_station_user(self, code, password):
        user = urllib.parse.quote(broker_user(code), safe="")
        vhost = urllib.parse.quote(self.vhost, safe="")
        self._put(f"users/{user}", {"password": password, "tags": ""})
        configure, write, read = permissions_for(code)
        self._put(f"permissions/{vhost}/{user}", {"configure": configure, "write": write, "read": read})
        topic_write, topic_read = rpc_topic_permissions(code)
        self._put(f"topic-permissions/{vhost}/{user}",
                  {"exchange": RPC_EXCHANGE, "write": topic_write, "read": topic_read})

    def ensure_station_users(self, network, secrets, rotate=()):
        """A user for every station of `network`; returns how many."""
        passwords = secrets.ensure(list(network.stations), rotate)
        for code in network.stations:
            self.ensure_station_user(code, passwords[code])
        return len(network.stations)


def prepare_broker(admin_amqp_uri, network, secrets_path, management_url=None, rotate=(), ssl=None):
    """What an administrator sets up on the broker before any station of `network`
    starts: every exchange, queue and binding, and every station's user. `ssl`: the TLS
    options of an amqps:// connection (HostSettings.amqp_ssl())."""
    from services.topology import declare_network
    declare_network(admin_amqp_uri, network, ssl)
    return BrokerAdmin(admin_amqp_uri, management_url).ensure_station_users(
        network, StationSecrets(secrets_path), rotate)
