"""CPU-heavy work run off the eventlet hub: password hashes (Argon2) and query-code hashes
(scrypt) take tens of milliseconds of CPU on purpose. Run on the hub, each stalls every
other green thread of the process — every station a host serves — for that long (a 12-way
login flood on one village took another station's median answer from 4.6 to 266 ms). They
run in eventlet's pool of OS threads instead (argon2-cffi and hashlib release the GIL), at
most AT_ONCE at a time per process, whatever their kind: they share the same two cores."""
from eventlet import tpool
from eventlet.semaphore import Semaphore

AT_ONCE = 2
_slots = Semaphore(AT_ONCE)


def run_off_the_hub(function, *args):
    """`function(*args)` in an OS thread, waiting for one of the process's slots first."""
    with _slots:
        return tpool.execute(function, *args)
