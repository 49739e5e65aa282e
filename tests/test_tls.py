"""AMQP over TLS: a case travels from a village to the district on a broker that speaks only
TLS to the stations and verifies every client's certificate.

A private RabbitMQ node (deploy/drills/harness.py) gets a TLS listener with
certificates made here by `trustme`: a CA, the node's certificate for 127.0.0.1 and
localhost, and a client certificate the stations show. A drill network (district, one
township, one village), every station in its own process, is started with
`--amqp amqps://... --amqp-ca --amqp-cert --amqp-key`, as a production station is
(deploy/examples); the administrator declares the network and makes the station users
over TLS too. Plain AMQP on the TLS port, a client without a certificate, a client whose
certificate another CA signed and a client that does not trust the broker's CA are all
refused.
"""
import re
import ssl

import click
import pytest
import requests
import trustme
from kombu import Connection

from deploy.drills import chaos
from deploy.cli import main as tongban
from services.config import amqp_ssl, amqp_ssl_options
from shared.trust.identities import broker_user
from tests.support import databases
from deploy.drills.harness import TlsFiles, private_broker, wait_until

DISTRICT = "449906"
TOWNSHIP = "449906001"
VILLAGE = "449906001201"


class Certificates:
    """PEM files in `folder`: the CA, the broker's certificate and key, a client's."""

    def __init__(self, folder):
        self.folder = folder
        ca = trustme.CA(organization_name="Tongban test CA")
        self.ca = self._write("ca.pem", ca.cert_pem.bytes())
        server = ca.issue_cert("127.0.0.1", "localhost", common_name="tongban test broker")
        self.server_cert = self._write("server.pem", b"".join(blob.bytes() for blob in server.cert_chain_pems))
        self.server_key = self._write("server.key", server.private_key_pem.bytes())
        client = ca.issue_cert("stations.tongban.test", common_name="tongban stations")
        self.client_cert = self._write("client.pem", b"".join(blob.bytes() for blob in client.cert_chain_pems))
        self.client_key = self._write("client.key", client.private_key_pem.bytes())
        # a client certificate the broker must not accept: another CA signed it
        stranger = trustme.CA(organization_name="Someone else").issue_cert("stranger.example")
        self.stranger_cert = self._write("stranger.pem", stranger.cert_chain_pems[0].bytes())
        self.stranger_key = self._write("stranger.key", stranger.private_key_pem.bytes())

    def _write(self, name, data):
        path = self.folder / name
        path.write_bytes(data)
        path.chmod(0o600 if name.endswith(".key") else 0o644)
        return str(path)


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    return Certificates(tmp_path_factory.mktemp("tls-certs"))


@pytest.fixture(scope="module")
def broker(certs):
    with private_broker(prefix="tongban_tls", tls=TlsFiles(certs.ca, certs.server_cert, certs.server_key)) as node:
        yield node


