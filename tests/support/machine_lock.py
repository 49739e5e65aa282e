"""A lock every test run on this machine shares, for the few tests that load the whole
machine (the simulated year starts 128 stations): CI runs the SQLite and PostgreSQL passes
side by side, and two such tests at the same moment would starve each other's stations."""
import contextlib
import fcntl
import tempfile
from pathlib import Path


@contextlib.contextmanager
def one_at_a_time(name):
    """Wait until no other test run on this machine holds `name`, and hold it meanwhile
    (released by the kernel, too, should this process die)."""
    path = Path(tempfile.gettempdir()) / f"tongban-tests-{name}.lock"
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
