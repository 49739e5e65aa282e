"""The database the tests run on: SQLite (default) or PostgreSQL.

    TONGBAN_TEST_DATABASE=postgresql python -m pytest

runs every harness on the PostgreSQL server at TONGBAN_TEST_POSTGRES_URL (default
postgresql+pg8000://postgres@127.0.0.1:5432/postgres; its user must be allowed to create
databases). Each test network gets databases of its own, `tbt_<run>_<n>_<station>`,
dropped when the network closes; unit tests share a few scratch databases emptied
before each use. `<run>` starts with the run's start time: databases a killed run left
behind are dropped by a later run once they are 12 hours old.
"""
import contextlib
import itertools
import os
import threading
import time
import uuid
from pathlib import Path

from sqlalchemy import MetaData, create_engine, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from shared.db import migrate
from shared.db.database import Database, forget_databases
from shared.db.models import Base

TEST_DATABASE = os.environ.get("TONGBAN_TEST_DATABASE", "sqlite").strip().lower() or "sqlite"
if TEST_DATABASE in ("postgres", "pg"):
    TEST_DATABASE = "postgresql"
if TEST_DATABASE not in ("sqlite", "postgresql"):
    raise RuntimeError(f"TONGBAN_TEST_DATABASE must be sqlite or postgresql, not {TEST_DATABASE!r}")
ON_POSTGRESQL = TEST_DATABASE == "postgresql"
POSTGRES_URL = os.environ.get("TONGBAN_TEST_POSTGRES_URL",
                              "postgresql+pg8000://postgres@127.0.0.1:5432/postgres")

PREFIX = "tbt_"
RUN = f"{PREFIX}{time.strftime('%y%m%d%H%M')}_{uuid.uuid4().hex[:4]}"
STALE_SECONDS = 12 * 3600
_serial = itertools.count(1)


def postgres_url(database):
    """The URL of `database` on the test server (a string: `{station}` stays readable)."""
    base = make_url(POSTGRES_URL).set(database="DBNAME")
    return base.render_as_string(hide_password=False).replace("DBNAME", database)


def check_postgres():
    """None when the test server answers, else why not."""
    engine = create_engine(POSTGRES_URL, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    finally:
        engine.dispose()
    return None


def url_template(label="net"):
    """A database URL template with `{station}` for a new test network, or None on
    SQLite (the stations then use one file each in their data folder)."""
    if not ON_POSTGRESQL:
        return None
    return postgres_url(f"{RUN}_{next(_serial)}{label[:8]}_{{station}}")


def template_prefix(template):
    return make_url(template.replace("{station}", "STATION")).database.replace("STATION", "")


def _database_names(prefix):
    engine = create_engine(POSTGRES_URL, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            names = connection.scalars(text("SELECT datname FROM pg_database")).all()
    finally:
        engine.dispose()
    return [name for name in names if name.startswith(prefix)]


def drop_databases(prefix):
    """Drop every database whose name starts with `prefix` (and forget this process's
    engines on them). Returns how many."""
    names = _database_names(prefix)
    forget_databases(lambda url: migrate.is_postgresql(url) and make_url(url).database in names)
    for name in names:
        migrate.drop_database(postgres_url(name))
    return len(names)


def drop_network_databases(template):
    if template:
        drop_databases(template_prefix(template))


def drop_stale_databases():
    """Databases of earlier test runs that were killed before they could clean up."""
    dropped = 0
    for name in _database_names(PREFIX):
        stamp = name[len(PREFIX):len(PREFIX) + 10]
        try:
            started = time.mktime(time.strptime(stamp, "%y%m%d%H%M"))
        except ValueError:
            continue
        if time.time() - started > STALE_SECONDS:
            migrate.drop_database(postgres_url(name))
            dropped += 1
    return dropped


def station_url(template, data_dir, code):
    """Where station `code` of a test network keeps its database."""
    if template:
        return template.format(station=code)
    return f"sqlite:///{Path(data_dir) / code}.sqlite3"


def copy_database(source_url, target_url):
    """Copy every row of a station database into a new one at `target_url` (created and
    migrated here). Consistent while the source station runs."""
    source = create_engine(source_url, poolclass=NullPool)
    target = Database(target_url)
    try:
        target.create_schema()
        metadata = MetaData()
        metadata.reflect(source)
        with source.connect() as reading, target.engine.begin() as writing:
            if source.dialect.name == "postgresql":
                reading.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY"))
            for table in Base.metadata.sorted_tables:
                rows = [dict(row._mapping) for row in reading.execute(select(metadata.tables[table.name]))]
                if rows:
                    writing.execute(table.insert(), rows)
            if writing.dialect.name == "postgresql":
                for table in Base.metadata.sorted_tables:  # serial keys continue after the copied rows
                    key = table.autoincrement_column
                    if key is not None:
                        writing.execute(text(
                            f"SELECT setval(pg_get_serial_sequence('{table.name}', '{key.name}'), "
                            f"coalesce(max({key.name}), 0) + 1, false) FROM {table.name}"))
    finally:
        source.dispose()
        target.engine.dispose()
    return target_url


class ScratchDatabases:
    """Empty station databases for unit tests: a new in-memory SQLite database each time,
    or on PostgreSQL one of a few databases of this run, emptied before each use."""

    def __init__(self):
        self._free = []
        self._all = []
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def database(self):
        if not ON_POSTGRESQL:
            db = Database("sqlite://")
            db.create_schema()
            try:
                yield db
            finally:
                db.engine.dispose()
            return
        with self._lock:
            db = self._free.pop() if self._free else None
        if db is None:
            db = Database(postgres_url(f"{RUN}_scratch{len(self._all) + 1}"))
            db.create_schema()
            self._all.append(db)
        tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
        with db.engine.begin() as connection:
            connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY"))
        try:
            yield db
        finally:
            with self._lock:
                self._free.append(db)

    def close(self):
        for db in self._all:
            db.engine.dispose()
            migrate.drop_database(str(db.engine.url.render_as_string(hide_password=False)))
        self._all.clear()
        self._free.clear()


scratch_databases = ScratchDatabases()
