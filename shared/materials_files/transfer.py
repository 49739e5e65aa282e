"""Files travel with their case: one `case.file` message per file, through the outbox.

- When a station hands a case on (case.handover), the same transaction lists the case's
  files in its record (store.attach_manifest) and queues each file it keeps for the next
  station on the route (`queue_files`, called by the case desk).
- A file that reaches a station after its case has gone on from there (uploaded late at
  the filing counter, or arriving after the hand-off it followed) is sent on at once
  (`onward`), so every file ends at the deciding station whatever the order of arrival.
- The receiver verifies the content's SHA-256 against the one announced before keeping
  anything (`verify`): a mismatch is not kept, is logged, and the file is asked again from
  the sender (`case.file_request`, at most MAX_REQUESTS times per file), and the corrupted
  message goes to the dead-letter queue with the reason. A file already kept (same case,
  material and hash) is not kept twice: re-sent and redelivered files change nothing.
- The deciding station refuses to decide a case while a file it lists has not arrived
  verified (store.missing; services/cases/desk.py).

Nothing here is home-made delivery: the messages are the outbox's (shared/db/outbox.py),
so they wait out a broker outage or a cut remote-village link like every hand-off.
"""
import base64
import binascii
import logging

from sqlalchemy import select

from shared.cases import states
from shared.cases.routing import next_hop, route
from shared.db import outbox
from shared.db.models import MaterialFile, OutboxMessage, utcnow
from shared.exceptions import TongbanError
from shared.materials_files import detection, store
from shared.messages import CASE_FILE, CASE_FILE_REQUEST, CASES_EXCHANGE

log = logging.getLogger(__name__)

MAX_REQUESTS = 3  # a file arriving corrupted is asked again at most this many times
# a case in these states has no more use for its files on the way to its decision
_DONE = (states.APPROVED, states.REJECTED, states.RESULT_SENT, states.RESULT_READY, states.COMPLETED,
         states.RETURNED)


class CorruptedTransfer(TongbanError):
    """A case.file whose content is not what it announces: not kept (dead-lettered)."""


def file_body(row, content, deciding_station):
    """The `case.file` body of one kept file (contract: CaseFileBodySchema)."""
    view = store.file_view(row)
    return {"case_no": row.case_no, "deciding_station": deciding_station, "sha256": row.sha256,
            "material": row.material, "media_type": row.media_type, "size": row.size,
            "filename": row.filename, "uploaded_by": row.uploaded_by, "uploaded_at": view["uploaded_at"],
            "station": row.station, "content": base64.b64encode(content).decode("ascii")}


def queue_files(session, case, to, sender, only=None):
    """Queue every file of `case` kept here (or the rows `only`) for station `to`; the
    outbox message ids."""
    ids = []
    for row in only if only is not None else store.rows(session, case["case_no"]):
        content = store.content_of(session, row.sha256)
        if content is None:  # cannot happen: a row is added with its blob
            log.error("case %s: file %s has no content here; not sent", row.case_no, row.sha256)
            continue
        ids.append(outbox.add_message(session, CASES_EXCHANGE, to, CASE_FILE,
                                      file_body(row, content, case["deciding_station"]), sender))
    return ids


def onward(case, here):
    """The station this station's files of `case` go to now, or None: the next one on the
    route when the case has already gone on from here towards its decision."""
    deciding = case.get("deciding_station") if case else None
    if not deciding or deciding == here or case["holder_station"] == here or case["status"] in _DONE:
        return None
    try:
        path = route(case["filing_station"], deciding)
    except Exception:
        return None
    return next_hop(here, deciding) if here in path[:-1] else None


def after_upload(session, case, row, here):
    """A file kept here for a case that has gone on: sent after it. Message ids."""
    to = onward(case, here)
    return queue_files(session, case, to, here, only=[row]) if to else []


