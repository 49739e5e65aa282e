"""`tongban db`: the station databases' schema (Alembic migrations, shared/db/migrations/).

    tongban db upgrade --all                 # every station of the network (creates missing ones)
    tongban db upgrade --station 445203      # some stations (repeat --station)
    tongban db current                       # each station's revision; missing databases too
    tongban db history                       # the revisions, oldest first
    tongban db downgrade 0001 --station ...  # back to an older revision
    tongban db revision -m "why"             # developers: a new revision from models.py

Stations upgrade their own database when they start, so `upgrade` is for doing it ahead
of a release (e.g. while the stations are stopped) and seeing what it did. The database
of each station is the one `--database-url` (or `--data` for SQLite files) names.
"""
import re

import click
from sqlalchemy import create_engine
from sqlalchemy.pool import NullPool

from shared.db import migrate
from shared.db.migrations import HEAD


def _stations(settings, codes, every):
    from services.config import load_network
    network = load_network(settings.network_path)
    if every and codes:
        raise click.UsageError("give --station or --all, not both")
    if every:
        return list(network.stations)
    for code in codes:
        if code not in network.stations:
            raise click.BadParameter(f"no station {code} in {settings.network_path}", param_hint="--station")
    return list(codes)


def _engine(url):
    return create_engine(url, poolclass=NullPool)


def _label(revision):
    return {None: "empty", "unversioned": "unversioned (made before migrations)"}.get(revision, revision)


def _each(settings, codes, action):
    """Run action(code, url) for each station; report failures at the end."""
    failed = []
    for code in codes:
        url = settings.database_for(code)
        try:
            text = action(code, url)
        except Exception as exc:  # one station's problem does not stop the others
            failed.append(code)
            text = click.style(f"failed: {type(exc).__name__}: {exc}", fg="red")
        click.echo(f"{code:<13} {text}")
    if failed:
        raise click.ClickException(f"{len(failed)} of {len(codes)} databases failed: {' '.join(failed)}")


@click.group("db")
def db():
    """Station databases: schema migrations."""


station_option = click.option("--station", "codes", multiple=True, metavar="CODE",
                              help="A station whose database to act on (repeatable).")
all_option = click.option("--all", "every", is_flag=True, help="Every station of the network.")


@db.command("upgrade")
@station_option
@all_option
@click.option("--revision", default="head", show_default=True, help="The revision to reach.")
@click.pass_obj
def upgrade(settings, codes, every, revision):
    """Create missing databases and migrate them to the newest schema, keeping their data."""
    if not codes and not every:
        raise click.UsageError("say which databases: --station CODE (repeatable) or --all")

    def act(code, url):
        created = not migrate.database_exists(url)
        migrate.ensure_database(url)
        engine = _engine(url)
        try:
            before, after = migrate.upgrade(engine, revision)
        finally:
            engine.dispose()
        if created:
            return f"created, schema {after}"
        return f"schema {after} (already)" if before == after else f"schema {_label(before)} -> {after}"

    _each(settings, _stations(settings, codes, every), act)


@db.command("downgrade")
@click.argument("revision")
@station_option
@all_option
@click.pass_obj
def downgrade(settings, revision, codes, every):
    """Take databases back to REVISION (stop their stations first). Columns and tables
    that later revisions added are dropped with their data."""
    if not codes and not every:
        raise click.UsageError("say which databases: --station CODE (repeatable) or --all")

    def act(code, url):
        if not migrate.database_exists(url):
            return "no database"
        engine = _engine(url)
        try:
            before, after = migrate.downgrade(engine, revision)
        finally:
            engine.dispose()
        return f"schema {_label(before)} -> {_label(after)}"

    _each(settings, _stations(settings, codes, every), act)


@db.command("current")
@station_option
@all_option
@click.pass_obj
def current(settings, codes, every):
    """Each station's schema revision (default: every station); creates nothing."""
    def act(code, url):
        if not migrate.database_exists(url):
            return "no database"
        engine = _engine(url)
        try:
            with engine.connect() as connection:
                revision = migrate.current_revision(connection)
        finally:
            engine.dispose()
        return _label(revision) + ("" if revision == HEAD else f"  (newest: {HEAD})")

    _each(settings, _stations(settings, codes, every or not codes), act)


@db.command("history")
def history():
    """The schema revisions, oldest first."""
    for revision, message in migrate.revisions():
        click.echo(f"{revision}  {message}" + ("  (newest)" if revision == HEAD else ""))


@db.command("revision")
@click.option("-m", "--message", required=True, help="What the change is and why.")
@click.option("--empty", is_flag=True, help="An empty revision to fill in by hand (data migrations).")
def revision(message, empty):
    """Developers: write the next revision from the difference between shared/db/models.py
    and the newest revision, and make it the newest. Review it before committing."""
    from alembic import command
    scripts = [s for s, _ in migrate.revisions()]
    number = f"{max(int(s) for s in scripts) + 1:04d}" if scripts else "0001"
    engine = create_engine("sqlite://")  # the newest schema, to compare models.py with
    with engine.begin() as connection:
        config = migrate.alembic_config(connection)
        command.upgrade(config, "head")
        script = command.revision(config, message=message, autogenerate=not empty, rev_id=number)
    init = migrate.MIGRATIONS / "__init__.py"
    init.write_text(re.sub(r'^HEAD = "[^"]*"', f'HEAD = "{number}"', init.read_text(encoding="utf-8"),
                           flags=re.M), encoding="utf-8")
    click.echo(f"wrote {script.path}; HEAD is now {number} in {init}")
