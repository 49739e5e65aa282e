"""A station's uploaded materials' files (issue 16): uploads at the counter, the case's
files for the API and the desk, and the `case.file` / `case.file_request` messages of
the case inbox (services/cases/service.py).

The rules are in shared/materials_files/; this wires the station's database, outbox relay
and identity to them, checks who may do what, and runs each step in one transaction with
the messages it sends (flushed right after the commit, the sweep sends what is left).
"""
import logging

from nameko.extensions import DependencyProvider

from services.station_context import station_context
from shared.auth import permissions
from shared.auth.roles import signed
from shared.cases import states
from shared.cases.store import CaseRepository
from shared.contract import load_message
from shared.db.inbox import first_time
from shared.exceptions import Conflict
from shared.materials_files import store, transfer
from shared.messages import CASE_FILE, CASE_FILE_REQUEST
from shared.trust import entitlement

log = logging.getLogger(__name__)

# a case in these states takes no more files (decided, on its way back, finished)
CLOSED = (states.APPROVED, states.REJECTED, states.RESULT_SENT, states.RESULT_READY, states.COMPLETED,
          states.RETURNED)


class MaterialFiles:
    def __init__(self, database, relay, info, clock=None):
        self.database = database
        self.relay = relay
        self.info = info
        self.clock = clock

    # -- counter and API ------------------------------------------------------------------
    def upload(self, case_no, material, content, filename, user):
        """A counter user scans and uploads a file of a case filed or held here, before it
        is decided. The file is kept (refusals: 400/413 naming the file, nothing kept)
        and, if the case has already gone on towards its deciding station, sent after it."""
        permissions.can_act_at_counter(user, "upload")
        with self.database.transaction() as session:
            case = CaseRepository(session, self.info.code).load(case_no)
            permissions.can_read_case(user, case)
            here = self.info.code
            if here not in (case["filing_station"], case["holder_station"]):
                raise Conflict(f"办件{case_no}不是本站受理或正在办理的办件，不能在本站上传材料")
            if case["status"] in CLOSED:
                raise Conflict(f"办件{case_no}已{states.LABELS.get(case['status'], case['status'])}，不再接收材料文件")
            kept = store.store_upload(session, case_no, material, content, filename, signed(user), here, case=case)
            row = next(r for r in store.rows(session, case_no)
                       if r.material == kept["material"] and r.sha256 == kept["sha256"])
            ids = transfer.after_upload(session, case, row, here)
        if ids:
            self.relay.flush(ids)
        return kept

    def _readable(self, session, case_no, user):
        case = CaseRepository(session, self.info.code).load(case_no)
        permissions.can_read_case(user, case)
        return case

    def list(self, case_no, user):
        """{case_no, files, missing}: the files kept here, and those the case lists that
        have not arrived here yet (only meaningful at the stations after their upload)."""
        with self.database.reading() as session:
            case = self._readable(session, case_no, user)
            return {"case_no": case_no, "files": store.list_files(session, case_no),
                    "missing": [{"material": m, "sha256": s} for m, s in store.missing(session, case)]}

    def content(self, case_no, digest, user):
        """(listing, bytes) of one file of a case the user may see."""
        with self.database.reading() as session:
            self._readable(session, case_no, user)
            return store.read_file(session, case_no, digest)

    # -- messages from other stations ---------------------------------------------------
    def receive(self, message):
        """Handle one case.file or case.file_request exactly once (by message id). A file
        whose content is not what it announces is not kept: it is asked again from its
        sender and CorruptedTransfer is raised (the inbox dead-letters it with the reason).
        Returns True when a file was kept now."""
        message = load_message(message)
        kind, sender, body, here = message["kind"], message["sender"], message["body"], self.info.code
        if kind not in (CASE_FILE, CASE_FILE_REQUEST):
            raise ValueError(f"not a file message: {kind}")
        corrupted, kept, ids = None, False, []
        with self.database.transaction() as session:
            known = CaseRepository(session, here).find(body["case_no"])
            entitlement.check(kind, sender, here, body, known)
            if not first_time(session, message["message_id"], kind):
                log.info("station %s: message %s already handled", here, message["message_id"])
                return False
            if kind == CASE_FILE_REQUEST:
                log.warning("station %s: %s asks again for file %s of case %s: %s", here, sender, body["sha256"],
                            body["case_no"], body["reason"])
                ids = transfer.send_again(session, body, sender, here, known)
            else:
                try:
                    content = transfer.verify(body)
                except transfer.CorruptedTransfer as refused:
                    log.error("station %s: file from %s refused: %s", here, sender, refused.message)
                    corrupted = refused
                    ids = transfer.ask_again(session, body, sender, here, refused.message)
                else:
                    kept, ids = transfer.keep(session, body, content, sender, here, known)
        if ids:
            self.relay.flush(ids)
        if corrupted is not None:
            raise corrupted
        return kept


def require_files(session, case, here):
    """Conflict (409) naming the files the case lists that have not arrived here verified:
    the deciding station does not decide without them."""
    if case.get("holder_station") != here:
        return
    absent = store.missing(session, case)
    if absent:
        raise Conflict(f"办件{case['case_no']}的材料文件尚未全部到达本站并通过校验："
                       f"{store.describe_missing(case, absent)}；文件到达前不能作出决定",
                       {"files": [f"{m}:{s}" for m, s in absent]})


class MaterialFilesProvider(DependencyProvider):
    """Injects the station's MaterialFiles."""

    def setup(self):
        self.context = station_context(self.container.config)

    def get_dependency(self, worker_ctx):
        c = self.context
        return MaterialFiles(c.database, c.relay, c.info, c.clock.now)