@pytest.fixture(scope="module")
def net(broker, certs, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("tls")
    template = databases.url_template("tls")
    network = chaos.DrillNetwork(
        workdir, chaos.write_drill_network(workdir / "network.yaml", DISTRICT, villages_per_township=1),
        broker.amqps_uri, database_url=template or "", management_url=broker.management_url,
        amqp_ca=certs.ca, amqp_cert=certs.client_cert, amqp_key=certs.client_key)
    try:
        try:
            network.start()
        except Exception:
            for code in network.network.stations:
                print(f"--- {code}\n{network.log_tail(code, 30)}")
            raise
        yield network
    finally:
        network.close()
        databases.drop_network_databases(template)


def connect(uri, ssl_options):
    """Open (and close) one AMQP connection: raises if the broker or the client refuses."""
    with Connection(uri, ssl=ssl_options, connect_timeout=5) as connection:
        connection.connect()
        return connection.connected


def refused(uri, ssl_options):
    """The error of a connection the broker refuses. Under TLS 1.3 the broker judges the
    client's certificate after the client has finished its handshake: the client then reads
    either the broker's alert (certificate required, unknown CA) or, if the broker has hung
    up first, an unexpected end of the stream."""
    with pytest.raises(OSError) as caught:
        connect(uri, ssl_options)
    message = str(caught.value)
    assert re.search(r"(?i)certificate.required|unknown.ca|EOF|reset|closed", message), message
    return message


def client_options(certs, cert=True, ca=True):
    return amqp_ssl_options("amqps://127.0.0.1/", certs.ca if ca else None,
                            certs.client_cert if cert else None, certs.client_key if cert else None)


# -- the network over TLS ---------------------------------------------------------------------
def test_a_case_filed_at_a_village_reaches_the_district_over_tls(net, broker):
    load = chaos.CaseLoad(net)
    load.file_one(0)
    [(case_no, village)] = load.answered.items()
    assert village == VILLAGE

    def at_district():
        response = net.client.get(DISTRICT, f"/api/cases/{case_no}")
        return response.ok and response.json()["status"] == "pending_review"
    wait_until(at_district, 60, message=f"case {case_no} at the district")

    # every station is connected as its own user, and only over TLS, showing the client
    # certificate: the management API lists each connection with its port and peer
    # (its statistics lag a few seconds behind)
    def connections():
        listed = requests.get(f"{broker.management_url}/api/connections", auth=("guest", "guest"),
                              timeout=10).json()
        users = {c["user"] for c in listed}
        return listed if all(broker_user(code) in users for code in net.network.stations) else None
    connections = wait_until(connections, 30, 1, "every station's connections in the management API")
    for code in net.network.stations:
        own = [c for c in connections if c["user"] == broker_user(code)]
        for connection in own:
            assert connection["ssl"] is True and connection["port"] == broker.tls_port, connection
            assert "tongban stations" in connection["peer_cert_subject"]
    assert not [c for c in connections if c["port"] == broker.port and c["user"] != "guest"]


def test_every_station_reaches_its_broker_over_tls(net):
    """The health check, the metrics' queue depths and the dead-letter box make broker
    connections of their own: all with the TLS options."""
    for code in net.network.stations:
        assert net.client.get(code, "/api/health").json()["broker_connected"] is True, code
    metrics = net.client.get(DISTRICT, "/api/metrics").text
    assert "tongban_broker_up 1.0" in metrics
    assert net.client.get(DISTRICT, "/api/dead-letters").status_code == 200


# -- who is refused ---------------------------------------------------------------------------
def test_the_station_settings_connect_with_the_client_certificate(broker, certs):
    assert connect(broker.amqps_uri, client_options(certs))


def test_plain_amqp_on_the_tls_port_fails(broker):
    plain = broker.amqps_uri.replace("amqps://", "amqp://", 1)
    refused(plain, None)  # the broker hangs up on a client that skips TLS
    assert connect(broker.amqp_uri, None)  # the node's plain port (the administrator's) answers


def test_a_client_without_a_certificate_is_refused(broker, certs):
    refused(broker.amqps_uri, client_options(certs, cert=False))  # fail_if_no_peer_cert


def test_a_client_certificate_of_another_ca_is_refused(broker, certs):
    options = amqp_ssl_options(broker.amqps_uri, certs.ca, certs.stranger_cert, certs.stranger_key)
    refused(broker.amqps_uri, options)  # verify_peer: checked against the broker's CA


def test_a_broker_whose_certificate_the_client_cannot_verify_is_refused(broker, certs):
    """Without --amqp-ca the system's CAs are used: they did not sign the test broker's."""
    with pytest.raises(ssl.SSLCertVerificationError):
        connect(broker.amqps_uri, client_options(certs, ca=False))


# -- settings ---------------------------------------------------------------------------------
def settings_from_cli(*args):
    """The HostSettings `tongban ARGS network declare` would run with."""
    context = tongban.make_context("tongban", [*args, "network", "declare"])
    with context:
        context.invoke(tongban.callback, **context.params)
    return context.obj


def test_the_tls_options_reach_every_station_config(tmp_path, certs, monkeypatch):
    """`tongban --amqp amqps://... --amqp-ca --amqp-cert --amqp-key` gives nameko's AMQP_SSL
    in each station's config, which our own connections read through amqp_ssl."""
    for name in ("TONGBAN_AMQP_URI", "TONGBAN_AMQP_CA", "TONGBAN_AMQP_CERT", "TONGBAN_AMQP_KEY"):
        monkeypatch.delenv(name, raising=False)
    settings = settings_from_cli("--amqp", f"amqps://{broker_user(VILLAGE)}:pw@mq.district.example/",
                                 "--data", str(tmp_path), "--amqp-ca", certs.ca, "--amqp-cert", certs.client_cert,
                                 "--amqp-key", certs.client_key)
    expected = {"cert_reqs": ssl.CERT_REQUIRED, "server_hostname": None, "ca_certs": certs.ca,
                "certfile": certs.client_cert, "keyfile": certs.client_key}
    assert settings.amqp_ssl() == expected
    network = chaos.write_drill_network(tmp_path / "network.yaml", DISTRICT, villages_per_township=1)
    settings.network_path = str(network)
    from services.config import load_network
    config = settings.container_config(load_network(str(network)), VILLAGE)
    assert config["AMQP_URI"].startswith("amqps://") and config["AMQP_SSL"] == expected
    assert amqp_ssl(config) == expected and amqp_ssl(config) is not config["AMQP_SSL"]
    # an amqps:// URI without a CA: the system's CAs, the host name checked all the same
    assert amqp_ssl({"AMQP_URI": "amqps://mq.district.example/"}) == {
        "cert_reqs": ssl.CERT_REQUIRED, "server_hostname": None}
    assert amqp_ssl({"AMQP_URI": "amqp://127.0.0.1/"}) is None
    # TLS files with a plain amqp:// URI would go unused: refused
    with pytest.raises(click.BadParameter, match="amqps://"):
        settings_from_cli("--amqp", "amqp://mq.district.example/", "--amqp-ca", certs.ca)


def test_the_launcher_passes_the_tls_options_to_the_stations_it_starts(tmp_path, certs):
    from deploy.launcher import Launcher
    from deploy.settings import HostSettings
    settings = HostSettings(amqp_uri="amqps://mq.district.example/", data_dir=str(tmp_path),
                            amqp_ca=certs.ca, amqp_cert=certs.client_cert, amqp_key=certs.client_key)
    launcher = Launcher(settings)
    command = launcher.command_for(launcher.groups()[0])
    for option, value in (("--amqp-ca", certs.ca), ("--amqp-cert", certs.client_cert),
                          ("--amqp-key", certs.client_key)):
        assert command[command.index(option) + 1] == value
