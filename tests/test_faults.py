"""Fault tests: poison messages, the district's broker restarted, stations killed.

Everything here runs on a private RabbitMQ node of its own (deploy/drills/harness.py),
because the tests stop and restart it; the shared broker other test runs use is never
touched. A drill network (district 449904, one township, two villages), every station in
its own OS process, is started once for the module. The drills are those of
`tongban chaos` (deploy/drills/chaos.py) with a few hundred cases; `pytest -s` shows their
figures: cases sent, arrived, results back, lost and duplicated, at the district and at
each filing station.
"""
import time
import uuid

import pytest
from click.testing import CliRunner
from kombu import Connection, Exchange, Producer, Queue

from deploy.drills import chaos
from deploy.drills.harness import private_broker, wait_until
from deploy.cli import main as tongban
from services.consumers import SafeQueueConsumer, SafeRpcConsumer
from services.sender_proof import PROVEN_SENDER_HEADER
from shared.messages import dead_letter_queue, inbox_queue
from shared.trust.identities import broker_user
from tests.support import databases

DISTRICT = "449904"
TOWNSHIP = "449904001"
VILLAGES = ["449904001201", "449904001202"]


@pytest.fixture(scope="module")
def broker():
    with private_broker(prefix="tongban_faults") as node:
        yield node


