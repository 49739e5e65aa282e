"""What the pages show, worked out from a case, a user and the station: plain functions,
so the handlers stay thin. Showing an action here is a convenience; the case desk checks
every action again when it is submitted."""
from services.web_desk import labels
from shared.auth import permissions, roles
from shared.cases import separation, states
from shared.cases.schemas import summary

COUNTER = roles.COUNTER_ROLES


def case_rows(cases, light_of):
    """The lines of a case table: the summary (ID masked) and its deadline light
    (`light_of(case)`, DeskBase.light_rule)."""
    return [{**summary(case), "light": light_of(case)} for case in cases]


def outstanding_materials(case):
    """The materials the case still waits for (the notice's list while it needs a
    supplement; deficiency and suspension materials once accepted)."""
    by_code = {m["code"]: m for m in case["item"]["materials"]}
    if case["status"] == states.NEEDS_SUPPLEMENT:
        return [m for code, m in by_code.items() if code not in set(case["materials_submitted"])]
    missing = list((case.get("deficiency") or {}).get("missing", []))
    if case["status"] == states.SUSPENDED:
        missing += (case.get("suspension") or {}).get("missing", [])
    return missing


def decision_form(case, user, here):
    """None, or what the decision form needs: {"step", "departments"}. Not for whoever
    accepted the case or reviewed it (受审分离, shared/cases/separation.py)."""
    form = _role_decision_form(case, user, here)
    if form is None:
        return None
    departments = [d for d in form["departments"] if permissions.may_decide(user, case, form["step"], d)]
    return {**form, "departments": departments} if departments else None


def decision_note(case, user, here, colleagues):
    """Why this user, whose role decides the case, is not offered the decision form (受审
    分离), and who else at the station can take the step, or that nobody can; None when
    the form is offered or the user's role has nothing to decide. `colleagues`: the
    station's users (UserDesk.list)."""
    form = _role_decision_form(case, user, here)
    if form is None or decision_form(case, user, here) is not None:
        return None
    why = separation.refusal(case, user["username"], here, form["step"], form["departments"][0])
    if why is None:
        return None
    others = [roles.signed(c) for c in colleagues if c["username"] != user["username"] and may_take_step(case, c, here)]
    if others:
        return f"{why}。本站可办理的人员：{'、'.join(others)}。"
    return f"{why}。{no_other_decider(form['step'])}。"


def no_other_decider(step):
    return f"本站暂无其他可{separation.STEP_LABELS.get(step, '审批')}人员，请联系乡镇/区级"


def may_take_step(case, person, here):
    """Whether an active user of this station may give the decision the case waits for."""
    if not person.get("active", True):
        return False
    form = _role_decision_form(case, person, here)
    return form is not None and any(permissions.may_decide({**person, "station": here}, case, form["step"], d)
                                    for d in form["departments"])


def waiting_for_nobody(cases, here, colleagues):
    """[(case_no, note)]: the cases held here waiting for a decision that no active user
    of the station may give (whoever could accepted or reviewed it: 受审分离)."""
    return [(case["case_no"], f"{no_other_decider(_waiting_step(case))}（{separation.RULE_ACCEPTOR}；"
             f"{separation.RULE_REVIEWER.split('：', 1)[1]}）")
            for case in cases
            if case["holder_station"] == here and case["status"] in states.DECIDING and separation.applies(case)
            and not any(may_take_step(case, person, here) for person in colleagues)]


def _waiting_step(case):
    return "review" if case["status"] == states.PENDING_REVIEW else "approve"


