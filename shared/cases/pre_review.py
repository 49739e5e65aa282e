"""Online applications (网上申请) and their pre-review (网上预审), as plain Python.

A resident applies from the online hall (/portal/) for an item the catalogue accepts
online (`online`: `pre_review` — 网上预审, the originals are checked once at the counter
— or `full` — 全程网办, no visit at all). The application is a case like any other, filed
at its receiving counter with `channel: "online"` and `visits: 0`; it starts in
`pre_review` (states.py), in that counter's worklist, with a limit of one working day
(`LIMIT_DAYS`): while it waits, the case's `due_date` is the pre-review's, so the lights
and cards of the supervision treat it like any other limit.

The counter's answers (`answer`):

* `pass` (预审通过): "bring the originals once" — the case waits in `pre_review_passed`;
  the counter then accepts it with the originals through the usual materials check
  (`accept_with_originals`), which counts the resident's one visit.
* `pass_online` (全程网办, only for items marked `full`): accepted at once, no visit; the
  result goes by post (with a tracking number when delivered) or as an electronic result.
* `supplement`: ONE notice lists everything missing (一次性告知); the case waits in
  `pre_review_supplement` until the resident uploads again (`resubmit`), then it is back
  in `pre_review` with a new one-day limit.
* `refuse` (不予受理): returned with a written reason; final.

Every answer is recorded in `case["pre_review"]["answers"]` with whether it came within
its limit, and writes one notice to the resident (`Result.notices`, written by the case
desk in the same transaction as the case, through shared/notices/outbox.add_notice).

Visits (跑动次数): every case records `visits`, the times the resident came to a
counter for it: a counter filing is 1, a fully online case 0, an online case accepted
with its originals 1, and each time the resident comes back to a counter for it (a
supplement handed in at a counter) adds 1 (`count_visit`). A case stored before
issue 16 has no `visits` key: it was filed at a counter, so `visits_of` answers 1.
"""
import datetime as dt
import re

from shared.cases import notices, states
from shared.cases.materials import check_materials
from shared.exceptions import Conflict, InvalidInput

ONLINE_MODES = ("none", "pre_review", "full")  # the catalogue's `online` flag
ONLINE_LABELS = {"none": "窗口办理", "pre_review": "网上预审", "full": "全程网办"}
CHANNEL_ONLINE = "online"
LIMIT_DAYS = 1  # working days the receiving counter has to answer a pre-review

PASS, PASS_ONLINE, SUPPLEMENT, REFUSE = "pass", "pass_online", "supplement", "refuse"
ANSWERS = (PASS, PASS_ONLINE, SUPPLEMENT, REFUSE)
ANSWER_LABELS = {PASS: "预审通过，请携带原件到窗口办理一次", PASS_ONLINE: "预审通过，全程网办",
                 SUPPLEMENT: "需补正材料", REFUSE: "不予受理"}
DELIVERY_METHODS = {"counter": "窗口领取", "post": "邮寄送达", "electronic": "电子证照/电子结果"}

# the kinds of notices to residents (shared/notices/templates.py, engineer N)
NOTICE_ACCEPTANCE = "acceptance"
NOTICE_SUPPLEMENT = "supplement_needed"
NOTICE_ANSWER = "pre_review_answer"
NOTICE_RESULT = "result_ready"


def online_mode(item):
    return item.get("online") or "none"


def is_online(case):
    return case.get("channel") == CHANNEL_ONLINE


def visits_of(case):
    """The resident's visits to a counter for this case (1 for a case stored before
    visits were counted: it was filed at a counter)."""
    visits = case.get("visits")
    if visits is None:
        return 0 if is_online(case) else 1
    return visits


def count_visit(case):
    case["visits"] = visits_of(case) + 1


def is_mobile(number):
    """Whether a notice can reach `number` by SMS (a mainland mobile number, 11 digits)."""
    return bool(re.fullmatch(r"1\d{10}", number or ""))


def notice(kind, case, **params):
    """A notice to the case's applicant: {kind, mobile, params, case_no}. The params never
    hold a query code (shared/notices/templates.py)."""
    return {"kind": kind, "mobile": case["applicant"]["phone"], "case_no": case["case_no"],
            "params": {"name": case["applicant"]["name"], "item": case["item"]["name"],
                       "case_no": case["case_no"], **params}}


