"""The housekeeping sweeps look only when there may be something to find
(services/sweep_gates.py), and never leave behind what a failed publish left."""
from services import sweep_gates
from services.relay import OUTBOX_RECHECK_SECONDS, Relay
from services.sweep_gates import SweepGate, sweep_gate
from shared.db import outbox
from shared.messages import CASES_EXCHANGE, CASE_HANDOVER

VILLAGE, TOWNSHIP = "449907001001", "449907001"


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_a_gate_opens_at_first_then_on_wake_marker_change_or_recheck_time():
    clock = Clock()
    gate = SweepGate(recheck_seconds=10, clock=clock)
    assert gate.begin(marker="am") is True          # a new process looks at once
    assert gate.begin(marker="am") is False
    gate.wake()
    assert gate.begin(marker="am") is True
    assert gate.begin(marker="pm") is True          # a half day ended
    assert gate.begin(marker="pm") is False
    clock.now += 9.9
    assert gate.begin(marker="pm") is False
    clock.now += 0.1
    assert gate.begin(marker="pm") is True          # the recheck, whatever happened elsewhere


class SwitchablePublisher:
    def __init__(self):
        self.up = False
        self.published = []

    def publish(self, body, **kwargs):
        if not self.up:
            raise ConnectionError("broker down")
        self.published.append(kwargs["message_id"])


def _handover(db, n):
    with db.transaction() as session:
        return outbox.add_message(session, CASES_EXCHANGE, TOWNSHIP, CASE_HANDOVER,
                                  {"case": {"case_no": f"{VILLAGE}-20260105-{n:04d}"}}, VILLAGE)


def test_the_outbox_sweep_skips_quiet_stations_but_not_what_a_failed_publish_left(memory_db):
    sweep_gates.forget(memory_db)
    clock = Clock()
    publisher = SwitchablePublisher()
    relay = Relay(memory_db, publisher, VILLAGE)
    sweep_gate(memory_db, "outbox", OUTBOX_RECHECK_SECONDS).clock = clock
    assert relay.sweep(settle_seconds=0) == 0        # the first look finds nothing

    first = _handover(memory_db, 1)
    assert relay.flush([first]) == 0                 # the broker is down: left in the outbox
    publisher.up = True
    assert relay.sweep(settle_seconds=0) == 1        # the failure woke the sweep at once
    assert publisher.published == [first]

    # a row this process did not try to publish (another process of the station, killed
    # between its commit and its publish): quiet sweeps skip it until the recheck
    orphan = _handover(memory_db, 2)
    assert relay.sweep(settle_seconds=0) == 0
    with memory_db.reading() as session:
        assert [m.message_id for m in outbox.unsent(session)] == [orphan]
    clock.now += OUTBOX_RECHECK_SECONDS
    assert relay.sweep(settle_seconds=0) == 1
    assert publisher.published == [first, orphan]


def test_a_flush_that_publishes_everything_leaves_the_sweep_asleep(memory_db):
    sweep_gates.forget(memory_db)
    publisher = SwitchablePublisher()
    publisher.up = True
    relay = Relay(memory_db, publisher, VILLAGE)
    assert relay.sweep(settle_seconds=0) == 0
    sent = _handover(memory_db, 3)
    assert relay.flush([sent]) == 1
    assert sweep_gate(memory_db, "outbox", OUTBOX_RECHECK_SECONDS).begin() is False


def test_a_row_too_young_for_this_look_keeps_the_sweep_awake(memory_db):
    """A failed flush wakes the sweep; if its next look comes before the row has settled,
    the look must not put the gate back to sleep for the whole recheck time."""
    sweep_gates.forget(memory_db)
    clock = Clock()
    relay = Relay(memory_db, SwitchablePublisher(), VILLAGE)
    gate = sweep_gate(memory_db, "outbox", OUTBOX_RECHECK_SECONDS)
    gate.clock = clock
    assert relay.sweep(settle_seconds=0) == 0
    young = _handover(memory_db, 4)
    assert relay.flush([young]) == 0                 # broker down
    relay.publisher.up = True
    assert relay.sweep(settle_seconds=3600) == 0     # too young for this look
    assert gate.begin() is True                      # ... so the next one looks again
