"""The `tongban` command."""
import warnings

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

import eventlet  # noqa: E402

eventlet.monkey_patch()

import logging  # noqa: E402
import os  # noqa: E402

import click  # noqa: E402

from deploy.settings import SAMPLE_CATALOGUE, SAMPLE_NETWORK, SAMPLE_USERS, HostSettings  # noqa: E402
from services.observability.logs import FORMATS as LOG_FORMATS, configure_logging  # noqa: E402


def _settings(ctx):
    return ctx.obj


@click.group()
@click.option("--network", "network_path", envvar="TONGBAN_NETWORK", default=None,
              help="The district's YAML description (default: the sample Jiedong district).")
@click.option("--data", "data_dir", envvar="TONGBAN_DATA", default=None,
              help="Folder for the stations' SQLite databases.")
@click.option("--amqp", "amqp_uri", envvar="TONGBAN_AMQP_URI", default=None, help="RabbitMQ URI.")
@click.option("--base-port", type=int, envvar="TONGBAN_BASE_PORT", default=None,
              help="HTTP port of the district; the other stations follow in network order.")
@click.option("--database-url", envvar="TONGBAN_DATABASE_URL", default=None,
              help="Database URL template with {station}, e.g. postgresql+pg8000://postgres@127.0.0.1/tongban_{station}")
@click.option("--clock-file", envvar="TONGBAN_CLOCK_FILE", default=None,
              help="Run on a simulated clock read from this JSON file (tests, simulation).")
@click.option("--supervision-seconds", type=float, default=None,
              help="How often the district checks every case's deadline (default 60).")
@click.option("--sample-users", "sample_users", default=None, metavar="NAMES_FILE",
              help="Stations create their sample staff when they start, named from this file "
                   "('sample' for district/data/users.yaml). For trying Tongban out and for tests.")
@click.option("--broker-secrets", envvar="TONGBAN_BROKER_SECRETS", default=None, metavar="FILE",
              help="The stations' broker passwords (YAML, mode 0600; default broker-secrets.yaml in --data).")
@click.option("--amqp-ca", envvar="TONGBAN_AMQP_CA", default=None, metavar="FILE",
              help="With an amqps:// --amqp: the CA certificate(s) the broker's certificate must be signed by "
                   "(PEM; default: the system's CAs). The broker's host name is checked too.")
@click.option("--amqp-cert", envvar="TONGBAN_AMQP_CERT", default=None, metavar="FILE",
              help="With an amqps:// --amqp: this machine's client certificate (PEM), for a broker that "
                   "verifies its peers.")
@click.option("--amqp-key", envvar="TONGBAN_AMQP_KEY", default=None, metavar="FILE",
              help="The private key of --amqp-cert (PEM, mode 0600), unless that file holds it.")
@click.option("-v", "--verbose", is_flag=True)
@click.option("--log-format", type=click.Choice(LOG_FORMATS), envvar="TONGBAN_LOG_FORMAT", default="auto",
              show_default=True,
              help="json: one JSON object per line; text: for people; auto: text on a terminal, else json. "
                   "Station processes this command starts use the same.")
@click.pass_context
def main(ctx, network_path, data_dir, amqp_uri, base_port, database_url, clock_file, supervision_seconds,
         sample_users, broker_secrets, amqp_ca, amqp_cert, amqp_key, verbose, log_format):
    """Tongban (通办): a district's government service counters, handled anywhere."""
    if log_format != "auto":
        os.environ["TONGBAN_LOG_FORMAT"] = log_format  # for the station processes started from here
    configure_logging(logging.INFO if verbose else logging.WARNING, log_format)
    settings = HostSettings()
    if network_path:
        settings.network_path = os.path.abspath(network_path)
    if data_dir:
        settings.data_dir = os.path.abspath(data_dir)
    if amqp_uri:
        settings.amqp_uri = amqp_uri
    if base_port:
        settings.base_port = base_port
    if database_url:
        settings.database_url = database_url
    if clock_file:
        settings.clock_file = os.path.abspath(clock_file)
    if supervision_seconds:
        settings.supervision_seconds = supervision_seconds
    if broker_secrets:
        settings.broker_secrets = os.path.abspath(broker_secrets)
    if sample_users:
        settings.sample_users = str(SAMPLE_USERS) if sample_users == "sample" else os.path.abspath(sample_users)
    for name, path in (("amqp_ca", amqp_ca), ("amqp_cert", amqp_cert), ("amqp_key", amqp_key)):
        if path:
            setattr(settings, name, os.path.abspath(path))
    try:
        settings.amqp_ssl()
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--amqp-ca/--amqp-cert/--amqp-key") from None
    ctx.obj = settings


