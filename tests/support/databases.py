"""The database the tests run on: SQLite (default) or PostgreSQL.

    TONGBAN_TEST_DATABASE=postgresql python -m pytest

runs every harness on the PostgreSQL server at TONGBAN_TEST_POSTGRES_URL (default
postgresql+pg8000://postgres@127.0.0.1:5432/postgres; its user must be allowed to create
databases). Each test network gets databases of its own, `tbt_<run>_<n>_<station>`,
dropped when the network closes. The databases of tests that run in one process
(`scratch_databases`) are copies of templates made once per run: see ScratchDatabases.
`<run>` starts with the run's start time: databases a killed run left behind are
dropped by a later run once they are 12 hours old.
"""
import contextlib
import itertools
import os
import shutil
import sqlite3
import tempfile
import threading
import time
import uuid
from pathlib import Path

import eventlet

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


class Template:
    """What a test database starts with: the newest schema, then whatever `prepare(database)`
    adds (a catalogue, say). `name` tells templates apart (letters, digits and _)."""

    def __init__(self, name, prepare=None):
        self.name = name
        self.prepare = prepare


EMPTY = Template("empty")


class ScratchDatabases:
    """Station databases for tests that run in one process, each a test's own.

    Migrating a database and seeding it costs far more than copying one (on PostgreSQL,
    seconds against a tenth of a second), so each `Template` is built once per run and
    every test gets a copy of it:
    - SQLite: the template is a file in a folder of this run; a copy is made with
      SQLite's backup API into a new in-memory database, or into the file the test names.
    - PostgreSQL: the template is a database of this run; a copy is
      `CREATE DATABASE ... TEMPLATE ...` (the template is never connected to after it is
      built: PostgreSQL refuses to copy a database others are connected to). Copies
      of the empty template are kept and emptied for the next test (TRUNCATE is as
      cheap as a copy); copies of the others are dropped DROP_BATCH at a time: each
      DROP DATABASE waits for a checkpoint, and concurrent ones share one (measured on
      PostgreSQL 15: 0.2 s a drop one after another, 0.04 s each when 32 go together).
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._templates = {}  # name -> SQLite file path, or PostgreSQL database name
        self._folder = None
        self._free = []  # emptied PostgreSQL copies of EMPTY, ready for reuse
        self._all = []
        self._retired = []  # URLs of PostgreSQL copies waiting to be dropped

    @contextlib.contextmanager
    def database(self, template=EMPTY, sqlite_file=None):
        """A Database of its own with `template`'s content, closed (and emptied or
        dropped) when the block ends. `sqlite_file`: on SQLite, where to keep the copy
        (a database a service container reaches by its URL must be a file)."""
        if ON_POSTGRESQL:
            db = self._postgresql_copy(template)
        else:
            db = self._sqlite_copy(template, sqlite_file)
        try:
            yield db
        finally:
            self._release(db, template)

    def _template(self, template):
        with self._lock:  # built once, however many tests ask at the same time
            if template.name not in self._templates:
                self._templates[template.name] = self._build(template)
            return self._templates[template.name]

    def _build(self, template):
        if ON_POSTGRESQL:
            name = f"{RUN}_tmpl_{template.name}"
            url = postgres_url(name)
        else:
            if self._folder is None:
                self._folder = Path(tempfile.mkdtemp(prefix="tongban-templates-"))
            name = self._folder / f"{template.name}.sqlite3"
            url = f"sqlite:///{name}"
        db = Database(url)
        try:
            db.create_schema()
            if template.prepare:
                template.prepare(db)
        finally:
            db.engine.dispose()
        return name

    def _sqlite_copy(self, template, sqlite_file):
        source = sqlite3.connect(self._template(template))
        try:
            if sqlite_file is not None:
                target = sqlite3.connect(sqlite_file)
                try:
                    source.backup(target)
                finally:
                    target.close()
                return Database(f"sqlite:///{sqlite_file}")
            db = Database("sqlite://")  # one connection per thread: the one the test runs in
            with db.engine.connect() as connection:
                source.backup(connection.connection.driver_connection)
            db.ready = True
            return db
        finally:
            source.close()

    def _postgresql_copy(self, template):
        if template is EMPTY:
            with self._lock:
                db = self._free.pop() if self._free else None
            if db is not None:
                tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
                with db.engine.begin() as connection:
                    connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY"))
                return db
        source = self._template(template)
        name = f"{RUN}_{next(_serial)}{template.name[:12]}"
        engine = migrate._maintenance_engine(postgres_url(name))
        try:
            with engine.connect() as connection:
                connection.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{source}"'))
        finally:
            engine.dispose()
        db = Database(postgres_url(name))
        db.ready = True
        if template is EMPTY:
            self._all.append(db)
        return db

    def _release(self, db, template):
        db.engine.dispose()
        if not ON_POSTGRESQL:
            return
        if template is EMPTY:
            with self._lock:
                self._free.append(db)
            return
        forget_databases(lambda url: url == db.url)  # a service container's engine on it
        with self._lock:
            self._retired.append(db.url)
            batch = self._retired if len(self._retired) >= DROP_BATCH else []
            if batch:
                self._retired = []
        _drop_all(batch)

    def close(self):
        """Drop every database and template this run made here."""
        urls = [db.url for db in self._all] + self._retired
        for db in self._all:
            db.engine.dispose()
        if ON_POSTGRESQL:
            urls += [postgres_url(name) for name in self._templates.values()]
        _drop_all(urls)
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)
            self._folder = None
        self._templates.clear()
        self._all.clear()
        self._free.clear()
        self._retired = []


DROP_BATCH = 32


def _drop_all(urls):
    """Drop the PostgreSQL databases at `urls`, DROP_BATCH side by side (green threads)."""
    if urls:
        list(eventlet.GreenPool(DROP_BATCH).imap(migrate.drop_database, urls))


scratch_databases = ScratchDatabases()
