"""Query codes hashed and checked off the eventlet hub: scrypt takes ~20 ms of CPU on
purpose, which on the hub would stall every other green thread of the process (every
station a host serves). It runs in eventlet's pool of OS threads (hashlib releases the
GIL), at most AT_ONCE at a time per process, like Argon2 for passwords (services/auth.py)."""
from eventlet import tpool
from eventlet.semaphore import Semaphore

from shared.cases import query_codes

AT_ONCE = 2
_slots = Semaphore(AT_ONCE)


def new_sealed():
    """(plain code, its seal), for a filing or a reprinted receipt."""
    with _slots:
        return tpool.execute(query_codes.new_sealed)


def matches(sealed, code):
    """Whether `code` opens `sealed`; the same work when `sealed` is None (no such case)."""
    with _slots:
        return tpool.execute(query_codes.matches, sealed, code)
