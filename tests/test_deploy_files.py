"""The deployment files in deploy/ hang together: the compose file, the Dockerfile, the
example configuration per tier, the systemd units and the remote village's link
definitions. No Docker engine or systemd is needed: the files are read and checked
against the network file and against what the `tongban` command reads."""
import configparser
import json
import re
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from deploy.cli import main as tongban
from deploy.remote_village import (
    RPC_EXCHANGE, link_parameters, rpc_queue, shovel_names, uplink_queue, village_node_queues,
)
from shared.messages import catalogue_queue, inbox_queue
from shared.stations import Network

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
COMPOSE = DEPLOY / "compose.yaml"
EXAMPLE_NETWORK = DEPLOY / "examples" / "network.yaml"
TIER_FILES = {tier: DEPLOY / "examples" / f"{tier}.env" for tier in ("district", "township", "village")}
STATION_UNIT = DEPLOY / "systemd" / "tongban-station@.service"
NETWORK_UNIT = DEPLOY / "systemd" / "tongban-network.service"
REQUIRED_SETTINGS = {"TONGBAN_NETWORK", "TONGBAN_AMQP_URI", "TONGBAN_DATABASE_URL", "TONGBAN_DATA",
                     "TONGBAN_BASE_PORT"}


def tongban_variables():
    """The environment variables `tongban` reads (its options' envvars and the settings')."""
    text = (DEPLOY / "cli.py").read_text() + (DEPLOY / "settings.py").read_text()
    return set(re.findall(r'envvar="(TONGBAN_\w+)"', text)) | set(
        re.findall(r'os\.environ\.get\("(TONGBAN_\w+)"', text))


def substitute(value):
    """Compose's ${VAR:-default} with the defaults, and ${VAR:?error} (a value that must be
    given) with the variable's name."""
    value = re.sub(r"\$\{\w+:-([^}]*)\}", r"\1", value)
    return re.sub(r"\$\{(\w+):\?[^}]*\}", r"\1", value)


def read_env_file(path):
    settings = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        key, sep, value = line.partition("=")
        assert sep and re.fullmatch(r"[A-Z_][A-Z0-9_]*", key), f"{path.name}:{number}: {line!r}"
        assert " #" not in value and not value.startswith(('"', "'")), \
            f"{path.name}:{number}: systemd takes the value as it is: {line!r}"
        settings[key] = value
    return settings


def parsed_options(env, monkeypatch):
    """The top-level options `tongban` takes from this environment."""
    for key in tongban_variables():
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, str(value))
    context = tongban.make_context("tongban", ["network", "declare"])
    return context.params


@pytest.fixture(scope="module")
def compose():
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def network():
    return Network.load(EXAMPLE_NETWORK)


def station_services(compose):
    return {name: service for name, service in compose["services"].items()
            if service.get("command", [])[:2] == ["station", "run"]}


# -- the compose file ---------------------------------------------------------------------------
def test_compose_runs_a_district_two_townships_and_four_villages_of_the_example_network(compose, network):
    services = station_services(compose)
    codes = [service["command"][2] for service in services.values()]
    assert all(len(s["command"]) == 3 for s in services.values())  # one station per container
    assert sorted(codes) == sorted(network.stations)
    tiers = sorted(network.station(code).tier for code in codes)
    assert tiers == ["district"] + ["township"] * 2 + ["village"] * 4
    assert {"rabbitmq", "postgres", "setup"} <= set(compose["services"])


def test_compose_services_start_in_order(compose):
    services = compose["services"]
    for name, service in services.items():
        for dependency, rule in (service.get("depends_on") or {}).items():
            assert dependency in services, f"{name} depends on unknown {dependency}"
            if rule["condition"] == "service_healthy":
                assert "healthcheck" in services[dependency], f"{dependency} has no healthcheck"
    assert services["setup"]["depends_on"] == {"rabbitmq": {"condition": "service_healthy"},
                                               "postgres": {"condition": "service_healthy"}}
    # the TLS files exist before the broker starts
    assert services["rabbitmq"]["depends_on"] == {"certs": {"condition": "service_completed_successfully"}}
    assert services["certs"]["restart"] == "no"
    assert services["setup"]["command"] == ["tongban network declare && tongban catalogue seed"]
    assert services["setup"]["restart"] == "no"
    for name, service in station_services(compose).items():
        assert service["depends_on"] == {"setup": {"condition": "service_completed_successfully"}}, name
        assert service["restart"] == "always"