# -- the workflow's steps (called by CaseWorkflow's methods of the same names) -------------
def apply_online(workflow, case_no, request):
    """File an online application at this station (the receiving counter). `request` is
    a filing request (item_code, applicant with its mobile as `phone`, materials uploaded)
    plus `delivery` {method, address}. Returns the workflow's Result."""
    item = workflow.catalogue.get(request["item_code"])
    mode, delivery = check_application(item, request)
    case = workflow.new_case(case_no, request)  # checks the item, the tier, the materials
    case["channel"] = CHANNEL_ONLINE
    case["visits"] = 0
    case["online"] = {"mode": mode, "delivery": delivery}
    case["pre_review"] = {"answers": [], "since": None, "due_date": None}
    _start(workflow, case, "apply_online", "申请人（网上申请）",
           f"网上申请，已上传材料{len(case['materials_submitted'])}项，待{workflow.station.name}预审")
    return workflow._done(case)


def check_application(item, request):
    """(online mode, delivery) of an application for `item`: refused unless the item is
    applied for online and the delivery suits it (also checked by a portal that sends the
    application to another counter, shared/cases/online_application.py)."""
    if item.get("status") == "retired":
        raise Conflict(f"“{item['name']}”已停止办理（item {item['code']} is retired）")
    mode = online_mode(item)
    if mode == "none":
        raise Conflict(f"“{item['name']}”不受理网上申请，请到窗口办理")
    delivery = dict(request.get("delivery") or {"method": "counter"})
    if delivery.get("method") not in DELIVERY_METHODS:
        raise InvalidInput(f"delivery.method: choose one of {', '.join(DELIVERY_METHODS)}")
    if delivery["method"] == "post" and not (delivery.get("address") or "").strip():
        raise InvalidInput("delivery.address: a result sent by post needs the address")
    if delivery["method"] != "counter" and mode != "full":
        raise InvalidInput("delivery.method: only items handled fully online (全程网办) send the result "
                           "by post or electronically")
    return mode, delivery


def _start(workflow, case, action, actor, reason):
    today = workflow.now().date()
    due = workflow.calendar.due_date(today, LIMIT_DAYS)
    case["pre_review"].update(since=today.isoformat(), due_date=due.isoformat())
    case["due_date"] = due.isoformat()  # supervised while it waits (shared/supervision/lights.py)
    workflow._move(case, states.PRE_REVIEW, action, actor, reason)


def answer(workflow, case, request, operator):
    """The receiving counter answers a pre-review. `request`: {answer, materials (to
    supplement), reason}. Returns the workflow's Result with the resident's notice."""
    workflow._require_held(case, "pre-review")
    if case["status"] != states.PRE_REVIEW:
        raise Conflict(f"case {case['case_no']} is {case['status']} "
                       f"({states.LABELS.get(case['status'], case['status'])}): it is not waiting for a pre-review")
    kind = request.get("answer")
    if kind not in ANSWERS:
        raise InvalidInput(f"answer: choose one of {', '.join(ANSWERS)}")
    reason = (request.get("reason") or "").strip()
    today = workflow.now().date()
    review = case["pre_review"]
    record = {"answer": kind, "at": workflow.now().isoformat(), "by": operator, "reason": reason,
              "due_date": review["due_date"],
              "within_limit": today <= dt.date.fromisoformat(review["due_date"])}
    case["due_date"] = None  # the pre-review's limit is over; acceptance sets the case's own
    messages, resident = [], []
    if kind == SUPPLEMENT:
        by_code = {m["code"]: m for m in case["item"]["materials"]}
        wanted = sorted(set(request.get("materials") or ()))
        unknown = [c for c in wanted if c not in by_code]
        if unknown or not wanted:
            raise InvalidInput("materials: name every material the resident must upload again or add"
                               + (f" ({', '.join(unknown)} are not materials of this item)" if unknown else ""))
        missing = [by_code[c] for c in wanted]
        record["missing"] = wanted
        case["materials_submitted"] = sorted(set(case["materials_submitted"]) - set(wanted))
        case["notice"] = notices.supplement_notice(case, workflow.station.name, missing)
        case["notice"]["lines"][-1] = "请在网上办事大厅凭受理编号和查询码一次性补传上述材料，补传后重新预审。"
        workflow._move(case, states.PRE_REVIEW_SUPPLEMENT, "pre_review_supplement", operator,
                       "预审需补正（一次性告知）：" + "、".join(m["name"] for m in missing) + (f"；{reason}" if reason else ""))
        resident.append(notice(NOTICE_SUPPLEMENT, case, materials="、".join(m["name"] for m in missing),
                               station=workflow.station.name))
    elif kind == REFUSE:
        if not reason:
            raise InvalidInput("reason: a pre-review that does not accept the application gives its reason in writing")
        workflow._move(case, states.RETURNED, "pre_review_refuse", operator, reason)
        case["notice"] = notices.return_notice(case, workflow.station.name, reason)
        resident.append(notice(NOTICE_ANSWER, case, answer=ANSWER_LABELS[REFUSE], reason=reason))
    elif kind == PASS:
        workflow._move(case, states.PRE_REVIEW_PASSED, "pre_review_pass", operator,
                       "预审通过，请申请人携带原件到窗口办理一次" + (f"：{reason}" if reason else ""))
        resident.append(notice(NOTICE_ANSWER, case, answer=ANSWER_LABELS[PASS], station=workflow.station.name))
    else:  # PASS_ONLINE
        if case["online"]["mode"] != "full":
            raise Conflict(f"“{case['item']['name']}”不是全程网办事项：预审通过后须到窗口核验原件一次")
        outcome = _materials(workflow, case)
        if outcome.outcome not in states.ACCEPTANCE_OUTCOMES:
            raise Conflict("材料不齐或不符合条件，不能全程网办受理：请答复“需补正”或“不予受理”（"
                           + (outcome.reason or "") + "）")
        workflow._move(case, outcome.outcome, "pre_review_pass_online", operator, "预审通过，全程网办，网上受理")
        workflow._accept(case, outcome, today)
        case["notice"] = notices.receipt(case, workflow.station.name)
        workflow._route_onward(case, operator, messages)
        resident.append(notice(NOTICE_ACCEPTANCE, case, station=workflow.station.name, due_date=case["due_date"]))
    review["answers"].append(record)
    result = workflow._done(case, messages)
    result.notices = resident
    return result


