"""Real stations in separate OS processes, for tests that cross the broker: the process
harness (deploy/drills/harness.py) with what the tests add to it.

`StationNetwork` is the harness's network with a data folder of its own per test network
(under TONGBAN_TEST_DATABASE=postgresql also its own PostgreSQL databases, dropped when it
closes: tests/support/databases.py), on the test broker (TONGBAN_TEST_AMQP_URI), with the
sample staff, and with the calls the tests make: HTTP as the sample user who would make
each request, messages published as a station, the catalogue's state at each station.
It does not seed a catalogue: the tests make their own.

    with StationNetwork(tmp_path) as net:
        net.start()                               # one process per station
        net.post(net.district_code, "/api/catalogue/items", {...})
        net.wait_until(lambda: net.converged(), timeout=10)
        net.stop("449901001001")                  # SIGTERM; kill() sends SIGKILL
        net.start_station("449901001001", sync_seconds=3600)
"""
import contextlib
import os
import sqlite3
from pathlib import Path

import yaml
from kombu import Connection, Producer

from deploy.broker_users import StationSecrets, station_uri
from deploy.drills import harness
from deploy.drills.harness import (  # noqa: F401  (what the test modules import from here)
    check_broker, delete_queues, free_port_block, queue_depth, station_queue_names, wait_until,
)
from deploy.settings import ROOT as REPO_ROOT, SAMPLE_USERS, HostSettings
from deploy.station_client import StationClient
from shared.trust.identities import broker_user
from tests.support import databases

TEST_DATA = REPO_ROOT / "tests" / "data"
SMALL_NETWORK = TEST_DATA / "network_small.yaml"

AMQP_URI = os.environ.get("TONGBAN_TEST_AMQP_URI", "amqp://guest:guest@127.0.0.1:5672/")
# a broker address nothing listens on: a station configured with it has no broker link
UNREACHABLE_AMQP_URI = "amqp://guest:guest@127.0.0.1:1/"

HTTP_TIMEOUT = 10


