"""The online hall's cases at a station (issue 16): online applications, the counter's
pre-review answers, the resident's uploads after a supplement notice and the visit with
the originals, each in one transaction of the station's CaseDesk (services/cases/desk.py)
with its uploads (shared/materials_files/store.py), its outgoing messages and its
notices to the resident; the rules are shared/cases/pre_review.py's.

The resident proves who they are once, when applying, with the one-time SMS code sent
to their mobile (shared/notices/one_time_codes.py, purpose `apply`), checked in the
application's own transaction; afterwards, like at the counter, the case number and the
query code (查询码, shown once) open their case (the caller checks them: the gateway's
resident lookup with its attempt limits).
"""
import logging

from marshmallow import RAISE, Schema, fields, validate

from services import online_applications, query_code_hashing
from services.observability import log_context
from shared.auth import permissions
from shared.auth.roles import signed
from shared.cases import online_application, pre_review, query_codes, schemas
from shared.catalogue.store import CatalogueStore
from shared.exceptions import Forbidden, InvalidInput
from shared.materials_files import detection, store as material_files
from shared.notices import one_time_codes
from shared.validation import load

log = logging.getLogger(__name__)
CODE_PURPOSE = "apply"
APPLICANT = "申请人（网上申请）"
WRONG_CODE = "短信验证码不正确或已过期，请重新获取（the SMS code is wrong or expired: ask for a new one）"


class DeliverySchema(Schema):
    class Meta:
        unknown = RAISE

    method = fields.String(load_default="counter", validate=validate.OneOf(tuple(pre_review.DELIVERY_METHODS)))
    address = fields.String(load_default="", validate=validate.Length(max=200))


class OnlineApplicationSchema(Schema):
    """What the portal's application form sends (the files come beside it)."""
    class Meta:
        unknown = RAISE

    item_code = fields.String(required=True, validate=validate.Length(min=1, max=16))
    applicant = fields.Nested(schemas.ApplicantSchema, required=True)
    code = fields.String(required=True, validate=validate.Regexp(r"^\d{6}$", error="the 6-digit SMS code"))
    delivery = fields.Nested(DeliverySchema, load_default=lambda: {"method": "counter", "address": ""})
    note = fields.String(load_default="", validate=validate.Length(max=500))
    # the receiving counter: a station that accepts the item; empty: the resident's own
    # (shared/cases/online_application.py default_counter)
    counter = fields.String(load_default="", validate=validate.Regexp(r"^(\d{6}|\d{9}|\d{12})?$"))


class AnswerSchema(Schema):
    class Meta:
        unknown = RAISE

    answer = fields.String(required=True, validate=validate.OneOf(pre_review.ANSWERS))
    materials = fields.List(fields.String(validate=validate.Length(max=8)), load_default=list,
                            validate=validate.Length(max=50))
    reason = fields.String(load_default="", validate=validate.Length(max=500))
    operator = fields.String(load_default="", validate=validate.Length(max=50))


class OriginalsSchema(Schema):
    class Meta:
        unknown = RAISE

    # the originals brought; left out: every material uploaded (shared/cases/pre_review.py)
    materials = fields.List(fields.String(validate=validate.Length(max=8)), load_default=None, allow_none=True,
                            validate=validate.Length(max=50))
    operator = fields.String(load_default="", validate=validate.Length(max=50))


