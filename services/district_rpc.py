"""RPC to this district's own services. Service names carry the district code, so that
two districts (say, the sample one and a test one) can share a broker.

A station's RPC calls carry its broker user as the AMQP `user_id` (the broker checks it),
and their replies come back on a reply queue named for the station
(`rpc.reply-<station>.<service>-<uuid>`, shared/trust/identities.py): a station's broker
user may make and read only its own reply queues, and binds them to the RPC exchange
without declaring the exchange (only the network's administrator and the district may)."""
import uuid

from kombu import Exchange, Queue
from nameko.rpc import RPC_REPLY_QUEUE_TTL, ReplyListener, RpcProxy, get_rpc_exchange

from services.config import STATION_KEY
from services.consumers import SafeQueueConsumer
from services.sender_proof import user_id_of
from shared.messages import district_service_name
from shared.stations import ancestor_at
from shared.trust.identities import reply_queue_name


class StationReplyListener(ReplyListener):
    """nameko's ReplyListener, with the reply queue named for the station, on the queue
    consumer that survives a lost connection (services/consumers.py): nameko's own acks a
    reply on a connection the broker has just closed and the error kills the container
    (seen when the district's broker restarted mid-load on PostgreSQL)."""

    queue_consumer = SafeQueueConsumer()

    def setup(self):
        key = str(uuid.uuid4())
        config = self.container.config
        self.routing_key = key
        exchange = get_rpc_exchange(config)
        self.queue = Queue(
            reply_queue_name(config[STATION_KEY], self.container.service_name, key),
            exchange=Exchange(exchange.name, type=exchange.type, durable=exchange.durable, no_declare=True),
            routing_key=key, queue_arguments={"x-expires": RPC_REPLY_QUEUE_TTL})
        self.queue_consumer.register_provider(self)


class DistrictRpcProxy(RpcProxy):
    """RpcProxy to `<kind>_<district code>`, the district taken from the station code."""

    rpc_reply_listener = StationReplyListener()

    def __init__(self, kind, **options):
        self.kind = kind
        super().__init__(kind, **options)

    def setup(self):
        district = ancestor_at(self.container.config[STATION_KEY], "district")
        self.target_service = district_service_name(self.kind, district)
        self.options["user_id"] = user_id_of(self.container.config["AMQP_URI"])
        super().setup()


def district_service(service_cls, kind, district_code):
    """A copy of a district service class named for one district."""
    name = district_service_name(kind, district_code)
    return type(service_cls.__name__, (service_cls,), {"name": name})
