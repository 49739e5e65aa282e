"""The case desk: runs a workflow operation in one transaction with its outgoing messages,
then hands the messages to the relay."""
import logging

from nameko.extensions import DependencyProvider
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from services import query_code_hashing
from services.notices import make_notice_desk
from services.observability import log_context
from services.station_context import station_context
from services.uploads import require_files
from shared.auth import permissions, roles
from shared.auth.roles import signed
from shared.calendar import Schedule, WorkingDayCalendar
from shared.cases import query_codes, schemas
from shared.cases.filing import filing_fingerprint
from shared.cases.pre_review import is_mobile
from shared.cases.store import CaseRepository
from shared.cases.workflow import CaseWorkflow
from shared.catalogue.store import CatalogueStore
from shared.contract import load_message
from shared.db import outbox
from shared.db.inbox import first_time
from shared.db.models import FilingRequest, StationAlert
from shared.exceptions import Conflict, Forbidden, InvalidInput, Unprocessable
from shared.hall.store import HallStore
from shared.materials_files import store as material_files, transfer as file_transfer
from shared.notices.outbox import add_notice
from shared.supervision.schemas import AlertSchema
from shared.trust import entitlement
from shared.validation import load
from shared.messages import (
    CASE_ALERT, CASE_EXTENSION_DECISION, CASE_HANDOVER, CASE_RECORD, CASE_RESULT, CASE_SUPPLEMENT, CASES_EXCHANGE,
)

log = logging.getLogger(__name__)
RESIDENT = "申请人（自助评价）"  # who rated, when the applicant did it without a counter


