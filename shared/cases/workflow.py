"""What a station does with a case: the rules of the case's life, as plain Python.

Every operation works on the case as a dict (the snapshot that travels between
stations, declared by shared/contract.py CaseRecordSchema), appends to its history and
returns a `Result`: the case and every message the step sends, the district's copy
included. Only the station holding a case changes it; other stations send it a message
instead.
"""
import datetime as dt
import uuid
from dataclasses import dataclass, field

from shared.cases import deadlines, notices, pre_review, query_codes, states
from shared.cases.materials import DEFICIENCY_DAYS, check_materials, outstanding
from shared.cases.routing import deciding_station, next_hop
from shared.exceptions import Conflict, InvalidInput
from shared.ratings import levels as rating_levels
from shared.ratings import policy as rating_policy
from shared.supervision.lights import as_date
from shared.messages import CASE_EXTENSION_DECISION, CASE_HANDOVER, CASE_RECORD, CASE_RESULT, CASE_SUPPLEMENT

ITEM_FIELDS = ("code", "name", "version", "department", "category", "processing_type",
               "joint_departments", "decision_steps", "promised_limit_days", "legal_limit_days",
               "authority_tier", "allows_commitment", "allows_deficiency", "materials", "fee",
               "min_applicant_age")


@dataclass
class Outgoing:
    to: str
    kind: str
    body: dict


@dataclass
class Result:
    """A step's outcome: the case as it now is, and every message the step sends (made
    by `CaseWorkflow._done`, which adds the district's copy)."""
    case: dict
    messages: list = field(default_factory=list)
    # notices to the resident ({kind, mobile, params, case_no}: shared/cases/pre_review.py
    # `notice`), written by the case desk in the step's transaction
    notices: list = field(default_factory=list)


