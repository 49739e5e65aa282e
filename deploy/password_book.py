"""The passwords StationClient gave the sample staff: a sample user must choose their own
password at the first login (shared/auth/accounts.py), so the first client to log in as
one picks a random strong password and writes it here; every other client of the same
network (the tests, the simulation, the benchmarks and the drills may run in several
processes against the same stations) reads it from here.

With a data directory, the book is `sample-passwords.yaml` beside the network's
broker-secrets.yaml (mode 0600, {station code: {username: password}}), and whoever logs
in holds an exclusive lock on `sample-passwords.lock` (flock) from reading the book until
the new password is written, so two processes never both change one user's password.
Without a directory, one book in this process's memory.
"""
import contextlib
import fcntl
import os
import threading
import time
from pathlib import Path

import yaml

FILE_NAME = "sample-passwords.yaml"


class MemoryPasswordBook:
    def __init__(self):
        self.entries = {}
        self.lock = threading.RLock()

    @contextlib.contextmanager
    def open(self):
        """The book's entries, held exclusively until the block ends; `save` inside it."""
        with self.lock:
            yield self

    def get(self, code, username):
        return self.entries.get(str(code), {}).get(username)

    def set(self, code, username, password):
        self.entries.setdefault(str(code), {})[username] = password


# one lock per book file and process, whichever client opened it: two clients of one
# process each with its own lock would meet only at the flock
_locks_by_path = {}
_locks_guard = threading.Lock()


def _process_lock(path):
    with _locks_guard:
        return _locks_by_path.setdefault(str(path.resolve()), threading.RLock())


def _flock_exclusive(handle, pause=0.02):
    """flock without blocking the OS thread: under eventlet a blocking flock would stop
    every green thread of the process, the holder of the lock included (a deadlock)."""
    while True:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            time.sleep(pause)  # green under eventlet's monkey patching


class FilePasswordBook(MemoryPasswordBook):
    def __init__(self, path):
        super().__init__()
        self.path = Path(path)
        self.lock_path = self.path.with_suffix(".lock")

    @contextlib.contextmanager
    def open(self):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with _process_lock(self.path):  # the threads of this process, whichever client
            with open(os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600), "r+") as handle:
                _flock_exclusive(handle)  # the other processes
                self.entries = self._read()
                yield self  # the lock goes when the file is closed

    def _read(self):
        if not self.path.exists():
            return {}
        data = yaml.safe_load(self.path.read_text(encoding="utf-8")) or {}
        return {str(code): dict(users or {}) for code, users in data.items()}

    def set(self, code, username, password):
        super().set(code, username, password)
        temporary = self.path.with_suffix(".tmp")
        with open(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w", encoding="utf-8") as out:
            yaml.safe_dump(self.entries, out, allow_unicode=True, sort_keys=True)
        os.chmod(temporary, 0o600)
        os.replace(temporary, self.path)


_process_book = MemoryPasswordBook()


def password_book(data_dir=None):
    """The book of the network whose data directory is `data_dir`; without one, this
    process's book in memory."""
    if data_dir is None:
        return _process_book
    return FilePasswordBook(Path(data_dir) / FILE_NAME)