class CaseDesk:
    def __init__(self, database, relay, station_info, clock, notices=None):
        """`notices`: the station's NoticeDesk (services/notices.py), which sends the
        residents' notices a step wrote right after its commit (without it they wait for
        the notice sweep)."""
        self.database = database
        self.relay = relay
        self.info = station_info
        self.clock = clock
        self.notices = notices
        self._notice_ids = []  # written by the transaction being committed
        self._calendar_cache = ((), None)  # (schedule versions, WorkingDayCalendar)

    # -- plumbing -----------------------------------------------------------------------
    def _calendar(self, session):
        """The district's working-day calendar, rebuilt only when a schedule was published
        or changed since (a calendar is read-only once built)."""
        store = CatalogueStore(session)
        versions = store.schedule_versions()
        cached_versions, calendar = self._calendar_cache
        if calendar is None or versions != cached_versions:
            calendar = WorkingDayCalendar(Schedule.from_dict(s) for s in store.schedules())
            self._calendar_cache = (versions, calendar)
        return calendar

    def _workflow(self, session):
        return CaseWorkflow(self.info.station, self.info.network, CatalogueStore(session),
                            self._calendar(session), self.clock)

    def _repository(self, session):
        return CaseRepository(session, self.info.code, lambda: self._calendar(session))

    def _commit(self, session, repo, result, new_case=False):
        """Save the case and queue the messages the workflow's step decided to send (the
        district's copy among them: shared/cases/workflow.py `_done`)."""
        # a case handed on lists its materials' files, and they go with it (shared/materials_files/)
        handed_to = [message.to for message in result.messages if message.kind == CASE_HANDOVER]
        if handed_to:
            material_files.attach_manifest(session, result.case)
        repo.save(result.case, new=new_case)
        ids = [outbox.add_message(session, CASES_EXCHANGE, message.to, message.kind, message.body, self.info.code)
               for message in result.messages]
        for to in handed_to:
            ids += file_transfer.queue_files(session, result.case, to, self.info.code)
        self._write_notices(session, result)
        return ids

    def _write_notices(self, session, result):
        """The residents' notices of the step (shared/cases/pre_review.py `notice`), in its
        transaction; an applicant whose number is a landline gets none (an SMS needs a mobile)."""
        for notice in result.notices:
            if not is_mobile(notice["mobile"]):
                log.info("case %s: no %s notice, the applicant's number is not a mobile", notice["case_no"],
                         notice["kind"])
                continue
            self._notice_ids.append(add_notice(session, notice["kind"], notice["mobile"], notice["params"],
                                               notice["case_no"], station=self.info.code))

    def _send_notices(self):
        """After the commit: hand the notices it wrote to the sender (the sweep sends them
        otherwise)."""
        ids, self._notice_ids = self._notice_ids, []
        if ids and self.notices is not None:
            self.notices.flush(ids)

    def _publish(self, ids):
        """After the commit: publish its outbox rows `ids`, and its notices leave at once
        even if the relay failed (the sweep publishes whatever the relay left)."""
        try:
            if ids:
                self.relay.flush(ids)
        finally:
            self._send_notices()

    def _run(self, operation, new_case=False):
        """operation(session, repo, workflow) -> Result; commits, then publishes.
        `new_case`: the operation files a new case, which is inserted, never merged."""
        self._notice_ids = []
        try:
            with self.database.transaction() as session:
                repo = self._repository(session)
                result = operation(session, repo, self._workflow(session))
                ids = self._commit(session, repo, result, new_case)
        except StaleDataError:
            self._notice_ids = []
            # another process serving this station changed the case after we read it
            raise Conflict("the case was changed by someone else at the same moment; nothing was "
                           "saved — reload it and try again") from None
        self._publish(ids)
        return result.case

    # -- counter operations -------------------------------------------------------------
    # Each takes the logged-in user (a dict, services/auth.py): permissions are checked
    # here, on the case as stored, in the same transaction as the change.
    def file(self, data, user, uploads=()):
        """`uploads`: (material code, file name, bytes) scanned at the counter, kept with the
        case in the filing's transaction (a refused file files nothing)."""
        permissions.can_file(user)
        with schemas.on_day(self.clock().date()):  # a birth date after the station's today is refused
            request = load(schemas.FilingSchema, data)
        request_id = request.pop("request_id")
        ticket_id = request.pop("ticket_id")
        fingerprint = filing_fingerprint(request)
        request["agent"] = signed(user)

        def operation(session, repo, workflow):
            case_no = repo.next_case_no(self.clock().date())
            if request_id:
                session.add(FilingRequest(request_id=request_id, case_no=case_no, filed_by=user["username"],
                                          fingerprint=fingerprint))
            with log_context(station=self.info.code, case_no=case_no):
                log.info("filing %s for item %s", case_no, request["item_code"])
                if ticket_id:  # filed from a hall ticket: the ticket remembers the case, the case its ticket
                    hall = HallStore(session, self.info.code, self.info.network, self._calendar(session), self.clock)
                    request["ticket_no"] = hall.attach_case(ticket_id, case_no)["ticket_no"]
                result = workflow.file(case_no, request)
                query_codes.attach(result.case, sealed)  # the query code's hash only
                for material, filename, content in uploads:
                    material_files.store_upload(session, case_no, material, content, filename, request["agent"],
                                                self.info.code, case=result.case)
                return result
        if request_id and (known := self._filed_before(request_id, fingerprint, user)):
            return {**known, "query_code": None}  # shown once, with the first answer
        code, sealed = query_code_hashing.new_sealed()
        try:
            # the plain query code (查询码): in this answer only, never stored
            return {**self._run(operation, new_case=True), "query_code": code}
        except IntegrityError:
            # the same request, filed meanwhile by a concurrent call; or (which the
            # database's counter should make impossible) a case already holding the
            # number: refused, the stored case is left as it was
            known = self._filed_before(request_id, fingerprint, user) if request_id else None
            if known is None:
                log.error("filing refused: the case number was already taken at station %s", self.info.code)
                raise Conflict("the case number this filing was given is already taken at this station; "
                               "nothing was filed — send the filing again") from None
            return {**known, "query_code": None}

    def _filed_before(self, request_id, fingerprint, user):
        """The case an earlier filing with this request id made, or None. The same id
        with another body is refused: the client reused an id for a different filing,
        and answering with the first case would hand it someone else's case number."""
        with self.database.reading() as session:
            earlier = session.get(FilingRequest, request_id)
            if earlier is None:
                return None
            if earlier.filed_by != user["username"]:
                raise Conflict(f"request_id '{request_id}' was used by another user's filing")
            if earlier.fingerprint and earlier.fingerprint != fingerprint:
                raise Unprocessable(
                    f"request_id '{request_id}' was already used for another filing (case "
                    f"{earlier.case_no}) with a different body; nothing was filed — give each new filing "
                    f"a new request_id", {"request_id": ["used for another filing"]})
            log.info("filing request %s was sent again: answering with case %s", request_id, earlier.case_no)
            return CaseRepository(session, self.info.code).load(earlier.case_no)

    def _on_case(self, case_no, check, act, files_arrived=False):
        """Load the case, check(case) may refuse, act(workflow, case) -> Result.
        `files_arrived`: refused (409) while a file the case lists has not arrived here."""
        def operation(session, repo, workflow):
            case = repo.load(case_no)
            check(case)
            if files_arrived:
                require_files(session, case, self.info.code)
            return act(workflow, case)
        with log_context(station=self.info.code, case_no=case_no):
            return self._run(operation)

    def supplement(self, case_no, data, user):
        permissions.can_act_at_counter(user, "supplement")
        request = load(schemas.SupplementSchema, data)
        return self._on_case(case_no, _nothing, lambda wf, case: wf.supplement(
            case, request["materials"], signed(user)))

    def return_case(self, case_no, data, user):
        permissions.can_act_at_counter(user, "return")
        request = load(schemas.ReturnSchema, data)
        return self._on_case(case_no, _nothing, lambda wf, case: wf.return_case(
            case, request["reason"], signed(user)))

    def forward(self, case_no, data, user):
        permissions.require(user, "forward", roles.TOWNSHIP_STAFF)
        request = load(schemas.ForwardSchema, data)
        return self._on_case(case_no, _nothing, lambda wf, case: wf.forward(
            case, signed(user), request["note"]))

    def decide(self, case_no, data, user):
        request = load(schemas.DecisionSchema, data)
        # before the case is looked up: a user who may not decide cannot learn which cases exist
        permissions.can_give_decision(user, request["step"], request["department"])
        if request["department"] not in self.info.network.departments:
            raise InvalidInput(f"department: unknown department '{request['department']}'")
        request["operator"] = signed(user)
        return self._on_case(
            case_no, lambda case: permissions.can_decide(user, case, request["step"], request["department"]),
            lambda wf, case: wf.decide(case, request), files_arrived=True)

    def suspend(self, case_no, data, user):
        permissions.require(user, "suspend", *roles.DECIDING_ROLES)
        request = load(schemas.SuspendSchema, data)
        return self._on_case(
            case_no, lambda case: permissions.can_handle_decision_step(user, case, "suspend"),
            lambda wf, case: wf.suspend(case, request["materials"], request["reason"], signed(user)))

    def request_extension(self, case_no, data, user):
        permissions.require(user, "request_extension", *roles.DECIDING_ROLES)
        request = load(schemas.ExtensionRequestSchema, data)
        return self._on_case(
            case_no, lambda case: permissions.can_handle_decision_step(user, case, "request_extension"),
            lambda wf, case: wf.request_extension(case, request["days"], request["reason"], signed(user)))

    def decide_extension(self, case_no, data, user):
        if not self.info.is_district:
            raise Forbidden("extensions are granted or refused by the district")
        permissions.require(user, "decide_extension", roles.APPROVER)
        request = load(schemas.ExtensionDecisionSchema, data)
        return self._on_case(
            case_no, lambda case: permissions.can_decide_extension(user, case),
            lambda wf, case: wf.decide_extension(case, request["granted"], request["reason"], signed(user)))

    def rate(self, case_no, data, user):
        permissions.can_act_at_counter(user, "rate")
        request = load(schemas.RatingSchema, data)
        return self._on_case(case_no, _nothing, lambda wf, case: wf.rate(
            case, request["score"], request["comment"], request["by"], request["reasons"]))

    def rate_by_resident(self, case_no, score, comment, reasons=()):
        """The applicant rates the case themselves; the caller has checked their query code."""
        return self._on_case(case_no, _nothing, lambda wf, case: wf.rate(case, score, comment, RESIDENT, reasons))

    def reissue_query_code(self, case_no, user):
        """(case, new plain query code): a reprinted receipt for a resident who lost theirs,
        at the counter holding the case; the old code stops working, here and (with the
        record sent as for any change) at the district."""
        permissions.can_act_at_counter(user, "reissue_query_code")
        code, sealed = query_code_hashing.new_sealed()
        case = self._on_case(case_no, _nothing, lambda wf, case: wf.replace_query_code(case, sealed, signed(user)))
        return case, code

    def deliver(self, case_no, data, user):
        permissions.can_act_at_counter(user, "deliver")
        request = load(schemas.DeliverySchema, data)
        return self._on_case(case_no, _nothing, lambda wf, case: wf.deliver(
            case, signed(user), request.get("method"), request.get("tracking_no") or ""))

    # -- reading --------------------------------------------------------------------------
    def get(self, case_no, user):
        with self.database.reading() as session:
            case = CaseRepository(session, self.info.code).load(case_no)
        permissions.can_read_case(user, case)
        return case

    def find(self, case_no):
        """For the residents' status page (which checks the ID digits itself)."""
        with self.database.reading() as session:
            return CaseRepository(session, self.info.code).find(case_no)

    def history(self, case_no, user):
        self.get(case_no, user)
        with self.database.reading() as session:
            return CaseRepository(session, self.info.code).history(case_no)

    def list(self, user, **filters):
        with self.database.reading() as session:
            return CaseRepository(session, self.info.code).list(
                involving=permissions.list_department(user), **filters)

    # -- messages from other stations ----------------------------------------------------
    def receive(self, message):
        """Handle one inbox message exactly once (by its message id). It is loaded
        through the contract first (shared/contract.py): an older version is upgraded,
        one that does not validate raises InvalidMessage (dead-lettered, nothing changed)."""
        handlers = {CASE_HANDOVER: self._on_handover, CASE_RESULT: self._on_result, CASE_RECORD: self._on_record,
                    CASE_SUPPLEMENT: self._on_supplement,
                    CASE_EXTENSION_DECISION: self._on_extension_decision, CASE_ALERT: self._on_alert}
        if message.get("kind") not in handlers:
            raise ValueError(f"unknown message kind '{message.get('kind')}'")
        message = load_message(message)
        kind = message["kind"]
        ids = []
        with self.database.transaction() as session:
            if not first_time(session, message["message_id"], kind):
                log.info("station %s: message %s already handled", self.info.code, message["message_id"])
                return
            self._notice_ids = []
            ids = handlers[kind](session, self._repository(session), message)
        self._publish(ids)

    # Each handler first checks that the (broker-proven) sender may send this message
    # (shared/trust/entitlement.py); NotEntitled dead-letters it with nothing changed.
    def _on_handover(self, session, repo, message):
        return self._on_arrival(session, repo, message, entitlement.check_handover, CaseWorkflow.receive_handover)

    def _on_result(self, session, repo, message):
        # a version-1 station sent the result as a case.handover of a case in result_sent;
        # the contract upgrades that form to case.result (shared/contract.py _v1_to_v2)
        return self._on_arrival(session, repo, message, entitlement.check_result, CaseWorkflow.receive_result)

    def _on_arrival(self, session, repo, message, check, receive):
        """A case that becomes held here (a hand-off or a result): checked, received by the
        workflow, then the supplements that waited for it are applied."""
        incoming = message["body"]["case"]
        check(message["sender"], self.info.code, incoming)
        entitlement.check_item(message["sender"], incoming, CatalogueStore(session))
        workflow = self._workflow(session)
        result = receive(workflow, incoming, repo.find(incoming["case_no"]))
        if result is None:
            return []
        for update in repo.parked(incoming["case_no"], CASE_SUPPLEMENT):
            body = update.body
            workflow.apply_supplement(result.case, body["materials"], body["operator"], body["station"])
            repo.unpark(update)
        ids = self._commit(session, repo, result)
        self._apply_waiting_records(repo, incoming["case_no"])
        return ids

    def _on_record(self, session, repo, message):
        incoming = message["body"]["case"]
        known = repo.find(incoming["case_no"])
        if known is not None and incoming["revision"] <= known["revision"]:
            return []  # an older copy than this station's: nothing to learn from it
        try:
            entitlement.check_record(message["sender"], self.info.code, incoming, known)
            entitlement.check_item(message["sender"], incoming, CatalogueStore(session))
        except entitlement.WaitForRecord:
            log.info("station %s: record of case %s from %s waits until the district's record shows "
                     "it as the holder", self.info.code, incoming["case_no"], message["sender"])
            repo.park(message["message_id"], incoming["case_no"], CASE_RECORD,
                      {"sender": message["sender"], "case": incoming})
            return []
        repo.save(incoming)
        self._apply_waiting_records(repo, incoming["case_no"])
        return []

    def _apply_waiting_records(self, repo, case_no):
        """Records that waited for the district's record to show their sender as the
        case's holder: applied once it does, dropped once they are stale."""
        applied = True
        while applied:
            applied = False
            for update in repo.parked(case_no, CASE_RECORD):
                known, incoming = repo.find(case_no), update.body["case"]
                if known is not None and incoming["revision"] <= known["revision"]:
                    repo.unpark(update)
                    continue
                try:
                    entitlement.check_record(update.body["sender"], self.info.code, incoming, known)
                except entitlement.WaitForRecord:
                    continue
                except entitlement.NotEntitled as refused:
                    log.error("station %s: a waiting record is refused: %s", self.info.code, refused.message)
                    repo.unpark(update)
                    continue
                repo.save(incoming)
                repo.unpark(update)
                applied = True

    def _on_supplement(self, session, repo, message):
        body = message["body"]
        case = repo.find(body["case_no"])
        entitlement.check_supplement(message["sender"], body, case)
        if case is None or case["holder_station"] != self.info.code:
            repo.park(message["message_id"], body["case_no"], message["kind"], body)
            return []
        result = self._workflow(session).receive_supplement(case, body)
        return self._commit(session, repo, result) if result else []

    def _on_extension_decision(self, session, repo, message):
        entitlement.check_from_district(message["sender"], self.info.code, message["kind"])
        body = message["body"]
        case = repo.find(body["case_no"])
        if case is None or case["holder_station"] != self.info.code:
            log.warning("station %s: extension decision for case %s, which is not held here",
                        self.info.code, body["case_no"])
            return []
        result = self._workflow(session).receive_extension_decision(case, body)
        return self._commit(session, repo, result) if result else []

    def _on_alert(self, session, repo, message):
        entitlement.check_from_district(message["sender"], self.info.code, message["kind"])
        alert = message["body"]  # loaded through the contract (shared/contract.py AlertBodySchema)
        session.add(StationAlert(message_id=message["message_id"], case_no=alert["case_no"], kind=alert["kind"],
                                 text=alert["text"], raised_at=alert["at"], department=alert["department"]))
        return []

    def alerts(self, limit=100, offset=0):
        """(total, alerts): one page of the warnings and cards the district raised about
        cases held here, newest first."""
        with self.database.reading() as session:
            total = session.scalar(select(func.count()).select_from(StationAlert))
            rows = session.scalars(select(StationAlert).order_by(StationAlert.raised_at.desc(),
                                                                 StationAlert.message_id)
                                   .limit(limit).offset(offset))
            return total, AlertSchema(many=True).dump(
                {"case_no": r.case_no, "kind": r.kind, "department": r.department, "at": r.raised_at,
                 "text": r.text} for r in rows)


def _nothing(case):
    return None


class CaseDeskProvider(DependencyProvider):
    """Injects the station's CaseDesk."""

    def setup(self):
        self.context = station_context(self.container.config)
        self.notices = make_notice_desk(self.container.config)

    def get_dependency(self, worker_ctx):
        c = self.context
        return CaseDesk(c.database, c.relay, c.info, c.clock.now, self.notices)