def test_compose_stations_use_the_broker_the_databases_and_their_own_ports(compose, network, monkeypatch):
    services = compose["services"]
    seen_ports = set()
    for name, service in {**station_services(compose), "setup": services["setup"]}.items():
        env = {key: substitute(str(value)) for key, value in service["environment"].items()}
        assert set(env) <= tongban_variables(), set(env) - tongban_variables()
        assert REQUIRED_SETTINGS <= set(env)
        options = parsed_options(env, monkeypatch)
        amqp, database = urlsplit(options["amqp_uri"]), urlsplit(options["database_url"])
        # AMQP over TLS only: the broker's certificate checked against the CA, the client's shown
        assert amqp.scheme == "amqps" and amqp.hostname == "rabbitmq" and amqp.port == 5671
        assert "station-tls:/etc/tongban/tls:ro" in service["volumes"]
        for option in ("amqp_ca", "amqp_cert", "amqp_key"):
            assert options[option].startswith("/etc/tongban/tls/"), (name, option)
        assert database.scheme == "postgresql+pg8000" and database.hostname == "postgres"
        assert database.path == "/tongban_{station}"
        if name == "setup":  # the broker's administrator makes the queues and the station users
            assert amqp.username == services["rabbitmq"]["environment"]["RABBITMQ_DEFAULT_USER"]
            assert amqp.password == substitute(services["rabbitmq"]["environment"]["RABBITMQ_DEFAULT_PASS"])
        else:  # a station logs in as its own user, with its password from the secrets volume
            assert amqp.username is None and amqp.password is None
            assert options["broker_secrets"].startswith("/etc/tongban/secrets/")
            assert "broker-secrets:/etc/tongban/secrets:ro" in service["volumes"]
        assert database.password == substitute(services["postgres"]["environment"]["POSTGRES_PASSWORD"])
        mounts = {v.split(":")[1]: v.split(":")[0] for v in service["volumes"]}
        assert options["network_path"] in mounts, f"{name}: the network file is not mounted"
        assert (DEPLOY / mounts[options["network_path"]]).resolve() == EXAMPLE_NETWORK
        if name == "setup":
            continue
        code = service["command"][2]
        port = options["base_port"] + list(network.stations).index(code)
        assert service["ports"] == [f"127.0.0.1:{port}:{port}"]
        assert f"http://127.0.0.1:{port}/api/health" in " ".join(service["healthcheck"]["test"])
        assert env["TONGBAN_HTTP_HOST"] == "0.0.0.0"
        seen_ports.add(port)
    assert len(seen_ports) == len(network.stations)


def test_compose_broker_and_database_are_set_up_for_the_network(compose, network):
    services = compose["services"]
    rabbit_mounts = {v.split(":")[1]: DEPLOY / v.split(":")[0] for v in services["rabbitmq"]["volumes"]
                     if v.startswith("./")}
    plugins = rabbit_mounts["/etc/rabbitmq/enabled_plugins"].read_text()
    assert re.fullmatch(r"\[[a-z_,]+\]\.\s*", plugins)
    assert {"rabbitmq_management", "rabbitmq_shovel"} <= set(plugins.strip()[1:-2].split(","))
    assert services["rabbitmq"]["image"].endswith("-management")
    assert rabbit_mounts["/etc/rabbitmq/conf.d/20-tongban.conf"].is_file()
    assert services["rabbitmq"]["ports"][0] == "127.0.0.1:5671:5671"
    assert not [p for p in services["rabbitmq"]["ports"] if p.endswith(":5672")]
    pg_mounts = {v.split(":")[1]: DEPLOY / v.split(":")[0] for v in services["postgres"]["volumes"]
                 if v.startswith("./")}
    sql = pg_mounts["/docker-entrypoint-initdb.d/10-tongban.sql"].read_text()
    created = re.findall(r"CREATE DATABASE (\w+) OWNER tongban;", sql)
    assert sorted(created) == sorted(f"tongban_{code}" for code in network.stations)
    named = {v.split(":")[0] for s in services.values() for v in s.get("volumes", [])
             if not v.startswith(("./", "/"))}
    assert named == set(compose["volumes"])