class StationNetwork(harness.StationNetwork):
    """A test network of real station processes. See the module docstring."""

    wait_until = staticmethod(wait_until)

    def __init__(self, workdir, network=SMALL_NETWORK, amqp_uri=AMQP_URI, sync_seconds=30.0,
                 base_port=None, root_args=(), run_args=(), declare=True,
                 startup_timeout=60.0, management_url=None):
        """`network`: a YAML path, or a dict written to `workdir`/network.yaml.
        `root_args` / `run_args`: extra options before `station` / after `run CODES`.
        `declare=False` leaves the broker alone (a network whose AMQP URI is unusable).
        `management_url`: of the broker at amqp_uri (default: its host, port 15672)."""
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        if isinstance(network, dict):
            path = self.workdir / "network.yaml"
            path.write_text(yaml.safe_dump(network, allow_unicode=True, sort_keys=False),
                            encoding="utf-8")
            network = path
        self.network_path = Path(network).resolve()
        self.data_dir = self.workdir / "data"
        self.data_dir.mkdir(exist_ok=True)
        # None: an SQLite file per station in data_dir; else PostgreSQL databases of this network
        self.database_template = databases.url_template()
        settings = HostSettings(network_path=str(self.network_path), amqp_uri=amqp_uri,
                                data_dir=str(self.data_dir), database_url=self.database_template or "",
                                sync_seconds=sync_seconds, sample_users=str(SAMPLE_USERS),
                                management_url=management_url or "", broker_secrets="")
        super().__init__(settings, root_args=("-v", *root_args), run_args=run_args, declare=declare, seed=False,
                         startup_timeout=startup_timeout)
        self.amqp_uri = amqp_uri
        self.base_port = settings.base_port = base_port or free_port_block(len(self.codes))
        # every call is made by the sample user who would make it (deploy/station_client.py)
        self.client = StationClient(self.url, timeout=HTTP_TIMEOUT, data_dir=self.data_dir)

    def close(self, grace=5.0):
        super().close(grace)
        databases.drop_network_databases(self.database_template)

    # -- the broker ------------------------------------------------------------------
    @property
    def secrets_path(self):
        return self.settings.secrets_path()

    def dead_letter_counts(self):
        """Messages waiting in every dead-letter queue of this network's stations."""
        return {name: self.queue_depth(name) for name in station_queue_names(self.network)
                if name.endswith(".dead")}

    def purge(self, *queue_names):
        with Connection(self.amqp_uri, connect_timeout=5) as connection:
            channel = connection.default_channel
            return sum(channel.queue_purge(queue=name) or 0 for name in queue_names)

    def station_amqp_uri(self, code):
        """The broker as station `code` connects to it, with its own credentials."""
        return station_uri(self.amqp_uri, code, StationSecrets(self.secrets_path).password_of(code))

    def publish(self, exchange, bodies, routing_key="", headers=None, as_station=None):
        """Publish each of `bodies` (JSON; an envelope's "message_id" becomes the
        message id) to the exchange named `exchange` as persistent messages, in order,
        each confirmed by the broker. `as_station`: as that station does, with its own
        broker user as the validated `user_id` (receivers accept nothing else)."""
        uri = self.station_amqp_uri(as_station) if as_station else self.amqp_uri
        user_id = {"user_id": broker_user(as_station)} if as_station else {}
        with Connection(uri, connect_timeout=5, transport_options={"confirm_publish": True}) as connection:
            producer = Producer(connection)
            for body in bodies:
                message_id = body.get("message_id") if isinstance(body, dict) else None
                producer.publish(body, exchange=exchange, routing_key=routing_key,
                                 serializer="json", delivery_mode=2, message_id=message_id,
                                 headers=headers or {}, retry=True, **user_id)

    @contextlib.contextmanager
    def rpc(self, timeout=10):
        """A nameko ClusterRpcProxy on this network's broker."""
        from nameko.standalone.rpc import ClusterRpcProxy
        with ClusterRpcProxy({"AMQP_URI": self.amqp_uri}, timeout=timeout) as proxy:
            yield proxy

    # -- HTTP ------------------------------------------------------------------------
    def request(self, method, code, path, json=None, params=None, headers=None, as_user=None):
        """`as_user`: a username of the station, False for no login, None for the sample
        user who would make this request (see deploy/station_client.py)."""
        return self.client.request(method, code, path, json=json, params=params, headers=headers,
                                   as_user=as_user, timeout=HTTP_TIMEOUT)

    def get(self, code, path, params=None, as_user=None):
        return self.request("GET", code, path, params=params, as_user=as_user)

    def post(self, code, path, json=None, headers=None, as_user=None):
        return self.request("POST", code, path, json=json, headers=headers, as_user=as_user)

    def patch(self, code, path, json=None, headers=None, as_user=None):
        return self.request("PATCH", code, path, json=json, headers=headers, as_user=as_user)

    def catalogue_summary(self, code):
        """{"version": ..., "content_hash": ...} of `code`'s copy of the catalogue."""
        response = self.get(code, "/api/catalogue")
        response.raise_for_status()
        return response.json()

    def catalogue_state(self, code):
        """(version, content_hash) of `code`'s copy: what replicas must agree on."""
        summary = self.catalogue_summary(code)
        return summary["version"], summary["content_hash"]

    def catalogue_states(self, codes=None):
        return {code: self.catalogue_state(code) for code in (codes or self.codes)}

    @property
    def replicas(self):
        return [code for code in self.codes if code != self.district_code]

    def converged(self, codes=None):
        """True when every replica in `codes` (default: all) has the district's hash."""
        master = self.catalogue_state(self.district_code)
        return all(self.catalogue_state(code) == master for code in (codes or self.replicas))

    # -- databases -------------------------------------------------------------------
    def database_url(self, code):
        """Station `code`'s database: its SQLite file, or its PostgreSQL database."""
        return databases.station_url(self.database_template, self.data_dir, code)

    def database_path(self, code):
        return self.data_dir / f"{code}.sqlite3"

    def copy_database(self, code, destination):
        """A consistent copy of `code`'s database (safe while it runs), to an SQLite file
        `destination`, or to a new database whose URL is `destination`."""
        if self.database_template or str(destination).startswith("postgresql"):
            return databases.copy_database(self.database_url(code), str(destination))
        destination = Path(str(destination).removeprefix("sqlite:///"))
        destination.parent.mkdir(parents=True, exist_ok=True)
        source = sqlite3.connect(f"file:{self.database_path(code)}?mode=ro", uri=True)
        target = sqlite3.connect(destination)
        try:
            source.backup(target)
        finally:
            target.close()
            source.close()
        return destination


def close_networks(networks, failed=False):
    """Close every network; after a failure first print the tails of the stations' logs."""
    for net in networks:
        try:
            if failed:
                print(f"\nstation logs under {net.workdir}:\n{net.log_tails(20)}")
        finally:
            net.close()