def apply(desk, data, uploads):
    """File an online application at this station (its receiving counter). `uploads`:
    (material code, file name, bytes). The SMS code is checked (and used up) in the
    same transaction; a wrong one files nothing (400). Returns the case with its plain
    query code (shown once)."""
    with schemas.on_day(desk.clock().date()):
        request = load(OnlineApplicationSchema, data)
    mobile = request["applicant"]["phone"]
    if not pre_review.is_mobile(mobile):
        raise InvalidInput("applicant.phone: an online application needs a mobile number for its SMS code "
                           "and notices", {"applicant": {"phone": ["a mobile number (11 digits)"]}})
    request["materials"] = sorted({material for material, _, _ in uploads})
    request["agent"] = APPLICANT
    receiver = receiving_counter(desk, request)
    code, sealed = query_code_hashing.new_sealed()

    def operation(session, repo, workflow):
        # the code's try counts even when the application is refused: checked in its own step
        case_no = repo.next_case_no(desk.clock().date())
        with log_context(station=desk.info.code, case_no=case_no):
            log.info("online application %s for item %s", case_no, request["item_code"])
            result = workflow.apply_online(case_no, request)
            query_codes.attach(result.case, sealed)
            for material, filename, content in uploads:
                material_files.store_upload(session, case_no, material, content, filename, APPLICANT,
                                            desk.info.code, case=result.case)
            return result
    _check_files(uploads)  # a refused file before the code is used up: the resident fixes it and sends again
    if not _code_matches(desk, mobile, request["code"]):
        raise InvalidInput(WRONG_CODE, {"code": ["wrong or expired"]})
    if receiver != desk.info.code:  # another station's counter: sent there (services/online_applications.py)
        return {**online_applications.send(desk, request, uploads, receiver, sealed), "query_code": code}
    return {**desk._run(operation, new_case=True), "query_code": code}


def public_view(case):
    """What the resident sees of what `apply` answered: the case, or the application sent
    to another counter (already a view)."""
    if case.get("status") == online_applications.SENT:
        return {k: v for k, v in case.items() if k not in ("query_code", "materials_submitted")}
    return schemas.public_status(case)


def receiving_counter(desk, request):
    """The station whose counter receives the application: the resident's choice, else
    their own station (shared/cases/online_application.py). For another station's counter,
    what `send` refuses is refused here, before the SMS code is used up."""
    with desk.database.reading() as session:
        item = CatalogueStore(session).get(request["item_code"])
    receiver = online_application.choose_counter(desk.info.network, item, request["counter"],
                                                 request["applicant"]["residence"], desk.info.code)
    if receiver != desk.info.code:
        online_application.check_sendable(desk.info.network, item, request)
    return receiver


def _check_files(uploads):
    """Type and size of every file, and their total, as the store checks them (400/413
    naming the file and the limit)."""
    total = 0
    for _, filename, content in uploads:
        name = detection.clean_filename(filename)
        detection.detect(name, content)
        detection.check_case_total(name, total, len(content))
        total += len(content)


def _code_matches(desk, mobile, code):
    """Check the one-time code in a transaction of its own, committed whatever the
    answer (a wrong try must count even though nothing is filed)."""
    with desk.database.transaction() as session:
        return one_time_codes.verify(session, mobile, code, CODE_PURPOSE)


def answer(desk, case_no, data, user):
    """The receiving counter's pre-review answer (counter roles of this station)."""
    permissions.can_act_at_counter(user, "pre_review")
    request = load(AnswerSchema, data)
    # the files an application sent from another portal lists must have arrived verified
    return desk._on_case(case_no, _held_here(desk), lambda wf, case: wf.answer_pre_review(
        case, request, signed(user)), files_arrived=True)


def accept_with_originals(desk, case_no, data, user):
    """The resident's one visit after a passed pre-review: accepted with the originals."""
    permissions.can_act_at_counter(user, "accept_with_originals")
    request = load(OriginalsSchema, data)
    return desk._on_case(case_no, _held_here(desk), lambda wf, case: wf.accept_with_originals(
        case, request["materials"], signed(user)))


def resubmit(desk, case_no, uploads):
    """The resident's uploads after a supplement notice (the caller has checked the case
    number and query code): stored with the case and back to pre-review, in one
    transaction; refused (nothing stored) unless every material the notice listed is there."""
    if not uploads:
        raise InvalidInput("files: upload the materials the notice lists", {"files": ["none uploaded"]})

    def operation(session, repo, workflow):
        case = repo.load(case_no)
        _held_here(desk)(case)
        result = workflow.resubmit_online(case, sorted({material for material, _, _ in uploads}))
        for material, filename, content in uploads:
            material_files.store_upload(session, case_no, material, content, filename, APPLICANT,
                                        desk.info.code, case=result.case)
        return result
    with log_context(station=desk.info.code, case_no=case_no):
        return desk._run(operation)


def _held_here(desk):
    def check(case):
        if case["holder_station"] != desk.info.code:
            raise Forbidden(f"case {case['case_no']} is handled at station {case['holder_station']}")
    return check