def verify(body):
    """The content of a `case.file`, checked: base64 that decodes, of the announced size,
    whose SHA-256 is the announced one, of an allowed type. CorruptedTransfer otherwise."""
    where = f"case {body['case_no']}, material {body['material']}, file {body['sha256']}"
    try:
        content = base64.b64decode(body["content"], validate=True)
    except (binascii.Error, ValueError):
        raise CorruptedTransfer(f"{where}: the content is not valid base64; not kept") from None
    digest = store.sha256_of(content)
    if digest != body["sha256"]:
        raise CorruptedTransfer(f"{where}: the content's SHA-256 is {digest}, not the one announced; not kept")
    if len(content) != body["size"]:
        raise CorruptedTransfer(f"{where}: {len(content)} bytes arrived, {body['size']} were announced; not kept")
    try:
        media_type = detection.detect(body.get("filename") or body["sha256"], content)
    except TongbanError as refused:
        raise CorruptedTransfer(f"{where}: {refused.message}") from None
    if media_type != body["media_type"]:
        raise CorruptedTransfer(f"{where}: the content is {media_type}, not {body['media_type']}; not kept")
    return content


def keep(session, body, content, sender, here, known):
    """Keep a verified file from `sender` (once per case, material and hash) and send it
    on if its case has gone on from here. Returns (kept now?, outbox message ids)."""
    row = session.scalar(select(MaterialFile).where(MaterialFile.case_no == body["case_no"],
                                                    MaterialFile.material == body["material"],
                                                    MaterialFile.sha256 == body["sha256"]))
    if row is not None:
        return False, []
    store.put_blob(session, body["sha256"], content)
    row = MaterialFile(case_no=body["case_no"], material=body["material"], sha256=body["sha256"],
                       size=body["size"], media_type=body["media_type"],
                       filename=detection.clean_filename(body.get("filename")),
                       uploaded_by=body["uploaded_by"][:100], uploaded_at=_naive(body["uploaded_at"]),
                       station=body["station"], received_from=sender, verified_at=utcnow())
    session.add(row)
    session.flush()
    return True, after_upload(session, known, row, here) if known else []


def _naive(iso):
    import datetime as dt
    moment = dt.datetime.fromisoformat(iso)
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return moment


def ask_again(session, body, sender, here, reason):
    """The file arrived corrupted: ask `sender` for it again, unless it is already kept
    here or was asked MAX_REQUESTS times. Message ids (none if not asked)."""
    have = session.scalar(select(MaterialFile.id).where(MaterialFile.case_no == body["case_no"],
                                                        MaterialFile.sha256 == body["sha256"]).limit(1))
    if have is not None:
        return []
    asked = 0
    for message in session.scalars(select(OutboxMessage).where(OutboxMessage.kind == CASE_FILE_REQUEST,
                                                               OutboxMessage.routing_key == sender)):
        asked_body = (message.body or {}).get("body") or {}
        asked += asked_body.get("case_no") == body["case_no"] and asked_body.get("sha256") == body["sha256"]
    if asked >= MAX_REQUESTS:
        log.error("case %s: file %s arrived corrupted from %s again; asked %d times already, not asked again",
                  body["case_no"], body["sha256"], sender, asked)
        return []
    return [outbox.add_message(session, CASES_EXCHANGE, sender, CASE_FILE_REQUEST, {
        "case_no": body["case_no"], "deciding_station": body["deciding_station"], "sha256": body["sha256"],
        "material": body["material"], "reason": reason[:500]}, here)]


def send_again(session, body, requester, here, known):
    """`requester` asks for a file again: queued for it if kept here. Message ids."""
    row = session.scalar(select(MaterialFile).where(MaterialFile.case_no == body["case_no"],
                                                    MaterialFile.material == body["material"],
                                                    MaterialFile.sha256 == body["sha256"]))
    if row is None:
        log.error("case %s: station %s asks again for file %s, which is not kept here",
                  body["case_no"], requester, body["sha256"])
        return []
    case = known or {"case_no": body["case_no"], "deciding_station": body["deciding_station"]}
    return queue_files(session, case, requester, here, only=[row])