def test_compose_broker_speaks_only_tls_and_verifies_its_clients(compose):
    services = compose["services"]
    conf = {}
    for line in (DEPLOY / "compose" / "rabbitmq.conf").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            conf[key.strip()] = value.strip()
    assert conf["listeners.tcp"] == "none" and conf["listeners.ssl.default"] == "5671"
    assert conf["ssl_options.verify"] == "verify_peer" and conf["ssl_options.fail_if_no_peer_cert"] == "true"
    # the broker's TLS files are in the broker-tls volume, which `certs` fills
    assert "broker-tls:/etc/rabbitmq/tls:ro" in services["rabbitmq"]["volumes"]
    certs = services["certs"]
    script_mount = next(v for v in certs["volumes"] if v.startswith("./"))
    script = DEPLOY / script_mount.split(":")[0]
    assert certs["entrypoint"] == ["sh", script_mount.split(":")[1]]
    assert {"broker-tls:/tls/broker", "station-tls:/tls/station"} <= set(certs["volumes"])
    subprocess.run(["sh", "-n", str(script)], check=True)
    text = script.read_text()
    for key in ("cacertfile", "certfile", "keyfile"):
        path = conf[f"ssl_options.{key}"]
        assert path.startswith("/etc/rabbitmq/tls/") and Path(path).name in text, key
    # the stations' files: in the station-tls volume, named as the stations are told
    station_env = compose["x-station"]["environment"]
    for variable in ("TONGBAN_AMQP_CA", "TONGBAN_AMQP_CERT", "TONGBAN_AMQP_KEY"):
        assert station_env[variable].startswith("/etc/tongban/tls/")
        assert Path(station_env[variable]).name in text, variable
    # the broker's certificate names the host the stations connect to
    assert "DNS:rabbitmq" in text
    assert "station-tls" not in " ".join(services["rabbitmq"]["volumes"])  # the stations' key is not the broker's


def test_compose_builds_the_image_from_the_dockerfile(compose):
    build = compose["x-station"]["build"]
    context = (DEPLOY / build["context"]).resolve()
    dockerfile = context / build["dockerfile"]
    assert context == ROOT and dockerfile == DEPLOY / "Dockerfile"
    text = dockerfile.read_text()
    for source in re.findall(r"^COPY (\S+) ", text, re.M):
        assert (context / source).exists(), source
    assert '"tongban"' in re.search(r"^ENTRYPOINT (.+)$", text, re.M).group(1)
    assert "tongban = deploy.cli:main" in (ROOT / "setup.cfg").read_text()
    ignored = (DEPLOY / "Dockerfile.dockerignore").read_text().split()
    assert ".venv" in ignored and ".git" in ignored


# -- example configuration and systemd ----------------------------------------------------------
@pytest.mark.parametrize("tier", sorted(TIER_FILES))
def test_each_tier_has_an_example_configuration_tongban_reads(tier, monkeypatch):
    settings = read_env_file(TIER_FILES[tier])
    assert REQUIRED_SETTINGS <= set(settings)
    assert set(settings) <= tongban_variables() | {"TONGBAN_SYNC_SECONDS"}
    options = parsed_options(settings, monkeypatch)
    amqp = urlsplit(options["amqp_uri"])
    assert amqp.scheme == "amqps" and amqp.port == 5671 and options["base_port"] == 8800
    # TLS with the district's CA and this machine's client certificate
    assert all(options[o].startswith("/etc/tongban/tls/") for o in ("amqp_ca", "amqp_cert", "amqp_key"))
    if settings["TONGBAN_DATABASE_URL"]:
        assert "{station}" in options["database_url"]
    assert float(settings["TONGBAN_SYNC_SECONDS"]) > 0