def resubmit(workflow, case, materials, by="申请人（网上补传）"):
    """The resident uploaded what the supplement notice asked for: back to pre-review
    with a new limit. Every material the notice listed must be there."""
    workflow._require_held(case, "resubmit")
    if case["status"] != states.PRE_REVIEW_SUPPLEMENT:
        raise Conflict(f"case {case['case_no']} is {case['status']} "
                       f"({states.LABELS.get(case['status'], case['status'])}): no supplement is waited for")
    wanted = set(case["pre_review"]["answers"][-1].get("missing") or ())
    codes = {m["code"] for m in case["item"]["materials"]}
    unknown = sorted(set(materials) - codes)
    if unknown:
        raise InvalidInput(f"materials: {', '.join(unknown)} are not materials of item {case['item']['code']}")
    submitted = set(case["materials_submitted"]) | set(materials)
    still = sorted(wanted - submitted)
    if still:
        names = {m["code"]: m["name"] for m in case["item"]["materials"]}
        raise Conflict("请一次补齐告知书所列全部材料，尚缺：" + "、".join(names[c] for c in still))
    case["materials_submitted"] = sorted(submitted)
    _start(workflow, case, "pre_review_resubmit", by, "申请人已在网上补传材料，重新预审")
    return workflow._done(case)


def accept_with_originals(workflow, case, materials, operator):
    """The resident's visit after a passed pre-review: the counter checks the originals
    through the usual materials check (受理审查); the visit is counted. `materials`: the
    originals the resident brought (an uploaded copy does not stand for a missing original:
    what is not brought is listed in the one-time notice); None: every uploaded one."""
    workflow._require_held(case, "accept")
    if case["status"] != states.PRE_REVIEW_PASSED:
        raise Conflict(f"case {case['case_no']} is {case['status']} "
                       f"({states.LABELS.get(case['status'], case['status'])}): only a case that passed its "
                       f"pre-review is accepted with the originals")
    if materials is None:
        materials = case["materials_submitted"]
    codes = {m["code"] for m in case["item"]["materials"]}
    unknown = sorted(set(materials) - codes)
    if unknown:
        raise InvalidInput(f"materials: {', '.join(unknown)} are not materials of item {case['item']['code']}")
    count_visit(case)
    case["materials_submitted"] = sorted(set(materials))
    messages = []
    workflow._materials_check(case, operator, "accept_with_originals", messages)
    result = workflow._done(case, messages)
    if case["status"] in states.ACCEPTANCE_OUTCOMES or case.get("accepted_at"):
        result.notices = [notice(NOTICE_ACCEPTANCE, case, station=workflow.station.name,
                                 due_date=case["due_date"])]
    return result


def _materials(workflow, case):
    return check_materials(case["item"], case["materials_submitted"], case["commitment"],
                           case["deficiency_promise"], case["applicant"]["id_number"], workflow.now().date())


# -- figures ---------------------------------------------------------------------------
def answers_on_time(case):
    """(answers, answered within the limit) of the case's pre-reviews."""
    answers = (case.get("pre_review") or {}).get("answers") or ()
    return len(answers), sum(1 for a in answers if a.get("within_limit"))
