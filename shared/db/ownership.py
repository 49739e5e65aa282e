"""One process serves a station whose database is a SQLite file.

SQLite lets one writer in at a time, and a station's numbering, outbox relay and inbox
assume they are the only ones writing. Two processes serving the same file (a second
`tongban up` while the first still runs) used to share its HTTP port and its data. The
owner of a station takes an exclusive OS lock (flock) on a file beside the database
and keeps it while it runs. The kernel drops the lock when the process ends, however
it ends, so a crash leaves nothing to clean up; the lock file also says who holds it
(PID, host, command), which is what a refused second process reports.

A PostgreSQL station has no such owner: several processes may serve it, and the
database's own locking keeps them correct (shared/cases/store.py).
"""
import fcntl
import json
import os
import socket
import sys
import time
from pathlib import Path


class StationLocked(RuntimeError):
    """Another process holds the station's database."""


def lock_path_for(database_url):
    """The lock file of a SQLite database URL, or None for a database that needs none."""
    prefix = "sqlite:///"
    if not database_url.startswith(prefix) or database_url == prefix + ":memory:":
        return None
    return Path(database_url[len(prefix):] + ".lock")


class StationLock:
    def __init__(self, station_code, path):
        self.station_code = station_code
        self.path = Path(path)
        self._handle = None

    def acquire(self):
        """Take the lock, or StationLocked naming the process that holds it."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "a+", encoding="utf-8")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_holder(handle)
            handle.close()
            raise StationLocked(
                f"station {self.station_code} is already being served by {holder}: its database "
                f"{self.path.with_suffix('')} may be used by one process only. Stop that process first "
                f"(or serve the station from PostgreSQL to run it in several processes).") from None
        handle.seek(0)
        handle.truncate()
        json.dump({"pid": os.getpid(), "host": socket.gethostname(), "since": time.strftime("%Y-%m-%d %H:%M:%S"),
                   "command": " ".join(sys.argv)[:500]}, handle, ensure_ascii=False)
        handle.flush()
        self._handle = handle
        return self

    def release(self):
        if self._handle is not None:
            self._handle.close()  # closing the file drops the flock
            self._handle = None

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc):
        self.release()


def is_held(station_code, database_url):
    """None if nobody serves this SQLite station now, else the StationLocked error."""
    path = lock_path_for(database_url)
    if path is None:
        return None
    try:
        StationLock(station_code, path).acquire().release()
    except StationLocked as exc:
        return exc
    return None


def _read_holder(handle):
    handle.seek(0)
    try:
        holder = json.loads(handle.read() or "{}")
    except ValueError:
        holder = {}
    if not holder.get("pid"):
        return "another process"
    return f"process {holder['pid']} on {holder.get('host', '?')} (since {holder.get('since', '?')}: " \
           f"{holder.get('command', '?')})"