@main.group()
def station():
    """Run stations in this process."""


@station.command("run")
@click.argument("codes", nargs=-1, required=True)
@click.option("--sync-seconds", type=float, default=30.0, show_default=True,
              help="How often a replica asks the district for catalogue changes.")
@click.option("--port", type=int, default=None,
              help="Serve HTTP on this port instead of the station's place in the network (one station "
                   "only): a second process for a PostgreSQL station, behind one address.")
@click.pass_context
def station_run(ctx, codes, sync_seconds, port):
    """Run the services of the stations CODES (one or many) until stopped.

    A station on SQLite is served by one process only: a second one refuses to start.
    SIGTERM, SIGINT or SIGHUP stops it."""
    from deploy.host import Host
    from deploy.settings import NoBrokerIdentity
    from shared.db.ownership import StationLocked
    settings = _settings(ctx)
    settings.sync_seconds = sync_seconds
    if port is not None:
        if len(codes) != 1:
            raise click.UsageError("--port serves one station: give exactly one code")
        settings.extra["WEB_SERVER_ADDRESS"] = f"{settings.http_host}:{port}"
    try:
        Host(settings, codes).run_until_signalled()
    except (StationLocked, NoBrokerIdentity) as exc:
        raise click.ClickException(str(exc)) from None


@main.group()
def network():
    """The broker side of the network."""


@network.command("declare")
@click.option("--rotate", multiple=True, metavar="CODE",
              help="Give this station a new broker password (repeatable); restart it afterwards.")
@click.pass_context
def network_declare(ctx, rotate):
    """Declare the exchanges, every station's queues, and every station's broker user.

    Run with the broker administrator's --amqp URI. Each station gets a user
    st-<code> with the permissions of its role and a password kept in the broker
    secrets file (made when missing; give each station's machine its own line)."""
    from deploy.broker_users import prepare_broker
    from services.config import load_network
    settings = _settings(ctx)
    net = load_network(settings.network_path)
    unknown = sorted(set(rotate) - set(net.stations))
    if unknown:
        raise click.UsageError(f"not stations of this network: {', '.join(unknown)}")
    users = prepare_broker(settings.amqp_uri, net, settings.secrets_path(), settings.management_url or None,
                           rotate, ssl=settings.amqp_ssl())
    click.echo(f"declared queues for {len(net.stations)} stations; {users} station users, passwords in "
               f"{settings.secrets_path()}" + (f" (new for {', '.join(rotate)})" if rotate else ""))


@main.group()
def catalogue():
    """The district's item catalogue."""


@catalogue.command("seed")
@click.option("--file", "catalogue_path", default=str(SAMPLE_CATALOGUE), show_default=True)
@click.pass_context
def catalogue_seed(ctx, catalogue_path):
    """Load the sample catalogue into an empty district catalogue."""
    from deploy.seeding import seed_catalogue
    from services.config import load_network
    settings = _settings(ctx)
    net = load_network(settings.network_path)
    added = seed_catalogue(settings.database_for(net.district_code), net, catalogue_path)
    click.echo(f"{added} items added" if added else "the district catalogue already has items")


@catalogue.command("bundles")
@click.option("--all", "include_retired", is_flag=True, help="Retired bundles too.")
@click.pass_context
def catalogue_bundles(ctx, include_retired):
    """List the district catalogue's bundles (一件事)."""
    from services.catalogue_access import CatalogueReader
    from services.config import load_network
    from shared.db.database import get_database
    settings = _settings(ctx)
    net = load_network(settings.network_path)
    reader = CatalogueReader(get_database(settings.database_for(net.district_code)))
    for bundle in reader.bundles(include_retired):
        view = reader.bundle(bundle["code"])
        click.echo(f"{bundle['code']}  {bundle['name']}  v{bundle['version']}  {bundle['status']}  "
                   f"{bundle['promised_limit_days']}个工作日  {len(view['selected'])}项  "
                   f"{'/'.join(bundle['accepting_tiers'])}")


@catalogue.command("bundle-add")
@click.option("--file", "bundle_path", required=True, type=click.Path(exists=True, dir_okay=False),
              help="A YAML file: one bundle, or a list under 'bundles'.")