class CaseWorkflow:
    def __init__(self, station, network, catalogue, calendar, now):
        """`station` is this station's Station, `catalogue` answers get(code), `now()`
        gives an aware datetime in the district's time zone."""
        self.station = station
        self.network = network
        self.catalogue = catalogue
        self.calendar = calendar
        self.now = now

    # -- filing --------------------------------------------------------------------
    def file(self, case_no, request):
        case = self.new_case(case_no, request)
        case["visits"] = 1  # filed at a counter: the resident's first visit (shared/cases/pre_review.py)
        messages = []
        self._materials_check(case, request["agent"], "file", messages)
        return self._done(case, messages)

    def new_case(self, case_no, request):
        """The case a filing request makes, not yet checked nor moved (file, apply_online)."""
        item = self.catalogue.get(request["item_code"])
        if item["status"] == "retired":
            raise Conflict(f"item '{item['code']}' ({item['name']}) is retired and can no longer be filed")
        if self.station.tier not in item["accepting_tiers"]:
            raise Conflict(f"“{item['name']}” cannot be accepted at a {self.station.tier} station; "
                           f"it is accepted at: {', '.join(item['accepting_tiers'])}")
        applicant = dict(request["applicant"])
        applicant["id_number"] = applicant["id_number"].strip().upper()
        if applicant["residence"] not in self.network.stations:
            raise InvalidInput(f"applicant.residence: {applicant['residence']} is not a township or "
                               f"village of this district")
        unknown = sorted(set(request["materials"]) - {m["code"] for m in item["materials"]})
        if unknown:
            raise InvalidInput(f"materials: {', '.join(unknown)} are not materials of item {item['code']}")
        now = self.now()
        case = {
            "case_no": case_no,
            "item": {k: item.get(k) for k in ITEM_FIELDS},
            "applicant": applicant,
            "agent": request["agent"],
            "note": request.get("note", ""),
            "filing_station": self.station.code,
            "holder_station": self.station.code,
            "deciding_station": None,
            "status": None,
            "acceptance": None,
            "commitment": bool(request.get("commitment")),
            "deficiency_promise": bool(request.get("deficiency_promise")),
            "materials_submitted": sorted(set(request["materials"])),
            "filed_at": now.isoformat(),
            "accepted_at": None, "due_date": None, "legal_due_date": None, "provisional_due": False,
            "deficiency": None, "notice": None, "decisions": [], "result": None,
            "revision": 0, "history": [],
        }
        if request.get("ticket_no"):  # filed from this hall ticket (services/cases/desk.py)
            case["ticket_no"] = request["ticket_no"]
        return case

    # -- online applications and their pre-review (shared/cases/pre_review.py) ----------
    def apply_online(self, case_no, request):
        return pre_review.apply_online(self, case_no, request)

    def answer_pre_review(self, case, request, operator):
        return pre_review.answer(self, case, request, operator)

    def resubmit_online(self, case, materials):
        return pre_review.resubmit(self, case, materials)

    def accept_with_originals(self, case, materials, operator):
        return pre_review.accept_with_originals(self, case, materials, operator)

    def _materials_check(self, case, actor, action, messages):
        item = case["item"]
        today = self.now().date()
        outcome = check_materials(item, case["materials_submitted"], case["commitment"],
                                  case["deficiency_promise"], case["applicant"]["id_number"], today)
        self._move(case, outcome.outcome, action, actor, outcome.reason)
        if outcome.outcome == states.RETURNED:
            case["notice"] = notices.return_notice(case, self.station.name, outcome.reason)
            return
        if outcome.outcome == states.NEEDS_SUPPLEMENT:
            case["notice"] = notices.supplement_notice(case, self.station.name, outcome.missing)
            return
        self._accept(case, outcome, today)
        case["notice"] = notices.receipt(case, self.station.name)
        self._route_onward(case, actor, messages)

    def _accept(self, case, outcome, today):
        item = case["item"]
        case["acceptance"] = outcome.outcome
        case["accepted_at"] = self.now().isoformat()
        # an immediate item (limit 0) accepted on a day off is due the next working day
        case["due_date"] = self.calendar.due_date(today, item["promised_limit_days"]).isoformat()
        case["legal_due_date"] = self.calendar.due_date(today, item["legal_limit_days"]).isoformat()
        if outcome.outcome == states.ACCEPTED_WITH_DEFICIENCY:
            case["deficiency"] = {
                "missing": outcome.missing,
                "due_date": self.calendar.due_date(today, DEFICIENCY_DAYS).isoformat(),
            }
        deadlines.mark(case, self.calendar)  # provisional when counted across an estimated year
        case["deciding_station"] = deciding_station(
            item["authority_tier"], case["filing_station"], case["applicant"]["residence"])

    # -- moving between stations ---------------------------------------------------
    def _route_onward(self, case, actor, messages):
        target = case["deciding_station"]
        if target == self.station.code:
            item = case["item"]
            if item["processing_type"] == "joint":
                self._move(case, states.JOINT_REVIEW, "start_decision", actor,
                           "并联审批：" + "、".join(self._dept_name(d) for d in item["joint_departments"]))
            elif item["decision_steps"][0] == "review":
                self._move(case, states.PENDING_REVIEW, "start_decision", actor, "")
            else:
                self._move(case, states.PENDING_APPROVAL, "start_decision", actor, "")
            return
        hop = next_hop(self.station.code, target)
        direction = "route_down" if hop.startswith(self.station.code) else "forward"
        hop_station = self.network.station(hop)
        self._move(case, states.FORWARDED, direction, actor,
                   f"{'下转' if direction == 'route_down' else '上报'}至{hop_station.name}（{hop}）")
        case["holder_station"] = hop
        messages.append(Outgoing(hop, CASE_HANDOVER, {"case": case}))

    def receive_handover(self, incoming, known):
        """A case handed on along its route (case.handover). `known` is this station's
        copy (or None). Returns None for a stale copy."""
        if known is not None and known["revision"] >= incoming["revision"]:
            return None
        case = incoming
        case["holder_station"] = self.station.code
        messages = []
        self._move(case, states.RECEIVED, "receive", "system", f"收到{self._station_name(_sender(case))}转来的办件")
        # a case arriving after this station learnt a year its due dates estimated
        self.recompute_provisional_due_dates(case)
        if case["deciding_station"] != self.station.code and self.station.checks_before_forwarding:
            return self._done(case, messages)  # waits for the staff's check (forward)
        self._route_onward(case, "system", messages)
        return self._done(case, messages)

    def receive_result(self, incoming, known):
        """The decided case back at its filing station (case.result). `known` is this
        station's copy (or None). Returns None for a stale copy."""
        if known is not None and known["revision"] >= incoming["revision"]:
            return None
        case = incoming
        case["holder_station"] = self.station.code
        self._move(case, states.RESULT_READY, "receive_result", "system",
                   f"审批结果已从{self._station_name(_sender(case))}回传，待申请人领取")
        result = self._done(case)
        result.notices = [self._result_notice(case)]
        return result

    def _result_notice(self, case):
        """The resident's notice that the result is ready (or on its way by post)."""
        outcome = (case.get("result") or {}).get("outcome")
        return pre_review.notice(pre_review.NOTICE_RESULT, case, station=self._station_name(case["filing_station"]),
                                 outcome="准予许可" if outcome == "approved" else "不予许可")

    def forward(self, case, operator, note=""):
        """A township that checks cases before forwarding them (初审转报) sends one on."""
        self._require_held(case, "forward")
        if case["status"] != states.RECEIVED or case["deciding_station"] == self.station.code:
            raise Conflict(f"case {case['case_no']} is {case['status']} "
                           f"({states.LABELS.get(case['status'], case['status'])}): "
                           f"only a case received here on its way to another station can be forwarded")
        messages = []
        if note:
            self._move(case, case["status"], "check", operator, note)
        self._route_onward(case, operator, messages)
        return self._done(case, messages)

    # -- supplements ----------------------------------------------------------------
    def supplement(self, case, materials, operator):
        codes = {m["code"] for m in case["item"]["materials"]}
        unknown = sorted(set(materials) - codes)
        if unknown:
            raise InvalidInput(f"materials: {', '.join(unknown)} are not materials of item {case['item']['code']}")
        messages = []
        if case["status"] == states.NEEDS_SUPPLEMENT:
            self._require_held(case, "supplement")
            pre_review.count_visit(case)  # the resident came back to a counter
            case["materials_submitted"] = sorted(set(case["materials_submitted"]) | set(materials))
            self._materials_check(case, operator, "supplement", messages)
            return self._done(case, messages)
        waiting = {m["code"] for m in outstanding(case)}
        if not waiting or case["status"] in states.FINAL:
            raise Conflict(f"case {case['case_no']} is {case['status']} and needs no supplement")
        supplied = waiting & set(materials)
        if not supplied:
            raise Conflict(f"none of {', '.join(sorted(materials))} is outstanding; "
                           f"still missing: {', '.join(sorted(waiting))}")
        if case["holder_station"] != self.station.code:
            # the case is elsewhere: the materials travel to the station that decides
            messages.append(Outgoing(case["deciding_station"], CASE_SUPPLEMENT, {
                "case_no": case["case_no"], "materials": sorted(supplied), "operator": operator,
                "station": self.station.code, "at": self.now().isoformat()}))
            return self._done(case, messages)
        self.apply_supplement(case, sorted(supplied), operator, self.station.code)
        return self._done(case, messages)

    def receive_supplement(self, case, body):
        """Materials handed in at the filing counter (case.supplement), at the station
        holding the case; None if they change nothing (already applied, not waited for)."""
        if self.apply_supplement(case, body["materials"], body["operator"], body["station"]):
            return self._done(case)
        return None

    def apply_supplement(self, case, materials, operator, received_at_station):
        """Apply materials handed in for a deficiency (容缺) or a suspension (补正); a
        suspension whose materials are all in resumes the clock. False if nothing applied."""
        supplied = set(materials)
        applied = False
        where = f"收件于{self._station_name(received_at_station)}"
        deficiency = case.get("deficiency")
        if deficiency and supplied & {m["code"] for m in deficiency["missing"]}:
            deficiency["missing"] = [m for m in deficiency["missing"] if m["code"] not in supplied]
            names = "、".join(m["name"] for m in case["item"]["materials"] if m["code"] in supplied)
            self._move(case, case["status"], "supplement", operator,
                       f"容缺材料已补交（{names}，{where}）" + ("，材料已齐全" if not deficiency["missing"] else ""))
            applied = True
        suspension = case.get("suspension")
        if case["status"] == states.SUSPENDED and suspension and supplied & {m["code"] for m in suspension["missing"]}:
            suspension["missing"] = [m for m in suspension["missing"] if m["code"] not in supplied]
            if suspension["missing"]:
                self._move(case, case["status"], "supplement", operator, f"部分补正材料已收（{where}）")
            else:
                self._resume(case, operator, where)
            applied = True
        if applied:
            case["materials_submitted"] = sorted(set(case["materials_submitted"]) | supplied)
            pre_review.count_visit(case)  # handed in at a counter: the resident came back
        return applied

    # -- suspension (补正, clock paused) -------------------------------------------------
    def suspend(self, case, materials, reason, operator):
        """The deciding office needs more materials: the clock stops until they arrive."""
        self._require_held(case, "suspend")
        if case["status"] not in states.DECIDING:
            raise Conflict(f"case {case['case_no']} is {case['status']}: only a case being decided can be suspended")
        by_code = {m["code"]: m for m in case["item"]["materials"]}
        unknown = sorted(set(materials) - set(by_code))
        if unknown or not materials:
            raise InvalidInput("materials: name the item's materials to supplement"
                               + (f" ({', '.join(unknown)} are not materials of this item)" if unknown else ""))
        missing = [by_code[c] for c in sorted(set(materials))]
        case["suspension"] = {"resume_status": case["status"], "missing": missing,
                              "since": self.now().date().isoformat(), "reason": reason}
        case["paused_since"] = case["suspension"]["since"]
        self._move(case, states.SUSPENDED, "suspend", operator,
                   f"要求补正（{'、'.join(m['name'] for m in missing)}）：{reason}；暂停计时")
        case["notice"] = notices.supplement_notice(case, self._station_name(case["filing_station"]), missing)
        messages = []
        if case["filing_station"] != self.station.code:
            # the filing counter gets a copy, so it can print the notice and take the materials
            messages.append(Outgoing(case["filing_station"], CASE_RECORD, {"case": case}))
        return self._done(case, messages)

    def _resume(self, case, operator, where):
        suspension = case.pop("suspension")
        case.pop("paused_since", None)
        today = self.now().date()
        paused = self.calendar.working_days_between(dt.date.fromisoformat(suspension["since"]), today)
        case["paused_working_days"] = case.get("paused_working_days", 0) + paused
        case["pauses"] = [*case.get("pauses", []), {"from": suspension["since"], "to": today.isoformat(),
                                                    "working_days": paused}]
        if case.get("due_date"):
            case["due_date"] = self.calendar.add_working_days(dt.date.fromisoformat(case["due_date"]),
                                                              paused).isoformat()
        if case.get("legal_due_date"):
            case["legal_due_date"] = self.calendar.add_working_days(
                dt.date.fromisoformat(case["legal_due_date"]), paused).isoformat()
        deadlines.mark(case, self.calendar)
        self._move(case, suspension["resume_status"], "resume", operator,
                   f"补正材料已齐（{where}），恢复计时；暂停{paused}个工作日，办结期限顺延至{case['due_date']}")

    # -- extension (延期) --------------------------------------------------------------------
    def request_extension(self, case, days, reason, operator):
        self._require_held(case, "request an extension for")
        if case["status"] not in (*states.DECIDING, states.SUSPENDED):
            raise Conflict(f"case {case['case_no']} is {case['status']}: only a case being decided can be extended")
        if case.get("extension"):
            raise Conflict(f"case {case['case_no']} has already asked for its one extension")
        case["extension"] = {"days": days, "reason": reason, "requested_by": operator,
                             "requested_at": self.now().isoformat(), "station": self.station.code,
                             "status": "requested"}
        self._move(case, case["status"], "request_extension", operator, f"申请延期{days}个工作日：{reason}")
        return self._done(case)

    def decide_extension(self, case, granted, reason, operator):
        """At the district: grant or refuse a requested extension."""
        extension = case.get("extension")
        if not extension or extension["status"] != "requested":
            raise Conflict(f"case {case['case_no']} has no extension waiting for a decision")
        body = {"case_no": case["case_no"], "granted": granted, "reason": reason, "operator": operator,
                "station": self.station.code, "at": self.now().isoformat()}
        if case["holder_station"] != self.station.code:
            # the holder applies it; the district's copy records it was decided, so it is
            # not decided a second time before the holder's next record arrives
            extension.update(status="granted" if granted else "refused", decided_by=operator,
                             decided_at=body["at"], decision_reason=reason)
            return self._done(case, [Outgoing(case["holder_station"], CASE_EXTENSION_DECISION, body)])
        self.apply_extension_decision(case, body)
        return self._done(case)

    def receive_extension_decision(self, case, body):
        """The district's answer (case.extension_decision), at the station holding the
        case; None if it changes nothing (no extension waiting: a redelivery)."""
        if self.apply_extension_decision(case, body):
            return self._done(case)
        return None

    def apply_extension_decision(self, case, body):
        extension = case.get("extension")
        if not extension or extension["status"] != "requested":
            return False
        extension.update(status="granted" if body["granted"] else "refused", decided_by=body["operator"],
                         decided_at=body["at"], decision_reason=body["reason"])
        if body["granted"] and case.get("due_date"):
            case["due_date"] = self.calendar.add_working_days(dt.date.fromisoformat(case["due_date"]),
                                                              extension["days"]).isoformat()
            text = f"准予延期{extension['days']}个工作日，办结期限调整为{case['due_date']}"
            deadlines.mark(case, self.calendar)
        else:
            text = "不予延期"
        self._move(case, case["status"], "extension_" + extension["status"], body["operator"],
                   f"{text}：{body['reason']}")
        return True

    # -- rating (好差评) ---------------------------------------------------------------------
    def rate(self, case, score, comment, by, reasons=()):
        """好差评 (shared/ratings/levels.py): `score` 1-5 names the level; once per case,
        within the days before the district gives the default (shared/ratings/policy.py)."""
        self._require_held(case, "rate")
        if case["status"] != states.COMPLETED:
            raise Conflict(f"case {case['case_no']} is {case['status']}: only a completed case can be rated")
        if case.get("rating"):
            raise Conflict(f"case {case['case_no']} has already been rated")
        completed = rating_policy.completed_on(case)
        if rating_policy.RatingPolicy().window_closed(completed, as_date(self.now())):
            raise Conflict(f"case {case['case_no']} was completed on {completed}: the rating period is over "
                           f"and it counts as {rating_levels.DEFAULT_LABEL}")
        level = rating_levels.LEVEL_OF_SCORE[score]
        case["rating"] = {"score": score, "level": level, "reasons": list(reasons), "comment": comment, "by": by,
                          "at": self.now().isoformat()}
        self._move(case, case["status"], "rate", by, rating_levels.history_text(level, reasons, comment))
        return self._done(case)

    def replace_query_code(self, case, sealed, operator):
        """A new query code (查询码, its hash `sealed`) for a resident who lost theirs; the
        old one stops working wherever the case's record goes (shared/cases/query_codes.py)."""
        self._require_held(case, "issue a new query code for")
        query_codes.attach(case, sealed)
        self._move(case, case["status"], "reissue_query_code", operator, "补发查询码，原查询码作废")
        return self._done(case)

    def return_case(self, case, reason, operator):
        self._require_held(case, "return")
        states.check(case["status"], states.RETURNED, "return")  # a returned case is not returned again
        self._move(case, states.RETURNED, "return", operator, reason)
        case["notice"] = notices.return_notice(case, self.station.name, reason)
        return self._done(case)

    # -- decisions ---------------------------------------------------------------------
    def decide(self, case, decision):
        self._require_held(case, "decide")
        item = case["item"]
        status = case["status"]
        step, outcome, dept = decision["step"], decision["outcome"], decision["department"]
        if status not in states.DECIDING:
            raise Conflict(f"case {case['case_no']} is {status} ({states.LABELS.get(status, status)}): "
                           f"it is not waiting for a decision")
        if outcome == "reject" and not decision.get("reason", "").strip():
            raise InvalidInput("reason: a rejection must give its reason in writing")
        if status == states.JOINT_REVIEW:
            if step != "approve":
                raise Conflict("joint departments each give one approval decision (step 'approve')")
            if dept not in item["joint_departments"]:
                raise Conflict(f"department '{dept}' is not one of this joint item's departments")
            if any(d["department"] == dept for d in case["decisions"]):
                raise Conflict(f"department '{dept}' has already decided this case")
        else:
            expected = "review" if status == states.PENDING_REVIEW else "approve"
            if step != expected:
                raise Conflict(f"the case is waiting for '{expected}', not '{step}'")
            if dept != item["department"]:
                raise Conflict(f"only the item's department ({item['department']}) decides this case")
        if step == "approve" and outcome == "pass" and (case.get("deficiency") or {}).get("missing"):
            raise Conflict("容缺受理的材料尚未补齐（" + "、".join(m["name"] for m in case["deficiency"]["missing"])
                           + "）：补齐前不能作出批准决定")
        record = {"step": step, "outcome": outcome, "department": dept, "operator": decision["operator"],
                  "reason": decision.get("reason", ""), "at": self.now().isoformat(),
                  "station": self.station.code}
        case["decisions"].append(record)
        messages = []
        label = f"{self._dept_name(dept)} {'审查' if step == 'review' else '审批'}"
        if outcome == "reject":
            self._move(case, states.REJECTED, step, decision["operator"], f"{label}不通过：{record['reason']}")
            case["result"] = self._result(case, "rejected", f"{self._dept_name(dept)}：{record['reason']}")
        elif status == states.PENDING_REVIEW:
            self._move(case, states.PENDING_APPROVAL, step, decision["operator"], f"{label}通过")
        elif status == states.JOINT_REVIEW:
            passed = {d["department"] for d in case["decisions"] if d["outcome"] == "pass"}
            if passed >= set(item["joint_departments"]):
                self._move(case, states.APPROVED, step, decision["operator"], f"{label}通过，并联审批全部通过")
                case["result"] = self._result(case, "approved", "")
            else:
                waiting = [d for d in item["joint_departments"] if d not in passed]
                self._move(case, status, step, decision["operator"],
                           f"{label}通过；待{'、'.join(self._dept_name(d) for d in waiting)}审批")
        else:
            self._move(case, states.APPROVED, step, decision["operator"], f"{label}通过，予以批准")
            case["result"] = self._result(case, "approved", "")
        if case["status"] in (states.APPROVED, states.REJECTED):
            self._send_result(case, messages)
        result = self._done(case, messages)
        if case["status"] == states.RESULT_READY:  # decided at the filing station itself
            result.notices = [self._result_notice(case)]
        return result

    def _result(self, case, outcome, reason):
        return {"outcome": outcome, "reason": reason, "decided_at": self.now().isoformat(),
                "decided_by": self.station.code}

    def _send_result(self, case, messages):
        filing = case["filing_station"]
        if filing == self.station.code:
            self._move(case, states.RESULT_READY, "result_ready", "system", "审批结果已出，待申请人领取")
            return
        self._move(case, states.RESULT_SENT, "send_result", "system",
                   f"审批结果回传至受理窗口{self._station_name(filing)}")
        case["holder_station"] = filing
        messages.append(Outgoing(filing, CASE_RESULT, {"case": case}))

    def deliver(self, case, operator, method=None, tracking_no=""):
        """Hand the result over: at the counter, or (a fully online case) by post with
        the tracking number, or as an electronic result; `method` defaults to the one the
        online application chose, else the counter. Collecting a result is not a visit."""
        self._require_held(case, "deliver the result of")
        states.check(case["status"], states.COMPLETED, "deliver the result")
        method = method or ((case.get("online") or {}).get("delivery") or {}).get("method") or "counter"
        if method not in pre_review.DELIVERY_METHODS:
            raise InvalidInput(f"method: choose one of {', '.join(pre_review.DELIVERY_METHODS)}")
        if method == "post" and not (tracking_no or "").strip():
            raise InvalidInput("tracking_no: a result sent by post needs its tracking number")
        text = "审批结果已交付申请人，办结"
        if method != "counter":
            case["delivery"] = {"method": method, "tracking_no": tracking_no.strip(), "at": self.now().isoformat()}
            text = (f"审批结果已邮寄送达（运单号 {tracking_no.strip()}），办结" if method == "post"
                    else "已出具电子结果，办结")
        self._move(case, states.COMPLETED, "deliver", operator, text)
        return self._done(case)

    # -- provisional due dates ----------------------------------------------------------
    def recompute_provisional_due_dates(self, case):
        """Recompute, at the station holding it, a running case's due dates that were
        counted across a year this station's calendar now knows (shared/cases/deadlines.py),
        with one history entry. None when there is nothing to recompute."""
        if case["holder_station"] != self.station.code or not deadlines.needs_recompute(case, self.calendar):
            return None
        known = deadlines.years_now_known(case, self.calendar)
        changes = deadlines.recompute(case, self.calendar)
        self._move(case, case["status"], "recompute_due_dates", "system",
                   deadlines.describe(changes, known, case[deadlines.ESTIMATED_YEARS]))
        return self._done(case)

    # -- helpers ---------------------------------------------------------------------
    def _done(self, case, messages=()):
        """The Result of a step: the case and the messages the step sends, and, outside
        the district, a copy of the case for the district's complete record — unless a
        message of this step goes to the district already (it carries the news there)."""
        messages = list(messages)
        district = self.network.district_code
        if self.station.code != district and not any(m.to == district for m in messages):
            messages.append(Outgoing(district, CASE_RECORD, {"case": case}))
        return Result(case, messages)

    def _require_held(self, case, action):
        if case["holder_station"] != self.station.code:
            raise Conflict(f"cannot {action} case {case['case_no']} here: it is held by station "
                           f"{case['holder_station']}")

    def _move(self, case, to_status, action, actor, reason):
        current = case["status"]
        if to_status != current:
            states.check(current, to_status, action)
        entry = {
            "entry_id": uuid.uuid4().hex,
            "seq": len(case["history"]) + 1,
            "at": self.now().isoformat(),
            "station": self.station.code,
            "actor": actor,
            "action": action,
            "from_status": current,
            "to_status": to_status,
            "reason": reason,
        }
        case["history"].append(entry)
        case["status"] = to_status
        case["revision"] = len(case["history"])

    def _dept_name(self, code):
        dept = self.network.departments.get(code)
        return dept.name if dept else code

    def _station_name(self, code):
        station = self.network.stations.get(code)
        return station.name if station else code


def _sender(case):
    """The station that sent a case on: where its last history entry was written."""
    return case["history"][-1]["station"] if case["history"] else "?"
