"""One station database per URL per process, with a write lock.

SQLite allows one writer at a time, and its busy handler sleeps inside C code where
eventlet cannot switch green threads: a green thread waiting for the lock would block the
thread that holds it. So every write goes through `Database.transaction()`, which takes a
per-database lock (green-thread aware once eventlet has patched `threading`) and commits
before releasing it. Nothing inside a transaction may wait on the network: messages are
written to the outbox and published after commit.

PostgreSQL (`postgresql+pg8000://...`: pg8000 is pure Python, so eventlet switches green
threads while it waits) goes through the same code. The lock stays there too (it keeps a
process's writers in line), but it is not what keeps the data right, because several
processes may serve one PostgreSQL station: case numbers come from one atomic upsert,
new rows are inserted (a clash is an IntegrityError, never an overwrite: the next
catalogue version, a new case) and a case is updated only at the revision it was read
with (shared/db/models.py). A SQLite station has one process (shared/db/ownership.py).

The first `get_database(url)` of a process creates the database if it is a PostgreSQL
one that does not exist yet and brings its schema to the newest migration
(shared/db/migrate.py): one query when it is already there.
"""
import threading
from contextlib import contextmanager

from sqlalchemy import create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import sessionmaker

from shared.db import migrate

_databases = {}
_registry_lock = threading.Lock()


class Database:
    def __init__(self, url):
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        kwargs = {}
        if self.is_sqlite:
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
        else:
            # a district runs one PostgreSQL database per station, often on one server:
            # keep two connections per station open, more only while they are needed
            kwargs.update(pool_size=2, max_overflow=10, pool_pre_ping=True,
                          connect_args=_pg8000_tls(url))
        self.engine = create_engine(url, **kwargs)
        if self.is_sqlite:
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        self.write_lock = threading.RLock()
        self.ready_lock = threading.Lock()
        self.ready = False

    def create_schema(self):
        """Create the database if needed (PostgreSQL) and migrate it to the newest schema."""
        migrate.connectable(self.engine)
        migrate.upgrade(self.engine)
        self.ready = True

    @contextmanager
    def transaction(self):
        """A session whose work commits together, or not at all."""
        with self.write_lock:
            session = self.sessions()
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise
            finally:
                session.close()

    @contextmanager
    def reading(self):
        session = self.sessions()
        try:
            yield session
        finally:
            session.rollback()
            session.close()


def _pg8000_tls(url):
    """pg8000 offers TLS to the server on every new connection unless told not to, and
    builds a fresh SSL context (loading the system's CA bundle) each time: about a
    quarter of an idle station's CPU on this machine, since connections beyond the pool's
    two are opened and closed as work comes. A server on this machine (loopback or a
    Unix socket) gets plain connections; a remote one is offered TLS as before."""
    parsed = make_url(url)
    if not parsed.drivername.endswith("pg8000"):
        return {}
    host = parsed.host or "localhost"
    local = host in ("localhost", "::1") or host.startswith("127.") or "unix_sock" in parsed.query
    return {"ssl_context": False} if local else {}


def _sqlite_pragmas(dbapi_connection, _record):
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def get_database(url):
    """The process-wide Database for `url`, its schema current (see the module docstring).
    Stations of one process get theirs ready side by side."""
    with _registry_lock:
        db = _databases.get(url)
        if db is None:
            db = _databases[url] = Database(url)
    if not db.ready:
        with db.ready_lock:
            if not db.ready:
                db.create_schema()
    return db


def forget_databases(which=None):
    """Dispose the engines of every Database, or of those whose URL `which(url)` accepts
    (tests and shutdown)."""
    with _registry_lock:
        for url in [u for u in _databases if which is None or which(u)]:
            _databases.pop(url).engine.dispose()