@click.option("--by", "made_by", default="命令行", show_default=True, help="Who the change records.")
@click.pass_context
def catalogue_bundle_add(ctx, bundle_path, made_by):
    """Add the file's bundles to the district catalogue, each a new version; the district's
    relay publishes them to every station (each station's sync also fetches them)."""
    from pathlib import Path

    import yaml

    from district.catalogue_editing import record_change
    from services.config import load_network
    from shared.db.database import get_database
    from shared.exceptions import TongbanError
    settings = _settings(ctx)
    net = load_network(settings.network_path)
    loaded = yaml.safe_load(Path(bundle_path).read_text(encoding="utf-8"))
    bundles = loaded.get("bundles", [loaded]) if isinstance(loaded, dict) else loaded
    database = get_database(settings.database_for(net.district_code))
    for bundle in bundles if isinstance(bundles, list) else [bundles]:
        try:
            change, _ = record_change(database, set(net.departments), net.district_code, "add_bundle", bundle,
                                      made_by)
        except TongbanError as refused:
            raise click.ClickException(refused.message) from None
        click.echo(f"{change['item_code']} added: catalogue version {change['version']}")


@main.command()
@click.argument("codes", nargs=-1)
@click.option("--per-process", type=int, default=0,
              help="Stations per host process (default: one process per township with its villages).")
@click.option("--wait/--no-wait", default=True, help="Wait until every station answers /api/health.")
@click.option("--timeout", type=float, default=120.0, show_default=True)
@click.pass_context
def up(ctx, codes, per_process, wait, timeout):
    """Start the district network (every station, or CODES and their parents).

    Runs until Ctrl-C, SIGTERM or SIGHUP, then stops every host process it started
    (those still running after 10 s are killed). Exits 0 when every host stopped
    cleanly, 1 otherwise."""
    from deploy.launcher import Launcher, NetworkAlreadyRunning
    settings = _settings(ctx)
    if not settings.sample_users and os.path.samefile(settings.network_path, SAMPLE_NETWORK):
        settings.sample_users = str(SAMPLE_USERS)  # the sample district comes with its staff
    launcher = Launcher(settings, codes, per_process)
    launcher.catch_stop_signals()
    try:
        launcher.check_not_running()
    except NetworkAlreadyRunning as exc:
        raise click.ClickException(str(exc)) from None
    launcher.prepare()
    launcher.spawn()
    try:
        if wait:
            elapsed = launcher.wait_healthy(timeout)
            if elapsed is not None:
                click.echo(f"{len(launcher.stations)} stations up in {elapsed:.1f} s "
                           f"({len(launcher.processes)} host processes)")
        if not launcher.stop_requested:
            launcher.print_table(click.echo)
            if settings.sample_users:
                from shared.auth.staffing import SAMPLE_PASSWORD
                click.echo(f"Web desk: <station address>/desk/ — sample users: agent (villages), staff "
                           f"(townships), clerk, supervisor, <department>.reviewer|approver, admin (district); "
                           f"first password {SAMPLE_PASSWORD}, to be changed at the first login")
            click.echo("Ctrl-C (or SIGTERM, SIGHUP) stops the network.")
            launcher.watch()
    finally:
        clean = launcher.stop()
    click.echo(launcher.stop_report(), err=True)
    ctx.exit(0 if clean and launcher.stop_requested else 1)


@main.command()
@click.option("--from", "start", default=None, help="First filing date (YYYY-MM-DD).")
@click.option("--to", "end", default=None, help="Last filing date (YYYY-MM-DD).")
@click.option("--by", default="none", show_default=True,
              type=click.Choice(["none", "station", "tier", "department", "item", "category"]))
@click.option("--hall-by", default=None,
              type=click.Choice(["none", "station", "tier", "window_type", "hour"]),
              help="How the service halls' figures are grouped (default: as --by when they can be, else none).")
@click.option("--hall", "hall_only", is_flag=True, help="Only the service halls' figures (waiting times...).")
@click.option("--csv", "as_csv", is_flag=True, help="CSV instead of a table (the cases', or with --hall the halls').")
@click.option("--user", "username", default="supervisor", show_default=True,
              help="A supervisor or administrator of the district centre.")
@click.option("--password", envvar="TONGBAN_PASSWORD", prompt=True, hide_input=True,
              help="Their password (asked for; or TONGBAN_PASSWORD).")
@click.pass_context
def report(ctx, start, end, by, hall_by, hall_only, as_csv, username, password):
    """The district's statistics (asks the running district centre): the cases' figures,
    then the service halls' (tickets, waiting and service times, no-shows, appointments)."""
    from deploy.reporting import fetch_report
    click.echo(fetch_report(_settings(ctx), start, end, by, as_csv, username, password, hall_by, hall_only))


@main.command()
@click.option("--scale", type=float, default=1.0, show_default=True, help="Share of the seed's year to replay.")
@click.option("--seed", type=int, default=2016, show_default=True, help="Random seed (the run is deterministic).")
@click.option("--year", type=int, default=2026, show_default=True)
@click.option("--per-process", type=int, default=0, help="Stations per host process (default: by township).")
@click.option("--summary", type=click.Path(dir_okay=False), default=None,
              help="Also write the district totals and the action counts to this JSON file.")
