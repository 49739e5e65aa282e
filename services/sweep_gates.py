"""Whether a station's housekeeping sweep has anything to look at.

Every station runs sweeps on timers (services/outbox_sweeper.py): unsent outbox messages
every second, notices every few seconds, missed appointments every few minutes (every
second in the simulation). Almost always they find nothing, because the worker that wrote
a message or notice sends it right after its commit; but each look is a database
transaction, and 128 stations looking several times a second cost an idle district about
two thirds of its CPU on PostgreSQL.

A `SweepGate` remembers, for one station in this process, whether a look may find
something: after a look, the sweep is skipped until

- something in this process says there is work (`wake()`: a publish or a send that
  failed, so what it left behind waits for the sweep),
- the marker changes (the missed-appointment sweep passes the half days that have ended:
  between two ends there is nothing new to mark), or
- `recheck_seconds` have passed since the last look: what another process of the same
  station left behind when it was killed (a restarted process looks at once, since a new
  gate starts awake).

Gates belong to a station's `Database` object (one per URL per process,
shared/db/database.py), so the writer's container and the sweeper's container of one
station share them, and a database forgotten by a test takes its gates with it.
"""
import threading
import time
import weakref

_gates = weakref.WeakKeyDictionary()   # Database -> {name: SweepGate}
_lock = threading.Lock()


class SweepGate:
    def __init__(self, recheck_seconds, clock=time.monotonic):
        self.recheck_seconds = recheck_seconds
        self.clock = clock
        self._awake = True          # a new process (or gate) looks at once
        self._last_look = None
        self._marker = None

    def wake(self):
        self._awake = True

    def begin(self, marker=None):
        """Whether to look now; if so, the look is recorded as begun (anything that goes
        wrong during it must `wake()` the gate again)."""
        now = self.clock()
        due = (self._awake or marker != self._marker or self._last_look is None
               or now - self._last_look >= self.recheck_seconds)
        if due:
            self._awake, self._marker, self._last_look = False, marker, now
        return due


def sweep_gate(database, name, recheck_seconds):
    """The gate `name` of the station whose database this is (made on first use)."""
    with _lock:
        gates = _gates.setdefault(database, {})
        gate = gates.get(name)
        if gate is None:
            gate = gates[name] = SweepGate(recheck_seconds)
        return gate


def forget(database):
    """Drop the gates of `database` (a test that reuses a database object starts afresh)."""
    with _lock:
        _gates.pop(database, None)
