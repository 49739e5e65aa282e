"""A remote village on its own RabbitMQ node, linked to the district's node by RabbitMQ's
own plugins. `deploy/remote-village.sh` runs the node and calls this module for what
depends on the network: the queues and bindings on both nodes, and the definitions of the
links (dynamic shovels, a federation upstream and a policy).

The village's services connect only to their local node and do not change. On that node:

* `tongban.cases` (direct) routes the village's own code to its inbox, as on the
  district's node, and every *other* station code of the network to the uplink queue
  `tongban.remote.<village>.uplink`. A shovel (`ack-mode: on-confirm`) carries that
  queue to the district node's `tongban.cases`, keeping the routing key. While the link
  is down the hand-offs wait in the uplink queue; a hand-off to a code the network does
  not know stays unroutable (the relay publishes with `mandatory`), as it would at the
  district.
* Two shovels carry the village's inbox and catalogue queues *on the district's node*
  (declared there for every station by `tongban network declare`) to the same queues on
  the village node; while the link is down the messages wait at the district.
* RPC (`catalogue_<district>.changes_since`, `cases_<district>.find`): requests that no
  local queue takes leave the village's `nameko-rpc` through an alternate exchange to the
  queue `tongban.remote.<village>.rpc` (messages expire after 30 s: a question nobody
  waits for any more need not be asked), which a shovel carries to the district's
  `nameko-rpc`. The replies are routed at the district by the caller's reply-queue key,
  which only the village knows, so the village's `nameko-rpc` is a federated exchange:
  the federation link binds, on the district's node, exactly the keys bound on the
  village's exchange (its reply queues) and brings those messages over. While the link is
  down an RPC times out (the replica logs it and retries; the catalogue events wait in
  the district's queue and arrive in order when the link is back).

    python -m deploy.remote_village declare --network N --village V --village-uri U --district-uri D
    python -m deploy.remote_village links --network N --village V --district-link-uri R
    python -m deploy.remote_village depths --network N --village V --village-uri U --district-uri D
    rabbitmqctl ... shovel_status --formatter json | python -m deploy.remote_village describe-links
"""
import argparse
import json
import sys

from kombu import Connection, Exchange, Queue, binding

from services.config import load_network
from services.topology import cases_exchange, declare_station
from shared.messages import catalogue_queue, inbox_queue

RPC_EXCHANGE = "nameko-rpc"          # nameko's default; the stations do not change it
RPC_REQUEST_TTL_MS = 30_000
UPSTREAM_NAME = "tongban-district"
RPC_POLICY_NAME = "tongban-rpc-link"
RECONNECT_DELAY_SECONDS = 5
# the federation link's queue on the district's node goes away if the village node is
# gone for this long; replies it holds are useless after the callers' timeouts anyway
UPSTREAM_EXPIRES_MS = 3_600_000
UPSTREAM_MESSAGE_TTL_MS = 60_000
LOCAL_URI = "amqp://"                # a shovel's direct connection to its own node


def uplink_queue(village):
    return f"tongban.remote.{village}.uplink"


def rpc_queue(village):
    return f"tongban.remote.{village}.rpc"


def rpc_alternate_exchange(village):
    return f"tongban.remote.{village}.rpc"


def shovel_names(village):
    return {kind: f"tongban-{village}-{kind}" for kind in ("uplink", "rpc", "inbox", "catalogue")}


def _check_village(network, village):
    station = network.station(village)
    if village == network.district_code:
        raise SystemExit(f"{village} is the district centre, not a remote station")
    return station


def village_node_queues(network, village):
    """The queues only the village node has: the uplink for hand-offs, bound by every
    other station's code, and the queue of outgoing RPC requests."""
    others = [code for code in network.stations if code != village]
    uplink = Queue(uplink_queue(village), durable=True,
                   bindings=[binding(cases_exchange, routing_key=code) for code in others],
                   queue_arguments={"x-queue-mode": "lazy"})
    rpc = Queue(rpc_queue(village), exchange=Exchange(rpc_alternate_exchange(village), type="fanout",
                                                      durable=True),
                routing_key="", durable=True,
                queue_arguments={"x-message-ttl": RPC_REQUEST_TTL_MS})
    return uplink, rpc


def declare_village_node(village_uri, network, village):
    """Exchanges, the village's own queues and the uplink queues on the village's node."""
    _check_village(network, village)
    uplink, rpc = village_node_queues(network, village)
    with Connection(village_uri, connect_timeout=10) as connection:
        channel = connection.default_channel
        declare_station(connection, village, is_district=False)
        Exchange(RPC_EXCHANGE, type="topic", durable=True)(channel).declare()
        Exchange(rpc_alternate_exchange(village), type="fanout", durable=True)(channel).declare()
        uplink(channel).declare()
        rpc(channel).declare()


def declare_district_side(district_uri, network, village):
    """The village's inbox and catalogue queues on the district's node (as
    `tongban network declare` does), so the shovels find them with their arguments."""
    _check_village(network, village)
    with Connection(district_uri, connect_timeout=10) as connection:
        declare_station(connection, village, is_district=False)