def _role_decision_form(case, user, here):
    """The decision form by role and department alone."""
    item, status = case["item"], case["status"]
    if case["holder_station"] != here or status not in states.DECIDING:
        return None
    if status == states.JOINT_REVIEW:
        decided = {d["department"] for d in case["decisions"]}
        waiting = [d for d in item["joint_departments"] if d not in decided]
        if user["role"] == roles.APPROVER:
            waiting = [d for d in waiting if d == user["department"]]
        elif user["role"] not in roles.LOCAL_DECIDING_ROLES:
            return None
        return {"step": "approve", "departments": waiting} if waiting else None
    step = "review" if status == states.PENDING_REVIEW else "approve"
    wanted = roles.REVIEWER if step == "review" else roles.APPROVER
    local = user["role"] in roles.LOCAL_DECIDING_ROLES  # the items delegated to their station
    if local or (user["role"] == wanted and user["department"] == item["department"]):
        return {"step": step, "departments": [item["department"]]}
    return None


def case_actions(case, user, station, colleagues=()):
    """The forms the case page offers this user. `station` is the StationInfo,
    `colleagues` the station's users (UserDesk.list) for the 受审分离 note."""
    here, status, role = station.code, case["status"], user["role"]
    held = case["holder_station"] == here
    counter = role in COUNTER
    deciding = role in roles.DECIDING_ROLES and held and status in (*states.DECIDING, states.SUSPENDED)
    extension = case.get("extension") or {}
    return {
        # at the filing counter, wherever the case is: the materials travel to it
        "supplement": outstanding_materials(case) if counter and case["filing_station"] == here
        and status not in states.FINAL else [],
        "return": counter and held and status == states.NEEDS_SUPPLEMENT,
        "forward": role == roles.TOWNSHIP_STAFF and held and status == states.RECEIVED
        and case["deciding_station"] != here,
        "decide": decision_form(case, user, here),
        "decide_note": decision_note(case, user, here, colleagues),
        "suspend": deciding and status in states.DECIDING,
        "request_extension": deciding and not extension,
        "decide_extension": station.is_district and role == roles.APPROVER
        and user["department"] == case["item"]["department"] and extension.get("status") == "requested",
        "deliver": counter and held and status == states.RESULT_READY,
        "rate": counter and held and status == states.COMPLETED and not case.get("rating"),
    }


def worklist_sections(user):
    """[(title, statuses)] of the user's worklist: what waits for them at this station."""
    role = user["role"]
    if role == roles.REVIEWER:
        return [("待审查", [states.PENDING_REVIEW]), ("补正中", [states.SUSPENDED])]
    if role == roles.APPROVER:
        return [("待审批", [states.PENDING_APPROVAL]), ("并联审批", [states.JOINT_REVIEW]),
                ("补正中", [states.SUSPENDED])]
    sections = []
    if role == roles.TOWNSHIP_STAFF:
        sections.append(("待初审转报", [states.RECEIVED]))
    if role in roles.LOCAL_DECIDING_ROLES:
        sections.append(("待审查、审批（下放事项）", [*states.DECIDING, states.SUSPENDED]))
    if role in COUNTER:
        sections += [("待补正材料", [states.NEEDS_SUPPLEMENT]), ("结果待领取", [states.RESULT_READY])]
    return sections


def filing_request(form, item):
    """The API's filing body from the filing form (unknown materials are the desk's to
    refuse)."""
    return {
        "item_code": item["code"],
        "applicant": {key: form.get(key, "").strip() for key in ("name", "id_number", "phone", "residence")},
        "materials": form.getlist("materials"),
        "commitment": form.get("commitment") == "on",
        "deficiency_promise": form.get("deficiency_promise") == "on",
        "note": form.get("note", "").strip(),
        # made when the form was shown: submitting it twice files one case
        "request_id": form.get("request_id") or None,
    }



def field_errors(error):
    """{form field: message} from an InvalidInput's details (or its "field: ..." message)."""
    flat = {}

    def walk(details):
        for key, value in details.items():
            if isinstance(value, dict):
                walk(value)
            else:
                flat[key] = labels.message_of(value)
    walk(error.details or {})
    if not flat and ": " in error.message:
        field, text = error.message.split(": ", 1)
        flat[field.rsplit(".", 1)[-1]] = labels.message_of(text)
    return flat