@pytest.fixture(scope="module")
def net(broker, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("faults")
    # SQLite files in workdir, or (TONGBAN_TEST_DATABASE=postgresql) databases of its own
    template = databases.url_template("faults")
    network = chaos.DrillNetwork(workdir, chaos.write_drill_network(workdir / "network.yaml", DISTRICT),
                                 broker.amqp_uri, database_url=template or "",
                                 management_url=broker.management_url)
    try:
        try:
            network.start()
        except Exception:
            print_logs(network)
            raise
        yield network
    finally:
        network.close()
        databases.drop_network_databases(template)


def print_logs(net, lines=30):
    for code in net.network.stations:
        print(f"--- {code}\n{net.log_tail(code, lines)}")


@pytest.fixture(autouse=True)
def _logs_after_failure(request):
    yield
    if getattr(request.node, "tongban_failed", False) and "net" in request.fixturenames:
        print_logs(request.getfixturevalue("net"))


def cli(net, *args):
    result = CliRunner().invoke(tongban, ["--network", net.settings.network_path,
                                          "--amqp", net.settings.amqp_uri, *args])
    assert result.exit_code == 0, result.output + repr(result.exception)
    return result.output


def file_case(net, village):
    load = chaos.CaseLoad(net)
    load.file_one(net.villages.index(village))
    [(case_no, _)] = load.answered.items()
    return case_no


def at_district(net, case_no, status="pending_review"):
    response = net.client.get(DISTRICT, f"/api/cases/{case_no}")
    return response.ok and response.json()["status"] == status


def queue_depth(net, name):
    with Connection(net.settings.amqp_uri) as conn:
        return conn.default_channel.queue_declare(queue=name, passive=True).message_count


def publish(net, body, routing_key, sender, **properties):
    """Publish to the cases exchange as station `sender` does (its own broker user, as the
    validated user_id): what a receiver accepts as coming from that station."""
    with Connection(net.settings.station_amqp_uri(sender), transport_options={"confirm_publish": True}) as conn:
        Producer(conn).publish(body, exchange=Exchange("tongban.cases", type="direct"),
                               routing_key=routing_key, delivery_mode=2, mandatory=True,
                               user_id=broker_user(sender), **properties)


def dead_letters(net, station):
    response = net.client.get(station, "/api/dead-letters")
    assert response.status_code == 200, response.text
    return {d["id"]: d for d in response.json()["dead_letters"]}


# -- poison messages -----------------------------------------------------------------------
def test_settling_or_replying_on_a_lost_connection_does_not_kill_the_container(monkeypatch):
    """nameko's QueueConsumer lets a socket error from ack/requeue escape, which killed
    the container of a station's inbox when the broker restarted; an RPC reply too."""
    class DeadChannel:
        connection = object()

        def basic_ack(self, *args, **kwargs):
            raise BrokenPipeError(32, "Broken pipe")

        def basic_reject(self, *args, **kwargs):
            raise ConnectionResetError(104, "Connection reset by peer")

    class Message:
        channel = DeadChannel()
        properties = {"message_id": "m1"}

        def ack(self):
            self.channel.basic_ack(1)

        def requeue(self):
            self.channel.basic_reject(1, requeue=True)

    consumer = SafeQueueConsumer.__new__(SafeQueueConsumer)
    consumer.ack_message(Message())        # no exception: the broker redelivers it
    consumer.requeue_message(Message())

    # an RPC server's reply on a dead connection: logged, the request comes again
    def reply_on_a_dead_connection(self, result, exc_info):
        raise ConnectionResetError(104, "Connection reset by peer")
    monkeypatch.setattr("nameko.rpc.Responder.send_response", reply_on_a_dead_connection)
    rpc_consumer = SafeRpcConsumer.__new__(SafeRpcConsumer)
    rpc_consumer.container = type("Container", (), {"config": {"AMQP_URI": "amqp://guest:guest@127.0.0.1:1/"}})()
    message = Message()
    message.delivery_info = {"routing_key": "catalogue_449904.changes_since"}
    assert rpc_consumer.handle_result(message, {"changes": []}, None) == ({"changes": []}, None)


def test_poison_messages_do_not_block_the_inbox_and_wait_in_its_dead_letter_queue(net):
    inbox = inbox_queue(TOWNSHIP)
    poison_id = "poison-" + uuid.uuid4().hex[:12]
    poison_case = f"{VILLAGES[0]}-20260101-99999"
    # a hand-over whose case lacks almost everything, and a body that is not even JSON
    # (from the village itself, on the case's route: the sender is proven, and the case is
    # refused for what it lacks)
    publish(net, {"message_id": poison_id, "kind": "case.handover", "sender": VILLAGES[0],
                  "body": {"case": {"case_no": poison_case, "revision": 1, "filing_station": VILLAGES[0],
                                    "holder_station": TOWNSHIP, "deciding_station": DISTRICT}}},
            TOWNSHIP, VILLAGES[0], message_id=poison_id)
    garbage_id = "garbage-" + uuid.uuid4().hex[:12]
    publish(net, b"\x00\x01 this is not JSON {", TOWNSHIP, VILLAGES[0], message_id=garbage_id,
            content_type="application/json", content_encoding="utf-8")
    # good cases filed behind them still travel through the township to the district
    good = [file_case(net, VILLAGES[n % 2]) for n in range(10)]
    wait_until(lambda: all(at_district(net, no) for no in good), 30, message="good cases at the district")
    assert net.processes[TOWNSHIP].alive(), "the township's process survived the poison"
    wait_until(lambda: queue_depth(net, dead_letter_queue(inbox)) == 2, 10, message="2 dead letters")

    # visible to an administrator: the CLI ...
    listing = cli(net, "dead-letters", "list", "--station", TOWNSHIP)
    print("\n" + listing)
    poison_line = next(line for line in listing.splitlines() if line.startswith(poison_id[:12]))
    # refused by the contract before any handler runs, with the field that is wrong
    assert "case.handover" in poison_line and poison_case in poison_line
    assert "body.case.item: Missing data for required field" in poison_line
    garbage_line = next(line for line in listing.splitlines() if line.startswith(garbage_id[:12]))
    assert "undecodable" in garbage_line
    assert "2 dead letter(s) in 1 queue(s)" in listing
    assert "no dead letters" in cli(net, "dead-letters", "list", "--station", DISTRICT)
    # ... and the township's own HTTP API (listing leaves the queue as it was)
    letters = dead_letters(net, TOWNSHIP)
    assert set(letters) == {poison_id, garbage_id}
    assert letters[poison_id]["case_no"] == poison_case and letters[poison_id]["retries"] == 0
    assert letters[poison_id]["queue"] == inbox and letters[poison_id]["failed_at"]
    assert queue_depth(net, dead_letter_queue(inbox)) == 2

    # retried with nothing fixed, it fails again and comes back, counted
    output = cli(net, "dead-letters", "retry", poison_id[:10], "--station", TOWNSHIP)
    assert f"sent back {poison_id}" in output and "1 message(s) sent back" in output
    wait_until(lambda: dead_letters(net, TOWNSHIP).get(poison_id, {}).get("retries") == 1, 15,
               message="the poison dead-lettered again")
    later = file_case(net, VILLAGES[0])
    wait_until(lambda: at_district(net, later), 30, message="a case filed after the retry")
    assert set(dead_letters(net, TOWNSHIP)) == {poison_id, garbage_id}


def test_a_dead_letter_whose_cause_has_gone_is_processed_when_retried(net):
    """A genuine hand-over the township failed on (here: moved to the dead-letter queue
    by hand while the township was down, as if its disk had been full) is not lost: the
    administrator retries it and the case continues its trip, exactly once."""
    inbox = inbox_queue(TOWNSHIP)
    before = set(dead_letters(net, TOWNSHIP))
    net.kill(TOWNSHIP)
    case_no = file_case(net, VILLAGES[1])
    wait_until(lambda: queue_depth(net, inbox) == 1, 15, message="the hand-over in the township's inbox")
    with Connection(net.settings.amqp_uri, transport_options={"confirm_publish": True}) as conn:
        message = Queue(inbox, no_declare=True)(conn.default_channel).get(no_ack=False)
        Producer(conn).publish(message.body, exchange=Exchange("tongban.dead", type="direct"),
                               routing_key=inbox, content_type=message.content_type,
                               content_encoding=message.content_encoding, delivery_mode=2,
                               message_id=message.properties["message_id"],
                               headers={"x-tongban-error": "OSError: [Errno 28] No space left on device",
                                        "x-tongban-queue": inbox,
                                        # the sender the township's consumer proved, as it records it
                                        PROVEN_SENDER_HEADER: case_no.split("-")[0]})
        message.ack()
    net.restart(TOWNSHIP)
    letters = dead_letters(net, TOWNSHIP)
    [new_id] = set(letters) - before
    assert letters[new_id]["case_no"] == case_no and letters[new_id]["kind"] == "case.handover"
    assert "No space left" in letters[new_id]["reason"]
    time.sleep(1)
    assert not at_district(net, case_no), "the case waits in the dead-letter queue"

    response = net.client.post(TOWNSHIP, "/api/dead-letters/retry", {"ids": [new_id]})
    assert response.status_code == 200 and [d["id"] for d in response.json()["retried"]] == [new_id]
    wait_until(lambda: at_district(net, case_no), 30, message="the retried case at the district")
    assert set(dead_letters(net, TOWNSHIP)) == before
    # retrying it once more (say, by mistake) changes nothing: consumers are idempotent
    publish(net, message.body, TOWNSHIP, case_no.split("-")[0], message_id=message.properties["message_id"],
            content_type=message.content_type, content_encoding=message.content_encoding)
    time.sleep(1.5)
    case = net.client.get(DISTRICT, f"/api/cases/{case_no}").json()
    receives = [(h["station"], h["action"]) for h in case["history"] if h["action"] == "receive"]
    assert receives == [(TOWNSHIP, "receive"), (DISTRICT, "receive")]

    bad = net.client.post(TOWNSHIP, "/api/dead-letters/retry", {"ids": ["nosuchmessage"]})
    assert bad.status_code == 404 and "nosuchmessage" in bad.json()["message"]
    assert net.client.post(TOWNSHIP, "/api/dead-letters/retry", {"every": 1}).status_code == 400


# -- the district's broker restarted, stations killed ------------------------------------
def _drill(net, fault, cases, broker=None):
    result = chaos.run_drill(net, fault, cases, broker=broker, down_seconds=3, timeout=120)
    print("\n" + chaos.describe(result) + "\n" + chaos.table([result]))
    assert not result.fault_error
    assert result.lost == 0 and result.duplicated == 0, "\n".join(result.problems)
    assert not result.crashes, f"stations exited by themselves: {result.crashes}"
    assert result.outbox_left == 0, "the sweepers publish whatever waited in the outboxes"
    assert result.sent >= cases and result.arrived == result.sent == result.results_back
    return result


def test_district_broker_restarted_mid_load_loses_and_duplicates_nothing(net, broker):
    result = _drill(net, "broker", 250, broker=broker)
    # what was committed while the broker was down waited in the outboxes, and went out
    assert result.outbox_peak > 0


@pytest.mark.parametrize("kind", ["district", "township", "village"])
def test_station_killed_mid_load_loses_and_duplicates_nothing(net, kind):
    _drill(net, kind, 200)
