"""One station database per URL per process, with a write lock.

SQLite allows one writer at a time, and its busy handler sleeps inside C code where
eventlet cannot switch green threads: a green thread waiting for the lock would block the
thread that holds it. So every write goes through `Database.transaction()`, which takes a
per-database lock (green-thread aware once eventlet has patched `threading`) and commits
before releasing it. Nothing inside a transaction may wait on the network: messages are
written to the outbox and published after commit.
"""
import threading
from contextlib import contextmanager

from sqlalchemy import create_engine, event
from sqlalchemy.orm import sessionmaker

from shared.db.models import Base

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
            kwargs.update(pool_size=5, max_overflow=10, pool_pre_ping=True)
        self.engine = create_engine(url, **kwargs)
        if self.is_sqlite:
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        self.write_lock = threading.RLock()

    def create_schema(self):
        Base.metadata.create_all(self.engine)

    def drop_schema(self):
        Base.metadata.drop_all(self.engine)

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


def _sqlite_pragmas(dbapi_connection, _record):
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def get_database(url):
    """The process-wide Database for `url` (created, with its tables, on first use)."""
    with _registry_lock:
        db = _databases.get(url)
        if db is None:
            db = Database(url)
            db.create_schema()
            _databases[url] = db
        return db


def forget_databases():
    """Dispose every engine (tests and shutdown)."""
    with _registry_lock:
        for db in _databases.values():
            db.engine.dispose()
        _databases.clear()
