"""Creating station databases and keeping their schema current.

Every station database — an SQLite file or a PostgreSQL database — gets its tables from
the Alembic migrations in shared/db/migrations/, never from `create_all`, so a database
made by any release can be brought to the current schema with its data:

* `ensure_database(url)` creates a missing PostgreSQL database (through the server's
  `postgres` maintenance database). An SQLite file is created when first opened.
* `upgrade(engine)` migrates to the newest revision. A database already there costs one
  query and Alembic is not even imported, so stations start as fast as before. A
  database made before migrations existed (tables, no `alembic_version`) is taken to be
  at the first released revision and upgraded from there. On PostgreSQL the migration
  holds an advisory lock, so two processes upgrading one database do it one after the
  other.
"""
import logging
import threading
from pathlib import Path

from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

from shared.db.migrations import BASELINE, HEAD

log = logging.getLogger(__name__)
# Alembic says which migrations it runs (INFO); not which of its plugins it set up
logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)

MIGRATIONS = Path(__file__).resolve().with_name("migrations")
VERSION_TABLE = "alembic_version"
# a table every revision has: its presence without VERSION_TABLE means "made before migrations"
PROBE_TABLE = "catalogue_changes"
# pg_advisory_xact_lock key held while a database is migrated ("tongban" in ASCII)
_MIGRATION_LOCK = 0x746F6E6762616E
_alembic_lock = threading.RLock()
# PostgreSQL error codes
_NO_SUCH_DATABASE = "3D000"
_DUPLICATE_DATABASE = "42P04"
_UNIQUE_VIOLATION = "23505"  # two CREATE DATABASE of one name at once may end in this


def is_postgresql(url):
    return make_url(url).get_backend_name() == "postgresql"


def safe_url(url):
    """`url` with any password hidden, for logs."""
    return make_url(url).render_as_string(hide_password=True)


def pg_error_code(exc):
    """The SQLSTATE of a PostgreSQL error raised through SQLAlchemy (pg8000 or psycopg)."""
    orig = getattr(exc, "orig", exc)
    code = getattr(orig, "pgcode", None) or getattr(orig, "sqlstate", None)
    if code:
        return code
    args = getattr(orig, "args", ())
    if args and isinstance(args[0], dict):
        return args[0].get("C")
    return None


def _maintenance_engine(url):
    """An AUTOCOMMIT engine on the `postgres` database of the server `url` is on."""
    return create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT",
                         poolclass=NullPool)


def _quote(engine, name):
    return engine.dialect.identifier_preparer.quote_identifier(name)


def database_exists(url):
    if not is_postgresql(url):
        database = make_url(url).database
        return not database or database == ":memory:" or Path(database).exists()
    engine = _maintenance_engine(url)
    try:
        with engine.connect() as connection:
            return connection.scalar(text("SELECT 1 FROM pg_database WHERE datname = :name"),
                                     {"name": make_url(url).database}) is not None
    finally:
        engine.dispose()


def ensure_database(url):
    """Create the PostgreSQL database `url` names if it does not exist; True if it did
    not. Made from template0 in UTF-8 with the C collation, so text compares and sorts
    by code point exactly as in SQLite. SQLite: nothing to do (False)."""
    if not is_postgresql(url):
        return False
    name = make_url(url).database
    if not name:
        raise ValueError(f"no database name in {safe_url(url)}")
    engine = _maintenance_engine(url)
    try:
        with engine.connect() as connection:
            if connection.scalar(text("SELECT 1 FROM pg_database WHERE datname = :name"),
                                 {"name": name}) is not None:
                return False
            try:
                connection.execute(text(
                    f"CREATE DATABASE {_quote(engine, name)} TEMPLATE template0 ENCODING 'UTF8' "
                    f"LC_COLLATE 'C' LC_CTYPE 'C'"))
            except DBAPIError as exc:
                if pg_error_code(exc) in (_DUPLICATE_DATABASE, _UNIQUE_VIOLATION):
                    return False  # another process created it just now
                raise
        log.info("created database %s", safe_url(url))
        return True
    finally:
        engine.dispose()


def drop_database(url):
    """Drop the PostgreSQL database `url` names (closing its connections), or delete the
    SQLite file. True if there was one."""
    if not is_postgresql(url):
        database = make_url(url).database
        if not database or database == ":memory:":
            return False
        path = Path(database)
        existed = path.exists()
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return existed
    engine = _maintenance_engine(url)
    try:
        with engine.connect() as connection:
            name = make_url(url).database
            if connection.scalar(text("SELECT 1 FROM pg_database WHERE datname = :name"),
                                 {"name": name}) is None:
                return False
            connection.execute(text(f"DROP DATABASE IF EXISTS {_quote(engine, name)} WITH (FORCE)"))
            return True
    finally:
        engine.dispose()


def connectable(engine):
    """Connect once; on PostgreSQL create the database first if it does not exist."""
    try:
        with engine.connect():
            return
    except DBAPIError as exc:
        if engine.dialect.name != "postgresql" or pg_error_code(exc) != _NO_SUCH_DATABASE:
            raise
    ensure_database(engine.url.render_as_string(hide_password=False))


def current_revision(connection):
    """The revision the database is at: None for an empty database, "unversioned" for
    one made before migrations existed."""
    inspector = inspect(connection)
    if not inspector.has_table(VERSION_TABLE):
        return "unversioned" if inspector.has_table(PROBE_TABLE) else None
    revisions = connection.scalars(text(f"SELECT version_num FROM {VERSION_TABLE}")).all()
    if len(revisions) > 1:
        raise RuntimeError(f"the database has several schema heads: {revisions}")
    return revisions[0] if revisions else None


def alembic_config(connection=None, url=None):
    from alembic.config import Config
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if url:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def script_heads():
    """The head revision(s) of the migration scripts (Alembic's own view)."""
    from alembic.script import ScriptDirectory
    return tuple(ScriptDirectory.from_config(alembic_config()).get_heads())


def revisions():
    """Every revision, oldest first: [(revision, message)]."""
    from alembic.script import ScriptDirectory
    scripts = ScriptDirectory.from_config(alembic_config())
    return [(s.revision, s.doc) for s in reversed(list(scripts.walk_revisions()))]


def upgrade(engine, revision="head"):
    """Bring the database to `revision` (default the newest); returns (before, after)."""
    return _migrate(engine, "upgrade", revision)


def downgrade(engine, revision):
    """Take the database back to `revision` ("base": no tables); (before, after)."""
    return _migrate(engine, "downgrade", revision)


def _migrate(engine, direction, revision):
    with engine.connect() as connection:
        if direction == "upgrade" and revision in ("head", HEAD):
            with connection.begin():
                before = current_revision(connection)
            if before == HEAD:
                return before, before
        # Alembic keeps the running migration in module globals (alembic.op, alembic.context):
        # one at a time per process, whatever thread or green thread asks
        with _alembic_lock, connection.begin():
            if connection.dialect.name == "postgresql":
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})
            from alembic import command
            before = current_revision(connection)
            config = alembic_config(connection)
            if before == "unversioned":
                log.warning("database %s has tables but no schema revision: taking it to be at %s",
                            safe_url(engine.url), BASELINE)
                command.stamp(config, BASELINE)
            getattr(command, direction)(config, revision)
            after = current_revision(connection)
    if after != before:
        log.info("database %s: schema %s -> %s", safe_url(engine.url), before, after)
    return before, after
