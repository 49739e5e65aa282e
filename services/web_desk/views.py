"""What the pages show, worked out from cases, a user and forms: plain functions, so the
handlers stay thin. What a user may do with a case, and what it still lacks, comes from
shared/cases/views.py (the API answers the same); the case desk checks every action again
when it is submitted."""
from services.web_desk import labels
from shared.auth import roles
from shared.cases import states
from shared.cases.schemas import summary
from shared.cases.views import DECISION_STEPS

COUNTER = roles.COUNTER_ROLES


def case_rows(cases, light_of):
    """The lines of a case table: the summary (ID masked) and its deadline light
    (`light_of(case)`, DeskBase.light_rule)."""
    return [{**summary(case), "light": light_of(case)} for case in cases]


def decision_form(actions):
    """What the decision form needs, {"step", "departments", "outcomes"}, from the case's
    available actions (shared/cases/views.py); None when no decision is offered."""
    return next(({"step": step, **actions[step]} for step in DECISION_STEPS if step in actions), None)


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
        # online applications (issue 16): answered at /desk/pre-review/<case_no>
        sections += [("网上预审", [states.PRE_REVIEW]), ("预审通过待核验原件", [states.PRE_REVIEW_PASSED])]
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
        # the queue ticket the case is filed from (/desk/hall's 受理), marked with the case number
        **({"ticket_id": int(form["ticket_id"])} if form.get("ticket_id", "").isdigit() else {}),
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
