"""Names and envelopes of the messages stations exchange. Plain data: the broker client
that carries them lives in services/."""
import uuid

CASES_EXCHANGE = "tongban.cases"          # direct: routing key = the receiving station's code
CATALOGUE_EXCHANGE_PREFIX = "tongban.catalogue."  # + district code; fanout to every replica
DEAD_LETTER_EXCHANGE = "tongban.dead"     # direct: routing key = the queue that gave up
RPC_EXCHANGE = "nameko-rpc"               # nameko's RPC exchange (its default name): topic

# kinds of case messages
CASE_HANDOVER = "case.handover"      # the receiver becomes the case's holder
CASE_RECORD = "case.record"          # a copy for the district's complete record
CASE_SUPPLEMENT = "case.supplement"  # materials handed in at the filing counter
CASE_EXTENSION_DECISION = "case.extension_decision"  # the district's answer to 延期
CASE_ALERT = "case.alert"            # a supervision warning or card for the holding station
CATALOGUE_CHANGE = "catalogue.change"
AUDIT_COPY = "audit.copy"              # a batch of a station's access-audit entries, for the district


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


def new_message_id():
    return uuid.uuid4().hex


def envelope(kind, body, sender, message_id=None):
    return {"message_id": message_id or new_message_id(), "kind": kind, "sender": sender, "body": body}
