"""Online applications for another station's counter (issue 16), at both ends; the rules
are shared/cases/online_application.py's, the entitlement shared/trust/entitlement.py's.

* At the portal (`send`): the resident applied here naming another station's counter. In
  one transaction the application gets its number (the portal's range at the receiver),
  its files are kept here, and the outbox holds one `case.online_application` for the
  receiver (message id `online-<case number>`, so this portal can find it again) and one
  `case.file` per file; the relay publishes them after the commit, the sweep whatever is
  left (broker down, link cut). The resident gets the number and the query code at once.
* At the receiving counter (`receive`, from the case inbox): checked (entitlement, the
  contract), then filed exactly once — by message id, and a number already filed here is
  not filed again — by the workflow's own `apply_online`, under this station's catalogue,
  with the query code's seal the portal made and the files it lists (the counter answers
  the pre-review once they have all arrived verified). The case then lives here as if
  applied for at this station's portal; its record goes to the district as every change
  does.
* The resident's lookup at the portal (`sent_view`): until the receiving counter's record
  reaches the district, the portal shows the application as sent, from its outbox row,
  if the query code matches its seal.
"""
import logging

from sqlalchemy import select

from services import query_code_hashing
from services.observability import log_context
from shared.cases import online_application, pre_review, query_codes
from shared.catalogue.store import CatalogueStore
from shared.contract import CASE_ONLINE_APPLICATION, load_message
from shared.db import outbox
from shared.db.inbox import first_time
from shared.db.models import OutboxMessage
from shared.exceptions import InvalidInput, NotFound
from shared.materials_files import store as material_files, transfer as file_transfer
from shared.messages import CASES_EXCHANGE
from shared.trust import entitlement

log = logging.getLogger(__name__)
SENT = "submitted"
SENT_LABEL = "已提交，等待受理窗口接收"
MESSAGE_PREFIX = "online-"


def message_id(case_no):
    return MESSAGE_PREFIX + case_no


def send(desk, request, uploads, receiver, seal):
    """File `request` (OnlineApplicationSchema's, the SMS code already checked) for the
    counter of station `receiver`: number, files and messages in one transaction. Returns
    the view the resident sees (`view`), with `materials_submitted`."""
    here, now = desk.info.code, desk.clock()
    if receiver not in desk.info.network.stations:
        raise InvalidInput(f"counter: {receiver} is not a station of this district")
    with desk.database.transaction() as session:
        item = CatalogueStore(session).get(request["item_code"])
        online_application.check_sendable(desk.info.network, item, request)  # as before the code was used
        number = online_application.case_no(receiver, now.date(), here, desk._repository(session).next_number(
            online_application.sequence_day(now.date())))
        with log_context(station=here, case_no=number):
            log.info("online application %s for item %s, sent to the counter of %s", number, item["code"], receiver)
            files = [material_files.store_upload(session, number, material, content, filename, request["agent"],
                                                 here, case={"case_no": number, "item": item})
                     for material, filename, content in uploads]
            body = online_application.body(number, here, receiver, item, request, seal, files, now, now)
            ids = [outbox.add_message(session, CASES_EXCHANGE, receiver, CASE_ONLINE_APPLICATION, body, here,
                                      message_id=message_id(number))]
            ids += file_transfer.queue_files(session, {"case_no": number, "deciding_station": receiver},
                                             receiver, here)
    desk.relay.flush(ids)
    return {**view(body, item["name"]), "materials_submitted": body["materials"]}


def view(body, item_name):
    """What the resident sees of an application sent and not yet recorded by its counter
    (the shape of shared/cases/schemas.public_status)."""
    return {"case_no": body["case_no"], "item_name": item_name, "applicant_name": _masked(body["applicant"]["name"]),
            "status": SENT, "status_label": SENT_LABEL, "filing_station": body["receiving_station"],
            "due_date": None, "result": None, "to_bring": [], "updated_at": body["applied_at"], "rating": None}


def _masked(name):
    return name[:1] + "*" * (len(name) - 1)  # as shared/cases/schemas.public_status shows it


def sent_view(desk, case_no, code):
    """The view of an application this portal sent, if `code` opens it, else None."""
    if online_application.portal_of(case_no) != desk.info.code:
        return None
    with desk.database.reading() as session:
        row = session.scalar(select(OutboxMessage).where(OutboxMessage.message_id == message_id(case_no)))
        body = ((row.body or {}).get("body") or {}) if row is not None else {}
        if row is None or row.kind != CASE_ONLINE_APPLICATION:
            return None
        try:
            name = CatalogueStore(session).get(body["item_code"])["name"]
        except NotFound:
            name = body["item_code"]
    return view(body, name) if query_code_hashing.matches(body.get("query_code_seal"), code) else None


def receive(desk, message):
    """File a `case.online_application` at this counter exactly once. Returns the case
    filed now, or None (already filed)."""
    message = load_message(message)
    body, sender, here = message["body"], message["sender"], desk.info.code
    ids = []
    with log_context(station=here, case_no=body["case_no"]):
        with desk.database.transaction() as session:
            entitlement.check_online_application(sender, here, body, CatalogueStore(session))
            if not first_time(session, message["message_id"], message["kind"]):
                log.info("online application %s: message %s already handled", body["case_no"],
                         message["message_id"])
                return None
            repo = desk._repository(session)
            if repo.find(body["case_no"]) is not None:
                log.info("online application %s is already filed here", body["case_no"])
                return None
            desk._notice_ids = []
            result = pre_review.apply_online(desk._workflow(session), body["case_no"],
                                             online_application.filing_request(body))
            query_codes.attach(result.case, body["query_code_seal"])
            portal = desk.info.network.stations.get(sender)
            online_application.mark_received(result.case, body, portal.name if portal else sender)
            ids = desk._commit(session, repo, result, new_case=True)
        log.info("online application %s from the portal of %s is waiting for its pre-review here",
                 body["case_no"], sender)
    desk._publish(ids)
    return result.case
