"""Names of the exchanges and queues that carry the messages stations exchange. Plain
data: the broker client that carries them lives in services/. The kinds of message, their
envelope and schemas are the contract (shared/contract.py), re-exported here."""
from shared.contract import (  # noqa: F401  (re-exported)
    AUDIT_COPY, CASE_ALERT, CASE_EXTENSION_DECISION, CASE_FILE, CASE_FILE_REQUEST, CASE_HANDOVER, CASE_RECORD,
    CASE_RESULT, CASE_SUPPLEMENT, CATALOGUE_CHANGE, HALL_VISIT, SCHEMA_VERSION, envelope, new_message_id,
)

CASES_EXCHANGE = "tongban.cases"          # direct: routing key = the receiving station's code
CATALOGUE_EXCHANGE_PREFIX = "tongban.catalogue."  # + district code; fanout to every replica
DEAD_LETTER_EXCHANGE = "tongban.dead"     # direct: routing key = the queue that gave up
RPC_EXCHANGE = "nameko-rpc"               # nameko's RPC exchange (its default name): topic


def catalogue_exchange_name(district_code):
    """Each district has its own catalogue fan-out, so districts can share a broker."""
    return CATALOGUE_EXCHANGE_PREFIX + district_code


def district_service_name(kind, district_code):
    """RPC service names are per district too: 'catalogue_445203', 'cases_445203'."""
    return f"{kind}_{district_code}"


def inbox_queue(station_code):
    return f"tongban.station.{station_code}.inbox"


def catalogue_queue(station_code):
    return f"tongban.station.{station_code}.catalogue"


def dead_letter_queue(queue_name):
    return f"{queue_name}.dead"