def link_parameters(network, village, district_link_uri, reconnect_delay=RECONNECT_DELAY_SECONDS):
    """[(component, name, definition)] for `rabbitmqctl -n VILLAGE_NODE set_parameter`,
    then the policy as ("policy", name, {"pattern", "apply-to", "definition"})."""
    _check_village(network, village)
    names = shovel_names(village)
    common = {"ack-mode": "on-confirm", "reconnect-delay": reconnect_delay,
              "src-delete-after": "never", "src-prefetch-count": 500}
    shovels = [
        # the village's hand-offs and case records: out to the district's tongban.cases
        (names["uplink"], {**common, "src-uri": LOCAL_URI, "src-queue": uplink_queue(village),
                           "dest-uri": district_link_uri, "dest-exchange": cases_exchange.name}),
        # its RPC requests: out to the district's nameko-rpc (routing key kept)
        (names["rpc"], {**common, "src-uri": LOCAL_URI, "src-queue": rpc_queue(village),
                        "dest-uri": district_link_uri, "dest-exchange": RPC_EXCHANGE}),
        # what the district's node holds for the village: in to the same queues here
        (names["inbox"], {**common, "src-uri": district_link_uri, "src-queue": inbox_queue(village),
                          "dest-uri": LOCAL_URI, "dest-queue": inbox_queue(village)}),
        (names["catalogue"], {**common, "src-uri": district_link_uri,
                              "src-queue": catalogue_queue(village),
                              "dest-uri": LOCAL_URI, "dest-queue": catalogue_queue(village)}),
    ]
    upstream = {"uri": district_link_uri, "exchange": RPC_EXCHANGE, "ack-mode": "on-confirm",
                "max-hops": 1, "reconnect-delay": reconnect_delay,
                "expires": UPSTREAM_EXPIRES_MS, "message-ttl": UPSTREAM_MESSAGE_TTL_MS}
    policy = {"pattern": f"^{RPC_EXCHANGE}$", "apply-to": "exchanges", "priority": 10,
              "definition": {"federation-upstream": UPSTREAM_NAME,
                             "alternate-exchange": rpc_alternate_exchange(village)}}
    return ([("shovel", name, definition) for name, definition in shovels]
            + [("federation-upstream", UPSTREAM_NAME, upstream), ("policy", RPC_POLICY_NAME, policy)])


def queue_depths(uri, names):
    """{queue: (messages ready, consumers)} for the queues that exist."""
    depths = {}
    with Connection(uri, connect_timeout=5) as connection:
        for name in names:
            channel = connection.channel()
            try:
                _, count, consumers = channel.queue_declare(queue=name, passive=True)
                depths[name] = (count, consumers)
            except Exception:
                depths[name] = None
            finally:
                try:
                    channel.close()
                except Exception:
                    pass
    return depths


def describe_links(text):
    """One line per shovel or federation link out of `rabbitmqctl ... --formatter json`."""
    try:
        rows = json.loads(text or "[]")
    except ValueError:
        return [text.strip()]
    lines = []
    for row in rows:
        if "upstream" in row:  # a federation link
            what = f"federation {row.get('upstream')}: {row.get('upstream_exchange')} -> {row.get('exchange')}"
            state = row.get("status")
        else:
            state = row.get("state")
            what = f"shovel {row.get('name')}"
            if row.get("source"):  # a shovel that is (re)connecting shows no ends yet
                source = row.get("source_queue") or row.get("source_exchange") or ""
                target = row.get("destination_exchange") or row.get("destination_queue") or ""
                what += f": {row['source']} {source} -> {row.get('destination')} {target}"
        error = row.get("error") or row.get("termination_reason") or ""
        lines.append(f"{state:<10} {what}  (since {row.get('last_changed', '?')}){'  ' + error if error else ''}")
    return lines or ["(none)"]


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m deploy.remote_village")
    parser.add_argument("command", choices=["declare", "links", "depths", "describe-links"])
    parser.add_argument("--network")
    parser.add_argument("--village")
    parser.add_argument("--village-uri")
    parser.add_argument("--district-uri")
    parser.add_argument("--district-link-uri", help="the district's node as the village node reaches it")
    parser.add_argument("--reconnect-delay", type=int, default=RECONNECT_DELAY_SECONDS)
    args = parser.parse_args(argv)
    if args.command == "describe-links":
        print("\n".join(describe_links(sys.stdin.read())))
        return 0
    if not (args.network and args.village):
        parser.error("--network and --village are required")
    network = load_network(args.network)
    village = args.village
    if args.command == "declare":
        declare_district_side(args.district_uri, network, village)
        declare_village_node(args.village_uri, network, village)
        print(f"declared {village}'s queues on both nodes and its uplink "
              f"({len(network.stations) - 1} station codes)")
    elif args.command == "links":
        # one line per parameter: component<TAB>name<TAB>JSON
        for component, name, definition in link_parameters(
                network, village, args.district_link_uri, args.reconnect_delay):
            print(f"{component}\t{name}\t{json.dumps(definition, separators=(',', ':'))}")
    else:
        own = [inbox_queue(village), catalogue_queue(village)]
        for label, uri, names in (
                ("district node", args.district_uri, own + [f"{q}.dead" for q in own]),
                ("village node", args.village_uri,
                 own + [f"{q}.dead" for q in own] + [uplink_queue(village), rpc_queue(village)])):
            try:
                depths = queue_depths(uri, names)
            except Exception as exc:
                print(f"{label}: unreachable ({exc})")
                continue
            for name, value in depths.items():
                shown = "missing" if value is None else f"{value[0]} ready, {value[1]} consumer(s)"
                print(f"{label:<13} {name:<48} {shown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
