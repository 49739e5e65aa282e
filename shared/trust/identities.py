"""Each station's identity on the district's broker, and what that identity may touch.

Every station connects to RabbitMQ as its own user, `st-<station code>`, and stamps every
message it publishes with that name in the AMQP `user_id` property. RabbitMQ refuses a
publish whose `user_id` is not the connection's own user, so a receiver that maps
`user_id` back to a station code knows which station sent the message
(services/handoff.py), and the rules in shared/trust/entitlement.py say whether that
station may send it.

The network's exchanges, queues and bindings are declared by an administrator (`tongban
network declare`, which `tongban up` runs); a station only uses them. `permissions_for`
gives RabbitMQ's three regular expressions for a station's user:

- configure: its RPC reply queues (`rpc.reply-<station>.<service>-<uuid>`, made as it
  starts) and, for a station on a node of its own, its federation link's queue; the
  district also its RPC service queues and the RPC exchange;
- write: the exchanges it publishes to (the cases exchange, dead letters, RPC; the
  district's catalogue exchange only for the district) and its reply queues (to bind them);
- read: its own queues (inbox, catalogue feed and their dead-letter queues, reply queues)
  and the RPC exchange, which its reply queues are bound to.

Nothing lets a station read or bind another station's queue: the inbox and catalogue feed
are bound by the administrator, so no station needs read on the cases or catalogue
exchanges, where binding a queue of its own would copy another station's messages. On
the RPC exchange (a topic exchange) `rpc_topic_permissions` limits what a station may bind
to reply keys (random UUIDs), and what it may call to the district's services.
"""
import re

from shared.messages import (
    CASES_EXCHANGE, DEAD_LETTER_EXCHANGE, RPC_EXCHANGE, catalogue_exchange_name, district_service_name,
)
from shared.stations import DISTRICT, ancestor_at, tier_of

USER_PREFIX = "st-"
DISTRICT_RPC_KINDS = ("catalogue", "cases")
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


def broker_user(station_code):
    return f"{USER_PREFIX}{station_code}"


def station_of_user(user_id):
    """The station code a broker user name stands for, or None for any other name."""
    if not isinstance(user_id, str) or not user_id.startswith(USER_PREFIX):
        return None
    code = user_id[len(USER_PREFIX):]
    try:
        tier_of(code)
    except Exception:
        return None
    return code


def reply_queue_name(station_code, service_name, key):
    """A station's RPC reply queue: the permissions tell one station's from another's."""
    return f"rpc.reply-{station_code}.{service_name}-{key}"


def _one_of(*patterns):
    return "^(" + "|".join(patterns) + ")$"


def permissions_for(station_code):
    """(configure, write, read): RabbitMQ permission regexes of a station's user."""
    district = ancestor_at(station_code, DISTRICT)
    is_district = station_code == district
    own_queues = re.escape(f"tongban.station.{station_code}.") + r"(inbox|catalogue)(\.dead)?"
    reply_queues = re.escape(f"rpc.reply-{station_code}.") + "[a-z_]+-" + UUID
    rpc_queues = [re.escape("rpc-" + district_service_name(k, district)) for k in DISTRICT_RPC_KINDS]
    rpc_exchange = re.escape(RPC_EXCHANGE)
    # a village or township on a broker node of its own gets its RPC replies through a
    # federation link that logs in as the station (deploy/REMOTE_VILLAGE.md): the link's
    # exchange and queue on the district's node carry these names
    federation = re.escape(f"federation: {RPC_EXCHANGE} -> ") + ".*"
    configure = [reply_queues] + ([*rpc_queues, rpc_exchange] if is_district else [federation])
    # amq.default: an administrator's "send back" of a dead letter goes straight to the queue
    publishes_to = [re.escape(CASES_EXCHANGE), re.escape(DEAD_LETTER_EXCHANGE), rpc_exchange, r"amq\.default"]
    if is_district:
        publishes_to.append(re.escape(catalogue_exchange_name(district)))
    write = publishes_to + [reply_queues] + (rpc_queues if is_district else [federation])
    read = [own_queues, reply_queues, rpc_exchange] + (rpc_queues if is_district else [federation])
    return _one_of(*configure), _one_of(*write), _one_of(*read)


def rpc_topic_permissions(station_code):
    """(write, read) topic-permission regexes on the RPC exchange: a station calls the
    district's services and binds only reply keys; the district also answers on any
    reply key and binds its own services."""
    district = ancestor_at(station_code, DISTRICT)
    services = "|".join(re.escape(district_service_name(k, district)) for k in DISTRICT_RPC_KINDS)
    calls = f"^({services})\\.[a-z_]+$"
    replies = f"^{UUID}$"
    if station_code == district:
        return f"{calls}|{replies}", f"^({services})\\.\\*$|{replies}"
    return calls, replies
