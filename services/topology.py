"""Exchanges and queues of a district network.

Every station's queues are declared when the network is set up (`tongban up`, or
`declare_network` in tests), not only when a consumer starts: the broker drops a message
published to an exchange with no queue bound, so a station that has never run must
still have its inbox. Queues are durable and messages persistent; a queue that gives up
on a message routes it to its dead-letter queue.

Only an administrator declares: a station's broker user may not configure the shared
exchanges nor bind queues to them (shared/trust/identities.py), so the objects here are
`passive` when a station uses them (`station_inbox(code, passive=True)`): consuming or
publishing never declares anything.
"""
from kombu import Connection, Exchange, Queue

from services.config import amqp_ssl
from shared.messages import (
    CASES_EXCHANGE, DEAD_LETTER_EXCHANGE, catalogue_exchange_name, catalogue_queue,
    dead_letter_queue, inbox_queue,
)
from shared.stations import ancestor_at

cases_exchange = Exchange(CASES_EXCHANGE, type="direct", durable=True)


def catalogue_exchange(district_code):
    return Exchange(catalogue_exchange_name(district_code), type="fanout", durable=True)

dead_letter_exchange = Exchange(DEAD_LETTER_EXCHANGE, type="direct", durable=True)


def _with_dead_letters(name, exchange, routing_key, passive=False):
    return Queue(
        name, exchange=exchange, routing_key=routing_key, durable=True, no_declare=passive,
        queue_arguments={"x-dead-letter-exchange": DEAD_LETTER_EXCHANGE,
                         "x-dead-letter-routing-key": name})


def station_inbox(station_code, passive=False):
    """Case hand-offs for a station: bound to the cases exchange by its code."""
    return _with_dead_letters(inbox_queue(station_code), cases_exchange, station_code, passive)


def station_catalogue_feed(station_code, passive=False):
    """A replica's own durable copy of every catalogue change."""
    district = ancestor_at(station_code, "district")
    return _with_dead_letters(catalogue_queue(station_code), catalogue_exchange(district), "", passive)


def dead_letters_of(queue_name):
    return Queue(dead_letter_queue(queue_name), exchange=dead_letter_exchange,
                 routing_key=queue_name, durable=True)


def station_queues(station_code, is_district):
    queues = [station_inbox(station_code)]
    if not is_district:
        queues.append(station_catalogue_feed(station_code))
    return queues + [dead_letters_of(q.name) for q in queues]


def declare_station(connection, station_code, is_district):
    channel = connection.default_channel
    district = ancestor_at(station_code, "district")
    for exchange in (cases_exchange, catalogue_exchange(district), dead_letter_exchange):
        exchange(channel).declare()
    for queue in station_queues(station_code, is_district):
        queue(channel).declare()


def declare_network(amqp_uri, network, ssl=None):
    """Declare the exchanges and every station's queues of `network`; `ssl`: the TLS
    options of the administrator's connection (services.config.amqp_ssl_options)."""
    with Connection(amqp_uri, ssl=amqp_ssl({"AMQP_URI": amqp_uri, "AMQP_SSL": ssl})) as connection:
        for station in network.stations.values():
            declare_station(connection, station.code, station.code == network.district_code)