@click.option("--online-share", type=click.FloatRange(0, 1), default=0.8323, show_default=True,
              help="Share of the applications for items accepted online made on the portal (issue 16).")
@click.option("--pre-review-refuse", type=click.FloatRange(0, 1), default=0.02, show_default=True,
              help="Share of online applications not acceptable at pre-review.")
@click.option("--pre-review-supplement", type=click.FloatRange(0, 1), default=0.2, show_default=True,
              help="Share of online applications asked for a supplement before the answer.")
@click.option("--second-visit", type=click.FloatRange(0, 1), default=0.26, show_default=True,
              help="Share of passed pre-reviews whose resident lacks an original at the visit and comes back.")
@click.pass_context
def simulate(ctx, scale, seed, year, per_process, summary, online_share, pre_review_refuse, pre_review_supplement,
             second_visit):
    """Replay a year of the sample district against the real network on a simulated clock."""
    import json
    from deploy.drills import simulate as sim
    from shared.simulation import OnlineShares
    shares = OnlineShares(online=online_share, refuse=pre_review_refuse, supplement=pre_review_supplement,
                          second_visit=second_visit)
    totals, counts, hall = sim.run(_settings(ctx), scale, seed, year, per_process, click.echo, shares)
    if summary:
        with open(summary, "w", encoding="utf-8") as handle:
            json.dump({"totals": totals, "actions": counts, "hall": hall}, handle, ensure_ascii=False, indent=1)


@main.group()
def bench():
    """Benchmarks whose figures go in the README."""


@bench.command("network")
@click.option("--per-process", type=int, default=0, help="Stations per host process (default: by township).")
@click.option("--rounds", type=int, default=5, show_default=True, help="Catalogue changes to time.")
@click.pass_context
def bench_network(ctx, per_process, rounds):
    """Start the whole sample district; time start-up and catalogue propagation; measure memory."""
    from deploy.drills import bench_network as b
    b.run(_settings(ctx), per_process, rounds, click.echo)


@bench.command("cases")
@click.option("--cases", "count", type=int, default=2000, show_default=True, help="Cases in the throughput phase.")
@click.option("--concurrency", type=int, default=16, show_default=True, help="Counter clerks filing at once.")
@click.option("--rate", type=float, default=0, help="Cases/s in the latency phase (default: a fifth of phase 1).")
@click.option("--villages", type=int, default=0, help="Villages to file at (default: all 120).")
@click.pass_context
def bench_cases(ctx, count, concurrency, rate, villages):
    """File cases at villages and drive them to completed; throughput and latency."""
    from deploy.drills import bench_cases as b
    b.run(_settings(ctx), count, concurrency, rate, villages, click.echo)


@bench.command("record")
@click.option("--cases", "count", type=int, default=122_493, show_default=True, help="Cases in the record.")
@click.option("--years", type=int, default=1, show_default=True, help="Years the record spans.")
@click.option("--seed", type=int, default=2026, show_default=True)
@click.option("--database-url", default=None,
              help="An empty station database to fill (default: a new SQLite file in a temporary folder).")
def bench_record(count, years, seed, database_url):
    """Generate a district record straight into a database; time the figures, case lists and worklists."""
    import tempfile
    from deploy.drills import record
    if database_url is None:
        database_url = f"sqlite:///{tempfile.mkdtemp(prefix='tongban-record-')}/district.db"
    record.run(database_url, count, years, seed, click.echo)


@bench.command("pages")
@click.option("--cases", "count", type=int, default=122_493, show_default=True, help="Cases in the year's record.")
@click.option("--seed", type=int, default=2026, show_default=True)
@click.option("--repeat", type=int, default=20, show_default=True, help="Timed requests per page.")
@click.option("--keep", is_flag=True, help="Keep the district's database (and its folder) afterwards.")
@click.option("--reuse", is_flag=True, help="Time the record a --keep run left in the database (not generated).")
@click.pass_context
def bench_pages(ctx, count, seed, repeat, keep, reuse):
    """Generate a year into the district's database, start the district and time the supervision pages, the
    public board and the API behind them (p50/p95). PostgreSQL: the root --database-url template."""
    from deploy.drills import bench_pages as b
    b.run(_settings(ctx), count, seed, repeat, keep, click.echo, reuse=reuse)


from deploy.drills.chaos import chaos  # noqa: E402
from deploy.dead_letters import dead_letters  # noqa: E402

main.add_command(dead_letters)
main.add_command(chaos)


from deploy.db import db as db_commands  # noqa: E402

main.add_command(db_commands)

from deploy.users import users  # noqa: E402

main.add_command(users)


if __name__ == "__main__":  # pragma: no cover
    main()