def read_unit(path):
    parser = configparser.ConfigParser(strict=False, interpolation=None, delimiters=("=",))
    parser.optionxform = str
    parser.read_string(path.read_text(encoding="utf-8"))
    return parser


def test_station_unit_runs_the_instance_station_and_always_restarts():
    unit = read_unit(STATION_UNIT)
    service = unit["Service"]
    assert service["ExecStart"].split()[1:4] == ["station", "run", "%i"]
    assert service["Restart"] == "always"
    assert service["EnvironmentFile"]  # (the last one: the station's own, optional file)
    assert "/etc/tongban/tongban.env" in STATION_UNIT.read_text()
    # every variable ExecStart uses has a default or is in every tier's file
    defaults = dict(item.split("=", 1) for item in service["Environment"].split())
    for variable in re.findall(r"\$\{(\w+)\}", service["ExecStart"]):
        assert variable in defaults or all(variable in read_env_file(p) for p in TIER_FILES.values())
    assert unit["Install"]["WantedBy"] == "multi-user.target"
    network_unit = read_unit(NETWORK_UNIT)
    assert network_unit["Service"]["Type"] == "oneshot"
    assert "tongban-network.service" in unit["Unit"]["After"]


# -- the remote village -------------------------------------------------------------------------
def test_remote_village_script_is_valid_bash_and_documented():
    subprocess.run(["bash", "-n", str(DEPLOY / "remote-village.sh")], check=True)
    usage = subprocess.run(["bash", str(DEPLOY / "remote-village.sh")], capture_output=True, text=True)
    assert usage.returncode == 2
    for command in ("start", "stop", "cut", "restore", "status"):
        assert f"remote-village.sh {command}" in usage.stdout
    assert (DEPLOY / "REMOTE_VILLAGE.md").is_file()


def test_remote_village_links_carry_each_way_with_confirms(network):
    village, district_uri = "445203001200", "amqp://tongban:secret@mq.district.example:5672"
    parameters = {(component, name): definition
                  for component, name, definition in link_parameters(network, village, district_uri)}
    names = shovel_names(village)
    shovels = {name: parameters[("shovel", name)] for name in names.values()}
    assert all(s["ack-mode"] == "on-confirm" for s in shovels.values())
    out, rpc = shovels[names["uplink"]], shovels[names["rpc"]]
    assert (out["src-queue"], out["dest-uri"], out["dest-exchange"]) == (
        uplink_queue(village), district_uri, "tongban.cases")
    assert (rpc["src-queue"], rpc["dest-exchange"]) == (rpc_queue(village), RPC_EXCHANGE)
    for kind, queue in (("inbox", inbox_queue(village)), ("catalogue", catalogue_queue(village))):
        assert shovels[names[kind]]["src-uri"] == district_uri
        assert shovels[names[kind]]["src-queue"] == shovels[names[kind]]["dest-queue"] == queue
    policy = next(d for (c, _), d in parameters.items() if c == "policy")
    upstream = next(d for (c, _), d in parameters.items() if c == "federation-upstream")
    assert policy["pattern"] == f"^{RPC_EXCHANGE}$" and policy["apply-to"] == "exchanges"
    assert upstream["uri"] == district_uri and upstream["exchange"] == RPC_EXCHANGE
    json.dumps(list(parameters.values()))  # what rabbitmqctl is given is JSON

    # the uplink takes every other station's code, never the village's own
    uplink, _ = village_node_queues(network, village)
    keys = sorted(b.routing_key for b in uplink.bindings)
    assert keys == sorted(code for code in network.stations if code != village)
